/*-------------------------------------------------------------------------
 *
 * db.c
 *	  A fixed pool of libpq connections, each with every statement of the
 *	  route table (router.c) prepared on connect.  A connection that broke is
 *	  reopened on its next use, so the shim rides over a PostgreSQL restart:
 *	  requests made while the server is down get 503, the first ones after
 *	  it is back succeed.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "metrics.h"

/* The statements, by id: the route table's (shim_db_register). */
static const ShimStatement *statements[SHIM_Q_COUNT];

enum
{
	SLOT_BROKEN,				/* no live connection */
	SLOT_IDLE,
	SLOT_BUSY
};

struct ShimPool
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int			size;
	ShimConn   *conns;
	int		   *state;
	PGcancel  **cancel;			/* each slot's cancel key, under mu */
	char	   *db_url;
	char	   *role;
	int			statement_timeout_ms;
	double		last_connect_failure;
};

ShimPool *
shim_pool_create(const ShimConfig *cfg)
{
	ShimPool   *pool = calloc(1, sizeof(ShimPool));
	int			i;

	pthread_mutex_init(&pool->mu, NULL);
	pthread_cond_init(&pool->cv, NULL);
	pool->size = cfg->pool_size > 0 ? cfg->pool_size : cfg->threads + 2;
	pool->conns = calloc(pool->size, sizeof(ShimConn));
	pool->state = calloc(pool->size, sizeof(int));
	pool->cancel = calloc(pool->size, sizeof(PGcancel *));
	for (i = 0; i < pool->size; i++)
	{
		pool->conns[i].slot = i;
		pool->state[i] = SLOT_BROKEN;
	}
	pool->db_url = strdup(cfg->db_url);
	pool->role = strdup(cfg->db_role);
	pool->statement_timeout_ms = cfg->statement_timeout_ms;
	return pool;
}

void
shim_pool_destroy(ShimPool *pool)
{
	int			i;

	for (i = 0; i < pool->size; i++)
	{
		if (pool->conns[i].pg)
			PQfinish(pool->conns[i].pg);
		PQfreeCancel(pool->cancel[i]);
	}
	free(pool->conns);
	free(pool->cancel);
	free(pool->state);
	free(pool->db_url);
	free(pool->role);
	pthread_mutex_destroy(&pool->mu);
	pthread_cond_destroy(&pool->cv);
	free(pool);
}

void
shim_db_connection_error(ShimDbError *err, const char *msg)
{
	size_t		n;

	memset(err, 0, sizeof(*err));
	strcpy(err->sqlstate, "08006");
	snprintf(err->message, sizeof(err->message), "database unavailable");
	snprintf(err->detail, sizeof(err->detail), "%s", msg ? msg : "");
	/* libpq messages end with a newline */
	n = strlen(err->detail);
	while (n > 0 && (err->detail[n - 1] == '\n' || err->detail[n - 1] == ' '))
		err->detail[--n] = '\0';
}

/* shim_db_register is declared in db.h: see there. */
void
shim_db_register(const ShimStatement *st)
{
	statements[st->id] = st;
}

const ShimStatement *
shim_statement(ShimQuery q)
{
	return statements[q];
}

const char *
shim_query_name(ShimQuery q)
{
	return statements[q] ? statements[q]->name : "unknown";
}

/* Prepares statement q on conn; false (with err filled) on failure. */
static bool
Prepare(ShimConn *conn, ShimQuery q, ShimDbError *err)
{
	const ShimStatement *st = shim_statement(q);
	PGresult   *res;
	char		name[32];

	snprintf(name, sizeof(name), "shim_%s", st->name);
	res = PQprepare(conn->pg, name, st->sql, st->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		if (err)
		{
			shim_db_error_from_result(conn, res, err);
			err->server_side = true;
		}
		PQclear(res);
		return false;
	}
	PQclear(res);
	conn->prepared[q] = true;
	return true;
}

bool
shim_db_prepare(ShimConn *conn, ShimQuery q, ShimDbError *err)
{
	return conn->prepared[q] || Prepare(conn, q, err);
}

