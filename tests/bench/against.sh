#!/bin/sh
# against.sh: this checkout against an older revision, in one run.
# run.sh calls it when BENCH_AGAINST names a revision, with PG_CONFIG (this
# checkout, installed) and OLD_PG_CONFIG (the old revision, installed into
# a private PostgreSQL tree of its own).  Two durable clusters with the same
# settings run side by side, one per build, loaded with the same events;
# every round runs each workload on both, the old one first in odd rounds
# and the new one first in even rounds, so that load from elsewhere and any
# drift over the run hit both alike.  Reported: the medians and the median
# of the per-round ratios new/old.
#
#   batch    BENCH_EVENTS events through record_events() in batches of 1000,
#            as the shim sends them (lib/batch-client.c), one client
#   single   record_event(jsonb), pgbench, BENCH_CLIENTS clients
#   search   search_events() first page of 100 rows, 4 clients, 1000 users
#   export   export_events() ndjson of a user's events in 30 days
#            (BENCH_EVENTS / 1000 rows), 4 clients
#
# Each run also reports the server CPU it cost (the postmaster's reaped
# children's times, read before and after, once the run's backends have
# exited; autovacuum is off on both clusters): on a machine that others
# load, rates and latencies swing with their load while the CPU a unit of
# work costs barely moves.
#
# Rates: new/old above 1 is faster; latencies and CPU: below 1 is faster.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

: "${OLD_PG_CONFIG:?against.sh is run by run.sh with BENCH_AGAINST set}"
work=$UA_BENCH_TMP/against
mkdir -p "$work"
batch=1000
users=1000
clients=${BENCH_SEARCH_CLIENTS:-4}
new_port=$BENCH_PGPORT
old_port=$((BENCH_PGPORT + 1))
new_config=$PG_CONFIG

# side_start SIDE PG_CONFIG PORT: a fresh durable cluster of that build
side_start() {
	rm -rf "$UA_BENCH_TMP/$1-data"
	PG_CONFIG=$2 PG_DURABLE=1 CRON_DB=postgres PG_EXTRA_CONF="shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 16MB
autovacuum = off" tests/lib/cluster.sh start "$UA_BENCH_TMP/$1-data" "$3"
	on "$1" -c "CREATE EXTENSION user_activity" -c "SELECT user_activity.maintain_partitions()" >/dev/null
}
stop_all() {
	PG_CONFIG=$new_config tests/lib/cluster.sh stop "$UA_BENCH_TMP/new-data" || true
	PG_CONFIG=$OLD_PG_CONFIG tests/lib/cluster.sh stop "$UA_BENCH_TMP/old-data" || true
}
trap stop_all EXIT

