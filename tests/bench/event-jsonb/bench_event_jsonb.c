/*-------------------------------------------------------------------------
 *
 * bench_event_jsonb.c
 *	  Micro-benchmark of the event's jsonb, record_event()'s result: the
 *	  extension's UaEventJsonb() against an alternative way to build the
 *	  same value, here with pushJsonbValue() and JsonbValueToJsonb().
 *
 * The module compiles the extension's event_text.c and event_jsonb.c into
 * itself, so it measures their code as built, without the extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"
#include "utils/memutils.h"

#include "../../../extension/src/event_text.c"
#include "../../../extension/src/event_jsonb.c"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bench_event_jsonb);
PG_FUNCTION_INFO_V1(bench_event_jsonb_same);

/*
 * AltEventJsonb builds the event object with pushJsonbValue(), the general
 * way: the alternative to UaEventJsonb().
 */
static Jsonb *
AltEventJsonb(int64 id, int64 user_id, const char *action,
			  TimestampTz action_time, Jsonb *metadata,
			  const pg_uuid_t *event_id, TimestampTz recorded_at,
			  const char *status)
{
	JsonbParseState *st = NULL;
	JsonbValue	meta;

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	UaPushKey(&st, "id");
	UaPushInt64(&st, id);
	UaPushKey(&st, "user_id");
	UaPushInt64(&st, user_id);
	UaPushKey(&st, "event_action_timestamp");
	UaPushTimestamp(&st, action_time);
	UaPushKey(&st, "action");
	UaPushString(&st, action);
	UaPushKey(&st, "metadata");
	meta.type = jbvBinary;
	meta.val.binary.data = &metadata->root;
	meta.val.binary.len = VARSIZE(metadata) - VARHDRSZ;
	pushJsonbValue(&st, WJB_VALUE, &meta);
	UaPushKey(&st, "event_id");
	if (event_id)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		UaAppendUuid(&buf, event_id);
		UaPushString(&st, buf.data);
	}
	else
		UaPushString(&st, NULL);
	UaPushKey(&st, "recorded_at");
	UaPushTimestamp(&st, recorded_at);
	if (status)
	{
		UaPushKey(&st, "status");
		UaPushString(&st, status);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/*
 * bench_event_jsonb_same(metadata jsonb) says whether UaEventJsonb() and
 * the alternative build the same bytes, with and without event_id and
 * status: the benchmark compares two ways to one result.
 */
Datum
bench_event_jsonb_same(PG_FUNCTION_ARGS)
{
	Jsonb	   *metadata = PG_GETARG_JSONB_P(0);
	pg_uuid_t	uuid;

	for (int i = 0; i < UUID_LEN; i++)
		uuid.data[i] = (unsigned char) (i * 37 + 11);
	for (int i = 0; i < 4; i++)
	{
		const pg_uuid_t *eid = (i & 1) ? &uuid : NULL;
		const char *status = (i & 2) ? "stored" : NULL;
		Jsonb	   *a = UaEventJsonb(12345, 42, "viewed", 813000000000000,
									 metadata, eid, 813000000123456, status);
		Jsonb	   *b = AltEventJsonb(12345, 42, "viewed", 813000000000000,
									  metadata, eid, 813000000123456, status);

		if (VARSIZE(a) != VARSIZE(b) || memcmp(a, b, VARSIZE(a)) != 0)
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

/*
 * bench_event_jsonb(metadata jsonb, n int, alternative bool) builds n
 * events with the given metadata, with UaEventJsonb() or the alternative,
 * and returns the nanoseconds of
 * CPU time one took (the backend's, which others' load on the machine
 * changes less than the wall clock).  Half have an event_id; every result
 * is freed before the next.
 */
Datum
bench_event_jsonb(PG_FUNCTION_ARGS)
{
	Jsonb	   *metadata = PG_GETARG_JSONB_P(0);
	int32		n = PG_GETARG_INT32(1);
	bool		alternative = PG_GETARG_BOOL(2);
	MemoryContext cxt;
	MemoryContext old;
	pg_uuid_t	uuid;
	struct timespec start;
	struct timespec end;

	for (int i = 0; i < UUID_LEN; i++)
		uuid.data[i] = (unsigned char) (i * 37 + 11);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "bench_event_jsonb",
								ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(cxt);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
	for (int32 i = 0; i < n; i++)
	{
		int64		id = INT64CONST(1000000) + i;
		TimestampTz ts = INT64CONST(813000000000000) + i * INT64CONST(1000);

		if (alternative)
			(void) AltEventJsonb(id, 1 + i % 10000, "viewed", ts, metadata,
								 (i & 1) ? &uuid : NULL, ts + 123456,
								 "stored");
		else
			(void) UaEventJsonb(id, 1 + i % 10000, "viewed", ts, metadata,
								(i & 1) ? &uuid : NULL, ts + 123456,
								"stored");
		MemoryContextReset(cxt);
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &end);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	PG_RETURN_FLOAT8(((end.tv_sec - start.tv_sec) * 1e9 +
					  (end.tv_nsec - start.tv_nsec)) / Max(n, 1));
}