static bool
RunCommand(PGconn *pg, const char *sql)
{
	PGresult   *res = PQexec(pg, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		shim_log(SHIM_LOG_ERROR, "database setup \"%s\" failed: %s", sql,
				 PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/*
 * RoleIsSuperuser tells whether the session's login role is a superuser:
 * the shim never works as one, since a superuser's session can undo any
 * SET ROLE and do anything else a statement could be made to do.
 */
static int
RoleIsSuperuser(PGconn *pg)
{
	PGresult   *res = PQexec(pg,
							 "SELECT rolsuper FROM pg_catalog.pg_roles "
							 "WHERE rolname OPERATOR(pg_catalog.=) session_user");
	int			super = -1;

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		super = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return super;
}

/* shim_db_open is declared in db.h: see there. */
PGconn *
shim_db_open(const char *db_url, const char *role,
			 const char *application_name, int statement_timeout_ms,
			 ShimDbError *err, bool *superuser)
{
	const char *keys[4];
	const char *vals[4];
	int			n = 0;
	PGconn	   *pg;
	int			super;

	*superuser = false;
	if (db_url[0])
	{
		keys[n] = "dbname";
		vals[n++] = db_url;
	}
	keys[n] = "application_name";
	vals[n++] = application_name;
	keys[n] = "connect_timeout";
	vals[n++] = "5";
	keys[n] = NULL;
	vals[n] = NULL;

	pg = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(pg) != CONNECTION_OK)
		goto fail;
	if ((super = RoleIsSuperuser(pg)) != 0)
	{
		if (super < 0)
			goto fail;
		*superuser = true;
		shim_db_connection_error(err, "");
		snprintf(err->detail, sizeof(err->detail),
				 "the database role \"%s\" is a superuser; the shim works only as a role without superuser rights (user_activity_http)",
				 PQuser(pg));
		PQfinish(pg);
		return NULL;
	}
	if (role[0])
	{
		char	   *ident = PQescapeIdentifier(pg, role, strlen(role));
		char		sql[300];

		snprintf(sql, sizeof(sql), "SET ROLE %s", ident ? ident : "\"\"");
		PQfreemem(ident);
		if (!RunCommand(pg, sql))
			goto fail;
	}
	if (statement_timeout_ms > 0)
	{
		char		sql[64];

		snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
				 statement_timeout_ms);
		if (!RunCommand(pg, sql))
			goto fail;
	}
	return pg;

fail:
	shim_db_connection_error(err, PQerrorMessage(pg));
	PQfinish(pg);
	return NULL;
}

/*
 * Connect opens the connection of one slot and prepares every statement.
 * A statement whose function is not installed yet stays unprepared and is
 * tried again on use.
 */
static bool
Connect(ShimPool *pool, ShimConn *conn, ShimDbError *err)
{
	int			q;
	PGcancel   *cancel;
	bool		superuser;

	conn->pg = shim_db_open(pool->db_url, pool->role, "user_activity_shim",
							pool->statement_timeout_ms, err, &superuser);
	if (conn->pg == NULL)
	{
		if (superuser)
			shim_log(SHIM_LOG_ERROR, "%s", err->detail);
		return false;
	}
	memset(conn->prepared, 0, sizeof(conn->prepared));
	for (q = 0; q < SHIM_Q_COUNT; q++)
	{
		if (!Prepare(conn, q, NULL) && PQstatus(conn->pg) != CONNECTION_OK)
			goto fail;
	}

	/* the slot's cancel key, for shim_pool_cancel */
	cancel = PQgetCancel(conn->pg);
	pthread_mutex_lock(&pool->mu);
	PQfreeCancel(pool->cancel[conn->slot]);
	pool->cancel[conn->slot] = cancel;
	pthread_mutex_unlock(&pool->mu);
	shim_metrics_db_up(true);
	return true;

fail:
	shim_db_connection_error(err, PQerrorMessage(conn->pg));
	PQfinish(conn->pg);
	conn->pg = NULL;
	return false;
}

/*
 * Stale tells whether an idle connection died while it sat in the pool: an
 * idle connection receives nothing, so anything readable (a termination
 * notice, end of file) means the server went away.
 */
static bool
Stale(ShimConn *conn)
{
	struct pollfd pfd;

	if (PQstatus(conn->pg) != CONNECTION_OK)
		return true;
	pfd.fd = PQsocket(conn->pg);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return true;
}

/*
 * Opens a connection in every slot, so the first requests are fast: all
 * are taken before any is given back, since acquiring prefers an idle
 * connection to opening one.
 */
void
shim_pool_warm(ShimPool *pool)
{
	ShimConn  **taken = calloc(pool->size, sizeof(ShimConn *));
	int			i,
				n = 0;
	ShimDbError err;

	for (i = 0; i < pool->size; i++)
	{
		if ((taken[n] = shim_pool_acquire(pool, 0, &err)) == NULL)
		{
			shim_log(SHIM_LOG_WARN, "database not reachable yet: %s",
					 err.detail);
			break;
		}
		n++;
	}
	for (i = 0; i < n; i++)
		shim_pool_release(pool, taken[i]);
	free(taken);
}

/*
 * shim_pool_acquire hands out a connection for the caller's exclusive use,
 * waiting up to wait_ms for one to be free.  NULL with err filled (class
 * 08) when the database cannot be reached or the pool stayed exhausted.
 */
ShimConn *
shim_pool_acquire(ShimPool *pool, int wait_ms, ShimDbError *err)
{
	struct timespec deadline;
	int			i,
				pick = -1;
	ShimConn   *conn;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L)
	{
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}

	pthread_mutex_lock(&pool->mu);
	for (;;)
	{
		for (i = 0; i < pool->size && pick < 0; i++)
			if (pool->state[i] == SLOT_IDLE)
				pick = i;
		for (i = 0; i < pool->size && pick < 0; i++)
			if (pool->state[i] == SLOT_BROKEN)
				pick = i;
		if (pick >= 0)
			break;
		if (pthread_cond_timedwait(&pool->cv, &pool->mu, &deadline) != 0)
		{
			pthread_mutex_unlock(&pool->mu);
			shim_db_connection_error(err, "all database connections are busy");
			strcpy(err->sqlstate, "53300");
			return NULL;
		}
	}
	pool->state[pick] = SLOT_BUSY;
	pthread_mutex_unlock(&pool->mu);

	conn = &pool->conns[pick];
	if (conn->pg && Stale(conn))
	{
		PQfinish(conn->pg);
		conn->pg = NULL;
	}
	if (conn->pg == NULL && !Connect(pool, conn, err))
	{
		shim_metrics_db_up(false);
		pthread_mutex_lock(&pool->mu);
		pool->state[pick] = SLOT_BROKEN;
		pthread_cond_signal(&pool->cv);
		pthread_mutex_unlock(&pool->mu);
		return NULL;
	}
	return conn;
}

