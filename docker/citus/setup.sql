-- user_activity on Citus: events, their keys, the counts and the active
-- users' rollup distributed by user_id and co-located, so that everything
-- about one user lives on one node; the distinct users per day, which
-- belong to no user, are a reference table.  Run on the coordinator (docker/citus/setup.sh); see README
-- "Scaling out".

SELECT citus_set_coordinator_host('citus-coordinator', 5432);
SELECT citus_add_node('citus-worker-1', 5432);
SELECT citus_add_node('citus-worker-2', 5432);

CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS user_activity;

-- Version 1.2 has no default partition; a database made with 1.1 had the
-- transit partition for direct writes, which Citus does not need: ingest
-- creates a missing partition itself, and distributed direct writes must
-- stay within the partitions maintain_partitions() makes ahead.
DO $$
BEGIN
    IF pg_catalog.to_regclass('user_activity.events_default') IS NOT NULL THEN
        ALTER EXTENSION user_activity DROP TABLE user_activity.events_default;
        DROP TABLE user_activity.events_default;
    END IF;
END
$$;

-- The key triggers write to event_keys, which is co-located: the key of a
-- row goes to the shard of the same user_id, on the same node.  Citus asks
-- for this setting only on the coordinator, to distribute a table that has
-- triggers or to create one on a distributed table (ALTER SYSTEM keeps it
-- for later updates of the extension); the workers run the shards'
-- triggers without it.
SET citus.enable_unsafe_triggers = on;
ALTER SYSTEM SET citus.enable_unsafe_triggers = on;
SELECT pg_reload_conf();

SELECT create_distributed_table('user_activity.events', 'user_id')
WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'user_activity.events'::regclass);
SELECT create_distributed_table('user_activity.event_keys', 'user_id', colocate_with => 'user_activity.events')
WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'user_activity.event_keys'::regclass);
SELECT create_distributed_table('user_activity.user_event_counts', 'user_id', colocate_with => 'user_activity.events')
WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'user_activity.user_event_counts'::regclass);
SELECT create_distributed_table('user_activity.user_day_activity', 'user_id', colocate_with => 'user_activity.events')
WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'user_activity.user_day_activity'::regclass);
SELECT create_reference_table('user_activity.daily_active_users')
WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'user_activity.daily_active_users'::regclass);

-- Counting and maintenance run on the coordinator, with pg_cron; the
-- current partition and those ahead are made now, for direct writes.
SELECT user_activity.schedule_counting(:'schedule');
SELECT user_activity.schedule_maintenance();
SELECT user_activity.maintain_partitions();

SELECT logicalrelid, partmethod, colocationid FROM pg_dist_partition ORDER BY 1;
