# ua-bench.sh: helpers for the ingest and search benchmarks, sourced by
# tests/bench/NN-*.sh.  Each benchmark starts its own durable cluster
# (fsync on: numbers of a cluster that may lose commits would flatter us).
#
#   BENCH_PGPORT    port of the benchmark cluster (default 55360)
#   BENCH_SECONDS   length of each pgbench run (default 20)
#   BENCH_CLIENTS   pgbench clients for the single-statement runs (default 16)
#   BENCH_ROUNDS    alternating rounds of extension and baseline (default 3)

BENCH_PGPORT=${BENCH_PGPORT:-55360}
BENCH_SECONDS=${BENCH_SECONDS:-20}
BENCH_CLIENTS=${BENCH_CLIENTS:-16}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_EVENTS=${BENCH_EVENTS:-1000000}
UA_BENCH_TMP=${UA_BENCH_TMP:-/tmp/user_activity_bench}

export PGHOST=127.0.0.1 PGPORT=$BENCH_PGPORT PGUSER=postgres PGDATABASE=postgres

# bench_start NAME: a fresh durable cluster with the extension created.
bench_start() {
	bench_data=$UA_BENCH_TMP/$1-data
	rm -rf "$bench_data"
	PG_DURABLE=1 CRON_DB=postgres PG_EXTRA_CONF="shared_buffers = 1GB
max_wal_size = 8GB
checkpoint_timeout = 30min
work_mem = 16MB" tests/lib/cluster.sh start "$bench_data" "$BENCH_PGPORT" || return 1
	trap 'tests/lib/cluster.sh stop "$bench_data"' EXIT
	bench_psql -c "CREATE EXTENSION user_activity" >/dev/null
	# the current partition and those ahead, for direct INSERTs at now()
	bench_psql -c "SELECT user_activity.maintain_partitions()" >/dev/null
}

bench_psql() {
	psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# now_ms: wall clock in milliseconds
now_ms() {
	date +%s%3N
}

# ratio A B: A / B with two decimals
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'
}

# rate ROWS MS: rows per second
rate() {
	awk -v n="$1" -v ms="$2" 'BEGIN { if (ms == 0) print 0; else printf "%.0f", n * 1000 / ms }'
}

# pgbench_tps OUTPUT: the tps figure of a pgbench run
pgbench_tps() {
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1" | tail -n 1
}

# pgbench_tx OUTPUT: the number of transactions a pgbench run processed
pgbench_tx() {
	sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$1" | tail -n 1
}

# server_cpu_ticks: CPU time (user + system, in clock ticks) of the bench
# cluster's ended backends, as the postmaster reaped them (the cutime and
# cstime of its /proc stat).  Read before and after a pgbench run (once its
# backends have exited), the difference is what the run's sessions cost the
# server, whatever else loads the machine meanwhile.
server_cpu_ticks() {
	awk '{ print $16 + $17 }' "/proc/$(head -n 1 "$bench_data/postmaster.pid")/stat"
}

# wait_backends_gone: until no client backend of the bench cluster is left
# (pgbench has returned; its backends exit and are reaped just after)
wait_backends_gone() {
	i=0
	while [ "$(bench_psql -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" != 0 ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.2
}

# cpu_per_tx TICKS TX: microseconds of server CPU per transaction
cpu_per_tx() {
	awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n == 0) print 0; else printf "%.1f", t * 1000000 / hz / n }'
}

# latency_pct LOGPREFIX PCT: a percentile, in milliseconds, of the
# per-transaction latencies pgbench --log wrote (third field, microseconds)
# in the files LOGPREFIX*
latency_pct() {
	cat "$1"*[0-9] | awk '{ print $3 }' | sort -n |
		awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; printf "%.3f", v[i] / 1000 }'
}

# median N...: the median of the numbers given
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
