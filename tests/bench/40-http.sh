#!/bin/sh
# 40-http.sh: what the HTTP shim costs on top of calling the extension
# directly.  In the same run, at 1, 16 and 64 clients:
#
#   wrk   POST /api/event (one event per request), GET /api/events (a page
#         of 100 events of one user) and GET /healthz (no database: the
#         HTTP ceiling), against the standalone shim and the in-database
#         worker; and POST once more against a second standalone shim with
#         group commit off, to show what grouping gives, and against a
#         third that requires API keys (20 keys in the database, one sent),
#         to show what checking a key costs: its ratio is to the first
#         standalone shim's POST (keys off), round by round, and the CPU
#         time each of the two shims spent per request (from /proc), which
#         the load of a shared machine disturbs less than throughput;
#   pgbench  the same calls made directly: SELECT record_event($json) and
#         SELECT body FROM search_events($params), prepared.
#   COPY  (copy_events) BENCH_COPY_EVENTS of the same event (another user)
#         through psql's \copy into user_activity.events, one transaction:
#         the floor of what ingest can cost; each POST run's rate is also
#         given as a ratio to it, round by round (target: POST at 64
#         clients >= 0.3x COPY's rows/s).
#   relay (relay_get) the same page through tests/bench/relay: one thread,
#         one database connection per client, no routing, checks, logs or
#         metrics; the floor of any HTTP front end of the database on this
#         machine, with the same ratio to direct.
#   older (old_post, only with BENCH_OLD_SHIM) POST /api/event against
#         another build of the standalone shim (say main's, built from
#         git archive) on the same cluster, settings and extension: its
#         ratio is this build's standalone POST over it, round by round.
#
# Printed: requests/s, p99 latency, the server's CPU per request (all
# the cluster's processes; per row for COPY) and the load generator's
# (wrk, pgbench or psql) of each, medians of the rounds, the standalone
# shims' own CPU per request, and
# the ratio of each HTTP figure to its direct baseline at the same client
# count, round by round, and their median (target: POST >= 0.8x direct at
# 16 clients).  Everything shares this machine's cores, so
# wrk's own CPU counts against the shim.  fsync stays on (PG_DURABLE=1).
#
#   HTTP_BENCH_PGPORT  PostgreSQL port (default 55438)
#   HTTP_BENCH_PORT    standalone shim port (default 18438; the worker uses
#                      +1, the shim without group commit +2, the one that
#                      requires keys +3, the older build +4, the relay +5)
#   BENCH_SECONDS      length of each run (default 4)
#   BENCH_ROUNDS       rounds of every run per client count (default 3)
#   BENCH_CLIENTS      client counts (default "1 16 64")
#   BENCH_HTTP_THREADS shim threads, both modes (default 16)
#   BENCH_RUNS         the runs to make (default all; old_post only with
#                      BENCH_OLD_SHIM), e.g. "standalone_post keyed_post"
#                      for the cost of the key check alone
#   BENCH_GROUP_COMMIT on/off: group concurrent POSTs in one transaction
#                      (default on, as the shim's default); the extra
#                      shim (port +2) always has it off
#   BENCH_COPY_EVENTS  rows of each COPY run (default 200000)
#   BENCH_OLD_SHIM     path of another build's user-activity-shim, run
#                      on port +4 for old_post
set -eu
cd "$(dirname "$0")/../.."

port=${HTTP_BENCH_PGPORT:-55438}
http=${HTTP_BENCH_PORT:-18438}
secs=${BENCH_SECONDS:-4}
rounds=${BENCH_ROUNDS:-3}
clients=${BENCH_CLIENTS:-1 16 64}
threads=${BENCH_HTTP_THREADS:-16}
group=${BENCH_GROUP_COMMIT:-on}
copy_events=${BENCH_COPY_EVENTS:-200000}
old_shim=${BENCH_OLD_SHIM:-}
tmp=${UA_BENCH_TMP:-/tmp/user_activity_bench}/http
data=$tmp/data
mkdir -p "$tmp"
chmod 755 "$tmp"
rm -rf "$data"

PG_DURABLE=1 PRELOAD=user_activity_http CRON_DB=http_bench PG_EXTRA_CONF="shared_buffers = '512MB'
max_wal_size = '4GB'
user_activity.http_port = $((http + 1))
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_allow_unauthenticated = on
user_activity.http_database = 'http_bench'
user_activity.http_threads = $threads
user_activity.http_pool_size = $((threads + 2))
user_activity.http_group_commit = $group
user_activity.http_log_level = 'warn'" tests/lib/cluster.sh start "$data" "$port"

