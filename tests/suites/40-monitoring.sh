#!/bin/sh
# Monitoring and the whole stack.
#
# Static: promtool check config / check rules / test rules (every alert
# firing and quiet); dashboard JSON (datasource uids provisioned, no
# ${DS_...}, unique panel ids, only metrics the shim exports); promtail's
# fields; docker-compose config -q and every build input the compose file
# and its Dockerfiles name; the original's variables (DB_URL, HTTP_PORT,
# HTTP_CORS_*, CRON_TAB_COUNT_USERS_EVENT_TASK, REACT_APP_API_BASE_URL)
# through docker-compose's own interpolation; Logs Drilldown's Grafana and
# Loki versions, Loki settings, labels and links.
#
# Live: a throw-away cluster set up by the db image's own init script, the
# real standalone shim configured as docker-compose configures it and the
# in-database worker of the same cluster (as "make run" serves), a real
# Prometheus (Debian's) scraping both every second with the project's rules;
# traffic; then every PromQL expression of every panel and rule evaluated
# through Prometheus's HTTP API, the request panels returning data, the
# dashboards' SQL run as Grafana's role, the shim's log lines checked against
# promtail's pipeline.
#
#   MONITORING_PGPORT      PostgreSQL (default 55340)
#   MONITORING_HTTP_PORT   the standalone shim (default 18340); the
#                          in-database worker listens on the next port
#   MONITORING_PROM_PORT   Prometheus (default 19340)
#   MONITORING_LIVE        0 skips the live part (default 1)
#   MONITORING_SHIM        the standalone shim (default http-shim/user-activity-shim)
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
tmp=${UA_TEST_TMP:-/tmp/user_activity_test}/monitoring
pgport=${MONITORING_PGPORT:-55340}
httpport=${MONITORING_HTTP_PORT:-18340}
promport=${MONITORING_PROM_PORT:-19340}
workerport=$((httpport + 1))
live=${MONITORING_LIVE:-1}
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"

# Debian's python3 has PyYAML (docker-compose depends on it).
py=/usr/bin/python3
[ -x "$py" ] || py=python3
check="$py tests/monitoring/monitoring.py"

status=0
step() { echo "-- $*"; }
run() {
	if "$@"; then :; else
		echo "FAIL: $*"
		status=1
	fi
}

