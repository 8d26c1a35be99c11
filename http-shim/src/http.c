/*-------------------------------------------------------------------------
 *
 * http.c
 *	  The HTTP glue's checks, made before a request reaches dispatch: its
 *	  id, its head (framing, the target's and the header fields' sizes),
 *	  its input (query parameters and body as UTF-8 text, the body's media
 *	  type), and CORS preflights.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

static uint64_t request_seq;
static uint64_t request_seed;

/* shim_http_seed makes this process's request ids its own. */
void
shim_http_seed(uint64_t seed)
{
	request_seed = seed;
}

/* A caller-supplied X-Request-Id is kept when it is short and plain. */
static bool
ValidRequestId(const char *s)
{
	size_t		n = 0;

	for (; s[n]; n++)
	{
		char		c = s[n];

		if (n >= 64 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
						 (c >= '0' && c <= '9') || c == '-' || c == '_' ||
						 c == '.'))
			return false;
	}
	return n > 0;
}

/* shim_http_request_id gives req the caller's id, or a new one. */
void
shim_http_request_id(ShimRequest *req)
{
	const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
													"X-Request-Id");
	uint64_t	n;

	if (given && ValidRequestId(given))
	{
		snprintf(req->request_id, sizeof(req->request_id), "%s", given);
		return;
	}
	n = __atomic_add_fetch(&request_seq, 1, __ATOMIC_RELAXED);
	/* a bijective mix, so ids never repeat within a process */
	n ^= request_seed;
	n *= 0x9E3779B97F4A7C15ULL;
	n ^= n >> 29;
	snprintf(req->request_id, sizeof(req->request_id), "%016llx",
			 (unsigned long long) n);
}

/*
 * shim_http_is_preflight: OPTIONS on a known path, or on any path outside
 * the API (the page's), is answered by shim_http_preflight.
 */
bool
shim_http_is_preflight(ShimRequest *req)
{
	return strcmp(req->method, "OPTIONS") == 0 &&
		(req->route >= 0 || req->route == SHIM_MATCH_METHOD ||
		 !shim_api_path(req->path));
}

/*
 * shim_http_preflight answers OPTIONS.  With Origin and Access-Control-Request-Method
 * it is a CORS preflight: 204 with the allowed methods, headers and max
 * age, or 403 naming the origin.  Without them, 204 with Allow.
 */
enum MHD_Result
shim_http_preflight(ShimRequest *req)
{
	const ShimConfig *cfg = &req->shim->cfg;
	const char *origin = MHD_lookup_connection_value(req->conn,
													 MHD_HEADER_KIND, "Origin");
	const char *want = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
												   "Access-Control-Request-Method");
	bool		wildcard;
	char		max_age[32];
	struct MHD_Response *resp;

	if (origin && want)
	{
		if (!shim_origin_allowed(cfg, origin, &wildcard))
			return shim_problem(req, 403, "Origin", "origin not allowed",
								"Header \"Origin\" must be one of HTTP_CORS_ALLOWED_ORIGINS.",
								NULL, NULL);
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(resp, "Access-Control-Allow-Methods",
								cfg->cors_methods);
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
								cfg->cors_headers);
		snprintf(max_age, sizeof(max_age), "%d", cfg->cors_max_age_hours * 3600);
		MHD_add_response_header(resp, "Access-Control-Max-Age", max_age);
		return shim_reply_response(req, 204, resp);
	}
	resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Allow", req->allow[0] ? req->allow
							: "OPTIONS");
	return shim_reply_response(req, 204, resp);
}

enum MHD_Result
shim_http_too_large(ShimRequest *req)
{
	char		detail[160];

	snprintf(detail, sizeof(detail),
			 "The request body must be at most %ld bytes.",
			 req->shim->cfg.body_limit);
	return shim_problem(req, 413, "body", "request body too large", detail,
						NULL, NULL);
}

/* What shim_http_check_head counts in the header fields. */
typedef struct HeadTally
{
	size_t		target;			/* path and query parameters, decoded */
	size_t		header_bytes;	/* "name: value" CRLF, every field */
	int			fields;
	int			content_length; /* how many Content-Length fields */
	int			transfer_encoding;	/* how many Transfer-Encoding fields */
	const char *coding;			/* the last Transfer-Encoding value */
} HeadTally;

