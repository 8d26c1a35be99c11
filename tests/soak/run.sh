#!/bin/sh
# tests/soak/run.sh: "make soak".  wrk with SOAK_CONNECTIONS connections
# (default 256) for SOAK_SECONDS (default 60) on ingest (POST /api/event,
# a new event_id per request), then as long on search (GET /api/events),
# against the standalone shim and a durable throw-away cluster.  Passes
# when no reply is a 5xx and no socket error occurs, the shim is alive,
# its resident memory (sampled every second) stayed under SOAK_RSS_MB
# (default 256), and the database holds exactly the acknowledged events.
#
#   SOAK_TMP        scratch directory (default /tmp/user_activity_soak)
#   SOAK_PGPORT     PostgreSQL port (default 55380)
#   SOAK_HTTP_PORT  the shim's port (default 18380)
#   SOAK_THREADS    wrk threads (default 2) and HTTP_THREADS of the shim
#                   (default 8) come from the environment as usual
set -eu
cd "$(dirname "$0")/../.."
tmp=${SOAK_TMP:-/tmp/user_activity_soak}
pgport=${SOAK_PGPORT:-55380}
port=${SOAK_HTTP_PORT:-18380}
conns=${SOAK_CONNECTIONS:-256}
secs=${SOAK_SECONDS:-60}
rss_limit=${SOAK_RSS_MB:-256}
rm -rf "$tmp"
mkdir -p "$tmp"
chmod 755 "$tmp"

PG_CONFIG=$(tests/lib/pgtree.sh "$tmp/pg")
export PG_CONFIG
export PATH="$($PG_CONFIG --bindir):$PATH"
make -s PG_CONFIG="$PG_CONFIG" >"$tmp/build.log" 2>&1 &&
	make -s PG_CONFIG="$PG_CONFIG" install >>"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log"; exit 1; }
PG_DURABLE=1 CRON_DB=soak PG_EXTRA_CONF="max_connections = 300" \
	tests/lib/cluster.sh start "$tmp/data" "$pgport"
shim_pid=
sampler_pid=
cleanup() {
	for p in $sampler_pid $shim_pid; do kill "$p" 2>/dev/null || true; done
	tests/lib/cluster.sh stop "$tmp/data" || true
}
trap cleanup EXIT
psql="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $pgport -U postgres"
$psql -d postgres -c "CREATE DATABASE soak"
$psql -d soak -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"

DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=soak" \
HTTP_ALLOW_UNAUTHENTICATED=on HTTP_PORT=$port HTTP_LISTEN_ADDRESS=127.0.0.1 LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/shim.log" 2>&1 &
shim_pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || { cat "$tmp/shim.log"; exit 1; }
	sleep 0.2
done

# resident memory of the shim, once a second, in kB
(while kill -0 "$shim_pid" 2>/dev/null; do
	sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$shim_pid/status"
	sleep 1
done) >"$tmp/rss.txt" 2>/dev/null &
sampler_pid=$!

status=0
run_wrk() {
	name=$1
	shift
	echo "-- $name: wrk -t${SOAK_THREADS:-2} -c$conns -d${secs}s"
	SOAK_NONCE=$(date +%s) SOAK_ACKS=$tmp/acks wrk -t"${SOAK_THREADS:-2}" -c"$conns" -d"${secs}s" --timeout 10s \
		"$@" "http://127.0.0.1:$port" >"$tmp/$name.txt" 2>&1 || status=1
	grep -E 'Requests/sec|Socket errors|Non-2xx|^status|^p50|^p99|requests in' "$tmp/$name.txt"
	if grep -q 'Socket errors' "$tmp/$name.txt"; then
		echo "$name: socket errors" >&2
		status=1
	fi
	if grep -Eq '^status 5[0-9][0-9] ' "$tmp/$name.txt"; then
		echo "$name: 5xx replies" >&2
		status=1
	fi
}
run_wrk ingest -s tests/soak/ingest.lua
rss_ingest=$(tail -n 1 "$tmp/rss.txt")
run_wrk search -s tests/soak/search.lua

if ! kill -0 "$shim_pid" 2>/dev/null; then
	echo "the shim died" >&2
	status=1
fi
# Every acknowledged event is stored once.  The requests still in flight
# when wrk stopped (at most one per connection) may be stored unacknowledged.
cat "$tmp"/acks.* >"$tmp/acks.txt"
acked=$(wc -l <"$tmp/acks.txt")
other=$(grep -E '^status ' "$tmp/ingest.txt" | grep -vc '^status 201 ' || true)
set -- $($psql -d soak -At -F ' ' \
	-c "CREATE TEMP TABLE acks (event_id uuid)" \
	-c "\\copy acks FROM '$tmp/acks.txt'" \
	-c "SELECT (SELECT count(*) FROM user_activity.events),
	           (SELECT count(*) FROM acks a WHERE NOT EXISTS
	               (SELECT 1 FROM user_activity.events e WHERE e.event_id = a.event_id)),
	           (SELECT count(*) FROM (SELECT 1 FROM user_activity.events
	               GROUP BY user_id, event_id HAVING count(*) > 1) d)")
stored=$1 missing=$2 dups=$3
echo "acknowledged (201): $acked; other statuses on ingest: $other; stored: $stored (unacknowledged, in flight at the stop: $((stored - acked))); acknowledged but missing: $missing; stored twice: $dups"
if [ "$missing" != 0 ] || [ "$other" != 0 ] || [ "$dups" != 0 ] ||
	[ $((stored - acked)) -gt "$conns" ] || [ "$stored" -lt "$acked" ]; then
	echo "the database does not hold exactly the acknowledged events" >&2
	status=1
fi
peak=$(sort -n "$tmp/rss.txt" | tail -n 1)
first=$(head -n 1 "$tmp/rss.txt")
echo "shim RSS: start $((first / 1024)) MB, after ingest $((${rss_ingest:-0} / 1024)) MB, peak $((peak / 1024)) MB (limit $rss_limit MB, $(wc -l <"$tmp/rss.txt") samples)"
if [ "$peak" -gt $((rss_limit * 1024)) ]; then
	echo "shim RSS over $rss_limit MB" >&2
	status=1
fi
[ $status -eq 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $status
