--
-- Upgrade: 1.0 (unpartitioned events) to 1.1 (partitioned by recorded_at)
-- to 1.2 (no default partition; indexes of the partitions' own) keeps every
-- row, id, count and key.
--
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS user_activity CASCADE;
CREATE EXTENSION user_activity VERSION '1.0';
RESET client_min_messages;
SET timezone = 'UTC';

SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT relkind FROM pg_class WHERE oid = 'user_activity.events'::regclass;

-- events through every path of 1.0, over several days
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "eeeeeeee-0000-4000-8000-000000000001", "metadata": {"a": 1}}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(2, 'viewed', '2025-10-10 18:30Z', '{"b": 2}', 'eeeeeeee-0000-4000-8000-000000000002') r;
SELECT r->'stored' AS stored FROM user_activity.record_events($$[
  {"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "updated", "event_id": "eeeeeeee-0000-4000-8000-000000000003"},
  {"user_id": 3, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "deleted"}
]$$) r;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata, event_id)
SELECT 1 + i % 5, (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + i % 4]::user_activity.action,
       '2025-09-01 00:00Z'::timestamptz + i * interval '1 hour',
       '2025-09-01 00:00Z'::timestamptz + i * interval '1 hour',
       jsonb_build_object('i', i),
       CASE WHEN i % 3 = 0 THEN ('eeeeeeee-0000-4000-9000-' || lpad(i::text, 12, '0'))::uuid END
FROM generate_series(1, 500) i;
SELECT r->>'status' AS status, r->>'events' AS events FROM user_activity.count_activity() r;
-- more events after the count, not counted yet
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at)
VALUES (4, 'viewed', '2025-10-01 00:00Z', '2025-10-01 00:00Z');
GRANT SELECT ON user_activity.events TO PUBLIC;

-- what must survive
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM user_activity.events) AS events,
       (SELECT sum(id) FROM user_activity.events) AS id_sum,
       (SELECT max(id) FROM user_activity.events) AS max_id,
       (SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM user_activity.events e) AS digest,
       (SELECT count(event_id) FROM user_activity.events) AS event_ids,
       (SELECT sum(event_count) FROM user_activity.user_event_counts) AS counted,
       (SELECT count(*) FROM user_activity.user_event_counts) AS periods,
       (SELECT last_id FROM user_activity.counting_state) AS counted_up_to,
       pg_sequence_last_value('user_activity.events_id_seq') AS seq;
SELECT events, event_ids, counted, periods, counted_up_to, seq FROM before;

ALTER EXTENSION user_activity UPDATE TO '1.1';

SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT relkind, pg_get_partkeydef(oid) AS partition_key FROM pg_class WHERE oid = 'user_activity.events'::regclass;
-- no row lost or changed; ids, counts and the counting position kept
SELECT a.events = b.events AS events, a.id_sum = b.id_sum AS ids, a.max_id = b.max_id AS max_id,
       a.digest = b.digest AS same_rows, a.event_ids = b.event_ids AS event_ids,
       a.counted = b.counted AS counted, a.periods = b.periods AS periods,
       a.counted_up_to = b.counted_up_to AS position, a.seq = b.seq AS sequence
FROM before b,
     (SELECT (SELECT count(*) FROM user_activity.events) AS events,
             (SELECT sum(id) FROM user_activity.events) AS id_sum,
             (SELECT max(id) FROM user_activity.events) AS max_id,
             (SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM user_activity.events e) AS digest,
             (SELECT count(event_id) FROM user_activity.events) AS event_ids,
             (SELECT sum(event_count) FROM user_activity.user_event_counts) AS counted,
             (SELECT count(*) FROM user_activity.user_event_counts) AS periods,
             (SELECT last_id FROM user_activity.counting_state) AS counted_up_to,
             pg_sequence_last_value('user_activity.events_id_seq') AS seq) a;
-- every row sits in a partition of its day, none in the default
SELECT count(*) AS in_default FROM user_activity.events_default;
SELECT count(*) AS misplaced FROM user_activity.events e
JOIN user_activity.event_partitions p ON p.partition = e.tableoid
WHERE NOT (e.recorded_at >= p.partition_from AND e.recorded_at < p.partition_to
           AND p.partition_to - p.partition_from = interval '1 day');
