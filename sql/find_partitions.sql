--
-- find_events and export_events across partitions: both read a range span
-- by span of partitions with search_events' kept span plans (find_events
-- one, two, four... partitions a span, up to its page; export_events 16 a
-- span, a cursor each).  Their rows are those of a plain query on the
-- table, in its order, across partition bounds with ties on them, empty
-- partitions, a gap, page sizes, cursors, filters, partitions attached and
-- dropped between two calls of one session, and a column added to and
-- dropped from the table.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- every page of find_events, each after the cursor of the page before's
-- last row: the ids in order and the number of pages
CREATE FUNCTION pg_temp.walk(uid bigint, since timestamptz, until timestamptz, page_size int,
                             acts user_activity.action[] DEFAULT NULL,
                             OUT ids bigint[], OUT pages int)
LANGUAGE plpgsql AS $$
DECLARE
    cur text;
    page bigint[];
    last record;
BEGIN
    ids := '{}';
    pages := 0;
    LOOP
        page := ARRAY(SELECT f.id FROM user_activity.find_events(uid, since, until, page_size, cur, acts)
                      WITH ORDINALITY f ORDER BY f.ordinality);
        pages := pages + 1;
        ids := ids || page;
        EXIT WHEN page_size IS NULL OR cardinality(page) < page_size OR pages > 1000;
        SELECT e.user_id, e.recorded_at, e.id INTO last FROM user_activity.events e WHERE e.id = page[cardinality(page)];
        cur := user_activity.event_cursor(last.user_id, last.recorded_at, last.id);
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
-- the ids of an export, in the order of its lines
CREATE FUNCTION pg_temp.exported(params jsonb) RETURNS bigint[]
LANGUAGE sql AS $$
SELECT coalesce(array_agg((l::jsonb->>'id')::bigint ORDER BY n), '{}')
FROM user_activity.export_events(params, 'ndjson') WITH ORDINALITY x(l, n)
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

-- Days 2025-10-10 to 2025-11-19, but for the 15th: that day is a gap, with
-- no partition and so no rows (until it gets its partition, below); and
-- the last day of September.
SELECT count(*) AS october_november
FROM (SELECT user_activity.ensure_partition(t)
      FROM generate_series('2025-10-10 00:00Z'::timestamptz, '2025-11-19 00:00Z', '1 day') t
      WHERE t <> '2025-10-15 00:00Z') p;
SELECT user_activity.ensure_partitions('2025-09-30 00:00Z', '2025-10-01 00:00Z') AS september;
-- user 6: ties at the last instant of the 11th and at the first of the
-- 12th, nothing on the 13th and 14th, rows at the end of September, with a
-- gap of nine days before the 10th, and two rows far into November; user
-- 7 fills the 13th.  Rows 13 and 14, ties on the 15th, come with its
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
  (6, 'deleted', '2025-10-01 00:00Z', '2025-10-19 23:59:59.999999Z',     '{"n": 18}'),
  (6, 'created', '2025-10-02 00:00Z', '2025-11-05 08:00Z',               '{"n": 19}'),
  (6, 'viewed',  '2025-10-02 00:00Z', '2025-11-19 23:59:59.999999Z',     '{"n": 20}');
