--
-- REST parameters as text (1.5): search_events, export_events,
-- user_counts_json and top_users_json with one text argument per query
-- parameter, as the HTTP shim passes them (NULL: absent).  They answer what
-- the jsonb variants answer, and each error names its parameter.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

SELECT user_activity.ensure_partitions('2025-10-12 00:00Z', '2025-10-13 00:00Z') AS made;

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

INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
SELECT 6, (ARRAY['created', 'viewed', 'updated'])[1 + i % 3]::user_activity.action,
       '2025-10-10 00:00Z', '2025-10-12 10:00Z'::timestamptz + i * interval '1 minute',
       jsonb_build_object('i', i)
FROM generate_series(1, 5) i;

-- a page: the same body and cursor as the jsonb variant
SELECT t.body = j.body AS same_body, t.next_cursor = j.next_cursor AS same_cursor
FROM user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z',
                                 '2', NULL, NULL, NULL, NULL, NULL, NULL) t,
     user_activity.search_events('{"user_id": "6", "from": "2025-10-12T00:00:00Z",
                                   "to": "2025-10-13T00:00:00Z", "limit": "2"}') j;
-- the next page by that cursor, filtered by action
SELECT body FROM user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z',
    NULL, (SELECT next_cursor FROM user_activity.search_events('6', '2025-10-12T00:00:00Z',
           '2025-10-13T00:00:00Z', '2', NULL, NULL, NULL, NULL, NULL, NULL)),
    'viewed,updated', NULL, NULL, NULL, NULL);

-- the export: the same lines as the jsonb variant, each ended by a newline,
-- in runs of whole lines (find_partitions.sql has several)
SELECT string_agg(r, '' ORDER BY n) =
       (SELECT string_agg(l || E'\n', '' ORDER BY m) FROM user_activity.export_events(
           '{"user_id": "6", "from": "2025-10-12T00:00:00Z", "to": "2025-10-13T00:00:00Z"}', 'csv')
           WITH ORDINALITY y(l, m))
       AS same_lines
FROM user_activity.export_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z',
                                 NULL, NULL, NULL, NULL, 'csv') WITH ORDINALITY x(r, n);

-- each error names its parameter (invalid cases)
SELECT pg_temp.err($$SELECT user_activity.search_events(NULL, '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('six', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('6', 'yesterday', '2025-10-13T00:00:00Z', NULL, NULL, NULL, NULL, NULL, NULL, NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', '0', NULL, NULL, NULL, NULL, NULL, NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, 'xyz', NULL, NULL, NULL, NULL, NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, 'jumped', NULL, NULL, NULL, NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, NULL, NULL, NULL, NULL, '-1')$$);
SELECT pg_temp.err($$SELECT user_activity.export_events('6', '2025-10-12T00:00:00Z', '2025-10-11T00:00:00Z', NULL, NULL, NULL, NULL, 'csv')$$);
SELECT pg_temp.err($$SELECT user_activity.export_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, 'soon', NULL, NULL, 'csv')$$);
SELECT pg_temp.err($$SELECT user_activity.export_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, NULL, NULL, 'xml')$$);
SELECT pg_temp.err($$SELECT user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, NULL, NULL, NULL, '[1]', NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.export_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z', NULL, NULL, NULL, '{"i":', 'csv')$$);

-- metadata: containment, as the query string's JSON text
SELECT body FROM user_activity.search_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z',
    NULL, NULL, NULL, NULL, NULL, '{"i": 4}', NULL);
SELECT count(*) FROM user_activity.export_events('6', '2025-10-12T00:00:00Z', '2025-10-13T00:00:00Z',
    NULL, NULL, NULL, '{"i": 4}', 'ndjson');

-- the counts: the text variants answer what the jsonb ones do
SELECT user_activity.user_counts_json('6', '2025-10-01T00:00:00Z', '2025-11-01T00:00:00Z')
     = user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z"}')
       AS same_counts;
SELECT user_activity.top_users_json('2025-10-01T00:00:00Z', '2025-11-01T00:00:00Z', '5')
     = user_activity.top_users_json('{"from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": "5"}')
       AS same_top;
SELECT pg_temp.err($$SELECT user_activity.user_counts_json(NULL, '2025-10-01T00:00:00Z', '2025-11-01T00:00:00Z')$$);
SELECT pg_temp.err($$SELECT user_activity.user_counts_json('0', '2025-10-01T00:00:00Z', '2025-11-01T00:00:00Z')$$);
SELECT pg_temp.err($$SELECT user_activity.user_counts_json('6', '2025-10-01', '2025-11-01T00:00:00Z')$$);
SELECT pg_temp.err($$SELECT user_activity.top_users_json('2025-10-01T00:00:00Z', '2025-09-01T00:00:00Z', NULL)$$);
SELECT pg_temp.err($$SELECT user_activity.top_users_json('2025-10-01T00:00:00Z', '2025-11-01T00:00:00Z', '1001')$$);