static enum MHD_Result
TallyHeader(void *cls, enum MHD_ValueKind kind, const char *key,
			size_t key_size, const char *value, size_t value_size)
{
	HeadTally  *t = cls;

	(void) kind;
	t->fields++;
	t->header_bytes += key_size + value_size + 4;
	if (key_size == 14 && strncasecmp(key, "Content-Length", 14) == 0)
		t->content_length++;
	else if (key_size == 17 && strncasecmp(key, "Transfer-Encoding", 17) == 0)
	{
		t->transfer_encoding++;
		t->coding = value ? value : "";
	}
	return MHD_YES;
}

static enum MHD_Result
TallyArgument(void *cls, enum MHD_ValueKind kind, const char *key,
			  size_t key_size, const char *value, size_t value_size)
{
	HeadTally  *t = cls;

	(void) kind;
	(void) value;
	t->target += key_size + value_size + 2;
	return MHD_YES;
}

/* True when coding, a Transfer-Encoding value, is exactly "chunked". */
static bool
OnlyChunked(const char *coding)
{
	size_t		n;

	coding += strspn(coding, " \t");
	n = strcspn(coding, " \t");
	return n == 7 && strncasecmp(coding, "chunked", 7) == 0 &&
		coding[n + strspn(coding + n, " \t")] == '\0';
}

/*
 * shim_http_check_head refuses, before any of a body is read, a request whose head
 * the shim will not take, with a problem document and "Connection: close"
 * (the rest of the request, if any, is never read, so the connection
 * cannot carry another):
 *
 * - 400 for framing that is ambiguous or unsupported, which libmicrohttpd
 *   0.9.75 lets through: Content-Length given more than once (it would use
 *   the first), Content-Length together with Transfer-Encoding, and any
 *   Transfer-Encoding but a single "chunked" (RFC 9112, 6.1 and 6.3: the
 *   body's length could not be told reliably, and another reader of the
 *   same bytes could tell it otherwise);
 * - 414 for a request target over SHIM_MAX_TARGET_BYTES;
 * - 431 for more than SHIM_MAX_HEADER_FIELDS header fields or more than
 *   SHIM_MAX_HEADER_BYTES of them.
 *
 * Replies itself (the outcome in *ret) and returns false.
 */
bool
shim_http_check_head(ShimRequest *req, enum MHD_Result *ret)
{
	static const ShimHeader close_conn[] = {
		{MHD_HTTP_HEADER_CONNECTION, "close"}, {NULL, NULL}
	};
	HeadTally	t;
	char		detail[200];

	memset(&t, 0, sizeof(t));
	t.target = strlen(req->path);
	MHD_get_connection_values_n(req->conn, MHD_HEADER_KIND, TallyHeader, &t);
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND,
								TallyArgument, &t);
	if (t.content_length <= 1 && t.transfer_encoding == 0 &&
		t.target <= SHIM_MAX_TARGET_BYTES &&
		t.fields <= SHIM_MAX_HEADER_FIELDS &&
		t.header_bytes <= SHIM_MAX_HEADER_BYTES)
		return true;

	if (req->route < 0)
		req->route = SHIM_ROUTE_UNMATCHED;
	if (t.content_length > 1)
		*ret = shim_problem(req, 400, "Content-Length", "ambiguous message framing",
							"Header \"Content-Length\" must appear at most once.",
							NULL, close_conn);
	else if (t.transfer_encoding > 0 && t.content_length > 0)
		*ret = shim_problem(req, 400, "Transfer-Encoding", "ambiguous message framing",
							"A request must not carry both \"Content-Length\" and \"Transfer-Encoding\".",
							NULL, close_conn);
	else if (t.transfer_encoding > 1 ||
			 (t.transfer_encoding == 1 && !OnlyChunked(t.coding)))
		*ret = shim_problem(req, 400, "Transfer-Encoding", "unsupported transfer coding",
							"Header \"Transfer-Encoding\" must appear at most once and be \"chunked\", the only transfer coding accepted.",
							NULL, close_conn);
	else if (t.target > SHIM_MAX_TARGET_BYTES)
	{
		snprintf(detail, sizeof(detail),
				 "The request target (path and query, decoded) must be at most %d bytes.",
				 SHIM_MAX_TARGET_BYTES);
		*ret = shim_problem(req, 414, NULL, "request target too long", detail,
							NULL, close_conn);
	}
	else if (t.fields > SHIM_MAX_HEADER_FIELDS ||
			 t.header_bytes > SHIM_MAX_HEADER_BYTES)
	{
		snprintf(detail, sizeof(detail),
				 "A request may carry at most %d header fields and %d bytes of them.",
				 SHIM_MAX_HEADER_FIELDS, SHIM_MAX_HEADER_BYTES);
		*ret = shim_problem(req, 431, NULL, "request header fields too large",
							detail, NULL, close_conn);
	}
	else
		return true;			/* a single "Transfer-Encoding: chunked" */
	return false;
}

