/*-------------------------------------------------------------------------
 *
 * internal.h
 *	  The support layer of the HTTP shim: the system headers every module
 *	  needs, byte buffers (buf.c) and logging (log.c).  Each layer above has
 *	  a header of its own, which includes only the layers below it:
 *
 *		server.c, http.c           the HTTP glue (http.h)
 *		dispatch.c, router.c,
 *		openapi.c                  dispatch and the route table (dispatch.h,
 *		                           router.h)
 *		jobs.c, async.c, stream.c  executors (exec.h)
 *		events.c, counts.c,
 *		ops.c, static.c            handlers (handlers.h)
 *		reply.c                    replies (reply.h), over the request's
 *		                           state (request.h)
 *
 *	  and beside them, used by all: the database pool (db.h), metrics
 *	  (metrics.h), API keys (auth.h) and the configuration (shim.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_INTERNAL_H
#define SHIM_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#include "shim.h"

/*
 * The server exports a SQL function's C symbol named json_object, and in a
 * backend the dynamic linker binds the module's calls of that name to it.
 * The shim therefore never calls jansson's json_object() by name (jansson's
 * own internal calls are bound inside libjansson); the suite checks the
 * module has no such reference.
 */
#define shim_json_object() json_pack("{}")

/* ---- buf.c: a growable byte buffer ---- */

typedef struct ShimBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} ShimBuf;

extern void shim_buf_init(ShimBuf *b);
extern void shim_buf_free(ShimBuf *b);
extern void shim_buf_append(ShimBuf *b, const char *s, size_t n);
extern void shim_buf_puts(ShimBuf *b, const char *s);
extern void shim_buf_printf(ShimBuf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void shim_buf_json_string(ShimBuf *b, const char *s);
extern void shim_buf_urlencode(ShimBuf *b, const char *s);
extern bool shim_utf8_valid(const char *s, size_t n);
extern double shim_now(void);
extern bool shim_const_eq(const char *a, const char *b);
extern unsigned shim_const_eq_bytes(const unsigned char *a,
									const unsigned char *b, size_t n);
extern bool shim_buf_reserve(ShimBuf *b, size_t n);

/* ---- log.c: one JSON object per line ---- */

enum
{
	SHIM_LOG_DEBUG = 0,
	SHIM_LOG_INFO,
	SHIM_LOG_WARN,
	SHIM_LOG_ERROR
};

extern void shim_log_setup(int level, int fd);
extern void shim_log(int level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void shim_log_request(const char *method, const char *route,
							 int status, double seconds,
							 const char *request_id, const char *sqlstate);
#endif							/* SHIM_INTERNAL_H */
