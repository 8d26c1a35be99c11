/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Validation of events, once, for SQL and REST alike.
 *
 * Validation produces a UaError instead of raising, so that record_events()
 * can report a rejection per item without a subtransaction per item; the
 * single-event functions raise the same error with UaThrowError.  Every rule
 * has its own SQLSTATE (see docs/interfaces.md), and the error's column name
 * carries the field at fault so that clients need not parse messages.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/builtins.h"
#include "utils/numeric.h"
#include "mb/pg_wchar.h"
#include "utils/varlena.h"

#include "ua_event.h"

const char *const ua_action_names[UA_NUM_ACTIONS] = {
	"created", "updated", "deleted", "viewed"
};

/* Top-level fields of an event, as the REST API receives it. */
static const char *const known_fields[] = {
	"user_id", "event_action_timestamp", "action", "metadata", "event_id"
};
#define NUM_KNOWN_FIELDS lengthof(known_fields)

#define KNOWN_FIELDS_TEXT "user_id, event_action_timestamp, action, metadata, event_id"

/* Longest piece of a rejected value quoted back in a message. */
#define MAX_QUOTED_VALUE 64

/*
 * UaSetError fills err and returns false, so that validators can
 * "return UaSetError(...)".
 */
bool
UaSetError(UaError *err, int sqlerrcode, const char *field,
		   char *message, char *detail)
{
	err->sqlerrcode = sqlerrcode;
	err->field = field;
	err->message = message;
	err->detail = detail;
	err->hint = NULL;
	return false;
}

/*
 * UaThrowError raises a validation error with the field as the column name
 * (PG_DIAG_COLUMN_NAME), which libpq clients read without parsing text.
 */
void
UaThrowError(const UaError *err)
{
	ereport(ERROR,
			(errcode(err->sqlerrcode),
			 errmsg_internal("%s", err->message),
			 err->detail ? errdetail_internal("%s", err->detail) : 0,
			 err->hint ? errhint("%s", err->hint) : 0,
			 err->field ? err_generic_string(PG_DIAG_COLUMN_NAME, err->field) : 0));
	pg_unreachable();
}

/*
 * UaQuoteValue returns a value for quoting in a message, cut short so that
 * a huge rejected value does not make a huge error.
 */
char *
UaQuoteValue(const char *s, int len)
{
	if (len > MAX_QUOTED_VALUE)
		return psprintf("%.*s...", pg_mbcliplen(s, len, MAX_QUOTED_VALUE), s);
	return pnstrdup(s, len);
}

/* UaActionIndex returns the index of an action name, or -1. */
int
UaActionIndex(const char *s, int len)
{
	int			i;

	for (i = 0; i < UA_NUM_ACTIONS; i++)
	{
		if ((int) strlen(ua_action_names[i]) == len &&
			memcmp(ua_action_names[i], s, len) == 0)
			return i;
	}
	return -1;
}

