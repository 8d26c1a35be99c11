/*-------------------------------------------------------------------------
 *
 * ingest_each.c
 *	  record_event_each(): events given as text, each answered as
 *	  record_event() would have answered it alone.
 *
 * It is what the HTTP shim's group commit runs: the bodies of many POST
 * /api/event requests in one statement and one transaction, each answered
 * with the event (stored or duplicate) or the error record_event() would
 * have raised for it, so that one bad request fails none of the others.
 * Its items are texts, cast to jsonb one by one, so that a body that is
 * not JSON is rejected as an item too; the valid ones are stored together
 * (batch_store.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "ua_batch.h"

PG_FUNCTION_INFO_V1(user_activity_record_event_each);

/*
 * ItemFromText reads an item of record_event_each() as record_event()
 * reads its argument: the text cast to jsonb, then validated.  A text that
 * is not JSON is rejected with the error the cast raises (its SQLSTATE,
 * message and detail), found by parsing it first without building
 * anything, so that no subtransaction is needed.  What the cast can still
 * fail on once the text parsed (a number beyond numeric's range, nesting
 * deeper than the stack allows) raises, for the whole call.
 */
static void
ItemFromText(text *t, BatchItem *item)
{
	char	   *s = text_to_cstring(t);
	JsonLexContext *lex;
	JsonParseErrorType rc;
	Jsonb	   *jb;

	lex = makeJsonLexContextCstringLen(s, strlen(s), GetDatabaseEncoding(), true);
	rc = pg_parse_json(lex, &nullSemAction);
	if (rc != JSON_SUCCESS)
	{
		bool		escape = rc == JSON_UNICODE_CODE_POINT_ZERO ||
			rc == JSON_UNICODE_HIGH_ESCAPE;

		item->status = ITEM_REJECTED;
		UaSetError(&item->err,
				   escape ? ERRCODE_UNTRANSLATABLE_CHARACTER : ERRCODE_INVALID_TEXT_REPRESENTATION,
				   NULL,
				   escape ? pstrdup(_("unsupported Unicode escape sequence")) :
				   psprintf(_("invalid input syntax for type %s"), "json"),
				   json_errdetail(rc, lex));
		return;
	}
	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
	if (UaEventFromJsonb(&jb->root, &item->ev, &item->err))
		item->status = ITEM_PENDING;
	else
		item->status = ITEM_REJECTED;
}

/*
 * record_event_each(events text[]) stores each event as record_event()
 * stores one, all in the caller's transaction, and returns one row per
 * item in input order: (event, null) with the event record_event() would
 * have returned for it, "status" stored or duplicate, or (null, error)
 * with the error it would have raised ({"sqlstate", "field", "message",
 * "detail"}).  Items are validated and stored as record_events() stores a
 * batch (1.4's way, claiming their keys); a repeated event_id is answered
 * with the event first stored, earlier in the same call or before it.
 * Only what concerns the call as a whole raises: more items than
 * user_activity.max_batch_size, and failures of the database itself.
 */
Datum
user_activity_record_event_each(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	Datum	   *texts;
	bool	   *nulls;
	int			n;
	BatchItem  *items;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("events must not be null"),
				 errdetail("The events are an array of texts, each an event as record_event() takes it.")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("events must be a one-dimensional array"),
				 errdetail("The events are an array of texts, each an event as record_event() takes it.")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &texts, &nulls, &n);
	UaCheckBatchSize(n);

	items = palloc0(sizeof(BatchItem) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
		{
			items[i].status = ITEM_REJECTED;
			UaSetError(&items[i].err, ERRCODE_NOT_NULL_VIOLATION, NULL,
					   pstrdup("event must not be null"),
					   pstrdup("An event is a JSON object with the fields user_id, event_action_timestamp, action, metadata, event_id."));
		}
		else
			ItemFromText(DatumGetTextPP(texts[i]), &items[i]);
	}
	UaStoreBatch(items, n, true);

	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];
		Datum		values[2] = {0, 0};
		bool		isnull[2] = {true, true};

		if (it->status == ITEM_REJECTED)
		{
			JsonbParseState *st = NULL;

			values[1] = JsonbPGetDatum(JsonbValueToJsonb(UaPushError(&st, &it->err)));
			isnull[1] = false;
		}
		else
		{
			values[0] = JsonbPGetDatum(UaEventJsonb(it->id, it->ev.user_id,
													ua_action_names[it->ev.action],
													it->ev.action_time,
													it->ev.metadata,
													it->ev.has_event_id ? &it->ev.event_id : NULL,
													it->recorded_at,
													it->status == ITEM_STORED ? "stored" : "duplicate"));
			isnull[0] = false;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}
