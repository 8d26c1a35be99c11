/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  The streaming export's producer and consumer.  The export's query
 *	  runs in single-row mode on a pooled connection; its rows are read by
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

#include "internal.h"

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

/* Appends a row of the export, and a newline unless it ends with one. */
static void
AppendRow(ShimStream *st, const PGresult *res)
{
	const char *line = PQgetvalue(res, 0, 0);
	int			len = PQgetlength(res, 0, 0);

	shim_buf_append(&st->buf, line, len);
	if (len == 0 || line[len - 1] != '\n')
		shim_buf_append(&st->buf, "\n", 1);
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
	shim_export_end(st->shim);
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
 * shim_stream_start makes the response of an export whose query was sent
 * on conn (in single-row mode) and whose first row, first, has come: the
 * executor thread reads the rest.  The connection and the export slot are
 * the stream's from here on, also when NULL is returned (no memory).
 */
struct MHD_Response *
shim_stream_start(ShimRequest *req, ShimConn *conn, PGresult *first,
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
		shim_export_end(req->shim);
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
