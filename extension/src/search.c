/*-------------------------------------------------------------------------
 *
 * search.c
 *	  A user's events by recorded time: one page as JSON for the REST layer
 *	  (search_events), a streaming export (export_events), and the keyset
 *	  cursor that find_events and search_events share.
 *
 * Searches filter on recorded_at, the time the system recorded the event,
 * over [from, to), ordered by (recorded_at, id).  Paging is by keyset: the
 * cursor holds the (recorded_at, id) of the last row of a page, and the next
 * page starts strictly after it, so the index (user_id, recorded_at, id)
 * serves the 1000th page as cheaply as the first.  The cursor is opaque:
 * base64url of the position and a checksum that binds it to the user, so a
 * malformed, truncated or altered cursor is rejected instead of silently
 * jumping elsewhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/timestamp.h"

#include "ua_event.h"

PG_FUNCTION_INFO_V1(user_activity_search_events);
PG_FUNCTION_INFO_V1(user_activity_export_events);
PG_FUNCTION_INFO_V1(user_activity_find_start);
PG_FUNCTION_INFO_V1(user_activity_event_cursor);

#define DEFAULT_PAGE_SIZE 100
#define MAX_PAGE_SIZE 1000

#define CURSOR_BYTES 20			/* recorded_at, id, checksum */
#define CURSOR_CHARS 27			/* base64url of 20 bytes, unpadded */

/* A validated search. */
typedef struct SearchParams
{
	int64		user_id;
	TimestampTz from;
	TimestampTz to;
	int			limit;
	int64		offset;
	TimestampTz start_ts;		/* rows strictly after (start_ts, start_id) */
	int64		start_id;
	int			nactions;
	const char *actions[UA_NUM_ACTIONS];
	bool		has_action_from;
	TimestampTz action_from;
	bool		has_action_to;
	TimestampTz action_to;
} SearchParams;

static const char *const search_keys[] = {
	"user_id", "from", "to", "limit", "cursor", "action", "action_from",
	"action_to", "offset"
};
enum
{
	P_USER_ID, P_FROM, P_TO, P_LIMIT, P_CURSOR, P_ACTION, P_ACTION_FROM,
	P_ACTION_TO, P_OFFSET, P_NUM
};
#define SEARCH_KEYS_TEXT "user_id, from, to, limit, cursor, action, action_from, action_to, offset"
#define EXPORT_KEYS_TEXT "user_id, from, to, action, action_from, action_to"

static SPIPlanPtr search_plan = NULL;
static SPIPlanPtr export_plan = NULL;

#define SEARCH_SELECT \
	"SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, " \
	"e.event_id, e.recorded_at " \
	"FROM user_activity.events e " \
	"WHERE e.user_id = $1 " \
	"AND (e.recorded_at, e.id) > ($2, $3) " \
	"AND e.recorded_at >= $2 " \
	"AND e.recorded_at < $4 " \
	"AND ($5::pg_catalog.text[] IS NULL OR e.action = ANY ($5::pg_catalog.text[]::user_activity.action[])) " \
	"AND ($6::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp >= $6) " \
	"AND ($7::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp < $7) " \
	"ORDER BY e.recorded_at, e.id"

static void
ThrowParam(int sqlerrcode, const char *field, char *message, char *detail)
{
	UaError		err;

	UaSetError(&err, sqlerrcode, field, message, detail);
	UaThrowError(&err);
}

/* ---- the cursor ---- */

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

static char *
EncodeCursor(int64 user_id, TimestampTz ts, int64 id)
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

static bool
DecodeCursor(const char *s, int len, int64 user_id, TimestampTz *ts, int64 *id)
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

static void
ThrowBadCursor(const char *field)
{
	ThrowParam(ERRCODE_INVALID_TEXT_REPRESENTATION, field,
			   pstrdup("invalid cursor"),
			   psprintf("\"%s\" must be a cursor of a previous page of the same user's search, unchanged.",
						field));
}

/* ---- parameters ---- */

static char *
ParamText(const JsonbValue *v, const char *key)
{
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	ThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
			   psprintf("invalid type for parameter \"%s\"", key),
			   psprintf("Parameter \"%s\" must be a string.", key));
	return NULL;
}

