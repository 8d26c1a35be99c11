/* user_activity--1.1--1.2.sql */

\echo Use "ALTER EXTENSION user_activity UPDATE TO '1.2'" to load this file. \quit

--
-- Version 1.2.  CREATE EXTENSION installs 1.0 and applies every upgrade
-- script in turn, so fresh installs and upgrades run the same code.
--
-- Each section below belongs to one concern; keep changes inside it.
--


-- ----------------------------------------------------------------------
-- Ingest
-- ----------------------------------------------------------------------


-- ----------------------------------------------------------------------
-- Search
-- ----------------------------------------------------------------------


-- ----------------------------------------------------------------------
-- Partitions and retention
-- ----------------------------------------------------------------------
--
-- 1.2 drops the default partition and makes pg_dump/pg_restore clean.
--
-- - No default partition.  1.1 kept user_activity.events_default for direct
--   INSERTs whose recorded_at no partition held; such rows sat where they
--   had to be moved before any partition of their range could be attached.
--   Now every row is in a partition of its own range.  ingest makes the
--   partition of its time when it is missing (UaLockEvents), so
--   record_event and record_events never fail for want of one;
--   maintain_partitions() keeps the current partition and partitions_ahead
--   more ready for direct INSERTs at now(); ensure_partition() makes one
--   for any other time (a backfill).  A direct INSERT no partition holds
--   fails with PostgreSQL's check_violation "no partition of relation
--   "events" found for row", naming its recorded_at: nothing lands where it
--   would block maintenance.  (It cannot be made then: tuple routing fixes
--   the partitions when the statement starts, and a BEFORE STATEMENT
--   trigger on the table may not create or attach one, as the table is in
--   use by the statement.)
--
-- - Partitions are made when first needed, never by CREATE EXTENSION, and
--   their indexes are their own, made from user_activity.events_template,
--   not partitions of indexes on user_activity.events.  pg_restore runs
--   CREATE EXTENSION and then makes every dumped partition: a partition
--   CREATE EXTENSION had made already, or an index ATTACH PARTITION had
--   made from one on the parent before pg_restore makes the dumped one,
--   would fail as "already exists".  The primary key (user_id, recorded_at,
--   id) of every partition includes the partition key, so it is as unique
--   as one on the parent.
--

-- Rows of the default partition go to partitions of their own range: 1.1's
-- ensure_partition() moves the rows of the partition it makes out of it.
DO $default$
DECLARE
    v_first timestamptz;
    v_previous timestamptz;
BEGIN
    LOOP
        SELECT pg_catalog.min(d.recorded_at) INTO v_first FROM user_activity.events_default d;
        EXIT WHEN v_first IS NULL;
        IF v_first IS NOT DISTINCT FROM v_previous THEN
            RAISE EXCEPTION 'cannot move the rows of user_activity.events_default recorded at % to a partition', v_first
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        PERFORM user_activity.ensure_partition(v_first);
        v_previous := v_first;
    END LOOP;
END
$default$;
ALTER EXTENSION user_activity DROP TABLE user_activity.events_default;
DROP TABLE user_activity.events_default;

