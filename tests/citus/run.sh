#!/bin/sh
# run.sh: user_activity on a real Citus cluster, against a plain install.
# Called by tests/suites/60-citus.sh once Citus is known to be installed.
#
# Starts a coordinator and two workers (citus first in
# shared_preload_libraries, then pg_cron) and a plain server, all on
# 127.0.0.1, runs docker/citus/setup.sql as shipped on the coordinator with
# only the node hosts and ports substituted, then:
#   - runs tests/citus/compare.sql on both and requires identical output
#     (ingest, single and batch retries, direct INSERTs, search, export,
#     counting, delete_user_events, DELETE, TRUNCATE);
#   - checks that the events landed on the workers' shards, none on the
#     coordinator;
#   - runs one REST sequence through the standalone shim against each
#     (POST event twice, a batch, search, counts, DELETE) and requires the
#     same statuses and bodies (recorded_at and createdAt aside);
#   - in a second database, distributes 1.3, updates it to the newest
#     version from the coordinator, distributes the tables added since as
#     setup.sql does, and checks dedup, erasure, TRUNCATE and a count with
#     its rollup after it.
#
#   CITUS_PGPORT      first of four PostgreSQL ports (default 55370):
#                     coordinator, worker 1, worker 2, plain
#   CITUS_HTTP_BASE   first of two HTTP ports (default 18370): the shim on
#                     the coordinator, the shim on the plain server
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
base=${CITUS_PGPORT:-55370}
http=${CITUS_HTTP_BASE:-18370}
tmp=$UA_TEST_TMP/citus
mkdir -p "$tmp"
chmod 755 "$tmp"
db=user_activity
coord=$base
plain=$((base + 3))

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok - $1"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $1"
}

shims=
cleanup() {
	for pid in $shims; do
		kill "$pid" 2>/dev/null || true
	done
	for n in coordinator worker1 worker2 plain; do
		tests/lib/cluster.sh stop "$tmp/$n" || true
	done
}
trap cleanup EXIT

for port in $(seq "$base" $((base + 3))); do
	if pg_isready -q -h 127.0.0.1 -p "$port"; then
		echo "port $port is already in use; set CITUS_PGPORT to four free ports" >&2
		exit 1
	fi
done
for port in $http $((http + 1)); do
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
		echo "port $port is already in use; set CITUS_HTTP_BASE to two free ports" >&2
		exit 1
	fi
done

echo "-- clusters: coordinator $coord, workers $((base + 1)) $((base + 2)), plain $plain"
i=0
for n in coordinator worker1 worker2; do
	PRELOAD_FIRST=citus CRON_DB=$db tests/lib/cluster.sh start "$tmp/$n" $((base + i))
	i=$((i + 1))
done
CRON_DB=$db tests/lib/cluster.sh start "$tmp/plain" "$plain"

psql_at() {
	port=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"
}
for port in $coord $((base + 1)) $((base + 2)) $plain; do
	psql_at "$port" -d postgres -c "CREATE DATABASE $db"
done
for port in $coord $((base + 1)) $((base + 2)); do
	psql_at "$port" -d $db -c "CREATE EXTENSION citus"
done

echo "-- docker/citus/setup.sql, hosts and ports substituted"
sed -e "s/'citus-coordinator', 5432/'127.0.0.1', $coord/" \
	-e "s/'citus-worker-1', 5432/'127.0.0.1', $((base + 1))/" \
	-e "s/'citus-worker-2', 5432/'127.0.0.1', $((base + 2))/" \
	docker/citus/setup.sql >"$tmp/setup.sql"
# only those three lines may differ
if [ "$(diff docker/citus/setup.sql "$tmp/setup.sql" | grep -c '^>')" != 3 ]; then
	not_ok "setup.sql: the node host and port substitution did not apply to exactly three lines"
fi
if psql -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$coord" -U postgres -d $db \
	-v schedule='0 */4 * * *' -f "$tmp/setup.sql" >"$tmp/setup.out" 2>&1; then
	ok "setup.sql runs on the coordinator"
else
	cat "$tmp/setup.out"
	not_ok "setup.sql runs on the coordinator"
	echo "$passed passed, $failed failed"
	exit 1
