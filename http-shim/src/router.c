/*-------------------------------------------------------------------------
 *
 * router.c
 *	  The static route table, the one description of every endpoint, and
 *	  path matching.  A path that matches a template under another method
 *	  yields 405 with the methods to Allow;
 *	  one that matches nothing yields 404 (or the page's static files).
 *	  The route template is also the "path" label of the metrics.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "router.h"

/* ---- the parameters, replies and problems the routes share ---- */

#define Q(name, req, type, format, description) \
	{name, SHIM_IN_QUERY, req, type, format, description}

static const ShimParam user_path[] = {
	{"id", SHIM_IN_PATH, true, "integer", "int64", "the user id"},
	{NULL}
};

static const ShimParam search_params[] = {
	Q("user_id", true, "integer", "int64", "the user"),
	Q("from", true, "string", "date-time", "recorded at or after (RFC 3339)"),
	Q("to", true, "string", "date-time", "recorded before (RFC 3339)"),
	Q("limit", false, "integer", NULL, "page size, 1..1000, default 100"),
	Q("cursor", false, "string", NULL, "from the Link header of the previous page"),
	Q("action", false, "string", NULL, "one action or several joined by commas"),
	Q("action_from", false, "string", "date-time", "user action at or after"),
	Q("action_to", false, "string", "date-time", "user action before"),
	Q("metadata", false, "string", NULL,
	  "a JSON object; only events whose metadata contains it, such as {\"device\":\"iPhone 14\"}"),
	Q("offset", false, "integer", NULL, "legacy paging, without cursor"),
	{NULL}
};

static const ShimParam user_counts_params[] = {
	{"id", SHIM_IN_PATH, true, "integer", "int64", "the user id"},
	Q("from", true, "string", "date-time", "periods starting at or after"),
	Q("to", true, "string", "date-time", "periods starting before"),
	{NULL}
};

static const ShimParam activity_params[] = {
	{"id", SHIM_IN_PATH, true, "integer", "int64", "the user id"},
	Q("from", true, "string", "date-time", "the first bucket holds this time (RFC 3339)"),
	Q("to", true, "string", "date-time", "buckets start before this time (RFC 3339)"),
	Q("bucket", false, "string", NULL, "hour, day (default), week or month"),
	Q("by", false, "string", NULL, "acted (default: the time the user acted) or recorded"),
	Q("tz", false, "string", NULL, "the time zone buckets are local to, default UTC"),
	{NULL}
};

static const ShimParam active_users_params[] = {
	Q("from", true, "string", "date-time", "the first bucket holds this time (RFC 3339)"),
	Q("to", true, "string", "date-time", "buckets start before this time (RFC 3339)"),
	Q("bucket", false, "string", NULL, "hour, day (default), week or month"),
	Q("action", false, "string", NULL, "only users with an event of this action"),
	Q("tz", false, "string", NULL, "the time zone buckets are local to, default UTC"),
	{NULL}
};

static const ShimParam top_users_params[] = {
	Q("from", true, "string", "date-time", "periods starting at or after"),
	Q("to", true, "string", "date-time", "periods starting before"),
	Q("limit", false, "integer", NULL, "how many users, default 10"),
	{NULL}
};

static const int input_problems[] = {400, 401, 413, 500, 503, 0};
static const int read_problems[] = {400, 401, 500, 503, 0};
static const int ready_problems[] = {503, 0};
static const int no_problems[] = {0};

static const ShimReplyDoc record_event_replies[] = {
	{201, "stored", "application/json", "Event"},
	{200, "duplicate event_id: the event first stored", "application/json", "Event"},
	{0}
};

static const ShimReplyDoc record_events_replies[] = {
	{201, "every item stored", "application/json", "BatchResult"},
	{207, "some items duplicate or rejected; one result per item",
	"application/json", "BatchResult"},
	{0}
};

static const ShimReplyDoc search_replies[] = {
	{200, "one page (JSON; Link rel=\"next\" while more remain), or with Accept application/x-ndjson or text/csv every match, streamed",
	"application/json", "[]Event", true},
	{200, NULL, "application/x-ndjson", "string"},
	{200, NULL, "text/csv", "string"},
	{429, "an export while HTTP_MAX_EXPORTS exports stream already (Retry-After)",
	"application/problem+json", "Problem"},
	{0}
};

