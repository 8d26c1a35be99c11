--
-- Counts
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- partitions for the direct INSERTs below: the current one and those
-- ahead (recorded_at defaults to now()), and the day of the fixed times
SELECT user_activity.maintain_partitions() IS NOT NULL AS partitions_ready;
SELECT user_activity.ensure_partitions('2025-10-10 00:00Z', '2025-10-11 00:00Z') AS made;
\set SHOW_CONTEXT never

\d user_activity.user_event_counts
\d user_activity.counting_state

-- helpers: a run's summary without its clock times; the proof that every
-- committed event is counted exactly once, per user and action
CREATE FUNCTION pg_temp.count() RETURNS TABLE (status text, users bigint, events bigint)
LANGUAGE sql AS $$
SELECT r ->> 'status', (r ->> 'users')::bigint, (r ->> 'events')::bigint
FROM user_activity.count_activity() r
$$;
CREATE FUNCTION pg_temp.proof() RETURNS TABLE (user_id bigint, committed bigint, counted bigint,
                                               per_action_equal boolean)
LANGUAGE sql AS $$
SELECT user_id, COALESCE(e.n, 0), COALESCE(c.n, 0),
       e.c IS NOT DISTINCT FROM c.c AND e.u IS NOT DISTINCT FROM c.u
       AND e.d IS NOT DISTINCT FROM c.d AND e.v IS NOT DISTINCT FROM c.v
FROM (SELECT user_id, count(*) AS n,
             count(*) FILTER (WHERE action = 'created') AS c,
             count(*) FILTER (WHERE action = 'updated') AS u,
             count(*) FILTER (WHERE action = 'deleted') AS d,
             count(*) FILTER (WHERE action = 'viewed') AS v
      FROM user_activity.events GROUP BY user_id) e
FULL JOIN (SELECT user_id, sum(event_count)::bigint AS n, sum(created_count)::bigint AS c,
                  sum(updated_count)::bigint AS u, sum(deleted_count)::bigint AS d,
                  sum(viewed_count)::bigint AS v
           FROM user_activity.user_event_counts GROUP BY user_id) c USING (user_id)
ORDER BY user_id
$$;
-- periods: one start per run, each starting where the previous one ended
CREATE FUNCTION pg_temp.periods() RETURNS TABLE (periods bigint, rows bigint, contiguous boolean,
                                                 positive boolean)
LANGUAGE sql AS $$
WITH p AS (SELECT DISTINCT period_start, period_end FROM user_activity.user_event_counts),
     l AS (SELECT period_start, period_end,
                  lag(period_end) OVER (ORDER BY period_start) AS previous_end
           FROM p)
SELECT count(*), (SELECT count(*) FROM user_activity.user_event_counts),
       COALESCE(bool_and(previous_end IS NULL OR previous_end = period_start), true),
       COALESCE(bool_and(period_end > period_start), true)
FROM l
$$;

-- before any run
SELECT last_run_at, last_success_at, last_outcome, last_error, seconds_since_last_success,
       events_counted
FROM user_activity.counting_status;

-- no events: empty, nothing stored
SELECT * FROM pg_temp.count();
SELECT count(*) AS state_rows FROM user_activity.counting_state;
SELECT last_outcome, events_counted FROM user_activity.counting_status;

-- first events, per action
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata) VALUES
    (1, 'created', '2025-10-10T18:30:00Z', '2025-10-10T18:30:01Z', '{"ip": "192.168.1.10"}'),
    (1, 'updated', '2025-10-10T18:31:00Z', '2025-10-10T18:31:01Z', '{}'),
    (1, 'updated', '2025-10-10T18:32:00Z', '2025-10-10T18:32:01Z', '{}'),
    (1, 'viewed',  '2025-10-10T18:33:00Z', '2025-10-10T18:33:01Z', '{}'),
    (2, 'created', '2025-10-10T18:00:00Z', '2025-10-10T18:00:00Z', '{}'),
    (2, 'deleted', '2025-10-10T18:40:00Z', '2025-10-10T18:40:01Z', '{}'),
    (3, 'viewed',  '2025-10-10T19:00:00Z', '2025-10-10T19:00:01Z', '{}');
