/*-------------------------------------------------------------------------
 *
 * search.c
 *	  A user's events by recorded time: one page as JSON for the REST layer
 *	  (search_events), a streaming export (export_events), and the keyset
 *	  cursor that find_events and search_events share.
 *
 * Searches filter on recorded_at, the time the system recorded the event,
 * over [from, to), ordered by (recorded_at, id).  Paging is by keyset: the
 * cursor holds the (recorded_at, id) of the last row of a page, and the next
 * page starts strictly after it, so the index (user_id, recorded_at, id)
 * serves the 1000th page as cheaply as the first.  The cursor is opaque:
 * base64url of the position and a checksum that binds it to the user, so a
 * malformed, truncated or altered cursor is rejected instead of silently
 * jumping elsewhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "ua_event.h"

PG_FUNCTION_INFO_V1(user_activity_search_events);
PG_FUNCTION_INFO_V1(user_activity_export_events);
PG_FUNCTION_INFO_V1(user_activity_find_events);
PG_FUNCTION_INFO_V1(user_activity_find_start);
PG_FUNCTION_INFO_V1(user_activity_event_cursor);

#define DEFAULT_PAGE_SIZE 100
#define MAX_PAGE_SIZE 1000

#define CURSOR_BYTES 20			/* recorded_at, id, checksum */
#define CURSOR_CHARS 27			/* base64url of 20 bytes, unpadded */

/* A validated search. */
typedef struct SearchParams
{
	int64		user_id;
	TimestampTz from;
	TimestampTz to;
	int			limit;
	int64		offset;
	TimestampTz start_ts;		/* rows strictly after (start_ts, start_id) */
	int64		start_id;
	int			nactions;
	const char *actions[UA_NUM_ACTIONS];
	bool		has_action_from;
	TimestampTz action_from;
	bool		has_action_to;
	TimestampTz action_to;
} SearchParams;

static const char *const search_keys[] = {
	"user_id", "from", "to", "limit", "cursor", "action", "action_from",
	"action_to", "offset"
};
enum
{
	P_USER_ID, P_FROM, P_TO, P_LIMIT, P_CURSOR, P_ACTION, P_ACTION_FROM,
	P_ACTION_TO, P_OFFSET, P_NUM
};
#define SEARCH_KEYS_TEXT "user_id, from, to, limit, cursor, action, action_from, action_to, offset"
#define EXPORT_KEYS_TEXT "user_id, from, to, action, action_from, action_to"

static SPIPlanPtr offset_plan = NULL;

/*
 * The page query's plans, one per span of partitions, filters and select
 * list: see PagePlan().  The page size is not part of a plan: the executor
 * stops once it has sent the rows wanted (ReadSpans), so clients that vary
 * "limit" share the plans.
 *
 * Invariants: every entry of page_plans has a kept plan and is on
 * page_plans_lru, most recently used first; there are at most
 * PAGE_PLANS_MAX entries, and a full cache evicts its least recently used
 * plan to make room, so a session that searches many spans replans only
 * what it has not used lately.
 */
typedef struct PagePlanKey
{
	TimestampTz lo;				/* DT_NOBEGIN: no lower bound */
	TimestampTz hi;				/* DT_NOEND: no upper bound */
	bool		action;			/* the filters present */
	bool		action_from;
	bool		action_to;
	bool		whole_row;		/* e.* (find_events), not SEARCH_COLUMNS */
} PagePlanKey;

typedef struct PagePlanEntry
{
	PagePlanKey key;
	SPIPlanPtr	plan;
	dlist_node	lru;			/* in page_plans_lru */
} PagePlanEntry;

#define PAGE_PLANS_MAX 64

/*
 * The widest span read by one execution, in partitions.  A plan holds some
 * 16 kB per partition, so this bounds the cache at some 16 MB; starting
 * index scans costs per partition anyway, so wider spans would save little.
 */
#define PAGE_SPAN_MAX 16

static HTAB *page_plans = NULL;
static dlist_head page_plans_lru = DLIST_STATIC_INIT(page_plans_lru);

#define SEARCH_COLUMNS \
	"SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, " \
	"e.event_id, e.recorded_at "
#define SEARCH_WHERE \
	"FROM user_activity.events e " \
	"WHERE e.user_id = $1 " \
	"AND (e.recorded_at, e.id) > ($2, $3) " \
	"AND e.recorded_at >= $2 " \
	"AND e.recorded_at < $4 "
#define SEARCH_ACTION \
	"AND ($5::pg_catalog.text[] IS NULL OR e.action = ANY ($5::pg_catalog.text[]::user_activity.action[])) "
#define SEARCH_ACTION_FROM \
	"AND ($6::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp >= $6) "
#define SEARCH_ACTION_TO \
	"AND ($7::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp < $7) "
#define SEARCH_ORDER "ORDER BY e.recorded_at, e.id"
#define SEARCH_SELECT \
	SEARCH_COLUMNS SEARCH_WHERE SEARCH_ACTION SEARCH_ACTION_FROM SEARCH_ACTION_TO SEARCH_ORDER

static void
ThrowParam(int sqlerrcode, const char *field, char *message, char *detail)
{
	UaError		err;

	UaSetError(&err, sqlerrcode, field, message, detail);
	UaThrowError(&err);
}