static bool
ReadDigits(const char **p, const char *end, int n, int *result)
{
	int			v = 0;

	if (end - *p < n)
		return false;
	for (int i = 0; i < n; i++)
	{
		char		c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*result = v;
	return true;
}

/*
 * UaParseTimestamp parses a strict RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS,
 * an optional fraction of up to 9 digits (rounded to microseconds, as
 * PostgreSQL stores them), and a zone offset, Z or +hh:mm / -hh:mm.  Lower
 * case t and z are allowed as RFC 3339 allows them; a space, a missing
 * offset, a leap second or an impossible date are not.
 */
bool
UaParseTimestamp(const char *s, int len, TimestampTz *result)
{
	const char *p = s;
	const char *end = s + len;
	int			year,
				mon,
				mday,
				hour,
				min,
				sec,
				offset = 0;
	int64		usec = 0;
	int			jd;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			maxday;

	if (!ReadDigits(&p, end, 4, &year) || p >= end || *p++ != '-' ||
		!ReadDigits(&p, end, 2, &mon) || p >= end || *p++ != '-' ||
		!ReadDigits(&p, end, 2, &mday) || p >= end ||
		(*p != 'T' && *p != 't'))
		return false;
	p++;
	if (!ReadDigits(&p, end, 2, &hour) || p >= end || *p++ != ':' ||
		!ReadDigits(&p, end, 2, &min) || p >= end || *p++ != ':' ||
		!ReadDigits(&p, end, 2, &sec))
		return false;
	if (p < end && *p == '.')
	{
		int			ndigits = 0;
		int64		frac = 0;

		p++;
		while (p < end && *p >= '0' && *p <= '9')
		{
			if (ndigits >= 9)
				return false;
			frac = frac * 10 + (*p - '0');
			ndigits++;
			p++;
		}
		if (ndigits == 0)
			return false;
		for (; ndigits < 9; ndigits++)
			frac *= 10;
		/* nanoseconds to microseconds, half away from zero */
		usec = (frac + 500) / 1000;
	}
	if (p >= end)
		return false;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			sign = (*p == '-') ? -1 : 1;
		int			oh,
					om;

		p++;
		if (!ReadDigits(&p, end, 2, &oh) || p >= end || *p++ != ':' ||
			!ReadDigits(&p, end, 2, &om))
			return false;
		if (oh > 23 || om > 59)
			return false;
		offset = sign * (oh * 3600 + om * 60);
	}
	else
		return false;
	if (p != end)
		return false;

	if (mon < 1 || mon > 12 || mday < 1 || hour > 23 || min > 59 || sec > 59)
		return false;
	maxday = mdays[mon - 1];
	if (mon == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
		maxday = 29;
	if (mday > maxday)
		return false;

	jd = date2j(year, mon, mday) - POSTGRES_EPOCH_JDATE;
	*result = (int64) jd * USECS_PER_DAY +
		((int64) (hour * 3600 + min * 60 + sec) - offset) * USECS_PER_SEC +
		usec;
	return true;
}

static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * UaParseUuid accepts the canonical 8-4-4-4-12 form only (either case);
 * PostgreSQL's uuid input is laxer (braces, no hyphens) than an API should
 * be.
 */
bool
UaParseUuid(const char *s, int len, pg_uuid_t *result)
{
	int			i,
				j = 0;

	if (len != 36)
		return false;
	for (i = 0; i < 36;)
	{
		int			hi,
					lo;

		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
			i++;
			continue;
		}
		hi = HexValue(s[i]);
		lo = HexValue(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		result->data[j++] = (unsigned char) ((hi << 4) | lo);
		i += 2;
	}
	return true;
}

static const char *
JsonTypeName(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsObject(v->val.binary.data) ? "an object" : "an array";
		case jbvObject:
			return "an object";
		case jbvArray:
			return "an array";
		default:
			return "an unknown type";
	}
}

static bool
WrongType(UaError *err, const char *field, const char *want, const JsonbValue *v)
{
	return UaSetError(err, ERRCODE_DATATYPE_MISMATCH, field,
					  psprintf("invalid type for field \"%s\"", field),
					  psprintf("Field \"%s\" must be %s, not %s.",
							   field, want, JsonTypeName(v)));
}

static bool
Missing(UaError *err, const char *field, const char *rule)
{
	return UaSetError(err, ERRCODE_NOT_NULL_VIOLATION, field,
					  psprintf("missing required field \"%s\"", field),
					  psprintf("Field \"%s\" is required and must be %s.", field, rule));
}

/*
 * CheckUserId accepts a JSON integer from 1 to 2^63-1.  jsonb keeps numbers
 * as numeric, so 1e3 is the integer 1000 while 1.0 and 1.5 are not integers.
 */
static bool
CheckUserId(const JsonbValue *v, int64 *result, UaError *err)
{
	char	   *text;
	const char *digits;
	char	   *end;
	int64		id;

	if (v == NULL || v->type == jbvNull)
		return Missing(err, "user_id", "a positive integer");
	if (v->type != jbvNumeric)
		return WrongType(err, "user_id", "a JSON integer", v);

	/* numeric_out prints an integral numeric as plain decimal digits */
	text = DatumGetCString(DirectFunctionCall1(numeric_out,
											   NumericGetDatum(v->val.numeric)));
	digits = text + (text[0] == '-');
	if (strspn(digits, "0123456789") != strlen(digits))
		return UaSetError(err, ERRCODE_DATATYPE_MISMATCH, "user_id",
						  pstrdup("invalid type for field \"user_id\""),
						  psprintf("Field \"user_id\" must be a JSON integer, not %s.",
								   UaQuoteValue(text, strlen(text))));
	errno = 0;
	id = strtoi64(text, &end, 10);
	if (errno == ERANGE || id < 1)
		return UaSetError(err, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "user_id",
						  psprintf("user_id %s out of range",
								   UaQuoteValue(text, strlen(text))),
						  pstrdup("Field \"user_id\" must be an integer from 1 to 9223372036854775807."));
	*result = id;
	return true;
}

