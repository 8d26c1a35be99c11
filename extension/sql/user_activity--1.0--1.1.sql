/* user_activity--1.0--1.1.sql: time partitions, the event key table and retention */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.1'" to load this file. \quit

--
-- Version 1.1 partitions user_activity.events by RANGE (recorded_at).
--
-- CREATE EXTENSION installs 1.0 and applies this script, so fresh installs
-- and upgrades run the same code: the migration below copies every row of
-- the 1.0 table (none on a fresh install) into the partitioned one.
--
-- - Partitions cover user_activity.partition_interval (default 1 day)
--   aligned to 2000-01-01 00:00 UTC, named events_pYYYYMMDD_HH24MISS.
--   maintain_partitions() keeps user_activity.partitions_ahead (default 7)
--   of them ready after the current one and applies retention; pg_cron runs
--   it (schedule_maintenance()).  An insert never fails for want of a
--   partition: ingest checks, before it inserts, that a partition holds the
--   transaction's time and creates it when it is missing
--   (ensure_partition()); a direct INSERT whose recorded_at no partition
--   holds lands in events_default, a transit area that never blocks
--   maintenance: ensure_partition() moves the rows of a new partition's
--   range out of it before attaching, and maintain_partitions() empties it.
-- - (user_id, event_id) cannot be a unique index of a table partitioned by
--   recorded_at, so it is claimed in user_activity.event_keys by a trigger,
--   in the same statement as the insert: dedup stays exact, with no time
--   window, for as long as the event is kept (its key goes with it).
-- - Retention drops whole partitions (DETACH + DROP), never rows.
--

--
-- Settings
--
CREATE FUNCTION user_activity.partition_interval() RETURNS interval
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ua_partition_interval_value';
COMMENT ON FUNCTION user_activity.partition_interval() IS
    'user_activity.partition_interval as an interval: the span of a new partition';

CREATE FUNCTION user_activity.partitions_ahead() RETURNS integer
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ua_partitions_ahead_value';
COMMENT ON FUNCTION user_activity.partitions_ahead() IS
    'user_activity.partitions_ahead: partitions kept ready after the current one';

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

--
-- The event key table: one row per (user_id, event_id) ever stored, until
-- retention drops the event.  Its key starts with user_id, so it is
-- distributed with the events (Citus).
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

--
-- Migration of the 1.0 table
--
DO $migrate$
DECLARE
    v_old regclass := 'user_activity.events'::regclass;
    v_rowtype regtype := 'user_activity.events'::regtype;
    v_funcs text[] := '{}';
    v_func_sigs text[] := '{}';
    v_func_post text[] := '{}';
    v_user_funcs text[] := '{}';
    v_indexes text[] := '{}';
    v_pkey text;
    v_comment text := pg_catalog.obj_description('user_activity.events'::regclass, 'pg_class');
    v_grants text[] := '{}';
    v_stmt text;
    r record;
