/*-------------------------------------------------------------------------
 *
 * batch_store.c
 *	  Stores the valid items of a batch in one statement and says, item by
 *	  item, which were stored and which repeat an event_id already stored.
 *
 * The valid items are stored by one multi-row INSERT over unnest() of
 * arrays.  Their ids are taken from the sequence beforehand, so that each
 * returned row maps back to its input item without relying on the order of
 * RETURNING.  How a re-sent event_id is found, from version 1.4 and
 * before, is said at the top of ingest.c; the two versions share the
 * look-up of the events stored under taken keys (MarkTaken).
 *
 * The callers, record_events() (ingest_batch.c) and record_event_each()
 * (ingest_each.c), read and validate the items; what is left pending here
 * is stored or marked a duplicate.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "ua_batch.h"
#include "user_activity.h"

/* the batch's statements, prepared once per backend */
static SPIPlanPtr next_ids_plan = NULL;
static SPIPlanPtr insert_many_plan = NULL;
static SPIPlanPtr insert_many_plain_plan = NULL;
static SPIPlanPtr find_many_plan = NULL;
static SPIPlanPtr claim_many_plan = NULL;
static SPIPlanPtr insert_claimed_plan = NULL;

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
 * The arrays a statement of the batch takes as parameters, one per column:
 * the five columns every insert takes go in args[0] to args[4].
 */