SELECT * FROM pg_temp.count();
-- the first period starts at the earliest event counted
SELECT user_id, period_start, event_count, created_count, updated_count, deleted_count, viewed_count
FROM user_activity.user_event_counts ORDER BY user_id;
SELECT period_end > '2025-10-10T19:00:01Z' AS ends_after_the_events,
       period_end = (SELECT last_period_end FROM user_activity.counting_state) AS position_saved
FROM user_activity.user_event_counts WHERE user_id = 1;
SELECT last_id = (SELECT max(id) FROM user_activity.events) AS position_is_last_id
FROM user_activity.counting_state;

-- nothing new: empty, no rows, position unchanged
CREATE TEMP TABLE state_before AS SELECT * FROM user_activity.counting_state;
SELECT * FROM pg_temp.count();
SELECT * FROM pg_temp.periods();
SELECT s.last_id = b.last_id AND s.last_period_end = b.last_period_end AS unchanged
FROM user_activity.counting_state s, state_before b;
SELECT last_outcome, events_counted, last_success_at IS NOT NULL AS succeeded
FROM user_activity.counting_status;

-- ids taken by a rolled back insert: still empty
BEGIN;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (4, 'viewed', '2025-10-10T19:00:00Z');
ROLLBACK;
SELECT * FROM pg_temp.count();
SELECT s.last_id = b.last_id AND s.last_period_end = b.last_period_end AS unchanged
FROM user_activity.counting_state s, state_before b;

-- missed runs: the next run catches up the whole gap in one period
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
SELECT 1 + i % 3, (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
       '2025-10-11T00:00:00Z'
FROM generate_series(1, 12) i;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
SELECT 4, 'viewed', '2025-10-11T00:00:00Z' FROM generate_series(1, 5);
SELECT * FROM pg_temp.count();
SELECT * FROM pg_temp.periods();
SELECT * FROM pg_temp.proof();

-- a count rolled back with its transaction loses nothing
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (5, 'created', '2025-10-12T00:00:00Z'), (1, 'deleted', '2025-10-12T00:00:00Z');
BEGIN;
SELECT * FROM pg_temp.count();
ROLLBACK;
SELECT * FROM pg_temp.count();
SELECT * FROM pg_temp.proof();

-- invalid: a count in a repeatable read transaction could miss late writers
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM pg_temp.count();
ROLLBACK;

-- invalid: a cached event id sequence could hand out ids below the position
ALTER SEQUENCE user_activity.events_id_seq CACHE 10;
SELECT * FROM pg_temp.count();
ALTER SEQUENCE user_activity.events_id_seq CACHE 1;

-- invalid: a sequence set back below the position (e.g. by a partial
-- restore) would hand out ids that are never counted
SELECT last_id AS position FROM user_activity.counting_state \gset
SELECT setval('user_activity.events_id_seq', 3) IS NOT NULL AS set_back;
SELECT * FROM pg_temp.count();
SELECT setval('user_activity.events_id_seq', :position) IS NOT NULL AS restored;
SELECT * FROM pg_temp.count();

-- a failed run (the pg_cron job's command) is recorded, then raised; the
-- position stays, and the next run catches up
CREATE FUNCTION pg_temp.fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'simulated failure' USING ERRCODE = 'XX123';
END;
$$;
CREATE TRIGGER fail BEFORE INSERT ON user_activity.user_event_counts
    FOR EACH ROW EXECUTE FUNCTION pg_temp.fail();
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (6, 'viewed', '2025-10-13T00:00:00Z'), (6, 'created', '2025-10-13T00:00:00Z');
\set VERBOSITY sqlstate
CALL user_activity.run_counting();
\set VERBOSITY default
SELECT last_outcome, last_error, last_run_at > last_success_at AS failed_after_success
FROM user_activity.counting_status;
SELECT outcome, error_sqlstate, error FROM user_activity.counting_runs ORDER BY id DESC LIMIT 1;
SELECT count(*) AS user_6_rows FROM user_activity.user_event_counts WHERE user_id = 6;
DROP TRIGGER fail ON user_activity.user_event_counts;
CALL user_activity.run_counting();
SELECT last_outcome, last_error, events_counted, last_run_at = last_success_at AS ok
FROM user_activity.counting_status;
SELECT * FROM pg_temp.proof();
SELECT * FROM pg_temp.periods();

-- history older than user_activity.counting_history_keep is purged by the
-- next run; the last success is kept
SHOW user_activity.counting_history_keep;
SET user_activity.counting_history_keep = '10s';
SET user_activity.counting_history_keep = '1d';
SHOW user_activity.counting_history_keep;
INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome, error_sqlstate, error)
VALUES ('2025-01-01T00:00:00Z', '2025-01-01T00:00:01Z', 'error', 'XX000', 'old failure');
SELECT count(*) AS old_runs FROM user_activity.counting_runs WHERE finished_at < '2026-01-01';
INSERT INTO user_activity.events (user_id, action, event_action_timestamp)
VALUES (1, 'viewed', '2025-10-14T00:00:00Z');
SELECT * FROM pg_temp.count();
SELECT count(*) AS old_runs FROM user_activity.counting_runs WHERE finished_at < '2026-01-01';
-- empty runs purge too, and the last success and the last run stay however old
UPDATE user_activity.counting_runs SET started_at = '2025-01-01T00:00:00Z', finished_at = '2025-01-01T00:00:01Z';
INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome, error_sqlstate, error)
VALUES ('2025-01-02T00:00:00Z', '2025-01-02T00:00:01Z', 'error', 'XX000', 'old failure');
SELECT user_activity.counting_purge_history();
SELECT outcome, finished_at < '2026-01-01' AS old FROM user_activity.counting_runs ORDER BY id;
SELECT * FROM pg_temp.count();
SELECT outcome, finished_at < '2026-01-01' AS old FROM user_activity.counting_runs ORDER BY id;
RESET user_activity.counting_history_keep;