/* ParseInt64 parses a plain decimal integer within [min, max]. */
static int64
ParseInt64(const char *s, const char *key, int64 min, int64 max)
{
	const char *p = s;
	bool		neg = false;
	uint64		acc = 0;

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	if (*p == '\0')
		ThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
				   psprintf("invalid %s \"%s\"", key, UaQuoteValue(s, strlen(s))),
				   psprintf("Parameter \"%s\" must be an integer.", key));
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			ThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
					   psprintf("invalid %s \"%s\"", key, UaQuoteValue(s, strlen(s))),
					   psprintf("Parameter \"%s\" must be an integer.", key));
		if (acc > (PG_UINT64_MAX - 9) / 10)
			acc = PG_UINT64_MAX;
		else
			acc = acc * 10 + (*p - '0');
	}
	if ((neg && acc > 0 && min >= 0) || acc > (uint64) PG_INT64_MAX ||
		(!neg && (int64) acc > max) || (!neg && (int64) acc < min) ||
		(neg && -(int64) acc < min))
		ThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, key,
				   psprintf("%s %s out of range", key, UaQuoteValue(s, strlen(s))),
				   psprintf("Parameter \"%s\" must be an integer from " INT64_FORMAT " to " INT64_FORMAT ".",
							key, min, max));
	return neg ? -(int64) acc : (int64) acc;
}

static TimestampTz
ParseTimeParam(const char *s, const char *key)
{
	TimestampTz ts;

	if (!UaParseTimestamp(s, strlen(s), &ts))
		ThrowParam(ERRCODE_INVALID_DATETIME_FORMAT, key,
				   psprintf("invalid timestamp \"%s\"", UaQuoteValue(s, strlen(s))),
				   psprintf("Parameter \"%s\" must be an RFC 3339 timestamp with a time zone offset, such as 2025-10-10T18:30:00Z.",
							key));
	return ts;
}

/*
 * ParseSearchParams validates search_events() or export_events() params:
 * the query string as received, values as strings.  Unknown keys are
 * rejected and named; the export takes no limit, cursor or offset.
 */
static void
ParseSearchParams(Jsonb *params, bool for_export, SearchParams *sp)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	key,
				val;
	char	   *values[P_NUM] = {NULL};

	memset(sp, 0, sizeof(*sp));
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ThrowParam(ERRCODE_DATATYPE_MISMATCH, NULL,
				   pstrdup("search parameters must be a JSON object"),
				   psprintf("The parameters are a JSON object with the keys %s.",
							for_export ? EXPORT_KEYS_TEXT : SEARCH_KEYS_TEXT));

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		int			i;

		if (tok != WJB_KEY)
			continue;
		JsonbIteratorNext(&it, &val, true);
		for (i = 0; i < P_NUM; i++)
		{
			if ((int) strlen(search_keys[i]) == key.val.string.len &&
				memcmp(search_keys[i], key.val.string.val, key.val.string.len) == 0)
				break;
		}
		if (i == P_NUM ||
			(for_export && (i == P_LIMIT || i == P_CURSOR || i == P_OFFSET)))
		{
			char	   *name = UaQuoteValue(key.val.string.val, key.val.string.len);

			ThrowParam(ERRCODE_UNDEFINED_COLUMN, name,
					   psprintf("unknown parameter \"%s\"", name),
					   psprintf("The parameters are %s.",
								for_export ? EXPORT_KEYS_TEXT : SEARCH_KEYS_TEXT));
		}
		if (val.type != jbvNull)
			values[i] = ParamText(&val, search_keys[i]);
	}

	for (int i = P_USER_ID; i <= P_TO; i++)
		if (values[i] == NULL)
			ThrowParam(ERRCODE_NOT_NULL_VIOLATION, search_keys[i],
					   psprintf("missing required parameter \"%s\"", search_keys[i]),
					   pstrdup("Parameters \"user_id\", \"from\" and \"to\" are required."));

	sp->user_id = ParseInt64(values[P_USER_ID], "user_id", 1, PG_INT64_MAX);
	sp->from = ParseTimeParam(values[P_FROM], "from");
	sp->to = ParseTimeParam(values[P_TO], "to");
	if (sp->to < sp->from)
		ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "to",
				   pstrdup("\"to\" is earlier than \"from\""),
				   pstrdup("Parameters \"from\" and \"to\" bound the recorded time as [from, to); \"to\" must not be earlier than \"from\"."));

	sp->limit = values[P_LIMIT] ?
		(int) ParseInt64(values[P_LIMIT], "limit", 1, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
	sp->offset = values[P_OFFSET] ?
		ParseInt64(values[P_OFFSET], "offset", 0, PG_INT32_MAX) : 0;

	sp->start_ts = sp->from;
	sp->start_id = 0;			/* ids are positive: (from, 0) < every row at from */
	if (values[P_CURSOR])
	{
		TimestampTz ts;
		int64		id;

		if (values[P_OFFSET])
			ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "offset",
					   pstrdup("\"offset\" cannot be combined with \"cursor\""),
					   pstrdup("Parameter \"offset\" is the legacy way to page; use \"cursor\" alone."));
		if (!DecodeCursor(values[P_CURSOR], strlen(values[P_CURSOR]), sp->user_id, &ts, &id))
			ThrowBadCursor("cursor");
		if (ts > sp->start_ts || (ts == sp->start_ts && id > 0))
		{
			sp->start_ts = ts;
			sp->start_id = id;
		}
	}

	if (values[P_ACTION])
	{
		char	   *s = values[P_ACTION];

		for (;;)
		{
			char	   *comma = strchr(s, ',');
			int			len = comma ? (int) (comma - s) : (int) strlen(s);
			int			a = UaActionIndex(s, len);

			if (a < 0)
				ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "action",
						   psprintf("invalid action \"%s\"", UaQuoteValue(s, len)),
						   pstrdup("Parameter \"action\" must be one or more of created, updated, deleted, viewed, joined by commas."));
			if (sp->nactions < UA_NUM_ACTIONS)
			{
				bool		seen = false;

				for (int j = 0; j < sp->nactions; j++)
					if (sp->actions[j] == ua_action_names[a])
						seen = true;
				if (!seen)
					sp->actions[sp->nactions++] = ua_action_names[a];
			}
			if (!comma)
				break;
			s = comma + 1;
		}
	}
	if (values[P_ACTION_FROM])
	{
		sp->has_action_from = true;
		sp->action_from = ParseTimeParam(values[P_ACTION_FROM], "action_from");
	}
	if (values[P_ACTION_TO])
	{
		sp->has_action_to = true;
		sp->action_to = ParseTimeParam(values[P_ACTION_TO], "action_to");
	}
}

