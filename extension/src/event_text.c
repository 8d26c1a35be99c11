/*-------------------------------------------------------------------------
 *
 * event_text.c
 *	  The event as text: JSON in the shape of docs/interfaces.md, for
 *	  search_events and the ndjson export, or a CSV line with the same
 *	  columns, for the CSV export.
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
#include "utils/builtins.h"
#include "utils/datetime.h"
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
		/* by hand: snprintf showed in the cost of every search page */
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
 * where escape_json() appends byte by byte, from a NUL-terminated copy,
 * which showed in the cost of printing a page of events.
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
