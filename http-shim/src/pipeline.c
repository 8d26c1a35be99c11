/*-------------------------------------------------------------------------
 *
 * pipeline.c
 *	  One pipeline of statements on one pooled connection, for one or more
 *	  requests, written and read without blocking (async.c drives it from
 *	  the HTTP threads and its executor thread).  A group of POST
 *	  /api/event requests is one statement, the route's group statement,
 *	  in a transaction of its own:
 *
 *		  record_event_each({$1, ..., $n}); Sync
 *
 *	  its one parameter the requests' bodies, a text[] sent in binary (the
 *	  bytes as they came, nothing escaped or parsed), and its result one
 *	  row per request: what the request's own statement would have
 *	  returned, or its error (db.h).  So one invalid event fails no other.
 *	  When the statement as a whole fails (a serialization failure, a
 *	  deadlock, a timeout), every item is written again, each in a
 *	  transaction of its own ("record_event; Sync" per item, still one
 *	  pipeline), so that each gets the outcome it would have had alone.  A
 *	  single request is one statement and its Sync.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "pipeline.h"

#define TEXTOID			25		/* pg_type.h: the element type of text[] */

Flight *
shim_flight_new(ShimConn *conn, ShimQuery q, ShimQuery gq, bool grouped,
				ShimRequest **items, int n)
{
	Flight	   *f = calloc(1, sizeof(Flight));

	f->w.kind = SHIM_WAIT_FLIGHT;
	f->conn = conn;
	f->q = q;
	f->gq = gq;
	f->grouped = grouped;
	f->n = n;
	f->items = malloc(n * sizeof(ShimRequest *));
	memcpy(f->items, items, n * sizeof(ShimRequest *));
	f->res = calloc(n, sizeof(PGresult *));
	f->committed = calloc(n, sizeof(bool));
	/* room for the longest pipeline: ROLLBACK and Sync, then the items */
	f->steps = malloc((2 * n + 5) * sizeof(Step));
	return f;
}

void
shim_flight_free(Flight *f)
{
	int			i;

	for (i = 0; i < f->n; i++)
		PQclear(f->res[i]);
	free(f->items);
	free(f->res);
	free(f->committed);
	free(f->steps);
	free(f);
}

static void
AddStep(Flight *f, StepKind kind, int item)
{
	f->steps[f->nsteps].kind = kind;
	f->steps[f->nsteps].item = item;
	f->nsteps++;
}

/* Appends n to b as PostgreSQL's binary formats write an int4. */
static void
AppendInt32(ShimBuf *b, int32_t n)
{
	uint32_t	be = htonl((uint32_t) n);

	shim_buf_append(b, (const char *) &be, 4);
}

/*
 * Bodies writes the items' bodies (each request's one parameter) as a
 * text[] in binary (array_recv's format: dimensions, a null flag, the
 * element type, each dimension's length and lower bound, then each
 * element's length, -1 for null, and bytes), as they came.
 */
static void
Bodies(Flight *f, ShimBuf *b)
{
	int			i;

	AppendInt32(b, 1);
	AppendInt32(b, 1);
	AppendInt32(b, TEXTOID);
	AppendInt32(b, f->n);
	AppendInt32(b, 1);
	for (i = 0; i < f->n; i++)
	{
		const char *body = f->items[i]->args[0];

		if (body == NULL)
		{
			AppendInt32(b, -1);
			continue;
		}
		AppendInt32(b, (int32_t) strlen(body));
		shim_buf_puts(b, body);
	}
}

/*
 * shim_flight_transmit sends f's items as one pipeline: all in the group
 * statement when together (a single item is sent as itself; so are the
 * items on a connection where the group statement is not prepared, its
 * function not installed yet), else each in its own transaction, after
 * rolling back the failed transaction a connection may still be in.
 * False when the connection failed.
 */
bool
shim_flight_transmit(Flight *f, bool together)
{
	PGconn	   *pg = f->conn->pg;
	char		name[32];
	bool		ok = true;
	int			i;

	f->together = together && f->n > 1 && f->conn->prepared[f->gq];
	f->failed = false;
	f->sync_error = false;
	f->nsteps = 0;
	f->pos = 0;
	f->nrows = 0;
	if (PQsetnonblocking(pg, 1) != 0)
		return false;
	if (PQpipelineStatus(pg) == PQ_PIPELINE_OFF && !PQenterPipelineMode(pg))
		return false;

	if (PQtransactionStatus(pg) == PQTRANS_INERROR)
	{
		ok &= PQsendQueryParams(pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0);
		ok &= PQpipelineSync(pg);
		AddStep(f, STEP_ROLLBACK, 0);
		AddStep(f, STEP_SYNC, SYNC_ROLLBACK);
	}
	if (f->together)
	{
		ShimBuf		bodies;
		const char *value;
		int			length;
		int			format = 1;

		shim_buf_init(&bodies);
		Bodies(f, &bodies);
		value = bodies.data;
		length = (int) bodies.len;
		snprintf(name, sizeof(name), "shim_%s", shim_query_name(f->gq));
		/* libpq has copied the parameter when this returns */
		ok &= PQsendQueryPrepared(pg, name, 1, &value, &length, &format, 0);
		shim_buf_free(&bodies);
		ok &= PQpipelineSync(pg);
		AddStep(f, STEP_GROUP, 0);
		AddStep(f, STEP_SYNC, SYNC_GROUP);
	}
	else
	{
		snprintf(name, sizeof(name), "shim_%s", shim_query_name(f->q));
		for (i = 0; ok && i < f->n; i++)
		{
			ShimRequest *req = f->items[i];

			ok &= PQsendQueryPrepared(pg, name, req->stmt->nparams, req->args,
									  NULL, NULL, 0);
			ok &= PQpipelineSync(pg);
			AddStep(f, STEP_ITEM, i);
			AddStep(f, STEP_SYNC, i);
		}
	}
	/* what the socket did not take now goes when it is writable */
	f->unsent = ok && PQflush(pg) != 0;
	return ok;
}

