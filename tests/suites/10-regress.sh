#!/bin/sh
# pg_regress and isolation tests of the extension, against a throw-away
# cluster with pg_cron preloaded (cron.database_name = contrib_regression).
set -eu
cd "$(dirname "$0")/../.."
data=$UA_TEST_TMP/regress-data
port=${REGRESS_PGPORT:-55310}
# the pg_cron look-alike attack also runs on a cluster without pg_cron, at
# the next port; a fresh install is compared with every upgrade path on a
# cluster of its own, at the port after; the libraries (the SQL module links
# no HTTP stack) and the upgrade path of their preloading at the one after

tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
status=0
make -s PG_CONFIG="$PG_CONFIG" installcheck || status=1
if [ $status -ne 0 ] && [ -f regression.diffs ]; then
	cat regression.diffs
fi
tests/security/no-pg-cron.sh $((port + 1)) "${REGRESS_HTTP_PORT:-18315}" || status=1
tests/schema/identity.sh $((port + 2)) || status=1
tests/module/libraries.sh $((port + 3)) $((${REGRESS_HTTP_PORT:-18315} + 1)) || status=1
exit $status