/* ---- the cursor ---- */

static const char b64url[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static uint32
CursorChecksum(const unsigned char *pos, int64 user_id)
{
	unsigned char buf[24];

	memcpy(buf, pos, 16);
	for (int i = 0; i < 8; i++)
		buf[16 + i] = (unsigned char) ((uint64) user_id >> (56 - 8 * i));
	return (uint32) hash_bytes_extended(buf, sizeof(buf), 0x75616376);
}

static char *
EncodeCursor(int64 user_id, TimestampTz ts, int64 id)
{
	unsigned char raw[CURSOR_BYTES + 1];
	char	   *out = palloc(CURSOR_CHARS + 1);
	uint32		sum;
	int			o = 0;

	for (int i = 0; i < 8; i++)
	{
		raw[i] = (unsigned char) ((uint64) ts >> (56 - 8 * i));
		raw[8 + i] = (unsigned char) ((uint64) id >> (56 - 8 * i));
	}
	sum = CursorChecksum(raw, user_id);
	for (int i = 0; i < 4; i++)
		raw[16 + i] = (unsigned char) (sum >> (24 - 8 * i));
	raw[CURSOR_BYTES] = 0;

	for (int i = 0; i < CURSOR_BYTES; i += 3)
	{
		uint32		v = (raw[i] << 16) |
			((i + 1 < CURSOR_BYTES ? raw[i + 1] : 0) << 8) |
			(i + 2 < CURSOR_BYTES ? raw[i + 2] : 0);

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < CURSOR_BYTES)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < CURSOR_BYTES)
			out[o++] = b64url[v & 63];
	}
	Assert(o == CURSOR_CHARS);
	out[o] = '\0';
	return out;
}

static bool
DecodeCursor(const char *s, int len, int64 user_id, TimestampTz *ts, int64 *id)
{
	unsigned char raw[CURSOR_BYTES + 2];
	uint64		v = 0;
	int			bits = 0,
				n = 0;
	uint32		sum = 0;
	uint64		t = 0,
				d = 0;

	if (len != CURSOR_CHARS)
		return false;
	for (int i = 0; i < len; i++)
	{
		const char *p = memchr(b64url, s[i], 64);

		if (p == NULL || s[i] == '\0')
			return false;
		v = (v << 6) | (p - b64url);
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			raw[n++] = (unsigned char) (v >> bits);
			v &= ((uint64) 1 << bits) - 1;
		}
	}
	if (n != CURSOR_BYTES || v != 0)
		return false;
	for (int i = 0; i < 8; i++)
	{
		t = (t << 8) | raw[i];
		d = (d << 8) | raw[8 + i];
	}
	for (int i = 0; i < 4; i++)
		sum = (sum << 8) | raw[16 + i];
	if (sum != CursorChecksum(raw, user_id))
		return false;
	*ts = (TimestampTz) t;
	*id = (int64) d;
	return true;
}

static void
ThrowBadCursor(const char *field)
{
	ThrowParam(ERRCODE_INVALID_TEXT_REPRESENTATION, field,
			   pstrdup("invalid cursor"),
			   psprintf("\"%s\" must be a cursor of a previous page of the same user's search, unchanged.",
						field));
}

/* ---- parameters ---- */

static char *
ParamText(const JsonbValue *v, const char *key)
{
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	ThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
			   psprintf("invalid type for parameter \"%s\"", key),
			   psprintf("Parameter \"%s\" must be a string.", key));
	return NULL;
}

/* ParseInt64 parses a plain decimal integer within [min, max]. */
static int64
ParseInt64(const char *s, const char *key, int64 min, int64 max)
{
	const char *p = s;
	bool		neg = false;
	uint64		acc = 0;

	if (*p == '-')
	{
		neg = true;
		p++;
	}
	if (*p == '\0')
		ThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
				   psprintf("invalid %s \"%s\"", key, UaQuoteValue(s, strlen(s))),
				   psprintf("Parameter \"%s\" must be an integer.", key));
	for (; *p; p++)
	{
		if (*p < '0' || *p > '9')
			ThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
					   psprintf("invalid %s \"%s\"", key, UaQuoteValue(s, strlen(s))),
					   psprintf("Parameter \"%s\" must be an integer.", key));
		if (acc > (PG_UINT64_MAX - 9) / 10)
			acc = PG_UINT64_MAX;
		else
			acc = acc * 10 + (*p - '0');
	}
	if ((neg && acc > 0 && min >= 0) || acc > (uint64) PG_INT64_MAX ||
		(!neg && (int64) acc > max) || (!neg && (int64) acc < min) ||
		(neg && -(int64) acc < min))
		ThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, key,
				   psprintf("%s %s out of range", key, UaQuoteValue(s, strlen(s))),
				   psprintf("Parameter \"%s\" must be an integer from " INT64_FORMAT " to " INT64_FORMAT ".",
							key, min, max));
	return neg ? -(int64) acc : (int64) acc;
}