-- the key of every event_id, and dedup still refuses an old one
SELECT count(*) AS keys FROM user_activity.event_keys;
SELECT r->>'status' AS status, r->>'id' AS id FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "eeeeeeee-0000-4000-8000-000000000001"}') r;
SELECT r->>'status' AS status, (r->>'recorded_at')::timestamptz AS recorded_at FROM user_activity.record_event(
    '{"user_id": 4, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "eeeeeeee-0000-4000-9000-000000000003"}') r;
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, event_id)
VALUES (1, 'created', '2025-10-10 18:30Z', 'eeeeeeee-0000-4000-8000-000000000003');
-- the sequence, its ownership and CACHE 1 (counting relies on it)
SELECT s.seqcache, d.refobjid::regclass AS owned_by
FROM pg_sequence s JOIN pg_depend d ON d.objid = s.seqrelid AND d.deptype = 'a'
WHERE s.seqrelid = 'user_activity.events_id_seq'::regclass;
-- privileges, the function on the row type, comments
SELECT grantee, privilege_type FROM information_schema.role_table_grants
WHERE table_schema = 'user_activity' AND table_name = 'events' AND grantee <> 'postgres' ORDER BY 1, 2;
SELECT has_function_privilege('user_activity_reader',
    'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)', 'EXECUTE') AS reader_finds,
       has_function_privilege('public',
    'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)', 'EXECUTE') AS public_finds;
SELECT count(*) AS found FROM user_activity.find_events(1, '2025-09-01', '2025-10-01');
SELECT obj_description('user_activity.events'::regclass, 'pg_class') IS NOT NULL AS commented,
       col_description('user_activity.events'::regclass, 2) AS user_id_comment;
-- pg_dump's list: the new tables, not the dropped one
SELECT extconfig::regclass[] @> ARRAY['user_activity.events'::regclass, 'user_activity.events_default'::regclass] AS dumped,
       array_position(extconfig, 0::oid) IS NULL AND NOT EXISTS (
           SELECT FROM unnest(extconfig) o WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = o)) AS no_stale
FROM pg_extension WHERE extname = 'user_activity';
-- counting goes on from where it stood: only the event added after it
SELECT r->>'status' AS status, r->>'events' AS events FROM user_activity.count_activity() r;
SELECT (SELECT count(*) FROM user_activity.events) = (SELECT sum(event_count) FROM user_activity.user_event_counts) AS all_counted_once;
-- search on the migrated rows
SELECT count(*), min(recorded_at), max(recorded_at)
FROM user_activity.find_events(2, '2025-09-05', '2025-09-07');

--
-- 1.1 to 1.2: the rows of the default partition move to partitions of
-- their own, and it goes
--
-- direct INSERTs that no partition held, on three days, with keys
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
SELECT 7, 'viewed', t, t, CASE WHEN n % 2 = 0 THEN ('eeeeeeee-0000-4000-a000-' || lpad(n::text, 12, '0'))::uuid END
FROM generate_series('2019-06-01 00:00Z'::timestamptz, '2019-06-03 23:00Z', '5 hours') WITH ORDINALITY AS g(t, n);
SELECT count(*) AS in_default FROM user_activity.events_default;
-- a partition made with another interval, between rows of the default
SET user_activity.partition_interval = '6h';
SELECT * FROM user_activity.ensure_partition('2019-06-02 07:00Z');
RESET user_activity.partition_interval;
SELECT count(*) AS in_default FROM user_activity.events_default;
SELECT r->>'status' AS status, r->>'events' AS events FROM user_activity.count_activity() r;
CREATE TEMP TABLE before_1_2 AS
SELECT (SELECT count(*) FROM user_activity.events) AS events,
       (SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM user_activity.events e) AS digest,
       (SELECT count(*) FROM user_activity.event_keys) AS keys,
       (SELECT md5(string_agg(k::text, ',' ORDER BY k.user_id, k.event_id)) FROM user_activity.event_keys k) AS keys_digest,
       (SELECT sum(event_count) FROM user_activity.user_event_counts) AS counted,
       (SELECT last_id FROM user_activity.counting_state) AS counted_up_to,
       pg_sequence_last_value('user_activity.events_id_seq') AS seq,
       (SELECT count(*) FROM user_activity.event_partitions) AS partitions;
SELECT events, keys, counted, partitions FROM before_1_2;

ALTER EXTENSION user_activity UPDATE TO '1.2';

SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT to_regclass('user_activity.events_default') AS default_partition,
       (SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'user_activity.events'::regclass
          AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') AS default_partitions;
-- no row, key, count or id lost or changed
SELECT a.events = b.events AS events, a.digest = b.digest AS same_rows, a.keys = b.keys AS keys,
       a.keys_digest = b.keys_digest AS same_keys, a.counted = b.counted AS counted,
       a.counted_up_to = b.counted_up_to AS position, a.seq = b.seq AS sequence
FROM before_1_2 b,
     (SELECT (SELECT count(*) FROM user_activity.events) AS events,
             (SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM user_activity.events e) AS digest,
             (SELECT count(*) FROM user_activity.event_keys) AS keys,
             (SELECT md5(string_agg(k::text, ',' ORDER BY k.user_id, k.event_id)) FROM user_activity.event_keys k) AS keys_digest,
             (SELECT sum(event_count) FROM user_activity.user_event_counts) AS counted,
             (SELECT last_id FROM user_activity.counting_state) AS counted_up_to,
             pg_sequence_last_value('user_activity.events_id_seq') AS seq) a;
-- the former default rows are in partitions of their range (the 6-hour one
-- kept, the gaps around it filled)
SELECT p.partition, p.partition_from, p.partition_to, count(*) AS events
FROM user_activity.events e JOIN user_activity.event_partitions p ON p.partition = e.tableoid
WHERE e.user_id = 7 AND e.recorded_at < '2020-01-01'
GROUP BY 1, 2, 3 ORDER BY 2;
SELECT count(*) AS misplaced FROM user_activity.events e
JOIN user_activity.event_partitions p ON p.partition = e.tableoid
WHERE NOT (e.recorded_at >= p.partition_from AND e.recorded_at < p.partition_to);
-- the partitions made by 1.1 when they were used stay, even empty ones
SELECT count(*) - (SELECT partitions FROM before_1_2) AS partitions_added FROM user_activity.event_partitions;
-- the table has no index of its own; every partition has the template's
SELECT count(*) AS indexes_of_events FROM pg_index WHERE indrelid = 'user_activity.events'::regclass;
SELECT count(DISTINCT p.partition) AS partitions, count(*) / count(DISTINCT p.partition) AS indexes_each,
       count(*) FILTER (WHERE i.indisprimary) AS primary_keys,
       count(h.inhparent) AS attached_to_a_parent_index
FROM user_activity.event_partitions p JOIN pg_index i ON i.indrelid = p.partition
LEFT JOIN pg_inherits h ON h.inhrelid = i.indexrelid;
SELECT pg_get_indexdef(indexrelid) AS template_index FROM pg_index
WHERE indrelid = 'user_activity.events_template'::regclass ORDER BY 1;
-- pg_dump's list: no stale entry; every partition, those made by the
-- upgrade too, is data that pg_dump dumps, not a member of the extension
SELECT NOT EXISTS (SELECT FROM unnest(extconfig) o WHERE NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = o)) AS no_stale
FROM pg_extension WHERE extname = 'user_activity';
SELECT count(*) AS member_partitions FROM user_activity.event_partitions p
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = p.partition AND d.deptype = 'e';
-- dedup on a key of a former default row and of a 1.0 row
SELECT r->>'status' AS status, r->>'recorded_at' AS recorded_at FROM user_activity.record_event(
    '{"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "eeeeeeee-0000-4000-a000-000000000004"}') r;
SELECT r->>'status' AS status FROM user_activity.record_event(
    '{"user_id": 1, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "created", "event_id": "eeeeeeee-0000-4000-8000-000000000001"}') r;
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates FROM user_activity.record_events($$[
  {"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "eeeeeeee-0000-4000-a000-000000000002"},
  {"user_id": 7, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "event_id": "eeeeeeee-0000-4000-a000-000000000099"}
]$$) r;
-- a direct INSERT that no partition holds is refused; nothing is stored
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at)
VALUES (7, 'viewed', '2018-01-01 00:00Z', '2018-01-01 00:00Z');
SELECT count(*) AS stored FROM user_activity.events WHERE recorded_at < '2019-01-01';
-- counting goes on: only the event stored since
SELECT r->>'status' AS status, r->>'events' AS events FROM user_activity.count_activity() r;
SELECT (SELECT count(*) FROM user_activity.events) = (SELECT sum(event_count) FROM user_activity.user_event_counts) AS all_counted_once;

--
-- 1.2 to 1.3: find_events becomes C, with the same signature, attributes,
-- privileges, comment and rows
--
CREATE TEMP TABLE find_1_2 AS
SELECT pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
       p.provolatile, p.proparallel, p.prosecdef, p.proconfig, p.proacl, p.prorows,
       obj_description(p.oid, 'pg_proc') AS descr
