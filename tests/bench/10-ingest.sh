#!/bin/sh
# 10-ingest.sh: ingest through the extension against PostgreSQL's own
# fastest paths, on a durable cluster.
#
#  1. batch: BENCH_EVENTS events through record_events() in batches of 1000
#     sent as the shim sends them (tests/bench/lib/batch-client.c: the batch
#     as a bound parameter, the result read back; one statement and one
#     commit per batch, one client) against COPY of the same rows into the
#     same table (psql \copy, one client, one transaction);
#  2. single: record_event(jsonb) one event per statement against a plain
#     INSERT of the same event, pgbench with BENCH_CLIENTS clients for
#     BENCH_SECONDS each, prepared statements.  Both build their JSON from
#     the user id on every call, as a client sending a different event each
#     time makes the server parse it: the INSERT its metadata, record_event
#     the whole event.  Each run also reports the server CPU its sessions
#     used per transaction (the postmaster's reaped children's times): on a
#     machine others load, tps swings with their load, while the CPU a
#     transaction costs barely moves.
#
#   BENCH_KEYED=1   every event carries an event_id (the idempotency key), on
#                   both paths: the extension then claims keys and the
#                   baseline's COPY and INSERT fire the key trigger
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

bench_start ingest
work=$UA_BENCH_TMP/ingest
mkdir -p "$work"
batch=1000
users=10000
keyed=${BENCH_KEYED:-0}
# the event_id of event i (batch and COPY), and of a single event (pgbench)
if [ "$keyed" = 1 ]; then
	key_json=", 'event_id', '00000000-0000-4000-8000-' || lpad(i::text, 12, '0')"
	key_col=", event_id"
	key_val=", ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid"
	single_key_json=", \"event_id\": \"00000000-0000-4000-9000-' || lpad(:key::text, 12, '0') || '\""
	single_key_col=", event_id"
	single_key_val=", ('00000000-0000-4000-9000-' || lpad(:key::text, 12, '0'))::uuid"
	echo "every event carries an event_id"
else
	key_json= key_col= key_val= single_key_json= single_key_col= single_key_val=
fi
cc -O2 -I"$(pg_config --includedir)" -o "$work/batch-client" tests/bench/lib/batch-client.c -L"$(pg_config --libdir)" -lpq

