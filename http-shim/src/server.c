/*-------------------------------------------------------------------------
 *
 * server.c
 *	  The HTTP daemon: libmicrohttpd with a fixed pool of threads, each
 *	  polling with epoll.  Per-request state is allocated on the first
 *	  callback and freed in the completion callback.  Route, method and API
 *	  key are decided on that first callback, from the head alone, so that
 *	  a request answered 404, 405 or 401 has none of its body read; a body
 *	  that is read is capped (413 before it is read in full) and buffered
 *	  up to its declared length.  CORS, routing, metrics and the request
 *	  log are applied here for every route.
 *
 *	  The listening socket is taken before anything else is made, so that
 *	  a port already in use costs no database connection.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

extern void shim_add_common_headers(ShimRequest *req,
									struct MHD_Response *resp);

/*
 * Memory of one HTTP connection: its request line and headers must fit
 * (bodies do not: they are copied out as they come).  libmicrohttpd zeroes
 * all of it after every request of a keep-alive connection, so it is paid
 * per request: with 128 kB that was 12-15% of the shim's CPU time of a POST
 * /api/event.  32 kB still takes a 20 000-character cursor.
 */
#define SHIM_CONNECTION_MEMORY (32 * 1024)

static uint64_t request_seq;
static uint64_t request_seed;

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

/* A caller-supplied X-Request-Id is kept when it is short and plain. */
static bool
ValidRequestId(const char *s)
{
	size_t		n = 0;

	for (; s[n]; n++)
	{
		char		c = s[n];

		if (n >= 64 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
						 (c >= '0' && c <= '9') || c == '-' || c == '_' ||
						 c == '.'))
			return false;
	}
	return n > 0;
}

static void
SetRequestId(ShimRequest *req)
{
	const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
													"X-Request-Id");
	uint64_t	n;

	if (given && ValidRequestId(given))
	{
		snprintf(req->request_id, sizeof(req->request_id), "%s", given);
		return;
	}
	n = __atomic_add_fetch(&request_seq, 1, __ATOMIC_RELAXED);
	/* a bijective mix, so ids never repeat within a process */
	n ^= request_seed;
	n *= 0x9E3779B97F4A7C15ULL;
	n ^= n >> 29;
	snprintf(req->request_id, sizeof(req->request_id), "%016llx",
			 (unsigned long long) n);
}

/* True when origin is one of the configured origins (or they are "*"). */
static bool
OriginAllowed(const ShimConfig *cfg, const char *origin, bool *wildcard)
{
	const char *p = cfg->cors_origins;
	size_t		olen = strlen(origin);

	*wildcard = false;
	while (*p)
	{
		size_t		n;
		const char *start;

		while (*p == ' ' || *p == ',')
			p++;
		start = p;
		n = strcspn(p, ",");
		p += n;
		while (n > 0 && start[n - 1] == ' ')
			n--;
		if (n == 1 && *start == '*')
		{
			*wildcard = true;
			return true;
		}
		if (n == olen && strncasecmp(start, origin, n) == 0)
			return true;
	}
	return false;
}

/*
 * shim_add_common_headers adds what every reply carries: the request id,
 * the CORS headers for an allowed Origin, and "Connection: close" while
 * draining so that keep-alive clients let go.
 */
void
shim_add_common_headers(ShimRequest *req, struct MHD_Response *resp)
{
	const ShimConfig *cfg = &req->shim->cfg;
	const char *origin = MHD_lookup_connection_value(req->conn,
													 MHD_HEADER_KIND, "Origin");
	bool		wildcard;

	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	if (origin && OriginAllowed(cfg, origin, &wildcard))
	{
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
								wildcard ? "*" : origin);
		if (!wildcard)
		{
			MHD_add_response_header(resp, "Vary", "Origin");
			if (cfg->cors_credentials)
				MHD_add_response_header(resp,
										"Access-Control-Allow-Credentials",
										"true");
		}
		MHD_add_response_header(resp, "Access-Control-Expose-Headers",
								"Link, X-Request-Id, Retry-After, Location");
	}
	if ((req->shim->draining || (req->early && req->body_declared)) &&
		MHD_get_response_header(resp, MHD_HTTP_HEADER_CONNECTION) == NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/*
 * Preflight answers OPTIONS.  With Origin and Access-Control-Request-Method
 * it is a CORS preflight: 204 with the allowed methods, headers and max
 * age, or 403 naming the origin.  Without them, 204 with Allow.
 */
static enum MHD_Result
Preflight(ShimRequest *req)
{
	const ShimConfig *cfg = &req->shim->cfg;
	const char *origin = MHD_lookup_connection_value(req->conn,
													 MHD_HEADER_KIND, "Origin");
	const char *want = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
												   "Access-Control-Request-Method");
	bool		wildcard;
	char		max_age[32];
	struct MHD_Response *resp;

	if (origin && want)
	{
		if (!OriginAllowed(cfg, origin, &wildcard))
			return shim_problem(req, 403, "Origin", "origin not allowed",
								"Header \"Origin\" must be one of HTTP_CORS_ALLOWED_ORIGINS.",
								NULL, NULL);
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Access-Control-Allow-Methods",
								cfg->cors_methods);
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
								cfg->cors_headers);
		snprintf(max_age, sizeof(max_age), "%d", cfg->cors_max_age_hours * 3600);
		MHD_add_response_header(resp, "Access-Control-Max-Age", max_age);
		return shim_reply_response(req, 204, resp);
	}
	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Allow", req->allow[0] ? req->allow
							: "OPTIONS");
	return shim_reply_response(req, 204, resp);
}

