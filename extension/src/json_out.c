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
#include "utils/json.h"

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
	appendStringInfo(buf, "%04d-%02d-%02dT%02d:%02d:%02d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (fsec != 0)
	{
		char		frac[8];
		int			n;

		snprintf(frac, sizeof(frac), "%06d", (int) fsec);
		for (n = 6; n > 0 && frac[n - 1] == '0'; n--)
			;
		appendStringInfoChar(buf, '.');
		appendBinaryStringInfo(buf, frac, n);
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

void
UaAppendJsonString(StringInfo buf, const char *s)
{
	escape_json(buf, s);
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
	appendStringInfo(buf, "{\"id\": " INT64_FORMAT ", \"user_id\": " INT64_FORMAT
					 ", \"event_action_timestamp\": \"",
					 id, user_id);
	UaAppendTimestamp(buf, action_time);
	appendStringInfoString(buf, "\", \"action\": ");
	escape_json(buf, action);
	appendStringInfoString(buf, ", \"metadata\": ");
	JsonbToCString(buf, &metadata->root, VARSIZE(metadata));
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
	JsonbToCString(&meta, &metadata->root, VARSIZE(metadata));
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
 * UaAppendErrorJson appends {"sqlstate", "field", "message", "detail"} for
 * a rejected batch item.
 */
void
UaAppendErrorJson(StringInfo buf, const UaError *err)
{
	appendStringInfo(buf, "{\"sqlstate\": \"%s\", \"field\": ",
					 unpack_sql_state(err->sqlerrcode));
	if (err->field)
		escape_json(buf, err->field);
	else
		appendStringInfoString(buf, "null");
	appendStringInfoString(buf, ", \"message\": ");
	escape_json(buf, err->message);
	appendStringInfoString(buf, ", \"detail\": ");
	if (err->detail)
		escape_json(buf, err->detail);
	else
		appendStringInfoString(buf, "null");
	if (err->hint)
	{
		appendStringInfoString(buf, ", \"hint\": ");
		escape_json(buf, err->hint);
	}
	appendStringInfoChar(buf, '}');
}
