/* user_activity--1.3--1.4.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.4'" to load this file. \quit

--
-- Version 1.4.  CREATE EXTENSION installs 1.0 and applies every upgrade
-- script in turn, so fresh installs and upgrades run the same code.
--
-- Each section below belongs to one concern; keep changes inside it.
--


-- ----------------------------------------------------------------------
-- Security: objects proven to be ours or pg_cron's; API keys in SQL
-- ----------------------------------------------------------------------
--
-- - The schema.  CREATE EXTENSION adopts an existing schema named
--   user_activity, and the owner of a schema may drop and replace any object
--   in it, so a schema that a non-superuser made first would let that role
--   swap the tables our SECURITY DEFINER functions read.  The schema must
--   belong to a superuser (1.0 refuses to install into one that does not;
--   this refuses to update one).
--
-- - pg_cron's objects.  pg_cron is optional, so until 1.4 the counting
--   status, the count's history purge and the scheduling functions found
--   cron.job and cron.job_run_details by name (to_regclass).  Where pg_cron
--   is not installed, any role with CREATE on the database could make a
--   schema "cron" holding a view whose columns call its own function, and
--   the next read of the counting status (GET /metrics, unauthenticated)
--   ran that function as the extension's owner.  Now every pg_cron object
--   is found through pg_depend as a member of the extension pg_cron
--   (pg_cron_relation, pg_cron_function), and the counting job is the one
--   a superuser scheduled (pg_cron_job): a job of the same name that another
--   role scheduled for itself is not ours.
--
-- - API keys.  1.3's shim read its keys from the settings
--   user_activity.http_api_key_*, which every member of
--   pg_read_all_settings (pg_monitor included) can SHOW, and which needed a
--   restart to change.  Keys now live in user_activity.api_keys, which holds
--   only each key's SHA-256: create_api_key() returns the secret once,
--   revoke_api_key() ends it, api_key_list shows them without secrets.  The
--   shim reads the hashes with api_key_hashes() and is told of every change
--   by NOTIFY user_activity_api_keys.
--
--   Migrating from 1.3: remove user_activity.http_api_key_read, _write and
--   _admin from postgresql.conf (the settings no longer exist) and, for each,
--       SELECT user_activity.create_api_key('write', 'write');
--   which returns a new secret for the clients; or, to keep the secret the
--   clients already hold,
--       SELECT user_activity.create_api_key('write', 'write', secret => '...');
--   (mind that the statement, secret included, may be logged).
--
-- - Roles.  user_activity_admin manages the keys.  user_activity_http is
--   the login of the in-database shim: a member of user_activity_writer,
--   never a superuser, with no password (it logs in over the local socket,
--   as pg_hba.conf allows).
--
DO $guard$
DECLARE
    v_owner name;
BEGIN
    SELECT r.rolname INTO v_owner
    FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
    WHERE n.nspname = 'user_activity' AND NOT r.rolsuper;
    IF FOUND THEN
        RAISE EXCEPTION 'schema user_activity is owned by role "%", which is not a superuser', v_owner
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The owner of a schema can replace the objects in it, and the extension''s SECURITY DEFINER functions read them.',
                  HINT = 'ALTER SCHEMA user_activity OWNER TO a superuser, after checking that every object in it is the extension''s.';
    END IF;
END
$guard$;

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

CREATE OR REPLACE FUNCTION user_activity.counting_schedule() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT j.schedule FROM user_activity.pg_cron_job('user_activity_count') j
$$;

CREATE OR REPLACE FUNCTION user_activity.counting_status_json() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_tz text := COALESCE(NULLIF(pg_catalog.current_setting('cron.timezone', true), ''), 'GMT');
    v_job record := user_activity.pg_cron_job('user_activity_count');
    v_runs pg_catalog.regclass := user_activity.pg_cron_relation('job_run_details');
    v_last_run json;
    v_cron json;
    v_position json;
    v_out text;
BEGIN
    -- pg_cron is optional and looked up at call time, like the scheduling
    -- functions; so is its run history (pg_cron 1.3 and later).
    IF user_activity.pg_cron_relation('job') IS NOT NULL THEN
        IF v_job.jobid IS NOT NULL AND v_runs IS NOT NULL THEN
            EXECUTE pg_catalog.format(
                'SELECT pg_catalog.json_build_object(
                            ''status'', d.status,
                            ''started_at'', user_activity.counting_rfc3339(d.start_time),
                            ''ended_at'', user_activity.counting_rfc3339(d.end_time),
                            ''message'', d.return_message)
                 FROM %s d WHERE d.jobid = $1 ORDER BY d.runid DESC LIMIT 1', v_runs)
                INTO v_last_run USING v_job.jobid;
        END IF;
        v_cron := pg_catalog.json_build_object(
            'timezone', v_tz,
            'job', CASE WHEN v_job.jobid IS NOT NULL THEN
                            pg_catalog.json_build_object('name', 'user_activity_count',
                                                         'schedule', v_job.schedule,
                                                         'active', v_job.active,
                                                         'last_run', v_last_run)
                   END);
    END IF;
    SELECT pg_catalog.json_build_object(
               'last_id', p.last_id,
               'last_period_end', user_activity.counting_rfc3339(p.last_period_end),
               'updated_at', user_activity.counting_rfc3339(p.updated_at))
    INTO v_position
    FROM user_activity.counting_state p;
    SELECT pg_catalog.json_build_object(
               'last_run_at', user_activity.counting_rfc3339(s.last_run_at),
               'last_success_at', user_activity.counting_rfc3339(s.last_success_at),
               'last_outcome', s.last_outcome,
               'last_error', s.last_error,
               'seconds_since_last_success', s.seconds_since_last_success,
               'schedule', s.schedule,
               'events_counted', s.events_counted,
               'position', v_position,
               'expected_interval_seconds',
                   CASE WHEN v_job.active THEN user_activity.counting_cron_interval(v_job.schedule) END,
               'next_run_at',
                   CASE WHEN v_job.active THEN user_activity.counting_rfc3339(
                       user_activity.counting_cron_next(v_job.schedule, pg_catalog.now(), v_tz)) END,
               'pg_cron', v_cron)::text
    INTO v_out
    FROM user_activity.counting_status s;
    RETURN v_out;
END;
$$;

CREATE OR REPLACE FUNCTION user_activity.counting_purge_history() RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_before timestamptz := pg_catalog.now() - user_activity.counting_history_keep();
    v_runs pg_catalog.regclass := user_activity.pg_cron_relation('job_run_details');
    v_jobid bigint := (user_activity.pg_cron_job('user_activity_count')).jobid;
BEGIN
    -- The last run and the last success stay, however old: counting_status
    -- reports them.
    DELETE FROM user_activity.counting_runs r
    WHERE r.finished_at < v_before
      AND r.id <> (SELECT pg_catalog.max(l.id) FROM user_activity.counting_runs l)
      AND r.id <> COALESCE((SELECT pg_catalog.max(l.id) FROM user_activity.counting_runs l
                            WHERE l.outcome IN ('counted', 'empty')), 0);
    IF v_runs IS NOT NULL AND v_jobid IS NOT NULL
       AND pg_catalog.has_table_privilege(v_runs, 'DELETE') THEN
        EXECUTE pg_catalog.format('DELETE FROM %s d WHERE d.jobid = $1 AND d.end_time < $2', v_runs)
            USING v_jobid, v_before;
    END IF;
END;
$$;

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

-- The scheduling functions run as their caller (a superuser), who must not
-- be led to a look-alike cron.schedule either.
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

CREATE OR REPLACE FUNCTION user_activity.schedule_counting(schedule text DEFAULT '0 */4 * * *') RETURNS jsonb
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

