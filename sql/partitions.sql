--
-- Partitions: events are partitioned by recorded_at; partitions are made
-- ahead by maintain_partitions(); ingest never fails for want of one (it
-- makes it); a direct INSERT no partition holds is refused, and nothing
-- lands where it would block maintenance (there is no default partition);
-- searches read only the partitions of their range; dedup holds across
-- partitions.  Every check of "now" shares a transaction with what it
-- checks, so that the result does not depend on the time of day.
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

-- CREATE EXTENSION makes no partition (a restored dump brings its own) and
-- no default partition; the indexes are each partition's own, made from
-- the template, and the table has none (pg_restore would find the ones
-- ATTACH PARTITION makes from them "already exists"; add an index to
-- events_template and to the partitions instead)
SELECT count(*) AS partitions FROM pg_inherits WHERE inhparent = 'user_activity.events'::regclass;
SELECT count(*) AS indexes_of_events FROM pg_index WHERE indrelid = 'user_activity.events'::regclass;
SELECT indexrelid::regclass AS template_index, indisprimary AS primary_key FROM pg_index
WHERE indrelid = 'user_activity.events_template'::regclass ORDER BY 1::text;

-- maintenance makes the current partition and 7 ahead: one day each,
-- aligned to midnight UTC, contiguous, and a second run makes none (one
-- transaction: now() is the same for every statement, whatever the hour)
BEGIN;
SELECT r->'partitions_created' AS created FROM user_activity.maintain_partitions() r;
SELECT count(*) AS partitions,
       min(partition_from) = date_bin('1 day', now(), '2000-01-01 00:00Z') AS starts_today,
       bool_and(partition_to - partition_from = interval '1 day') AS one_day_each,
       max(partition_to) - min(partition_from) = interval '8 days' AS contiguous
FROM user_activity.event_partitions;
SELECT r->'partitions_created' AS created FROM user_activity.maintain_partitions() r;
COMMIT;
-- each has the template's indexes, its own
SELECT count(*) AS partitions, min(n) AS min_indexes, max(n) AS max_indexes, bool_and(has_pkey) AS primary_keys
FROM (SELECT p.partition, count(i.indexrelid) AS n, bool_or(i.indisprimary) AS has_pkey
      FROM user_activity.event_partitions p JOIN pg_index i ON i.indrelid = p.partition
      GROUP BY 1) x;
SELECT count(*) AS attached_to_a_parent_index FROM user_activity.event_partitions p
JOIN pg_index i ON i.indrelid = p.partition JOIN pg_inherits h ON h.inhrelid = i.indexrelid;
-- they are data, not members of the extension (pg_dump dumps them); no
-- member of the extension is a partition
SELECT d.objid::regclass AS member FROM pg_depend d
JOIN pg_inherits i ON i.inhrelid = d.objid AND i.inhparent = 'user_activity.events'::regclass
WHERE d.deptype = 'e';
SELECT c::regclass AS dumped FROM pg_extension, unnest(extconfig) c
WHERE extname = 'user_activity' AND c::regclass::text LIKE 'user_activity.events%' ORDER BY 1;

--
-- No partition for the current time: ingest creates it and never fails
-- (each in a transaction, so that "now" is the time ingest recorded)
--
CREATE FUNCTION pg_temp.drop_partitions(after timestamptz DEFAULT '-infinity') RETURNS integer LANGUAGE plpgsql AS $$
DECLARE r record; n integer := 0;
BEGIN
    FOR r IN SELECT partition FROM user_activity.event_partitions WHERE partition_from >= after LOOP
        EXECUTE format('DROP TABLE %s', r.partition);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
