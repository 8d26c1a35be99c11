--
-- Counting status: how fresh the counts are, for GET /api/counting/status,
-- the page and the metrics.
--
-- counting_status is the last count run and the last successful one;
-- counting_status_json() adds the position, the days the active users'
-- rollup holds (55_activity.sql), the pg_cron job's state, its
-- next run and the expected interval between two runs.  The last two are
-- read from the job's cron expression with pg_cron's rules (Vixie cron's):
-- five fields, minute hour day-of-month month day-of-week, each a list of
-- values, ranges and steps (names of months and days allowed); when both day
-- fields are restricted a day matches either, when one starts with "*" it
-- must match both; @hourly to @yearly; and pg_cron's "N seconds".  What
-- cannot be read (@reboot, "$", a bad field) gives nulls, never an error:
-- status must always answer.  pg_cron's objects are found as 40_pg_cron.sql
-- says, never by name: GET /metrics is unauthenticated.
--

CREATE FUNCTION user_activity.counting_cron_field(field text, lo integer, hi integer,
                                                  names text[] DEFAULT NULL)
    RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_field text := pg_catalog.lower(field);
    v_item text;
    v_m text[];
    v_from integer;
    v_to integer;
    v_step integer;
    v_out integer[] := '{}';
BEGIN
    IF names IS NOT NULL THEN
        FOR i IN 1 .. pg_catalog.array_length(names, 1) LOOP
            v_field := pg_catalog.replace(v_field, names[i], (lo + i - 1)::text);
        END LOOP;
    END IF;
    FOREACH v_item IN ARRAY pg_catalog.string_to_array(v_field, ',') LOOP
        v_m := pg_catalog.regexp_match(v_item, '^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?$');
        IF v_m IS NULL THEN
            RETURN NULL;
        END IF;
        IF v_m[1] = '*' THEN
            v_from := lo;
            v_to := hi;
        ELSE
            v_from := v_m[2]::integer;
            v_to := COALESCE(v_m[3]::integer, CASE WHEN v_m[4] IS NULL THEN v_from ELSE hi END);
        END IF;
        v_step := COALESCE(v_m[4]::integer, 1);
        IF v_from < lo OR v_to > hi OR v_from > v_to OR v_step < 1 THEN
            RETURN NULL;
        END IF;
        v_out := v_out || ARRAY(SELECT pg_catalog.generate_series(v_from, v_to, v_step));
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(v_out) x ORDER BY x);
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_field(text, integer, integer, text[]) IS
    'the values of one cron field between lo and hi (names: of lo, lo + 1, ...), sorted; null when it cannot be read';

CREATE FUNCTION user_activity.counting_cron_parse(schedule text,
    OUT minutes integer[], OUT hours integer[], OUT days integer[], OUT months integer[],
    OUT weekdays integer[], OUT either_day boolean, OUT every_seconds integer)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_s text := pg_catalog.lower(pg_catalog.btrim(schedule));
    v_f text[];
    v_m text[];
BEGIN
    v_m := pg_catalog.regexp_match(v_s, '^(\d{1,2})\s*seconds?$');
    IF v_m IS NOT NULL THEN
        IF v_m[1]::integer BETWEEN 1 AND 59 THEN
            every_seconds := v_m[1]::integer;
        END IF;
        RETURN;
    END IF;
    v_s := CASE v_s
               WHEN '@yearly' THEN '0 0 1 1 *'
               WHEN '@annually' THEN '0 0 1 1 *'
               WHEN '@monthly' THEN '0 0 1 * *'
               WHEN '@weekly' THEN '0 0 * * 0'
               WHEN '@daily' THEN '0 0 * * *'
               WHEN '@midnight' THEN '0 0 * * *'
               WHEN '@hourly' THEN '0 * * * *'
               ELSE v_s
           END;
    v_f := pg_catalog.regexp_split_to_array(v_s, '\s+');
    IF pg_catalog.cardinality(v_f) <> 5 THEN
        RETURN;
    END IF;
    minutes := user_activity.counting_cron_field(v_f[1], 0, 59);
    hours := user_activity.counting_cron_field(v_f[2], 0, 23);
    days := user_activity.counting_cron_field(v_f[3], 1, 31);
    months := user_activity.counting_cron_field(v_f[4], 1, 12,
        '{jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec}');
    -- 7 is Sunday as well as 0
    weekdays := ARRAY(SELECT DISTINCT x % 7 FROM pg_catalog.unnest(
        user_activity.counting_cron_field(v_f[5], 0, 7, '{sun,mon,tue,wed,thu,fri,sat}')) x ORDER BY 1);
    IF minutes IS NULL OR hours IS NULL OR days IS NULL OR months IS NULL
       OR user_activity.counting_cron_field(v_f[5], 0, 7, '{sun,mon,tue,wed,thu,fri,sat}') IS NULL THEN
        minutes := NULL;
        hours := NULL;
        days := NULL;
        months := NULL;
        weekdays := NULL;
        RETURN;
    END IF;
    either_day := v_f[3] !~ '^\*' AND v_f[5] !~ '^\*';
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_parse(text) IS
    'a cron expression as pg_cron reads it: the values of each field, whether a day matches on either day field, or the seconds of an "N seconds" schedule; nulls when it cannot be read';

CREATE FUNCTION user_activity.counting_cron_day(d date, days integer[], months integer[],
                                                weekdays integer[], either_day boolean)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.date_part('month', d)::integer = ANY (months)
       AND CASE WHEN either_day
                THEN pg_catalog.date_part('day', d)::integer = ANY (days)
                     OR pg_catalog.date_part('dow', d)::integer = ANY (weekdays)
                ELSE pg_catalog.date_part('day', d)::integer = ANY (days)
                     AND pg_catalog.date_part('dow', d)::integer = ANY (weekdays)
           END;
