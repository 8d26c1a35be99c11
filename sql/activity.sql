--
-- Activity over time and active users
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';
\set SHOW_CONTEXT never

-- errors as data: SQLSTATE, the field (column) and the texts
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

-- rollup == raw events, per user and UTC day of action, and the distinct
-- users per day == the raw events' (the counted ones)
CREATE FUNCTION pg_temp.proof() RETURNS TABLE (what text, differences bigint)
LANGUAGE sql AS $$
WITH counted AS (
    SELECT e.* FROM user_activity.events e
    WHERE e.id <= (SELECT s.last_id FROM user_activity.counting_state s)
), raw AS (
    SELECT user_id, (event_action_timestamp AT TIME ZONE 'UTC')::date AS day,
           count(*) FILTER (WHERE action = 'created') AS c, count(*) FILTER (WHERE action = 'updated') AS u,
           count(*) FILTER (WHERE action = 'deleted') AS d, count(*) FILTER (WHERE action = 'viewed') AS v
    FROM counted GROUP BY 1, 2
), raw_days AS (
    SELECT (event_action_timestamp AT TIME ZONE 'UTC')::date AS day, count(DISTINCT user_id) AS users,
           count(DISTINCT user_id) FILTER (WHERE action = 'viewed') AS viewed_users
    FROM counted GROUP BY 1
)
SELECT 'rollup vs events per user and day',
       (SELECT count(*) FROM raw r FULL JOIN user_activity.user_day_activity a USING (user_id, day)
        WHERE (r.c, r.u, r.d, r.v) IS DISTINCT FROM
              (a.created_count, a.updated_count, a.deleted_count, a.viewed_count))
UNION ALL
SELECT 'daily active users vs distinct users of the events',
       (SELECT count(*) FROM raw_days r FULL JOIN user_activity.daily_active_users a USING (day)
        WHERE (COALESCE(r.users, 0), COALESCE(r.viewed_users, 0)) <> (a.users, a.viewed_users))
$$;

SELECT user_activity.ensure_partitions('2026-10-20T00:00:00Z', '2026-11-05T00:00:00Z') > 0 AS made;

-- User 6 around the end of summer time in Berlin (2026-10-25 03:00 CEST
-- -> 02:00 CET): recorded a minute after acting, but one event is recorded
-- days later.
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata) VALUES
    (6, 'created', '2026-10-24T21:30:00Z', '2026-10-24T21:31:00Z', '{"device": "iPhone 14"}'),  -- 23:30 CEST, the 24th
    (6, 'viewed',  '2026-10-24T22:10:00Z', '2026-10-24T22:11:00Z', '{"device": "Pixel 8"}'),    -- 00:10 CEST, the 25th
    (6, 'viewed',  '2026-10-25T00:30:00Z', '2026-10-25T00:31:00Z', '{"device": "iPhone 14"}'),  -- 02:30 CEST
    (6, 'viewed',  '2026-10-25T01:30:00Z', '2026-10-25T01:31:00Z', '{}'),                       -- 02:30 CET, again
    (6, 'updated', '2026-10-25T22:50:00Z', '2026-10-25T22:51:00Z', '{}'),                       -- 23:50 CET, the 25th
    (6, 'deleted', '2026-10-25T23:10:00Z', '2026-10-28T09:00:00Z', '{}'),                       -- 00:10 CET, the 26th, recorded late
    (7, 'viewed',  '2026-10-25T12:00:00Z', '2026-10-25T12:01:00Z', '{}'),
    (8, 'created', '2026-10-26T05:00:00Z', '2026-10-26T05:01:00Z', '{}');

