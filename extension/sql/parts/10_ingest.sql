--
-- Ingest: validated, idempotent recording of events (extension/src/ingest.c).
--
-- The functions run as the extension owner (SECURITY DEFINER) with a pinned
-- search_path, so that the writer role needs no privilege on the table and a
-- hostile search_path cannot capture a call.
--
-- Ingest makes the partition of its time when it is missing
-- (30_partitions.sql), so record_event and record_events never fail for want
-- of one.  It claims each (user_id, event_id) in user_activity.event_keys
-- itself, with INSERT ... ON CONFLICT DO NOTHING (routed by user_id, like the
-- insert of the event that follows), and inserts only the events whose key it
-- claimed; a taken key is answered with the event first stored.  Nothing
-- depends on state kept in the calling backend: on Citus the rows are
-- inserted on the workers, where the triggers of 15_event_keys.sql run.
--
-- The C entry points of versions before 1.4 (without the _1_4 suffix) stay
-- in the module for databases not yet updated.
--

CREATE FUNCTION user_activity.record_event(event jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event_1_4';
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
AS 'MODULE_PATHNAME', 'user_activity_record_event_typed_1_4';
COMMENT ON FUNCTION user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid) IS
'validate and store one event given as typed arguments; same rules and result as record_event(jsonb)';

CREATE FUNCTION user_activity.record_events(events jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_events_1_4';
COMMENT ON FUNCTION user_activity.record_events(jsonb) IS
'store a JSON array of events in one multi-row insert, per-item acceptance; returns counts and one result per item in input order';

-- Many single events in one statement, each answered as record_event would
-- have answered it alone: what the HTTP shim runs for a group of
-- POST /api/event requests (1.5).
CREATE FUNCTION user_activity.record_event_each(events text[])
RETURNS TABLE (event jsonb, error jsonb)
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 64
AS 'MODULE_PATHNAME', 'user_activity_record_event_each';
COMMENT ON FUNCTION user_activity.record_event_each(text[]) IS
'validate and store each event of an array of texts (each as record_event takes it) in one statement; one row per item in input order: the event record_event would return for it, or the error it would raise (sqlstate, field, message, detail)';

-- Nothing is executable by PUBLIC; the writer (the HTTP shim) ingests.
REVOKE ALL ON FUNCTION
    user_activity.record_event(jsonb),
    user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid),
    user_activity.record_events(jsonb),
    user_activity.record_event_each(text[])
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.record_event(jsonb),
    user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid),
    user_activity.record_events(jsonb),
    user_activity.record_event_each(text[])
TO user_activity_writer;
