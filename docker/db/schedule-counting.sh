#!/bin/sh
# Once per server start, points the pg_cron job user_activity_count at
# CRON_TAB_COUNT_USERS_EVENT_TASK (default 0 */4 * * *), so that changing the
# variable and starting the container again reschedules counting (the init
# script runs on an empty data directory only).  A job already on that
# schedule is left as it is (paused stays paused).  A schedule set with SQL
# lasts until the next start.
#
# db-healthcheck.sh calls it once the server answers on TCP: Docker runs the
# healthcheck at every start, after the server is up, and outside the
# postmaster's process tree (a child the postmaster reaps and does not know
# would count as a crashed backend).  Until the job is scheduled the
# container is not healthy, so "api" does not start on a schedule that
# failed; the failure is in "docker inspect" (State.Health) and in the
# server's log.
#
#   SCHEDULE_STATE   file holding this start's outcome (default
#                    /var/run/postgresql/user_activity-schedule): line 1 the
#                    server's start time, line 2 ok or failed, then the error
set -eu
db=${POSTGRES_DB:-user_activity}
user=${POSTGRES_USER:-postgres}
schedule=${CRON_TAB_COUNT_USERS_EVENT_TASK:-0 */4 * * *}
state=${SCHEDULE_STATE:-/var/run/postgresql/user_activity-schedule}

q() { psql -h 127.0.0.1 -U "$user" -d "$db" -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

started=$(q -c "SELECT pg_catalog.pg_postmaster_start_time()")
if [ -f "$state" ] && [ "$(sed -n 1p "$state")" = "$started" ]; then
	[ "$(sed -n 2p "$state")" = ok ] && exit 0
	sed '1,2d' "$state" >&2
	exit 1
fi

if out=$(q -v schedule="$schedule" 2>&1 <<'SQL'
SELECT user_activity.schedule_counting(:'schedule')
WHERE user_activity.counting_schedule() IS DISTINCT FROM :'schedule';
SQL
); then
	printf '%s\nok\n' "$started" >"$state"
	[ -z "$out" ] || echo "counting scheduled: $schedule"
else
	printf '%s\nfailed\nCRON_TAB_COUNT_USERS_EVENT_TASK="%s": %s\n' "$started" "$schedule" "$out" >"$state"
	sed '1,2d' "$state" >&2
	exit 1
fi