-- days in Berlin: the 25th is 25 hours long
SELECT bucket_start, bucket_start AT TIME ZONE 'Europe/Berlin' AS local_start, created, updated, deleted, viewed, total
FROM user_activity.activity(6, '2026-10-24T00:00:00+02:00', '2026-10-27T00:00:00+01:00', 'day', 'acted', 'Europe/Berlin');
-- the same days in UTC
SELECT * FROM user_activity.activity(6, '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z');
-- by recorded time, the late event lands on the 28th
SELECT * FROM user_activity.activity(6, '2026-10-24T00:00:00Z', '2026-10-29T00:00:00Z', by => 'recorded');
-- hours in Berlin across the change: 02:00 CEST and 02:00 CET are two buckets
SELECT bucket_start, to_char(bucket_start AT TIME ZONE 'Europe/Berlin', 'HH24:MI') AS local, viewed, total
FROM user_activity.activity(6, '2026-10-25T00:00:00Z', '2026-10-25T03:00:00Z', 'hour', 'acted', 'Europe/Berlin');
-- weeks start on Monday, months on the 1st, local
SELECT * FROM user_activity.activity(6, '2026-10-01T00:00:00Z', '2026-11-30T00:00:00Z', 'week', 'acted', 'Europe/Berlin');
SELECT * FROM user_activity.activity(6, '2026-10-01T00:00:00Z', '2026-11-30T00:00:00Z', 'month', 'acted', 'Europe/Berlin');
-- a range that starts inside a bucket covers the whole bucket
SELECT * FROM user_activity.activity(6, '2026-10-25T12:00:00Z', '2026-10-25T12:00:01Z');
-- an empty range has no buckets
SELECT count(*) FROM user_activity.activity(6, '2026-10-25T12:00:00Z', '2026-10-25T12:00:00Z');

-- the REST form: times in the zone's offset
SELECT user_activity.activity_json('6', '2026-10-24T00:00:00+02:00', '2026-10-27T00:00:00+01:00', 'day', NULL, 'Europe/Berlin');
SELECT user_activity.activity_json('6', '2026-10-25T00:00:00Z', '2026-10-26T00:00:00Z', NULL, NULL, NULL);

-- active users: nothing before a count
SELECT * FROM user_activity.active_users('2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z');
SELECT user_activity.count_activity() ->> 'events' AS counted;
SELECT * FROM pg_temp.proof();
SELECT * FROM user_activity.active_users('2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z');
SELECT * FROM user_activity.active_users('2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z', 'day', 'viewed');
-- days in Berlin come from the half hours
SELECT bucket_start AT TIME ZONE 'Europe/Berlin' AS local_start, users
FROM user_activity.active_users('2026-10-24T00:00:00+02:00', '2026-10-27T00:00:00+01:00', 'day', NULL, 'Europe/Berlin');
-- hours, weeks, months; a half-hour zone (India)
SELECT * FROM user_activity.active_users('2026-10-25T00:00:00Z', '2026-10-25T03:00:00Z', 'hour');
SELECT * FROM user_activity.active_users('2026-10-19T00:00:00Z', '2026-11-02T00:00:00Z', 'week');
SELECT * FROM user_activity.active_users('2026-10-01T00:00:00Z', '2026-12-01T00:00:00Z', 'month', 'created');
SELECT bucket_start AT TIME ZONE 'Asia/Kolkata' AS local_start, users
FROM user_activity.active_users('2026-10-24T18:30:00Z', '2026-10-27T18:30:00Z', 'day', NULL, 'Asia/Kolkata');
SELECT user_activity.active_users_json('2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z', NULL, NULL, NULL);
SELECT user_activity.active_users_json('2026-10-24T00:00:00+02:00', '2026-10-27T00:00:00+01:00', 'day', 'viewed', 'Europe/Berlin');

-- late events: acted on days already counted, each lands in its day once
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at) VALUES
    (7, 'created', '2026-10-24T10:00:00Z', '2026-10-30T10:00:00Z'),  -- a new user of the 24th
    (6, 'viewed',  '2026-10-25T12:00:00Z', '2026-10-30T10:00:00Z'),  -- user 6 was active on the 25th
    (8, 'viewed',  '2026-10-26T06:00:00Z', '2026-10-30T10:00:00Z');  -- user 8 was, but not viewing
SELECT user_activity.count_activity() ->> 'events' AS counted;
SELECT user_activity.count_activity() ->> 'status' AS again;
SELECT * FROM pg_temp.proof();
SELECT * FROM user_activity.active_users('2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z');
SELECT * FROM user_activity.active_users('2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z', 'day', 'viewed');
SELECT user_id, day, created_count, updated_count, deleted_count, viewed_count
FROM user_activity.user_day_activity ORDER BY user_id, day;

