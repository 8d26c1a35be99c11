#!/bin/sh
# 40-http.sh: what the HTTP shim costs on top of calling the extension
# directly.  In the same run, at 1, 16 and 64 clients:
#
#   wrk   POST /api/event (one event per request), GET /api/events (a page
#         of 100 events of one user) and GET /healthz (no database: the
#         HTTP ceiling), against the standalone shim and the in-database
#         worker; and POST once more against a second standalone shim with
#         group commit off, to show what grouping gives;
#   pgbench  the same calls made directly: SELECT record_event($json) and
#         SELECT body FROM search_events($params), prepared.
#
# Printed: requests/s and p99 latency of each, and the ratio of each HTTP
# figure to its direct baseline at the same client count (target: POST >=
# 0.8x direct at 16 clients).  Everything shares this machine's cores, so
# wrk's own CPU counts against the shim.  fsync stays on (PG_DURABLE=1).
#
#   HTTP_BENCH_PGPORT  PostgreSQL port (default 55438)
#   HTTP_BENCH_PORT    standalone shim port (default 18438; the worker uses +1)
#   BENCH_SECONDS      length of each run (default 5)
#   BENCH_CLIENTS      client counts (default "1 16 64")
#   BENCH_HTTP_THREADS shim threads, both modes (default 16)
#   BENCH_GROUP_COMMIT on/off: group concurrent POSTs in one transaction
#                      (default on, as the shim's default); the extra
#                      shim (port +2) always has it off
set -eu
cd "$(dirname "$0")/../.."

port=${HTTP_BENCH_PGPORT:-55438}
http=${HTTP_BENCH_PORT:-18438}
secs=${BENCH_SECONDS:-5}
clients=${BENCH_CLIENTS:-1 16 64}
threads=${BENCH_HTTP_THREADS:-16}
group=${BENCH_GROUP_COMMIT:-on}
tmp=${UA_BENCH_TMP:-/tmp/user_activity_bench}/http
data=$tmp/data
mkdir -p "$tmp"
chmod 755 "$tmp"
rm -rf "$data"

PG_DURABLE=1 PRELOAD=user_activity CRON_DB=http_bench PG_EXTRA_CONF="shared_buffers = '512MB'
max_wal_size = '4GB'
user_activity.http_port = $((http + 1))
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_database = 'http_bench'
user_activity.http_threads = $threads
user_activity.http_pool_size = $((threads + 2))
user_activity.http_group_commit = $group
user_activity.http_log_level = 'warn'" tests/lib/cluster.sh start "$data" "$port"

shim_pid=
solo_pid=
cleanup() {
	[ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null
	[ -n "$solo_pid" ] && kill "$solo_pid" 2>/dev/null
	tests/lib/cluster.sh stop "$data"
}
trap cleanup EXIT

psql="env PGOPTIONS=-cclient_min_messages=warning psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port -U postgres"
$psql -d postgres -c "CREATE DATABASE http_bench"
psql="$psql -d http_bench"
$psql -c "CREATE EXTENSION user_activity"
# the current partition and those ahead, for direct INSERTs at now()
$psql -c "SELECT user_activity.maintain_partitions()" >/dev/null
# the user whose pages are read: 10 000 events
$psql -c "INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata)
          SELECT 1, 'viewed', '2025-10-10T18:30:00Z', '{\"ip\": \"192.168.1.10\", \"device\": \"iPhone 14\"}'
          FROM generate_series(1, 10000)" -c "VACUUM ANALYZE user_activity.events"

DB_URL="host=127.0.0.1 port=$port user=postgres dbname=http_bench" HTTP_PORT=$http \
HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=$threads HTTP_GROUP_COMMIT=$group LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/standalone.log" 2>&1 &
shim_pid=$!
DB_URL="host=127.0.0.1 port=$port user=postgres dbname=http_bench" HTTP_PORT=$((http + 2)) \
HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=$threads HTTP_GROUP_COMMIT=off LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/solo.log" 2>&1 &
solo_pid=$!
for p in $http $((http + 1)) $((http + 2)); do
	i=0
	until curl -sf "http://127.0.0.1:$p/readyz" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "shim on $p not ready" >&2; exit 1; }
		sleep 0.2
	done
