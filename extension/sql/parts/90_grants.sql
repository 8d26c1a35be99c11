--
-- Grants: nothing is executable by PUBLIC; the reader searches, the writer
-- (the HTTP shim) ingests, searches and exports.  Each part grants its own
-- functions the same way.
--

REVOKE ALL ON FUNCTION
    user_activity.record_event(jsonb),
    user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid),
    user_activity.record_events(jsonb),
    user_activity.find_start(bigint, timestamptz, timestamptz, integer, text),
    user_activity.event_cursor(bigint, timestamptz, bigint),
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz),
    user_activity.search_events(jsonb),
    user_activity.export_events(jsonb, text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    user_activity.record_event(jsonb),
    user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid),
    user_activity.record_events(jsonb)
TO user_activity_writer;

GRANT EXECUTE ON FUNCTION
    user_activity.find_start(bigint, timestamptz, timestamptz, integer, text),
    user_activity.event_cursor(bigint, timestamptz, bigint),
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz),
    user_activity.search_events(jsonb),
    user_activity.export_events(jsonb, text)
TO user_activity_reader, user_activity_writer;
