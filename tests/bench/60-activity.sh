#!/bin/sh
# 60-activity.sh: activity over time and active users against the queries
# an analyst would write by hand, and the count with its rollup against the
# count without one, on a durable cluster.
#
#   activity      a user's events per day over 30 days (BENCH_EVENTS events
#                 of ACTIVITY_USERS users, acted over 30 days, one partition
#                 a day): activity(uid, from, to, 'day') against the
#                 hand-written GROUP BY date_trunc('day', ...) over the
#                 user's index range (which leaves out the empty days).
#                 pgbench, BENCH_ACTIVITY_CLIENTS (4) clients, p50 and p99.
#   active users  distinct users per day over the same 30 days:
#                 active_users(from, to) (UTC days, from daily_active_users)
#                 and in Europe/Berlin (from the rollup's half hours),
#                 against count(DISTINCT user_id) GROUP BY date_trunc over
#                 the raw events.  Median of BENCH_ROUNDS timed calls each.
#   count         one count_activity() of COUNT_EVENTS (default
#                 min(BENCH_EVENTS, 1 M)) new events by ACTIVITY_USERS
#                 users, acted in the four hours before they arrive, as a
#                 count every four hours finds them: this version (counts
#                 and rollup) against version 1.4 (counts only), each in a
#                 database of its own holding the same events.  Median of
#                 BENCH_ROUNDS counts each.
#
# Runs alternate in every round, so that load from elsewhere on the machine
# hits all alike.  Reports; never fails on a slow number.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

bench_start activity
work=$UA_BENCH_TMP/activity
mkdir -p "$work"
users=${ACTIVITY_USERS:-100000}
clients=${BENCH_ACTIVITY_CLIENTS:-4}
count_events=${COUNT_EVENTS:-$((BENCH_EVENTS < 1000000 ? BENCH_EVENTS : 1000000))}
version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" user_activity.control)

# timed SQL: the milliseconds psql's \timing reports for the last statement
timed() {
	db=$1
	shift
	bench_psql -d "$db" -At -c '\timing on' "$@" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}

# events acted over October 2025, recorded up to ten minutes later
echo "loading $BENCH_EVENTS events of $users users"
start=$(now_ms)
bench_psql -c "SELECT user_activity.ensure_partitions('2025-10-01 00:00Z', '2025-11-01 00:00Z')" >/dev/null
bench_psql -c "
    INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
    SELECT 1 + (i::bigint * 7919) % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action,
           t, t + (i % 600) * interval '1 second', '{\"device\": \"iPhone 14\"}'
    FROM generate_series(0, $BENCH_EVENTS - 1) i,
         LATERAL (SELECT timestamptz '2025-10-01 00:00Z' + i * (interval '30 days' / $BENCH_EVENTS) AS t) x" \
	-c "VACUUM ANALYZE user_activity.events"
echo "loaded in $(( ($(now_ms) - start) / 1000 )) s"
start=$(now_ms)
bench_psql -c "SELECT user_activity.count_activity()" >/dev/null
bench_psql -c "VACUUM ANALYZE user_activity.user_day_activity, user_activity.daily_active_users"
echo "first count (rollup of all $BENCH_EVENTS) in $(( ($(now_ms) - start) / 1000 )) s"
bench_psql -At -c "SELECT 'proof: ' || CASE WHEN (SELECT sum(users) FROM user_activity.daily_active_users)
                       = (SELECT sum(n) FROM (SELECT count(DISTINCT user_id) AS n FROM user_activity.events
                                              GROUP BY (event_action_timestamp AT TIME ZONE 'UTC')::date) d)
                  THEN 'daily active users equal the raw events' ELSE 'ROLLUP DIFFERS' END"

range="'2025-10-01T00:00:00Z', '2025-10-31T00:00:00Z'"
cat >"$work/activity.sql" <<SQL
\\set uid random(1, $users)
SELECT * FROM user_activity.activity(:uid, $range, 'day');
SQL
cat >"$work/group_by.sql" <<SQL
\\set uid random(1, $users)
SELECT date_trunc('day', event_action_timestamp, 'UTC') AS day,
       count(*) FILTER (WHERE action = 'created'), count(*) FILTER (WHERE action = 'updated'),
       count(*) FILTER (WHERE action = 'deleted'), count(*) FILTER (WHERE action = 'viewed'), count(*)
FROM user_activity.events
WHERE user_id = :uid AND event_action_timestamp >= '2025-10-01T00:00:00Z' AND event_action_timestamp < '2025-10-31T00:00:00Z'
GROUP BY 1;
SQL
active_sql="SELECT * FROM user_activity.active_users($range)"
berlin_sql="SELECT * FROM user_activity.active_users('2025-10-01T00:00:00+02:00', '2025-10-31T00:00:00+01:00', 'day', NULL, 'Europe/Berlin')"
raw_sql="SELECT date_trunc('day', event_action_timestamp, 'UTC'), count(DISTINCT user_id)
         FROM user_activity.events
         WHERE event_action_timestamp >= '2025-10-01T00:00:00Z' AND event_action_timestamp < '2025-10-31T00:00:00Z'
         GROUP BY 1"
