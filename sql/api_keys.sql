--
-- API keys: only hashes are kept; created, listed and revoked in SQL
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity;
RESET client_min_messages;
SET timezone = 'UTC';

-- a new key: its secret is returned once, and only its SHA-256 is kept
CREATE TEMP TABLE secrets AS
SELECT user_activity.create_api_key('ingest', 'write') AS writer,
       user_activity.create_api_key('dashboards', 'read', expires_at => now() + interval '1 day') AS reader,
       user_activity.create_api_key('ops', 'admin') AS admin;
SELECT writer ~ '^uak_[0-9a-f]{64}$' AS secret_format, writer <> reader AND reader <> admin AS distinct_secrets
FROM secrets;
SELECT k.name, k.scope, k.key_hash = sha256(convert_to(s.writer, 'UTF8')) AS hash_of_secret,
       length(k.key_hash) AS hash_bytes
FROM user_activity.api_keys k, secrets s WHERE k.name = 'ingest';
SELECT count(*) AS tables_holding_the_secret
FROM user_activity.api_keys k, secrets s
WHERE k::text LIKE '%' || s.writer || '%' OR encode(k.key_hash, 'escape') LIKE '%' || s.writer || '%';
-- a secret the clients hold already (moving from the 1.3 settings)
SELECT user_activity.create_api_key('legacy', 'read', secret => 'an-old-secret-of-1.3') AS kept_secret;
SELECT name, scope, expires_at IS NOT NULL AS expires, revoked_at, state
FROM user_activity.api_key_list ORDER BY name;

-- wrong input names the field
SELECT user_activity.create_api_key('ingest', 'write');
SELECT user_activity.create_api_key('x', 'superuser');
SELECT user_activity.create_api_key(' spaced', 'read');
SELECT user_activity.create_api_key(NULL, 'read');
SELECT user_activity.create_api_key('late', 'read', expires_at => '2000-01-01');
SELECT user_activity.create_api_key('short', 'read', secret => 'too-short');
SELECT user_activity.create_api_key('again', 'read', secret => 'an-old-secret-of-1.3');
\set VERBOSITY verbose
SELECT user_activity.create_api_key('x', 'superuser');
\set VERBOSITY default

-- revocation: at once, once; an unknown name is an error
SELECT user_activity.revoke_api_key('legacy') AS revoked;
SELECT user_activity.revoke_api_key('legacy') AS revoked_again;
SELECT user_activity.revoke_api_key('nobody');
SELECT name, state FROM user_activity.api_key_list ORDER BY name;

-- the shim reads every key's scope, hash and state, and hears of changes
SELECT scope, expires_at IS NOT NULL AS expires, revoked_at IS NOT NULL AS revoked
FROM user_activity.api_key_hashes() ORDER BY scope, expires;
-- (NOTIFY user_activity_api_keys after every statement that writes them;
-- the shim's tests show a new or revoked key taking effect)
SELECT tgname, pg_get_triggerdef(oid) ~ 'AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE' AS every_write,
       tgtype & 1 = 0 AS per_statement
FROM pg_trigger WHERE tgrelid = 'user_activity.api_keys'::regclass;

-- privileges: the admin role manages keys and sees no hash; the shim's
-- role reads hashes only; analysts and PUBLIC see nothing
SET ROLE user_activity_admin;
SELECT user_activity.create_api_key('by-admin', 'read') IS NOT NULL AS created;
SELECT count(*) AS listed FROM user_activity.api_key_list;
SELECT user_activity.revoke_api_key('by-admin') AS revoked;
SELECT count(*) FROM user_activity.api_keys;
SELECT count(*) FROM user_activity.api_key_hashes();
RESET ROLE;
SET ROLE user_activity_writer;
SELECT count(*) AS hashes FROM user_activity.api_key_hashes();
SELECT user_activity.create_api_key('by-writer', 'admin');
SELECT user_activity.revoke_api_key('ops');
SELECT count(*) FROM user_activity.api_key_list;
SELECT count(*) FROM user_activity.api_keys;
UPDATE user_activity.api_keys SET revoked_at = NULL;
RESET ROLE;
SET ROLE user_activity_reader;
SELECT count(*) FROM user_activity.api_key_list;
SELECT count(*) FROM user_activity.api_key_hashes();
SELECT user_activity.create_api_key('by-reader', 'admin');
RESET ROLE;

-- the shim's login role: no superuser, a writer
SELECT rolname, rolsuper, rolcanlogin, rolcreaterole, rolcreatedb,
       pg_has_role('user_activity_http', 'user_activity_writer', 'USAGE') AS is_writer,
       pg_has_role('user_activity_http', 'user_activity_admin', 'USAGE') AS is_admin
FROM pg_roles WHERE rolname = 'user_activity_http';

-- keys are dumped with the extension's data
SELECT extconfig::regclass[] @> ARRAY['user_activity.api_keys'::regclass] AS dumped
FROM pg_extension WHERE extname = 'user_activity';
