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

/*
 * shim_buf_reserve makes room for n more bytes and a terminating NUL, the
 * capacity doubled as it grows; false, the buffer unchanged, when memory
 * is short.  A request body reserves its declared length at once.
 */
bool
shim_buf_reserve(ShimBuf *b, size_t n)
{
	size_t		need = b->len + n + 1;
	size_t		cap = b->cap ? b->cap : 256;
	char	   *data;

	if (need <= b->cap)
		return true;
	while (cap < need)
		cap *= 2;
	data = realloc(b->data, cap);
	if (data == NULL)
		return false;
	b->data = data;
	b->cap = cap;
	return true;
}

/* Grows the buffer for what the shim itself writes; aborts without memory. */
static void
BufReserve(ShimBuf *b, size_t n)
{
	if (!shim_buf_reserve(b, n))
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

/*
 * Utf8Length returns the length of the well-formed UTF-8 sequence at p (at
 * most n bytes), or 0 when it is not one: no overlong forms, surrogates or
 * code points beyond U+10FFFF.
 */
static size_t
Utf8Length(const unsigned char *p, size_t n)
{
	size_t		len,
				i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
	{
		len = 2;
		cp = p[0] & 0x1F;
	}
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
	{
		len = 3;
		cp = p[0] & 0x0F;
	}
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
	{
		len = 4;
		cp = p[0] & 0x07;
	}
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

/* shim_utf8_valid tells whether s[0..n) is well-formed UTF-8 without NUL. */
bool
shim_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		i = 0;

	while (i < n)
	{
		size_t		len = p[i] ? Utf8Length(p + i, n - i) : 0;

		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

/*
 * Appends s as a quoted JSON string (NULL becomes null).  A byte that is
 * not part of well-formed UTF-8 (a request path may hold any byte) becomes
 * U+FFFD, so the output is always valid JSON.
 */
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
		if (*p >= 0x80)
		{
			size_t		avail = 1,
						len;

			while (avail < 4 && p[avail])
				avail++;
			len = Utf8Length(p, avail);

			if (len == 0)
				shim_buf_append(b, "\\ufffd", 6);
			else
			{
				shim_buf_append(b, (const char *) p, len);
				p += len - 1;
			}
			continue;
		}
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
 * that depends only on the two lengths (the configured one's, fixed, and the
 * caller's own), never on where the first difference is, so that response
 * times reveal nothing about how much of a guess was right.  Every byte of
 * the secret is visited; a presented key that is shorter is read as NULs
 * past its end through a mask instead of a branch, and the barrier on the
 * accumulator keeps the compiler from turning the loop into one that stops
 * early.
 */
bool
shim_const_eq(const char *given, const char *secret)
{
	size_t		glen = strlen(given);
	size_t		slen = strlen(secret);
	unsigned char diff = (glen != slen);
	size_t		i;

	for (i = 0; i < slen; i++)
	{
		/* 1 while i < glen, 0 after: the sign bit of i - glen */
		size_t		in = (i - glen) >> (sizeof(size_t) * 8 - 1);
		unsigned char g = (unsigned char) given[i * in];

		diff |= (unsigned char) secret[i] ^ (g & (unsigned char) -in);
		__asm__ __volatile__("" : "+r"(diff));
	}
	return diff == 0;
}

/*
 * shim_const_eq_bytes is shim_const_eq for two hashes of n bytes: 1 when
 * they are equal, else 0, in time that does not depend on where they
 * differ.  It returns an integer rather than a branch's outcome so that
 * the API key check can fold it into its other flags.
 */
unsigned
shim_const_eq_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned char diff = 0;
	size_t		i;

	for (i = 0; i < n; i++)
	{
		diff |= a[i] ^ b[i];
		__asm__ __volatile__("" : "+r"(diff));
	}
	/* 1 when diff is 0: the borrow of diff - 1 */
	return (unsigned) (((unsigned) diff - 1) >> 8) & 1;
}
