/*-------------------------------------------------------------------------
 *
 * async.c
 *	  The executor thread: statements sent from the HTTP threads without
 *	  blocking and awaited here, group commit of POST /api/event, and the
 *	  rows of every export (stream.c).
 *
 *	  The job threads (jobs.c) cost a request two more thread wakeups
 *	  than calling the database directly does: the HTTP thread wakes a job
 *	  thread, which sends the statement, sleeps until the result is back,
 *	  and then wakes the HTTP thread to send the reply.  On a machine whose
 *	  cores PostgreSQL needs too, those wakeups are most of what a short
 *	  request costs the shim.  So a request whose statement can be sent at
 *	  once (an idle pooled connection is at hand) is sent by the HTTP thread
 *	  itself, which then suspends the connection and moves on; this module's
 *	  one thread waits, with epoll, on every connection with statements in
 *	  flight, and hands each result to the request's completion function,
 *	  which replies, before the connection is given back to the pool and the
 *	  HTTP connection resumed.  Under load one wakeup of this thread collects
 *	  many results.
 *
 *	  With group commit, POST /api/event requests also share statements
 *	  and transactions.  One pooled connection writes events at a time; a
 *	  request that comes while it does waits in a queue, and the
 *	  connection, when its transaction is done, takes what queued meanwhile
 *	  (up to group_max events) as its next group and sends it as one
 *	  statement, the route's group statement, in one pipeline (pipeline.c):
 *
 *		  record_event_each({$1, ..., $n}); Sync
 *
 *	  which answers each request's event with the row its own record_event
 *	  would have returned, or with the error it would have raised, so an
 *	  invalid event fails no other.  A request is answered only once that
 *	  transaction has committed, so a 201 still means committed.  If the
 *	  statement fails as a whole (a serialization failure or deadlock, a
 *	  timeout), its transaction is rolled back and every event of the group
 *	  is sent again, each in a transaction of its own ("record_event; Sync"
 *	  per event, still one pipeline), so that each gets exactly the outcome
 *	  it would have had alone.  The statement counts once in the metrics of
 *	  statements (db_query_duration_seconds, record_event_each), each
 *	  request's reply in those of its route.
 *
 *	  A request that finds no group in flight is sent at once, on an idle
 *	  connection, as a group of one: grouping adds no wait when the shim is
 *	  not busy, and under load the waits are what forms the groups.  One
 *	  writer is the most efficient: the fewer transactions, the larger each
 *	  group, and a commit (its WAL flush, a backend's wakeup) costs as much
 *	  as several events (on two cores, at 16 clients, four writers cost the
 *	  server over twice the CPU per event that one did).  So another
 *	  connection starts writing only when a full group is waiting, up to
 *	  MAX_GROUPS at a time: the writers grow with the load, and a group
 *	  stuck on a lock holds up no more than one group's worth of requests
 *	  before another writer goes around it.
 *
 *	  Everything that needs to wait (for a free connection, for a new one
 *	  after PostgreSQL restarted) still goes to the job threads.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pipeline.h"

#define MAX_EVENTS	64

/* The most groups written at a time: a full group waiting starts another. */
#define MAX_GROUPS	4

struct ShimAsync
{
	Shim	   *shim;
	ShimPool   *pool;
	int			epfd;
	int			stopfd;			/* an eventfd: written to stop the thread */
	int			kickfd;			/* an eventfd: written when kicked has some */
	pthread_t	thread;
	bool		running;
	int			group_max;		/* 1: no group commit */

	/* requests waiting for a group, under mu */
	pthread_mutex_t mu;
	ShimRequest *head;
	ShimRequest *tail;
	int			queued;			/* requests in that queue */
	int			groups;			/* connections writing groups now */

	/* streams to look at without an event of their socket, under kick_mu */
	pthread_mutex_t kick_mu;
	ShimWaiter *kicked;
};

