#!/bin/sh
# 25-find.sh: the analysts' find_events() and the streaming export_events()
# against the hand-written SELECTs of the same rows, on a durable cluster
# holding BENCH_EVENTS events of 1000 users over 30 daily partitions.
#
#   find      a 100-row first page: find_events(uid, since, until, 100)
#             against SELECT ... ORDER BY recorded_at, id LIMIT 100, and
#             against find_events as the SQL function of versions 1.0 to
#             1.2 (created here from extension/sql/user_activity--1.0.sql as
#             public.find_events_sql), which plans its query on every call
#   export    every event of the user in the 30 days (BENCH_EVENTS / 1000
#             rows) as ndjson lines, in the select list as the shim calls
#             it, against the SELECT of the same rows
#
# pgbench -M prepared with BENCH_FIND_CLIENTS (4) clients for BENCH_SECONDS
# each, the five runs alternating in BENCH_ROUNDS rounds; p50 and p99 from
# the per-transaction logs, tps per round.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

bench_start find
work=$UA_BENCH_TMP/find
mkdir -p "$work"
users=1000
clients=${BENCH_FIND_CLIENTS:-4}

# Events spread over 30 days of recorded time, one partition a day.
echo "loading $BENCH_EVENTS events"
bench_psql -c "SELECT user_activity.ensure_partitions('2025-10-01 00:00Z', '2025-10-31 00:00Z')" >/dev/null
bench_psql -c "
    INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
    SELECT 1 + i % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action,
           timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS),
           timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS),
           jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine')
    FROM generate_series(0, $BENCH_EVENTS - 1) i" -c "VACUUM ANALYZE user_activity.events"

# The SQL function find_events was up to version 1.2, under another name.
sed -n '/^CREATE FUNCTION user_activity.find_events(/,/^\$\$;/p' extension/sql/user_activity--1.0.sql |
	sed 's/user_activity\.find_events(/public.find_events_sql(/; s/find_events\./find_events_sql./g' >"$work/find_sql.fn"
[ -s "$work/find_sql.fn" ] || { echo "no find_events in extension/sql/user_activity--1.0.sql" >&2; exit 1; }
bench_psql -f "$work/find_sql.fn" >/dev/null

range="'2025-10-01T00:00:00Z', '2025-10-31T00:00:00Z'"
cat >"$work/select.sql" <<SQL
\\set uid random(1, $users)
SELECT * FROM user_activity.events WHERE user_id = :uid AND recorded_at >= '2025-10-01T00:00:00Z' AND recorded_at < '2025-10-31T00:00:00Z' ORDER BY recorded_at, id LIMIT 100;
SQL
cat >"$work/find.sql" <<SQL
\\set uid random(1, $users)
SELECT * FROM user_activity.find_events(:uid, $range, 100);
SQL
cat >"$work/find_sql.sql" <<SQL
\\set uid random(1, $users)
SELECT * FROM public.find_events_sql(:uid, $range, 100);
SQL
cat >"$work/select_all.sql" <<SQL
\\set uid random(1, $users)
SELECT * FROM user_activity.events WHERE user_id = :uid AND recorded_at >= '2025-10-01T00:00:00Z' AND recorded_at < '2025-10-31T00:00:00Z' ORDER BY recorded_at, id;
SQL
cat >"$work/export.sql" <<SQL
\\set uid random(1, $users)
SELECT user_activity.export_events(('{"user_id": "' || :uid || '", "from": "2025-10-01T00:00:00Z", "to": "2025-10-31T00:00:00Z"}')::jsonb, 'ndjson');
SQL

run() {
	(cd "$work" && pgbench -n -M prepared -c "$clients" -j "$(nproc)" -T "$BENCH_SECONDS" \
		--log --log-prefix="$1.r$2" -f "$1.sql" >"$1.r$2.out" 2>&1)
}
rm -f "$work"/*.r[0-9]*
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	for s in select find find_sql select_all export; do
		run "$s" "$round"
	done
	round=$((round + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

tps() {
	for f in "$work/$1".r*.out; do pgbench_tps "$f"; done | tr '\n' ' '
}
printf '%-44s %10s %10s %10s %10s %8s %8s\n' "$clients clients" "ext p50" "sql p50" "ext p99" "sql p99" "p50 x" "p99 x"
for pair in "find select" "find_sql select" "find find_sql" "export select_all"; do
	set -- $pair
	e50=$(latency_pct "$work/$1.r" 50); s50=$(latency_pct "$work/$2.r" 50)
	e99=$(latency_pct "$work/$1.r" 99); s99=$(latency_pct "$work/$2.r" 99)
	printf '%-44s %10s %10s %10s %10s %8s %8s\n' "$1 / $2 (ms)" "$e50" "$s50" "$e99" "$s99" "$(ratio "$e50" "$s50")" "$(ratio "$e99" "$s99")"
done
for s in select find find_sql select_all export; do
	echo "tps per round, $s: $(tps "$s")"
done
echo "($((BENCH_EVENTS / users)) events per user; $BENCH_ROUNDS rounds of ${BENCH_SECONDS} s per run)"
