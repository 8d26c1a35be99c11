/*-------------------------------------------------------------------------
 *
 * router.c
 *	  The static route table and path matching.  A path that matches a
 *	  template under another method yields 405 with the methods to Allow;
 *	  one that matches nothing yields 404 (or the page's static files).
 *	  The route template is also the "path" label of the metrics.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const ShimRoute shim_routes[] = {
	{"POST", "/api/event", shim_h_post_event, SHIM_AUTH_WRITE, true,
	"recordEvent", "Record one event"},
	{"POST", "/api/events", shim_h_post_events, SHIM_AUTH_WRITE, true,
	"recordEvents", "Record a batch of events"},
	{"GET", "/api/events", shim_h_get_events, SHIM_AUTH_READ, false,
	"searchEvents", "Find a user's events by recorded time, or export them all"},
	{"GET", "/api/users/{id}/counts", shim_h_user_counts, SHIM_AUTH_READ, false,
	"userCounts", "A user's counted activity per period"},
	{"DELETE", "/api/users/{id}/events", shim_h_delete_user, SHIM_AUTH_ADMIN,
	false, "deleteUserEvents", "Erase a user's events and counts"},
	{"GET", "/api/counts/top", shim_h_top_users, SHIM_AUTH_READ, false,
	"topUsers", "The most active users over a time range"},
	{"GET", "/api/counting/status", shim_h_counting_status, SHIM_AUTH_READ,
		false, "countingStatus",
	"How fresh the counts are: the last run, the position, the pg_cron job"},
	{"GET", "/api/openapi.json", shim_h_openapi, SHIM_AUTH_NONE, false,
	"openapi", "This description"},
	{"GET", "/healthz", shim_h_healthz, SHIM_AUTH_NONE, false,
	"healthz", "The process is alive"},
	{"GET", "/readyz", shim_h_readyz, SHIM_AUTH_NONE, false,
	"readyz", "The database is reachable and the shim is not shutting down"},
	{"GET", "/metrics", shim_h_metrics, SHIM_AUTH_NONE, false,
	"metrics", "Prometheus metrics"},
};

const int	shim_route_count = sizeof(shim_routes) / sizeof(shim_routes[0]);

/*
 * PathMatches compares a path with a template segment by segment; "{id}"
 * matches one non-empty segment, which is copied to id.
 */
static bool
PathMatches(const char *tmpl, const char *path, char *id, size_t idlen)
{
	while (*tmpl && *path)
	{
		if (strncmp(tmpl, "{id}", 4) == 0)
		{
			size_t		n = strcspn(path, "/");

			if (n == 0)
				return false;
			if (id && n < idlen)
			{
				memcpy(id, path, n);
				id[n] = '\0';
			}
			else if (id)
				id[0] = '\0';	/* too long to be an id */
			tmpl += 4;
			path += n;
			continue;
		}
		if (*tmpl != *path)
			return false;
		tmpl++;
		path++;
	}
	return *tmpl == '\0' && *path == '\0';
}

/*
 * shim_route_match returns the index of the route for method and path,
 * SHIM_MATCH_METHOD (with allow listing the path's methods) or
 * SHIM_MATCH_NONE.  HEAD is served as GET; OPTIONS is answered by the
 * caller for every known path.
 */
int
shim_route_match(const char *method, const char *path, char *id, size_t idlen,
				 char *allow, size_t allowlen)
{
	int			i;
	bool		path_known = false;
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;

	if (allow && allowlen)
		allow[0] = '\0';
	for (i = 0; i < shim_route_count; i++)
	{
		if (!PathMatches(shim_routes[i].path, path, NULL, 0))
			continue;
		if (strcmp(shim_routes[i].method, m) == 0)
		{
			PathMatches(shim_routes[i].path, path, id, idlen);
			return i;
		}
		path_known = true;
	}
	if (!path_known)
		return SHIM_MATCH_NONE;
	if (allow)
	{
		size_t		used = 0;

		for (i = 0; i < shim_route_count; i++)
		{
			if (!PathMatches(shim_routes[i].path, path, NULL, 0))
				continue;
			used += snprintf(allow + used, allowlen - used, "%s%s",
							 used ? ", " : "", shim_routes[i].method);
			if (used >= allowlen)
				break;
			if (strcmp(shim_routes[i].method, "GET") == 0)
				used += snprintf(allow + used, allowlen - used, ", HEAD");
			if (used >= allowlen)
				break;
		}
		if (used < allowlen)
			snprintf(allow + used, allowlen - used, ", OPTIONS");
	}
	return SHIM_MATCH_METHOD;
}

const char *
shim_route_label(int route)
{
	if (route >= 0 && route < shim_route_count)
		return shim_routes[route].path;
	if (route == SHIM_ROUTE_STATIC)
		return "/{static}";
	return "/{unmatched}";
}

/* The first route whose template matches path, for the metrics' label. */
int
shim_route_for_path(const char *path)
{
	int			i;

	for (i = 0; i < shim_route_count; i++)
		if (PathMatches(shim_routes[i].path, path, NULL, 0))
			return i;
	return SHIM_ROUTE_UNMATCHED;
}
