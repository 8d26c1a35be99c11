/*-------------------------------------------------------------------------
 *
 * search_find.c
 *	  The search for analysts in SQL: find_events() returns rows of the
 *	  events table, find_start() the keyset position a page starts after,
 *	  event_cursor() the cursor that follows an event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "ua_search.h"

PG_FUNCTION_INFO_V1(user_activity_find_events);
PG_FUNCTION_INFO_V1(user_activity_find_start);
PG_FUNCTION_INFO_V1(user_activity_event_cursor);

/*
 * FindArgs validates the arguments that find_events() and find_start() share
 * (user_id, since, until, page_size, after) and sets *sp's user, range and
 * the keyset position the page starts after: (since, 0), or the position in
 * the cursor "after".
 */
static void
FindArgs(FunctionCallInfo fcinfo, SearchParams *sp)
{
	memset(sp, 0, sizeof(*sp));
	if (PG_ARGISNULL(0))
		UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, "user_id",
					 pstrdup("missing required argument \"user_id\""),
					 pstrdup("Argument \"user_id\" must not be null."));
	if (PG_ARGISNULL(1))
		UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, "since",
					 pstrdup("missing required argument \"since\""),
					 pstrdup("Argument \"since\" must not be null."));
	if (PG_ARGISNULL(2))
		UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, "until",
					 pstrdup("missing required argument \"until\""),
					 pstrdup("Argument \"until\" must not be null."));
	sp->user_id = PG_GETARG_INT64(0);
	sp->from = PG_GETARG_TIMESTAMPTZ(1);
	sp->to = PG_GETARG_TIMESTAMPTZ(2);
	if (sp->user_id <= 0)
		UaThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "user_id",
					 psprintf("user_id " INT64_FORMAT " out of range", sp->user_id),
					 pstrdup("Argument \"user_id\" must be an integer from 1 to 9223372036854775807."));
	if (sp->to < sp->from)
		UaThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "until",
					 pstrdup("\"until\" is earlier than \"since\""),
					 pstrdup("Arguments \"since\" and \"until\" bound the recorded time as [since, until)."));
	if (!PG_ARGISNULL(3) && PG_GETARG_INT32(3) < 1)
		UaThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "page_size",
					 psprintf("page_size %d out of range", PG_GETARG_INT32(3)),
					 pstrdup("Argument \"page_size\" must be positive, or null for every row."));
	sp->start_ts = sp->from;
	sp->start_id = 0;
	if (!PG_ARGISNULL(4))
	{
		text	   *after = PG_GETARG_TEXT_PP(4);
		TimestampTz cts;
		int64		cid;

		if (!UaDecodeCursor(VARDATA_ANY(after), VARSIZE_ANY_EXHDR(after), sp->user_id, &cts, &cid))
			UaThrowBadCursor("after");
		if (cts > sp->start_ts || (cts == sp->start_ts && cid > 0))
		{
			sp->start_ts = cts;
			sp->start_id = cid;
		}
	}
}

/*
 * find_events' rows go from the executor's slot straight into the
 * function's tuplestore, in the function's row type (the table's, whose
 * dropped columns, if any, the query's e.* leaves out).
 */
typedef struct FindReceiver
{
	DestReceiver pub;
	Tuplestorestate *store;
	TupleDesc	desc;			/* the row type of user_activity.events */
	Datum	   *values;
	bool	   *nulls;
	int64		rows;			/* rows received */
} FindReceiver;

/*
 * FindStartup checks that the query's columns are those of the function's
 * row type, but for its dropped columns, before any row is stored.
 */
static void
FindStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	FindReceiver *r = (FindReceiver *) self;
	int			j = 0;

	for (int i = 0; i < r->desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(r->desc, i);

		if (att->attisdropped)
			continue;
		if (j >= typeinfo->natts || TupleDescAttr(typeinfo, j)->atttypid != att->atttypid)
			elog(ERROR, "the columns of %s do not match its row type", UA_EVENTS_QUALIFIED);
		j++;
	}
	if (j != typeinfo->natts)
		elog(ERROR, "the columns of %s do not match its row type", UA_EVENTS_QUALIFIED);
}

/* FindReceive stores one row, null in each dropped column. */
static bool
FindReceive(TupleTableSlot *slot, DestReceiver *self)
{
	FindReceiver *r = (FindReceiver *) self;
	int			j = 0;

	slot_getallattrs(slot);
	for (int i = 0; i < r->desc->natts; i++)
	{
		if (TupleDescAttr(r->desc, i)->attisdropped)
		{
			r->values[i] = (Datum) 0;
			r->nulls[i] = true;
			continue;
		}
		r->values[i] = slot->tts_values[j];
		r->nulls[i] = slot->tts_isnull[j];
		j++;
	}
	tuplestore_putvalues(r->store, r->desc, r->values, r->nulls);
	r->rows++;
	return true;
}

/* Nothing to do at the end of a span's execution. */
static void
FindShutdown(DestReceiver *self)
{
}

static void
FindDestroy(DestReceiver *self)
{
}

