--
-- Ingest of many single events in one statement: record_event_each(), what
-- the HTTP shim's group commit runs.  Each item is answered as
-- record_event() would have answered it alone: the event (stored or
-- duplicate) or the error, with the same SQLSTATE, field, message and
-- detail; one bad item fails none of the others.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- err(query) runs a query and prints the error it raises, with its SQLSTATE and field
CREATE FUNCTION pg_temp.err(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; col text; msg text; det text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME,
        msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN format('%s [%s] %s | %s', st, col, msg, det);
END
$$;

-- an item's outcome without the server's clock: the event, or the error as err() prints it
CREATE FUNCTION pg_temp.outcome(event jsonb, error jsonb) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN error IS NULL THEN (event - 'recorded_at' - 'createdAt')::text
           ELSE format('%s [%s] %s | %s', error->>'sqlstate', coalesce(error->>'field', ''),
                       error->>'message', coalesce(error->>'detail', '')) END
$$;

-- Each bad body, alone through record_event (its text cast to jsonb, as
-- the shim sends it) and as an item of record_event_each: the same error.
CREATE TEMP TABLE bad (n int, body text);
INSERT INTO bad VALUES
  (1, '{"user_id": 6,'),
  (2, ''),
  (3, 'nope'),
  (4, '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {"a": "\u0000"}}'),
  (5, '[1]'),
  (6, '"an event"'),
  (7, '{"user_id": 0, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}'),
  (8, '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "jumped"}'),
  (9, '{"user_id": 6, "event_action_timestamp": "yesterday", "action": "viewed"}'),
  (10, '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "colour": "red"}'),
  (11, '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "nope"}'),
  (12, '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": []}'),
  (13, NULL);
SELECT b.n, e.same, e.outcome
FROM bad b,
     LATERAL (SELECT pg_temp.err(format('SELECT user_activity.record_event(%L::pg_catalog.text::pg_catalog.jsonb)', b.body))) AS alone(outcome),
     LATERAL (SELECT pg_temp.outcome(r.event, r.error) = alone.outcome, pg_temp.outcome(r.event, r.error)
              FROM user_activity.record_event_each(ARRAY[b.body]) r) AS e(same, outcome)
ORDER BY b.n;
SELECT count(*) AS stored FROM user_activity.events;

-- A group mixing good, duplicate and bad items: one row per item, in input
-- order; the bad ones fail nothing else.  Item 4 repeats item 2's event_id
-- in the same call, item 6 the event_id of an event stored before it; a
-- duplicate is answered with the event first stored, not its own fields.
SELECT user_activity.record_event('{"user_id": 7, "event_action_timestamp": "2025-10-10T18:00:00Z", "action": "created", "metadata": {"first": true}, "event_id": "22222222-2222-4222-8222-222222222222"}') - 'recorded_at' - 'createdAt' AS stored_before;
SELECT n, pg_temp.outcome(r.event, r.error)
FROM user_activity.record_event_each(ARRAY[
  '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "metadata": {"ip": "192.168.1.10"}}',
  '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:31:00Z", "action": "viewed", "metadata": {"n": 2}, "event_id": "11111111-1111-4111-8111-111111111111"}',
  '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:32:00Z", "action": "jumped"}',
  '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:33:00Z", "action": "updated", "metadata": {"n": 4}, "event_id": "11111111-1111-4111-8111-111111111111"}',
  '{"user_id": 7,',
  '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:35:00Z", "action": "deleted", "metadata": {"n": 6}, "event_id": "22222222-2222-4222-8222-222222222222"}',
  '{"user_id": 8, "event_action_timestamp": "2025-10-10T18:36:00Z", "action": "viewed"}'
]) WITH ORDINALITY AS r(event, error, n)
ORDER BY n;
-- stored once each, in input order; the items of one call share recorded_at
SELECT id, user_id, action, event_action_timestamp, metadata, event_id
FROM user_activity.events ORDER BY id;
SELECT count(DISTINCT recorded_at) AS recorded_at_values
FROM user_activity.events WHERE user_id IN (6, 8);

-- no items, no rows
SELECT count(*) FROM user_activity.record_event_each('{}');

-- the limit is the batch's: max_batch_size items pass, one more is refused as a whole
SET user_activity.max_batch_size = 2;
SELECT count(*) FROM user_activity.record_event_each(ARRAY[
  '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}',
  '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}']);
SELECT pg_temp.err($$SELECT user_activity.record_event_each(ARRAY[
  '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}',
  '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}',
  '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}'])$$);
RESET user_activity.max_batch_size;
SELECT count(*) AS stored_for_user_9 FROM user_activity.events WHERE user_id = 9;

-- errors about the call as a whole
SELECT pg_temp.err($$SELECT user_activity.record_event_each(NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.record_event_each('{{"a"},{"b"}}')$$);

-- the writer may call it; PUBLIC may not
SELECT has_function_privilege('user_activity_writer', 'user_activity.record_event_each(text[])', 'EXECUTE') AS writer,
       has_function_privilege('public', 'user_activity.record_event_each(text[])', 'EXECUTE') AS public;
