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

#include <jansson.h>

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
	const char *params[1];
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, SHIM_Q_RECORD_EVENT)))
		return MHD_YES;
	params[0] = req->body.data;
	res = shim_db_exec(conn, SHIM_Q_RECORD_EVENT, 1, params, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
		return PostEventFailed(req, &err);
	ret = PostEventResult(req, res);
	PQclear(res);
	return ret;
}

/*
 * POST /api/events: 201 when every item was stored; otherwise 207 with the
 * extension's per-item results (stored, duplicate or rejected with the
 * field and rule).  An error about the batch as a whole is a problem reply.
 */
enum MHD_Result
shim_h_post_events(ShimRequest *req)
{
	ShimConn   *conn;
	PGresult   *res;
	ShimDbError err;
	const char *params[1];
	const char *body;
	int			status = 201;
	json_t	   *doc,
			   *items;
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, SHIM_Q_RECORD_EVENTS)))
		return MHD_YES;
	params[0] = req->body.data;
	res = shim_db_exec(conn, SHIM_Q_RECORD_EVENTS, 1, params, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
	{
		NameBodyField(&err);
		CountRejected(&err);
		return shim_problem_db(req, SHIM_Q_RECORD_EVENTS, &err);
	}
	body = PQgetvalue(res, 0, 0);
	doc = json_loads(body, 0, NULL);
	items = json_loads(req->body.data, 0, NULL);
	if (doc)
	{
		json_t	   *results = json_object_get(doc, "results");
		size_t		i;
		json_t	   *r;

		if (json_integer_value(json_object_get(doc, "duplicates")) != 0 ||
			json_integer_value(json_object_get(doc, "rejected")) != 0)
			status = 207;
		json_array_foreach(results, i, r)
		{
			const char *st = json_string_value(json_object_get(r, "status"));
			json_int_t	idx = json_integer_value(json_object_get(r, "index"));

			if (st == NULL)
				continue;
			if (strcmp(st, "stored") == 0)
				shim_metrics_ingested(json_string_value(
														json_object_get(json_array_get(items, idx), "action")));
			else if (strcmp(st, "duplicate") == 0)
				shim_metrics_duplicate();
			else
			{
				json_t	   *e = json_object_get(r, "error");
				const char *state = json_string_value(json_object_get(e, "sqlstate"));
				const char *field = json_string_value(json_object_get(e, "field"));

				if (state && strcmp(state, "42703") == 0)
					shim_metrics_rejected("unknown_field");
				else
					shim_metrics_rejected(field ? field : "other");
			}
		}
		json_decref(doc);
	}
	json_decref(items);
	ret = shim_reply_json(req, status, body, NULL);
	PQclear(res);
	return ret;
}

typedef struct QueryArgs
{
	json_t	   *obj;
	ShimBuf		link;			/* the query string minus cursor/offset */
} QueryArgs;

static enum MHD_Result
CollectArg(void *cls, enum MHD_ValueKind kind, const char *key,
		   const char *value)
{
	QueryArgs  *qa = cls;

	(void) kind;
	json_object_set_new(qa->obj, key, json_string(value ? value : ""));
	if (strcmp(key, "cursor") != 0 && strcmp(key, "offset") != 0)
	{
		shim_buf_puts(&qa->link, qa->link.len ? "&" : "?");
		shim_buf_urlencode(&qa->link, key);
		shim_buf_puts(&qa->link, "=");
		shim_buf_urlencode(&qa->link, value ? value : "");
	}
	return MHD_YES;
}

/*
 * shim_query_json turns the query string into the JSON object the extension's
 * functions take: every key as received, every value as a string.
 */
char *
shim_query_json(ShimRequest *req, ShimBuf *link, const char *id_key)
{
	QueryArgs	qa;
	char	   *s;

	qa.obj = shim_json_object();
	shim_buf_init(&qa.link);
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, CollectArg,
							  &qa);
	if (req->stream_export)
	{
		/* an export is every match: paging parameters do not apply */
		json_object_del(qa.obj, "limit");
		json_object_del(qa.obj, "cursor");
		json_object_del(qa.obj, "offset");
	}
	if (id_key)
		json_object_set_new(qa.obj, id_key, json_string(req->id));
	s = json_dumps(qa.obj, JSON_COMPACT);
	json_decref(qa.obj);
	if (link)
		*link = qa.link;
	else
		shim_buf_free(&qa.link);
	return s;
}

/*
 * shim_export_params: the parameters of an export, every match (paging
 * parameters do not apply).
 */
char *
shim_export_params(ShimRequest *req)
{
	req->stream_export = true;
	return shim_query_json(req, NULL, NULL);
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
 * to the next page (link: the query string without cursor and offset).
 */
static enum MHD_Result
PageReply(ShimRequest *req, const PGresult *res, const ShimBuf *link)
{
	ShimBuf		h;
	ShimHeader	hdr[] = {{"Link", NULL}, {NULL, NULL}};
	enum MHD_Result ret;

	if (PQntuples(res) < 1)
		return shim_reply_json(req, 200, "[]", NULL);
	if (PQgetisnull(res, 0, 1))
		return shim_reply_json(req, 200, PQgetvalue(res, 0, 0), NULL);
	shim_buf_init(&h);
	shim_buf_printf(&h, "<%s%s%scursor=", req->path,
					link->len ? link->data : "", link->len ? "&" : "?");
	shim_buf_urlencode(&h, PQgetvalue(res, 0, 1));
	shim_buf_puts(&h, ">; rel=\"next\"");
	hdr[0].value = h.data;
	ret = shim_reply_json(req, 200, PQgetvalue(res, 0, 0), hdr);
	shim_buf_free(&h);
	return ret;
}

/*
 * shim_get_events_prepare readies a GET /api/events page for async.c: its
 * parameters go in the request's body buffer (a GET has no body), as the
 * statement's one parameter, and the query string for the Link is kept.
 */
bool
shim_get_events_prepare(ShimRequest *req)
{
	char	   *json;

	json = shim_query_json(req, &req->page_link, NULL);
	shim_buf_free(&req->body);
	shim_buf_puts(&req->body, json);
	free(json);
	return true;
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
	(void) PageReply(req, res, &req->page_link);
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
	const char *params[1];
	ShimBuf		link;
	char	   *json;
	enum MHD_Result ret;

	if (!(conn = shim_req_conn(req, SHIM_Q_SEARCH_EVENTS)))
		return MHD_YES;
	json = shim_query_json(req, &link, NULL);
	params[0] = json;
	res = shim_db_exec(conn, SHIM_Q_SEARCH_EVENTS, 1, params, &err);
	shim_pool_release(req->shim->pool, conn);
	free(json);
	if (res == NULL)
		ret = shim_problem_db(req, SHIM_Q_SEARCH_EVENTS, &err);
	else
	{
		ret = PageReply(req, res, &link);
		PQclear(res);
	}
	shim_buf_free(&link);
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
