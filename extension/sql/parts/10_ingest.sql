--
-- Ingest: validated, idempotent recording of events (extension/src/ingest.c).
--
-- The functions run as the extension owner (SECURITY DEFINER) with a pinned
-- search_path, so that the writer role needs no privilege on the table and a
-- hostile search_path cannot capture a call.  EXECUTE is granted in
-- 90_grants.sql.
--

CREATE FUNCTION user_activity.record_event(event jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event';
COMMENT ON FUNCTION user_activity.record_event(jsonb) IS
'validate and store one event given as the REST API receives it; returns the event with id, recorded_at and status stored or duplicate';

CREATE FUNCTION user_activity.record_event(
    user_id bigint,
    action user_activity.action,
    action_time timestamptz,
    metadata jsonb DEFAULT '{}',
    event_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event_typed';
COMMENT ON FUNCTION user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid) IS
'validate and store one event given as typed arguments; same rules and result as record_event(jsonb)';

CREATE FUNCTION user_activity.record_events(events jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_events';
COMMENT ON FUNCTION user_activity.record_events(jsonb) IS
'store a JSON array of events in one multi-row insert, per-item acceptance; returns counts and one result per item in input order';