BEGIN
    -- Functions whose signature names the table's row type (find_events,
    -- and any of the users') are re-created on the new table, with their
    -- comment and privileges.  A function that is not the extension's keeps
    -- its owner and is no member of the extension afterwards: re-created
    -- here it would be owned by whoever runs the update (a SECURITY DEFINER
    -- one would then run as that superuser), and DROP EXTENSION would drop
    -- it.  Its privileges are set back exactly, the owner's own included.
    FOR r IN
        SELECT p.oid, p.oid::regprocedure::text AS sig, pg_catalog.pg_get_functiondef(p.oid) AS def,
               pg_catalog.obj_description(p.oid, 'pg_proc') AS descr, p.proacl, p.proowner,
               EXISTS (SELECT FROM pg_catalog.pg_depend d
                       WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
                         AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                         AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e
                                           WHERE e.extname = 'user_activity')
                         AND d.deptype = 'e') AS ours
        FROM pg_catalog.pg_proc p
        WHERE p.prorettype = v_rowtype OR v_rowtype = ANY (p.proargtypes::oid[])
    LOOP
        v_funcs := v_funcs || r.def;
        v_func_sigs := v_func_sigs || r.sig;
        IF r.descr IS NOT NULL THEN
            v_func_post := v_func_post || pg_catalog.format('COMMENT ON FUNCTION %s IS %L', r.sig, r.descr);
        END IF;
        IF NOT r.ours THEN
            v_user_funcs := v_user_funcs || r.sig;
            v_func_post := v_func_post
                || pg_catalog.format('ALTER FUNCTION %s OWNER TO %I', r.sig, pg_catalog.pg_get_userbyid(r.proowner))
                || pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, %I', r.sig,
                                     pg_catalog.pg_get_userbyid(r.proowner));
            r.proacl := COALESCE(r.proacl, pg_catalog.acldefault('f', r.proowner));
        ELSIF r.proacl IS NOT NULL THEN
            v_func_post := v_func_post || pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.sig);
        END IF;
        IF r.proacl IS NOT NULL THEN
            v_func_post := v_func_post || ARRAY(
                SELECT pg_catalog.format('GRANT %s ON FUNCTION %s TO %s%s', a.privilege_type, r.sig,
                                         CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                              ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                                         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                FROM pg_catalog.aclexplode(r.proacl) a);
        END IF;
    END LOOP;
    FOREACH v_stmt IN ARRAY v_func_sigs LOOP
        EXECUTE 'DROP FUNCTION ' || v_stmt;
    END LOOP;

    -- Indexes, as they are defined on the 1.0 table.  A unique index without
    -- recorded_at (the event_id key) becomes a plain one for the duplicate
    -- lookup; event_keys enforces the key.
    SELECT pg_catalog.pg_get_constraintdef(c.oid) INTO v_pkey
    FROM pg_catalog.pg_constraint c WHERE c.conrelid = v_old AND c.contype = 'p';
    IF v_pkey IS NULL OR v_pkey NOT LIKE '%recorded_at%' THEN
        RAISE EXCEPTION 'cannot partition user_activity.events by recorded_at'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('Its primary key must include recorded_at; it is %s.', COALESCE(v_pkey, 'missing'));
    END IF;
    IF EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conrelid = v_old AND c.contype IN ('u', 'x')) THEN
        RAISE EXCEPTION 'cannot partition user_activity.events: it has unique or exclusion constraints'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    FOR r IN
        SELECT c.relname, i.indisunique,
               pg_catalog.pg_get_indexdef(i.indexrelid) AS def,
               EXISTS (SELECT FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = v_old AND a.attname = 'recorded_at'
                         AND a.attnum = ANY (i.indkey::int2[])) AS has_recorded_at
        FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = v_old AND NOT i.indisprimary
    LOOP
        IF r.indisunique AND NOT r.has_recorded_at THEN
            v_indexes := v_indexes || pg_catalog.replace(r.def,
                'CREATE UNIQUE INDEX ' || r.relname || ' ',
                'CREATE INDEX ' || pg_catalog.regexp_replace(r.relname, '_key$', '_idx') || ' ');
            v_indexes := v_indexes || pg_catalog.format('COMMENT ON INDEX user_activity.%I IS %L',
                pg_catalog.regexp_replace(r.relname, '_key$', '_idx'),
                'finds the event stored under a (user_id, event_id); user_activity.event_keys enforces the key');
        ELSE
            v_indexes := v_indexes || r.def;
        END IF;
    END LOOP;

    -- Privileges on the table.
    SELECT COALESCE(pg_catalog.array_agg(pg_catalog.format('GRANT %s ON user_activity.events TO %s', a.privilege_type,
                        CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                             ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END)), '{}')
    INTO v_grants
    FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
    WHERE c.oid = v_old AND a.grantee <> c.relowner;

    -- The old table steps aside, keeping its rows and the id sequence.
    ALTER TABLE user_activity.events RENAME TO events_1_0;
    FOR r IN SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = v_old
    LOOP
        EXECUTE pg_catalog.format('ALTER INDEX user_activity.%I RENAME TO %I', r.relname, r.relname || '_1_0');
    END LOOP;
    ALTER SEQUENCE user_activity.events_id_seq OWNED BY NONE;

    CREATE TABLE user_activity.events (
        LIKE user_activity.events_1_0
            INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION
    ) PARTITION BY RANGE (recorded_at);
    EXECUTE 'ALTER TABLE user_activity.events ADD CONSTRAINT events_pkey ' || v_pkey;
    FOREACH v_stmt IN ARRAY v_indexes LOOP
        EXECUTE v_stmt;
    END LOOP;
    FOREACH v_stmt IN ARRAY v_grants LOOP
        EXECUTE v_stmt;
    END LOOP;
    IF v_comment IS NOT NULL THEN
        EXECUTE pg_catalog.format('COMMENT ON TABLE user_activity.events IS %L',
                                  v_comment || ', partitioned by recorded_at');
    END IF;
    ALTER SEQUENCE user_activity.events_id_seq OWNED BY user_activity.events.id CACHE 1;

    FOREACH v_stmt IN ARRAY v_funcs LOOP
        EXECUTE v_stmt;
    END LOOP;
    FOREACH v_stmt IN ARRAY v_func_post LOOP
        EXECUTE v_stmt;
    END LOOP;
    FOREACH v_stmt IN ARRAY v_user_funcs LOOP
        EXECUTE 'ALTER EXTENSION user_activity DROP FUNCTION ' || v_stmt;
    END LOOP;
END
$migrate$;

