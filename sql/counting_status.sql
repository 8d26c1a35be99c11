--
-- Counting status: position, pg_cron job, expected interval and next run
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
DROP EXTENSION IF EXISTS pg_cron;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- partitions for the direct INSERTs below (recorded_at defaults to now())
SELECT user_activity.maintain_partitions() IS NOT NULL AS partitions_ready;

-- cron expressions as pg_cron reads them: the longest gap between two runs
-- (seconds) and the first run after a fixed time (a Thursday, 21:50:30)
SELECT s AS schedule,
       user_activity.counting_cron_interval(s) AS interval_seconds,
       user_activity.counting_cron_next(s, '2026-11-26T21:50:30Z') AS next_run
FROM unnest(ARRAY[
    '0 */4 * * *', '* * * * *', '*/5 * * * *', '17 * * * *', '0 0,6 * * *',
    '0 9 * * 1-5',                 -- weekdays: the weekend is the longest gap
    '30 2 * * sun', '0 12 * * 7',  -- 7 is Sunday too
    '0 0 1,15 * mon',              -- both day fields restricted: either matches
    '0 */4 * jan-mar *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly',
    ' 0  */4 * * * ', '21 21 26 11 *',
    '5 seconds',                   -- pg_cron's interval: no next run to tell
    '0 0 29 2 *',                  -- fewer than two runs in four years
    -- not readable: nulls, no error
    '0 0 31 2 *', '61 * * * *', '* * * *', '@reboot', '0 0 L * *', 'x', '']) WITH ORDINALITY AS t(s, n)
ORDER BY n;

-- the next run is strictly after the time given, in the time zone given
SELECT user_activity.counting_cron_next('0 */4 * * *', '2026-11-26T20:00:00Z') AS at_a_run,
       user_activity.counting_cron_next('0 */4 * * *', '2026-11-26T19:59:59.9Z') AS just_before,
       user_activity.counting_cron_next('0 9 * * *', '2026-11-26T12:00:00Z', 'Europe/Berlin') AS berlin;

-- without pg_cron: nulls; then before the first run, after a run, and with
-- the job
SELECT user_activity.counting_status_json()::jsonb - 'seconds_since_last_success' AS status;
CREATE EXTENSION pg_cron;
SELECT user_activity.counting_status_json()::jsonb -> 'pg_cron' AS pg_cron;
SELECT user_activity.schedule_counting('0 9 * * 1-5') ->> 'schedule' AS scheduled;
SELECT s ->> 'expected_interval_seconds' AS interval_seconds,
       (s ->> 'next_run_at')::timestamptz > now() AS next_run_ahead,
       s -> 'pg_cron' AS pg_cron, s -> 'position' AS position
FROM (SELECT user_activity.counting_status_json()::jsonb AS s) q;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (1, 'viewed', '2025-10-10T19:00:00Z'), (2, 'created', '2025-10-10T19:00:00Z');
CALL user_activity.run_counting();
SELECT s ->> 'last_outcome' AS outcome, s ->> 'events_counted' AS events,
       (s -> 'position' ->> 'last_period_end')::timestamptz <= (s ->> 'last_success_at')::timestamptz AS period_ended,
       (s -> 'position' ->> 'last_id')::bigint = (SELECT max(id) FROM user_activity.events) AS position_at_last_event,
       (s ->> 'seconds_since_last_success')::numeric >= 0 AS since
FROM (SELECT user_activity.counting_status_json()::jsonb AS s) q;
-- the job's last run as pg_cron recorded it
INSERT INTO cron.job_run_details (jobid, runid, database, username, command, status, return_message,
                                  start_time, end_time)
SELECT jobid, 1, database, username, command, 'failed', 'ERROR:  canceled',
       '2025-01-01T09:00:00Z', '2025-01-01T09:00:01.5Z'
FROM cron.job WHERE jobname = 'user_activity_count';
SELECT user_activity.counting_status_json()::jsonb -> 'pg_cron' -> 'job' AS job;
-- an inactive job runs no more: no interval, no next run
UPDATE cron.job SET active = false WHERE jobname = 'user_activity_count';
SELECT s -> 'expected_interval_seconds' AS interval_seconds, s -> 'next_run_at' AS next_run,
       s -> 'pg_cron' -> 'job' -> 'active' AS active
FROM (SELECT user_activity.counting_status_json()::jsonb AS s) q;
SELECT user_activity.unschedule_counting();
SELECT s -> 'expected_interval_seconds' AS interval_seconds, s -> 'pg_cron' AS pg_cron
FROM (SELECT user_activity.counting_status_json()::jsonb AS s) q;

-- the writer role (the shim's) reads it
SET ROLE user_activity_writer;
SELECT user_activity.counting_status_json()::jsonb ->> 'last_outcome' AS as_writer;
RESET ROLE;
DROP EXTENSION pg_cron;
