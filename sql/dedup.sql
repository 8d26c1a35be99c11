--
-- Dedup: an event re-sent with the same event_id for the same user stores
-- nothing new and reports the event first stored - exact, with no time
-- window, alone or in a batch, within a batch and against the table.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- partitions for the direct INSERTs below (recorded_at defaults to now())
SELECT user_activity.maintain_partitions() IS NOT NULL AS partitions_ready;

CREATE FUNCTION pg_temp.show(r jsonb) RETURNS TABLE (idx int, status text, id bigint)
LANGUAGE sql AS $$
    SELECT (x->>'index')::int, x->>'status', (x->>'id')::bigint
    FROM jsonb_array_elements(r->'results') AS x
$$;

-- first time: stored
SELECT r->>'status' AS status, r->>'id' AS id, r->>'event_id' AS event_id
FROM user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000001", "metadata": {"try": 1}}') r;
-- again, even with other content: duplicate, and the event as first stored
SELECT r->>'status' AS status, r->>'id' AS id, r->'metadata' AS metadata, r->>'action' AS action
FROM user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-11T09:00:00Z", "action": "deleted", "event_id": "aaaaaaaa-0000-4000-8000-000000000001", "metadata": {"try": 2}}') r;
-- upper case is the same UUID
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "AAAAAAAA-0000-4000-8000-000000000001"}') r;
-- the duplicate carries the first event's recorded_at
SELECT (r->>'recorded_at')::timestamptz = e.recorded_at AS same_recorded_at
FROM user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000001"}') r,
     user_activity.events e WHERE e.id = 1;
-- the typed overload shares the key
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event(6, 'created', '2025-10-10 18:30:00Z', '{}', 'aaaaaaaa-0000-4000-8000-000000000001') r;

-- same event_id, different user: a different event, stored
SELECT r->>'status' AS status, r->>'id' AS id, r->>'user_id' AS user_id
FROM user_activity.record_event('{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000001"}') r;

-- without event_id, nothing is deduplicated
SELECT r->>'status' AS status FROM user_activity.record_event('{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event('{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}') r;

-- a batch: against the table, within the batch (the later copies point at
-- the first), different users, and items without event_id
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates, r->'rejected' AS rejected, s.*
FROM user_activity.record_events($$[
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000001"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000002"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000002"},
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000002"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "nope", "event_id": "aaaaaaaa-0000-4000-8000-000000000003"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000003"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000002"}
]$$) r, pg_temp.show(r) s;
-- the same batch again: everything with an event_id is now a duplicate
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates, s.*
FROM user_activity.record_events($$[
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000002"},
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000002"},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000003"}
]$$) r, pg_temp.show(r) s;

-- one row per (user_id, event_id), ever
SELECT user_id, event_id, count(*) FROM user_activity.events
WHERE event_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2;

-- the key is enforced by the table itself, whoever writes
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, event_id)
VALUES (6, 'created', '2025-10-10 18:30:00Z', 'aaaaaaaa-0000-4000-8000-000000000001');

-- a later transaction, long after: still a duplicate (no time window)
BEGIN;
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "aaaaaaaa-0000-4000-8000-000000000001"}') r;
COMMIT;

--
-- Erasure releases the keys: after delete_user_events, a direct DELETE or
-- a TRUNCATE, an erased event_id is stored again, as a new event
--
SELECT r->>'status' AS status
FROM user_activity.record_event(20, 'viewed', '2025-10-10 00:00Z', '{}', 'bbbbbbbb-0000-4000-8000-000000000001') r;
SELECT r->'stored' AS stored FROM user_activity.record_events($$[
  {"user_id": 21, "event_action_timestamp": "2025-10-10T00:00:00Z", "action": "viewed", "event_id": "bbbbbbbb-0000-4000-8000-000000000002"},
  {"user_id": 21, "event_action_timestamp": "2025-10-10T00:00:00Z", "action": "viewed"}
]$$) r;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, event_id)
VALUES (22, 'viewed', '2025-10-10 00:00Z', 'bbbbbbbb-0000-4000-8000-000000000003'),
       (22, 'viewed', '2025-10-10 00:00Z', NULL);
SELECT user_id, count(*) AS keys FROM user_activity.event_keys WHERE user_id IN (20, 21, 22) GROUP BY 1 ORDER BY 1;
-- a rolled-back erasure keeps the key
BEGIN;
SELECT r->'events_deleted' AS events_deleted FROM user_activity.delete_user_events(20) r;
ROLLBACK;
SELECT r->>'status' AS status
FROM user_activity.record_event(20, 'viewed', '2025-10-10 00:00Z', '{}', 'bbbbbbbb-0000-4000-8000-000000000001') r;
SELECT r->'events_deleted' AS events_deleted FROM user_activity.delete_user_events(20) r;
DELETE FROM user_activity.events WHERE user_id = 21;
DELETE FROM user_activity.events WHERE user_id = 22 AND event_id IS NOT NULL;
SELECT count(*) AS keys_left FROM user_activity.event_keys WHERE user_id IN (20, 21, 22);
SELECT r->>'status' AS status
FROM user_activity.record_event(20, 'viewed', '2025-10-10 00:00Z', '{}', 'bbbbbbbb-0000-4000-8000-000000000001') r;
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates FROM user_activity.record_events($$[
  {"user_id": 21, "event_action_timestamp": "2025-10-10T00:00:00Z", "action": "viewed", "event_id": "bbbbbbbb-0000-4000-8000-000000000002"},
  {"user_id": 22, "event_action_timestamp": "2025-10-10T00:00:00Z", "action": "viewed", "event_id": "bbbbbbbb-0000-4000-8000-000000000003"}
]$$) r;
-- TRUNCATE releases every key
TRUNCATE user_activity.events;
SELECT count(*) AS keys_left FROM user_activity.event_keys;
SELECT r->>'status' AS status
FROM user_activity.record_event(20, 'viewed', '2025-10-10 00:00Z', '{}', 'bbbbbbbb-0000-4000-8000-000000000001') r;
