--
-- Schema: the event table, its action type and the roles that use it.
--
-- Every unique key includes user_id, so the table can be distributed by
-- user_id (Citus); the primary key also includes recorded_at, so the table
-- can be partitioned by recorded time.
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

CREATE SEQUENCE user_activity.events_id_seq;
COMMENT ON SEQUENCE user_activity.events_id_seq IS 'event ids; counting reads its position from here';

CREATE TABLE user_activity.events (
    id bigint NOT NULL DEFAULT pg_catalog.nextval('user_activity.events_id_seq'),
    user_id bigint NOT NULL,
    action user_activity.action NOT NULL,
    event_action_timestamp timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    metadata jsonb NOT NULL DEFAULT '{}',
    event_id uuid,
    CONSTRAINT events_pkey PRIMARY KEY (user_id, recorded_at, id),
    CONSTRAINT events_user_id_check CHECK (user_id > 0),
    CONSTRAINT events_metadata_check CHECK (pg_catalog.jsonb_typeof(metadata) = 'object')
);
ALTER SEQUENCE user_activity.events_id_seq OWNED BY user_activity.events.id;

-- Idempotency: one event per (user, caller-supplied event_id), for ever.
CREATE UNIQUE INDEX events_user_id_event_id_key
    ON user_activity.events (user_id, event_id) WHERE event_id IS NOT NULL;

COMMENT ON TABLE user_activity.events IS 'one row per user activity event';
COMMENT ON COLUMN user_activity.events.id IS 'server-assigned event id';
COMMENT ON COLUMN user_activity.events.user_id IS 'the acting user, a positive integer';
COMMENT ON COLUMN user_activity.events.action IS 'created, updated, deleted or viewed';
COMMENT ON COLUMN user_activity.events.event_action_timestamp IS 'when the user acted, as the caller reported it';
COMMENT ON COLUMN user_activity.events.recorded_at IS 'when the system recorded the event; searches filter on it';
COMMENT ON COLUMN user_activity.events.metadata IS 'caller-supplied details, a JSON object';
COMMENT ON COLUMN user_activity.events.event_id IS 'optional caller-supplied idempotency key, unique per user';

-- Roles: analysts read, the HTTP shim writes through the functions only.
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
-- id of this sequence).
SELECT pg_catalog.pg_extension_config_dump('user_activity.events', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.events_id_seq', '');
