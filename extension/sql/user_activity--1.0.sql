/* user_activity--1.0.sql: assembled from extension/sql/parts, do not edit */

\echo Use "CREATE EXTENSION user_activity" to load this file. \quit


-- extension/sql/parts/00_schema.sql
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

-- extension/sql/parts/10_ingest.sql
--
-- Ingest: validated, idempotent recording of events (extension/src/ingest.c).
--
-- The functions run as the extension owner (SECURITY DEFINER) with a pinned
-- search_path, so that the writer role needs no privilege on the table and a
-- hostile search_path cannot capture a call.  EXECUTE is granted in
-- 90_grants.sql.
--

CREATE FUNCTION user_activity.record_event(event jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event';
COMMENT ON FUNCTION user_activity.record_event(jsonb) IS
'validate and store one event given as the REST API receives it; returns the event with id, recorded_at and status stored or duplicate';

CREATE FUNCTION user_activity.record_event(
    user_id bigint,
    action user_activity.action,
    action_time timestamptz,
    metadata jsonb DEFAULT '{}',
    event_id uuid DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_event_typed';
COMMENT ON FUNCTION user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid) IS
'validate and store one event given as typed arguments; same rules and result as record_event(jsonb)';

CREATE FUNCTION user_activity.record_events(events jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_record_events';
COMMENT ON FUNCTION user_activity.record_events(jsonb) IS
'store a JSON array of events in one multi-row insert, per-item acceptance; returns counts and one result per item in input order';

-- extension/sql/parts/20_search.sql
--
-- Search: a user's events whose recorded time is in [from, to), ordered by
-- (recorded_at, id), paged by an opaque keyset cursor (extension/src/search.c).
--

CREATE FUNCTION user_activity.find_start(
    user_id bigint, since timestamptz, until timestamptz,
    page_size integer, after text,
    OUT recorded_at timestamptz, OUT id bigint)
RETURNS record
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'user_activity_find_start';
COMMENT ON FUNCTION user_activity.find_start(bigint, timestamptz, timestamptz, integer, text) IS
'validate the arguments of find_events and return the keyset position its page starts after';

CREATE FUNCTION user_activity.event_cursor(user_id bigint, recorded_at timestamptz, id bigint)
RETURNS text
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'user_activity_event_cursor';
COMMENT ON FUNCTION user_activity.event_cursor(bigint, timestamptz, bigint) IS
'the opaque cursor of the page that follows the given event (pass it as find_events(after => ...) or as the cursor of search_events)';

CREATE FUNCTION user_activity.find_events(
    user_id bigint,
    since timestamptz,
    until timestamptz,
    page_size integer DEFAULT NULL,
    after text DEFAULT NULL,
    actions user_activity.action[] DEFAULT NULL,
    action_since timestamptz DEFAULT NULL,
    action_until timestamptz DEFAULT NULL)
RETURNS SETOF user_activity.events
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
-- first, on its own, so that bad arguments raise even where the planner
-- could prove the search empty
SELECT user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                find_events.page_size, find_events.after);
-- the keyset position is a stable expression, so it is part of the index
-- condition on (user_id, recorded_at, id); its recorded_at, repeated as a
-- plain bound, lets the planner skip the partitions before it
SELECT e.*
FROM user_activity.events AS e
WHERE e.user_id = find_events.user_id
  AND (e.recorded_at, e.id) >
      ((user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                 find_events.page_size, find_events.after)).recorded_at,
       (user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                 find_events.page_size, find_events.after)).id)
  AND e.recorded_at >= (user_activity.find_start(find_events.user_id, find_events.since, find_events.until,
                                                 find_events.page_size, find_events.after)).recorded_at
  AND e.recorded_at < find_events.until
  AND (find_events.actions IS NULL OR e.action = ANY (find_events.actions))
  AND (find_events.action_since IS NULL OR e.event_action_timestamp >= find_events.action_since)
  AND (find_events.action_until IS NULL OR e.event_action_timestamp < find_events.action_until)
ORDER BY e.recorded_at, e.id
LIMIT find_events.page_size
$$;
COMMENT ON FUNCTION user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz) IS
'a user''s events recorded in [since, until), ordered by recorded_at, id; page_size rows after the cursor "after" (null: all)';

CREATE FUNCTION user_activity.search_events(params jsonb, OUT body text, OUT next_cursor text)
RETURNS record
LANGUAGE c STABLE PARALLEL SAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'user_activity_search_events';
COMMENT ON FUNCTION user_activity.search_events(jsonb) IS
'one page of a user''s events for the REST layer: body is the JSON array to send, next_cursor is null on the last page';

CREATE FUNCTION user_activity.export_events(params jsonb, format text)
RETURNS SETOF text
LANGUAGE c STABLE PARALLEL UNSAFE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
ROWS 10000
AS 'MODULE_PATHNAME', 'user_activity_export_events';
COMMENT ON FUNCTION user_activity.export_events(jsonb, text) IS
'every matching event, one ndjson or csv line per row; call it in the select list and read in single-row mode to stream';

