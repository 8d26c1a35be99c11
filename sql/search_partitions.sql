--
-- Search across partitions: search_events reads a range span by span of
-- partitions (one, then two, four...) with a kept plan per span; pages
-- cross partition bounds with ties on them, empty partitions, a gap with no
-- partition (version 1.2 has no default partition), partitions attached and
-- dropped between two searches of one session, and the unpartitioned table
-- of version 1.0.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- every page of a search, followed by its cursors: the ids in order and
-- the number of pages
CREATE FUNCTION pg_temp.walk(params jsonb, OUT ids bigint[], OUT pages int)
LANGUAGE plpgsql AS $$
DECLARE
    cur text;
    b text;
BEGIN
    ids := '{}';
    pages := 0;
    LOOP
        SELECT s.body, s.next_cursor INTO b, cur FROM user_activity.search_events(
            params || CASE WHEN cur IS NULL THEN '{}' ELSE jsonb_build_object('cursor', cur) END) s;
        pages := pages + 1;
        ids := ids || ARRAY(SELECT (e->>'id')::bigint FROM jsonb_array_elements(b::jsonb) e);
        EXIT WHEN cur IS NULL OR pages > 1000;
    END LOOP;
END
$$;
-- the same rows by a plain query on the table
-- (text[], not the enum: the function outlives the extension at the end)
CREATE FUNCTION pg_temp.expected(uid bigint, since timestamptz, until timestamptz,
                                 acts text[] DEFAULT NULL) RETURNS bigint[]
LANGUAGE sql AS $$
SELECT coalesce(array_agg(id ORDER BY recorded_at, id), '{}') FROM user_activity.events
WHERE user_id = uid AND recorded_at >= since AND recorded_at < until
  AND (acts IS NULL OR action::text = ANY (acts))
$$;
-- the partitions of October 2025 that the current transaction holds a lock
-- on
CREATE FUNCTION pg_temp.locked() RETURNS text
LANGUAGE sql AS $$
SELECT string_agg(replace(c.relname, '_000000', ''), ' ' ORDER BY c.relname)
FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND c.relkind = 'r'
  AND c.relname LIKE 'events_p202510%'
$$;

-- Days 2025-10-10 to 2025-10-19, but for the 15th: that day is a gap,
-- with no partition and so no rows (until it gets its partition, below);
-- and the last day of September.
SELECT count(*) FROM (SELECT user_activity.ensure_partition(t)
                      FROM generate_series('2025-10-10 00:00Z'::timestamptz, '2025-10-19 00:00Z', '1 day') t
                      WHERE t <> '2025-10-15 00:00Z') p;
SELECT user_activity.ensure_partitions('2025-09-30 00:00Z', '2025-10-01 00:00Z') AS september;
SELECT partition, partition_from, partition_to FROM user_activity.event_partitions
WHERE partition_from < '2025-11-01' ORDER BY partition_from;
-- user 6: ties at the last instant of the 11th and at the first of the
-- 12th, nothing on the 13th and 14th (the 14th holds nobody's rows), rows
-- at the end of September, with a gap of nine days before the 10th; user 7
-- fills the 13th.  Rows 13 and 14, ties on the 15th, come with its
-- partition, below.
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata) VALUES
  (6, 'created', '2025-09-01 00:00Z', '2025-09-30 23:00Z',               '{"n": 1}'),
  (6, 'viewed',  '2025-09-01 00:00Z', '2025-09-30 23:00Z',               '{"n": 2}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-10 12:00Z',               '{"n": 3}'),
  (6, 'updated', '2025-10-01 00:00Z', '2025-10-10 12:00Z',               '{"n": 4}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-10 13:00Z',               '{"n": 5}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-11 23:59:59.999999Z',     '{"n": 6}'),
  (6, 'created', '2025-10-01 00:00Z', '2025-10-11 23:59:59.999999Z',     '{"n": 7}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-12 00:00Z',               '{"n": 8}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-12 00:00Z',               '{"n": 9}'),
  (6, 'updated', '2025-10-01 00:00Z', '2025-10-12 00:00Z',               '{"n": 10}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-12 00:00Z',               '{"n": 11}'),
  (7, 'viewed',  '2025-10-01 00:00Z', '2025-10-13 10:00Z',               '{"n": 12}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-16 00:00Z',               '{"n": 15}'),
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-19 23:59:59.999999Z',     '{"n": 16}'),
  (6, 'deleted', '2025-10-01 00:00Z', '2025-10-19 23:59:59.999999Z',     '{"n": 17}'),
  (6, 'deleted', '2025-10-01 00:00Z', '2025-10-19 23:59:59.999999Z',     '{"n": 18}');
