#!/bin/sh
# 10-ingest.sh: ingest through the extension against PostgreSQL's own
# fastest paths, on a durable cluster.
#
#  1. batch: BENCH_EVENTS events through record_events() in batches of 1000
#     (one statement and one commit per batch, one client) against COPY of
#     the same rows into the same table (one client, one transaction);
#  2. single: record_event(jsonb) one event per statement against a plain
#     INSERT of the same event, pgbench with BENCH_CLIENTS clients for
#     BENCH_SECONDS each, prepared statements.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

bench_start ingest
work=$UA_BENCH_TMP/ingest
mkdir -p "$work"
batch=1000
users=10000

# The same events for both paths: JSON batches and a CSV of their columns.
echo "generating $BENCH_EVENTS events"
bench_psql -At -c "
    SELECT format('SELECT user_activity.record_events(%L);',
                  jsonb_agg(jsonb_build_object(
                      'user_id', 1 + i % $users,
                      'event_action_timestamp', to_char((timestamptz '2025-10-10 00:00Z' + i * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                      'action', (ARRAY['created','updated','deleted','viewed'])[1 + i % 4],
                      'metadata', jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine'))
                  ORDER BY i))
    FROM generate_series(0, $BENCH_EVENTS - 1) i
    GROUP BY i / $batch ORDER BY i / $batch" >"$work/batches.sql"
bench_psql -c "\\copy (SELECT 1 + i % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action, timestamptz '2025-10-10 00:00Z' + i * interval '1 second', jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine') FROM generate_series(0, $BENCH_EVENTS - 1) i ORDER BY i) TO '$work/events.csv' WITH (FORMAT csv)"

bench_psql -c "CHECKPOINT"
start=$(now_ms)
bench_psql -c "\\copy user_activity.events (user_id, action, event_action_timestamp, metadata) FROM '$work/events.csv' WITH (FORMAT csv)"
copy_ms=$(( $(now_ms) - start ))
copied=$(bench_psql -At -c "SELECT count(*) FROM user_activity.events")
bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"

start=$(now_ms)
bench_psql -f "$work/batches.sql" >/dev/null
batch_ms=$(( $(now_ms) - start ))
stored=$(bench_psql -At -c "SELECT count(*) FROM user_activity.events")
bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"

copy_rate=$(rate "$copied" "$copy_ms")
batch_rate=$(rate "$stored" "$batch_ms")

# Single events, one statement (and commit) each.
cat >"$work/insert.sql" <<SQL
\\set uid random(1, $users)
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata) VALUES (:uid, 'viewed', '2025-10-10T18:30:00Z', '{"ip": "192.168.1.10", "device": "iPhone 14", "location": "Kyiv, Ukraine"}');
SQL
cat >"$work/record.sql" <<SQL
\\set uid random(1, $users)
SELECT 1 FROM user_activity.record_event(('{"user_id": ' || :uid || ', "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {"ip": "192.168.1.10", "device": "iPhone 14", "location": "Kyiv, Ukraine"}}')::jsonb);
SQL
jobs=$(nproc)
pgbench -n -M prepared -c "$BENCH_CLIENTS" -j "$jobs" -T "$BENCH_SECONDS" -f "$work/insert.sql" >"$work/insert.out" 2>&1
bench_psql -c "TRUNCATE user_activity.events" -c "CHECKPOINT"
pgbench -n -M prepared -c "$BENCH_CLIENTS" -j "$jobs" -T "$BENCH_SECONDS" -f "$work/record.sql" >"$work/record.out" 2>&1
insert_tps=$(pgbench_tps "$work/insert.out")
record_tps=$(pgbench_tps "$work/record.out")

printf '%-44s %12s %12s %8s\n' "ingest" "extension" "baseline" "ratio"
printf '%-44s %12s %12s %8s\n' "batch: record_events x$batch vs COPY (rows/s)" "$batch_rate" "$copy_rate" "$(ratio "$batch_rate" "$copy_rate")"
printf '%-44s %12s %12s %8s\n' "single: record_event vs INSERT, ${BENCH_CLIENTS} clients (tps)" "$record_tps" "$insert_tps" "$(ratio "$record_tps" "$insert_tps")"
echo "(batch: $stored rows in ${batch_ms} ms vs $copied rows in ${copy_ms} ms; single: ${BENCH_SECONDS} s each; targets: batch >= 0.5, single >= 0.8)"
