/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Settings of the counting job.
 *
 * The counting itself is PL/pgSQL in the install script
 * (extension/sql/parts/50_counting.sql).  This file holds what it needs from
 * C: the wait for in-flight writers of user_activity.events, and how long
 * the run history is kept.  Calling either function also loads the library,
 * so the setting is known (and checked) in a session that has not used the
 * extension's C code yet, such as a pg_cron job's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "catalog/namespace.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "user_activity.h"

/* user_activity.counting_history_keep, in seconds */
static int	ua_counting_history_keep = 7 * SECS_PER_DAY;

PG_FUNCTION_INFO_V1(user_activity_counting_history_keep);
PG_FUNCTION_INFO_V1(user_activity_counting_wait_for_writers);
/* the names of 1.0 to 1.3, which their scripts still name */
PG_FUNCTION_INFO_V1(ua_counting_history_keep_interval);
PG_FUNCTION_INFO_V1(ua_counting_wait_for_writers);

void
UaDefineCountGucs(void)
{
	DefineCustomIntVariable("user_activity.counting_history_keep",
							"How long the history of counting runs is kept.",
							"Older rows of user_activity.counting_runs and of "
							"cron.job_run_details for the counting job are "
							"deleted at the end of each count.",
							&ua_counting_history_keep,
							7 * SECS_PER_DAY,
							60,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

/*
 * user_activity_counting_history_keep returns
 * user_activity.counting_history_keep as an interval, because the purge in
 * count_activity() compares it with timestamps.
 */
Datum
user_activity_counting_history_keep(PG_FUNCTION_ARGS)
{
	Interval   *result = (Interval *) palloc0(sizeof(Interval));

	result->time = (int64) ua_counting_history_keep * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}

/*
 * user_activity_counting_wait_for_writers waits until every transaction that holds a
 * lock on user_activity.events conflicting with SHARE (that is, every
 * transaction that has inserted, updated or deleted events, or is doing so)
 * at the time of the call has ended.
 *
 * count_activity() reads the window end from the event id sequence first,
 * then calls this.  Writers take their lock before their id, so every
 * transaction that may still commit an id up to the window end is waited
 * for, and the count that follows sees all of them.  Unlike LOCK TABLE,
 * this takes no lock on the table itself (as CREATE INDEX CONCURRENTLY
 * does), so writers that arrive meanwhile go on unhindered; their ids are
 * above the window and belong to the next run.
 */
Datum
user_activity_counting_wait_for_writers(PG_FUNCTION_ARGS)
{
	Oid			relid;
	LOCKTAG		tag;

	relid = RangeVarGetRelid(makeRangeVar(UA_SCHEMA, UA_EVENTS_TABLE, -1),
							 AccessShareLock, false);
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	WaitForLockers(tag, ShareLock, false);

	PG_RETURN_VOID();
}

Datum
ua_counting_history_keep_interval(PG_FUNCTION_ARGS)
{
	return user_activity_counting_history_keep(fcinfo);
}

Datum
ua_counting_wait_for_writers(PG_FUNCTION_ARGS)
{
	return user_activity_counting_wait_for_writers(fcinfo);
}
