/*-------------------------------------------------------------------------
 *
 * buf.c
 *	  Small helpers: a growable buffer, JSON string and URL encoding, a
 *	  monotonic clock and a constant-time string compare.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void
shim_buf_init(ShimBuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
shim_buf_free(ShimBuf *b)
{
	free(b->data);
	shim_buf_init(b);
}

/* Grows the buffer so that n more bytes and a terminating NUL fit. */
static void
BufReserve(ShimBuf *b, size_t n)
{
	size_t		need = b->len + n + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 256;
	while (b->cap < need)
		b->cap *= 2;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
		abort();
}

void
shim_buf_append(ShimBuf *b, const char *s, size_t n)
{
	BufReserve(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
shim_buf_puts(ShimBuf *b, const char *s)
{
	shim_buf_append(b, s, strlen(s));
}

void
shim_buf_printf(ShimBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	BufReserve(b, 128);
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n >= b->cap - b->len)
	{
		BufReserve(b, n);
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

/* Appends s as a quoted JSON string (NULL becomes null). */
void
shim_buf_json_string(ShimBuf *b, const char *s)
{
	const unsigned char *p;

	if (s == NULL)
	{
		shim_buf_puts(b, "null");
		return;
	}
	shim_buf_append(b, "\"", 1);
	for (p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				shim_buf_append(b, "\\\"", 2);
				break;
			case '\\':
				shim_buf_append(b, "\\\\", 2);
				break;
			case '\n':
				shim_buf_append(b, "\\n", 2);
				break;
			case '\r':
				shim_buf_append(b, "\\r", 2);
				break;
			case '\t':
				shim_buf_append(b, "\\t", 2);
				break;
			default:
				if (*p < 0x20)
					shim_buf_printf(b, "\\u%04x", *p);
				else
					shim_buf_append(b, (const char *) p, 1);
		}
	}
	shim_buf_append(b, "\"", 1);
}

/* Appends s percent-encoded for a query string value. */
void
shim_buf_urlencode(ShimBuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.' || *p == '~')
			shim_buf_append(b, (const char *) p, 1);
		else
		{
			char		enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			shim_buf_append(b, enc, 3);
		}
	}
}

double
shim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * shim_const_eq compares a presented secret with the configured one in time
 * that depends only on the configured one's length, so that response times
 * reveal nothing about how much of a guess was right.
 */
bool
shim_const_eq(const char *given, const char *secret)
{
	size_t		glen = strlen(given);
	size_t		slen = strlen(secret);
	unsigned char diff = (glen != slen);
	size_t		i;

	for (i = 0; i < slen; i++)
		diff |= (unsigned char) secret[i] ^
			(unsigned char) (i < glen ? given[i] : 0);
	return diff == 0;
}