static bool
CheckAction(const JsonbValue *v, int *result, UaError *err)
{
	if (v == NULL || v->type == jbvNull)
		return Missing(err, "action", "one of created, updated, deleted, viewed");
	if (v->type != jbvString)
		return WrongType(err, "action", "a string", v);
	*result = UaActionIndex(v->val.string.val, v->val.string.len);
	if (*result < 0)
		return UaSetError(err, ERRCODE_INVALID_PARAMETER_VALUE, "action",
						  psprintf("invalid action \"%s\"",
								   UaQuoteValue(v->val.string.val, v->val.string.len)),
						  pstrdup("Field \"action\" must be one of created, updated, deleted, viewed."));
	return true;
}

static bool
CheckActionTime(const JsonbValue *v, TimestampTz *result, UaError *err)
{
	const char *field = "event_action_timestamp";

	if (v == NULL || v->type == jbvNull)
		return Missing(err, field, "an RFC 3339 timestamp");
	if (v->type != jbvString)
		return WrongType(err, field, "an RFC 3339 timestamp string", v);
	if (!UaParseTimestamp(v->val.string.val, v->val.string.len, result))
		return UaSetError(err, ERRCODE_INVALID_DATETIME_FORMAT, field,
						  psprintf("invalid timestamp \"%s\"",
								   UaQuoteValue(v->val.string.val, v->val.string.len)),
						  pstrdup("Field \"event_action_timestamp\" must be an RFC 3339 timestamp with a time zone offset, such as 2025-10-10T18:30:00Z or 2025-10-10T21:30:00+03:00."));
	return true;
}

static bool
CheckEventId(const JsonbValue *v, UaEvent *ev, UaError *err)
{
	ev->has_event_id = false;
	if (v == NULL || v->type == jbvNull)
		return true;
	if (v->type != jbvString)
		return WrongType(err, "event_id", "a UUID string", v);
	if (!UaParseUuid(v->val.string.val, v->val.string.len, &ev->event_id))
		return UaSetError(err, ERRCODE_INVALID_TEXT_REPRESENTATION, "event_id",
						  psprintf("invalid event_id \"%s\"",
								   UaQuoteValue(v->val.string.val, v->val.string.len)),
						  pstrdup("Field \"event_id\" must be a UUID such as 8a1f3c9e-4b7d-4e2a-9c1b-2f6d7e8a9b0c."));
	ev->has_event_id = true;
	return true;
}

/*
 * UaCheckEvent applies the rules that hold however the event arrived (JSON
 * or typed arguments): the action time is not before 1970 nor beyond the
 * future margin, and metadata is an object within the size limit.  The size
 * is that of the metadata's JSON text as jsonb prints it.
 */