-- extension/sql/parts/30_counts.sql
--
-- Counting: per-user activity counts, exactly once, scheduled by pg_cron.
--
-- count_activity() counts the events whose ids lie in (last counted id,
-- window end], where the window end is the last value the event id sequence
-- handed out.  Before counting it waits until every transaction that could
-- still insert an id at or below the window end has finished (the Citus
-- incremental-rollup pattern; the wait is the one CREATE INDEX CONCURRENTLY
-- uses, so writers are never blocked).  A writer that commits after that
-- got a higher id and is counted by a later run.  The position is stored in
-- counting_state in the same transaction as the counts, so a failed or rolled
-- back run loses nothing and the next run counts the whole gap.
--
-- This relies on event ids being taken from user_activity.events_id_seq
-- (CACHE 1) by the INSERT itself (the column default), i.e. while the writer
-- holds its lock on the table.
--

-- Lets a count read only the new rows, however large the table is.
CREATE INDEX events_id_idx ON user_activity.events (id);

CREATE TABLE user_activity.user_event_counts (
    user_id bigint NOT NULL,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    event_count bigint NOT NULL,
    created_count bigint NOT NULL,
    updated_count bigint NOT NULL,
    deleted_count bigint NOT NULL,
    viewed_count bigint NOT NULL,
    CONSTRAINT user_event_counts_pkey PRIMARY KEY (user_id, period_start),
    CONSTRAINT user_event_counts_period_check CHECK (period_end > period_start),
    CONSTRAINT user_event_counts_sum_check
        CHECK (event_count = created_count + updated_count + deleted_count + viewed_count)
);
CREATE INDEX user_event_counts_period_start_idx
    ON user_activity.user_event_counts (period_start);

COMMENT ON TABLE user_activity.user_event_counts IS
    'events per user and counting period; every committed event is counted in exactly one period';
COMMENT ON COLUMN user_activity.user_event_counts.user_id IS 'the acting user';
COMMENT ON COLUMN user_activity.user_event_counts.period_start IS
    'end of the previous counting period (for the first period: the earliest recorded_at counted)';
COMMENT ON COLUMN user_activity.user_event_counts.period_end IS
    'when the run that counted this period had seen every event it counts';
COMMENT ON COLUMN user_activity.user_event_counts.event_count IS 'events of the user counted in this period';
COMMENT ON COLUMN user_activity.user_event_counts.created_count IS 'of which action created';
COMMENT ON COLUMN user_activity.user_event_counts.updated_count IS 'of which action updated';
COMMENT ON COLUMN user_activity.user_event_counts.deleted_count IS 'of which action deleted';
COMMENT ON COLUMN user_activity.user_event_counts.viewed_count IS 'of which action viewed';

CREATE TABLE user_activity.counting_state (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT counting_state_singleton_check CHECK (singleton),
    last_id bigint NOT NULL,
    last_period_end timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
COMMENT ON TABLE user_activity.counting_state IS
    'position of counting (one row, written by count_activity; no row before the first count)';
COMMENT ON COLUMN user_activity.counting_state.singleton IS 'always true: the table has at most one row';
COMMENT ON COLUMN user_activity.counting_state.last_id IS 'every event with an id up to this one is counted';
COMMENT ON COLUMN user_activity.counting_state.last_period_end IS 'end of the last period; the next one starts here';
COMMENT ON COLUMN user_activity.counting_state.updated_at IS 'when the position last moved';

CREATE TABLE user_activity.counting_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    outcome text NOT NULL
        CONSTRAINT counting_runs_outcome_check CHECK (outcome IN ('counted', 'empty', 'busy', 'error')),
    period_start timestamptz,
    period_end timestamptz,
    first_id bigint,
    last_id bigint,
    users bigint,
    events bigint,
    error_sqlstate text,
    error text
);
COMMENT ON TABLE user_activity.counting_runs IS
    'one row per count run, kept for user_activity.counting_history_keep (the last run and the last success are always kept)';
COMMENT ON COLUMN user_activity.counting_runs.id IS 'run number';
COMMENT ON SEQUENCE user_activity.counting_runs_id_seq IS 'numbers of count runs';
COMMENT ON COLUMN user_activity.counting_runs.started_at IS 'when the run started';
COMMENT ON COLUMN user_activity.counting_runs.finished_at IS 'when the run ended';
COMMENT ON COLUMN user_activity.counting_runs.outcome IS
    'counted, empty (no new events), busy (another run was counting) or error';
