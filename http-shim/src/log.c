/*-------------------------------------------------------------------------
 *
 * log.c
 *	  Logs as one JSON object per line (what promtail ships to Loki):
 *	  time, level, msg and, for requests, method, route, status, duration and
 *	  request id.  Never request bodies or secrets.  Each line is written
 *	  with a single write(2), so lines from different threads never mix.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static int	log_level = SHIM_LOG_INFO;
static int	log_fd = 1;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
shim_log_setup(int level, int fd)
{
	log_level = level;
	log_fd = fd;
}

/* Starts a line with the time and the level. */
static void
LogBegin(ShimBuf *b, int level)
{
	struct timeval tv;
	struct tm	tm;
	char		ts[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	shim_buf_printf(b, "{\"time\":\"%s.%03dZ\",\"level\":\"%s\"",
					ts, (int) (tv.tv_usec / 1000), level_names[level]);
}

static void
LogEnd(ShimBuf *b)
{
	ssize_t		r;

	shim_buf_puts(b, "}\n");
	r = write(log_fd, b->data, b->len);
	(void) r;
	shim_buf_free(b);
}

void
shim_log(int level, const char *fmt,...)
{
	ShimBuf		b;
	char		msg[1024];
	va_list		ap;

	if (level < log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	shim_buf_init(&b);
	LogBegin(&b, level);
	shim_buf_puts(&b, ",\"msg\":");
	shim_buf_json_string(&b, msg);
	LogEnd(&b);
}

void
shim_log_request(const char *method, const char *route, int status,
				 double seconds, const char *request_id, const char *sqlstate)
{
	ShimBuf		b;
	int			level = status >= 500 ? SHIM_LOG_ERROR : SHIM_LOG_INFO;

	if (level < log_level)
		return;
	shim_buf_init(&b);
	LogBegin(&b, level);
	shim_buf_puts(&b, ",\"msg\":\"request\",\"method\":");
	shim_buf_json_string(&b, method);
	shim_buf_puts(&b, ",\"route\":");
	shim_buf_json_string(&b, route);
	shim_buf_printf(&b, ",\"status\":%d,\"duration_ms\":%.3f,\"request_id\":",
					status, seconds * 1000.0);
	shim_buf_json_string(&b, request_id);
	if (sqlstate && sqlstate[0])
	{
		shim_buf_puts(&b, ",\"sqlstate\":");
		shim_buf_json_string(&b, sqlstate);
	}
	LogEnd(&b);
}
