/*-------------------------------------------------------------------------
 *
 * search_export.c
 *	  export_events(): every event of a search as ndjson or CSV lines,
 *	  streamed in constant memory: one line a row, or (the REST layer's
 *	  variant) runs of whole lines of about EXPORT_CHUNK bytes a row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/portal.h"

#include "ua_search.h"

/* PortalData is internal: PG 15 tested, 16 built (docker/citus) */
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 170000
#error "export_events reads PortalData as PostgreSQL 15 and 16 lay it out; check it against this version"
#endif

PG_FUNCTION_INFO_V1(user_activity_export_events);
PG_FUNCTION_INFO_V1(user_activity_export_events_args);

static Datum ExportEvents(FunctionCallInfo fcinfo, bool text_args);

/* State of an export between calls. */
typedef struct ExportState
{
	bool		csv;
	bool		chunks;			/* runs of lines a row, each line ended */
	bool		header_pending;
	PagePlanKey key;			/* the spans' plans, but for lo and hi */
	Datum		values[SEARCH_NARGS];	/* the parameters of SEARCH_WHERE */
	char		nulls[SEARCH_NARGS];
	TimestampTz *bounds;		/* the range cut at partition bounds */
	int			nbounds;
	int			span;			/* bounds[span] starts the next span */
	char	   *portal_name;	/* the cursor of the span being read, or
								 * NULL */
	TimestampTz last_ts;		/* the keyset position of the last row read */
	int64		last_id;
	MemoryContext state_cxt;
	MemoryContext row_cxt;		/* what formatting a row leaves behind */

	/*
	 * The values of a batch (EXPORT_FETCH rows, and the CSV header), each
	 * a text varlena inside out, which is kept from batch to batch so that
	 * its memory is allocated once: runs[i] is the offset of the i-th.
	 * The values already returned are valid until the next batch.
	 */
	StringInfoData out;
	int		   *runs;
	int			nruns;
	bool		run_open;		/* runs[nruns] is being written */
	int			next;
	bool		done;
} ExportState;

#define EXPORT_FETCH 1000

/*
 * The size a run of lines reaches before it is returned.  Every row that
 * the executor returns costs a call through fmgr_security_definer (which
 * sets search_path and resets it), a DataRow message and a PGresult in the
 * client: per line, that is most of an export's time.  Per 64 kB it is
 * nothing, while the shim, which buffers 256 kB for a client, still takes
 * several at a time.
 */
#define EXPORT_CHUNK (64 * 1024)

/*
 * A batch fetches no more rows than fit in this much of out, the rows'
 * metadata as large as user_activity.max_metadata_bytes allows (twice that
 * in CSV, its quotes doubled): out, a StringInfo, holds at most 1 GB.
 */
#define EXPORT_BATCH_BYTES (64 * 1024 * 1024)
#define EXPORT_ROW_BYTES (2 * (long) ua_max_metadata_bytes + 256)

#define EXPORT_CSV_HEADER "id,user_id,event_action_timestamp,action,metadata,event_id,recorded_at"

/* Ends the run being written: its varlena header gets its length. */
static void
RunEnd(ExportState *st)
{
	int			start = st->runs[st->nruns++];

	SET_VARSIZE(st->out.data + start, st->out.len - start);
	st->run_open = false;
}

/*
 * LineBegin starts a line at the end of out, and a run first if none is
 * being written: an int-aligned varlena header, set by RunEnd.
 */
static void
LineBegin(ExportState *st)
{
	if (st->run_open)
		return;
	while (st->out.len != INTALIGN(st->out.len))
		appendStringInfoChar(&st->out, '\0');
	st->runs[st->nruns] = st->out.len;
	appendStringInfoSpaces(&st->out, VARHDRSZ);
	st->run_open = true;
}

/*
 * LineEnd ends a line: alone, it is a value of its own; in runs, it gets
 * its newline, and the run ends once it has EXPORT_CHUNK bytes.
 */
static void
LineEnd(ExportState *st)
{
	if (st->chunks)
	{
		appendStringInfoChar(&st->out, '\n');
		if (st->out.len - st->runs[st->nruns] < EXPORT_CHUNK)
			return;
	}
	RunEnd(st);
}

/*
 * ExportShutdown closes the cursor of an export that its caller stopped
 * reading (a LIMIT, a cursor over the export closed) or started over (a
 * rescan, as in a LATERAL subquery).  Left open, it would keep its executor
 * and up to PAGE_SPAN_MAX index scans until the transaction ends.
 * Registered after SRF_FIRSTCALL_INIT's own callback, it runs before that
 * one frees the state.
 */
