--
-- Ingest: record_event(jsonb) and the typed overload, every validation rule
-- with a valid case beside the invalid ones.  Each rejection shows its
-- SQLSTATE, the field (the error's column name), the message and the detail.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- try_sql(query) runs a query returning one jsonb, or prints the error it raises
CREATE FUNCTION pg_temp.try_sql(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r jsonb;
    st text; col text; msg text; det text; hint text;
BEGIN
    EXECUTE query INTO r;
    RETURN 'ok: ' || (r - 'recorded_at' - 'createdAt')::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, col = COLUMN_NAME,
        msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RETURN format('%s [%s] %s | %s%s', st, col, msg, det,
                  CASE WHEN hint <> '' THEN ' | ' || hint ELSE '' END);
END
$$;
-- try(event) stores the event with record_event(jsonb), or prints the error
CREATE FUNCTION pg_temp.try(event jsonb) RETURNS text
LANGUAGE sql AS $$
    SELECT pg_temp.try_sql(format('SELECT user_activity.record_event(%L::jsonb)', event))
$$;

-- the original API's example, as is
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "metadata": {"ip": "192.168.1.10", "device": "iPhone 14", "location": "Kyiv, Ukraine"}}');
-- the result: every field, recorded_at set by the server
SELECT r ? 'recorded_at' AS has_recorded_at, r->>'createdAt' = r->>'recorded_at' AS created_at_is_recorded_at, r->>'status' AS status, r->>'id' AS id
FROM (SELECT user_activity.record_event('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}') AS r) s;

-- body
SELECT pg_temp.try('[1, 2]');                                  -- invalid: array
SELECT pg_temp.try('"event"');                                 -- invalid: string
SELECT pg_temp.try('null');                                    -- invalid: JSON null
SELECT user_activity.record_event(NULL::jsonb);                -- invalid: SQL null

-- unknown top-level fields are named, with a suggestion for a near miss
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "actoin": "deleted"}');
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "colour": "red"}');
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "recorded_at": "2025-10-10T18:30:00Z"}');

