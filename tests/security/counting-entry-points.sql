-- counting-entry-points.sql: every entry point that reads pg_cron's
-- objects (the counting status, a count and its history purge, the
-- scheduling functions), as the superuser (the worst case) and as the
-- extension's roles; then whether ua_mallory's look-alikes ever ran (see
-- cron-lookalike.sql).  Errors where pg_cron is missing are expected.
SET client_min_messages = warning;
-- the entry points, as the superuser (the worst case) and as the roles
SELECT user_activity.counting_status_json() IS NOT NULL AS status_json;
SELECT schedule FROM user_activity.counting_status;
SELECT user_activity.counting_schedule() AS schedule;
SET ROLE user_activity_writer;
SELECT user_activity.counting_status_json() IS NOT NULL AS status_json_as_writer;
RESET ROLE;
SET ROLE user_activity_reader;
SELECT schedule FROM user_activity.counting_status;
RESET ROLE;
SELECT r ->> 'status' AS status FROM user_activity.record_event(1, 'viewed', '2025-10-10T19:00:00Z', '{}', NULL) r;
CALL user_activity.run_counting();
SELECT user_activity.count_activity() ->> 'status' AS second_count;
SELECT user_activity.counting_purge_history();
SELECT user_activity.schedule_counting('0 * * * *') IS NOT NULL AS scheduled;
SELECT user_activity.unschedule_counting() AS unscheduled;
SELECT user_activity.schedule_maintenance() IS NOT NULL AS scheduled;
SELECT user_activity.unschedule_maintenance() AS unscheduled;
RESET client_min_messages;

-- the role is as it was, and no look-alike ran
SELECT rolsuper FROM pg_roles WHERE rolname = 'ua_mallory';
SELECT count(*) AS lookalike_calls FROM mallory.calls;