/*
 * find_events(user_id, since, until, page_size, after, actions,
 * action_since, action_until, metadata) returns a user's events recorded
 * in [since, until), ordered by (recorded_at, id): page_size rows (null:
 * all) after the keyset position of the cursor "after", with the optional
 * filters (metadata: a JSON object that the events' metadata must
 * contain, @>).
 *
 * It runs search_events' page query with the session's kept span plans
 * (UaReadSpans), selecting e.* rather than the JSON's columns; an SQL
 * function would plan its query on every call, generic over every
 * partition of the table, which costs more than reading the page.  The filters mean what they say in SQL: actions
 * is matched with = ANY, so an empty array, or one of nulls only, matches
 * nothing.
 */
Datum
user_activity_find_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SearchParams sp;
	PagePlanKey key;
	Datum		values[SEARCH_NARGS];
	char		nulls[SEARCH_NARGS];
	FindReceiver recv;
	SPIExecuteOptions options;
	int64		wanted;

	FindArgs(fcinfo, &sp);
	InitMaterializedSRF(fcinfo, 0);

	memset(&key, 0, sizeof(key));	/* the padding is hashed too */
	wanted = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	key.action = !PG_ARGISNULL(5);
	key.action_from = !PG_ARGISNULL(6);
	key.action_to = !PG_ARGISNULL(7);
	/* version 1.4's find_events has no metadata argument */
	key.metadata = PG_NARGS() > 8 && !PG_ARGISNULL(8);
	key.whole_row = true;

	values[0] = Int64GetDatum(sp.user_id);
	values[1] = TimestampTzGetDatum(sp.start_ts);
	values[2] = Int64GetDatum(sp.start_id);
	values[3] = TimestampTzGetDatum(sp.to);
	memset(nulls, ' ', sizeof(nulls));
	values[4] = (Datum) 0;
	nulls[4] = 'n';
	if (key.action)
	{
		/* the query takes the actions' labels (SEARCH_ACTION), nulls kept */
		ArrayType  *actions = PG_GETARG_ARRAYTYPE_P(5);
		Datum	   *elems;
		bool	   *elemnulls;
		int			n;

		deconstruct_array(actions, ARR_ELEMTYPE(actions), sizeof(Oid), true,
						  TYPALIGN_INT, &elems, &elemnulls, &n);
		if (n == 0)
			values[4] = PointerGetDatum(construct_empty_array(TEXTOID));
		else
		{
			int			lbound = 1;

			for (int i = 0; i < n; i++)
				if (!elemnulls[i])
					elems[i] = CStringGetTextDatum(DatumGetCString(DirectFunctionCall1(enum_out, elems[i])));
			values[4] = PointerGetDatum(construct_md_array(elems, elemnulls, 1, &n, &lbound,
														   TEXTOID, -1, false, TYPALIGN_INT));
		}
		nulls[4] = ' ';
	}
	values[5] = key.action_from ? PG_GETARG_DATUM(6) : (Datum) 0;
	if (!key.action_from)
		nulls[5] = 'n';
	values[6] = key.action_to ? PG_GETARG_DATUM(7) : (Datum) 0;
	if (!key.action_to)
		nulls[6] = 'n';
	values[7] = (Datum) 0;
	nulls[7] = 'n';
	if (key.metadata)
	{
		Jsonb	   *filter = PG_GETARG_JSONB_P(8);

		UaCheckMetadataFilter(filter, "metadata");
		values[7] = JsonbPGetDatum(filter);
		nulls[7] = ' ';
	}

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = FindReceive;
	recv.pub.rStartup = FindStartup;
	recv.pub.rShutdown = FindShutdown;
	recv.pub.rDestroy = FindDestroy;
	recv.pub.mydest = DestNone;
	recv.store = rsinfo->setResult;
	recv.desc = rsinfo->setDesc;
	recv.values = palloc(sizeof(Datum) * recv.desc->natts);
	recv.nulls = palloc(sizeof(bool) * recv.desc->natts);

	SPI_connect();
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = (DestReceiver *) &recv;
	options.params = UaSearchParamList(values, nulls, SEARCH_NARGS);
	UaReadSpans(&key, sp.start_ts, sp.to, &options, wanted, &recv.rows);
	SPI_finish();

	return (Datum) 0;
}

/*
 * find_start(user_id, since, until, page_size, after) validates the
 * arguments of find_events() and returns the keyset position its page
 * starts after: (since, 0), or the position in the cursor "after".  (The
 * SQL function find_events of versions up to 1.2 calls it.)
 */
Datum
user_activity_find_start(PG_FUNCTION_ARGS)
{
	SearchParams sp;
	TupleDesc	tupdesc;
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	FindArgs(fcinfo, &sp);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "find_start must return a record");
	tupdesc = BlessTupleDesc(tupdesc);
	out[0] = TimestampTzGetDatum(sp.start_ts);
	out[1] = Int64GetDatum(sp.start_id);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, outnulls)));
}

/*
 * event_cursor(user_id, recorded_at, id) is the cursor of the page that
 * follows the given event, for find_events(after => ...).
 */
Datum
user_activity_event_cursor(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(UaEncodeCursor(PG_GETARG_INT64(0),
													PG_GETARG_TIMESTAMPTZ(1),
													PG_GETARG_INT64(2))));
}
