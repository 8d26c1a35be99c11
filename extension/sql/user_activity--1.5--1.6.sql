/* user_activity--1.5--1.6.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.6'" to load this file. \quit

--
-- Version 1.6: activity() in C (parts/55_activity.sql).
--

-- In C (activity.c): the query an analyst would write by hand, one
-- GROUP BY date_trunc over the user's index range, its groups put into
-- the buckets of activity_series(); the parameters checked here for
-- user_id and by, then by activity_range().
CREATE OR REPLACE FUNCTION user_activity.activity(user_id bigint, "from" timestamptz, "to" timestamptz,
                                       bucket text DEFAULT 'day', by text DEFAULT 'acted',
                                       tz text DEFAULT 'UTC')
    RETURNS TABLE (bucket_start timestamptz, created bigint, updated bigint, deleted bigint,
                   viewed bigint, total bigint)
    AS 'MODULE_PATHNAME', 'user_activity_activity'
    LANGUAGE C STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