-- user 8: 2500 rows over the 30 days from the 20th of October, ties of
-- three rows on every partition bound
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
SELECT 8, (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
       '2025-10-01 00:00Z'::timestamptz + i * interval '1 minute',
       '2025-10-20 00:00Z'::timestamptz + (i / 3) * (interval '30 days' / 833), jsonb_build_object('i', i)
FROM generate_series(0, 2499) i;
SELECT count(*) AS partitions_with_rows, sum(n) AS rows
FROM (SELECT tableoid, count(*) AS n FROM user_activity.events GROUP BY 1) p;

-- Every page size walks the same rows in the same order as the plain
-- query, across every bound, tie, empty partition and the gap; null is
-- one page of every row.
SELECT page_size, w.pages, cardinality(w.ids) AS rows,
       w.ids = pg_temp.expected(6, '2025-09-01', '2025-12-01') AS same
FROM unnest(ARRAY[1, 2, 3, 4, 5, 7, 17, 100, NULL]) page_size,
     pg_temp.walk(6, '2025-09-01', '2025-12-01', page_size) w
ORDER BY page_size;
SELECT page_size, w.pages, cardinality(w.ids) AS rows,
       w.ids = pg_temp.expected(8, '2025-10-01', '2025-12-01') AS same
FROM unnest(ARRAY[3, 7, 100, 999, 1000, 2500, NULL]) page_size,
     pg_temp.walk(8, '2025-10-01', '2025-12-01', page_size) w
ORDER BY page_size;
-- ranges that begin or end on a bound, in a gap, inside a partition
SELECT f, t, (SELECT array_agg(e.metadata->>'n' ORDER BY n)
              FROM user_activity.find_events(6, f, t) WITH ORDINALITY e(id, user_id, action, event_action_timestamp,
                                                                         recorded_at, metadata, event_id, n)) AS n,
       ARRAY(SELECT e.id FROM user_activity.find_events(6, f, t) e) = pg_temp.expected(6, f, t) AS same
FROM (VALUES ('2025-10-12 00:00Z'::timestamptz, '2025-10-15 06:00Z'::timestamptz),
             ('2025-10-11 23:59:59.999999Z', '2025-10-12 00:00:00.000001Z'),
             ('2025-10-13 00:00Z', '2025-10-16 00:00Z'),
             ('2025-10-15 00:00Z', '2025-10-16 00:00:00.000001Z'),
             ('2025-10-15 06:00Z', '2025-10-15 06:00Z'),
             ('2025-09-30 00:00Z', '2025-10-10 12:00:00.000001Z'),
             ('2025-10-16 00:00:01Z', '2025-10-19 23:59:59.999999Z'),
             ('2025-10-19 00:00Z', '2026-01-01 00:00Z'),
             ('2020-01-01 00:00Z', '2020-01-02 00:00Z')) r(f, t)
ORDER BY f, t;
-- every column, as the table has it
SELECT (SELECT array_agg(e ORDER BY e.recorded_at, e.id) FROM user_activity.find_events(6, '2025-09-01', '2025-12-01') e) =
       (SELECT array_agg(e ORDER BY e.recorded_at, e.id) FROM user_activity.events e WHERE e.user_id = 6) AS same_rows;

-- a cursor's position before "since" starts at since; a cursor of another
-- user is refused
SELECT user_activity.event_cursor(user_id, recorded_at, id) AS cursor_1
FROM user_activity.events WHERE metadata->>'n' = '1' \gset
SELECT array_agg(metadata->>'n') AS n FROM user_activity.find_events(6, '2025-10-12', '2025-10-13', 3, :'cursor_1');
SELECT count(*) FROM user_activity.find_events(7, '2025-10-12', '2025-10-13', 3, :'cursor_1');

-- Filters: as SQL's = ANY, an empty array and one of nulls only match
-- nothing; nulls beside labels are ignored; a two-dimensional array is read
-- element by element; the action time bounds are [since, until).
SELECT acts, w.pages, w.ids = pg_temp.expected(6, '2025-09-01', '2025-12-01', acts::text[]) AS same,
       cardinality(w.ids) AS rows
FROM unnest(ARRAY['{deleted}', '{created,updated}', '{viewed,NULL}', '{}', '{NULL}', '{{viewed},{deleted}}']::text[]) acts,
     pg_temp.walk(6, '2025-09-01', '2025-12-01', 2, acts::user_activity.action[]) w
ORDER BY acts;
SELECT array_agg(metadata->>'n') AS n
FROM user_activity.find_events(6, '2025-09-01', '2025-12-01', actions => '{viewed,created}',
                               action_since => '2025-10-01 00:00Z', action_until => '2025-10-02 00:00Z');
SELECT array_agg(metadata->>'n') AS n
FROM user_activity.find_events(6, '2025-09-01', '2025-12-01', action_since => '2025-10-02 00:00Z');
SELECT array_agg(metadata->>'n') AS n
FROM user_activity.find_events(6, '2025-09-01', '2025-12-01', 3, action_until => '2025-10-01 00:00Z');

-- Only the spans walked are opened: a page of 3 found on the 10th stops
-- there (find_events reads no row after its page); a page of 4 reads on
-- into the span of the 11th and 12th.
BEGIN;
SELECT array_agg(metadata->>'n') AS n FROM user_activity.find_events(6, '2025-10-10', '2025-10-20', 3);
SELECT pg_temp.locked();
COMMIT;
BEGIN;
SELECT array_agg(metadata->>'n') AS n FROM user_activity.find_events(6, '2025-10-10', '2025-10-20', 4);
SELECT pg_temp.locked();
COMMIT;

-- Exports: the lines' rows are the plain query's, in its order, across the
-- spans of 16 partitions and the fetches of 1000 rows
SELECT u, f, t, pg_temp.exported(jsonb_build_object('user_id', u::text, 'from', f, 'to', t)) =
                pg_temp.expected(u, f::timestamptz, t::timestamptz) AS same,
       cardinality(pg_temp.expected(u, f::timestamptz, t::timestamptz)) AS rows
FROM (VALUES (6, '2025-09-01T00:00:00Z', '2025-12-01T00:00:00Z'),
             (6, '2025-10-12T00:00:00Z', '2025-10-16T00:00:00Z'),
             (6, '2025-10-15T00:00:00Z', '2025-10-15T00:00:00Z'),
             (8, '2025-09-01T00:00:00Z', '2025-12-01T00:00:00Z'),
             (8, '2025-10-20T00:00:00Z', '2025-11-05T00:00:00Z'),
             (8, '2025-10-25T00:00:00Z', '2025-11-19T00:00:00Z'),
             (8, '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')) r(u, f, t)
ORDER BY u, f, t;
SELECT pg_temp.exported('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z", "action": "deleted,viewed",
                          "action_from": "2025-10-01T10:00:00Z", "action_to": "2025-10-02T10:00:00Z"}') =
       ARRAY(SELECT id FROM user_activity.events
             WHERE user_id = 8 AND action IN ('deleted', 'viewed')
               AND event_action_timestamp >= '2025-10-01 10:00Z' AND event_action_timestamp < '2025-10-02 10:00Z'
             ORDER BY recorded_at, id) AS same_filtered;
-- csv: the header, then a line per row
SELECT count(*) AS lines, min(l) FILTER (WHERE n = 1) AS header
FROM user_activity.export_events('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'csv')
     WITH ORDINALITY x(l, n);
-- the REST layer's variant: the same lines, each ended by a newline, in
-- runs of whole lines that end once they reach 64 kB, but the last
SELECT count(*) AS runs, bool_and(right(r, 1) = E'\n') AS whole_lines,
       count(*) FILTER (WHERE octet_length(r) < 65536) AS short_runs,
       string_agg(r, '' ORDER BY n) =
       (SELECT string_agg(l || E'\n', '' ORDER BY m) FROM user_activity.export_events(
           '{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'csv')
           WITH ORDINALITY y(l, m)) AS same_lines
FROM user_activity.export_events('8', '2025-09-01T00:00:00Z', '2025-12-01T00:00:00Z',
                                 NULL, NULL, NULL, NULL, 'csv') WITH ORDINALITY x(r, n);
-- an export read in part, beside a complete one in the same statement
SELECT count(*) FROM (SELECT user_activity.export_events('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'ndjson') LIMIT 1500) x;
SELECT count(a) AS a, count(b) AS b
FROM (SELECT user_activity.export_events('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'ndjson') AS a,
             user_activity.export_events('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'csv') AS b) x;
-- Exports read in part close their span's cursor when their statement
-- ends or starts them over, not at the end of the transaction: 50 exports
-- in a LATERAL subquery, one under a cursor closed after its first row,
-- leave none open; one under a cursor left open ends with the transaction.
BEGIN;
SELECT count(*) FROM generate_series(1, 50) g,
     LATERAL (SELECT g || user_activity.export_events('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'ndjson') LIMIT 1) x;
DECLARE c CURSOR FOR SELECT left(l, 12) FROM (SELECT user_activity.export_events('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'ndjson') l) x;
FETCH 1 FROM c;
CLOSE c;
SELECT count(*) AS cursors_open FROM pg_cursors;
DECLARE c CURSOR FOR SELECT left(l, 12) FROM (SELECT user_activity.export_events('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}', 'ndjson') l) x;
FETCH 1 FROM c;
COMMIT;
SELECT count(*) AS cursors_open FROM pg_cursors;
-- An export under a cursor, every FETCH in a subtransaction rolled back
-- (a PL/pgSQL block that fails, or ROLLBACK TO SAVEPOINT): the span's
-- cursor, opened in one of them, is gone by the next batch of rows, which
-- opens the span again after the last row read (in the middle of a span,
-- on a tie of recorded_at).  Every row comes once, in order.
CREATE FUNCTION pg_temp.fetched_rolled_back(params jsonb) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    c refcursor;
    l text;
    ids bigint[] := '{}';
BEGIN
    OPEN c FOR SELECT user_activity.export_events(params, 'ndjson');
    LOOP
        BEGIN
            FETCH c INTO l;
            IF l IS NOT NULL THEN
                ids := ids || (l::jsonb->>'id')::bigint;
            END IF;
            RAISE EXCEPTION 'roll back';
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
        EXIT WHEN l IS NULL;
    END LOOP;
    CLOSE c;
    RETURN ids;
END
$$;
SELECT cardinality(f) AS rows, f = pg_temp.expected(8, '2025-09-01', '2025-12-01') AS same
FROM pg_temp.fetched_rolled_back('{"user_id": "8", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}') f;

-- Partitions change between two calls of one session, whose plans are
-- kept: the gap gets its partition, and rows 13 and 14 go there, the 16th
-- is dropped.  The same calls then read the new partition (their kept
-- plans were made again) and miss only the dropped row.
SELECT array_agg(metadata->>'n') AS n FROM user_activity.find_events(6, '2025-10-13', '2025-10-17');
SELECT array_agg(l::jsonb->'metadata'->>'n') AS n
FROM user_activity.export_events('{"user_id": "6", "from": "2025-10-13T00:00:00Z", "to": "2025-10-17T00:00:00Z"}', 'ndjson') l;
SELECT partition_from, partition_to FROM user_activity.ensure_partition('2025-10-15 12:00Z');
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata) VALUES
  (6, 'viewed',  '2025-10-01 00:00Z', '2025-10-15 06:00Z',               '{"n": 13}'),
  (6, 'created', '2025-10-01 00:00Z', '2025-10-15 06:00Z',               '{"n": 14}');
ALTER TABLE user_activity.events DETACH PARTITION user_activity.events_p20251016_000000;
DROP TABLE user_activity.events_p20251016_000000;
SELECT array_agg(metadata->>'n') AS n FROM user_activity.find_events(6, '2025-10-13', '2025-10-17');
SELECT array_agg(l::jsonb->'metadata'->>'n') AS n
FROM user_activity.export_events('{"user_id": "6", "from": "2025-10-13T00:00:00Z", "to": "2025-10-17T00:00:00Z"}', 'ndjson') l;
SELECT w.pages, w.ids = pg_temp.expected(6, '2025-09-01', '2025-12-01') AS same, cardinality(w.ids) AS rows
FROM pg_temp.walk(6, '2025-09-01', '2025-12-01', 2) w;

-- A column added to the table comes with the rows, as e.* did in the SQL
-- function of 1.2; once dropped, it is gone from them (the row type keeps
-- a dropped attribute, which the rows fill with nothing).
ALTER TABLE user_activity.events ADD COLUMN note text;
UPDATE user_activity.events SET note = 'n' || (metadata->>'n') WHERE user_id = 6;
SELECT array_agg(note) AS notes FROM user_activity.find_events(6, '2025-10-10', '2025-10-13', 5);
ALTER TABLE user_activity.events DROP COLUMN note;
SELECT (SELECT array_agg(e ORDER BY e.recorded_at, e.id) FROM user_activity.find_events(6, '2025-09-01', '2025-12-01') e) =
       (SELECT array_agg(e ORDER BY e.recorded_at, e.id) FROM user_activity.events e WHERE e.user_id = 6) AS same_rows;
SELECT pg_temp.exported('{"user_id": "6", "from": "2025-09-01T00:00:00Z", "to": "2025-12-01T00:00:00Z"}') =
       pg_temp.expected(6, '2025-09-01', '2025-12-01') AS same_export;

-- More spans than the session keeps plans for (every range between two
-- days, two page sizes, and exports): the plans are made again as needed,
-- the rows the same.
SELECT count(*) AS calls,
       count(*) FILTER (WHERE w.ids = pg_temp.expected(6, f, t)
                          AND pg_temp.exported(jsonb_build_object('user_id', '6', 'from', f, 'to', t)) = w.ids) AS same
FROM generate_series('2025-10-09 00:00Z'::timestamptz, '2025-10-20 00:00Z', '1 day') f,
     generate_series('2025-10-09 00:00Z'::timestamptz, '2025-10-21 00:00Z', '1 day') t,
     unnest(ARRAY[2, 3]) page_size,
     pg_temp.walk(6, f, t, page_size) w
WHERE f <= t;
SELECT count(*) <= 64 + 1 AS plans_bounded  -- the spans' and the offset's
FROM pg_backend_memory_contexts
WHERE name = 'CachedPlanSource' AND (ident LIKE 'SELECT e.id, e.user_id, e.action,%' OR ident LIKE 'SELECT e.* %');

-- bad arguments are refused before anything is read, as before
SELECT user_activity.find_events(NULL, '2025-10-01', '2025-11-01');
SELECT user_activity.find_events(6, '2025-11-01', '2025-10-01');
SELECT user_activity.find_events(6, '2025-10-01', '2025-11-01', 0);
SELECT user_activity.find_events(6, '2025-10-01', '2025-11-01', 3, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA');

SET client_min_messages = warning;
DROP EXTENSION user_activity CASCADE;
RESET client_min_messages;