-- events recorded through the ingest functions are counted the same way
SELECT user_activity.record_events('[
    {"user_id": 7, "action": "created", "event_action_timestamp": "2025-10-10T18:30:00Z"},
    {"user_id": 7, "action": "viewed", "event_action_timestamp": "2025-10-10T18:31:00Z"},
    {"user_id": 8, "action": "jumped", "event_action_timestamp": "2025-10-10T18:31:00Z"}]')::jsonb - 'results' AS batch;
SELECT user_activity.record_event('{"user_id": 7, "action": "updated", "event_action_timestamp": "2025-10-10T18:32:00Z"}')::jsonb ->> 'status' AS single;
SELECT * FROM pg_temp.count();
SELECT * FROM pg_temp.proof() WHERE user_id = 7;

-- erasure: a user's events and counts go in one transaction
SELECT user_activity.delete_user_events(1);
SELECT user_activity.delete_user_events(1);
SELECT * FROM pg_temp.count();
SELECT * FROM pg_temp.proof();
-- invalid user ids
\set VERBOSITY sqlstate
SELECT user_activity.delete_user_events(NULL);
SELECT user_activity.delete_user_events(0);
\set VERBOSITY default

-- roles: the shim (writer) reads counts and erases; only the owner counts
SELECT p.oid::regprocedure AS function,
       has_function_privilege('user_activity_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('user_activity_writer', p.oid, 'EXECUTE') AS writer,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public,
       p.prosecdef AS security_definer,
       p.proconfig AS settings
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'user_activity'
WHERE p.proname ~ '^(count|user_counts|top_users|counting|schedule_counting|unschedule_counting|run_counting|delete_user_events)'
ORDER BY p.oid::regprocedure::text;
SET ROLE user_activity_writer;
\set VERBOSITY sqlstate
SELECT user_activity.count_activity();
INSERT INTO user_activity.user_event_counts VALUES (1, '2025-01-01', '2025-01-02', 0, 0, 0, 0, 0);
\set VERBOSITY default
SELECT user_activity.delete_user_events(2);
SELECT last_outcome FROM user_activity.counting_status;
RESET ROLE;
SELECT * FROM pg_temp.proof();

-- every object has a comment
SELECT c.relname
FROM pg_class c
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'user_activity'
WHERE obj_description(c.oid, 'pg_class') IS NULL AND c.relkind IN ('r', 'v', 'S')
  AND c.relname ~ '^(user_event_counts|counting)'
ORDER BY 1;
SELECT p.oid::regprocedure
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'user_activity'
WHERE obj_description(p.oid, 'pg_proc') IS NULL
  AND p.proname ~ '^(count|user_counts|top_users|counting|schedule_counting|unschedule_counting|run_counting|delete_user_events)'
ORDER BY p.oid::regprocedure::text;
