/*-------------------------------------------------------------------------
 *
 * internal.h
 *	  Declarations shared by the modules of the HTTP shim: buffers, logging,
 *	  metrics, the database pool, the route table, replies and handlers.
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

/* ---- db.c: a fixed pool of libpq connections ---- */

/*
 * The statements the shim prepares on every connection.  Each is written
 * once, in the route table (router.c) of the endpoint that runs it.
 */
typedef enum ShimQuery
{
	SHIM_Q_RECORD_EVENT,
	SHIM_Q_RECORD_EVENTS,
	SHIM_Q_SEARCH_EVENTS,
	SHIM_Q_EXPORT_EVENTS,
	SHIM_Q_USER_COUNTS,
	SHIM_Q_TOP_USERS,
	SHIM_Q_COUNTING_STATUS,
	SHIM_Q_DELETE_USER,
	SHIM_Q_PING,
	SHIM_Q_COUNT
} ShimQuery;

typedef struct ShimStatement
{
	ShimQuery	id;
	const char *name;			/* prepared as "shim_<name>"; the metrics' label */
	const char *sql;
	int			nparams;
} ShimStatement;

/* The statement q, from the route table; its name alone, for labels. */
extern const ShimStatement *shim_statement(ShimQuery q);
extern const char *shim_query_name(ShimQuery q);

typedef struct ShimConn
{
	PGconn	   *pg;
	bool		prepared[SHIM_Q_COUNT];
	int			slot;
} ShimConn;

/* An error from the database, ready to be mapped to an HTTP reply. */
typedef struct ShimDbError
{
	char		sqlstate[6];
	bool		server_side;	/* our statement is wrong, not the input */
	char		field[64];
	char		message[512];
	char		detail[1024];
} ShimDbError;

typedef struct ShimPool ShimPool;

extern ShimPool *shim_pool_create(const ShimConfig *cfg);
extern void shim_pool_destroy(ShimPool *pool);
extern void shim_pool_warm(ShimPool *pool);
extern ShimConn *shim_pool_acquire(ShimPool *pool, int wait_ms,
								   ShimDbError *err);
extern ShimConn *shim_pool_try_acquire(ShimPool *pool, ShimQuery q);
extern void shim_pool_release(ShimPool *pool, ShimConn *conn);
extern void shim_pool_counts(ShimPool *pool, int *idle, int *busy,
							 int *broken);
extern void shim_pool_cancel(ShimPool *pool);
extern PGresult *shim_db_exec(ShimConn *conn, ShimQuery q, int nparams,
							  const char *const *params, ShimDbError *err);
extern PGresult *shim_db_result(ShimConn *conn, ShimQuery q, PGresult *res,
								double start, ShimDbError *err);
extern bool shim_db_send(ShimConn *conn, ShimQuery q, int nparams,
						 const char *const *params, ShimDbError *err);
extern void shim_db_error_from_result(ShimConn *conn, const PGresult *res,
									  ShimDbError *err);
extern void shim_db_connection_error(ShimDbError *err, const char *msg);
extern bool shim_db_prepare(ShimConn *conn, ShimQuery q, ShimDbError *err);

/*
 * shim_db_open opens a session for the shim: refuses (NULL, err filled,
 * *superuser true) a login role that is a superuser, then sets the role
 * and the statement timeout.
 */
extern PGconn *shim_db_open(const char *db_url, const char *role,
							const char *application_name,
							int statement_timeout_ms, ShimDbError *err,
							bool *superuser);

/* ---- async.c: statements sent from the HTTP threads, group commit ---- */

typedef struct ShimAsync ShimAsync;
typedef struct ShimRequest ShimRequest;
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

/*
 * Called on the waiting thread with the statement's result (NULL, with err
 * filled, when it failed); replies to the request.  The result is the
 * callee's to clear.
 */
typedef void (*ShimAsyncDone) (ShimRequest *req, PGresult *res,
							   const ShimDbError *err);

extern ShimAsync *shim_async_create(Shim *shim, ShimPool *pool,
								   int group_max);
extern void shim_async_destroy(ShimAsync *a);
extern bool shim_async_send(ShimAsync *a, ShimRequest *req, ShimQuery q,
							bool group, ShimAsyncDone done);

/*
 * shim_async_watch has the executor thread look at w when fd is readable
 * (or, with out, writable), once; false when epoll refused.
 * shim_async_kick has it look at a stream at once, from any thread.
 */
extern bool shim_async_watch(ShimAsync *a, int fd, ShimWaiter *w, bool out);
extern void shim_async_kick(ShimAsync *a, ShimWaiter *w);

/* ---- stream.c: an export's rows, from the executor to the client ---- */

extern struct MHD_Response *shim_stream_start(ShimRequest *req,
											  ShimConn *conn,
											  PGresult *first,
											  const char *format);
extern void shim_stream_pump(ShimAsync *a, ShimStream *st);

/* ---- metrics.c ---- */

/* Label values of "path": the route templates plus two catch-alls. */
extern int	shim_metric_route_count(void);