COMMENT ON FUNCTION user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean) IS
    'whether a cron schedule runs on day d (see counting_cron_parse)';

CREATE FUNCTION user_activity.counting_cron_interval(schedule text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c record;
    v_times integer[];
    v_within integer;
    v_across integer;
BEGIN
    c := user_activity.counting_cron_parse(schedule);
    IF c.every_seconds IS NOT NULL THEN
        RETURN c.every_seconds;
    END IF;
    IF c.minutes IS NULL THEN
        RETURN NULL;
    END IF;
    -- the runs of a day, in minutes after midnight, and the longest gap
    -- between two of them
    v_times := ARRAY(SELECT h * 60 + m FROM pg_catalog.unnest(c.hours) h, pg_catalog.unnest(c.minutes) m
                     ORDER BY 1);
    SELECT pg_catalog.max(t2 - t1) INTO v_within
    FROM (SELECT t AS t1, pg_catalog.lead(t) OVER (ORDER BY t) AS t2
          FROM pg_catalog.unnest(v_times) t) g;
    -- the longest gap from a day's last run to the next day's first: the
    -- next day when it runs every day (the usual case, answered at once),
    -- else over four calendar years (a leap year among them), where every
    -- month and weekday pattern shows its longest gap.  A schedule that runs
    -- on fewer than two of those days (29 February) has no interval to
    -- speak of.
    IF pg_catalog.cardinality(c.months) = 12 AND pg_catalog.cardinality(c.days) = 31
       AND pg_catalog.cardinality(c.weekdays) = 7 THEN
        RETURN 60 * GREATEST(v_within, 1440 - v_times[pg_catalog.cardinality(v_times)] + v_times[1]);
    END IF;
    SELECT pg_catalog.max((d2 - d1) * 1440 - v_times[pg_catalog.cardinality(v_times)] + v_times[1])
    INTO v_across
    FROM (SELECT d AS d1, pg_catalog.lead(d) OVER (ORDER BY d) AS d2
          FROM (SELECT DATE '2024-01-01' + i AS d FROM pg_catalog.generate_series(0, 1460) i) days
          WHERE user_activity.counting_cron_day(d, c.days, c.months, c.weekdays, c.either_day)) g;
    IF v_across IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN 60 * GREATEST(v_within, v_across);
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_interval(text) IS
    'the longest time between two consecutive runs of a cron schedule, in seconds; null when it cannot be told';

CREATE FUNCTION user_activity.counting_cron_next(schedule text, after timestamptz, timezone text DEFAULT 'GMT')
    RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c record;
    v_local timestamp := after AT TIME ZONE timezone;
    v_day date := v_local::date;
    v_minute integer := pg_catalog.floor(pg_catalog.date_part('epoch', v_local - v_day::timestamp) / 60);
    v_times integer[];
    v_time integer;
    v_next date;
BEGIN
    c := user_activity.counting_cron_parse(schedule);
    IF c.minutes IS NULL THEN
        RETURN NULL;
    END IF;
    v_times := ARRAY(SELECT h * 60 + m FROM pg_catalog.unnest(c.hours) h, pg_catalog.unnest(c.minutes) m
                     ORDER BY 1);
    IF user_activity.counting_cron_day(v_day, c.days, c.months, c.weekdays, c.either_day) THEN
        SELECT pg_catalog.min(t) INTO v_time FROM pg_catalog.unnest(v_times) t WHERE t > v_minute;
        IF v_time IS NOT NULL THEN
            RETURN (v_day + pg_catalog.make_interval(mins => v_time)) AT TIME ZONE timezone;
        END IF;
    END IF;
    SELECT v_day + i INTO v_next
    FROM pg_catalog.generate_series(1, 1461) i
    WHERE user_activity.counting_cron_day(v_day + i, c.days, c.months, c.weekdays, c.either_day)
    ORDER BY i LIMIT 1;
    IF v_next IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (v_next + pg_catalog.make_interval(mins => v_times[1])) AT TIME ZONE timezone;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_next(text, timestamptz, text) IS
    'the first run of a cron schedule after a time, reading the schedule in the given time zone; null when it cannot be told ("N seconds": it depends on the last run)';

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
               'expected_interval_seconds',
                   CASE WHEN v_job.active THEN user_activity.counting_cron_interval(v_job.schedule) END,
               'next_run_at',
                   CASE WHEN v_job.active THEN user_activity.counting_rfc3339(
                       user_activity.counting_cron_next(v_job.schedule, pg_catalog.now(), v_tz)) END,
               'pg_cron', v_cron)::text
    INTO v_out
    FROM user_activity.counting_status s;
    RETURN v_out;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_status_json() IS
    'counting_status as JSON text with the position, the days of the active users'' rollup, the pg_cron job and its expected interval and next run: for GET /api/counting/status, the metrics and the page';

REVOKE ALL ON FUNCTION
    user_activity.counting_cron_field(text, integer, integer, text[]),
    user_activity.counting_cron_parse(text),
    user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean),
    user_activity.counting_cron_interval(text),
    user_activity.counting_cron_next(text, timestamptz, text),
    user_activity.counting_schedule(),
    user_activity.counting_status_json()
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.counting_cron_field(text, integer, integer, text[]),
    user_activity.counting_cron_parse(text),
    user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean),
    user_activity.counting_cron_interval(text),
    user_activity.counting_cron_next(text, timestamptz, text),
    user_activity.counting_schedule(),
    user_activity.counting_status_json()
    TO user_activity_reader, user_activity_writer;
GRANT SELECT ON user_activity.counting_status TO user_activity_reader, user_activity_writer;
