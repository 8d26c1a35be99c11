#!/bin/sh
# build-citus.sh: build Citus from a source directory and install it into
# the PostgreSQL that PG_CONFIG names (default: the pg_config on PATH).
#
#   scripts/build-citus.sh SRC_DIR
#
# SRC_DIR is a Citus checkout (tested with tag v13.2.2 against PostgreSQL
# 15).  The script installs the Debian packages the build needs, applies one
# compatibility define (below) to the source and runs configure, make and
# make install.  Run it as root or with sudo available.
#
# The compatibility define: PostgreSQL 15.20 declares have_createdb_privilege()
# in commands/dbcommands.h, and Citus 13.2 carries a static inline copy of it
# for PostgreSQL 15 in src/include/pg_version_compat.h; the two clash.  The
# script renames Citus's copy, which changes nothing on older 15.x headers.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/configure" ]; then
	echo "usage: $0 CITUS_SOURCE_DIR   (a Citus checkout, e.g. tag v13.2.2)" >&2
	exit 2
fi
src=$(cd "$1" && pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
command -v "$PG_CONFIG" >/dev/null 2>&1 || {
	echo "build-citus: $PG_CONFIG not found; set PG_CONFIG" >&2
	exit 1
}

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
major=$("$PG_CONFIG" --version | sed 's/^PostgreSQL \([0-9]*\).*/\1/')

PACKAGES="build-essential autoconf flex bison pkg-config
postgresql-server-dev-$major libpq-dev libcurl4-openssl-dev liblz4-dev
libzstd-dev libkrb5-dev libssl-dev libselinux1-dev libxml2-dev libxslt1-dev
libpam0g-dev libreadline-dev zlib1g-dev libicu-dev"
missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "build-citus: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

compat=$src/src/include/pg_version_compat.h
if [ -f "$compat" ] &&
	grep -q '^have_createdb_privilege(void)' "$compat" &&
	! grep -q 'citus_compat_have_createdb_privilege' "$compat"; then
	echo "build-citus: renaming Citus's have_createdb_privilege in $compat"
	awk '
		/^static inline bool$/ { held = $0; next }
		held != "" {
			if ($0 ~ /^have_createdb_privilege\(void\)/)
				print "#define have_createdb_privilege citus_compat_have_createdb_privilege"
			print held
			held = ""
		}
		{ print }
	' "$compat" >"$compat.tmp" && mv "$compat.tmp" "$compat"
fi

cd "$src"
./configure PG_CONFIG="$PG_CONFIG" >/dev/null
make -s -j"$(nproc 2>/dev/null || echo 2)"
$sudo make -s install PG_CONFIG="$PG_CONFIG"
echo "build-citus: installed into $("$PG_CONFIG" --pkglibdir)"
