--
-- Scheduling
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
DROP EXTENSION IF EXISTS pg_cron;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- partitions for the direct INSERTs below (recorded_at defaults to now())
SELECT user_activity.maintain_partitions() IS NOT NULL AS partitions_ready;
\set SHOW_CONTEXT never

-- errors as data: SQLSTATE, the field (column) and the texts
CREATE FUNCTION pg_temp.try(q text)
    RETURNS TABLE (state text, field text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT 'ok'::text, NULL::text, NULL::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, field = COLUMN_NAME,
                            message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL,
                            hint = PG_EXCEPTION_HINT;
    RETURN NEXT;
END;
$$;

-- pg_cron is optional for CREATE EXTENSION; scheduling without it says how
-- to enable it
\x on
SELECT * FROM pg_temp.try('SELECT user_activity.schedule_counting()');
SELECT * FROM pg_temp.try('SELECT user_activity.unschedule_counting()');
\x off

-- with pg_cron (preloaded, cron.database_name = this database)
CREATE EXTENSION pg_cron;
SELECT user_activity.schedule_counting();
SELECT jobname, schedule, command, database = current_database() AS here, username, active
FROM cron.job ORDER BY jobname;
-- rescheduling replaces the job
SELECT user_activity.schedule_counting('0 0 1 1 *');
SELECT jobname, schedule, command FROM cron.job ORDER BY jobname;
SELECT schedule FROM user_activity.counting_status;
SELECT user_activity.counting_status_json()::jsonb ->> 'schedule' AS schedule;

-- invalid schedules
\x on
SELECT * FROM pg_temp.try($$SELECT user_activity.schedule_counting('61 * * * *')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.schedule_counting('every four hours')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.schedule_counting('')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.schedule_counting(NULL)$$);
\x off
SELECT jobname, schedule FROM cron.job ORDER BY jobname;

-- the job's command counts, and the count purges the job's old history
-- (not other jobs')
SELECT cron.schedule('other_job', '0 0 1 1 *', 'SELECT 1') > 0 AS scheduled;
INSERT INTO cron.job_run_details (jobid, runid, database, username, command, status, return_message,
                                  start_time, end_time)
SELECT jobid, 1000 + jobid, database, username, command, 'succeeded', 'CALL',
       '2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z'
FROM cron.job;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (1, 'created', '2025-10-10T18:30:00Z'), (2, 'viewed', '2025-10-10T18:30:00Z');
CALL user_activity.run_counting();
SELECT last_outcome, events_counted FROM user_activity.counting_status;
SELECT j.jobname, d.status, d.end_time
FROM cron.job_run_details d JOIN cron.job j USING (jobid)
ORDER BY j.jobname, d.end_time;

-- the job really runs under pg_cron: schedule it every minute and wait for
-- its first run (up to two minutes)
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (1, 'viewed', '2025-10-10T19:00:00Z'), (3, 'deleted', '2025-10-10T19:00:00Z'),
       (3, 'updated', '2025-10-10T19:00:00Z');
SELECT user_activity.schedule_counting('* * * * *') ->> 'schedule' AS schedule;
DO $$
BEGIN
    FOR i IN 1..240 LOOP
        EXIT WHEN EXISTS (SELECT FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                          WHERE j.jobname = 'user_activity_count'
                            AND d.status IN ('succeeded', 'failed'));
        PERFORM pg_sleep(0.5);
    END LOOP;
END;
$$;
SELECT d.status, d.return_message, d.command
FROM cron.job_run_details d JOIN cron.job j USING (jobid)
WHERE j.jobname = 'user_activity_count'
ORDER BY d.runid LIMIT 1;
SELECT last_outcome, events_counted, last_error FROM user_activity.counting_status;
SELECT user_id, sum(event_count) AS counted FROM user_activity.user_event_counts GROUP BY user_id ORDER BY user_id;

-- unscheduling
SELECT user_activity.unschedule_counting();
SELECT user_activity.unschedule_counting();
SELECT jobname FROM cron.job ORDER BY jobname;
SELECT schedule FROM user_activity.counting_status;
SELECT cron.unschedule('other_job');
DROP EXTENSION pg_cron;
