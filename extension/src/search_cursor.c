/*-------------------------------------------------------------------------
 *
 * search_cursor.c
 *	  The keyset cursor of the search: the text that names the position
 *	  (recorded_at, id) a page ends at, bound to the user.
 *
 * The cursor is opaque: base64url of the position and a checksum that binds
 * it to the user, so a malformed, truncated or altered cursor is rejected
 * instead of silently jumping elsewhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"

#include "ua_search.h"

#define CURSOR_BYTES 20			/* recorded_at, id, checksum */
#define CURSOR_CHARS 27			/* base64url of 20 bytes, unpadded */

static const char b64url[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint32
CursorChecksum(const unsigned char *pos, int64 user_id)
{
	unsigned char buf[24];

	memcpy(buf, pos, 16);
	for (int i = 0; i < 8; i++)
		buf[16 + i] = (unsigned char) ((uint64) user_id >> (56 - 8 * i));
	return (uint32) hash_bytes_extended(buf, sizeof(buf), 0x75616376);
}

char *
UaEncodeCursor(int64 user_id, TimestampTz ts, int64 id)
{
	unsigned char raw[CURSOR_BYTES + 1];
	char	   *out = palloc(CURSOR_CHARS + 1);
	uint32		sum;
	int			o = 0;

	for (int i = 0; i < 8; i++)
	{
		raw[i] = (unsigned char) ((uint64) ts >> (56 - 8 * i));
		raw[8 + i] = (unsigned char) ((uint64) id >> (56 - 8 * i));
	}
	sum = CursorChecksum(raw, user_id);
	for (int i = 0; i < 4; i++)
		raw[16 + i] = (unsigned char) (sum >> (24 - 8 * i));
	raw[CURSOR_BYTES] = 0;

	for (int i = 0; i < CURSOR_BYTES; i += 3)
	{
		uint32		v = (raw[i] << 16) |
			((i + 1 < CURSOR_BYTES ? raw[i + 1] : 0) << 8) |
			(i + 2 < CURSOR_BYTES ? raw[i + 2] : 0);

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < CURSOR_BYTES)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < CURSOR_BYTES)
			out[o++] = b64url[v & 63];
	}
	Assert(o == CURSOR_CHARS);
	out[o] = '\0';
	return out;
}

bool
UaDecodeCursor(const char *s, int len, int64 user_id, TimestampTz *ts, int64 *id)
{
	unsigned char raw[CURSOR_BYTES + 2];
	uint64		v = 0;
	int			bits = 0,
				n = 0;
	uint32		sum = 0;
	uint64		t = 0,
				d = 0;

	if (len != CURSOR_CHARS)
		return false;
	for (int i = 0; i < len; i++)
	{
		const char *p = memchr(b64url, s[i], 64);

		if (p == NULL || s[i] == '\0')
			return false;
		v = (v << 6) | (p - b64url);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			raw[n++] = (unsigned char) (v >> bits);
			v &= ((uint64) 1 << bits) - 1;
		}
	}
	if (n != CURSOR_BYTES || v != 0)
		return false;
	for (int i = 0; i < 8; i++)
	{
		t = (t << 8) | raw[i];
		d = (d << 8) | raw[8 + i];
	}
	for (int i = 0; i < 4; i++)
		sum = (sum << 8) | raw[16 + i];
	if (sum != CursorChecksum(raw, user_id))
		return false;
	*ts = (TimestampTz) t;
	*id = (int64) d;
	return true;
}
