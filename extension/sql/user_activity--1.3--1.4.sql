/* user_activity--1.3--1.4.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.4'" to load this file. \quit

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
    AS 'MODULE_PATHNAME', 'ua_event_key_trigger_1_4';
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