FROM pg_proc p
WHERE p.oid = 'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)'::regprocedure;
CREATE TEMP TABLE found_1_2 AS
SELECT c.call, f.*
FROM (VALUES (1, 7, '2019-06-01 00:00Z'::timestamptz, '2026-01-01 00:00Z'::timestamptz, NULL::int, NULL::user_activity.action[], NULL::timestamptz, NULL::timestamptz),
             (2, 7, '2019-06-01 00:00Z', '2026-01-01 00:00Z', 4, NULL, NULL, NULL),
             (3, 7, '2019-06-02 05:00Z', '2019-06-03 12:00Z', 2, NULL, NULL, NULL),
             (4, 1, '2025-09-01 00:00Z', '2025-12-01 00:00Z', 30, '{created,viewed}', '2025-09-05 00:00Z', '2025-09-20 00:00Z'),
             (5, 2, '2025-09-01 00:00Z', '2025-12-01 00:00Z', 7, '{}', NULL, NULL)) c(call, uid, since, until, page_size, acts, asince, auntil),
     user_activity.find_events(c.uid, c.since, c.until, c.page_size, NULL, c.acts, c.asince, c.auntil) WITH ORDINALITY f;
-- and after a cursor: the last row of the second call
INSERT INTO found_1_2
SELECT 6, f.*
FROM (SELECT user_activity.event_cursor(x.user_id, x.recorded_at, x.id) AS cur
      FROM found_1_2 x WHERE x.call = 2 ORDER BY x.ordinality DESC LIMIT 1) c,
     user_activity.find_events(7, '2019-06-01 00:00Z', '2026-01-01 00:00Z', 5, c.cur) WITH ORDINALITY f;
SELECT call, count(*) AS rows FROM found_1_2 GROUP BY 1 ORDER BY 1;
SELECT l.lanname AS language_1_2 FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.oid = 'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)'::regprocedure;

ALTER EXTENSION user_activity UPDATE TO '1.3';

SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT l.lanname AS language, p.prosrc, a.args = b.args AS same_arguments, a.result = b.result AS same_result,
       a.provolatile = b.provolatile AND a.proparallel = b.proparallel AND a.prosecdef = b.prosecdef
       AND a.proconfig = b.proconfig AND a.prorows = b.prorows AS same_attributes,
       a.proacl = b.proacl AS same_privileges, a.descr = b.descr AS same_comment
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang,
     LATERAL (SELECT pg_get_function_arguments(p.oid) AS args, pg_get_function_result(p.oid) AS result,
                     p.provolatile, p.proparallel, p.prosecdef, p.proconfig, p.proacl, p.prorows,
                     obj_description(p.oid, 'pg_proc') AS descr) a,
     find_1_2 b
WHERE p.oid = 'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)'::regprocedure;
-- the same rows in the same order, call by call
CREATE TEMP TABLE found_1_3 AS
SELECT c.call, f.*
FROM (VALUES (1, 7, '2019-06-01 00:00Z'::timestamptz, '2026-01-01 00:00Z'::timestamptz, NULL::int, NULL::user_activity.action[], NULL::timestamptz, NULL::timestamptz),
             (2, 7, '2019-06-01 00:00Z', '2026-01-01 00:00Z', 4, NULL, NULL, NULL),
             (3, 7, '2019-06-02 05:00Z', '2019-06-03 12:00Z', 2, NULL, NULL, NULL),
             (4, 1, '2025-09-01 00:00Z', '2025-12-01 00:00Z', 30, '{created,viewed}', '2025-09-05 00:00Z', '2025-09-20 00:00Z'),
             (5, 2, '2025-09-01 00:00Z', '2025-12-01 00:00Z', 7, '{}', NULL, NULL)) c(call, uid, since, until, page_size, acts, asince, auntil),
     user_activity.find_events(c.uid, c.since, c.until, c.page_size, NULL, c.acts, c.asince, c.auntil) WITH ORDINALITY f;
-- and after a cursor: the last row of the second call
INSERT INTO found_1_3
SELECT 6, f.*
FROM (SELECT user_activity.event_cursor(x.user_id, x.recorded_at, x.id) AS cur
      FROM found_1_3 x WHERE x.call = 2 ORDER BY x.ordinality DESC LIMIT 1) c,
     user_activity.find_events(7, '2019-06-01 00:00Z', '2026-01-01 00:00Z', 5, c.cur) WITH ORDINALITY f;
SELECT a.call, count(*) AS rows,
       array_agg(ROW(a.id, a.user_id, a.action, a.event_action_timestamp, a.recorded_at, a.metadata, a.event_id)::text ORDER BY a.ordinality) =
       (SELECT array_agg(ROW(b.id, b.user_id, b.action, b.event_action_timestamp, b.recorded_at, b.metadata, b.event_id)::text ORDER BY b.ordinality)
        FROM found_1_2 b WHERE b.call = a.call) AS same
