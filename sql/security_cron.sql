--
-- Security: pg_cron look-alikes never run as the extension's owner
--
-- pg_cron is optional.  Where it is not installed, a role with CREATE on the
-- database can make a schema "cron" of its own (tests/security/
-- cron-lookalike.sql).  1.3 read cron.job and cron.job_run_details by name
-- in SECURITY DEFINER functions, so that role became a superuser at the next
-- read of the counting status (GET /metrics) or the next count; 1.4 finds
-- pg_cron's objects through pg_depend and reads only the jobs a superuser
-- scheduled.
--
SET client_min_messages = warning;
DROP DATABASE IF EXISTS ua_no_cron;
DROP ROLE IF EXISTS ua_mallory;
CREATE ROLE ua_mallory LOGIN;
CREATE DATABASE ua_no_cron;
GRANT CREATE ON DATABASE ua_no_cron TO ua_mallory;
RESET client_min_messages;

-- 1.3 in a database without pg_cron: the attack works
\c ua_no_cron
SET timezone = 'UTC';
CREATE EXTENSION user_activity VERSION '1.3';
\i tests/security/cron-lookalike.sql
\i tests/security/counting-entry-points.sql

-- the update to 1.4 closes it
ALTER ROLE ua_mallory NOSUPERUSER;
DELETE FROM mallory.calls;
ALTER EXTENSION user_activity UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
\i tests/security/counting-entry-points.sql

-- so does a fresh install of 1.4
SET client_min_messages = warning;
DROP EXTENSION user_activity;
RESET client_min_messages;
CREATE EXTENSION user_activity;
\i tests/security/counting-entry-points.sql

-- a schema user_activity that a non-superuser made first is refused
DROP EXTENSION user_activity;
DROP SCHEMA user_activity;
SET ROLE ua_mallory;
CREATE SCHEMA user_activity;
RESET ROLE;
CREATE EXTENSION user_activity;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'user_activity';

-- with pg_cron installed, the look-alikes cannot be made, and a job of the
-- counting job's name that another role scheduled for itself is not read
\c contrib_regression
SET timezone = 'UTC';
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
DROP EXTENSION IF EXISTS pg_cron;
RESET client_min_messages;
CREATE EXTENSION pg_cron;
CREATE EXTENSION user_activity;
GRANT CREATE ON DATABASE contrib_regression TO ua_mallory;
\i tests/security/cron-lookalike.sql
GRANT USAGE ON SCHEMA cron TO ua_mallory;
SET ROLE ua_mallory;
SELECT cron.schedule('user_activity_count', '* * * * *', $$SELECT 'not the count'$$) > 0 AS mallory_scheduled;
RESET ROLE;
SELECT user_activity.counting_schedule() AS schedule,
       user_activity.counting_status_json()::jsonb -> 'pg_cron' -> 'job' AS job;
SELECT user_activity.schedule_counting('0 9 * * *') ->> 'schedule' AS scheduled;
SELECT user_activity.counting_schedule() AS schedule,
       user_activity.counting_status_json()::jsonb -> 'pg_cron' -> 'job' -> 'schedule' AS job_schedule;
\i tests/security/counting-entry-points.sql

SET client_min_messages = warning;
DROP EXTENSION pg_cron;
DROP SCHEMA mallory CASCADE;
REVOKE CREATE ON DATABASE contrib_regression FROM ua_mallory;
DROP DATABASE ua_no_cron;
DROP ROLE ua_mallory;
RESET client_min_messages;
