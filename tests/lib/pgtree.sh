#!/bin/sh
# pgtree.sh DIR: make a private, relocated copy of the PostgreSQL 15 server
# installation under DIR, so that "make install PG_CONFIG=DIR/.../pg_config"
# installs the extension there and not into the system directories.  Several
# checkouts can then build, install and test side by side.
set -eu
dir=${1:?usage: pgtree.sh DIR}
pgc=${PG_CONFIG:-pg_config}
bindir=$($pgc --bindir)
pkglibdir=$($pgc --pkglibdir)
sharedir=$($pgc --sharedir)
incdir=$($pgc --includedir-server)
mkdir -p "$dir"
for d in "$bindir" "$pkglibdir" "$sharedir" "$incdir" "$($pgc --pkgincludedir)" /usr/include/postgresql; do
	[ -d "$d" ] || continue
	mkdir -p "$dir$d"
	cp -a "$d/." "$dir$d/"
done
echo "$dir$bindir/pg_config"
