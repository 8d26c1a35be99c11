/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  The streaming export: started on a job thread (shim_exec_export),
 *	  at most HTTP_MAX_EXPORTS at once, it runs its query in single-row
 *	  mode on a pooled connection; its rows are read by
 *	  the executor thread of async.c, whenever its socket is readable, into
 *	  a bounded buffer, and libmicrohttpd's content reader takes them from
 *	  there on the HTTP thread.  Neither ever waits for the other:
 *
 *	  - an empty buffer suspends the client's connection (the reader
 *		returns 0 after MHD_suspend_connection), and the executor resumes
 *		it once rows came or the query ended; so an export whose query
 *		waits on a lock stalls its own client only;
 *	  - a full buffer stops the executor reading the socket (the server
 *		then blocks on its own send), and the reader watches the socket
 *		again once it took half of it; so memory stays at one buffer,
 *		however slowly the client reads.
 *
 *	  The stream is freed by the last of its two owners to let go: the
 *	  response (freed by libmicrohttpd when the request completes, or the
 *	  client goes away) and the query (its connection given back once the
 *	  last row is in, or closed when the client went first).
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "exec.h"

/* The most bytes buffered for a client; reading resumes below half of it. */
#define STREAM_BUFFER	(256 * 1024)

/* Who has the export's database connection. */
typedef enum StreamState
{
	STREAM_WATCHED,				/* the executor, on its socket's next event */
	STREAM_PAUSED,				/* nobody: the buffer is full */
	STREAM_ENDED				/* given back: every row is in the buffer */
} StreamState;

struct ShimStream
{
	ShimWaiter	w;				/* SHIM_WAIT_STREAM, for the executor */
	Shim	   *shim;
	ShimConn   *conn;
	struct MHD_Connection *client;

	/* all below under mu */
	pthread_mutex_t mu;
	StreamState state;
	ShimBuf		buf;			/* lines not yet taken by the reader */
	size_t		off;			/* the first of them */
	uint64_t	rows;			/* lines buffered, not yet counted */
	bool		failed;			/* the query failed after the first row */
	bool		waiting;		/* the reader suspended the client */
	bool		released;		/* the response is gone (client done or gone) */
	const char *format;			/* "ndjson" or "csv", for the metrics */
	bool		header;			/* the first line, CSV's, is no event */
	char		request_id[68];
};

/*
 * ExportBegin takes one of the shim's export slots, false when all are
 * taken; ExportEnd gives it back.  Other requests thereby keep
 * the rest of the pool however many clients export at once.
 */
