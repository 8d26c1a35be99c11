# shim-cluster.sh: sourced by the suites that test the HTTP shim.
#
# start_shim_cluster DB starts a throw-away cluster in $data on $pgport with
# the extension's worker library (user_activity_http) preloaded and its
# in-database HTTP worker on 127.0.0.1 port
# $base + 1, serving database DB and a small page in $tmp/static: an index,
# an asset, a hidden file, and a secret beside the page that path traversal
# must never reach.  The worker groups concurrent POSTs unless
# worker_group_commit=off.  On loopback it takes requests without a key
# (user_activity.http_allow_unauthenticated), as "make run" does; the
# access tests start shims that need keys.

start_shim_cluster() {
	static=$tmp/static
	mkdir -p "$static/assets"
	echo '<!doctype html><title>shim test page</title>' >"$static/index.html"
	echo 'console.log("app");' >"$static/assets/app.js"
	echo 'top secret' >"$static/.hidden"
	echo 'top secret' >"$tmp/secret.txt"

	PRELOAD=user_activity_http CRON_DB=$1 PG_EXTRA_CONF="user_activity.http_port = $((base + 1))
user_activity.http_listen_address = '127.0.0.1'
user_activity.http_database = '$1'
user_activity.http_threads = 4
user_activity.http_allow_unauthenticated = on
user_activity.http_group_commit = ${worker_group_commit:-on}
user_activity.http_static_dir = '$static'" \
		tests/lib/cluster.sh start "$data" "$pgport"
}
