/*-------------------------------------------------------------------------
 *
 * json_out.c
 *	  The event as every function returns it: JSON in the shape of
 *	  docs/interfaces.md, or a CSV line with the same columns.
 *
 * Timestamps are printed in UTC as Go's RFC 3339 with nanoseconds prints
 * them ("2025-10-10T18:30:00Z", "2026-11-26T14:03:00.1234Z"): fractional
 * seconds only when non-zero, trailing zeros trimmed.  Clients of the
 * original service parse exactly that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "ua_event.h"

/* UaAppendTimestamp appends ts as RFC 3339 in UTC, without quotes. */
void
UaAppendTimestamp(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (TIMESTAMP_NOT_FINITE(ts) ||
		timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
	{
		appendStringInfoString(buf, TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity");
		return;
	}
	{
		/* by hand: snprintf was a tenth of a search page's cost */
		char		out[32];
		char	   *p = out;
		int			year = tm.tm_year;

		if (year < 0 || year > 9999)
		{
			appendStringInfo(buf, "%04d", year);
			year = -1;
		}
		else
		{
			*p++ = '0' + year / 1000;
			*p++ = '0' + year / 100 % 10;
			*p++ = '0' + year / 10 % 10;
			*p++ = '0' + year % 10;
		}
		*p++ = '-';
		*p++ = '0' + tm.tm_mon / 10;
		*p++ = '0' + tm.tm_mon % 10;
		*p++ = '-';
		*p++ = '0' + tm.tm_mday / 10;
		*p++ = '0' + tm.tm_mday % 10;
		*p++ = 'T';
		*p++ = '0' + tm.tm_hour / 10;
		*p++ = '0' + tm.tm_hour % 10;
		*p++ = ':';
		*p++ = '0' + tm.tm_min / 10;
		*p++ = '0' + tm.tm_min % 10;
		*p++ = ':';
		*p++ = '0' + tm.tm_sec / 10;
		*p++ = '0' + tm.tm_sec % 10;
		if (fsec != 0)
		{
			int			f = (int) fsec;
			int			n = 6;
			char		frac[6];

			for (int i = 5; i >= 0; i--)
			{
				frac[i] = '0' + f % 10;
				f /= 10;
			}
			while (n > 0 && frac[n - 1] == '0')
				n--;
			*p++ = '.';
			memcpy(p, frac, n);
			p += n;
		}
		appendBinaryStringInfo(buf, out, p - out);
	}
	appendStringInfoChar(buf, 'Z');
}

/* UaAppendUuid appends the canonical lower-case form, without quotes. */
void
UaAppendUuid(StringInfo buf, const pg_uuid_t *uuid)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			appendStringInfoChar(buf, '-');
		appendStringInfoChar(buf, hex[uuid->data[i] >> 4]);
		appendStringInfoChar(buf, hex[uuid->data[i] & 0x0F]);
	}
}

/*
 * AppendJsonString appends len bytes of s as a JSON string, escaped exactly
 * as escape_json() escapes: runs that need no escape are copied whole,
 * where escape_json() appends byte by byte, from a NUL-terminated copy (a
 * quarter of the time spent printing a page of events went there).
 */
static void
AppendJsonString(StringInfo buf, const char *s, int len)
{
	const char *run = s;
	const char *end = s + len;

	appendStringInfoCharMacro(buf, '"');
	for (const char *p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		appendBinaryStringInfo(buf, run, p - run);
		run = p + 1;
		switch (c)
		{
			case '\b':
				appendBinaryStringInfo(buf, "\\b", 2);
				break;
			case '\f':
				appendBinaryStringInfo(buf, "\\f", 2);
				break;
			case '\n':
				appendBinaryStringInfo(buf, "\\n", 2);
				break;
			case '\r':
				appendBinaryStringInfo(buf, "\\r", 2);
				break;
			case '\t':
				appendBinaryStringInfo(buf, "\\t", 2);
				break;
			case '"':
				appendBinaryStringInfo(buf, "\\\"", 2);
				break;
			case '\\':
				appendBinaryStringInfo(buf, "\\\\", 2);
				break;
			default:
				appendStringInfo(buf, "\\u%04x", (int) c);
				break;
		}
	}
	appendBinaryStringInfo(buf, run, end - run);
	appendStringInfoCharMacro(buf, '"');
}

/*
 * UaAppendJsonb appends jb as JSON text, the same text as jsonb output
 * (JsonbToCString): ", " between items, ": " after keys.
 */