step promtool
run promtool check config prometheus/prometheus.yml
run promtool check rules prometheus/rules/*.yml
run promtool test rules prometheus/tests/*.yml

step docker-compose
run docker-compose -f docker-compose.yml config -q
run $check composeenv

step image build stages, replayed without Docker
# The build stages' COPY, make and dpkg-buildpackage commands, in a scratch
# copy of the tree (the apt-get lines are what scripts/deps.sh installs
# here; the two images share one build stage, replayed once).  Then the
# packages the runtime stages install must be there and hold what they
# need, and apt must bring the libraries they link: their Depends name
# each one's Debian package, except libpq5 for the extension, whose server
# image has it.
pgc=${PG_CONFIG:-pg_config}
img=$tmp/image
rm -rf "$img"
mkdir -p "$img"
run $check imagebuild docker/db/Dockerfile --pg-config "$pgc" --out "$img/db"
run $check imagebuild docker/api/Dockerfile --pg-config "$pgc" --out "$img/api"
extdeb=$(ls "$img"/db/build/postgresql-15-user-activity_*.deb 2>/dev/null | head -n 1)
shimdeb=$(ls "$img"/api/build/user-activity-shim_*.deb 2>/dev/null | head -n 1)
for f in /usr/lib/postgresql/15/lib/user_activity.so /usr/lib/postgresql/15/lib/user_activity_http.so \
	/usr/share/postgresql/15/extension/user_activity.control; do
	dpkg-deb -c "${extdeb:-/dev/null}" 2>/dev/null | grep -q " \.$f\$" ||
		{ echo "FAIL: docker/db/Dockerfile: the image would lack $f"; status=1; }
done
dpkg-deb -c "${extdeb:-/dev/null}" 2>/dev/null | grep -q 'extension/user_activity--.*\.sql$' ||
	{ echo "FAIL: docker/db/Dockerfile: the image would lack user_activity--*.sql"; status=1; }
dpkg-deb -c "${shimdeb:-/dev/null}" 2>/dev/null | grep -q ' \./usr/bin/user-activity-shim$' ||
	{ echo "FAIL: docker/api/Dockerfile: the image would lack /usr/bin/user-activity-shim"; status=1; }
# depends DEB FILE DOCKERFILE: the libraries FILE (in DEB) links come with DEB
depends() {
	dpkg-deb -x "$1" "$tmp/deb-x"
	deps=$(dpkg-deb -f "$1" Depends)
	ldd "$tmp/deb-x$2" | awk '$1 ~ /^lib(pq|microhttpd|jansson|crypto)\./ {print $3}' >"$tmp/libs"
	[ "$(wc -l <"$tmp/libs")" = 4 ] ||
		{ echo "FAIL: $2 does not link libpq, libmicrohttpd, libjansson and libcrypto"; status=1; }
	while read -r lib; do
		case $lib in /lib/*) lib=/usr$lib ;; esac
		pkg=$(dpkg -S "$lib" 2>/dev/null | cut -d: -f1)
		[ "$pkg" = libpq5 ] && case $3 in docker/db/*) continue ;; esac
		case ", $deps," in *", ${pkg:-no-such-package} "* | *", ${pkg:-no-such-package},"*) ;;
		*) echo "FAIL: $3: $(basename "$1") does not depend on ${pkg:-the package of $lib}"; status=1 ;;
		esac
	done <"$tmp/libs"
	rm -rf "$tmp/deb-x"
}
if [ -n "$extdeb" ] && [ -n "$shimdeb" ]; then
	depends "$extdeb" /usr/lib/postgresql/15/lib/user_activity_http.so docker/db/Dockerfile
	depends "$shimdeb" /usr/bin/user-activity-shim docker/api/Dockerfile
fi

step static checks
run $check static
run $check selftest

if [ "$live" != 1 ]; then
	echo "live: skipped (MONITORING_LIVE=0)"
	exit $status
fi

step live: cluster, shim, Prometheus
export PGHOST=127.0.0.1 PGPORT=$pgport
data=$tmp/pg-data
shim_pid=
prom_pid=
cleanup() {
	[ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null && wait "$shim_pid" 2>/dev/null
	[ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
	tests/lib/cluster.sh stop "$data"
}
trap cleanup EXIT
CRON_DB=user_activity PRELOAD=user_activity_http PG_EXTRA_CONF="user_activity.http_port = $workerport
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_allow_unauthenticated = on
user_activity.http_database = 'user_activity'" \
	tests/lib/cluster.sh start "$data" "$pgport"
psql -X -q -U postgres -d postgres -c "CREATE DATABASE user_activity"

# The db image's init script and healthcheck, against the real cluster: not
# healthy before the init script ran, healthy after.
# healthcheck [CRON]: the db container's healthcheck, as Docker runs it with
# the container's environment (CRON_TAB_COUNT_USERS_EVENT_TASK unset when
# CRON is not given).
healthcheck() {
	env POSTGRES_USER=postgres POSTGRES_DB=user_activity SCHEDULE_STATE="$tmp/schedule-state" \
		${1+CRON_TAB_COUNT_USERS_EVENT_TASK="$1"} sh docker/db/db-healthcheck.sh
}
if healthcheck 2>/dev/null; then
	echo "FAIL: docker/db/db-healthcheck.sh passes without the extension"; status=1
fi
env POSTGRES_USER=postgres POSTGRES_DB=user_activity \
	API_DB_PASSWORD=api GRAFANA_DB_PASSWORD=grafana EXPORTER_DB_PASSWORD=exporter \
	CRON_TAB_COUNT_USERS_EVENT_TASK='0 */4 * * *' \
	sh docker/db/initdb/10-user-activity.sh >"$tmp/initdb.log" 2>&1 ||
	{ cat "$tmp/initdb.log"; echo "FAIL: docker/db/initdb/10-user-activity.sh"; exit 1; }