typedef struct ShimMetricsExtra
{
	ShimMode	mode;
	int			pool_idle;
	int			pool_busy;
	int			pool_broken;
	bool		have_counting;
	bool		have_last_success;
	double		last_success_ts;
	double		seconds_since_success;
	bool		have_last_outcome;
	bool		last_run_ok;
	bool		have_interval;
	double		expected_interval;
	int			exports;		/* streaming exports holding a slot */
	int			max_exports;
} ShimMetricsExtra;

extern void shim_metrics_reset(void);
extern void shim_metrics_request(int route, int status, double seconds);
extern void shim_metrics_in_flight(int delta);
extern long shim_metrics_get_in_flight(void);
extern void shim_metrics_ingested(const char *action);
extern void shim_metrics_rejected(const char *field);
extern void shim_metrics_duplicate(void);
extern void shim_metrics_db_query(ShimQuery q, double seconds);
extern void shim_metrics_db_up(bool up);
extern void shim_metrics_group(int events, bool retried);
extern void shim_metrics_render(ShimBuf *out, const ShimMetricsExtra *extra);
extern void shim_metrics_export_refused(void);
extern void shim_metrics_export_rows(const char *format, uint64_t rows);
extern void shim_metrics_auth_failure(int result);

/* ---- router.c: the static route table ---- */

typedef enum ShimAuth
{
	SHIM_AUTH_NONE,
	SHIM_AUTH_READ,
	SHIM_AUTH_WRITE,
	SHIM_AUTH_ADMIN
} ShimAuth;

typedef enum MHD_Result (*ShimHandler) (ShimRequest *req);

/*
 * How a route's request runs once its body is in (server.c, Dispatch):
 * on the HTTP thread (it needs no database), on a job thread, or sent
 * from the HTTP thread on an idle connection and answered by the executor
 * thread (async.c), alone or in a group commit; those last two go to a
 * job thread when no connection is idle.
 */
typedef enum ShimRun
{
	SHIM_RUN_HTTP,
	SHIM_RUN_JOB,
	SHIM_RUN_PIPELINE,
	SHIM_RUN_GROUP
} ShimRun;

/* Where a parameter comes from. */
typedef enum ShimParamIn
{
	SHIM_IN_QUERY,
	SHIM_IN_PATH
} ShimParamIn;

/* A parameter of a route, as the OpenAPI document describes it. */
typedef struct ShimParam
{
	const char *name;
	ShimParamIn in;
	bool		required;
	const char *type;			/* JSON Schema type */
	const char *format;			/* or NULL */
	const char *description;
} ShimParam;

/*
 * A reply of a route, for the OpenAPI document.  schema is a component's
 * name, "[]Name" for an array of them, or a plain type ("object", "array",
 * "string"); several entries of one status are its content types.
 */
typedef struct ShimReplyDoc
{
	int			status;
	const char *description;
	const char *content_type;
	const char *schema;
	bool		link;			/* carries Link rel="next" */
} ShimReplyDoc;

typedef struct ShimRoute
{
	const char *method;
	const char *path;			/* template, "{id}" matches one segment */
	ShimAuth	auth;			/* the key scope it needs */
	ShimRun		run;
	ShimHandler handler;		/* runs it on the HTTP or a job thread */

	/* RUN_PIPELINE and RUN_GROUP: readies and answers a statement sent */
	bool		(*prepare) (ShimRequest *req);
	ShimAsyncDone done;

	ShimStatement stmt;			/* nparams 0 and no sql: none */
	ShimStatement stream;		/* the streamed variant, if any */

	/* the OpenAPI operation */
	const char *operation_id;
	const char *summary;
	const char *body_schema;	/* as ShimReplyDoc's schema; NULL: no body */
	const ShimParam *params;	/* ends with a NULL name; NULL: none */
	const ShimReplyDoc *replies;	/* ends with status 0 */
	const int  *problems;		/* problem statuses, ending with 0 */
} ShimRoute;

#define shim_route_has_body(r) ((r)->body_schema != NULL)

extern const ShimRoute shim_routes[];
extern const int shim_route_count;

#define SHIM_ROUTE_STATIC	(shim_route_count)
#define SHIM_ROUTE_UNMATCHED (shim_route_count + 1)

#define SHIM_MATCH_NONE		(-1)
#define SHIM_MATCH_METHOD	(-2)

extern int	shim_route_match(const char *method, const char *path,
							 char *id, size_t idlen, char *allow,
							 size_t allowlen);
extern const char *shim_route_label(int route);
extern int	shim_route_for_path(const char *path);

/* ---- auth.c: API keys ---- */

/* What a request's key opens, or why it opens nothing. */
typedef enum ShimAuthResult
{
	SHIM_AUTH_OK,
	SHIM_AUTH_MISSING,			/* no Authorization header */
	SHIM_AUTH_MALFORMED,		/* not "Bearer <token>" */
	SHIM_AUTH_UNKNOWN,			/* no such key */
	SHIM_AUTH_REVOKED,
	SHIM_AUTH_EXPIRED,
	SHIM_AUTH_SCOPE,			/* a key of another scope */
	SHIM_AUTH_NRESULTS
} ShimAuthResult;