raw_berlin_sql="SELECT date_trunc('day', event_action_timestamp, 'Europe/Berlin'), count(DISTINCT user_id)
         FROM user_activity.events
         WHERE event_action_timestamp >= '2025-10-01T00:00:00+02:00' AND event_action_timestamp < '2025-10-31T00:00:00+01:00'
         GROUP BY 1"

# The count without and with the rollup: a database at 1.4 beside this one.
bench_psql -c "CREATE DATABASE count14" >/dev/null
bench_psql -d count14 -c "CREATE EXTENSION user_activity VERSION '1.4'" \
	-c "SELECT user_activity.ensure_partitions('2025-11-01 00:00Z', '2025-11-02 00:00Z')" >/dev/null
bench_psql -c "SELECT user_activity.ensure_partitions('2025-11-01 00:00Z', '2025-11-02 00:00Z')" >/dev/null
# round R's new events: acted in the four hours before they arrive
new_events() {
	echo "INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
	      SELECT 1 + (i::bigint * 7919) % $users, (ARRAY['created','updated','deleted','viewed'])[1 + i % 4]::user_activity.action,
	             t - (i % 14400) * interval '1 second', t, '{\"device\": \"iPhone 14\"}'
	      FROM generate_series(0, $count_events - 1) i,
	           LATERAL (SELECT timestamptz '2025-11-01 00:00Z' + $1 * interval '4 hours'
	                           + i * (interval '4 hours' / $count_events) AS t) x"
}
bench_psql -d count14 -c "SELECT user_activity.count_activity()" >/dev/null

run() {
	(cd "$work" && pgbench -n -M prepared -c "$clients" -j "$(nproc)" -T "$BENCH_SECONDS" \
		--log --log-prefix="$1.r$2" -f "$1.sql" >"$1.r$2.out" 2>&1)
}
rm -f "$work"/*.r[0-9]*
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
active= berlin= raw= raw_berlin= count15= count14=
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	run activity "$round"
	run group_by "$round"
	active="$active $(timed postgres -c "$active_sql")"
	raw="$raw $(timed postgres -c "$raw_sql")"
	berlin="$berlin $(timed postgres -c "$berlin_sql")"
	raw_berlin="$raw_berlin $(timed postgres -c "$raw_berlin_sql")"
	bench_psql -c "$(new_events "$round")" -c "CHECKPOINT" >/dev/null
	count15="$count15 $(timed postgres -c "SELECT user_activity.count_activity()")"
	bench_psql -d count14 -c "$(new_events "$round")" -c "CHECKPOINT" >/dev/null
	count14="$count14 $(timed count14 -c "SELECT user_activity.count_activity()")"
	round=$((round + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for db in postgres count14; do
	bench_psql -d "$db" -At -c "SELECT '$db: ' || CASE WHEN (SELECT count(*) FROM user_activity.events)
	                       = (SELECT sum(event_count) FROM user_activity.user_event_counts)
	                  THEN 'every event counted once' ELSE 'COUNTS DIFFER' END"
done

e50=$(latency_pct "$work/activity.r" 50); s50=$(latency_pct "$work/group_by.r" 50)
e99=$(latency_pct "$work/activity.r" 99); s99=$(latency_pct "$work/group_by.r" 99)
tps() {
	for f in "$work/$1".r*.out; do pgbench_tps "$f"; done | tr '\n' ' '
}
printf '%-48s %10s %10s %10s %10s %8s %8s\n' "activity, 30 days by day, $clients clients" "ext p50" "sql p50" "ext p99" "sql p99" "p50 x" "p99 x"
printf '%-48s %10s %10s %10s %10s %8s %8s\n' "activity / GROUP BY date_trunc (ms)" "$e50" "$s50" "$e99" "$s99" "$(ratio "$e50" "$s50")" "$(ratio "$e99" "$s99")"
echo "tps per round: activity $(tps activity)| GROUP BY $(tps group_by)   (goal: p99 <= 1.5x)"
a=$(median $active); r=$(median $raw); b=$(median $berlin); rb=$(median $raw_berlin)
printf '%-48s %10s %12s %10s\n' "active users, 30 days by day (median ms)" "rollup" "raw DISTINCT" "speed-up"
printf '%-48s %10s %12s %9sx\n' "  UTC days (daily_active_users)" "$a" "$r" "$(ratio "$r" "$a")"
printf '%-48s %10s %12s %9sx\n' "  Europe/Berlin days (half hours)" "$b" "$rb" "$(ratio "$rb" "$b")"
echo "  (goal: >= 20x; rounds: rollup$active | raw$raw)"
c15=$(median $count15); c14=$(median $count14)
printf '%-48s %10s %12s %10s\n' "count of $count_events new events (median ms)" "$version" "1.4" "ratio"
printf '%-48s %10s %12s %9sx\n' "  with the rollup / without" "$c15" "$c14" "$(ratio "$c15" "$c14")"
echo "  (goal: <= 1.5x; rounds: $version$count15 | 1.4$count14)"
echo "($BENCH_EVENTS events, $users users, $((BENCH_EVENTS / users)) events per user; $BENCH_ROUNDS rounds, pgbench ${BENCH_SECONDS} s per run)"
