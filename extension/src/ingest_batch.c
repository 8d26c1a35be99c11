/*-------------------------------------------------------------------------
 *
 * ingest_batch.c
 *	  record_events(): a JSON array of events, stored per item.
 *
 * Each item is validated as record_event() validates one event, and the
 * valid ones are stored together (batch_store.c); the result says, item by
 * item and in input order, which were stored, which were duplicates and
 * why the others were rejected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "ua_batch.h"

PG_FUNCTION_INFO_V1(user_activity_record_events);
PG_FUNCTION_INFO_V1(user_activity_record_events_1_4);

/*
 * RecordEvents stores a JSON array of events with per-item
 * acceptance: valid items are stored, invalid ones rejected, re-sent ones
 * reported as duplicates, and the result says which, item by item, in input
 * order.  Only a problem with the batch as a whole (not an array, too many
 * items) raises.  With claim (1.4) the keys are claimed before the insert.
 */
static Datum
RecordEvents(FunctionCallInfo fcinfo, bool claim)
{
	Jsonb	   *batch;
	int			n;
	BatchItem  *items;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	int			i = 0;
	int			nstored = 0,
				ndup = 0,
				nrejected = 0;
	JsonbParseState *st = NULL;
	JsonbValue *res;
	char	   *last_text = NULL;
	TimestampTz last_ts = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("events must not be null"),
				 errdetail("A batch is a JSON array of event objects.")));
	batch = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_ARRAY(batch) || JB_ROOT_IS_SCALAR(batch))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("events must be a JSON array"),
				 errdetail("A batch is a JSON array of event objects, not %s.",
						   JB_ROOT_IS_OBJECT(batch) ? "an object" : "a scalar")));
	n = JB_ROOT_COUNT(batch);
	UaCheckBatchSize(n);

	items = palloc0(sizeof(BatchItem) * Max(n, 1));
	it = JsonbIteratorInit(&batch->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		BatchItem  *item;

		if (tok != WJB_ELEM)
			continue;
		item = &items[i++];
		if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
		{
			if (UaEventFromJsonb(v.val.binary.data, &item->ev, &item->err))
				item->status = ITEM_PENDING;
			else
				item->status = ITEM_REJECTED;
		}
		else
		{
			item->status = ITEM_REJECTED;
			UaSetError(&item->err, ERRCODE_DATATYPE_MISMATCH, NULL,
					   pstrdup("event must be a JSON object"),
					   pstrdup("Each item of the batch must be a JSON object with the fields user_id, event_action_timestamp, action, metadata, event_id."));
		}
	}
	Assert(i == n);

	UaStoreBatch(items, n, claim);

	for (i = 0; i < n; i++)
	{
		if (items[i].status == ITEM_REJECTED)
			nrejected++;
		else if (items[i].status == ITEM_STORED)
			nstored++;
		else
			ndup++;
	}

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	UaPushKey(&st, "stored");
	UaPushInt64(&st, nstored);
	UaPushKey(&st, "duplicates");
	UaPushInt64(&st, ndup);
	UaPushKey(&st, "rejected");
	UaPushInt64(&st, nrejected);
	UaPushKey(&st, "results");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < n; i++)
	{
		BatchItem  *item = &items[i];

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		UaPushKey(&st, "index");
		UaPushInt64(&st, i);
		UaPushKey(&st, "status");
		if (item->status == ITEM_REJECTED)
		{
			UaPushString(&st, "rejected");
			UaPushKey(&st, "error");
			UaPushError(&st, &item->err);
		}
		else
		{
			UaPushString(&st, item->status == ITEM_STORED ? "stored" : "duplicate");
			UaPushKey(&st, "id");
			UaPushInt64(&st, item->id);
			UaPushKey(&st, "recorded_at");
			/* most items share the transaction's time: format it once */
			if (last_text == NULL || item->recorded_at != last_ts)
			{
				StringInfoData buf;

				initStringInfo(&buf);
				UaAppendTimestamp(&buf, item->recorded_at);
				last_text = buf.data;
				last_ts = item->recorded_at;
			}
			UaPushString(&st, last_text);
		}
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(res));
}

/*
 * record_events(events jsonb): see RecordEvents.
 */
Datum
user_activity_record_events(PG_FUNCTION_ARGS)
{
	return RecordEvents(fcinfo, false);
}

/*
 * record_events(events jsonb) from version 1.4, claiming the keys first.
 */
Datum
user_activity_record_events_1_4(PG_FUNCTION_ARGS)
{
	return RecordEvents(fcinfo, true);
}
