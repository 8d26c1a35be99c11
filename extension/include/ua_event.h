/*-------------------------------------------------------------------------
 *
 * ua_event.h
 *	  The event as ingest, validation, search and export see it, and the
 *	  helpers they share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_EVENT_H
#define UA_EVENT_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

/* guc.c */
extern int	ua_max_batch_size;
extern int	ua_max_metadata_bytes;
extern int	ua_future_margin;	/* seconds */

/* The four actions, in the order of the enum type. */
#define UA_NUM_ACTIONS 4
extern const char *const ua_action_names[UA_NUM_ACTIONS];

/* A validated event, ready to insert. */
typedef struct UaEvent
{
	int64		user_id;
	int			action;			/* index into ua_action_names */
	TimestampTz action_time;
	Jsonb	   *metadata;		/* always an object */
	bool		has_event_id;
	pg_uuid_t	event_id;
} UaEvent;

/*
 * A validation failure, kept as data so that a batch can report it per item
 * while a single call raises it.
 */
typedef struct UaError
{
	int			sqlerrcode;
	const char *field;			/* NULL when no single field is at fault */
	char	   *message;
	char	   *detail;
	char	   *hint;
} UaError;

/* validate.c */
extern bool UaEventFromJsonb(JsonbContainer *obj, UaEvent *ev, UaError *err);
extern bool UaCheckEvent(UaEvent *ev, UaError *err);
extern bool UaSetError(UaError *err, int sqlerrcode, const char *field,
					   char *message, char *detail);
extern void UaThrowError(const UaError *err) pg_attribute_noreturn();
/* strict by design: timestamptz and uuid input take forms the API refuses */
extern bool UaParseTimestamp(const char *s, int len, TimestampTz *result);
extern bool UaParseUuid(const char *s, int len, pg_uuid_t *result);
extern int	UaActionIndex(const char *s, int len);
extern char *UaQuoteValue(const char *s, int len);

/* event_text.c */
extern void UaAppendTimestamp(StringInfo buf, TimestampTz ts);
extern void UaAppendUuid(StringInfo buf, const pg_uuid_t *uuid);
extern void UaAppendJsonb(StringInfo buf, Jsonb *jb);
extern void UaAppendEventJson(StringInfo buf, int64 id, int64 user_id,
							  const char *action, TimestampTz action_time,
							  Jsonb *metadata, const pg_uuid_t *event_id,
							  TimestampTz recorded_at);
extern void UaAppendEventCsv(StringInfo buf, int64 id, int64 user_id,
							 const char *action, TimestampTz action_time,
							 Jsonb *metadata, const pg_uuid_t *event_id,
							 TimestampTz recorded_at);
extern void UaAppendSpiRow(StringInfo buf, HeapTuple tup, TupleDesc desc,
						   bool csv);

/* event_jsonb.c */
extern void UaPushKey(JsonbParseState **st, const char *key);
extern void UaPushString(JsonbParseState **st, const char *s);
extern void UaPushInt64(JsonbParseState **st, int64 n);
extern void UaPushTimestamp(JsonbParseState **st, TimestampTz ts);
extern JsonbValue *UaPushError(JsonbParseState **st, const UaError *err);
extern Jsonb *UaEventJsonb(int64 id, int64 user_id, const char *action,
						   TimestampTz action_time, Jsonb *metadata,
						   const pg_uuid_t *event_id, TimestampTz recorded_at,
						   const char *status);

#endif							/* UA_EVENT_H */
