-- api-keys-1.4.sql: the API key objects of extension version 1.4, for the
-- shim's tests while the database under test has an older extension.  Each
-- object is made only when it is missing, so against 1.4 this does nothing.
-- It follows the contract the shim codes against: user_activity.api_keys
-- holding sha256(secret::bytea), create_api_key() returning the secret once
-- ('uak_' and 64 hex digits), revoke_api_key(), api_key_hashes() (SECURITY
-- DEFINER, for user_activity_writer), a NOTIFY user_activity_api_keys on
-- every change, and the LOGIN role user_activity_http.
DO $stub$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'user_activity_http') THEN
        CREATE ROLE user_activity_http LOGIN NOSUPERUSER IN ROLE user_activity_writer;
    END IF;
    IF pg_catalog.to_regclass('user_activity.api_keys') IS NOT NULL THEN
        RETURN;
    END IF;
    CREATE TABLE user_activity.api_keys (
        name text PRIMARY KEY,
        scope text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
        key_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
        expires_at timestamptz,
        revoked_at timestamptz);
    CREATE FUNCTION user_activity.create_api_key(name text, scope text,
                                                 expires_at timestamptz DEFAULT NULL)
    RETURNS text LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp AS $f$
    DECLARE
        secret text := 'uak_' || encode(sha256(convert_to(gen_random_uuid()::text
                                  || clock_timestamp()::text, 'UTF8')), 'hex');
    BEGIN
        INSERT INTO user_activity.api_keys (name, scope, key_hash, expires_at)
        VALUES (create_api_key.name, create_api_key.scope,
                sha256(convert_to(secret, 'UTF8')), create_api_key.expires_at);
        RETURN secret;
    END $f$;
    CREATE FUNCTION user_activity.revoke_api_key(name text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
        WITH r AS (UPDATE user_activity.api_keys k SET revoked_at = now()
                   WHERE k.name = revoke_api_key.name AND k.revoked_at IS NULL
                   RETURNING 1)
        SELECT count(*) > 0 FROM r
    $f$;
    CREATE FUNCTION user_activity.api_key_hashes()
    RETURNS TABLE (scope text, key_hash bytea, expires_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$
        SELECT k.scope, k.key_hash, k.expires_at, k.revoked_at FROM user_activity.api_keys k
    $f$;
    REVOKE ALL ON FUNCTION user_activity.api_key_hashes() FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION user_activity.api_key_hashes() TO user_activity_writer;
    CREATE FUNCTION user_activity.api_keys_notify() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $f$
    BEGIN
        NOTIFY user_activity_api_keys;
        RETURN NULL;
    END $f$;
    CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
        ON user_activity.api_keys FOR EACH STATEMENT
        EXECUTE FUNCTION user_activity.api_keys_notify();
END
$stub$;
