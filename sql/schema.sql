--
-- Schema
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

\dx user_activity
\d user_activity.events
SELECT pg_catalog.enum_range(NULL::user_activity.action);

-- the indexes of events are each partition's own, made from the template;
-- every unique one includes user_id (distributable by user_id)
\d user_activity.events_template
SELECT indexrelid::regclass AS index, pg_catalog.pg_get_indexdef(indexrelid) AS definition
FROM pg_catalog.pg_index
WHERE indrelid IN ('user_activity.events'::regclass, 'user_activity.events_template'::regclass) AND indisunique
ORDER BY 1;

-- the schema belongs to the extension
SELECT n.nspname, r.rolname AS owner
FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
WHERE n.nspname = 'user_activity';

-- house rules, for every object of the extension (each query lists the offenders)
-- every object has a comment
SELECT pg_catalog.pg_describe_object(d.classid, d.objid, 0) AS uncommented
FROM pg_catalog.pg_depend d
WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
  AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'user_activity')
  AND d.deptype = 'e'
  AND pg_catalog.obj_description(d.objid, d.classid::pg_catalog.regclass::text) IS NULL
ORDER BY 1;
-- every SECURITY DEFINER function pins its search_path
SELECT p.oid::pg_catalog.regprocedure AS definer_without_search_path
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'user_activity'::pg_catalog.regnamespace AND p.prosecdef
  AND NOT coalesce(p.proconfig @> '{"search_path=pg_catalog, pg_temp"}', false)
ORDER BY 1::text;
-- no function is executable by PUBLIC
SELECT p.oid::pg_catalog.regprocedure AS executable_by_public
FROM pg_catalog.pg_proc p
WHERE p.pronamespace = 'user_activity'::pg_catalog.regnamespace
  AND pg_catalog.has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1::text;
-- the search index: the primary key of every partition serves
-- (user_id, recorded_at, id) keyset scans
SELECT pg_catalog.pg_get_indexdef('user_activity.events_template_pkey'::pg_catalog.regclass);
