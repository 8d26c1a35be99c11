/*-------------------------------------------------------------------------
 *
 * db.h
 *	  The database layer of the HTTP shim: its statements and errors, and a
 *	  fixed pool of libpq connections (db.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_DB_H
#define SHIM_DB_H

#include "internal.h"

/*
 * The statements the shim prepares on every connection.  Each is written
 * once, in the route table (router.c) of the endpoint that runs it, which
 * hands them to this module when the shim starts (shim_db_register).
 */
typedef enum ShimQuery
{
	SHIM_Q_RECORD_EVENT,
	SHIM_Q_RECORD_EVENT_EACH,
	SHIM_Q_RECORD_EVENTS,
	SHIM_Q_SEARCH_EVENTS,
	SHIM_Q_EXPORT_EVENTS,
	SHIM_Q_USER_COUNTS,
	SHIM_Q_TOP_USERS,
	SHIM_Q_COUNTING_STATUS,
	SHIM_Q_DELETE_USER,
	SHIM_Q_USER_ACTIVITY,
	SHIM_Q_ACTIVE_USERS,
	SHIM_Q_PING,
	SHIM_Q_COUNT
} ShimQuery;

/*
 * A statement and where each of its parameters comes from, in order: a
 * route parameter by name (the path's "id", or a query parameter), the
 * request body ("@body") or the export's format ("@format").  Each is
 * passed as text, as it came (NULL when absent).
 *
 * A group statement runs the statement of many requests at once: its one
 * parameter is their bodies ("@bodies"), a text[] sent in binary, and it
 * returns one row per request, in order: the columns of the request's own
 * statement, then sqlstate, field, message and detail, which are null
 * unless the request failed (shim_db_row_error).
 */
#define SHIM_MAX_ARGS	10

typedef struct ShimStatement
{
	ShimQuery	id;
	const char *name;			/* prepared as "shim_<name>"; the metrics' label */
	const char *sql;
	int			nparams;
	const char *args[SHIM_MAX_ARGS];
} ShimStatement;

/* Registers statement st; then its id finds it, and its name alone. */
extern void shim_db_register(const ShimStatement *st);
extern const ShimStatement *shim_statement(ShimQuery q);
extern const char *shim_query_name(ShimQuery q);

typedef struct ShimConn
{
	PGconn	   *pg;
	bool		prepared[SHIM_Q_COUNT];
	int			slot;
} ShimConn;

/* An error from the database, ready to be mapped to an HTTP reply. */
typedef struct ShimDbError
{
	char		sqlstate[6];
	bool		server_side;	/* our statement is wrong, not the input */
	char		field[64];
	char		message[512];
	char		detail[1024];
} ShimDbError;

typedef struct ShimPool ShimPool;

extern ShimPool *shim_pool_create(const ShimConfig *cfg);
extern void shim_pool_destroy(ShimPool *pool);
extern void shim_pool_warm(ShimPool *pool);
extern ShimConn *shim_pool_acquire(ShimPool *pool, int wait_ms,
								   ShimDbError *err);
extern ShimConn *shim_pool_try_acquire(ShimPool *pool, ShimQuery q);
extern void shim_pool_release(ShimPool *pool, ShimConn *conn);
extern void shim_pool_counts(ShimPool *pool, int *idle, int *busy,
							 int *broken);
extern void shim_pool_cancel(ShimPool *pool);
extern PGresult *shim_db_exec(ShimConn *conn, ShimQuery q, int nparams,
							  const char *const *params, ShimDbError *err);
extern PGresult *shim_db_result(ShimConn *conn, ShimQuery q, PGresult *res,
								double start, ShimDbError *err);
extern bool shim_db_send(ShimConn *conn, ShimQuery q, int nparams,
						 const char *const *params, ShimDbError *err);
extern void shim_db_error_from_result(ShimConn *conn, const PGresult *res,
									  ShimDbError *err);
extern void shim_db_connection_error(ShimDbError *err, const char *msg);
extern bool shim_db_row_error(const PGresult *row, ShimDbError *err);
extern bool shim_db_prepare(ShimConn *conn, ShimQuery q, ShimDbError *err);

/*
 * shim_db_open opens a session for the shim: refuses (NULL, err filled,
 * *superuser true) a login role that is a superuser, then sets the role
 * and the statement timeout.
 */
extern PGconn *shim_db_open(const char *db_url, const char *role,
							const char *application_name,
							int statement_timeout_ms, ShimDbError *err,
							bool *superuser);
#endif							/* SHIM_DB_H */
