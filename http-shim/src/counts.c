/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Endpoints of the counts and of erasure: a user's counts per period
 *	  (GET /api/users/{id}/counts), the most active users (GET
 *	  /api/counts/top), how fresh the counts are (GET /api/counting/status)
 *	  and erasing a user's events (DELETE /api/users/{id}/events).  Each
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
 * Runs a statement returning JSON text, with one parameter or (param NULL)
 * none, and replies 200.
 */
static enum MHD_Result
JsonQuery(ShimRequest *req, ShimQuery q, const char *param)
{
	ShimConn   *conn;
	PGresult   *res;
	ShimDbError err;
	const char *params[1];
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, q)))
		return MHD_YES;
	params[0] = param;
	res = shim_db_exec(conn, q, param ? 1 : 0, params, &err);
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
	char	   *json;
	enum MHD_Result ret;

	if (!CheckId(req))
		return BadId(req);
	json = shim_query_json(req, NULL, "user_id");
	ret = JsonQuery(req, SHIM_Q_USER_COUNTS, json);
	free(json);
	return ret;
}

/* GET /api/counts/top?from=&to=&limit= */
enum MHD_Result
shim_h_top_users(ShimRequest *req)
{
	char	   *json = shim_query_json(req, NULL, NULL);
	enum MHD_Result ret = JsonQuery(req, SHIM_Q_TOP_USERS, json);

	free(json);
	return ret;
}

/* Keeps the name of the first query parameter. */
static enum MHD_Result
FirstArg(void *cls, enum MHD_ValueKind kind, const char *key,
		 const char *value)
{
	(void) kind;
	(void) value;
	*(const char **) cls = key;
	return MHD_NO;
}

/*
 * GET /api/counting/status: how fresh the counts are (counting_status_json).
 * It takes no parameters; one sent anyway is named, as the other queries
 * name an unknown one, rather than ignored.
 */
enum MHD_Result
shim_h_counting_status(ShimRequest *req)
{
	const char *unknown = NULL;
	char		message[128];

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, FirstArg,
							  &unknown);
	if (unknown)
	{
		snprintf(message, sizeof(message), "unknown parameter \"%.64s\"",
				 unknown);
		return shim_problem(req, 400, unknown, message,
							"GET /api/counting/status takes no parameters.",
							"42703", NULL);
	}
	return JsonQuery(req, SHIM_Q_COUNTING_STATUS, NULL);
}

/* DELETE /api/users/{id}/events: events and counts, in one transaction. */
enum MHD_Result
shim_h_delete_user(ShimRequest *req)
{
	if (!CheckId(req))
		return BadId(req);
	return JsonQuery(req, SHIM_Q_DELETE_USER, req->id);
}
