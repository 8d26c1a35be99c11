/*-------------------------------------------------------------------------
 *
 * activity.c
 *	  activity(): a user's events per action and in total in each bucket of
 *	  a range, empty buckets as zeros.
 *
 * The rules of a range (its checks and the buckets it spans) are written
 * once, in SQL: activity_range() and activity_series()
 * (extension/sql/parts/55_activity.sql), which active_users() uses too.
 * What this file adds is the cost of a call: it runs the query an analyst
 * would write by hand, one GROUP BY date_trunc over the user's index range
 * in every partition, and puts its groups into the buckets itself, so that
 * a call costs that query and little more.  A PL/pgSQL function doing the
 * same through a join with the buckets, sorted, cost 1.4 to 1.5 times the
 * query at p50 on 10 M events (docs/benchmarks.md).
 *
 * Each statement is prepared once per session, with a generic plan: a
 * custom plan was made anew for every call, over every partition (by
 * recorded time, the partitions outside the range are left out when the
 * generic plan runs).  Citus plans a query of a distributed table itself and
 * refuses a generic plan of this one (0A000), so with Citus installed that
 * query is planned for each call.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "user_activity.h"

PG_FUNCTION_INFO_V1(user_activity_activity);

/* the counts of one bucket, in the order of the function's columns */
#define ACTIVITY_COUNTS 5

static const char *const range_sql =
"SELECT r.first_start, r.last_start, r.range_end "
"FROM user_activity.activity_range($1, $2, $3, $4) r";

static const char *const series_sql =
"SELECT s.bucket_start FROM user_activity.activity_series($1, $2, $3, $4) s "
"ORDER BY 1";

/* by the time users acted, and by recorded time */
#define COUNTS_SQL(column) \
"SELECT pg_catalog.date_trunc($2, e." column ", $3), " \
"pg_catalog.count(*) FILTER (WHERE e.action = 'created'), " \
"pg_catalog.count(*) FILTER (WHERE e.action = 'updated'), " \
"pg_catalog.count(*) FILTER (WHERE e.action = 'deleted'), " \
"pg_catalog.count(*) FILTER (WHERE e.action = 'viewed'), " \
"pg_catalog.count(*) " \
"FROM user_activity.events e " \
"WHERE e.user_id = $1 AND e." column " >= $4 AND e." column " < $5 " \
"GROUP BY 1"

static const char *const counts_sql[2] = {
	COUNTS_SQL("event_action_timestamp"),
	COUNTS_SQL("recorded_at")
};

static SPIPlanPtr range_plan;
static SPIPlanPtr series_plan;
static SPIPlanPtr counts_plan[2];

/* from or first_start, to or last_start, bucket, tz */
static const Oid range_types[4] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID};
static const Oid counts_types[5] = {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID};

/*
 * A statement kept for the session with a generic plan.  A custom plan
 * would be made for every call, its cost being lower on paper: over every
 * partition for the events, and with activity_series() inlined, its body
 * parsed again, for the buckets.
 */
static SPIPlanPtr
KeepGeneric(SPIPlanPtr *slot, const char *sql, int nargs, const Oid *types)
{
	return UaKeepPlanWith(slot, sql, nargs, (Oid *) types,
						  CURSOR_OPT_GENERIC_PLAN);
}

/* Whether Citus is installed in this database: its catalog is there. */
static bool
CitusInstalled(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition",
										PG_CATALOG_NAMESPACE));
}

static void
Run(SPIPlanPtr plan, Datum *values, const char *nulls)
{
	int			rc = SPI_execute_plan(plan, values, nulls, true, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "activity: SPI_execute_plan returned %s",
			 SPI_result_code_string(rc));
}

/* The bucket that starts at t, by bisection of the sorted starts; -1 if none. */
static int
BucketOf(const TimestampTz *starts, int n, TimestampTz t)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (starts[mid] == t)
			return mid;
		if (starts[mid] < t)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * user_activity_activity is activity(user_id, from, to, bucket, by, tz):
 * the parameters are checked here (user_id, by) and by activity_range()
 * (the rest), in that order, each error naming its parameter.
 */
