/*-------------------------------------------------------------------------
 *
 * event_jsonb.c
 *	  The event as jsonb, for record_event() and record_events(), and the
 *	  helpers that build ingest's other jsonb results.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "ua_event.h"

/*
 * The same event as jsonb, built directly rather than printed and parsed
 * again: record_event() and record_events() return jsonb, and parsing their
 * own output cost a sixth of a single ingest.
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

void
UaPushInt64(JsonbParseState **st, int64 n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(st, WJB_VALUE, &v);
}

void
UaPushTimestamp(JsonbParseState **st, TimestampTz ts)
{
	StringInfoData buf;

	initStringInfo(&buf);
	UaAppendTimestamp(&buf, ts);
	UaPushString(st, buf.data);
}

/*
 * UaPushEvent pushes one event object, with "status" when status is not
 * NULL, and returns it (the whole value once the outermost object ends).
 */
JsonbValue *
UaPushEvent(JsonbParseState **st, int64 id, int64 user_id,
			const char *action, TimestampTz action_time,
			Jsonb *metadata, const pg_uuid_t *event_id,
			TimestampTz recorded_at, const char *status)
{
	JsonbValue	meta;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	UaPushKey(st, "id");
	UaPushInt64(st, id);
	UaPushKey(st, "user_id");
	UaPushInt64(st, user_id);
	UaPushKey(st, "event_action_timestamp");
	UaPushTimestamp(st, action_time);
	UaPushKey(st, "action");
	UaPushString(st, action);
	UaPushKey(st, "metadata");
	meta.type = jbvBinary;
	meta.val.binary.data = &metadata->root;
	meta.val.binary.len = VARSIZE(metadata) - VARHDRSZ;
	pushJsonbValue(st, WJB_VALUE, &meta);
	UaPushKey(st, "event_id");
	if (event_id)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		UaAppendUuid(&buf, event_id);
		UaPushString(st, buf.data);
	}
	else
		UaPushString(st, NULL);
	UaPushKey(st, "recorded_at");
	UaPushTimestamp(st, recorded_at);
	if (status)
	{
		UaPushKey(st, "status");
		UaPushString(st, status);
	}
	return pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/* UaPushError pushes {"sqlstate", "field", "message", "detail"[, "hint"]}. */
void
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
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

/*
 * Building an event's jsonb for record_event() by pushing each value costs
 * more than its insert's routing: pushJsonbValue() grows its pair array, sorts
 * the keys and unpacks the metadata to pack it again.  The shape is fixed,
 * so UaEventJsonb() writes jsonb's format directly (as convertJsonbObject()
 * in jsonb_util.c does): the keys in jsonb's order (shorter first, then
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
 * UaEventJsonb returns the event object with "status" when status is not
 * NULL: the same value UaPushEvent() builds.
 */
Jsonb *
UaEventJsonb(int64 id, int64 user_id, const char *action,
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
