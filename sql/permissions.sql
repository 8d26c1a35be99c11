--
-- Permissions: the reader searches and cannot write; the writer ingests
-- and searches through the functions only (no table access, no DDL, no
-- raising of limits); nothing is executable by PUBLIC; the SECURITY DEFINER
-- functions cannot be captured through search_path.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
DROP ROLE IF EXISTS ua_nobody;
CREATE ROLE ua_nobody;
RESET client_min_messages;
SET timezone = 'UTC';

CREATE FUNCTION pg_temp.err(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text;
BEGIN
    EXECUTE query;
    RETURN 'allowed';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN format('%s %s', st, msg);
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;

-- every ingest and search function is SECURITY DEFINER with a pinned
-- search_path, and none is executable by PUBLIC
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer, p.proconfig,
       has_function_privilege('ua_nobody', p.oid, 'EXECUTE') AS public,
       has_function_privilege('user_activity_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('user_activity_writer', p.oid, 'EXECUTE') AS writer
FROM pg_proc p
WHERE p.pronamespace = 'user_activity'::regnamespace
  AND p.proname IN ('record_event', 'record_events', 'search_events', 'export_events',
                    'find_events', 'find_start', 'event_cursor')
ORDER BY 1::text;

-- the writer (the HTTP shim)
SET ROLE user_activity_writer;
SELECT pg_temp.err($$SELECT user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}')$$) AS record_event;
SELECT pg_temp.err($$SELECT user_activity.record_event(6, 'viewed', '2025-10-10 18:30:00Z')$$) AS record_event_typed;
SELECT pg_temp.err($$SELECT user_activity.record_events('[{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "updated"}]')$$) AS record_events;
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}')$$) AS search_events;
SELECT pg_temp.err($$SELECT user_activity.export_events('{"user_id": "6", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}', 'csv')$$) AS export_events;
SELECT pg_temp.err($$SELECT * FROM user_activity.find_events(6, '2025-01-01', '2030-01-01')$$) AS find_events;
-- no direct table access
SELECT pg_temp.err($$SELECT * FROM user_activity.events$$) AS "select";
SELECT pg_temp.err($$INSERT INTO user_activity.events (user_id, action, event_action_timestamp) VALUES (6, 'created', now())$$) AS "insert";
SELECT pg_temp.err($$UPDATE user_activity.events SET user_id = 7$$) AS "update";
SELECT pg_temp.err($$DELETE FROM user_activity.events$$) AS "delete";
SELECT pg_temp.err($$TRUNCATE user_activity.events$$) AS "truncate";
SELECT pg_temp.err($$SELECT nextval('user_activity.events_id_seq')$$) AS "nextval";
-- no DDL
SELECT pg_temp.err($$CREATE TABLE user_activity.mine (x int)$$) AS create_table;
SELECT pg_temp.err($$ALTER TABLE user_activity.events DROP CONSTRAINT events_user_id_check$$) AS alter_table;
SELECT pg_temp.err($$DROP TABLE user_activity.events$$) AS drop_table;
SELECT pg_temp.err($$CREATE OR REPLACE FUNCTION user_activity.record_events(events jsonb) RETURNS jsonb LANGUAGE sql AS 'SELECT 1::text::jsonb'$$) AS replace_function;
SELECT pg_temp.err($$ALTER TYPE user_activity.action ADD VALUE 'hacked'$$) AS alter_type;
-- no raising of the limits
SELECT pg_temp.err($$SET user_activity.max_batch_size = 100000$$) AS set_max_batch_size;
SELECT pg_temp.err($$SET user_activity.max_metadata_bytes = '100MB'$$) AS set_max_metadata_bytes;
SELECT pg_temp.err($$SET user_activity.future_margin = '10y'$$) AS set_future_margin;
RESET ROLE;

-- the reader (analysts)
SET ROLE user_activity_reader;
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}')$$) AS search_events;
SELECT pg_temp.err($$SELECT * FROM user_activity.find_events(6, '2025-01-01', '2030-01-01')$$) AS find_events;
SELECT pg_temp.err($$SELECT user_activity.export_events('{"user_id": "6", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}', 'ndjson')$$) AS export_events;
SELECT count(*) AS readable_rows FROM user_activity.events;
SELECT pg_temp.err($$SELECT user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}')$$) AS record_event;
SELECT pg_temp.err($$SELECT user_activity.record_events('[]')$$) AS record_events;
SELECT pg_temp.err($$INSERT INTO user_activity.events (user_id, action, event_action_timestamp) VALUES (6, 'created', now())$$) AS "insert";
SELECT pg_temp.err($$DELETE FROM user_activity.events$$) AS "delete";
SELECT pg_temp.err($$CREATE TABLE user_activity.mine (x int)$$) AS create_table;
RESET ROLE;

-- anyone else, even with USAGE on the schema: nothing
GRANT USAGE ON SCHEMA user_activity TO ua_nobody;
SET ROLE ua_nobody;
SELECT pg_temp.err($$SELECT user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}')$$) AS record_event;
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}')$$) AS search_events;
SELECT pg_temp.err($$SELECT * FROM user_activity.events$$) AS "select";
RESET ROLE;

-- search_path capture: look-alike objects in a schema first on the path and
-- in pg_temp do not divert the SECURITY DEFINER functions
CREATE SCHEMA capture;
GRANT USAGE, CREATE ON SCHEMA capture TO user_activity_writer;
SET ROLE user_activity_writer;
CREATE TABLE capture.events (LIKE pg_catalog.pg_class);
CREATE FUNCTION capture.nextval(regclass) RETURNS bigint LANGUAGE sql AS 'SELECT -1::bigint';
CREATE FUNCTION capture.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT '1999-01-01'::timestamptz$$;
CREATE FUNCTION capture.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE sql AS 'SELECT NULL';
CREATE FUNCTION capture.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$SELECT 'object'$$;
CREATE TEMP TABLE events (id bigint, user_id bigint);
SET search_path = capture, pg_temp, public;
SELECT (r->>'id')::bigint > 0 AS real_id, r->>'recorded_at' > '2000' AS real_recorded_at
FROM user_activity.record_event('{"user_id": 42, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT r->'stored' AS stored FROM user_activity.record_events('[{"user_id": 42, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}, {"user_id": 42, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted"}]') r;
SELECT json_array_length(body::json) AS found FROM user_activity.search_events('{"user_id": "42", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}');
SELECT count(*) AS exported FROM user_activity.export_events('{"user_id": "42", "from": "2025-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}', 'ndjson');
SELECT count(*) AS in_capture_tables FROM (SELECT 1 FROM capture.events UNION ALL SELECT 1 FROM pg_temp.events) s;
RESET search_path;
RESET ROLE;
SELECT user_id, action, recorded_at > '2000-01-01' AS real_recorded_at FROM user_activity.events WHERE user_id = 42 ORDER BY id;

SET client_min_messages = warning;
DROP SCHEMA capture CASCADE;
REVOKE USAGE ON SCHEMA user_activity FROM ua_nobody;
DROP ROLE ua_nobody;
RESET client_min_messages;
