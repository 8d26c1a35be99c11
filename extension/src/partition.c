/*-------------------------------------------------------------------------
 *
 * partition.c
 *	  Time partitions of user_activity.events and the event key table.
 *
 * From version 1.1 user_activity.events is partitioned by RANGE
 * (recorded_at).  This file holds what the partition maintenance and ingest
 * need from C:
 *
 * - the settings user_activity.partition_interval and
 *   user_activity.partitions_ahead;
 * - UaLockEvents(), which ingest calls before it inserts, so that an event
 *   never fails for want of a partition: it caches per backend the table,
 *   its sequence and the partition that tuple routing picks for the current
 *   transaction's time, with that partition's bounds, and forgets them on
 *   relcache invalidation; only on a miss does it read the partition
 *   descriptor, and call user_activity.ensure_partition() when no partition
 *   holds the time.  Ingest then inserts straight into that partition: the
 *   row goes where routing would put it, without setting routing up for
 *   every single-row statement;
 * - the trigger that claims an event's (user_id, event_id) in
 *   user_activity.event_keys: a unique index on the partitioned table cannot
 *   enforce that key, because it does not include the partition key.  From
 *   version 1.4 ingest claims the key itself before it inserts, and the
 *   trigger (user_activity_claim_event_key) accepts a key claimed for the
 *   very row it sees; versions 1.1 to 1.3 bind ua_event_key_trigger, which skips
 *   a taken key while ua_ingest_skips_duplicates is set.  That flag lives in
 *   the backend that runs ingest, so it cannot reach a trigger that runs
 *   elsewhere (on a Citus worker); the 1.4 trigger reads nothing but the
 *   row and the key table.
 *
 * With version 1.0 (an unpartitioned table) the ensure step does nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "user_activity.h"

/* user_activity.partition_interval, in seconds */
static int	ua_partition_interval = SECS_PER_DAY;

/* user_activity.partitions_ahead */
static int	ua_partitions_ahead = 7;

/* set by ingest while its INSERT runs: a taken key skips the row */
bool		ua_ingest_skips_duplicates = false;

/*
 * What ingest knows of user_activity.events, per backend, so that a call
 * resolves no name and reads no catalog while nothing changed: the table,
 * its id sequence, and the partition that tuple routing picks for the
 * current time.  A relcache invalidation of the table (a partition
 * attached, detached, created or dropped), of the sequence or of the
 * partition (renamed, dropped, or merely its statistics updated), and any
 * change of a schema, makes it forget.
 */
static bool callback_registered = false;
static bool events_known = false;
static Oid	events_relid = InvalidOid;
static Oid	events_seqid = InvalidOid;
static bool events_partitioned = false;
static bool partition_known = false;
static Oid	partition_relid = InvalidOid;
static char *partition_name = NULL; /* quoted, in TopMemoryContext */
static TimestampTz partition_from;
static TimestampTz partition_to;
static uint64 partition_generation = 0;

static SPIPlanPtr ensure_plan = NULL;
static SPIPlanPtr key_plan = NULL;
static SPIPlanPtr key_probe_plan = NULL;
static SPIPlanPtr key_claim_plan = NULL;

PG_FUNCTION_INFO_V1(user_activity_partition_interval);
PG_FUNCTION_INFO_V1(user_activity_partitions_ahead);
/* the names of 1.1 to 1.3, which their scripts still name */
PG_FUNCTION_INFO_V1(ua_partition_interval_value);
PG_FUNCTION_INFO_V1(ua_partitions_ahead_value);
PG_FUNCTION_INFO_V1(ua_event_key_trigger);
PG_FUNCTION_INFO_V1(user_activity_claim_event_key);

void
UaDefinePartitionGucs(void)
{
	DefineCustomIntVariable("user_activity.partition_interval",
							"Time span of one partition of user_activity.events.",
							"New partitions cover this span, aligned to "
							"2000-01-01 00:00 UTC; existing partitions keep "
							"their bounds.",
							&ua_partition_interval,
							SECS_PER_DAY,
							SECS_PER_HOUR,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("user_activity.partitions_ahead",
							"How many partitions maintain_partitions() keeps ready after the current one.",
							NULL,
							&ua_partitions_ahead,
							7, 1, 1000,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);
}

/*
 * user_activity_partition_interval returns user_activity.partition_interval
 * as an interval (of seconds, so that date_bin() accepts it).
 */
Datum
user_activity_partition_interval(PG_FUNCTION_ARGS)
{
	Interval   *result = (Interval *) palloc0(sizeof(Interval));

	result->time = (int64) ua_partition_interval * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}

Datum
user_activity_partitions_ahead(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ua_partitions_ahead);
}