static void
ExportShutdown(Datum arg)
{
	ExportState *st = (ExportState *) DatumGetPointer(arg);
	Portal		portal;

	if (st->portal_name == NULL)
		return;
	/* gone if opened in a subtransaction since rolled back */
	portal = SPI_cursor_find(st->portal_name);
	if (portal != NULL)
		SPI_cursor_close(portal);
	st->portal_name = NULL;
}

/*
 * ReadBatch reads up to EXPORT_FETCH more rows (and EXPORT_BATCH_BYTES)
 * into out, as the values to return next: a line each, or runs of lines,
 * of which the last one, if not yet EXPORT_CHUNK bytes long, goes on in
 * the next batch.
 */
static void
ReadBatch(ExportState *st)
{
	long		nrows = 0;

	if (st->run_open)
	{
		/* the run still open goes on, at the start of out */
		int			start = st->runs[st->nruns];

		st->out.len -= start;
		memmove(st->out.data, st->out.data + start, st->out.len + 1);
		st->runs[0] = 0;
	}
	else
		resetStringInfo(&st->out);
	st->nruns = st->next = 0;
	if (st->header_pending)
	{
		LineBegin(st);
		appendStringInfoString(&st->out, EXPORT_CSV_HEADER);
		LineEnd(st);
		st->header_pending = false;
	}
	SPI_connect();
	while (nrows < EXPORT_FETCH && st->out.len < EXPORT_BATCH_BYTES &&
		   !st->done)
	{
		Portal		portal = NULL;
		long		wanted = Max(1, Min(EXPORT_FETCH - nrows,
										(EXPORT_BATCH_BYTES - st->out.len) / EXPORT_ROW_BYTES));

		if (st->portal_name != NULL)
		{
			/*
			 * Gone if it was opened in a subtransaction since rolled back
			 * (a FETCH from a cursor over the export, then ROLLBACK TO
			 * SAVEPOINT): the span is opened again after the last row
			 * read, with the same snapshot, the caller's.
			 */
			portal = SPI_cursor_find(st->portal_name);
			if (portal == NULL)
			{
				pfree(st->portal_name);
				st->portal_name = NULL;
			}
		}
		else if (st->span < st->nbounds - 1)
		{
			int			j = Min(st->span + PAGE_SPAN_MAX, st->nbounds - 1);

			st->key.lo = st->bounds[st->span];
			st->key.hi = st->bounds[j];
			st->span = j;
		}
		else
		{
			st->done = true;
			break;
		}
		if (portal == NULL)
		{
			/* rows after the last one read: in a new span, every row */
			Datum		values[SEARCH_NARGS];
			int			nestlevel;

			memcpy(values, st->values, sizeof(values));
			values[1] = TimestampTzGetDatum(st->last_ts);
			values[2] = Int64GetDatum(st->last_id);
			nestlevel = UaSpanPlanningBegin();
			portal = SPI_cursor_open(NULL, UaPagePlan(&st->key), values, st->nulls, true);
			UaSpanPlanningEnd(nestlevel);
			st->portal_name = MemoryContextStrdup(st->state_cxt, portal->name);
		}

		SPI_cursor_fetch(portal, true, wanted);
		nrows += SPI_processed;
		if (SPI_processed > 0)
		{
			HeapTuple	last = SPI_tuptable->vals[SPI_processed - 1];
			bool		isnull;

			/* SEARCH_COLUMNS: id first, recorded_at seventh */
			st->last_id = DatumGetInt64(SPI_getbinval(last, SPI_tuptable->tupdesc, 1, &isnull));
			st->last_ts = DatumGetTimestampTz(SPI_getbinval(last, SPI_tuptable->tupdesc, 7, &isnull));
		}
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			MemoryContext old = MemoryContextSwitchTo(st->row_cxt);

			LineBegin(st);
			UaAppendSpiRow(&st->out, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, st->csv);
			LineEnd(st);
			MemoryContextSwitchTo(old);
			MemoryContextReset(st->row_cxt);
		}
		if (SPI_processed < (uint64) wanted)
		{
			/* this span is read: the next call of the loop opens the next */
			SPI_cursor_close(portal);
			pfree(st->portal_name);
			st->portal_name = NULL;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_finish();
	if (st->done && st->run_open)
		RunEnd(st);
}

/*
 * export_events(params jsonb, format text) returns every matching event,
 * one line per row (no line end), as ndjson or csv with a header line.  It
 * reads through cursors, EXPORT_FETCH rows at a time, and returns a value
 * per call, so that when it is called in the select list
 * (SELECT user_activity.export_events($1, $2)) and read in single-row mode,
 * millions of rows stream in constant memory.  (In FROM, PostgreSQL
 * collects any set-returning function's rows in a tuplestore first, which
 * spills to disk beyond work_mem.)
 *
 * The range is read span by span of PAGE_SPAN_MAX partitions, a cursor
 * each, with the session's kept span plans (UaPagePlan, without LIMIT):
 * planning the query over a month of partitions with its values on every
 * call would cost as much as a typical user's export itself.  All
 * cursors read with the caller's snapshot (read_only), so the export is one
 * consistent result; the spans are disjoint and ascending, so the rows come
 * in (recorded_at, id) order.
 */
Datum
user_activity_export_events(PG_FUNCTION_ARGS)
{
	return ExportEvents(fcinfo, false);
}

/*
 * user_activity_export_events_args is export_events() from version 1.5,
 * for the REST layer: each parameter a text argument as it received it
 * (NULL when absent), the format last; the same lines, each ended by a
 * newline, returned as runs of whole lines of about EXPORT_CHUNK bytes
 * (the last may be shorter), which the shim passes on as they are.
 */
Datum
user_activity_export_events_args(PG_FUNCTION_ARGS)
{
	return ExportEvents(fcinfo, true);
}

/* ExportEvents is both: text_args says which arguments it takes. */
static Datum
ExportEvents(FunctionCallInfo fcinfo, bool text_args)
{
	FuncCallContext *funcctx;
	ExportState *st;

	if (SRF_IS_FIRSTCALL())
	{
		SearchParams sp;
		char	   *format;
		int			format_arg = text_args ? 7 : 1;
		MemoryContext old;

		if (!text_args && PG_ARGISNULL(0))
			UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, NULL,
						 pstrdup("search parameters must not be null"),
						 pstrdup("The parameters are a JSON object with the keys " EXPORT_KEYS_TEXT "."));
		if (PG_ARGISNULL(format_arg))
			UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, "format",
						 pstrdup("missing required argument \"format\""),
						 pstrdup("Argument \"format\" must be ndjson or csv."));
		format = text_to_cstring(PG_GETARG_TEXT_PP(format_arg));
		if (strcmp(format, "ndjson") != 0 && strcmp(format, "csv") != 0)
			UaThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "format",
						 psprintf("invalid export format \"%s\"", UaQuoteValue(format, strlen(format))),
						 pstrdup("Argument \"format\" must be ndjson or csv."));
		if (text_args)
			UaParseSearchArgs(fcinfo, true, &sp);
		else
			UaParseSearchParams(PG_GETARG_JSONB_P(0), true, &sp);

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(ExportState));
		st->csv = (strcmp(format, "csv") == 0);
		st->chunks = text_args;
		st->header_pending = st->csv;
		memset(&st->key, 0, sizeof(st->key));	/* the padding is hashed too */
		st->key.action = sp.nactions > 0;
		st->key.action_from = sp.has_action_from;
		st->key.action_to = sp.has_action_to;
		st->key.metadata = sp.metadata != NULL;
		UaFillSearchArgs(&sp, st->values, st->nulls);
		st->nbounds = UaPageBounds(sp.start_ts, sp.to, &st->bounds);
		st->last_ts = sp.start_ts;
		st->last_id = sp.start_id;
		st->state_cxt = funcctx->multi_call_memory_ctx;
		st->row_cxt = AllocSetContextCreate(funcctx->multi_call_memory_ctx,
											"user_activity export row",
											ALLOCSET_DEFAULT_SIZES);
		initStringInfo(&st->out);
		st->runs = palloc(sizeof(int) * (EXPORT_FETCH + 1));
		funcctx->user_fctx = st;
		RegisterExprContextCallback(((ReturnSetInfo *) fcinfo->resultinfo)->econtext,
									ExportShutdown, PointerGetDatum(st));
		MemoryContextSwitchTo(old);
	}

	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	while (st->next >= st->nruns && !st->done)
		ReadBatch(st);

	if (st->next < st->nruns)
		SRF_RETURN_NEXT(funcctx, PointerGetDatum(st->out.data + st->runs[st->next++]));
	/* every span's cursor is closed, and SRF_RETURN_DONE frees st */
	UnregisterExprContextCallback(((ReturnSetInfo *) fcinfo->resultinfo)->econtext,
								  ExportShutdown, PointerGetDatum(st));
	SRF_RETURN_DONE(funcctx);
}
