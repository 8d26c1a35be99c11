/* user_activity--1.5--1.6.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.6'" to load this file. \quit

--
-- Version 1.6: activity() keeps one generic plan (parts/55_activity.sql).
--

-- One generic plan, kept for the session: a custom plan is made anew for
-- every call, over every partition of the table, which cost more than the
-- query it planned (p50 2.29x against 1.26x of the hand-written GROUP BY
-- over 1 M events, docs/benchmarks.md).  The partitions of the range
-- are left out when the plan runs.  Citus plans a query of a distributed
-- table itself and refuses a generic plan of this one (0A000), so with
-- Citus installed each call is planned.
CREATE OR REPLACE FUNCTION user_activity.activity(user_id bigint, "from" timestamptz, "to" timestamptz,
                                       bucket text DEFAULT 'day', by text DEFAULT 'acted',
                                       tz text DEFAULT 'UTC')
    RETURNS TABLE (bucket_start timestamptz, created bigint, updated bigint, deleted bigint,
                   viewed bigint, total bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan
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
    -- undone when the call returns, as the function's own SET is
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'force_custom_plan', true);
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
