--
-- Search: [from, to) on the recorded time, ordered by (recorded_at, id),
-- keyset paging with an opaque cursor (also across ties of recorded_at),
-- filters, empty results, parameter errors, the index, and the export.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- partitions for the fixed recorded times of the direct INSERTs below
SELECT user_activity.ensure_partitions('2025-10-12 00:00Z', '2025-10-14 00:00Z') AS made;

CREATE FUNCTION pg_temp.err(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; col text; msg text; det text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME,
        msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN format('%s [%s] %s | %s', st, col, msg, det);
END
$$;

-- Fixed recorded times: events are inserted directly (as the superuser) so
-- that recorded_at is known.  Five events of user 6 share one recorded_at
-- (a tie), as a batch or a transaction produces.
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata, event_id) VALUES
  (6, 'created', '2025-10-10 18:30:00Z', '2025-10-12 10:00:00Z',        '{"n": 1}', NULL),
  (6, 'viewed',  '2025-10-10 18:31:00Z', '2025-10-12 10:00:00.5Z',      '{"n": 2}', 'bbbbbbbb-0000-4000-8000-000000000002'),
  (6, 'updated', '2025-10-11 08:00:00Z', '2025-10-12 11:00:00.123456Z', '{"n": 3}', NULL),
  (6, 'viewed',  '2025-10-11 09:00:00Z', '2025-10-12 12:00:00Z',        '{"n": 4}', NULL),
  (6, 'deleted', '2025-10-11 10:00:00Z', '2025-10-12 12:00:00Z',        '{"n": 5}', NULL),
  (6, 'viewed',  '2025-10-11 11:00:00Z', '2025-10-12 12:00:00Z',        '{"n": 6}', NULL),
  (6, 'created', '2025-10-11 12:00:00Z', '2025-10-12 12:00:00Z',        '{"n": 7}', NULL),
  (6, 'viewed',  '2025-10-11 13:00:00Z', '2025-10-12 12:00:00Z',        '{"n": 8}', NULL),
  (6, 'updated', '2025-10-12 09:00:00Z', '2025-10-13 00:00:00Z',        '{"n": 9}', NULL),
  (7, 'viewed',  '2025-10-10 18:30:00Z', '2025-10-12 12:00:00Z',        '{"n": 10}', NULL);

-- the JSON shape: the original's fields plus id, event_id and recorded_at,
-- UTC, fraction only when non-zero
SELECT body, next_cursor IS NULL AS last_page FROM user_activity.search_events(
    '{"user_id": "6", "from": "2025-10-12T10:00:00Z", "to": "2025-10-12T11:00:00.123457Z"}');
-- metadata is printed as jsonb prints it: escapes, numbers, nesting, empty
-- containers, keys that need escaping
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata) VALUES
  (10, 'viewed', '2025-10-10 00:00Z', '2025-10-12 10:00Z',
   '{"s": "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f ctl \u0001 \u001f del \u007f é 日本 😀"}'),
  (10, 'viewed', '2025-10-10 00:00Z', '2025-10-12 10:01Z',
   '{"n": 1.50, "z": -0, "e": 1e3, "neg": -12.5e-3, "big": 12345678901234567890.123}'),
  (10, 'viewed', '2025-10-10 00:00Z', '2025-10-12 10:02Z',
   '{"nested": {"a": [1, [2, {"b": null}], {}], "t": true, "f": false}, "empty_a": [], "empty_o": {}}'),
  (10, 'viewed', '2025-10-10 00:00Z', '2025-10-12 10:03Z', '{}'),
  (10, 'viewed', '2025-10-10 00:00Z', '2025-10-12 10:04Z', '{"k\"e\\y\n": 1, "": [""], "a": [[], [{}]]}');
SELECT e.metadata::text AS stored,
       strpos(s.body, '"metadata": ' || e.metadata::text || ', "event_id"') > 0 AS printed_the_same,
       (s.body::jsonb) -> (row_number() OVER (ORDER BY e.id) - 1)::int -> 'metadata' = e.metadata AS parses_back
FROM user_activity.search_events('{"user_id": "10", "from": "2025-10-12T00:00:00Z", "to": "2025-10-13T00:00:00Z"}') s,
     user_activity.events e
