#!/bin/sh
# fuzz/fuzz.sh: "make fuzz", the long run.  Builds and installs the
# extension into a private copy of PostgreSQL, starts a throw-away cluster
# for the targets that reach the database (fuzz_extension, fuzz_http), then
# runs fuzz/run.sh for FUZZ_SECONDS per target.  What the run finds is kept
# in $FUZZ_TMP/out/corpus; crashes in $FUZZ_TMP/out/artifacts.
#
#   FUZZ_SECONDS   seconds per target (default 300)
#   FUZZ_TMP       scratch directory (default /tmp/user_activity_fuzz)
#   FUZZ_PGPORT    PostgreSQL port (default 55370)
#   FUZZ_HTTP_PORT port of fuzz_http's in-process shim (default 18370)
set -eu
cd "$(dirname "$0")/.."
tmp=${FUZZ_TMP:-/tmp/user_activity_fuzz}
pgport=${FUZZ_PGPORT:-55370}
mkdir -p "$tmp"
chmod 755 "$tmp"
PG_CONFIG=$(tests/lib/pgtree.sh "$tmp/pg")
export PG_CONFIG
export PATH="$($PG_CONFIG --bindir):$PATH"
make -s PG_CONFIG="$PG_CONFIG" >"$tmp/build.log" 2>&1 &&
	make -s PG_CONFIG="$PG_CONFIG" install >>"$tmp/build.log" 2>&1 ||
	{ cat "$tmp/build.log"; exit 1; }
rm -rf "$tmp/data"
CRON_DB=fuzz tests/lib/cluster.sh start "$tmp/data" "$pgport"
trap 'tests/lib/cluster.sh stop "$tmp/data" || true' EXIT
psql="psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $pgport -U postgres"
$psql -d postgres -c "CREATE DATABASE fuzz"
$psql -d fuzz -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"
mkdir -p "$tmp/out"
FUZZ_DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=fuzz" \
FUZZ_HTTP_PORT=${FUZZ_HTTP_PORT:-18370} fuzz/run.sh "$tmp/out" "${FUZZ_SECONDS:-300}"
