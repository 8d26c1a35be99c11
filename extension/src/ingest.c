/*-------------------------------------------------------------------------
 *
 * ingest.c
 *	  record_event() and record_events(): validated, idempotent ingest.
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
 * A batch is one multi-row INSERT over unnest() of arrays.  Its ids are
 * taken from the sequence beforehand, so that each returned row maps back to
 * its input item without relying on the order of RETURNING.
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
PG_FUNCTION_INFO_V1(user_activity_record_events);
PG_FUNCTION_INFO_V1(user_activity_record_event_1_4);
PG_FUNCTION_INFO_V1(user_activity_record_event_typed_1_4);
PG_FUNCTION_INFO_V1(user_activity_record_events_1_4);

/* single events: through user_activity.events, and into its partition */
static SPIPlanPtr events_insert_plans[2] = {NULL, NULL};
static SPIPlanPtr partition_insert_plans[2] = {NULL, NULL};
static uint64 partition_plans_generation = 0;
static SPIPlanPtr find_one_plan = NULL;
static SPIPlanPtr next_ids_plan = NULL;
static SPIPlanPtr insert_many_plan = NULL;
static SPIPlanPtr insert_many_plain_plan = NULL;
static SPIPlanPtr find_many_plan = NULL;
static SPIPlanPtr claim_one_plan = NULL;
static SPIPlanPtr claim_many_plan = NULL;
static SPIPlanPtr insert_claimed_plan = NULL;

/*
 * ExecuteSkippingDuplicates runs an INSERT of events during which a taken
 * (user_id, event_id) skips the row instead of failing the statement.
 */
static int
ExecuteSkippingDuplicates(SPIPlanPtr plan, Datum *values, const char *nulls)
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

static SPIPlanPtr
KeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

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

		KeepPlan(slot,
				 psprintf("INSERT INTO %s "
						  "(id, user_id, action, event_action_timestamp, recorded_at, metadata, event_id) "
						  "VALUES ($1, $2, $3::user_activity.action, $4, $5, $6, $7)%s",
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

			KeepPlan(&claim_one_plan,
					 "INSERT INTO user_activity.event_keys (user_id, event_id, id, recorded_at) "
					 "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, event_id) DO NOTHING",
					 4, types);
			key[0] = values[1];
			key[1] = values[6];
			key[2] = values[0];
			key[3] = values[4];
			rc = SPI_execute_plan(claim_one_plan, key, NULL, false, 0);
			if (rc != SPI_OK_INSERT)
				elog(ERROR, "insert into user_activity.event_keys failed: %s",
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
			rc = ExecuteSkippingDuplicates(plan, values, nulls);
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

			KeepPlan(&find_one_plan,
					 "SELECT e.id, e.user_id, e.action, e.event_action_timestamp, "
					 "e.metadata, e.event_id, e.recorded_at "
					 "FROM user_activity.events e "
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

/* Outcome of one batch item. */
typedef enum ItemStatus
{
	ITEM_PENDING,
	ITEM_STORED,
	ITEM_DUPLICATE,
	ITEM_REJECTED
} ItemStatus;

typedef struct BatchItem
{
	UaEvent		ev;
	UaError		err;
	ItemStatus	status;
	int			first;			/* in-batch duplicate: index of the first */
	int64		id;
	TimestampTz recorded_at;
} BatchItem;

/* For sorting items by (user_id, event_id, index) and by id. */
typedef struct KeyRef
{
	int64		user_id;
	const pg_uuid_t *uuid;
	int			index;
} KeyRef;

typedef struct IdRef
{
	int64		id;
	int			index;
} IdRef;

static int
CompareKeyRef(const void *a, const void *b)
{
	const KeyRef *x = a;
	const KeyRef *y = b;
	int			c;

	if (x->user_id != y->user_id)
		return x->user_id < y->user_id ? -1 : 1;
	c = memcmp(x->uuid->data, y->uuid->data, UUID_LEN);
	if (c != 0)
		return c;
	return x->index - y->index;
}

static int
CompareIdRef(const void *a, const void *b)
{
	const IdRef *x = a;
	const IdRef *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return 0;
}

/*
 * MarkBatchDuplicates marks every item that repeats the (user_id, event_id)
 * of an earlier item of the same batch as a duplicate of that first one.
 */
static void
MarkBatchDuplicates(BatchItem *items, int n)
{
	KeyRef	   *keys = palloc(sizeof(KeyRef) * Max(n, 1));
	int			nkeys = 0;

	for (int i = 0; i < n; i++)
	{
		if (items[i].status == ITEM_PENDING && items[i].ev.has_event_id)
		{
			keys[nkeys].user_id = items[i].ev.user_id;
			keys[nkeys].uuid = &items[i].ev.event_id;
			keys[nkeys].index = i;
			nkeys++;
		}
	}
	qsort(keys, nkeys, sizeof(KeyRef), CompareKeyRef);
	for (int i = 1; i < nkeys; i++)
	{
		int			first = i - 1;

		if (keys[i].user_id == keys[first].user_id &&
			memcmp(keys[i].uuid->data, keys[first].uuid->data, UUID_LEN) == 0)
		{
			BatchItem  *it = &items[keys[i].index];

			/* the first of a run is the one with the lowest index */
			it->status = ITEM_DUPLICATE;
			it->first = items[keys[first].index].status == ITEM_DUPLICATE ?
				items[keys[first].index].first : keys[first].index;
		}
	}
	pfree(keys);
}

/*
 * AllocateIds takes an id from the sequence for each pending item and gives
 * it the transaction's time, before anything is inserted: each row then
 * maps back to its item by id.  The caller holds the table's lock (see
 * UaLockEvents) and is connected to SPI.
 */
static void
AllocateIds(BatchItem *items, int n, int npending, TimestampTz recorded_at)
{
	Oid			types[1] = {INT4OID};
	Datum		count = Int32GetDatum(npending);
	int			rc;
	int			k = 0;

	KeepPlan(&next_ids_plan,
			 "SELECT pg_catalog.nextval('user_activity.events_id_seq'::pg_catalog.regclass) "
			 "FROM pg_catalog.generate_series(1, $1)",
			 1, types);
	rc = SPI_execute_plan(next_ids_plan, &count, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != (uint64) npending)
		elog(ERROR, "could not allocate event ids");
	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];
		bool		isnull;

		if (it->status != ITEM_PENDING)
			continue;
		it->id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[k],
											 SPI_tuptable->tupdesc, 1, &isnull));
		it->recorded_at = recorded_at;
		k++;
	}
}