FROM found_1_3 a GROUP BY 1 ORDER BY 1;
-- the reader still may call it, the public still may not
SELECT has_function_privilege('user_activity_reader',
    'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)', 'EXECUTE') AS reader_finds,
       has_function_privilege('public',
    'user_activity.find_events(bigint, timestamptz, timestamptz, integer, text, user_activity.action[], timestamptz, timestamptz)', 'EXECUTE') AS public_finds;

--
-- 1.3 to 1.4: ingest claims event keys itself, deleted events release
-- theirs row by row; every key, privilege and comment stays
--
CREATE TEMP TABLE keys_1_3 AS SELECT * FROM user_activity.event_keys;
CREATE TEMP TABLE ingest_1_3 AS
SELECT p.oid::regprocedure::text AS sig, p.proacl, obj_description(p.oid, 'pg_proc') AS descr
FROM pg_proc p WHERE p.proname IN ('record_event', 'record_events', 'delete_user_events')
  AND p.pronamespace = 'user_activity'::regnamespace;

ALTER EXTENSION user_activity UPDATE TO '1.4';

SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT tgname, pg_get_triggerdef(oid) LIKE '%FOR EACH ROW%' AS per_row
FROM pg_trigger WHERE tgrelid = 'user_activity.events'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT (SELECT count(*) FROM keys_1_3) AS keys,
       NOT EXISTS (SELECT * FROM keys_1_3 EXCEPT SELECT * FROM user_activity.event_keys)
       AND NOT EXISTS (SELECT * FROM user_activity.event_keys EXCEPT SELECT * FROM keys_1_3) AS same_keys;
SELECT b.sig, CASE WHEN l.lanname = 'c' THEN p.prosrc ELSE l.lanname END AS source,
       p.proacl = b.proacl AS same_privileges, obj_description(p.oid, 'pg_proc') = b.descr AS same_comment
FROM ingest_1_3 b JOIN pg_proc p ON p.oid = b.sig::regprocedure JOIN pg_language l ON l.oid = p.prolang
ORDER BY 1;
-- a key stored before the update is a duplicate of its event
SELECT r->>'status' AS status, (r->>'id')::bigint = k.id AS same_id
FROM (SELECT * FROM user_activity.event_keys ORDER BY user_id, event_id LIMIT 1) k,
     user_activity.record_event(k.user_id, 'viewed', '2025-10-10 00:00Z', '{}', k.event_id) r;
SELECT r->'stored' AS stored, r->'duplicates' AS duplicates
FROM (SELECT jsonb_agg(jsonb_build_object('user_id', k.user_id, 'action', 'viewed',
                                          'event_action_timestamp', '2025-10-10T00:00:00Z',
                                          'event_id', k.event_id)) AS b
      FROM (SELECT * FROM user_activity.event_keys ORDER BY user_id, event_id LIMIT 3) k) x,
     user_activity.record_events(x.b) r;

-- a fresh install is the same as the upgrade, with no partition yet
SET client_min_messages = warning;
DROP EXTENSION user_activity CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_activity;
SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT relkind FROM pg_class WHERE oid = 'user_activity.events'::regclass;
SELECT count(*) AS partitions, to_regclass('user_activity.events_default') AS default_partition
FROM pg_inherits WHERE inhparent = 'user_activity.events'::regclass;
SELECT count(*) AS indexes_of_events FROM pg_index WHERE indrelid = 'user_activity.events'::regclass;
SELECT count(*) AS template_indexes FROM pg_index WHERE indrelid = 'user_activity.events_template'::regclass;

-- 1.0 with rows straight to 1.3: the rows' partitions stay, the ones made
-- for now and ahead go with the install's empty ones
SET client_min_messages = warning;
DROP EXTENSION user_activity CASCADE;
RESET client_min_messages;
CREATE EXTENSION user_activity VERSION '1.0';
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
SELECT 1, 'viewed', t, t, ('eeeeeeee-0000-4000-b000-' || lpad(n::text, 12, '0'))::uuid
FROM generate_series('2025-09-01 00:00Z'::timestamptz, '2025-09-03 23:00Z', '12 hours') WITH ORDINALITY AS g(t, n);
CREATE TEMP TABLE before_1_0 AS
SELECT (SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM user_activity.events e) AS digest;
ALTER EXTENSION user_activity UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'user_activity';
SELECT (SELECT md5(string_agg(e::text, ',' ORDER BY e.id)) FROM user_activity.events e) = b.digest AS same_rows,
       (SELECT count(*) FROM user_activity.event_keys) AS keys
FROM before_1_0 b;
SELECT partition, partition_from, partition_to FROM user_activity.event_partitions ORDER BY 2;
