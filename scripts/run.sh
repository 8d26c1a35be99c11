#!/bin/sh
# run.sh: "make run".  Builds and installs the extension, starts a local
# cluster in .run/ owned by an unprivileged user with pg_cron and the
# extension's HTTP worker (user_activity_http) preloaded, creates the extension, schedules the counting job and
# serves REST and the page from the in-database HTTP worker.  Stays in the
# foreground; Ctrl-C stops everything.
#
# The worker listens on 127.0.0.1 only and takes API requests without a key
# (user_activity.http_allow_unauthenticated, which it refuses beyond
# loopback).  It logs in as user_activity_http over the local socket, which
# the cluster trusts, as it trusts every local connection (tests/lib/cluster.sh).
#
#   PGPORT      PostgreSQL port (default 5433)
#   HTTP_PORT   REST API and page (default 8080)
#   CRON_TAB_COUNT_USERS_EVENT_TASK   counting schedule (default "0 */4 * * *")
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)

PGPORT=${PGPORT:-5433}
HTTP_PORT=${HTTP_PORT:-8080}
SCHEDULE=${CRON_TAB_COUNT_USERS_EVENT_TASK:-0 */4 * * *}
DB=${PGDATABASE:-user_activity}
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo

echo "run: building and installing the extension"
make -s
$sudo make -s install >/dev/null

if [ -f frontend/package.json ]; then
	echo "run: building the page"
	(cd frontend && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run -s build)
fi

data=$top/.run/pgdata
mkdir -p "$top/.run"
if [ "$(id -u)" = 0 ]; then
	chown postgres "$top/.run"
	runuser -u postgres -- test -x "$top/.run" || {
		echo "run: user postgres cannot reach $top/.run; put the checkout where it can (e.g. not under /root)" >&2
		exit 1
	}
fi

PRELOAD=user_activity_http CRON_DB=$DB PG_DURABLE=1 \
PG_EXTRA_CONF="user_activity.http_port = $HTTP_PORT
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_allow_unauthenticated = on
user_activity.http_database = '$DB'
user_activity.http_static_dir = '$top/frontend/dist'" \
	tests/lib/cluster.sh start "$data" "$PGPORT"

# Stop the cluster however we end: Ctrl-C, a signal, or an error.  Further
# signals are ignored meanwhile, and a closed stdout (make run | tee, then
# Ctrl-C) must not cut the shutdown short.
stop() {
	trap '' INT TERM HUP PIPE
	trap - EXIT
	echo "run: stopping" >&2 || true
	tests/lib/cluster.sh stop "$data" || true
	exit 0
}
trap stop INT TERM HUP EXIT

psql="psql -X -q -h 127.0.0.1 -p $PGPORT -U postgres"
$psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
	$psql -d postgres -c "CREATE DATABASE $DB"
$psql -d "$DB" -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS user_activity;
ALTER EXTENSION user_activity UPDATE;
SELECT user_activity.schedule_counting('$SCHEDULE');
SELECT user_activity.schedule_maintenance();
SELECT user_activity.maintain_partitions();
SQL

cat <<MSG

run: ready
  PostgreSQL  psql -h 127.0.0.1 -p $PGPORT -U postgres $DB
  REST API    http://127.0.0.1:$HTTP_PORT/api/events
  page        http://127.0.0.1:$HTTP_PORT/
  metrics     http://127.0.0.1:$HTTP_PORT/metrics
  counting    $SCHEDULE (pg_cron job user_activity_count)
  partitions  hourly (pg_cron job user_activity_maintenance)
Ctrl-C stops everything.
MSG
tail -n 0 -f "$data/server.log" &
wait
