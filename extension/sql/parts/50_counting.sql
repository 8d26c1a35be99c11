--
-- Counting: per-user activity counts, exactly once, scheduled by pg_cron
-- (40_pg_cron.sql).
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
-- holds its lock on the table.  Each partition's index on id
-- (events_template_id_idx, 30_partitions.sql) lets a count read only the new
-- rows, however large the table is.
--

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
    AS 'MODULE_PATHNAME', 'user_activity_counting_history_keep';
COMMENT ON FUNCTION user_activity.counting_history_keep() IS
    'user_activity.counting_history_keep as an interval';

CREATE FUNCTION user_activity.counting_wait_for_writers() RETURNS void
    LANGUAGE c VOLATILE
    AS 'MODULE_PATHNAME', 'user_activity_counting_wait_for_writers';
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
    v_runs pg_catalog.regclass := user_activity.pg_cron_relation('job_run_details');
    v_jobid bigint := (user_activity.pg_cron_job('user_activity_count')).jobid;
BEGIN
    -- The last run and the last success stay, however old: counting_status
    -- reports them.
    DELETE FROM user_activity.counting_runs r
    WHERE r.finished_at < v_before
      AND r.id <> (SELECT pg_catalog.max(l.id) FROM user_activity.counting_runs l)
      AND r.id <> COALESCE((SELECT pg_catalog.max(l.id) FROM user_activity.counting_runs l
                            WHERE l.outcome IN ('counted', 'empty')), 0);
    IF v_runs IS NOT NULL AND v_jobid IS NOT NULL
       AND pg_catalog.has_table_privilege(v_runs, 'DELETE') THEN
        EXECUTE pg_catalog.format('DELETE FROM %s d WHERE d.jobid = $1 AND d.end_time < $2', v_runs)
            USING v_jobid, v_before;
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_purge_history() IS
    'deletes count runs and pg_cron runs of the counting job older than user_activity.counting_history_keep';

