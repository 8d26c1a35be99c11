#!/bin/sh
# cluster.sh: a throw-away PostgreSQL cluster with pg_cron preloaded.
#
#   cluster.sh start DATADIR PORT   initdb if needed, then start
#   cluster.sh stop DATADIR         fast shutdown (no error if not running)
#   cluster.sh restart DATADIR
#
# The server listens on 127.0.0.1:PORT and on a socket in /tmp; every local
# connection is trusted, as user "postgres".  initdb and postgres refuse to
# run as root, so when called by root the server runs as the unprivileged
# user $PG_OS_USER (default postgres).  The data directory therefore belongs
# in a place that user can reach, such as /tmp, never inside the checkout.
#
# Settings from the environment:
#   PG_CONFIG         which installation to use (default: pg_config on PATH)
#   CRON_DB           database pg_cron runs in (default contrib_regression)
#   PRELOAD           extra shared_preload_libraries (e.g. user_activity_http)
#   PRELOAD_FIRST     libraries to load before pg_cron (citus must be first)
#   PG_CRON=0         no pg_cron at all (it is preloaded unless told so)
#   PG_EXTRA_CONF     more postgresql.conf lines, appended as they are
#   PG_DURABLE=1      keep fsync on (benchmarks); tests turn it off
set -eu

cmd=${1:?usage: cluster.sh start|stop|restart DATADIR [PORT]}
data=${2:?usage: cluster.sh start|stop|restart DATADIR [PORT]}
bindir=$(${PG_CONFIG:-pg_config} --bindir)
osuser=${PG_OS_USER:-postgres}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$osuser" -- "$@"
	else
		"$@"
	fi
}

case "$cmd" in
start)
	port=${3:?cluster.sh start needs a port}
	if [ ! -f "$data/PG_VERSION" ]; then
		mkdir -p "$data"
		[ "$(id -u)" = 0 ] && chown "$osuser" "$data"
		chmod 700 "$data"
		as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust \
			-E UTF8 --locale=C.UTF-8 >"$data.initdb.log" 2>&1 ||
			{ cat "$data.initdb.log" >&2; exit 1; }
		cron=pg_cron
		[ "${PG_CRON:-1}" = 0 ] && cron=
		preload=$(printf '%s\n' "${PRELOAD_FIRST:-}" "$cron" "${PRELOAD:-}" | sed '/^$/d' | paste -sd, -)
		fsync=off
		[ "${PG_DURABLE:-0}" = 1 ] && fsync=on
		cat >>"$data/postgresql.conf" <<CONF

# cluster.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '/tmp'
shared_preload_libraries = '$preload'
cron.database_name = '${CRON_DB:-contrib_regression}'
fsync = $fsync
max_connections = 200
max_worker_processes = 16
log_line_prefix = '%m [%p] %q%u@%d '
timezone = 'UTC'
CONF
		[ -n "${PG_EXTRA_CONF:-}" ] && printf '%s\n' "$PG_EXTRA_CONF" >>"$data/postgresql.conf"
	fi
	as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null ||
		{ tail -n 30 "$data/server.log" >&2; exit 1; }
	;;
stop)
	[ -f "$data/postmaster.pid" ] || exit 0
	as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
	;;
restart)
	as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -m fast -w -t 60 restart >/dev/null
	;;
*)
	echo "cluster.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
