/*-------------------------------------------------------------------------
 *
 * bench_event_jsonb.c
 *	  Micro-benchmark of the event's jsonb, record_event()'s result: the
 *	  extension's UaEventJsonb(), which pushes the values with
 *	  pushJsonbValue(), against an alternative way to build the same value,
 *	  here jsonb's on-disk format written by hand.
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
 * jsonb's on-disk format as PostgreSQL 15 (tested) and 16 write it (JEntry,
 * JB_OFFSET_STRIDE): a format it may change, which is why the extension no
 * longer writes it itself.
 */
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 170000
#error "AltEventJsonb writes jsonb's on-disk format as PostgreSQL 15 and 16 do; check it against this version"
#endif

/*
 * The alternative: pushJsonbValue() grows its pair array and sorts the
 * keys, and JsonbValueToJsonb() then packs every value.  The shape is fixed,
 * so AltEventJsonb() writes jsonb's format directly (as convertJsonbObject()
 * in PostgreSQL's jsonb_util.c does): the keys in jsonb's order (shorter first, then
 * bytewise), their JEntries, then keys and values, the metadata container
 * copied as it is.  A container is position-independent and was aligned at
 * its start as it is here, so the copy is the container jsonb would build.
 */
#define EV_NKEYS 8
static const char *const ev_keys[EV_NKEYS] = {
	"id", "action", "status", "user_id", "event_id", "metadata",
	"recorded_at", "event_action_timestamp"
};

/* pads buf to int alignment, as padBufferToInt() does; returns the padding */
static int
PadToInt(StringInfo buf)
{
	int			pad = INTALIGN(buf->len) - buf->len;

	for (int i = 0; i < pad; i++)
		appendStringInfoCharMacro(buf, '\0');
	return pad;
}

static JEntry
AppendNumeric(StringInfo buf, int64 n)
{
	Numeric		num = int64_to_numeric(n);
	int			pad = PadToInt(buf);
	int			len = VARSIZE_ANY(num);

	appendBinaryStringInfo(buf, (char *) num, len);
	pfree(num);
	return JENTRY_ISNUMERIC | (pad + len);
}

static JEntry
AppendTimestampString(StringInfo buf, TimestampTz ts)
{
	int			start = buf->len;

	UaAppendTimestamp(buf, ts);
	return JENTRY_ISSTRING | (buf->len - start);
}

/*
 * AltEventJsonb returns the event object with "status" when status is not
 * NULL: the same value as UaEventJsonb().
 */
static Jsonb *
AltEventJsonb(int64 id, int64 user_id, const char *action,
			  TimestampTz action_time, Jsonb *metadata,
			  const pg_uuid_t *event_id, TimestampTz recorded_at,
			  const char *status)
{
	StringInfoData buf;
	JEntry		entries[2 * EV_NKEYS];
	int			keyno[EV_NKEYS];
	int			npairs = 0;
	uint32		header;
	int			jentry_offset;
	uint32		totallen = 0;

	for (int k = 0; k < EV_NKEYS; k++)
		if (k != 2 || status != NULL)
			keyno[npairs++] = k;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	header = npairs | JB_FOBJECT;
	appendBinaryStringInfo(&buf, (char *) &header, sizeof(uint32));
	jentry_offset = buf.len;
	appendStringInfoSpaces(&buf, sizeof(JEntry) * 2 * npairs);

	for (int i = 0; i < npairs; i++)
	{
		const char *key = ev_keys[keyno[i]];
		int			len = strlen(key);

		appendBinaryStringInfo(&buf, key, len);
		entries[i] = JENTRY_ISSTRING | len;
	}
	for (int i = 0; i < npairs; i++)
	{
		JEntry	   *e = &entries[npairs + i];

		switch (keyno[i])
		{
			case 0:				/* id */
				*e = AppendNumeric(&buf, id);
				break;
			case 1:				/* action */
				{
					int			len = strlen(action);

					appendBinaryStringInfo(&buf, action, len);
					*e = JENTRY_ISSTRING | len;
				}
				break;
			case 2:				/* status */
				{
					int			len = strlen(status);

					appendBinaryStringInfo(&buf, status, len);
					*e = JENTRY_ISSTRING | len;
				}
				break;
			case 3:				/* user_id */
				*e = AppendNumeric(&buf, user_id);
				break;
			case 4:				/* event_id */
				if (event_id)
				{
					int			start = buf.len;

					UaAppendUuid(&buf, event_id);
					*e = JENTRY_ISSTRING | (buf.len - start);
				}
				else
					*e = JENTRY_ISNULL;
				break;
			case 5:				/* metadata */
				{
					int			pad = PadToInt(&buf);
					int			len = VARSIZE(metadata) - VARHDRSZ;

					appendBinaryStringInfo(&buf, (char *) &metadata->root, len);
					*e = JENTRY_ISCONTAINER | (pad + len);
				}
				break;
			case 6:				/* recorded_at */
				*e = AppendTimestampString(&buf, recorded_at);
				break;
			case 7:				/* event_action_timestamp */
				*e = AppendTimestampString(&buf, action_time);
				break;
		}
	}

	/*
	 * Every JB_OFFSET_STRIDE'th entry holds its end offset instead of its
	 * length, counting keys then values; the sum must fit in the field.
	 */
	for (int i = 0; i < 2 * npairs; i++)
	{
		totallen += JBE_OFFLENFLD(entries[i]);
		if (totallen > JENTRY_OFFLENMASK)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("total size of jsonb object elements exceeds the maximum of %u bytes",
							JENTRY_OFFLENMASK)));
		if (i % JB_OFFSET_STRIDE == 0)
			entries[i] = (entries[i] & JENTRY_TYPEMASK) | totallen | JENTRY_HAS_OFF;
	}
	memcpy(buf.data + jentry_offset, entries, sizeof(JEntry) * 2 * npairs);
	SET_VARSIZE(buf.data, buf.len);
	return (Jsonb *) buf.data;
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
