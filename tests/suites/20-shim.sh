#!/bin/sh
# The HTTP shim: unit tests (routing, configuration, SQLSTATE mapping,
# metrics rendering), then integration tests of the real shim on loopback
# against a real cluster, in both modes at once: the standalone program and
# the in-database background worker (the cluster preloads its library,
# user_activity_http, with user_activity.http_port set).  The integration tests are Node's built-in
# test runner (tests/shim/*.test.mjs), run one file after another.
#
#   SHIM_PGPORT        PostgreSQL port (default 55320)
#   SHIM_HTTP_BASE     first of ten HTTP ports (default 18320): standalone,
#                      worker, then spares for shims the tests start (+2..+5,
#                      +7; +6 is the sanitizer build's)
#   SHIM_EXPORT_ROWS   rows of the flat-memory export test (default 200000;
#                      "make bench" style runs use 1000000)
#   SHIM_TESTS         test files to run (default: all)
#   SHIM_SANITIZE=0    skip the last step: the API tests again, against the
#                      standalone program built with ASan and UBSan
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
pgport=${SHIM_PGPORT:-55320}
base=${SHIM_HTTP_BASE:-18320}
tmp=$UA_TEST_TMP/shim
data=$tmp/data
mkdir -p "$tmp"
chmod 755 "$tmp"

echo "-- unit tests"
make -s PG_CONFIG="$PG_CONFIG" http-shim/tests/unit
SHIM_UNIT_METRICS_OUT=$tmp/unit-metrics.txt http-shim/tests/unit >"$tmp/unit.tap" || {
	cat "$tmp/unit.tap"
	exit 1
}
grep -c '^ok' "$tmp/unit.tap" | sed 's/^/unit tests passed: /'
promtool check metrics <"$tmp/unit-metrics.txt"

echo "-- integration tests (PostgreSQL $pgport, HTTP $base..$((base + 9)))"
# a port already taken would have the tests talk to someone else's server
for port in $(seq "$base" $((base + 7))); do
	if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
		echo "port $port is already in use; set SHIM_HTTP_BASE to ten free ports" >&2
		exit 1
	fi
done
. tests/lib/shim-cluster.sh
# the standalone shim groups concurrent POSTs (group commit, the default),
# the worker does not: the same tests cover both ways of writing an event
worker_group_commit=off
start_shim_cluster shim

standalone_pid=
cleanup() {
	[ -n "$standalone_pid" ] && kill "$standalone_pid" 2>/dev/null || true
	tests/lib/cluster.sh stop "$data" || true
}
trap cleanup EXIT

psql="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $pgport -U postgres"
$psql -d postgres -c "CREATE DATABASE shim"
$psql -d shim -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"
# the current partition and those ahead, for the tests' direct INSERTs
$psql -d shim -c "SELECT user_activity.maintain_partitions()" >/dev/null

# Both log in as the extension's user_activity_http (the worker's default
# user_activity.http_user) and, on loopback, take requests without a key.
DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=shim" \
HTTP_ALLOW_UNAUTHENTICATED=on \
HTTP_PORT=$base HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 SHIM_STATIC_DIR=$static \
	http-shim/user-activity-shim >"$tmp/standalone.log" 2>&1 &
standalone_pid=$!

for port in $base $((base + 1)); do
	i=0
	until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "shim on $port not ready" >&2
			tail -n 20 "$tmp/standalone.log" "$data/server.log" >&2
			exit 1
		fi
		sleep 0.2
	done
done

export SHIM_TOP=$top SHIM_PGPORT=$pgport SHIM_PGDATA=$data SHIM_DB=shim
export SHIM_HTTP_STANDALONE=$base SHIM_HTTP_WORKER=$((base + 1))
export SHIM_STANDALONE_PID=$standalone_pid SHIM_STATIC_DIR=$static
export SHIM_GROUP_COMMIT="standalone"
export SHIM_HTTP_SPARE="$((base + 2)),$((base + 3)),$((base + 4)),$((base + 5)),$((base + 7))"
export SHIM_EXPORT_ROWS=${SHIM_EXPORT_ROWS:-200000}

status=0
for t in ${SHIM_TESTS:-tests/shim/api.test.mjs tests/shim/robustness.test.mjs}; do
	[ -f "$t" ] || continue
	echo "-- $t"
	node --test --test-timeout=300000 --test-reporter=spec "$t" || status=1
done
# The same API tests against the standalone program built with
# AddressSanitizer and UndefinedBehaviorSanitizer (leaks checked at exit).
if [ "${SHIM_SANITIZE:-1}" = 1 ] && [ -z "${SHIM_TESTS:-}" ]; then
	echo "-- tests/shim/api.test.mjs against a sanitizer build"
	${CC:-gcc} -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -D_GNU_SOURCE -Ihttp-shim/include -Ihttp-shim/src \
		-I"$($PG_CONFIG --includedir)" http-shim/src/*.c -o "$tmp/shim-asan" \
		-L"$($PG_CONFIG --libdir)" -lpq -lmicrohttpd -ljansson -lcrypto -lpthread
	asan_port=$((base + 6))
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 UBSAN_OPTIONS=print_stacktrace=1 \
	DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=shim" \
	HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$asan_port HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 HTTP_GROUP_COMMIT=on \
	SHIM_STATIC_DIR=$static LOG_LEVEL=warn "$tmp/shim-asan" >"$tmp/asan.log" 2>&1 &
	asan_pid=$!
	i=0
	until curl -sf "http://127.0.0.1:$asan_port/readyz" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$tmp/asan.log"; exit 1; }
		sleep 0.2
	done
	SHIM_HTTP_STANDALONE=$asan_port SHIM_HTTP_WORKER= \
		node --test --test-timeout=300000 --test-reporter=spec tests/shim/api.test.mjs || status=1
	kill -TERM $asan_pid
	asan_status=0
	wait $asan_pid || asan_status=$?
	if [ $asan_status -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$tmp/asan.log"; then
		echo "sanitizer build: exit $asan_status"
		cat "$tmp/asan.log"
		status=1
	fi
fi
if [ $status -ne 0 ]; then
	echo "-- standalone log (last lines)"
	tail -n 20 "$tmp/standalone.log"
	echo "-- server log (last lines)"
	tail -n 20 "$data/server.log"
fi
exit $status
