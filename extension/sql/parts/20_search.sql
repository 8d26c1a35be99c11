--
-- Search: a user's events whose recorded time is in [from, to), ordered by
-- (recorded_at, id), paged by an opaque keyset cursor (extension/src/search.c).
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
    action_until timestamptz DEFAULT NULL)
RETURNS SETOF user_activity.events
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- first, on its own, so that bad arguments raise even where the planner
-- could prove the search empty
SELECT user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                find_events.page_size, find_events.after);
-- the keyset position is a stable expression, so it is part of the index
-- condition on (user_id, recorded_at, id); its recorded_at, repeated as a
-- plain bound, lets the planner skip the partitions before it
SELECT e.*
FROM user_activity.events AS e
WHERE e.user_id = find_events.user_id
  AND (e.recorded_at, e.id) >
      ((user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                 find_events.page_size, find_events.after)).recorded_at,
       (user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                 find_events.page_size, find_events.after)).id)
  AND e.recorded_at >= (user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                                 find_events.page_size, find_events.after)).recorded_at
  AND e.recorded_at < find_events.until
  AND (find_events.actions IS NULL OR e.action = ANY (find_events.actions))
  AND (find_events.action_since IS NULL OR e.event_action_timestamp >= find_events.action_since)
  AND (find_events.action_until IS NULL OR e.event_action_timestamp < find_events.action_until)
ORDER BY e.recorded_at, e.id
LIMIT find_events.page_size
$$;
COMMENT ON FUNCTION user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz) IS
'a user''s events recorded in [since, until), ordered by recorded_at, id; page_size rows after the cursor "after" (null: all)';

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
