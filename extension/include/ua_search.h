/*-------------------------------------------------------------------------
 *
 * ua_search.h
 *	  Declarations shared by the files of the search: a user's events by
 *	  recorded time, one page as JSON (search_page.c), a streaming export
 *	  (search_export.c) and rows for analysts (search_find.c), all read by
 *	  the span reader (search_spans.c) from a validated search
 *	  (search_params.c) after a keyset cursor (search_cursor.c).
 *
 * Searches filter on recorded_at, the time the system recorded the event,
 * over [from, to), ordered by (recorded_at, id).  Paging is by keyset: the
 * cursor holds the (recorded_at, id) of the last row of a page, and the next
 * page starts strictly after it, so the index (user_id, recorded_at, id)
 * serves the 1000th page as cheaply as the first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_SEARCH_H
#define UA_SEARCH_H

#include "executor/spi.h"
#include "fmgr.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "ua_event.h"
#include "user_activity.h"

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
	Jsonb	   *metadata;		/* events whose metadata contains it, or NULL */
} SearchParams;

#define SEARCH_KEYS_TEXT "user_id, from, to, limit, cursor, action, action_from, action_to, metadata, offset"
#define EXPORT_KEYS_TEXT "user_id, from, to, action, action_from, action_to, metadata"

/*
 * The page query.  Its parameters: $1 user_id, ($2, $3) the keyset position
 * the rows start after, $4 the end of the range, $5 to $8 the filters; the
 * legacy offset adds $9 and $10 (LIMIT, OFFSET).  A filter only removes
 * rows, so the keyset position of a page's last row starts the next page
 * under the same filter.
 */
#define SEARCH_NARGS 8
#define SEARCH_COLUMNS \
	"SELECT e.id, e.user_id, e.action, e.event_action_timestamp, e.metadata, " \
	"e.event_id, e.recorded_at "
#define SEARCH_WHERE \
	"FROM " UA_EVENTS_QUALIFIED " e " \
	"WHERE e.user_id = $1 " \
	"AND (e.recorded_at, e.id) > ($2, $3) " \
	"AND e.recorded_at >= $2 " \
	"AND e.recorded_at < $4 "
#define SEARCH_ACTION \
	"AND ($5::pg_catalog.text[] IS NULL OR e.action = ANY ($5::pg_catalog.text[]::" UA_SCHEMA ".action[])) "
#define SEARCH_ACTION_FROM \
	"AND ($6::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp >= $6) "
#define SEARCH_ACTION_TO \
	"AND ($7::pg_catalog.timestamptz IS NULL OR e.event_action_timestamp < $7) "
#define SEARCH_METADATA \
	"AND e.metadata OPERATOR(pg_catalog.@>) $8::pg_catalog.jsonb "
#define SEARCH_METADATA_OR_NULL \
	"AND ($8::pg_catalog.jsonb IS NULL OR e.metadata OPERATOR(pg_catalog.@>) $8) "
#define SEARCH_ORDER "ORDER BY e.recorded_at, e.id"
#define SEARCH_SELECT \
	SEARCH_COLUMNS SEARCH_WHERE SEARCH_ACTION SEARCH_ACTION_FROM SEARCH_ACTION_TO \
	SEARCH_METADATA_OR_NULL SEARCH_ORDER

/*
 * A span reader's plan: one per span of partitions (lo, hi), filters and
 * select list.  Zero a key before setting it: its padding is hashed too.
 */
typedef struct PagePlanKey
{
	TimestampTz lo;				/* DT_NOBEGIN: no lower bound */
	TimestampTz hi;				/* DT_NOEND: no upper bound */
	bool		action;			/* the filters present */
	bool		action_from;
	bool		action_to;
	bool		metadata;
	bool		whole_row;		/* e.* (find_events), not SEARCH_COLUMNS */
} PagePlanKey;

/*
 * The widest span read by one execution, in partitions.  A plan's memory
 * grows with its partitions, so this and the number of plans kept bound
 * the cache; starting index scans costs per partition anyway, so wider
 * spans would save little.
 */
#define PAGE_SPAN_MAX 16

/* search_cursor.c */
extern char *UaEncodeCursor(int64 user_id, TimestampTz ts, int64 id);
extern bool UaDecodeCursor(const char *s, int len, int64 user_id,
						   TimestampTz *ts, int64 *id);

/* search_params.c */
extern void UaThrowParam(int sqlerrcode, const char *field, char *message,
						 char *detail) pg_attribute_noreturn();
extern void UaThrowBadCursor(const char *field) pg_attribute_noreturn();
extern void UaParseSearchParams(Jsonb *params, bool for_export,
								SearchParams *sp);
extern Jsonb *UaParseMetadataFilter(const char *s, int len, const char *field);
extern void UaCheckMetadataFilter(Jsonb *filter, const char *field);

/* search_spans.c */
extern Oid	ua_search_types[SEARCH_NARGS + 2];
extern void UaFillSearchArgs(const SearchParams *sp, Datum *values,
							 char *nulls);
extern ParamListInfo UaSearchParamList(const Datum *values, const char *nulls,
									   int n);
extern int	UaPageBounds(TimestampTz from, TimestampTz to,
						 TimestampTz **bounds);
extern SPIPlanPtr UaPagePlan(const PagePlanKey *key);
extern int	UaSpanPlanningBegin(void);
extern void UaSpanPlanningEnd(int nestlevel);
extern void UaReadSpans(PagePlanKey *key, TimestampTz from, TimestampTz to,
						SPIExecuteOptions *options, int64 wanted,
						const int64 *received);

#endif							/* UA_SEARCH_H */
