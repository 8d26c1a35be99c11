#!/bin/sh
# 30-counts.sh: the cost of user_activity.count_activity().
#
#   run 1      BENCH_EVENTS new events (default 1 M) by 10 000 users on an
#              empty table, one count.  Target: 1 M events in under 2 s.
#   runs 2-6   1 000 new events on top of that table, by 1 000 users.
#   runs 7-11  1 000 new events on top, by 10 users (100 events per user, as
#              in run 1).
#
# Incremental means a small run costs about what its share of run 1 cost,
# not a rescan: the baseline is run 1 scaled to 1 000 events, and each small
# run (median of 5) is printed as a ratio to it and to a full rescan of the
# table.  A run's cost has a fixed part (commit with fsync, one round trip)
# and a part per count row it writes (one per user with new events), so runs
# 2-6, which write one row per event, cost more per event than run 1, which
# writes one per 100.  "server" is the time the run itself took
# (counting_runs.finished_at - started_at, without the commit); "client" is
# what psql measured.
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

# load N events spread over U users, all four actions
load() {
	$psql -c "INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata)
	          SELECT 1 + (i::bigint * 7919) % $2,
	                 (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
	                 '2025-10-10T00:00:00Z'::timestamptz + i * interval '1 ms',
	                 '{\"ip\": \"192.168.1.10\"}'
	          FROM generate_series(1, $1) i"
}

# one count: "client_ms server_ms events users"
count() {
	client=$($psql -At -c '\timing on' -c "SELECT user_activity.count_activity()" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
	server=$($psql -At -F' ' -c "SELECT round((extract(epoch FROM finished_at - started_at) * 1000)::numeric, 3),
	                                    events, users
	                             FROM user_activity.counting_runs ORDER BY id DESC LIMIT 1")
	echo "$client $server"
}

# five counts of 1 000 new events by U users: "client_median server_median"
small_runs() {
	out=$(for i in 1 2 3 4 5; do
		load 1000 "$1"
		count
	done)
	if printf '%s\n' "$out" | awk '$3 != 1000 { bad = 1 } END { exit !bad }'; then
		echo "a small run did not count 1000 events" >&2
		exit 1
	fi
	echo "$(printf '%s\n' "$out" | awk '{ print $1 }' | sort -n | sed -n 3p)" \
		"$(printf '%s\n' "$out" | awk '{ print $2 }' | sort -n | sed -n 3p)"
}

start=$(date +%s)
load "$events" 10000
$psql -c "ANALYZE user_activity.events" -c "CHECKPOINT"
echo "loaded $events events by 10000 users in $(( $(date +%s) - start )) s"

set -- $(count)
big_client=$1 big_server=$2
[ "$3" = "$events" ] || { echo "run 1 counted $3 events, not $events"; exit 1; }

full=$($psql -At -c '\timing on' -c "SELECT count(*) FROM (SELECT user_id, count(*),
           count(*) FILTER (WHERE action = 'created'), count(*) FILTER (WHERE action = 'updated'),
           count(*) FILTER (WHERE action = 'deleted'), count(*) FILTER (WHERE action = 'viewed')
           FROM user_activity.events GROUP BY user_id) s" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')

set -- $(small_runs 1000)
many_client=$1 many_server=$2
set -- $(small_runs 10)
few_client=$1 few_server=$2

$psql -At -c "SELECT 'proof: ' || CASE WHEN (SELECT count(*) FROM user_activity.events)
                     = (SELECT sum(event_count) FROM user_activity.user_event_counts)
                THEN 'every event counted once' ELSE 'COUNTS DIFFER' END"

awk -v n="$events" -v bc="$big_client" -v bs="$big_server" -v full="$full" \
    -v mc="$many_client" -v ms="$many_server" -v fc="$few_client" -v fs="$few_server" 'BEGIN {
	per_m = bc * 1000000 / n
	printf "run 1: %d new events:             client %9.1f ms  server %9.1f ms\n", n, bc, bs
	printf "       per million events:             %9.1f ms  (target < 2000 ms: %s)\n", per_m, (per_m < 2000 ? "met" : "missed")
	printf "baseline, run 1 scaled to 1000 events: %9.3f ms  server %9.3f ms\n", bc * 1000 / n, bs * 1000 / n
	printf "1000 new events by 1000 users:  client %9.1f ms  server %9.1f ms  ratio to baseline %6.1f x (server %6.1f x)\n", mc, ms, mc / (bc * 1000 / n), ms / (bs * 1000 / n)
	printf "1000 new events by 10 users:    client %9.1f ms  server %9.1f ms  ratio to baseline %6.1f x (server %6.1f x)\n", fc, fs, fc / (bc * 1000 / n), fs / (bs * 1000 / n)
	printf "full rescan of the table (%d events): %9.1f ms; 1000 new events by 1000 users cost %.4f x of it\n", n + 10000, full, mc / full
}'