/*
 * shim_pool_try_acquire hands out an idle, live connection with statement
 * q prepared, or NULL at once when there is none: it neither waits nor
 * connects, so an HTTP thread may call it.  The caller then falls back to
 * shim_pool_acquire on a job thread, which does both.
 */
ShimConn *
shim_pool_try_acquire(ShimPool *pool, ShimQuery q)
{
	int			i,
				pick = -1;
	ShimConn   *conn;

	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->size; i++)
	{
		if (pool->state[i] == SLOT_IDLE && pool->conns[i].prepared[q])
		{
			pick = i;
			break;
		}
	}
	if (pick >= 0)
		pool->state[pick] = SLOT_BUSY;
	pthread_mutex_unlock(&pool->mu);
	if (pick < 0)
		return NULL;

	conn = &pool->conns[pick];
	if (Stale(conn))
	{
		/* its slot reconnects on a job thread's next use */
		PQfinish(conn->pg);
		conn->pg = NULL;
		shim_pool_release(pool, conn);
		return NULL;
	}
	return conn;
}

/*
 * shim_pool_release gives a connection back.  One left in the middle of a
 * query, or broken, is closed; its slot reconnects on next use.
 */
void
shim_pool_release(ShimPool *pool, ShimConn *conn)
{
	int			state = SLOT_IDLE;

	if (conn->pg &&
		(PQstatus(conn->pg) != CONNECTION_OK ||
		 PQtransactionStatus(conn->pg) != PQTRANS_IDLE))
	{
		PQfinish(conn->pg);
		conn->pg = NULL;
	}
	if (conn->pg == NULL)
		state = SLOT_BROKEN;
	pthread_mutex_lock(&pool->mu);
	pool->state[conn->slot] = state;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

void
shim_pool_counts(ShimPool *pool, int *idle, int *busy, int *broken)
{
	int			i;

	*idle = *busy = *broken = 0;
	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->size; i++)
	{
		if (pool->state[i] == SLOT_IDLE)
			(*idle)++;
		else if (pool->state[i] == SLOT_BUSY)
			(*busy)++;
		else
			(*broken)++;
	}
	pthread_mutex_unlock(&pool->mu);
}

/*
 * shim_pool_cancel asks the server to cancel the statement running on
 * every connection in use, for a shim that stops and can wait no longer.
 * Another thread owns each of those connections, so only the cancel key
 * taken when the slot connected is used; a key of a connection since
 * closed names a backend that is gone, and the server ignores it.
 */
