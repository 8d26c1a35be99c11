#!/bin/sh
# no-pg-cron.sh PORT [HTTP_PORT]: the pg_cron look-alike attack
# (cron-lookalike.sql) on a cluster that has no pg_cron at all, neither
# preloaded nor installed.  Every entry point that reads pg_cron's objects
# is called, in SQL (counting-entry-points.sql) and through the standalone
# shim on HTTP_PORT (default 18315): GET /metrics, open to anyone, and GET
# /api/counting/status.  The attacking role must not become a superuser and
# its look-alikes must never run.  Prints "ok - ..." or "not ok - ...";
# exits non-zero on failure.
set -eu
cd "$(dirname "$0")/../.."
port=${1:?usage: no-pg-cron.sh PORT}
data=$UA_TEST_TMP/no-pg-cron-data

PG_CRON=0 tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT

psql="psql -X -q -h 127.0.0.1 -p $port -U postgres"
$psql -v ON_ERROR_STOP=1 -d postgres <<'SQL'
CREATE ROLE ua_mallory LOGIN;
CREATE DATABASE ua_no_cron;
GRANT CREATE ON DATABASE ua_no_cron TO ua_mallory;
SQL
$psql -v ON_ERROR_STOP=1 -d ua_no_cron -c "CREATE EXTENSION user_activity"
if $psql -d postgres -Atc "SELECT count(*) FROM pg_available_extensions WHERE installed_version IS NOT NULL AND name = 'pg_cron'" |
	grep -qv '^0$'; then
	echo "not ok - pg_cron is installed on the cluster meant to have none"
	exit 1
fi
out=$($psql -d ua_no_cron -At -f tests/security/cron-lookalike.sql \
	-f tests/security/counting-entry-points.sql 2>&1)

# the REST entry points that read the counting status: GET /metrics (open
# to anyone) and GET /api/counting/status, through the standalone shim
http=${2:-18315}
DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=ua_no_cron" \
HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$http HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=2 \
	http-shim/user-activity-shim >"$UA_TEST_TMP/no-pg-cron-shim.log" 2>&1 &
shim=$!
trap 'kill $shim 2>/dev/null; tests/lib/cluster.sh stop "$data"' EXIT
i=0
until curl -sf "http://127.0.0.1:$http/readyz" >/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ]; then
		cat "$UA_TEST_TMP/no-pg-cron-shim.log"
		echo "not ok - the shim on $http did not become ready"
		exit 1
	fi
	sleep 0.2
done
metrics=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/metrics")
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/api/counting/status")
if [ "$metrics" != 200 ] || [ "$status" != 200 ]; then
	echo "not ok - GET /metrics answered $metrics, GET /api/counting/status $status"
	exit 1
fi
super=$($psql -d postgres -Atc "SELECT rolsuper FROM pg_roles WHERE rolname = 'ua_mallory'")
calls=$($psql -d ua_no_cron -Atc "SELECT count(*) FROM mallory.calls")
if [ "$super" = f ] && [ "$calls" = 0 ]; then
	echo "ok - without pg_cron, ua_mallory is no superuser and no look-alike ran (SQL, GET /metrics, GET /api/counting/status)"
else
	printf '%s\n' "$out"
	echo "not ok - without pg_cron: rolsuper $super, look-alike calls $calls"
	exit 1
fi
