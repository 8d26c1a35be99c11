/*-------------------------------------------------------------------------
 *
 * ingest.c
 *	  record_event(): validated, idempotent ingest of one event.
 *
 * From version 1.4 (the *_1_4 entry points) ingest claims the
 * (user_id, event_id) of each event in user_activity.event_keys itself,
 * with INSERT ... ON CONFLICT DO NOTHING, and inserts only the events whose
 * key it claimed; the key trigger on the table accepts a key claimed for
 * the row it sees.  Every statement names the user, so on Citus each goes
 * to the node holding the user and the co-located key shard, and nothing
 * depends on state in the backend that calls ingest.  Versions 1.0 to 1.3
 * bind the older entry points: they insert events with ON CONFLICT DO
 * NOTHING while ua_ingest_skips_duplicates makes the trigger skip a row
 * whose key is taken (1.0: the partial unique index is the arbiter).
 * Either way a re-sent event_id is reported as a duplicate exactly, with no
 * time window, and two concurrent senders of the same event_id cannot both
 * store it: the second waits for the first and then sees the conflict.
 *
 * A single event is inserted straight into the partition that holds the
 * transaction's time (UaLockEvents() makes sure there is one, and caches
 * it), which spares each statement setting up tuple routing; the row,
 * constraints, partition constraint and key trigger are those of an insert
 * through the table.  Its id is taken first, under the table's lock:
 * count_activity() counts up to the sequence's position once every holder
 * of that lock has finished, so an id must never be held without it.  The
 * statements are prepared once per backend (SPI_keepplan); the plan cache
 * re-plans them if the table is re-created.
 *
 * record_events(), a batch, is in ingest_batch.c, record_event_each() in
 * ingest_each.c; both store through batch_store.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"
#include "access/xact.h"

#include "ua_event.h"
#include "user_activity.h"

PG_FUNCTION_INFO_V1(user_activity_record_event);
PG_FUNCTION_INFO_V1(user_activity_record_event_typed);
PG_FUNCTION_INFO_V1(user_activity_record_event_1_4);
PG_FUNCTION_INFO_V1(user_activity_record_event_typed_1_4);

/* single events: through user_activity.events, and into its partition */
static SPIPlanPtr events_insert_plans[2] = {NULL, NULL};
static SPIPlanPtr partition_insert_plans[2] = {NULL, NULL};
static uint64 partition_plans_generation = 0;
static SPIPlanPtr find_one_plan = NULL;
static SPIPlanPtr claim_one_plan = NULL;

/*
 * ExecuteSkippingDuplicates runs an INSERT of events during which a taken
 * (user_id, event_id) skips the row instead of failing the statement.
 */
int
UaExecuteSkippingDuplicates(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	volatile int rc = 0;

	ua_ingest_skips_duplicates = true;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, nulls, false, 0);
	}
	PG_FINALLY();
	{
		ua_ingest_skips_duplicates = false;
	}
	PG_END_TRY();
	return rc;
}

/* UaKeepPlan prepares and keeps sql in *slot the first time, then returns it. */
SPIPlanPtr
UaKeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	return UaKeepPlanWith(slot, sql, nargs, argtypes, 0);
}

/*
 * UaKeepPlanWith is UaKeepPlan with SPI_prepare_cursor's options, such as
 * CURSOR_OPT_GENERIC_PLAN.
 */
SPIPlanPtr
UaKeepPlanWith(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes,
			   int cursor_options)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes,
											  cursor_options);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*slot = plan;
	}
	return *slot;
}

/*
 * InsertPlan returns the prepared INSERT of one event, keyed (with an
 * event_id) or not, into the target's partition or, without one, through
 * user_activity.events.  Without event_id nothing can conflict: a plain
 * INSERT does, with no speculative insertion.  id and recorded_at are given
 * (what the columns' defaults would give: the sequence, taken under the
 * table's lock, and the transaction's start), so nothing is returned.  The
 * plans naming a partition are made again when its name changes.
 */
static SPIPlanPtr
InsertPlan(const UaEventsTarget *target, bool keyed)
{
	SPIPlanPtr *slot;
	const char *table;

	if (OidIsValid(target->partition))
	{
		if (partition_plans_generation != target->generation)
		{
			for (int i = 0; i < 2; i++)
			{
				if (partition_insert_plans[i] != NULL)
					SPI_freeplan(partition_insert_plans[i]);
				partition_insert_plans[i] = NULL;
			}
			partition_plans_generation = target->generation;
		}
		slot = &partition_insert_plans[keyed];
		table = target->partition_name;
	}
	else
	{
		slot = &events_insert_plans[keyed];
		table = UA_EVENTS_QUALIFIED;
	}
	if (*slot == NULL)
	{
		Oid			types[7] = {INT8OID, INT8OID, TEXTOID, TIMESTAMPTZOID,
		TIMESTAMPTZOID, JSONBOID, UUIDOID};

		UaKeepPlan(slot,
				 psprintf("INSERT INTO %s "
						  "(id, user_id, action, event_action_timestamp, recorded_at, metadata, event_id) "
						  "VALUES ($1, $2, $3::" UA_SCHEMA ".action, $4, $5, $6, $7)%s",
						  table, keyed ? " ON CONFLICT DO NOTHING" : ""),
				 7, types);
	}
	return *slot;
}