fi
tables=$(psql_at "$coord" -d $db -Atc "SELECT string_agg(logicalrelid::text, ' ' ORDER BY logicalrelid::text)
	FROM pg_dist_partition WHERE logicalrelid::text IN
	('user_activity.events', 'user_activity.event_keys', 'user_activity.user_event_counts',
	 'user_activity.user_day_activity')
	AND partmethod = 'h' AND colocationid = (SELECT colocationid FROM pg_dist_partition
	                                          WHERE logicalrelid = 'user_activity.events'::regclass)")
if [ "$tables" = "user_activity.event_keys user_activity.events user_activity.user_day_activity user_activity.user_event_counts" ]; then
	ok "events, event_keys, user_event_counts and user_day_activity are distributed and co-located"
else
	not_ok "events, event_keys, user_event_counts and user_day_activity are distributed and co-located (got: $tables)"
fi
reference=$(psql_at "$coord" -d $db -Atc "SELECT partmethod FROM pg_dist_partition
	WHERE logicalrelid = 'user_activity.daily_active_users'::regclass")
if [ "$reference" = n ]; then
	ok "daily_active_users is a reference table"
else
	not_ok "daily_active_users is a reference table (got partmethod: $reference)"
fi

psql_at "$plain" -d $db -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity" \
	-c "SELECT user_activity.maintain_partitions()" >/dev/null

echo "-- tests/citus/compare.sql on both"
cb=$(psql_at "$coord" -d $db -Atc "SELECT date_trunc('day', now() AT TIME ZONE 'UTC') + interval '1 day'")
rfc3339() {
	psql_at "$coord" -d $db -Atc "SELECT to_char('$cb'::timestamp + interval '$1', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
}
for side in plain coord; do
	eval port=\$$side
	psql -X -a -h 127.0.0.1 -p "$port" -U postgres -d $db \
		-v base="$(rfc3339 '0 days')" -v until="$(rfc3339 '3 days')" \
		-f tests/citus/compare.sql >"$tmp/compare-$side.out" 2>&1 || true
done
if diff -u "$tmp/compare-plain.out" "$tmp/compare-coord.out" >"$tmp/compare.diff"; then
	ok "compare.sql: Citus answers as the plain install ($(grep -c '^SELECT\|^INSERT\|^DELETE\|^TRUNCATE' tests/citus/compare.sql) statements)"
else
	cat "$tmp/compare.diff"
	not_ok "compare.sql: Citus answers as the plain install"
fi
# the plain run itself must show what the script claims
if grep -q 'ERROR' "$tmp/compare-plain.out" &&
	[ "$(grep -c 'ERROR' "$tmp/compare-plain.out")" = 1 ] &&
	grep -q 'ERROR:  23505' "$tmp/compare-plain.out"; then
	ok "compare.sql: the only error is the direct INSERT of a taken key (23505)"
else
	grep -n 'ERROR' "$tmp/compare-plain.out" || true
	not_ok "compare.sql: the only error is the direct INSERT of a taken key (23505)"
fi
for want in ' duplicate ' '"status": "duplicate"' 'events_deleted'; do
	if grep -q -- "$want" "$tmp/compare-coord.out"; then
		ok "compare.sql on Citus shows $want"
	else
		not_ok "compare.sql on Citus shows $want"
	fi
done

echo "-- where the rows are"
placed=$(psql_at "$coord" -d $db -Atc "SELECT string_agg(nodeport || ':' || (n > 0)::text, ' ' ORDER BY nodeport)
	FROM (SELECT nodeport, sum(result::bigint) AS n
	      FROM run_command_on_placements('user_activity.events', 'SELECT count(*) FROM %s')
	      GROUP BY nodeport) p")
if [ "$placed" = "$((base + 1)):true $((base + 2)):true" ]; then
	ok "events are stored on both workers' shards and on no other node"
else
	not_ok "events are stored on both workers' shards and on no other node (got: $placed)"
fi
keys=$(psql_at "$coord" -d $db -Atc "SELECT sum(result::bigint)
	FROM run_command_on_placements('user_activity.event_keys', 'SELECT count(*) FROM %s')")
events=$(psql_at "$coord" -d $db -Atc "SELECT count(*) FROM user_activity.events")
if [ "$keys" = 61 ] && [ "$events" = 61 ]; then
	ok "the 61 keys are on the workers' shards of event_keys"
else
	not_ok "the 61 keys are on the workers' shards of event_keys (got $keys keys, $events events)"
fi
# Reference tables (daily_active_users) are copied to every node, the
# coordinator too; no distributed table may have a shard there.
on_coord=$(psql_at "$coord" -d $db -Atc "SELECT count(*) FROM pg_dist_placement p
	JOIN pg_dist_node n ON n.groupid = p.groupid
	JOIN pg_dist_shard s ON s.shardid = p.shardid
	JOIN pg_dist_partition d ON d.logicalrelid = s.logicalrelid
	WHERE n.nodeport = $coord AND d.partmethod <> 'n'")
if [ "$on_coord" = 0 ]; then
	ok "the coordinator holds no shard of a distributed table"
else
	not_ok "the coordinator holds no shard of a distributed table (got $on_coord placements)"
fi

echo "-- REST through the standalone shim, coordinator and plain"
for side in coord plain; do
	eval port=\$$side
	hp=$http
	[ $side = plain ] && hp=$((http + 1))
	DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=$db" \
	HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$hp HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=2 \
		http-shim/user-activity-shim >"$tmp/shim-$side.log" 2>&1 &
	shims="$shims $!"
	i=0
	until curl -sf "http://127.0.0.1:$hp/readyz" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "shim on $hp not ready" >&2
			tail -n 20 "$tmp/shim-$side.log" >&2
			exit 1
		fi
		sleep 0.2
	done
done
# search from yesterday to the day after tomorrow: ingest records now
from=$(rfc3339 '-2 days')
to=$(rfc3339 '1 day')
rest() {
	# METHOD PATH [BODY]: one line "METHOD PATH -> status", then the body
	# with every recorded_at and request_id removed
	m=$1 p=$2
	shift 2
	if [ $# -gt 0 ]; then
		code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" -H 'Content-Type: application/json' \
			--data "$1" "http://127.0.0.1:$hp$p")
	else
		code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X "$m" "http://127.0.0.1:$hp$p")
	fi
	echo "$m $p -> $code"
	if jq -e . "$tmp/body" >/dev/null 2>&1; then
		jq -S -c 'del(.. | .recorded_at?, .createdAt?, .request_id?)' "$tmp/body"
	else
		cat "$tmp/body"
		echo
	fi
}
ev='{"user_id": 77, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "ffffffff-0000-4000-8000-000000000077", "metadata": {"k": 1}}'
batch='[{"user_id": 77, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "ffffffff-0000-4000-8000-000000000077"},
	{"user_id": 78, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "ffffffff-0000-4000-8000-000000000078"},
	{"user_id": 78, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}]'
for side in coord plain; do
	hp=$http
	[ $side = plain ] && hp=$((http + 1))
	{
		rest POST /api/event "$ev"
		rest POST /api/event "$ev"
		rest POST /api/events "$batch"
		rest POST /api/events "$batch"
		rest GET "/api/events?user_id=78&from=$from&to=$to&limit=3"
		rest GET "/api/users/77/counts?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"
		rest DELETE /api/users/77/events
		rest DELETE /api/users/77/events
		rest POST /api/event "$ev"
		rest DELETE /api/users/0/events
	} >"$tmp/rest-$side.out" 2>&1
done
if diff -u "$tmp/rest-plain.out" "$tmp/rest-coord.out" >"$tmp/rest.diff"; then
	ok "REST: the shim on the coordinator answers as on the plain install"
else
	cat "$tmp/rest.diff"
	not_ok "REST: the shim on the coordinator answers as on the plain install"
fi
statuses=$(grep -- ' -> ' "$tmp/rest-coord.out" | sed 's/.* -> //' | tr '\n' ' ')
if [ "$statuses" = "201 200 207 207 200 200 200 200 201 400 " ]; then
	ok "REST statuses on Citus: stored 201, duplicate 200, batch 207, search 200, DELETE 200, stored again 201"
else
	cat "$tmp/rest-coord.out"
	not_ok "REST statuses on Citus (got: $statuses)"
fi
if sed -n 4p "$tmp/rest-coord.out" | grep -q '"status":"duplicate"'; then
	ok "REST: a re-sent event_id is answered \"status\": \"duplicate\""
else
	sed -n 4p "$tmp/rest-coord.out"
	not_ok "REST: a re-sent event_id is answered \"status\": \"duplicate\""
fi

echo "-- update from 1.3 on a distributed cluster (database ua13)"
for port in $coord $((base + 1)) $((base + 2)); do
	psql_at "$port" -d postgres -c "CREATE DATABASE ua13"
	psql_at "$port" -d ua13 -c "CREATE EXTENSION citus"
done
psql_at "$coord" -d ua13 >/dev/null <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', $coord);
SELECT citus_add_node('127.0.0.1', $((base + 1)));
SELECT citus_add_node('127.0.0.1', $((base + 2)));
CREATE EXTENSION user_activity VERSION '1.3';
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('user_activity.events', 'user_id');
SELECT create_distributed_table('user_activity.event_keys', 'user_id', colocate_with => 'user_activity.events');
SELECT create_distributed_table('user_activity.user_event_counts', 'user_id', colocate_with => 'user_activity.events');
SELECT user_activity.maintain_partitions();
SELECT user_activity.record_event(i, 'viewed', '2025-10-10 00:00Z', '{}', ('abababab-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid)
FROM generate_series(1, 20) i;
SQL
if psql_at "$coord" -d ua13 -c "SET citus.enable_unsafe_triggers = on" \
	-c "ALTER EXTENSION user_activity UPDATE" >"$tmp/update.out" 2>&1; then
	ok "ALTER EXTENSION user_activity UPDATE from 1.3 on the coordinator"
else
	cat "$tmp/update.out"
	not_ok "ALTER EXTENSION user_activity UPDATE from 1.3 on the coordinator"
fi
versions=
for port in $coord $((base + 1)) $((base + 2)); do
	versions="$versions $(psql_at "$port" -d ua13 -Atc "SELECT extversion FROM pg_extension WHERE extname = 'user_activity'")"
done
newest=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" user_activity.control)
if [ "$versions" = " $newest $newest $newest" ]; then
	ok "every node is at $newest"
else
	not_ok "every node is at $newest (got:$versions)"
fi
# the tables added since 1.3, distributed as setup.sql does
psql_at "$coord" -d ua13 >/dev/null <<'SQL'
SELECT create_distributed_table('user_activity.user_day_activity', 'user_id', colocate_with => 'user_activity.events');
SELECT create_reference_table('user_activity.daily_active_users');
SQL
after=$(psql_at "$coord" -d ua13 -At 2>&1 <<'SQL'
SELECT user_activity.record_event(3, 'viewed', '2025-10-10 00:00Z', '{}', 'abababab-0000-4000-8000-000000000003')->>'status';
SELECT user_activity.record_events('[{"user_id": 4, "event_action_timestamp": "2025-10-10T00:00:00Z", "action": "viewed", "event_id": "abababab-0000-4000-8000-000000000004"},
  {"user_id": 4, "event_action_timestamp": "2025-10-10T00:00:00Z", "action": "viewed", "event_id": "abababab-0000-4000-8000-000000000104"}]') - 'results';
SELECT user_activity.delete_user_events(3) - 'user_id';
SELECT user_activity.record_event(3, 'viewed', '2025-10-10 00:00Z', '{}', 'abababab-0000-4000-8000-000000000003')->>'status';
DELETE FROM user_activity.events WHERE user_id = 5;
SELECT count(*) FROM user_activity.event_keys;
TRUNCATE user_activity.events;
SELECT count(*) FROM user_activity.event_keys;
SELECT user_activity.record_event(6, 'viewed', '2025-10-10 00:00Z', '{}', NULL)->>'status';
SELECT user_activity.count_activity()->>'events';
SELECT string_agg(users::text, ' ') FROM user_activity.active_users('2025-10-09T00:00:00Z', '2025-10-11T00:00:00Z');
SQL
)
want='duplicate
{"stored": 1, "rejected": 0, "duplicates": 1}
{"counts_deleted": 0, "events_deleted": 1}
stored
20
0
stored
1
0 1'
if [ "$after" = "$want" ]; then
	ok "after the update: retries are duplicates, erasure, DELETE and TRUNCATE release keys, a count rolls up"
else
	printf '%s\n' "$after"
	not_ok "after the update: retries are duplicates, erasure, DELETE and TRUNCATE release keys, a count rolls up"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
