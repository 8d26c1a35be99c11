/*-------------------------------------------------------------------------
 *
 * dispatch.c
 *	  Dispatch: the route, method and key of a request, decided from its
 *	  head on the first callback (so that a request answered 404, 405 or
 *	  401 has none of its body read), and once its body is in, the executor
 *	  its route's entry names: the HTTP thread itself, a statement sent
 *	  without blocking (async.c), or a job thread (jobs.c).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "dispatch.h"

/*
 * Authorize checks the request's API key against its route's level: with
 * HTTP_ALLOW_UNAUTHENTICATED (loopback only) every route is open, else
 * each /api route needs a key of its scope or the admin scope.  Every
 * refusal is the same 401, whatever its reason: the reason goes to the
 * metrics only.  Replies itself (the outcome in *ret) and returns false.
 */
static bool
Authorize(ShimRequest *req, ShimAuth level, enum MHD_Result *ret)
{
	static const ShimHeader h[] = {
		{"WWW-Authenticate", "Bearer realm=\"user_activity\""}, {NULL, NULL}
	};
	ShimAuthResult r;

	if (level == SHIM_AUTH_NONE || req->shim->cfg.allow_unauthenticated)
		return true;
	r = shim_keys_check(req->shim->keys,
						MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
													MHD_HTTP_HEADER_AUTHORIZATION),
						level);
	if (r == SHIM_AUTH_OK)
		return true;
	shim_metrics_auth_failure(r);
	*ret = shim_problem(req, 401, "Authorization", "missing or wrong API key",
						"Header \"Authorization\" must be \"Bearer <key>\" with a valid key of this endpoint's scope or of the admin scope.",
						NULL, h);
	return false;
}

/*
 * SendAsync sends the request's statement (its parameters bound) from
 * this thread when a pooled connection is idle, or with group, the
 * route's group statement, queues it for a group commit, and suspends the
 * request until async.c has the result; see there why.  False when the
 * request must go to a job thread instead.
 */
static bool
SendAsync(ShimRequest *req, ShimQuery q, const ShimStatement *group,
		  ShimAsyncDone done)
{
	Shim	   *shim = req->shim;

	if (shim->async == NULL)
		return false;

	/*
	 * Counted as suspended before looking whether the shim is stopping:
	 * shim_stop sets async_closed before it waits for that count to reach
	 * zero, so either it waits for this request or the request sees the
	 * flag.
	 */
	req->deferred = true;
	__atomic_add_fetch(&shim->suspended, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&shim->async_closed, __ATOMIC_SEQ_CST) &&
		shim_async_send(shim->async, req, q, group, done))
		return true;
	__atomic_sub_fetch(&shim->suspended, 1, __ATOMIC_SEQ_CST);
	req->deferred = false;
	return false;
}

/*
 * shim_dispatch_head is declared in dispatch.h.  It runs on the first
 * callback, so none of these reads a byte of the body (a body that follows
 * is never read: the connection closes).
 */
bool
shim_dispatch_head(ShimRequest *req, enum MHD_Result *ret)
{
	if (req->route == SHIM_MATCH_METHOD)
	{
		ShimHeader	h[] = {{"Allow", req->allow}, {NULL, NULL}};
		char		detail[160];

		req->route = shim_route_for_path(req->path);
		snprintf(detail, sizeof(detail),
				 "Method %s is not allowed here; allowed: %s.", req->method,
				 req->allow);
		*ret = shim_problem(req, 405, NULL, "method not allowed", detail,
							NULL, h);
		return false;
	}
	if (req->route == SHIM_MATCH_NONE)
	{
		if (req->shim->cfg.static_dir[0] && !shim_api_path(req->path) &&
			(strcmp(req->method, "GET") == 0 ||
			 strcmp(req->method, "HEAD") == 0))
		{
			req->route = SHIM_ROUTE_STATIC;
			*ret = shim_h_static(req);
			return false;
		}
		req->route = SHIM_ROUTE_UNMATCHED;
		*ret = shim_problem(req, 404, NULL, "not found",
							"No endpoint has this path; see /api/openapi.json.",
							NULL, NULL);
		return false;
	}
	return Authorize(req, shim_routes[req->route].auth, ret);
}

/* The values of a route's query parameters, and the first unknown one. */
typedef struct QueryValues
{
	const ShimRoute *route;
	const char *values[SHIM_MAX_ARGS];	/* by index in route->params */
	const char *unknown;
} QueryValues;