void
UaAppendJsonb(StringInfo buf, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	bool		first = true;	/* no ", " before the next item */

	if (JB_ROOT_IS_SCALAR(jb))
	{
		JsonbToCString(buf, &jb->root, VARSIZE(jb));
		return;
	}
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_BEGIN_ARRAY:
			case WJB_BEGIN_OBJECT:
				if (!first)
					appendBinaryStringInfo(buf, ", ", 2);
				appendStringInfoCharMacro(buf, tok == WJB_BEGIN_OBJECT ? '{' : '[');
				first = true;
				break;
			case WJB_END_ARRAY:
			case WJB_END_OBJECT:
				appendStringInfoCharMacro(buf, tok == WJB_END_OBJECT ? '}' : ']');
				first = false;
				break;
			case WJB_KEY:
				if (!first)
					appendBinaryStringInfo(buf, ", ", 2);
				AppendJsonString(buf, v.val.string.val, v.val.string.len);
				appendBinaryStringInfo(buf, ": ", 2);
				first = true;	/* the value follows the key directly */
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (!first)
					appendBinaryStringInfo(buf, ", ", 2);
				switch (v.type)
				{
					case jbvString:
						AppendJsonString(buf, v.val.string.val, v.val.string.len);
						break;
					case jbvNumeric:
						appendStringInfoString(buf,
											   DatumGetCString(DirectFunctionCall1(numeric_out,
																				   NumericGetDatum(v.val.numeric))));
						break;
					case jbvBool:
						appendStringInfoString(buf, v.val.boolean ? "true" : "false");
						break;
					case jbvNull:
						appendStringInfoString(buf, "null");
						break;
					default:
						elog(ERROR, "unexpected jsonb value type %d", (int) v.type);
				}
				first = false;
				break;
			case WJB_DONE:
				break;
		}
	}
}

/*
 * UaAppendEventJson appends one event object.  event_id may be NULL (JSON
 * null).  Keys come in the order of docs/interfaces.md.
 */
void
UaAppendEventJson(StringInfo buf, int64 id, int64 user_id,
				  const char *action, TimestampTz action_time,
				  Jsonb *metadata, const pg_uuid_t *event_id,
				  TimestampTz recorded_at)
{
	char		num[MAXINT8LEN + 1];

	appendStringInfoString(buf, "{\"id\": ");
	appendBinaryStringInfo(buf, num, pg_lltoa(id, num));
	appendStringInfoString(buf, ", \"user_id\": ");
	appendBinaryStringInfo(buf, num, pg_lltoa(user_id, num));
	appendStringInfoString(buf, ", \"event_action_timestamp\": \"");
	UaAppendTimestamp(buf, action_time);
	appendStringInfoString(buf, "\", \"action\": ");
	AppendJsonString(buf, action, strlen(action));
	appendStringInfoString(buf, ", \"metadata\": ");
	UaAppendJsonb(buf, metadata);
	appendStringInfoString(buf, ", \"event_id\": ");
	if (event_id)
	{
		appendStringInfoChar(buf, '"');
		UaAppendUuid(buf, event_id);
		appendStringInfoChar(buf, '"');
	}
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"recorded_at\": \"");
	UaAppendTimestamp(buf, recorded_at);
	appendStringInfoString(buf, "\"}");
}

/*
 * UaAppendEventCsv appends one CSV line (RFC 4180 quoting, no line end) with
 * the columns id, user_id, event_action_timestamp, action, metadata,
 * event_id, recorded_at.  metadata is always quoted; a NULL event_id is an
 * empty field.
 */
void
UaAppendEventCsv(StringInfo buf, int64 id, int64 user_id,
				 const char *action, TimestampTz action_time,
				 Jsonb *metadata, const pg_uuid_t *event_id,
				 TimestampTz recorded_at)
{
	StringInfoData meta;
	const char *p;

	appendStringInfo(buf, INT64_FORMAT "," INT64_FORMAT ",", id, user_id);
	UaAppendTimestamp(buf, action_time);
	appendStringInfo(buf, ",%s,\"", action);
	initStringInfo(&meta);
	UaAppendJsonb(&meta, metadata);
	for (p = meta.data; *p; p++)
	{
		if (*p == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *p);
	}
	pfree(meta.data);
	appendStringInfoString(buf, "\",");
	if (event_id)
		UaAppendUuid(buf, event_id);
	appendStringInfoChar(buf, ',');
	UaAppendTimestamp(buf, recorded_at);
}

