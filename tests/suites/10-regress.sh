#!/bin/sh
# pg_regress and isolation tests of the extension, against a throw-away
# cluster with pg_cron preloaded (cron.database_name = contrib_regression).
set -eu
cd "$(dirname "$0")/../.."
data=$UA_TEST_TMP/regress-data
port=${REGRESS_PGPORT:-55310}

tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
status=0
make -s PG_CONFIG="$PG_CONFIG" installcheck || status=1
if [ $status -ne 0 ] && [ -f regression.diffs ]; then
	cat regression.diffs
fi
if [ -n "$(ls specs/*.spec 2>/dev/null)" ]; then
	# PGXS runs the isolation specs as part of installcheck; nothing more.
	:
fi
exit $status
