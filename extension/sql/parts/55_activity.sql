--
-- Activity over time: a user's events per bucket (activity), and distinct
-- active users per bucket (active_users), for analysts and the REST layer.
--
-- activity() reads the events themselves, so it is always fresh: the
-- index (user_id, event_action_timestamp) of every partition
-- (30_partitions.sql) gives it the user's rows in the range by the time
-- they acted, the primary key (user_id, recorded_at, id) by the time they
-- were recorded, so its cost follows the user's events in the range.
--
-- active_users() is served from a rollup that count_activity() maintains
-- in the same exactly-once run as the counts (50_counting.sql), the Citus
-- incremental-rollup pattern:
--
-- - user_day_activity holds one row per user and UTC day on which the user
--   acted (event_action_timestamp), with the events per action and, per
--   action, a mask of the 48 half hours of that day in which the user
--   acted.  The masks answer any bucket whose bounds fall on a half hour of
--   UTC: hours, and days, weeks and months in any time zone whose offset is
--   a whole number of half hours.  It is keyed by user_id, so under Citus
--   it is distributed by user_id with the events.
-- - daily_active_users holds, per UTC day, how many distinct users acted
--   (in total and per action).  A run adds the users whose row of that day
--   it creates (or whose action count of that day was zero), so reading
--   the active users per UTC day costs one row per day, however many
--   events and users there are.  Other buckets count the distinct users of
--   the masks.
--
-- An event is rolled up by the run that counts it, into the day its user
-- acted, however late it arrives; counted once, rolled up once.
--

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
-- In C (activity.c): the query an analyst would write by hand, one
-- GROUP BY date_trunc over the user's index range, its groups put into
-- the buckets of activity_series(); the parameters checked here for
-- user_id and by, then by activity_range().
CREATE FUNCTION user_activity.activity(user_id bigint, "from" timestamptz, "to" timestamptz,
                                       bucket text DEFAULT 'day', by text DEFAULT 'acted',
                                       tz text DEFAULT 'UTC')
    RETURNS TABLE (bucket_start timestamptz, created bigint, updated bigint, deleted bigint,
                   viewed bigint, total bigint)
    AS 'MODULE_PATHNAME', 'user_activity_activity'
    LANGUAGE C STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
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