SELECT tableoid::regclass AS part, array_agg(metadata->>'n' ORDER BY id) AS n
FROM user_activity.events GROUP BY 1 ORDER BY min(recorded_at);

-- Every page size walks the same rows in the same order as the plain
-- query, across every bound, tie, empty partition and the gap.
SELECT lim, w.pages, cardinality(w.ids) AS rows,
       w.ids = pg_temp.expected(6, '2025-09-01', '2025-11-01') AS same
FROM unnest(ARRAY[1, 2, 3, 4, 5, 7, 17, 100]) lim,
     pg_temp.walk(jsonb_build_object('user_id', '6', 'from', '2025-09-01T00:00:00Z',
                                     'to', '2025-11-01T00:00:00Z', 'limit', lim)) w
ORDER BY lim;
-- ranges that begin or end on a bound, in a gap, inside a partition
SELECT f, t, (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(s.body::jsonb) e) AS n,
       (SELECT array_agg((e->>'id')::bigint) FROM jsonb_array_elements(s.body::jsonb) e) IS NOT DISTINCT FROM
       nullif(pg_temp.expected(6, f::timestamptz, t::timestamptz), '{}') AS same
FROM (VALUES ('2025-10-12T00:00:00Z', '2025-10-15T06:00:00Z'),
             ('2025-10-11T23:59:59.999999Z', '2025-10-12T00:00:00.000001Z'),
             ('2025-10-13T00:00:00Z', '2025-10-16T00:00:00Z'),
             ('2025-10-15T00:00:00Z', '2025-10-16T00:00:00.000001Z'),
             ('2025-10-15T06:00:00Z', '2025-10-15T06:00:00Z'),
             ('2025-09-30T00:00:00Z', '2025-10-10T12:00:00.000001Z'),
             ('2025-10-16T00:00:01Z', '2025-10-19T23:59:59.999999Z'),
             ('2025-10-19T00:00:00Z', '2026-01-01T00:00:00Z')) r(f, t),
     user_activity.search_events(jsonb_build_object('user_id', '6', 'from', f, 'to', t)) s
ORDER BY f, t;
-- a filter that only the last day matches: the spans before it are empty,
-- and the page still ends at its size, with the cursor right after it
SELECT w.pages, w.ids = pg_temp.expected(6, '2025-10-10', '2025-10-20', '{deleted}') AS same,
       cardinality(w.ids) AS rows
FROM pg_temp.walk('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-20T00:00:00Z",
                    "action": "deleted", "limit": "1"}') w;
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n, next_cursor IS NULL AS last_page
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-20T00:00:00Z",
                                   "action": "deleted,created", "action_from": "2025-10-01T00:00:00Z", "action_to": "2025-10-02T00:00:00Z"}');

-- Only the spans walked are opened: a page of 3 found on the 10th reads
-- one more row from the span of the 11th and 12th and stops; no other
-- partition is locked.
BEGIN;
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n, next_cursor IS NOT NULL AS more
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-20T00:00:00Z", "limit": "3"}');
SELECT pg_temp.locked();
COMMIT;
-- from the 13th: the 13th, then the 14th, then (over the gap) the 16th to
-- the 19th, where the page ends
BEGIN;
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n, next_cursor IS NOT NULL AS more
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-13T00:00:00Z", "to": "2025-10-20T00:00:00Z", "limit": "3"}');
SELECT pg_temp.locked();
COMMIT;
-- a deep page starts at its cursor's partition (the cursor is looked up
-- first: that lookup reads every partition)
SELECT user_activity.event_cursor(user_id, recorded_at, id) AS cursor_15
FROM user_activity.events WHERE metadata->>'n' = '15' \gset
BEGIN;
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events(jsonb_build_object('user_id', '6', 'from', '2025-10-10T00:00:00Z', 'to', '2025-10-20T00:00:00Z', 'limit', '2',
    'cursor', :'cursor_15'));
SELECT pg_temp.locked();
COMMIT;