static Datum
Int8Array(Datum *elems, int n)
{
	return PointerGetDatum(construct_array(elems, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

static Datum
UuidArray(Datum *elems, int n)
{
	return PointerGetDatum(construct_array(elems, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR));
}

static void
EventArrays(Datum *args, int n, Datum *ids, Datum *user_ids, Datum *actions,
			Datum *times, Datum *metas)
{
	args[0] = Int8Array(ids, n);
	args[1] = Int8Array(user_ids, n);
	args[2] = PointerGetDatum(construct_array(actions, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[3] = PointerGetDatum(construct_array(times, n, TIMESTAMPTZOID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[4] = PointerGetDatum(construct_array(metas, n, JSONBOID, -1, false, TYPALIGN_INT));
}

/* Puts the item's five columns at position k of the arrays EventArrays takes. */
static void
EventColumns(const BatchItem *it, int k, Datum *ids, Datum *user_ids,
			 Datum *actions, Datum *times, Datum *metas)
{
	ids[k] = Int64GetDatum(it->id);
	user_ids[k] = Int64GetDatum(it->ev.user_id);
	actions[k] = CStringGetTextDatum(ua_action_names[it->ev.action]);
	times[k] = TimestampTzGetDatum(it->ev.action_time);
	metas[k] = JsonbPGetDatum(it->ev.metadata);
}

/*
 * ItemOfRow is the batch item whose id the first column of SPI's row r
 * holds, found in refs (sorted by id); what names the statement in the
 * error raised if none has it.
 */
static int
ItemOfRow(uint64 r, const IdRef *refs, int nrefs, const char *what)
{
	bool		isnull;
	IdRef		key;
	IdRef	   *found;

	key.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
										 SPI_tuptable->tupdesc, 1, &isnull));
	found = bsearch(&key, refs, nrefs, sizeof(IdRef), CompareIdRef);
	if (found == NULL)
		elog(ERROR, "%s " INT64_FORMAT " matches no batch item", what, key.id);
	return found->index;
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

	UaKeepPlan(&next_ids_plan,
			 "SELECT pg_catalog.nextval('" UA_EVENTS_QUALIFIED "_id_seq'::pg_catalog.regclass) "
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
 * duplicate of that event, which its ev then describes (in the caller's
 * memory): record_event_each() answers with it.  An item left pending has
 * no visible event under its key: the event was deleted since its key was
 * seen taken.  The caller is connected to SPI.
 */
static void
MarkStoredDuplicates(BatchItem *items, int n, Datum *user_ids, Datum *uuids,
					 int nlookup)
{
	Oid			types[2] = {INT8ARRAYOID, UUIDARRAYOID};
	Datum		args[2];
	int			rc;

	UaKeepPlan(&find_many_plan,
			 "SELECT e.user_id, e.event_id, e.id, e.recorded_at, "
			 "e.action::pg_catalog.text, e.event_action_timestamp, e.metadata "
			 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS k(user_id, event_id) "
			 "JOIN " UA_EVENTS_QUALIFIED " e "
			 "ON e.user_id = k.user_id AND e.event_id = k.event_id",
			 2, types);
	args[0] = Int8Array(user_ids, nlookup);
	args[1] = UuidArray(uuids, nlookup);
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
		Jsonb	   *metadata = NULL;
		int			action = -1;

		for (int i = 0; i < n; i++)
		{
			BatchItem  *it = &items[i];

			if (it->status == ITEM_PENDING && it->ev.user_id == user_id &&
				memcmp(it->ev.event_id.data, uuid->data, UUID_LEN) == 0)
			{
				if (metadata == NULL)
				{
					Jsonb	   *m = DatumGetJsonbP(SPI_getbinval(tup, desc, 7, &isnull));
					char	   *a = SPI_getvalue(tup, desc, 5);

					/* out of SPI's memory, which SPI_finish frees */
					metadata = SPI_palloc(VARSIZE(m));
					memcpy(metadata, m, VARSIZE(m));
					action = UaActionIndex(a, strlen(a));
				}
				it->status = ITEM_DUPLICATE;
				it->first = -1;
				it->id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
				it->recorded_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
				it->ev.action = action;
				it->ev.action_time = DatumGetTimestampTz(SPI_getbinval(tup, desc, 6, &isnull));
				it->ev.metadata = metadata;
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
		EventColumns(it, k, ids, user_ids, actions, times, metas);
		k++;
	}
	if (k > 0)
	{
		Oid			types[6] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
		TIMESTAMPTZARRAYOID, JSONBARRAYOID, TIMESTAMPTZOID};

		UaKeepPlan(&insert_many_plain_plan,
				 "INSERT INTO " UA_EVENTS_QUALIFIED " "
				 "(id, user_id, action, event_action_timestamp, recorded_at, metadata) "
				 "SELECT u.id, u.user_id, u.action::" UA_SCHEMA ".action, u.t, $6, u.m "
				 "FROM (SELECT pg_catalog.unnest($1) AS id, pg_catalog.unnest($2) AS user_id, "
				 "pg_catalog.unnest($3) AS action, pg_catalog.unnest($4) AS t, "
				 "pg_catalog.unnest($5) AS m) AS u",
				 6, types);
		EventArrays(args, k, ids, user_ids, actions, times, metas);
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
			EventColumns(it, k, ids, user_ids, actions, times, metas);
			uuids[k] = UUIDPGetDatum(&it->ev.event_id);
			k++;
		}
		if (k > 0)
		{
			Oid			types[7] = {INT8ARRAYOID, INT8ARRAYOID, TEXTARRAYOID,
			TIMESTAMPTZARRAYOID, JSONBARRAYOID, UUIDARRAYOID, TIMESTAMPTZOID};
			int			nkeyed = k;

			qsort(idrefs, nkeyed, sizeof(IdRef), CompareIdRef);
			UaKeepPlan(&insert_many_plan,
					 "INSERT INTO " UA_EVENTS_QUALIFIED " AS e "
					 "(id, user_id, action, event_action_timestamp, recorded_at, metadata, event_id) "
					 "SELECT u.id, u.user_id, u.action::" UA_SCHEMA ".action, u.t, $7, u.m, u.e "
					 "FROM (SELECT pg_catalog.unnest($1) AS id, pg_catalog.unnest($2) AS user_id, "
					 "pg_catalog.unnest($3) AS action, pg_catalog.unnest($4) AS t, "
					 "pg_catalog.unnest($5) AS m, pg_catalog.unnest($6) AS e) AS u "
					 "ON CONFLICT DO NOTHING "
					 "RETURNING e.id",
					 7, types);
			EventArrays(args, k, ids, user_ids, actions, times, metas);
			args[5] = UuidArray(uuids, k);
			args[6] = TimestampTzGetDatum(recorded_at);
			rc = UaExecuteSkippingDuplicates(insert_many_plan, args, NULL);
			if (rc != SPI_OK_INSERT_RETURNING)
				elog(ERROR, "insert of events failed: %s", SPI_result_code_string(rc));

			for (uint64 r = 0; r < SPI_processed; r++)
				items[ItemOfRow(r, idrefs, nkeyed, "inserted event")].status = ITEM_STORED;
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
			UaKeepPlan(&claim_many_plan,
					 "WITH claimed AS ("
					 "INSERT INTO " UA_SCHEMA ".event_keys AS k (user_id, event_id, id, recorded_at) "
					 "SELECT u.user_id, u.event_id, u.id, $4 "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
					 "pg_catalog.unnest($3)) AS u(user_id, event_id, id) "
					 "ON CONFLICT (user_id, event_id) DO NOTHING "
					 "RETURNING k.id) "
					 "SELECT c.id FROM claimed c",
					 4, types);
			args[0] = Int8Array(user_ids, nkeys);
			args[1] = UuidArray(uuids, nkeys);
			args[2] = Int8Array(ids, nkeys);
			args[3] = TimestampTzGetDatum(recorded_at);
			rc = SPI_execute_plan(claim_many_plan, args, NULL, false, 0);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "insert into " UA_SCHEMA ".event_keys failed: %s",
					 SPI_result_code_string(rc));
			for (uint64 r = 0; r < SPI_processed; r++)
				claimed[ItemOfRow(r, idrefs, nkeys, "claimed event key")] = true;
		}

		/* the events without a key and those whose key is now theirs */
		k = 0;
		for (int i = 0; i < n; i++)
		{
			BatchItem  *it = &items[i];

			if (it->status != ITEM_PENDING || (it->ev.has_event_id && !claimed[i]))
				continue;
			EventColumns(it, k, ids, user_ids, actions, times, metas);
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
			UaKeepPlan(&insert_claimed_plan,
					 "INSERT INTO " UA_EVENTS_QUALIFIED " "
					 "(id, user_id, action, event_action_timestamp, recorded_at, metadata, event_id) "
					 "SELECT u.id, u.user_id, u.action::" UA_SCHEMA ".action, u.t, $7, u.m, u.e "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), "
					 "pg_catalog.unnest($3), pg_catalog.unnest($4), pg_catalog.unnest($5), "
					 "pg_catalog.unnest($6)) AS u(id, user_id, action, t, m, e)",
					 7, types);
			EventArrays(args, k, ids, user_ids, actions, times, metas);
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
 * UaStoreBatch stores the pending items of a batch (claim: 1.4's way, see
 * InsertBatchClaiming) and marks each stored or duplicate; an item that
 * repeats the key of an earlier one of the batch reports that one's event.
 */
void
UaStoreBatch(BatchItem *items, int n, bool claim)
{
	int			npending = 0;

	MarkBatchDuplicates(items, n);
	for (int i = 0; i < n; i++)
		if (items[i].status == ITEM_PENDING)
			npending++;
	if (npending > 0 && claim)
		InsertBatchClaiming(items, n, npending);
	else if (npending > 0)
		InsertBatch(items, n, npending);

	for (int i = 0; i < n; i++)
	{
		BatchItem  *it = &items[i];

		if (it->status == ITEM_DUPLICATE && it->first >= 0)
		{
			it->id = items[it->first].id;
			it->recorded_at = items[it->first].recorded_at;
			it->ev = items[it->first].ev;
		}
	}
}

/* Refuses a batch of more items than user_activity.max_batch_size. */
void
UaCheckBatchSize(int n)
{
	if (n > ua_max_batch_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many events in one batch"),
				 errdetail("The batch has %d events; the limit is %d (user_activity.max_batch_size).",
						   n, ua_max_batch_size),
				 errhint("Split the batch.")));
}