healthcheck >"$tmp/health.log" 2>&1 ||
	{ cat "$tmp/health.log"; echo "FAIL: docker/db/db-healthcheck.sh on a ready database"; exit 1; }
job() { psql -X -tA -U postgres -d user_activity -c "SELECT schedule FROM cron.job WHERE jobname = 'user_activity_count'"; }
[ "$(job)" = "0 */4 * * *" ] || { echo "FAIL: init script scheduled counting as \"$(job)\""; status=1; }
echo "ok: docker/db init script, healthcheck and counting schedule"

# CRON_TAB_COUNT_USERS_EVENT_TASK at every start, not only the first: the
# healthcheck applies it once per server start (docker/db/schedule-counting.sh).
expect_job() {
	[ "$(job)" = "$1" ] || { echo "FAIL: $2: counting is scheduled \"$(job)\", expected \"$1\""; status=1; }
}
tests/lib/cluster.sh restart "$data"
healthcheck '*/5 * * * *' >"$tmp/health.log" 2>&1 ||
	{ cat "$tmp/health.log"; echo "FAIL: healthcheck after a restart with a new schedule"; status=1; }
expect_job '*/5 * * * *' "a restart with CRON_TAB_COUNT_USERS_EVENT_TASK changed"
psql -X -q -U postgres -d user_activity -c "SELECT user_activity.schedule_counting('0 1 * * *')" >/dev/null
healthcheck '*/5 * * * *' >/dev/null 2>&1 || { echo "FAIL: the second healthcheck of a start"; status=1; }
expect_job '0 1 * * *' "a schedule set with SQL, before the next start"
tests/lib/cluster.sh restart "$data"
healthcheck '*/5 * * * *' >/dev/null 2>&1 || { echo "FAIL: healthcheck after a restart"; status=1; }
expect_job '*/5 * * * *' "the next start"
tests/lib/cluster.sh restart "$data"
if healthcheck 'every tuesday' >"$tmp/health.log" 2>&1; then
	echo "FAIL: healthy with CRON_TAB_COUNT_USERS_EVENT_TASK=\"every tuesday\""; status=1
fi
grep -q 'invalid schedule "every tuesday"' "$tmp/health.log" ||
	{ cat "$tmp/health.log"; echo "FAIL: the healthcheck does not say why the schedule failed"; status=1; }
healthcheck 'every tuesday' >/dev/null 2>&1 && { echo "FAIL: healthy on the second check of a failed start"; status=1; }
expect_job '*/5 * * * *' "a failed schedule"
tests/lib/cluster.sh restart "$data"
healthcheck >/dev/null 2>&1 || { echo "FAIL: healthcheck with CRON_TAB_COUNT_USERS_EVENT_TASK unset"; status=1; }
expect_job '0 */4 * * *' "a start with CRON_TAB_COUNT_USERS_EVENT_TASK unset"
echo "ok: a changed CRON_TAB_COUNT_USERS_EVENT_TASK reschedules at the next start, once per start; a bad one keeps the db unhealthy and says why"

# The standalone shim as docker-compose's "api" service runs it: login role
# api, API keys on.
shim=${MONITORING_SHIM:-http-shim/user-activity-shim}
[ -x "$shim" ] || make -s PG_CONFIG="${PG_CONFIG:-pg_config}" "$shim" >/dev/null
wkey=test-write-key rkey=test-read-key akey=test-admin-key
env DB_URL="postgresql://api@127.0.0.1:$pgport/user_activity" \
	HTTP_PORT="$httpport" HTTP_LISTEN_ADDRESS=127.0.0.1 \
	HTTP_API_KEY_WRITE=$wkey HTTP_API_KEY_READ=$rkey HTTP_API_KEY_ADMIN=$akey \
	CRON_TAB_COUNT_USERS_EVENT_TASK='0 */4 * * *' \
	"$shim" >"$tmp/shim.log" 2>"$tmp/shim.err" &
