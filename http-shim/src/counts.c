/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Endpoints of the counts and of erasure: a user's counts per period
 *	  (GET /api/users/{id}/counts), the most active users (GET
 *	  /api/counts/top), how fresh the counts are (GET /api/counting/status),
 *	  a user's activity over time (GET /api/users/{id}/activity), active
 *	  users (GET /api/active-users) and erasing a user's events (DELETE
 *	  /api/users/{id}/events).  Each
 *	  runs one statement returning JSON text on a job thread, and passes it
 *	  on.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* A path id must look like an integer; its range is the extension's. */
static bool
CheckId(ShimRequest *req)
{
	const char *p = req->id;

	if (*p == '-' || *p == '+')
		p++;
	if (*p == '\0')
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static enum MHD_Result
BadId(ShimRequest *req)
{
	return shim_problem(req, 400, "user_id", "invalid user id",
						"Path segment {id} (field \"user_id\") must be a positive integer.",
						"22P02", NULL);
}

/*
 * Runs the request's statement, which returns JSON text, and replies 200.
 */
static enum MHD_Result
JsonQuery(ShimRequest *req, ShimQuery q)
{
	ShimConn   *conn;
	PGresult   *res;
	ShimDbError err;
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, q)))
		return MHD_YES;
	res = shim_db_exec(conn, q, req->stmt ? req->stmt->nparams : 0,
					   req->args, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
		return shim_problem_db(req, q, &err);
	ret = shim_reply_json(req, 200, PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return ret;
}

/* GET /api/users/{id}/counts?from=&to= */
enum MHD_Result
shim_h_user_counts(ShimRequest *req)
{
	if (!CheckId(req))
		return BadId(req);
	return JsonQuery(req, SHIM_Q_USER_COUNTS);
}

/* GET /api/users/{id}/activity?from=&to=&bucket=&by=&tz= */
enum MHD_Result
shim_h_user_activity(ShimRequest *req)
{
	if (!CheckId(req))
		return BadId(req);
	return JsonQuery(req, SHIM_Q_USER_ACTIVITY);
}

/* GET /api/active-users?from=&to=&bucket=&action=&tz= */
enum MHD_Result
shim_h_active_users(ShimRequest *req)
{
	return JsonQuery(req, SHIM_Q_ACTIVE_USERS);
}

/* GET /api/counts/top?from=&to=&limit= */
enum MHD_Result
shim_h_top_users(ShimRequest *req)
{
	return JsonQuery(req, SHIM_Q_TOP_USERS);
}

/*
 * GET /api/counting/status: how fresh the counts are (counting_status_json).
 * It takes no parameters; one sent anyway is refused by dispatch, as the
 * other queries refuse an unknown one.
 */
enum MHD_Result
shim_h_counting_status(ShimRequest *req)
{
	return JsonQuery(req, SHIM_Q_COUNTING_STATUS);
}

/* DELETE /api/users/{id}/events: events and counts, in one transaction. */
enum MHD_Result
shim_h_delete_user(ShimRequest *req)
{
	if (!CheckId(req))
		return BadId(req);
	return JsonQuery(req, SHIM_Q_DELETE_USER);
}
