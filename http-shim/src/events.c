/*-------------------------------------------------------------------------
 *
 * events.c
 *	  Endpoints of events: record one (POST /api/event), record a batch
 *	  (POST /api/events), find them (GET /api/events, one page with a Link
 *	  to the next) and the parameters of their export (the same GET asking
 *	  for NDJSON or CSV, streamed by stream.c).
 *
 *	  Validation, deduplication and search are the extension's; these
 *	  handlers pass the request through and map the outcome to HTTP.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* Counts an input error against the field at fault. */
static void
CountRejected(const ShimDbError *err)
{
	if (strncmp(err->sqlstate, "08", 2) == 0 ||
		strncmp(err->sqlstate, "57", 2) == 0 || err->server_side)
		return;
	if (strcmp(err->sqlstate, "42703") == 0)
		shim_metrics_rejected("unknown_field");
	else if (err->field[0])
		shim_metrics_rejected(err->field);
	else if (strcmp(err->sqlstate, "22P02") == 0 ||
			 strcmp(err->sqlstate, "42804") == 0)
		shim_metrics_rejected("body");
	else
		shim_metrics_rejected("other");
}

/*
 * A body that is not JSON fails in the cast to jsonb, before the extension
 * sees it; name the field "body" then.
 */
static void
NameBodyField(ShimDbError *err)
{
	if (strcmp(err->sqlstate, "54001") == 0)
	{
		/* the server's stack ran out parsing the body: say why plainly */
		snprintf(err->field, sizeof(err->field), "body");
		snprintf(err->message, sizeof(err->message),
				 "request body nested too deeply");
		snprintf(err->detail, sizeof(err->detail),
				 "The request body's JSON arrays and objects nest deeper than the server can parse.");
		return;
	}
	if (err->field[0] == '\0' &&
		(strcmp(err->sqlstate, "22P02") == 0 ||
		 strcmp(err->sqlstate, "22P05") == 0 ||
		 strcmp(err->sqlstate, "42804") == 0))
		snprintf(err->field, sizeof(err->field), "body");
}

/* Replies to a failed POST /api/event. */
static enum MHD_Result
PostEventFailed(ShimRequest *req, ShimDbError *err)
{
	NameBodyField(err);
	CountRejected(err);
	return shim_problem_db(req, SHIM_Q_RECORD_EVENT, err);
}

/*
 * Replies to a stored POST /api/event: 201 with body, what record_event
 * returned, or 200 when its status says it was a duplicate.
 */
static enum MHD_Result
PostEventStored(ShimRequest *req, const char *body, const char *status,
				const char *action)
{
	if (status && strcmp(status, "duplicate") == 0)
	{
		shim_metrics_duplicate();
		return shim_reply_json(req, 200, body, NULL);
	}
	shim_metrics_ingested(action);
	return shim_reply_json(req, 201, body, NULL);
}

/*
 * Replies with a record_event result row: the event, then its status and
 * action, taken out by the statement (db.c) so that no JSON is parsed here.
 */
static enum MHD_Result
PostEventResult(ShimRequest *req, const PGresult *res)
{
	return PostEventStored(req, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
						   PQgetvalue(res, 0, 2));
}

/* The completion of a POST /api/event sent from an HTTP thread. */
void
shim_post_event_done(ShimRequest *req, PGresult *res, const ShimDbError *err)
{
	ShimDbError e;

	if (res == NULL)
	{
		e = *err;
		(void) PostEventFailed(req, &e);
		return;
	}
	(void) PostEventResult(req, res);
	PQclear(res);
}

/*
 * POST /api/event: 201 with the stored event; a duplicate event_id answers
 * 200 with the event first stored and "status": "duplicate".  Usually the
 * HTTP thread sends the statement itself, or with group commit it joins a
 * group (dispatch.c; async.c); this runs only when neither could
 * be done at once, and writes the event alone.
 */
enum MHD_Result
shim_h_post_event(ShimRequest *req)
{
	ShimConn   *conn;
	PGresult   *res;
	ShimDbError err;
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, SHIM_Q_RECORD_EVENT)))
		return MHD_YES;
	res = shim_db_exec(conn, SHIM_Q_RECORD_EVENT, req->stmt->nparams,
					   req->args, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
		return PostEventFailed(req, &err);
	ret = PostEventResult(req, res);
	PQclear(res);
	return ret;
}

/*
 * Calls count on each item of list, a comma-separated list from the
 * statement (NULL: none).
 */
static void
CountEach(const char *list, void (*count) (const char *item))
{
	char		item[64];

	while (list && *list)
	{
		size_t		n = strcspn(list, ",");

		snprintf(item, sizeof(item), "%.*s", (int) n, list);
		count(item);
		list += n;
		if (*list == ',')
			list++;
	}
}


/*
 * POST /api/events: 201 when every item was stored; otherwise 207 with the
 * extension's per-item results (stored, duplicate or rejected with the
 * field and rule).  An error about the batch as a whole is a problem reply.
 * The statement also says what the metrics count (router.c): the stored
 * items' actions, the duplicates, the rejected items' fields.
 */