shim_pid=$!
base=http://127.0.0.1:$httpport
worker=http://127.0.0.1:$workerport
i=0
until curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$shim_pid" 2>/dev/null; then
		echo "FAIL: the shim did not start"; cat "$tmp/shim.err" "$tmp/shim.log"; exit 1
	fi
	sleep 0.1
done
i=0
until curl -fsS -o /dev/null "$worker/readyz" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 150 ]; then
		echo "FAIL: the in-database worker is not ready on $worker"; tail -n 20 "$data/server.log"; exit 1
	fi
	sleep 0.1
done
echo "ok: standalone shim on $base, in-database worker on $worker"

$check promconfig --target "127.0.0.1:$httpport" --target "127.0.0.1:$workerport" --out "$tmp/prometheus.yml"
run promtool check config "$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
	--web.listen-address="127.0.0.1:$promport" >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!
prom=http://127.0.0.1:$promport
promq() { curl -fsS --get "$prom/api/v1/query" --data-urlencode "query=$1"; }
i=0
until [ "$(promq 'count(up{job="user-activity-api"} == 1)' 2>/dev/null | jq -r '.data.result[0].value[1] // 0')" = 2 ]; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$prom_pid" 2>/dev/null; then
		echo "FAIL: Prometheus did not scrape the shim"; tail -n 20 "$tmp/prometheus.log"; exit 1
	fi
	sleep 0.1
done
echo "ok: Prometheus scrapes the shim"

step live: traffic
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
expect() {
	want=$1; shift
	got=$(code "$@")
	[ "$got" = "$want" ] || { echo "FAIL: $* answered $got, expected $want"; status=1; }
}
from=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)
to=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
W="Authorization: Bearer $wkey"
R="Authorization: Bearer $rkey"
J="Content-Type: application/json"
for round in 1 2 3; do
	for action in created updated deleted viewed; do
		expect 201 -X POST -H "$W" -H "$J" "$base/api/event" \
			-d "{\"user_id\": $round, \"event_action_timestamp\": \"2025-10-10T18:30:00Z\", \"action\": \"$action\", \"metadata\": {\"ip\": \"192.168.1.10\"}}"
	done
	expect 400 -X POST -H "$W" -H "$J" "$base/api/event" \
		-d '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "jumped", "metadata": {}}'
	expect 400 -X POST -H "$W" -H "$J" "$base/api/event" \
		-d '{"event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {}}'
	expect 200 -H "$R" "$base/api/events?user_id=$round&from=$from&to=$to"
	expect 200 -H "$R" "$base/api/users/$round/counts?from=$from&to=$to"
	expect 200 -H "$R" "$base/api/counts/top?from=$from&to=$to&limit=5"
	expect 404 "$base/api/no-such-route"
	expect 401 "$base/api/events?user_id=1&from=$from&to=$to"
	sleep 1
done
dup='{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {}, "event_id": "0b4f5e0e-2d39-4a55-9a43-6f1c5e8e2a01"}'
expect 201 -X POST -H "$W" -H "$J" "$base/api/event" -d "$dup"
code -X POST -H "$W" -H "$J" "$base/api/event" -d "$dup" >/dev/null
code -X POST -H "$W" -H "$J" "$base/api/events" -d '[
	{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": {}},
	{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "jumped", "metadata": {}}]' >/dev/null
# Exports of both formats: the export panels' series move.
expect 200 -H "$R" -H "Accept: application/x-ndjson" "$base/api/events?user_id=1&from=$from&to=$to"
expect 200 -H "$R" -H "Accept: text/csv" "$base/api/events?user_id=2&from=$from&to=$to"
# The worker, without keys as in "make run".
expect 201 -X POST -H "$J" "$worker/api/event" \
	-d '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "updated", "metadata": {}}'