/*
 * Whether an item's statement returned its row.  libpq leaves single-row
 * mode on after a statement that used it (an export) until the next
 * statement is sent outside a pipeline, so the first statement of a
 * pipeline on that connection gets its row as a single tuple (and then an
 * empty result, which Keep drops).
 */
static bool
RowResult(const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	return st == PGRES_TUPLES_OK || st == PGRES_SINGLE_TUPLE;
}

/* Row r of res alone, as a result of its own. */
static PGresult *
RowCopy(const PGresult *res, int r)
{
	PGresult   *row = PQcopyResult(res, PG_COPYRES_ATTRS);
	int			c;

	for (c = 0; row && c < PQnfields(res); c++)
	{
		if (!PQsetvalue(row, 0, c, PQgetisnull(res, r, c) ? NULL :
						PQgetvalue(res, r, c),
						PQgetisnull(res, r, c) ? -1 : PQgetlength(res, r, c)))
		{
			PQclear(row);
			return NULL;
		}
	}
	return row;
}

/*
 * Hands out the group statement's rows, one to each item in order: a
 * result of one row (single-row mode) as it is, a larger one row by row.
 * Returns whether res was kept.
 */
static bool
KeepRows(Flight *f, PGresult *res)
{
	int			n = PQntuples(res);
	int			r;

	if (n == 1 && f->nrows < f->n)
	{
		f->res[f->nrows++] = res;
		return true;
	}
	for (r = 0; r < n; r++)
	{
		if (f->nrows == f->n || !(f->res[f->nrows] = RowCopy(res, r)))
		{
			f->failed = true;
			break;
		}
		f->nrows++;
	}
	return false;
}

/* Keeps a statement's result, as its step needs it. */
static void
Keep(Flight *f, const Step *s, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	switch (s->kind)
	{
		case STEP_ITEM:
			/* the row, or an error that came after it */
			if (f->res[s->item] == NULL || st == PGRES_FATAL_ERROR)
			{
				PQclear(f->res[s->item]);
				f->res[s->item] = res;
				return;
			}
			break;
		case STEP_GROUP:
			if (!RowResult(res))
				f->failed = true;
			else if (KeepRows(f, res))
				return;
			break;
		case STEP_ROLLBACK:
		case STEP_SYNC:
			break;
	}
	PQclear(res);
}

/* A sync point came back: the transaction it ends is over. */
static void
Synced(Flight *f, const Step *s)
{
	int			i;

	if (s->item >= 0)
		f->committed[s->item] = !f->sync_error && f->res[s->item] &&
			RowResult(f->res[s->item]);
	else if (s->item == SYNC_GROUP && !f->failed && f->nrows == f->n)
		for (i = 0; i < f->n; i++)
			f->committed[i] = true;
	else if (s->item == SYNC_GROUP)
		f->failed = true;
}

/*
 * shim_flight_read takes in what arrived for f's pipeline, without blocking.  True
 * once every step's results are in, or the connection is lost (broken).
 *
 * libpq ends each statement's results with a NULL; a sync point's result
 * stands alone, unless the implicit commit it ends failed: that error
 * comes first, then a NULL.
 */
bool
shim_flight_read(Flight *f)
{
	PGconn	   *pg = f->conn->pg;
	int			flushed;

	if (f->unsent)
	{
		if ((flushed = PQflush(pg)) < 0)
			return (f->broken = true);
		f->unsent = flushed > 0;
	}
	if (!PQconsumeInput(pg))
		return (f->broken = true);
	while (!PQisBusy(pg))
	{
		PGresult   *res = PQgetResult(pg);
		Step	   *s = &f->steps[f->pos];

		if (s->kind != STEP_SYNC)
		{
			if (res == NULL)
				f->pos++;
			else
				Keep(f, s, res);
		}
		else if (res != NULL && PQresultStatus(res) == PGRES_PIPELINE_SYNC)
		{
			PQclear(res);
			Synced(f, s);
			f->sync_error = false;
			if (++f->pos == f->nsteps)
				return true;
		}
		else if (res != NULL)
		{
			/* the commit failed: that is the item's outcome */
			f->failed = true;
			f->sync_error = true;
			if (s->item >= 0)
			{
				PQclear(f->res[s->item]);
				f->res[s->item] = res;
			}
			else
				PQclear(res);
		}
		else if (f->sync_error)
			f->sync_error = false;	/* the NULL after that error */
		else
			return (f->broken = true);	/* nothing more will come */
	}
	if (PQstatus(pg) == CONNECTION_BAD)
		return (f->broken = true);
	return false;
}

/*
 * Leaves pipeline mode, so that the connection can serve blocking calls
 * again; one that cannot is closed (its slot reconnects on next use).
 */
void
shim_flight_end(ShimConn *conn)
{
	if (conn->pg && ((PQpipelineStatus(conn->pg) != PQ_PIPELINE_OFF &&
					  !PQexitPipelineMode(conn->pg)) ||
					 PQsetnonblocking(conn->pg, 0) != 0))
	{
		PQfinish(conn->pg);
		conn->pg = NULL;
	}
}

/* Reads f's results, waiting for them: for when epoll cannot. */
void
shim_flight_read_all(Flight *f)
{
	struct pollfd pfd;

	while (!shim_flight_read(f))
	{
		pfd.fd = PQsocket(f->conn->pg);
		pfd.events = POLLIN | (f->unsent ? POLLOUT : 0);
		if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
		{
			f->broken = true;
			return;
		}
	}
}

