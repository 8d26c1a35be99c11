--
-- API keys of the HTTP shim, and the roles that manage and use them.
--
-- user_activity.api_keys holds only each key's SHA-256: create_api_key()
-- returns the secret once, revoke_api_key() ends it, api_key_list shows the
-- keys without secrets.  The shim reads the hashes with api_key_hashes() and
-- is told of every change by NOTIFY user_activity_api_keys.  (Up to version
-- 1.3 the keys were settings, user_activity.http_api_key_*, which every
-- member of pg_read_all_settings could SHOW.)
--
-- Roles: user_activity_admin manages the keys.  user_activity_http is the
-- login of the in-database shim: a member of user_activity_writer, never a
-- superuser, with no password (it logs in over the local socket, as
-- pg_hba.conf allows).
--

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
