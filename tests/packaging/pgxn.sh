#!/bin/sh
# pgxn.sh: "make dist" makes the PGXN archive of HEAD: META.json at its top
# carries the control file's version, in the extension's "provides" too,
# names PostgreSQL 15 as required and pg_cron as recommended, and the
# archive builds with PGXS as "pgxn install" would.  Prints "ok - ..." or
# "not ok - ..."; exits non-zero on failure.
set -eu
cd "$(dirname "$0")/../.."
tmp=$UA_TEST_TMP/pgxn
rm -rf "$tmp"
mkdir -p "$tmp"
status=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; status=1; }

version=$(sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" user_activity.control)
make -s dist DIST_DIR="$tmp" >/dev/null
zip=$tmp/user_activity-$version.zip
if [ ! -f "$zip" ]; then
	notok "make dist made no $zip"
	exit 1
fi
(cd "$tmp" && python3 -m zipfile -e "$zip" .)
src=$tmp/user_activity-$version
python3 - "$src/META.json" "$version" <<'PY' && ok "META.json: version $version (the control file's), provides user_activity, PostgreSQL 15 required, pg_cron recommended" || status=1
import json, sys
meta = json.load(open(sys.argv[1]))
version = sys.argv[2]
errors = []
def want(cond, what):
    if not cond:
        errors.append(what)
want(meta["name"] == "user_activity", "name")
want(meta["version"] == version, f"version {meta['version']} is not {version}")
p = meta["provides"].get("user_activity", {})
want(p.get("version") == version, "provides.user_activity.version")
want(p.get("file") and p.get("abstract"), "provides.user_activity file and abstract")
rt = meta["prereqs"]["runtime"]
want(rt["requires"].get("PostgreSQL") == "15.0.0", "requires PostgreSQL 15.0.0")
want("pg_cron" in rt.get("recommends", {}), "recommends pg_cron")
want(meta["meta-spec"]["version"] == "1.0.0", "meta-spec 1.0.0")
for k in ("abstract", "maintainer", "license"):
    want(meta.get(k), k)
for e in errors:
    print(f"not ok - META.json: {e}")
sys.exit(1 if errors else 0)
PY
for f in user_activity.control Makefile http-shim/shim.mk; do
	[ -f "$src/$f" ] || notok "the archive lacks $f"
done
if (cd "$src" && make -s -j2 PG_CONFIG="${PG_CONFIG:-pg_config}" with_llvm=no >"$tmp/build.log" 2>&1) &&
	[ -f "$src/user_activity.so" ] && [ -f "$src/user_activity_http.so" ] &&
	[ -f "$src/extension/user_activity--$version.sql" ]; then
	ok "the archive builds with PGXS: both libraries and the $version install script"
else
	tail -n 20 "$tmp/build.log"
	notok "the archive does not build"
fi
exit $status