done

body='{"user_id": 2, "event_action_timestamp": "2025-10-10T18:30:00Z", "action": "viewed", "metadata": {"ip": "192.168.1.10", "device": "iPhone 14"}}'
query='user_id=1&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&limit=100'
params='{"user_id": "1", "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "limit": "100"}'

cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "SELECT user_activity.record_event('$body'::jsonb);" >"$tmp/record.sql"
echo "SELECT body FROM user_activity.search_events('$params'::jsonb);" >"$tmp/search.sql"

# wrk URL CLIENTS [script] -> "req/s p99_ms"
run_wrk() {
	t=$2
	[ "$t" -gt 2 ] && t=2
	out=$(wrk -t"$t" -c"$2" -d"${secs}s" --latency ${3:+-s "$3"} "$1")
	non2xx=$(echo "$out" | sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p')
	[ -z "$non2xx" ] || echo "warning: $non2xx non-2xx replies from $1" >&2
	echo "$out" | grep 'Socket errors' | sed "s|^ *|warning: $1: |" >&2 || true
	rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	p99=$(echo "$out" | awk '$1 == "99%" {v = $2; if (v ~ /us$/) {sub(/us/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms/, "", v)} else if (v ~ /s$/) {sub(/s/, "", v); v *= 1000}; print v}')
	echo "$rps $p99"
}

# pgbench FILE CLIENTS -> "tps p99_ms"
run_pgbench() {
	rm -f "$tmp"/pgbench_log.*
	(cd "$tmp" && pgbench -n -M prepared -h 127.0.0.1 -p "$port" -U postgres \
		-c "$2" -j "$(( $2 > 2 ? 2 : $2 ))" -T "$secs" -f "$1" -l --log-prefix=pgbench_log \
		http_bench >"$tmp/pgbench.out" 2>&1) || { cat "$tmp/pgbench.out" >&2; echo "0 0"; return; }
	tps=$(awk '/^tps/ {print $3; exit}' "$tmp/pgbench.out")
	p99=$(cat "$tmp"/pgbench_log.* | awk '{print $3}' | sort -n |
		awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }')
	echo "$tps $p99"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'
}

printf '%-36s %7s %12s %10s %9s\n' "run" clients "req/s" "p99 ms" "vs direct"
for c in $clients; do
	set -- $(run_pgbench "$tmp/record.sql" "$c")
	rec_tps=$1
	printf '%-36s %7s %12.0f %10s %9s\n' "direct record_event (pgbench)" "$c" "$1" "$2" ""
	set -- $(run_pgbench "$tmp/search.sql" "$c")
	search_tps=$1
	printf '%-36s %7s %12.0f %10s %9s\n' "direct search_events (pgbench)" "$c" "$1" "$2" ""
	for mode in standalone worker; do
		p=$http
		[ $mode = worker ] && p=$((http + 1))
		set -- $(run_wrk "http://127.0.0.1:$p/api/event" "$c" "$tmp/post.lua")
		printf '%-36s %7s %12.0f %10s %9s\n' "$mode POST /api/event" "$c" "$1" "$2" "$(ratio "$1" "$rec_tps")"
		set -- $(run_wrk "http://127.0.0.1:$p/api/events?$query" "$c")
		printf '%-36s %7s %12.0f %10s %9s\n' "$mode GET /api/events (100 rows)" "$c" "$1" "$2" "$(ratio "$1" "$search_tps")"
		set -- $(run_wrk "http://127.0.0.1:$p/healthz" "$c")
		printf '%-36s %7s %12.0f %10s %9s\n' "$mode GET /healthz (ceiling)" "$c" "$1" "$2" ""
	done
	set -- $(run_wrk "http://127.0.0.1:$((http + 2))/api/event" "$c" "$tmp/post.lua")
	printf '%-36s %7s %12.0f %10s %9s\n' "standalone POST, group commit off" "$c" "$1" "$2" "$(ratio "$1" "$rec_tps")"
done
echo "events stored by the POST runs: $($psql -At -c "SELECT count(*) FROM user_activity.events WHERE user_id = 2")"
