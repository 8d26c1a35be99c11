--
-- Partitions: events are partitioned by recorded_at; partitions are made
-- ahead by maintain_partitions(); an insert never fails for want of one and
-- never leaves rows where they would block maintenance; searches read only
-- the partitions of their range; dedup holds across partitions.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

SHOW user_activity.partition_interval;
SHOW user_activity.partitions_ahead;
SELECT c.relkind, pg_catalog.pg_get_partkeydef(c.oid) AS partition_key
FROM pg_class c WHERE c.oid = 'user_activity.events'::regclass;

-- CREATE EXTENSION makes the transit default partition, the current
-- partition and 7 ahead: one day each, aligned to midnight UTC, contiguous
SELECT count(*) AS partitions,
       min(partition_from) = date_bin('1 day', now(), '2000-01-01 00:00Z') AS starts_today,
       bool_and(partition_to - partition_from = interval '1 day') AS one_day_each,
       max(partition_to) - min(partition_from) = interval '8 days' AS contiguous
FROM user_activity.event_partitions;
-- they are data, not members of the extension (pg_dump dumps them); the
-- default partition is a member whose rows pg_dump keeps
SELECT d.objid::regclass AS member FROM pg_depend d
JOIN pg_inherits i ON i.inhrelid = d.objid AND i.inhparent = 'user_activity.events'::regclass
WHERE d.deptype = 'e';
SELECT c::regclass AS dumped FROM pg_extension, unnest(extconfig) c
WHERE extname = 'user_activity' AND c::regclass::text LIKE 'user_activity.events%' ORDER BY 1;

-- maintenance is idempotent
SELECT user_activity.maintain_partitions();

--
-- No partition for the current time: ingest creates it and never fails
--
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT partition FROM user_activity.event_partitions LOOP
        EXECUTE format('DROP TABLE %s', r.partition);
    END LOOP;
END
$$;
SELECT count(*) AS partitions FROM user_activity.event_partitions;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT count(*) AS partitions, bool_and(now() >= partition_from AND now() < partition_to) AS holds_now
FROM user_activity.event_partitions;
-- the same with an event_id, and a batch, after the partition is gone again
-- (in this session: its cached bounds are forgotten)
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT partition FROM user_activity.event_partitions LOOP
        EXECUTE format('DROP TABLE %s', r.partition);
    END LOOP;
END
$$;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000001"}') r;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT partition FROM user_activity.event_partitions LOOP
        EXECUTE format('DROP TABLE %s', r.partition);
    END LOOP;
END
$$;
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates FROM user_activity.record_events($$[
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"},
  {"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "cccccccc-0000-4000-8000-000000000002"}
]$$) r;
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT partition FROM user_activity.event_partitions LOOP
        EXECUTE format('DROP TABLE %s', r.partition);
    END LOOP;
END
$$;
SELECT r->>'status' AS status FROM user_activity.record_event(7, 'updated', '2025-10-10 18:30Z', '{}', NULL) r;
-- nothing went to the default partition
SELECT count(*) AS in_default FROM user_activity.events_default;
SELECT count(*) AS partitions FROM user_activity.event_partitions;

--
-- A direct INSERT that no partition holds lands in events_default; it does
-- not block maintenance, which moves it to a partition of its own
--
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at)
VALUES (8, 'viewed', '2020-01-01 10:00Z', '2020-01-01 10:00Z'),
       (8, 'viewed', '2020-01-03 10:00Z', '2020-01-03 10:00Z');
SELECT count(*) AS in_default FROM user_activity.events_default;
-- a partition for a range with rows in the default: they move in
SELECT * FROM user_activity.ensure_partition('2020-01-01 12:00Z');
SELECT tableoid::regclass AS partition, recorded_at FROM user_activity.events WHERE user_id = 8 ORDER BY recorded_at;
SELECT (r->'partitions_created')::int > 0 AS created, r->'partitions_dropped' AS dropped
FROM user_activity.maintain_partitions() r;
SELECT tableoid::regclass AS partition, recorded_at FROM user_activity.events WHERE user_id = 8 ORDER BY recorded_at;
SELECT count(*) AS in_default FROM user_activity.events_default;

