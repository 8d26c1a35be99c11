#!/bin/sh
# fuzz/run.sh OUT SECONDS: builds the libFuzzer targets into OUT, then runs
# each one over its kept regression inputs (fuzz/regressions/TARGET), its
# seed corpus (fuzz/corpus/TARGET) and what earlier runs found in
# OUT/corpus/TARGET, and fuzzes it for SECONDS (0: replay only).  Any crash,
# sanitizer report or failed check stops with the input saved as
# OUT/artifacts/TARGET-crash-*; keep it under fuzz/regressions/TARGET once
# fixed.  Prints the executions per target.
#
#   FUZZ_DB_URL     a database with the extension (fuzz_extension, fuzz_http)
#   FUZZ_HTTP_PORT  the port fuzz_http's in-process shim listens on
#   FUZZ_HANG_FATAL 0: a complete request left without a reply for 10 s is
#                   reported, not a failure (for debugging; the suites and
#                   "make fuzz" leave it fatal)
set -eu
cd "$(dirname "$0")/.."
out=${1:?usage: fuzz/run.sh OUT SECONDS}
secs=${2:?usage: fuzz/run.sh OUT SECONDS}
make -s -f fuzz/Makefile O="$out" PG_CONFIG="${PG_CONFIG:-pg_config}" fuzzers \
	>"$out.build.log" 2>&1 || { cat "$out.build.log"; exit 1; }
mkdir -p "$out/artifacts"
status=0
total=0
for bin in "$out"/fuzz/fuzz_*; do
	t=${bin##*/fuzz_}
	mkdir -p "$out/corpus/$t"
	opts="-print_final_stats=1 -dict=fuzz/dicts/fuzz.dict -artifact_prefix=$out/artifacts/$t- -timeout=20"
	# the in-process daemon keeps memory between inputs; leaks are checked
	# by LeakSanitizer and valgrind on the real program instead
	[ "$t" = http ] && opts="$opts -detect_leaks=0"
	if [ "$secs" = 0 ]; then
		opts="$opts -runs=0"
	else
		opts="$opts -max_total_time=$secs"
	fi
	dirs="$out/corpus/$t"
	for d in fuzz/corpus/$t fuzz/regressions/$t; do
		[ -d "$d" ] && dirs="$dirs $d"
	done
	# shellcheck disable=SC2086
	if "$bin" $opts $dirs >"$out/$t.log" 2>&1; then
		n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
		r=$(find fuzz/regressions/$t -type f 2>/dev/null | wc -l)
		h=$(grep -c 'no reply within' "$out/$t.log" || true)
		stalled=
		[ "$h" = 0 ] || stalled=", $h stalled replies reported (FUZZ_HANG_FATAL=0)"
		echo "fuzz_$t: ${n:-0} executions, $r regression inputs replayed, no failure$stalled"
		[ "$h" = 0 ] || grep -A8 'no reply within' "$out/$t.log"
		total=$((total + ${n:-0}))
	else
		echo "fuzz_$t FAILED:" >&2
		grep -v '^#\|^INFO\|^MERGE' "$out/$t.log" | tail -n 40 >&2
		status=1
	fi
done
echo "fuzzing: $total executions in all"
exit $status
