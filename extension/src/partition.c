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
 * - UaEnsureEventPartition(), which ingest calls before it inserts, so that
 *   an event never fails for want of a partition: the bounds of the
 *   partition that holds the current transaction's time are cached per
 *   backend and forgotten whenever the relcache entry of the table is
 *   invalidated (a partition attached, detached or dropped), and only on a
 *   miss is user_activity.ensure_partition() called, which creates the
 *   partition when it is missing;
 * - the trigger that claims an event's (user_id, event_id) in
 *   user_activity.event_keys: a unique index on the partitioned table cannot
 *   enforce that key, because it does not include the partition key.
 *
 * With version 1.0 (an unpartitioned table) the ensure step does nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "user_activity.h"

/* user_activity.partition_interval, in seconds */
static int	ua_partition_interval = SECS_PER_DAY;

/* user_activity.partitions_ahead */
static int	ua_partitions_ahead = 7;

/* set by ingest while its INSERT runs: a taken key skips the row */
bool		ua_ingest_skips_duplicates = false;

/* the partition known to hold [cached_from, cached_to), per backend */
static bool cache_valid = false;
static bool callback_registered = false;
static Oid	cached_relid = InvalidOid;
static TimestampTz cached_from;
static TimestampTz cached_to;

static SPIPlanPtr ensure_plan = NULL;
static SPIPlanPtr key_plan = NULL;

PG_FUNCTION_INFO_V1(ua_partition_interval_value);
PG_FUNCTION_INFO_V1(ua_partitions_ahead_value);
PG_FUNCTION_INFO_V1(ua_event_key_trigger);

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
 * ua_partition_interval_value returns user_activity.partition_interval as an
 * interval (of seconds, so that date_bin() accepts it).
 */
Datum
ua_partition_interval_value(PG_FUNCTION_ARGS)
{
	Interval   *result = (Interval *) palloc0(sizeof(Interval));

	result->time = (int64) ua_partition_interval * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}

Datum
ua_partitions_ahead_value(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ua_partitions_ahead);
}

static void
ForgetPartition(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cached_relid)
		cache_valid = false;
}

/*
 * UaEnsureEventPartition makes sure that a partition of user_activity.events
 * holds recorded_at, creating it if needed.  It takes the INSERT's lock on
 * the table first, so no partition can be detached or dropped between the
 * check and the insert.
 */
void
UaEnsureEventPartition(TimestampTz recorded_at)
{
	Oid			relid;
	Datum		arg;
	int			rc;
	bool		isnull;

	relid = RangeVarGetRelid(makeRangeVar("user_activity", "events", -1),
							 RowExclusiveLock, false);
	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(ForgetPartition, (Datum) 0);
		callback_registered = true;
	}
	if (cache_valid && cached_relid == relid &&
		recorded_at >= cached_from && recorded_at < cached_to)
		return;

	cache_valid = false;
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
	cached_from = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
	cached_to = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 2, &isnull));
	SPI_finish();

	/*
	 * A partition created just now invalidated the table's relcache entry;
	 * that message is processed before the next check, which then calls the
	 * function once more and caches for good.
	 */
	cached_relid = relid;
	cache_valid = true;
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
	TriggerData *td = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	Datum		values[4];
	bool		isnull[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	int			rc;
	uint64		inserted;
	static const char *const cols[4] = {"user_id", "event_id", "id", "recorded_at"};

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ua_event_key_trigger must be a BEFORE INSERT FOR EACH ROW trigger")));

	tup = td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	for (int i = 0; i < 4; i++)
	{
		values[i] = SPI_getbinval(tup, desc, AttnumOf(desc, cols[i]), &isnull[i]);
		if (isnull[i])
			nulls[i] = 'n';
	}
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