static enum MHD_Result
CollectQuery(void *cls, enum MHD_ValueKind kind, const char *key,
			 const char *value)
{
	QueryValues *qv = cls;
	const ShimParam *p;
	int			i = 0;

	(void) kind;
	for (p = qv->route->params; p && p->name && i < SHIM_MAX_ARGS; p++, i++)
	{
		if (p->in == SHIM_IN_QUERY && strcmp(p->name, key) == 0)
		{
			/* the last of a repeated parameter; "?name" is "?name=" */
			qv->values[i] = value ? value : "";
			return MHD_YES;
		}
	}
	if (qv->unknown == NULL)
		qv->unknown = key;
	return MHD_YES;
}

/*
 * UnknownParameter refuses a query parameter that the route does not take,
 * naming it and the ones it does.
 */
static enum MHD_Result
UnknownParameter(ShimRequest *req, const ShimRoute *route, const char *name)
{
	char		message[128];
	ShimBuf		detail;
	const ShimParam *p;
	int			n = 0;
	enum MHD_Result ret;

	snprintf(message, sizeof(message), "unknown parameter \"%.64s\"", name);
	shim_buf_init(&detail);
	for (p = route->params; p && p->name; p++)
		if (p->in == SHIM_IN_QUERY)
			shim_buf_printf(&detail, "%s%s", n++ ? ", " : "The parameters are ",
							p->name);
	if (n > 0)
		shim_buf_puts(&detail, ".");
	else
		shim_buf_printf(&detail, "%s %s takes no parameters.", route->method,
						route->path);
	ret = shim_problem(req, 400, name, message, detail.data, "42703", NULL);
	shim_buf_free(&detail);
	return ret;
}

/*
 * BindArgs points each parameter of st at its value as it came: a query
 * parameter (NULL when absent), the path's id, the body, or the format.
 */
static void
BindArgs(ShimRequest *req, const ShimRoute *route, const ShimStatement *st,
		 const QueryValues *qv, const char *format)
{
	int			k;

	req->stmt = st;
	for (k = 0; k < st->nparams; k++)
	{
		const char *name = st->args[k];
		const ShimParam *p;
		int			i = 0;

		req->args[k] = NULL;
		if (name == NULL)
			continue;
		if (strcmp(name, "@body") == 0)
			req->args[k] = req->body.data;
		else if (strcmp(name, "@format") == 0)
			req->args[k] = format;
		else
			for (p = route->params; p && p->name; p++, i++)
				if (strcmp(p->name, name) == 0)
				{
					req->args[k] = p->in == SHIM_IN_PATH ? req->id :
						qv->values[i];
					break;
				}
	}
}

/* shim_dispatch is declared in dispatch.h: see there. */
enum MHD_Result
shim_dispatch(ShimRequest *req)
{
	static const ShimHeader retry[] = {{"Retry-After", "1"}, {NULL, NULL}};
	const ShimRoute *route = &shim_routes[req->route];
	const char *content_type;
	const char *format = NULL;
	QueryValues qv;

	if (route->strict_query || route->stmt.nparams > 0)
	{
		memset(&qv, 0, sizeof(qv));
		qv.route = route;
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND,
								  CollectQuery, &qv);
		if (route->strict_query && qv.unknown)
			return UnknownParameter(req, route, qv.unknown);
		if (route->export_format)
			format = route->export_format(req, &content_type);
		BindArgs(req, route, format ? &route->stream : &route->stmt, &qv,
				 format);
	}

	/* what a job thread runs, should the request go to one */
	req->handler = route->handler;
	switch (route->run)
	{
		case SHIM_RUN_HTTP:
			return route->handler(req);
		case SHIM_RUN_PIPELINE:
		case SHIM_RUN_GROUP:
			if (format)
			{
				req->handler = shim_exec_export;
				break;
			}
			if (SendAsync(req, route->stmt.id,
						  route->run == SHIM_RUN_GROUP ? &route->group : NULL,
						  route->done))
				return MHD_YES;
			break;
		case SHIM_RUN_JOB:
			break;
	}

	/*
	 * To a job thread; while stopping, 503: the daemon must not be left
	 * with suspended requests, and this thread does not wait on the
	 * database.
	 */
	if (shim_jobs_submit(req->shim, req, req->handler))
		return MHD_YES;
	return shim_problem(req, 503, NULL, "shutting down",
						"The shim is draining its requests before it stops.",
						NULL, retry);
}
