/*-------------------------------------------------------------------------
 *
 * reply.h
 *	  Replies (reply.c), the lowest layer of a request: every reply goes out
 *	  through here with the common headers (request id, CORS), and every
 *	  error as one problem document.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_REPLY_H
#define SHIM_REPLY_H

#include "request.h"

typedef struct ShimHeader
{
	const char *name;
	const char *value;
} ShimHeader;

extern const char *shim_reason(int status);
extern int	shim_status_for_sqlstate(const char *sqlstate, bool server_side,
									 ShimQuery q);

/* True when origin is one of the configured origins (or they are "*"). */
extern bool shim_origin_allowed(const ShimConfig *cfg, const char *origin,
								bool *wildcard);
extern void shim_add_common_headers(ShimRequest *req,
									struct MHD_Response *resp);

extern enum MHD_Result shim_reply_response(ShimRequest *req, int status,
										   struct MHD_Response *resp);
extern enum MHD_Result shim_reply(ShimRequest *req, int status,
								  const char *content_type,
								  const char *body, size_t len,
								  const ShimHeader *headers);
extern enum MHD_Result shim_reply_json(ShimRequest *req, int status,
									   const char *body,
									   const ShimHeader *headers);
extern enum MHD_Result shim_problem(ShimRequest *req, int status,
									const char *field, const char *message,
									const char *detail, const char *sqlstate,
									const ShimHeader *headers);
extern enum MHD_Result shim_problem_db(ShimRequest *req, ShimQuery q,
									   const ShimDbError *err);
extern void shim_problem_json(ShimBuf *out, int status, const char *field,
							  const char *message, const char *detail,
							  const char *sqlstate, const char *request_id,
							  const char *instance);

#endif							/* SHIM_REPLY_H */