COMMENT ON COLUMN user_activity.counting_runs.period_start IS 'start of the period counted';
COMMENT ON COLUMN user_activity.counting_runs.period_end IS 'end of the period counted';
COMMENT ON COLUMN user_activity.counting_runs.first_id IS 'events with ids above this one were counted';
COMMENT ON COLUMN user_activity.counting_runs.last_id IS 'events with ids up to this one were counted';
COMMENT ON COLUMN user_activity.counting_runs.users IS 'users with new events';
COMMENT ON COLUMN user_activity.counting_runs.events IS 'events counted';
COMMENT ON COLUMN user_activity.counting_runs.error_sqlstate IS 'SQLSTATE of a failed run';
COMMENT ON COLUMN user_activity.counting_runs.error IS 'error message of a failed run';

-- pg_dump keeps the counts and the position with the data.
SELECT pg_catalog.pg_extension_config_dump('user_activity.user_event_counts', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.counting_state', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.counting_runs', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.counting_runs_id_seq', '');

CREATE FUNCTION user_activity.counting_history_keep() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ua_counting_history_keep_interval';
COMMENT ON FUNCTION user_activity.counting_history_keep() IS
    'user_activity.counting_history_keep as an interval';

CREATE FUNCTION user_activity.counting_wait_for_writers() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'ua_counting_wait_for_writers';
COMMENT ON FUNCTION user_activity.counting_wait_for_writers() IS
    'waits until the transactions now writing user_activity.events have ended, without blocking new ones';

CREATE FUNCTION user_activity.counting_rfc3339(t timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT pg_catalog.to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN pg_catalog.date_part('microseconds', $1)::bigint % 1000000 = 0 THEN ''
            ELSE '.' || pg_catalog.rtrim(pg_catalog.lpad((pg_catalog.date_part('microseconds', $1)::bigint
                                                         % 1000000)::text, 6, '0'), '0')
       END
    || 'Z'
$$;
COMMENT ON FUNCTION user_activity.counting_rfc3339(timestamptz) IS
    'a timestamp as RFC 3339 in UTC with Z, fractional seconds only when non-zero';

CREATE FUNCTION user_activity.counting_purge_history() RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_before timestamptz := pg_catalog.now() - user_activity.counting_history_keep();
BEGIN
    -- The last run and the last success stay, however old: counting_status
    -- reports them.
    DELETE FROM user_activity.counting_runs r
    WHERE r.finished_at < v_before
      AND r.id <> (SELECT pg_catalog.max(l.id) FROM user_activity.counting_runs l)
      AND r.id <> COALESCE((SELECT pg_catalog.max(l.id) FROM user_activity.counting_runs l
                            WHERE l.outcome IN ('counted', 'empty')), 0);
    IF pg_catalog.to_regclass('cron.job_run_details') IS NOT NULL
       AND pg_catalog.has_table_privilege('cron.job_run_details', 'DELETE') THEN
        EXECUTE 'DELETE FROM cron.job_run_details d USING cron.job j
                 WHERE d.jobid = j.jobid AND j.jobname = $1 AND d.end_time < $2'
            USING 'user_activity_count', v_before;
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_purge_history() IS
    'deletes count runs and pg_cron runs of the counting job older than user_activity.counting_history_keep';

--
-- The count
--
CREATE FUNCTION user_activity.count_activity() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_started timestamptz := pg_catalog.clock_timestamp();
    v_last_id bigint;
    v_start timestamptz;
    v_end timestamptz;
    v_window_end bigint;
    v_users bigint;
    v_events bigint;
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'count_activity() must run at isolation level read committed'
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'It waits for transactions that are still inserting events and must then see their rows; the snapshot of a '
                           || pg_catalog.current_setting('transaction_isolation') || ' transaction would hide them.',
                  HINT = 'Call it in its own transaction, or after SET TRANSACTION ISOLATION LEVEL READ COMMITTED.';
    END IF;
    IF (SELECT s.seqcache FROM pg_catalog.pg_sequence s
        WHERE s.seqrelid = 'user_activity.events_id_seq'::pg_catalog.regclass) <> 1 THEN
        RAISE EXCEPTION 'cannot count events exactly once'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Sequence user_activity.events_id_seq must have CACHE 1: cached ids can be used after a count has passed them.',
                  HINT = 'ALTER SEQUENCE user_activity.events_id_seq CACHE 1;';
    END IF;

    -- One run at a time; a second one says so instead of waiting.
    IF NOT pg_catalog.pg_try_advisory_xact_lock('user_activity.counting_state'::pg_catalog.regclass::pg_catalog.oid::bigint) THEN
        INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome)
        VALUES (v_started, pg_catalog.clock_timestamp(), 'busy');
        RETURN pg_catalog.jsonb_build_object('status', 'busy', 'period_start', NULL, 'period_end', NULL,
                                             'users', 0, 'events', 0);
    END IF;

    SELECT s.last_id, s.last_period_end INTO v_last_id, v_start
    FROM user_activity.counting_state s
    FOR UPDATE;
    IF NOT FOUND THEN
        v_last_id := 0;
    END IF;

    v_window_end := COALESCE(pg_catalog.pg_sequence_last_value('user_activity.events_id_seq'::pg_catalog.regclass), 0);

    IF v_window_end < v_last_id THEN
        RAISE EXCEPTION 'event id sequence is behind the counting position'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('user_activity.events_id_seq is at %s, but events up to id %s are counted; new events would get ids that are never counted.',
                                             v_window_end, v_last_id),
                  HINT = pg_catalog.format('SELECT pg_catalog.setval(''user_activity.events_id_seq'', GREATEST(%s, (SELECT max(id) FROM user_activity.events)));',
                                           v_last_id);
    END IF;

    IF v_window_end > v_last_id THEN
        -- Wait for every writer that may hold an id up to v_window_end: they
        -- all hold ROW EXCLUSIVE on the table from before they took their
        -- id.  New writers are not held up.
        PERFORM user_activity.counting_wait_for_writers();

        v_end := pg_catalog.clock_timestamp();
        IF v_start IS NOT NULL AND v_end <= v_start THEN
            v_end := v_start + interval '1 microsecond';
        END IF;

        -- The statement's snapshot is taken after the wait: it sees every
        -- event with an id in the window that will ever be committed.
        WITH new_counts AS (
            SELECT e.user_id,
                   pg_catalog.count(*) AS event_count,
                   pg_catalog.count(*) FILTER (WHERE e.action = 'created') AS created_count,
                   pg_catalog.count(*) FILTER (WHERE e.action = 'updated') AS updated_count,
                   pg_catalog.count(*) FILTER (WHERE e.action = 'deleted') AS deleted_count,
                   pg_catalog.count(*) FILTER (WHERE e.action = 'viewed') AS viewed_count,
                   pg_catalog.min(e.recorded_at) AS first_recorded_at
            FROM user_activity.events e
            WHERE e.id > v_last_id AND e.id <= v_window_end
            GROUP BY e.user_id
        ), period AS (
            SELECT COALESCE(v_start,
                            LEAST((SELECT pg_catalog.min(n.first_recorded_at) FROM new_counts n),
                                  v_end - interval '1 microsecond')) AS period_start
        ), inserted AS (
            INSERT INTO user_activity.user_event_counts
                (user_id, period_start, period_end, event_count,
                 created_count, updated_count, deleted_count, viewed_count)
            SELECT n.user_id, p.period_start, v_end, n.event_count,
                   n.created_count, n.updated_count, n.deleted_count, n.viewed_count
            FROM new_counts n CROSS JOIN period p
            RETURNING event_count
        )
        SELECT (SELECT pg_catalog.count(*) FROM inserted),
               (SELECT COALESCE(pg_catalog.sum(i.event_count), 0) FROM inserted i),
               (SELECT p.period_start FROM period p)
        INTO v_users, v_events, v_start;
    ELSE
        v_users := 0;
    END IF;

    IF v_users = 0 THEN
        -- Nothing committed in the window (or no window): change nothing.
        INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome, first_id, last_id, users, events)
        VALUES (v_started, pg_catalog.clock_timestamp(), 'empty', v_last_id, v_last_id, 0, 0);
        PERFORM user_activity.counting_purge_history();
        RETURN pg_catalog.jsonb_build_object('status', 'empty', 'period_start', NULL, 'period_end', NULL,
                                             'users', 0, 'events', 0);
    END IF;

    INSERT INTO user_activity.counting_state AS s (singleton, last_id, last_period_end, updated_at)
    VALUES (true, v_window_end, v_end, pg_catalog.clock_timestamp())
    ON CONFLICT (singleton) DO UPDATE
        SET last_id = excluded.last_id, last_period_end = excluded.last_period_end,
            updated_at = excluded.updated_at;

    INSERT INTO user_activity.counting_runs
        (started_at, finished_at, outcome, period_start, period_end, first_id, last_id, users, events)
    VALUES (v_started, pg_catalog.clock_timestamp(), 'counted', v_start, v_end, v_last_id, v_window_end,
            v_users, v_events);

    PERFORM user_activity.counting_purge_history();

    RETURN pg_catalog.jsonb_build_object(
        'status', 'counted',
        'period_start', user_activity.counting_rfc3339(v_start),
        'period_end', user_activity.counting_rfc3339(v_end),
        'users', v_users,
        'events', v_events);
