/*-------------------------------------------------------------------------
 *
 * search_page.c
 *	  search_events(): one page of a user's events as JSON, ready for the
 *	  REST layer to send, and the cursor of the next page.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "ua_search.h"

PG_FUNCTION_INFO_V1(user_activity_search_events);

static SPIPlanPtr offset_plan = NULL;

/*
 * A page is printed as the executor produces its rows, straight from the
 * scan's slot, without the copy of every row into an SPI tuple table.
 */
typedef struct PageReceiver
{
	DestReceiver pub;
	StringInfo	body;
	int			limit;			/* the page size */
	int64		rows;			/* rows received, up to limit + 1 */
	TimestampTz last_ts;		/* recorded_at and id of the page's last row */
	int64		last_id;
	Oid			action_oids[UA_NUM_ACTIONS];	/* enum value of each action */
} PageReceiver;

/* The page needs nothing at the start and end of a span's execution. */
static void
PageStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
PageShutdown(DestReceiver *self)
{
}

static void
PageDestroy(DestReceiver *self)
{
}

/*
 * PageReceive prints one row of SEARCH_WHERE's columns as event JSON; the
 * row after the page only tells that a next page exists.
 */
static bool
PageReceive(TupleTableSlot *slot, DestReceiver *self)
{
	PageReceiver *r = (PageReceiver *) self;
	Datum	   *v;
	bool	   *isnull;
	Oid			action;
	int			a;

	if (++r->rows > r->limit)
		return false;			/* stop: this was the row after the page */

	slot_getallattrs(slot);
	v = slot->tts_values;
	isnull = slot->tts_isnull;

	/* the action's label, looked up once per enum value and page */
	action = DatumGetObjectId(v[2]);
	for (a = 0; a < UA_NUM_ACTIONS; a++)
		if (r->action_oids[a] == action)
			break;
	if (a == UA_NUM_ACTIONS)
	{
		char	   *label = DatumGetCString(DirectFunctionCall1(enum_out, v[2]));

		a = UaActionIndex(label, strlen(label));
		if (a < 0)
			elog(ERROR, "unknown action \"%s\"", label);
		r->action_oids[a] = action;
	}

	if (r->rows > 1)
		appendStringInfoString(r->body, ", ");
	UaAppendEventJson(r->body,
					  DatumGetInt64(v[0]),
					  DatumGetInt64(v[1]),
					  ua_action_names[a],
					  DatumGetTimestampTz(v[3]),
					  DatumGetJsonbP(v[4]),
					  isnull[5] ? NULL : DatumGetUUIDP(v[5]),
					  DatumGetTimestampTz(v[6]));
	if (r->rows == r->limit)
	{
		r->last_ts = DatumGetTimestampTz(v[6]);
		r->last_id = DatumGetInt64(v[0]);
	}
	return true;
}

/*
 * search_events(params jsonb) returns one page (body text, next_cursor
 * text): body is the JSON array of events, ready to send; next_cursor is
 * null on the last page.  One row more than the page is read to know
 * whether another page follows.  The rows are read span by span of
 * partitions from the keyset position on (UaReadSpans), until the page and
 * the row after it are read or the range ends.
 */
Datum
user_activity_search_events(PG_FUNCTION_ARGS)
{
	SearchParams sp;
	Datum		values[SEARCH_NARGS + 2];
	char		nulls[SEARCH_NARGS + 2];
	StringInfoData body;
	PageReceiver recv;
	SPIExecuteOptions options;
	TupleDesc	tupdesc;
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	if (PG_ARGISNULL(0))
		UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, NULL,
					 pstrdup("search parameters must not be null"),
					 pstrdup("The parameters are a JSON object with the keys " SEARCH_KEYS_TEXT "."));
	UaParseSearchParams(PG_GETARG_JSONB_P(0), false, &sp);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "search_events must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	UaFillSearchArgs(&sp, values, nulls);

	initStringInfo(&body);
	appendStringInfoChar(&body, '[');
	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = PageReceive;
	recv.pub.rStartup = PageStartup;
	recv.pub.rShutdown = PageShutdown;
	recv.pub.rDestroy = PageDestroy;
	recv.pub.mydest = DestNone;
	recv.body = &body;
	recv.limit = sp.limit;

	SPI_connect();
	/* a receiver other than SPI's: a SELECT reports SPI_OK_UTILITY */
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = (DestReceiver *) &recv;
	if (sp.offset == 0)
	{
		PagePlanKey key;

		memset(&key, 0, sizeof(key));	/* the padding is hashed too */
		key.action = sp.nactions > 0;
		key.action_from = sp.has_action_from;
		key.action_to = sp.has_action_to;
		key.metadata = sp.metadata != NULL;
		options.params = UaSearchParamList(values, nulls, SEARCH_NARGS);
		UaReadSpans(&key, sp.start_ts, sp.to, &options, (int64) sp.limit + 1, &recv.rows);
	}
	else
	{
		/*
		 * The legacy offset: planned with its values on every call, since an
		 * OFFSET the planner cannot see makes it assume a tenth of the rows
		 * are wanted.  Rare, and slow by nature.
		 */
		int			rc;

		if (offset_plan == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare_cursor(SEARCH_SELECT " LIMIT $9 OFFSET $10",
												  SEARCH_NARGS + 2,
												  ua_search_types, CURSOR_OPT_CUSTOM_PLAN);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare the search: %s", SPI_result_code_string(SPI_result));
			offset_plan = plan;
		}
		values[SEARCH_NARGS] = Int64GetDatum((int64) sp.limit + 1);
		values[SEARCH_NARGS + 1] = Int64GetDatum(sp.offset);
		nulls[SEARCH_NARGS] = nulls[SEARCH_NARGS + 1] = ' ';
		options.params = UaSearchParamList(values, nulls, SEARCH_NARGS + 2);
		rc = SPI_execute_plan_extended(offset_plan, &options);
		if (rc < 0)
			elog(ERROR, "search failed: %s", SPI_result_code_string(rc));
	}
	SPI_finish();
	appendStringInfoChar(&body, ']');

	out[0] = CStringGetTextDatum(body.data);
	if (recv.rows > sp.limit)
		out[1] = CStringGetTextDatum(UaEncodeCursor(sp.user_id, recv.last_ts, recv.last_id));
	else
	{
		out[1] = (Datum) 0;
		outnulls[1] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, outnulls)));
}
