--
-- Retention: expired partitions of events are dropped whole, with the keys
-- of their events; counts stay unless their own retention says otherwise.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- nothing expires by default (no row)
SELECT count(*) AS settings FROM user_activity.retention;

-- invalid retentions are refused, naming the parameter
SELECT user_activity.set_retention('0 days');
SELECT user_activity.set_retention('-1 day');
SELECT user_activity.set_counts_retention('-1 day');
-- and only the owner sets them
SET ROLE user_activity_writer;
SELECT user_activity.set_retention('30 days');
RESET ROLE;
SET ROLE user_activity_reader;
SELECT count(*) AS settings FROM user_activity.retention;
RESET ROLE;

-- What depends on the time of day runs in one transaction: now(), which
-- the partitions, the events and the retention cutoff are all relative to,
-- is then one instant, and a run that crosses midnight UTC gives the same
-- result.
BEGIN;
-- forty days of events, one partition a day, one event an hour, every
-- fourth with an event_id
SELECT count(*) AS partitions FROM (
    SELECT user_activity.ensure_partition(t)
    FROM generate_series(now() - interval '40 days', now() - interval '1 day', interval '1 day') t) p;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
SELECT 1 + h % 3, 'viewed', t, t,
       CASE WHEN h % 4 = 0 THEN ('dddddddd-0000-4000-8000-' || lpad(h::text, 12, '0'))::uuid END
FROM generate_series(date_bin('1 day', now(), '2000-01-01') - interval '40 days',
                     date_bin('1 day', now(), '2000-01-01') - interval '1 hour', interval '1 hour')
     WITH ORDINALITY AS g(t, h);
SELECT count(*) AS events, count(event_id) AS with_event_id FROM user_activity.events;
SELECT r->>'status' AS status, r->>'events' AS events FROM user_activity.count_activity() r;

SELECT user_activity.set_retention('30 days');
-- the partitions wholly older than 30 days go, and nothing else
SELECT jsonb_array_length(r->'partitions_dropped') AS dropped, r->'event_keys_deleted' AS keys_deleted,
       r->'counts_deleted' AS counts_deleted, r->'retention_postponed' AS postponed
FROM user_activity.maintain_partitions() r;
SELECT count(*) AS partitions, min(partition_from) >= now() - interval '31 days' AS none_older
FROM user_activity.event_partitions WHERE partition_to <= now();
SELECT count(*) AS events, min(recorded_at) = date_bin('1 day', now(), '2000-01-01') - interval '30 days' AS oldest
FROM user_activity.events;
-- dropped whole: no table of theirs is left
SELECT count(*) AS left_over FROM pg_class c
WHERE c.relnamespace = 'user_activity'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'events_p%'
  AND c.oid NOT IN (SELECT partition FROM user_activity.event_partitions);
-- keys went with their events
SELECT count(*) AS keys, min(recorded_at) >= date_bin('1 day', now(), '2000-01-01') - interval '30 days' AS none_older
FROM user_activity.event_keys;
-- the counts of dropped events stay
SELECT sum(event_count) AS counted FROM user_activity.user_event_counts;

-- dedup is bounded by retention: an expired event_id may be stored again,
-- a kept one is still a duplicate
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 2, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "dddddddd-0000-4000-8000-000000000004"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    (SELECT jsonb_build_object('user_id', e.user_id, 'event_action_timestamp', '2025-10-10T18:30:00Z',
                               'action', 'created', 'event_id', e.event_id)
     FROM user_activity.events e WHERE e.event_id IS NOT NULL ORDER BY e.recorded_at LIMIT 1)) r;

-- a second run has nothing to drop
SELECT jsonb_array_length(r->'partitions_dropped') AS dropped FROM user_activity.maintain_partitions() r;
COMMIT;

--
-- Counts have their own retention
--
INSERT INTO user_activity.user_event_counts
    (user_id, period_start, period_end, event_count, created_count, updated_count, deleted_count, viewed_count)
VALUES (1, '2020-01-01 00:00Z', '2020-01-01 04:00Z', 1, 1, 0, 0, 0);
SELECT user_activity.set_counts_retention('365 days');
SELECT r->'counts_deleted' AS counts_deleted FROM user_activity.maintain_partitions() r;
SELECT count(*) AS periods, sum(event_count) AS counted FROM user_activity.user_event_counts;

-- null keeps for ever
SELECT user_activity.set_retention(NULL);
SELECT user_activity.set_counts_retention(NULL);
SELECT events_keep, counts_keep FROM user_activity.retention;
