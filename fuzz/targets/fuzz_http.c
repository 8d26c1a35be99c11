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
 *	  libFuzzer.  Run with -detect_leaks=0 (the daemon's threads own memory
 *	  between inputs); leaks are valgrind's and LeakSanitizer's job in the
 *	  hardening suite.
 *
 *-------------------------------------------------------------------------
 */
#include <arpa/inet.h>
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
	cfg.port = port = p ? atoi(p) : 18469;
	cfg.threads = 2;
	cfg.log_level = SHIM_LOG_ERROR;
	if (shim_start(&cfg, err, sizeof(err)) == NULL)
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

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const unsigned char *part[4] = {NULL, NULL, NULL, NULL};
	size_t		plen[4] = {0, 0, 0, 0};
	const unsigned char *p = data;
	const unsigned char *end = data + size;
	ShimBuf		req;
	struct sockaddr_in sin;
	int			fd;
	int			i;
	ShimBuf		reply;
	bool		has_nul;

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

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0)
	{
		perror("fuzz_http: connect");
		abort();
	}
	{
		size_t		off = 0;

		while (off < req.len)
		{
			ssize_t		n = send(fd, req.data + off, req.len - off, MSG_NOSIGNAL);

			if (n <= 0)
				break;			/* the server refused early (413) */
			off += n;
		}
	}
	/* read the reply until the server closes */
	shim_buf_init(&reply);
	for (;;)
	{
		struct pollfd pfd = {fd, POLLIN, 0};
		char		buf[4096];
		ssize_t		n;

		if (poll(&pfd, 1, 10000) <= 0)
		{
			/*
			 * A reply stalled.  Seen rarely under long runs and not yet
			 * reproduced alone (see README, Robustness); FUZZ_HANG_FATAL=0
			 * reports it and goes on, FUZZ_HANG_WAIT=s leaves time to
			 * attach a debugger.
			 */
			fprintf(stderr, "fuzz_http: no reply within 10 s (%zu bytes received)\n",
					reply.len);
			DumpActivity();
			if (getenv("FUZZ_HANG_WAIT"))
				sleep(atoi(getenv("FUZZ_HANG_WAIT")));
			if (getenv("FUZZ_HANG_FATAL") && strcmp(getenv("FUZZ_HANG_FATAL"), "0") == 0)
				break;
			abort();
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		if (reply.len < 4 * 1024 * 1024)
			shim_buf_append(&reply, buf, n);
	}
	close(fd);
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
		 * Content-Length bytes count: libmicrohttpd 0.9.75 may append a 400
		 * of its own after the reply when a header line has no name.
		 */
		clen = strcasestr(reply.data, "\r\nContent-Length:");
		if (head_end && ctype && ctype < head_end && clen && clen < head_end &&
			(strncasecmp(ctype + 16, "application/json", 16) == 0 ||
			 strncasecmp(ctype + 16, "application/problem+json", 24) == 0))
		{
			json_error_t jerr;
			size_t		blen = strtoul(clen + 18, NULL, 10);
			size_t		have = reply.len - (head_end + 4 - reply.data);
			json_t	   *doc;

			if (have < blen)	/* HEAD: the length of a body not sent */
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