static bool
ExportBegin(Shim *shim)
{
	int			n = __atomic_load_n(&shim->exports, __ATOMIC_RELAXED);

	do
	{
		if (n >= shim->max_exports)
			return false;
	} while (!__atomic_compare_exchange_n(&shim->exports, &n, n + 1, false,
										  __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return true;
}

static void
ExportEnd(Shim *shim)
{
	__atomic_sub_fetch(&shim->exports, 1, __ATOMIC_ACQ_REL);
}

/*
 * Appends a row of the export: a run of whole lines, each ended by a
 * newline (export_events), counted as they go by.
 */
static void
AppendRow(ShimStream *st, const PGresult *res)
{
	const char *run = PQgetvalue(res, 0, 0);
	const char *end = run + PQgetlength(res, 0, 0);
	const char *p;

	shim_buf_append(&st->buf, run, end - run);
	for (p = run; (p = memchr(p, '\n', end - p)) != NULL; p++)
		st->rows++;
}

/* Bytes buffered and not yet taken.  Caller holds mu. */
static size_t
Buffered(const ShimStream *st)
{
	return st->buf.len - st->off;
}

/*
 * Ends the query's part: the connection goes back to the pool when the
 * query is over, else (the client went first) it is closed, cutting the
 * query short.  Caller holds mu.
 */
static void
EndQuery(ShimStream *st, bool finished)
{
	if (!finished)
	{
		PQfinish(st->conn->pg);
		st->conn->pg = NULL;
	}
	else
		PQsetnonblocking(st->conn->pg, 0);
	shim_pool_release(st->shim->pool, st->conn);
	ExportEnd(st->shim);
	st->conn = NULL;
	st->state = STREAM_ENDED;
}

static void
FreeStream(ShimStream *st)
{
	pthread_mutex_destroy(&st->mu);
	shim_buf_free(&st->buf);
	free(st);
}

/*
 * shim_stream_pump runs on the executor thread when the export's socket
 * is readable: it buffers the rows that came, and wakes the reader.
 */
void
shim_stream_pump(ShimAsync *a, ShimStream *st)
{
	Shim	   *shim = st->shim;
	PGconn	   *pg;
	bool		ended = false;
	struct MHD_Connection *wake = NULL;

	pthread_mutex_lock(&st->mu);
	if (st->released)
	{
		/* the client went while the query ran: nobody else holds st */
		EndQuery(st, false);
		pthread_mutex_unlock(&st->mu);
		FreeStream(st);
		return;
	}
	pg = st->conn->pg;
	if (!PQconsumeInput(pg))
		st->failed = true;
	while (!st->failed && Buffered(st) < STREAM_BUFFER && !PQisBusy(pg))
	{
		PGresult   *res = PQgetResult(pg);

		if (res == NULL)
		{
			ended = true;		/* the end of the query */
			break;
		}
		switch (PQresultStatus(res))
		{
			case PGRES_SINGLE_TUPLE:
				AppendRow(st, res);
				break;
			case PGRES_TUPLES_OK:
				break;			/* then NULL */
			default:
				shim_log(SHIM_LOG_ERROR, "request %s: export failed mid-stream: %s",
						 st->request_id, PQresultErrorMessage(res));
				st->failed = true;
				break;
		}
		PQclear(res);
	}

	if (st->failed || ended)
		EndQuery(st, !st->failed);
	else if (Buffered(st) >= STREAM_BUFFER)
		st->state = STREAM_PAUSED;
	else if (!shim_async_watch(a, PQsocket(pg), &st->w, false))
	{
		shim_log(SHIM_LOG_ERROR, "request %s: cannot watch the export: %m",
				 st->request_id);
		st->failed = true;
		EndQuery(st, false);
	}
	if (st->waiting && (Buffered(st) > 0 || st->state == STREAM_ENDED))
	{
		st->waiting = false;
		wake = st->client;
	}
	pthread_mutex_unlock(&st->mu);

	/* once resumed, the client may finish and free st at any moment */
	if (wake)
	{
		MHD_resume_connection(wake);
		__atomic_sub_fetch(&shim->suspended, 1, __ATOMIC_SEQ_CST);
	}
}

/*
 * StreamRead is libmicrohttpd's content reader, on the HTTP thread: it
 * hands over what is buffered.  With nothing buffered it suspends the
 * client until the executor has more.  The rows are counted here, once
 * per call, so that a row costs no atomic operation.
 */
static ssize_t
StreamRead(void *cls, uint64_t pos, char *out, size_t max)
{
	ShimStream *st = cls;
	size_t		n;
	uint64_t	rows;
	ssize_t		ret;

	(void) pos;
	pthread_mutex_lock(&st->mu);
	n = Buffered(st);
	if (n > max)
		n = max;
	memcpy(out, st->buf.data + st->off, n);
	st->off += n;
	if (st->off == st->buf.len)
		st->off = st->buf.len = 0;
	else if (st->off >= STREAM_BUFFER / 2)
	{
		memmove(st->buf.data, st->buf.data + st->off, st->buf.len - st->off);
		st->buf.len -= st->off;
		st->off = 0;
	}
	rows = st->rows;
	st->rows = 0;

	if (st->state == STREAM_PAUSED && Buffered(st) < STREAM_BUFFER / 2)
	{
		/* rows may wait in libpq's buffer: the executor looks at once */
		st->state = STREAM_WATCHED;
		if (st->shim->async)
			shim_async_kick(st->shim->async, &st->w);
		else
		{
			/* the shim stops and its executor is gone: cut the stream */
			st->failed = true;
			EndQuery(st, false);
		}
	}

	if (n > 0)
		ret = (ssize_t) n;
	else if (st->state == STREAM_ENDED)
		ret = st->failed ? MHD_CONTENT_READER_END_WITH_ERROR :
			MHD_CONTENT_READER_END_OF_STREAM;
	else
	{
		/* counted as suspended, so that shim_stop waits for the resume */
		__atomic_add_fetch(&st->shim->suspended, 1, __ATOMIC_SEQ_CST);
		st->waiting = true;
		MHD_suspend_connection(st->client);
		ret = 0;
	}
	pthread_mutex_unlock(&st->mu);

	if (rows > 0 && st->header)
	{
		rows--;
		st->header = false;
	}
	if (rows > 0)
		shim_metrics_export_rows(st->format, rows);
	return ret;
}

/*
 * StreamFree runs when libmicrohttpd frees the response.  The executor may
 * still watch the socket: shutting it down makes it readable (end of
 * file), so that the executor, on that event, closes the connection and
 * frees the stream.  Otherwise nobody else holds it.
 */
static void
StreamFree(void *cls)
{
	ShimStream *st = cls;

	pthread_mutex_lock(&st->mu);
	st->released = true;
	if (st->state == STREAM_WATCHED && st->shim->async != NULL)
	{
		(void) shutdown(PQsocket(st->conn->pg), SHUT_RDWR);
		pthread_mutex_unlock(&st->mu);
		return;
	}
	if (st->state != STREAM_ENDED)
		EndQuery(st, false);	/* paused, or the executor has stopped */
	pthread_mutex_unlock(&st->mu);
	FreeStream(st);
}

/*
 * StreamStart makes the response of an export whose query was sent on conn
 * (in single-row mode) and whose first row, first, has come: the executor
 * thread reads the rest.  The connection and the export slot are the
 * stream's from here on, also when NULL is returned (no memory).
 */
static struct MHD_Response *
StreamStart(ShimRequest *req, ShimConn *conn, PGresult *first,
			const char *format)
{
	ShimStream *st = calloc(1, sizeof(ShimStream));
	struct MHD_Response *resp;

	if (st == NULL)
	{
		PQclear(first);
		PQfinish(conn->pg);
		conn->pg = NULL;
		shim_pool_release(req->shim->pool, conn);
		ExportEnd(req->shim);
		return NULL;
	}
	st->w.kind = SHIM_WAIT_STREAM;
	st->shim = req->shim;
	st->conn = conn;
	st->client = req->conn;
	st->format = format;
	st->header = strcmp(format, "csv") == 0;
	snprintf(st->request_id, sizeof(st->request_id), "%s", req->request_id);
	pthread_mutex_init(&st->mu, NULL);
	shim_buf_init(&st->buf);
	AppendRow(st, first);
	PQclear(first);

	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
											 StreamRead, st, StreamFree);
	if (resp == NULL)
	{
		EndQuery(st, false);
		FreeStream(st);
		return NULL;
	}

	/*
	 * From here on the executor reads the socket, without blocking: no
	 * other thread touches the connection until the stream ends.  More
	 * rows may have come with the first: it looks at once.
	 */
	st->state = STREAM_WATCHED;
	if (PQsetnonblocking(conn->pg, 1) != 0)
	{
		st->failed = true;
		EndQuery(st, false);
	}
	else
		shim_async_kick(req->shim->async, &st->w);
	return resp;
}

/*
 * shim_exec_export runs an export on a job thread: it takes a slot and a
 * connection, sends the statement in single-row mode and waits for the
 * first result, which tells a rejected query (a problem reply) from a
 * stream of rows; the rows then go to the executor thread.
 */
enum MHD_Result
shim_exec_export(ShimRequest *req)
{
	const char *content_type;
	const char *format = shim_export_format(req, &content_type);
	ShimConn   *conn;
	ShimDbError err;
	PGresult   *first;
	struct MHD_Response *resp;
	double		start = shim_now();

	/*
	 * Over the limit, say so at once rather than wait for a connection:
	 * another export would only take one that other requests need.  429,
	 * not 503: the shim is well, the client is asked to come back.
	 */
	if (!ExportBegin(req->shim))
	{
		static const ShimHeader retry[] = {{"Retry-After", "5"}, {NULL, NULL}};
		char		detail[256];

		shim_metrics_export_refused();
		snprintf(detail, sizeof(detail),
				 "At most %d exports stream at once (HTTP_MAX_EXPORTS, in the worker user_activity.http_max_exports), so that other requests keep the rest of the database connections; try again later.",
				 req->shim->max_exports);
		return shim_problem(req, 429, NULL, "too many exports at once", detail,
							NULL, retry);
	}
	if (!(conn = shim_req_conn(req, SHIM_Q_EXPORT_EVENTS)))
	{
		ExportEnd(req->shim);
		return MHD_YES;
	}
	if (!shim_db_send(conn, SHIM_Q_EXPORT_EVENTS, req->stmt->nparams,
					  req->args, &err))
	{
		shim_pool_release(req->shim->pool, conn);
		ExportEnd(req->shim);
		return shim_problem_db(req, SHIM_Q_EXPORT_EVENTS, &err);
	}

	/* the first result tells a rejected query from a stream of rows */
	first = PQgetResult(conn->pg);
	shim_metrics_db_query(SHIM_Q_EXPORT_EVENTS, shim_now() - start);
	if (PQresultStatus(first) != PGRES_SINGLE_TUPLE)
	{
		PGresult   *res;
		bool		failed = first == NULL ||
			PQresultStatus(first) != PGRES_TUPLES_OK;

		if (failed)
			shim_db_error_from_result(conn, first, &err);
		PQclear(first);
		while ((res = PQgetResult(conn->pg)) != NULL)
			PQclear(res);
		shim_pool_release(req->shim->pool, conn);
		ExportEnd(req->shim);
		if (failed)
			return shim_problem_db(req, SHIM_Q_EXPORT_EVENTS, &err);
		shim_metrics_db_up(true);
		/* no rows: nothing to stream */
		return shim_reply(req, 200, content_type, "", 0, NULL);
	}
	shim_metrics_db_up(true);
	resp = StreamStart(req, conn, first, format);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	return shim_reply_response(req, 200, resp);
}
