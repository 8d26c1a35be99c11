#!/bin/sh
# The page (frontend/): type check, component tests (Vitest + Testing
# Library), production build, then end-to-end tests in Debian's chromium
# (playwright-core, never a downloaded browser) against the real shim and a
# throw-away PostgreSQL with the extension, both ways the page is deployed:
#
#   - as "make run" serves it: the extension's in-database HTTP worker
#     serves REST and the built page at / (e2e/app.e2e.mjs), and the page
#     as people use it, at a desktop's and a phone's size (e2e/use.e2e.mjs);
#   - as docker-compose runs it: the page on its own origin (e2e/serve.mjs,
#     like the nginx container, with the config.js that the container's
#     docker-entrypoint.d script writes) and the standalone shim with CORS
#     and API keys on (e2e/split.e2e.mjs): keys entered by hand, then keys
#     given by the web service's WEB_API_KEY_READ and WEB_API_KEY_WRITE.
#
# Also: the original page's REACT_APP_API_BASE_URL, at build time (the
# bundle built with it uses it; VITE_API_BASE_URL wins over it) and at
# container start (the entrypoint script's config.js, with its precedence
# and its refusal of control characters).
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

step "build with the original's REACT_APP_API_BASE_URL"
# bundle DIR: the page's JavaScript as built into DIR.
bundle() { cat "$1"/assets/*.js; }
REACT_APP_API_BASE_URL=http://example.test/api npx vite build --outDir "$tmp/dist-react-app" --emptyOutDir \
	>"$tmp/build-react-app.log" 2>&1 || { cat "$tmp/build-react-app.log"; exit 1; }
bundle "$tmp/dist-react-app" | grep -q 'http://example.test/api' ||
	{ echo "FAIL: a build with REACT_APP_API_BASE_URL does not use it"; exit 1; }
VITE_API_BASE_URL=http://vite.test REACT_APP_API_BASE_URL=http://example.test/api \
	npx vite build --outDir "$tmp/dist-both" --emptyOutDir >"$tmp/build-both.log" 2>&1 ||
	{ cat "$tmp/build-both.log"; exit 1; }
if ! bundle "$tmp/dist-both" | grep -q 'http://vite.test' || bundle "$tmp/dist-both" | grep -q 'example.test'; then
	echo "FAIL: with both set, the build does not take VITE_API_BASE_URL alone"; exit 1
fi
bundle dist | grep -q 'example.test' && { echo "FAIL: the default build names example.test"; exit 1; }
echo "ok: REACT_APP_API_BASE_URL at build time, VITE_API_BASE_URL first"

step "config.js written at container start (docker-entrypoint.d)"
entry=$top/frontend/docker-entrypoint.d/40-user-activity-config.sh
web=$tmp/web
mkdir -p "$web"
# config ENV...: what the page reads from the config.js the script writes
# with that environment, as JSON ("{}" when it writes none).
config() {
	rm -f "$web/config.js"
	env -i PATH="$PATH" WEB_ROOT="$web" "$@" sh "$entry" >/dev/null || return 1
	[ -f "$web/config.js" ] || { echo '{}'; return 0; }
	node -e 'const vm = require("vm"); const w = {};
		vm.runInNewContext(require("fs").readFileSync(process.argv[1], "utf8"), { window: w });
		console.log(JSON.stringify(w.USER_ACTIVITY_CONFIG));' "$web/config.js"
}
expect_config() {
	want=$1; shift
	got=$(config "$@") || got="(script failed)"
	[ "$got" = "$want" ] || { echo "FAIL: with $*: config.js gives $got, expected $want"; exit 1; }
}
expect_config '{}'
expect_config '{"apiBaseUrl":"http://example.test/api"}' REACT_APP_API_BASE_URL=http://example.test/api
expect_config '{"apiBaseUrl":"http://vite.test"}' VITE_API_BASE_URL=http://vite.test REACT_APP_API_BASE_URL=http://example.test/api
expect_config '{"apiBaseUrl":"http://api.test"}' API_BASE_URL=http://api.test VITE_API_BASE_URL=http://vite.test \
	REACT_APP_API_BASE_URL=http://example.test/api API_BASE_URL_DEFAULT=http://localhost:8080
expect_config '{"apiBaseUrl":"http://localhost:9000"}' API_BASE_URL_DEFAULT=http://localhost:9000 VITE_API_BASE_URL=
expect_config '{"apiBaseUrl":"http://localhost:8080","apiKeys":{"read":"r\"\\</script>","write":"w"}}' \
	API_BASE_URL_DEFAULT=http://localhost:8080 'WEB_API_KEY_READ=r"\</script>' WEB_API_KEY_WRITE=w
grep -q '</script>' "$web/config.js" && { echo "FAIL: config.js holds </script> as is"; exit 1; }
expect_config '{"apiKeys":{"read":"","write":"w"}}' WEB_API_KEY_WRITE=w
for bad in "$(printf 'a\tb')" "$(printf 'a\nb')"; do
	if config WEB_API_KEY_READ="$bad" >/dev/null 2>&1; then
		echo "FAIL: a key with a control character was accepted"; exit 1
	fi
done
echo "ok: config.js from API_BASE_URL, VITE_API_BASE_URL, REACT_APP_API_BASE_URL, API_BASE_URL_DEFAULT (in that order) and WEB_API_KEY_*"

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
PRELOAD=user_activity_http CRON_DB=user_activity PG_EXTRA_CONF="user_activity.http_port = $worker_port
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_allow_unauthenticated = on
user_activity.http_database = 'user_activity'
user_activity.http_static_dir = '$top/frontend/dist'" \
	tests/lib/cluster.sh start "$data" "$pgport"
export PGHOST=127.0.0.1 PGPORT=$pgport PGUSER=postgres PGDATABASE=user_activity
psql -X -q -d postgres -c "CREATE DATABASE user_activity"
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"

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
env -i PATH="$PATH" WEB_ROOT="$web" API_BASE_URL="http://127.0.0.1:$shim_port" sh "$entry" >/dev/null
node frontend/e2e/serve.mjs frontend/dist "$page_port" "$web/config.js" >"$tmp/serve.log" 2>&1 &
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
E2E_READ_KEY=$read_key E2E_WRITE_KEY=$write_key E2E_CONFIG_SCRIPT=$entry E2E_CONFIG_ROOT=$web \
	node --test --test-concurrency=1 frontend/e2e/app.e2e.mjs frontend/e2e/use.e2e.mjs frontend/e2e/split.e2e.mjs ||
	status=1
if [ $status -ne 0 ]; then
	echo "-- logs (last lines)"
	tail -n 20 "$data/server.log" "$tmp/shim.log" "$tmp/shim.err"
fi
exit $status
