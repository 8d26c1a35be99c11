#!/bin/sh
# Hardening: bad input over HTTP and SQL, faults (backends terminated,
# PostgreSQL restarted, the shim killed, the counting job killed), access
# checks, then the shim built with AddressSanitizer and UBSan running the
# shim's integration tests, valgrind on the shim under load, and a short
# libFuzzer run with every kept regression input replayed.
#
# One cluster with the extension preloaded (so the in-database shim runs as
# a worker) and one standalone shim; the Node tests reuse tests/shim's
# helpers through the same SHIM_* environment.
#
#   HARD_PGPORT       PostgreSQL port (default 55350)
#   HARD_HTTP_BASE    first of ten HTTP ports (default 18350): standalone,
#                     worker, then spares for shims the tests start
#   HARD_TESTS        test files to run (default: tests/hardening/*.test.mjs)
#   HARD_SANITIZE=0   skip the sanitizer and valgrind runs
#   HARD_FUZZ_SECONDS seconds of each fuzz target in the short run (default 5;
#                     0 replays the corpora and regressions only)
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
pgport=${HARD_PGPORT:-55350}
base=${HARD_HTTP_BASE:-18350}
tmp=$UA_TEST_TMP/hardening
data=$tmp/data
mkdir -p "$tmp"
chmod 755 "$tmp"

PRELOAD=user_activity CRON_DB=hard PG_EXTRA_CONF="user_activity.http_port = $((base + 1))
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_database = 'hard'
user_activity.http_threads = 4" \
	tests/lib/cluster.sh start "$data" "$pgport"

standalone_pid=
cleanup() {
	[ -n "$standalone_pid" ] && kill "$standalone_pid" 2>/dev/null || true
	tests/lib/cluster.sh stop "$data" || true
}
trap cleanup EXIT

psql="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $pgport -U postgres"
$psql -d postgres -c "CREATE DATABASE hard"
$psql -d hard -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"

DB_URL="host=127.0.0.1 port=$pgport user=postgres dbname=hard" \
HTTP_PORT=$base HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 \
	http-shim/user-activity-shim >"$tmp/standalone.log" 2>&1 &
standalone_pid=$!

wait_ready() {
	i=0
	until curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "shim on $1 not ready" >&2
			tail -n 20 "$tmp/standalone.log" "$data/server.log" >&2
			exit 1
		fi
		sleep 0.2
	done
}
wait_ready "$base"
wait_ready "$((base + 1))"

export SHIM_TOP=$top SHIM_PGPORT=$pgport SHIM_PGDATA=$data SHIM_DB=hard
export SHIM_HTTP_STANDALONE=$base SHIM_HTTP_WORKER=$((base + 1))
export SHIM_STANDALONE_PID=$standalone_pid
export SHIM_HTTP_SPARE="$((base + 2)),$((base + 3)),$((base + 4)),$((base + 5))"
export HARD_TMP=$tmp

status=0
for t in ${HARD_TESTS:-$(ls tests/hardening/*.test.mjs)}; do
	echo "-- $t"
	node --test --test-reporter=spec "$t" || status=1
done
if ! kill -0 "$standalone_pid" 2>/dev/null; then
	echo "the standalone shim died" >&2
	status=1
fi
if [ $status -ne 0 ]; then
	echo "-- standalone log (last lines)"
	tail -n 20 "$tmp/standalone.log"
	echo "-- server log (last lines)"
	tail -n 20 "$data/server.log"
fi
exit $status