/*
 * StoreOne inserts a validated event and returns it as jsonb with its id,
 * recorded time and "status": "stored", or the event first stored under the
 * same (user_id, event_id) with "status": "duplicate".  With claim (1.4) the
 * key is claimed in user_activity.event_keys first and the event inserted
 * only if the claim succeeded; without, the trigger skips a taken key.
 */
static Datum
StoreOne(UaEvent *ev, bool claim)
{
	MemoryContext outer = CurrentMemoryContext;
	TimestampTz recorded_at = GetCurrentTransactionStartTimestamp();
	const char *action = ua_action_names[ev->action];
	UaEventsTarget target;
	SPIPlanPtr	plan;
	Jsonb	   *result = NULL;
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int64		id;
	int			rc;
	bool		isnull;

	UaLockEvents(recorded_at, &target);
	id = nextval_internal(target.seq, true);
	values[0] = Int64GetDatum(id);
	values[1] = Int64GetDatum(ev->user_id);
	values[2] = CStringGetTextDatum(action);
	values[3] = TimestampTzGetDatum(ev->action_time);
	values[4] = TimestampTzGetDatum(recorded_at);
	values[5] = JsonbPGetDatum(ev->metadata);
	if (ev->has_event_id)
		values[6] = UUIDPGetDatum(&ev->event_id);
	else
	{
		values[6] = (Datum) 0;
		nulls[6] = 'n';
	}

	SPI_connect();
	plan = InsertPlan(&target, ev->has_event_id && !claim);
	if (!ev->has_event_id)
	{
		rc = SPI_execute_plan(plan, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT || SPI_processed != 1)
			elog(ERROR, "insert of event failed: %s", SPI_result_code_string(rc));
		SPI_finish();
		return JsonbPGetDatum(UaEventJsonb(id, ev->user_id, action,
										   ev->action_time, ev->metadata, NULL,
										   recorded_at, "stored"));
	}

	for (int attempt = 1;; attempt++)
	{
		bool		stored;

		if (claim)
		{
			Oid			types[4] = {INT8OID, UUIDOID, INT8OID, TIMESTAMPTZOID};
			Datum		key[4];

			UaKeepPlan(&claim_one_plan,
					 "INSERT INTO " UA_SCHEMA ".event_keys (user_id, event_id, id, recorded_at) "
					 "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, event_id) DO NOTHING",
					 4, types);
			key[0] = values[1];
			key[1] = values[6];
			key[2] = values[0];
			key[3] = values[4];
			rc = SPI_execute_plan(claim_one_plan, key, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "insert into " UA_SCHEMA ".event_keys failed: %s",
					 SPI_result_code_string(rc));
			stored = SPI_processed == 1;
			if (stored)
			{
				/* the key is this event's now: nothing can conflict */
				rc = SPI_execute_plan(InsertPlan(&target, false), values, nulls, false, 0);
				if (rc != SPI_OK_INSERT || SPI_processed != 1)
					elog(ERROR, "insert of event failed: %s", SPI_result_code_string(rc));
			}
		}
		else
		{
			rc = UaExecuteSkippingDuplicates(plan, values, nulls);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "insert of event failed: %s", SPI_result_code_string(rc));
			stored = SPI_processed == 1;
		}

		if (stored)
		{
			MemoryContextSwitchTo(outer);
			result = UaEventJsonb(id, ev->user_id, action, ev->action_time,
								  ev->metadata, &ev->event_id, recorded_at,
								  "stored");
		}
		else
		{
			Oid			types[2] = {INT8OID, UUIDOID};
			Datum		keys[2];
			HeapTuple	tup;
			TupleDesc	desc;
			bool		eid_null;
			Datum		eid;
			char	   *stored_action;

			UaKeepPlan(&find_one_plan,
					 "SELECT e.id, e.user_id, e.action, e.event_action_timestamp, "
					 "e.metadata, e.event_id, e.recorded_at "
					 "FROM " UA_EVENTS_QUALIFIED " e "
					 "WHERE e.user_id = $1 AND e.event_id = $2",
					 2, types);
			keys[0] = values[1];
			keys[1] = values[6];
			rc = SPI_execute_plan(find_one_plan, keys, NULL, false, 1);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "lookup of duplicate event failed: %s", SPI_result_code_string(rc));
			if (SPI_processed != 1)
			{
				/* deleted since the insert saw it: the key is free, try again */
				if (attempt == 3)
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not read the event already stored with this event_id"),
							 errdetail("The event was deleted, or stored by a transaction this snapshot cannot see."),
							 errhint("Retry the transaction.")));
				continue;
			}
			tup = SPI_tuptable->vals[0];
			desc = SPI_tuptable->tupdesc;
			eid = SPI_getbinval(tup, desc, 6, &eid_null);
			stored_action = SPI_getvalue(tup, desc, 3);

			/* built in the caller's memory, before SPI_finish frees the row */
			MemoryContextSwitchTo(outer);
			result = UaEventJsonb(DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
								  DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
								  stored_action,
								  DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull)),
								  DatumGetJsonbP(SPI_getbinval(tup, desc, 5, &isnull)),
								  eid_null ? NULL : DatumGetUUIDP(eid),
								  DatumGetTimestampTz(SPI_getbinval(tup, desc, 7, &isnull)),
								  "duplicate");
		}
		break;
	}
	SPI_finish();

	return JsonbPGetDatum(result);
}

