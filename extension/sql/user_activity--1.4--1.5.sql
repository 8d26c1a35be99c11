/* user_activity--1.4--1.5.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.5'" to load this file. \quit

--
-- Version 1.5: changes only; the current definition of every object is in
-- extension/sql/parts.  Each section below belongs to one concern; keep
-- changes inside it.
--


-- ----------------------------------------------------------------------
-- Counting status: the cron reader (parts/60_status.sql)
-- ----------------------------------------------------------------------
--
-- The five PL/pgSQL functions that re-implemented pg_cron's rules give way
-- to one C function, counting_cron_runs(), that reads a schedule exactly
-- as pg_cron 1.4 does; pg_cron itself still validates at cron.schedule().
--

DROP FUNCTION user_activity.counting_cron_next(text, timestamptz, text);
DROP FUNCTION user_activity.counting_cron_interval(text);
DROP FUNCTION user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean);
DROP FUNCTION user_activity.counting_cron_parse(text);
DROP FUNCTION user_activity.counting_cron_field(text, integer, integer, text[]);

CREATE FUNCTION user_activity.counting_cron_runs(schedule text, after timestamptz,
    timezone text DEFAULT 'GMT',
    OUT accepted boolean, OUT next_run timestamptz, OUT interval_seconds integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'user_activity_counting_cron_runs'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION user_activity.counting_cron_runs(text, timestamptz, text) IS
    'whether pg_cron (1.4) accepts a schedule, its first run after a time (the schedule read in the given time zone) and the longest time between two consecutive runs in seconds; both null when they cannot be told (@reboot, a schedule that never runs)';

REVOKE ALL ON FUNCTION user_activity.counting_cron_runs(text, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION user_activity.counting_cron_runs(text, timestamptz, text)
    TO user_activity_reader, user_activity_writer;

CREATE OR REPLACE FUNCTION user_activity.counting_status_json() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_tz text := COALESCE(NULLIF(pg_catalog.current_setting('cron.timezone', true), ''), 'GMT');
    v_job record := user_activity.pg_cron_job('user_activity_count');
    v_runs pg_catalog.regclass := user_activity.pg_cron_relation('job_run_details');
    v_last_run json;
    v_cron json;
    v_position json;
    v_out text;
BEGIN
    -- pg_cron is optional and looked up at call time, like the scheduling
    -- functions; so is its run history (pg_cron 1.3 and later).
    IF user_activity.pg_cron_relation('job') IS NOT NULL THEN
        IF v_job.jobid IS NOT NULL AND v_runs IS NOT NULL THEN
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.json_build_object(
                            ''status'', d.status,
                            ''started_at'', user_activity.counting_rfc3339(d.start_time),
                            ''ended_at'', user_activity.counting_rfc3339(d.end_time),
                            ''message'', d.return_message)
                 FROM %s d WHERE d.jobid = $1 ORDER BY d.runid DESC LIMIT 1', v_runs)
                INTO v_last_run USING v_job.jobid;
        END IF;
        v_cron := pg_catalog.json_build_object(
            'timezone', v_tz,
            'job', CASE WHEN v_job.jobid IS NOT NULL THEN
                            pg_catalog.json_build_object('name', 'user_activity_count',
                                                         'schedule', v_job.schedule,
                                                         'active', v_job.active,
                                                         'last_run', v_last_run)
                   END);
    END IF;
    SELECT pg_catalog.json_build_object(
               'last_id', p.last_id,
               'last_period_end', user_activity.counting_rfc3339(p.last_period_end),
               'updated_at', user_activity.counting_rfc3339(p.updated_at))
    INTO v_position
    FROM user_activity.counting_state p;
    SELECT pg_catalog.json_build_object(
               'last_run_at', user_activity.counting_rfc3339(s.last_run_at),
               'last_success_at', user_activity.counting_rfc3339(s.last_success_at),
               'last_outcome', s.last_outcome,
               'last_error', s.last_error,
               'seconds_since_last_success', s.seconds_since_last_success,
               'schedule', s.schedule,
               'events_counted', s.events_counted,
               'position', v_position,
               'expected_interval_seconds', CASE WHEN v_job.active THEN r.interval_seconds END,
               'next_run_at', CASE WHEN v_job.active THEN user_activity.counting_rfc3339(r.next_run) END,
               'pg_cron', v_cron)::text
    INTO v_out
    FROM user_activity.counting_status s
    LEFT JOIN user_activity.counting_cron_runs(v_job.schedule, pg_catalog.now(), v_tz) r ON true;
    RETURN v_out;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_status_json() IS
    'counting_status as JSON text with the position, the pg_cron job and its expected interval and next run: for GET /api/counting/status, the metrics and the page';

-- end of the counting status's cron reader
