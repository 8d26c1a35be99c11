--
-- Search cursor and parameter texts: the cursor of a position is always the
-- same text (cursors handed out earlier stay valid), only that text reads
-- back, and integer parameters are read as plain decimal numbers.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

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

-- the cursors of fixed positions, as version 1.4 made them (both of
-- base64url's own letters, "-" and "_", appear)
CREATE TEMP TABLE positions (user_id bigint, ts timestamptz, id bigint, cursor text);
INSERT INTO positions VALUES
  (1, '2025-10-10T18:30:00Z', 1, 'AALj0N-_mgAAAAAAAAAAAUu_Eq0'),
  (6, '2025-10-12T12:00:00.123456Z', 42, 'AALj86iwkkAAAAAAAAAAKrA3Pf4'),
  (9223372036854775807, 'infinity', 9223372036854775807, 'f_________9__________07xT1A'),
  (123456789, '-infinity', 0, 'gAAAAAAAAAAAAAAAAAAAAFZd98Q'),
  (7, '1970-01-01Z', -5, '__yi_sTIIAD_________-xt5mik');
SELECT user_id, ts, id, user_activity.event_cursor(user_id, ts, id) = cursor AS same_text
FROM positions ORDER BY user_id;
-- each reads back as its position (from "since" on)
SELECT p.user_id, s.*
FROM positions p, user_activity.find_start(p.user_id, '-infinity', 'infinity', 10, p.cursor) s
ORDER BY p.user_id;

-- invalid: another user's, truncated, lengthened, padded, the standard
-- alphabet's "+" and "/", white space, a NUL-free non-ASCII byte, and a last
-- letter whose unused low bits are set (the same bytes, another text)
SELECT label, pg_temp.err(format('SELECT * FROM user_activity.find_start(%s, %L, %L, 10, %L)',
                                 user_id, '-infinity', 'infinity', c)) AS result
FROM (VALUES
  ('another user', 2, 'AALj0N-_mgAAAAAAAAAAAUu_Eq0'),
  ('truncated', 1, 'AALj0N-_mgAAAAAAAAAAAUu_Eq'),
  ('lengthened', 1, 'AALj0N-_mgAAAAAAAAAAAUu_Eq0A'),
  ('padded', 1, 'AALj0N-_mgAAAAAAAAAAAUu_Eq0='),
  ('plus', 1, 'AALj0N+_mgAAAAAAAAAAAUu_Eq0'),
  ('slash', 1, 'AALj0N-/mgAAAAAAAAAAAUu_Eq0'),
  ('space', 1, 'AALj0N-_mgAAAAAAAAAAAUu Eq0'),
  ('non-ASCII', 1, 'AALj0N-_mgAAAAAAAAAAAUu_Eqé'),
  ('low bits set', 1, 'AALj0N-_mgAAAAAAAAAAAUu_Eq1'),
  ('empty', 1, '')) v(label, user_id, c)
ORDER BY label;
-- the same through search_events' "cursor"
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": "1", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "cursor": "AALj0N-_mgAAAAAAAAAAAUu_Eq1"}')$$);
SELECT next_cursor FROM user_activity.search_events('{"user_id": "1", "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "cursor": "AALj0N-_mgAAAAAAAAAAAUu_Eq0"}');

-- integer parameters: plain decimal, in range; valid then invalid
SELECT v AS "limit", pg_temp.err(format('SELECT * FROM user_activity.search_events(%L)',
    jsonb_build_object('user_id', '1', 'from', '2025-10-01T00:00:00Z', 'to', '2025-11-01T00:00:00Z', 'limit', v))) AS result
FROM unnest(ARRAY['1', '0001000', '1000', '1001', '0', '-0', '-1', '-', '',
                  ' 5', '5 ', '+5', '5x', '0x10', '1e3', '1.0',
                  '9223372036854775807', '9223372036854775808',
                  '-9223372036854775808', '99999999999999999999999',
                  '99999999999999999999999x']) WITH ORDINALITY u(v, o)
ORDER BY o;
SELECT v AS user_id, pg_temp.err(format('SELECT * FROM user_activity.search_events(%L)',
    jsonb_build_object('user_id', v, 'from', '2025-10-01T00:00:00Z', 'to', '2025-11-01T00:00:00Z'))) AS result
FROM unnest(ARRAY['9223372036854775807', '-9223372036854775808', '-0', '0', 'abc']) WITH ORDINALITY u(v, o)
ORDER BY o;
SELECT v AS "offset", pg_temp.err(format('SELECT * FROM user_activity.search_events(%L)',
    jsonb_build_object('user_id', '1', 'from', '2025-10-01T00:00:00Z', 'to', '2025-11-01T00:00:00Z', 'offset', v))) AS result
FROM unnest(ARRAY['0', '-0', '2147483647', '2147483648', '-1']) WITH ORDINALITY u(v, o)
ORDER BY o;
-- JSON numbers are read as their text
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": 1, "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": 5}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": 1, "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": 5.5}')$$);
SELECT pg_temp.err($$SELECT * FROM user_activity.search_events('{"user_id": 1, "from": "2025-10-01T00:00:00Z", "to": "2025-11-01T00:00:00Z", "limit": 1e2}')$$);
