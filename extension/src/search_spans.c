/*-------------------------------------------------------------------------
 *
 * search_spans.c
 *	  The span reader: runs the page query over a range of recorded time
 *	  span by span of partitions, each span with a plan kept for the
 *	  session.  search_events, export_events and find_events read through it.
 *
 * The page query's plans, one per span of partitions, filters and select
 * list: see UaPagePlan().  The page size is not part of a plan: the executor
 * stops once it has sent the rows wanted (UaReadSpans), so clients that vary
 * "limit" share the plans.
 *
 * Invariants: every entry of page_plans has a kept plan and is on
 * page_plans_lru, most recently used first; there are at most
 * PAGE_PLANS_MAX entries, and a full cache evicts its least recently used
 * plan to make room, so a session that searches many spans replans only
 * what it has not used lately.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "lib/ilist.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"

#include "ua_search.h"

/* PartitionBoundInfoData is internal: PG 15 tested, 16 built (docker/citus) */
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 170000
#error "UaPageBounds reads PartitionBoundInfoData as PostgreSQL 15 and 16 lay it out; check it against this version"
#endif

/* An entry of page_plans: a key and its kept plan. */
typedef struct PagePlanEntry
{
	PagePlanKey key;
	SPIPlanPtr	plan;
	dlist_node	lru;			/* in page_plans_lru */
} PagePlanEntry;

#define PAGE_PLANS_MAX 64

static HTAB *page_plans = NULL;
static dlist_head page_plans_lru = DLIST_STATIC_INIT(page_plans_lru);

/* UaFillSearchArgs sets the seven parameters of SEARCH_SELECT. */
void
UaFillSearchArgs(const SearchParams *sp, Datum *values, char *nulls)
{
	values[0] = Int64GetDatum(sp->user_id);
	values[1] = TimestampTzGetDatum(sp->start_ts);
	values[2] = Int64GetDatum(sp->start_id);
	values[3] = TimestampTzGetDatum(sp->to);
	memset(nulls, ' ', SEARCH_NARGS);
	if (sp->nactions > 0)
	{
		Datum		labels[UA_NUM_ACTIONS];

		for (int i = 0; i < sp->nactions; i++)
			labels[i] = CStringGetTextDatum(sp->actions[i]);
		values[4] = PointerGetDatum(construct_array(labels, sp->nactions, TEXTOID,
													-1, false, TYPALIGN_INT));
	}
	else
	{
		values[4] = (Datum) 0;
		nulls[4] = 'n';
	}
	values[5] = TimestampTzGetDatum(sp->action_from);
	if (!sp->has_action_from)
		nulls[5] = 'n';
	values[6] = TimestampTzGetDatum(sp->action_to);
	if (!sp->has_action_to)
		nulls[6] = 'n';
	values[7] = JsonbPGetDatum(sp->metadata);
	if (sp->metadata == NULL)
		nulls[7] = 'n';
}

/* The types of the page query's parameters, $1 to $10 (see ua_search.h). */
Oid			ua_search_types[SEARCH_NARGS + 2] = {INT8OID, TIMESTAMPTZOID, INT8OID,
	TIMESTAMPTZOID, TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID, JSONBOID,
INT8OID, INT8OID};

/*
 * UsableBound says whether a partition bound can be written as the literal
 * UaPagePlan() puts in the query: UaAppendTimestamp prints years 1 to 9999 in
 * the ISO 8601 form that timestamptz input reads whatever DateStyle is.  An
 * unusable bound is skipped for the next one out, which only widens a span.
 */
static bool
UsableBound(TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	return !TIMESTAMP_NOT_FINITE(ts) &&
		timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) == 0 &&
		tm.tm_year >= 1 && tm.tm_year <= 9999;
}

/*
 * UaPageBounds cuts [from, to) at the partition bounds of user_activity.events
 * and returns the number of cuts, at least two, in *bounds, ascending:
 * the greatest bound at or before from (DT_NOBEGIN if none), every bound
 * strictly between, and the least bound at or after to (DT_NOEND if none).
 * Two cuts in a row delimit one partition, or a gap between partitions
 * (empty, or in version 1.1 the default partition's).  Version 1.0's table
 * is not partitioned: one span, unbounded.
 */