--
-- Partitions
--
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
    'the range partitions of user_activity.events and the recorded_at range [partition_from, partition_to) each holds (events_default is not listed)';

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

    -- Created apart, then attached: ATTACH PARTITION takes SHARE UPDATE
    -- EXCLUSIVE on the table, which writers do not conflict with.  Rows of
    -- the range that direct writers put in events_default move in first,
    -- so the default partition never blocks the attach.
    v_name := 'events_p' || pg_catalog.to_char(partition_from AT TIME ZONE 'UTC', 'YYYYMMDD"_"HH24MISS');
    EXECUTE pg_catalog.format(
        'CREATE TABLE user_activity.%I (LIKE user_activity.events INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
        'INCLUDING STORAGE INCLUDING COMPRESSION)', v_name);
    IF pg_catalog.to_regclass('user_activity.events_default') IS NOT NULL THEN
        EXECUTE pg_catalog.format(
            'WITH moved AS (DELETE FROM user_activity.events_default d '
            'WHERE d.recorded_at >= %L AND d.recorded_at < %L RETURNING d.*) '
            'INSERT INTO user_activity.%I SELECT * FROM moved',
            partition_from, partition_to, v_name);
    END IF;
    EXECUTE pg_catalog.format(
        'ALTER TABLE user_activity.events ATTACH PARTITION user_activity.%I FOR VALUES FROM (%L) TO (%L)',
        v_name, partition_from, partition_to);
    EXECUTE pg_catalog.format('COMMENT ON TABLE user_activity.%I IS %L', v_name,
        pg_catalog.format('events recorded in [%s, %s)', user_activity.counting_rfc3339(partition_from),
                          user_activity.counting_rfc3339(partition_to)));
END;
$$;
COMMENT ON FUNCTION user_activity.ensure_partition(timestamptz) IS
    'the bounds of the partition of events that holds recorded_at, created (partition_interval wide, clipped by its neighbours) when missing';

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
    IF v_counts_keep IS NOT NULL THEN
        DELETE FROM user_activity.user_event_counts c WHERE c.period_end < pg_catalog.now() - v_counts_keep;
        GET DIAGNOSTICS v_counts = ROW_COUNT;
    END IF;

    -- Rows that direct writers put in events_default go to partitions of
    -- their own (expired ones are dropped by the next run), then the current
    -- partition and those ahead of it are made.
    SELECT pg_catalog.count(*) INTO v_before FROM user_activity.event_partitions;
    IF pg_catalog.to_regclass('user_activity.events_default') IS NOT NULL THEN
        FOR r IN EXECUTE
            'SELECT DISTINCT pg_catalog.date_bin(user_activity.partition_interval(), d.recorded_at,
                                                 timestamptz ''2000-01-01 00:00:00+00'') AS bin
             FROM user_activity.events_default d ORDER BY 1'
        LOOP
            PERFORM user_activity.ensure_partition(r.bin);
        END LOOP;
    END IF;
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
    'drops the partitions of events older than the events retention (with their keys), deletes counts older than the counts retention, and creates the current partition and partitions_ahead more';

--
-- Retention
--
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

--
-- Keys of the events
--
CREATE FUNCTION user_activity.claim_event_key() RETURNS trigger
    LANGUAGE c
    AS 'MODULE_PATHNAME', 'ua_event_key_trigger';
COMMENT ON FUNCTION user_activity.claim_event_key() IS
    'trigger: claims (user_id, event_id) in event_keys; a taken key skips the row during ingest and fails any other INSERT with unique_violation';

CREATE FUNCTION user_activity.release_event_keys() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        TRUNCATE user_activity.event_keys;
    ELSE
        DELETE FROM user_activity.event_keys k
        USING gone g
        WHERE k.user_id = g.user_id AND k.event_id = g.event_id AND k.id = g.id;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION user_activity.release_event_keys() IS
    'trigger: deletes the event keys of deleted or truncated events, so that an erased event_id can be stored again';

-- The rows and keys of the 1.0 table (no triggers yet: one pass each).
DO $copy$
DECLARE
    v_bin timestamptz;
BEGIN
    FOR v_bin IN
        SELECT DISTINCT pg_catalog.date_bin(user_activity.partition_interval(), e.recorded_at,
                                            timestamptz '2000-01-01 00:00:00+00')
        FROM user_activity.events_1_0 e ORDER BY 1
    LOOP
        PERFORM user_activity.ensure_partition(v_bin);
    END LOOP;
END
$copy$;
INSERT INTO user_activity.events SELECT * FROM user_activity.events_1_0;
INSERT INTO user_activity.event_keys (user_id, event_id, id, recorded_at)
SELECT e.user_id, e.event_id, e.id, e.recorded_at FROM user_activity.events_1_0 e WHERE e.event_id IS NOT NULL;
-- (leaving the extension first takes it off the list of tables pg_dump
-- dumps the data of)
ALTER EXTENSION user_activity DROP TABLE user_activity.events_1_0;
DROP TABLE user_activity.events_1_0;

