/*-------------------------------------------------------------------------
 *
 * search_cursor.c
 *	  The keyset cursor of the search: the text that names the position
 *	  (recorded_at, id) a page ends at, bound to the user.
 *
 * The cursor is opaque: base64url (RFC 4648, section 5, unpadded) of the
 * position and a checksum that binds it to the user, so a malformed,
 * truncated or altered cursor is rejected instead of silently jumping
 * elsewhere.  A position has exactly one cursor text, and only that text
 * reads back: cursors handed out by earlier versions stay valid, and no two
 * texts name the same page.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/hashfn.h"

#include "ua_search.h"

#define CURSOR_BYTES 20			/* recorded_at, id, checksum */
#define CURSOR_CHARS 27			/* base64url of 20 bytes, unpadded */
#define CURSOR_B64_CHARS 28		/* base64 of 20 bytes: one "=" of padding */

/*
 * CursorChecksum binds the 16 bytes of a position to the user, so that one
 * user's cursor does not page through another's events.
 */
static uint32
CursorChecksum(const unsigned char *pos, int64 user_id)
{
	unsigned char buf[24];

	memcpy(buf, pos, 16);
	for (int i = 0; i < 8; i++)
		buf[16 + i] = (unsigned char) ((uint64) user_id >> (56 - 8 * i));
	return (uint32) hash_bytes_extended(buf, sizeof(buf), 0x75616376);
}

/*
 * UaEncodeCursor returns the cursor of the position (ts, id) for the user:
 * the position and its checksum, big-endian, in base64url.  PostgreSQL's
 * base64 encoder writes the standard alphabet with padding, which becomes
 * base64url by two substitutions and the padding cut.
 */
char *
UaEncodeCursor(int64 user_id, TimestampTz ts, int64 id)
{
	unsigned char raw[CURSOR_BYTES];
	char		b64[CURSOR_B64_CHARS];
	char	   *out;
	uint32		sum;

	for (int i = 0; i < 8; i++)
	{
		raw[i] = (unsigned char) ((uint64) ts >> (56 - 8 * i));
		raw[8 + i] = (unsigned char) ((uint64) id >> (56 - 8 * i));
	}
	sum = CursorChecksum(raw, user_id);
	for (int i = 0; i < 4; i++)
		raw[16 + i] = (unsigned char) (sum >> (24 - 8 * i));

	if (pg_b64_encode((const char *) raw, CURSOR_BYTES, b64,
					  sizeof(b64)) != CURSOR_B64_CHARS)
		elog(ERROR, "could not encode a search cursor");
	Assert(b64[CURSOR_CHARS] == '=');

	out = palloc(CURSOR_CHARS + 1);
	for (int i = 0; i < CURSOR_CHARS; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	out[CURSOR_CHARS] = '\0';
	return out;
}

/*
 * UaDecodeCursor sets *ts and *id to the position of the cursor s (len
 * bytes, not NUL-terminated) and returns true if s is the very text that
 * UaEncodeCursor makes of that position for this user; otherwise it returns
 * false.  Comparing with the text made again checks the checksum and
 * rejects every other spelling at once: the standard alphabet's "+" and "/",
 * padding, and a last letter with its unused low bits set, all of which
 * PostgreSQL's base64 decoder would read as the same bytes.
 */
bool
UaDecodeCursor(const char *s, int len, int64 user_id, TimestampTz *ts,
			   int64 *id)
{
	char		b64[CURSOR_B64_CHARS];
	unsigned char raw[CURSOR_BYTES + 1];	/* pg_b64_dec_len(28) */
	uint64		t = 0,
				d = 0;
	char	   *again;
	bool		same;

	if (len != CURSOR_CHARS)
		return false;
	for (int i = 0; i < CURSOR_CHARS; i++)
		b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	b64[CURSOR_CHARS] = '=';
	if (pg_b64_decode(b64, CURSOR_B64_CHARS, (char *) raw,
					  sizeof(raw)) != CURSOR_BYTES)
		return false;

	for (int i = 0; i < 8; i++)
	{
		t = (t << 8) | raw[i];
		d = (d << 8) | raw[8 + i];
	}
	again = UaEncodeCursor(user_id, (TimestampTz) t, (int64) d);
	same = memcmp(again, s, CURSOR_CHARS) == 0;
	pfree(again);
	if (!same)
		return false;
	*ts = (TimestampTz) t;
	*id = (int64) d;
	return true;
}
