/* user_activity--1.4--1.5.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.5'" to load this file. \quit

--
-- Version 1.5.  Each section below belongs to one concern; keep changes
-- inside it.
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

-- counting_status_json(), which calls counting_cron_runs(), is replaced
-- once, with the rollup, in the analytics section below.

-- end of the counting status's cron reader


-- ----------------------------------------------------------------------
-- Ingest: many single events in one statement (parts/10_ingest.sql)
-- ----------------------------------------------------------------------
--
-- record_event_each(events text[]): each text an event as record_event
-- takes it, stored in one statement as record_events stores a batch, each
-- answered with the event record_event would have returned for it or the
-- error it would have raised.  The HTTP shim's group commit runs a group
-- of POST /api/event requests as one call of it.
--

CREATE FUNCTION user_activity.record_event_each(events text[])
RETURNS TABLE (event jsonb, error jsonb)
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 64
AS 'MODULE_PATHNAME', 'user_activity_record_event_each';
COMMENT ON FUNCTION user_activity.record_event_each(text[]) IS
'validate and store each event of an array of texts (each as record_event takes it) in one statement; one row per item in input order: the event record_event would return for it, or the error it would raise (sqlstate, field, message, detail)';

REVOKE ALL ON FUNCTION user_activity.record_event_each(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION user_activity.record_event_each(text[]) TO user_activity_writer;

-- end of ingest's many single events


-- ----------------------------------------------------------------------
-- Analytics: activity over time, active users, metadata filters
-- ----------------------------------------------------------------------
--
-- - activity(user_id, from, to, bucket, by, tz) and activity_json(): a
--   user's events per bucket (hour, day, week, month, local to tz) by the
--   time the user acted or the event was recorded.  Every partition gets an
--   index (user_id, event_action_timestamp) INCLUDE (action), made here for
--   the partitions that exist (this takes a SHARE lock on each partition
--   while its index is built: writers to it wait).
--
-- - active_users(from, to, bucket, action, tz) and active_users_json():
--   distinct users per bucket, from a rollup that count_activity() now
--   maintains in the same run as the counts: user_day_activity (per user
--   and UTC day of action: events and half hours per action) and
--   daily_active_users (distinct users per UTC day).  The events already
--   counted are rolled up here, so the rollup starts complete.  Under
--   Citus, distribute user_day_activity by user_id colocated with the
--   events, and make daily_active_users a reference table, before the next
--   count (docker/citus/setup.sql does).
--
-- - Retention of counts, delete_user_events() and counting_status_json()
--   cover the rollup.
--
-- - find_events() takes metadata jsonb: only events whose metadata
--   contains it (@>); search_events() and export_events() take a
--   "metadata" parameter.  find_events is dropped and made again with the
--   new argument (its grants with it).
--

-- A user's events by the time they acted (activity(), 55_activity.sql).
CREATE INDEX events_template_user_id_event_action_timestamp_idx
    ON user_activity.events_template (user_id, event_action_timestamp) INCLUDE (action);
COMMENT ON INDEX user_activity.events_template_user_id_event_action_timestamp_idx IS
    'a user''s events by the time they acted, with their action (activity() by acted time)';

DO $partitions$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT p.partition FROM user_activity.event_partitions p ORDER BY p.partition_from LOOP
        EXECUTE pg_catalog.format(
            'CREATE INDEX ON %s (user_id, event_action_timestamp) INCLUDE (action)', r.partition);
    END LOOP;
END
$partitions$;

CREATE TABLE user_activity.user_day_activity (
    user_id bigint NOT NULL,
    day date NOT NULL,
    created_count bigint NOT NULL,
    updated_count bigint NOT NULL,
    deleted_count bigint NOT NULL,
    viewed_count bigint NOT NULL,
    created_half_hours bigint NOT NULL,
    updated_half_hours bigint NOT NULL,
    deleted_half_hours bigint NOT NULL,
    viewed_half_hours bigint NOT NULL,
    CONSTRAINT user_day_activity_pkey PRIMARY KEY (user_id, day)
) WITH (fillfactor = 50);
-- Half of each page is left free: every count adds to the rows of the days
-- users act on, most of them today's, and an update that finds room on its
-- row's page is a heap-only tuple (no index changes; the next update there
-- prunes the version it replaced).  A full page would move each updated
-- row to a new page, with a new entry in both indexes, which took the count
-- with the rollup from 1.4x to over 2x the count without it.
-- BRIN: the count appends the days it rolls up in about their order, and a
-- BRIN index costs it next to nothing, where a btree on day would cost it
-- one more insertion per row.  It serves the ranges of days that
-- active_users() and the retention read.
CREATE INDEX user_day_activity_day_idx ON user_activity.user_day_activity USING brin (day);
COMMENT ON TABLE user_activity.user_day_activity IS
    'the rollup of counted events per user and UTC day of event_action_timestamp (maintained by count_activity)';
COMMENT ON COLUMN user_activity.user_day_activity.user_id IS 'the acting user';
COMMENT ON COLUMN user_activity.user_day_activity.day IS 'the UTC day in which the user acted';
COMMENT ON COLUMN user_activity.user_day_activity.created_count IS 'counted events with action created';
COMMENT ON COLUMN user_activity.user_day_activity.updated_count IS 'counted events with action updated';
COMMENT ON COLUMN user_activity.user_day_activity.deleted_count IS 'counted events with action deleted';
COMMENT ON COLUMN user_activity.user_day_activity.viewed_count IS 'counted events with action viewed';
COMMENT ON COLUMN user_activity.user_day_activity.created_half_hours IS
    'bit k set: an event with action created in the k-th half hour of the day (UTC), k = 0 .. 47';
COMMENT ON COLUMN user_activity.user_day_activity.updated_half_hours IS 'the same for action updated';
COMMENT ON COLUMN user_activity.user_day_activity.deleted_half_hours IS 'the same for action deleted';
COMMENT ON COLUMN user_activity.user_day_activity.viewed_half_hours IS 'the same for action viewed';

CREATE TABLE user_activity.daily_active_users (
    day date NOT NULL,
    users bigint NOT NULL,
    created_users bigint NOT NULL,
    updated_users bigint NOT NULL,
    deleted_users bigint NOT NULL,
    viewed_users bigint NOT NULL,
    CONSTRAINT daily_active_users_pkey PRIMARY KEY (day)
);
COMMENT ON TABLE user_activity.daily_active_users IS
    'distinct users of user_day_activity per UTC day (maintained by count_activity)';
COMMENT ON COLUMN user_activity.daily_active_users.day IS 'the UTC day';
COMMENT ON COLUMN user_activity.daily_active_users.users IS 'users with at least one counted event that day';
COMMENT ON COLUMN user_activity.daily_active_users.created_users IS 'of which with action created';
COMMENT ON COLUMN user_activity.daily_active_users.updated_users IS 'of which with action updated';
COMMENT ON COLUMN user_activity.daily_active_users.deleted_users IS 'of which with action deleted';
COMMENT ON COLUMN user_activity.daily_active_users.viewed_users IS 'of which with action viewed';

-- pg_dump keeps the rollup with the counts.
SELECT pg_catalog.pg_extension_config_dump('user_activity.user_day_activity', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.daily_active_users', '');

--
-- The half hour of an event (count_activity() rolls events up by it)
--
CREATE FUNCTION user_activity.half_hour_bit(t timestamptz) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'user_activity_half_hour_bit';
COMMENT ON FUNCTION user_activity.half_hour_bit(timestamptz) IS
    'the bit of the half hour of its UTC day in which t lies: bit k for the k-th half hour, k = 0 .. 47';
REVOKE ALL ON FUNCTION user_activity.half_hour_bit(timestamptz) FROM PUBLIC;

--
-- Buckets
--
CREATE FUNCTION user_activity.activity_range("from" timestamptz, "to" timestamptz, bucket text, tz text,
                                             OUT first_start timestamptz, OUT last_start timestamptz,
                                             OUT range_end timestamptz)
    RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_n numeric;
BEGIN
    IF activity_range."from" IS NULL OR activity_range."to" IS NULL THEN
        RAISE EXCEPTION 'missing parameter "%"', CASE WHEN activity_range."from" IS NULL THEN 'from' ELSE 'to' END
            USING ERRCODE = 'not_null_violation',
                  COLUMN = CASE WHEN activity_range."from" IS NULL THEN 'from' ELSE 'to' END,
                  DETAIL = 'Parameters "from" and "to" are required.';
    END IF;
    IF NOT pg_catalog.isfinite(activity_range."from") OR NOT pg_catalog.isfinite(activity_range."to") THEN
        RAISE EXCEPTION '% out of range', CASE WHEN NOT pg_catalog.isfinite(activity_range."from") THEN 'from' ELSE 'to' END
            USING ERRCODE = 'invalid_parameter_value',
                  COLUMN = CASE WHEN NOT pg_catalog.isfinite(activity_range."from") THEN 'from' ELSE 'to' END,
                  DETAIL = 'Parameters "from" and "to" must be finite times.';
    END IF;
    IF activity_range."to" < activity_range."from" THEN
        RAISE EXCEPTION 'invalid range: "to" is before "from"'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'to',
                  DETAIL = 'Parameter "to" must not be before "from".';
    END IF;
    IF bucket IS NULL OR bucket NOT IN ('hour', 'day', 'week', 'month') THEN
        RAISE EXCEPTION 'invalid bucket "%"', bucket
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'bucket',
                  DETAIL = 'Parameter "bucket" must be hour, day, week or month.';
    END IF;
    -- A zone name (UTC, Europe/Berlin), not a POSIX offset such as "+02",
    -- whose sign is the reverse of ISO 8601's.
    IF tz IS NULL OR tz !~ '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$' THEN
        RAISE EXCEPTION 'invalid time zone "%"', tz
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'tz',
                  DETAIL = 'Parameter "tz" must be a time zone name, such as UTC or Europe/Berlin.';
    END IF;
    BEGIN
        first_start := pg_catalog.date_trunc(bucket, activity_range."from", tz);
    EXCEPTION WHEN invalid_parameter_value OR feature_not_supported THEN
        RAISE EXCEPTION 'invalid time zone "%"', tz
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'tz',
                  DETAIL = 'Parameter "tz" must be a time zone name, such as UTC or Europe/Berlin.';
    END;
    IF activity_range."to" = activity_range."from" THEN
        first_start := NULL;
        RETURN;
    END IF;

    -- Hours are counted in absolute time (a local hour repeated by a DST
    -- change is two buckets); days, weeks and months as local dates, so a
    -- day across a change is 23 or 25 hours long.
    last_start := pg_catalog.date_trunc(bucket, activity_range."to" - interval '1 microsecond', tz);
    IF bucket = 'hour' THEN
        range_end := last_start + interval '1 hour';
        v_n := pg_catalog.date_part('epoch', last_start - first_start) / 3600 + 1;
    ELSE
        range_end := ((last_start AT TIME ZONE tz) + ('1 ' || bucket)::interval) AT TIME ZONE tz;
        v_n := CASE bucket
                   WHEN 'day' THEN (last_start AT TIME ZONE tz)::date - (first_start AT TIME ZONE tz)::date + 1
                   WHEN 'week' THEN ((last_start AT TIME ZONE tz)::date - (first_start AT TIME ZONE tz)::date) / 7 + 1
                   ELSE (pg_catalog.date_part('year', last_start AT TIME ZONE tz)
                         - pg_catalog.date_part('year', first_start AT TIME ZONE tz)) * 12
                        + pg_catalog.date_part('month', last_start AT TIME ZONE tz)
                        - pg_catalog.date_part('month', first_start AT TIME ZONE tz) + 1
               END;
    END IF;
    IF v_n > 1000 THEN
        RAISE EXCEPTION 'too many buckets: [from, to) spans % % buckets', v_n, bucket
            USING ERRCODE = 'program_limit_exceeded', COLUMN = 'to',
                  DETAIL = 'At most 1000 buckets per call.',
                  HINT = 'Shorten the range [from, to), or choose a larger bucket.';
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.activity_range(timestamptz, timestamptz, text, text) IS
    'checks the range and bucket of activity() and active_users(): the first and last bucket (hour, day, week or month, local to tz) that [from, to) overlaps, and where the last ends; nulls for an empty range; at most 1000 buckets';

CREATE FUNCTION user_activity.activity_series(first_start timestamptz, last_start timestamptz,
                                              bucket text, tz text)
    RETURNS TABLE (bucket_start timestamptz, bucket_end timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
SELECT s, s OPERATOR(pg_catalog.+) interval '1 hour'
FROM pg_catalog.generate_series($1, $2, interval '1 hour') s
WHERE $3 OPERATOR(pg_catalog.=) 'hour'
UNION ALL
SELECT l AT TIME ZONE $4, (l OPERATOR(pg_catalog.+) ('1 ' OPERATOR(pg_catalog.||) $3)::interval) AT TIME ZONE $4
FROM pg_catalog.generate_series($1 AT TIME ZONE $4, $2 AT TIME ZONE $4, ('1 ' OPERATOR(pg_catalog.||) $3)::interval) l
WHERE $3 OPERATOR(pg_catalog.<>) 'hour'
$$;
COMMENT ON FUNCTION user_activity.activity_series(timestamptz, timestamptz, text, text) IS
    'the buckets from first_start to last_start as activity_range() gives them, with their ends';

CREATE FUNCTION user_activity.activity_rfc3339(t timestamptz, tz text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT pg_catalog.to_char($1 AT TIME ZONE $2, 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN pg_catalog.date_part('microseconds', $1)::bigint % 1000000 = 0 THEN ''
            ELSE '.' || pg_catalog.rtrim(pg_catalog.lpad((pg_catalog.date_part('microseconds', $1)::bigint
                                                         % 1000000)::text, 6, '0'), '0')
       END
    || CASE WHEN ($1 AT TIME ZONE $2) = ($1 AT TIME ZONE 'UTC') THEN 'Z'
            ELSE pg_catalog.to_char(($1 AT TIME ZONE $2) - ($1 AT TIME ZONE 'UTC'),
                                    CASE WHEN ($1 AT TIME ZONE $2) > ($1 AT TIME ZONE 'UTC')
                                         THEN '"+"HH24:MI' ELSE '"-"HH24:MI' END)
       END
$$;
COMMENT ON FUNCTION user_activity.activity_rfc3339(timestamptz, text) IS
    'a timestamp as RFC 3339 in the time zone tz, with its offset (Z when zero)';

--
-- A user's activity
--
CREATE FUNCTION user_activity.activity(user_id bigint, "from" timestamptz, "to" timestamptz,
                                       bucket text DEFAULT 'day', by text DEFAULT 'acted',
                                       tz text DEFAULT 'UTC')
    RETURNS TABLE (bucket_start timestamptz, created bigint, updated bigint, deleted bigint,
                   viewed bigint, total bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_first timestamptz;
    v_last timestamptz;
    v_hi timestamptz;
BEGIN
    IF activity.user_id IS NULL THEN
        RAISE EXCEPTION 'missing parameter "user_id"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'user_id',
                  DETAIL = 'Parameter "user_id" is required.';
    END IF;
    IF activity.user_id < 1 THEN
        RAISE EXCEPTION 'user_id out of range: %', activity.user_id
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = 'user_id',
                  DETAIL = 'Parameter "user_id" must be between 1 and 9223372036854775807.';
    END IF;
    IF by IS NULL OR by NOT IN ('acted', 'recorded') THEN
        RAISE EXCEPTION 'invalid by "%"', by
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'by',
                  DETAIL = 'Parameter "by" must be acted (event_action_timestamp) or recorded (recorded_at).';
    END IF;
    SELECT r.first_start, r.last_start, r.range_end INTO v_first, v_last, v_hi
    FROM user_activity.activity_range(activity."from", activity."to", bucket, tz) r;
    IF v_first IS NULL THEN
        RETURN;
    END IF;

    -- One index range of the user per partition: by the time they acted
    -- (user_id, event_action_timestamp), or by recorded time (the primary
    -- key), where only the partitions of [v_first, v_hi) are read.
    IF by = 'acted' THEN
        RETURN QUERY
        SELECT s.b, COALESCE(c.created, 0), COALESCE(c.updated, 0), COALESCE(c.deleted, 0),
               COALESCE(c.viewed, 0), COALESCE(c.total, 0)
        FROM user_activity.activity_series(v_first, v_last, bucket, tz) s(b, e)
        LEFT JOIN (SELECT pg_catalog.date_trunc(bucket, e.event_action_timestamp, tz) AS b,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'created') AS created,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'updated') AS updated,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'deleted') AS deleted,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'viewed') AS viewed,
                          pg_catalog.count(*) AS total
                   FROM user_activity.events e
                   WHERE e.user_id = activity.user_id
                     AND e.event_action_timestamp >= v_first AND e.event_action_timestamp < v_hi
                   GROUP BY 1) c ON c.b = s.b
        ORDER BY s.b;
    ELSE
        RETURN QUERY
        SELECT s.b, COALESCE(c.created, 0), COALESCE(c.updated, 0), COALESCE(c.deleted, 0),
               COALESCE(c.viewed, 0), COALESCE(c.total, 0)
        FROM user_activity.activity_series(v_first, v_last, bucket, tz) s(b, e)
        LEFT JOIN (SELECT pg_catalog.date_trunc(bucket, e.recorded_at, tz) AS b,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'created') AS created,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'updated') AS updated,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'deleted') AS deleted,
                          pg_catalog.count(*) FILTER (WHERE e.action = 'viewed') AS viewed,
                          pg_catalog.count(*) AS total
                   FROM user_activity.events e
                   WHERE e.user_id = activity.user_id
                     AND e.recorded_at >= v_first AND e.recorded_at < v_hi
                   GROUP BY 1) c ON c.b = s.b
        ORDER BY s.b;
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.activity(bigint, timestamptz, timestamptz, text, text, text) IS
    'a user''s events per action and in total in each bucket (hour, day, week or month, local to tz) that [from, to) overlaps, by the time they acted or were recorded; empty buckets as zeros';

--
-- Active users
--
-- Not STRICT, so that it is inlined where it is called (LEAST and GREATEST
-- are not strict).
CREATE FUNCTION user_activity.half_hour_span(day date, span_from timestamptz, span_to timestamptz)
    RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
SELECT ((1::bigint OPERATOR(pg_catalog.<<) LEAST(48, GREATEST(0, pg_catalog.ceil(pg_catalog.date_part('epoch',
                $3 OPERATOR(pg_catalog.-) ($1::timestamp AT TIME ZONE 'UTC')) OPERATOR(pg_catalog./) 1800)))::integer)
        OPERATOR(pg_catalog.-) 1)
       OPERATOR(pg_catalog.&)
       OPERATOR(pg_catalog.~) ((1::bigint OPERATOR(pg_catalog.<<) LEAST(48, GREATEST(0, pg_catalog.floor(pg_catalog.date_part('epoch',
                $2 OPERATOR(pg_catalog.-) ($1::timestamp AT TIME ZONE 'UTC')) OPERATOR(pg_catalog./) 1800)))::integer)
        OPERATOR(pg_catalog.-) 1)
$$;
COMMENT ON FUNCTION user_activity.half_hour_span(date, timestamptz, timestamptz) IS
    'the mask of the half hours of the UTC day that [span_from, span_to) covers (bit k: the k-th half hour)';

CREATE FUNCTION user_activity.active_users("from" timestamptz, "to" timestamptz, bucket text DEFAULT 'day',
                                           action text DEFAULT NULL, tz text DEFAULT 'UTC')
    RETURNS TABLE (bucket_start timestamptz, users bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_first timestamptz;
    v_last timestamptz;
    v_hi timestamptz;
BEGIN
    IF action IS NOT NULL AND action NOT IN ('created', 'updated', 'deleted', 'viewed') THEN
        RAISE EXCEPTION 'invalid action "%"', action
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'action',
                  DETAIL = 'Parameter "action" must be one of created, updated, deleted, viewed, or null for any.';
    END IF;
    SELECT r.first_start, r.last_start, r.range_end INTO v_first, v_last, v_hi
    FROM user_activity.activity_range(active_users."from", active_users."to", bucket, tz) r;
    IF v_first IS NULL THEN
        RETURN;
    END IF;

    -- Days of UTC (whatever the zone is called): one row per day.
    IF bucket = 'day' AND NOT EXISTS (
           SELECT FROM user_activity.activity_series(v_first, v_last, bucket, tz) b
           WHERE (b.bucket_start AT TIME ZONE 'UTC')::time <> '00:00'
              OR b.bucket_end - b.bucket_start <> interval '1 day') THEN
        RETURN QUERY
        SELECT b.s, COALESCE(CASE action WHEN 'created' THEN d.created_users
                                         WHEN 'updated' THEN d.updated_users
                                         WHEN 'deleted' THEN d.deleted_users
                                         WHEN 'viewed' THEN d.viewed_users
                                         ELSE d.users END, 0)
        FROM user_activity.activity_series(v_first, v_last, bucket, tz) b(s, e)
        LEFT JOIN user_activity.daily_active_users d ON d.day = (b.s AT TIME ZONE 'UTC')::date
        ORDER BY b.s;
        RETURN;
    END IF;

    IF EXISTS (SELECT FROM user_activity.activity_series(v_first, v_last, bucket, tz) b
               WHERE pg_catalog.date_part('epoch', b.bucket_start)::numeric % 1800 <> 0
                  OR pg_catalog.date_part('epoch', b.bucket_end)::numeric % 1800 <> 0) THEN
        RAISE EXCEPTION 'time zone "%" is not a whole number of half hours off UTC', tz
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'tz',
                  DETAIL = 'Active users are rolled up by the half hour of UTC: a bucket must start and end on one.',
                  HINT = 'Choose a time zone whose offset is a whole number of half hours, such as UTC or Asia/Kolkata.';
    END IF;
    -- Other buckets and zones: the distinct users whose half hours meet
    -- each bucket.  Which half hours of which UTC day lie in which bucket
    -- depends on the buckets alone, so it is worked out once per bucket
    -- and day (spans, a few rows per bucket); each rolled-up day is then
    -- read once and tested with bit operations.
    RETURN QUERY
    WITH spans AS MATERIALIZED (
        SELECT b.s, d.day::date AS day, user_activity.half_hour_span(d.day::date, b.s, b.e) AS span
        FROM user_activity.activity_series(v_first, v_last, bucket, tz) b(s, e)
        CROSS JOIN LATERAL pg_catalog.generate_series(
            (b.s AT TIME ZONE 'UTC')::date::timestamp,
            ((b.e - interval '1 microsecond') AT TIME ZONE 'UTC')::date::timestamp,
            interval '1 day') d(day)
    )
    SELECT b.s, COALESCE(u.users, 0)
    FROM user_activity.activity_series(v_first, v_last, bucket, tz) b(s, e)
    LEFT JOIN (
        SELECT p.s, pg_catalog.count(*) AS users
        FROM (SELECT DISTINCT k.s, r.user_id
              FROM user_activity.user_day_activity r
              JOIN spans k ON k.day = r.day
              WHERE r.day >= (v_first AT TIME ZONE 'UTC')::date
                AND r.day <= ((v_hi - interval '1 microsecond') AT TIME ZONE 'UTC')::date
                AND (CASE action WHEN 'created' THEN r.created_half_hours
                                 WHEN 'updated' THEN r.updated_half_hours
                                 WHEN 'deleted' THEN r.deleted_half_hours
                                 WHEN 'viewed' THEN r.viewed_half_hours
                                 ELSE r.created_half_hours | r.updated_half_hours
                                      | r.deleted_half_hours | r.viewed_half_hours
                     END & k.span) <> 0) p
        GROUP BY p.s) u ON u.s = b.s
    ORDER BY b.s;
END;
$$;
COMMENT ON FUNCTION user_activity.active_users(timestamptz, timestamptz, text, text, text) IS
    'distinct users with at least one counted event (of the action, or any) in each bucket that [from, to) overlaps, from the rollup';

--
-- For the REST layer: each parameter as the query string gave it (null when
-- absent), the reply body as JSON text.
--
CREATE FUNCTION user_activity.activity_json(user_id text, "from" text, "to" text, bucket text,
                                            by text, tz text)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_user bigint := user_activity.counting_value(activity_json.user_id, 'user_id', 'user_id', true)::bigint;
    v_from timestamptz := user_activity.counting_value(activity_json."from", 'from', 'time', true)::timestamptz;
    v_to timestamptz := user_activity.counting_value(activity_json."to", 'to', 'time', true)::timestamptz;
    v_bucket text := COALESCE(activity_json.bucket, 'day');
    v_by text := COALESCE(activity_json.by, 'acted');
    v_tz text := COALESCE(activity_json.tz, 'UTC');
    v_buckets json;
BEGIN
    SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
               'start', user_activity.activity_rfc3339(a.bucket_start, v_tz),
               'created', a.created, 'updated', a.updated, 'deleted', a.deleted,
               'viewed', a.viewed, 'total', a.total) ORDER BY a.bucket_start), '[]'::json)
    INTO v_buckets
    FROM user_activity.activity(v_user, v_from, v_to, v_bucket, v_by, v_tz) a;
    RETURN pg_catalog.json_build_object(
               'userId', v_user,
               'from', user_activity.activity_rfc3339(v_from, v_tz),
               'to', user_activity.activity_rfc3339(v_to, v_tz),
               'bucket', v_bucket, 'by', v_by, 'tz', v_tz,
               'buckets', v_buckets)::text;
END;
$$;
COMMENT ON FUNCTION user_activity.activity_json(text, text, text, text, text, text) IS
    'activity() for GET /api/users/{id}/activity: parameters as text (null: absent), the reply as JSON text';

CREATE FUNCTION user_activity.active_users_json("from" text, "to" text, bucket text, action text, tz text)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_from timestamptz := user_activity.counting_value(active_users_json."from", 'from', 'time', true)::timestamptz;
    v_to timestamptz := user_activity.counting_value(active_users_json."to", 'to', 'time', true)::timestamptz;
    v_bucket text := COALESCE(active_users_json.bucket, 'day');
    v_tz text := COALESCE(active_users_json.tz, 'UTC');
    v_buckets json;
BEGIN
    SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
               'start', user_activity.activity_rfc3339(a.bucket_start, v_tz),
               'users', a.users) ORDER BY a.bucket_start), '[]'::json)
    INTO v_buckets
    FROM user_activity.active_users(v_from, v_to, v_bucket, active_users_json.action, v_tz) a;
    RETURN pg_catalog.json_build_object(
               'from', user_activity.activity_rfc3339(v_from, v_tz),
               'to', user_activity.activity_rfc3339(v_to, v_tz),
               'bucket', v_bucket, 'action', active_users_json.action, 'tz', v_tz,
               'buckets', v_buckets)::text;
END;
$$;
COMMENT ON FUNCTION user_activity.active_users_json(text, text, text, text, text) IS
    'active_users() for GET /api/active-users: parameters as text (null: absent), the reply as JSON text';

--
-- Privileges: analysts and the REST layer read; the rollup is written by
-- the count only.
--
REVOKE ALL ON FUNCTION
    user_activity.activity_range(timestamptz, timestamptz, text, text),
    user_activity.activity_series(timestamptz, timestamptz, text, text),
    user_activity.activity_rfc3339(timestamptz, text),
    user_activity.activity(bigint, timestamptz, timestamptz, text, text, text),
    user_activity.half_hour_span(date, timestamptz, timestamptz),
    user_activity.active_users(timestamptz, timestamptz, text, text, text),
    user_activity.activity_json(text, text, text, text, text, text),
    user_activity.active_users_json(text, text, text, text, text)
FROM PUBLIC;
GRANT SELECT ON user_activity.user_day_activity, user_activity.daily_active_users TO user_activity_reader;
GRANT EXECUTE ON FUNCTION
    user_activity.activity(bigint, timestamptz, timestamptz, text, text, text),
    user_activity.active_users(timestamptz, timestamptz, text, text, text),
    user_activity.activity_json(text, text, text, text, text, text),
    user_activity.active_users_json(text, text, text, text, text)
    TO user_activity_reader, user_activity_writer;

-- The events counted so far, rolled up as count_activity() would have;
-- a count waits for this transaction.
-- On a Citus worker the coordinator's update has done this (the events are
-- read through the coordinator); a worker reading the distributed table
-- from inside its own update would nest a distributed query.
DO $$
DECLARE
    v_group integer := 0;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_local_group') IS NOT NULL THEN
        EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO v_group;
    END IF;
    IF v_group <> 0 THEN
        RETURN;
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock('user_activity.counting_state'::pg_catalog.regclass::pg_catalog.oid::bigint);
    -- half_hour_bit() spelled out: under Citus the workers read the
    -- events, and they may not have the new C function yet.
    INSERT INTO user_activity.user_day_activity
        (user_id, day, created_count, updated_count, deleted_count, viewed_count,
         created_half_hours, updated_half_hours, deleted_half_hours, viewed_half_hours)
    SELECT e.user_id,
           (e.event_action_timestamp AT TIME ZONE 'UTC')::date,
           pg_catalog.count(*) FILTER (WHERE e.action = 'created'),
           pg_catalog.count(*) FILTER (WHERE e.action = 'updated'),
           pg_catalog.count(*) FILTER (WHERE e.action = 'deleted'),
           pg_catalog.count(*) FILTER (WHERE e.action = 'viewed'),
           COALESCE(pg_catalog.bit_or(1::bigint OPERATOR(pg_catalog.<<) ((pg_catalog.floor(pg_catalog.date_part('epoch', e.event_action_timestamp) / 1800)::bigint % 48 + 48) % 48)::integer)
                        FILTER (WHERE e.action = 'created'), 0),
           COALESCE(pg_catalog.bit_or(1::bigint OPERATOR(pg_catalog.<<) ((pg_catalog.floor(pg_catalog.date_part('epoch', e.event_action_timestamp) / 1800)::bigint % 48 + 48) % 48)::integer)
                        FILTER (WHERE e.action = 'updated'), 0),
           COALESCE(pg_catalog.bit_or(1::bigint OPERATOR(pg_catalog.<<) ((pg_catalog.floor(pg_catalog.date_part('epoch', e.event_action_timestamp) / 1800)::bigint % 48 + 48) % 48)::integer)
                        FILTER (WHERE e.action = 'deleted'), 0),
           COALESCE(pg_catalog.bit_or(1::bigint OPERATOR(pg_catalog.<<) ((pg_catalog.floor(pg_catalog.date_part('epoch', e.event_action_timestamp) / 1800)::bigint % 48 + 48) % 48)::integer)
                        FILTER (WHERE e.action = 'viewed'), 0)
    FROM user_activity.events e
    WHERE e.id <= (SELECT s.last_id FROM user_activity.counting_state s)
    GROUP BY 1, 2;
    INSERT INTO user_activity.daily_active_users
        (day, users, created_users, updated_users, deleted_users, viewed_users)
    SELECT r.day, pg_catalog.count(*),
           pg_catalog.count(*) FILTER (WHERE r.created_count > 0),
           pg_catalog.count(*) FILTER (WHERE r.updated_count > 0),
           pg_catalog.count(*) FILTER (WHERE r.deleted_count > 0),
           pg_catalog.count(*) FILTER (WHERE r.viewed_count > 0)
    FROM user_activity.user_day_activity r
    GROUP BY r.day;
END;
$$;

-- No JIT: the planner cannot tell how many users and days a window holds,
-- so it takes the count's plan for a large one and would compile its two
-- hundred expressions, which costs more than it saves.
CREATE OR REPLACE FUNCTION user_activity.count_activity() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
    AS $$
DECLARE
    v_started timestamptz := pg_catalog.clock_timestamp();
    v_last_id bigint;
    v_start timestamptz;
    v_end timestamptz;
    v_window_end bigint;
    v_users bigint;
    v_events bigint;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'count_activity() must run at isolation level read committed'
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'It waits for transactions that are still inserting events and must then see their rows; the snapshot of a '
                           || pg_catalog.current_setting('transaction_isolation') || ' transaction would hide them.',
                  HINT = 'Call it in its own transaction, or after SET TRANSACTION ISOLATION LEVEL READ COMMITTED.';
    END IF;
    IF (SELECT s.seqcache FROM pg_catalog.pg_sequence s
        WHERE s.seqrelid = 'user_activity.events_id_seq'::pg_catalog.regclass) <> 1 THEN
        RAISE EXCEPTION 'cannot count events exactly once'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Sequence user_activity.events_id_seq must have CACHE 1: cached ids can be used after a count has passed them.',
                  HINT = 'ALTER SEQUENCE user_activity.events_id_seq CACHE 1;';
    END IF;

    -- One run at a time; a second one says so instead of waiting.
    IF NOT pg_catalog.pg_try_advisory_xact_lock('user_activity.counting_state'::pg_catalog.regclass::pg_catalog.oid::bigint) THEN
        INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome)
        VALUES (v_started, pg_catalog.clock_timestamp(), 'busy');
        RETURN pg_catalog.jsonb_build_object('status', 'busy', 'period_start', NULL, 'period_end', NULL,
                                             'users', 0, 'events', 0);
    END IF;

    SELECT s.last_id, s.last_period_end INTO v_last_id, v_start
    FROM user_activity.counting_state s
    FOR UPDATE;
    IF NOT FOUND THEN
        v_last_id := 0;
    END IF;

    v_window_end := COALESCE(pg_catalog.pg_sequence_last_value('user_activity.events_id_seq'::pg_catalog.regclass), 0);

    IF v_window_end < v_last_id THEN
        RAISE EXCEPTION 'event id sequence is behind the counting position'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('user_activity.events_id_seq is at %s, but events up to id %s are counted; new events would get ids that are never counted.',
                                             v_window_end, v_last_id),
                  HINT = pg_catalog.format('SELECT pg_catalog.setval(''user_activity.events_id_seq'', GREATEST(%s, (SELECT max(id) FROM user_activity.events)));',
                                           v_last_id);
    END IF;

    IF v_window_end > v_last_id THEN
        -- Wait for every writer that may hold an id up to v_window_end: they
        -- all hold ROW EXCLUSIVE on the table from before they took their
        -- id.  New writers are not held up.
        PERFORM user_activity.counting_wait_for_writers();

        v_end := pg_catalog.clock_timestamp();
        IF v_start IS NOT NULL AND v_end <= v_start THEN
            v_end := v_start + interval '1 microsecond';
        END IF;

        -- The statement's snapshot is taken after the wait: it sees every
        -- event with an id in the window that will ever be committed.  The
        -- events are read once and grouped once, per user, UTC day of
        -- their action and action (three aggregates, so the groups of a
        -- large window stay in memory); the rollup's rows (55_activity.sql)
        -- and the counts are summed from those groups;
        -- each day's active users grow by the users whose row of that day
        -- this run adds (or whose count of an action it raises from zero).
        -- days_counted runs although the query does not read it, as every
        -- data-modifying part of a WITH does.
        WITH per_action AS MATERIALIZED (
            SELECT e.user_id,
                   (e.event_action_timestamp AT TIME ZONE 'UTC')::date AS day,
                   e.action,
                   pg_catalog.count(*) AS events,
                   pg_catalog.bit_or(user_activity.half_hour_bit(e.event_action_timestamp)) AS half_hours,
                   pg_catalog.min(e.recorded_at) AS first_recorded_at
            FROM user_activity.events e
            WHERE e.id > v_last_id AND e.id <= v_window_end
            GROUP BY e.user_id, 2, e.action
        ), new_days AS (
            -- One row per user, day and action above: max() picks it.
            -- Sorted, so that the days are grouped, and the counts summed
            -- per user, as the rows come, and both tables take their rows
            -- in index order.
            SELECT a.user_id, a.day,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'created'), 0) AS created_count,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'updated'), 0) AS updated_count,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'deleted'), 0) AS deleted_count,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'viewed'), 0) AS viewed_count,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'created'), 0) AS created_half_hours,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'updated'), 0) AS updated_half_hours,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'deleted'), 0) AS deleted_half_hours,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'viewed'), 0) AS viewed_half_hours,
                   pg_catalog.min(a.first_recorded_at) AS first_recorded_at
            FROM (SELECT * FROM per_action p ORDER BY p.user_id, p.day) a
            GROUP BY a.user_id, a.day
        ), new_counts AS (
            SELECT d.user_id,
                   pg_catalog.sum(d.created_count + d.updated_count + d.deleted_count + d.viewed_count)::bigint AS event_count,
                   pg_catalog.sum(d.created_count)::bigint AS created_count,
                   pg_catalog.sum(d.updated_count)::bigint AS updated_count,
                   pg_catalog.sum(d.deleted_count)::bigint AS deleted_count,
                   pg_catalog.sum(d.viewed_count)::bigint AS viewed_count,
                   pg_catalog.min(d.first_recorded_at) AS first_recorded_at
            FROM (SELECT * FROM new_days n ORDER BY n.user_id) d
            GROUP BY d.user_id
        ), period AS (
            SELECT COALESCE(v_start,
                            LEAST((SELECT pg_catalog.min(n.first_recorded_at) FROM new_counts n),
                                  v_end - interval '1 microsecond')) AS period_start
        ), inserted AS (
            INSERT INTO user_activity.user_event_counts
                (user_id, period_start, period_end, event_count,
                 created_count, updated_count, deleted_count, viewed_count)
            SELECT n.user_id, p.period_start, v_end, n.event_count,
                   n.created_count, n.updated_count, n.deleted_count, n.viewed_count
            FROM new_counts n CROSS JOIN period p
            RETURNING event_count
        ), updated AS (
            -- Days the user had acted on already: add to them.  A user who
            -- had not done an action that day is new to its users.
            UPDATE user_activity.user_day_activity r
            SET created_count = r.created_count + d.created_count,
                updated_count = r.updated_count + d.updated_count,
                deleted_count = r.deleted_count + d.deleted_count,
                viewed_count = r.viewed_count + d.viewed_count,
                created_half_hours = r.created_half_hours | d.created_half_hours,
                updated_half_hours = r.updated_half_hours | d.updated_half_hours,
                deleted_half_hours = r.deleted_half_hours | d.deleted_half_hours,
                viewed_half_hours = r.viewed_half_hours | d.viewed_half_hours
            FROM new_days d
            WHERE r.user_id = d.user_id AND r.day = d.day
              -- only the days of the new events are read (BRIN on day)
              AND r.day >= (SELECT pg_catalog.min(n.day) FROM new_days n)
              AND r.day <= (SELECT pg_catalog.max(n.day) FROM new_days n)
            RETURNING r.user_id, r.day,
                      d.created_count > 0 AND r.created_count = d.created_count AS new_created,
                      d.updated_count > 0 AND r.updated_count = d.updated_count AS new_updated,
                      d.deleted_count > 0 AND r.deleted_count = d.deleted_count AS new_deleted,
                      d.viewed_count > 0 AND r.viewed_count = d.viewed_count AS new_viewed
        ), added AS (
            -- The others: the user is new to the day.  Only a count inserts
            -- rows, one at a time, so none can have appeared since.
            INSERT INTO user_activity.user_day_activity
                (user_id, day, created_count, updated_count, deleted_count, viewed_count,
                 created_half_hours, updated_half_hours, deleted_half_hours, viewed_half_hours)
            SELECT d.user_id, d.day, d.created_count, d.updated_count, d.deleted_count, d.viewed_count,
                   d.created_half_hours, d.updated_half_hours, d.deleted_half_hours, d.viewed_half_hours
            FROM new_days d
            WHERE NOT EXISTS (SELECT FROM updated u WHERE u.user_id = d.user_id AND u.day = d.day)
            RETURNING day, created_count > 0 AS new_created, updated_count > 0 AS new_updated,
                      deleted_count > 0 AS new_deleted, viewed_count > 0 AS new_viewed
        ), new_users AS (
            SELECT a.day, 1 AS users, a.new_created, a.new_updated, a.new_deleted, a.new_viewed FROM added a
            UNION ALL
            SELECT u.day, 0, u.new_created, u.new_updated, u.new_deleted, u.new_viewed FROM updated u
        ), days_counted AS (
            INSERT INTO user_activity.daily_active_users AS a
                (day, users, created_users, updated_users, deleted_users, viewed_users)
            SELECT n.day, pg_catalog.sum(n.users),
                   pg_catalog.count(*) FILTER (WHERE n.new_created),
                   pg_catalog.count(*) FILTER (WHERE n.new_updated),
                   pg_catalog.count(*) FILTER (WHERE n.new_deleted),
                   pg_catalog.count(*) FILTER (WHERE n.new_viewed)
            FROM new_users n
            GROUP BY n.day
            ON CONFLICT (day) DO UPDATE
                SET users = a.users + excluded.users,
                    created_users = a.created_users + excluded.created_users,
                    updated_users = a.updated_users + excluded.updated_users,
                    deleted_users = a.deleted_users + excluded.deleted_users,
                    viewed_users = a.viewed_users + excluded.viewed_users
        )
        SELECT (SELECT pg_catalog.count(*) FROM inserted),
               (SELECT COALESCE(pg_catalog.sum(i.event_count), 0) FROM inserted i),
               (SELECT p.period_start FROM period p)
        INTO v_users, v_events, v_start;
    ELSE
        v_users := 0;
    END IF;

    IF v_users = 0 THEN
        -- Nothing committed in the window (or no window): change nothing.
        INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome, first_id, last_id, users, events)
        VALUES (v_started, pg_catalog.clock_timestamp(), 'empty', v_last_id, v_last_id, 0, 0);
        PERFORM user_activity.counting_purge_history();
        RETURN pg_catalog.jsonb_build_object('status', 'empty', 'period_start', NULL, 'period_end', NULL,
                                             'users', 0, 'events', 0);
    END IF;

    INSERT INTO user_activity.counting_state AS s (singleton, last_id, last_period_end, updated_at)
    VALUES (true, v_window_end, v_end, pg_catalog.clock_timestamp())
    ON CONFLICT (singleton) DO UPDATE
        SET last_id = excluded.last_id, last_period_end = excluded.last_period_end,
            updated_at = excluded.updated_at;

    INSERT INTO user_activity.counting_runs
        (started_at, finished_at, outcome, period_start, period_end, first_id, last_id, users, events)
    VALUES (v_started, pg_catalog.clock_timestamp(), 'counted', v_start, v_end, v_last_id, v_window_end,
            v_users, v_events);

    PERFORM user_activity.counting_purge_history();

    RETURN pg_catalog.jsonb_build_object(
        'status', 'counted',
        'period_start', user_activity.counting_rfc3339(v_start),
        'period_end', user_activity.counting_rfc3339(v_end),
        'users', v_users,
        'events', v_events);
END;
$$;
COMMENT ON FUNCTION user_activity.count_activity() IS
    'counts the events committed since the previous run, per user and action, and rolls them up per user and day of action (user_day_activity, daily_active_users), exactly once';

CREATE OR REPLACE FUNCTION user_activity.maintain_partitions() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_events_keep interval;
    v_counts_keep interval;
    v_cutoff timestamptz;
    v_dropped text[] := '{}';
    v_dropped_until timestamptz;
    v_keys bigint := 0;
    v_counts bigint := 0;
    v_created integer := 0;
    v_before integer;
    v_postponed boolean := false;
    v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
    r record;
BEGIN
    SELECT s.events_keep, s.counts_keep INTO v_events_keep, v_counts_keep FROM user_activity.retention s;

    -- Retention first: dropping takes ACCESS EXCLUSIVE on the table, so it
    -- gives up after lock_timeout rather than queue every writer behind a
    -- long reader, and is retried by the next run.
    IF v_events_keep IS NOT NULL THEN
        v_cutoff := pg_catalog.now() - v_events_keep;
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
            FOR r IN
                SELECT p.partition, p.partition_to FROM user_activity.event_partitions p
                WHERE p.partition_to <= v_cutoff ORDER BY p.partition_from
            LOOP
                EXECUTE pg_catalog.format('ALTER TABLE user_activity.events DETACH PARTITION %s', r.partition);
                v_dropped := v_dropped || r.partition::text;
                EXECUTE pg_catalog.format('DROP TABLE %s', r.partition);
                v_dropped_until := GREATEST(v_dropped_until, r.partition_to);
            END LOOP;
            IF v_dropped_until IS NOT NULL THEN
                DELETE FROM user_activity.event_keys k WHERE k.recorded_at < v_dropped_until;
                GET DIAGNOSTICS v_keys = ROW_COUNT;
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            v_postponed := true;
            v_dropped := '{}';
            v_keys := 0;
        END;
        PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
    END IF;
    -- The rollup of active users (55_activity.sql) is counts too: its UTC
    -- days that ended longer ago go with the periods.
    IF v_counts_keep IS NOT NULL THEN
        DELETE FROM user_activity.user_event_counts c WHERE c.period_end < pg_catalog.now() - v_counts_keep;
        GET DIAGNOSTICS v_counts = ROW_COUNT;
        DELETE FROM user_activity.user_day_activity a
        WHERE a.day < ((pg_catalog.now() - v_counts_keep) AT TIME ZONE 'UTC')::date;
        DELETE FROM user_activity.daily_active_users d
        WHERE d.day < ((pg_catalog.now() - v_counts_keep) AT TIME ZONE 'UTC')::date;
    END IF;

    -- The current partition and those ahead, for direct INSERTs at now().
    SELECT pg_catalog.count(*) INTO v_before FROM user_activity.event_partitions;
    FOR i IN 0 .. user_activity.partitions_ahead() LOOP
        PERFORM user_activity.ensure_partition(pg_catalog.now() + i * user_activity.partition_interval());
    END LOOP;
    SELECT pg_catalog.count(*) - v_before INTO v_created FROM user_activity.event_partitions;

    RETURN pg_catalog.jsonb_build_object(
        'partitions_created', v_created,
        'partitions_dropped', pg_catalog.to_jsonb(v_dropped),
        'event_keys_deleted', v_keys,
        'counts_deleted', v_counts,
        'retention_postponed', v_postponed);
END;
$$;
COMMENT ON FUNCTION user_activity.maintain_partitions() IS
    'drops the partitions of events older than the events retention (with their keys), deletes counts and rolled-up days older than the counts retention, and creates the current partition and partitions_ahead more';

CREATE OR REPLACE FUNCTION user_activity.delete_user_events(user_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_events bigint;
    v_counts bigint;
    v_day record;
BEGIN
    IF delete_user_events.user_id IS NULL THEN
        RAISE EXCEPTION 'missing parameter "user_id"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'user_id',
                  DETAIL = 'Parameter "user_id" is required.';
    END IF;
    IF delete_user_events.user_id < 1 THEN
        RAISE EXCEPTION 'user_id out of range: %', delete_user_events.user_id
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = 'user_id',
                  DETAIL = 'Parameter "user_id" must be between 1 and 9223372036854775807.';
    END IF;
    -- Wait for a running count, so that it cannot store counts of the
    -- events deleted here after they are gone.
    PERFORM pg_catalog.pg_advisory_xact_lock('user_activity.counting_state'::pg_catalog.regclass::pg_catalog.oid::bigint);
    -- Keys first, in one statement (the row trigger then finds none to
    -- release): a sender of one of these keys waits for this transaction,
    -- and an event stored meanwhile is deleted below with its key.  Each
    -- statement names the user, so on Citus it goes to the user's node.
    DELETE FROM user_activity.event_keys k WHERE k.user_id = delete_user_events.user_id;
    DELETE FROM user_activity.events e WHERE e.user_id = delete_user_events.user_id;
    GET DIAGNOSTICS v_events = ROW_COUNT;
    DELETE FROM user_activity.user_event_counts c WHERE c.user_id = delete_user_events.user_id;
    GET DIAGNOSTICS v_counts = ROW_COUNT;
    -- The user's rolled-up days, and the user from each day's active users:
    -- a day at a time, because on Citus the rolled-up days are distributed
    -- and the active users a reference table, which one statement cannot
    -- both delete from and update.
    FOR v_day IN
        DELETE FROM user_activity.user_day_activity r WHERE r.user_id = delete_user_events.user_id
        RETURNING r.day, r.created_count, r.updated_count, r.deleted_count, r.viewed_count
    LOOP
        UPDATE user_activity.daily_active_users d
        SET users = d.users - 1,
            created_users = d.created_users - (v_day.created_count > 0)::integer,
            updated_users = d.updated_users - (v_day.updated_count > 0)::integer,
            deleted_users = d.deleted_users - (v_day.deleted_count > 0)::integer,
            viewed_users = d.viewed_users - (v_day.viewed_count > 0)::integer
        WHERE d.day = v_day.day;
    END LOOP;
    RETURN pg_catalog.jsonb_build_object('user_id', delete_user_events.user_id,
                                         'events_deleted', v_events, 'counts_deleted', v_counts);
END;
$$;
COMMENT ON FUNCTION user_activity.delete_user_events(bigint) IS
    'erases a user''s events, counts and rolled-up days in one transaction (right to erasure)';

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

DROP FUNCTION user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz);
CREATE FUNCTION user_activity.find_events(
    user_id bigint,
    since timestamptz,
    until timestamptz,
    page_size integer DEFAULT NULL,
    after text DEFAULT NULL,
    actions user_activity.action[] DEFAULT NULL,
    action_since timestamptz DEFAULT NULL,
    action_until timestamptz DEFAULT NULL,
    metadata jsonb DEFAULT NULL)
RETURNS SETOF user_activity.events
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_find_events';
COMMENT ON FUNCTION user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz, jsonb) IS
'a user''s events recorded in [since, until), ordered by recorded_at, id; page_size rows after the cursor "after" (null: all); metadata: only events whose metadata contains this object';
REVOKE ALL ON FUNCTION
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz, jsonb)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz, jsonb)
TO user_activity_reader, user_activity_writer;


-- ----------------------------------------------------------------------
-- REST parameters as text: one argument per query parameter
-- ----------------------------------------------------------------------
--
-- The HTTP shim passes each query or path parameter as it came, a text
-- argument of its own (NULL when absent), and the function checks it and
-- names it in its error (COLUMN).  search_events, export_events,
-- user_counts_json and top_users_json get such variants; the jsonb ones
-- stay for callers of their own, and the counting ones now call the text
-- ones, so that each rule is written once (counting_value).
--
-- From 1.5, each parameter of the query string is a text argument of its
-- own, as the REST layer received it (NULL when absent), so that nothing
-- between the request and the function parses or rebuilds it; an error
-- names the parameter (its COLUMN).  The jsonb variants stay for callers
-- of their own.
CREATE FUNCTION user_activity.search_events(
    user_id text, "from" text, "to" text, "limit" text, cursor text,
    action text, action_from text, action_to text, metadata text, "offset" text,
    OUT body text, OUT next_cursor text)
RETURNS record
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_search_events_args';
COMMENT ON FUNCTION user_activity.search_events(text, text, text, text, text, text, text, text, text, text) IS
'one page of a user''s events for the REST layer, each query parameter as received: body is the JSON array to send, next_cursor is null on the last page';

CREATE FUNCTION user_activity.export_events(
    user_id text, "from" text, "to" text,
    action text, action_from text, action_to text, metadata text, format text)
RETURNS SETOF text
LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS 'MODULE_PATHNAME', 'user_activity_export_events_args';
COMMENT ON FUNCTION user_activity.export_events(text, text, text, text, text, text, text, text) IS
'every matching event as ndjson or csv lines, each ended by a newline, in runs of whole lines of 64 kB or more a row (the last may be shorter), each query parameter as received; call it in the select list and read in single-row mode to stream';

REVOKE ALL ON FUNCTION
    user_activity.search_events(text, text, text, text, text, text, text, text, text, text),
    user_activity.export_events(text, text, text, text, text, text, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.search_events(text, text, text, text, text, text, text, text, text, text),
    user_activity.export_events(text, text, text, text, text, text, text, text)
TO user_activity_reader, user_activity_writer;

CREATE FUNCTION user_activity.counting_value(value text, name text, kind text, required boolean)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v text := value;
    v_num numeric;
BEGIN
    IF v IS NULL THEN
        IF required THEN
            RAISE EXCEPTION 'missing parameter "%"', name
                USING ERRCODE = 'not_null_violation', COLUMN = name,
                      DETAIL = pg_catalog.format('Parameter "%s" is required.', name);
        END IF;
        RETURN NULL;
    END IF;
    IF kind = 'time' THEN
        IF v !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$' THEN
            RAISE EXCEPTION 'invalid % "%"', name, v
                USING ERRCODE = 'invalid_datetime_format', COLUMN = name,
                      DETAIL = pg_catalog.format('Parameter "%s" must be an RFC 3339 timestamp with an offset, such as 2025-10-10T18:30:00Z.', name);
        END IF;
        BEGIN
            PERFORM v::timestamptz;
            RETURN v;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'invalid % "%"', name, v
                USING ERRCODE = 'invalid_datetime_format', COLUMN = name,
                      DETAIL = pg_catalog.format('Parameter "%s" must be an RFC 3339 timestamp with an offset, such as 2025-10-10T18:30:00Z.', name);
        END;
    END IF;
    -- kind 'user_id' or 'limit': a positive integer
    IF v !~ '^[+-]?[0-9]{1,30}$' THEN
        RAISE EXCEPTION 'invalid % "%"', name, v
            USING ERRCODE = 'invalid_text_representation', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be an integer.', name);
    END IF;
    v_num := v::numeric;
    IF kind = 'limit' AND (v_num < 1 OR v_num > 1000) THEN
        RAISE EXCEPTION '% out of range: %', name, v
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be between 1 and 1000.', name);
    ELSIF kind = 'user_id' AND (v_num < 1 OR v_num > 9223372036854775807) THEN
        RAISE EXCEPTION '% out of range: %', name, v
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be between 1 and 9223372036854775807.', name);
    END IF;
    RETURN v_num::text;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_value(text, text, text, boolean) IS
    'one checked parameter of user_counts_json or top_users_json, as text (its error names it: COLUMN is the parameter)';

CREATE OR REPLACE FUNCTION user_activity.counting_param(params jsonb, name text, kind text, required boolean)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN user_activity.counting_value(params ->> name, name, kind, required);
END;
$$;

CREATE FUNCTION user_activity.user_counts_json(user_id text, "from" text, "to" text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_user bigint;
    v_from timestamptz;
    v_to timestamptz;
    v_result text;
BEGIN
    v_user := user_activity.counting_value($1, 'user_id', 'user_id', true)::bigint;
    v_from := user_activity.counting_value($2, 'from', 'time', true)::timestamptz;
    v_to := user_activity.counting_value($3, 'to', 'time', true)::timestamptz;
    PERFORM user_activity.counting_check_range(v_from, v_to);

    SELECT pg_catalog.json_build_object(
               'user_id', v_user,
               'from', user_activity.counting_rfc3339(v_from),
               'to', user_activity.counting_rfc3339(v_to),
               'periods', COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
                   'period_start', user_activity.counting_rfc3339(c.period_start),
                   'period_end', user_activity.counting_rfc3339(c.period_end),
                   'event_count', c.event_count,
                   'created', c.created_count,
                   'updated', c.updated_count,
                   'deleted', c.deleted_count,
                   'viewed', c.viewed_count) ORDER BY c.period_start), '[]'::json),
               'total', pg_catalog.json_build_object(
                   'event_count', COALESCE(pg_catalog.sum(c.event_count), 0),
                   'created', COALESCE(pg_catalog.sum(c.created_count), 0),
                   'updated', COALESCE(pg_catalog.sum(c.updated_count), 0),
                   'deleted', COALESCE(pg_catalog.sum(c.deleted_count), 0),
                   'viewed', COALESCE(pg_catalog.sum(c.viewed_count), 0)))::text
    INTO v_result
    FROM user_activity.user_counts(v_user, v_from, v_to) c;
    RETURN v_result;
END;
$$;
COMMENT ON FUNCTION user_activity.user_counts_json(text, text, text) IS
    'a user''s counts per period and in total over [from, to), as JSON text for the REST layer; each parameter as the query string has it (NULL: absent)';

CREATE OR REPLACE FUNCTION user_activity.user_counts_json(params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.counting_check_params(params, ARRAY['user_id', 'from', 'to']);
    RETURN user_activity.user_counts_json(params ->> 'user_id', params ->> 'from', params ->> 'to');
END;
$$;

CREATE FUNCTION user_activity.top_users_json("from" text, "to" text, "limit" text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_from timestamptz;
    v_to timestamptz;
    v_limit integer;
    v_result text;
BEGIN
    v_from := user_activity.counting_value($1, 'from', 'time', true)::timestamptz;
    v_to := user_activity.counting_value($2, 'to', 'time', true)::timestamptz;
    v_limit := COALESCE(user_activity.counting_value($3, 'limit', 'limit', false)::integer, 10);
    PERFORM user_activity.counting_check_range(v_from, v_to);

    SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
               'user_id', t.user_id,
               'event_count', t.event_count,
               'created', t.created_count,
               'updated', t.updated_count,
               'deleted', t.deleted_count,
               'viewed', t.viewed_count) ORDER BY t.event_count DESC, t.user_id), '[]'::json)::text
    INTO v_result
    FROM user_activity.top_users(v_from, v_to, v_limit) t;
    RETURN v_result;
END;
$$;
COMMENT ON FUNCTION user_activity.top_users_json(text, text, text) IS
    'the top users over [from, to) (limit 1..1000, default 10), as JSON text for the REST layer; each parameter as the query string has it (NULL: absent)';

CREATE OR REPLACE FUNCTION user_activity.top_users_json(params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.counting_check_params(params, ARRAY['from', 'to', 'limit']);
    RETURN user_activity.top_users_json(params ->> 'from', params ->> 'to', params ->> 'limit');
END;
$$;

REVOKE ALL ON FUNCTION
    user_activity.counting_value(text, text, text, boolean),
    user_activity.user_counts_json(text, text, text),
    user_activity.top_users_json(text, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.user_counts_json(text, text, text),
    user_activity.top_users_json(text, text, text)
    TO user_activity_reader, user_activity_writer;
