/*-------------------------------------------------------------------------
 *
 * partition_settings.c
 *	  The settings of the time partitions of user_activity.events.
 *
 * user_activity.partition_interval is the span of a new partition, and
 * user_activity.partitions_ahead how many maintain_partitions() keeps ready
 * after the current one.  The partition functions of the SQL scripts read
 * them through user_activity_partition_interval() and
 * user_activity_partitions_ahead(), which 1.1 to 1.3 bind under their old
 * names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "user_activity.h"

/* user_activity.partition_interval, in seconds */
static int	ua_partition_interval = SECS_PER_DAY;

/* user_activity.partitions_ahead */
static int	ua_partitions_ahead = 7;

PG_FUNCTION_INFO_V1(user_activity_partition_interval);
PG_FUNCTION_INFO_V1(user_activity_partitions_ahead);
/* the names of 1.1 to 1.3, which their scripts still name */
PG_FUNCTION_INFO_V1(ua_partition_interval_value);
PG_FUNCTION_INFO_V1(ua_partitions_ahead_value);

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
