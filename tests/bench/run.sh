#!/bin/sh
# run.sh: "make bench".  Builds and installs into a private copy of the
# PostgreSQL installation, then runs every benchmark in tests/bench/ in name
# order.  Each prints its figures side by side with its baseline and the
# ratio.  Benchmarks report; they never fail on a slow number.
#
#   BENCH_EVENTS   events to load (default 1000000; 10000000 for the big run)
#   BENCHES        names of the benchmarks to run (default: all)
#   BENCH_AGAINST  a git revision: instead of the benchmarks, build that
#                  revision too, into a PostgreSQL tree of its own, and run
#                  tests/bench/against.sh, this checkout against it in
#                  alternating rounds (ingest, search, export)
set -u
cd "$(dirname "$0")/../.."

export UA_BENCH_TMP=${UA_BENCH_TMP:-/tmp/user_activity_bench}
export BENCH_EVENTS=${BENCH_EVENTS:-1000000}
rm -rf "$UA_BENCH_TMP"
mkdir -p "$UA_BENCH_TMP"
chmod 755 "$UA_BENCH_TMP"

PG_CONFIG=$(tests/lib/pgtree.sh "$UA_BENCH_TMP/pg") || exit 1
export PG_CONFIG
export PATH="$($PG_CONFIG --bindir):$PATH"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null && make -s PG_CONFIG="$PG_CONFIG" install >/dev/null || exit 1

echo "machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; events: $BENCH_EVENTS"

if [ -n "${BENCH_AGAINST:-}" ]; then
	rev=$(git rev-parse --verify --quiet "$BENCH_AGAINST^{commit}") ||
		{ echo "BENCH_AGAINST: no commit $BENCH_AGAINST" >&2; exit 1; }
	echo "against $BENCH_AGAINST ($(git log -1 --format='%h %s' "$rev"))"
	mkdir -p "$UA_BENCH_TMP/old-src"
	git archive "$rev" | tar -x -C "$UA_BENCH_TMP/old-src" || exit 1
	OLD_PG_CONFIG=$(tests/lib/pgtree.sh "$UA_BENCH_TMP/pg-old") || exit 1
	(cd "$UA_BENCH_TMP/old-src" &&
		make -s PG_CONFIG="$OLD_PG_CONFIG" >/dev/null &&
		make -s PG_CONFIG="$OLD_PG_CONFIG" install >/dev/null) || exit 1
	export OLD_PG_CONFIG BENCH_AGAINST
	exec tests/bench/against.sh
fi
status=0
for bench in tests/bench/[0-9][0-9]-*.sh; do
	[ -e "$bench" ] || continue
	name=$(basename "$bench" .sh)
	name=${name#[0-9][0-9]-}
	if [ -n "${BENCHES:-}" ]; then
		case " $BENCHES " in *" $name "*) ;; *) continue ;; esac
	fi
	echo
	echo "== bench $name"
	"$bench" || { echo "== bench $name: did not complete"; status=1; }
done
exit $status