CREATE OR REPLACE FUNCTION user_activity.unschedule_counting() RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT user_activity.pg_cron_unschedule('user_activity_count')
$$;

CREATE OR REPLACE FUNCTION user_activity.schedule_maintenance(schedule text DEFAULT '17 * * * *') RETURNS jsonb
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

CREATE OR REPLACE FUNCTION user_activity.unschedule_maintenance() RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT user_activity.pg_cron_unschedule('user_activity_maintenance')
$$;

REVOKE ALL ON FUNCTION
    user_activity.pg_cron_relation(name),
    user_activity.pg_cron_function(name, pg_catalog.regtype[]),
    user_activity.pg_cron_job(text),
    user_activity.pg_cron_required(name, pg_catalog.regtype[]),
    user_activity.pg_cron_schedule(text, text, text),
    user_activity.pg_cron_unschedule(text)
FROM PUBLIC;

--
-- Roles
--
DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'user_activity_admin') THEN
        CREATE ROLE user_activity_admin NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'user_activity_http') THEN
        CREATE ROLE user_activity_http LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION
            IN ROLE user_activity_writer;
    END IF;
END
$roles$;
COMMENT ON ROLE user_activity_admin IS 'manages the API keys of the user_activity HTTP shim';
COMMENT ON ROLE user_activity_http IS 'the login of the user_activity in-database HTTP shim (a user_activity_writer)';
GRANT USAGE ON SCHEMA user_activity TO user_activity_admin;

