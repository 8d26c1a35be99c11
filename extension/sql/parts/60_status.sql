--
-- Counting status: how fresh the counts are, for GET /api/counting/status,
-- the page and the metrics.
--
-- counting_status is the last count run and the last successful one;
-- counting_status_json() adds the position, the days the active users'
-- rollup holds (55_activity.sql), the pg_cron job's state, its
-- next run and the expected interval between two runs.  The last two come
-- from counting_cron_runs(), which reads the job's schedule as pg_cron does
-- (extension/src/cron_schedule.c); what it cannot tell gives nulls, never
-- an error: status must always answer.  pg_cron's objects are found as
-- 40_pg_cron.sql says, never by name: GET /metrics is unauthenticated.
--

CREATE FUNCTION user_activity.counting_cron_runs(schedule text, after timestamptz,
    timezone text DEFAULT 'GMT',
    OUT accepted boolean, OUT next_run timestamptz, OUT interval_seconds integer)
    RETURNS record
    AS 'MODULE_PATHNAME', 'user_activity_counting_cron_runs'
    LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION user_activity.counting_cron_runs(text, timestamptz, text) IS
    'whether pg_cron (1.4) accepts a schedule, its first run after a time (the schedule read in the given time zone) and the longest time between two consecutive runs in seconds; both null when they cannot be told (@reboot, a schedule that never runs)';

CREATE FUNCTION user_activity.counting_schedule() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT j.schedule FROM user_activity.pg_cron_job('user_activity_count') j
$$;
COMMENT ON FUNCTION user_activity.counting_schedule() IS
    'the schedule of the pg_cron job user_activity_count, null when there is none';

CREATE VIEW user_activity.counting_status AS
SELECT r.finished_at AS last_run_at,
       ok.finished_at AS last_success_at,
       r.outcome AS last_outcome,
       r.error AS last_error,
       pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.now() - ok.finished_at)::numeric, 3)
           AS seconds_since_last_success,
       user_activity.counting_schedule() AS schedule,
       ok.events AS events_counted
FROM (SELECT) AS one
LEFT JOIN LATERAL (SELECT * FROM user_activity.counting_runs ORDER BY id DESC LIMIT 1) r ON true
LEFT JOIN LATERAL (SELECT * FROM user_activity.counting_runs
                   WHERE outcome IN ('counted', 'empty') ORDER BY id DESC LIMIT 1) ok ON true;
COMMENT ON VIEW user_activity.counting_status IS
    'the last count run and the last successful one (events_counted: by that run); one row, nulls before the first run';

CREATE FUNCTION user_activity.counting_status_json() RETURNS text
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
    v_rollup json;
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
    -- The active users' rollup (55_activity.sql): the UTC days it holds.
    SELECT pg_catalog.json_build_object(
               'days', pg_catalog.count(*),
               'first_day', pg_catalog.min(d.day),
               'last_day', pg_catalog.max(d.day))
    INTO v_rollup
    FROM user_activity.daily_active_users d;
    SELECT pg_catalog.json_build_object(
               'last_run_at', user_activity.counting_rfc3339(s.last_run_at),
               'last_success_at', user_activity.counting_rfc3339(s.last_success_at),
               'last_outcome', s.last_outcome,
               'last_error', s.last_error,
               'seconds_since_last_success', s.seconds_since_last_success,
               'schedule', s.schedule,
               'events_counted', s.events_counted,
               'position', v_position,
               'rollup', v_rollup,
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
    'counting_status as JSON text with the position, the days of the active users'' rollup, the pg_cron job and its expected interval and next run: for GET /api/counting/status, the metrics and the page';

REVOKE ALL ON FUNCTION
    user_activity.counting_cron_runs(text, timestamptz, text),
    user_activity.counting_schedule(),
    user_activity.counting_status_json()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.counting_cron_runs(text, timestamptz, text),
    user_activity.counting_schedule(),
    user_activity.counting_status_json()
    TO user_activity_reader, user_activity_writer;
GRANT SELECT ON user_activity.counting_status TO user_activity_reader, user_activity_writer;
