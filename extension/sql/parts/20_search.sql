--
-- Search: a user's events whose recorded time is in [from, to), ordered by
-- (recorded_at, id), paged by an opaque keyset cursor (extension/src/search_*.c),
-- filtered by action, time of action and metadata containment (@>).
--
-- find_events is C, not an SQL function (it was one up to version 1.2): an
-- SQL function plans its query on every call, and as its values are
-- parameters, that plan is generic over every partition of the table.  The
-- C function runs search_events' page query with the session's kept span
-- plans.  find_start, which only the SQL function called, stays for callers
-- of its own.
--

CREATE FUNCTION user_activity.find_start(
    user_id bigint, since timestamptz, until timestamptz,
    page_size integer, after text,
    OUT recorded_at timestamptz, OUT id bigint)
RETURNS record
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'user_activity_find_start';
COMMENT ON FUNCTION user_activity.find_start(bigint, timestamptz, timestamptz, integer, text) IS
'validate the arguments of find_events and return the keyset position its page starts after';

CREATE FUNCTION user_activity.event_cursor(user_id bigint, recorded_at timestamptz, id bigint)
RETURNS text
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'user_activity_event_cursor';
COMMENT ON FUNCTION user_activity.event_cursor(bigint, timestamptz, bigint) IS
'the opaque cursor of the page that follows the given event (pass it as find_events(after => ...) or as the cursor of search_events)';

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

CREATE FUNCTION user_activity.search_events(params jsonb, OUT body text, OUT next_cursor text)
RETURNS record
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_search_events';
COMMENT ON FUNCTION user_activity.search_events(jsonb) IS
'one page of a user''s events for the REST layer: body is the JSON array to send, next_cursor is null on the last page';

CREATE FUNCTION user_activity.export_events(params jsonb, format text)
RETURNS SETOF text
LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS 'MODULE_PATHNAME', 'user_activity_export_events';
COMMENT ON FUNCTION user_activity.export_events(jsonb, text) IS
'every matching event, one ndjson or csv line per row; call it in the select list and read in single-row mode to stream';

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

-- Nothing is executable by PUBLIC; the reader and the writer (the HTTP
-- shim) search and export.
REVOKE ALL ON FUNCTION
    user_activity.find_start(bigint, timestamptz, timestamptz, integer, text),
    user_activity.event_cursor(bigint, timestamptz, bigint),
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz, jsonb),
    user_activity.search_events(jsonb),
    user_activity.export_events(jsonb, text),
    user_activity.search_events(text, text, text, text, text, text, text, text, text, text),
    user_activity.export_events(text, text, text, text, text, text, text, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.find_start(bigint, timestamptz, timestamptz, integer, text),
    user_activity.event_cursor(bigint, timestamptz, bigint),
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz, jsonb),
    user_activity.search_events(jsonb),
    user_activity.export_events(jsonb, text),
    user_activity.search_events(text, text, text, text, text, text, text, text, text, text),
    user_activity.export_events(text, text, text, text, text, text, text, text)
TO user_activity_reader, user_activity_writer;
