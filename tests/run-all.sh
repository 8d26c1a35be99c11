#!/bin/sh
# run-all.sh: "make test".  Builds the extension and the shim, installs them
# into a private copy of the PostgreSQL installation (so nothing outside the
# checkout and $UA_TEST_TMP is touched), then runs every suite in
# tests/suites/ in name order and ends with one summary line.
#
#   UA_TEST_TMP   scratch directory (default /tmp/user_activity_test)
#   SUITES        names of the suites to run (default: all), e.g. "regress shim"
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

export UA_TEST_TMP=${UA_TEST_TMP:-/tmp/user_activity_test}
rm -rf "$UA_TEST_TMP"
mkdir -p "$UA_TEST_TMP"
chmod 755 "$UA_TEST_TMP"

echo "== build and install into $UA_TEST_TMP/pg"
PG_CONFIG=$(tests/lib/pgtree.sh "$UA_TEST_TMP/pg") || exit 1
export PG_CONFIG
export PATH="$($PG_CONFIG --bindir):$PATH"
if ! { make -s PG_CONFIG="$PG_CONFIG" >"$UA_TEST_TMP/build.log" 2>&1 &&
	   make -s PG_CONFIG="$PG_CONFIG" install >>"$UA_TEST_TMP/build.log" 2>&1; }; then
	cat "$UA_TEST_TMP/build.log"
	echo "Summary: 0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
failures=
for suite in tests/suites/*.sh; do
	name=$(basename "$suite" .sh)
	name=${name#[0-9][0-9]-}
	if [ -n "${SUITES:-}" ]; then
		case " $SUITES " in *" $name "*) ;; *) continue ;; esac
	fi
	echo "== suite $name"
	start=$(date +%s)
	if "$suite"; then
		result=PASS
		passed=$((passed + 1))
	else
		result=FAIL
		failed=$((failed + 1))
		failures="$failures $name"
	fi
	echo "== suite $name: $result ($(( $(date +%s) - start ))s)"
done

echo
[ -n "$failures" ] && echo "failed suites:$failures"
echo "Summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