END;
$$;
COMMENT ON FUNCTION user_activity.count_activity() IS
    'counts the events committed since the previous run, per user and action, exactly once';

-- No SET clause: a procedure with one cannot commit.  Every name, operators
-- included, is schema-qualified instead.
CREATE PROCEDURE user_activity.run_counting()
    LANGUAGE plpgsql
    AS $$
DECLARE
    v_started timestamptz := pg_catalog.clock_timestamp();
    v_sqlstate text;
    v_message text;
    v_detail text;
    v_hint text;
BEGIN
    BEGIN
        PERFORM user_activity.count_activity();
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS v_sqlstate = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
    END;
    IF v_sqlstate IS NULL THEN
        RETURN;
    END IF;
    -- The count was rolled back with its subtransaction.  Record the failure
    -- durably, then fail, so that pg_cron's history shows it as well.
    INSERT INTO user_activity.counting_runs (started_at, finished_at, outcome, error_sqlstate, error)
    VALUES (v_started, pg_catalog.clock_timestamp(), 'error', v_sqlstate, v_message);
    PERFORM user_activity.counting_purge_history();
    COMMIT;
    -- Operators too are looked up in the caller's search_path: name them.
    IF v_detail OPERATOR(pg_catalog.<>) '' AND v_hint OPERATOR(pg_catalog.<>) '' THEN
        RAISE EXCEPTION USING ERRCODE = v_sqlstate, MESSAGE = v_message, DETAIL = v_detail, HINT = v_hint;
    ELSIF v_detail OPERATOR(pg_catalog.<>) '' THEN
        RAISE EXCEPTION USING ERRCODE = v_sqlstate, MESSAGE = v_message, DETAIL = v_detail;
    ELSIF v_hint OPERATOR(pg_catalog.<>) '' THEN
        RAISE EXCEPTION USING ERRCODE = v_sqlstate, MESSAGE = v_message, HINT = v_hint;
    ELSE
        RAISE EXCEPTION USING ERRCODE = v_sqlstate, MESSAGE = v_message;
    END IF;