/*
 * Authorize checks the request's API key against its route's level: with
 * HTTP_ALLOW_UNAUTHENTICATED (loopback only) every route is open, else
 * each /api route needs a key of its scope or the admin scope.  Every
 * refusal is the same 401, whatever its reason: the reason goes to the
 * metrics only.  Replies itself (the outcome in *ret) and returns false.
 */
static bool
Authorize(ShimRequest *req, ShimAuth level, enum MHD_Result *ret)
{
	static const ShimHeader h[] = {
		{"WWW-Authenticate", "Bearer realm=\"user_activity\""}, {NULL, NULL}
	};
	ShimAuthResult r;

	if (level == SHIM_AUTH_NONE || req->shim->cfg.allow_unauthenticated)
		return true;
	r = shim_keys_check(req->shim->keys,
						MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
													MHD_HTTP_HEADER_AUTHORIZATION),
						level);
	if (r == SHIM_AUTH_OK)
		return true;
	shim_metrics_auth_failure(r);
	*ret = shim_problem(req, 401, "Authorization", "missing or wrong API key",
						"Header \"Authorization\" must be \"Bearer <key>\" with a valid key of this endpoint's scope or of the admin scope.",
						NULL, h);
	return false;
}

static enum MHD_Result
TooLarge(ShimRequest *req)
{
	char		detail[160];

	snprintf(detail, sizeof(detail),
			 "The request body must be at most %ld bytes.",
			 req->shim->cfg.body_limit);
	return shim_problem(req, 413, "body", "request body too large", detail,
						NULL, NULL);
}

/* What CheckHead counts in the header fields. */
typedef struct HeadTally
{
	size_t		target;			/* path and query parameters, decoded */
	size_t		header_bytes;	/* "name: value" CRLF, every field */
	int			fields;
	int			content_length; /* how many Content-Length fields */
	int			transfer_encoding;	/* how many Transfer-Encoding fields */
	const char *coding;			/* the last Transfer-Encoding value */
} HeadTally;

static enum MHD_Result
TallyHeader(void *cls, enum MHD_ValueKind kind, const char *key,
			size_t key_size, const char *value, size_t value_size)
{
	HeadTally  *t = cls;

	(void) kind;
	t->fields++;
	t->header_bytes += key_size + value_size + 4;
	if (key_size == 14 && strncasecmp(key, "Content-Length", 14) == 0)
		t->content_length++;
	else if (key_size == 17 && strncasecmp(key, "Transfer-Encoding", 17) == 0)
	{
		t->transfer_encoding++;
		t->coding = value ? value : "";
	}
	return MHD_YES;
}

static enum MHD_Result
TallyArgument(void *cls, enum MHD_ValueKind kind, const char *key,
			  size_t key_size, const char *value, size_t value_size)
{
	HeadTally  *t = cls;

	(void) kind;
	(void) value;
	t->target += key_size + value_size + 2;
	return MHD_YES;
}

/* True when coding, a Transfer-Encoding value, is exactly "chunked". */
static bool
OnlyChunked(const char *coding)
{
	size_t		n;

	coding += strspn(coding, " \t");
	n = strcspn(coding, " \t");
	return n == 7 && strncasecmp(coding, "chunked", 7) == 0 &&
		coding[n + strspn(coding + n, " \t")] == '\0';
}

/*
 * CheckHead refuses, before any of a body is read, a request whose head
 * the shim will not take, with a problem document and "Connection: close"
 * (the rest of the request, if any, is never read, so the connection
 * cannot carry another):
 *
 * - 400 for framing that is ambiguous or unsupported, which libmicrohttpd
 *   0.9.75 lets through: Content-Length given more than once (it would use
 *   the first), Content-Length together with Transfer-Encoding, and any
 *   Transfer-Encoding but a single "chunked" (RFC 9112, 6.1 and 6.3: the
 *   body's length could not be told reliably, and another reader of the
 *   same bytes could tell it otherwise);
 * - 414 for a request target over SHIM_MAX_TARGET_BYTES;
 * - 431 for more than SHIM_MAX_HEADER_FIELDS header fields or more than
 *   SHIM_MAX_HEADER_BYTES of them.
 *
 * Replies itself (the outcome in *ret) and returns false.
 */