/*
 * UaAppendSpiRow appends, as event JSON or a CSV line, a row of the columns
 * id, user_id, action, event_action_timestamp, metadata, event_id,
 * recorded_at, as every query of the extension selects them.
 */
void
UaAppendSpiRow(StringInfo buf, HeapTuple tup, TupleDesc desc, bool csv)
{
	bool		isnull;
	bool		eid_null;
	Datum		eid;
	char	   *action;

	eid = SPI_getbinval(tup, desc, 6, &eid_null);
	action = SPI_getvalue(tup, desc, 3);
	(csv ? UaAppendEventCsv : UaAppendEventJson)
		(buf,
		 DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
		 DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
		 action,
		 DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull)),
		 DatumGetJsonbP(SPI_getbinval(tup, desc, 5, &isnull)),
		 eid_null ? NULL : DatumGetUUIDP(eid),
		 DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull)));
	pfree(action);
}

/*
 * The same event as jsonb, built directly rather than printed and parsed
 * again: record_event() and record_events() return jsonb, and parsing their
 * own output cost a sixth of a single ingest.
 */
void
UaPushKey(JsonbParseState **st, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &v);
}

void
UaPushString(JsonbParseState **st, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
	{
		v.type = jbvNull;
		pushJsonbValue(st, WJB_VALUE, &v);
		return;
	}
	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, WJB_VALUE, &v);
}

void
UaPushInt64(JsonbParseState **st, int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(st, WJB_VALUE, &v);
}

void
UaPushTimestamp(JsonbParseState **st, TimestampTz ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	UaAppendTimestamp(&buf, ts);
	UaPushString(st, buf.data);
}

/*
 * UaPushEvent pushes one event object, with "status" when status is not
 * NULL, and returns it (the whole value once the outermost object ends).
 */
JsonbValue *
UaPushEvent(JsonbParseState **st, int64 id, int64 user_id,
			const char *action, TimestampTz action_time,
			Jsonb *metadata, const pg_uuid_t *event_id,
			TimestampTz recorded_at, const char *status)
{
	JsonbValue	meta;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	UaPushKey(st, "id");
	UaPushInt64(st, id);
	UaPushKey(st, "user_id");
	UaPushInt64(st, user_id);
	UaPushKey(st, "event_action_timestamp");
	UaPushTimestamp(st, action_time);
	UaPushKey(st, "action");
	UaPushString(st, action);
	UaPushKey(st, "metadata");
	meta.type = jbvBinary;
	meta.val.binary.data = &metadata->root;
	meta.val.binary.len = VARSIZE(metadata) - VARHDRSZ;
	pushJsonbValue(st, WJB_VALUE, &meta);
	UaPushKey(st, "event_id");
	if (event_id)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		UaAppendUuid(&buf, event_id);
		UaPushString(st, buf.data);
	}
	else
		UaPushString(st, NULL);
	UaPushKey(st, "recorded_at");
	UaPushTimestamp(st, recorded_at);
	if (status)
	{
		UaPushKey(st, "status");
		UaPushString(st, status);
	}
	return pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* UaPushError pushes {"sqlstate", "field", "message", "detail"[, "hint"]}. */
void
UaPushError(JsonbParseState **st, const UaError *err)
{
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	UaPushKey(st, "sqlstate");
	UaPushString(st, pstrdup(unpack_sql_state(err->sqlerrcode)));	/* static buffer */
	UaPushKey(st, "field");
	UaPushString(st, err->field);
	UaPushKey(st, "message");
	UaPushString(st, err->message);
	UaPushKey(st, "detail");
	UaPushString(st, err->detail);
	if (err->hint)
	{
		UaPushKey(st, "hint");
		UaPushString(st, err->hint);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * Building an event's jsonb for record_event() by pushing each value costs
 * more than its insert's routing: pushJsonbValue() grows its pair array, sorts
 * the keys and unpacks the metadata to pack it again.  The shape is fixed,
 * so UaEventJsonb() writes jsonb's format directly (as convertJsonbObject()
 * in jsonb_util.c does): the keys in jsonb's order (shorter first, then
 * bytewise), their JEntries, then keys and values, the metadata container
 * copied as it is.  A container is position-independent and was aligned at
 * its start as it is here, so the copy is the container jsonb would build.
 */
#define EV_NKEYS 8
static const char *const ev_keys[EV_NKEYS] = {
	"id", "action", "status", "user_id", "event_id", "metadata",
	"recorded_at", "event_action_timestamp"
};

