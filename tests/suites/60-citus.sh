#!/bin/sh
# Citus: a coordinator and two workers on loopback, set up with
# docker/citus/setup.sql as shipped, answer as a plain install does
# (tests/citus/run.sh).  Skipped, with one line saying so, where Citus is
# not installed in the PostgreSQL under test (scripts/build-citus.sh
# installs it).
#
#   CITUS_PGPORT      first of four PostgreSQL ports (default 55370)
#   CITUS_HTTP_BASE   first of two HTTP ports (default 18370)
set -eu
cd "$(dirname "$0")/../.."
pkglibdir=$(${PG_CONFIG:-pg_config} --pkglibdir)
if [ ! -f "$pkglibdir/citus.so" ]; then
	echo "citus: skipped: no citus.so in $pkglibdir (install Citus with scripts/build-citus.sh SRC_DIR)"
	exit 0
fi
exec tests/citus/run.sh