static bool
CheckHead(ShimRequest *req, enum MHD_Result *ret)
{
	static const ShimHeader close_conn[] = {
		{MHD_HTTP_HEADER_CONNECTION, "close"}, {NULL, NULL}
	};
	HeadTally	t;
	char		detail[200];

	memset(&t, 0, sizeof(t));
	t.target = strlen(req->path);
	MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, TallyHeader, &t);
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND,
								TallyArgument, &t);
	if (t.content_length <= 1 && t.transfer_encoding == 0 &&
		t.target <= SHIM_MAX_TARGET_BYTES &&
		t.fields <= SHIM_MAX_HEADER_FIELDS &&
		t.header_bytes <= SHIM_MAX_HEADER_BYTES)
		return true;

	if (req->route < 0)
		req->route = SHIM_ROUTE_UNMATCHED;
	if (t.content_length > 1)
		*ret = shim_problem(req, 400, "Content-Length", "ambiguous message framing",
							"Header \"Content-Length\" must appear at most once.",
							NULL, close_conn);
	else if (t.transfer_encoding > 0 && t.content_length > 0)
		*ret = shim_problem(req, 400, "Transfer-Encoding", "ambiguous message framing",
							"A request must not carry both \"Content-Length\" and \"Transfer-Encoding\".",
							NULL, close_conn);
	else if (t.transfer_encoding > 1 ||
			 (t.transfer_encoding == 1 && !OnlyChunked(t.coding)))
		*ret = shim_problem(req, 400, "Transfer-Encoding", "unsupported transfer coding",
							"Header \"Transfer-Encoding\" must appear at most once and be \"chunked\", the only transfer coding accepted.",
							NULL, close_conn);
	else if (t.target > SHIM_MAX_TARGET_BYTES)
	{
		snprintf(detail, sizeof(detail),
				 "The request target (path and query, decoded) must be at most %d bytes.",
				 SHIM_MAX_TARGET_BYTES);
		*ret = shim_problem(req, 414, NULL, "request target too long", detail,
							NULL, close_conn);
	}
	else if (t.fields > SHIM_MAX_HEADER_FIELDS ||
			 t.header_bytes > SHIM_MAX_HEADER_BYTES)
	{
		snprintf(detail, sizeof(detail),
				 "A request may carry at most %d header fields and %d bytes of them.",
				 SHIM_MAX_HEADER_FIELDS, SHIM_MAX_HEADER_BYTES);
		*ret = shim_problem(req, 431, NULL, "request header fields too large",
							detail, NULL, close_conn);
	}
	else
		return true;			/* a single "Transfer-Encoding: chunked" */
	return false;
}

/* Paths the static file handler must never shadow. */
static bool
ApiPath(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

typedef struct BadArg
{
	bool		bad;
	char		name[64];
} BadArg;

static enum MHD_Result
CheckArg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
		 const char *value, size_t value_size)
{
	BadArg	   *b = cls;

	(void) kind;
	if (shim_utf8_valid(key, key_size) &&
		(value == NULL || shim_utf8_valid(value, value_size)))
		return MHD_YES;
	b->bad = true;
	if (shim_utf8_valid(key, key_size) && key_size < sizeof(b->name))
		snprintf(b->name, sizeof(b->name), "%s", key);
	else
		snprintf(b->name, sizeof(b->name), "query");
	return MHD_NO;
}

/*
 * JsonBodyType says whether a body declared as this media type is read as
 * JSON: application/json and application/...+json, and also text/plain and
 * application/x-www-form-urlencoded, because the original service read any
 * body as JSON, "curl -d" declares the latter, and navigator.sendBeacon()
 * (how a page sends activity as it unloads) sends the former and cannot
 * say otherwise.  Parameters such as "; charset=utf-8" are ignored.
 */
static bool
JsonBodyType(const char *type)
{
	size_t		n = strcspn(type, "; \t");

	return (n == 16 && strncasecmp(type, "application/json", n) == 0) ||
		(n > 17 && strncasecmp(type, "application/", 12) == 0 &&
		 strncasecmp(type + n - 5, "+json", 5) == 0) ||
		(n == 10 && strncasecmp(type, "text/plain", n) == 0) ||
		(n == 33 && strncasecmp(type, "application/x-www-form-urlencoded", n) == 0);
}

/*
 * CheckInput refuses what the handlers would otherwise pass on silently
 * changed: a query parameter whose decoded name or value is not UTF-8 text
 * or holds a NUL (libpq would cut it short there), a body that is not
 * UTF-8 JSON text without NUL, or a body declared as another media type.
 * Replies itself (the outcome in *ret) and returns false.
 */
static bool
CheckInput(ShimRequest *req, enum MHD_Result *ret)
{
	BadArg		b;

	memset(&b, 0, sizeof(b));
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, CheckArg,
								&b);
	if (b.bad)
	{
		char		detail[160];

		snprintf(detail, sizeof(detail),
				 "Query parameter \"%s\" must be UTF-8 text without NUL bytes, percent-encoded.",
				 b.name);
		*ret = shim_problem(req, 400, b.name, "invalid query parameter",
							detail, NULL, NULL);
		return false;
	}
	if (shim_route_has_body(&shim_routes[req->route]))
	{
		const char *type = MHD_lookup_connection_value(req->conn,
													   MHD_HEADER_KIND,
													   MHD_HTTP_HEADER_CONTENT_TYPE);

		if (type && !JsonBodyType(type))
		{
			*ret = shim_problem(req, 415, "Content-Type",
								"unsupported media type",
								"Send the body as JSON with the header \"Content-Type: application/json\" "
								"(text/plain and application/x-www-form-urlencoded, or no Content-Type, are read as JSON too).",
								NULL, NULL);
			return false;
		}
		if (!shim_utf8_valid(req->body.data, req->body.len))
		{
			*ret = shim_problem(req, 400, "body", "invalid request body",
								"The request body must be JSON text in UTF-8, without NUL bytes.",
								"22P02", NULL);
			return false;
		}
	}
	return true;
}

