#!/bin/sh
# The page (frontend/): type check, component tests (Vitest + Testing
# Library), production build, then end-to-end tests in Debian's chromium
# (playwright-core, never a downloaded browser) against the real shim and a
# throw-away PostgreSQL with the extension, both ways the page is deployed:
#
#   - as "make run" serves it: the extension's in-database HTTP worker
#     serves REST and the built page at / (e2e/app.e2e.mjs);
#   - as docker-compose runs it: the page on its own origin (e2e/serve.mjs,
#     like the nginx container, with config.js naming the API) and the
#     standalone shim with CORS and API keys on (e2e/split.e2e.mjs).
#
#   FRONTEND_PGPORT     PostgreSQL (default 55330)
#   FRONTEND_HTTP_PORT  first of three HTTP ports (default 18330): the worker,
#                       the standalone shim, the page's own server
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

step "end-to-end: cluster with the HTTP worker, standalone shim, chromium"
shim=http-shim/user-activity-shim
[ -x "$shim" ] || make -s PG_CONFIG="${PG_CONFIG:-pg_config}" "$shim" >/dev/null
data=$tmp/pg-data
worker_port=$httpport
shim_port=$((httpport + 1))
page_port=$((httpport + 2))
shim_pid=
serve_pid=
stop() {
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null || :
	wait "$1" 2>/dev/null || :
}
cleanup() {
	stop "$serve_pid"
	stop "$shim_pid"
	tests/lib/cluster.sh stop "$data"
}
trap cleanup EXIT
PRELOAD=user_activity CRON_DB=user_activity PG_EXTRA_CONF="user_activity.http_port = $worker_port
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_allow_unauthenticated = on
user_activity.http_database = 'user_activity'
user_activity.http_static_dir = '$top/frontend/dist'" \
	tests/lib/cluster.sh start "$data" "$pgport"
export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=user_activity
psql -X -q -d postgres -c "CREATE DATABASE user_activity"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"
psql -X -q -v ON_ERROR_STOP=1 -f tests/lib/api-keys-1.4.sql

# The standalone shim as docker-compose's "api" service runs it.
read_key=frontend-read-key
write_key=frontend-write-key
env DB_URL="postgresql://user_activity_http@127.0.0.1:$pgport/user_activity" \
	HTTP_PORT="$shim_port" HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 \
	HTTP_CORS_ALLOWED_ORIGINS="http://127.0.0.1:$page_port" \
	HTTP_CORS_ALLOWED_METHODS=GET,POST \
	HTTP_CORS_ALLOWED_HEADERS=Content-Type,Authorization,Accept \
	HTTP_API_KEY_READ=$read_key HTTP_API_KEY_WRITE=$write_key HTTP_API_KEY_ADMIN=frontend-admin-key \
	"$shim" >"$tmp/shim.log" 2>"$tmp/shim.err" &
shim_pid=$!
node frontend/e2e/serve.mjs frontend/dist "$page_port" "http://127.0.0.1:$shim_port" >"$tmp/serve.log" 2>&1 &
serve_pid=$!

for url in "http://127.0.0.1:$worker_port/readyz" "http://127.0.0.1:$shim_port/readyz" "http://127.0.0.1:$page_port/"; do
	i=0
	until curl -fsS -o /dev/null "$url" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "FAIL: $url did not answer"
			tail -n 20 "$data/server.log" "$tmp/shim.err" "$tmp/shim.log" "$tmp/serve.log"
			exit 1
		fi
		sleep 0.2
	done
done

status=0
E2E_BASE_URL=http://127.0.0.1:$worker_port E2E_TMP=$tmp \
E2E_SPLIT_URL=http://127.0.0.1:$page_port E2E_API_URL=http://127.0.0.1:$shim_port \
E2E_READ_KEY=$read_key E2E_WRITE_KEY=$write_key \
	node --test --test-concurrency=1 frontend/e2e/app.e2e.mjs frontend/e2e/split.e2e.mjs || status=1
if [ $status -ne 0 ]; then
	echo "-- logs (last lines)"
	tail -n 20 "$data/server.log" "$tmp/shim.log" "$tmp/shim.err"
fi
exit $status