# The same events for both paths: JSON batches and a CSV of their columns.
echo "generating $BENCH_EVENTS events"
bench_psql -At -c "
    SELECT jsonb_agg(jsonb_build_object(
                      'user_id', 1 + i % $users,
                      'event_action_timestamp', to_char((timestamptz '2025-10-10 00:00Z' + i * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                      'action', (ARRAY['created','updated','deleted','viewed'])[1 + i % 4],
                      'metadata', jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine')$key_json)
                  ORDER BY i)::text
    FROM generate_series(0, $BENCH_EVENTS - 1) i
    GROUP BY i / $batch ORDER BY i / $batch" >"$work/batches.json"
bench_psql -c "\\copy (SELECT 1 + i % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action, timestamptz '2025-10-10 00:00Z' + i * interval '1 second', jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine')$key_val FROM generate_series(0, $BENCH_EVENTS - 1) i ORDER BY i) TO '$work/events.csv' WITH (FORMAT csv)"

# Rounds alternate the two paths so that load from elsewhere hits both
# alike; the medians of the rates and of the per-round ratios are reported.
copy_rates= batch_rates= batch_ratios=
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
	start=$(now_ms)
	bench_psql -c "\\copy user_activity.events (user_id, action, event_action_timestamp, metadata$key_col) FROM '$work/events.csv' WITH (FORMAT csv)"
	copy_ms=$(( $(now_ms) - start ))
	copied=$(bench_psql -At -c "SELECT count(*) FROM user_activity.events")
	c=$(rate "$copied" "$copy_ms")

	bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
	set -- $("$work/batch-client" "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$PGDATABASE" "$work/batches.json")
	batch_ms=$1
	stored=$(bench_psql -At -c "SELECT count(*) FROM user_activity.events")
	b=$(rate "$stored" "$batch_ms")
	copy_rates="$copy_rates $c" batch_rates="$batch_rates $b" batch_ratios="$batch_ratios $(ratio "$b" "$c")"
	echo "round $round: COPY $copied rows in $copy_ms ms ($c/s), record_events $stored rows in $batch_ms ms ($b/s), ratio $(ratio "$b" "$c")"
	round=$((round + 1))
done
bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"

# Single events, one statement (and commit) each.
cat >"$work/insert.sql" <<SQL
\\set uid random(1, $users)
\\set key random(1, 999999999999)
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata$single_key_col) VALUES (:uid, 'viewed', '2025-10-10T18:30:00Z', ('{"ip": "192.168.1.' || :uid % 250 || '", "device": "iPhone 14", "location": "Kyiv, Ukraine"}')::jsonb$single_key_val);
SQL
cat >"$work/record.sql" <<SQL
\\set uid random(1, $users)
\\set key random(1, 999999999999)
SELECT user_activity.record_event(('{"user_id": ' || :uid || ', "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {"ip": "192.168.1.' || :uid % 250 || '", "device": "iPhone 14", "location": "Kyiv, Ukraine"}$single_key_json}')::jsonb)::text;
SQL
jobs=$(nproc)
insert_all= record_all= single_ratios= insert_cpus= record_cpus= cpu_ratios=
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	t0=$(server_cpu_ticks)
	pgbench -n -M prepared -c "$BENCH_CLIENTS" -j "$jobs" -T "$BENCH_SECONDS" -f "$work/insert.sql" >"$work/insert.out" 2>&1
	wait_backends_gone
	ic=$(cpu_per_tx $(( $(server_cpu_ticks) - t0 )) "$(pgbench_tx "$work/insert.out")")
	bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
	t0=$(server_cpu_ticks)
	pgbench -n -M prepared -c "$BENCH_CLIENTS" -j "$jobs" -T "$BENCH_SECONDS" -f "$work/record.sql" >"$work/record.out" 2>&1
	wait_backends_gone
	rc=$(cpu_per_tx $(( $(server_cpu_ticks) - t0 )) "$(pgbench_tx "$work/record.out")")
	bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
	i=$(pgbench_tps "$work/insert.out") r=$(pgbench_tps "$work/record.out")
	echo "round $round: INSERT $i tps ($ic us CPU/tx), record_event $r tps ($rc us CPU/tx), ratio $(ratio "$r" "$i") (CPU: $(ratio "$ic" "$rc"))"
	insert_all="$insert_all $i" record_all="$record_all $r" single_ratios="$single_ratios $(ratio "$r" "$i")"
	insert_cpus="$insert_cpus $ic" record_cpus="$record_cpus $rc" cpu_ratios="$cpu_ratios $(ratio "$ic" "$rc")"
	round=$((round + 1))
done

printf '%-52s %10s %10s %8s\n' "ingest (medians of $BENCH_ROUNDS alternating rounds)" "extension" "baseline" "ratio"
printf '%-52s %10.0f %10.0f %8s\n' "batch: record_events x$batch vs COPY (rows/s)" "$(median $batch_rates)" "$(median $copy_rates)" "$(median $batch_ratios)"
printf '%-52s %10.0f %10.0f %8s\n' "single: record_event vs INSERT, $BENCH_CLIENTS clients (tps)" "$(median $record_all)" "$(median $insert_all)" "$(median $single_ratios)"
printf '%-52s %10.1f %10.1f %8s\n' "single: server CPU per transaction (us)" "$(median $record_cpus)" "$(median $insert_cpus)" "$(median $cpu_ratios)"
echo "(ratio: median of the per-round ratios; single: ${BENCH_SECONDS} s per run; targets: batch >= 0.5, single >= 0.8;"
echo " CPU ratio: baseline's CPU per transaction over the extension's, roughly the tps ratio of a CPU-bound machine)"
