/*-------------------------------------------------------------------------
 *
 * events_target.c
 *	  Where ingest inserts: user_activity.events, its id sequence and the
 *	  partition that holds the transaction's time, cached per backend.
 *
 * UaLockEvents(), which ingest calls before it inserts, makes sure that an
 * event never fails for want of a partition.  It caches per backend the
 * table, its sequence and the partition that tuple routing picks for the
 * current transaction's time, with that partition's bounds, and forgets
 * them on relcache invalidation; only on a miss does it read the partition
 * descriptor, and call user_activity.ensure_partition() when no partition
 * holds the time.  Ingest then inserts straight into that partition: the
 * row goes where routing would put it, without setting routing up for
 * every single-row statement.
 *
 * With version 1.0 (an unpartitioned table) there is no partition to find
 * and ingest inserts through the table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "user_activity.h"

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
		elog(ERROR, UA_EVENTS_QUALIFIED "_id_seq does not exist");
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
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		arg = TimestampTzGetDatum(recorded_at);
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	UaKeepPlan(&ensure_plan,
			   "SELECT p.partition_from, p.partition_to "
			   "FROM " UA_SCHEMA ".ensure_partition($1) p",
			   1, types);
	rc = SPI_execute_plan(ensure_plan, &arg, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, UA_SCHEMA ".ensure_partition() failed: %s",
			 SPI_result_code_string(rc));
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
