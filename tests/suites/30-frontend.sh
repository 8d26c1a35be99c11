#!/bin/sh
# The page (frontend/): type check, component tests (Vitest + Testing
# Library), production build, then end-to-end tests in Debian's chromium
# (playwright-core, never a downloaded browser) against the real standalone
# shim and a throw-away PostgreSQL with the extension, the shim serving the
# built page at / as in "make run".
#
#   FRONTEND_PGPORT     PostgreSQL (default 55330)
#   FRONTEND_HTTP_PORT  the shim (default 18330)
#   SCREENSHOTS=1       also (re)write docs/screenshots/*.png
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
tmp=${UA_TEST_TMP:-/tmp/user_activity_test}/frontend
pgport=${FRONTEND_PGPORT:-55330}
httpport=${FRONTEND_HTTP_PORT:-18330}
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"

step() { echo "-- $*"; }

cd frontend
# npm ci when node_modules is missing or was installed from another lock file.
lockhash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.lock-hash 2>/dev/null)" != "$lockhash" ]; then
	step npm ci
	npm ci --no-audit --no-fund --loglevel=error
	echo "$lockhash" >node_modules/.lock-hash
fi

step typecheck
npm run -s typecheck

step component tests
npx vitest run

step build
npm run -s build >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
test -f dist/index.html

cd "$top"
if [ ! -f http-shim/shim.mk ]; then
	echo "pending: the HTTP shim (http-shim/) is not in the tree yet; end-to-end tests not run"
	exit 0
fi

step end-to-end: cluster, shim, chromium
shim=http-shim/user-activity-shim
[ -x "$shim" ] || make -s PG_CONFIG="${PG_CONFIG:-pg_config}" "$shim" >/dev/null
data=$tmp/pg-data
shim_pid=
cleanup() {
	if [ -n "$shim_pid" ]; then
		kill "$shim_pid" 2>/dev/null || :
		wait "$shim_pid" 2>/dev/null || :
	fi
	tests/lib/cluster.sh stop "$data"
}
trap cleanup EXIT
CRON_DB=user_activity tests/lib/cluster.sh start "$data" "$pgport"
export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=user_activity
psql -X -q -d postgres -c "CREATE DATABASE user_activity"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"

env DB_URL="postgresql://postgres@127.0.0.1:$pgport/user_activity" \
	HTTP_PORT="$httpport" HTTP_LISTEN_ADDRESS=127.0.0.1 \
	SHIM_STATIC_DIR="$top/frontend/dist" \
	"$shim" >"$tmp/shim.log" 2>"$tmp/shim.err" &
shim_pid=$!
base=http://127.0.0.1:$httpport
i=0
until curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$shim_pid" 2>/dev/null; then
		echo "FAIL: the shim did not start"
		cat "$tmp/shim.err" "$tmp/shim.log"
		exit 1
	fi
	sleep 0.1
done

status=0
E2E_BASE_URL=$base E2E_TMP=$tmp \
	node --test --test-concurrency=1 frontend/e2e/app.e2e.mjs || status=1
if [ $status -ne 0 ]; then
	echo "-- shim log (last lines)"
	tail -n 20 "$tmp/shim.log" "$tmp/shim.err"
fi
exit $status