shim_pid=
solo_pid=
keyed_pid=
old_pid=
relay_pid=
cleanup() {
	[ -n "$shim_pid" ] && kill "$shim_pid" 2>/dev/null
	[ -n "$solo_pid" ] && kill "$solo_pid" 2>/dev/null
	[ -n "$keyed_pid" ] && kill "$keyed_pid" 2>/dev/null
	[ -n "$old_pid" ] && kill "$old_pid" 2>/dev/null
	[ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null
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

DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=http_bench" HTTP_PORT=$http \
HTTP_ALLOW_UNAUTHENTICATED=on HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=$threads HTTP_GROUP_COMMIT=$group LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/standalone.log" 2>&1 &
shim_pid=$!
DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=http_bench" HTTP_PORT=$((http + 2)) \
HTTP_ALLOW_UNAUTHENTICATED=on HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=$threads HTTP_GROUP_COMMIT=off LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/solo.log" 2>&1 &
solo_pid=$!
# keys required: 20 write keys in the database, the last one sent
for i in $(seq 1 20); do
	key=$($psql -At -c "SELECT user_activity.create_api_key('bench-$i', 'write')")
done
DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=http_bench" HTTP_PORT=$((http + 3)) \
HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=$threads HTTP_GROUP_COMMIT=$group LOG_LEVEL=warn \
	http-shim/user-activity-shim >"$tmp/keyed.log" 2>&1 &
keyed_pid=$!
ports="$http $((http + 1)) $((http + 2)) $((http + 3))"
if [ -n "$old_shim" ]; then
	DB_URL="host=127.0.0.1 port=$port user=user_activity_http dbname=http_bench" HTTP_PORT=$((http + 4)) \
	HTTP_ALLOW_UNAUTHENTICATED=on HTTP_LISTEN_ADDRESS=127.0.0.1 HTTP_THREADS=$threads HTTP_GROUP_COMMIT=$group LOG_LEVEL=warn \
		"$old_shim" >"$tmp/old.log" 2>&1 &
	old_pid=$!
	ports="$ports $((http + 4))"
fi
# the relay, built here, with the shim's page statement and parameters
cc -O2 -o "$tmp/relay" tests/bench/relay/relay.c -I"$(pg_config --includedir)" -lpq
"$tmp/relay" $((http + 5)) "host=127.0.0.1 port=$port user=user_activity_http dbname=http_bench" \
	"SELECT body FROM user_activity.search_events('1', '2000-01-01T00:00:00Z', '2100-01-01T00:00:00Z', '100',
	 NULL, NULL, NULL, NULL, NULL, NULL)" >"$tmp/relay.log" 2>&1 &
relay_pid=$!
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$((http + 5))/"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "relay not ready" >&2; cat "$tmp/relay.log" >&2; exit 1; }
	sleep 0.2
done
for p in $ports; do
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
cat >"$tmp/post-key.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $key"
LUA
echo "SELECT user_activity.record_event('$body'::jsonb);" >"$tmp/record.sql"
# the same event for COPY, as many times as a run copies, for user 3
$psql -c "\\copy (SELECT 3, 'viewed', '2025-10-10T18:30:00Z', '{\"ip\": \"192.168.1.10\", \"device\": \"iPhone 14\"}' FROM generate_series(1, $copy_events)) TO '$tmp/events.csv' WITH (FORMAT csv)"
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

# run_copy -> "rows/s -": the CSV into the events table, one transaction
run_copy() {
	t0=$(date +%s%N)
	$psql -c "\\copy user_activity.events (user_id, action, event_action_timestamp, metadata) FROM '$tmp/events.csv' WITH (FORMAT csv)"
	t1=$(date +%s%N)
	awk -v n="$copy_events" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f -\n", n * 1e9 / ns }'
}

# the values on stdin, one per line -> their median
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# CPU time (user and system) of a process so far, in clock ticks
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# CPU time of every process of the cluster so far, in clock ticks: the
# server's children alive (their own) and reaped (the postmaster's
# cutime and cstime)
server_ticks() {
	pm=$(head -n 1 "$data/postmaster.pid")
	{
		awk '{ print $16 + $17 }' "/proc/$pm/stat"
		for child in $(pgrep -P "$pm"); do
			awk '{ print $14 + $15 }' "/proc/$child/stat" 2>/dev/null || true
		done
	} | awk '{ s += $1 } END { print s }'
}

# measure NAME CLIENTS -> "req/s p99_ms"; also the server's CPU
# microseconds per request (per row for COPY) in $tmp/srv.NAME, and for
# the POST runs against a standalone shim, that shim's, in $tmp/cpu.NAME:
# CPU time per unit of work is what the load of a shared machine disturbs
# least
measure() {
	case $1 in
	standalone_post | standalone_get | standalone_healthz) pid=$shim_pid ;;
	relay_get) pid=$relay_pid ;;
	keyed_post) pid=$keyed_pid ;;
	old_post) pid=$old_pid ;;
	*) pid= ;;
	esac
	[ -n "$pid" ] && t0=$(cpu_ticks "$pid")
	s0=$(server_ticks)
	# times: the subshell's children (wrk, pgbench or psql), second line
	res=$(measure_run "$1" "$2"; times >"$tmp/times")
	s1=$(server_ticks)
	units=$(echo "$res" | awk -v s="$secs" '{ print $1 * s }')
	[ "$1" = copy_events ] && units=$copy_events
	awk -v d=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" -v n="$units" \
		'BEGIN { if (n > 0) printf "%.1f\n", d / hz * 1e6 / n }' >>"$tmp/srv.$1"
	sed -n 2p "$tmp/times" | tr 'ms' '  ' | awk -v n="$units" \
		'{ if (n > 0) printf "%.1f\n", ($1 * 60 + $2 + $3 * 60 + $4) * 1e6 / n }' >>"$tmp/cli.$1"
	if [ -n "$pid" ]; then
		t1=$(cpu_ticks "$pid")
		awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$units" \
			'BEGIN { if (n > 0) printf "%.1f\n", d / hz * 1e6 / n }' >>"$tmp/cpu.$1"
	fi
	echo "$res"
}