WHERE e.user_id = 10
ORDER BY e.id;
DELETE FROM user_activity.events WHERE user_id = 10;

-- bounds: from is inclusive, to is exclusive
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-12T10:00:00Z", "to": "2025-10-12T12:00:00Z"}');
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-12T10:00:00.000001Z", "to": "2025-10-12T12:00:00.000001Z"}');
-- offsets in the bounds are honoured (13:00+01:00 is 12:00Z)
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-12T13:00:00+01:00", "to": "2025-10-12T13:00:00.000001+01:00"}');
-- the search is on recorded_at, not on the action time (the original's bug)
SELECT body FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}');

-- paging: limit 2 through the five tied rows and on; every row once, in order
CREATE TEMP TABLE pages (page int, n int[], next_cursor text);
DO $$
DECLARE
    cur text := NULL;
    b text;
    p int := 0;
BEGIN
    LOOP
        p := p + 1;
        SELECT s.body, s.next_cursor INTO b, cur FROM user_activity.search_events(
            jsonb_build_object('user_id', '6', 'from', '2025-10-01T00:00:00Z', 'to', '2025-11-01T00:00:00Z', 'limit', '2')
            || CASE WHEN cur IS NULL THEN '{}' ELSE jsonb_build_object('cursor', cur) END) s;
        INSERT INTO pages SELECT p, (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(b::jsonb) e), cur;
        EXIT WHEN cur IS NULL OR p > 10;
    END LOOP;
END
$$;
SELECT page, n, next_cursor IS NOT NULL AS has_next, length(next_cursor) AS cursor_length FROM pages ORDER BY page;
-- an exact multiple of the page size ends without an extra empty page
SELECT next_cursor IS NULL AS last_page FROM user_activity.search_events(
    '{"user_id": "6", "from": "2025-10-12T12:00:00Z", "to": "2025-10-12T12:00:01Z", "limit": "5"}');
-- the default page is 100 rows, the largest 1000
SELECT json_array_length(body::json) AS rows FROM user_activity.search_events(
    '{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": 1000}');

-- filters: action (one or a comma list), action_from/action_to on the action time [from, to)
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action": "viewed"}');
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action": "created,deleted"}');
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action_from": "2025-10-11T09:00:00Z", "action_to": "2025-10-11T12:00:00Z"}');
-- filters with paging: the cursor continues the filtered list
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n, next_cursor IS NOT NULL AS has_next
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action": "viewed", "limit": "2"}');
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n, next_cursor IS NOT NULL AS has_next
FROM user_activity.search_events(jsonb_build_object('user_id', '6', 'from', '2025-10-01T00:00:00Z', 'to', '2025-11-01T00:00:00Z', 'action', 'viewed', 'limit', '2',
    'cursor', (SELECT next_cursor FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action": "viewed", "limit": "2"}'))));
-- legacy offset (without cursor)
SELECT (SELECT array_agg((e->'metadata'->>'n')::int) FROM jsonb_array_elements(body::jsonb) e) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "3", "offset": "4"}');

-- empty results: an empty array and no cursor
SELECT body, next_cursor FROM user_activity.search_events('{"user_id": "6", "from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}');
SELECT body, next_cursor FROM user_activity.search_events('{"user_id": "999", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}');
SELECT body, next_cursor FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-12T12:00:00Z", "to": "2025-10-12T12:00:00Z"}');

-- parameter errors: SQLSTATE, the parameter, the rule
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "abc", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "0", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "9223372036854775808", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-11-01T00:00:00Z", "to": "2025-10-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "0"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "1001"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "ten"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "offset": "-1"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action": "viewed,jumped"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action": ""}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "action_from": "soon"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "page": "2"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": ["6"], "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('[]')$$);
-- cursors: malformed, altered, another user's, combined with offset
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "cursor": "not a cursor"}')$$);
SELECT pg_temp.err(format($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "cursor": "%s"}')$$,
    overlay(next_cursor placing CASE WHEN substr(next_cursor, 5, 1) = 'A' THEN 'B' ELSE 'A' END from 5 for 1)))