Datum
ua_partition_interval_value(PG_FUNCTION_ARGS)
{
	return user_activity_partition_interval(fcinfo);
}

Datum
ua_partitions_ahead_value(PG_FUNCTION_ARGS)
{
	return user_activity_partitions_ahead(fcinfo);
}

static void
ForgetEventsRelation(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == events_relid || relid == events_seqid)
	{
		events_known = false;
		partition_known = false;
	}
	else if (relid == partition_relid)
		partition_known = false;
}

/* A schema renamed or dropped may take the names ingest resolved with it. */
static void
ForgetEventsNames(Datum arg, int cacheid, uint32 hashvalue)
{
	events_known = false;
	partition_known = false;
}

/*
 * LookUpEvents resolves user_activity.events and its sequence by name and
 * locks the table.
 */
static void
LookUpEvents(void)
{
	Oid			relid;

	relid = RangeVarGetRelid(makeRangeVar(UA_SCHEMA, UA_EVENTS_TABLE, -1),
							 RowExclusiveLock, false);
	events_seqid = get_relname_relid("events_id_seq", get_rel_namespace(relid));
	if (!OidIsValid(events_seqid))
		elog(ERROR, "user_activity.events_id_seq does not exist");
	events_partitioned = get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE;
	events_relid = relid;
	events_known = true;
	partition_known = false;
}

/*
 * FindPartition finds the partition that tuple routing picks for
 * recorded_at, as ExecFindPartition does (partitions being detached left
 * out), and its bounds.  False when no range partition holds it (the row
 * would go to the default partition, if any) or when the partition key is
 * not the one this code knows.
 */
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 170000
#error "FindPartition reads PartitionBoundInfoData and calls partition_range_datum_bsearch as PostgreSQL 15 and 16 have them; check them against this version"
#endif

static bool
FindPartition(TimestampTz recorded_at, Oid *partid,
			  TimestampTz *from, TimestampTz *to)
{
	Relation	rel = relation_open(events_relid, NoLock);
	PartitionKey key = RelationGetPartitionKey(rel);
	PartitionDesc pd = RelationGetPartitionDesc(rel, true);
	PartitionBoundInfo bi = pd->boundinfo;
	bool		found = false;

	if (key->strategy == PARTITION_STRATEGY_RANGE && key->partnatts == 1 &&
		get_partition_col_typid(key, 0) == TIMESTAMPTZOID && bi != NULL &&
		bi->ndatums > 0)
	{
		Datum		value = TimestampTzGetDatum(recorded_at);
		bool		equal;
		int			off;
		int			index;

		off = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
											bi, 1, &value, &equal);
		index = bi->indexes[off + 1];
		if (index >= 0 && off >= 0)
		{
			*partid = pd->oids[index];
			*from = bi->kind[off][0] == PARTITION_RANGE_DATUM_VALUE ?
				DatumGetTimestampTz(bi->datums[off][0]) : DT_NOBEGIN;
			/* an unbounded end is never cached as holding 'infinity' */
			*to = off + 1 < bi->ndatums &&
				bi->kind[off + 1][0] == PARTITION_RANGE_DATUM_VALUE ?
				DatumGetTimestampTz(bi->datums[off + 1][0]) : DT_NOEND;
			found = true;
		}
	}
	relation_close(rel, NoLock);
	return found;
}

