--
-- Counts queries
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';
\set SHOW_CONTEXT never

-- errors as data: SQLSTATE, the field (column) and the texts
CREATE FUNCTION pg_temp.try(q text) RETURNS TABLE (state text, field text, message text, detail text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN QUERY SELECT 'ok'::text, NULL::text, NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, field = COLUMN_NAME,
                            message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    RETURN NEXT;
END;
$$;

-- four-hour periods of 2025-10-10, as count_activity() stores them
INSERT INTO user_activity.user_event_counts
    (user_id, period_start, period_end, event_count, created_count, updated_count, deleted_count, viewed_count)
VALUES
    (6, '2025-10-10T00:00:00Z', '2025-10-10T04:00:00Z', 3, 1, 1, 0, 1),
    (6, '2025-10-10T04:00:00Z', '2025-10-10T08:00:00.25Z', 5, 0, 2, 1, 2),
    (6, '2025-10-10T08:00:00.25Z', '2025-10-10T12:00:00Z', 1, 0, 0, 0, 1),
    (7, '2025-10-10T00:00:00Z', '2025-10-10T04:00:00Z', 10, 4, 3, 2, 1),
    (7, '2025-10-10T08:00:00.25Z', '2025-10-10T12:00:00Z', 2, 1, 1, 0, 0),
    (8, '2025-10-10T04:00:00Z', '2025-10-10T08:00:00.25Z', 9, 0, 0, 0, 9),
    (9, '2025-10-10T04:00:00Z', '2025-10-10T08:00:00.25Z', 9, 9, 0, 0, 0);

-- a user's periods: those whose start lies in [since, until)
SELECT * FROM user_activity.user_counts(6, '2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z');
-- a range that cuts a period: the period counts where it starts
SELECT period_start, event_count FROM user_activity.user_counts(6, '2025-10-10T02:00:00Z', '2025-10-10T06:00:00Z');
SELECT period_start, event_count FROM user_activity.user_counts(6, '2025-10-10T04:00:00Z', '2025-10-10T08:00:00.25Z');
-- empty range, unknown user, nulls
SELECT count(*) FROM user_activity.user_counts(6, '2025-10-10T04:00:00Z', '2025-10-10T04:00:00Z');
SELECT count(*) FROM user_activity.user_counts(99, '2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z');
SELECT count(*) FROM user_activity.user_counts(6, NULL, '2025-10-11T00:00:00Z');

-- top users: by events, ties by user id; the range rule as above
SELECT * FROM user_activity.top_users('2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z');
SELECT * FROM user_activity.top_users('2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z', 2);
SELECT * FROM user_activity.top_users('2025-10-10T04:00:00Z', '2025-10-10T08:00:00Z', 3);
SELECT * FROM user_activity.top_users('2025-10-11T00:00:00Z', '2025-10-12T00:00:00Z');
-- invalid
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users('2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z', 0)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users('2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z', 1001)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users(NULL, '2025-10-11T00:00:00Z')$$);

-- JSON for the REST layer
SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}');
SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10T06:00:00+02:00", "to": "2025-10-10T08:00:00.25Z"}');
SELECT user_activity.user_counts_json('{"user_id": "99", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}');
SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z", "limit": "2"}');
SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}');
SELECT user_activity.top_users_json('{"from": "2030-01-01T00:00:00Z", "to": "2030-01-02T00:00:00Z"}');
-- the results are JSON
SELECT (user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}')::jsonb
        -> 'total' ->> 'event_count')::int AS total;

-- invalid parameters: each error names the field and the rule
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('[]')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json(NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "six", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "1.5", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "0", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "9223372036854775808", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "6", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10T00:00:00", "to": "2025-10-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-13-11T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-11T00:00:00Z", "to": "2025-10-10T00:00:00Z"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.user_counts_json('{"user_id": "6", "from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z", "limit": "5"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z", "limit": "0"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z", "limit": "1001"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z", "limit": "ten"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "limit": "10"}')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.top_users_json('{"from": "2025-10-10T00:00:00Z", "to": "2025-10-11T00:00:00Z", "user_id": "6"}')$$);

-- counting status as JSON, before any run: nulls
SELECT user_activity.counting_status_json()::jsonb - 'schedule' AS status;
