--
-- Batch: record_events() with per-item acceptance, one result per item in
-- input order, the batch limit and errors about the batch as a whole.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- results without the server's clock
CREATE FUNCTION pg_temp.show(r jsonb) RETURNS TABLE (idx int, status text, id bigint, error text)
LANGUAGE sql AS $$
    SELECT (x->>'index')::int, x->>'status', (x->>'id')::bigint,
           CASE WHEN x ? 'error' THEN format('%s [%s] %s | %s', x->'error'->>'sqlstate',
                x->'error'->>'field', x->'error'->>'message', x->'error'->>'detail') END
    FROM jsonb_array_elements(r->'results') AS x
$$;

-- err(query) runs a query and prints the error it raises, with its SQLSTATE and field
CREATE FUNCTION pg_temp.err(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; col text; msg text; det text; hint text;
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME,
        msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN format('%s [%s] %s | %s%s', st, col, msg, det,
                  CASE WHEN hint <> '' THEN ' | ' || hint ELSE '' END);
END
$$;

-- mixed valid and invalid items: the valid ones are stored, each result
-- says what happened to its item, in input order
CREATE TEMP TABLE r AS
SELECT user_activity.record_events($$[
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "metadata": {"ip": "192.168.1.10"}},
  {"user_id": 6, "event_action_timestamp": "2025-10-10T18:31:00Z", "action": "jumped"},
  {"user_id": 7, "event_action_timestamp": "2025-10-10T18:32:00Z", "action": "viewed", "event_id": "11111111-1111-4111-8111-111111111111"},
  "not an event",
  {"user_id": 0, "event_action_timestamp": "2025-10-10T18:33:00Z", "action": "viewed"},
  {"user_id": 8, "event_action_timestamp": "2025-10-10T18:34:00", "action": "viewed"},
  {"user_id": 8, "event_action_timestamp": "2025-10-10T18:35:00Z", "action": "created", "actoin": "x"},
  {"user_id": 8, "event_action_timestamp": "2025-10-10T18:36:00Z", "action": "updated"}
]$$) AS r;
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates, r->'rejected' AS rejected FROM r;
SELECT s.* FROM r, pg_temp.show(r.r) s;
-- every result has index and status; stored and duplicate ones also id and recorded_at
SELECT x->>'status' AS status, array_agg(DISTINCT k ORDER BY k) AS keys
FROM r, jsonb_array_elements(r->'results') x, jsonb_object_keys(x) k
GROUP BY 1 ORDER BY 1;
-- all items of a batch share one recorded_at, the transaction's
SELECT count(DISTINCT x->>'recorded_at') AS recorded_at_values
FROM r, jsonb_array_elements(r->'results') x WHERE x ? 'recorded_at';
SELECT id, user_id, action, event_action_timestamp, metadata, event_id
FROM user_activity.events ORDER BY id;

-- the input order is kept in the results and in the ids
SELECT s.* FROM pg_temp.show(user_activity.record_events($$[
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:03Z", "action": "created"},
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:01Z", "action": "created"},
  {"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:02Z", "action": "created"}
]$$)) s;
SELECT id, event_action_timestamp FROM user_activity.events WHERE user_id = 9 ORDER BY id;

-- an all-invalid batch stores nothing and still answers per item
SELECT s.* FROM pg_temp.show(user_activity.record_events($$[
  {"user_id": 10, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "nope"},
  {"user_id": "10", "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}
]$$)) s;
SELECT count(*) FROM user_activity.events WHERE user_id = 10;

-- an empty batch
SELECT user_activity.record_events('[]');

-- the limit: max_batch_size items pass, one more is refused as a whole
SET user_activity.max_batch_size = 3;
SELECT r->'stored' AS stored FROM user_activity.record_events(
    (SELECT jsonb_agg(jsonb_build_object('user_id', 11, 'action', 'viewed',
         'event_action_timestamp', '2025-10-10T18:30:00Z')) FROM generate_series(1, 3))) r;
SELECT pg_temp.err($$SELECT user_activity.record_events(
    (SELECT jsonb_agg(jsonb_build_object('user_id', 11, 'action', 'viewed',
         'event_action_timestamp', '2025-10-10T18:30:00Z')) FROM generate_series(1, 4)))$$);
SELECT count(*) AS stored_for_user_11 FROM user_activity.events WHERE user_id = 11;
RESET user_activity.max_batch_size;
SHOW user_activity.max_batch_size;
-- the default limit, 1000, in one multi-row insert
SELECT r->'stored' AS stored FROM user_activity.record_events(
    (SELECT jsonb_agg(jsonb_build_object('user_id', 12, 'action', 'viewed',
         'event_action_timestamp', '2025-10-10T18:30:00Z', 'metadata', jsonb_build_object('n', i)))
     FROM generate_series(1, 1000) i)) r;
SELECT count(*), min(metadata->>'n'), max((metadata->>'n')::int) FROM user_activity.events WHERE user_id = 12;
-- ids follow the input order
SELECT bool_and(ok) AS ids_follow_input_order FROM (
    SELECT (metadata->>'n')::int = row_number() OVER (ORDER BY id) AS ok
    FROM user_activity.events WHERE user_id = 12) s;

-- errors about the batch as a whole
SELECT pg_temp.err($$SELECT user_activity.record_events('{"user_id": 6}')$$);
SELECT pg_temp.err($$SELECT user_activity.record_events('"x"')$$);
SELECT pg_temp.err($$SELECT user_activity.record_events(NULL)$$);
