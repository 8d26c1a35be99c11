/* user_activity--1.4--1.5.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.5'" to load this file. \quit

--
-- Version 1.5.
--
-- Each section below belongs to one concern; keep changes inside it.
--


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
    action text, action_from text, action_to text, "offset" text,
    OUT body text, OUT next_cursor text)
RETURNS record
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_search_events_args';
COMMENT ON FUNCTION user_activity.search_events(text, text, text, text, text, text, text, text, text) IS
'one page of a user''s events for the REST layer, each query parameter as received: body is the JSON array to send, next_cursor is null on the last page';

CREATE FUNCTION user_activity.export_events(
    user_id text, "from" text, "to" text,
    action text, action_from text, action_to text, format text)
RETURNS SETOF text
LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS 'MODULE_PATHNAME', 'user_activity_export_events_args';
COMMENT ON FUNCTION user_activity.export_events(text, text, text, text, text, text, text) IS
'every matching event, one ndjson or csv line per row, each query parameter as received; call it in the select list and read in single-row mode to stream';

REVOKE ALL ON FUNCTION
    user_activity.search_events(text, text, text, text, text, text, text, text, text),
    user_activity.export_events(text, text, text, text, text, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.search_events(text, text, text, text, text, text, text, text, text),
    user_activity.export_events(text, text, text, text, text, text, text)
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