/*
 * MarkStoredDuplicates looks up the events stored under the nlookup given
 * (user_id, event_id) and marks each pending item with such a key as a
 * duplicate of that event.  An item left pending has no visible event under
 * its key: the event was deleted since its key was seen taken.
 */
static void
MarkStoredDuplicates(BatchItem *items, int n, Datum *user_ids, Datum *uuids,
					 int nlookup)
{
	Oid			types[2] = {INT8ARRAYOID, UUIDARRAYOID};
	Datum		args[2];
	int			rc;

	KeepPlan(&find_many_plan,
			 "SELECT e.user_id, e.event_id, e.id, e.recorded_at "
			 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS k(user_id, event_id) "
			 "JOIN user_activity.events e "
			 "ON e.user_id = k.user_id AND e.event_id = k.event_id",
			 2, types);
	args[0] = PointerGetDatum(construct_array(user_ids, nlookup, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(uuids, nlookup, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
	rc = SPI_execute_plan(find_many_plan, args, NULL, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lookup of duplicate events failed: %s", SPI_result_code_string(rc));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		user_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		pg_uuid_t  *uuid = DatumGetUUIDP(SPI_getbinval(tup, desc, 2, &isnull));

		for (int i = 0; i < n; i++)
		{
			BatchItem  *it = &items[i];

			if (it->status == ITEM_PENDING && it->ev.user_id == user_id &&
				memcmp(it->ev.event_id.data, uuid->data, UUID_LEN) == 0)
			{
				it->status = ITEM_DUPLICATE;
				it->first = -1;
				it->id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
				it->recorded_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
			}
		}
	}
}

/*
 * MarkTaken, after an attempt to store the pending items, looks up the
 * event stored under the key of each item still pending (its key was
 * taken) and marks the item a duplicate of it; user_ids and uuids are room
 * for n keys.  Returns true when no item is left pending.  One that is
 * left has a key whose event this snapshot cannot see (deleted since, or
 * stored by a transaction still running): the caller tries again, and the
 * third attempt fails with serialization_failure, to be retried.
 */
static bool
MarkTaken(BatchItem *items, int n, Datum *user_ids, Datum *uuids, int attempt)
{
	int			k = 0;

	for (int i = 0; i < n; i++)
	{
		if (items[i].status != ITEM_PENDING)
			continue;
		Assert(items[i].ev.has_event_id);
		user_ids[k] = Int64GetDatum(items[i].ev.user_id);
		uuids[k] = UUIDPGetDatum(&items[i].ev.event_id);
		k++;
	}
	if (k == 0)
		return true;
	MarkStoredDuplicates(items, n, user_ids, uuids, k);

	for (int i = 0; i < n; i++)
		if (items[i].status == ITEM_PENDING)
		{
			if (attempt == 3)
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not read the event already stored with this event_id"),
						 errdetail("The event was deleted, or stored by a transaction this snapshot cannot see."),
						 errhint("Retry the transaction.")));
			return false;
		}
	return true;
}

/*
 * InsertBatch stores the pending items in one INSERT and marks each stored
 * or, when its event_id is already taken, duplicate of the stored event.
 */
static void
InsertBatch(BatchItem *items, int n, int npending)
{
	Datum	   *ids,
			   *user_ids,
			   *actions,
			   *times,
			   *metas,
			   *uuids;
	IdRef	   *idrefs;
	KeyRef	   *keys;
	int			nkeys;
	int			k = 0;
	Datum		args[7];
	TimestampTz recorded_at = GetCurrentTransactionStartTimestamp();
	int			rc;
	UaEventsTarget target;

	/* the table's lock before any id is taken: see UaLockEvents */
	UaLockEvents(recorded_at, &target);
	SPI_connect();

	/* ids first, so that RETURNING maps back to items by id */
	AllocateIds(items, n, npending, recorded_at);

	ids = palloc(sizeof(Datum) * npending);
	user_ids = palloc(sizeof(Datum) * npending);
	actions = palloc(sizeof(Datum) * npending);
	times = palloc(sizeof(Datum) * npending);
	metas = palloc(sizeof(Datum) * npending);
	uuids = palloc(sizeof(Datum) * npending);
	idrefs = palloc(sizeof(IdRef) * npending);
	keys = palloc(sizeof(KeyRef) * npending);

	/*
	 * Items without event_id cannot conflict: one plain INSERT, no
	 * speculative insertion, nothing to return.
	 */
	k = 0;
	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];

		if (it->status != ITEM_PENDING || it->ev.has_event_id)
			continue;
		ids[k] = Int64GetDatum(it->id);
		user_ids[k] = Int64GetDatum(it->ev.user_id);
		actions[k] = CStringGetTextDatum(ua_action_names[it->ev.action]);
		times[k] = TimestampTzGetDatum(it->ev.action_time);
		metas[k] = JsonbPGetDatum(it->ev.metadata);
		k++;
	}
	if (k > 0)
	{
		Oid			types[6] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
		TIMESTAMPTZARRAYOID, JSONBARRAYOID, TIMESTAMPTZOID};

		KeepPlan(&insert_many_plain_plan,
				 "INSERT INTO user_activity.events "
				 "(id, user_id, action, event_action_timestamp, recorded_at, metadata) "
				 "SELECT u.id, u.user_id, u.action::user_activity.action, u.t, $6, u.m "
				 "FROM (SELECT pg_catalog.unnest($1) AS id, pg_catalog.unnest($2) AS user_id, "
				 "pg_catalog.unnest($3) AS action, pg_catalog.unnest($4) AS t, "
				 "pg_catalog.unnest($5) AS m) AS u",
				 6, types);
		args[0] = PointerGetDatum(construct_array(ids, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[1] = PointerGetDatum(construct_array(user_ids, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[2] = PointerGetDatum(construct_array(actions, k, TEXTOID, -1, false, TYPALIGN_INT));
		args[3] = PointerGetDatum(construct_array(times, k, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[4] = PointerGetDatum(construct_array(metas, k, JSONBOID, -1, false, TYPALIGN_INT));
		args[5] = TimestampTzGetDatum(recorded_at);
		rc = SPI_execute_plan(insert_many_plain_plan, args, NULL, false, 0);
		if (rc != SPI_OK_INSERT || SPI_processed != (uint64) k)
			elog(ERROR, "insert of events failed: %s", SPI_result_code_string(rc));
		for (int i = 0; i < n; i++)
			if (items[i].status == ITEM_PENDING && !items[i].ev.has_event_id)
				items[i].status = ITEM_STORED;
	}

	/*
	 * Items with event_id.  An item neither stored nor found conflicted with
	 * an event that was deleted (delete_user_events) between the insert and
	 * the lookup: its key is free again, so it is tried again.
	 */
	for (int attempt = 1;; attempt++)
	{

		/*
		 * Items with event_id: ON CONFLICT DO NOTHING on (user_id, event_id);
		 * the ids returned are those stored.
		 */
		k = 0;
		for (int i = 0; i < n; i++)
		{
			if (items[i].status != ITEM_PENDING)
				continue;
			keys[k].user_id = items[i].ev.user_id;
			keys[k].uuid = &items[i].ev.event_id;
			keys[k].index = i;
			k++;
		}

		/*
		 * In key order: two batches holding some of each other's keys then wait
		 * for each other in one direction only, instead of deadlocking.
		 */
		qsort(keys, k, sizeof(KeyRef), CompareKeyRef);
		nkeys = k;
		k = 0;
		for (int j = 0; j < nkeys; j++)
		{
			int			i = keys[j].index;
			BatchItem  *it = &items[i];

			idrefs[k].id = it->id;
			idrefs[k].index = i;
			ids[k] = Int64GetDatum(it->id);
			user_ids[k] = Int64GetDatum(it->ev.user_id);
			actions[k] = CStringGetTextDatum(ua_action_names[it->ev.action]);
			times[k] = TimestampTzGetDatum(it->ev.action_time);
			metas[k] = JsonbPGetDatum(it->ev.metadata);
			uuids[k] = UUIDPGetDatum(&it->ev.event_id);
			k++;
		}
		if (k > 0)
		{
			Oid			types[7] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
			TIMESTAMPTZARRAYOID, JSONBARRAYOID, UUIDARRAYOID, TIMESTAMPTZOID};
			int			nkeyed = k;

			qsort(idrefs, nkeyed, sizeof(IdRef), CompareIdRef);
			KeepPlan(&insert_many_plan,
					 "INSERT INTO user_activity.events AS e "
					 "(id, user_id, action, event_action_timestamp, recorded_at, metadata, event_id) "
					 "SELECT u.id, u.user_id, u.action::user_activity.action, u.t, $7, u.m, u.e "
					 "FROM (SELECT pg_catalog.unnest($1) AS id, pg_catalog.unnest($2) AS user_id, "
					 "pg_catalog.unnest($3) AS action, pg_catalog.unnest($4) AS t, "
					 "pg_catalog.unnest($5) AS m, pg_catalog.unnest($6) AS e) AS u "
					 "ON CONFLICT DO NOTHING "
					 "RETURNING e.id",
					 7, types);
			args[0] = PointerGetDatum(construct_array(ids, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[1] = PointerGetDatum(construct_array(user_ids, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[2] = PointerGetDatum(construct_array(actions, k, TEXTOID, -1, false, TYPALIGN_INT));
			args[3] = PointerGetDatum(construct_array(times, k, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[4] = PointerGetDatum(construct_array(metas, k, JSONBOID, -1, false, TYPALIGN_INT));
			args[5] = PointerGetDatum(construct_array(uuids, k, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
			args[6] = TimestampTzGetDatum(recorded_at);
			rc = ExecuteSkippingDuplicates(insert_many_plan, args, NULL);
			if (rc != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "insert of events failed: %s", SPI_result_code_string(rc));

			for (uint64 r = 0; r < SPI_processed; r++)
			{
				bool		isnull;
				IdRef		key;
				IdRef	   *found;

				key.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													 SPI_tuptable->tupdesc, 1, &isnull));
				found = bsearch(&key, idrefs, nkeyed, sizeof(IdRef), CompareIdRef);
				if (found == NULL)
					elog(ERROR, "inserted event " INT64_FORMAT " matches no batch item", key.id);
				items[found->index].status = ITEM_STORED;
			}
		}

		/* what was not stored conflicted with an event stored earlier */
		if (MarkTaken(items, n, user_ids, uuids, attempt))
			break;
	}

	SPI_finish();
}

/*
 * InsertBatchClaiming (version 1.4) stores the pending items: one INSERT
 * claims the keys of the items with an event_id in user_activity.event_keys
 * (in key order, so that two batches wait for each other in one direction
 * only), one INSERT stores the items without event_id and those whose key
 * it claimed, and the others are marked duplicates of the event stored
 * under their key.
 */
static void
InsertBatchClaiming(BatchItem *items, int n, int npending)
{
	Datum	   *ids = palloc(sizeof(Datum) * npending);
	Datum	   *user_ids = palloc(sizeof(Datum) * npending);
	Datum	   *actions = palloc(sizeof(Datum) * npending);
	Datum	   *times = palloc(sizeof(Datum) * npending);
	Datum	   *metas = palloc(sizeof(Datum) * npending);
	Datum	   *uuids = palloc(sizeof(Datum) * npending);
	bool	   *uuid_nulls = palloc(sizeof(bool) * npending);
	IdRef	   *idrefs = palloc(sizeof(IdRef) * npending);
	KeyRef	   *keys = palloc(sizeof(KeyRef) * npending);
	bool	   *claimed = palloc0(sizeof(bool) * Max(n, 1));
	Datum		args[7];
	TimestampTz recorded_at = GetCurrentTransactionStartTimestamp();
	UaEventsTarget target;
	int			rc;
	int			k;

	/* the table's lock before any id is taken: see UaLockEvents */
	UaLockEvents(recorded_at, &target);
	SPI_connect();
	AllocateIds(items, n, npending, recorded_at);

	for (int attempt = 1;; attempt++)
	{
		int			nkeys;

		/* claim the keys */
		k = 0;
		for (int i = 0; i < n; i++)
		{
			if (items[i].status != ITEM_PENDING || !items[i].ev.has_event_id)
				continue;
			keys[k].user_id = items[i].ev.user_id;
			keys[k].uuid = &items[i].ev.event_id;
			keys[k].index = i;
			k++;
		}
		nkeys = k;
		if (nkeys > 0)
		{
			Oid			types[4] = {INT8ARRAYOID, UUIDARRAYOID, INT8ARRAYOID, TIMESTAMPTZOID};

			qsort(keys, nkeys, sizeof(KeyRef), CompareKeyRef);
			for (int j = 0; j < nkeys; j++)
			{
				BatchItem  *it = &items[keys[j].index];

				idrefs[j].id = it->id;
				idrefs[j].index = keys[j].index;
				user_ids[j] = Int64GetDatum(it->ev.user_id);
				uuids[j] = UUIDPGetDatum(&it->ev.event_id);
				ids[j] = Int64GetDatum(it->id);
			}
			qsort(idrefs, nkeys, sizeof(IdRef), CompareIdRef);
			/*
			 * (RETURNING read through a SELECT: Citus counts the rows it
			 * sent, not those inserted, which SPI's own check rejects.)
			 */
			KeepPlan(&claim_many_plan,
					 "WITH claimed AS ("
					 "INSERT INTO user_activity.event_keys AS k (user_id, event_id, id, recorded_at) "
					 "SELECT u.user_id, u.event_id, u.id, $4 "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
					 "pg_catalog.unnest($3)) AS u(user_id, event_id, id) "
					 "ON CONFLICT (user_id, event_id) DO NOTHING "
					 "RETURNING k.id) "
					 "SELECT c.id FROM claimed c",
					 4, types);
			args[0] = PointerGetDatum(construct_array(user_ids, nkeys, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[1] = PointerGetDatum(construct_array(uuids, nkeys, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
			args[2] = PointerGetDatum(construct_array(ids, nkeys, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[3] = TimestampTzGetDatum(recorded_at);
			rc = SPI_execute_plan(claim_many_plan, args, NULL, false, 0);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "insert into user_activity.event_keys failed: %s",
					 SPI_result_code_string(rc));
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				bool		isnull;
				IdRef		key;
				IdRef	   *found;

				key.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													 SPI_tuptable->tupdesc, 1, &isnull));
				found = bsearch(&key, idrefs, nkeys, sizeof(IdRef), CompareIdRef);
				if (found == NULL)
					elog(ERROR, "claimed event key " INT64_FORMAT " matches no batch item", key.id);
				claimed[found->index] = true;
			}
		}

		/* the events without a key and those whose key is now theirs */
		k = 0;
		for (int i = 0; i < n; i++)
		{
			BatchItem  *it = &items[i];

			if (it->status != ITEM_PENDING || (it->ev.has_event_id && !claimed[i]))
				continue;
			ids[k] = Int64GetDatum(it->id);
			user_ids[k] = Int64GetDatum(it->ev.user_id);
			actions[k] = CStringGetTextDatum(ua_action_names[it->ev.action]);
			times[k] = TimestampTzGetDatum(it->ev.action_time);
			metas[k] = JsonbPGetDatum(it->ev.metadata);
			uuids[k] = it->ev.has_event_id ? UUIDPGetDatum(&it->ev.event_id) : (Datum) 0;
			uuid_nulls[k] = !it->ev.has_event_id;
			k++;
		}
		if (k > 0)
		{
			Oid			types[7] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
			TIMESTAMPTZARRAYOID, JSONBARRAYOID, UUIDARRAYOID, TIMESTAMPTZOID};
			int			dims[1];
			int			lbs[1] = {1};

			dims[0] = k;
			KeepPlan(&insert_claimed_plan,
					 "INSERT INTO user_activity.events "
					 "(id, user_id, action, event_action_timestamp, recorded_at, metadata, event_id) "
					 "SELECT u.id, u.user_id, u.action::user_activity.action, u.t, $7, u.m, u.e "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
					 "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
					 "pg_catalog.unnest($6)) AS u(id, user_id, action, t, m, e)",
					 7, types);
			args[0] = PointerGetDatum(construct_array(ids, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[1] = PointerGetDatum(construct_array(user_ids, k, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[2] = PointerGetDatum(construct_array(actions, k, TEXTOID, -1, false, TYPALIGN_INT));
			args[3] = PointerGetDatum(construct_array(times, k, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
			args[4] = PointerGetDatum(construct_array(metas, k, JSONBOID, -1, false, TYPALIGN_INT));
			args[5] = PointerGetDatum(construct_md_array(uuids, uuid_nulls, 1, dims, lbs,
														 UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
			args[6] = TimestampTzGetDatum(recorded_at);
			rc = SPI_execute_plan(insert_claimed_plan, args, NULL, false, 0);
			if (rc != SPI_OK_INSERT || SPI_processed != (uint64) k)
				elog(ERROR, "insert of events failed: %s", SPI_result_code_string(rc));
			for (int i = 0; i < n; i++)
				if (items[i].status == ITEM_PENDING &&
					(!items[i].ev.has_event_id || claimed[i]))
					items[i].status = ITEM_STORED;
		}

		/* what was not claimed is taken by an event stored earlier */
		if (MarkTaken(items, n, user_ids, uuids, attempt))
			break;
	}

	SPI_finish();
}

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
	int			npending = 0;
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
	if (n > ua_max_batch_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many events in one batch"),
				 errdetail("The batch has %d events; the limit is %d (user_activity.max_batch_size).",
						   n, ua_max_batch_size),
				 errhint("Split the batch.")));

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

	MarkBatchDuplicates(items, n);
	for (i = 0; i < n; i++)
		if (items[i].status == ITEM_PENDING)
			npending++;
	if (npending > 0 && claim)
		InsertBatchClaiming(items, n, npending);
	else if (npending > 0)
		InsertBatch(items, n, npending);

	/* in-batch duplicates report the event their first occurrence names */
	for (i = 0; i < n; i++)
	{
		if (items[i].status == ITEM_DUPLICATE && items[i].first >= 0)
		{
			items[i].id = items[items[i].first].id;
			items[i].recorded_at = items[items[i].first].recorded_at;
		}
	}

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
