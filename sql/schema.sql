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

-- every unique index includes user_id (distributable by user_id)
SELECT indexrelid::regclass AS index, pg_catalog.pg_get_indexdef(indexrelid) AS definition
FROM pg_catalog.pg_index
WHERE indrelid = 'user_activity.events'::regclass AND indisunique
ORDER BY 1;

-- the schema belongs to the extension
SELECT n.nspname, r.rolname AS owner
FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
WHERE n.nspname = 'user_activity';