/*
 * SendAsync sends the request's statement (its body the one parameter) from
 * this thread when a pooled connection is idle, and suspends the request
 * until async.c has the result; see there why.  False when the request
 * must go to a job thread instead.
 */
static bool
SendAsync(ShimRequest *req, ShimQuery q, bool grouped, ShimAsyncDone done)
{
	Shim	   *shim = req->shim;

	if (shim->async == NULL)
		return false;

	/*
	 * Counted as suspended before looking whether the shim is stopping:
	 * shim_stop sets async_closed before it waits for that count to reach
	 * zero, so either it waits for this request or the request sees the
	 * flag.
	 */
	req->deferred = true;
	__atomic_add_fetch(&shim->suspended, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&shim->async_closed, __ATOMIC_SEQ_CST) &&
		shim_async_send(shim->async, req, q, grouped, done))
		return true;
	__atomic_sub_fetch(&shim->suspended, 1, __ATOMIC_SEQ_CST);
	req->deferred = false;
	return false;
}

/* Appends a suspended request to the job queue.  Caller holds jobs->mu. */
static void
QueueJob(ShimJobs *jobs, ShimRequest *req)
{
	if (jobs->tail)
		jobs->tail->next_job = req;
	else
		jobs->head = req;
	jobs->tail = req;
	pthread_cond_signal(&jobs->cv);
}

/*
 * Decide answers, from the request's head alone, every request that will
 * not reach a handler: a CORS preflight or OPTIONS, 405 for a known path
 * under another method, the page's files or 404, and 401 for a missing or
 * wrong key.  It runs on the first callback, so none of these reads a byte
 * of the body (a body that follows is never read: the connection closes).
 * Replies itself (the outcome in *ret) and returns false; true when the
 * request goes on to its handler.
 */
static bool
Decide(ShimRequest *req, enum MHD_Result *ret)
{
	if (strcmp(req->method, "OPTIONS") == 0 &&
		(req->route >= 0 || req->route == SHIM_MATCH_METHOD ||
		 !ApiPath(req->path)))
	{
		*ret = Preflight(req);
		return false;
	}
	if (req->route == SHIM_MATCH_METHOD)
	{
		ShimHeader	h[] = {{"Allow", req->allow}, {NULL, NULL}};
		char		detail[160];

		req->route = shim_route_for_path(req->path);
		snprintf(detail, sizeof(detail),
				 "Method %s is not allowed here; allowed: %s.", req->method,
				 req->allow);
		*ret = shim_problem(req, 405, NULL, "method not allowed", detail,
							NULL, h);
		return false;
	}
	if (req->route == SHIM_MATCH_NONE)
	{
		if (req->shim->cfg.static_dir[0] && !ApiPath(req->path) &&
			(strcmp(req->method, "GET") == 0 ||
			 strcmp(req->method, "HEAD") == 0))
		{
			req->route = SHIM_ROUTE_STATIC;
			*ret = shim_h_static(req);
			return false;
		}
		req->route = SHIM_ROUTE_UNMATCHED;
		*ret = shim_problem(req, 404, NULL, "not found",
							"No endpoint has this path; see /api/openapi.json.",
							NULL, NULL);
		return false;
	}
	return Authorize(req, shim_routes[req->route].auth, ret);
}

/* Dispatch runs once the whole request (and its body) is in. */
static enum MHD_Result
Dispatch(ShimRequest *req)
{
	const ShimRoute *route;
	enum MHD_Result ret;

	if (req->too_large)
		return TooLarge(req);
	if (req->no_memory)
		return shim_problem(req, 503, "body", "out of memory",
							"The shim has no memory for this request body now; try again.",
							NULL, NULL);
	if (!CheckInput(req, &ret))
		return ret;
	route = &shim_routes[req->route];
	switch (route->run)
	{
		case SHIM_RUN_HTTP:
			return route->handler(req);
		case SHIM_RUN_PIPELINE:
		case SHIM_RUN_GROUP:
			if ((route->prepare == NULL || route->prepare(req)) &&
				SendAsync(req, route->stmt.id, route->run == SHIM_RUN_GROUP,
						  route->done))
				return MHD_YES;
			break;
		case SHIM_RUN_JOB:
			break;
	}

	/* hand it to a job thread */
	pthread_mutex_lock(&req->shim->jobs.mu);
	if (req->shim->jobs.closed)
	{
		static const ShimHeader retry[] = {{"Retry-After", "1"}, {NULL, NULL}};

		/*
		 * Stopping: the daemon must not be left with suspended requests,
		 * and this thread does not wait on the database.
		 */
		pthread_mutex_unlock(&req->shim->jobs.mu);
		return shim_problem(req, 503, NULL, "shutting down",
							"The shim is draining its requests before it stops.",
							NULL, retry);
	}
	req->deferred = true;
	__atomic_add_fetch(&req->shim->suspended, 1, __ATOMIC_SEQ_CST);
	MHD_suspend_connection(req->conn);
	QueueJob(&req->shim->jobs, req);
	pthread_mutex_unlock(&req->shim->jobs.mu);
	return MHD_YES;
}