static TimestampTz
ParseTimeParam(const char *s, const char *key)
{
	TimestampTz ts;

	if (!UaParseTimestamp(s, strlen(s), &ts))
		ThrowParam(ERRCODE_INVALID_DATETIME_FORMAT, key,
				   psprintf("invalid timestamp \"%s\"", UaQuoteValue(s, strlen(s))),
				   psprintf("Parameter \"%s\" must be an RFC 3339 timestamp with a time zone offset, such as 2025-10-10T18:30:00Z.",
							key));
	return ts;
}

/*
 * ParseSearchParams validates search_events() or export_events() params:
 * the query string as received, values as strings.  Unknown keys are
 * rejected and named; the export takes no limit, cursor or offset.
 */
static void
ParseSearchParams(Jsonb *params, bool for_export, SearchParams *sp)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	key,
				val;
	char	   *values[P_NUM] = {NULL};

	memset(sp, 0, sizeof(*sp));
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		ThrowParam(ERRCODE_DATATYPE_MISMATCH, NULL,
				   pstrdup("search parameters must be a JSON object"),
				   psprintf("The parameters are a JSON object with the keys %s.",
							for_export ? EXPORT_KEYS_TEXT : SEARCH_KEYS_TEXT));

	it = JsonbIteratorInit(&params->root);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		int			i;

		if (tok != WJB_KEY)
			continue;
		JsonbIteratorNext(&it, &val, true);
		for (i = 0; i < P_NUM; i++)
		{
			if ((int) strlen(search_keys[i]) == key.val.string.len &&
				memcmp(search_keys[i], key.val.string.val, key.val.string.len) == 0)
				break;
		}
		if (i == P_NUM ||
			(for_export && (i == P_LIMIT || i == P_CURSOR || i == P_OFFSET)))
		{
			char	   *name = UaQuoteValue(key.val.string.val, key.val.string.len);

			ThrowParam(ERRCODE_UNDEFINED_COLUMN, name,
					   psprintf("unknown parameter \"%s\"", name),
					   psprintf("The parameters are %s.",
								for_export ? EXPORT_KEYS_TEXT : SEARCH_KEYS_TEXT));
		}
		if (val.type != jbvNull)
			values[i] = ParamText(&val, search_keys[i]);
	}

	for (int i = P_USER_ID; i <= P_TO; i++)
		if (values[i] == NULL)
			ThrowParam(ERRCODE_NOT_NULL_VIOLATION, search_keys[i],
					   psprintf("missing required parameter \"%s\"", search_keys[i]),
					   pstrdup("Parameters \"user_id\", \"from\" and \"to\" are required."));

	sp->user_id = ParseInt64(values[P_USER_ID], "user_id", 1, PG_INT64_MAX);
	sp->from = ParseTimeParam(values[P_FROM], "from");
	sp->to = ParseTimeParam(values[P_TO], "to");
	if (sp->to < sp->from)
		ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "to",
				   pstrdup("\"to\" is earlier than \"from\""),
				   pstrdup("Parameters \"from\" and \"to\" bound the recorded time as [from, to); \"to\" must not be earlier than \"from\"."));

	sp->limit = values[P_LIMIT] ?
		(int) ParseInt64(values[P_LIMIT], "limit", 1, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
	sp->offset = values[P_OFFSET] ?
		ParseInt64(values[P_OFFSET], "offset", 0, PG_INT32_MAX) : 0;

	sp->start_ts = sp->from;
	sp->start_id = 0;			/* ids are positive: (from, 0) < every row at from */
	if (values[P_CURSOR])
	{
		TimestampTz ts;
		int64		id;

		if (values[P_OFFSET])
			ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "offset",
					   pstrdup("\"offset\" cannot be combined with \"cursor\""),
					   pstrdup("Parameter \"offset\" is the legacy way to page; use \"cursor\" alone."));
		if (!DecodeCursor(values[P_CURSOR], strlen(values[P_CURSOR]), sp->user_id, &ts, &id))
			ThrowBadCursor("cursor");
		if (ts > sp->start_ts || (ts == sp->start_ts && id > 0))
		{
			sp->start_ts = ts;
			sp->start_id = id;
		}
	}

	if (values[P_ACTION])
	{
		char	   *s = values[P_ACTION];

		for (;;)
		{
			char	   *comma = strchr(s, ',');
			int			len = comma ? (int) (comma - s) : (int) strlen(s);
			int			a = UaActionIndex(s, len);

			if (a < 0)
				ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "action",
						   psprintf("invalid action \"%s\"", UaQuoteValue(s, len)),
						   pstrdup("Parameter \"action\" must be one or more of created, updated, deleted, viewed, joined by commas."));
			if (sp->nactions < UA_NUM_ACTIONS)
			{
				bool		seen = false;

				for (int j = 0; j < sp->nactions; j++)
					if (sp->actions[j] == ua_action_names[a])
						seen = true;
				if (!seen)
					sp->actions[sp->nactions++] = ua_action_names[a];
			}
			if (!comma)
				break;
			s = comma + 1;
		}
	}
	if (values[P_ACTION_FROM])
	{
		sp->has_action_from = true;
		sp->action_from = ParseTimeParam(values[P_ACTION_FROM], "action_from");
	}
	if (values[P_ACTION_TO])
	{
		sp->has_action_to = true;
		sp->action_to = ParseTimeParam(values[P_ACTION_TO], "action_to");
	}
}