int
UaPageBounds(TimestampTz from, TimestampTz to, TimestampTz **bounds)
{
	Oid			relid;
	Relation	rel;
	TimestampTz *cut = NULL;
	int			n = 0;

	relid = get_relname_relid(UA_EVENTS_TABLE,
							  get_namespace_oid(UA_SCHEMA, false));
	if (!OidIsValid(relid))
		elog(ERROR, "table %s does not exist", UA_EVENTS_QUALIFIED);

	/*
	 * The executor takes this lock anyway.  The cuts need not be the bounds
	 * the executor then sees (ATTACH PARTITION does not wait for this
	 * lock): any cuts give the same rows, only more or fewer spans.
	 */
	rel = table_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		PartitionKey key = RelationGetPartitionKey(rel);
		PartitionBoundInfo pb = RelationGetPartitionDesc(rel, true)->boundinfo;

		if (key->strategy == PARTITION_STRATEGY_RANGE && key->partnatts == 1 &&
			key->parttypid[0] == TIMESTAMPTZOID && pb != NULL)
		{
			cut = palloc(sizeof(TimestampTz) * (pb->ndatums + 2));
			cut[n++] = DT_NOBEGIN;
			for (int i = 0; i < pb->ndatums; i++)
			{
				TimestampTz b;

				if (pb->kind[i][0] != PARTITION_RANGE_DATUM_VALUE)
					continue;
				b = DatumGetTimestampTz(pb->datums[i][0]);
				if (!UsableBound(b))
					continue;
				if (b <= from)
					cut[0] = b;
				else if (b < to)
					cut[n++] = b;
				else
				{
					cut[n++] = b;
					break;
				}
			}
			if (n == 1 || cut[n - 1] < to)
				cut[n++] = DT_NOEND;
		}
	}
	table_close(rel, NoLock);

	if (n == 0)
	{
		cut = palloc(sizeof(TimestampTz) * 2);
		cut[n++] = DT_NOBEGIN;
		cut[n++] = DT_NOEND;
	}
	*bounds = cut;
	return n;
}

/*
 * UaPagePlan returns the plan of the page query restricted to [key->lo,
 * key->hi), a span between partition bounds, for the filters and select
 * list in key: made once per key and kept, since planning the query over
 * many partitions costs more than executing it.
 *
 * The plan is generic (parameters, not values), yet good for every value,
 * because the span is in the query as constants besides the parameters.
 * From them the planner leaves out, when it plans, every partition outside
 * the span (and version 1.1's default partition unless the span has a gap
 * only it can fill); as the remaining partitions are disjoint ranges of
 * recorded_at, it reads them in order with one Append that walks each
 * one's (user_id, recorded_at, id) index up to the page's last row, with
 * neither sort nor Merge Append.  The query has no LIMIT: the executor is
 * asked for the rows still wanted and stops there, and the ordered index
 * scans are the plan for any number of rows, as a sort is ruled out while
 * planning (UaSpanPlanningBegin).  Filters absent from the request are absent
 * from the query, rather than tested for null in every partition.
 *
 * The constants are partition bounds from the catalog, never request
 * values.  A span's query means the rows of [lo, hi) whatever partitions
 * exist, so a kept plan stays correct when partitions are attached or
 * dropped later (the plan cache replans it), and any cuts of a range give
 * the same page.
 */