Datum
user_activity_activity(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		user_id;
	const char *by;
	bool		recorded;
	Datum		args[5];
	char		nulls[5];
	TimestampTz first_start;
	TimestampTz last_start;
	TimestampTz range_end;
	bool		isnull;
	TimestampTz *starts;
	int64	   *counts;
	int			nbuckets;
	uint64		i;
	int			k;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("missing parameter \"user_id\""),
				 errdetail("Parameter \"user_id\" is required."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "user_id")));
	user_id = PG_GETARG_INT64(0);
	if (user_id < 1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("user_id out of range: " INT64_FORMAT, user_id),
				 errdetail("Parameter \"user_id\" must be between 1 and 9223372036854775807."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "user_id")));
	by = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (by == NULL || (strcmp(by, "acted") != 0 && strcmp(by, "recorded") != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid by \"%s\"", by ? by : "<NULL>"),
				 errdetail("Parameter \"by\" must be acted (event_action_timestamp) or recorded (recorded_at)."),
				 err_generic_string(PG_DIAG_COLUMN_NAME, "by")));
	recorded = strcmp(by, "recorded") == 0;

	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "activity: SPI_connect failed");

	/* from, to, bucket, tz: checked, and the first and last bucket */
	args[0] = PG_GETARG_DATUM(1);
	args[1] = PG_GETARG_DATUM(2);
	args[2] = PG_GETARG_DATUM(3);
	args[3] = PG_GETARG_DATUM(5);
	for (k = 0; k < 4; k++)
		nulls[k] = PG_ARGISNULL(k == 3 ? 5 : k + 1) ? 'n' : ' ';
	Run(KeepGeneric(&range_plan, range_sql, 4, range_types), args, nulls);
	first_start = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1,
													&isnull));
	if (isnull)
	{
		/* an empty range: no bucket */
		SPI_finish();
		return (Datum) 0;
	}
	last_start = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2,
												   &isnull));
	range_end = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 3,
												  &isnull));

	/* the buckets, in order */
	args[0] = TimestampTzGetDatum(first_start);
	args[1] = TimestampTzGetDatum(last_start);
	memset(nulls, ' ', sizeof(nulls));
	Run(KeepGeneric(&series_plan, series_sql, 4, range_types), args, nulls);
	nbuckets = (int) SPI_processed;
	starts = SPI_palloc(sizeof(TimestampTz) * Max(nbuckets, 1));
	counts = SPI_palloc(sizeof(int64) * ACTIVITY_COUNTS * Max(nbuckets, 1));
	memset(counts, 0, sizeof(int64) * ACTIVITY_COUNTS * Max(nbuckets, 1));
	for (k = 0; k < nbuckets; k++)
		starts[k] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[k],
													  SPI_tuptable->tupdesc,
													  1, &isnull));

	/* the user's events in [first_start, range_end), grouped by bucket */
	args[0] = Int64GetDatum(user_id);
	args[1] = PG_GETARG_DATUM(3);
	args[2] = PG_GETARG_DATUM(5);
	args[3] = TimestampTzGetDatum(first_start);
	args[4] = TimestampTzGetDatum(range_end);
	if (CitusInstalled())
	{
		int			rc = SPI_execute_with_args(counts_sql[recorded], 5,
											   (Oid *) counts_types, args,
											   nulls, true, 0);

		if (rc != SPI_OK_SELECT)
			elog(ERROR, "activity: SPI_execute_with_args returned %s",
				 SPI_result_code_string(rc));
	}
	else
		Run(KeepGeneric(&counts_plan[recorded], counts_sql[recorded], 5,
							counts_types),
			args, nulls);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			b;

		b = BucketOf(starts, nbuckets,
					 DatumGetTimestampTz(SPI_getbinval(row, desc, 1, &isnull)));
		if (b < 0)
			continue;
		for (k = 0; k < ACTIVITY_COUNTS; k++)
			counts[b * ACTIVITY_COUNTS + k] =
				DatumGetInt64(SPI_getbinval(row, desc, k + 2, &isnull));
	}

	for (k = 0; k < nbuckets; k++)
	{
		Datum		values[1 + ACTIVITY_COUNTS];
		bool		rownulls[1 + ACTIVITY_COUNTS] = {0};
		int			c;

		values[0] = TimestampTzGetDatum(starts[k]);
		for (c = 0; c < ACTIVITY_COUNTS; c++)
			values[1 + c] = Int64GetDatum(counts[k * ACTIVITY_COUNTS + c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values,
							 rownulls);
	}
	SPI_finish();
	return (Datum) 0;
}
