--
-- Scheduling with pg_cron: the count (50_counting.sql) and partition
-- maintenance (30_partitions.sql) run as pg_cron jobs of fixed names,
-- user_activity_count and user_activity_maintenance.
--
-- pg_cron is optional: it is looked up at call time, and a scheduling
-- function says how to enable it when it is missing.  Every pg_cron object
-- is found through pg_depend as a member of the extension pg_cron
-- (pg_cron_relation, pg_cron_function), never by name: where pg_cron is not
-- installed, any role with CREATE on the database could make a schema
-- "cron" holding look-alikes, which the counting status (read by the
-- unauthenticated GET /metrics) and the count's history purge would then run
-- as the extension's owner.  The counting job is the one a superuser
-- scheduled (pg_cron_job): a job of the same name that another role
-- scheduled for itself is not ours.  The scheduling functions run as their
-- caller (a superuser), who must not be led to a look-alike cron.schedule
-- either.
--

CREATE FUNCTION user_activity.counting_require_pg_cron() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_cron_db text := pg_catalog.current_setting('cron.database_name', true);
    v_hint text := pg_catalog.format(
        'Add pg_cron to shared_preload_libraries and set cron.database_name = ''%s'' in postgresql.conf, '
        || 'restart the server, then run CREATE EXTENSION pg_cron in database "%s".',
        pg_catalog.current_database(), pg_catalog.current_database());
BEGIN
    IF v_cron_db IS NULL
       OR pg_catalog.current_setting('shared_preload_libraries') !~ '(^|[\s,])"?pg_cron"?($|[\s,])' THEN
        RAISE EXCEPTION 'pg_cron is not loaded'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Counting is scheduled by pg_cron, which must be in shared_preload_libraries.',
                  HINT = v_hint;
    END IF;
    IF v_cron_db <> pg_catalog.current_database() THEN
        RAISE EXCEPTION 'pg_cron runs jobs in database "%", not in "%"', v_cron_db, pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron runs its jobs in the database named by cron.database_name.',
                  HINT = v_hint;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'extension pg_cron is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Counting is scheduled by pg_cron.',
                  HINT = pg_catalog.format('Run CREATE EXTENSION pg_cron in database "%s" (pg_cron must be in shared_preload_libraries, with cron.database_name = ''%s'').',
                                           pg_catalog.current_database(), pg_catalog.current_database());
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_require_pg_cron() IS
    'raises an error saying how to enable pg_cron unless it is loaded and installed here';

CREATE FUNCTION user_activity.pg_cron_relation(relname name) RETURNS pg_catalog.regclass
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_depend d
  ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = e.oid
 AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'e'
JOIN pg_catalog.pg_class c ON c.oid = d.objid
WHERE e.extname = 'pg_cron' AND c.relname = pg_cron_relation.relname
$$;
COMMENT ON FUNCTION user_activity.pg_cron_relation(name) IS
    'the table of that name that belongs to the extension pg_cron, null when pg_cron has none (or is not installed)';

CREATE FUNCTION user_activity.pg_cron_function(proname name, argtypes pg_catalog.regtype[]) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT pg_catalog.format('%I.%I', n.nspname, p.proname)
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_depend d
  ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = e.oid
 AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'e'
JOIN pg_catalog.pg_proc p ON p.oid = d.objid
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE e.extname = 'pg_cron' AND p.proname = pg_cron_function.proname
  AND ARRAY(SELECT pg_catalog.unnest(p.proargtypes::pg_catalog.oid[])) = argtypes::pg_catalog.oid[]
$$;
COMMENT ON FUNCTION user_activity.pg_cron_function(name, pg_catalog.regtype[]) IS
    'the schema-qualified name of the function of the extension pg_cron with that name and those argument types, null when there is none';

CREATE FUNCTION user_activity.pg_cron_job(jobname text, OUT jobid bigint, OUT schedule text, OUT active boolean)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_job pg_catalog.regclass := user_activity.pg_cron_relation('job');
BEGIN
    IF v_job IS NULL THEN
        RETURN;
    END IF;
    EXECUTE pg_catalog.format(
        'SELECT j.jobid, j.schedule, j.active FROM %s j
         WHERE j.jobname = $1
           AND EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = j.username AND r.rolsuper)
         ORDER BY j.jobid LIMIT 1', v_job)
        INTO jobid, schedule, active USING jobname;
END;
$$;
COMMENT ON FUNCTION user_activity.pg_cron_job(text) IS
    'the pg_cron job of that name that a superuser scheduled (the extension''s jobs are): its id, schedule and whether it is active; nulls when there is none';

CREATE FUNCTION user_activity.pg_cron_required(name name, argtypes pg_catalog.regtype[] DEFAULT NULL) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_object text := CASE WHEN argtypes IS NULL THEN user_activity.pg_cron_relation(name)::text
                          ELSE user_activity.pg_cron_function(name, argtypes) END;
BEGIN
    IF v_object IS NULL THEN
        RAISE EXCEPTION 'extension pg_cron has no %', CASE WHEN argtypes IS NULL THEN 'table ' || name
                                                          ELSE pg_catalog.format('function %s(%s)', name,
                                                                   pg_catalog.array_to_string(argtypes, ', ')) END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Scheduling uses pg_cron 1.3 or later.';
    END IF;
    RETURN v_object;