-- The partitions that this CREATE EXTENSION or ALTER EXTENSION made and
-- left empty (1.1 makes the current one and those ahead at install) go:
-- the first writer or maintain_partitions() makes them again.  Their
-- pg_class rows were written by this transaction or one of its
-- subtransactions (a savepoint's), whose ids are not older than its own:
-- age() is 0 or negative for them.
DO $empty$
DECLARE
    r record;
    v_empty boolean;
BEGIN
    FOR r IN
        SELECT p.partition FROM user_activity.event_partitions p
        JOIN pg_catalog.pg_class c ON c.oid = p.partition
        WHERE pg_catalog.age(c.xmin) <= 0
    LOOP
        EXECUTE pg_catalog.format('SELECT NOT EXISTS (SELECT FROM %s)', r.partition) INTO v_empty;
        IF v_empty THEN
            EXECUTE pg_catalog.format('DROP TABLE %s', r.partition);
        END IF;
    END LOOP;
END
$empty$;

-- The indexes of user_activity.events become the template's; every
-- partition keeps its own copies, detached from the parent's and attached
-- again (which reads each partition once to check its bounds).
CREATE TABLE user_activity.events_template (LIKE user_activity.events INCLUDING ALL);
COMMENT ON TABLE user_activity.events_template IS
    'never holds rows: ensure_partition() makes each partition of events LIKE it, with its indexes; it has the columns of events';
DO $indexes$
DECLARE
    r record;
    v_parts user_activity.event_partitions[];
BEGIN
    SELECT COALESCE(pg_catalog.array_agg(p ORDER BY p.partition_from), '{}') INTO v_parts
    FROM user_activity.event_partitions p;
    FOR i IN 1 .. pg_catalog.cardinality(v_parts) LOOP
        EXECUTE pg_catalog.format('ALTER TABLE user_activity.events DETACH PARTITION %s', (v_parts[i]).partition);
    END LOOP;
    FOR r IN SELECT c.conname FROM pg_catalog.pg_constraint c
             WHERE c.conrelid = 'user_activity.events'::regclass AND c.contype IN ('p', 'u', 'x')
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE user_activity.events DROP CONSTRAINT %I', r.conname);
    END LOOP;
    FOR r IN SELECT i.indexrelid::regclass AS index FROM pg_catalog.pg_index i
             WHERE i.indrelid = 'user_activity.events'::regclass
    LOOP
        EXECUTE pg_catalog.format('DROP INDEX %s', r.index);
    END LOOP;
    FOR i IN 1 .. pg_catalog.cardinality(v_parts) LOOP
        EXECUTE pg_catalog.format('ALTER TABLE user_activity.events ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                                  (v_parts[i]).partition, (v_parts[i]).partition_from, (v_parts[i]).partition_to);
    END LOOP;
END
$indexes$;

-- Partitions are data, not members of the extension (pg_dump dumps them):
-- those made above for the default partition's rows, inside this script,
-- became members as they were made.
DO $members$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.partition FROM user_activity.event_partitions p
        JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                   AND d.objid = p.partition AND d.deptype = 'e'
    LOOP
        EXECUTE pg_catalog.format('ALTER EXTENSION user_activity DROP TABLE %s', r.partition);
    END LOOP;
END
$members$;

COMMENT ON VIEW user_activity.event_partitions IS
    'the partitions of user_activity.events and the recorded_at range [partition_from, partition_to) each holds';

CREATE OR REPLACE FUNCTION user_activity.ensure_partition(recorded_at timestamptz,
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
REVOKE ALL ON FUNCTION user_activity.ensure_partitions(timestamptz, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION user_activity.maintain_partitions() RETURNS jsonb
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
    'drops the partitions of events older than the events retention (with their keys), deletes counts older than the counts retention, and creates the current partition and partitions_ahead more';


-- ----------------------------------------------------------------------
-- Counting status
-- ----------------------------------------------------------------------
--
-- How fresh the counts are, for GET /api/counting/status, the page and the
-- metrics: counting_status_json() also reports the position, the pg_cron
-- job's state, its next run and the expected interval between two runs.
-- The last two are read from the job's cron expression with pg_cron's
-- rules (Vixie cron's): five fields, minute hour day-of-month month
-- day-of-week, each a list of values, ranges and steps (names of months and
-- days allowed); when both day fields are restricted a day matches either,
-- when one starts with "*" it must match both; @hourly to @yearly; and
-- pg_cron's "N seconds".  What cannot be read (@reboot, "$", a bad field)
-- gives nulls, never an error: status must always answer.
--

CREATE FUNCTION user_activity.counting_cron_field(field text, lo integer, hi integer,
                                                  names text[] DEFAULT NULL)
    RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_field text := pg_catalog.lower(field);
    v_item text;
    v_m text[];
    v_from integer;
    v_to integer;
    v_step integer;
    v_out integer[] := '{}';
BEGIN
    IF names IS NOT NULL THEN
        FOR i IN 1 .. pg_catalog.array_length(names, 1) LOOP
            v_field := pg_catalog.replace(v_field, names[i], (lo + i - 1)::text);
        END LOOP;
    END IF;
    FOREACH v_item IN ARRAY pg_catalog.string_to_array(v_field, ',') LOOP
        v_m := pg_catalog.regexp_match(v_item, '^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:/(\d{1,2}))?$');
        IF v_m IS NULL THEN
            RETURN NULL;
        END IF;
        IF v_m[1] = '*' THEN
            v_from := lo;
            v_to := hi;
        ELSE
            v_from := v_m[2]::integer;
            v_to := COALESCE(v_m[3]::integer, CASE WHEN v_m[4] IS NULL THEN v_from ELSE hi END);
        END IF;
        v_step := COALESCE(v_m[4]::integer, 1);
        IF v_from < lo OR v_to > hi OR v_from > v_to OR v_step < 1 THEN
            RETURN NULL;
        END IF;
        v_out := v_out || ARRAY(SELECT pg_catalog.generate_series(v_from, v_to, v_step));
    END LOOP;
    RETURN ARRAY(SELECT DISTINCT x FROM pg_catalog.unnest(v_out) x ORDER BY x);
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_field(text, integer, integer, text[]) IS
    'the values of one cron field between lo and hi (names: of lo, lo + 1, ...), sorted; null when it cannot be read';

CREATE FUNCTION user_activity.counting_cron_parse(schedule text,
    OUT minutes integer[], OUT hours integer[], OUT days integer[], OUT months integer[],
    OUT weekdays integer[], OUT either_day boolean, OUT every_seconds integer)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_s text := pg_catalog.lower(pg_catalog.btrim(schedule));
    v_f text[];
    v_m text[];
BEGIN
    v_m := pg_catalog.regexp_match(v_s, '^(\d{1,2})\s*seconds?$');
    IF v_m IS NOT NULL THEN
        IF v_m[1]::integer BETWEEN 1 AND 59 THEN
            every_seconds := v_m[1]::integer;
        END IF;
        RETURN;
    END IF;
    v_s := CASE v_s
               WHEN '@yearly' THEN '0 0 1 1 *'
               WHEN '@annually' THEN '0 0 1 1 *'
               WHEN '@monthly' THEN '0 0 1 * *'
               WHEN '@weekly' THEN '0 0 * * 0'
               WHEN '@daily' THEN '0 0 * * *'
               WHEN '@midnight' THEN '0 0 * * *'
               WHEN '@hourly' THEN '0 * * * *'
               ELSE v_s
           END;
    v_f := pg_catalog.regexp_split_to_array(v_s, '\s+');
    IF pg_catalog.cardinality(v_f) <> 5 THEN
        RETURN;
    END IF;
    minutes := user_activity.counting_cron_field(v_f[1], 0, 59);
    hours := user_activity.counting_cron_field(v_f[2], 0, 23);
    days := user_activity.counting_cron_field(v_f[3], 1, 31);
    months := user_activity.counting_cron_field(v_f[4], 1, 12,
        '{jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec}');
    -- 7 is Sunday as well as 0
    weekdays := ARRAY(SELECT DISTINCT x % 7 FROM pg_catalog.unnest(
        user_activity.counting_cron_field(v_f[5], 0, 7, '{sun,mon,tue,wed,thu,fri,sat}')) x ORDER BY 1);
    IF minutes IS NULL OR hours IS NULL OR days IS NULL OR months IS NULL
       OR user_activity.counting_cron_field(v_f[5], 0, 7, '{sun,mon,tue,wed,thu,fri,sat}') IS NULL THEN
        minutes := NULL;
        hours := NULL;
        days := NULL;
        months := NULL;
        weekdays := NULL;
        RETURN;
    END IF;
    either_day := v_f[3] !~ '^\*' AND v_f[5] !~ '^\*';
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_parse(text) IS
    'a cron expression as pg_cron reads it: the values of each field, whether a day matches on either day field, or the seconds of an "N seconds" schedule; nulls when it cannot be read';

CREATE FUNCTION user_activity.counting_cron_day(d date, days integer[], months integer[],
                                                weekdays integer[], either_day boolean)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN pg_catalog.date_part('month', d)::integer = ANY (months)
       AND CASE WHEN either_day
                THEN pg_catalog.date_part('day', d)::integer = ANY (days)
                     OR pg_catalog.date_part('dow', d)::integer = ANY (weekdays)
                ELSE pg_catalog.date_part('day', d)::integer = ANY (days)
                     AND pg_catalog.date_part('dow', d)::integer = ANY (weekdays)
           END;
COMMENT ON FUNCTION user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean) IS
    'whether a cron schedule runs on day d (see counting_cron_parse)';

CREATE FUNCTION user_activity.counting_cron_interval(schedule text) RETURNS integer
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c record;
    v_times integer[];
    v_within integer;
    v_across integer;
BEGIN
    c := user_activity.counting_cron_parse(schedule);
    IF c.every_seconds IS NOT NULL THEN
        RETURN c.every_seconds;
    END IF;
    IF c.minutes IS NULL THEN
        RETURN NULL;
    END IF;
    -- the runs of a day, in minutes after midnight, and the longest gap
    -- between two of them
    v_times := ARRAY(SELECT h * 60 + m FROM pg_catalog.unnest(c.hours) h, pg_catalog.unnest(c.minutes) m
                     ORDER BY 1);
    SELECT pg_catalog.max(t2 - t1) INTO v_within
    FROM (SELECT t AS t1, pg_catalog.lead(t) OVER (ORDER BY t) AS t2
          FROM pg_catalog.unnest(v_times) t) g;
    -- the longest gap from a day's last run to the next day's first: the
    -- next day when it runs every day (the usual case, answered at once),
    -- else over four calendar years (a leap year among them), where every
    -- month and weekday pattern shows its longest gap.  A schedule that runs
    -- on fewer than two of those days (29 February) has no interval to
    -- speak of.
    IF pg_catalog.cardinality(c.months) = 12 AND pg_catalog.cardinality(c.days) = 31
       AND pg_catalog.cardinality(c.weekdays) = 7 THEN
        RETURN 60 * GREATEST(v_within, 1440 - v_times[pg_catalog.cardinality(v_times)] + v_times[1]);
    END IF;
    SELECT pg_catalog.max((d2 - d1) * 1440 - v_times[pg_catalog.cardinality(v_times)] + v_times[1])
    INTO v_across
    FROM (SELECT d AS d1, pg_catalog.lead(d) OVER (ORDER BY d) AS d2
          FROM (SELECT DATE '2024-01-01' + i AS d FROM pg_catalog.generate_series(0, 1460) i) days
          WHERE user_activity.counting_cron_day(d, c.days, c.months, c.weekdays, c.either_day)) g;
    IF v_across IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN 60 * GREATEST(v_within, v_across);
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_interval(text) IS
    'the longest time between two consecutive runs of a cron schedule, in seconds; null when it cannot be told';

CREATE FUNCTION user_activity.counting_cron_next(schedule text, after timestamptz, timezone text DEFAULT 'GMT')
    RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    c record;
    v_local timestamp := after AT TIME ZONE timezone;
    v_day date := v_local::date;
    v_minute integer := pg_catalog.floor(pg_catalog.date_part('epoch', v_local - v_day::timestamp) / 60);
    v_times integer[];
    v_time integer;
    v_next date;
BEGIN
    c := user_activity.counting_cron_parse(schedule);
    IF c.minutes IS NULL THEN
        RETURN NULL;
    END IF;
    v_times := ARRAY(SELECT h * 60 + m FROM pg_catalog.unnest(c.hours) h, pg_catalog.unnest(c.minutes) m
                     ORDER BY 1);
    IF user_activity.counting_cron_day(v_day, c.days, c.months, c.weekdays, c.either_day) THEN
        SELECT pg_catalog.min(t) INTO v_time FROM pg_catalog.unnest(v_times) t WHERE t > v_minute;
        IF v_time IS NOT NULL THEN
            RETURN (v_day + pg_catalog.make_interval(mins => v_time)) AT TIME ZONE timezone;
        END IF;
    END IF;
    SELECT v_day + i INTO v_next
    FROM pg_catalog.generate_series(1, 1461) i
    WHERE user_activity.counting_cron_day(v_day + i, c.days, c.months, c.weekdays, c.either_day)
    ORDER BY i LIMIT 1;
    IF v_next IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN (v_next + pg_catalog.make_interval(mins => v_times[1])) AT TIME ZONE timezone;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_cron_next(text, timestamptz, text) IS
    'the first run of a cron schedule after a time, reading the schedule in the given time zone; null when it cannot be told ("N seconds": it depends on the last run)';

CREATE OR REPLACE FUNCTION user_activity.counting_status_json() RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    v_tz text := COALESCE(NULLIF(pg_catalog.current_setting('cron.timezone', true), ''), 'GMT');
    v_job json;
    v_schedule text;
    v_active boolean;
    v_cron json;
    v_position json;
    v_out text;
BEGIN
    -- pg_cron is optional and looked up at call time, like the scheduling
    -- functions; so is its run history (pg_cron 1.3 and later).
    IF pg_catalog.to_regclass('cron.job') IS NOT NULL THEN
        EXECUTE pg_catalog.format(
            'SELECT j.schedule, j.active,
                    pg_catalog.json_build_object(
                        ''name'', j.jobname, ''schedule'', j.schedule, ''active'', j.active,
                        ''last_run'', %s)
             FROM cron.job j WHERE j.jobname = $1 ORDER BY j.jobid LIMIT 1',
            CASE WHEN pg_catalog.to_regclass('cron.job_run_details') IS NULL THEN 'NULL::json'
                 ELSE '(SELECT pg_catalog.json_build_object(
                                   ''status'', d.status,
                                   ''started_at'', user_activity.counting_rfc3339(d.start_time),
                                   ''ended_at'', user_activity.counting_rfc3339(d.end_time),
                                   ''message'', d.return_message)
                        FROM cron.job_run_details d WHERE d.jobid = j.jobid
                        ORDER BY d.runid DESC LIMIT 1)'
            END)
            INTO v_schedule, v_active, v_job USING 'user_activity_count';
        v_cron := pg_catalog.json_build_object('timezone', v_tz, 'job', v_job);
    END IF;
    SELECT pg_catalog.json_build_object(
               'last_id', p.last_id,
               'last_period_end', user_activity.counting_rfc3339(p.last_period_end),
               'updated_at', user_activity.counting_rfc3339(p.updated_at))
    INTO v_position
    FROM user_activity.counting_state p;
    SELECT pg_catalog.json_build_object(
               'last_run_at', user_activity.counting_rfc3339(s.last_run_at),
               'last_success_at', user_activity.counting_rfc3339(s.last_success_at),
               'last_outcome', s.last_outcome,
               'last_error', s.last_error,
               'seconds_since_last_success', s.seconds_since_last_success,
               'schedule', s.schedule,
               'events_counted', s.events_counted,
               'position', v_position,
               'expected_interval_seconds',
                   CASE WHEN v_active THEN user_activity.counting_cron_interval(v_schedule) END,
               'next_run_at',
                   CASE WHEN v_active THEN user_activity.counting_rfc3339(
                       user_activity.counting_cron_next(v_schedule, pg_catalog.now(), v_tz)) END,
               'pg_cron', v_cron)::text
    INTO v_out
    FROM user_activity.counting_status s;
    RETURN v_out;
END;
$$;
COMMENT ON FUNCTION user_activity.counting_status_json() IS
    'counting_status as JSON text with the position, the pg_cron job and its expected interval and next run: for GET /api/counting/status, the metrics and the page';

REVOKE ALL ON FUNCTION
    user_activity.counting_cron_field(text, integer, integer, text[]),
    user_activity.counting_cron_parse(text),
    user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean),
    user_activity.counting_cron_interval(text),
    user_activity.counting_cron_next(text, timestamptz, text)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    user_activity.counting_cron_field(text, integer, integer, text[]),
    user_activity.counting_cron_parse(text),
    user_activity.counting_cron_day(date, integer[], integer[], integer[], boolean),
    user_activity.counting_cron_interval(text),
    user_activity.counting_cron_next(text, timestamptz, text)
    TO user_activity_reader, user_activity_writer;
