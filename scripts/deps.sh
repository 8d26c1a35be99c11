#!/bin/sh
# deps.sh: install the Debian packages the project builds, runs and tests
# with.  Only what is missing is installed, so a second run costs nothing.
set -eu

PACKAGES="
build-essential
clang
llvm
libclang-rt-14-dev
postgresql-15
postgresql-server-dev-15
postgresql-server-dev-all
debhelper
lintian
postgresql-15-cron
postgresql-contrib
libpq-dev
libmicrohttpd-dev
libjansson-dev
libssl-dev
libipc-run-perl
prometheus
chromium
wrk
curl
python3
python3-yaml
jq
valgrind
docker-compose
nodejs
npm
"

missing=
for p in $PACKAGES; do
	case $p in
	nodejs|npm)
		# Node.js may come from elsewhere than Debian; any 20+ will do.
		command -v "${p%js}" >/dev/null 2>&1 && continue
		[ "$p" = nodejs ] && command -v node >/dev/null 2>&1 && continue
		;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "deps: installing$missing"
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The Debian package starts a "main" cluster where it can; the project runs
# its own clusters and needs none of it.
exit 0
