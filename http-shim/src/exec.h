/*-------------------------------------------------------------------------
 *
 * exec.h
 *	  The executors: the threads that run a request's database work, so
 *	  that no HTTP thread ever waits on the database.  The job threads
 *	  (jobs.c) run a route's handler with blocking libpq calls; the one
 *	  executor thread (async.c) owns every statement sent without blocking
 *	  (pipelines, group commit) and every export's rows (stream.c).
 *
 *	  Which thread owns a request, stage by stage:
 *
 *	  1. An HTTP thread, libmicrohttpd's for the connection's whole life,
 *		 makes the request on the first callback, reads its body and
 *		 dispatches it (dispatch.c).  What needs no database is answered
 *		 there and then.
 *	  2. A request for the database is suspended and from then on owned by
 *		 one executor.  If an idle connection is at hand, the HTTP thread
 *		 hands its statement to libpq in non-blocking mode (or queues it
 *		 for a group) and the executor thread owns it: that thread writes
 *		 what the socket did not take, reads the results and runs the
 *		 route's done function, which replies.  Otherwise a job thread
 *		 owns it and runs the route's handler.  Either leaves its reply in
 *		 req->pending and resumes the connection.
 *	  3. Resumed, the request is the HTTP thread's again: it queues the
 *		 reply, and frees the request when libmicrohttpd says it completed.
 *	  4. An export's reply is read by the HTTP thread from a buffer that the
 *		 executor thread fills (stream.c); they share the stream under its
 *		 lock, and the last to let go frees it.
 *
 *	  Locks, and what each protects:
 *
 *	  - a stream's mu (stream.c): its buffer, which thread has its database
 *		connection, and whether the client waits or went;
 *	  - ShimAsync.mu (async.c): the requests waiting for a group and the
 *		number of connections writing groups;
 *	  - ShimAsync.kick_mu: the streams the executor thread is to look at;
 *	  - ShimJobs.mu (jobs.c): the job queue and whether it is closed;
 *	  - ShimPool.mu (db.c): each slot's state and cancel key.  A pooled
 *		connection itself is used by the one thread that holds it, without
 *		a lock;
 *	  - the key set's rwlock (auth.c).
 *
 *	  The first four may be held while taking the pool's lock or the kick
 *	  list's, never the other way round.  Counters that several threads
 *	  update (Shim.suspended, exports, draining, async_closed; the
 *	  metrics) are atomics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_EXEC_H
#define SHIM_EXEC_H

#include "handlers.h"

typedef struct ShimStream ShimStream;

/* What the executor thread waits on: the first member of each. */
typedef enum ShimWaitKind
{
	SHIM_WAIT_FLIGHT,			/* statements in flight (async.c) */
	SHIM_WAIT_STREAM			/* an export's rows (stream.c) */
} ShimWaitKind;

typedef struct ShimWaiter
{
	ShimWaitKind kind;
	struct ShimWaiter *next_kick;	/* in the executor's list of kicked */
} ShimWaiter;

/* ---- jobs.c: the job threads ---- */

extern ShimJobs *shim_jobs_start(Shim *shim, int n);
extern void shim_jobs_close(ShimJobs *jobs);
extern void shim_jobs_stop(ShimJobs *jobs);
extern void shim_jobs_free(ShimJobs *jobs);

/*
 * shim_jobs_submit suspends req and queues it to run handler on a job
 * thread; false, with nothing done, when the shim is stopping.
 */
extern bool shim_jobs_submit(Shim *shim, ShimRequest *req,
							 ShimHandler handler);

/*
 * Hands a request that async.c could not send (already suspended and
 * counted) to the job threads, or runs it here when they are stopping.
 */
extern void shim_jobs_take_over(Shim *shim, ShimRequest *req);

/* ---- async.c: statements sent without blocking, group commit ---- */

extern ShimAsync *shim_async_create(Shim *shim, ShimPool *pool,
								   int group_max);
extern void shim_async_destroy(ShimAsync *a);
extern bool shim_async_send(ShimAsync *a, ShimRequest *req, ShimQuery q,
							const ShimStatement *group, ShimAsyncDone done);

/*
 * shim_async_watch has the executor thread look at w when fd is readable
 * (or, with out, writable), once; false when epoll refused.
 * shim_async_kick has it look at a stream at once, from any thread.
 */
extern bool shim_async_watch(ShimAsync *a, int fd, ShimWaiter *w, bool out);
extern void shim_async_kick(ShimAsync *a, ShimWaiter *w);

/* ---- stream.c: exports, from the executor thread to the client ---- */

/* A job thread's handler of an export (of GET /api/events). */
extern enum MHD_Result shim_exec_export(ShimRequest *req);
extern void shim_stream_pump(ShimAsync *a, ShimStream *st);

#endif							/* SHIM_EXEC_H */
