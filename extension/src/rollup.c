/*-------------------------------------------------------------------------
 *
 * rollup.c
 *	  The half hour of an event, for the rollup of activity.
 *
 * count_activity() (extension/sql/parts/50_counting.sql) rolls every new
 * event up into a mask of the 48 half hours of its UTC day
 * (user_day_activity, extension/sql/parts/55_activity.sql).  Working out
 * the bit in SQL takes about ten function calls per event; here it is a
 * division of the timestamp, which matters when a run counts millions of
 * events.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "utils/timestamp.h"

#include "user_activity.h"

PG_FUNCTION_INFO_V1(user_activity_half_hour_bit);

/*
 * user_activity_half_hour_bit returns the bit of the half hour of its UTC
 * day in which a time lies: bit k for the k-th half hour (k = 0 .. 47).
 * PostgreSQL counts time from midnight UTC, so half hours of UTC days are
 * whole multiples of 30 minutes of that count; times before it are rounded
 * down, not towards zero.
 */
Datum
user_activity_half_hour_bit(PG_FUNCTION_ARGS)
{
	TimestampTz t = PG_GETARG_TIMESTAMPTZ(0);
	int64		half_hour = USECS_PER_SEC * SECS_PER_MINUTE * 30;
	int64		k;

	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("An event's time must be finite to be rolled up by its half hour.")));

	k = t / half_hour;
	if (t % half_hour < 0)
		k--;
	k %= 48;
	if (k < 0)
		k += 48;
	PG_RETURN_INT64(INT64CONST(1) << k);
}
