#!/bin/sh
# Hardening: bad input over HTTP and SQL, faults (backends terminated,
# PostgreSQL restarted, the shim killed, the counting job killed), access
# checks, then the shim built with AddressSanitizer and UBSan running the
# shim's integration tests, valgrind on the shim under load, the timing of
# the API key comparison (a report), and a short libFuzzer run with every
# kept regression input replayed (a reply that never comes is a failure).
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

. tests/lib/shim-cluster.sh
start_shim_cluster hard

standalone_pid=
asan_pid=
vg_pid=
cleanup() {
	for p in $standalone_pid $asan_pid $vg_pid; do kill "$p" 2>/dev/null || true; done
	tests/lib/cluster.sh stop "$data" || true
}
trap cleanup EXIT

psql="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $pgport -U postgres"
$psql -d postgres -c "CREATE DATABASE hard"
$psql -d hard -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"

DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=hard" \
HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$base HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 \
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

if [ "${HARD_SANITIZE:-1}" = 1 ]; then
	echo "-- sanitizers: the shim and its unit tests with -fsanitize=address,undefined"
	make -s -f fuzz/Makefile O="$tmp/build" PG_CONFIG="$PG_CONFIG" asan \
		>"$tmp/asan-build.log" 2>&1 || { cat "$tmp/asan-build.log"; exit 1; }
	mkdir -p "$tmp/asan"
	export ASAN_OPTIONS="detect_leaks=1:log_path=$tmp/asan/report"
	export UBSAN_OPTIONS="print_stacktrace=1:log_path=$tmp/asan/report"
	if "$tmp/build/asan/unit" >"$tmp/asan-unit.tap"; then
		grep -c '^ok' "$tmp/asan-unit.tap" | sed 's/^/ASan unit tests passed: /'
	else
		echo "unit tests failed under ASan/UBSan" >&2
		cat "$tmp/asan-unit.tap" "$tmp"/asan/report* 2>/dev/null >&2
		status=1
	fi

	# A checkout-shaped directory whose shim is the ASan build, so that the
	# shim's own integration tests (and every shim they start) run it.
	asantop=$tmp/asan-top
	mkdir -p "$asantop/http-shim"
	ln -sfn "$top/tests" "$asantop/tests"
	printf '#!/bin/sh\nexec %s "$@"\n' "$tmp/build/asan/user-activity-shim" \
		>"$asantop/http-shim/user-activity-shim"
	chmod +x "$asantop/http-shim/user-activity-shim"
	DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=hard" \
	HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$((base + 6)) HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 \
	SHIM_STATIC_DIR=$static "$asantop/http-shim/user-activity-shim" \
		>"$tmp/asan-standalone.log" 2>&1 &
	asan_pid=$!
	wait_ready "$((base + 6))"
	echo "-- tests/shim/api.test.mjs against the ASan standalone shim"
	SHIM_TOP=$asantop SHIM_HTTP_STANDALONE=$((base + 6)) SHIM_STANDALONE_PID=$asan_pid \
	SHIM_HTTP_WORKER= \
	SHIM_STATIC_DIR=$static SHIM_EXPORT_ROWS=20000 \
		node --test --test-reporter=spec tests/shim/api.test.mjs >"$tmp/asan-api.log" 2>&1 ||
		{ tail -n 60 "$tmp/asan-api.log"; status=1; }
	grep -E '^ℹ (pass|fail)' "$tmp/asan-api.log"
	kill -TERM "$asan_pid"
	wait "$asan_pid" || { echo "the ASan shim exited $?" >&2; status=1; }
	asan_pid=
	if ls "$tmp"/asan/report* >/dev/null 2>&1; then
		echo "AddressSanitizer/UBSan reports:" >&2
		cat "$tmp"/asan/report* >&2
		status=1
	else
		echo "ASan/UBSan/LeakSanitizer: no report"
	fi
	unset ASAN_OPTIONS UBSAN_OPTIONS

	echo "-- valgrind memcheck of the standalone shim under a short load"
	DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=hard" \
	HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$((base + 7)) HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 \
		valgrind --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=99 --log-file="$tmp/valgrind.log" \
		http-shim/user-activity-shim >"$tmp/valgrind-shim.log" 2>&1 &
	vg_pid=$!
	wait_ready "$((base + 7))"
	node tests/hardening/lib/traffic.mjs "http://127.0.0.1:$((base + 7))" 700 || status=1
	kill -TERM "$vg_pid"
	if wait "$vg_pid"; then
		grep -E 'definitely lost|ERROR SUMMARY' "$tmp/valgrind.log" | sed 's/^==[0-9]*== *//'
	else
		echo "valgrind found errors or definite leaks:" >&2
		cat "$tmp/valgrind.log" >&2
		status=1
	fi
	vg_pid=
fi

echo "-- API key comparison: time by position of the first wrong byte (strcmp as control)"
uptime | sed 's/.*load/load/'
make -s PG_CONFIG="$PG_CONFIG" shim-const-eq-bench || status=1

echo "-- libFuzzer: regression inputs, corpora, then ${HARD_FUZZ_SECONDS:-5} s per target"
FUZZ_DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=hard" \
FUZZ_HTTP_PORT=$((base + 8)) fuzz/run.sh "$tmp/fuzz" "${HARD_FUZZ_SECONDS:-5}" || status=1

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
