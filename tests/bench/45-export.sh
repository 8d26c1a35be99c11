#!/bin/sh
# 45-export.sh: the streamed export against PostgreSQL's own fastest way
# out.  One user's BENCH_EXPORT_ROWS events (default BENCH_EVENTS, else
# 1 000 000), read whole, round after round in the same run:
#
#   copy    COPY (SELECT ... the same rows, in the same order ...) TO STDOUT
#           through psql, to /dev/null;
#   export  GET /api/events with Accept: application/x-ndjson from the
#           standalone shim, through curl, to /dev/null.
#
# Printed: rows/s of each (median of the rounds), the ratio export/copy
# round by round and its median, and the shim's peak resident memory
# (VmHWM) before and after the exports: flat memory means the peak does
# not grow with the rows.
#
#   EXPORT_BENCH_PGPORT  PostgreSQL port (default 55439)
#   EXPORT_BENCH_PORT    shim port (default 18439)
#   BENCH_ROUNDS         rounds (default 3)
set -eu
cd "$(dirname "$0")/../.."

port=${EXPORT_BENCH_PGPORT:-55439}
http=${EXPORT_BENCH_PORT:-18439}
rows=${BENCH_EXPORT_ROWS:-${BENCH_EVENTS:-1000000}}
rounds=${BENCH_ROUNDS:-3}
tmp=${UA_BENCH_TMP:-/tmp/user_activity_bench}/export
data=$tmp/data
mkdir -p "$tmp"
chmod 755 "$tmp"
rm -rf "$data"

PG_EXTRA_CONF="shared_buffers = '512MB'" tests/lib/cluster.sh start "$data" "$port"
shim_pid=
cleanup() {
	[ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null
	tests/lib/cluster.sh stop "$data"
}
trap cleanup EXIT

psql="env PGOPTIONS=-cclient_min_messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port -U postgres"
$psql -d postgres -c "CREATE DATABASE export_bench"
psql="$psql -d export_bench"
$psql -c "CREATE EXTENSION user_activity"
$psql -c "SELECT user_activity.maintain_partitions()" >/dev/null
$psql -c "INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata)
          SELECT 1, 'viewed', '2025-10-10T18:30:00Z', jsonb_build_object('n', g, 'ip', '192.168.1.10', 'device', 'iPhone 14')
          FROM generate_series(1, $rows) AS g" -c "VACUUM ANALYZE user_activity.events"

DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=export_bench" HTTP_PORT=$http \
HTTP_ALLOW_UNAUTHENTICATED=on HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=4 LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/shim.log" 2>&1 &
shim_pid=$!
i=0
until curl -sf "http://127.0.0.1:$http/readyz" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "shim not ready" >&2; cat "$tmp/shim.log" >&2; exit 1; }
	sleep 0.2
done

from=2000-01-01T00:00:00Z
to=2100-01-01T00:00:00Z
copy="COPY (SELECT e.id, e.user_id, e.event_action_timestamp, e.action, e.metadata, e.event_id, e.recorded_at
       FROM user_activity.events e
       WHERE e.user_id = 1 AND e.recorded_at >= '$from' AND e.recorded_at < '$to'
       ORDER BY e.recorded_at, e.id) TO STDOUT"

# seconds of a command's run
timed() {
	t0=$(date +%s.%N)
	"$@"
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
}
run_copy() {
	$psql -c "$copy" >/dev/null
}
run_export() {
	curl -sf -H 'Accept: application/x-ndjson' \
		"http://127.0.0.1:$http/api/events?user_id=1&from=$from&to=$to" -o "$tmp/out.ndjson"
}
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
hwm() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$shim_pid/status"
}

run_export
lines=$(wc -l <"$tmp/out.ndjson")
[ "$lines" -eq "$rows" ] || { echo "the export gave $lines lines for $rows rows" >&2; exit 1; }
hwm_before=$(hwm)
echo "rows: $rows; rounds: $rounds; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$tmp/copy.s"
: >"$tmp/export.s"
: >"$tmp/ratio"
for r in $(seq 1 "$rounds"); do
	c=$(timed run_copy)
	e=$(timed run_export)
	echo "$c" >>"$tmp/copy.s"
	echo "$e" >>"$tmp/export.s"
	echo "$c $e" | awk '{ printf "%.2f\n", $1 / $2 }' >>"$tmp/ratio"
done
cs=$(median <"$tmp/copy.s")
es=$(median <"$tmp/export.s")
printf '%-44s %12s\n' "run" "rows/s"
printf '%-44s %12.0f\n' "COPY (SELECT ...) TO STDOUT (psql)" "$(echo "$rows $cs" | awk '{ print $1 / $2 }')"
printf '%-44s %12.0f\n' "GET /api/events, NDJSON export (curl)" "$(echo "$rows $es" | awk '{ print $1 / $2 }')"
printf 'export / COPY: %sx (median; rounds: %s)\n' "$(median <"$tmp/ratio")" "$(tr '\n' ' ' <"$tmp/ratio")"
printf 'shim peak RSS (VmHWM): %s MiB after the first export, %s MiB after %s more\n' \
	"$hwm_before" "$(hwm)" "$rounds"