/*
 * record_event(event jsonb) validates one event as the REST API receives it
 * and stores it.
 */
Datum
user_activity_record_event(PG_FUNCTION_ARGS)
{
	UaEvent		ev;
	UaError		err;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("event must not be null"),
				 errdetail("An event is a JSON object with the fields user_id, event_action_timestamp, action, metadata, event_id.")));
	if (!UaEventFromJsonb(&PG_GETARG_JSONB_P(0)->root, &ev, &err))
		UaThrowError(&err);
	PG_RETURN_DATUM(StoreOne(&ev, false));
}

/*
 * record_event(event jsonb) from version 1.4: the same, claiming the key
 * first (see StoreOne).
 */
Datum
user_activity_record_event_1_4(PG_FUNCTION_ARGS)
{
	UaEvent		ev;
	UaError		err;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("event must not be null"),
				 errdetail("An event is a JSON object with the fields user_id, event_action_timestamp, action, metadata, event_id.")));
	if (!UaEventFromJsonb(&PG_GETARG_JSONB_P(0)->root, &ev, &err))
		UaThrowError(&err);
	PG_RETURN_DATUM(StoreOne(&ev, true));
}

static void
RequireArg(FunctionCallInfo fcinfo, int argno, const char *field)
{
	if (PG_ARGISNULL(argno))
	{
		UaError		err;

		UaSetError(&err, ERRCODE_NOT_NULL_VIOLATION, field,
				   psprintf("missing required argument \"%s\"", field),
				   psprintf("Argument \"%s\" must not be null.", field));
		UaThrowError(&err);
	}
}

/*
 * TypedEvent reads the arguments of the typed record_event into ev.
 */
static void
TypedEvent(FunctionCallInfo fcinfo, UaEvent *ev)
{
	UaError		err;
	char	   *action;

	RequireArg(fcinfo, 0, "user_id");
	RequireArg(fcinfo, 1, "action");
	RequireArg(fcinfo, 2, "action_time");

	ev->user_id = PG_GETARG_INT64(0);
	action = DatumGetCString(DirectFunctionCall1(enum_out, PG_GETARG_DATUM(1)));
	ev->action = UaActionIndex(action, strlen(action));
	if (ev->action < 0)
		elog(ERROR, "unexpected action \"%s\"", action);
	ev->action_time = PG_GETARG_TIMESTAMPTZ(2);
	if (PG_ARGISNULL(3))
		ev->metadata = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	else
		ev->metadata = PG_GETARG_JSONB_P(3);
	ev->has_event_id = !PG_ARGISNULL(4);
	if (ev->has_event_id)
		ev->event_id = *PG_GETARG_UUID_P(4);

	if (!UaCheckEvent(ev, &err))
		UaThrowError(&err);
}

/*
 * record_event(user_id, action, action_time, metadata, event_id) from
 * version 1.4, claiming the key first (see StoreOne).
 */
Datum
user_activity_record_event_typed_1_4(PG_FUNCTION_ARGS)
{
	UaEvent		ev;

	TypedEvent(fcinfo, &ev);
	PG_RETURN_DATUM(StoreOne(&ev, true));
}

/*
 * record_event(user_id, action, action_time, metadata, event_id) is the
 * typed form for SQL callers; the same rules apply.  A null metadata means
 * an empty object, as an absent one does in JSON.
 */
Datum
user_activity_record_event_typed(PG_FUNCTION_ARGS)
{
	UaEvent		ev;

	TypedEvent(fcinfo, &ev);
	PG_RETURN_DATUM(StoreOne(&ev, false));
}