bool
UaCheckEvent(UaEvent *ev, UaError *err)
{
	const char *field = "event_action_timestamp";
	TimestampTz epoch = (TimestampTz) (UNIX_EPOCH_JDATE - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY;
	TimestampTz limit;

	if (ev->user_id <= 0)
		return UaSetError(err, ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "user_id",
						  psprintf("user_id " INT64_FORMAT " out of range", ev->user_id),
						  pstrdup("Field \"user_id\" must be an integer from 1 to 9223372036854775807."));

	if (TIMESTAMP_NOT_FINITE(ev->action_time))
		return UaSetError(err, ERRCODE_DATETIME_FIELD_OVERFLOW, field,
						  pstrdup("event_action_timestamp out of range"),
						  pstrdup("Field \"event_action_timestamp\" must be a finite time."));
	if (ev->action_time < epoch)
		return UaSetError(err, ERRCODE_DATETIME_FIELD_OVERFLOW, field,
						  pstrdup("event_action_timestamp out of range"),
						  pstrdup("Field \"event_action_timestamp\" must not be before 1970-01-01T00:00:00Z."));
	limit = GetCurrentTimestamp() + (int64) ua_future_margin * USECS_PER_SEC;
	if (ev->action_time > limit)
	{
		UaSetError(err, ERRCODE_DATETIME_FIELD_OVERFLOW, field,
				   pstrdup("event_action_timestamp out of range"),
				   psprintf("Field \"event_action_timestamp\" must not be more than %s in the future (user_activity.future_margin).",
							GetConfigOptionByName("user_activity.future_margin", NULL, false)));
		return false;
	}

	if (!JB_ROOT_IS_OBJECT(ev->metadata) || JB_ROOT_IS_SCALAR(ev->metadata))
	{
		JsonbValue	v;

		v.type = jbvArray;
		if (JB_ROOT_IS_SCALAR(ev->metadata))
		{
			JsonbExtractScalar(&ev->metadata->root, &v);
		}
		return WrongType(err, "metadata", "a JSON object", &v);
	}
	{
		char	   *text = JsonbToCString(NULL, &ev->metadata->root,
										  VARSIZE(ev->metadata));
		size_t		size = strlen(text);

		pfree(text);
		if (size > (size_t) ua_max_metadata_bytes)
			return UaSetError(err, ERRCODE_PROGRAM_LIMIT_EXCEEDED, "metadata",
							  pstrdup("metadata too large"),
							  psprintf("Field \"metadata\" is %zu bytes as JSON text; the limit is %d bytes (user_activity.max_metadata_bytes).",
									   size, ua_max_metadata_bytes));
	}
	return true;
}

/*
 * UaEventFromJsonb validates one event object as the REST API receives it
 * and fills ev.  Unknown fields are rejected first and named, with a
 * suggestion when the name is a near miss, so that a typo such as "actoin"
 * is reported as what it is rather than as a missing "action".
 */
bool
UaEventFromJsonb(JsonbContainer *obj, UaEvent *ev, UaError *err)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	key,
				val;
	JsonbValue	fields[NUM_KNOWN_FIELDS];
	bool		present[NUM_KNOWN_FIELDS] = {false};
	const JsonbValue *metadata;

	if (!JsonContainerIsObject(obj) || JsonContainerIsScalar(obj))
	{
		JsonbValue	v;

		if (JsonContainerIsScalar(obj))
			JsonbExtractScalar(obj, &v);
		else
		{
			v.type = jbvBinary;
			v.val.binary.data = obj;
		}
		return UaSetError(err, ERRCODE_DATATYPE_MISMATCH, NULL,
						  pstrdup("event must be a JSON object"),
						  psprintf("An event is a JSON object with the fields " KNOWN_FIELDS_TEXT ", not %s.",
								   JsonTypeName(&v)));
	}

	it = JsonbIteratorInit(obj);
	while ((tok = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		int			i;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &val, true);
		Assert(tok == WJB_VALUE);
		for (i = 0; i < (int) NUM_KNOWN_FIELDS; i++)
		{
			if ((int) strlen(known_fields[i]) == key.val.string.len &&
				memcmp(known_fields[i], key.val.string.val, key.val.string.len) == 0)
				break;
		}
		if (i == NUM_KNOWN_FIELDS)
		{
			char	   *name = UaQuoteValue(key.val.string.val, key.val.string.len);
			const char *best = NULL;
			int			bestd = 3;

			for (int j = 0; j < (int) NUM_KNOWN_FIELDS; j++)
			{
				int			d = varstr_levenshtein_less_equal(key.val.string.val,
															  key.val.string.len,
															  known_fields[j],
															  strlen(known_fields[j]),
															  1, 1, 1, 2, true);

				if (d < bestd)
				{
					bestd = d;
					best = known_fields[j];
				}
			}
			UaSetError(err, ERRCODE_UNDEFINED_COLUMN, name,
					   psprintf("unknown field \"%s\"", name),
					   psprintf("An event has only the fields " KNOWN_FIELDS_TEXT "%s.",
								(strcmp(name, "id") == 0 || strcmp(name, "recorded_at") == 0) ?
								"; id and recorded_at are set by the server" : ""));
			if (best)
				err->hint = psprintf("Did you mean \"%s\"?", best);
			return false;
		}
		fields[i] = val;
		present[i] = true;
	}

	if (!CheckUserId(present[0] ? &fields[0] : NULL, &ev->user_id, err))
		return false;
	if (!CheckActionTime(present[1] ? &fields[1] : NULL, &ev->action_time, err))
		return false;
	if (!CheckAction(present[2] ? &fields[2] : NULL, &ev->action, err))
		return false;
	if (!CheckEventId(present[4] ? &fields[4] : NULL, ev, err))
		return false;

	/* metadata is optional: absent or null means {} */
	metadata = present[3] ? &fields[3] : NULL;
	if (metadata == NULL || metadata->type == jbvNull)
	{
		JsonbValue	empty;

		empty.type = jbvObject;
		empty.val.object.nPairs = 0;
		empty.val.object.pairs = NULL;
		ev->metadata = JsonbValueToJsonb(&empty);
	}
	else if (metadata->type != jbvBinary ||
			 !JsonContainerIsObject(metadata->val.binary.data))
		return WrongType(err, "metadata", "a JSON object", metadata);
	else
		ev->metadata = JsonbValueToJsonb((JsonbValue *) metadata);

	return UaCheckEvent(ev, err);
}