static const ShimReplyDoc user_counts_replies[] = {
	{200, "counts per period and in total", "application/json", "object"},
	{0}
};

static const ShimReplyDoc activity_replies[] = {
	{200, "the user's events per bucket, per action and in total; empty buckets as zeros",
	"application/json", "object"},
	{0}
};

static const ShimReplyDoc active_users_replies[] = {
	{200, "distinct users with at least one event, per bucket", "application/json", "object"},
	{0}
};

static const ShimReplyDoc top_users_replies[] = {
	{200, "the most active users", "application/json", "array"},
	{0}
};

static const ShimReplyDoc counting_status_replies[] = {
	{200, "the last run and the last success, the position, the pg_cron job, its next run and expected interval (nulls where unknown)",
	"application/json", "CountingStatus"},
	{0}
};

static const ShimReplyDoc erasure_replies[] = {
	{200, "erased: how many events and count rows", "application/json", "object"},
	{0}
};

static const ShimReplyDoc metrics_replies[] = {
	{200, "Prometheus text format", "text/plain", "string"},
	{0}
};

static const ShimReplyDoc ready_replies[] = {
	{200, "ready", "application/json", "object"},
	{0}
};

static const ShimReplyDoc ok_replies[] = {
	{200, "OK", "application/json", "object"},
	{0}
};

/*
 * The route table: every endpoint once.  The prepared statements (db.c),
 * how dispatch runs a request (dispatch.c), Allow, the key scopes and the
 * OpenAPI document (ops.c) are all read from it.
 */
