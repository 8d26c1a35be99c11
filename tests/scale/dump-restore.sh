#!/bin/sh
# dump-restore.sh: pg_dump of a database with events in many partitions,
# restored into fresh databases with no error at all, custom format through
# pg_restore and plain format through psql -v ON_ERROR_STOP=1.  Then the
# restored database is compared with the original: every row of events, its
# partition and bounds, each partition's indexes, the event keys, the counts,
# the active users' rollup, the counting position, the retention and the id
# sequence.  Dedup still works on it (a restored event_id is a duplicate),
# and new events get new ids and are counted, and rolled up, once.
#
#   dump-restore.sh PORT   runs against a throw-away cluster on PORT
set -eu
cd "$(dirname "$0")/../.."
port=${1:?usage: dump-restore.sh PORT}
tmp=$UA_TEST_TMP/dump-restore
data=$tmp/data
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"

tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql="psql -X -q -v ON_ERROR_STOP=1"
bindir=$($PG_CONFIG --bindir)
failures=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; failures=$((failures + 1)); }

$psql -d postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst_custom" -c "CREATE DATABASE dst_plain"

# Installed as 1.1, with rows in its default partition, then updated (the
# update makes partitions for them).  Events through ingest (the current
# partition, made by ingest), direct INSERTs on forty past days (partitions
# made by ensure_partitions), a 6-hour partition among the daily ones,
# maintenance's partitions ahead, counts, a retention that keeps
# everything, a deleted event.
$psql -d src <<'SQL'
CREATE EXTENSION user_activity VERSION '1.1';
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
SELECT 5, 'viewed', t, t, ('cccccccc-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid
FROM generate_series('2024-02-28 00:00Z'::timestamptz, '2024-03-01 12:00Z', '7 hours') WITH ORDINALITY AS g(t, n);
ALTER EXTENSION user_activity UPDATE;
SELECT user_activity.record_events((
    SELECT jsonb_agg(jsonb_build_object('user_id', 1 + i % 7, 'event_action_timestamp', '2025-10-10T18:30:00Z',
                                        'action', 'created', 'event_id', gen_random_uuid()))
    FROM generate_series(1, 50) i));
SELECT user_activity.record_event('{"user_id": 3, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed"}');
SELECT user_activity.maintain_partitions();
SET user_activity.partition_interval = '6h';
SELECT user_activity.ensure_partition('2025-09-10 13:00Z');
RESET user_activity.partition_interval;
SELECT user_activity.ensure_partitions('2025-09-01 00:00Z', '2025-10-11 00:00Z');
INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, metadata, event_id)
SELECT 1 + h % 7, (ARRAY['created', 'updated', 'deleted', 'viewed'])[1 + h % 4]::user_activity.action, t, t,
       jsonb_build_object('h', h),
       CASE WHEN h % 3 = 0 THEN ('dddddddd-0000-4000-8000-' || lpad(h::text, 12, '0'))::uuid END
FROM generate_series('2025-09-01 00:00Z'::timestamptz, '2025-10-10 23:00Z', '1 hour') WITH ORDINALITY AS g(t, h);
SELECT user_activity.count_activity();
SELECT user_activity.set_retention('100 years');
SELECT user_activity.set_counts_retention('100 years');
DELETE FROM user_activity.events WHERE user_id = 2 AND recorded_at < '2025-09-02';
SQL

# What is compared: one line per fact, the same query on both sides.
cat >"$tmp/facts.sql" <<'SQL'
SELECT 'events ' || count(*) || ' ' || md5(string_agg(e::text || ' ' || e.tableoid::regclass::text, ',' ORDER BY e.id))
FROM user_activity.events e;
SELECT 'partitions ' || count(*) || ' ' || string_agg(partition::text || ' [' || partition_from || ', ' || partition_to || ')', ' ' ORDER BY partition_from)
FROM user_activity.event_partitions;
SELECT 'indexes ' || string_agg(n::text, ',' ORDER BY p) FROM (
    SELECT p.partition::text AS p, count(i.indexrelid) || ':' || count(*) FILTER (WHERE i.indisprimary) AS n
    FROM user_activity.event_partitions p LEFT JOIN pg_index i ON i.indrelid = p.partition GROUP BY 1) x;
SELECT 'parent indexes ' || count(*) FROM pg_index WHERE indrelid = 'user_activity.events'::regclass;
SELECT 'keys ' || count(*) || ' ' || md5(string_agg(k::text, ',' ORDER BY k.user_id, k.event_id))
FROM user_activity.event_keys k;
SELECT 'counts ' || count(*) || ' ' || md5(string_agg(c::text, ',' ORDER BY c.user_id, c.period_start))
FROM user_activity.user_event_counts c;
SELECT 'rollup ' || count(*) || ' ' || md5(string_agg(r::text, ',' ORDER BY r.user_id, r.day))
FROM user_activity.user_day_activity r;
SELECT 'daily active users ' || count(*) || ' ' || md5(string_agg(d::text, ',' ORDER BY d.day))
FROM user_activity.daily_active_users d;
SELECT 'counting ' || s.last_id || ' ' || s.last_period_end FROM user_activity.counting_state s;
SELECT 'retention ' || events_keep || ' ' || counts_keep FROM user_activity.retention;
SELECT 'sequence ' || pg_sequence_last_value('user_activity.events_id_seq');
SQL
$psql -d src -At -f "$tmp/facts.sql" >"$tmp/src.facts"
echo "-- the original"
sed 's/^\(.\{100\}\).*/\1.../' "$tmp/src.facts"

