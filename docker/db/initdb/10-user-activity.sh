#!/bin/sh
# First start only (the official image runs /docker-entrypoint-initdb.d/ on
# an empty data directory): install the extensions, create the login roles
# of the other services and schedule the counting job.  At every later
# start, the healthcheck's schedule-counting.sh applies a changed
# CRON_TAB_COUNT_USERS_EVENT_TASK.
#
#   api                the HTTP shim; member of user_activity_writer
#   grafana            Grafana's PostgreSQL datasource; user_activity_reader
#   postgres_exporter  postgres_exporter; pg_monitor
set -eu

psql -v ON_ERROR_STOP=1 -X --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v api_password="${API_DB_PASSWORD:?API_DB_PASSWORD is not set}" \
	-v grafana_password="${GRAFANA_DB_PASSWORD:?GRAFANA_DB_PASSWORD is not set}" \
	-v exporter_password="${EXPORTER_DB_PASSWORD:?EXPORTER_DB_PASSWORD is not set}" \
	-v schedule="${CRON_TAB_COUNT_USERS_EVENT_TASK:-0 */4 * * *}" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS user_activity;

CREATE ROLE api LOGIN PASSWORD :'api_password' IN ROLE user_activity_writer;
COMMENT ON ROLE api IS 'the HTTP shim (docker-compose service api)';
CREATE ROLE grafana LOGIN PASSWORD :'grafana_password' IN ROLE user_activity_reader;
COMMENT ON ROLE grafana IS 'Grafana''s PostgreSQL datasource, read only';
CREATE ROLE postgres_exporter LOGIN PASSWORD :'exporter_password' IN ROLE pg_monitor;
COMMENT ON ROLE postgres_exporter IS 'postgres_exporter (docker-compose service postgres_exporter)';

SELECT user_activity.schedule_counting(:'schedule');
SELECT user_activity.schedule_maintenance();
SELECT user_activity.maintain_partitions();
SQL