typedef struct BadArg
{
	bool		bad;
	char		name[64];
} BadArg;

static enum MHD_Result
CheckArg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
		 const char *value, size_t value_size)
{
	BadArg	   *b = cls;

	(void) kind;
	if (shim_utf8_valid(key, key_size) &&
		(value == NULL || shim_utf8_valid(value, value_size)))
		return MHD_YES;
	b->bad = true;
	if (shim_utf8_valid(key, key_size) && key_size < sizeof(b->name))
		snprintf(b->name, sizeof(b->name), "%s", key);
	else
		snprintf(b->name, sizeof(b->name), "query");
	return MHD_NO;
}

/*
 * JsonBodyType says whether a body declared as this media type is read as
 * JSON: application/json and application/...+json, and also text/plain and
 * application/x-www-form-urlencoded, because the original service read any
 * body as JSON, "curl -d" declares the latter, and navigator.sendBeacon()
 * (how a page sends activity as it unloads) sends the former and cannot
 * say otherwise.  Parameters such as "; charset=utf-8" are ignored.
 */
static bool
JsonBodyType(const char *type)
{
	size_t		n = strcspn(type, "; \t");

	return (n == 16 && strncasecmp(type, "application/json", n) == 0) ||
		(n > 17 && strncasecmp(type, "application/", 12) == 0 &&
		 strncasecmp(type + n - 5, "+json", 5) == 0) ||
		(n == 10 && strncasecmp(type, "text/plain", n) == 0) ||
		(n == 33 && strncasecmp(type, "application/x-www-form-urlencoded", n) == 0);
}

/*
 * shim_http_check_input refuses what the handlers would otherwise pass on silently
 * changed: a query parameter whose decoded name or value is not UTF-8 text
 * or holds a NUL (libpq would cut it short there), a body that is not
 * UTF-8 JSON text without NUL, or a body declared as another media type.
 * Replies itself (the outcome in *ret) and returns false.
 */
bool
shim_http_check_input(ShimRequest *req, enum MHD_Result *ret)
{
	BadArg		b;

	memset(&b, 0, sizeof(b));
	MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, CheckArg,
								&b);
	if (b.bad)
	{
		char		detail[160];

		snprintf(detail, sizeof(detail),
				 "Query parameter \"%s\" must be UTF-8 text without NUL bytes, percent-encoded.",
				 b.name);
		*ret = shim_problem(req, 400, b.name, "invalid query parameter",
							detail, NULL, NULL);
		return false;
	}
	if (shim_route_has_body(&shim_routes[req->route]))
	{
		const char *type = MHD_lookup_connection_value(req->conn,
													   MHD_HEADER_KIND,
													   MHD_HTTP_HEADER_CONTENT_TYPE);

		if (type && !JsonBodyType(type))
		{
			*ret = shim_problem(req, 415, "Content-Type",
								"unsupported media type",
								"Send the body as JSON with the header \"Content-Type: application/json\" "
								"(text/plain and application/x-www-form-urlencoded, or no Content-Type, are read as JSON too).",
								NULL, NULL);
			return false;
		}
		if (!shim_utf8_valid(req->body.data, req->body.len))
		{
			*ret = shim_problem(req, 400, "body", "invalid request body",
								"The request body must be JSON text in UTF-8, without NUL bytes.",
								"22P02", NULL);
			return false;
		}
	}
	return true;
}