expect 200 "$worker/api/events?user_id=9&from=$from&to=$to"
expect 200 -H "Accept: application/x-ndjson" "$worker/api/events?user_id=9&from=$from&to=$to"
expect 404 "$worker/api/no-such-route"
# One event acted now, for the active users panel (the events above acted
# in 2025, outside the dashboard's range).
psql -X -q -U postgres -d user_activity -c "SELECT user_activity.record_event(10, 'viewed', now(), '{}', NULL)" >/dev/null
psql -X -q -U postgres -d user_activity -c "SELECT user_activity.count_activity()" >/dev/null
# Two more scrapes after the last request, so rates over 1m see it all.
sleep 3

step live: every panel and rule through Prometheus
for mode in standalone worker; do
	url=$base
	[ $mode = worker ] && url=$worker
	curl -fsS "$url/metrics" >"$tmp/metrics-$mode.txt"
	grep -q "^user_activity_tracking_build_info{.*mode=\"$mode\"" "$tmp/metrics-$mode.txt" ||
		{ echo "FAIL: $url/metrics has no build_info with mode=\"$mode\""; status=1; }
	run promtool check metrics <"$tmp/metrics-$mode.txt"
	echo "metrics of the $mode shim:"
	run $check static --metrics "$tmp/metrics-$mode.txt"
done
run $check queries --prometheus "$prom"
modes=$(promq 'count(count by (mode) (user_activity_tracking_build_info))' | jq -r '.data.result[0].value[1] // 0')
[ "$modes" = 2 ] || { echo "FAIL: Prometheus sees $modes shim modes, expected worker and standalone"; status=1; }
# Both shims report their export limit, and the exports above were counted
# by format (ndjson: user 1's 4 events from the standalone shim and user
# 9's one from the worker; csv: user 2's 4, the header not counted).
limits=$(promq 'count(user_activity_tracking_api_exports_limit >= 1)' | jq -r '.data.result[0].value[1] // 0')
[ "$limits" = 2 ] || { echo "FAIL: Prometheus sees an export limit on $limits shims, expected 2"; status=1; }
for fmt in ndjson:5 csv:4; do
	rows=$(promq "sum(user_activity_tracking_api_export_rows_total{format=\"${fmt%:*}\"})" | jq -r '.data.result[0].value[1] // 0')
	if [ "$rows" = "${fmt#*:}" ]; then
		echo "ok: Prometheus counts $rows ${fmt%:*} export rows"
	else
		echo "FAIL: Prometheus counts $rows ${fmt%:*} export rows, expected ${fmt#*:}"; status=1
	fi
done

step live: dashboard SQL as role grafana
# Every PostgreSQL panel (top users, active users) runs as the role Grafana
# logs in as, and after the count shows something other than zeros.
$check sql >"$tmp/dashboards.sql"
if psql -X -q -tA -v ON_ERROR_STOP=1 -U grafana -d user_activity -f "$tmp/dashboards.sql" >"$tmp/sql.out" 2>&1; then
	while IFS='|' read -r panel rows nonzero; do
		if [ "${nonzero:-0}" -gt 0 ]; then
			echo "ok: panel \"$panel\" as role grafana: $rows rows, $nonzero not zero"
		else
			echo "FAIL: panel \"$panel\" as role grafana: $rows rows, none other than zero after counting"; status=1
		fi
	done <"$tmp/sql.out"
	grep -q '^Active users|' "$tmp/sql.out" || { echo "FAIL: no active users panel on the PostgreSQL datasource"; status=1; }
else
	echo "FAIL: dashboard SQL as role grafana"; cat "$tmp/sql.out"; status=1
fi

step live: log lines against the promtail pipeline
run $check logs "$tmp/shim.log"

exit $status
