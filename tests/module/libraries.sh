#!/bin/sh
# libraries.sh PORT HTTP_PORT: the extension's two libraries.
#
# The SQL module, user_activity, is what every backend using the extension
# loads: it must link none of the HTTP stack (libmicrohttpd, jansson,
# libcrypto, libpq, threads), and a backend that loaded it must have none of
# it mapped.  The HTTP worker's library, user_activity_http, links them; it
# is loaded into the server, which exports a json_object symbol of its own,
# so it must never call jansson's json_object by name.
#
# Then the upgrade path, on a cluster of its own at PORT: a configuration
# written before the split (user_activity preloaded, http_port set) still
# runs the worker and says once what to preload instead; with both
# libraries preloaded, the SQL module first, the worker keeps its settings
# and nothing is said.  Prints "ok - ..." or "not ok - ..."; exits non-zero
# on failure.
set -eu
cd "$(dirname "$0")/../.."
port=${1:?usage: libraries.sh PORT HTTP_PORT}
http=${2:?usage: libraries.sh PORT HTTP_PORT}
pkglibdir=$(${PG_CONFIG:-pg_config} --pkglibdir)
sql=$pkglibdir/user_activity.so
worker=$pkglibdir/user_activity_http.so
status=0

ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; status=1; }

needed=$(readelf -d "$sql" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ' -)
case " $needed " in
*libmicrohttpd* | *libjansson* | *libcrypto* | *libssl* | *libpq* | *libpthread*)
	notok "user_activity.so needs $needed" ;;
*) ok "user_activity.so needs only $needed" ;;
esac
# A json_ function that the server defines and jansson does not (such as
# json_errdetail) is PostgreSQL's own, not the HTTP stack's.
jansson=$(ldd "$worker" | awk '/libjansson/ { print $3 }')
nm -D --defined-only "$(${PG_CONFIG:-pg_config} --bindir)/postgres" | awk '{ print $3 }' | sort >"$UA_TEST_TMP/server-symbols"
nm -D --defined-only "$jansson" | awk '{ sub(/@.*/, "", $3); print $3 }' | sort >"$UA_TEST_TMP/jansson-symbols"
comm -23 "$UA_TEST_TMP/server-symbols" "$UA_TEST_TMP/jansson-symbols" >"$UA_TEST_TMP/server-own-symbols"
calls=$(nm -D --undefined-only "$sql" | awk '$2 ~ /^(MHD_|json_|PQ|pthread_|SHA256|EVP_)/ {print $2}' |
	grep -vxF -f "$UA_TEST_TMP/server-own-symbols" | paste -sd' ' -)
[ -z "$calls" ] && ok "user_activity.so calls nothing of the HTTP stack" ||
	notok "user_activity.so calls $calls"
needed=$(readelf -d "$worker" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd' ' -)
case " $needed " in
*libmicrohttpd.so*libjansson.so*) ok "user_activity_http.so needs $needed" ;;
*) notok "user_activity_http.so needs $needed, not libmicrohttpd and libjansson" ;;
esac
if nm -D --undefined-only "$worker" | grep -qw json_object; then
	notok "user_activity_http.so references json_object, which the server binds to its own"
else
	ok "user_activity_http.so does not reference json_object"
fi

# A backend that loaded the SQL module (the cluster preloads only pg_cron).
data=$UA_TEST_TMP/libraries-data
tests/lib/cluster.sh start "$data" "$port"
trap 'tests/lib/cluster.sh stop "$data"' EXIT
psql="psql -X -q -At -h 127.0.0.1 -p $port -U postgres -d postgres"
maps=$($psql -v ON_ERROR_STOP=1 <<'SQL'
LOAD 'user_activity';
CREATE TEMP TABLE maps (line text);
COPY maps FROM PROGRAM 'cat /proc/$PPID/maps';
SELECT count(*) FILTER (WHERE line LIKE '%/user_activity.so'),
       count(*) FILTER (WHERE line ~ '/libmicrohttpd|/libjansson|/user_activity_http')
FROM maps;
SQL
)
if [ "${maps%|*}" -ge 1 ] && [ "${maps#*|}" = 0 ]; then
	ok "a backend that loaded user_activity maps neither libmicrohttpd nor jansson"
else
	notok "a backend that loaded user_activity maps (module|HTTP libraries) $maps"
fi
# the worker logs in as the extension's role
$psql -c "CREATE EXTENSION user_activity"

# The configuration of 1.4 and before: user_activity preloaded, port set.
tests/lib/cluster.sh stop "$data"
conf=$data/postgresql.conf
cat >>"$conf" <<CONF
shared_preload_libraries = 'pg_cron,user_activity'
user_activity.http_port = $http
user_activity.http_database = 'postgres'
user_activity.http_threads = 2
user_activity.http_pool_size = 2
CONF
tests/lib/cluster.sh start "$data" "$port"
ready() {
	i=0
	until curl -sf "http://127.0.0.1:$http/healthz" >/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || return 1
		sleep 0.2
	done
}
said() { grep -c 'loading user_activity_http, the library that runs the HTTP worker' "$data/server.log" || true; }
if ready && [ "$(said)" = 1 ] &&
	grep -q 'HINT:  List user_activity_http in shared_preload_libraries instead of user_activity' "$data/server.log"; then
	ok "preloading user_activity with http_port set still runs the worker, and says once what to preload"
else
	notok "the configuration of 1.4 (said $(said) times)"
	tail -n 20 "$data/server.log"
fi

# Both preloaded, the SQL module first: it loads the worker's library
# before reserving the prefix, so the worker's settings keep their values.
tests/lib/cluster.sh stop "$data"
echo "shared_preload_libraries = 'pg_cron,user_activity,user_activity_http'" >>"$conf"
tests/lib/cluster.sh start "$data" "$port"
shown=$($psql -c "SHOW user_activity.http_port")
if ready && [ "$shown" = "$http" ] && [ "$(said)" = 1 ] &&
	! grep -q 'invalid configuration parameter name' "$data/server.log"; then
	ok "user_activity, then user_activity_http preloaded: the worker runs on its port ($shown), nothing said"
else
	notok "user_activity, then user_activity_http preloaded: port \"$shown\", said $(said) times"
	tail -n 20 "$data/server.log"
fi
exit $status