/* FillSearchArgs sets the seven parameters of SEARCH_SELECT. */
static void
FillSearchArgs(const SearchParams *sp, Datum *values, char *nulls)
{
	values[0] = Int64GetDatum(sp->user_id);
	values[1] = TimestampTzGetDatum(sp->start_ts);
	values[2] = Int64GetDatum(sp->start_id);
	values[3] = TimestampTzGetDatum(sp->to);
	memset(nulls, ' ', 7);
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
}

static Oid	search_types[9] = {INT8OID, TIMESTAMPTZOID, INT8OID, TIMESTAMPTZOID,
	TEXTARRAYOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, INT8OID};

/*
 * UsableBound says whether a partition bound can be written as the literal
 * PagePlan() puts in the query: UaAppendTimestamp prints years 1 to 9999 in
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
 * PageBounds cuts [from, to) at the partition bounds of user_activity.events
 * and returns the number of cuts, at least two, in *bounds, ascending:
 * the greatest bound at or before from (DT_NOBEGIN if none), every bound
 * strictly between, and the least bound at or after to (DT_NOEND if none).
 * Two cuts in a row delimit one partition, or a gap between partitions
 * (empty, or in version 1.1 the default partition's).  Version 1.0's table
 * is not partitioned: one span, unbounded.
 */
