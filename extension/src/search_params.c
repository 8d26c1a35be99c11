/*-------------------------------------------------------------------------
 *
 * search_params.c
 *	  The parameters of search_events() and export_events(): the query
 *	  string as the REST layer received it, checked and converted to a
 *	  SearchParams, every error naming its parameter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "ua_search.h"

#define DEFAULT_PAGE_SIZE 100
#define MAX_PAGE_SIZE 1000

static const char *const search_keys[] = {
	"user_id", "from", "to", "limit", "cursor", "action", "action_from",
	"action_to", "metadata", "offset"
};
enum
{
	P_USER_ID, P_FROM, P_TO, P_LIMIT, P_CURSOR, P_ACTION, P_ACTION_FROM,
	P_ACTION_TO, P_METADATA, P_OFFSET, P_NUM
};

/* The longest metadata filter taken, in bytes of JSON text. */
#define MAX_METADATA_FILTER 8192

/*
 * UaThrowParam raises the error of one parameter (field: its name, or NULL
 * for the whole), with the SQLSTATE the REST layer maps to a status.
 */
void
UaThrowParam(int sqlerrcode, const char *field, char *message, char *detail)
{
	UaError		err;

	UaSetError(&err, sqlerrcode, field, message, detail);
	UaThrowError(&err);
}

/*
 * UaThrowBadCursor rejects a cursor that does not read back (field: the
 * parameter or argument that held it), saying no more about why.
 */
void
UaThrowBadCursor(const char *field)
{
	UaThrowParam(ERRCODE_INVALID_TEXT_REPRESENTATION, field,
				 pstrdup("invalid cursor"),
				 psprintf("\"%s\" must be a cursor of a previous page of the same user's search, unchanged.",
						  field));
}

/*
 * ParamText returns a parameter's value as text: the query string's values
 * are strings, but a JSON number is taken as its text.
 */
static char *
ParamText(const JsonbValue *v, const char *key)
{
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	if (v->type == jbvNumeric)
		return DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(v->val.numeric)));
	UaThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
				 psprintf("invalid type for parameter \"%s\"", key),
				 psprintf("Parameter \"%s\" must be a string.", key));
	return NULL;
}

static void ThrowNotInteger(const char *s, const char *key) pg_attribute_noreturn();

/* ThrowNotInteger reports a parameter that is not a plain decimal integer. */
static void
ThrowNotInteger(const char *s, const char *key)
{
	UaThrowParam(ERRCODE_DATATYPE_MISMATCH, key,
				 psprintf("invalid %s \"%s\"", key, UaQuoteValue(s, strlen(s))),
				 psprintf("Parameter \"%s\" must be an integer.", key));
}

/*
 * ParseInt64 parses a plain decimal integer within [min, max]: an optional
 * "-" and digits, nothing else.  strtoi64() reads it; the first digit is
 * checked before, as strtoi64() would also skip white space and take "+".
 * (pg_strtoint64() would raise its own error rather than the parameter's.)
 */
static int64
ParseInt64(const char *s, const char *key, int64 min, int64 max)
{
	char	   *end;
	int64		n;

	if (!isdigit((unsigned char) (s[0] == '-' ? s[1] : s[0])))
		ThrowNotInteger(s, key);
	errno = 0;
	n = strtoi64(s, &end, 10);
	if (*end != '\0')
		ThrowNotInteger(s, key);
	if (errno == ERANGE || n < min || n > max)
		UaThrowParam(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, key,
					 psprintf("%s %s out of range", key, UaQuoteValue(s, strlen(s))),
					 psprintf("Parameter \"%s\" must be an integer from " INT64_FORMAT " to " INT64_FORMAT ".",
							  key, min, max));
	return n;
}

/*
 * ParseTimeParam reads an RFC 3339 timestamp with UaParseTimestamp, stricter
 * than timestamptz input, which also takes dates alone, other forms and
 * "now".
 */
static TimestampTz
ParseTimeParam(const char *s, const char *key)
{
	TimestampTz ts;

	if (!UaParseTimestamp(s, strlen(s), &ts))
		UaThrowParam(ERRCODE_INVALID_DATETIME_FORMAT, key,
					 psprintf("invalid timestamp \"%s\"", UaQuoteValue(s, strlen(s))),
					 psprintf("Parameter \"%s\" must be an RFC 3339 timestamp with a time zone offset, such as 2025-10-10T18:30:00Z.",
							  key));
	return ts;
}

