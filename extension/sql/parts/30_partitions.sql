--
-- Partitions and retention: user_activity.events is partitioned by RANGE
-- (recorded_at); retention drops whole partitions (DETACH + DROP), never rows.
--
-- - Partitions cover user_activity.partition_interval (default 1 day)
--   aligned to 2000-01-01 00:00 UTC, named events_pYYYYMMDD_HH24MISS.
--   maintain_partitions() keeps user_activity.partitions_ahead (default 7)
--   of them ready after the current one, for direct INSERTs at now(), and
--   applies retention; pg_cron runs it (schedule_maintenance(),
--   40_pg_cron.sql).  Ingest makes the partition of its time when it is
--   missing (extension/src/events_target.c), so record_event and record_events
--   never fail for want of one; ensure_partition() and ensure_partitions()
--   make them for any other time (a backfill).
--
-- - There is no default partition.  A direct INSERT no partition holds fails
--   with PostgreSQL's check_violation "no partition of relation "events"
--   found for row", naming its recorded_at: nothing lands where it would
--   block maintenance.  (It cannot be made then: tuple routing fixes the
--   partitions when the statement starts, and a BEFORE STATEMENT trigger on
--   the table may not create or attach one, as the table is in use by the
--   statement.)
--
-- - Partitions are made when first needed, never by CREATE EXTENSION, and
--   their indexes are their own, made from user_activity.events_template,
--   not partitions of indexes on user_activity.events.  pg_restore runs
--   CREATE EXTENSION and then makes every dumped partition: a partition
--   CREATE EXTENSION had made already, or an index ATTACH PARTITION had made
--   from one on the parent before pg_restore makes the dumped one, would fail
--   as "already exists".  The primary key (user_id, recorded_at, id) of every
--   partition includes the partition key, so it is as unique as one on the
--   parent.  Partitions are data, not members of the extension: pg_dump
--   dumps them and their rows like any table.
--

--
-- Settings
--
CREATE FUNCTION user_activity.partition_interval() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'user_activity_partition_interval';
COMMENT ON FUNCTION user_activity.partition_interval() IS
    'user_activity.partition_interval as an interval: the span of a new partition';

CREATE FUNCTION user_activity.partitions_ahead() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'user_activity_partitions_ahead';
COMMENT ON FUNCTION user_activity.partitions_ahead() IS
    'user_activity.partitions_ahead: partitions kept ready after the current one';

--
-- Partitions
--
CREATE TABLE user_activity.events_template (LIKE user_activity.events INCLUDING ALL);
ALTER TABLE user_activity.events_template
    ADD CONSTRAINT events_template_pkey PRIMARY KEY (user_id, recorded_at, id);
CREATE INDEX events_template_user_id_event_id_idx
    ON user_activity.events_template (user_id, event_id) WHERE event_id IS NOT NULL;
-- Lets a count read only the new rows, however large the table is.
CREATE INDEX events_template_id_idx ON user_activity.events_template (id);
-- A user's events by the time they acted (activity(), 55_activity.sql).
CREATE INDEX events_template_user_id_event_action_timestamp_idx
    ON user_activity.events_template (user_id, event_action_timestamp) INCLUDE (action);
COMMENT ON TABLE user_activity.events_template IS
    'never holds rows: ensure_partition() makes each partition of events LIKE it, with its indexes; it has the columns of events';
COMMENT ON INDEX user_activity.events_template_user_id_event_id_idx IS
    'finds the event stored under a (user_id, event_id); user_activity.event_keys enforces the key';
COMMENT ON INDEX user_activity.events_template_user_id_event_action_timestamp_idx IS
    'a user''s events by the time they acted, with their action (activity() by acted time)';

CREATE VIEW user_activity.event_partitions AS
SELECT c.oid::pg_catalog.regclass AS partition,
       b.m[1]::timestamptz AS partition_from,
       b.m[2]::timestamptz AS partition_to
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL (SELECT pg_catalog.regexp_match(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                                   '^FOR VALUES FROM \(''([^'']*)''\) TO \(''([^'']*)''\)$') AS m) b
WHERE i.inhparent = 'user_activity.events'::pg_catalog.regclass
  AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT';
COMMENT ON VIEW user_activity.event_partitions IS
    'the partitions of user_activity.events and the recorded_at range [partition_from, partition_to) each holds';

