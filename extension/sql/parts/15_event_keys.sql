--
-- Event keys: the idempotency key (user_id, event_id) of the partitioned
-- events, one row per stored event that has an event_id, for as long as the
-- event is kept (extension/src/event_keys.c).
--
-- (user_id, event_id) cannot be a unique index of a table partitioned by
-- recorded_at, so it is claimed here: by ingest itself (10_ingest.sql) or,
-- for any other INSERT, by the trigger events_claim_key, in the same
-- statement as the insert.  Dedup stays exact, with no time window.  The key
-- of user_activity.event_keys starts with user_id, so it is distributed with
-- the events (Citus).
--
-- A key goes with its event: deleting events releases their keys row by row
-- (a row trigger: Citus cannot plan a transition table on a shard),
-- retention deletes the keys of the partitions it drops, and TRUNCATE
-- empties event_keys once, from the table it was issued on (the trigger does
-- nothing when it fires on a Citus shard, whose TRUNCATE the coordinator's
-- own TRUNCATE of event_keys already covers).
--
-- event_keys is not dumped: restoring the events fires the trigger that
-- claims their keys.
--

CREATE TABLE user_activity.event_keys (
    user_id bigint NOT NULL,
    event_id uuid NOT NULL,
    id bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    CONSTRAINT event_keys_pkey PRIMARY KEY (user_id, event_id)
);
CREATE INDEX event_keys_recorded_at_idx ON user_activity.event_keys (recorded_at);
COMMENT ON TABLE user_activity.event_keys IS
    'the (user_id, event_id) of every stored event that has one: the idempotency key of the partitioned events';
COMMENT ON COLUMN user_activity.event_keys.user_id IS 'the acting user';
COMMENT ON COLUMN user_activity.event_keys.event_id IS 'the caller-supplied idempotency key';
COMMENT ON COLUMN user_activity.event_keys.id IS 'id of the event stored under this key';
COMMENT ON COLUMN user_activity.event_keys.recorded_at IS 'recorded_at of that event (its partition)';

-- The trigger looks the key up by its primary key on every row it sees.  A
-- plan made while event_keys is small (a new database, after a TRUNCATE)
-- scans it whole instead, and the plan stays while one long transaction
-- fills the table: with seq scans off the lookup is an index scan whatever
-- the size, and its plan can be kept.
CREATE FUNCTION user_activity.claim_event_key() RETURNS trigger
    LANGUAGE c
    SET enable_seqscan = off
    AS 'MODULE_PATHNAME', 'user_activity_claim_event_key';
COMMENT ON FUNCTION user_activity.claim_event_key() IS
    'trigger: claims (user_id, event_id) in event_keys, or accepts the key ingest claimed for this row; any other taken key fails the INSERT with unique_violation';

-- One function releases keys for both triggers, row by row on DELETE (a
-- Citus shard cannot read a transition table) and all at once on TRUNCATE.
CREATE FUNCTION user_activity.release_event_keys() RETURNS trigger
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

CREATE TRIGGER events_claim_key
    BEFORE INSERT ON user_activity.events
    FOR EACH ROW WHEN (NEW.event_id IS NOT NULL)
    EXECUTE FUNCTION user_activity.claim_event_key();
CREATE TRIGGER events_release_key
    AFTER DELETE ON user_activity.events
    FOR EACH ROW WHEN (OLD.event_id IS NOT NULL)
    EXECUTE FUNCTION user_activity.release_event_keys();
COMMENT ON TRIGGER events_release_key ON user_activity.events IS
    'releases the event key of each deleted event that has one (row by row: a Citus shard cannot read a transition table)';
CREATE TRIGGER events_release_keys_truncate
    AFTER TRUNCATE ON user_activity.events
    FOR EACH STATEMENT
    EXECUTE FUNCTION user_activity.release_event_keys();

REVOKE ALL ON FUNCTION
    user_activity.claim_event_key(),
    user_activity.release_event_keys()
FROM PUBLIC;
