/*-------------------------------------------------------------------------
 *
 * event_jsonb.c
 *	  The event as jsonb, record_event()'s result, and the helpers that
 *	  build ingest's jsonb results value by value.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "ua_event.h"

/*
 * The Push helpers build ingest's jsonb results value by value rather than
 * printing them and parsing the text again: UaPushKey() pushes an object's
 * key, the others a value.
 */
void
UaPushKey(JsonbParseState **st, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &v);
}

/* UaPushString pushes s as a JSON string, or null when s is NULL. */
void
UaPushString(JsonbParseState **st, const char *s)
{
	JsonbValue	v;

	if (s == NULL)
	{
		v.type = jbvNull;
		pushJsonbValue(st, WJB_VALUE, &v);
		return;
	}
	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = strlen(s);
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* UaPushInt64 pushes n as a JSON number. */
void
UaPushInt64(JsonbParseState **st, int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* UaPushTimestamp pushes ts as a string, as UaAppendTimestamp() prints it. */
void
UaPushTimestamp(JsonbParseState **st, TimestampTz ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	UaAppendTimestamp(&buf, ts);
	UaPushString(st, buf.data);
}

/*
 * UaPushError pushes {"sqlstate", "field", "message", "detail"[, "hint"]};
 * returns the object when it is the whole value built (pushJsonbValue).
 */
JsonbValue *
UaPushError(JsonbParseState **st, const UaError *err)
{
	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	UaPushKey(st, "sqlstate");
	UaPushString(st, pstrdup(unpack_sql_state(err->sqlerrcode)));	/* static buffer */
	UaPushKey(st, "field");
	UaPushString(st, err->field);
	UaPushKey(st, "message");
	UaPushString(st, err->message);
	UaPushKey(st, "detail");
	UaPushString(st, err->detail);
	if (err->hint)
	{
		UaPushKey(st, "hint");
		UaPushString(st, err->hint);
	}
	return pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * UaEventJsonb returns the event object, with "status" when status is not
 * NULL: record_event()'s result, which then also carries "createdAt", the
 * recorded time under the name the original service's clients read.  The metadata goes in as the container it
 * is, not unpacked value by value.  (Writing jsonb's on-disk format by hand
 * instead was measured at a few per cent of a record_event() call, too
 * little to depend on that format: tests/bench/15-event-jsonb.sh.)
 */
Jsonb *
UaEventJsonb(int64 id, int64 user_id, const char *action,
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
		/* the original service's one answer to POST /api/event */
		UaPushKey(&st, "createdAt");
		UaPushTimestamp(&st, recorded_at);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}