static int
PageBounds(TimestampTz from, TimestampTz to, TimestampTz **bounds)
{
	Oid			relid;
	Relation	rel;
	TimestampTz *cut = NULL;
	int			n = 0;

	relid = get_relname_relid("events", get_namespace_oid("user_activity", false));
	if (!OidIsValid(relid))
		elog(ERROR, "table user_activity.events does not exist");

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
 * PagePlan returns the plan of the page query restricted to [key->lo,
 * key->hi), a span between partition bounds, for the filters and select
 * list in key: made once per key and kept, since planning the query over 30
 * daily partitions costs several times executing it.
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
 * planning (SpanPlanningBegin).  Filters absent from the request are absent
 * from the query, rather than tested for null in every partition.
 *
 * The constants are partition bounds from the catalog, never request
 * values.  A span's query means the rows of [lo, hi) whatever partitions
 * exist, so a kept plan stays correct when partitions are attached or
 * dropped later (the plan cache replans it), and any cuts of a range give
 * the same page.
 */
static SPIPlanPtr
PagePlan(const PagePlanKey *key)
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
	plan = SPI_prepare_cursor(sql.data, 7, search_types,
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
 * order.  A user with 10 000 events in one day then paid 8 ms a page for
 * that sort instead of 0.2 ms, for as long as the kept plan lived.  Sorting
 * stays possible (enable_sort only makes it look dear, so dear that the
 * plan would be compiled: JIT is off too, as a page never repays it).  A kept plan is
 * made, or remade after an invalidation, only when it is prepared or run,
 * so the setting is in force around those calls alone.
 */
static int
SpanPlanningBegin(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("enable_sort", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	/* the cost that disables a sort would otherwise call for JIT */
	(void) set_config_option("jit", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

static void
SpanPlanningEnd(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}

/*
 * ReadSpans runs the page query of key (its filters and select list)
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
static void
ReadSpans(PagePlanKey *key, TimestampTz from, TimestampTz to,
		  SPIExecuteOptions *options, int64 wanted, const int64 *received)
{
	TimestampTz *bounds;
	int			nbounds = PageBounds(from, to, &bounds);
	int			nestlevel = SpanPlanningBegin();

	for (int i = 0, width = 1;
		 i < nbounds - 1 && (wanted == 0 || *received < wanted);
		 width = Min(width * 2, PAGE_SPAN_MAX))
	{
		int			j = Min(i + width, nbounds - 1);
		int			rc;

		key->lo = bounds[i];
		key->hi = bounds[j];
		options->tcount = wanted == 0 ? 0 : wanted - *received;
		rc = SPI_execute_plan_extended(PagePlan(key), options);
		if (rc < 0)
			elog(ERROR, "search failed: %s", SPI_result_code_string(rc));
		i = j;
	}
	SpanPlanningEnd(nestlevel);
	pfree(bounds);
}

/*
 * A page is printed as the executor produces its rows, straight from the
 * scan's slot, without the copy of every row into an SPI tuple table.
 */
typedef struct PageReceiver
{
	DestReceiver pub;
	StringInfo	body;
	int			limit;			/* the page size */
	int64		rows;			/* rows received, up to limit + 1 */
	TimestampTz last_ts;		/* recorded_at and id of the page's last row */
	int64		last_id;
	Oid			action_oids[UA_NUM_ACTIONS];	/* enum value of each action */
} PageReceiver;

static void
PageStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
PageShutdown(DestReceiver *self)
{
}

static void
PageDestroy(DestReceiver *self)
{
}

/*
 * PageReceive prints one row of SEARCH_WHERE's columns as event JSON; the
 * row after the page only tells that a next page exists.
 */
static bool
PageReceive(TupleTableSlot *slot, DestReceiver *self)
{
	PageReceiver *r = (PageReceiver *) self;
	Datum	   *v;
	bool	   *isnull;
	Oid			action;
	int			a;

	if (++r->rows > r->limit)
		return false;			/* stop: this was the row after the page */

	slot_getallattrs(slot);
	v = slot->tts_values;
	isnull = slot->tts_isnull;

	/* the action's label, looked up once per enum value and page */
	action = DatumGetObjectId(v[2]);
	for (a = 0; a < UA_NUM_ACTIONS; a++)
		if (r->action_oids[a] == action)
			break;
	if (a == UA_NUM_ACTIONS)
	{
		char	   *label = DatumGetCString(DirectFunctionCall1(enum_out, v[2]));

		a = UaActionIndex(label, strlen(label));
		if (a < 0)
			elog(ERROR, "unknown action \"%s\"", label);
		r->action_oids[a] = action;
	}

	if (r->rows > 1)
		appendStringInfoString(r->body, ", ");
	UaAppendEventJson(r->body,
					  DatumGetInt64(v[0]),
					  DatumGetInt64(v[1]),
					  ua_action_names[a],
					  DatumGetTimestampTz(v[3]),
					  DatumGetJsonbP(v[4]),
					  isnull[5] ? NULL : DatumGetUUIDP(v[5]),
					  DatumGetTimestampTz(v[6]));
	if (r->rows == r->limit)
	{
		r->last_ts = DatumGetTimestampTz(v[6]);
		r->last_id = DatumGetInt64(v[0]);
	}
	return true;
}

/* SearchParamList makes the parameters of a search query, for the executor. */
static ParamListInfo
SearchParamList(const Datum *values, const char *nulls, int n)
{
	ParamListInfo params = makeParamList(n);

	for (int i = 0; i < n; i++)
	{
		params->params[i].value = values[i];
		params->params[i].isnull = (nulls[i] == 'n');
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = search_types[i];
	}
	return params;
}

/*
 * search_events(params jsonb) returns one page (body text, next_cursor
 * text): body is the JSON array of events, ready to send; next_cursor is
 * null on the last page.  One row more than the page is read to know
 * whether another page follows.  The rows are read span by span of
 * partitions from the keyset position on (ReadSpans), until the page and
 * the row after it are read or the range ends.
 */
Datum
user_activity_search_events(PG_FUNCTION_ARGS)
{
	SearchParams sp;
	Datum		values[9];
	char		nulls[9];
	StringInfoData body;
	PageReceiver recv;
	SPIExecuteOptions options;
	TupleDesc	tupdesc;
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	if (PG_ARGISNULL(0))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, NULL,
				   pstrdup("search parameters must not be null"),
				   pstrdup("The parameters are a JSON object with the keys " SEARCH_KEYS_TEXT "."));
	ParseSearchParams(PG_GETARG_JSONB_P(0), false, &sp);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "search_events must return a record");
	tupdesc = BlessTupleDesc(tupdesc);

	FillSearchArgs(&sp, values, nulls);

	initStringInfo(&body);
	appendStringInfoChar(&body, '[');
	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = PageReceive;
	recv.pub.rStartup = PageStartup;
	recv.pub.rShutdown = PageShutdown;
	recv.pub.rDestroy = PageDestroy;
	recv.pub.mydest = DestNone;
	recv.body = &body;
	recv.limit = sp.limit;

	SPI_connect();
	/* a receiver other than SPI's: a SELECT reports SPI_OK_UTILITY */
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = (DestReceiver *) &recv;
	if (sp.offset == 0)
	{
		PagePlanKey key;

		memset(&key, 0, sizeof(key));	/* the padding is hashed too */
		key.action = sp.nactions > 0;
		key.action_from = sp.has_action_from;
		key.action_to = sp.has_action_to;
		options.params = SearchParamList(values, nulls, 7);
		ReadSpans(&key, sp.start_ts, sp.to, &options, (int64) sp.limit + 1, &recv.rows);
	}
	else
	{
		/*
		 * The legacy offset: planned with its values on every call, since an
		 * OFFSET the planner cannot see makes it assume a tenth of the rows
		 * are wanted.  Rare, and slow by nature.
		 */
		int			rc;

		if (offset_plan == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare_cursor(SEARCH_SELECT " LIMIT $8 OFFSET $9", 9,
												  search_types, CURSOR_OPT_CUSTOM_PLAN);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare the search: %s", SPI_result_code_string(SPI_result));
			offset_plan = plan;
		}
		values[7] = Int64GetDatum((int64) sp.limit + 1);
		values[8] = Int64GetDatum(sp.offset);
		nulls[7] = nulls[8] = ' ';
		options.params = SearchParamList(values, nulls, 9);
		rc = SPI_execute_plan_extended(offset_plan, &options);
		if (rc < 0)
			elog(ERROR, "search failed: %s", SPI_result_code_string(rc));
	}
	SPI_finish();
	appendStringInfoChar(&body, ']');

	out[0] = CStringGetTextDatum(body.data);
	if (recv.rows > sp.limit)
		out[1] = CStringGetTextDatum(EncodeCursor(sp.user_id, recv.last_ts, recv.last_id));
	else
	{
		out[1] = (Datum) 0;
		outnulls[1] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, outnulls)));
}

/* State of an export between calls. */
typedef struct ExportState
{
	bool		csv;
	bool		header_pending;
	PagePlanKey key;			/* the spans' plans, but for lo and hi */
	Datum		values[7];		/* the parameters of SEARCH_WHERE */
	char		nulls[7];
	TimestampTz *bounds;		/* the range cut at partition bounds */
	int			nbounds;
	int			span;			/* bounds[span] starts the next span */
	char	   *portal_name;	/* the cursor of the span being read, or
								 * NULL */
	TimestampTz last_ts;		/* the keyset position of the last row read */
	int64		last_id;
	MemoryContext state_cxt;
	MemoryContext batch_cxt;
	Datum	   *lines;
	int			nlines;
	int			next;
	bool		done;
} ExportState;

#define EXPORT_FETCH 1000

/*
 * ExportShutdown closes the cursor of an export that its caller stopped
 * reading (a LIMIT, a cursor over the export closed) or started over (a
 * rescan, as in a LATERAL subquery).  Left open, it would keep its executor
 * and up to PAGE_SPAN_MAX index scans until the transaction ends, some
 * 0.6 MB per abandoned export.  Registered after SRF_FIRSTCALL_INIT's own
 * callback, it runs before that one frees the state.
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
 * each, with the session's kept span plans (PagePlan, without LIMIT):
 * planning the query over a 30-day range with its values on every call
 * cost about as much as exporting a user's thousand events of it.  All
 * cursors read with the caller's snapshot (read_only), so the export is one
 * consistent result; the spans are disjoint and ascending, so the rows come
 * in (recorded_at, id) order.
 */
Datum
user_activity_export_events(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ExportState *st;

	if (SRF_IS_FIRSTCALL())
	{
		SearchParams sp;
		char	   *format;
		MemoryContext old;

		if (PG_ARGISNULL(0))
			ThrowParam(ERRCODE_NOT_NULL_VIOLATION, NULL,
					   pstrdup("search parameters must not be null"),
					   pstrdup("The parameters are a JSON object with the keys " EXPORT_KEYS_TEXT "."));
		if (PG_ARGISNULL(1))
			ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "format",
					   pstrdup("missing required argument \"format\""),
					   pstrdup("Argument \"format\" must be ndjson or csv."));
		format = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strcmp(format, "ndjson") != 0 && strcmp(format, "csv") != 0)
			ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "format",
					   psprintf("invalid export format \"%s\"", UaQuoteValue(format, strlen(format))),
					   pstrdup("Argument \"format\" must be ndjson or csv."));
		ParseSearchParams(PG_GETARG_JSONB_P(0), true, &sp);

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(ExportState));
		st->csv = (strcmp(format, "csv") == 0);
		st->header_pending = st->csv;
		memset(&st->key, 0, sizeof(st->key));	/* the padding is hashed too */
		st->key.action = sp.nactions > 0;
		st->key.action_from = sp.has_action_from;
		st->key.action_to = sp.has_action_to;
		FillSearchArgs(&sp, st->values, st->nulls);
		st->nbounds = PageBounds(sp.start_ts, sp.to, &st->bounds);
		st->last_ts = sp.start_ts;
		st->last_id = sp.start_id;
		st->state_cxt = funcctx->multi_call_memory_ctx;
		st->batch_cxt = AllocSetContextCreate(funcctx->multi_call_memory_ctx,
											  "user_activity export batch",
											  ALLOCSET_DEFAULT_SIZES);
		funcctx->user_fctx = st;
		RegisterExprContextCallback(((ReturnSetInfo *) fcinfo->resultinfo)->econtext,
									ExportShutdown, PointerGetDatum(st));
		MemoryContextSwitchTo(old);
	}

	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	if (st->header_pending)
	{
		st->header_pending = false;
		SRF_RETURN_NEXT(funcctx, CStringGetTextDatum("id,user_id,event_action_timestamp,action,metadata,event_id,recorded_at"));
	}

	if (st->next >= st->nlines && !st->done)
	{
		MemoryContextReset(st->batch_cxt);
		st->nlines = st->next = 0;
		st->lines = MemoryContextAlloc(st->batch_cxt, sizeof(Datum) * EXPORT_FETCH);
		SPI_connect();
		while (st->nlines < EXPORT_FETCH && !st->done)
		{
			Portal		portal = NULL;
			long		wanted = EXPORT_FETCH - st->nlines;
			MemoryContext old;

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
				Datum		values[7];
				int			nestlevel;

				memcpy(values, st->values, sizeof(values));
				values[1] = TimestampTzGetDatum(st->last_ts);
				values[2] = Int64GetDatum(st->last_id);
				nestlevel = SpanPlanningBegin();
				portal = SPI_cursor_open(NULL, PagePlan(&st->key), values, st->nulls, true);
				SpanPlanningEnd(nestlevel);
				st->portal_name = MemoryContextStrdup(st->state_cxt, portal->name);
			}

			SPI_cursor_fetch(portal, true, wanted);
			if (SPI_processed > 0)
			{
				HeapTuple	last = SPI_tuptable->vals[SPI_processed - 1];
				bool		isnull;

				/* SEARCH_COLUMNS: id first, recorded_at seventh */
				st->last_id = DatumGetInt64(SPI_getbinval(last, SPI_tuptable->tupdesc, 1, &isnull));
				st->last_ts = DatumGetTimestampTz(SPI_getbinval(last, SPI_tuptable->tupdesc, 7, &isnull));
			}
			old = MemoryContextSwitchTo(st->batch_cxt);
			for (uint64 r = 0; r < SPI_processed; r++)
			{
				StringInfoData line;

				initStringInfo(&line);
				UaAppendSpiRow(&line, SPI_tuptable->vals[r], SPI_tuptable->tupdesc, st->csv);
				st->lines[st->nlines++] = PointerGetDatum(cstring_to_text_with_len(line.data, line.len));
				pfree(line.data);
			}
			MemoryContextSwitchTo(old);
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
	}

	if (st->next < st->nlines)
		SRF_RETURN_NEXT(funcctx, st->lines[st->next++]);
	/* every span's cursor is closed, and SRF_RETURN_DONE frees st */
	UnregisterExprContextCallback(((ReturnSetInfo *) fcinfo->resultinfo)->econtext,
								  ExportShutdown, PointerGetDatum(st));
	SRF_RETURN_DONE(funcctx);
}