# on SIDE psql-args: psql on that side's cluster
on() {
	side=$1
	shift
	if [ "$side" = new ]; then p=$new_port; else p=$old_port; fi
	PGPORT=$p bench_psql "$@"
}
port_of() {
	if [ "$1" = new ]; then echo "$new_port"; else echo "$old_port"; fi
}
cpu_ticks() {
	awk '{ print $16 + $17 }' "/proc/$(head -n 1 "$UA_BENCH_TMP/$1-data/postmaster.pid")/stat"
}
idle() {
	i=0
	while [ "$(on "$1" -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" != 0 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.2
}
# order ROUND: the two sides in the order this round runs them
order() {
	if [ $(($1 % 2)) = 1 ]; then echo "old new"; else echo "new old"; fi
}

side_start new "$new_config" "$new_port"
side_start old "$OLD_PG_CONFIG" "$old_port"
echo "new: $(on new -At -c "SELECT extversion FROM pg_extension WHERE extname = 'user_activity'"), old ($BENCH_AGAINST): $(on old -At -c "SELECT extversion FROM pg_extension WHERE extname = 'user_activity'")"
cc -O2 -I"$(pg_config --includedir)" -o "$work/batch-client" tests/bench/lib/batch-client.c -L"$(pg_config --libdir)" -lpq

echo "generating $BENCH_EVENTS events"
on new -At -c "
    SELECT jsonb_agg(jsonb_build_object(
                      'user_id', 1 + i % 10000,
                      'event_action_timestamp', to_char((timestamptz '2025-10-10 00:00Z' + i * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                      'action', (ARRAY['created','updated','deleted','viewed'])[1 + i % 4],
                      'metadata', jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine'))
                  ORDER BY i)::text
    FROM generate_series(0, $BENCH_EVENTS - 1) i
    GROUP BY i / $batch ORDER BY i / $batch" >"$work/batches.json"
cat >"$work/record.sql" <<SQL
\\set uid random(1, 10000)
SELECT user_activity.record_event(('{"user_id": ' || :uid || ', "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {"ip": "192.168.1.' || :uid % 250 || '", "device": "iPhone 14", "location": "Kyiv, Ukraine"}}')::jsonb)::text;
SQL
cat >"$work/search.sql" <<SQL
\\set uid random(1, $users)
SELECT body, next_cursor FROM user_activity.search_events(('{"user_id": "' || :uid || '", "from": "2025-10-01T00:00:00Z", "to": "2025-10-31T00:00:00Z", "limit": "100"}')::jsonb);
SQL
cat >"$work/export.sql" <<SQL
\\set uid random(1, $users)
SELECT user_activity.export_events(('{"user_id": "' || :uid || '", "from": "2025-10-01T00:00:00Z", "to": "2025-10-31T00:00:00Z"}')::jsonb, 'ndjson');
SQL

# Ingest: batch and single, the table emptied before each run.
batch_new= batch_old= batch_x= bcpu_new= bcpu_old= bcpu_x= single_new= single_old= single_x= cpu_new= cpu_old= cpu_x=
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	line="round $round:"
	for side in $(order "$round"); do
		on "$side" -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
		idle "$side"
		t0=$(cpu_ticks "$side")
		set -- $("$work/batch-client" "host=$PGHOST port=$(port_of "$side") user=$PGUSER dbname=$PGDATABASE" "$work/batches.json")
		idle "$side"
		c=$(cpu_per_tx $(( $(cpu_ticks "$side") - t0 )) $((BENCH_EVENTS / batch)))
		stored=$(on "$side" -At -c "SELECT count(*) FROM user_activity.events")
		r=$(rate "$stored" "$1")
		eval "b_$side=$r bc_$side=$c"
		line="$line batch $side $r/s ($c us CPU/batch)"
	done
	for side in $(order "$round"); do
		on "$side" -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
		t0=$(cpu_ticks "$side")
		PGPORT=$(port_of "$side") pgbench -n -M prepared -c "$BENCH_CLIENTS" -j "$(nproc)" -T "$BENCH_SECONDS" \
			-f "$work/record.sql" >"$work/single.$side.r$round.out" 2>&1
		idle "$side"
		c=$(cpu_per_tx $(( $(cpu_ticks "$side") - t0 )) "$(pgbench_tx "$work/single.$side.r$round.out")")
		t=$(pgbench_tps "$work/single.$side.r$round.out")
		eval "s_$side=$t c_$side=$c"
		line="$line, single $side $(printf %.0f "$t") tps ($c us CPU/tx)"
	done
	echo "$line"
	batch_new="$batch_new $b_new" batch_old="$batch_old $b_old" batch_x="$batch_x $(ratio "$b_new" "$b_old")"
	bcpu_new="$bcpu_new $bc_new" bcpu_old="$bcpu_old $bc_old" bcpu_x="$bcpu_x $(ratio "$bc_new" "$bc_old")"
	single_new="$single_new $s_new" single_old="$single_old $s_old" single_x="$single_x $(ratio "$s_new" "$s_old")"
	cpu_new="$cpu_new $c_new" cpu_old="$cpu_old $c_old" cpu_x="$cpu_x $(ratio "$c_new" "$c_old")"
	round=$((round + 1))
done

# Search and export: the same events of 1000 users over 30 daily partitions.
echo "loading $BENCH_EVENTS events into both"
for side in new old; do
	on "$side" -c "TRUNCATE user_activity.events" \
		-c "SELECT user_activity.ensure_partitions('2025-10-01 00:00Z', '2025-10-31 00:00Z')" \
		-c "INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
		    SELECT 1 + i % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action,
		           timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS),
		           timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS),
		           jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine')
		    FROM generate_series(0, $BENCH_EVENTS - 1) i" \
		-c "VACUUM ANALYZE user_activity.events" -c "CHECKPOINT" >/dev/null
done
rm -f "$work"/search.*.r* "$work"/export.*.r*
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	line="round $round:"
	for s in search export; do
		for side in $(order "$round"); do
			t0=$(cpu_ticks "$side")
			(cd "$work" && PGPORT=$(port_of "$side") pgbench -n -M prepared -c "$clients" -j "$(nproc)" \
				-T "$BENCH_SECONDS" --log --log-prefix="$s.$side.r$round" -f "$s.sql" \
				>"$s.$side.r$round.out" 2>&1)
			idle "$side"
			c=$(cpu_per_tx $(( $(cpu_ticks "$side") - t0 )) "$(pgbench_tx "$work/$s.$side.r$round.out")")
			echo "$c" >"$work/$s.$side.r$round.cpu"
			line="$line $s $side $(printf %.0f "$(pgbench_tps "$work/$s.$side.r$round.out")") tps ($c us CPU/tx),"
		done
	done
	echo "$line"
	round=$((round + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# per-round p50 ratios of a workload, new over old
p50_ratios() {
	out=
	r=1
	while [ "$r" -le "$BENCH_ROUNDS" ]; do
		out="$out $(ratio "$(latency_pct "$work/$1.new.r$r" 50)" "$(latency_pct "$work/$1.old.r$r" 50)")"
		r=$((r + 1))
	done
	echo "$out"
}
# the server CPU per transaction of a workload's rounds on a side; per-round
# ratios new over old
cpus() {
	cat "$work/$1.$2".r*.cpu | tr '\n' ' '
}
cpu_ratios() {
	out=
	r=1
	while [ "$r" -le "$BENCH_ROUNDS" ]; do
		out="$out $(ratio "$(cat "$work/$1.new.r$r.cpu")" "$(cat "$work/$1.old.r$r.cpu")")"
		r=$((r + 1))
	done
	echo "$out"
}

echo
printf '%-48s %10s %10s %8s  %s\n' "new against $BENCH_AGAINST" "new" "old" "new/old" "rounds"
printf '%-48s %10.0f %10.0f %8s  %s\n' "batch: record_events x$batch (rows/s)" "$(median $batch_new)" "$(median $batch_old)" "$(median $batch_x)" "$batch_x"
printf '%-48s %10.0f %10.0f %8s  %s\n' "single: record_event, $BENCH_CLIENTS clients (tps)" "$(median $single_new)" "$(median $single_old)" "$(median $single_x)" "$single_x"
printf '%-48s %10.0f %10.0f %8s  %s\n' "batch: server CPU per batch (us)" "$(median $bcpu_new)" "$(median $bcpu_old)" "$(median $bcpu_x)" "$bcpu_x"
printf '%-48s %10.1f %10.1f %8s  %s\n' "single: server CPU per transaction (us)" "$(median $cpu_new)" "$(median $cpu_old)" "$(median $cpu_x)" "$cpu_x"
for s in search export; do
	x=$(p50_ratios "$s")
	printf '%-48s %10s %10s %8s  %s\n' "$s: p50 (ms), $clients clients" "$(latency_pct "$work/$s.new.r" 50)" "$(latency_pct "$work/$s.old.r" 50)" "$(median $x)" "$x"
	printf '%-48s %10s %10s %8s\n' "$s: p99 (ms)" "$(latency_pct "$work/$s.new.r" 99)" "$(latency_pct "$work/$s.old.r" 99)" "$(ratio "$(latency_pct "$work/$s.new.r" 99)" "$(latency_pct "$work/$s.old.r" 99)")"
	x=$(cpu_ratios "$s")
	printf '%-48s %10.1f %10.1f %8s  %s\n' "$s: server CPU per transaction (us)" "$(median $(cpus "$s" new))" "$(median $(cpus "$s" old))" "$(median $x)" "$x"
done
echo "(rates: new/old above 1 is faster; latencies and CPU: below 1 is faster; $BENCH_ROUNDS rounds of ${BENCH_SECONDS} s per pgbench run)"
