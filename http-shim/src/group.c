/*-------------------------------------------------------------------------
 *
 * group.c
 *	  Group commit for POST /api/event: requests queue up; one of them (a
 *	  leader; up to four groups are written at a time) takes the queue and
 *	  writes it in one transaction, pipelined on one connection:
 *
 *		  BEGIN; record_event($1); ... record_event($n); COMMIT
 *
 *	  and every waiter is answered only after that COMMIT succeeded, so a
 *	  201 still means committed.  Each event gets exactly what
 *	  record_event(jsonb) returns for it alone.  An event that fails
 *	  validation aborts the transaction: it gets its error, and the others
 *	  are written again without it.  One fsync then serves many requests.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct GroupItem
{
	const char *body;
	bool		settled;		/* written or failed (leader's view) */
	bool		done;			/* settled, published under the mutex */
	bool		ok;
	char	   *result;			/* record_event's JSON, malloc'd */
	ShimDbError err;
	struct GroupItem *next;
} GroupItem;

struct ShimGroup
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	GroupItem  *head;
	GroupItem  *tail;
	int			leaders;		/* groups being written now */
	int			max_leaders;
	int			max;
};

ShimGroup *
shim_group_create(int max)
{
	ShimGroup  *g = calloc(1, sizeof(ShimGroup));

	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->max = max;
	g->max_leaders = 4;
	return g;
}