-- the status shows the days rolled up
SELECT user_activity.counting_status_json()::json -> 'rollup' AS rollup;

-- erasure takes the user out of every day
SELECT user_activity.delete_user_events(7) ->> 'events_deleted' AS erased;
SELECT * FROM pg_temp.proof();
SELECT * FROM user_activity.daily_active_users ORDER BY day;

-- counts retention drops the rolled-up days that ended before its cutoff
SELECT user_activity.set_counts_retention(now() - '2026-10-26T00:00:00Z'::timestamptz) IS NOT NULL AS set;
SELECT (user_activity.maintain_partitions() ->> 'counts_deleted')::int >= 0 AS maintained;
SELECT day FROM user_activity.daily_active_users ORDER BY day;
SELECT DISTINCT day FROM user_activity.user_day_activity ORDER BY day;
SELECT user_activity.set_counts_retention(NULL) IS NOT NULL AS reset;

-- bad parameters name the field
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(NULL, '2026-10-24Z', '2026-10-25Z')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(0, '2026-10-24Z', '2026-10-25Z')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, NULL, '2026-10-25Z')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', 'infinity')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-25Z', '2026-10-24Z')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', 'year')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', 'day', 'seen')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', 'day', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', 'day', 'acted', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', 'day', 'acted', 'Mars/Olympus')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-10-24Z', '2026-10-25Z', 'day', 'acted', '+02')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2026-01-01Z', '2026-03-01Z', 'hour')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.activity(6, '2000-01-01Z', '2090-01-01Z', 'month')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.active_users('2026-10-24Z', '2026-10-25Z', 'day', 'seen')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.active_users('2026-10-24Z', '2026-10-25Z', 'hour', NULL, 'Asia/Kathmandu')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM user_activity.active_users('2026-10-24Z', '2026-10-25Z', 'hour', NULL, 'Asia/Kolkata')$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.activity_json(NULL, '2026-10-24T00:00:00Z', '2026-10-25T00:00:00Z', NULL, NULL, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.activity_json('six', '2026-10-24T00:00:00Z', '2026-10-25T00:00:00Z', NULL, NULL, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.activity_json('6', '2026-10-24', '2026-10-25T00:00:00Z', NULL, NULL, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.activity_json('6', '2026-10-24T00:00:00Z', NULL, NULL, NULL, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.activity_json('6', '2026-10-24T00:00:00Z', '2026-10-25T00:00:00Z', '', NULL, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.active_users_json('2026-10-24T00:00:00Z', '2026-10-25T00:00:00Z', NULL, 'clicked', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.active_users_json('2026-10-24T00:00:00Z', 'tomorrow', NULL, NULL, NULL)$$);
SELECT * FROM pg_temp.try($$SELECT user_activity.active_users_json('2026-10-24T00:00:00Z', '2026-10-25T00:00:00Z', NULL, NULL, 'Europe/Nowhere')$$);

