#!/bin/sh
# 50-partitions.sh: the partitioned events table of version 1.1 against the
# unpartitioned one of version 1.0, in one durable cluster: database "part"
# has the extension at 1.1, database "flat" at 1.0, both with BENCH_EVENTS
# events of 1000 users over the last 60 days of recorded time.
#
# - ingest: record_events() batches of 100 events, without and with
#   event_id (the dedup path: event_keys vs the unique index), pgbench with
#   BENCH_PART_CLIENTS clients (default 4), tps;
# - search: one 100-row page through search_events() over one day and over
#   30 days, p50 and p99 from pgbench's per-transaction logs;
# - retention: the oldest 30 days go, by maintain_partitions() (DETACH and
#   DROP of 30 partitions) in "part" and by DELETE of the same rows in
#   "flat" (then the VACUUM that DELETE needs to give the space back).
#
# Rounds alternate the two databases (BENCH_ROUNDS); figures are medians of
# the rounds' tps and percentiles over every transaction.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

bench_start partitions
work=$UA_BENCH_TMP/partitions
mkdir -p "$work"
rm -f "$work"/*.r[0-9]*
users=1000
clients=${BENCH_PART_CLIENTS:-4}

bench_psql -c "CREATE DATABASE part" -c "CREATE DATABASE flat"
bench_psql -d part -c "CREATE EXTENSION user_activity"
bench_psql -d flat -c "CREATE EXTENSION user_activity VERSION '1.0'"
# fixed day boundaries, so that the month dropped is 30 whole partitions
bench_psql -d part -c "
    SELECT count(*) FROM (SELECT user_activity.ensure_partition(t)
    FROM generate_series(date_bin('1 day', now(), '2000-01-01') - interval '60 days', now(), interval '1 day') t) p" >/dev/null

load() {
	bench_psql -d "$1" -c "
    INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
    SELECT 1 + i % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action,
           t, t, jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine')
    FROM generate_series(0, $BENCH_EVENTS - 1) i,
         LATERAL (SELECT date_bin('1 day', now(), '2000-01-01') - interval '60 days'
                         + i * (interval '60 days' / $BENCH_EVENTS) AS t) x" \
		-c "VACUUM ANALYZE user_activity.events"
}
for db in part flat; do
	start=$(now_ms)
	load "$db"
	echo "loaded $BENCH_EVENTS events into $db in $(( $(now_ms) - start )) ms"
done
bench_psql -d part -At -c "SELECT count(*) || ' partitions' FROM user_activity.event_partitions"

cat >"$work/ingest.sql" <<SQL
SELECT user_activity.record_events((SELECT jsonb_agg(jsonb_build_object('user_id', 1 + (random() * $((users - 1)))::int, 'event_action_timestamp', '2025-10-10T18:30:00Z', 'action', 'viewed', 'metadata', jsonb_build_object('ip', '192.168.1.10'))) FROM generate_series(1, 100))) IS NOT NULL;
SQL
cat >"$work/ingest_keyed.sql" <<SQL
SELECT user_activity.record_events((SELECT jsonb_agg(jsonb_build_object('user_id', 1 + (random() * $((users - 1)))::int, 'event_action_timestamp', '2025-10-10T18:30:00Z', 'action', 'viewed', 'metadata', jsonb_build_object('ip', '192.168.1.10'), 'event_id', gen_random_uuid())) FROM generate_series(1, 100))) IS NOT NULL;
SQL
# the day 20 days ago, and the 30 days up to today (literal times: pgbench
# would take the colons of a format string for variables)
day=$(bench_psql -d part -At -c "SELECT to_char(date_bin('1 day', now(), '2000-01-01') - interval '20 days', 'YYYY-MM-DD')")
day_end=$(bench_psql -d part -At -c "SELECT to_char(date_bin('1 day', now(), '2000-01-01') - interval '19 days', 'YYYY-MM-DD')")
month=$(bench_psql -d part -At -c "SELECT to_char(date_bin('1 day', now(), '2000-01-01') - interval '30 days', 'YYYY-MM-DD')")
today=$(bench_psql -d part -At -c "SELECT to_char(date_bin('1 day', now(), '2000-01-01'), 'YYYY-MM-DD')")
cat >"$work/search_day.sql" <<SQL
\\set uid random(1, $users)
SELECT body, next_cursor FROM user_activity.search_events(('{"user_id": "' || :uid || '", "from": "${day}T00:00:00Z", "to": "${day_end}T00:00:00Z", "limit": "100"}')::jsonb);
SQL
cat >"$work/search_month.sql" <<SQL
\\set uid random(1, $users)
SELECT body, next_cursor FROM user_activity.search_events(('{"user_id": "' || :uid || '", "from": "${month}T00:00:00Z", "to": "${today}T00:00:00Z", "limit": "100"}')::jsonb);
SQL

run() {
	(cd "$work" && PGDATABASE=$2 pgbench -n -M prepared -c "$clients" -j "$(nproc)" -T "$BENCH_SECONDS" \
		--log --log-prefix="$1.$2.r$3" -f "$1.sql" >"$1.$2.r$3.out" 2>&1) ||
		{ cat "$work/$1.$2.r$3.out"; return 1; }
}
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	for s in ingest ingest_keyed search_day search_month; do
		run "$s" part "$round"
		run "$s" flat "$round"
	done
	round=$((round + 1))
done

tps() {
	median $(for f in "$work/$1.$2".r*.out; do pgbench_tps "$f"; done)
}
echo
printf '%-44s %12s %12s %8s\n' "$clients clients, medians of $BENCH_ROUNDS x ${BENCH_SECONDS} s" "partitioned" "flat (1.0)" "ratio"
for s in ingest ingest_keyed; do
	p=$(tps "$s" part); f=$(tps "$s" flat)
	label="record_events, 100/batch, tps"
	[ "$s" = ingest_keyed ] && label="record_events with event_id, tps"
	printf '%-44s %12s %12s %8s\n' "$label" "$p" "$f" "$(ratio "$p" "$f")"
done
for s in search_day search_month; do
	for pct in 50 99; do
		p=$(latency_pct "$work/$s.part.r" "$pct"); f=$(latency_pct "$work/$s.flat.r" "$pct")
		label="search, 1 day, p$pct ms"
		[ "$s" = search_month ] && label="search, 30 days, p$pct ms"
		printf '%-44s %12s %12s %8s\n' "$label" "$p" "$f" "$(ratio "$p" "$f")"
	done
done

# Retention: the same 30 days of rows, dropped whole vs deleted.
cutoff="date_bin('1 day', now(), '2000-01-01') - interval '30 days'"
rows=$(bench_psql -d flat -At -c "SELECT count(*) FROM user_activity.events WHERE recorded_at < $cutoff")
bench_psql -d part -c "SELECT user_activity.set_retention(now() - ($cutoff))" >/dev/null
start=$(now_ms)
dropped=$(bench_psql -d part -At -c "SELECT jsonb_array_length(r->'partitions_dropped') FROM user_activity.maintain_partitions() r")
drop_ms=$(( $(now_ms) - start ))
start=$(now_ms)
bench_psql -d flat -c "DELETE FROM user_activity.events WHERE recorded_at < $cutoff"
delete_ms=$(( $(now_ms) - start ))
start=$(now_ms)
bench_psql -d flat -c "VACUUM user_activity.events"
vacuum_ms=$(( $(now_ms) - start ))
left_part=$(bench_psql -d part -At -c "SELECT count(*) FROM user_activity.events WHERE recorded_at < $cutoff")
printf '%-44s %12s %12s %8s\n' "drop 30 days ($rows rows), ms" "$drop_ms" "$delete_ms" "$(ratio "$drop_ms" "$delete_ms")"
printf '%-44s %12s %12s %8s\n' "  the same with DELETE's VACUUM, ms" "$drop_ms" "$((delete_ms + vacuum_ms))" "$(ratio "$drop_ms" "$((delete_ms + vacuum_ms))")"
echo "($dropped partitions dropped, $left_part rows of the range left; $BENCH_EVENTS events of $users users over 60 days in each database)"
