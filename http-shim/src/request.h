/*-------------------------------------------------------------------------
 *
 * request.h
 *	  The state every layer of the shim shares: the daemon's (Shim) and one
 *	  request's (ShimRequest), and the two kinds of function a route names
 *	  to run a request.  Data only: the functions are in the layers' own
 *	  headers.
 *
 *	  A request is owned by one thread at a time (see exec.h for which);
 *	  its fields are read and written by that thread only, without locks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_REQUEST_H
#define SHIM_REQUEST_H

#include "auth.h"
#include "db.h"

typedef struct ShimRequest ShimRequest;
typedef struct ShimAsync ShimAsync;
typedef struct ShimJobs ShimJobs;

/* Runs a request on the thread that owns it, and replies. */
typedef enum MHD_Result (*ShimHandler) (ShimRequest *req);

/*
 * Called on the executor thread with a statement's result (NULL, with err
 * filled, when it failed); replies to the request.  The result is the
 * callee's to clear.
 */
typedef void (*ShimAsyncDone) (ShimRequest *req, PGresult *res,
							   const ShimDbError *err);

struct Shim
{
	ShimConfig	cfg;
	struct MHD_Daemon *daemon;
	ShimPool   *pool;
	ShimJobs   *jobs;			/* the job threads (jobs.c) */
	ShimAsync  *async;			/* the executor thread (async.c) */
	ShimKeys   *keys;			/* API keys; its own thread keeps them */
	int			suspended;		/* suspended, not resumed yet (atomic) */
	int			exports;		/* streams holding a connection (atomic) */
	int			max_exports;
	struct MHD_Response *no_memory_reply;	/* 503, made at start */
	int			async_closed;	/* stopping: nothing more to async.c
								 * (atomic) */
	int			draining;		/* stopping: replies say close (atomic) */
	double		started;
};

/* Whether the shim is stopping (shim_stop): any thread may ask. */
static inline bool
shim_draining(Shim *shim)
{
	return __atomic_load_n(&shim->draining, __ATOMIC_ACQUIRE) != 0;
}

struct ShimRequest
{
	Shim	   *shim;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	int			route;			/* index into shim_routes, or a catch-all */
	char		id[32];			/* the {id} of the path */
	char		allow[64];
	char		request_id[68];
	double		start;
	int			status;
	char		sqlstate[6];
	bool		body_declared;	/* a body follows the head */
	bool		early;			/* replied before reading the body */
	bool		too_large;
	bool		no_memory;		/* the body could not be buffered: 503 */
	bool		replied;
	bool		deferred;		/* suspended for an executor */
	bool		dispatched;
	struct MHD_Response *pending;	/* an executor's reply, to queue */
	ShimRequest *next_job;		/* in the job queue, or async.c's */
	ShimHandler handler;		/* what a job thread runs */
	ShimAsyncDone adone;		/* replies to a statement sent in async.c */
	const ShimStatement *stmt;	/* what the request runs, and its */
	const char *args[SHIM_MAX_ARGS];	/* parameters (dispatch.c) */
	ShimBuf		body;			/* the request's body (routes that take one) */
	size_t		body_cap;		/* most bytes the body may take */
};

#endif							/* SHIM_REQUEST_H */