CREATE FUNCTION user_activity.ensure_partition(recorded_at timestamptz,
                                               OUT partition_from timestamptz, OUT partition_to timestamptz)
    RETURNS record
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_name text;
    v_bound timestamptz;
BEGIN
    IF ensure_partition.recorded_at IS NULL THEN
        RAISE EXCEPTION 'missing parameter "recorded_at"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'recorded_at',
                  DETAIL = 'Parameter "recorded_at" must be a timestamp.';
    END IF;
    SELECT p.partition_from, p.partition_to INTO partition_from, partition_to
    FROM user_activity.event_partitions p
    WHERE ensure_partition.recorded_at >= p.partition_from AND ensure_partition.recorded_at < p.partition_to;
    IF FOUND THEN
        RETURN;
    END IF;

    -- One creator at a time (SHARE UPDATE EXCLUSIVE conflicts with itself,
    -- not with writers); a concurrent one may have created it meanwhile.
    LOCK TABLE user_activity.events IN SHARE UPDATE EXCLUSIVE MODE;
    SELECT p.partition_from, p.partition_to INTO partition_from, partition_to
    FROM user_activity.event_partitions p
    WHERE ensure_partition.recorded_at >= p.partition_from AND ensure_partition.recorded_at < p.partition_to;
    IF FOUND THEN
        RETURN;
    END IF;

    partition_from := pg_catalog.date_bin(user_activity.partition_interval(), ensure_partition.recorded_at,
                                          timestamptz '2000-01-01 00:00:00+00');
    partition_to := partition_from + user_activity.partition_interval();
    -- neighbours made with another interval keep their bounds
    SELECT pg_catalog.max(p.partition_to) INTO v_bound FROM user_activity.event_partitions p
    WHERE p.partition_to <= ensure_partition.recorded_at;
    partition_from := GREATEST(partition_from, v_bound);
    SELECT pg_catalog.min(p.partition_from) INTO v_bound FROM user_activity.event_partitions p
    WHERE p.partition_from > ensure_partition.recorded_at;
    partition_to := LEAST(partition_to, v_bound);

    -- Made apart with the template's indexes, then attached: ATTACH
    -- PARTITION takes SHARE UPDATE EXCLUSIVE on the table, which writers do
    -- not conflict with, and reads nothing (the new table is empty).
    v_name := 'events_p' || pg_catalog.to_char(partition_from AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS');
    EXECUTE pg_catalog.format('CREATE TABLE user_activity.%I (LIKE user_activity.events_template INCLUDING ALL)', v_name);
    EXECUTE pg_catalog.format(
        'ALTER TABLE user_activity.events ATTACH PARTITION user_activity.%I FOR VALUES FROM (%L) TO (%L)',
        v_name, partition_from, partition_to);
    EXECUTE pg_catalog.format('COMMENT ON TABLE user_activity.%I IS %L', v_name,
        pg_catalog.format('events recorded in [%s, %s)', user_activity.counting_rfc3339(partition_from),
                          user_activity.counting_rfc3339(partition_to)));
END;
$$;
COMMENT ON FUNCTION user_activity.ensure_partition(timestamptz) IS
    'the bounds of the partition of events that holds recorded_at, created (partition_interval wide, clipped by its neighbours, LIKE events_template) when missing';

CREATE FUNCTION user_activity.ensure_partitions(range_from timestamptz, range_to timestamptz) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_at timestamptz := range_from;
    v_before integer;
    v_after integer;
BEGIN
    IF range_from IS NULL OR range_to IS NULL THEN
        RAISE EXCEPTION 'missing parameter "%"', CASE WHEN range_from IS NULL THEN 'range_from' ELSE 'range_to' END
            USING ERRCODE = 'not_null_violation', COLUMN = CASE WHEN range_from IS NULL THEN 'range_from' ELSE 'range_to' END,
                  DETAIL = 'Parameters "range_from" and "range_to" must be timestamps.';
    END IF;
    IF NOT pg_catalog.isfinite(range_from) THEN
        RAISE EXCEPTION 'range_from out of range: %', range_from
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'range_from',
                  DETAIL = 'Parameter "range_from" must be a finite timestamp.';
    END IF;
    IF NOT pg_catalog.isfinite(range_to) OR range_to < range_from OR range_to > range_from + interval '100 years' THEN
        RAISE EXCEPTION 'range_to out of range: %', range_to
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'range_to',
                  DETAIL = 'Parameter "range_to" must be a finite timestamp, not before "range_from" nor more than 100 years after it.';
    END IF;
    SELECT pg_catalog.count(*) INTO v_before FROM user_activity.event_partitions;
    -- each step starts where the partition holding the last one ends, so
    -- partitions of other widths are crossed as they are
    WHILE v_at < range_to LOOP
        SELECT p.partition_to INTO v_at FROM user_activity.ensure_partition(v_at) p;
    END LOOP;
    SELECT pg_catalog.count(*) INTO v_after FROM user_activity.event_partitions;
    RETURN v_after - v_before;
END;
$$;
COMMENT ON FUNCTION user_activity.ensure_partitions(timestamptz, timestamptz) IS
    'makes the partitions of events missing for recorded_at in [range_from, range_to) (before a backfill by direct INSERTs); returns how many it made';

CREATE FUNCTION user_activity.maintain_partitions() RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_events_keep interval;
    v_counts_keep interval;
    v_cutoff timestamptz;
    v_dropped text[] := '{}';
    v_dropped_until timestamptz;
    v_keys bigint := 0;
    v_counts bigint := 0;
    v_created integer := 0;
    v_before integer;
    v_postponed boolean := false;
    v_lock_timeout text := pg_catalog.current_setting('lock_timeout');
    r record;
BEGIN
    SELECT s.events_keep, s.counts_keep INTO v_events_keep, v_counts_keep FROM user_activity.retention s;

    -- Retention first: dropping takes ACCESS EXCLUSIVE on the table, so it
    -- gives up after lock_timeout rather than queue every writer behind a
    -- long reader, and is retried by the next run.
    IF v_events_keep IS NOT NULL THEN
        v_cutoff := pg_catalog.now() - v_events_keep;
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '5s', true);
            FOR r IN
                SELECT p.partition, p.partition_to FROM user_activity.event_partitions p
                WHERE p.partition_to <= v_cutoff ORDER BY p.partition_from
            LOOP
                EXECUTE pg_catalog.format('ALTER TABLE user_activity.events DETACH PARTITION %s', r.partition);
                v_dropped := v_dropped || r.partition::text;
                EXECUTE pg_catalog.format('DROP TABLE %s', r.partition);
                v_dropped_until := GREATEST(v_dropped_until, r.partition_to);
            END LOOP;
            IF v_dropped_until IS NOT NULL THEN
                DELETE FROM user_activity.event_keys k WHERE k.recorded_at < v_dropped_until;
                GET DIAGNOSTICS v_keys = ROW_COUNT;
            END IF;
        EXCEPTION WHEN lock_not_available THEN
            v_postponed := true;
            v_dropped := '{}';
            v_keys := 0;
        END;
        PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
    END IF;
    -- The rollup of active users (55_activity.sql) is counts too: its UTC
    -- days that ended longer ago go with the periods.
    IF v_counts_keep IS NOT NULL THEN
        DELETE FROM user_activity.user_event_counts c WHERE c.period_end < pg_catalog.now() - v_counts_keep;
        GET DIAGNOSTICS v_counts = ROW_COUNT;
        DELETE FROM user_activity.user_day_activity a
        WHERE a.day < ((pg_catalog.now() - v_counts_keep) AT TIME ZONE 'UTC')::date;
        DELETE FROM user_activity.daily_active_users d
        WHERE d.day < ((pg_catalog.now() - v_counts_keep) AT TIME ZONE 'UTC')::date;
    END IF;

    -- The current partition and those ahead, for direct INSERTs at now().
    SELECT pg_catalog.count(*) INTO v_before FROM user_activity.event_partitions;
    FOR i IN 0 .. user_activity.partitions_ahead() LOOP
        PERFORM user_activity.ensure_partition(pg_catalog.now() + i * user_activity.partition_interval());
    END LOOP;
    SELECT pg_catalog.count(*) - v_before INTO v_created FROM user_activity.event_partitions;

    RETURN pg_catalog.jsonb_build_object(
        'partitions_created', v_created,
        'partitions_dropped', pg_catalog.to_jsonb(v_dropped),
        'event_keys_deleted', v_keys,
        'counts_deleted', v_counts,
        'retention_postponed', v_postponed);