--
-- API keys
--
CREATE TABLE user_activity.api_keys (
    name text PRIMARY KEY,
    scope text NOT NULL,
    key_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash),
    CONSTRAINT api_keys_name_check CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$'),
    CONSTRAINT api_keys_scope_check CHECK (scope IN ('read', 'write', 'admin')),
    CONSTRAINT api_keys_key_hash_check CHECK (pg_catalog.length(key_hash) = 32)
);
COMMENT ON TABLE user_activity.api_keys IS
    'API keys of the HTTP shim: only the SHA-256 of each secret is kept (create_api_key, revoke_api_key, api_key_list)';
COMMENT ON COLUMN user_activity.api_keys.name IS 'the key''s name, for people and logs; never the secret';
COMMENT ON COLUMN user_activity.api_keys.scope IS
    'read: searches, exports, counts; write: ingest; admin: everything, erasure included';
COMMENT ON COLUMN user_activity.api_keys.key_hash IS 'sha256 of the secret''s UTF-8 bytes';
COMMENT ON COLUMN user_activity.api_keys.created_at IS 'when the key was created';
COMMENT ON COLUMN user_activity.api_keys.expires_at IS 'from when the key is refused; null: never';
COMMENT ON COLUMN user_activity.api_keys.revoked_at IS 'when the key was revoked; null: not revoked';
SELECT pg_catalog.pg_extension_config_dump('user_activity.api_keys', '');

CREATE FUNCTION user_activity.api_keys_notify() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM pg_catalog.pg_notify('user_activity_api_keys', '');
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION user_activity.api_keys_notify() IS
    'trigger: tells the shims listening on user_activity_api_keys that the keys changed';
CREATE TRIGGER api_keys_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_activity.api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION user_activity.api_keys_notify();