-- a partition made with another interval keeps its bounds; a new one next
-- to it is clipped
SET user_activity.partition_interval = '6h';
SELECT * FROM user_activity.ensure_partition('2020-01-02 23:00Z');
SELECT * FROM user_activity.ensure_partition('2020-01-02 03:00Z');
RESET user_activity.partition_interval;
SELECT * FROM user_activity.ensure_partition('2020-01-02 12:00Z');
SET user_activity.partition_interval = '10min';
RESET user_activity.partition_interval;

-- the functions are not for the writer or the reader
SET ROLE user_activity_writer;
SELECT user_activity.maintain_partitions();
SELECT * FROM user_activity.ensure_partition(now());
RESET ROLE;

--
-- Dedup across partitions: the same (user_id, event_id) in another
-- partition is still a duplicate
--
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
VALUES (9, 'created', '2020-01-01 10:00Z', '2020-01-01 10:00Z', 'cccccccc-0000-4000-8000-000000000009');
SELECT r->>'status' AS status, r->>'recorded_at' AS recorded_at FROM user_activity.record_event(
    '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000009"}') r;
SELECT r->'results'->0->>'status' AS status, r->'results'->0->>'recorded_at' AS recorded_at
FROM user_activity.record_events($$[
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000009"}
]$$) r;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, event_id)
VALUES (9, 'created', '2025-10-10 18:30Z', 'cccccccc-0000-4000-8000-000000000009');
-- a deleted event frees its key
SELECT user_activity.delete_user_events(9) ->> 'events_deleted' AS deleted;
SELECT count(*) AS keys FROM user_activity.event_keys WHERE user_id = 9;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000009"}') r;
-- every key names its event, but for the two whose partitions were dropped
-- by hand above (retention drops keys with their partitions)
SELECT count(*) AS keys, count(e.id) AS matched
FROM user_activity.event_keys k
LEFT JOIN user_activity.events e ON e.user_id = k.user_id AND e.recorded_at = k.recorded_at AND e.id = k.id;

--
-- Search reads only the partitions of its range
--
SELECT count(*) FROM (SELECT user_activity.ensure_partition(t)
                      FROM generate_series('2025-10-10 00:00Z'::timestamptz, '2025-10-14 00:00Z', '1 day') t) p;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at)
SELECT 6, 'viewed', '2025-10-10 00:00Z', t
FROM generate_series('2025-10-10 00:00Z'::timestamptz, '2025-10-14 23:00Z', '1 hour') t;
-- the query of search_events, with fixed timestamps: one day, one partition
EXPLAIN (COSTS OFF)
SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, e.event_id, e.recorded_at
FROM user_activity.events e
WHERE e.user_id = 6
  AND (e.recorded_at, e.id) > ('2025-10-12 00:00Z', 0)
  AND e.recorded_at >= '2025-10-12 00:00Z'
  AND e.recorded_at < '2025-10-13 00:00Z'
  AND (NULL::text[] IS NULL OR e.action = ANY (NULL::text[]::user_activity.action[]))
ORDER BY e.recorded_at, e.id
LIMIT 100;
-- with parameters (a generic plan), it prunes when it starts; search_events
-- also names the bounds of each span of partitions it reads (see
-- search_partitions.sql)
SET plan_cache_mode = force_generic_plan;
PREPARE find(bigint, timestamptz, bigint, timestamptz) AS
SELECT e.id FROM user_activity.events e
WHERE e.user_id = $1 AND (e.recorded_at, e.id) > ($2, $3) AND e.recorded_at >= $2 AND e.recorded_at < $4
ORDER BY e.recorded_at, e.id LIMIT 100;
EXPLAIN (COSTS OFF) EXECUTE find(6, '2025-10-12 00:00Z', 0, '2025-10-14 00:00Z');
EXECUTE find(6, '2025-10-12 22:00Z', 0, '2025-10-13 02:00Z');
DEALLOCATE find;
RESET plan_cache_mode;
-- and the results are those of an unpartitioned search
SELECT count(*), min(recorded_at), max(recorded_at)
FROM user_activity.find_events(6, '2025-10-11 12:00Z', '2025-10-13 12:00Z');
SELECT (r.body::jsonb)->0->>'recorded_at' AS first, jsonb_array_length(r.body::jsonb) AS n, r.next_cursor IS NOT NULL AS more
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-11T12:00:00Z", "to": "2025-10-13T12:00:00Z", "limit": "30"}') r;