/* shim_jobs_take_over is declared in internal.h: see there. */
void
shim_jobs_take_over(Shim *shim, ShimRequest *req)
{
	pthread_mutex_lock(&shim->jobs.mu);
	if (shim->jobs.closed)
	{
		pthread_mutex_unlock(&shim->jobs.mu);
		(void) shim_routes[req->route].handler(req);
		MHD_resume_connection(req->conn);
		return;
	}
	QueueJob(&shim->jobs, req);
	pthread_mutex_unlock(&shim->jobs.mu);
}

/* A job thread: runs queued handlers, then resumes their connections. */
static void *
JobThread(void *arg)
{
	Shim	   *shim = arg;
	ShimJobs   *jobs = &shim->jobs;
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
		(void) shim_routes[req->route].handler(req);
		MHD_resume_connection(req->conn);
	}
}

static bool
StartJobs(Shim *shim, int n)
{
	ShimJobs   *jobs = &shim->jobs;
	int			i;

	pthread_mutex_init(&jobs->mu, NULL);
	pthread_cond_init(&jobs->cv, NULL);
	jobs->threads = calloc(n, sizeof(pthread_t));
	for (i = 0; i < n; i++)
	{
		if (pthread_create(&jobs->threads[i], NULL, JobThread, shim) != 0)
			break;
		jobs->nthreads++;
	}
	return jobs->nthreads == n;
}

static void
StopJobs(Shim *shim)
{
	ShimJobs   *jobs = &shim->jobs;
	int			i;

	pthread_mutex_lock(&jobs->mu);
	jobs->stop = true;
	pthread_cond_broadcast(&jobs->cv);
	pthread_mutex_unlock(&jobs->mu);
	for (i = 0; i < jobs->nthreads; i++)
		pthread_join(jobs->threads[i], NULL);
	free(jobs->threads);
	jobs->threads = NULL;
	jobs->nthreads = 0;
}

/*
 * FreeJobs frees the job queue's lock.  Not in StopJobs: until the daemon
 * is stopped, requests still come to Dispatch, which takes the lock to see
 * that the queue is closed.
 */
static void
FreeJobs(Shim *shim)
{
	pthread_mutex_destroy(&shim->jobs.mu);
	pthread_cond_destroy(&shim->jobs.cv);
}

/*
 * A request the shim has no memory for: answered 503 from a response made
 * at start, and told apart in Completed.
 */
static ShimRequest no_memory_request;

/*
 * FirstCall makes the request's state from its head and answers at once
 * what needs no body: see CheckHead and Decide.  A route that takes a body
 * gets a buffer of the declared length (or room to grow to the limit, for
 * a chunked body) before any of it is read.
 */
static enum MHD_Result
FirstCall(Shim *shim, struct MHD_Connection *connection, const char *url,
		  const char *method, void **con_cls)
{
	ShimRequest *req = calloc(1, sizeof(ShimRequest));
	const char *clen;
	const char *te;
	long long	declared = -1;
	enum MHD_Result ret;

	if (req == NULL)
	{
		*con_cls = &no_memory_request;
		return shim->no_memory_reply &&
			MHD_queue_response(connection, 503, shim->no_memory_reply) == MHD_YES
			? MHD_YES : MHD_NO;
	}
	*con_cls = req;
	shim_metrics_in_flight(1);
	req->shim = shim;
	req->conn = connection;
	req->method = method;
	req->path = url;
	req->start = shim_now();
	shim_buf_init(&req->body);
	SetRequestId(req);
	req->route = shim_route_match(method, url, req->id, sizeof(req->id),
								  req->allow, sizeof(req->allow));
	clen = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
									   MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
									 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (clen)
		declared = strtoll(clen, NULL, 10);
	req->body_declared = te != NULL || declared > 0;
	/* from here on, a reply leaves the rest of the request unread */
	req->early = true;
	if (!CheckHead(req, &ret))
		return ret;

	/* refuse an announced oversized body before reading any of it */
	if (declared > shim->cfg.body_limit)
	{
		if (req->route < 0)
			req->route = SHIM_ROUTE_UNMATCHED;
		return TooLarge(req);
	}
	if (!Decide(req, &ret))
		return ret;
	req->early = false;

	if (shim_route_has_body(&shim_routes[req->route]))
	{
		req->body_cap = (size_t) shim->cfg.body_limit;
		if (declared >= 0)
			req->body_cap = (size_t) declared;
		if (!shim_buf_reserve(&req->body, declared > 0 ? (size_t) declared : 0))
			req->no_memory = true;
	}
	return MHD_YES;
}