void
shim_pool_cancel(ShimPool *pool)
{
	char		errbuf[256];
	int			i;

	pthread_mutex_lock(&pool->mu);
	for (i = 0; i < pool->size; i++)
		if (pool->state[i] == SLOT_BUSY && pool->cancel[i])
			(void) PQcancel(pool->cancel[i], errbuf, sizeof(errbuf));
	pthread_mutex_unlock(&pool->mu);
}

static void
CopyField(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/*
 * shim_db_error_from_result copies SQLSTATE, column (the field at fault),
 * message and detail of a failed result.  A result without SQLSTATE comes
 * from libpq itself: the connection is gone.
 */
void
shim_db_error_from_result(ShimConn *conn, const PGresult *res, ShimDbError *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	if (state == NULL || PQstatus(conn->pg) != CONNECTION_OK)
	{
		shim_db_connection_error(err, res ? PQresultErrorMessage(res)
								 : PQerrorMessage(conn->pg));
		if (state && (strncmp(state, "57P0", 4) == 0))
			CopyField(err->sqlstate, sizeof(err->sqlstate), state);
		return;
	}
	memset(err, 0, sizeof(*err));
	CopyField(err->sqlstate, sizeof(err->sqlstate), state);
	CopyField(err->field, sizeof(err->field),
			  PQresultErrorField(res, PG_DIAG_COLUMN_NAME));
	CopyField(err->message, sizeof(err->message),
			  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
	CopyField(err->detail, sizeof(err->detail),
			  PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
}

/*
 * shim_db_row_error tells whether row, a request's row of a group
 * statement (db.h), reports an error: then err holds it as
 * shim_db_error_from_result would have from the request's own statement.
 */
bool
shim_db_row_error(const PGresult *row, ShimDbError *err)
{
	int			c = PQnfields(row) - 4;

	if (PQgetisnull(row, 0, c))
		return false;
	memset(err, 0, sizeof(*err));
	CopyField(err->sqlstate, sizeof(err->sqlstate), PQgetvalue(row, 0, c));
	CopyField(err->field, sizeof(err->field), PQgetvalue(row, 0, c + 1));
	CopyField(err->message, sizeof(err->message), PQgetvalue(row, 0, c + 2));
	CopyField(err->detail, sizeof(err->detail), PQgetvalue(row, 0, c + 3));
	return true;
}

/*
 * shim_db_exec runs prepared statement q and returns its result, or NULL
 * with err filled.  The caller PQclear()s the result.
 */
PGresult *
shim_db_exec(ShimConn *conn, ShimQuery q, int nparams,
			 const char *const *params, ShimDbError *err)
{
	PGresult   *res;
	char		name[32];
	double		start = shim_now();

	if (!conn->prepared[q] && !Prepare(conn, q, err))
		return NULL;
	snprintf(name, sizeof(name), "shim_%s", shim_query_name(q));
	res = PQexecPrepared(conn->pg, name, nparams, params, NULL, NULL, 0);
	return shim_db_result(conn, q, res, start, err);
}

/*
 * shim_db_result takes the result of statement q started at start (NULL if
 * libpq returned none): counts it in the metrics and returns it when it
 * succeeded, else clears it and returns NULL with err filled.  A row may
 * come as a single tuple: see async.c, RowResult.
 */
PGresult *
shim_db_result(ShimConn *conn, ShimQuery q, PGresult *res, double start,
			   ShimDbError *err)
{
	ExecStatusType st;

	shim_metrics_db_query(q, shim_now() - start);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK ||
		st == PGRES_SINGLE_TUPLE)
	{
		shim_metrics_db_up(true);
		return res;
	}
	shim_db_error_from_result(conn, res, err);
	if (strncmp(err->sqlstate, "08", 2) == 0 ||
		strncmp(err->sqlstate, "57P0", 4) == 0)
		shim_metrics_db_up(false);
	else
		shim_metrics_db_up(true);
	PQclear(res);
	return NULL;
}

/*
 * shim_db_send starts statement q without waiting, in single-row mode, for
 * a streamed reply.  The caller reads the rows with PQgetResult.
 */
bool
shim_db_send(ShimConn *conn, ShimQuery q, int nparams,
			 const char *const *params, ShimDbError *err)
{
	char		name[32];

	if (!conn->prepared[q] && !Prepare(conn, q, err))
		return false;
	snprintf(name, sizeof(name), "shim_%s", shim_query_name(q));
	if (!PQsendQueryPrepared(conn->pg, name, nparams, params, NULL, NULL, 0) ||
		!PQsetSingleRowMode(conn->pg))
	{
		shim_db_connection_error(err, PQerrorMessage(conn->pg));
		return false;
	}
	return true;
}