CREATE FUNCTION user_activity.create_api_key(name text, scope text, expires_at timestamptz DEFAULT NULL,
                                             secret text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_secret text := secret;
BEGIN
    IF create_api_key.name IS NULL OR create_api_key.name !~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid API key name %', COALESCE(pg_catalog.quote_literal(create_api_key.name), 'null')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'name',
                  DETAIL = 'Parameter "name" must be 1 to 63 letters, digits, "_", ".", "@" or "-", starting with a letter or digit.';
    END IF;
    IF create_api_key.scope IS NULL OR create_api_key.scope NOT IN ('read', 'write', 'admin') THEN
        RAISE EXCEPTION 'invalid API key scope %', COALESCE(pg_catalog.quote_literal(create_api_key.scope), 'null')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'scope',
                  DETAIL = 'Parameter "scope" must be one of read, write, admin.';
    END IF;
    IF create_api_key.expires_at <= pg_catalog.now() THEN
        RAISE EXCEPTION 'API key would expire before it is created'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'expires_at',
                  DETAIL = 'Parameter "expires_at" must be in the future, or null for a key that does not expire.';
    END IF;
    IF v_secret IS NULL THEN
        -- 244 random bits from pg_strong_random, as 64 hex digits
        v_secret := 'uak_' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
            pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, 'UTF8')), 'hex');
    ELSIF pg_catalog.length(v_secret) < 16 OR pg_catalog.length(v_secret) > 4096
          OR v_secret !~ '^[\x21-\x7e]+$' THEN
        RAISE EXCEPTION 'invalid API key secret'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'secret',
                  DETAIL = 'Parameter "secret" must be 16 to 4096 printable ASCII characters without spaces.';
    END IF;
    BEGIN
        INSERT INTO user_activity.api_keys (name, scope, key_hash, expires_at)
        VALUES (create_api_key.name, create_api_key.scope,
                pg_catalog.sha256(pg_catalog.convert_to(v_secret, 'UTF8')), create_api_key.expires_at);
    EXCEPTION WHEN unique_violation THEN
        IF EXISTS (SELECT FROM user_activity.api_keys k WHERE k.name = create_api_key.name) THEN
            RAISE EXCEPTION 'API key "%" already exists', create_api_key.name
                USING ERRCODE = 'unique_violation', COLUMN = 'name',
                      DETAIL = 'Names of API keys are unique, revoked ones included.',
                      HINT = 'Choose another name.';
        END IF;
        RAISE EXCEPTION 'that secret is already the secret of another API key'
            USING ERRCODE = 'unique_violation', COLUMN = 'secret',
                  DETAIL = 'Each API key has a secret of its own.';
    END;
    RETURN v_secret;
END;
$$;
COMMENT ON FUNCTION user_activity.create_api_key(text, text, timestamptz, text) IS
    'creates an API key of the HTTP shim with that name and scope (read, write, admin) and returns its secret, which is not kept: only its SHA-256 is; secret: keep one the clients hold already';

CREATE FUNCTION user_activity.revoke_api_key(name text) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    UPDATE user_activity.api_keys k SET revoked_at = pg_catalog.now()
    WHERE k.name = revoke_api_key.name AND k.revoked_at IS NULL;
    IF FOUND THEN
        RETURN true;
    END IF;
    IF NOT EXISTS (SELECT FROM user_activity.api_keys k WHERE k.name = revoke_api_key.name) THEN
        RAISE EXCEPTION 'API key "%" does not exist', revoke_api_key.name
            USING ERRCODE = 'undefined_object', COLUMN = 'name',
                  DETAIL = 'Parameter "name" must name a key of user_activity.api_key_list.';
    END IF;
    RETURN false;
END;
$$;
COMMENT ON FUNCTION user_activity.revoke_api_key(text) IS
    'revokes the API key of that name at once; false when it was revoked already';

CREATE VIEW user_activity.api_key_list AS
SELECT k.name, k.scope, k.created_at, k.expires_at, k.revoked_at,
       CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
            WHEN k.expires_at <= pg_catalog.now() THEN 'expired'
            ELSE 'active' END AS state
FROM user_activity.api_keys k;
COMMENT ON VIEW user_activity.api_key_list IS 'the API keys without their secrets: name, scope, times and state (active, expired, revoked)';

