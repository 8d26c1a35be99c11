/*-------------------------------------------------------------------------
 *
 * handlers.h
 *	  The endpoints' own code, below the executors that run it: events
 *	  (events.c), counts and erasure (counts.c), operations (ops.c) and
 *	  the page's files (static.c).  A handler runs on the thread that owns
 *	  the request, takes a pooled connection where it needs one, and
 *	  replies (reply.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_HANDLERS_H
#define SHIM_HANDLERS_H

#include "metrics.h"
#include "reply.h"

/* events.c */
extern enum MHD_Result shim_h_post_event(ShimRequest *req);
extern void shim_post_event_done(ShimRequest *req, PGresult *res,
								 const ShimDbError *err);
extern enum MHD_Result shim_h_post_events(ShimRequest *req);
extern enum MHD_Result shim_h_get_events(ShimRequest *req);
extern void shim_get_events_done(ShimRequest *req, PGresult *res,
								 const ShimDbError *err);

/* The export format the Accept header asks for; NULL: a page. */
extern const char *shim_export_format(ShimRequest *req,
									  const char **content_type);

/* counts.c */
extern enum MHD_Result shim_h_user_counts(ShimRequest *req);
extern enum MHD_Result shim_h_user_activity(ShimRequest *req);
extern enum MHD_Result shim_h_active_users(ShimRequest *req);
extern enum MHD_Result shim_h_top_users(ShimRequest *req);
extern enum MHD_Result shim_h_delete_user(ShimRequest *req);
extern enum MHD_Result shim_h_counting_status(ShimRequest *req);

/* ops.c */
extern enum MHD_Result shim_h_healthz(ShimRequest *req);
extern enum MHD_Result shim_h_readyz(ShimRequest *req);
extern enum MHD_Result shim_h_metrics(ShimRequest *req);

/* static.c */
extern enum MHD_Result shim_h_static(ShimRequest *req);

/* Waits for a pooled connection; replies 503 itself when there is none. */
extern ShimConn *shim_req_conn(ShimRequest *req, ShimQuery q);

#endif							/* SHIM_HANDLERS_H */
