#!/bin/sh
# debian.sh: the Debian packages, as a DBA meets them.
#
#   1. "make deb" builds postgresql-15-user-activity, user-activity-shim and
#      user-activity-page (in a copy of the tree under $UA_TEST_TMP/deb);
#   2. lintian finds no error in them (its whole output is printed);
#   3. they are installed into this machine (dpkg, as root; one run at a
#      time, under a lock);
#   4. autopkgtest's test, debian/tests/installcheck (pg_buildext
#      installcheck: the regression suite on a throw-away cluster with
#      pg_cron preloaded), passes against the installed files;
#   5. the systemd unit's ExecStart, started by hand as an unprivileged
#      user with the unit's environment file, answers /readyz and serves
#      the packaged page, then stops on SIGTERM; on the same cluster the
#      installed user_activity_http runs the worker;
#   6. dpkg --purge leaves none of the packages' files behind.
#
# Prints "ok - ..." or "not ok - ..."; exits non-zero on failure.
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
tmp=$UA_TEST_TMP/deb
pgport=${PACKAGING_PGPORT:-55400}
http=${PACKAGING_HTTP_PORT:-18400}
sysbin=/usr/lib/postgresql/15/bin
status=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; status=1; }

if [ "$(id -u)" != 0 ]; then
	echo "not ok - installing the packages needs root (dpkg -i)"
	exit 1
fi

