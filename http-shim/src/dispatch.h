/*-------------------------------------------------------------------------
 *
 * dispatch.h
 *	  Dispatch (dispatch.c): from a request's head, its route, method and
 *	  key; once its body is in, the executor its route names.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_DISPATCH_H
#define SHIM_DISPATCH_H

#include "exec.h"
#include "router.h"

/*
 * shim_dispatch_head answers, from the head alone, every request that will
 * not reach an endpoint: 405 for a known path under another method, the
 * page's files or 404, and 401 for a missing or wrong key.  Replies itself
 * (the outcome in *ret) and returns false; true when the request goes on.
 */
extern bool shim_dispatch_head(ShimRequest *req, enum MHD_Result *ret);

/* shim_dispatch runs a request whose body is in, as its route says. */
extern enum MHD_Result shim_dispatch(ShimRequest *req);

#endif							/* SHIM_DISPATCH_H */
