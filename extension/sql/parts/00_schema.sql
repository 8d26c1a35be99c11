--
-- Schema: the event table, its action type, its id sequence and the roles
-- that read and write it.
--
-- user_activity.events is partitioned by RANGE (recorded_at); its partitions
-- are made from user_activity.events_template (30_partitions.sql), which
-- holds the indexes.  Every unique key includes user_id, so the table can be
-- distributed by user_id (Citus); the primary key of each partition also
-- includes recorded_at, the partition key.  The idempotency key (user_id,
-- event_id) is claimed in user_activity.event_keys (15_event_keys.sql).
--

-- CREATE EXTENSION adopts an existing schema named user_activity, and the
-- owner of a schema may drop and replace any object in it: one that a
-- non-superuser made first is refused before anything runs in it.
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
                  HINT = 'Drop the schema, or ALTER SCHEMA user_activity OWNER TO a superuser after checking what it holds.';
    END IF;
END
$guard$;

CREATE TYPE user_activity.action AS ENUM ('created', 'updated', 'deleted', 'viewed');
COMMENT ON TYPE user_activity.action IS 'the four kinds of user activity';

-- CACHE 1: counting (50_counting.sql) reads its window from the last value
-- handed out, and cached ids could be used after a count has passed them.
CREATE SEQUENCE user_activity.events_id_seq CACHE 1;
COMMENT ON SEQUENCE user_activity.events_id_seq IS 'event ids; counting reads its position from here';

CREATE TABLE user_activity.events (
    id bigint NOT NULL DEFAULT pg_catalog.nextval('user_activity.events_id_seq'),
    user_id bigint NOT NULL,
    action user_activity.action NOT NULL,
    event_action_timestamp timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    metadata jsonb NOT NULL DEFAULT '{}',
    event_id uuid,
    CONSTRAINT events_user_id_check CHECK (user_id > 0),
    CONSTRAINT events_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
) PARTITION BY RANGE (recorded_at);
ALTER SEQUENCE user_activity.events_id_seq OWNED BY user_activity.events.id;

COMMENT ON TABLE user_activity.events IS 'one row per user activity event, partitioned by recorded_at';
COMMENT ON COLUMN user_activity.events.id IS 'server-assigned event id';
COMMENT ON COLUMN user_activity.events.user_id IS 'the acting user, a positive integer';
COMMENT ON COLUMN user_activity.events.action IS 'created, updated, deleted or viewed';
COMMENT ON COLUMN user_activity.events.event_action_timestamp IS 'when the user acted, as the caller reported it';
COMMENT ON COLUMN user_activity.events.recorded_at IS 'when the system recorded the event; searches filter on it';
COMMENT ON COLUMN user_activity.events.metadata IS 'caller-supplied details, a JSON object';
COMMENT ON COLUMN user_activity.events.event_id IS 'optional caller-supplied idempotency key, unique per user';

-- Roles: analysts read, the HTTP shim writes through the functions only.
-- (user_activity_admin and the shim's login user_activity_http are made with
-- the API keys, 70_api_keys.sql.)
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'user_activity_reader') THEN
        CREATE ROLE user_activity_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'user_activity_writer') THEN
        CREATE ROLE user_activity_writer NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA user_activity TO user_activity_reader, user_activity_writer;
GRANT SELECT ON user_activity.events TO user_activity_reader;

-- pg_dump keeps the events and the id sequence (counting's position is an
-- id of this sequence).  The partitions are not members of the extension:
-- pg_dump dumps them, and their rows, like any table.
SELECT pg_catalog.pg_extension_config_dump('user_activity.events', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.events_id_seq', '');
