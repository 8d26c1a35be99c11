/*-------------------------------------------------------------------------
 *
 * fuzz_http.c
 *	  libFuzzer target of the whole request path: the real shim (its
 *	  libmicrohttpd daemon, routing, percent-decoding, body cap, API keys,
 *	  CORS, input checks and handlers) runs in this process against the
 *	  database of FUZZ_DB_URL, listening on 127.0.0.1:FUZZ_HTTP_PORT.  Each
 *	  input becomes one HTTP/1.1 request, sent over a real socket:
 *
 *	    method \0 target \0 header lines \0 body
 *
 *	  (CR and LF are removed from the first three, so the request always
 *	  ends; Content-Length is set to the body's length).  Any reply of 500
 *	  means the shim or the extension failed on client input: a crash for
 *	  libFuzzer.  So is a complete request left without a reply for 10 s
 *	  (FUZZ_HANG_FATAL=0 only reports it; FUZZ_HANG_WAIT=s holds the
 *	  process that long for a debugger first).  Run with -detect_leaks=0 (the daemon's threads own memory
 *	  between inputs); leaks are valgrind's and LeakSanitizer's job in the
 *	  hardening suite.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

static int	port;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ShimConfig	cfg;
	char		err[256];
	const char *url = getenv("FUZZ_DB_URL");
	const char *p = getenv("FUZZ_HTTP_PORT");

	(void) argc;
	(void) argv;
	signal(SIGPIPE, SIG_IGN);
	shim_config_defaults(&cfg);
	shim_config_set(&cfg.db_url, url ? url : "host=127.0.0.1 port=1");
	shim_config_set(&cfg.listen_address, "127.0.0.1");
	shim_config_set(&cfg.api_key_admin, "fuzz-admin-key");
	shim_config_set(&cfg.cors_origins, "https://a.example, https://b.example");
	cfg.cors_credentials = true;
	cfg.allow_unauthenticated = true;	/* on loopback: reach the handlers */
	cfg.port = port = p ? atoi(p) : 18469;
	cfg.threads = 2;
	cfg.log_level = SHIM_LOG_ERROR;
	if (shim_start(&cfg, NULL, err, sizeof(err)) == NULL)
	{
		fprintf(stderr, "fuzz_http: %s\n", err);
		exit(1);
	}
	shim_config_free(&cfg);
	return 0;
}

/* Prints what the database's sessions are doing, to tell why a reply hangs. */
static void
DumpActivity(void)
{
	PGconn	   *c = PQconnectdb(getenv("FUZZ_DB_URL") ? getenv("FUZZ_DB_URL") : "");
	PGresult   *r = PQexec(c, "SELECT pid, state, wait_event_type, wait_event, "
						   "left(query, 200) FROM pg_stat_activity "
						   "WHERE pid <> pg_backend_pid() AND datname IS NOT NULL");
	int			i;

	for (i = 0; i < PQntuples(r); i++)
		fprintf(stderr, "  %s %s %s %s: %s\n", PQgetvalue(r, i, 0),
				PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
				PQgetvalue(r, i, 4));
	PQclear(r);
	PQfinish(c);
}

/* Appends src[0..n) without CR and LF (and, if nospace, without blanks). */
static void
AppendClean(ShimBuf *b, const unsigned char *src, size_t n, bool nospace)
{
	size_t		i;

	for (i = 0; i < n; i++)
	{
		unsigned char c = src[i];

		if (c == '\r' || c == '\n' || c == '\0' ||
			(nospace && (c == ' ' || c == '\t')))
			continue;
		shim_buf_append(b, (const char *) &c, 1);
	}
}

/*
 * WaitFor waits until fd has one of events or the deadline (shim_now()
 * seconds) passes.  A signal (libFuzzer's -timeout alarm, every
 * timeout/2 + 1 seconds) makes poll() return early with EINTR; that is
 * neither a reply nor the deadline, so the wait goes on for the time left.
 * Taking it for a timeout once made replies that were on their way look
 * like hangs of the shim.
 */
static bool
WaitFor(int fd, short events, double deadline)
{
	for (;;)
	{
		struct pollfd pfd = {fd, events, 0};
		double		left = deadline - shim_now();
		int			rc;

		if (left <= 0)
			return false;
		rc = poll(&pfd, 1, (int) (left * 1000) + 1);
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
		{
			perror("fuzz_http: poll");
			abort();
		}
	}
}

/*
 * Connect opens a connection to the shim.  A connect() interrupted by a
 * signal goes on in the background: wait for it instead of failing.
 */