END;
$$;
COMMENT ON PROCEDURE user_activity.run_counting() IS
    'runs count_activity() and records a failure in counting_runs before raising it (the pg_cron job; CALL it outside a transaction block)';

--
-- Queries.  A period belongs to a range [since, until) when its start lies
-- in it; periods are never split.
--
CREATE FUNCTION user_activity.user_counts(user_id bigint, since timestamptz, until timestamptz)
    RETURNS SETOF user_activity.user_event_counts
    LANGUAGE sql STABLE STRICT PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT c.*
FROM user_activity.user_event_counts c
WHERE c.user_id = $1 AND c.period_start >= $2 AND c.period_start < $3
ORDER BY c.period_start
$$;
COMMENT ON FUNCTION user_activity.user_counts(bigint, timestamptz, timestamptz) IS
    'a user''s counting periods whose start lies in [since, until), oldest first';

CREATE FUNCTION user_activity.top_users(since timestamptz, until timestamptz, n integer DEFAULT 10)
    RETURNS TABLE (user_id bigint, event_count bigint, created_count bigint, updated_count bigint,
                   deleted_count bigint, viewed_count bigint)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF since IS NULL OR until IS NULL OR n IS NULL THEN
        RAISE EXCEPTION 'missing parameter "%"',
                CASE WHEN since IS NULL THEN 'since' WHEN until IS NULL THEN 'until' ELSE 'n' END
            USING ERRCODE = 'not_null_violation',
                  COLUMN = CASE WHEN since IS NULL THEN 'since' WHEN until IS NULL THEN 'until' ELSE 'n' END,
                  DETAIL = 'Parameters "since", "until" and "n" must not be null.';
    END IF;
    IF n < 1 OR n > 1000 THEN
        RAISE EXCEPTION 'n out of range: %', n
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = 'n',
                  DETAIL = 'Parameter "n" must be between 1 and 1000.';
    END IF;
    RETURN QUERY
    SELECT c.user_id,
           pg_catalog.sum(c.event_count)::bigint,
           pg_catalog.sum(c.created_count)::bigint,
           pg_catalog.sum(c.updated_count)::bigint,
           pg_catalog.sum(c.deleted_count)::bigint,
           pg_catalog.sum(c.viewed_count)::bigint
    FROM user_activity.user_event_counts c
    WHERE c.period_start >= top_users.since AND c.period_start < top_users.until
    GROUP BY c.user_id
    ORDER BY 2 DESC, 1
    LIMIT n;
END;
$$;
COMMENT ON FUNCTION user_activity.top_users(timestamptz, timestamptz, integer) IS
    'the n users with the most events in the periods whose start lies in [since, until); ties by user id';

-- Parameters of the JSON variants arrive as the query string's values.
CREATE FUNCTION user_activity.counting_param(params jsonb, name text, kind text, required boolean)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v text := params ->> name;
    v_num numeric;