echo "-- make deb"
if [ "${PACKAGING_REUSE:-0}" = 1 ] && ls "$tmp"/*.changes >/dev/null 2>&1; then
	echo "(PACKAGING_REUSE=1: the packages of the last run, in $tmp)"
elif ! { rm -rf "$tmp" && env -u PG_CONFIG DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}" \
	make -s deb DEB_DIR="$tmp" >"$UA_TEST_TMP/deb-build.log" 2>&1; }; then
	tail -n 40 "$UA_TEST_TMP/deb-build.log"
	notok "make deb failed"
	exit 1
fi
debs=$(ls "$tmp"/postgresql-15-user-activity_*.deb "$tmp"/user-activity-shim_*.deb \
	"$tmp"/user-activity-page_*.deb 2>/dev/null || true)
[ "$(echo "$debs" | wc -w)" = 3 ] && ok "make deb built $(echo "$debs" | xargs -n1 basename | paste -sd' ' -)" ||
	{ notok "make deb built: $(ls "$tmp")"; exit 1; }

echo "-- lintian"
lintian --fail-on error --info "$tmp"/*.changes >"$UA_TEST_TMP/lintian.txt" 2>&1 && lint=0 || lint=$?
sed 's/^/  /' "$UA_TEST_TMP/lintian.txt"
[ $lint = 0 ] && ok "lintian: no error ($(grep -c '^W:' "$UA_TEST_TMP/lintian.txt" || true) warnings)" ||
	notok "lintian: errors (exit $lint)"

# dpkg's database is the machine's: one run at a time
exec 9>/var/lock/user-activity-packaging.lock
flock 9

echo "-- install"
pkgs="postgresql-15-user-activity user-activity-shim user-activity-page"
dpkg --purge $pkgs >/dev/null 2>&1 || true
if ! dpkg -i $debs >"$UA_TEST_TMP/dpkg.log" 2>&1; then
	cat "$UA_TEST_TMP/dpkg.log"
	notok "dpkg -i failed"
	dpkg --purge $pkgs >/dev/null 2>&1 || true
	exit 1
fi
files=$UA_TEST_TMP/deb-files.txt
for p in $pkgs; do dpkg -L "$p"; done | sort -u >"$files"
purge() {
	dpkg --purge $pkgs >"$UA_TEST_TMP/purge.log" 2>&1
}
trap 'purge || true' EXIT
grep -qx /usr/lib/postgresql/15/lib/user_activity.so "$files" &&
	grep -qx /usr/lib/postgresql/15/lib/user_activity_http.so "$files" &&
	grep -qx /usr/share/postgresql/15/extension/user_activity.control "$files" &&
	grep -qx /usr/bin/user-activity-shim "$files" &&
	grep -qx /usr/share/user-activity/page/index.html "$files" &&
	grep -q '/systemd/system/user-activity-shim.service$' "$files" &&
	grep -qx /etc/default/user-activity-shim "$files" &&
	ok "installed: both libraries, the SQL scripts, the shim, its unit and environment file, the page" ||
	notok "the packages lack files: $(cat "$files" | paste -sd' ' -)"

echo "-- installcheck (debian/tests/installcheck)"
# pg_virtualenv makes the cluster on PGPORT; pg_regress needs the tree's
# sql/ and expected/, in a copy that root's pg_virtualenv user can write
src=$UA_TEST_TMP/deb-check
rm -rf "$src"
cp -a "$tmp/src" "$src"
chown -R postgres "$src"
if (cd "$src" && PGPORT=$pgport debian/tests/installcheck) >"$UA_TEST_TMP/installcheck.log" 2>&1; then
	ok "debian/tests/installcheck: $(grep -c '\.\.\. ok' "$UA_TEST_TMP/installcheck.log") tests passed against the installed package"
else
	tail -n 60 "$UA_TEST_TMP/installcheck.log"
	notok "debian/tests/installcheck failed"
fi

echo "-- the unit's command line, by hand"
unit=$(grep -l . /lib/systemd/system/user-activity-shim.service /usr/lib/systemd/system/user-activity-shim.service 2>/dev/null | head -n 1)
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
envfile=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$unit")
[ "$(stat -c %a "$envfile")" = 600 ] && ok "$envfile is readable by root only" ||
	notok "$envfile has mode $(stat -c %a "$envfile")"
data=$UA_TEST_TMP/deb-data
rm -rf "$data"
# the installed files, the system's server: the worker on $http + 1
PG_CONFIG=$sysbin/pg_config PRELOAD=user_activity_http CRON_DB=ua PG_EXTRA_CONF="user_activity.http_port = $((http + 1))
user_activity.http_database = 'ua'
user_activity.http_threads = 2
user_activity.http_allow_unauthenticated = on" \
	tests/lib/cluster.sh start "$data" "$pgport"
trap 'PG_CONFIG=$sysbin/pg_config tests/lib/cluster.sh stop "$data"; purge || true' EXIT
psql="$sysbin/psql -X -q -h 127.0.0.1 -p $pgport -U postgres"
$psql -d postgres -c "CREATE DATABASE ua"
$psql -d ua -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION user_activity"
# the unit's environment, then what this machine needs instead
set -a
. "$envfile"
set +a
export DB_URL="host=127.0.0.1 port=$pgport user=user_activity_http dbname=ua"
export HTTP_PORT=$http HTTP_ALLOW_UNAUTHENTICATED=on LOG_LEVEL=warn
setpriv --reuid=nobody --regid=nogroup --clear-groups -- $execstart >"$UA_TEST_TMP/unit-shim.log" 2>&1 &
shim=$!
ready() {
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || return 1
		sleep 0.2
	done
}
if ready "$http" && curl -sf "http://127.0.0.1:$http/" | grep -qi '<!doctype html' &&
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-d '{"user_id": 1, "action": "viewed", "event_action_timestamp": "2025-10-10T18:30:00Z"}' "http://127.0.0.1:$http/api/event")" = 201 ]; then
	ok "\"$execstart\" as nobody with $envfile: /readyz 200, the page at /, POST /api/event 201"
else
	cat "$UA_TEST_TMP/unit-shim.log"
	notok "\"$execstart\" did not serve"
fi
kill -TERM $shim
code=0
wait $shim || code=$?
[ $code = 0 ] && ok "SIGTERM: the shim drained and exited 0" || notok "SIGTERM: exit $code"
if ready $((http + 1)); then
	ok "the installed user_activity_http, preloaded, runs the worker: /readyz 200"
else
	tail -n 20 "$data/server.log"
	notok "the installed worker did not answer"
fi
PG_CONFIG=$sysbin/pg_config tests/lib/cluster.sh stop "$data"
trap 'purge || true' EXIT

echo "-- purge"
if purge; then
	left=
	while read -r f; do
		[ -d "$f" ] && continue
		[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
	done <"$files"
	# the directories the packages alone made
	for d in /usr/share/user-activity /usr/share/doc/user-activity-shim /usr/share/doc/user-activity-page /usr/share/doc/postgresql-15-user-activity; do
		[ -e "$d" ] && left="$left $d"
	done
	[ -z "$left" ] && ok "dpkg --purge left none of the $(wc -l <"$files") paths" || notok "dpkg --purge left$left"
	dpkg -s $pkgs >/dev/null 2>&1 && notok "dpkg still knows the packages" || true
else
	cat "$UA_TEST_TMP/purge.log"
	notok "dpkg --purge failed"
fi
trap - EXIT
exit $status