# a partition of every kind is there: the ingest's, those ahead, the past
# days and the 6-hour one
if [ "$($psql -d src -At -c "SELECT count(*) >= 48 AND count(DISTINCT partition_to - partition_from) = 3 AND count(*) FILTER (WHERE partition_to <= '2024-03-02') = 3 FROM user_activity.event_partitions")" = t ]; then
	ok "the original has events in many partitions, of three widths, three made by the update from 1.1"
else
	not_ok "the original lacks the partitions the test needs"
fi

"$bindir/pg_dump" -Fc -f "$tmp/src.dump" src
"$bindir/pg_dump" -Fp -f "$tmp/src.sql" src

if "$bindir/pg_restore" -d dst_custom "$tmp/src.dump" >"$tmp/custom.log" 2>&1 && [ ! -s "$tmp/custom.log" ]; then
	ok "pg_restore of the custom-format dump into a fresh database: no error, no warning"
else
	cat "$tmp/custom.log"
	not_ok "pg_restore of the custom-format dump reported errors"
fi
if $psql -d dst_plain -f "$tmp/src.sql" >"$tmp/plain.out" 2>"$tmp/plain.log" && [ ! -s "$tmp/plain.log" ]; then
	ok "psql -v ON_ERROR_STOP=1 of the plain dump into a fresh database: no error, no notice"
else
	cat "$tmp/plain.log"
	not_ok "the plain dump did not restore cleanly"
fi

for db in dst_custom dst_plain; do
	$psql -d $db -At -f "$tmp/facts.sql" >"$tmp/$db.facts"
	if cmp -s "$tmp/src.facts" "$tmp/$db.facts"; then
		ok "$db: the same rows in the same partitions, indexes, keys, counts, rollup, counting position, retention and sequence"
	else
		diff "$tmp/src.facts" "$tmp/$db.facts" || :
		not_ok "$db differs from the original"
	fi

	# dedup: every restored event_id is a duplicate, through ingest, and
	# a direct INSERT of one is refused
	got=$($psql -d $db -At -c "
	    SELECT count(*) FILTER (WHERE r->>'status' = 'duplicate') || '/' || count(*)
	    FROM (SELECT e.user_id, e.event_id FROM user_activity.events e WHERE e.event_id IS NOT NULL) e,
	         LATERAL user_activity.record_event(jsonb_build_object('user_id', e.user_id,
	             'event_action_timestamp', '2025-10-10T18:30:00Z', 'action', 'viewed', 'event_id', e.event_id)) r")
	want=$($psql -d src -At -c "SELECT count(*) || '/' || count(*) FROM user_activity.events WHERE event_id IS NOT NULL")
	if [ "$got" = "$want" ]; then
		ok "$db: re-sending each restored event_id is a duplicate ($got)"
	else
		not_ok "$db: duplicates among the re-sent event_ids: $got, want $want"
	fi
	if $psql -d $db -c "
	    INSERT INTO user_activity.events (user_id, action, event_action_timestamp, recorded_at, event_id)
	    SELECT user_id, action, event_action_timestamp, '2025-09-20 00:00Z', event_id
	    FROM user_activity.events WHERE event_id IS NOT NULL LIMIT 1" >"$tmp/$db.dup.log" 2>&1; then
		not_ok "$db: a direct INSERT of a restored event_id was stored"
	elif grep -q 'duplicate key value violates unique constraint "event_keys_pkey"' "$tmp/$db.dup.log"; then
		ok "$db: a direct INSERT of a restored event_id is a unique violation"
	else
		cat "$tmp/$db.dup.log"
		not_ok "$db: a direct INSERT of a restored event_id failed otherwise"
	fi

	# a new event: a new id above every restored one, counted once
	before=$($psql -d $db -At -c "SELECT sum(event_count) FROM user_activity.user_event_counts")
	users_before=$($psql -d $db -At -c "SELECT users FROM user_activity.active_users('2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z')")
	got=$($psql -d $db -At -c "
	    SELECT (r->>'status') || ' ' || ((r->>'id')::bigint > (SELECT max(id) FROM user_activity.events WHERE id <> (r->>'id')::bigint))
	    FROM user_activity.record_event('{\"user_id\": 9, \"event_action_timestamp\": \"2025-10-10T18:30:00Z\", \"action\": \"created\", \"event_id\": \"ffffffff-0000-4000-8000-000000000001\"}') r")
	counted=$($psql -d $db -At -c "SELECT (r->>'events') FROM user_activity.count_activity() r")
	after=$($psql -d $db -At -c "SELECT sum(event_count) FROM user_activity.user_event_counts")
	users_after=$($psql -d $db -At -c "SELECT users FROM user_activity.active_users('2025-10-10T00:00:00Z', '2025-10-11T00:00:00Z')")
	if [ "$got" = "stored true" ] && [ "$counted" = 1 ] && [ "$after" -eq $((before + 1)) ] &&
		[ "$users_after" -eq $((users_before + 1)) ]; then
		ok "$db: a new event gets a new id and is counted once; its user (new that day) joins the day's active users"
	else
		not_ok "$db: new event: $got, counted $counted, counts $before then $after, active users $users_before then $users_after"
	fi
done

[ "$failures" -eq 0 ]