/*
 * FindArgs validates the arguments that find_events() and find_start() share
 * (user_id, since, until, page_size, after) and sets *sp's user, range and
 * the keyset position the page starts after: (since, 0), or the position in
 * the cursor "after".
 */
static void
FindArgs(FunctionCallInfo fcinfo, SearchParams *sp)
{
	memset(sp, 0, sizeof(*sp));
	if (PG_ARGISNULL(0))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "user_id",
				   pstrdup("missing required argument \"user_id\""),
				   pstrdup("Argument \"user_id\" must not be null."));
	if (PG_ARGISNULL(1))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "since",
				   pstrdup("missing required argument \"since\""),
				   pstrdup("Argument \"since\" must not be null."));
	if (PG_ARGISNULL(2))
		ThrowParam(ERRCODE_NOT_NULL_VIOLATION, "until",
				   pstrdup("missing required argument \"until\""),
				   pstrdup("Argument \"until\" must not be null."));
	sp->user_id = PG_GETARG_INT64(0);
	sp->from = PG_GETARG_TIMESTAMPTZ(1);
	sp->to = PG_GETARG_TIMESTAMPTZ(2);
	if (sp->user_id <= 0)
		ThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "user_id",
				   psprintf("user_id " INT64_FORMAT " out of range", sp->user_id),
				   pstrdup("Argument \"user_id\" must be an integer from 1 to 9223372036854775807."));
	if (sp->to < sp->from)
		ThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "until",
				   pstrdup("\"until\" is earlier than \"since\""),
				   pstrdup("Arguments \"since\" and \"until\" bound the recorded time as [since, until)."));
	if (!PG_ARGISNULL(3) && PG_GETARG_INT32(3) < 1)
		ThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "page_size",
				   psprintf("page_size %d out of range", PG_GETARG_INT32(3)),
				   pstrdup("Argument \"page_size\" must be positive, or null for every row."));
	sp->start_ts = sp->from;
	sp->start_id = 0;
	if (!PG_ARGISNULL(4))
	{
		text	   *after = PG_GETARG_TEXT_PP(4);
		TimestampTz cts;
		int64		cid;

		if (!DecodeCursor(VARDATA_ANY(after), VARSIZE_ANY_EXHDR(after), sp->user_id, &cts, &cid))
			ThrowBadCursor("after");
		if (cts > sp->start_ts || (cts == sp->start_ts && cid > 0))
		{
			sp->start_ts = cts;
			sp->start_id = cid;
		}
	}
}

