#!/bin/sh
# Run by the nginx image before it starts (and by tests/suites/30-frontend.sh
# with WEB_ROOT set): writes the page's runtime settings, config.js, from the
# environment, so that the same image serves any API with any keys.
#
#   API_BASE_URL, else VITE_API_BASE_URL, else REACT_APP_API_BASE_URL (the
#       original page's name), else API_BASE_URL_DEFAULT: where the API is.
#       None set: the URL the page was built with, else its own origin.
#   WEB_API_KEY_READ, WEB_API_KEY_WRITE: the keys the page sends for
#       queries and for recording, unless a user enters others under
#       "Connection".  Whoever can load the page can read them: give it a
#       read and a write key, never the admin key.
#   WEB_ROOT: where config.js goes (default /usr/share/nginx/html).
#
# Nothing set: config.js stays as built (public/config.js, empty).  A value
# with a control character stops the container with one line.
set -eu
root=${WEB_ROOT:-/usr/share/nginx/html}
me=40-user-activity-config.sh

base=${API_BASE_URL:-${VITE_API_BASE_URL:-${REACT_APP_API_BASE_URL:-${API_BASE_URL_DEFAULT:-}}}}
read_key=${WEB_API_KEY_READ:-}
write_key=${WEB_API_KEY_WRITE:-}
[ -n "$base$read_key$write_key" ] || exit 0

# check NAME VALUE: stops unless VALUE fits in a JavaScript string as is.
nl='
'
check() {
	case $2 in
	*"$nl"*) bad=1 ;;
	*) bad=$(printf '%s' "$2" | LC_ALL=C grep -c '[[:cntrl:]]' || :) ;;
	esac
	if [ "$bad" != 0 ]; then
		echo "$me: $1 holds a control character" >&2
		exit 1
	fi
}
# json VALUE: a checked VALUE as a JSON string (also safe inside <script>).
json() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/</\\u003c/g')"
}
check "the API URL" "$base"
check WEB_API_KEY_READ "$read_key"
check WEB_API_KEY_WRITE "$write_key"

{
	echo '/* Written at container start by 40-user-activity-config.sh. */'
	printf 'window.USER_ACTIVITY_CONFIG = {'
	sep=
	if [ -n "$base" ]; then
		printf ' "apiBaseUrl": %s' "$(json "$base")"
		sep=,
	fi
	if [ -n "$read_key$write_key" ]; then
		printf '%s "apiKeys": { "read": %s, "write": %s }' "$sep" \
			"$(json "$read_key")" "$(json "$write_key")"
	fi
	echo ' };'
} >"$root/config.js.tmp"
mv "$root/config.js.tmp" "$root/config.js"
said() { if [ -n "$1" ]; then echo set; else echo "not set"; fi; }
echo "$me: config.js: API ${base:-as built}, read key $(said "$read_key"), write key $(said "$write_key")"