/* CallEnsurePartition runs user_activity.ensure_partition(recorded_at). */
static void
CallEnsurePartition(TimestampTz recorded_at)
{
	Datum		arg;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (ensure_plan == NULL)
	{
		Oid			types[1] = {TIMESTAMPTZOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT p.partition_from, p.partition_to "
						   "FROM user_activity.ensure_partition($1) p",
						   1, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		ensure_plan = plan;
	}
	arg = TimestampTzGetDatum(recorded_at);
	rc = SPI_execute_plan(ensure_plan, &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "user_activity.ensure_partition() failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/*
 * RememberPartition caches the partition's bounds and its qualified name,
 * which a new generation announces when it changed: plans that name the
 * partition are then made again.  A relcache invalidation that left the
 * name alone (statistics updated, say) keeps them.
 */
static void
RememberPartition(Oid partid, TimestampTz from, TimestampTz to)
{
	char	   *relname = get_rel_name(partid);
	char	   *nspname = relname ? get_namespace_name(get_rel_namespace(partid)) : NULL;
	char	   *name;

	if (relname == NULL || nspname == NULL)
		elog(ERROR, "cache lookup failed for partition %u", partid);
	name = quote_qualified_identifier(nspname, relname);
	if (partid != partition_relid || partition_name == NULL ||
		strcmp(name, partition_name) != 0)
	{
		if (partition_name)
			pfree(partition_name);
		partition_name = MemoryContextStrdup(TopMemoryContext, name);
		partition_generation++;
	}
	partition_relid = partid;
	partition_from = from;
	partition_to = to;
	partition_known = true;
}

/*
 * UaLockEvents takes the INSERT's lock on user_activity.events, makes sure
 * that a partition holds recorded_at (creating it if needed), so that an
 * event never fails for want of one, and tells ingest where to insert.
 *
 * Holding the table's lock, no partition can be detached (but concurrently)
 * or dropped until the insert is done.  Locking processes the invalidation
 * messages that arrived meanwhile, so the cache is checked after it: on a
 * hit nothing else is read.  The partition is locked too before it is
 * returned, so that it cannot be renamed under a plan that names it.
 *
 * With version 1.0 (an unpartitioned table) target->partition is invalid.
 * It is invalid as well when no range partition holds recorded_at even
 * after ensure_partition(): the insert then goes through the table and
 * tuple routing decides.
 */
void
UaLockEvents(TimestampTz recorded_at, UaEventsTarget *target)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(ForgetEventsRelation, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, ForgetEventsNames, (Datum) 0);
		callback_registered = true;
	}

	if (events_known)
		LockRelationOid(events_relid, RowExclusiveLock);
	if (!events_known)			/* unknown, or forgotten while locking */
		LookUpEvents();

	target->events = events_relid;
	target->seq = events_seqid;
	target->partition = InvalidOid;
	if (!events_partitioned)
		return;

	for (int attempt = 0; attempt < 3; attempt++)
	{
		Oid			partid;
		TimestampTz from,
					to;

		if (partition_known &&
			recorded_at >= partition_from && recorded_at < partition_to)
		{
			/* the partition's lock is taken once per transaction */
			LockRelationOid(partition_relid, RowExclusiveLock);
			if (partition_known)
			{
				target->partition = partition_relid;
				target->partition_name = partition_name;
				target->generation = partition_generation;
				return;
			}
			continue;
		}

		partition_known = false;
		if (!FindPartition(recorded_at, &partid, &from, &to))
		{
			CallEnsurePartition(recorded_at);
			/* see the partition it may have attached */
			CommandCounterIncrement();
			if (!FindPartition(recorded_at, &partid, &from, &to))
				return;
		}
		RememberPartition(partid, from, to);
		/* and round again: locking it may make it forgotten */
	}
	/* invalidated at every look: let tuple routing find it */
}

static int
AttnumOf(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "user_activity.events has no column \"%s\"", name);
	return attnum;
}

/*
 * KeyTriggerRow checks that the key trigger fires as it must (BEFORE INSERT
 * FOR EACH ROW; "name" is its C function, for the error) and reads the new
 * row's user_id, event_id, id and recorded_at into values, isnull and SPI's
 * nulls.  Both versions of the trigger start so.
 */
static HeapTuple
KeyTriggerRow(FunctionCallInfo fcinfo, const char *name,
			  Datum *values, bool *isnull, char *nulls)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	static const char *const cols[4] = {"user_id", "event_id", "id", "recorded_at"};
	TupleDesc	desc;
	HeapTuple	tup;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be a BEFORE INSERT FOR EACH ROW trigger", name)));

	tup = td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	for (int i = 0; i < 4; i++)
	{
		values[i] = SPI_getbinval(tup, desc, AttnumOf(desc, cols[i]), &isnull[i]);
		nulls[i] = isnull[i] ? 'n' : ' ';
	}
	return tup;
}

/*
 * ua_event_key_trigger, BEFORE INSERT FOR EACH ROW on user_activity.events
 * for rows with an event_id, claims (user_id, event_id) in
 * user_activity.event_keys.  When the key is taken, the row is skipped if
 * ingest is inserting (it reports the event first stored as a duplicate),
 * and otherwise the INSERT fails with unique_violation, as a unique index
 * would make it.  Two writers of the same key at once: the second waits on
 * event_keys' primary key for the first to end.
 */