/*
 * find_events' rows go from the executor's slot straight into the
 * function's tuplestore, in the function's row type (the table's, whose
 * dropped columns, if any, the query's e.* leaves out).
 */
typedef struct FindReceiver
{
	DestReceiver pub;
	Tuplestorestate *store;
	TupleDesc	desc;			/* the row type of user_activity.events */
	Datum	   *values;
	bool	   *nulls;
	int64		rows;			/* rows received */
} FindReceiver;

static void
FindStartup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	FindReceiver *r = (FindReceiver *) self;
	int			j = 0;

	for (int i = 0; i < r->desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(r->desc, i);

		if (att->attisdropped)
			continue;
		if (j >= typeinfo->natts || TupleDescAttr(typeinfo, j)->atttypid != att->atttypid)
			elog(ERROR, "the columns of user_activity.events do not match its row type");
		j++;
	}
	if (j != typeinfo->natts)
		elog(ERROR, "the columns of user_activity.events do not match its row type");
}

static bool
FindReceive(TupleTableSlot *slot, DestReceiver *self)
{
	FindReceiver *r = (FindReceiver *) self;
	int			j = 0;

	slot_getallattrs(slot);
	for (int i = 0; i < r->desc->natts; i++)
	{
		if (TupleDescAttr(r->desc, i)->attisdropped)
		{
			r->values[i] = (Datum) 0;
			r->nulls[i] = true;
			continue;
		}
		r->values[i] = slot->tts_values[j];
		r->nulls[i] = slot->tts_isnull[j];
		j++;
	}
	tuplestore_putvalues(r->store, r->desc, r->values, r->nulls);
	r->rows++;
	return true;
}