/* FillSearchArgs sets the seven parameters of SEARCH_SELECT. */
static void
FillSearchArgs(const SearchParams *sp, Datum *values, char *nulls)
{
	values[0] = Int64GetDatum(sp->user_id);
	values[1] = TimestampTzGetDatum(sp->start_ts);
	values[2] = Int64GetDatum(sp->start_id);
	values[3] = TimestampTzGetDatum(sp->to);
	memset(nulls, ' ', 7);
	if (sp->nactions > 0)
	{
		Datum		labels[UA_NUM_ACTIONS];

		for (int i = 0; i < sp->nactions; i++)
			labels[i] = CStringGetTextDatum(sp->actions[i]);
		values[4] = PointerGetDatum(construct_array(labels, sp->nactions, TEXTOID,
													-1, false, TYPALIGN_INT));
	}
	else
	{
		values[4] = (Datum) 0;
		nulls[4] = 'n';
	}
	values[5] = TimestampTzGetDatum(sp->action_from);
	if (!sp->has_action_from)
		nulls[5] = 'n';
	values[6] = TimestampTzGetDatum(sp->action_to);
	if (!sp->has_action_to)
		nulls[6] = 'n';
}

static Oid	search_types[9] = {INT8OID, TIMESTAMPTZOID, INT8OID, TIMESTAMPTZOID,
	TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, INT8OID};

/*
 * search_events(params jsonb) returns one page (body text, next_cursor
 * text): body is the JSON array of events, ready to send; next_cursor is
 * null on the last page.  One row more than the page is read to know
 * whether another page follows.
 */
