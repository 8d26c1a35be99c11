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
SELECT s AS schedule, r.accepted, r.interval_seconds, r.next_run
FROM unnest(ARRAY[
    '0 */4 * * *', '* * * * *', '*/5 * * * *', '17 * * * *', '0 0,6 * * *',
    '0 9 * * 1-5',                 -- weekdays: the weekend is the longest gap
    '30 2 * * sun', '0 12 * * 7',  -- 7 is Sunday too
    '0 0 1,15 * mon',              -- both day fields restricted: either matches
    '0 */4 * jan-mar *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly',
    ' 0  */4 * * * ', '21 21 26 11 *',
    '0 0 29 2 *',                  -- fewer than two runs in four years
    -- accepted, but no run to tell
    '0 0 31 2 *', '5-3 * * * *', '@reboot',
    -- refused
    '61 * * * *', '* * * *', '0 0 L * *', '5 seconds', 'x', '']) WITH ORDINALITY AS t(s, n),
     user_activity.counting_cron_runs(s, '2026-11-26T21:50:30Z') r
ORDER BY n;

-- the next run is strictly after the time given, in the time zone given
SELECT (user_activity.counting_cron_runs('0 */4 * * *', '2026-11-26T20:00:00Z')).next_run AS at_a_run,
       (user_activity.counting_cron_runs('0 */4 * * *', '2026-11-26T19:59:59.9Z')).next_run AS just_before,
       (user_activity.counting_cron_runs('0 9 * * *', '2026-11-26T12:00:00Z', 'Europe/Berlin')).next_run AS berlin;

-- without pg_cron: nulls; then before the first run, after a run, and with
-- the job
SELECT user_activity.counting_status_json()::jsonb - 'seconds_since_last_success' AS status;
CREATE EXTENSION pg_cron;
SELECT user_activity.counting_status_json()::jsonb -> 'pg_cron' AS pg_cron;

-- counting_cron_runs() accepts exactly what pg_cron's cron.schedule()
-- accepts, quirks included: a step needs a range, anything after the fifth
-- field or after a list's first non-list character is ignored, a reversed
-- range is an empty one, names in any case but "@" words in lower case
CREATE FUNCTION pg_temp.pg_cron_accepts(schedule text) RETURNS boolean
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM cron.schedule('ua_cron_probe', schedule, 'SELECT 1');
    PERFORM cron.unschedule('ua_cron_probe');
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END;
$$;
CREATE TEMP TABLE schedules AS
SELECT n, s, pg_temp.pg_cron_accepts(s) AS pg_cron, r.*
FROM unnest(ARRAY[
    '0 0 * * *', '00 09 * * *', '0-59/15 * * * *', '1-5/2 * * * *', '*/5,10 * * * *',
    '0 9 * * mon-fri', '0 9 * * fri-mon', '0 9 * * MON', '0 0 * JAN *', '0 0 * * 0,7',
    '0 0 1-31/10 * *', '0 0 * * */2', E'0\t0 * * *\t*', '0 0 * * * echo',
    '*5 * * * *', '5; * * * *', '5-3 * * * *', '0 0 31 2 *',
    E'# a comment\n0 0 * * *', E'\n  \n0 0 * * *', '@annually', '@midnight', '@restart',
    '5/10 * * * *', '*/0 * * * *', '1-5/0 * * * *', '0 0 * * 1/2', '60 * * * *',
    '* 24 * * *', '0 0 0 * *', '0 0 * 13 *', '0 0 * * 8', 'jan * * * *', '1,,2 * * * *',
    '0 0 * * mo', '@Daily', '@every', '@', '0 0 $ * *', '5 seconds', '* * * *',
    '', '   ', '# only a comment', E'0 0\n* * *', repeat('1,', 500) || '1 * * * *'])
    WITH ORDINALITY AS t(s, n),
     user_activity.counting_cron_runs(s, '2026-11-26T21:50:30Z') r;
SELECT left(replace(replace(s, E'\n', '\n'), E'\t', '\t'), 24) AS schedule, pg_cron, accepted, interval_seconds, next_run
FROM schedules ORDER BY n;
SELECT count(*) AS schedules, count(*) FILTER (WHERE pg_cron IS DISTINCT FROM accepted) AS disagreements
FROM schedules;

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