END;
$$;
COMMENT ON FUNCTION user_activity.maintain_partitions() IS
    'drops the partitions of events older than the events retention (with their keys), deletes counts and rolled-up days older than the counts retention, and creates the current partition and partitions_ahead more';

--
-- Retention
--
CREATE TABLE user_activity.retention (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT retention_singleton_check CHECK (singleton),
    events_keep interval,
    counts_keep interval,
    updated_at timestamptz NOT NULL,
    CONSTRAINT retention_events_keep_check CHECK (events_keep > interval '0'),
    CONSTRAINT retention_counts_keep_check CHECK (counts_keep > interval '0')
);
COMMENT ON TABLE user_activity.retention IS
    'how long events and counts are kept (at most one row, written by set_retention and set_counts_retention; none: both kept for ever)';
COMMENT ON COLUMN user_activity.retention.singleton IS 'always true: the table has at most one row';
COMMENT ON COLUMN user_activity.retention.events_keep IS
    'partitions of events wholly older than this are dropped, with their event keys; null: kept for ever';
COMMENT ON COLUMN user_activity.retention.counts_keep IS
    'counting periods that ended longer ago than this are deleted; null: kept for ever';
COMMENT ON COLUMN user_activity.retention.updated_at IS 'when a retention was last set';

CREATE FUNCTION user_activity.retention_check(name text, keep interval) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF keep IS NOT NULL AND keep <= interval '0' THEN
        RAISE EXCEPTION '% out of range: %', name, keep
            USING ERRCODE = 'invalid_parameter_value', COLUMN = name,
                  DETAIL = pg_catalog.format('Parameter "%s" must be a positive interval, or null to keep for ever.', name);
    END IF;