SELECT pg_temp.drop_partitions() > 0 AS dropped;
BEGIN;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT count(*) AS partitions, bool_and(now() >= partition_from AND now() < partition_to) AS holds_now
FROM user_activity.event_partitions;
COMMIT;
-- the same with an event_id, and a batch, after the partition is gone again
-- (in this session: its cached bounds are forgotten)
SELECT pg_temp.drop_partitions() AS dropped;
BEGIN;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "cccccccc-0000-4000-8000-000000000001"}') r;
SELECT count(*) AS partitions, bool_and(now() >= partition_from AND now() < partition_to) AS holds_now
FROM user_activity.event_partitions;
COMMIT;
SELECT pg_temp.drop_partitions() AS dropped;
BEGIN;
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates FROM user_activity.record_events($$[
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"},
  {"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "cccccccc-0000-4000-8000-000000000002"}
]$$) r;
SELECT count(*) AS partitions, bool_and(now() >= partition_from AND now() < partition_to) AS holds_now
FROM user_activity.event_partitions;
COMMIT;
SELECT pg_temp.drop_partitions() AS dropped;
BEGIN;
SELECT r->>'status' AS status FROM user_activity.record_event(7, 'updated', '2025-10-10 18:30Z', '{}', NULL) r;
SELECT count(*) AS partitions, bool_and(now() >= partition_from AND now() < partition_to) AS holds_now
FROM user_activity.event_partitions;
COMMIT;
-- and as the writer role, whose functions run as the owner
SELECT pg_temp.drop_partitions() AS dropped;
SET ROLE user_activity_writer;
BEGIN;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "cccccccc-0000-4000-8000-000000000003"}') r;
SELECT r->'stored' AS stored FROM user_activity.record_events($$[
  {"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}
]$$) r;
COMMIT;
RESET ROLE;
SELECT count(*) AS events FROM user_activity.events WHERE user_id = 7;

--
-- A direct INSERT that no partition holds fails, naming its recorded_at,
-- and leaves nothing behind; ensure_partitions() makes the partitions of a
-- range first (a backfill)
--
\set VERBOSITY verbose
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at)
VALUES (8, 'viewed', '2020-01-01 10:00Z', '2020-01-01 10:00Z');
\set VERBOSITY default
SELECT count(*) AS stored FROM user_activity.events WHERE user_id = 8;
SELECT user_activity.ensure_partitions('2020-01-01 00:00Z', '2020-01-01 10:00Z') AS made;
SELECT user_activity.ensure_partitions('2020-01-01 00:00Z', '2020-01-01 10:00Z') AS made_again;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at)
VALUES (8, 'viewed', '2020-01-01 10:00Z', '2020-01-01 10:00Z');
SELECT tableoid::regclass AS partition, recorded_at FROM user_activity.events WHERE user_id = 8 ORDER BY recorded_at;
-- an empty range makes nothing; a bad one is refused, naming the parameter
SELECT user_activity.ensure_partitions('2020-01-03 00:00Z', '2020-01-03 00:00Z') AS made;
SELECT user_activity.ensure_partitions('2020-01-03 00:00Z', '2020-01-02 00:00Z');
SELECT user_activity.ensure_partitions(NULL, '2020-01-02 00:00Z');
SELECT user_activity.ensure_partitions('2020-01-03 00:00Z', 'infinity');
SELECT user_activity.ensure_partitions('-infinity', '2020-01-03 00:00Z');

-- a partition made with another interval keeps its bounds; a new one next
-- to it is clipped
SET user_activity.partition_interval = '6h';
SELECT * FROM user_activity.ensure_partition('2020-01-02 23:00Z');
SELECT * FROM user_activity.ensure_partition('2020-01-02 03:00Z');
RESET user_activity.partition_interval;
SELECT * FROM user_activity.ensure_partition('2020-01-02 12:00Z');
SET user_activity.partition_interval = '10min';
RESET user_activity.partition_interval;
-- a range across partitions of other widths fills the gaps only
SELECT user_activity.ensure_partitions('2020-01-01 18:00Z', '2020-01-03 12:00Z') AS made;
SELECT partition, partition_from, partition_to FROM user_activity.event_partitions
WHERE partition_from < '2020-01-04' ORDER BY partition_from;

-- the functions are not for the writer or the reader
SET ROLE user_activity_writer;
SELECT user_activity.maintain_partitions();
SELECT * FROM user_activity.ensure_partition(now());
SELECT user_activity.ensure_partitions(now(), now());
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
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
VALUES (9, 'created', '2025-10-10 18:30Z', '2020-01-01 11:00Z', 'cccccccc-0000-4000-8000-000000000009');
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
-- Search reads only the partitions of its range (those of today go first,
-- so that the plan is the same on any day)
--
SELECT pg_temp.drop_partitions('2025-10-15') > 0 AS dropped;
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
