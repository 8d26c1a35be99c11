--
-- Event jsonb: record_event()'s result is the very jsonb that jsonb input
-- makes of its text, byte for byte (jsonb_send), whatever the metadata
-- (nested, long, many keys), with and without event_id and status, for a
-- stored event and a duplicate.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

CREATE TEMP TABLE results (label text, r jsonb);
INSERT INTO results
SELECT label, user_activity.record_event(e::jsonb)
FROM (VALUES
  ('plain', '{"user_id": 6, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted", "metadata": {"ip": "192.168.1.10", "device": "iPhone 14", "location": "Kyiv, Ukraine"}}'),
  ('no metadata', '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00.5Z", "action": "viewed"}'),
  ('event_id', '{"user_id": 8, "event_action_timestamp": "2025-10-10T18:30:00.123456Z", "action": "created", "event_id": "bbbbbbbb-0000-4000-8000-000000000002", "metadata": {"n": 1}}'),
  ('duplicate', '{"user_id": 8, "event_action_timestamp": "2025-10-11T00:00:00Z", "action": "updated", "event_id": "bbbbbbbb-0000-4000-8000-000000000002", "metadata": {"n": 2}}'),
  ('nested', '{"user_id": 9, "event_action_timestamp": "2025-10-10T18:30:00+03:00", "action": "updated", "metadata": {"a": [1, 2.5, -3e-5, null, true, false, "x"], "b": {"c": {"d": []}, "e": {}}, "é": "ünïcödé \" \\ \n"}}'),
  ('big ids', '{"user_id": 9223372036854775807, "event_action_timestamp": "1970-01-01T00:00:00Z", "action": "viewed", "metadata": {"k": 9223372036854775807}}')
) v(label, e);
INSERT INTO results
SELECT 'many keys', user_activity.record_event(10, 'viewed', '2025-10-10T18:30:00Z',
    (SELECT jsonb_object_agg('key' || i, repeat('v', i)) FROM generate_series(1, 100) i))
UNION ALL
SELECT 'long value', user_activity.record_event(11, 'created', '2025-10-10T18:30:00Z',
    jsonb_build_object('long', repeat('0123456789', 1000)), 'cccccccc-0000-4000-8000-000000000003');

SELECT label, r->>'status' AS status,
       r::text::jsonb = r AS same_value,
       jsonb_send(r) = jsonb_send(r::text::jsonb) AS same_bytes,
       length(jsonb_send(r)) - 2 * length(r->>'recorded_at') AS size_but_recorded_at
FROM results ORDER BY label;
-- the values themselves, but for the time of recording
SELECT label, r - 'recorded_at' - 'createdAt' - 'id' AS r FROM results WHERE label NOT IN ('many keys', 'long value') ORDER BY label;
