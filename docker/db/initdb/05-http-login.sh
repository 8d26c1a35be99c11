#!/bin/sh
# First start only: how user_activity_http, the login role of the extension's
# in-database HTTP worker, authenticates.  The worker runs inside the server,
# as the operating system user postgres, and connects over the local socket;
# so that role may log in there by peer authentication, mapped from the OS
# user postgres only, and nowhere over TCP.  These lines go ahead of the
# image's own (which trust local connections and ask a password over TCP).
# The worker stays off in compose (user_activity.http_port = 0), but turning
# it on needs nothing more.  The entrypoint restarts the server after the
# init scripts, which reads both files.
set -eu

hba=$PGDATA/pg_hba.conf
{
	echo '# user_activity_http: the in-database HTTP worker, OS user postgres only (05-http-login.sh)'
	echo 'local   all   user_activity_http   peer map=user_activity_http'
	echo 'host    all   user_activity_http   all   reject'
	cat "$hba"
} >"$hba.new"
mv "$hba.new" "$hba"
echo 'user_activity_http   postgres   user_activity_http' >>"$PGDATA/pg_ident.conf"