typedef struct ShimKeys ShimKeys;

extern ShimKeys *shim_keys_create(const ShimConfig *cfg);

/*
 * shim_keys_connect opens the key connection, LISTENs and reads the keys,
 * on the caller's thread; shim_start calls it once before the key thread
 * exists, which then owns the connection.  False (err filled) when the
 * database cannot be reached or the role is a superuser (*superuser).
 */
extern bool shim_keys_connect(ShimKeys *k, ShimDbError *err, bool *superuser);
extern bool shim_keys_start(ShimKeys *k);
extern void shim_keys_reload(ShimKeys *k);
extern void shim_keys_destroy(ShimKeys *k);
extern ShimAuthResult shim_keys_check(ShimKeys *k, const char *hdr,
									  ShimAuth level);

/* ---- server.c: the daemon and per-request state ---- */

/*
 * Requests that need the database do not block the HTTP threads: their
 * connection is suspended and the request queued to a fixed set of job
 * threads (as many as database connections), which run the handler and
 * resume the connection with the reply.
 */
typedef struct ShimJobs
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	ShimRequest *head;
	ShimRequest *tail;
	bool		closed;			/* stopping: handle requests inline */
	bool		stop;
	int			nthreads;
	pthread_t  *threads;
} ShimJobs;

struct Shim
{
	ShimConfig	cfg;
	struct MHD_Daemon *daemon;
	ShimPool   *pool;
	ShimJobs	jobs;
	int			suspended;		/* deferred requests not completed yet */
	int			exports;		/* streaming exports holding a connection */
	int			max_exports;
	ShimAsync  *async;			/* NULL: every statement on a job thread */
	ShimKeys   *keys;			/* API keys; its own thread keeps them */
	struct MHD_Response *no_memory_reply;	/* 503, made at start */
	int			async_closed;	/* stopping: nothing more to async.c */
	volatile int draining;
	double		started;
};

struct ShimRequest
{
	Shim	   *shim;
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	int			route;			/* index into shim_routes, or a catch-all */
	char		id[32];			/* the {id} of the path */
	char		allow[64];
	char		request_id[68];
	double		start;
	int			status;
	char		sqlstate[6];
	bool		first_done;
	bool		body_declared;	/* a body follows the head */
	bool		early;			/* replied before reading the body */
	bool		too_large;
	bool		no_memory;		/* the body could not be buffered: 503 */
	bool		replied;
	bool		deferred;		/* handled by a job thread */
	bool		dispatched;
	struct MHD_Response *pending;	/* a job thread's reply, to queue */
	ShimRequest *next_job;		/* in the job queue, or async.c's */
	ShimAsyncDone adone;		/* replies to a statement sent in async.c */
	bool		stream_export;
	ShimBuf		body;			/* the request's body (routes that take one);
								 * for a GET page: its parameters' JSON */
	size_t		body_cap;		/* most bytes the body may take */
	ShimBuf		page_link;		/* a GET page's query string, for the Link */
};

/* ---- reply.c ---- */

typedef struct ShimHeader
{
	const char *name;
	const char *value;
} ShimHeader;

extern const char *shim_reason(int status);
extern int	shim_status_for_sqlstate(const char *sqlstate, bool server_side,
									 ShimQuery q);
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

/* ---- handlers (events.c, counts.c, ops.c, static.c) ---- */

extern enum MHD_Result shim_h_post_event(ShimRequest *req);
extern void shim_post_event_done(ShimRequest *req, PGresult *res,
								 const ShimDbError *err);
extern bool shim_get_events_prepare(ShimRequest *req);
extern void shim_get_events_done(ShimRequest *req, PGresult *res,
								 const ShimDbError *err);
extern enum MHD_Result shim_h_post_events(ShimRequest *req);
extern enum MHD_Result shim_h_get_events(ShimRequest *req);
extern enum MHD_Result shim_h_user_counts(ShimRequest *req);
extern enum MHD_Result shim_h_top_users(ShimRequest *req);
extern enum MHD_Result shim_h_delete_user(ShimRequest *req);
extern enum MHD_Result shim_h_counting_status(ShimRequest *req);
extern enum MHD_Result shim_h_healthz(ShimRequest *req);
extern enum MHD_Result shim_h_readyz(ShimRequest *req);
extern enum MHD_Result shim_h_metrics(ShimRequest *req);
extern enum MHD_Result shim_h_openapi(ShimRequest *req);
extern enum MHD_Result shim_h_static(ShimRequest *req);
extern bool shim_export_begin(Shim *shim);
extern void shim_export_end(Shim *shim);
extern char *shim_openapi_json(void);

/*
 * Hands a request that async.c could not send (already suspended and
 * counted) to the job threads, or runs it here when they are stopping.
 */
extern void shim_jobs_take_over(Shim *shim, ShimRequest *req);

/* Waits for a pooled connection; replies 503 itself when there is none. */
extern ShimConn *shim_req_conn(ShimRequest *req, ShimQuery q);

#endif							/* SHIM_INTERNAL_H */