CREATE TRIGGER events_claim_key
    BEFORE INSERT ON user_activity.events
    FOR EACH ROW WHEN (NEW.event_id IS NOT NULL)
    EXECUTE FUNCTION user_activity.claim_event_key();
CREATE TRIGGER events_release_keys
    AFTER DELETE ON user_activity.events
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT
    EXECUTE FUNCTION user_activity.release_event_keys();
CREATE TRIGGER events_release_keys_truncate
    AFTER TRUNCATE ON user_activity.events
    FOR EACH STATEMENT
    EXECUTE FUNCTION user_activity.release_event_keys();

-- The transit partition belongs to the extension (CREATE EXTENSION makes
-- it; its rows are dumped, below).
CREATE TABLE user_activity.events_default PARTITION OF user_activity.events DEFAULT;
COMMENT ON TABLE user_activity.events_default IS
    'transit area for directly inserted events no partition holds; maintain_partitions() moves them to partitions of their own';

-- The current partition and those ahead, so that neither direct writers
-- nor ingest have to make one (ingest can: a partition made in an ingest
-- transaction holds back direct writers to the default partition until it
-- commits).
SELECT user_activity.maintain_partitions();

-- Partitions are data, not part of the extension: pg_dump dumps them and
-- their rows like any table; maintenance creates and drops them.
DO $members$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT p.partition FROM user_activity.event_partitions p
    LOOP
        EXECUTE pg_catalog.format('ALTER EXTENSION user_activity DROP TABLE %s', r.partition);
    END LOOP;
END
$members$;

-- pg_dump keeps the rows of the transit partition and the retention.
-- event_keys is not dumped: restoring the events fires the trigger that
-- claims their keys.
SELECT pg_catalog.pg_extension_config_dump('user_activity.events', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.events_default', '');
SELECT pg_catalog.pg_extension_config_dump('user_activity.retention', '');

--
-- Scheduling with pg_cron, next to the count
--
CREATE FUNCTION user_activity.schedule_maintenance(schedule text DEFAULT '17 * * * *') RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_command text := 'SELECT user_activity.maintain_partitions()';
BEGIN
    IF schedule IS NULL OR pg_catalog.btrim(schedule) = '' THEN
        RAISE EXCEPTION 'missing parameter "schedule"'
            USING ERRCODE = 'not_null_violation', COLUMN = 'schedule',
                  DETAIL = 'Parameter "schedule" must be a cron expression, such as ''17 * * * *''.';
    END IF;
    PERFORM user_activity.counting_require_pg_cron();
    BEGIN
        EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING 'user_activity_maintenance', schedule, v_command;
    EXCEPTION WHEN invalid_parameter_value THEN
        RAISE EXCEPTION 'invalid schedule "%"', schedule
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'schedule',
                  DETAIL = 'Parameter "schedule" must be a cron expression of five fields (minute hour day-of-month month day-of-week, in GMT), such as ''17 * * * *'', or @hourly, @daily, @weekly, @monthly, @yearly.';
    END;
    RETURN pg_catalog.jsonb_build_object('job_name', 'user_activity_maintenance', 'schedule', schedule,
                                         'command', v_command);
END;
$$;
COMMENT ON FUNCTION user_activity.schedule_maintenance(text) IS
    'creates or replaces the pg_cron job user_activity_maintenance that runs maintain_partitions() (default: hourly)';

CREATE FUNCTION user_activity.unschedule_maintenance() RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_found boolean;
BEGIN
    PERFORM user_activity.counting_require_pg_cron();
    EXECUTE 'SELECT EXISTS (SELECT FROM cron.job WHERE jobname = $1 AND username = current_user)'
        INTO v_found USING 'user_activity_maintenance';
    IF v_found THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING 'user_activity_maintenance';
    END IF;
    RETURN v_found;
END;
$$;
COMMENT ON FUNCTION user_activity.unschedule_maintenance() IS
    'removes the pg_cron job user_activity_maintenance; false when there was none';

--
-- Privileges: maintenance is the owner's; analysts may look.
--
REVOKE ALL ON FUNCTION
    user_activity.partition_interval(),
    user_activity.partitions_ahead(),
    user_activity.ensure_partition(timestamptz),
    user_activity.maintain_partitions(),
    user_activity.retention_check(text, interval),
    user_activity.set_retention(interval),
    user_activity.set_counts_retention(interval),
    user_activity.claim_event_key(),
    user_activity.release_event_keys(),
    user_activity.schedule_maintenance(text),
    user_activity.unschedule_maintenance()
FROM PUBLIC;
GRANT SELECT ON user_activity.event_partitions, user_activity.retention TO user_activity_reader;