--
-- The count
--
-- No JIT: the planner cannot tell how many users and days a window holds,
-- so it takes the count's plan for a large one and would compile its two
-- hundred expressions, which costs more than it saves.
CREATE FUNCTION user_activity.count_activity() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    SET jit = off
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
        -- event with an id in the window that will ever be committed.  The
        -- events are read once and grouped once, per user, UTC day of
        -- their action and action (three aggregates, so the groups of a
        -- large window stay in memory); the rollup's rows (55_activity.sql)
        -- and the counts are summed from those groups;
        -- each day's active users grow by the users whose row of that day
        -- this run adds (or whose count of an action it raises from zero).
        -- days_counted runs although the query does not read it, as every
        -- data-modifying part of a WITH does.
        WITH per_action AS MATERIALIZED (
            SELECT e.user_id,
                   (e.event_action_timestamp AT TIME ZONE 'UTC')::date AS day,
                   e.action,
                   pg_catalog.count(*) AS events,
                   pg_catalog.bit_or(user_activity.half_hour_bit(e.event_action_timestamp)) AS half_hours,
                   pg_catalog.min(e.recorded_at) AS first_recorded_at
            FROM user_activity.events e
            WHERE e.id > v_last_id AND e.id <= v_window_end
            GROUP BY e.user_id, 2, e.action
        ), new_days AS (
            -- One row per user, day and action above: max() picks it.
            -- Sorted, so that the days are grouped, and the counts summed
            -- per user, as the rows come, and both tables take their rows
            -- in index order.
            SELECT a.user_id, a.day,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'created'), 0) AS created_count,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'updated'), 0) AS updated_count,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'deleted'), 0) AS deleted_count,
                   COALESCE(pg_catalog.max(a.events) FILTER (WHERE a.action = 'viewed'), 0) AS viewed_count,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'created'), 0) AS created_half_hours,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'updated'), 0) AS updated_half_hours,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'deleted'), 0) AS deleted_half_hours,
                   COALESCE(pg_catalog.max(a.half_hours) FILTER (WHERE a.action = 'viewed'), 0) AS viewed_half_hours,
                   pg_catalog.min(a.first_recorded_at) AS first_recorded_at
            FROM (SELECT * FROM per_action p ORDER BY p.user_id, p.day) a
            GROUP BY a.user_id, a.day
        ), new_counts AS (
            SELECT d.user_id,
                   pg_catalog.sum(d.created_count + d.updated_count + d.deleted_count + d.viewed_count)::bigint AS event_count,
                   pg_catalog.sum(d.created_count)::bigint AS created_count,
                   pg_catalog.sum(d.updated_count)::bigint AS updated_count,
                   pg_catalog.sum(d.deleted_count)::bigint AS deleted_count,
                   pg_catalog.sum(d.viewed_count)::bigint AS viewed_count,
                   pg_catalog.min(d.first_recorded_at) AS first_recorded_at
            FROM (SELECT * FROM new_days n ORDER BY n.user_id) d
            GROUP BY d.user_id
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
        ), updated AS (
            -- Days the user had acted on already: add to them.  A user who
            -- had not done an action that day is new to its users.
            UPDATE user_activity.user_day_activity r
            SET created_count = r.created_count + d.created_count,
                updated_count = r.updated_count + d.updated_count,
                deleted_count = r.deleted_count + d.deleted_count,
                viewed_count = r.viewed_count + d.viewed_count,
                created_half_hours = r.created_half_hours | d.created_half_hours,
                updated_half_hours = r.updated_half_hours | d.updated_half_hours,
                deleted_half_hours = r.deleted_half_hours | d.deleted_half_hours,
                viewed_half_hours = r.viewed_half_hours | d.viewed_half_hours
            FROM new_days d
            WHERE r.user_id = d.user_id AND r.day = d.day
              -- only the days of the new events are read (BRIN on day)
              AND r.day >= (SELECT pg_catalog.min(n.day) FROM new_days n)
              AND r.day <= (SELECT pg_catalog.max(n.day) FROM new_days n)
            RETURNING r.user_id, r.day,
                      d.created_count > 0 AND r.created_count = d.created_count AS new_created,
                      d.updated_count > 0 AND r.updated_count = d.updated_count AS new_updated,
                      d.deleted_count > 0 AND r.deleted_count = d.deleted_count AS new_deleted,
                      d.viewed_count > 0 AND r.viewed_count = d.viewed_count AS new_viewed
        ), added AS (
            -- The others: the user is new to the day.  Only a count inserts
            -- rows, one at a time, so none can have appeared since.
            INSERT INTO user_activity.user_day_activity
                (user_id, day, created_count, updated_count, deleted_count, viewed_count,
                 created_half_hours, updated_half_hours, deleted_half_hours, viewed_half_hours)
            SELECT d.user_id, d.day, d.created_count, d.updated_count, d.deleted_count, d.viewed_count,
                   d.created_half_hours, d.updated_half_hours, d.deleted_half_hours, d.viewed_half_hours
            FROM new_days d
            WHERE NOT EXISTS (SELECT FROM updated u WHERE u.user_id = d.user_id AND u.day = d.day)
            RETURNING day, created_count > 0 AS new_created, updated_count > 0 AS new_updated,
                      deleted_count > 0 AS new_deleted, viewed_count > 0 AS new_viewed
        ), new_users AS (
            SELECT a.day, 1 AS users, a.new_created, a.new_updated, a.new_deleted, a.new_viewed FROM added a
            UNION ALL
            SELECT u.day, 0, u.new_created, u.new_updated, u.new_deleted, u.new_viewed FROM updated u
        ), days_counted AS (
            INSERT INTO user_activity.daily_active_users AS a
                (day, users, created_users, updated_users, deleted_users, viewed_users)
            SELECT n.day, pg_catalog.sum(n.users),
                   pg_catalog.count(*) FILTER (WHERE n.new_created),
                   pg_catalog.count(*) FILTER (WHERE n.new_updated),
                   pg_catalog.count(*) FILTER (WHERE n.new_deleted),
                   pg_catalog.count(*) FILTER (WHERE n.new_viewed)
            FROM new_users n
            GROUP BY n.day
            ON CONFLICT (day) DO UPDATE
                SET users = a.users + excluded.users,
                    created_users = a.created_users + excluded.created_users,
                    updated_users = a.updated_users + excluded.updated_users,
                    deleted_users = a.deleted_users + excluded.deleted_users,
                    viewed_users = a.viewed_users + excluded.viewed_users
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
    'counts the events committed since the previous run, per user and action, and rolls them up per user and day of action (user_day_activity, daily_active_users), exactly once';

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

-- Parameters arrive as the query string's values, as text.
CREATE FUNCTION user_activity.counting_value(value text, name text, kind text, required boolean)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v text := value;
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
COMMENT ON FUNCTION user_activity.counting_value(text, text, text, boolean) IS
    'one checked parameter of user_counts_json or top_users_json, as text (its error names it: COLUMN is the parameter)';

CREATE FUNCTION user_activity.counting_param(params jsonb, name text, kind text, required boolean)
    RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    RETURN user_activity.counting_value(params ->> name, name, kind, required);
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

CREATE FUNCTION user_activity.user_counts_json(user_id text, "from" text, "to" text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_user bigint;
    v_from timestamptz;
    v_to timestamptz;
    v_result text;
BEGIN
    v_user := user_activity.counting_value($1, 'user_id', 'user_id', true)::bigint;
    v_from := user_activity.counting_value($2, 'from', 'time', true)::timestamptz;
    v_to := user_activity.counting_value($3, 'to', 'time', true)::timestamptz;
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
COMMENT ON FUNCTION user_activity.user_counts_json(text, text, text) IS
    'a user''s counts per period and in total over [from, to), as JSON text for the REST layer; each parameter as the query string has it (NULL: absent)';

CREATE FUNCTION user_activity.user_counts_json(params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.counting_check_params(params, ARRAY['user_id', 'from', 'to']);
    RETURN user_activity.user_counts_json(params ->> 'user_id', params ->> 'from', params ->> 'to');
END;
$$;
COMMENT ON FUNCTION user_activity.user_counts_json(jsonb) IS
    'a user''s counts per period and in total over [from, to), as JSON text for the REST layer';

CREATE FUNCTION user_activity.top_users_json("from" text, "to" text, "limit" text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_from timestamptz;
    v_to timestamptz;
    v_limit integer;
    v_result text;
BEGIN
    v_from := user_activity.counting_value($1, 'from', 'time', true)::timestamptz;
    v_to := user_activity.counting_value($2, 'to', 'time', true)::timestamptz;
    v_limit := COALESCE(user_activity.counting_value($3, 'limit', 'limit', false)::integer, 10);
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
COMMENT ON FUNCTION user_activity.top_users_json(text, text, text) IS
    'the top users over [from, to) (limit 1..1000, default 10), as JSON text for the REST layer; each parameter as the query string has it (NULL: absent)';

CREATE FUNCTION user_activity.top_users_json(params jsonb) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.counting_check_params(params, ARRAY['from', 'to', 'limit']);
    RETURN user_activity.top_users_json(params ->> 'from', params ->> 'to', params ->> 'limit');
END;
$$;
COMMENT ON FUNCTION user_activity.top_users_json(jsonb) IS
    'the top users over [from, to) (limit 1..1000, default 10), as JSON text for the REST layer';

--
-- Privileges: the count is the owner's (pg_cron's job runs it as the
-- superuser who scheduled it); the reader and the writer query the counts.
--
REVOKE ALL ON FUNCTION
    user_activity.counting_history_keep(),
    user_activity.counting_purge_history(),
    user_activity.counting_wait_for_writers(),
    user_activity.counting_rfc3339(timestamptz),
    user_activity.count_activity(),
    user_activity.user_counts(bigint, timestamptz, timestamptz),
    user_activity.top_users(timestamptz, timestamptz, integer),
    user_activity.counting_value(text, text, text, boolean),
    user_activity.counting_param(jsonb, text, text, boolean),
    user_activity.counting_check_params(jsonb, text[]),
    user_activity.counting_check_range(timestamptz, timestamptz),
    user_activity.user_counts_json(jsonb),
    user_activity.top_users_json(jsonb),
    user_activity.user_counts_json(text, text, text),
    user_activity.top_users_json(text, text, text)
FROM PUBLIC;
REVOKE ALL ON PROCEDURE user_activity.run_counting() FROM PUBLIC;

GRANT SELECT ON user_activity.user_event_counts, user_activity.counting_state,
    user_activity.counting_runs
    TO user_activity_reader;
GRANT EXECUTE ON FUNCTION
    user_activity.user_counts(bigint, timestamptz, timestamptz),
    user_activity.top_users(timestamptz, timestamptz, integer),
    user_activity.user_counts_json(jsonb),
    user_activity.top_users_json(jsonb),
    user_activity.user_counts_json(text, text, text),
    user_activity.top_users_json(text, text, text)
    TO user_activity_reader, user_activity_writer;