END;
$$;
COMMENT ON FUNCTION user_activity.pg_cron_required(name, pg_catalog.regtype[]) IS
    'the qualified name of pg_cron''s table (argtypes null) or function of that name; an error when pg_cron has none';

CREATE FUNCTION user_activity.pg_cron_schedule(jobname text, schedule text, command text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.counting_require_pg_cron();
    EXECUTE pg_catalog.format('SELECT %s($1, $2, $3)',
                              user_activity.pg_cron_required('schedule', '{text,text,text}'))
        USING jobname, schedule, command;
EXCEPTION WHEN invalid_parameter_value THEN
    RAISE EXCEPTION 'invalid schedule "%"', schedule
        USING ERRCODE = 'invalid_parameter_value', COLUMN = 'schedule',
              DETAIL = 'Parameter "schedule" must be a cron expression of five fields (minute hour day-of-month month day-of-week, in GMT), such as ''0 */4 * * *'', or @hourly, @daily, @weekly, @monthly, @yearly.';
END;
$$;
COMMENT ON FUNCTION user_activity.pg_cron_schedule(text, text, text) IS
    'creates or replaces the caller''s pg_cron job of that name, with pg_cron''s own cron.schedule';

CREATE FUNCTION user_activity.pg_cron_unschedule(jobname text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_found boolean;
BEGIN
    PERFORM user_activity.counting_require_pg_cron();
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s WHERE jobname = $1 AND username = current_user)',
                              user_activity.pg_cron_required('job'))
        INTO v_found USING jobname;
    IF v_found THEN
        EXECUTE pg_catalog.format('SELECT %s($1)', user_activity.pg_cron_required('unschedule', '{name}'))
            USING jobname;
    END IF;
    RETURN v_found;
END;
$$;
COMMENT ON FUNCTION user_activity.pg_cron_unschedule(text) IS
    'removes the caller''s pg_cron job of that name, with pg_cron''s own cron.unschedule; false when there was none';

--
-- The jobs
--
CREATE FUNCTION user_activity.schedule_counting(schedule text DEFAULT '0 */4 * * *') RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_command text := 'CALL user_activity.run_counting()';
BEGIN
    IF schedule IS NULL OR pg_catalog.btrim(schedule) = '' THEN
        RAISE EXCEPTION 'missing parameter "schedule"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'schedule',
                  DETAIL = 'Parameter "schedule" must be a cron expression, such as ''0 */4 * * *''.';
    END IF;
    PERFORM user_activity.pg_cron_schedule('user_activity_count', schedule, v_command);
    RETURN pg_catalog.jsonb_build_object('job_name', 'user_activity_count', 'schedule', schedule,
                                         'command', v_command);
END;
$$;
COMMENT ON FUNCTION user_activity.schedule_counting(text) IS
    'creates or replaces the pg_cron job user_activity_count that runs the count on the given schedule';

CREATE FUNCTION user_activity.unschedule_counting() RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT user_activity.pg_cron_unschedule('user_activity_count')
$$;
COMMENT ON FUNCTION user_activity.unschedule_counting() IS
    'removes the pg_cron job user_activity_count; false when there was none';

CREATE FUNCTION user_activity.schedule_maintenance(schedule text DEFAULT '17 * * * *') RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_command text := 'SELECT user_activity.maintain_partitions()';
BEGIN
    IF schedule IS NULL OR pg_catalog.btrim(schedule) = '' THEN
        RAISE EXCEPTION 'missing parameter "schedule"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'schedule',
                  DETAIL = 'Parameter "schedule" must be a cron expression, such as ''17 * * * *''.';
    END IF;
    PERFORM user_activity.pg_cron_schedule('user_activity_maintenance', schedule, v_command);
    RETURN pg_catalog.jsonb_build_object('job_name', 'user_activity_maintenance', 'schedule', schedule,
                                         'command', v_command);
END;
$$;
COMMENT ON FUNCTION user_activity.schedule_maintenance(text) IS
    'creates or replaces the pg_cron job user_activity_maintenance that runs maintain_partitions() (default: hourly)';

CREATE FUNCTION user_activity.unschedule_maintenance() RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT user_activity.pg_cron_unschedule('user_activity_maintenance')
$$;
COMMENT ON FUNCTION user_activity.unschedule_maintenance() IS
    'removes the pg_cron job user_activity_maintenance; false when there was none';

-- Scheduling is the owner's (a superuser's).
REVOKE ALL ON FUNCTION
    user_activity.counting_require_pg_cron(),
    user_activity.pg_cron_relation(name),
    user_activity.pg_cron_function(name, pg_catalog.regtype[]),
    user_activity.pg_cron_job(text),
    user_activity.pg_cron_required(name, pg_catalog.regtype[]),
    user_activity.pg_cron_schedule(text, text, text),
    user_activity.pg_cron_unschedule(text),
    user_activity.schedule_counting(text),
    user_activity.unschedule_counting(),
    user_activity.schedule_maintenance(text),
    user_activity.unschedule_maintenance()
FROM PUBLIC;