-- the half hour of its UTC day in which an event lies, as a bit of the
-- rollup's masks: at both ends of a half hour and of the day, before 2000
-- (where PostgreSQL's time count is negative) and before 1970
SELECT t, user_activity.half_hour_bit(t) AS bit,
       user_activity.half_hour_bit(t) = 1::bigint << ((floor(date_part('epoch', t) / 1800)::bigint % 48 + 48) % 48)::integer AS as_epoch
FROM (VALUES (timestamptz '2025-10-01 00:00:00Z'), ('2025-10-01 00:29:59.999999Z'), ('2025-10-01 00:30:00Z'),
             ('2025-10-01 23:59:59.999999Z'), ('1999-12-31 23:45:00Z'), ('2000-01-01 00:00:00Z'),
             ('1969-07-20 20:17:40Z'), ('2025-10-01 02:15:00+02:00')) v(t)
ORDER BY t;
-- invalid: not a time of day
SELECT * FROM pg_temp.try($$SELECT user_activity.half_hour_bit('infinity')$$);

-- the reader may ask; PUBLIC may not
SELECT p.proname, has_function_privilege('user_activity_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public
FROM pg_proc p WHERE p.pronamespace = 'user_activity'::regnamespace
  AND p.proname IN ('activity', 'active_users', 'activity_json', 'active_users_json',
                    'activity_range', 'activity_series', 'half_hour_span', 'half_hour_bit')
ORDER BY 1;
SELECT has_table_privilege('user_activity_reader', 'user_activity.user_day_activity', 'SELECT') AS rollup,
       has_table_privilege('user_activity_reader', 'user_activity.daily_active_users', 'SELECT') AS daily;

-- the plan reads the user's index range by the time of action
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT date_trunc('day', e.event_action_timestamp, 'UTC'), count(*)
FROM user_activity.events_p20261025_000000 e
WHERE e.user_id = 6 AND e.event_action_timestamp >= '2026-10-24Z' AND e.event_action_timestamp < '2026-10-27Z'
GROUP BY 1;
RESET enable_seqscan;

-- activity() (C) against the query it replaces, written out here: the
-- buckets of activity_series() joined with the user's events grouped by
-- date_trunc; every bucket size, both times, UTC and Berlin (across the
-- change), each called more than the five times after which a session
-- may keep a plan
CREATE FUNCTION pg_temp.activity_joined(uid bigint, f timestamptz, t timestamptz, bk text, by_ text, tz text)
RETURNS TABLE (bucket_start timestamptz, created bigint, updated bigint, deleted bigint, viewed bigint, total bigint)
LANGUAGE sql AS $$
SELECT s.b, COALESCE(c.created, 0), COALESCE(c.updated, 0), COALESCE(c.deleted, 0), COALESCE(c.viewed, 0), COALESCE(c.total, 0)
FROM user_activity.activity_range(f, t, bk, tz) r,
     user_activity.activity_series(r.first_start, r.last_start, bk, tz) s(b, e)
LEFT JOIN (SELECT date_trunc(bk, CASE by_ WHEN 'acted' THEN e.event_action_timestamp ELSE e.recorded_at END, tz) AS b,
                  count(*) FILTER (WHERE e.action = 'created') AS created, count(*) FILTER (WHERE e.action = 'updated') AS updated,
                  count(*) FILTER (WHERE e.action = 'deleted') AS deleted, count(*) FILTER (WHERE e.action = 'viewed') AS viewed,
                  count(*) AS total
           FROM user_activity.events e, user_activity.activity_range(f, t, bk, tz) r
           WHERE e.user_id = uid
             AND CASE by_ WHEN 'acted' THEN e.event_action_timestamp ELSE e.recorded_at END >= r.first_start
             AND CASE by_ WHEN 'acted' THEN e.event_action_timestamp ELSE e.recorded_at END < r.range_end
           GROUP BY 1) c ON c.b = s.b
$$;
SELECT v.bk, w.by_, z.tz, count(*) AS calls, sum(x.buckets) AS buckets, sum(x.events) AS events, bool_and(x.same) AS same
FROM (VALUES ('hour'), ('day'), ('week'), ('month')) v(bk),
     (VALUES ('acted'), ('recorded')) w(by_),
     (VALUES ('UTC'), ('Europe/Berlin')) z(tz),
     generate_series(0, 6) i,
     LATERAL (SELECT '2026-10-20Z'::timestamptz + i * interval '31 hours' AS f, '2026-11-02Z'::timestamptz AS t) r,
     LATERAL (SELECT (SELECT count(*) FROM user_activity.activity(6, r.f, r.t, v.bk, w.by_, z.tz)) AS buckets,
                     (SELECT sum(a.total) FROM user_activity.activity(6, r.f, r.t, v.bk, w.by_, z.tz) a) AS events,
                     NOT EXISTS (SELECT * FROM user_activity.activity(6, r.f, r.t, v.bk, w.by_, z.tz)
                                 EXCEPT ALL SELECT * FROM pg_temp.activity_joined(6, r.f, r.t, v.bk, w.by_, z.tz))
                     AND NOT EXISTS (SELECT * FROM pg_temp.activity_joined(6, r.f, r.t, v.bk, w.by_, z.tz)
                                     EXCEPT ALL SELECT * FROM user_activity.activity(6, r.f, r.t, v.bk, w.by_, z.tz)) AS same) x
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
