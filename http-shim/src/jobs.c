/*-------------------------------------------------------------------------
 *
 * jobs.c
 *	  The job threads: a fixed set, as many as database connections, that
 *	  run what cannot be sent without waiting: a request whose route runs
 *	  on a job thread, a statement for which no connection was idle (a job
 *	  thread waits for one, or opens one after PostgreSQL restarted), and
 *	  the start of an export.  Each runs a request's handler with blocking
 *	  libpq calls and resumes its connection with the reply.  See exec.h
 *	  for who owns a request when.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>

#include "exec.h"

struct ShimJobs
{
	Shim	   *shim;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ShimRequest *head;			/* the queue, under mu */
	ShimRequest *tail;
	bool		closed;			/* stopping: nothing more is queued */
	bool		stop;			/* the threads exit once the queue is empty */
	int			nthreads;
	pthread_t  *threads;
};

/* Appends a suspended request to the queue.  Caller holds jobs->mu. */
static void
QueueJob(ShimJobs *jobs, ShimRequest *req)
{
	req->next_job = NULL;
	if (jobs->tail)
		jobs->tail->next_job = req;
	else
		jobs->head = req;
	jobs->tail = req;
	pthread_cond_signal(&jobs->cv);
}

/* shim_jobs_submit is declared in exec.h: see there. */
bool
shim_jobs_submit(Shim *shim, ShimRequest *req, ShimHandler handler)
{
	ShimJobs   *jobs = shim->jobs;

	pthread_mutex_lock(&jobs->mu);
	if (jobs->closed)
	{
		pthread_mutex_unlock(&jobs->mu);
		return false;
	}
	req->handler = handler;
	req->deferred = true;
	__atomic_add_fetch(&shim->suspended, 1, __ATOMIC_SEQ_CST);
	MHD_suspend_connection(req->conn);
	QueueJob(jobs, req);
	pthread_mutex_unlock(&jobs->mu);
	return true;
}

/* shim_jobs_take_over is declared in exec.h: see there. */
void
shim_jobs_take_over(Shim *shim, ShimRequest *req)
{
	ShimJobs   *jobs = shim->jobs;

	pthread_mutex_lock(&jobs->mu);
	if (jobs->closed)
	{
		pthread_mutex_unlock(&jobs->mu);
		(void) req->handler(req);
		MHD_resume_connection(req->conn);
		return;
	}
	QueueJob(jobs, req);
	pthread_mutex_unlock(&jobs->mu);
}

/* A job thread: runs queued handlers, then resumes their connections. */
static void *
JobThread(void *arg)
{
	ShimJobs   *jobs = arg;
	ShimRequest *req;

	for (;;)
	{
		pthread_mutex_lock(&jobs->mu);
		while (jobs->head == NULL && !jobs->stop)
			pthread_cond_wait(&jobs->cv, &jobs->mu);
		if (jobs->head == NULL)
		{
			pthread_mutex_unlock(&jobs->mu);
			return NULL;
		}
		req = jobs->head;
		jobs->head = req->next_job;
		if (jobs->head == NULL)
			jobs->tail = NULL;
		pthread_mutex_unlock(&jobs->mu);

		req->next_job = NULL;
		(void) req->handler(req);
		MHD_resume_connection(req->conn);
	}
}

/*
 * shim_jobs_start starts n job threads; NULL when not all of them could
 * be started (those that were are stopped again).
 */
ShimJobs *
shim_jobs_start(Shim *shim, int n)
{
	ShimJobs   *jobs = calloc(1, sizeof(ShimJobs));
	int			i;

	if (jobs == NULL)
		return NULL;
	jobs->shim = shim;
	pthread_mutex_init(&jobs->mu, NULL);
	pthread_cond_init(&jobs->cv, NULL);
	jobs->threads = calloc(n, sizeof(pthread_t));
	for (i = 0; jobs->threads && i < n; i++)
	{
		if (pthread_create(&jobs->threads[i], NULL, JobThread, jobs) != 0)
			break;
		jobs->nthreads++;
	}
	if (jobs->nthreads == n)
		return jobs;
	shim_jobs_stop(jobs);
	shim_jobs_free(jobs);
	return NULL;
}

/* shim_jobs_close refuses further submissions (shim_jobs_submit). */
void
shim_jobs_close(ShimJobs *jobs)
{
	pthread_mutex_lock(&jobs->mu);
	jobs->closed = true;
	pthread_mutex_unlock(&jobs->mu);
}

/* shim_jobs_stop lets the threads finish the queue, and joins them. */
void
shim_jobs_stop(ShimJobs *jobs)
{
	int			i;

	pthread_mutex_lock(&jobs->mu);
	jobs->stop = true;
	pthread_cond_broadcast(&jobs->cv);
	pthread_mutex_unlock(&jobs->mu);
	for (i = 0; i < jobs->nthreads; i++)
		pthread_join(jobs->threads[i], NULL);
	jobs->nthreads = 0;
}

/*
 * shim_jobs_free frees the queue.  Not in shim_jobs_stop: until the daemon
 * is stopped, requests still come to dispatch, which takes the lock to see
 * that the queue is closed.
 */
void
shim_jobs_free(ShimJobs *jobs)
{
	pthread_mutex_destroy(&jobs->mu);
	pthread_cond_destroy(&jobs->cv);
	free(jobs->threads);
	free(jobs);
}
