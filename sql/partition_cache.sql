--
-- Partition cache: a session caches the partition that holds the current
-- time and inserts straight into it.  Whatever happens to that partition
-- meanwhile (dropped and made again with other bounds, renamed, detached,
-- replaced by another table, dropped in the same transaction), ingest
-- still succeeds and the event lands in the partition that tuple routing
-- picks for its recorded_at, never in a stale or detached table.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- where an event lands, against the partition that holds now()
CREATE FUNCTION pg_temp.landed(uid bigint) RETURNS TABLE (events bigint, where_routing_puts_it boolean)
LANGUAGE sql AS $$
    SELECT count(*),
           bool_and(e.tableoid = (SELECT p.partition FROM user_activity.event_partitions p
                                  WHERE e.recorded_at >= p.partition_from AND e.recorded_at < p.partition_to))
    FROM user_activity.events e WHERE e.user_id = uid
$$;
CREATE FUNCTION pg_temp.current_partition() RETURNS regclass
LANGUAGE sql AS $$
    SELECT p.partition FROM user_activity.event_partitions p
    WHERE now() >= p.partition_from AND now() < p.partition_to
$$;

-- the first event makes the partition (CREATE EXTENSION makes none); the
-- cache is warm then: both kinds of single event
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "dddddddd-0000-4000-8000-000000000001"}') r;
SELECT * FROM pg_temp.landed(1);

-- the result is the jsonb that its own text makes, byte for byte
SELECT r = r::text::jsonb AS same, pg_column_size(r) = pg_column_size(r::text::jsonb) AS same_size,
       r->'metadata'->'deep'->'a'->1 AS nested, r->>'event_id' AS event_id, r ? 'status' AS has_status
FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00.5Z", "action": "viewed", "metadata": {"n": 1.50, "ip": "1.2.3.4", "deep": {"a": [1, "x", null, true, -2e3]}}}') r;
SELECT r = r::text::jsonb AS same, pg_column_size(r) = pg_column_size(r::text::jsonb) AS same_size,
       r->>'status' AS status, r->'metadata' AS metadata
FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "event_id": "dddddddd-0000-4000-8000-000000000001"}') r;
SELECT r = r::text::jsonb AS same, pg_column_size(r) = pg_column_size(r::text::jsonb) AS same_size
FROM user_activity.record_event(2, 'updated', '2025-10-10 18:30Z', '{}', 'dddddddd-0000-4000-8000-000000000002') r;

--
-- The current partition dropped and made again with other bounds (as
-- retention and maintenance may): the next event goes to the new one
--
DO $$ BEGIN EXECUTE format('DROP TABLE %s', pg_temp.current_partition()); END $$;
SET user_activity.partition_interval = '1h';
SELECT partition_to - partition_from AS new_width FROM user_activity.ensure_partition(now());
RESET user_activity.partition_interval;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 3, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 3, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "dddddddd-0000-4000-8000-000000000003"}') r;
SELECT * FROM pg_temp.landed(3);
SELECT p.partition_to - p.partition_from AS width FROM user_activity.event_partitions p
WHERE p.partition = pg_temp.current_partition();

--
-- Renamed: the statements that name it are made again
--
DO $$ BEGIN EXECUTE format('ALTER TABLE %s RENAME TO events_renamed', pg_temp.current_partition()); END $$;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 4, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 4, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "dddddddd-0000-4000-8000-000000000004"}') r;
SELECT * FROM pg_temp.landed(4);
SELECT pg_temp.current_partition() AS current;
-- and a new table takes its old name, outside the partitioned table: the
-- events do not follow the name
ALTER TABLE user_activity.events_renamed RENAME TO events_renamed2;
CREATE TABLE user_activity.events_renamed (LIKE user_activity.events);
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 5, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT * FROM pg_temp.landed(5);
SELECT count(*) AS in_impostor FROM user_activity.events_renamed;
DROP TABLE user_activity.events_renamed;

--
-- Detached: it keeps what it had; the next event makes a new partition
--
CREATE TABLE pg_temp.detached_name AS SELECT pg_temp.current_partition()::text AS name;
DO $$ BEGIN EXECUTE format('ALTER TABLE user_activity.events DETACH PARTITION %s', pg_temp.current_partition()); END $$;
SELECT pg_temp.current_partition() IS NULL AS none_holds_now;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "dddddddd-0000-4000-8000-000000000006"}') r;
SELECT * FROM pg_temp.landed(6);
DO $$
DECLARE n bigint;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s WHERE user_id = 6', (SELECT name FROM pg_temp.detached_name)) INTO n;
    RAISE NOTICE 'events of user 6 in the detached table: %', n;
    EXECUTE format('DROP TABLE %s', (SELECT name FROM pg_temp.detached_name));
END
$$;

--
-- Replaced by a table of another column order, attached by hand
--
DO $$
DECLARE
    v_from timestamptz;
    v_to timestamptz;
BEGIN
    SELECT p.partition_from, p.partition_to INTO v_from, v_to FROM user_activity.event_partitions p
    WHERE p.partition = pg_temp.current_partition();
    EXECUTE format('DROP TABLE %s', pg_temp.current_partition());
    CREATE TABLE user_activity.events_by_hand (
        metadata jsonb NOT NULL DEFAULT '{}', event_id uuid, recorded_at timestamptz NOT NULL,
        action user_activity.action NOT NULL, event_action_timestamp timestamptz NOT NULL,
        user_id bigint NOT NULL, id bigint NOT NULL,
        CONSTRAINT events_metadata_check CHECK (jsonb_typeof(metadata) = 'object'),
        CONSTRAINT events_user_id_check CHECK (user_id > 0));
    EXECUTE format('ALTER TABLE user_activity.events ATTACH PARTITION user_activity.events_by_hand FOR VALUES FROM (%L) TO (%L)',
                   v_from, v_to);
END
$$;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {"k": "v"}}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "dddddddd-0000-4000-8000-000000000007"}') r;
SELECT * FROM pg_temp.landed(7);
SELECT user_id, action, metadata, event_id FROM user_activity.events_by_hand ORDER BY id;
-- a taken key is still a duplicate there: the key trigger was cloned on attach
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "dddddddd-0000-4000-8000-000000000007"}') r;
-- and its partition constraint holds for a direct insert
INSERT INTO user_activity.events_by_hand (id, user_id, action, event_action_timestamp, recorded_at)
VALUES (-1, 7, 'viewed', '2000-01-01 00:00Z', '2000-01-01 00:00Z');

--
-- Dropped in the very transaction that filled the cache
--
BEGIN;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
DO $$ BEGIN EXECUTE format('DROP TABLE %s', pg_temp.current_partition()); END $$;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "dddddddd-0000-4000-8000-000000000008"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT * FROM pg_temp.landed(8);
COMMIT;
SELECT * FROM pg_temp.landed(8);
-- and rolled back: the partition it made is gone with it, so is the cache
BEGIN;
DO $$ BEGIN EXECUTE format('DROP TABLE %s', pg_temp.current_partition()); END $$;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
ROLLBACK;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}') r;
SELECT * FROM pg_temp.landed(9);