BEGIN
    IF v IS NULL THEN
        IF required THEN
            RAISE EXCEPTION 'missing parameter "%"', name
                USING ERRCODE = 'not_null_violation', COLUMN = name,
                      DETAIL = pg_catalog.format('Parameter "%s" is required.', name);
        END IF;
        RETURN NULL;
    END IF;
    IF kind = 'time' THEN
        IF v !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$' THEN
            RAISE EXCEPTION 'invalid % "%"', name, v
                USING ERRCODE = 'invalid_datetime_format', COLUMN = name,
                      DETAIL = pg_catalog.format('Parameter "%s" must be an RFC 3339 timestamp with an offset, such as 2025-10-10T18:30:00Z.', name);
        END IF;
        BEGIN
            PERFORM v::timestamptz;
            RETURN v;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'invalid % "%"', name, v
                USING ERRCODE = 'invalid_datetime_format', COLUMN = name,
                      DETAIL = pg_catalog.format('Parameter "%s" must be an RFC 3339 timestamp with an offset, such as 2025-10-10T18:30:00Z.', name);
        END;
    END IF;
    -- kind 'user_id' or 'limit': a positive integer
    IF v !~ '^[+-]?[0-9]{1,30}$' THEN
        RAISE EXCEPTION 'invalid % "%"', name, v
            USING ERRCODE = 'invalid_text_representation', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be an integer.', name);
    END IF;
    v_num := v::numeric;
    IF kind = 'limit' AND (v_num < 1 OR v_num > 1000) THEN
        RAISE EXCEPTION '% out of range: %', name, v
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be between 1 and 1000.', name);
    ELSIF kind = 'user_id' AND (v_num < 1 OR v_num > 9223372036854775807) THEN
        RAISE EXCEPTION '% out of range: %', name, v
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be between 1 and 9223372036854775807.', name);
    END IF;
    RETURN v_num::text;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_param(jsonb, text, text, boolean) IS
    'one checked parameter of user_counts_json or top_users_json, as text';

CREATE FUNCTION user_activity.counting_check_params(params jsonb, allowed text[])
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_key text;
BEGIN
    IF params IS NULL OR pg_catalog.jsonb_typeof(params) <> 'object' THEN
        RAISE EXCEPTION 'parameters must be a JSON object'
            USING ERRCODE = 'datatype_mismatch',
                  DETAIL = 'The parameters are a JSON object of the query string''s names and values.';
    END IF;
    SELECT k INTO v_key FROM pg_catalog.jsonb_object_keys(params) k
    WHERE k <> ALL (allowed) ORDER BY k LIMIT 1;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION 'unknown parameter "%"', v_key
            USING ERRCODE = 'undefined_column', COLUMN = v_key,
                  DETAIL = 'Known parameters: ' || pg_catalog.array_to_string(allowed, ', ') || '.';
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_check_params(jsonb, text[]) IS
    'rejects parameters that are not an object or hold an unknown name';

CREATE FUNCTION user_activity.counting_check_range(since timestamptz, until timestamptz)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF until < since THEN
        RAISE EXCEPTION 'invalid range: "to" is before "from"'
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'to',
                  DETAIL = 'Parameter "to" must not be before "from".';
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_check_range(timestamptz, timestamptz) IS
    'rejects a range whose end is before its start';

CREATE FUNCTION user_activity.user_counts_json(params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_user bigint;
    v_from timestamptz;
    v_to timestamptz;
    v_result text;
BEGIN
    PERFORM user_activity.counting_check_params(params, ARRAY['user_id', 'from', 'to']);
    v_user := user_activity.counting_param(params, 'user_id', 'user_id', true)::bigint;
    v_from := user_activity.counting_param(params, 'from', 'time', true)::timestamptz;
    v_to := user_activity.counting_param(params, 'to', 'time', true)::timestamptz;
    PERFORM user_activity.counting_check_range(v_from, v_to);

    SELECT pg_catalog.json_build_object(
               'user_id', v_user,
               'from', user_activity.counting_rfc3339(v_from),
               'to', user_activity.counting_rfc3339(v_to),
               'periods', COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
                   'period_start', user_activity.counting_rfc3339(c.period_start),
                   'period_end', user_activity.counting_rfc3339(c.period_end),
                   'event_count', c.event_count,
                   'created', c.created_count,
                   'updated', c.updated_count,
                   'deleted', c.deleted_count,
                   'viewed', c.viewed_count) ORDER BY c.period_start), '[]'::json),
               'total', pg_catalog.json_build_object(
                   'event_count', COALESCE(pg_catalog.sum(c.event_count), 0),
                   'created', COALESCE(pg_catalog.sum(c.created_count), 0),
                   'updated', COALESCE(pg_catalog.sum(c.updated_count), 0),
                   'deleted', COALESCE(pg_catalog.sum(c.deleted_count), 0),
                   'viewed', COALESCE(pg_catalog.sum(c.viewed_count), 0)))::text
    INTO v_result
    FROM user_activity.user_counts(v_user, v_from, v_to) c;
    RETURN v_result;
END;
$$;
COMMENT ON FUNCTION user_activity.user_counts_json(jsonb) IS
    'a user''s counts per period and in total over [from, to), as JSON text for the REST layer';

