#!/bin/sh
# 30-counts.sh: the cost of user_activity.count_activity().
#
#   run 1      BENCH_EVENTS new events (default 1 M) by 10 000 users on an
#              empty table, one count.  Target: 1 M events in under 2 s.
#   then       1 000 new events on top of that table, counted, five times,
#              by 1 000 users and by 10 users, each in a new session (as
#              pg_cron runs it) and in one session (plans cached).
#
# Incremental means a small run costs about what its share of run 1 cost,
# not a rescan: the baseline is run 1 scaled to 1 000 events; each small run
# (median of 5) is printed as a ratio to it, and compared with a full rescan
# of the table.  A run also has fixed costs (a new session's first call
# plans its statements; the commit waits for fsync) and writes one count row
# per user with new events, so 1 000 events by 1 000 users cost more per
# event than run 1, which writes one row per 100 events.  "server" is the
# time the run itself took (counting_runs.finished_at - started_at, same
# session, without the commit).
#
# Events are loaded with INSERT ... SELECT generate_series; the cluster keeps
# fsync on (PG_DURABLE=1).  Port: COUNTS_BENCH_PGPORT (default 55360).
set -eu
cd "$(dirname "$0")/../.."

port=${COUNTS_BENCH_PGPORT:-55360}
events=${BENCH_EVENTS:-1000000}
tmp=${UA_BENCH_TMP:-/tmp/user_activity_bench}
data=$tmp/counts-data

PG_DURABLE=1 PG_EXTRA_CONF="shared_buffers = '1GB'
max_wal_size = '8GB'
checkpoint_timeout = '30min'" tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT

psql="env PGOPTIONS=-cclient_min_messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port -U postgres"
$psql -d postgres -c "DROP DATABASE IF EXISTS counts_bench" -c "CREATE DATABASE counts_bench"
psql="$psql -d counts_bench"
$psql -c "CREATE EXTENSION user_activity"
# the current partition and those ahead, for direct INSERTs at now()
$psql -c "SELECT user_activity.maintain_partitions()" >/dev/null

# INSERT of N events spread over U users, all four actions
events_sql() {
	echo "INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata)
	      SELECT 1 + (i::bigint * 7919) % $2,
	             (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
	             '2025-10-10T00:00:00Z'::timestamptz + i * interval '1 ms',
	             '{\"ip\": \"192.168.1.10\"}'
	      FROM generate_series(1, $1) i"
}
load() {
	$psql -c "$(events_sql "$1" "$2")"
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# server-side time of the last N runs, median (without commit)
server_ms() {
	$psql -At -c "SELECT round((extract(epoch FROM finished_at - started_at) * 1000)::numeric, 3)
	              FROM user_activity.counting_runs ORDER BY id DESC LIMIT $1" | median
}

# check the last N runs each counted E events
check_runs() {
	bad=$($psql -At -c "SELECT count(*) FROM (SELECT events FROM user_activity.counting_runs
	                    ORDER BY id DESC LIMIT $1) r WHERE events IS DISTINCT FROM $2")
	[ "$bad" = 0 ] || { echo "$bad of the last $1 runs did not count $2 events" >&2; exit 1; }
}

# five counts of 1 000 new events by U users, each in a new session as
# pg_cron runs it: "client_median server_median"
cold_runs() {
	for i in 1 2 3 4 5; do
		load 1000 "$1"
		$psql -At -c '\timing on' -c "SELECT user_activity.count_activity()" |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
	done | median
	check_runs 5 1000
}

# the same in one session (plans cached): client median
warm_runs() {
	for i in 1 2 3 4 5 6; do
		printf '%s\n' '\timing off'
		echo "$(events_sql 1000 "$1");"
		[ "$i" -gt 1 ] && printf '%s\n' '\timing on'
		echo "SELECT user_activity.count_activity();"
	done | $psql -At | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | median
	check_runs 6 1000
}

start=$(date +%s)
load "$events" 10000
$psql -c "ANALYZE user_activity.events" -c "CHECKPOINT"
echo "loaded $events events by 10000 users in $(( $(date +%s) - start )) s"

big=$($psql -At -c '\timing on' -c "SELECT user_activity.count_activity()" |
	sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
check_runs 1 "$events"
big_server=$(server_ms 1)

full=$($psql -At -c '\timing on' -c "SELECT count(*) FROM (SELECT user_id, count(*),
           count(*) FILTER (WHERE action = 'created'), count(*) FILTER (WHERE action = 'updated'),
           count(*) FILTER (WHERE action = 'deleted'), count(*) FILTER (WHERE action = 'viewed')
           FROM user_activity.events GROUP BY user_id) s" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')

many_cold=$(cold_runs 1000)
many_warm=$(warm_runs 1000)
many_server=$(server_ms 5)
few_cold=$(cold_runs 10)
few_warm=$(warm_runs 10)
few_server=$(server_ms 5)

$psql -At -c "SELECT 'proof: ' || CASE WHEN (SELECT count(*) FROM user_activity.events)
                     = (SELECT sum(event_count) FROM user_activity.user_event_counts)
                THEN 'every event counted once' ELSE 'COUNTS DIFFER' END"

awk -v n="$events" -v big="$big" -v bs="$big_server" -v full="$full" \
    -v mc="$many_cold" -v mw="$many_warm" -v ms="$many_server" \
    -v fc="$few_cold" -v fw="$few_warm" -v fs="$few_server" 'BEGIN {
	base = big * 1000 / n
	sbase = bs * 1000 / n
	printf "run 1, %d new events by 10000 users: %9.1f ms (server %.1f ms); per million %.1f ms, target < 2000 ms: %s\n", n, big, bs, big * 1000000 / n, (big * 1000000 / n < 2000 ? "met" : "missed")
	printf "baseline, run 1 scaled to 1000 events:  %9.3f ms (server %.3f ms)\n", base, sbase
	printf "1000 new events, median of 5     new session  same session     server   ratio to baseline: new / same session / server\n"
	printf "  by 1000 users (1000 count rows)  %8.1f ms   %8.1f ms  %7.1f ms   %6.1f x / %6.1f x / %6.1f x\n", mc, mw, ms, mc / base, mw / base, ms / sbase
	printf "  by 10 users (10 count rows)      %8.1f ms   %8.1f ms  %7.1f ms   %6.1f x / %6.1f x / %6.1f x\n", fc, fw, fs, fc / base, fw / base, fs / sbase
	printf "full rescan of the table (%d events): %.1f ms; a 1000-event count (same session, 10 users) is %.4f x of it\n", n + 20000, full, fw / full
}'