measure_run() {
	case $1 in
	direct_record) run_pgbench "$tmp/record.sql" "$2" ;;
	direct_search) run_pgbench "$tmp/search.sql" "$2" ;;
	standalone_post) run_wrk "http://127.0.0.1:$http/api/event" "$2" "$tmp/post.lua" ;;
	standalone_get) run_wrk "http://127.0.0.1:$http/api/events?$query" "$2" ;;
	standalone_healthz) run_wrk "http://127.0.0.1:$http/healthz" "$2" ;;
	worker_post) run_wrk "http://127.0.0.1:$((http + 1))/api/event" "$2" "$tmp/post.lua" ;;
	worker_get) run_wrk "http://127.0.0.1:$((http + 1))/api/events?$query" "$2" ;;
	worker_healthz) run_wrk "http://127.0.0.1:$((http + 1))/healthz" "$2" ;;
	solo_post) run_wrk "http://127.0.0.1:$((http + 2))/api/event" "$2" "$tmp/post.lua" ;;
	keyed_post) run_wrk "http://127.0.0.1:$((http + 3))/api/event" "$2" "$tmp/post-key.lua" ;;
	old_post) run_wrk "http://127.0.0.1:$((http + 4))/api/event" "$2" "$tmp/post.lua" ;;
	relay_get) run_wrk "http://127.0.0.1:$((http + 5))/" "$2" ;;
	copy_events) run_copy ;;
	esac
}

names=${BENCH_RUNS:-direct_record direct_search standalone_post keyed_post standalone_get relay_get standalone_healthz worker_post worker_get worker_healthz solo_post copy_events${old_shim:+ old_post}}
case " $names " in *" old_post "*)
	[ -n "$old_shim" ] || { echo "old_post needs BENCH_OLD_SHIM, another build's user-activity-shim" >&2; exit 1; } ;;
esac

label() {
	case $1 in
	direct_record) echo "direct record_event (pgbench)" ;;
	direct_search) echo "direct search_events (pgbench)" ;;
	standalone_post) echo "standalone POST /api/event" ;;
	standalone_get) echo "standalone GET /api/events (100 rows)" ;;
	standalone_healthz) echo "standalone GET /healthz (ceiling)" ;;
	worker_post) echo "worker POST /api/event" ;;
	worker_get) echo "worker GET /api/events (100 rows)" ;;
	worker_healthz) echo "worker GET /healthz (ceiling)" ;;
	solo_post) echo "standalone POST, group commit off" ;;
	keyed_post) echo "standalone POST, key checked (vs keys off)" ;;
	old_post) echo "standalone POST, older build (this / it)" ;;
	relay_get) echo "relay GET, the same page (the floor)" ;;
	copy_events) echo "COPY of the same event (rows/s)" ;;
	esac
}

baseline() {
	case $1 in
	keyed_post) echo standalone_post ;;
	old_post) echo standalone_post ;;
	*_post) echo direct_record ;;
	*_get) echo direct_search ;;
	esac
}

