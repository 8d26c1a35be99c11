#!/bin/sh
# Run by the nginx image before it starts: with API_BASE_URL set, point the
# page at that API without rebuilding it (public/config.js says how).
set -eu
if [ -n "${API_BASE_URL:-}" ]; then
	escaped=$(printf '%s' "$API_BASE_URL" | sed 's/\\/\\\\/g; s/"/\\"/g')
	printf 'window.USER_ACTIVITY_CONFIG = { apiBaseUrl: "%s" };\n' "$escaped" \
		>/usr/share/nginx/html/config.js
fi