/*
 * UaCheckMetadataFilter rejects a metadata filter that is not a JSON object
 * (field: the parameter or argument that held it).  Events' metadata is
 * always an object, so containment by anything else would match nothing
 * or, for a scalar, something unintended.
 */
void
UaCheckMetadataFilter(Jsonb *filter, const char *field)
{
	if (!JB_ROOT_IS_OBJECT(filter) || JB_ROOT_IS_SCALAR(filter))
		UaThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, field,
					 psprintf("invalid %s filter", field),
					 psprintf("Parameter \"%s\" must be a JSON object, such as {\"device\": \"iPhone 14\"}; events whose metadata contains it match.",
							  field));
}

/*
 * UaParseMetadataFilter reads a metadata filter given as JSON text (the
 * query string's JSON-encoded "metadata"), checked before jsonb_in sees it
 * so that a bad one gets the parameter's error rather than the parser's.
 */
Jsonb *
UaParseMetadataFilter(const char *s, int len, const char *field)
{
	JsonLexContext *lex;
	Jsonb	   *filter;

	if (len > MAX_METADATA_FILTER)
		UaThrowParam(ERRCODE_PROGRAM_LIMIT_EXCEEDED, field,
					 psprintf("%s filter too long", field),
					 psprintf("Parameter \"%s\" must be at most %d bytes of JSON.",
							  field, MAX_METADATA_FILTER));
	lex = makeJsonLexContextCstringLen(unconstify(char *, s), len,
									   GetDatabaseEncoding(), true);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		UaThrowParam(ERRCODE_INVALID_TEXT_REPRESENTATION, field,
					 psprintf("invalid %s filter", field),
					 psprintf("Parameter \"%s\" must be a JSON object, such as {\"device\": \"iPhone 14\"}.",
							  field));
	filter = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												CStringGetDatum(pnstrdup(s, len))));
	UaCheckMetadataFilter(filter, field);
	return filter;
}

/*
 * UaParseSearchParams validates search_events() or export_events() params:
 * the query string as received, values as strings.  Unknown keys are
 * rejected and named; the export takes no limit, cursor or offset.
 */
void
UaParseSearchParams(Jsonb *params, bool for_export, SearchParams *sp)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	key,
				val;
	char	   *values[P_NUM] = {NULL};

	memset(sp, 0, sizeof(*sp));
	if (!JB_ROOT_IS_OBJECT(params) || JB_ROOT_IS_SCALAR(params))
		UaThrowParam(ERRCODE_DATATYPE_MISMATCH, NULL,
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

			UaThrowParam(ERRCODE_UNDEFINED_COLUMN, name,
						 psprintf("unknown parameter \"%s\"", name),
						 psprintf("The parameters are %s.",
								  for_export ? EXPORT_KEYS_TEXT : SEARCH_KEYS_TEXT));
		}
		if (val.type == jbvNull)
			continue;
		if (i == P_METADATA && val.type == jbvBinary)
		{
			/* an object given as JSON rather than as its JSON text */
			sp->metadata = JsonbValueToJsonb(&val);
			UaCheckMetadataFilter(sp->metadata, "metadata");
			continue;
		}
		values[i] = ParamText(&val, search_keys[i]);
	}

	for (int i = P_USER_ID; i <= P_TO; i++)
		if (values[i] == NULL)
			UaThrowParam(ERRCODE_NOT_NULL_VIOLATION, search_keys[i],
						 psprintf("missing required parameter \"%s\"", search_keys[i]),
						 pstrdup("Parameters \"user_id\", \"from\" and \"to\" are required."));

	sp->user_id = ParseInt64(values[P_USER_ID], "user_id", 1, PG_INT64_MAX);
	sp->from = ParseTimeParam(values[P_FROM], "from");
	sp->to = ParseTimeParam(values[P_TO], "to");
	if (sp->to < sp->from)
		UaThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "to",
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
			UaThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "offset",
						 pstrdup("\"offset\" cannot be combined with \"cursor\""),
						 pstrdup("Parameter \"offset\" is the legacy way to page; use \"cursor\" alone."));
		if (!UaDecodeCursor(values[P_CURSOR], strlen(values[P_CURSOR]), sp->user_id, &ts, &id))
			UaThrowBadCursor("cursor");
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
				UaThrowParam(ERRCODE_INVALID_PARAMETER_VALUE, "action",
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
	if (values[P_METADATA])
		sp->metadata = UaParseMetadataFilter(values[P_METADATA],
											 strlen(values[P_METADATA]),
											 "metadata");
}
