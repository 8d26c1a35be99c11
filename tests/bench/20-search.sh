#!/bin/sh
# 20-search.sh: one page of 100 events through search_events() (JSON text
# and cursor, as the REST layer sends it) against the hand-written SELECT of
# the same rows, on a durable cluster holding BENCH_EVENTS events of 1000
# users.  pgbench with 4 clients for BENCH_SECONDS each and per-transaction
# logs; p50 and p99 latencies are computed from the logs.  A deep page (after
# a cursor half-way through the user's events) shows that keyset paging
# costs what the first page costs.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

bench_start search
work=$UA_BENCH_TMP/search
mkdir -p "$work"
users=1000
per_user=$((BENCH_EVENTS / users))
clients=${BENCH_SEARCH_CLIENTS:-4}

# Events spread over 30 days of recorded time; ids and recorded_at grow together.
echo "loading $BENCH_EVENTS events"
bench_psql -c "SELECT user_activity.ensure_partitions('2025-10-01 00:00Z', '2025-11-01 00:00Z')" >/dev/null
bench_psql -c "
    INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
    SELECT 1 + i % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action,
           timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS),
           timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS),
           jsonb_build_object('ip', '192.168.1.' || i % 250, 'device', 'iPhone 14', 'location', 'Kyiv, Ukraine')
    FROM generate_series(0, $BENCH_EVENTS - 1) i" -c "VACUUM ANALYZE user_activity.events"

# The hand-written keyset SELECT the extension's search amounts to.
cat >"$work/select.sql" <<SQL
\\set uid random(1, $users)
SELECT id, user_id, action, event_action_timestamp, metadata, event_id, recorded_at FROM user_activity.events WHERE user_id = :uid AND recorded_at >= '2025-10-01T00:00:00Z' AND recorded_at < '2025-11-01T00:00:00Z' ORDER BY recorded_at, id LIMIT 100;
SQL
cat >"$work/search.sql" <<SQL
\\set uid random(1, $users)
SELECT body, next_cursor FROM user_activity.search_events(('{"user_id": "' || :uid || '", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "100"}')::jsonb);
SQL
# The same page with a limit that varies from call to call (91 to 110 rows),
# as clients that let users pick a page size send it: the kept plans do not
# depend on the limit, so this costs what the fixed limit costs.
cat >"$work/search_limits.sql" <<SQL
\\set uid random(1, $users)
\\set lim random(91, 110)
SELECT body, next_cursor FROM user_activity.search_events(('{"user_id": "' || :uid || '", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "' || :lim || '"}')::jsonb);
SQL
# Deep pages: start after the middle event of the user's range.
cat >"$work/select_deep.sql" <<SQL
\\set uid random(1, $users)
SELECT id, user_id, action, event_action_timestamp, metadata, event_id, recorded_at FROM user_activity.events WHERE user_id = :uid AND (recorded_at, id) > ('2025-10-16T00:00:00Z', 0) AND recorded_at < '2025-11-01T00:00:00Z' ORDER BY recorded_at, id LIMIT 100;
SQL
bench_psql -At -c "
    SELECT user_id, user_activity.event_cursor(user_id, recorded_at, id)
    FROM (SELECT DISTINCT ON (user_id) user_id, recorded_at, id FROM user_activity.events
          WHERE recorded_at >= '2025-10-16' ORDER BY user_id, recorded_at, id) s
    ORDER BY user_id" >"$work/cursors.txt"
# pgbench cannot hold a table of cursors per client; the deep page through
# search_events uses a lookup table filled once.
bench_psql -c "CREATE TABLE public.bench_cursors (u bigint PRIMARY KEY, c text)" \
	-c "\\copy public.bench_cursors FROM '$work/cursors.txt' WITH (FORMAT text, DELIMITER '|')" \
	-c "ANALYZE public.bench_cursors"
cat >"$work/search_deep.sql" <<SQL
\\set uid random(1, $users)
SELECT body, next_cursor FROM user_activity.search_events(('{"user_id": "' || :uid || '", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "100", "cursor": "' || (SELECT c FROM public.bench_cursors WHERE u = :uid) || '"}')::jsonb);
SQL

# Rounds alternate the five runs so that load from elsewhere hits all
# alike; percentiles are over every transaction of every round.
run() {
	(cd "$work" && pgbench -n -M prepared -c "$clients" -j "$(nproc)" -T "$BENCH_SECONDS" \
		--log --log-prefix="$1.r$2" -f "$1.sql" >"$1.r$2.out" 2>&1)
}
rm -f "$work"/*.r[0-9]*
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	for s in select search select_deep search_deep search_limits; do
		run "$s" "$round"
	done
	round=$((round + 1))
done

printf '%-36s %10s %10s %10s %10s %8s %8s\n' "search, 100-row page, $clients clients" "ext p50" "sql p50" "ext p99" "sql p99" "p50 x" "p99 x"
for kind in first deep; do
	if [ "$kind" = first ]; then ext=search; sql=select; else ext=search_deep; sql=select_deep; fi
	e50=$(latency_pct "$work/$ext.r" 50); s50=$(latency_pct "$work/$sql.r" 50)
	e99=$(latency_pct "$work/$ext.r" 99); s99=$(latency_pct "$work/$sql.r" 99)
	printf '%-36s %10s %10s %10s %10s %8s %8s\n' "$kind page (ms)" "$e50" "$s50" "$e99" "$s99" "$(ratio "$e50" "$s50")" "$(ratio "$e99" "$s99")"
done
tps() {
	for f in "$work/$1".r*.out; do pgbench_tps "$f"; done | tr '\n' ' '
}
echo "tps per round: search_events $(tps search)| SELECT $(tps select)"
echo "          deep: search_events $(tps search_deep)| SELECT $(tps select_deep)"
echo "  random limits: search_events $(tps search_limits)"
l50=$(latency_pct "$work/search_limits.r" 50); f50=$(latency_pct "$work/search.r" 50)
printf '%-36s %10s %10s %8s\n' "search, limit 91..110 vs 100 (ms)" "$l50" "$f50" "$(ratio "$l50" "$f50")"
echo "($per_user events per user; $BENCH_ROUNDS rounds of ${BENCH_SECONDS} s per run; target: p99 within 1.5x the hand-written SELECT)"
