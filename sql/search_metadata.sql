--
-- Metadata filters on search, export and find_events
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';
\set SHOW_CONTEXT never

CREATE FUNCTION pg_temp.try(q text) RETURNS TABLE (state text, field text, message text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT 'ok'::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, field = COLUMN_NAME, message = MESSAGE_TEXT;
    RETURN NEXT;
END;
$$;

SELECT user_activity.ensure_partitions('2025-10-10T00:00:00Z', '2025-10-13T00:00:00Z') > 0 AS made;
-- 30 events of user 6 over three partitions: every third from an iPhone 14
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
SELECT 6, 'viewed', t, t,
       CASE WHEN i % 3 = 0 THEN '{"device": "iPhone 14", "app": {"version": "2.1"}}'::jsonb
            ELSE '{"device": "Pixel 8"}'::jsonb END
FROM generate_series(1, 30) i, LATERAL (SELECT '2025-10-10T00:00:00Z'::timestamptz + i * interval '2 hours' AS t) x;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata)
VALUES (7, 'viewed', '2025-10-10T05:00:00Z', '2025-10-10T05:00:00Z', '{"device": "iPhone 14"}');

-- find_events: containment, nested too
SELECT count(*) FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', metadata => '{"device": "iPhone 14"}');
SELECT count(*) FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', metadata => '{"app": {"version": "2.1"}}');
SELECT count(*) FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', metadata => '{}');
SELECT count(*) FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', metadata => '{"device": "Nokia"}');

-- paging under a filter: pages of 4 follow each other with no gap or repeat
WITH RECURSIVE pages(n, body, next) AS (
    SELECT 1, s.body, s.next_cursor
    FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z",
                                      "limit": "4", "metadata": "{\"device\": \"iPhone 14\"}"}') s
    UNION ALL
    SELECT p.n + 1, s.body, s.next_cursor
    FROM pages p, LATERAL user_activity.search_events(jsonb_build_object(
        'user_id', '6', 'from', '2025-10-10T00:00:00Z', 'to', '2025-10-13T00:00:00Z',
        'limit', '4', 'metadata', '{"device": "iPhone 14"}', 'cursor', p.next)) s
    WHERE p.next IS NOT NULL
)
SELECT n, (SELECT string_agg(to_char((x ->> 'recorded_at')::timestamptz, 'DD HH24'), ', ')
           FROM json_array_elements(body::json) x) AS page, next IS NOT NULL AS more
FROM pages ORDER BY n;
-- the whole filtered set, for comparison
SELECT string_agg(to_char(recorded_at, 'DD HH24'), ', ' ORDER BY recorded_at) AS all_iphone
FROM user_activity.events WHERE user_id = 6 AND metadata @> '{"device": "iPhone 14"}';
-- find_events pages under a filter, with event_cursor
SELECT e.id FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', 3,
    (SELECT user_activity.event_cursor(f.user_id, f.recorded_at, f.id)
     FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', 3, metadata => '{"device": "iPhone 14"}') f
     ORDER BY f.recorded_at DESC, f.id DESC LIMIT 1),
    metadata => '{"device": "iPhone 14"}') e;
-- the object itself rather than its JSON text; and the legacy offset
SELECT json_array_length(body::json) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z",
                                   "metadata": {"device": "Pixel 8"}}');
SELECT json_array_length(body::json) AS n
FROM user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z",
                                   "metadata": "{\"device\": \"iPhone 14\"}", "offset": "8"}');
-- export under a filter
SELECT count(*) FROM (
    SELECT user_activity.export_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z",
                                        "metadata": "{\"device\": \"iPhone 14\"}"}', 'csv')) x;
SELECT user_activity.export_events('{"user_id": "7", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z",
                                    "metadata": "{\"device\": \"iPhone 14\"}"}', 'ndjson');

-- bad filters name the parameter
SELECT * FROM pg_temp.try($$SELECT user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z", "metadata": "{device"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z", "metadata": "[\"iPhone\"]"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z", "metadata": "\"iPhone\""}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z", "metadata": ["iPhone"]}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.search_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z", "metadata": 5}')$$);
SELECT * FROM pg_temp.try(format($$SELECT user_activity.search_events(%L)$$,
    jsonb_build_object('user_id', '6', 'from', '2025-10-10T00:00:00Z', 'to', '2025-10-13T00:00:00Z',
                       'metadata', '{"k": "' || repeat('x', 9000) || '"}')));
SELECT * FROM pg_temp.try($$SELECT user_activity.export_events('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-13T00:00:00Z", "metadata": "{}}"}', 'csv')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.find_events(6, '2025-10-10Z', '2025-10-13Z', metadata => '[1]')$$);