const ShimRoute shim_routes[] = {
	{
		.method = "POST",.path = "/api/event",.auth = SHIM_AUTH_WRITE,
		.run = SHIM_RUN_GROUP,.handler = shim_h_post_event,
		.done = shim_post_event_done,
		/* the reply's status and metrics need two fields: the server has them */
		.stmt = {SHIM_Q_RECORD_EVENT, "record_event",
			"SELECT r::pg_catalog.text, r OPERATOR(pg_catalog.->>) 'status', "
			"r OPERATOR(pg_catalog.->>) 'action' "
		"FROM user_activity.record_event($1::pg_catalog.jsonb) AS r", 1, {"@body"}},
		/* the same columns, then the error of a request whose event failed */
		.group = {SHIM_Q_RECORD_EVENT_EACH, "record_event_each",
			"SELECT r.event::pg_catalog.text, r.event OPERATOR(pg_catalog.->>) 'status', "
			"r.event OPERATOR(pg_catalog.->>) 'action', "
			"r.error OPERATOR(pg_catalog.->>) 'sqlstate', r.error OPERATOR(pg_catalog.->>) 'field', "
			"r.error OPERATOR(pg_catalog.->>) 'message', r.error OPERATOR(pg_catalog.->>) 'detail' "
		"FROM user_activity.record_event_each($1::pg_catalog.text[]) AS r", 1, {"@bodies"}},
		.operation_id = "recordEvent",.summary = "Record one event",
		.body_schema = "EventInput",.replies = record_event_replies,
		.problems = input_problems
	},
	{
		.method = "POST",.path = "/api/events",.auth = SHIM_AUTH_WRITE,
		.run = SHIM_RUN_JOB,.handler = shim_h_post_events,
		/*
		 * The reply, and what the metrics count: the stored events'
		 * actions, the duplicates and the rejected items' fields, from
		 * the items and their results, the body parsed once.
		 */
		.stmt = {SHIM_Q_RECORD_EVENTS, "record_events",
			"WITH i AS (SELECT $1::pg_catalog.jsonb AS items), "
			"r AS (SELECT user_activity.record_events(i.items) AS r, i.items FROM i), "
			"e AS (SELECT r.items, x FROM r, "
			"pg_catalog.jsonb_array_elements(r.r OPERATOR(pg_catalog.->) 'results') AS x) "
			"SELECT r.r::pg_catalog.text, "
			"(SELECT pg_catalog.string_agg((e.items OPERATOR(pg_catalog.->) "
			"(e.x OPERATOR(pg_catalog.->>) 'index')::pg_catalog.int4) "
			"OPERATOR(pg_catalog.->>) 'action', ',') FROM e "
			"WHERE e.x OPERATOR(pg_catalog.->>) 'status' OPERATOR(pg_catalog.=) 'stored'), "
			"r.r OPERATOR(pg_catalog.->>) 'duplicates', "
			"(SELECT pg_catalog.string_agg(CASE WHEN e.x OPERATOR(pg_catalog.#>>) '{error,sqlstate}' "
			"OPERATOR(pg_catalog.=) '42703' THEN 'unknown_field' ELSE "
			"COALESCE(e.x OPERATOR(pg_catalog.#>>) '{error,field}', 'other') END, ',') FROM e "
			"WHERE e.x OPERATOR(pg_catalog.->>) 'status' OPERATOR(pg_catalog.=) 'rejected') "
		"FROM r", 1, {"@body"}},
		.operation_id = "recordEvents",.summary = "Record a batch of events",
		.body_schema = "[]EventInput",.replies = record_events_replies,
		.problems = input_problems
	},
	{
		.method = "GET",.path = "/api/events",.auth = SHIM_AUTH_READ,
		.run = SHIM_RUN_PIPELINE,.handler = shim_h_get_events,
		.done = shim_get_events_done,
		.stmt = {SHIM_Q_SEARCH_EVENTS, "search_events",
			"SELECT body, next_cursor FROM user_activity.search_events("
			"$1::pg_catalog.text, $2::pg_catalog.text, $3::pg_catalog.text, "
			"$4::pg_catalog.text, $5::pg_catalog.text, $6::pg_catalog.text, "
			"$7::pg_catalog.text, $8::pg_catalog.text, $9::pg_catalog.text, "
			"$10::pg_catalog.text)", 10,
			{"user_id", "from", "to", "limit", "cursor", "action", "action_from",
		"action_to", "metadata", "offset"}},
		/* every match: paging parameters do not apply */
		.stream = {SHIM_Q_EXPORT_EVENTS, "export_events",
			"SELECT user_activity.export_events("
			"$1::pg_catalog.text, $2::pg_catalog.text, $3::pg_catalog.text, "
			"$4::pg_catalog.text, $5::pg_catalog.text, $6::pg_catalog.text, "
			"$7::pg_catalog.text, $8::pg_catalog.text)", 8,
			{"user_id", "from", "to", "action", "action_from", "action_to",
		"metadata", "@format"}},
		.export_format = shim_export_format,
		.strict_query = true,
		.operation_id = "searchEvents",
		.summary = "Find a user's events by recorded time, or export them all",
		.params = search_params,.replies = search_replies,
		.problems = read_problems
	},
	{
		.method = "GET",.path = "/api/users/{id}/counts",.auth = SHIM_AUTH_READ,
		.run = SHIM_RUN_JOB,.handler = shim_h_user_counts,
		.stmt = {SHIM_Q_USER_COUNTS, "user_counts",
			"SELECT user_activity.user_counts_json($1::pg_catalog.text, "
		"$2::pg_catalog.text, $3::pg_catalog.text)", 3, {"id", "from", "to"}},
		.strict_query = true,
		.operation_id = "userCounts",
		.summary = "A user's counted activity per period",
		.params = user_counts_params,.replies = user_counts_replies,
		.problems = read_problems
	},
	{
		.method = "GET",.path = "/api/users/{id}/activity",.auth = SHIM_AUTH_READ,
		.run = SHIM_RUN_JOB,.handler = shim_h_user_activity,
		.stmt = {SHIM_Q_USER_ACTIVITY, "user_activity",
			"SELECT user_activity.activity_json($1::pg_catalog.text, "
			"$2::pg_catalog.text, $3::pg_catalog.text, $4::pg_catalog.text, "
			"$5::pg_catalog.text, $6::pg_catalog.text)", 6,
		{"id", "from", "to", "bucket", "by", "tz"}},
		.strict_query = true,
		.operation_id = "userActivity",
		.summary = "A user's activity over time, per bucket and action",
		.params = activity_params,.replies = activity_replies,
		.problems = read_problems
	},
	{
		.method = "GET",.path = "/api/active-users",.auth = SHIM_AUTH_READ,
		.run = SHIM_RUN_JOB,.handler = shim_h_active_users,
		.stmt = {SHIM_Q_ACTIVE_USERS, "active_users",
			"SELECT user_activity.active_users_json($1::pg_catalog.text, "
			"$2::pg_catalog.text, $3::pg_catalog.text, $4::pg_catalog.text, "
			"$5::pg_catalog.text)", 5,
		{"from", "to", "bucket", "action", "tz"}},
		.strict_query = true,
		.operation_id = "activeUsers",
		.summary = "Distinct active users per hour, day, week or month",
		.params = active_users_params,.replies = active_users_replies,
		.problems = read_problems
	},
	{
		.method = "DELETE",.path = "/api/users/{id}/events",
		.auth = SHIM_AUTH_ADMIN,.run = SHIM_RUN_JOB,
		.handler = shim_h_delete_user,
		.stmt = {SHIM_Q_DELETE_USER, "delete_user_events",
		"SELECT user_activity.delete_user_events($1::pg_catalog.int8)::pg_catalog.text", 1, {"id"}},
		.operation_id = "deleteUserEvents",
		.summary = "Erase a user's events and counts",
		.params = user_path,.replies = erasure_replies,
		.problems = read_problems
	},
	{
		.method = "GET",.path = "/api/counts/top",.auth = SHIM_AUTH_READ,
		.run = SHIM_RUN_JOB,.handler = shim_h_top_users,
		.stmt = {SHIM_Q_TOP_USERS, "top_users",
			"SELECT user_activity.top_users_json($1::pg_catalog.text, "
		"$2::pg_catalog.text, $3::pg_catalog.text)", 3, {"from", "to", "limit"}},
		.strict_query = true,
		.operation_id = "topUsers",
		.summary = "The most active users over a time range",
		.params = top_users_params,.replies = top_users_replies,
		.problems = read_problems
	},
	{
		.method = "GET",.path = "/api/counting/status",.auth = SHIM_AUTH_READ,
		.run = SHIM_RUN_JOB,.handler = shim_h_counting_status,
		.stmt = {SHIM_Q_COUNTING_STATUS, "counting_status",
		"SELECT user_activity.counting_status_json()", 0},
		.strict_query = true,
		.operation_id = "countingStatus",
		.summary = "How fresh the counts are: the last run, the position, the pg_cron job",
		.replies = counting_status_replies,.problems = read_problems
	},
	{
		.method = "GET",.path = "/api/openapi.json",.auth = SHIM_AUTH_NONE,
		.run = SHIM_RUN_HTTP,.handler = shim_h_openapi,
		.operation_id = "openapi",.summary = "This description",
		.replies = ok_replies,.problems = no_problems
	},
	{
		.method = "GET",.path = "/healthz",.auth = SHIM_AUTH_NONE,
		.run = SHIM_RUN_HTTP,.handler = shim_h_healthz,
		.operation_id = "healthz",.summary = "The process is alive",
		.replies = ok_replies,.problems = no_problems
	},
	{
		.method = "GET",.path = "/readyz",.auth = SHIM_AUTH_NONE,
		.run = SHIM_RUN_JOB,.handler = shim_h_readyz,
		.stmt = {SHIM_Q_PING, "ping", "SELECT 1", 0},
		.operation_id = "readyz",
		.summary = "The database is reachable and the shim is not shutting down",
		.replies = ready_replies,.problems = ready_problems
	},
	{
		.method = "GET",.path = "/metrics",.auth = SHIM_AUTH_NONE,
		.run = SHIM_RUN_JOB,.handler = shim_h_metrics,
		.operation_id = "metrics",.summary = "Prometheus metrics",
		.replies = metrics_replies,.problems = no_problems
	},
};

const int	shim_route_count = sizeof(shim_routes) / sizeof(shim_routes[0]);

/* shim_routes_register is declared in router.h: see there. */
void
shim_routes_register(void)
{
	int			i;

	for (i = 0; i < shim_route_count; i++)
	{
		const ShimStatement *st[3] = {&shim_routes[i].stmt,
		&shim_routes[i].stream, &shim_routes[i].group};
		int			k;

		for (k = 0; k < 3; k++)
		{
			if (st[k]->sql == NULL)
				continue;
			shim_db_register(st[k]);
			shim_metrics_query(st[k]->id, st[k]->name);
		}
	}
	shim_metrics_routes(shim_route_count + 2, shim_route_label);
}

/* Paths the page's files must never shadow. */
bool
shim_api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

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
