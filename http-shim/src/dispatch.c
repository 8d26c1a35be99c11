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
 * SendAsync sends the request's statement (its body the one parameter) from
 * this thread when a pooled connection is idle, and suspends the request
 * until async.c has the result; see there why.  False when the request
 * must go to a job thread instead.
 */
static bool
SendAsync(ShimRequest *req, ShimQuery q, bool grouped, ShimAsyncDone done)
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
		shim_async_send(shim->async, req, q, grouped, done))
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

/* shim_dispatch is declared in dispatch.h: see there. */
enum MHD_Result
shim_dispatch(ShimRequest *req)
{
	static const ShimHeader retry[] = {{"Retry-After", "1"}, {NULL, NULL}};
	const ShimRoute *route = &shim_routes[req->route];
	const char *content_type;

	/* what a job thread runs, should the request go to one */
	req->handler = route->handler;
	switch (route->run)
	{
		case SHIM_RUN_HTTP:
			return route->handler(req);
		case SHIM_RUN_PIPELINE:
		case SHIM_RUN_GROUP:
			if (route->export_format &&
				route->export_format(req, &content_type) != NULL)
			{
				req->handler = shim_exec_export;
				break;
			}
			if ((route->prepare == NULL || route->prepare(req)) &&
				SendAsync(req, route->stmt.id, route->run == SHIM_RUN_GROUP,
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