-- user_id: a JSON integer from 1 to 2^63-1
SELECT pg_temp.try('{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                   -- valid
SELECT pg_temp.try('{"user_id": 9223372036854775807, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}'); -- valid: 2^63-1
SELECT pg_temp.try('{"user_id": 1e3, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                 -- valid: jsonb reads 1e3 as 1000
SELECT pg_temp.try('{"event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                                 -- missing
SELECT pg_temp.try('{"user_id": null, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                -- null
SELECT pg_temp.try('{"user_id": 0, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                   -- zero
SELECT pg_temp.try('{"user_id": -5, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                  -- negative
SELECT pg_temp.try('{"user_id": 9223372036854775808, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}'); -- 2^63
SELECT pg_temp.try('{"user_id": 99999999999999999999999, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');
SELECT pg_temp.try('{"user_id": 1.5, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                 -- fraction
SELECT pg_temp.try('{"user_id": 1.0, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                 -- not an integer literal
SELECT pg_temp.try('{"user_id": "6", "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                 -- string
SELECT pg_temp.try('{"user_id": true, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                -- boolean

-- action: one of four
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "updated"}');   -- valid
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "jumped"}');    -- unknown
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "Created"}');   -- case matters
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": ""}');          -- empty
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": 1}');           -- number
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z"}');                        -- missing

-- event_action_timestamp: RFC 3339 with an offset, from 1970 to now + future_margin
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T21:30:00+03:00", "action": "created"}');      -- valid: offset, stored in UTC
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00.123456789Z", "action": "created"}'); -- valid: nanoseconds round to microseconds
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10t18:30:00.5z", "action": "created"}');         -- valid: lower-case t and z
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2024-02-29T00:00:00-00:30", "action": "created"}');      -- valid: leap day
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "1970-01-01T00:00:00Z", "action": "created"}');           -- valid: the epoch
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00", "action": "created"}');            -- no offset
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10 18:30:00Z", "action": "created"}');           -- space
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10", "action": "created"}');                     -- date only
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-02-29T00:00:00Z", "action": "created"}');           -- no such day
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T24:00:00Z", "action": "created"}');           -- hour 24
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:60Z", "action": "created"}');           -- leap second
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00+0300", "action": "created"}');       -- offset without colon
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00.Z", "action": "created"}');          -- empty fraction
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "yesterday", "action": "created"}');
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": 1760121000, "action": "created"}');                       -- number
SELECT pg_temp.try('{"user_id": 6, "action": "created"}');                                                            -- missing
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "1969-12-31T23:59:59Z", "action": "created"}');           -- before 1970
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2999-01-01T00:00:00Z", "action": "created"}');           -- far future
-- (in a transaction rolled back, so that no time-dependent row stays)
BEGIN;
SELECT pg_temp.try(jsonb_build_object('user_id', 6, 'action', 'created', 'event_action_timestamp',
    to_char(now() + interval '23 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) LIKE 'ok:%' AS within_margin;
SELECT pg_temp.try(jsonb_build_object('user_id', 6, 'action', 'created', 'event_action_timestamp',
    to_char(now() + interval '25 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));
SET user_activity.future_margin = '2d';
SHOW user_activity.future_margin;
SELECT pg_temp.try(jsonb_build_object('user_id', 6, 'action', 'created', 'event_action_timestamp',
    to_char(now() + interval '25 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))) LIKE 'ok:%' AS within_larger_margin;
RESET user_activity.future_margin;
ROLLBACK;

-- metadata: an object (absent or null means {}), at most max_metadata_bytes of JSON text
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created"}');                        -- valid: absent
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": null}');      -- valid: null
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": {"a": [1, {"b": "c"}]}}'); -- valid: nested
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": [1, 2]}');    -- array
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": "ip=1.2.3.4"}'); -- string
SET user_activity.max_metadata_bytes = 40;
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": {"k": "1234567890123456789012345678901"}}');  -- valid: 40 bytes
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "metadata": {"k": "12345678901234567890123456789012"}}'); -- 41 bytes
RESET user_activity.max_metadata_bytes;
SELECT pg_temp.try(jsonb_build_object('user_id', 6, 'action', 'created', 'event_action_timestamp', '2025-10-10T18:30:00Z',
    'metadata', jsonb_build_object('blob', repeat('x', 32768))));                                                                 -- over the 32 KB default

-- event_id: an optional UUID
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "8A1F3C9E-4B7D-4E2A-9C1B-2F6D7E8A9B0C"}'); -- valid, printed lower case
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": null}');   -- valid: null
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "not-a-uuid"}');
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "{8a1f3c9e-4b7d-4e2a-9c1b-2f6d7e8a9b0c}"}');
SELECT pg_temp.try('{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": 42}');

-- nothing was written by a rejection: the stored events are exactly the ok lines above
SELECT id, user_id, action, event_action_timestamp, metadata, event_id
FROM user_activity.events ORDER BY id;

-- the typed overload applies the same rules
SELECT user_activity.record_event(7, 'viewed', '2025-10-10 21:30:00+03') - 'recorded_at' - 'createdAt' AS typed;
SELECT user_activity.record_event(7, 'deleted', '2025-10-10 18:30:00Z', '{"device": "iPhone 14"}',
                                  '5d2c0a9f-8f43-4c1e-9a57-0b5b1a1e2f3d') - 'recorded_at' - 'createdAt' AS typed;
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(0, 'viewed', '2025-10-10 18:30:00Z')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(NULL, 'viewed', '2025-10-10 18:30:00Z')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, NULL, '2025-10-10 18:30:00Z')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', NULL)$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'jumped', '2025-10-10 18:30:00Z')$$);  -- the enum's own input check
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', '1960-01-01 00:00:00Z')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', 'infinity')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', '2999-01-01 00:00:00Z')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', '2025-10-10 18:30:00Z', '[]')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', '2025-10-10 18:30:00Z', '"x"')$$);
SELECT pg_temp.try_sql($$SELECT user_activity.record_event(7, 'viewed', '2025-10-10 18:30:00Z', 'null')$$);
-- the settings, their defaults and who may change them
SELECT name, setting, unit, context FROM pg_catalog.pg_settings
WHERE name LIKE 'user_activity.%' AND name IN ('user_activity.max_batch_size',
    'user_activity.max_metadata_bytes', 'user_activity.future_margin')
ORDER BY name;
SET user_activity.no_such_setting = 1;                                      -- reserved prefix
