#!/bin/sh
# 15-event-jsonb.sh: the cost of building record_event()'s result, the
# event as jsonb, two ways: UaEventJsonb() as the extension builds it
# against the alternative in tests/bench/event-jsonb/bench_event_jsonb.c,
# BENCH_JSONB_EVENTS events each (default 200000) in BENCH_ROUNDS rounds
# that alternate which goes first; and what one record_event() call costs
# the backend in CPU (BENCH_JSONB_CALLS calls in one session, default
# 50000), to set the difference against.  Backend CPU time throughout, not
# the wall clock: on a loaded machine it moves far less.
set -eu
cd "$(dirname "$0")/../.."
. tests/bench/lib/ua-bench.sh

events=${BENCH_JSONB_EVENTS:-200000}
calls=${BENCH_JSONB_CALLS:-50000}
make -s -C tests/bench/event-jsonb PG_CONFIG="$PG_CONFIG" >/dev/null
make -s -C tests/bench/event-jsonb PG_CONFIG="$PG_CONFIG" install >/dev/null
bench_start event-jsonb
bench_psql -c "CREATE FUNCTION bench_event_jsonb(jsonb, int, bool) RETURNS float8 AS 'bench_event_jsonb' LANGUAGE C STRICT" \
	-c "CREATE FUNCTION bench_event_jsonb_same(jsonb) RETURNS bool AS 'bench_event_jsonb' LANGUAGE C STRICT" >/dev/null
meta='{"ip": "192.168.1.7", "device": "iPhone 14", "location": "Kyiv, Ukraine"}'

# the extension's own and the alternative must give the same bytes
same=$(bench_psql -At -c "SELECT bench_event_jsonb_same('$meta')")
[ "$same" = t ] || { echo "the two ways build different jsonb"; exit 1; }

ext_all= alt_all= ratios=
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	if [ $((round % 2)) = 1 ]; then
		e=$(bench_psql -At -c "SELECT round(bench_event_jsonb('$meta', $events, false)::numeric, 1)")
		a=$(bench_psql -At -c "SELECT round(bench_event_jsonb('$meta', $events, true)::numeric, 1)")
	else
		a=$(bench_psql -At -c "SELECT round(bench_event_jsonb('$meta', $events, true)::numeric, 1)")
		e=$(bench_psql -At -c "SELECT round(bench_event_jsonb('$meta', $events, false)::numeric, 1)")
	fi
	echo "round $round: extension $e ns, alternative $a ns per event, ratio $(ratio "$a" "$e")"
	ext_all="$ext_all $e" alt_all="$alt_all $a" ratios="$ratios $(ratio "$a" "$e")"
	round=$((round + 1))
done

# one record_event() call's backend CPU, in one session, nothing committed
rec_all=
round=1
while [ "$round" -le "$BENCH_ROUNDS" ]; do
	r=$(bench_psql -At <<SQL 2>&1 | sed -n 's/.*NOTICE:  \([0-9.]*\)$/\1/p'
CREATE FUNCTION pg_temp.cpu_ticks() RETURNS bigint LANGUAGE sql AS
\$\$ SELECT f[12]::bigint + f[13]::bigint
   FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s \$\$;
BEGIN;
DO \$\$
DECLARE t0 bigint := pg_temp.cpu_ticks(); r jsonb;
BEGIN
  FOR i IN 1..$calls LOOP
    r := user_activity.record_event(('{"user_id": ' || (1 + i % 10000) || ', "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": $meta}')::jsonb);
  END LOOP;
  RAISE NOTICE '%', round((pg_temp.cpu_ticks() - t0) * 1e6 / $(getconf CLK_TCK) / $calls, 2);
END \$\$;
ROLLBACK;
SQL
)
	echo "round $round: record_event $r us of backend CPU per call"
	rec_all="$rec_all $r"
	round=$((round + 1))
done

e=$(median $ext_all) a=$(median $alt_all) rec=$(median $rec_all)
printf '%-52s %10s %10s %8s\n' "event jsonb (medians of $BENCH_ROUNDS alternating rounds)" "extension" "altern." "ratio"
printf '%-52s %10s %10s %8s\n' "building one event's jsonb (ns of CPU)" "$e" "$a" "$(median $ratios)"
printf '%-52s %10s\n' "record_event, one call in a session (us of CPU)" "$rec"
awk -v e="$e" -v a="$a" -v r="$rec" 'BEGIN { printf "(the alternative would change a record_event call by %+.1f %%; ratio: alternative over extension)\n", (a - e) / 10 / r }'