enum MHD_Result
shim_h_post_events(ShimRequest *req)
{
	ShimConn   *conn;
	PGresult   *res;
	ShimDbError err;
	int			duplicates;
	const char *rejected;
	enum MHD_Result ret;
	int			i;

	if (!(conn = shim_req_conn(req, SHIM_Q_RECORD_EVENTS)))
		return MHD_YES;
	res = shim_db_exec(conn, SHIM_Q_RECORD_EVENTS, req->stmt->nparams,
					   req->args, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
	{
		NameBodyField(&err);
		CountRejected(&err);
		return shim_problem_db(req, SHIM_Q_RECORD_EVENTS, &err);
	}
	CountEach(PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
			  shim_metrics_ingested);
	duplicates = atoi(PQgetvalue(res, 0, 2));
	for (i = 0; i < duplicates; i++)
		shim_metrics_duplicate();
	rejected = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
	CountEach(rejected, shim_metrics_rejected);
	ret = shim_reply_json(req, duplicates > 0 || rejected ? 207 : 201,
						  PQgetvalue(res, 0, 0), NULL);
	PQclear(res);
	return ret;
}

/* Appends a query parameter to a page's Link, unless it pages. */
static enum MHD_Result
LinkArg(void *cls, enum MHD_ValueKind kind, const char *key,
		const char *value)
{
	ShimBuf    *link = cls;

	(void) kind;
	if (strcmp(key, "cursor") != 0 && strcmp(key, "offset") != 0)
	{
		shim_buf_puts(link, link->len ? "&" : "?");
		shim_buf_urlencode(link, key);
		shim_buf_puts(link, "=");
		shim_buf_urlencode(link, value ? value : "");
	}
	return MHD_YES;
}

/* Which export format the Accept header asks for, if any. */
const char *
shim_export_format(ShimRequest *req, const char **content_type)
{
	const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
													 MHD_HTTP_HEADER_ACCEPT);

	if (accept == NULL)
		return NULL;
	if (strstr(accept, "application/x-ndjson") ||
		strstr(accept, "application/jsonl"))
	{
		*content_type = "application/x-ndjson";
		return "ndjson";
	}
	if (strstr(accept, "text/csv"))
	{
		*content_type = "text/csv; charset=utf-8";
		return "csv";
	}
	return NULL;
}

/*
 * Replies with a page: search_events' body, and while more remain a Link
 * to the next page: the query string without cursor and offset, then the
 * next cursor.
 */
static enum MHD_Result
PageReply(ShimRequest *req, const PGresult *res)
{
	ShimBuf		query;
	ShimBuf		h;
	ShimHeader	hdr[] = {{"Link", NULL}, {NULL, NULL}};
	enum MHD_Result ret;

	if (PQntuples(res) < 1)
		return shim_reply_json(req, 200, "[]", NULL);
	if (PQgetisnull(res, 0, 1))
		return shim_reply_json(req, 200, PQgetvalue(res, 0, 0), NULL);
	shim_buf_init(&query);
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, LinkArg,
							  &query);
	shim_buf_puts(&query, query.len ? "&cursor=" : "?cursor=");
	shim_buf_urlencode(&query, PQgetvalue(res, 0, 1));
	shim_buf_init(&h);
	shim_buf_printf(&h, "<%s%s>; rel=\"next\"", req->path, query.data);
	shim_buf_free(&query);
	hdr[0].value = h.data;
	ret = shim_reply_json(req, 200, PQgetvalue(res, 0, 0), hdr);
	shim_buf_free(&h);
	return ret;
}

/* The completion of a GET /api/events page sent from an HTTP thread. */
void
shim_get_events_done(ShimRequest *req, PGresult *res, const ShimDbError *err)
{
	if (res == NULL)
	{
		(void) shim_problem_db(req, SHIM_Q_SEARCH_EVENTS, err);
		return;
	}
	(void) PageReply(req, res);
	PQclear(res);
}

/*
 * GET /api/events: one page as a plain JSON array, with
 * Link: <...cursor=...>; rel="next" while more remain.  A page is usually
 * sent from the HTTP thread (dispatch.c); this runs on a job thread when
 * that could not be done at once.  Asked for NDJSON or CSV, every match
 * instead, streamed: dispatch hands those to stream.c.
 */
enum MHD_Result
shim_h_get_events(ShimRequest *req)
{
	ShimConn   *conn;
	PGresult   *res;
	ShimDbError err;
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, SHIM_Q_SEARCH_EVENTS)))
		return MHD_YES;
	res = shim_db_exec(conn, SHIM_Q_SEARCH_EVENTS, req->stmt->nparams,
					   req->args, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
		return shim_problem_db(req, SHIM_Q_SEARCH_EVENTS, &err);
	ret = PageReply(req, res);
	PQclear(res);
	return ret;
}

/* shim_req_conn is declared in handlers.h: see there. */
ShimConn *
shim_req_conn(ShimRequest *req, ShimQuery q)
{
	ShimDbError err;
	ShimConn   *conn = shim_pool_acquire(req->shim->pool, 5000, &err);

	if (conn == NULL)
		shim_problem_db(req, q, &err);
	return conn;
}