void
shim_group_destroy(ShimGroup *g)
{
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

static bool
ConnectionLost(const ShimDbError *err)
{
	return strncmp(err->sqlstate, "08", 2) == 0 ||
		strncmp(err->sqlstate, "57P0", 4) == 0;
}

/*
 * WriteOnce sends one transaction for the items in todo[0..n) and reads the
 * outcome.  Items whose record_event succeeded and committed are done;
 * the first one that failed is done with its error; the rest stay to be
 * written again.  Returns false when the connection is gone (every
 * remaining item then fails with err).
 */
static bool
WriteOnce(ShimConn *conn, GroupItem **todo, int n, ShimDbError *connerr)
{
	PGconn	   *pg = conn->pg;
	PGresult   *res;
	PGresult  **results = calloc(n, sizeof(PGresult *));
	int			failed = -1;
	bool		committed = false;
	bool		alive = true;
	int			i;
	double		start = shim_now();

	if (!PQenterPipelineMode(pg))
	{
		shim_db_connection_error(connerr, PQerrorMessage(pg));
		free(results);
		return false;
	}
	PQsendQueryParams(pg, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
	for (i = 0; i < n; i++)
		PQsendQueryPrepared(pg, "shim_record_event", 1, &todo[i]->body,
							NULL, NULL, 0);
	PQsendQueryParams(pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0);
	if (!PQpipelineSync(pg))
		alive = false;

	/* BEGIN, n events, COMMIT, then the sync point */
	for (i = -1; alive && i <= n; i++)
	{
		res = PQgetResult(pg);
		if (res == NULL)
		{
			alive = false;
			break;
		}
		if (i >= 0 && i < n)
		{
			if (PQresultStatus(res) == PGRES_TUPLES_OK)
				results[i] = res;
			else
			{
				if (PQresultStatus(res) == PGRES_FATAL_ERROR && failed < 0)
				{
					failed = i;
					shim_db_error_from_result(conn, res, &todo[i]->err);
				}
				PQclear(res);
			}
		}
		else
		{
			if (i == n && PQresultStatus(res) == PGRES_COMMAND_OK &&
				strcmp(PQcmdStatus(res), "COMMIT") == 0)
				committed = true;
			else if (PQresultStatus(res) == PGRES_FATAL_ERROR && failed < 0)
			{
				/* BEGIN or COMMIT itself failed */
				shim_db_error_from_result(conn, res, connerr);
				if (ConnectionLost(connerr))
					alive = false;
			}
			PQclear(res);
		}
		/* each query's results end with NULL */
		if (alive && (res = PQgetResult(pg)) != NULL)
			PQclear(res);
	}
	if (alive)
	{
		res = PQgetResult(pg);	/* the sync point */
		if (res == NULL || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
			alive = false;
		PQclear(res);
	}
	if (alive && !PQexitPipelineMode(pg))
		alive = false;
	shim_metrics_db_query(SHIM_Q_RECORD_EVENT, shim_now() - start);
	shim_log(SHIM_LOG_DEBUG, "group of %d written in %.3f ms", n,
			 (shim_now() - start) * 1000);
	if (alive && PQtransactionStatus(pg) != PQTRANS_IDLE)
	{
		res = PQexec(pg, "ROLLBACK");
		PQclear(res);
	}
	if (!alive || PQstatus(pg) != CONNECTION_OK)
	{
		shim_db_connection_error(connerr, PQerrorMessage(pg));
		alive = false;
	}
	if (failed >= 0 && ConnectionLost(&todo[failed]->err))
	{
		*connerr = todo[failed]->err;
		alive = false;
	}

	for (i = 0; i < n; i++)
	{
		if (alive && committed && results[i])
		{
			todo[i]->result = strdup(PQgetvalue(results[i], 0, 0));
			todo[i]->ok = true;
			todo[i]->settled = true;
		}
		else if (alive && i == failed)
			todo[i]->settled = true;
		if (results[i])
			PQclear(results[i]);
	}
	free(results);
	if (alive)
		shim_metrics_db_up(true);
	return alive;
}

/* Writes a group until every item is done. */
static void
WriteGroup(ShimPool *pool, GroupItem *first)
{
	GroupItem  *it;
	GroupItem **todo;
	int			n = 0,
				left;
	ShimDbError err;
	ShimConn   *conn;

	for (it = first; it; it = it->next)
		n++;
	todo = calloc(n, sizeof(GroupItem *));
	conn = shim_pool_acquire(pool, 5000, &err);
	if (conn && !shim_db_prepare(conn, SHIM_Q_RECORD_EVENT, &err))
	{
		/* not the connection's fault: every item gets this error */
		for (it = first; it; it = it->next)
		{
			it->err = err;
			it->settled = true;
		}
	}
	for (;;)
	{
		left = 0;
		for (it = first; it; it = it->next)
			if (!it->settled)
				todo[left++] = it;
		if (left == 0)
			break;
		if (conn == NULL || !WriteOnce(conn, todo, left, &err))
		{
			int			i;

			for (i = 0; i < left; i++)
			{
				todo[i]->err = err;
				todo[i]->settled = true;
			}
			shim_metrics_db_up(false);
			break;
		}
	}
	if (conn)
		shim_pool_release(pool, conn);
	free(todo);
}

/*
 * shim_group_record stores one event (the request body) as part of a
 * group.  Returns record_event's JSON (malloc'd) once committed, or NULL
 * with err filled.
 */
char *
shim_group_record(ShimGroup *g, ShimPool *pool, const char *body,
				  ShimDbError *err)
{
	GroupItem	me;

	memset(&me, 0, sizeof(me));
	me.body = body;

	pthread_mutex_lock(&g->mu);
	if (g->tail)
		g->tail->next = &me;
	else
		g->head = &me;
	g->tail = &me;

	while (!me.done)
	{
		if (g->leaders < g->max_leaders && g->head != NULL)
		{
			/* lead: take up to max queued items (this one among them) */
			GroupItem  *first = g->head;
			GroupItem  *last = first;
			int			n = 1;

			while (last->next && n < g->max)
			{
				last = last->next;
				n++;
			}
			g->head = last->next;
			if (g->head == NULL)
				g->tail = NULL;
			last->next = NULL;
			g->leaders++;
			pthread_mutex_unlock(&g->mu);

			WriteGroup(pool, first);

			pthread_mutex_lock(&g->mu);
			for (; first; first = first->next)
				first->done = true;
			g->leaders--;
			pthread_cond_broadcast(&g->cv);
			/* if this item was not in the group it stays queued */
		}
		else
			pthread_cond_wait(&g->cv, &g->mu);
	}
	pthread_mutex_unlock(&g->mu);

	if (!me.ok)
	{
		*err = me.err;
		return NULL;
	}
	return me.result;
}