CREATE FUNCTION user_activity.top_users_json(params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_from timestamptz;
    v_to timestamptz;
    v_limit integer;
    v_result text;
BEGIN
    PERFORM user_activity.counting_check_params(params, ARRAY['from', 'to', 'limit']);
    v_from := user_activity.counting_param(params, 'from', 'time', true)::timestamptz;
    v_to := user_activity.counting_param(params, 'to', 'time', true)::timestamptz;
    v_limit := COALESCE(user_activity.counting_param(params, 'limit', 'limit', false)::integer, 10);
    PERFORM user_activity.counting_check_range(v_from, v_to);

    SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
               'user_id', t.user_id,
               'event_count', t.event_count,
               'created', t.created_count,
               'updated', t.updated_count,
               'deleted', t.deleted_count,
               'viewed', t.viewed_count) ORDER BY t.event_count DESC, t.user_id), '[]'::json)::text
    INTO v_result
    FROM user_activity.top_users(v_from, v_to, v_limit) t;
    RETURN v_result;
END;
$$;
COMMENT ON FUNCTION user_activity.top_users_json(jsonb) IS
    'the top users over [from, to) (limit 1..1000, default 10), as JSON text for the REST layer';

--
-- Scheduling with pg_cron, looked up at call time: pg_cron is optional.
--
CREATE FUNCTION user_activity.counting_require_pg_cron() RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_cron_db text := pg_catalog.current_setting('cron.database_name', true);
    v_hint text := pg_catalog.format(
        'Add pg_cron to shared_preload_libraries and set cron.database_name = ''%s'' in postgresql.conf, '
        || 'restart the server, then run CREATE EXTENSION pg_cron in database "%s".',
        pg_catalog.current_database(), pg_catalog.current_database());
BEGIN
    IF v_cron_db IS NULL
       OR pg_catalog.current_setting('shared_preload_libraries') !~ '(^|[\s,])"?pg_cron"?($|[\s,])' THEN
        RAISE EXCEPTION 'pg_cron is not loaded'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Counting is scheduled by pg_cron, which must be in shared_preload_libraries.',
                  HINT = v_hint;
    END IF;
    IF v_cron_db <> pg_catalog.current_database() THEN
        RAISE EXCEPTION 'pg_cron runs jobs in database "%", not in "%"', v_cron_db, pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'pg_cron runs its jobs in the database named by cron.database_name.',
                  HINT = v_hint;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'extension pg_cron is not installed in database "%"', pg_catalog.current_database()
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Counting is scheduled by pg_cron.',
                  HINT = pg_catalog.format('Run CREATE EXTENSION pg_cron in database "%s" (pg_cron must be in shared_preload_libraries, with cron.database_name = ''%s'').',
                                           pg_catalog.current_database(), pg_catalog.current_database());
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_require_pg_cron() IS
    'raises an error saying how to enable pg_cron unless it is loaded and installed here';

CREATE FUNCTION user_activity.schedule_counting(schedule text DEFAULT '0 */4 * * *') RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_command text := 'CALL user_activity.run_counting()';
BEGIN
    IF schedule IS NULL OR pg_catalog.btrim(schedule) = '' THEN
        RAISE EXCEPTION 'missing parameter "schedule"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'schedule',
                  DETAIL = 'Parameter "schedule" must be a cron expression, such as ''0 */4 * * *''.';
    END IF;
    PERFORM user_activity.counting_require_pg_cron();
    BEGIN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING 'user_activity_count', schedule, v_command;
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'schedule',
                  DETAIL = 'Parameter "schedule" must be a cron expression of five fields (minute hour day-of-month month day-of-week, in GMT), such as ''0 */4 * * *'', or @hourly, @daily, @weekly, @monthly, @yearly.';
    END;
    RETURN pg_catalog.jsonb_build_object('job_name', 'user_activity_count', 'schedule', schedule,
                                         'command', v_command);
END;
$$;
COMMENT ON FUNCTION user_activity.schedule_counting(text) IS
    'creates or replaces the pg_cron job user_activity_count that runs the count on the given schedule';

CREATE FUNCTION user_activity.unschedule_counting() RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_found boolean;
BEGIN
    PERFORM user_activity.counting_require_pg_cron();
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1 AND username = current_user)'
        INTO v_found USING 'user_activity_count';
    IF v_found THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING 'user_activity_count';
    END IF;
    RETURN v_found;
END;
$$;
COMMENT ON FUNCTION user_activity.unschedule_counting() IS
    'removes the pg_cron job user_activity_count; false when there was none';

CREATE FUNCTION user_activity.counting_schedule() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_schedule text;
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT schedule FROM cron.job WHERE jobname = $1 ORDER BY jobid LIMIT 1'
        INTO v_schedule USING 'user_activity_count';
    RETURN v_schedule;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_schedule() IS
    'the schedule of the pg_cron job user_activity_count, null when there is none';

CREATE VIEW user_activity.counting_status AS
SELECT r.finished_at AS last_run_at,
       ok.finished_at AS last_success_at,
       r.outcome AS last_outcome,
       r.error AS last_error,
       pg_catalog.round(pg_catalog.date_part('epoch', pg_catalog.now() - ok.finished_at)::numeric, 3)
           AS seconds_since_last_success,
       user_activity.counting_schedule() AS schedule,
       ok.events AS events_counted