/* epoll's data of the two eventfds */
static ShimWaiter stop_waiter;
static ShimWaiter kick_waiter;

static void Collect(ShimAsync *a, Flight *f);

/* shim_async_watch is declared in exec.h: see there. */
bool
shim_async_watch(ShimAsync *a, int fd, ShimWaiter *w, bool out)
{
	struct epoll_event ev;

	ev.events = EPOLLIN | EPOLLONESHOT | (out ? EPOLLOUT : 0);
	ev.data.ptr = w;

	/*
	 * A pooled connection keeps its registration while it lives, disarmed
	 * between statements; a reconnected one has a new socket to add.
	 */
	if (epoll_ctl(a->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return true;
	return errno == ENOENT && epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

/* shim_async_kick is declared in exec.h: see there. */
void
shim_async_kick(ShimAsync *a, ShimWaiter *w)
{
	uint64_t	one = 1;
	bool		first;

	pthread_mutex_lock(&a->kick_mu);
	first = a->kicked == NULL;
	w->next_kick = a->kicked;
	a->kicked = w;
	pthread_mutex_unlock(&a->kick_mu);
	if (first && write(a->kickfd, &one, sizeof(one)) != sizeof(one))
		shim_log(SHIM_LOG_ERROR, "cannot wake the executor: %m");
}

/* Waits on a flight's socket, the event having disarmed it (EPOLLONESHOT). */
static bool
Arm(ShimAsync *a, Flight *f)
{
	return shim_async_watch(a, PQsocket(f->conn->pg), &f->w, f->unsent);
}

/* Takes up to max requests off the queue into batch.  Caller holds mu. */
static int
TakeQueue(ShimAsync *a, ShimRequest **batch, int max)
{
	int			n = 0;

	while (a->head && n < max)
	{
		batch[n++] = a->head;
		a->head = a->head->next_job;
		batch[n - 1]->next_job = NULL;
	}
	if (a->head == NULL)
		a->tail = NULL;
	a->queued -= n;
	return n;
}

/*
 * GiveUp ends a group's turn without a connection to go on with: this
 * slot is freed, and if it was the last, what still waits goes to the job
 * threads, which can wait for a connection (and make one).
 */
static void
GiveUp(ShimAsync *a)
{
	ShimRequest *req;

	pthread_mutex_lock(&a->mu);
	a->groups--;
	req = a->groups == 0 ? a->head : NULL;
	if (a->groups == 0)
	{
		a->head = a->tail = NULL;
		a->queued = 0;
	}
	pthread_mutex_unlock(&a->mu);
	while (req)
	{
		ShimRequest *next = req->next_job;

		req->next_job = NULL;
		shim_jobs_take_over(a->shim, req);
		req = next;
	}
}

/*
 * Next, when a group's transaction is over, sends what queued meanwhile as
 * the next group on the same connection, or gives the connection back.
 */
static void
Next(ShimAsync *a, ShimConn *conn, ShimQuery q, ShimQuery gq)
{
	ShimRequest **batch = malloc(a->group_max * sizeof(ShimRequest *));
	Flight	   *f;
	int			n,
				i;

	pthread_mutex_lock(&a->mu);
	n = TakeQueue(a, batch, a->group_max);
	if (n == 0)
		a->groups--;
	pthread_mutex_unlock(&a->mu);
	if (n == 0)
	{
		shim_pool_release(a->pool, conn);
		free(batch);
		return;
	}

	if (conn->pg == NULL || PQstatus(conn->pg) != CONNECTION_OK ||
		PQtransactionStatus(conn->pg) != PQTRANS_IDLE)
	{
		shim_pool_release(a->pool, conn);
		conn = shim_pool_try_acquire(a->pool, q);
	}
	f = conn ? shim_flight_new(conn, q, gq, true, batch, n) : NULL;
	if (f && shim_flight_transmit(f, true))
	{
		f->start = shim_now();
		free(batch);
		if (!Arm(a, f))
			Collect(a, f);
		return;
	}

	/* no connection to write them on: a job thread writes each */
	if (f)
		shim_flight_free(f);

	if (conn)
	{
		shim_flight_end(conn);
		shim_pool_release(a->pool, conn);
	}
	for (i = 0; i < n; i++)
		shim_jobs_take_over(a->shim, batch[i]);
	free(batch);
	GiveUp(a);
}

/*
 * Finish answers every request of a flight whose results are all in (or
 * whose connection was lost), then lets the connection go on, and resumes
 * the HTTP connections.  The order matters: the database connection must
 * be free (or writing the next group) before a reply can bring the
 * client's next request.
 */
static void
Finish(ShimAsync *a, Flight *f)
{
	ShimConn   *conn = f->conn;
	int			i;

	/* a group of more than one that is not together was written again */
	if (f->grouped)
		shim_metrics_group(f->n, f->n > 1 && !f->together);
	if (f->together && f->committed[0])
	{
		shim_metrics_db_query(f->gq, shim_now() - f->start);
		shim_metrics_db_up(true);
	}
	for (i = 0; i < f->n; i++)
	{
		ShimRequest *req = f->items[i];
		PGresult   *res = f->res[i];
		ShimDbError err;

		f->res[i] = NULL;
		if (f->together && f->committed[i])
		{
			/* its row of the group statement: its event, or its error */
			if (shim_db_row_error(res, &err))
			{
				PQclear(res);
				res = NULL;
			}
		}
		else if ((f->committed[i] && res) ||
				 (res && PQresultStatus(res) == PGRES_FATAL_ERROR))
			res = shim_db_result(conn, f->q, res, f->start, &err);
		else
		{
			/* not known to be committed: the connection was lost */
			PQclear(res);
			res = NULL;
			shim_db_error_from_result(conn, NULL, &err);
			shim_metrics_db_up(false);
		}
		req->adone(req, res, &err);
	}

	shim_flight_end(conn);
	if (f->grouped)
		Next(a, conn, f->q, f->gq);
	else
		shim_pool_release(a->pool, conn);
	for (i = 0; i < f->n; i++)
		MHD_resume_connection(f->items[i]->conn);
	shim_flight_free(f);
}

/*
 * Collect reads what arrived for f; once it is all in, it answers, or, if
 * the group statement failed, writes each item again on its own.
 */
static void
Collect(ShimAsync *a, Flight *f)
{
	int			i;

	for (;;)
	{
		if (!shim_flight_read(f))
		{
			if (Arm(a, f))
				return;
			shim_log(SHIM_LOG_ERROR, "epoll_ctl failed: %s", strerror(errno));
			shim_flight_read_all(f);
		}
		if (!f->together || !f->failed || f->broken)
			break;
		for (i = 0; i < f->n; i++)
		{
			PQclear(f->res[i]);
			f->res[i] = NULL;
		}
		if (!shim_flight_transmit(f, false))
		{
			f->broken = true;
			break;
		}
	}
	Finish(a, f);
}

/* Pumps the streams kicked since last time. */
static void
Kicked(ShimAsync *a)
{
	uint64_t	n;
	ShimWaiter *w;

	if (read(a->kickfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		shim_log(SHIM_LOG_ERROR, "cannot read the executor's eventfd: %m");
	pthread_mutex_lock(&a->kick_mu);
	w = a->kicked;
	a->kicked = NULL;
	pthread_mutex_unlock(&a->kick_mu);
	while (w)
	{
		ShimWaiter *next = w->next_kick;

		shim_stream_pump(a, (ShimStream *) w);
		w = next;
	}
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
			ShimWaiter *w = events[i].data.ptr;

			if (w == &stop_waiter)
				return NULL;
			if (w == &kick_waiter)
				Kicked(a);
			else if (w->kind == SHIM_WAIT_STREAM)
				shim_stream_pump(a, (ShimStream *) w);
			else
				Collect(a, (Flight *) w);
		}
	}
}

ShimAsync *
shim_async_create(Shim *shim, ShimPool *pool, int group_max)
{
	ShimAsync  *a = calloc(1, sizeof(ShimAsync));
	struct epoll_event ev;
	struct epoll_event kev;

	a->shim = shim;
	a->pool = pool;
	a->group_max = group_max;
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->kick_mu, NULL);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	a->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.ptr = &stop_waiter;
	kev.events = EPOLLIN;
	kev.data.ptr = &kick_waiter;
	if (a->epfd < 0 || a->stopfd < 0 || a->kickfd < 0 ||
		epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->stopfd, &ev) != 0 ||
		epoll_ctl(a->epfd, EPOLL_CTL_ADD, a->kickfd, &kev) != 0 ||
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
	if (a->kickfd >= 0)
		close(a->kickfd);
	pthread_mutex_destroy(&a->mu);
	pthread_mutex_destroy(&a->kick_mu);
	free(a);
}

/*
 * shim_async_send sends statement q, with the request's body as its one
 * parameter, on an idle pooled connection, and suspends req's HTTP
 * connection; done will reply on this module's thread.  With group commit
 * (group, the statement that runs many such requests at once, and the
 * shim's setting) the request waits instead for the next group of a
 * connection writing one, unless none does, or a full group waits (then
 * this thread sends that group, this request last).  False,
 * with nothing done, when no connection is idle or the statement could not
 * be sent: the caller then hands the request to a job thread, which can
 * wait and reconnect.
 *
 * The caller has marked req deferred (replies are left for the HTTP
 * thread) and counted it as suspended.
 */
bool
shim_async_send(ShimAsync *a, ShimRequest *req, ShimQuery q,
				const ShimStatement *group, ShimAsyncDone done)
{
	bool		grouped = a->group_max > 1 && group != NULL;
	ShimQuery	gq = group ? group->id : q;
	ShimConn   *conn = NULL;
	ShimRequest **batch = &req;
	int			n = 1,
				i;
	Flight	   *f;

	req->adone = done;
	if (!grouped)
		conn = shim_pool_try_acquire(a->pool, q);
	else
	{
		pthread_mutex_lock(&a->mu);
		if (a->groups == 0 ||
			(a->groups < MAX_GROUPS && a->queued + 1 >= a->group_max))
		{
			/* with none idle, a job thread waits for one (or opens one) */
			conn = shim_pool_try_acquire(a->pool, q);
			if (conn)
			{
				a->groups++;
				batch = malloc(a->group_max * sizeof(ShimRequest *));
				n = TakeQueue(a, batch, a->group_max - 1);
				batch[n++] = req;
			}
		}
		if (conn == NULL && a->groups > 0)
		{
			/* the next connection done with its group takes this one */
			MHD_suspend_connection(req->conn);
			req->next_job = NULL;
			if (a->tail)
				a->tail->next_job = req;
			else
				a->head = req;
			a->tail = req;
			a->queued++;
			pthread_mutex_unlock(&a->mu);
			return true;
		}
		pthread_mutex_unlock(&a->mu);
	}
	if (conn == NULL)
		return false;

	f = shim_flight_new(conn, q, gq, grouped, batch, n);
	if (batch != &req)
		free(batch);
	f->start = shim_now();
	if (!shim_flight_transmit(f, true))
	{
		/* broken: the slot reconnects on a job thread's next use */
		shim_flight_end(conn);
		shim_pool_release(a->pool, conn);
		for (i = 0; i < n - 1; i++)
			shim_jobs_take_over(a->shim, f->items[i]);
		shim_flight_free(f);
		if (grouped)
			GiveUp(a);
		return false;
	}

	/* suspended before the thread can see the result and resume it */
	MHD_suspend_connection(req->conn);
	if (!Arm(a, f))
		Collect(a, f);
	return true;
}
