/*-------------------------------------------------------------------------
 *
 * relay.c
 *	  The floor of any HTTP front end of the database, for 40-http.sh: one
 *	  thread, one epoll, one database connection per client connection,
 *	  and nothing else.  Each request (its head is not even read, only its
 *	  end found) runs one prepared statement that takes no parameter, and
 *	  its first column is the reply's body, 200, sent with one writev.  No
 *	  routing, checking, logging, metrics or thread hand-off: what it costs
 *	  per request is what relaying a page costs at the least, the sockets'
 *	  system calls and libpq.
 *
 *	  relay PORT CONNINFO SQL
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <libpq-fe.h>

typedef struct Client
{
	int			fd;
	PGconn	   *pg;
	int			pgfd;
	char		in[8192];
	size_t		inlen;
	int			waiting;		/* requests read, not yet sent */
	int			busy;			/* a statement in flight */
	char	   *out;			/* what the socket did not take */
	size_t		outlen;
	size_t		outoff;
} Client;

/* epoll's data: a client's socket is its Client, its database one tagged */
#define PG_TAG(c)	((void *) ((char *) (c) + 1))
#define IS_PG(p)	(((size_t) (p)) & 1)
#define CLIENT_OF(p)	((Client *) ((char *) (p) - 1))

static int	ep;
static const char *conninfo;
static const char *sql;
static Client *closed[64];		/* freed after the batch of events */
static int	nclosed;

static void
Close(Client *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	epoll_ctl(ep, EPOLL_CTL_DEL, c->pgfd, NULL);
	close(c->fd);
	c->fd = -1;
	PQfinish(c->pg);
	free(c->out);
	closed[nclosed++] = c;
}

static void
Send(Client *c)
{
	if (c->waiting > 0 && !c->busy)
	{
		if (!PQsendQueryPrepared(c->pg, "q", 0, NULL, NULL, NULL, 0))
		{
			fprintf(stderr, "relay: %s", PQerrorMessage(c->pg));
			exit(1);
		}
		c->waiting--;
		c->busy = 1;
	}
}

static void
Reply(Client *c, const char *body, size_t len)
{
	char		head[128];
	struct iovec iov[2];
	ssize_t		n;
	size_t		total;

	iov[0].iov_base = head;
	iov[0].iov_len = snprintf(head, sizeof(head),
							  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
							  "Content-Length: %zu\r\n\r\n", len);
	iov[1].iov_base = (void *) body;
	iov[1].iov_len = len;
	total = iov[0].iov_len + len;
	n = writev(c->fd, iov, 2);
	if (n < 0)
		n = 0;
	if ((size_t) n < total)
	{
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT,.data.ptr = c};

		/* keep the rest for EPOLLOUT */
		c->out = malloc(total - n);
		if ((size_t) n < iov[0].iov_len)
		{
			memcpy(c->out, head + n, iov[0].iov_len - n);
			memcpy(c->out + iov[0].iov_len - n, body, len);
		}
		else
			memcpy(c->out, body + (n - iov[0].iov_len), total - n);
		c->outlen = total - n;
		c->outoff = 0;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

static void
Readable(Client *c)
{
	ssize_t		n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	char	   *end;

	if (n <= 0)
	{
		if (n < 0 && errno == EAGAIN)
			return;
		Close(c);
		return;
	}
	c->inlen += n;
	while ((end = memmem(c->in, c->inlen, "\r\n\r\n", 4)) != NULL)
	{
		size_t		used = end + 4 - c->in;

		memmove(c->in, end + 4, c->inlen - used);
		c->inlen -= used;
		c->waiting++;
	}
	Send(c);
}

static void
Writable(Client *c)
{
	ssize_t		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, 0);

	if (n > 0)
		c->outoff += n;
	if (c->outoff == c->outlen)
	{
		struct epoll_event ev = {.events = EPOLLIN,.data.ptr = c};

		free(c->out);
		c->out = NULL;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

static void
Results(Client *c)
{
	PGresult   *res;

	if (!PQconsumeInput(c->pg))
	{
		fprintf(stderr, "relay: %s", PQerrorMessage(c->pg));
		exit(1);
	}
	while (c->busy && !PQisBusy(c->pg))
	{
		res = PQgetResult(c->pg);
		if (res == NULL)
		{
			c->busy = 0;
			Send(c);
			break;
		}
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			fprintf(stderr, "relay: %s", PQresultErrorMessage(res));
			exit(1);
		}
		Reply(c, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
		PQclear(res);
	}
}

static void
Accept(int lfd)
{
	int			fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
	{
		Client	   *c = calloc(1, sizeof(Client));
		struct epoll_event ev = {.events = EPOLLIN,.data.ptr = c};
		struct epoll_event pev = {.events = EPOLLIN,.data.ptr = PG_TAG(c)};
		PGresult   *res;

		c->fd = fd;
		c->pg = PQconnectdb(conninfo);
		if (PQstatus(c->pg) != CONNECTION_OK)
		{
			fprintf(stderr, "relay: %s", PQerrorMessage(c->pg));
			exit(1);
		}
		res = PQprepare(c->pg, "q", sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			fprintf(stderr, "relay: %s", PQresultErrorMessage(res));
			exit(1);
		}
		PQclear(res);
		PQsetnonblocking(c->pg, 1);
		c->pgfd = PQsocket(c->pg);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		epoll_ctl(ep, EPOLL_CTL_ADD, c->pgfd, &pev);
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	int			lfd;
	int			on = 1;
	struct epoll_event ev;
	struct epoll_event events[64];

	if (argc != 4)
	{
		fprintf(stderr, "usage: relay PORT CONNINFO SQL\n");
		return 2;
	}
	conninfo = argv[2];
	sql = argv[3];
	sin.sin_port = htons(atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(lfd, (struct sockaddr *) &sin, sizeof(sin)) != 0 ||
		listen(lfd, 128) != 0)
	{
		perror("relay: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;)
	{
		int			n = epoll_wait(ep, events, 64, -1);
		int			i;

		for (i = 0; i < n; i++)
		{
			void	   *p = events[i].data.ptr;

			if (p == NULL)
				Accept(lfd);
			else if (IS_PG(p) ? CLIENT_OF(p)->fd < 0 : ((Client *) p)->fd < 0)
				continue;
			else if (IS_PG(p))
				Results(CLIENT_OF(p));
			else if (events[i].events & EPOLLOUT)
				Writable(p);
			else
				Readable(p);
		}
		while (nclosed > 0)
			free(closed[--nclosed]);
	}
}