static int
Connect(void)
{
	struct sockaddr_in sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	int			err = 0;
	socklen_t	len = sizeof(err);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0)
		return fd;
	if (errno == EINTR)
	{
		if (!WaitFor(fd, POLLOUT, shim_now() + 10.0))
		{
			fprintf(stderr, "fuzz_http: connect: no connection within 10 s\n");
			abort();
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			return fd;
		errno = err;
	}
	perror("fuzz_http: connect");
	abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *part[4] = {NULL, NULL, NULL, NULL};
	size_t		plen[4] = {0, 0, 0, 0};
	const unsigned char *p = data;
	const unsigned char *end = data + size;
	ShimBuf		req;
	int			fd;
	int			i;
	ShimBuf		reply;
	bool		has_nul;
	size_t		sent;
	double		deadline;
	bool		is_head;

	for (i = 0; i < 4; i++)
	{
		const unsigned char *z = i < 3 ? memchr(p, 0, end - p) : NULL;

		part[i] = p;
		plen[i] = (z ? z : end) - p;
		p = z ? z + 1 : end;
	}

	shim_buf_init(&req);
	AppendClean(&req, part[0], plen[0], true);
	if (plen[0] == 0)
		shim_buf_puts(&req, "GET");
	shim_buf_puts(&req, " ");
	if (plen[1] == 0 || part[1][0] != '/')
		shim_buf_puts(&req, "/");
	AppendClean(&req, part[1], plen[1], true);
	shim_buf_puts(&req, " HTTP/1.1\r\nHost: fuzz\r\n");
	if (plen[2] > 0)
	{
		const unsigned char *h = part[2];
		const unsigned char *hend = part[2] + plen[2];

		/* header lines are separated by '\n' in the input */
		while (h < hend)
		{
			const unsigned char *nl = memchr(h, '\n', hend - h);
			size_t		n = (nl ? nl : hend) - h;

			if (n > 0 && memchr(h, ':', n) != NULL &&
				!(n >= 14 && strncasecmp((const char *) h, "content-length", 14) == 0) &&
				!(n >= 17 && strncasecmp((const char *) h, "transfer-encoding", 17) == 0) &&
				!(n >= 10 && strncasecmp((const char *) h, "connection", 10) == 0) &&
				!(n >= 6 && strncasecmp((const char *) h, "expect", 6) == 0))
			{
				AppendClean(&req, h, n, false);
				shim_buf_puts(&req, "\r\n");
			}
			h += n + 1;
		}
	}
	shim_buf_printf(&req, "Content-Length: %zu\r\nConnection: close\r\n\r\n",
					plen[3]);
	shim_buf_append(&req, (const char *) part[3], plen[3]);

	/*
	 * The request is complete by construction (Content-Length is the
	 * body's length, CR and LF are gone from the head), so the shim owes a
	 * reply: one that has not come within 10 s is a hang.
	 */
	fd = Connect();
	sent = 0;
	while (sent < req.len)
	{
		ssize_t		n = send(fd, req.data + sent, req.len - sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;				/* the server refused early (413) */
		sent += n;
	}
	/* read the reply until the server closes */
	shim_buf_init(&reply);
	deadline = shim_now() + 10.0;
	for (;;)
	{
		char		buf[4096];
		ssize_t		n;

		if (!WaitFor(fd, POLLIN, deadline))
		{
			fprintf(stderr, "fuzz_http: no reply within 10 s to a complete request "
					"(%zu of %zu bytes sent, %zu bytes received)\n",
					sent, req.len, reply.len);
			DumpActivity();
			if (getenv("FUZZ_HANG_WAIT"))
				sleep(atoi(getenv("FUZZ_HANG_WAIT")));
			if (getenv("FUZZ_HANG_FATAL") && strcmp(getenv("FUZZ_HANG_FATAL"), "0") == 0)
				break;
			abort();
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (reply.len < 4 * 1024 * 1024)
			shim_buf_append(&reply, buf, n);
	}
	close(fd);
	/* a reply to HEAD has no body: what follows it is not its body */
	is_head = strncmp(req.data, "HEAD ", 5) == 0;
	shim_buf_free(&req);
	/* only POST routes read a body */
	has_nul = memchr(part[3], 0, plen[3]) != NULL &&
		plen[0] == 4 && memcmp(part[0], "POST", 4) == 0;
	if (reply.len >= 12)
	{
		const char *head_end = strstr(reply.data, "\r\n\r\n");
		const char *ctype = strcasestr(reply.data, "\r\nContent-Type: application/");
		const char *clen;

		/* the shim or the extension failed on client input */
		if (memcmp(reply.data, "HTTP/1.1 500", 12) == 0)
		{
			fprintf(stderr, "fuzz_http: the shim answered 500\n");
			abort();
		}
		/* a POSTed body with a NUL byte was taken as something else */
		if (has_nul && reply.data[9] == '2')
		{
			fprintf(stderr, "fuzz_http: a body holding a NUL byte was accepted\n");
			abort();
		}
		/*
		 * Every JSON reply (not the streamed exports) is valid JSON.  Only
		 * Content-Length bytes count, and none after a reply to HEAD:
		 * libmicrohttpd 0.9.75 may append a 400 of its own after the reply
		 * when a header line has no name.
		 */
		clen = strcasestr(reply.data, "\r\nContent-Length:");
		if (head_end && ctype && ctype < head_end && clen && clen < head_end &&
			!is_head &&
			(strncasecmp(ctype + 16, "application/json", 16) == 0 ||
			 strncasecmp(ctype + 16, "application/problem+json", 24) == 0))
		{
			json_error_t jerr;
			size_t		blen = strtoul(clen + 18, NULL, 10);
			size_t		have = reply.len - (head_end + 4 - reply.data);
			json_t	   *doc;

			if (have < blen)
				goto done;
			doc = json_loadb(head_end + 4, blen, JSON_DECODE_ANY, &jerr);

			if (doc == NULL)
			{
				fprintf(stderr, "fuzz_http: reply is not valid JSON: %s\n",
						jerr.text);
				abort();
			}
			json_decref(doc);
		}
	}
done:
	shim_buf_free(&reply);
	return 0;
}