SPIPlanPtr
UaPagePlan(const PagePlanKey *key)
{
	PagePlanEntry *entry;
	bool		found;
	StringInfoData sql;
	SPIPlanPtr	plan;

	if (page_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PagePlanKey);
		ctl.entrysize = sizeof(PagePlanEntry);
		ctl.hcxt = TopMemoryContext;
		page_plans = hash_create("user_activity search plans", PAGE_PLANS_MAX,
								 &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(page_plans, key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		dlist_move_head(&page_plans_lru, &entry->lru);
		return entry->plan;
	}

	/* a session searching ever new spans: forget the plan used longest ago */
	if (hash_get_num_entries(page_plans) >= PAGE_PLANS_MAX)
	{
		PagePlanEntry *oldest = dlist_tail_element(PagePlanEntry, lru, &page_plans_lru);

		dlist_delete(&oldest->lru);
		SPI_freeplan(oldest->plan);
		hash_search(page_plans, &oldest->key, HASH_REMOVE, NULL);
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, key->whole_row ? "SELECT e.* " : SEARCH_COLUMNS);
	appendStringInfoString(&sql, SEARCH_WHERE);
	if (key->action)
		appendStringInfoString(&sql, SEARCH_ACTION);
	if (key->action_from)
		appendStringInfoString(&sql, SEARCH_ACTION_FROM);
	if (key->action_to)
		appendStringInfoString(&sql, SEARCH_ACTION_TO);
	if (key->metadata)
		appendStringInfoString(&sql, SEARCH_METADATA);
	if (key->lo != DT_NOBEGIN)
	{
		appendStringInfoString(&sql, "AND e.recorded_at >= '");
		UaAppendTimestamp(&sql, key->lo);
		appendStringInfoString(&sql, "'::pg_catalog.timestamptz ");
	}
	if (key->hi != DT_NOEND)
	{
		appendStringInfoString(&sql, "AND e.recorded_at < '");
		UaAppendTimestamp(&sql, key->hi);
		appendStringInfoString(&sql, "'::pg_catalog.timestamptz ");
	}
	appendStringInfoString(&sql, SEARCH_ORDER);

	/* NO_SCROLL: export_events' cursors read forward only, and may sort */
	plan = SPI_prepare_cursor(sql.data, SEARCH_NARGS, ua_search_types,
							  CURSOR_OPT_GENERIC_PLAN | CURSOR_OPT_NO_SCROLL);
	if (plan == NULL || SPI_keepplan(plan) != 0)
		elog(ERROR, "could not prepare the search: %s", SPI_result_code_string(SPI_result));
	pfree(sql.data);

	/* entered only now, so that an error above leaves no entry without a plan */
	entry = hash_search(page_plans, key, HASH_ENTER, &found);
	Assert(!found);
	entry->plan = plan;
	dlist_push_head(&page_plans_lru, &entry->lru);
	return plan;
}

/*
 * The span queries are planned with enable_sort off.  A generic plan
 * estimates a handful of rows for any user (the parameters' selectivity is
 * unknown), and an empty partition, never analyzed, is cheapest to read
 * with an unordered seq scan; so the planner could choose to sort all the
 * span's rows of the user rather than read the partitions' indexes in
 * order; a user with many events in a span then paid for that sort on
 * every page, for as long as the kept plan lived.  Sorting stays possible
 * (enable_sort only makes it look dear, so dear that the plan would be
 * compiled: JIT is off too, as a page never repays it).  A kept plan is
 * made, or remade after an invalidation, only when it is prepared or run,
 * so the setting is in force around those calls alone.
 */
int
UaSpanPlanningBegin(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("enable_sort", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	/* the cost that disables a sort would otherwise call for JIT */
	(void) set_config_option("jit", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/* UaSpanPlanningEnd restores the settings UaSpanPlanningBegin changed. */
void
UaSpanPlanningEnd(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}

/*
 * UaReadSpans runs the page query of key (its filters and select list)
 * over [from, to) into options->dest, with options->params, until the
 * receiver has counted "wanted" rows in *received (0: every row).
 *
 * The range is read span by span of partitions from "from" on: one
 * partition, then two, then four and so on up to PAGE_SPAN_MAX.  A page
 * found in the first day of a 30-day range thus starts one index scan, not
 * 30 (starting an index scan costs about what reading a few rows does), and
 * a sparse range takes a few executions.  The spans are disjoint and
 * ascending, so the rows come in (recorded_at, id) order across them; all
 * are read with the caller's snapshot (read_only), so they are one
 * consistent result.
 */
void
UaReadSpans(PagePlanKey *key, TimestampTz from, TimestampTz to,
			SPIExecuteOptions *options, int64 wanted, const int64 *received)
{
	TimestampTz *bounds;
	int			nbounds = UaPageBounds(from, to, &bounds);
	int			nestlevel = UaSpanPlanningBegin();

	for (int i = 0, width = 1;
		 i < nbounds - 1 && (wanted == 0 || *received < wanted);
		 width = Min(width * 2, PAGE_SPAN_MAX))
	{
		int			j = Min(i + width, nbounds - 1);
		int			rc;

		key->lo = bounds[i];
		key->hi = bounds[j];
		options->tcount = wanted == 0 ? 0 : wanted - *received;
		rc = SPI_execute_plan_extended(UaPagePlan(key), options);
		if (rc < 0)
			elog(ERROR, "search failed: %s", SPI_result_code_string(rc));
		i = j;
	}
	UaSpanPlanningEnd(nestlevel);
	pfree(bounds);
}

/* UaSearchParamList makes the parameters of a search query, for the executor. */
ParamListInfo
UaSearchParamList(const Datum *values, const char *nulls, int n)
{
	ParamListInfo params = makeParamList(n);

	for (int i = 0; i < n; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = (nulls[i] == 'n');
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = ua_search_types[i];
	}
	return params;
}
