#!/bin/sh
# Healthy once the server accepts TCP connections (not only the socket the
# first-start initialisation uses), the extension is installed, and counting
# runs on CRON_TAB_COUNT_USERS_EVENT_TASK (schedule-counting.sh, once per
# server start).
set -eu
db=${POSTGRES_DB:-user_activity}
pg_isready -q -h 127.0.0.1 -U "${POSTGRES_USER:-postgres}" -d "$db"
test "$(psql -h 127.0.0.1 -U "${POSTGRES_USER:-postgres}" -d "$db" -XtAc \
	"SELECT count(*) FROM pg_catalog.pg_extension WHERE extname = 'user_activity'")" = 1
exec sh "$(dirname "$0")/schedule-counting.sh"
