/*-------------------------------------------------------------------------
 *
 * async.c
 *	  Statements sent from the HTTP threads and awaited by one thread.
 *
 *	  The job threads of server.c cost a request two more thread wakeups
 *	  than calling the database directly does: the HTTP thread wakes a job
 *	  thread, which sends the statement, sleeps until the result is back,
 *	  and then wakes the HTTP thread to send the reply.  On a machine whose
 *	  cores PostgreSQL needs too, those wakeups are most of what a short
 *	  request costs the shim.  So a request whose statement can be sent at
 *	  once (an idle pooled connection is at hand) is sent by the HTTP thread
 *	  itself, which then suspends the connection and moves on; this module's
 *	  one thread waits, with epoll, on every connection with a statement in
 *	  flight, and hands each result to the request's completion function,
 *	  which replies, before the connection is given back to the pool and the
 *	  HTTP connection resumed.  Under load one wakeup of this thread collects
 *	  many results.
 *
 *	  Everything that needs to wait (for a free connection, for a new one
 *	  after PostgreSQL restarted) still goes to the job threads.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

#define MAX_EVENTS	64

struct ShimAsync
{
	ShimPool   *pool;
	int			epfd;
	int			stopfd;			/* an eventfd: written to stop the thread */
	pthread_t	thread;
	bool		running;
};

/*
 * Finish completes a request: its reply is left for the HTTP thread, the
 * connection goes back to the pool (one left mid-statement is closed
 * there), and the HTTP connection is resumed.  The order matters: the
 * connection must be free before the reply can bring the next request.
 */
static void
Finish(ShimAsync *a, ShimRequest *req, PGresult *res, const ShimDbError *err)
{
	ShimConn   *conn = req->aconn;

	req->adone(req, res, err);
	req->aconn = NULL;
	shim_pool_release(a->pool, conn);
	MHD_resume_connection(req->conn);
}

/*
 * Collect reads what arrived for req's statement.  Returns false while the
 * statement's results are not all in; true when it is complete, with the
 * request answered.  Only the first result is kept (each statement here
 * returns one); the rest are read so that the connection is idle again.
 */
static bool
Collect(ShimAsync *a, ShimRequest *req, bool block)
{
	ShimConn   *conn = req->aconn;
	ShimDbError err;
	PGresult   *res;

	if (!block && !PQconsumeInput(conn->pg))
	{
		/* the server went away: report it as libpq would */
		PQclear(req->ares);
		req->ares = NULL;
		shim_db_error_from_result(conn, NULL, &err);
		Finish(a, req, NULL, &err);
		return true;
	}
	while (block || !PQisBusy(conn->pg))
	{
		res = PQgetResult(conn->pg);
		if (res == NULL)
			break;
		if (req->ares == NULL)
			req->ares = res;
		else
			PQclear(res);
	}
	if (!block && PQisBusy(conn->pg))
		return false;

	res = shim_db_result(conn, req->aquery, req->ares, req->astart, &err);
	req->ares = NULL;
	Finish(a, req, res, &err);
	return true;
}

/* Waits on a socket again, the event having disarmed it (EPOLLONESHOT). */
static bool
Arm(ShimAsync *a, ShimRequest *req)
{
	struct epoll_event ev;
	int			fd = PQsocket(req->aconn->pg);

	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = req;

	/*
	 * A pooled connection keeps its registration while it lives, disarmed
	 * between statements; a reconnected one has a new socket to add.
	 */
	if (epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return true;
	return errno == ENOENT && epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

static void *
AsyncThread(void *arg)
{
	ShimAsync  *a = arg;
	struct epoll_event events[MAX_EVENTS];

	for (;;)
	{
		int			n = epoll_wait(a->epfd, events, MAX_EVENTS, -1);
		int			i;

		if (n < 0 && errno != EINTR)
		{
			shim_log(SHIM_LOG_ERROR, "epoll_wait failed: %s", strerror(errno));
			return NULL;
		}
		for (i = 0; i < n; i++)
		{
			ShimRequest *req = events[i].data.ptr;

			if (req == NULL)
				return NULL;	/* the stop event */
			if (!Collect(a, req, false) && !Arm(a, req))
			{
				shim_log(SHIM_LOG_ERROR, "epoll_ctl failed: %s",
						 strerror(errno));
				(void) Collect(a, req, true);
			}
		}
	}
}

ShimAsync *
shim_async_create(ShimPool *pool)
{
	ShimAsync  *a = calloc(1, sizeof(ShimAsync));
	struct epoll_event ev;

	a->pool = pool;
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (a->epfd < 0 || a->stopfd < 0 ||
		epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->stopfd, &ev) != 0 ||
		pthread_create(&a->thread, NULL, AsyncThread, a) != 0)
	{
		shim_async_destroy(a);
		return NULL;
	}
	a->running = true;
	return a;
}

/*
 * shim_async_destroy stops the thread.  The caller has seen every request
 * sent here completed.
 */
void
shim_async_destroy(ShimAsync *a)
{
	uint64_t	one = 1;

	if (a->running)
	{
		if (write(a->stopfd, &one, sizeof(one)) == sizeof(one))
			pthread_join(a->thread, NULL);
		else
			pthread_detach(a->thread);
	}
	if (a->epfd >= 0)
		close(a->epfd);
	if (a->stopfd >= 0)
		close(a->stopfd);
	free(a);
}

/*
 * shim_async_send sends statement q with its one parameter for req, on an
 * idle pooled connection, and suspends req's HTTP connection; done will
 * reply on this module's thread.  False, with nothing done, when no
 * connection is idle or the statement could not be sent: the caller then
 * hands the request to a job thread, which can wait and reconnect.
 *
 * The caller has marked req deferred (replies are left for the HTTP
 * thread) and counted it as suspended.
 */
bool
shim_async_send(ShimAsync *a, ShimRequest *req, ShimQuery q, const char *param,
				ShimAsyncDone done)
{
	ShimConn   *conn = shim_pool_try_acquire(a->pool, q);
	char		name[32];
	const char *params[1];

	if (conn == NULL)
		return false;
	snprintf(name, sizeof(name), "shim_%s", shim_query_names[q]);
	params[0] = param;
	req->astart = shim_now();
	if (!PQsendQueryPrepared(conn->pg, name, 1, params, NULL, NULL, 0))
	{
		/* released mid-statement or broken: the slot reconnects */
		shim_pool_release(a->pool, conn);
		return false;
	}
	req->aconn = conn;
	req->aquery = q;
	req->ares = NULL;
	req->adone = done;

	/* suspended before the thread can see the result and resume it */
	MHD_suspend_connection(req->conn);
	if (!Arm(a, req))
	{
		shim_log(SHIM_LOG_ERROR, "epoll_ctl failed: %s", strerror(errno));
		(void) Collect(a, req, true);
	}
	return true;
}
