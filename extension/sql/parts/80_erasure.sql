--
-- Erasure: a user's events, event keys, counts and rolled-up days, in one
-- transaction (the right to erasure).
--
-- It waits for a running count, so that the count cannot store counts of
-- the events deleted here after they are gone.  The keys go first, in one
-- statement (the row trigger of 15_event_keys.sql then finds none to
-- release).  Each statement names the user, so on Citus it goes to the
-- user's node.
--

CREATE FUNCTION user_activity.delete_user_events(user_id bigint) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_events bigint;
    v_counts bigint;
    v_day record;
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
    -- The user's rolled-up days, and the user from each day's active users:
    -- a day at a time, because on Citus the rolled-up days are distributed
    -- and the active users a reference table, which one statement cannot
    -- both delete from and update.
    FOR v_day IN
        DELETE FROM user_activity.user_day_activity r WHERE r.user_id = delete_user_events.user_id
        RETURNING r.day, r.created_count, r.updated_count, r.deleted_count, r.viewed_count
    LOOP
        UPDATE user_activity.daily_active_users d
        SET users = d.users - 1,
            created_users = d.created_users - (v_day.created_count > 0)::integer,
            updated_users = d.updated_users - (v_day.updated_count > 0)::integer,
            deleted_users = d.deleted_users - (v_day.deleted_count > 0)::integer,
            viewed_users = d.viewed_users - (v_day.viewed_count > 0)::integer
        WHERE d.day = v_day.day;
    END LOOP;
    RETURN pg_catalog.jsonb_build_object('user_id', delete_user_events.user_id,
                                         'events_deleted', v_events, 'counts_deleted', v_counts);
END;
$$;
COMMENT ON FUNCTION user_activity.delete_user_events(bigint) IS
    'erases a user''s events, counts and rolled-up days in one transaction (right to erasure)';

REVOKE ALL ON FUNCTION user_activity.delete_user_events(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION user_activity.delete_user_events(bigint) TO user_activity_writer;