Datum
user_activity_search_events(PG_FUNCTION_ARGS)
{
	SearchParams sp;
	Datum		values[9];
	char		nulls[9];
	StringInfoData body;
	bool		has_next = false;
	TimestampTz next_ts = 0;
	int64		next_id = 0;
	int			rc;
	uint64		nrows;
	TupleDesc	tupdesc;
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	if (PG_ARGISNULL(0))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, NULL,
				   pstrdup("search parameters must not be null"),
				   pstrdup("The parameters are a JSON object with the keys " SEARCH_KEYS_TEXT "."));
	ParseSearchParams(PG_GETARG_JSONB_P(0), false, &sp);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "search_events must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	FillSearchArgs(&sp, values, nulls);
	values[7] = Int64GetDatum((int64) sp.limit + 1);
	values[8] = Int64GetDatum(sp.offset);
	nulls[7] = nulls[8] = ' ';

	initStringInfo(&body);
	SPI_connect();
	if (search_plan == NULL)
	{
		/*
		 * Always a custom plan: with the table partitioned by recorded_at, a
		 * generic plan cannot know which partitions and how many rows a range
		 * holds, and chose to read and sort a user's whole range instead of
		 * walking the index in order up to the limit (10 ms instead of 0.5
		 * ms for a 100-row page out of 1 000).  Planning with the values
		 * prunes partitions and keeps the ordered index scan.
		 */
		SPIPlanPtr	plan = SPI_prepare_cursor(SEARCH_SELECT " LIMIT $8 OFFSET $9", 9,
											  search_types, CURSOR_OPT_CUSTOM_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the search: %s", SPI_result_code_string(SPI_result));
		search_plan = plan;
	}
	rc = SPI_execute_plan(search_plan, values, nulls, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "search failed: %s", SPI_result_code_string(rc));

	nrows = Min(SPI_processed, (uint64) sp.limit);
	appendStringInfoChar(&body, '[');
	for (uint64 r = 0; r < nrows; r++)
	{
		if (r > 0)
			appendStringInfoString(&body, ", ");
		UaAppendSpiRow(&body, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, false);
	}
	appendStringInfoChar(&body, ']');
	if (SPI_processed > (uint64) sp.limit)
	{
		HeapTuple	last = SPI_tuptable->vals[sp.limit - 1];
		bool		isnull;

		has_next = true;
		next_ts = DatumGetTimestampTz(SPI_getbinval(last, SPI_tuptable->tupdesc, 7, &isnull));
		next_id = DatumGetInt64(SPI_getbinval(last, SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();

	out[0] = CStringGetTextDatum(body.data);
	if (has_next)
		out[1] = CStringGetTextDatum(EncodeCursor(sp.user_id, next_ts, next_id));
	else
	{
		out[1] = (Datum) 0;
		outnulls[1] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, outnulls)));
}

/* State of an export between calls. */
typedef struct ExportState
{
	char	   *portal_name;
	bool		csv;
	bool		header_pending;
	MemoryContext batch_cxt;
	Datum	   *lines;
	int			nlines;
	int			next;
	bool		done;
} ExportState;

#define EXPORT_FETCH 1000

/*
 * export_events(params jsonb, format text) returns every matching event,
 * one line per row (no line end), as ndjson or csv with a header line.  It
 * reads through a cursor, EXPORT_FETCH rows at a time, and returns a value
 * per call, so that when it is called in the select list
 * (SELECT user_activity.export_events($1, $2)) and read in single-row mode,
 * millions of rows stream in constant memory.  (In FROM, PostgreSQL
 * collects any set-returning function's rows in a tuplestore first, which
 * spills to disk beyond work_mem.)
 */
Datum
user_activity_export_events(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ExportState *st;

	if (SRF_IS_FIRSTCALL())
	{
		SearchParams sp;
		char	   *format;
		MemoryContext old;
		Datum		values[7];
		char		nulls[7];
		Portal		portal;

		if (PG_ARGISNULL(0))
			ThrowParam(ERRCODE_NOT_NULL_VIOLATION, NULL,
					   pstrdup("search parameters must not be null"),
					   pstrdup("The parameters are a JSON object with the keys " EXPORT_KEYS_TEXT "."));
		if (PG_ARGISNULL(1))
			ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "format",
					   pstrdup("missing required argument \"format\""),
					   pstrdup("Argument \"format\" must be ndjson or csv."));
		format = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strcmp(format, "ndjson") != 0 && strcmp(format, "csv") != 0)
			ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "format",
					   psprintf("invalid export format \"%s\"", UaQuoteValue(format, strlen(format))),
					   pstrdup("Argument \"format\" must be ndjson or csv."));
		ParseSearchParams(PG_GETARG_JSONB_P(0), true, &sp);

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(ExportState));
		st->csv = (strcmp(format, "csv") == 0);
		st->header_pending = st->csv;
		st->batch_cxt = AllocSetContextCreate(funcctx->multi_call_memory_ctx,
											  "user_activity export batch",
											  ALLOCSET_DEFAULT_SIZES);
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(old);

		FillSearchArgs(&sp, values, nulls);
		SPI_connect();
		if (export_plan == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare_cursor(SEARCH_SELECT, 7, search_types,
												  CURSOR_OPT_NO_SCROLL | CURSOR_OPT_CUSTOM_PLAN);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare the export: %s", SPI_result_code_string(SPI_result));
			export_plan = plan;
		}
		portal = SPI_cursor_open(NULL, export_plan, values, nulls, true);
		st->portal_name = MemoryContextStrdup(funcctx->multi_call_memory_ctx, portal->name);
		SPI_finish();
	}

	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	if (st->header_pending)
	{
		st->header_pending = false;
		SRF_RETURN_NEXT(funcctx, CStringGetTextDatum("id,user_id,event_action_timestamp,action,metadata,event_id,recorded_at"));
	}

	if (st->next >= st->nlines && !st->done)
	{
		Portal		portal;
		MemoryContext old;

		MemoryContextReset(st->batch_cxt);
		st->nlines = st->next = 0;
		SPI_connect();
		portal = SPI_cursor_find(st->portal_name);
		if (portal == NULL)
			elog(ERROR, "export cursor \"%s\" is gone", st->portal_name);
		SPI_cursor_fetch(portal, true, EXPORT_FETCH);
		old = MemoryContextSwitchTo(st->batch_cxt);
		st->lines = palloc(sizeof(Datum) * Max(SPI_processed, 1));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			StringInfoData line;

			initStringInfo(&line);
			UaAppendSpiRow(&line, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, st->csv);
			st->lines[st->nlines++] = PointerGetDatum(cstring_to_text_with_len(line.data, line.len));
			pfree(line.data);
		}
		MemoryContextSwitchTo(old);
		if (SPI_processed < EXPORT_FETCH)
		{
			SPI_cursor_close(portal);
			st->done = true;
		}
		SPI_freetuptable(SPI_tuptable);
		SPI_finish();
	}

	if (st->next < st->nlines)
		SRF_RETURN_NEXT(funcctx, st->lines[st->next++]);
	SRF_RETURN_DONE(funcctx);
}

