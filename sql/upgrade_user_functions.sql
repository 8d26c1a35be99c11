--
-- Upgrades touch only the extension's own members
--
-- 1.0 to 1.1 replaces user_activity.events by a partitioned table, so every
-- function whose signature names its row type is re-created.  A user's
-- function among them keeps its owner, its SECURITY DEFINER, its privileges
-- and its comment, and does not become a member of the extension: else it
-- would run as the superuser who ran the update, and DROP EXTENSION would
-- drop it.  Checked after every upgrade path, step by step and at once.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
DROP ROLE IF EXISTS ua_fn_owner;
DROP ROLE IF EXISTS ua_fn_caller;
CREATE ROLE ua_fn_owner;
CREATE ROLE ua_fn_caller;
CREATE SCHEMA ua_user_fns AUTHORIZATION ua_fn_owner;
GRANT USAGE ON SCHEMA ua_user_fns TO ua_fn_caller;
RESET client_min_messages;

-- the user's function on the row type, and what must survive of it
CREATE PROCEDURE ua_make_user_function() LANGUAGE plpgsql AS $$
BEGIN
    GRANT USAGE ON SCHEMA user_activity TO ua_fn_owner;
    GRANT SELECT ON user_activity.events TO ua_fn_owner;
    SET LOCAL ROLE ua_fn_owner;
    CREATE FUNCTION ua_user_fns.last_event(u bigint) RETURNS user_activity.events
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog
        AS 'SELECT e FROM user_activity.events e WHERE e.user_id = $1 ORDER BY e.id DESC LIMIT 1';
    CREATE FUNCTION ua_user_fns.describe(e user_activity.events) RETURNS text
        LANGUAGE sql IMMUTABLE AS 'SELECT $1.action::text';
    COMMENT ON FUNCTION ua_user_fns.last_event(bigint) IS 'the user''s own';
    REVOKE ALL ON FUNCTION ua_user_fns.last_event(bigint) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION ua_user_fns.last_event(bigint) TO ua_fn_caller WITH GRANT OPTION;
END;
$$;
CREATE VIEW ua_user_function_state AS
SELECT p.oid::regprocedure::text AS function, pg_get_userbyid(p.proowner) AS owner, p.prosecdef AS security_definer,
       coalesce(p.proacl, acldefault('f', p.proowner)) AS privileges,
       obj_description(p.oid, 'pg_proc') AS comment,
       EXISTS (SELECT FROM pg_depend d
               WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                 AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e') AS member_of_extension
FROM pg_proc p
WHERE p.pronamespace = 'ua_user_fns'::regnamespace;

-- 1.0, step by step to the newest
CREATE EXTENSION user_activity VERSION '1.0';
CALL ua_make_user_function();
CREATE TEMP TABLE before AS SELECT * FROM ua_user_function_state;
SELECT * FROM ua_user_function_state ORDER BY 1;
ALTER EXTENSION user_activity UPDATE TO '1.1';
SELECT (SELECT count(*) FROM ua_user_function_state s JOIN before b ON b.function = s.function
        WHERE (s.owner, s.security_definer, s.privileges::text, s.comment, s.member_of_extension)
              IS NOT DISTINCT FROM (b.owner, b.security_definer, b.privileges::text, b.comment, b.member_of_extension))
       AS unchanged_after_1_1;
ALTER EXTENSION user_activity UPDATE TO '1.2';
ALTER EXTENSION user_activity UPDATE TO '1.3';
ALTER EXTENSION user_activity UPDATE TO '1.4';
SELECT * FROM ua_user_function_state ORDER BY 1;
-- still the user's and still working: the caller reads through it
SELECT r ->> 'status' AS status FROM user_activity.record_event(7, 'viewed', '2025-10-10 18:30Z', '{}', NULL) r;
SET ROLE ua_fn_caller;
SELECT (ua_user_fns.last_event(7)).action, ua_user_fns.describe(ua_user_fns.last_event(7));
RESET ROLE;
-- DROP EXTENSION does not drop it: it depends on the row type, so it stops
-- the drop instead (it is the user's to remove)
\set VERBOSITY terse
DROP EXTENSION user_activity;
\set VERBOSITY default
DROP FUNCTION ua_user_fns.last_event(bigint), ua_user_fns.describe(user_activity.events);

-- 1.0 straight to the newest
DROP EXTENSION user_activity;
CREATE EXTENSION user_activity VERSION '1.0';
CALL ua_make_user_function();
ALTER EXTENSION user_activity UPDATE;
SELECT (SELECT count(*) FROM ua_user_function_state s JOIN before b ON b.function = s.function
        WHERE (s.owner, s.security_definer, s.privileges::text, s.comment, s.member_of_extension)
              IS NOT DISTINCT FROM (b.owner, b.security_definer, b.privileges::text, b.comment, b.member_of_extension))
       AS unchanged_after_1_0_to_newest;
DROP FUNCTION ua_user_fns.last_event(bigint), ua_user_fns.describe(user_activity.events);

-- from each later version to the newest
DROP EXTENSION user_activity;
CREATE EXTENSION user_activity VERSION '1.1';
CALL ua_make_user_function();
ALTER EXTENSION user_activity UPDATE;
SELECT count(*) AS unchanged_after_1_1_to_newest FROM ua_user_function_state s JOIN before b ON b.function = s.function
WHERE (s.owner, s.security_definer, s.privileges::text, s.comment, s.member_of_extension)
      IS NOT DISTINCT FROM (b.owner, b.security_definer, b.privileges::text, b.comment, b.member_of_extension);
DROP FUNCTION ua_user_fns.last_event(bigint), ua_user_fns.describe(user_activity.events);
DROP EXTENSION user_activity;
CREATE EXTENSION user_activity VERSION '1.2';
CALL ua_make_user_function();
ALTER EXTENSION user_activity UPDATE;
SELECT count(*) AS unchanged_after_1_2_to_newest FROM ua_user_function_state s JOIN before b ON b.function = s.function
WHERE (s.owner, s.security_definer, s.privileges::text, s.comment, s.member_of_extension)
      IS NOT DISTINCT FROM (b.owner, b.security_definer, b.privileges::text, b.comment, b.member_of_extension);
DROP FUNCTION ua_user_fns.last_event(bigint), ua_user_fns.describe(user_activity.events);
DROP EXTENSION user_activity;
CREATE EXTENSION user_activity VERSION '1.3';
CALL ua_make_user_function();
ALTER EXTENSION user_activity UPDATE;
SELECT count(*) AS unchanged_after_1_3_to_newest FROM ua_user_function_state s JOIN before b ON b.function = s.function
WHERE (s.owner, s.security_definer, s.privileges::text, s.comment, s.member_of_extension)
      IS NOT DISTINCT FROM (b.owner, b.security_definer, b.privileges::text, b.comment, b.member_of_extension);

SET client_min_messages = warning;
DROP FUNCTION ua_user_fns.last_event(bigint), ua_user_fns.describe(user_activity.events);
DROP EXTENSION user_activity;
DROP VIEW ua_user_function_state;
DROP PROCEDURE ua_make_user_function();
DROP SCHEMA ua_user_fns;
DROP OWNED BY ua_fn_owner, ua_fn_caller;
DROP ROLE ua_fn_owner;
DROP ROLE ua_fn_caller;
RESET client_min_messages;