END;
$$;
COMMENT ON FUNCTION user_activity.retention_check(text, interval) IS
    'rejects a retention that is not a positive interval';

CREATE FUNCTION user_activity.set_retention(events interval) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.retention_check('events', events);
    INSERT INTO user_activity.retention AS r (singleton, events_keep, updated_at)
    VALUES (true, events, pg_catalog.now())
    ON CONFLICT (singleton) DO UPDATE SET events_keep = excluded.events_keep, updated_at = excluded.updated_at;
    RETURN (SELECT pg_catalog.jsonb_build_object('events', s.events_keep, 'counts', s.counts_keep)
            FROM user_activity.retention s);
END;
$$;
COMMENT ON FUNCTION user_activity.set_retention(interval) IS
    'keep events for this long (null: for ever); maintain_partitions() drops partitions wholly older, and their event keys: an event_id is a duplicate for as long as its event is kept';

CREATE FUNCTION user_activity.set_counts_retention(counts interval) RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM user_activity.retention_check('counts', counts);
    INSERT INTO user_activity.retention AS r (singleton, counts_keep, updated_at)
    VALUES (true, counts, pg_catalog.now())
    ON CONFLICT (singleton) DO UPDATE SET counts_keep = excluded.counts_keep, updated_at = excluded.updated_at;
    RETURN (SELECT pg_catalog.jsonb_build_object('events', s.events_keep, 'counts', s.counts_keep)
            FROM user_activity.retention s);
END;
$$;
COMMENT ON FUNCTION user_activity.set_counts_retention(interval) IS
    'keep counting periods for this long after they end (null: for ever, the default); independent of the events retention';

-- pg_dump keeps the retention.
SELECT pg_catalog.pg_extension_config_dump('user_activity.retention', '');

--
-- Privileges: maintenance is the owner's; analysts may look.
--
REVOKE ALL ON FUNCTION
    user_activity.partition_interval(),
    user_activity.partitions_ahead(),
    user_activity.ensure_partition(timestamptz),
    user_activity.ensure_partitions(timestamptz, timestamptz),
    user_activity.maintain_partitions(),
    user_activity.retention_check(text, interval),
    user_activity.set_retention(interval),
    user_activity.set_counts_retention(interval)
FROM PUBLIC;
GRANT SELECT ON user_activity.event_partitions, user_activity.retention TO user_activity_reader;