static void
FindShutdown(DestReceiver *self)
{
}

static void
FindDestroy(DestReceiver *self)
{
}

/*
 * find_events(user_id, since, until, page_size, after, actions,
 * action_since, action_until) returns a user's events recorded in [since,
 * until), ordered by (recorded_at, id): page_size rows (null: all) after
 * the keyset position of the cursor "after", with the optional filters.
 *
 * It runs search_events' page query with the session's kept span plans
 * (ReadSpans), selecting e.* rather than the JSON's columns; an SQL
 * function would plan its query on every call, generic over every
 * partition of the table, which on 30 daily partitions costs several times
 * reading a 100-row page.  The filters mean what they say in SQL: actions
 * is matched with = ANY, so an empty array, or one of nulls only, matches
 * nothing.
 */
Datum
user_activity_find_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SearchParams sp;
	PagePlanKey key;
	Datum		values[7];
	char		nulls[7];
	FindReceiver recv;
	SPIExecuteOptions options;
	int64		wanted;

	FindArgs(fcinfo, &sp);
	InitMaterializedSRF(fcinfo, 0);

	memset(&key, 0, sizeof(key));	/* the padding is hashed too */
	wanted = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	key.action = !PG_ARGISNULL(5);
	key.action_from = !PG_ARGISNULL(6);
	key.action_to = !PG_ARGISNULL(7);
	key.whole_row = true;

	values[0] = Int64GetDatum(sp.user_id);
	values[1] = TimestampTzGetDatum(sp.start_ts);
	values[2] = Int64GetDatum(sp.start_id);
	values[3] = TimestampTzGetDatum(sp.to);
	memset(nulls, ' ', sizeof(nulls));
	values[4] = (Datum) 0;
	nulls[4] = 'n';
	if (key.action)
	{
		/* the query takes the actions' labels (SEARCH_ACTION), nulls kept */
		ArrayType  *actions = PG_GETARG_ARRAYTYPE_P(5);
		Datum	   *elems;
		bool	   *elemnulls;
		int			n;

		deconstruct_array(actions, ARR_ELEMTYPE(actions), sizeof(Oid), true,
						  TYPALIGN_INT, &elems, &elemnulls, &n);
		if (n == 0)
			values[4] = PointerGetDatum(construct_empty_array(TEXTOID));
		else
		{
			int			lbound = 1;

			for (int i = 0; i < n; i++)
				if (!elemnulls[i])
					elems[i] = CStringGetTextDatum(DatumGetCString(DirectFunctionCall1(enum_out, elems[i])));
			values[4] = PointerGetDatum(construct_md_array(elems, elemnulls, 1, &n, &lbound,
														   TEXTOID, -1, false, TYPALIGN_INT));
		}
		nulls[4] = ' ';
	}
	values[5] = key.action_from ? PG_GETARG_DATUM(6) : (Datum) 0;
	if (!key.action_from)
		nulls[5] = 'n';
	values[6] = key.action_to ? PG_GETARG_DATUM(7) : (Datum) 0;
	if (!key.action_to)
		nulls[6] = 'n';

	memset(&recv, 0, sizeof(recv));
	recv.pub.receiveSlot = FindReceive;
	recv.pub.rStartup = FindStartup;
	recv.pub.rShutdown = FindShutdown;
	recv.pub.rDestroy = FindDestroy;
	recv.pub.mydest = DestNone;
	recv.store = rsinfo->setResult;
	recv.desc = rsinfo->setDesc;
	recv.values = palloc(sizeof(Datum) * recv.desc->natts);
	recv.nulls = palloc(sizeof(bool) * recv.desc->natts);

	SPI_connect();
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = (DestReceiver *) &recv;
	options.params = SearchParamList(values, nulls, 7);
	ReadSpans(&key, sp.start_ts, sp.to, &options, wanted, &recv.rows);
	SPI_finish();

	return (Datum) 0;
}

/*
 * find_start(user_id, since, until, page_size, after) validates the
 * arguments of find_events() and returns the keyset position its page
 * starts after: (since, 0), or the position in the cursor "after".  (The
 * SQL function find_events of versions up to 1.2 calls it.)
 */
Datum
user_activity_find_start(PG_FUNCTION_ARGS)
{
	SearchParams sp;
	TupleDesc	tupdesc;
	Datum		out[2];
	bool		outnulls[2] = {false, false};

	FindArgs(fcinfo, &sp);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "find_start must return a record");
	tupdesc = BlessTupleDesc(tupdesc);
	out[0] = TimestampTzGetDatum(sp.start_ts);
	out[1] = Int64GetDatum(sp.start_id);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, out, outnulls)));
}

/*
 * event_cursor(user_id, recorded_at, id) is the cursor of the page that
 * follows the given event, for find_events(after => ...).
 */
Datum
user_activity_event_cursor(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(EncodeCursor(PG_GETARG_INT64(0),
												  PG_GETARG_TIMESTAMPTZ(1),
												  PG_GETARG_INT64(2))));
}