CREATE FUNCTION user_activity.api_key_hashes()
    RETURNS TABLE (scope text, key_hash bytea, expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT k.scope, k.key_hash, k.expires_at, k.revoked_at FROM user_activity.api_keys k ORDER BY k.key_hash
$$;
COMMENT ON FUNCTION user_activity.api_key_hashes() IS
    'every API key''s scope, hash, expiry and revocation, for the HTTP shim (it listens on user_activity_api_keys for changes)';

REVOKE ALL ON TABLE user_activity.api_keys, user_activity.api_key_list FROM PUBLIC;
REVOKE ALL ON FUNCTION
    user_activity.api_keys_notify(),
    user_activity.create_api_key(text, text, timestamptz, text),
    user_activity.revoke_api_key(text),
    user_activity.api_key_hashes()
FROM PUBLIC;
GRANT SELECT ON user_activity.api_key_list TO user_activity_admin;
GRANT EXECUTE ON FUNCTION
    user_activity.create_api_key(text, text, timestamptz, text),
    user_activity.revoke_api_key(text)
TO user_activity_admin;
GRANT EXECUTE ON FUNCTION user_activity.api_key_hashes() TO user_activity_writer;


-- ----------------------------------------------------------------------
-- Citus: dedup and erasure without backend-local state
-- ----------------------------------------------------------------------
--
-- On Citus the rows of user_activity.events are inserted and deleted on the
-- workers, where the shards' triggers run, while ingest and
-- delete_user_events run on the coordinator.  So nothing here may depend
-- on state kept in the calling backend, nor on trigger features a shard
-- cannot run:
--
-- - Ingest claims each (user_id, event_id) in user_activity.event_keys
--   itself, with INSERT ... ON CONFLICT DO NOTHING (routed by user_id, like
--   the insert of the event that follows), and inserts only the events whose
--   key it claimed; a taken key is answered with the event first stored.
--   (Up to 1.3 a flag in ingest's backend made the trigger skip the row,
--   which a trigger on a worker never saw.)
-- - The key trigger accepts a key claimed for the very row it sees (same id
--   and recorded_at), claims a free key, and fails any other INSERT with
--   unique_violation, as before.
-- - Deleting events releases their keys row by row (an AFTER DELETE row
--   trigger) instead of through a transition table, which Citus cannot plan
--   on a shard; delete_user_events deletes the user's keys itself first.
-- - TRUNCATE empties event_keys once, from the table it was issued on: the
--   trigger does nothing when it fires on a Citus shard, whose TRUNCATE
--   the coordinator's own TRUNCATE of event_keys already covers.
--
-- The old C entry points stay in the module for databases not yet updated.
--

CREATE OR REPLACE FUNCTION user_activity.record_event(event jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event_1_4';

CREATE OR REPLACE FUNCTION user_activity.record_event(
    user_id bigint,
    action user_activity.action,
    action_time timestamptz,
    metadata jsonb DEFAULT '{}',
    event_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event_typed_1_4';

CREATE OR REPLACE FUNCTION user_activity.record_events(events jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_events_1_4';

-- The trigger looks the key up by its primary key on every row it sees.  A
-- plan made while event_keys is small (a new database, after a TRUNCATE)
-- scans it whole instead, and the plan stays while one long transaction
-- fills the table (nothing invalidates it before the next VACUUM or
-- ANALYZE): with seq scans off the lookup is an index scan whatever the
-- size, and its plan can be kept.
CREATE OR REPLACE FUNCTION user_activity.claim_event_key() RETURNS trigger
    LANGUAGE c
    SET enable_seqscan = off
    AS 'MODULE_PATHNAME', 'user_activity_claim_event_key';
COMMENT ON FUNCTION user_activity.claim_event_key() IS
    'trigger: claims (user_id, event_id) in event_keys, or accepts the key ingest claimed for this row; any other taken key fails the INSERT with unique_violation';

-- One function releases keys for both triggers: the row-level DELETE one
-- (new) and the TRUNCATE one.  It is the function that 1.1 made, so that
-- the new trigger names a function every node has already: on Citus the
-- coordinator creates the trigger on the workers' shards before the
-- workers run this script.
CREATE OR REPLACE FUNCTION user_activity.release_event_keys() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' THEN
        DELETE FROM user_activity.event_keys k
        WHERE k.user_id = OLD.user_id AND k.event_id = OLD.event_id AND k.id = OLD.id;
    ELSIF TG_OP = 'TRUNCATE' AND TG_RELID = 'user_activity.events'::pg_catalog.regclass THEN
        -- On a Citus worker the trigger fires on each shard; the TRUNCATE
        -- of the distributed table on the coordinator empties event_keys.
        TRUNCATE user_activity.event_keys;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION user_activity.release_event_keys() IS
    'trigger: deletes the event key of a deleted event (FOR EACH ROW), or every key when user_activity.events is truncated, so that an erased event_id can be stored again';

-- The trigger DDL runs through EXECUTE: Citus forwards a utility
-- statement on a distributed table to the workers with the text it was
-- given, which for a statement of this script would be the whole script.
-- And it may find its work done: on a Citus worker, the coordinator's
-- update has already changed the triggers when the worker runs this script.
DO $ddl$
BEGIN
    EXECUTE 'DROP TRIGGER IF EXISTS events_release_keys ON user_activity.events';
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
                   WHERE t.tgrelid = 'user_activity.events'::pg_catalog.regclass
                     AND t.tgname = 'events_release_key') THEN
        EXECUTE 'CREATE TRIGGER events_release_key
            AFTER DELETE ON user_activity.events
            FOR EACH ROW WHEN (OLD.event_id IS NOT NULL)
            EXECUTE FUNCTION user_activity.release_event_keys()';
        EXECUTE 'COMMENT ON TRIGGER events_release_key ON user_activity.events IS '
            || pg_catalog.quote_literal('releases the event key of each deleted event that has one (row by row: a Citus shard cannot read a transition table)');
    END IF;
END
$ddl$;

CREATE OR REPLACE FUNCTION user_activity.delete_user_events(user_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_events bigint;
    v_counts bigint;
BEGIN
    IF delete_user_events.user_id IS NULL THEN
        RAISE EXCEPTION 'missing parameter "user_id"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'user_id',
                  DETAIL = 'Parameter "user_id" is required.';
    END IF;
    IF delete_user_events.user_id < 1 THEN
        RAISE EXCEPTION 'user_id out of range: %', delete_user_events.user_id
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = 'user_id',
                  DETAIL = 'Parameter "user_id" must be between 1 and 9223372036854775807.';
    END IF;
    -- Wait for a running count, so that it cannot store counts of the
    -- events deleted here after they are gone.
    PERFORM pg_catalog.pg_advisory_xact_lock('user_activity.counting_state'::pg_catalog.regclass::pg_catalog.oid::bigint);
    -- Keys first, in one statement (the row trigger then finds none to
    -- release): a sender of one of these keys waits for this transaction,
    -- and an event stored meanwhile is deleted below with its key.  Each
    -- statement names the user, so on Citus it goes to the user's node.
    DELETE FROM user_activity.event_keys k WHERE k.user_id = delete_user_events.user_id;
    DELETE FROM user_activity.events e WHERE e.user_id = delete_user_events.user_id;
    GET DIAGNOSTICS v_events = ROW_COUNT;
    DELETE FROM user_activity.user_event_counts c WHERE c.user_id = delete_user_events.user_id;
    GET DIAGNOSTICS v_counts = ROW_COUNT;
    RETURN pg_catalog.jsonb_build_object('user_id', delete_user_events.user_id,
                                         'events_deleted', v_events, 'counts_deleted', v_counts);
END;
$$;


-- ----------------------------------------------------------------------
-- Naming: every SQL-callable C function is user_activity_*
-- ----------------------------------------------------------------------
--
-- The module keeps the older names (ua_*) for databases not yet updated.
--
CREATE OR REPLACE FUNCTION user_activity.partition_interval() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'user_activity_partition_interval';
CREATE OR REPLACE FUNCTION user_activity.partitions_ahead() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'user_activity_partitions_ahead';
CREATE OR REPLACE FUNCTION user_activity.counting_history_keep() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'user_activity_counting_history_keep';
CREATE OR REPLACE FUNCTION user_activity.counting_wait_for_writers() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'user_activity_counting_wait_for_writers';