-- The query of one span, as search_events plans it once and keeps it
-- (generic, with the span's bounds as constants): the partitions in order
-- under one Append, each read through its index, no sort, no Merge Append
SET plan_cache_mode = force_generic_plan;
PREPARE span(bigint, timestamptz, bigint, timestamptz) AS
SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, e.event_id, e.recorded_at
FROM user_activity.events e
WHERE e.user_id = $1 AND (e.recorded_at, e.id) > ($2, $3) AND e.recorded_at >= $2 AND e.recorded_at < $4
  AND e.recorded_at >= '2025-10-11T00:00:00Z'::pg_catalog.timestamptz
  AND e.recorded_at < '2025-10-13T00:00:00Z'::pg_catalog.timestamptz
ORDER BY e.recorded_at, e.id LIMIT 101;
EXPLAIN (COSTS OFF) EXECUTE span(6, '2025-10-11 00:00Z', 0, '2025-10-20 00:00Z');
DEALLOCATE span;
-- a span over the gap reads the partition before it, nothing for the gap
PREPARE span(bigint, timestamptz, bigint, timestamptz) AS
SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, e.event_id, e.recorded_at
FROM user_activity.events e
WHERE e.user_id = $1 AND (e.recorded_at, e.id) > ($2, $3) AND e.recorded_at >= $2 AND e.recorded_at < $4
  AND e.recorded_at >= '2025-10-14T00:00:00Z'::pg_catalog.timestamptz
  AND e.recorded_at < '2025-10-16T00:00:00Z'::pg_catalog.timestamptz
ORDER BY e.recorded_at, e.id LIMIT 101;
EXPLAIN (COSTS OFF) EXECUTE span(6, '2025-10-14 00:00Z', 0, '2025-10-20 00:00Z');
DEALLOCATE span;
RESET plan_cache_mode;

-- Partitions change between two searches of one session, whose plans are
-- kept: the gap gets its partition, and rows 13 and 14 go there, the 16th
-- is dropped.  The same search then reads the new partition (its kept plan
-- was made again), and a walk over the whole range misses only the dropped
-- row.
BEGIN;
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-13T00:00:00Z", "to": "2025-10-16T00:00:00Z"}');
SELECT pg_temp.locked();
COMMIT;
SELECT partition_from, partition_to FROM user_activity.ensure_partition('2025-10-15 12:00Z');
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata) VALUES
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-15 06:00Z',               '{"n": 13}'),
  (6, 'created', '2025-10-01 00:00Z', '2025-10-15 06:00Z',               '{"n": 14}');
ALTER TABLE user_activity.events DETACH PARTITION user_activity.events_p20251016_000000;
DROP TABLE user_activity.events_p20251016_000000;
BEGIN;
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-13T00:00:00Z", "to": "2025-10-16T00:00:00Z"}');
SELECT pg_temp.locked();
COMMIT;
SELECT w.pages, w.ids = pg_temp.expected(6, '2025-09-01', '2025-11-01') AS same, cardinality(w.ids) AS rows
FROM pg_temp.walk('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "2"}') w;

-- More spans than the session keeps plans for (every range between two
-- days, two page sizes): the plans are made again as needed, the rows the
-- same.
SELECT count(*) AS searches,
       count(*) FILTER (WHERE w.ids = pg_temp.expected(6, f, t)) AS same
FROM generate_series('2025-10-09 00:00Z'::timestamptz, '2025-10-20 00:00Z', '1 day') f,
     generate_series('2025-10-09 00:00Z'::timestamptz, '2025-10-21 00:00Z', '1 day') t,
     unnest(ARRAY[2, 3]) lim,
     pg_temp.walk(jsonb_build_object('user_id', '6', 'from', f, 'to', t, 'limit', lim)) w
WHERE f <= t;
SELECT count(*) <= 64 + 1 AS plans_bounded  -- the spans' (exports' too) and the offset's
FROM pg_backend_memory_contexts
WHERE name = 'CachedPlanSource' AND ident LIKE 'SELECT e.id, e.user_id, e.action,%';

-- the spans are planned with enable_sort and jit off (search_spans.c,
-- UaSpanPlanningBegin); the session's own settings stay as they were
SET jit = on;
SELECT count(*) AS pages FROM user_activity.search_events('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "2"}');
SELECT count(*) AS rows FROM user_activity.find_events(6, '2025-09-01', '2025-11-01', 5);
SELECT count(*) AS lines FROM user_activity.export_events('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}', 'ndjson');
SELECT current_setting('enable_sort') AS enable_sort, current_setting('jit') AS jit;
RESET jit;

-- the legacy offset still pages over the same rows
SELECT (SELECT array_agg(e->'metadata'->>'n') FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "3", "offset": "4"}');

-- Version 1.0: one unpartitioned table, one span
SET client_min_messages = warning;
DROP EXTENSION user_activity CASCADE;
CREATE EXTENSION user_activity VERSION '1.0';
RESET client_min_messages;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
SELECT 6, 'viewed', '2025-10-01 00:00Z', '2025-10-10 00:00Z'::timestamptz + (i / 2) * interval '1 day', jsonb_build_object('n', i)
FROM generate_series(1, 9) i;
SELECT w.pages, w.ids = pg_temp.expected(6, '2025-09-01', '2025-11-01') AS same, cardinality(w.ids) AS rows
FROM pg_temp.walk('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "2"}') w;

SET client_min_messages = warning;
DROP EXTENSION user_activity CASCADE;
RESET client_min_messages;
