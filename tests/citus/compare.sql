--
-- Run by tests/citus/run.sh on a plain install and on the Citus
-- coordinator, in the same order: the two outputs must be identical.
-- Values that depend on when the script runs (recorded_at of ingest,
-- counting periods) are compared, not shown; errors show their SQLSTATE
-- only (Citus adds the worker it ran on).  :base is 00:00 UTC of tomorrow,
-- inside the partitions made ahead, for direct INSERTs with fixed times;
-- :until is three days later (both RFC 3339, as the REST layer takes them).
--
\set VERBOSITY sqlstate
SET timezone = 'UTC';

-- ingest: single events of 40 users, every other with a key
SELECT r->>'status' AS status, count(*) AS events, min((r->>'id')::bigint) AS min_id, max((r->>'id')::bigint) AS max_id
FROM generate_series(1, 40) i,
     LATERAL user_activity.record_event(i, (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
                                        :'base'::timestamptz + i * interval '1 minute', jsonb_build_object('i', i),
                                        CASE WHEN i % 2 = 0 THEN ('cccccccc-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid END) r
GROUP BY 1 ORDER BY 1;

-- a retried event_id: a duplicate, answered with the event first stored
SELECT r - 'recorded_at' - 'createdAt' AS answer, r->>'recorded_at' AS answer_recorded_at
FROM user_activity.record_event('{"user_id": 4, "event_action_timestamp": "2025-10-11T09:00:00Z", "action": "viewed", "event_id": "cccccccc-0000-4000-8000-000000000004", "metadata": {"try": 2}}') r
\gset
\echo :answer
SELECT count(*) AS events, bool_and(e.recorded_at = :'answer_recorded_at'::timestamptz) AS same_recorded_at
FROM user_activity.events e WHERE e.user_id = 4 AND e.event_id = 'cccccccc-0000-4000-8000-000000000004';
SELECT r - 'recorded_at' - 'createdAt' AS answer
FROM user_activity.record_event(6, 'viewed', '2025-10-11 09:00Z', '{}', 'cccccccc-0000-4000-8000-000000000006') r;

-- a batch mixing new keys, re-sent keys, a key twice, no key and a
-- rejected item
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates, r->'rejected' AS rejected,
       x->>'index' AS index, x->>'status' AS status, x->>'id' AS id, x->'error'->>'sqlstate' AS sqlstate
FROM user_activity.record_events($$[
  {"user_id": 2, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000002"},
  {"user_id": 2, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000102"},
  {"user_id": 41, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000041"},
  {"user_id": 41, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "updated", "event_id": "cccccccc-0000-4000-8000-000000000041"},
  {"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "event_id": "cccccccc-0000-4000-8000-000000000008"},
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"},
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "nope"}
]$$) r, jsonb_array_elements(r->'results') x
ORDER BY (x->>'index')::int;
-- the same batch again: every keyed item a duplicate
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates, r->'rejected' AS rejected
FROM user_activity.record_events($$[
  {"user_id": 2, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000002"},
  {"user_id": 2, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000102"},
  {"user_id": 41, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000041"},
  {"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "event_id": "cccccccc-0000-4000-8000-000000000008"}
]$$) r;
SELECT user_id, event_id, count(*) FROM user_activity.events
WHERE event_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1 ORDER BY 1, 2;

-- direct INSERTs at fixed times over three days; a taken key fails
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata, event_id)
SELECT 1 + i % 12, (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
       :'base'::timestamptz + i * interval '17 minutes', :'base'::timestamptz + i * interval '17 minutes',
       jsonb_build_object('n', i),
       CASE WHEN i % 3 = 0 THEN ('dddddddd-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid END
FROM generate_series(1, 240) i;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, event_id)
VALUES (4, 'viewed', '2025-10-10 00:00Z', 'cccccccc-0000-4000-8000-000000000004');
SELECT (SELECT count(*) FROM user_activity.events) AS events,
       (SELECT count(event_id) FROM user_activity.events) AS keyed,
       (SELECT count(*) FROM user_activity.event_keys) AS keys;

-- search, a page and the next, and export
SELECT s.body, s.next_cursor IS NOT NULL AS more
FROM user_activity.search_events(pg_catalog.jsonb_build_object('user_id', '3', 'from', :'base', 'to', :'until', 'limit', '5')) s;
SELECT p2.body
FROM user_activity.search_events(pg_catalog.jsonb_build_object('user_id', '3', 'from', :'base', 'to', :'until', 'limit', '5')) p1,
     user_activity.search_events(pg_catalog.jsonb_build_object('user_id', '3', 'from', :'base', 'to', :'until', 'limit', '5', 'cursor', p1.next_cursor)) p2;
SELECT x FROM user_activity.export_events(pg_catalog.jsonb_build_object('user_id', '5', 'from', :'base', 'to', :'until'), 'csv') x;
SELECT count(*) AS ndjson_lines
FROM user_activity.export_events(pg_catalog.jsonb_build_object('user_id', '7', 'from', :'base', 'to', :'until'), 'ndjson') x;
SELECT count(*) AS rows, min(f.id) AS first_id, max(f.id) AS last_id
FROM user_activity.find_events(11, :'base', :'base'::timestamptz + interval '3 days') f;

-- counting: every event counted once
SELECT r->>'status' AS status, r->'users' AS users, r->'events' AS events FROM user_activity.count_activity() r;
SELECT r->>'status' AS status, r->'users' AS users, r->'events' AS events FROM user_activity.count_activity() r;
SELECT user_id, sum(event_count) AS events, sum(created_count) AS created, sum(updated_count) AS updated,
       sum(deleted_count) AS deleted, sum(viewed_count) AS viewed
FROM user_activity.user_event_counts GROUP BY 1 ORDER BY 1;
SELECT user_activity.top_users_json('{"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "limit": "5"}');
SELECT user_activity.user_counts_json('{"user_id": "3", "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}')::jsonb - 'periods' AS totals;
-- the rollup: activity per day, active users per day and per Berlin day
SELECT user_activity.activity_json('3', :'base', :'until', 'day', NULL, NULL);
SELECT user_activity.activity_json('3', :'base', :'until', 'day', 'recorded', 'Europe/Berlin');
SELECT user_activity.active_users_json(:'base', :'until', NULL, NULL, NULL);
SELECT user_activity.active_users_json(:'base', :'until', 'day', 'viewed', 'Europe/Berlin');
-- activity() past the five calls after which a plan may be kept (with
-- Citus each call is planned)
SELECT i, sum(a.total) AS events
FROM generate_series(1, 7) i, LATERAL user_activity.activity(1 + i, :'base', :'until') a GROUP BY 1 ORDER BY 1;
SELECT count(*) AS rollup_rows, sum(created_count + updated_count + deleted_count + viewed_count) AS rolled_up
FROM user_activity.user_day_activity;
-- metadata filters
SELECT count(*) AS filtered FROM user_activity.find_events(11, :'base', :'base'::timestamptz + interval '3 days',
                                                            metadata => '{"n": 11}');

-- erasure: the user's events, counts and keys go; the key is free again
SELECT user_activity.delete_user_events(3);
SELECT user_activity.delete_user_events(3);
SELECT user_activity.active_users_json(:'base', :'until', NULL, NULL, NULL);
SELECT count(*) AS events_left FROM user_activity.events WHERE user_id = 3;
SELECT count(*) AS keys_left FROM user_activity.event_keys WHERE user_id = 3;
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event(3, 'viewed', '2025-10-10 00:00Z', '{}', 'dddddddd-0000-4000-8000-000000000015') r;
-- a direct DELETE releases keys too
DELETE FROM user_activity.events WHERE user_id = 4;
SELECT count(*) AS keys_left FROM user_activity.event_keys WHERE user_id = 4;
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event(4, 'viewed', '2025-10-10 00:00Z', '{}', 'cccccccc-0000-4000-8000-000000000004') r;

-- TRUNCATE empties the events and their keys
TRUNCATE user_activity.events;
SELECT (SELECT count(*) FROM user_activity.events) AS events, (SELECT count(*) FROM user_activity.event_keys) AS keys;
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event(4, 'viewed', '2025-10-10 00:00Z', '{}', 'cccccccc-0000-4000-8000-000000000004') r;
-- the events and the counts in one statement
TRUNCATE user_activity.events, user_activity.user_event_counts;
SELECT (SELECT count(*) FROM user_activity.events) AS events, (SELECT count(*) FROM user_activity.event_keys) AS keys,
       (SELECT count(*) FROM user_activity.user_event_counts) AS counts;
SELECT r->>'status' AS status, r->>'id' AS id
FROM user_activity.record_event(4, 'viewed', '2025-10-10 00:00Z', '{}', 'cccccccc-0000-4000-8000-000000000004') r;
-- in a transaction, and rolled back: nothing lost
BEGIN;
TRUNCATE user_activity.events;
ROLLBACK;
SELECT (SELECT count(*) FROM user_activity.events) AS events, (SELECT count(*) FROM user_activity.event_keys) AS keys;

-- a batch of 60 users after the reset
SELECT r->'stored' AS stored
FROM (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('user_id', i, 'action', 'viewed',
             'event_action_timestamp', '2025-10-10T00:00:00Z',
             'event_id', 'eeeeeeee-0000-4000-8000-' || lpad(i::text, 12, '0'))) AS b
      FROM generate_series(1, 60) i) x,
     user_activity.record_events(x.b) r;
SELECT (SELECT count(*) FROM user_activity.events) AS events, (SELECT count(*) FROM user_activity.event_keys) AS keys;