static enum MHD_Result
AccessHandler(void *cls, struct MHD_Connection *connection, const char *url,
			  const char *method, const char *version,
			  const char *upload_data, size_t *upload_data_size,
			  void **con_cls)
{
	Shim	   *shim = cls;
	ShimRequest *req = *con_cls;

	(void) version;
	if (req == NULL)
		return FirstCall(shim, connection, url, method, con_cls);
	if (req == &no_memory_request)
	{
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (*upload_data_size > 0)
	{
		/* a route that takes no body: what comes is dropped, not kept */
		if (!req->replied && !req->too_large && !req->no_memory &&
			shim_route_has_body(&shim_routes[req->route]))
		{
			if (req->body.len + *upload_data_size > req->body_cap)
			{
				req->too_large = true;
				shim_buf_free(&req->body);
			}
			else if (!shim_buf_reserve(&req->body, *upload_data_size))
			{
				req->no_memory = true;
				shim_buf_free(&req->body);
			}
			else
				shim_buf_append(&req->body, upload_data, *upload_data_size);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (req->pending)
	{
		/* resumed: a job thread left its reply */
		struct MHD_Response *resp = req->pending;
		enum MHD_Result ret;

		req->pending = NULL;
		ret = MHD_queue_response(connection, req->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (req->replied)
		return MHD_YES;
	if (req->dispatched)
		return MHD_NO;			/* the handler failed to reply */
	req->dispatched = true;
	if (!shim_buf_reserve(&req->body, 0))
		req->no_memory = true;
	else
		req->body.data[req->body.len] = '\0';
	return Dispatch(req);
}

/*
 * UriLogged is libmicrohttpd's first look at a request: the target as
 * received, before the query is split into parameters.  libmicrohttpd
 * 0.9.75 keeps a record per parameter in the connection memory, and when
 * they do not fit it neither replies nor closes: the connection sat until
 * HTTP_IDLE_TIMEOUT_SECONDS (fuzz_http found it: a 1.4 kB target of
 * mostly "&").  No route takes more than a dozen parameters, so a target
 * with more than SHIM_MAX_QUERY_PARAMETERS is not served: the socket is
 * shut down here, which the library sees as the client gone and closes the
 * connection at once, whether or not the records would have fitted.
 * Returns no per-request state: AccessHandler makes it.
 */
static void *
UriLogged(void *cls, const char *uri, struct MHD_Connection *connection)
{
	const char *p = uri ? strchr(uri, '?') : NULL;
	int			n = 0;
	const union MHD_ConnectionInfo *info;

	(void) cls;
	while (p != NULL && n <= SHIM_MAX_QUERY_PARAMETERS)
	{
		n++;
		p = strchr(p + 1, '&');
	}
	if (n > SHIM_MAX_QUERY_PARAMETERS &&
		(info = MHD_get_connection_info(connection,
										MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL)
		(void) shutdown(info->connect_fd, SHUT_RDWR);
	return NULL;
}

static void
Completed(void *cls, struct MHD_Connection *connection, void **con_cls,
		  enum MHD_RequestTerminationCode toe)
{
	ShimRequest *req = *con_cls;
	double		elapsed;
	int			route;

	(void) cls;
	(void) connection;
	if (req == NULL)
		return;
	if (req == &no_memory_request)
	{
		*con_cls = NULL;
		return;
	}
	elapsed = shim_now() - req->start;
	route = req->route;
	if (route < 0)
		route = SHIM_ROUTE_UNMATCHED;
	if (req->status == 0)
		req->status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 200 : 499;
	if (req->status != 499)
		shim_metrics_request(route, req->status, elapsed);
	shim_log_request(req->method, shim_route_label(route), req->status,
					 elapsed, req->request_id, req->sqlstate);
	if (req->deferred)
		__atomic_sub_fetch(&req->shim->suspended, 1, __ATOMIC_SEQ_CST);
	/* a job's reply never queued: the client went while the job ran */
	if (req->pending)
		MHD_destroy_response(req->pending);
	shim_buf_free(&req->body);
	shim_buf_free(&req->page_link);
	free(req);
	*con_cls = NULL;
	shim_metrics_in_flight(-1);
}

static void MhdLogger(void *cls, const char *fmt, va_list ap)
			__attribute__((format(printf, 2, 0)));

static void
MhdLogger(void *cls, const char *fmt, va_list ap)
{
	char		msg[512];
	size_t		n;

	(void) cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	shim_log(SHIM_LOG_WARN, "http: %s", msg);
}

/*
 * Listen takes the listening socket: "*" is every IPv4 address, anything
 * else one IPv4 or IPv6 address.  -1 with err filled on failure.
 */
static int
Listen(const ShimConfig *cfg, char *err, size_t errlen)
{
	struct sockaddr_in sin4;
	struct sockaddr_in6 sin6;
	struct sockaddr *addr = (struct sockaddr *) &sin4;
	socklen_t	addrlen = sizeof(sin4);
	int			fd;
	int			on = 1;
	int			saved;

	memset(&sin4, 0, sizeof(sin4));
	memset(&sin6, 0, sizeof(sin6));
	sin4.sin_family = AF_INET;
	sin4.sin_port = htons(cfg->port);
	if (strcmp(cfg->listen_address, "*") == 0)
		sin4.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, cfg->listen_address, &sin4.sin_addr) != 1)
	{
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(cfg->port);
		if (inet_pton(AF_INET6, cfg->listen_address, &sin6.sin6_addr) != 1)
		{
			snprintf(err, errlen,
					 "invalid HTTP_LISTEN_ADDRESS \"%s\": must be \"*\" or an IP address",
					 cfg->listen_address);
			return -1;
		}
		addr = (struct sockaddr *) &sin6;
		addrlen = sizeof(sin6);
	}
	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
	{
		snprintf(err, errlen, "cannot listen on %s:%d: %s",
				 cfg->listen_address, cfg->port, strerror(errno));
		return -1;
	}
	(void) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (addr->sa_family == AF_INET6)
		(void) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, addr, addrlen) != 0 || listen(fd, 1024) != 0)
	{
		saved = errno;
		close(fd);
		snprintf(err, errlen, "cannot listen on %s:%d: %s",
				 cfg->listen_address, cfg->port, strerror(saved));
		return -1;
	}
	return fd;
}

/* Frees what shim_start made, in the reverse order; any part may be NULL. */
static void
Unmake(Shim *shim)
{
	if (shim->jobs.threads)
	{
		StopJobs(shim);
		FreeJobs(shim);
	}
	if (shim->async)
		shim_async_destroy(shim->async);
	shim_keys_destroy(shim->keys);
	if (shim->pool)
		shim_pool_destroy(shim->pool);
	if (shim->no_memory_reply)
		MHD_destroy_response(shim->no_memory_reply);
	shim_config_free(&shim->cfg);
	free(shim);
}

Shim *
shim_start(const ShimConfig *cfg, ShimStartError *why, char *err,
		   size_t errlen)
{
	static const char no_memory_body[] =
		"{\"type\":\"about:blank\",\"title\":\"out of memory\",\"status\":503}";
	Shim	   *shim;
	int			fd;
	ShimDbError dberr;
	bool		superuser = false;
	ShimStartError dummy;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (why == NULL)
		why = &dummy;
	*why = SHIM_START_CONFIG;
	if (!shim_config_validate(cfg, err, errlen))
		return NULL;
	shim_log_setup(cfg->log_level, cfg->mode == SHIM_MODE_WORKER ? 2 : 1);

	/* the port first: when it is taken, no database connection is opened */
	if ((fd = Listen(cfg, err, errlen)) < 0)
	{
		*why = strncmp(err, "invalid", 7) == 0 ? SHIM_START_CONFIG :
			SHIM_START_BIND;
		return NULL;
	}

	*why = SHIM_START_RESOURCES;
	shim = calloc(1, sizeof(Shim));
	if (shim == NULL)
	{
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	shim->cfg = *cfg;
	/* the daemon keeps its own copy of every string */
	shim->cfg.db_url = strdup(cfg->db_url);
	shim->cfg.db_role = strdup(cfg->db_role);
	shim->cfg.listen_address = strdup(cfg->listen_address);
	shim->cfg.cors_origins = strdup(cfg->cors_origins);
	shim->cfg.cors_methods = strdup(cfg->cors_methods);
	shim->cfg.cors_headers = strdup(cfg->cors_headers);
	shim->cfg.api_key_write = strdup("");
	shim->cfg.api_key_read = strdup("");
	shim->cfg.api_key_admin = strdup("");
	shim->cfg.static_dir = strdup(cfg->static_dir);
	shim->started = shim_now();
	shim->max_exports = shim_config_max_exports(cfg);
	request_seed = ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid();
	shim->no_memory_reply =
		MHD_create_response_from_buffer(sizeof(no_memory_body) - 1,
										(void *) no_memory_body,
										MHD_RESPMEM_PERSISTENT);
	if (shim->no_memory_reply)
	{
		MHD_add_response_header(shim->no_memory_reply,
								MHD_HTTP_HEADER_CONTENT_TYPE,
								"application/problem+json");
		MHD_add_response_header(shim->no_memory_reply,
								MHD_HTTP_HEADER_CONNECTION, "close");
	}

	/*
	 * The API keys (hashed in shim_keys_create: the secrets are not kept),
	 * and the first database session, which says whether the role may be
	 * used at all: a superuser may not.  A database not reachable yet is
	 * no reason to wait; the key thread keeps trying.
	 */
	shim->keys = shim_keys_create(cfg);
	if (shim->keys == NULL)
	{
		close(fd);
		snprintf(err, errlen, "cannot set up the API keys");
		Unmake(shim);
		return NULL;
	}
	if (!shim_keys_connect(shim->keys, &dberr, &superuser))
	{
		if (superuser)
		{
			close(fd);
			*why = SHIM_START_SUPERUSER;
			snprintf(err, errlen, "refusing to serve: %s", dberr.detail);
			Unmake(shim);
			return NULL;
		}
		shim_log(SHIM_LOG_WARN, "database not reachable yet: %s", dberr.detail);
	}

	shim->pool = shim_pool_create(&shim->cfg);
	if (!StartJobs(shim, cfg->pool_size > 0 ? cfg->pool_size : cfg->threads + 2) ||
		!shim_keys_start(shim->keys))
	{
		close(fd);
		snprintf(err, errlen, "cannot start the shim's threads");
		Unmake(shim);
		return NULL;
	}
	shim->async = shim_async_create(shim, shim->pool,
									cfg->group_commit ? cfg->group_max : 1);
	if (shim->async == NULL)
	{
		close(fd);
		snprintf(err, errlen, "cannot start the shim's executor thread");
		Unmake(shim);
		return NULL;
	}
	shim_pool_warm(shim->pool);

	if (strchr(cfg->listen_address, ':') != NULL)
		flags |= MHD_USE_IPv6;
	shim->daemon = MHD_start_daemon(flags, (uint16_t) cfg->port, NULL, NULL,
									AccessHandler, shim,
									MHD_OPTION_EXTERNAL_LOGGER, MhdLogger, NULL,
									MHD_OPTION_LISTEN_SOCKET, fd,
									MHD_OPTION_THREAD_POOL_SIZE,
									(unsigned int) cfg->threads,
									MHD_OPTION_NOTIFY_COMPLETED, Completed, shim,
									MHD_OPTION_URI_LOG_CALLBACK, UriLogged, NULL,
									MHD_OPTION_CONNECTION_TIMEOUT,
									(unsigned int) cfg->timeout,
									MHD_OPTION_CONNECTION_MEMORY_LIMIT,
									(size_t) SHIM_CONNECTION_MEMORY,
									MHD_OPTION_END);
	if (shim->daemon == NULL)
	{
		snprintf(err, errlen, "cannot start the HTTP daemon on %s:%d: %s",
				 cfg->listen_address, cfg->port,
				 errno ? strerror(errno) : "unknown error");
		close(fd);
		Unmake(shim);
		return NULL;
	}
	shim_log(SHIM_LOG_INFO,
			 "listening on %s:%d (%s mode, %d threads, %d database connections, at most %d exports, %s)",
			 cfg->listen_address, cfg->port,
			 cfg->mode == SHIM_MODE_WORKER ? "worker" : "standalone",
			 cfg->threads, shim_config_pool_size(cfg), shim->max_exports,
			 cfg->allow_unauthenticated ? "no API key needed" :
			 "API keys required");
	return shim;
}

/* shim_reload_keys is declared in shim.h: see there. */
void
shim_reload_keys(Shim *shim)
{
	shim_keys_reload(shim->keys);
}

/*
 * shim_stop quiesces (no new connections), lets the requests in flight
 * finish for up to drain_ms (keep-alive clients are told to close), then
 * stops the threads and closes the database connections.  Every reply
 * already sent was sent after its transaction committed.
 */
void
shim_stop(Shim *shim, int drain_ms)
{
	MHD_socket	fd;
	double		deadline = shim_now() + drain_ms / 1000.0;
	double		give_up;
	long		left;

	shim->draining = 1;
	fd = MHD_quiesce_daemon(shim->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	while ((left = shim_metrics_get_in_flight()) > 0 && shim_now() < deadline)
		usleep(10 * 1000);
	if (left > 0)
		shim_log(SHIM_LOG_WARN, "stopping with %ld requests still in flight",
				 left);

	/*
	 * From now on requests are handled inline; wait until every request a
	 * job thread or async.c had was resumed and completed, since
	 * libmicrohttpd aborts when stopped with a suspended connection (and
	 * the postmaster takes the worker's abort for a crash, and resets the
	 * server).  Past the drain deadline, the statements still running are
	 * cancelled, so that their requests are answered (503) rather than
	 * left waiting on a lock, say; again and again, since a cancelled group
	 * is written again event by event, and the queue goes out next.
	 */
	pthread_mutex_lock(&shim->jobs.mu);
	shim->jobs.closed = true;
	pthread_mutex_unlock(&shim->jobs.mu);
	__atomic_store_n(&shim->async_closed, 1, __ATOMIC_SEQ_CST);
	give_up = shim_now() + 5.0;
	while (__atomic_load_n(&shim->suspended, __ATOMIC_SEQ_CST) > 0 &&
		   shim_now() < give_up)
	{
		if (shim_now() >= deadline)
			shim_pool_cancel(shim->pool);
		usleep(20 * 1000);
	}
	StopJobs(shim);
	if (shim->async)
		shim_async_destroy(shim->async);
	shim->async = NULL;
	MHD_stop_daemon(shim->daemon);
	FreeJobs(shim);
	shim_log(SHIM_LOG_INFO, "stopped");
	Unmake(shim);
}

/* shim_req_conn is declared in internal.h: see there. */
ShimConn *
shim_req_conn(ShimRequest *req, ShimQuery q)
{
	ShimDbError err;
	ShimConn   *conn = shim_pool_acquire(req->shim->pool, 5000, &err);

	if (conn == NULL)
		shim_problem_db(req, q, &err);
	return conn;
}
