/*-------------------------------------------------------------------------
 *
 * pipeline.h
 *	  A pipeline in flight (pipeline.c), shared by async.c, which sends and
 *	  awaits them: part of the executor layer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_PIPELINE_H
#define SHIM_PIPELINE_H

#include "exec.h"

/* What a pipeline sends, in order; its results come back in that order. */
typedef enum StepKind
{
	STEP_ITEM,					/* the statement of one request */
	STEP_GROUP,					/* the group statement of all of them */
	STEP_ROLLBACK,
	STEP_SYNC					/* ends an implicit transaction */
} StepKind;

/* A sync point's "item": the group statement's transaction, or the rollback */
#define SYNC_GROUP		(-1)
#define SYNC_ROLLBACK	(-2)

typedef struct Step
{
	StepKind	kind;
	int			item;			/* ITEM: its request; SYNC: see above */
} Step;

/* A pipeline in flight on one connection, for one or more requests. */
typedef struct Flight
{
	ShimWaiter	w;				/* SHIM_WAIT_FLIGHT */
	ShimConn   *conn;
	ShimQuery	q;				/* each request's statement */
	ShimQuery	gq;				/* all of them at once (grouped only) */
	bool		grouped;		/* counted in groups; takes the queue when done */
	bool		together;		/* every item in the group statement */
	bool		failed;			/* the group statement failed */
	bool		broken;			/* the connection was lost */
	bool		sync_error;		/* the sync point being read reported one */
	bool		unsent;			/* libpq still holds some of the pipeline */
	int			n;
	ShimRequest **items;
	PGresult  **res;			/* each item's result (together: its row) */
	int			nrows;			/* together: the rows come in so far */
	bool	   *committed;		/* each item's transaction committed */
	Step	   *steps;
	int			nsteps;
	int			pos;			/* the step whose results are being read */
	double		start;
} Flight;

extern Flight *shim_flight_new(ShimConn *conn, ShimQuery q, ShimQuery gq,
							   bool grouped, ShimRequest **items, int n);
extern void shim_flight_free(Flight *f);

/*
 * shim_flight_transmit hands f's items to libpq as one pipeline, without
 * blocking: all in the group statement when together, else each in its
 * own transaction.  False when the connection failed.
 */
extern bool shim_flight_transmit(Flight *f, bool together);

/*
 * shim_flight_read writes what libpq still holds and takes in what
 * arrived, without blocking; true once every result is in, or the
 * connection is lost (f->broken).  shim_flight_read_all waits for them.
 */
extern bool shim_flight_read(Flight *f);
extern void shim_flight_read_all(Flight *f);

/* Leaves pipeline and non-blocking mode, or closes the connection. */
extern void shim_flight_end(ShimConn *conn);

#endif							/* SHIM_PIPELINE_H */
