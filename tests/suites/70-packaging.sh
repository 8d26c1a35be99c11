#!/bin/sh
# Packaging: the Debian packages built by "make deb", installed into this
# machine, tested, and purged; then the PGXN archive of "make dist".  See
# tests/packaging/debian.sh and tests/packaging/pgxn.sh.
#
#   PACKAGING_PGPORT     PostgreSQL port (default 55400; the autopkgtest
#                        cluster takes it, then the shim's cluster)
#   PACKAGING_HTTP_PORT  first of two HTTP ports (default 18400)
#   PACKAGING_REUSE=1    test the packages the last run built, if any
set -eu
cd "$(dirname "$0")/../.."
status=0
tests/packaging/pgxn.sh || status=1
tests/packaging/debian.sh || status=1
exit $status