# Every run of a client count, round after round in the same order, so
# that load from elsewhere hits each alike; medians of the rounds, and the
# ratio to direct is each round's ratio, median of them (rounds listed).
echo "rounds: $rounds of ${secs} s each; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-38s %7s %10s %9s %10s %10s %9s  %s\n' "run" clients "req/s" "p99 ms" "server us" "client us" "vs direct" "(rounds)"
for c in $clients; do
	for name in $names; do
		: >"$tmp/res.$name"
		: >"$tmp/srv.$name"
		: >"$tmp/cpu.$name"
		: >"$tmp/cli.$name"
	done
	r=0
	while [ $r -lt "$rounds" ]; do
		r=$((r + 1))
		for name in $names; do
			measure "$name" "$c" >>"$tmp/res.$name"
		done
	done
	for name in $names; do
		rps=$(awk '{ print $1 }' "$tmp/res.$name" | median)
		p99=$(awk '{ print $2 }' "$tmp/res.$name" | median)
		base=$(baseline "$name")
		ratios=
		med=
		if [ -n "$base" ] && [ -f "$tmp/res.$base" ]; then
			# this build over the older one: its baseline is the numerator
			if [ "$name" = old_post ]; then
				pair="$tmp/res.$base $tmp/res.$name"
			else
				pair="$tmp/res.$name $tmp/res.$base"
			fi
			ratios=$(paste -d' ' $pair |
				awk '{ if ($3 > 0) printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $3 }')
			med=$(echo "$ratios" | tr ' ' '\n' | median)
			med=$(printf '%.2fx' "$med")
			ratios="($ratios)"
		fi
		srv=$(median <"$tmp/srv.$name")
		cli=$(median <"$tmp/cli.$name")
		printf '%-38s %7s %10.0f %9s %10s %10s %9s  %s\n' "$(label "$name")" "$c" "$rps" "$p99" "$srv" "$cli" "$med" "$ratios"
	done
	# each POST run's rows/s against COPY's, round by round
	case " $names " in *" copy_events "*)
		for name in $names; do
			case $name in *_post) ;; *) continue ;; esac
			ratios=$(paste -d' ' "$tmp/res.$name" "$tmp/res.copy_events" |
				awk '{ if ($3 > 0) printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $3 }')
			printf '%-38s %7s %41s  (%s)\n' "$(label "$name" | sed 's/ (.*//') vs COPY" "$c" \
				"$(printf '%.2fx' "$(echo "$ratios" | tr ' ' '\n' | median)")" "$ratios"
		done
		;;
	esac
	# the shims' own CPU per request, and the key check's cost as a ratio
	line=
	for name in standalone_post keyed_post old_post standalone_get standalone_healthz relay_get; do
		[ -s "$tmp/cpu.$name" ] || continue
		line="$line${line:+, }$(label "$name" | sed 's/ (.*//') $(median <"$tmp/cpu.$name") us ($(tr '\n' ' ' <"$tmp/cpu.$name" | sed 's/ $//'))"
	done
	[ -z "$line" ] || echo "CPU of the standalone shim (and relay) per request at $c clients: $line"
	if [ -s "$tmp/cpu.keyed_post" ] && [ -s "$tmp/cpu.standalone_post" ]; then
		printf 'key checked / keys off: %s (%s)\n' \
			"$(awk -v a="$(median <"$tmp/cpu.keyed_post")" -v b="$(median <"$tmp/cpu.standalone_post")" 'BEGIN { if (b > 0) printf "%.2f", a / b }')" \
			"$(paste -d' ' "$tmp/cpu.keyed_post" "$tmp/cpu.standalone_post" |
				awk '{ if ($2 > 0) printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2 }')"
	fi
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "events stored by the POST runs: $($psql -At -c "SELECT count(*) FROM user_activity.events WHERE user_id = 2")"
# the groups of the standalone shim (and of the older build's), over the whole run
for p in $http $([ -n "$old_shim" ] && echo $((http + 4))); do
	curl -s "http://127.0.0.1:$p/metrics" | awk -v p="$p" '
		/^user_activity_tracking_db_group_commit_events_total / { e = $2 }
		/^user_activity_tracking_db_group_commit_transactions_total / { t = $2 }
		/^user_activity_tracking_db_group_commit_retries_total / { r = $2 }
		END { if (t > 0) printf "group commit on port %s: %d events in %d transactions (mean group %.1f), %d written again\n", p, e, t, e / t, r }'
done