/* pads buf to int alignment, as padBufferToInt() does; returns the padding */
static int
PadToInt(StringInfo buf)
{
	int			pad = INTALIGN(buf->len) - buf->len;

	for (int i = 0; i < pad; i++)
		appendStringInfoCharMacro(buf, '\0');
	return pad;
}

static JEntry
AppendNumeric(StringInfo buf, int64 n)
{
	Numeric		num = int64_to_numeric(n);
	int			pad = PadToInt(buf);
	int			len = VARSIZE_ANY(num);

	appendBinaryStringInfo(buf, (char *) num, len);
	pfree(num);
	return JENTRY_ISNUMERIC | (pad + len);
}

static JEntry
AppendTimestampString(StringInfo buf, TimestampTz ts)
{
	int			start = buf->len;

	UaAppendTimestamp(buf, ts);
	return JENTRY_ISSTRING | (buf->len - start);
}

/*
 * UaEventJsonb returns the event object with "status" when status is not
 * NULL: the same value UaPushEvent() builds.
 */
Jsonb *
UaEventJsonb(int64 id, int64 user_id, const char *action,
			 TimestampTz action_time, Jsonb *metadata,
			 const pg_uuid_t *event_id, TimestampTz recorded_at,
			 const char *status)
{
	StringInfoData buf;
	JEntry		entries[2 * EV_NKEYS];
	int			keyno[EV_NKEYS];
	int			npairs = 0;
	uint32		header;
	int			jentry_offset;
	uint32		totallen = 0;

	for (int k = 0; k < EV_NKEYS; k++)
		if (k != 2 || status != NULL)
			keyno[npairs++] = k;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	header = npairs | JB_FOBJECT;
	appendBinaryStringInfo(&buf, (char *) &header, sizeof(uint32));
	jentry_offset = buf.len;
	appendStringInfoSpaces(&buf, sizeof(JEntry) * 2 * npairs);

	for (int i = 0; i < npairs; i++)
	{
		const char *key = ev_keys[keyno[i]];
		int			len = strlen(key);

		appendBinaryStringInfo(&buf, key, len);
		entries[i] = JENTRY_ISSTRING | len;
	}
	for (int i = 0; i < npairs; i++)
	{
		JEntry	   *e = &entries[npairs + i];

		switch (keyno[i])
		{
			case 0:				/* id */
				*e = AppendNumeric(&buf, id);
				break;
			case 1:				/* action */
				{
					int			len = strlen(action);

					appendBinaryStringInfo(&buf, action, len);
					*e = JENTRY_ISSTRING | len;
				}
				break;
			case 2:				/* status */
				{
					int			len = strlen(status);

					appendBinaryStringInfo(&buf, status, len);
					*e = JENTRY_ISSTRING | len;
				}
				break;
			case 3:				/* user_id */
				*e = AppendNumeric(&buf, user_id);
				break;
			case 4:				/* event_id */
				if (event_id)
				{
					int			start = buf.len;

					UaAppendUuid(&buf, event_id);
					*e = JENTRY_ISSTRING | (buf.len - start);
				}
				else
					*e = JENTRY_ISNULL;
				break;
			case 5:				/* metadata */
				{
					int			pad = PadToInt(&buf);
					int			len = VARSIZE(metadata) - VARHDRSZ;

					appendBinaryStringInfo(&buf, (char *) &metadata->root, len);
					*e = JENTRY_ISCONTAINER | (pad + len);
				}
				break;
			case 6:				/* recorded_at */
				*e = AppendTimestampString(&buf, recorded_at);
				break;
			case 7:				/* event_action_timestamp */
				*e = AppendTimestampString(&buf, action_time);
				break;
		}
	}

	/*
	 * Every JB_OFFSET_STRIDE'th entry holds its end offset instead of its
	 * length, counting keys then values; the sum must fit in the field.
	 */
	for (int i = 0; i < 2 * npairs; i++)
	{
		totallen += JBE_OFFLENFLD(entries[i]);
		if (totallen > JENTRY_OFFLENMASK)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("total size of jsonb object elements exceeds the maximum of %u bytes",
							JENTRY_OFFLENMASK)));
		if (i % JB_OFFSET_STRIDE == 0)
			entries[i] = (entries[i] & JENTRY_TYPEMASK) | totallen | JENTRY_HAS_OFF;
	}
	memcpy(buf.data + jentry_offset, entries, sizeof(JEntry) * 2 * npairs);
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
}
