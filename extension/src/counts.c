/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Settings of the counting job.
 *
 * The counting itself is PL/pgSQL in the install script (30_counts.sql);
 * this file defines how long its history is kept and exposes that setting
 * to the script as an interval.  Calling the function also loads the
 * library, so the setting is known (and checked) in a session that has not
 * used the extension's C code yet, such as a pg_cron job's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "datatype/timestamp.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "user_activity.h"

/* user_activity.counting_history_keep, in seconds */
static int	ua_counting_history_keep = 7 * SECS_PER_DAY;

PG_FUNCTION_INFO_V1(ua_counting_history_keep_interval);

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
 * ua_counting_history_keep_interval returns user_activity.counting_history_keep
 * as an interval, because the purge in count_activity() compares it with
 * timestamps.
 */
Datum
ua_counting_history_keep_interval(PG_FUNCTION_ARGS)
{
	Interval   *result = (Interval *) palloc0(sizeof(Interval));

	result->time = (int64) ua_counting_history_keep * USECS_PER_SEC;
	PG_RETURN_INTERVAL_P(result);
}