/*
 * find_start(user_id, since, until, page_size, after) validates the
 * arguments of find_events() and returns the keyset position its page
 * starts after: (since, 0), or the position in the cursor "after".
 */
Datum
user_activity_find_start(PG_FUNCTION_ARGS)
{
	int64		user_id;
	TimestampTz since,
				until,
				ts;
	int64		id = 0;
	TupleDesc	tupdesc;
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	if (PG_ARGISNULL(0))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "user_id",
				   pstrdup("missing required argument \"user_id\""),
				   pstrdup("Argument \"user_id\" must not be null."));
	if (PG_ARGISNULL(1))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "since",
				   pstrdup("missing required argument \"since\""),
				   pstrdup("Argument \"since\" must not be null."));
	if (PG_ARGISNULL(2))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "until",
				   pstrdup("missing required argument \"until\""),
				   pstrdup("Argument \"until\" must not be null."));
	user_id = PG_GETARG_INT64(0);
	since = PG_GETARG_TIMESTAMPTZ(1);
	until = PG_GETARG_TIMESTAMPTZ(2);
	if (user_id <= 0)
		ThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "user_id",
				   psprintf("user_id " INT64_FORMAT " out of range", user_id),
				   pstrdup("Argument \"user_id\" must be an integer from 1 to 9223372036854775807."));
	if (until < since)
		ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "until",
				   pstrdup("\"until\" is earlier than \"since\""),
				   pstrdup("Arguments \"since\" and \"until\" bound the recorded time as [since, until)."));
	if (!PG_ARGISNULL(3) && PG_GETARG_INT32(3) < 1)
		ThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "page_size",
				   psprintf("page_size %d out of range", PG_GETARG_INT32(3)),
				   pstrdup("Argument \"page_size\" must be positive, or null for every row."));
	ts = since;
	if (!PG_ARGISNULL(4))
	{
		text	   *after = PG_GETARG_TEXT_PP(4);
		TimestampTz cts;
		int64		cid;

		if (!DecodeCursor(VARDATA_ANY(after), VARSIZE_ANY_EXHDR(after), user_id, &cts, &cid))
			ThrowBadCursor("after");
		if (cts > ts || (cts == ts && cid > 0))
		{
			ts = cts;
			id = cid;
		}
	}

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "find_start must return a record");
	tupdesc = BlessTupleDesc(tupdesc);
	out[0] = TimestampTzGetDatum(ts);
	out[1] = Int64GetDatum(id);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, outnulls)));
}

/*
 * event_cursor(user_id, recorded_at, id) is the cursor of the page that
 * follows the given event, for find_events(after => ...).
 */
Datum
user_activity_event_cursor(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(EncodeCursor(PG_GETARG_INT64(0),
												  PG_GETARG_TIMESTAMPTZ(1),
												  PG_GETARG_INT64(2))));
}