FROM pages WHERE page = 1;
SELECT pg_temp.err(format($$SELECT * FROM user_activity.search_events('{"user_id": "7", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "cursor": "%s"}')$$, next_cursor))
FROM pages WHERE page = 1;
SELECT pg_temp.err(format($$SELECT * FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "offset": "1", "cursor": "%s"}')$$, next_cursor))
FROM pages WHERE page = 1;

-- find_events, the set-returning form for analysts, pages the same way
SELECT id, action, recorded_at, metadata->>'n' AS n
FROM user_activity.find_events(6, '2025-10-01', '2025-11-01', page_size => 3);
SELECT e.id, e.metadata->>'n' AS n, user_activity.event_cursor(e.user_id, e.recorded_at, e.id) = p.next_cursor AS same_cursor
FROM user_activity.find_events(6, '2025-10-01', '2025-11-01', page_size => 2) e, pages p
WHERE p.page = 1 ORDER BY e.recorded_at DESC, e.id DESC LIMIT 1;
SELECT id, metadata->>'n' AS n
FROM user_activity.find_events(6, '2025-10-01', '2025-11-01', page_size => 3,
    after => (SELECT next_cursor FROM pages WHERE page = 2));
SELECT metadata->>'n' AS n FROM user_activity.find_events(6, '2025-10-01', '2025-11-01',
    actions => '{viewed,deleted}', action_since => '2025-10-11 00:00Z', action_until => '2025-10-11 12:00Z');
SELECT count(*) FROM user_activity.find_events(6, '2025-10-12 12:00Z', '2025-10-12 12:00Z');
SELECT pg_temp.err($$SELECT * FROM user_activity.find_events(NULL, '2025-10-01', '2025-11-01')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.find_events(6, '2025-10-01', NULL)$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.find_events(6, '2025-10-01', '2025-11-01', page_size => 0)$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.find_events(6, '2025-10-01', '2025-11-01', after => 'xyz')$$);

-- the searches use the (user_id, recorded_at, id) index, with the keyset
-- position inside the index condition, so a deep page costs what the first does
SET plan_cache_mode = force_generic_plan;
PREPARE page(bigint, timestamptz, bigint, timestamptz, text[], timestamptz, timestamptz, bigint, bigint) AS
SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, e.event_id, e.recorded_at
FROM user_activity.events e
WHERE e.user_id = $1 AND (e.recorded_at, e.id) > ($2, $3) AND e.recorded_at >= $2 AND e.recorded_at < $4
  AND ($5::pg_catalog.text[] IS NULL OR e.action = ANY ($5::pg_catalog.text[]::user_activity.action[]))
  AND ($6::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp >= $6)
  AND ($7::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp < $7)
ORDER BY e.recorded_at, e.id LIMIT $8 OFFSET $9;
EXPLAIN (COSTS OFF) EXECUTE page(6, '2025-10-01', 0, '2025-11-01', NULL, NULL, NULL, 101, 0);
DEALLOCATE page;
RESET plan_cache_mode;

-- export: every matching row, one line each, ndjson or csv with a header
SELECT user_activity.export_events('{"user_id": "6", "from": "2025-10-12T11:00:00Z", "to": "2025-10-12T12:00:00.000001Z", "action": "viewed,updated"}', 'ndjson');
SELECT user_activity.export_events('{"user_id": "6", "from": "2025-10-12T10:00:00Z", "to": "2025-10-12T12:00:00Z"}', 'csv');
SELECT count(*) FROM user_activity.export_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}', 'ndjson');
SELECT count(*) FROM user_activity.export_events('{"user_id": "6", "from": "2024-10-01T00:00:00Z", "to": "2024-11-01T00:00:00Z"}', 'csv');
-- the export crosses its fetch size (1000 rows) without losing or repeating a row
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
SELECT 8, 'viewed', '2025-10-10 00:00Z', '2025-10-12 00:00Z'::timestamptz + i * interval '1 second', jsonb_build_object('i', i)
FROM generate_series(1, 2500) i;
SELECT count(*), count(DISTINCT l), min((l::jsonb->'metadata'->>'i')::int), max((l::jsonb->'metadata'->>'i')::int)
FROM user_activity.export_events('{"user_id": "8", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}', 'ndjson') l;
SELECT pg_temp.err($$SELECT user_activity.export_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}', 'xml')$$);
SELECT pg_temp.err($$SELECT user_activity.export_events('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "5"}', 'csv')$$);