Datum
ua_event_key_trigger(PG_FUNCTION_ARGS)
{
	HeapTuple	tup;
	Datum		values[4];
	bool		isnull[4];
	char		nulls[4];
	int			rc;
	uint64		inserted;

	tup = KeyTriggerRow(fcinfo, "ua_event_key_trigger", values, isnull, nulls);
	if (isnull[1])
		return PointerGetDatum(tup);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (key_plan == NULL)
	{
		Oid			types[4] = {INT8OID, UUIDOID, INT8OID, TIMESTAMPTZOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("INSERT INTO user_activity.event_keys (user_id, event_id, id, recorded_at) "
						   "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, event_id) DO NOTHING",
						   4, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		key_plan = plan;
	}
	rc = SPI_execute_plan(key_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "insert into user_activity.event_keys failed: %s", SPI_result_code_string(rc));
	inserted = SPI_processed;
	SPI_finish();

	if (inserted == 1)
		return PointerGetDatum(tup);
	if (ua_ingest_skips_duplicates)
		return PointerGetDatum(NULL);
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("duplicate key value violates unique constraint \"event_keys_pkey\""),
			 errdetail("Key (user_id, event_id)=(" INT64_FORMAT ", %s) already exists.",
					   DatumGetInt64(values[0]),
					   DatumGetCString(DirectFunctionCall1(uuid_out, values[1])))));
	return PointerGetDatum(NULL);	/* not reached */
}

/*
 * KeyTaken raises the unique_violation a unique index on (user_id, event_id)
 * would raise.
 */
static void
KeyTaken(Datum user_id, Datum event_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("duplicate key value violates unique constraint \"event_keys_pkey\""),
			 errdetail("Key (user_id, event_id)=(" INT64_FORMAT ", %s) already exists.",
					   DatumGetInt64(user_id),
					   DatumGetCString(DirectFunctionCall1(uuid_out, event_id)))));
}

static SPIPlanPtr
KeptPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types, int options)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, types, options);

		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*slot = plan;
	}
	return *slot;
}

/*
 * user_activity_claim_event_key, BEFORE INSERT FOR EACH ROW on
 * user_activity.events for rows with an event_id (version 1.4), makes (user_id, event_id) behave
 * like a unique key of the table without any state outside the row and
 * user_activity.event_keys, so that it works wherever the row is inserted
 * (on a Citus worker, the shard's trigger runs there).
 *
 * When the key is already in event_keys naming this very row (same id and
 * recorded_at: ingest claimed it just before inserting), the row goes in.
 * When it names another event, the INSERT fails with unique_violation.
 * When it is free, the trigger claims it; a concurrent writer of the same
 * key makes it wait on event_keys' primary key, and fail if that writer
 * commits.  Ingest itself never gets here with a taken key: it claims first
 * and reports a taken key as a duplicate.
 */
Datum
user_activity_claim_event_key(PG_FUNCTION_ARGS)
{
	HeapTuple	tup;
	Datum		values[4];
	bool		isnull[4];
	char		nulls[4];
	Oid			types[4] = {INT8OID, UUIDOID, INT8OID, TIMESTAMPTZOID};
	int			rc;
	bool		taken = false;

	tup = KeyTriggerRow(fcinfo, "user_activity_claim_event_key", values, isnull, nulls);
	if (isnull[1])
		return PointerGetDatum(tup);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Claimed for this row already?  (The function runs with enable_seqscan
	 * off, see the 1.4 script: a plan made while event_keys was small would
	 * otherwise scan it whole, and go on doing so as one long transaction
	 * fills it.)
	 */
	KeptPlan(&key_probe_plan,
			 "SELECT k.id = $3 AND k.recorded_at = $4 "
			 "FROM user_activity.event_keys k "
			 "WHERE k.user_id = $1 AND k.event_id = $2",
			 4, types, 0);
	rc = SPI_execute_plan(key_probe_plan, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lookup in user_activity.event_keys failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		mine_null;
		bool		mine = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1,
													  &mine_null));

		taken = mine_null || !mine;
	}
	else
	{
		KeptPlan(&key_claim_plan,
				 "INSERT INTO user_activity.event_keys (user_id, event_id, id, recorded_at) "
				 "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, event_id) DO NOTHING",
				 4, types, 0);
		rc = SPI_execute_plan(key_claim_plan, values, nulls, false, 0);
		if (rc != SPI_OK_INSERT)
			elog(ERROR, "insert into user_activity.event_keys failed: %s", SPI_result_code_string(rc));
		taken = SPI_processed != 1;
	}
	SPI_finish();

	if (taken)
		KeyTaken(values[0], values[1]);
	return PointerGetDatum(tup);
}