FROM (SELECT) AS one
LEFT JOIN LATERAL (SELECT * FROM user_activity.counting_runs ORDER BY id DESC LIMIT 1) r ON true
LEFT JOIN LATERAL (SELECT * FROM user_activity.counting_runs
                   WHERE outcome IN ('counted', 'empty') ORDER BY id DESC LIMIT 1) ok ON true;
COMMENT ON VIEW user_activity.counting_status IS
    'the last count run and the last successful one (events_counted: by that run); one row, nulls before the first run';

CREATE FUNCTION user_activity.counting_status_json() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT pg_catalog.json_build_object(
           'last_run_at', user_activity.counting_rfc3339(s.last_run_at),
           'last_success_at', user_activity.counting_rfc3339(s.last_success_at),
           'last_outcome', s.last_outcome,
           'last_error', s.last_error,
           'seconds_since_last_success', s.seconds_since_last_success,
           'schedule', s.schedule,
           'events_counted', s.events_counted)::text
FROM user_activity.counting_status s
$$;
COMMENT ON FUNCTION user_activity.counting_status_json() IS
    'counting_status as JSON text, for the metrics and the page';

--
-- Erasure
--
CREATE FUNCTION user_activity.delete_user_events(user_id bigint) RETURNS jsonb
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
    DELETE FROM user_activity.events e WHERE e.user_id = delete_user_events.user_id;
    GET DIAGNOSTICS v_events = ROW_COUNT;
    DELETE FROM user_activity.user_event_counts c WHERE c.user_id = delete_user_events.user_id;
    GET DIAGNOSTICS v_counts = ROW_COUNT;
    RETURN pg_catalog.jsonb_build_object('user_id', delete_user_events.user_id,
                                         'events_deleted', v_events, 'counts_deleted', v_counts);
END;
$$;
COMMENT ON FUNCTION user_activity.delete_user_events(bigint) IS
    'erases a user''s events and counts in one transaction (right to erasure)';

--
-- Privileges
--
REVOKE ALL ON FUNCTION
    user_activity.counting_history_keep(),
    user_activity.counting_purge_history(),
    user_activity.counting_wait_for_writers(),
    user_activity.counting_rfc3339(timestamptz),
    user_activity.count_activity(),
    user_activity.user_counts(bigint, timestamptz, timestamptz),
    user_activity.top_users(timestamptz, timestamptz, integer),
    user_activity.counting_param(jsonb, text, text, boolean),
    user_activity.counting_check_params(jsonb, text[]),
    user_activity.counting_check_range(timestamptz, timestamptz),
    user_activity.user_counts_json(jsonb),
    user_activity.top_users_json(jsonb),
    user_activity.counting_require_pg_cron(),
    user_activity.schedule_counting(text),
    user_activity.unschedule_counting(),
    user_activity.counting_schedule(),
    user_activity.counting_status_json(),
    user_activity.delete_user_events(bigint)
FROM PUBLIC;
REVOKE ALL ON PROCEDURE user_activity.run_counting() FROM PUBLIC;

GRANT SELECT ON user_activity.user_event_counts, user_activity.counting_state,
    user_activity.counting_runs, user_activity.counting_status
    TO user_activity_reader;
GRANT SELECT ON user_activity.counting_status TO user_activity_writer;
GRANT EXECUTE ON FUNCTION
    user_activity.user_counts(bigint, timestamptz, timestamptz),
    user_activity.top_users(timestamptz, timestamptz, integer),
    user_activity.user_counts_json(jsonb),
    user_activity.top_users_json(jsonb),
    user_activity.counting_schedule(),
    user_activity.counting_status_json()
    TO user_activity_reader, user_activity_writer;
GRANT EXECUTE ON FUNCTION user_activity.delete_user_events(bigint) TO user_activity_writer;

-- extension/sql/parts/90_grants.sql
--
-- Grants: nothing is executable by PUBLIC; the reader searches, the writer
-- (the HTTP shim) ingests, searches and exports.  Each part grants its own
-- functions the same way.
--

REVOKE ALL ON FUNCTION
    user_activity.record_event(jsonb),
    user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid),
    user_activity.record_events(jsonb),
    user_activity.find_start(bigint, timestamptz, timestamptz, integer, text),
    user_activity.event_cursor(bigint, timestamptz, bigint),
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz),
    user_activity.search_events(jsonb),
    user_activity.export_events(jsonb, text)
FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
    user_activity.record_event(jsonb),
    user_activity.record_event(bigint, user_activity.action, timestamptz, jsonb, uuid),
    user_activity.record_events(jsonb)
TO user_activity_writer;

GRANT EXECUTE ON FUNCTION
    user_activity.find_start(bigint, timestamptz, timestamptz, integer, text),
    user_activity.event_cursor(bigint, timestamptz, bigint),
    user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz),
    user_activity.search_events(jsonb),
    user_activity.export_events(jsonb, text)
TO user_activity_reader, user_activity_writer;
