/*-------------------------------------------------------------------------
 *
 * http.h
 *	  The HTTP glue's checks (http.c), shared by server.c: the request id,
 *	  the head and input checks made before a request reaches dispatch,
 *	  and CORS preflights.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_HTTP_H
#define SHIM_HTTP_H

#include "dispatch.h"

/*
 * The request heads the shim takes (see CheckHead).  Each lies inside the
 * connection memory, which holds the whole head as received plus a record
 * per field, so that a head over one of them reaches the shim and gets a
 * problem document; only a head over the connection memory itself is
 * refused by libmicrohttpd, with its own short HTML page (414 or 431).
 * The target's limit still takes the 20 000-character cursor of the
 * hardening suite.
 */
#define SHIM_MAX_TARGET_BYTES	(24 * 1024)	/* path and query, decoded */
#define SHIM_MAX_HEADER_BYTES	(16 * 1024)	/* every field line, CRLF too */
#define SHIM_MAX_HEADER_FIELDS	100
#define SHIM_MAX_QUERY_PARAMETERS	64	/* see UriLogged */


extern void shim_http_seed(uint64_t seed);
extern void shim_http_request_id(ShimRequest *req);
extern bool shim_http_check_head(ShimRequest *req, enum MHD_Result *ret);
extern bool shim_http_check_input(ShimRequest *req, enum MHD_Result *ret);
extern enum MHD_Result shim_http_too_large(ShimRequest *req);
extern bool shim_http_is_preflight(ShimRequest *req);
extern enum MHD_Result shim_http_preflight(ShimRequest *req);

#endif							/* SHIM_HTTP_H */
