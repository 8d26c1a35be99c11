/*-------------------------------------------------------------------------
 *
 * server.c
 *	  The HTTP glue: libmicrohttpd with a fixed pool of threads, each
 *	  polling with epoll, and the daemon's life.  Per-request state is
 *	  allocated on the first callback and freed in the completion callback.
 *	  The head is checked (http.c) and dispatched (dispatch.c) on that
 *	  first callback; a body that is read is capped (413 before it is read
 *	  in full) and buffered up to its declared length, then the request is
 *	  dispatched to its executor.  Metrics and the request log are applied
 *	  here for every request.
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/*
 * Memory of one HTTP connection: its request line and headers must fit
 * (bodies do not: they are copied out as they come).  libmicrohttpd zeroes
 * all of it after every request of a keep-alive connection, so it is paid
 * per request: with 128 kB that was 12-15% of the shim's CPU time of a POST
 * /api/event.  32 kB still takes a 20 000-character cursor.
 */
#define SHIM_CONNECTION_MEMORY (32 * 1024)

/*
 * A request the shim has no memory for: answered 503 from a response made
 * at start, and told apart in Completed.
 */
static ShimRequest no_memory_request;

/*
 * FirstCall makes the request's state from its head and answers at once
 * what needs no body: see shim_http_check_head and shim_dispatch_head.  A
 * route that takes a body
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
	shim_http_request_id(req);
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
	if (!shim_http_check_head(req, &ret))
		return ret;

	/* refuse an announced oversized body before reading any of it */
	if (declared > shim->cfg.body_limit)
	{
		if (req->route < 0)
			req->route = SHIM_ROUTE_UNMATCHED;
		return shim_http_too_large(req);
	}
	if (shim_http_is_preflight(req))
		return shim_http_preflight(req);
	if (!shim_dispatch_head(req, &ret))
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
	enum MHD_Result ret;

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
		/* resumed: an executor left its reply */
		struct MHD_Response *resp = req->pending;

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
	if (req->too_large)
		return shim_http_too_large(req);
	if (req->no_memory)
		return shim_problem(req, 503, "body", "out of memory",
							"The shim has no memory for this request body now; try again.",
							NULL, NULL);
	if (!shim_http_check_input(req, &ret))
		return ret;
	return shim_dispatch(req);
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
	if (shim->jobs)
	{
		shim_jobs_stop(shim->jobs);
		shim_jobs_free(shim->jobs);
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
	shim_routes_register();

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
	shim_http_seed(((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid());
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
	shim->jobs = shim_jobs_start(shim, shim_config_pool_size(cfg));
	if (shim->jobs == NULL || !shim_keys_start(shim->keys))
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

	__atomic_store_n(&shim->draining, 1, __ATOMIC_RELEASE);
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
	shim_jobs_close(shim->jobs);
	__atomic_store_n(&shim->async_closed, 1, __ATOMIC_SEQ_CST);
	give_up = shim_now() + 5.0;
	while (__atomic_load_n(&shim->suspended, __ATOMIC_SEQ_CST) > 0 &&
		   shim_now() < give_up)
	{
		if (shim_now() >= deadline)
			shim_pool_cancel(shim->pool);
		usleep(20 * 1000);
	}
	shim_jobs_stop(shim->jobs);
	if (shim->async)
		shim_async_destroy(shim->async);
	shim->async = NULL;
	MHD_stop_daemon(shim->daemon);
	shim_log(SHIM_LOG_INFO, "stopped");
	Unmake(shim);
}

