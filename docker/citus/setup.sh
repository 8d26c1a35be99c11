#!/bin/sh
# One-shot set-up of the "citus" profile, run by the citus-setup service once
# the coordinator and both workers accept connections: registers the nodes,
# creates the extensions and distributes the tables (setup.sql).  Running it
# again changes nothing.
set -eu
: "${PGHOST:=citus-coordinator}" "${PGUSER:=postgres}" "${PGDATABASE:=user_activity}"
export PGHOST PGUSER PGDATABASE
for host in citus-coordinator citus-worker-1 citus-worker-2; do
	until pg_isready -q -h "$host" -U "$PGUSER"; do
		sleep 1
	done
done
exec psql -X -v ON_ERROR_STOP=1 \
	-v schedule="${CRON_TAB_COUNT_USERS_EVENT_TASK:-0 */4 * * *}" \
	-f /usr/local/share/user_activity/citus-setup.sql
