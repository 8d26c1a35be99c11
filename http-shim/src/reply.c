/*-------------------------------------------------------------------------
 *
 * reply.c
 *	  Every reply goes out through here: the common headers (request id,
 *	  CORS for an allowed origin, "Connection: close" while draining), JSON
 *	  bodies, and the one shape of every error, RFC 9457
 *	  application/problem+json naming the field and the rule.  The table
 *	  from SQLSTATE to HTTP status lives here too.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply.h"

const char *
shim_reason(int status)
{
	switch (status)
	{
		case 200:
			return "OK";
		case 201:
			return "Created";
		case 204:
			return "No Content";
		case 207:
			return "Multi-Status";
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 403:
			return "Forbidden";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 406:
			return "Not Acceptable";
		case 409:
			return "Conflict";
		case 413:
			return "Content Too Large";
		case 414:
			return "URI Too Long";
		case 415:
			return "Unsupported Media Type";
		case 429:
			return "Too Many Requests";
		case 431:
			return "Request Header Fields Too Large";
		case 500:
			return "Internal Server Error";
		case 503:
			return "Service Unavailable";
		default:
			return "Error";
	}
}

/*
 * The SQLSTATE to HTTP status table: the first entry whose prefix matches
 * wins, so exact codes come before their class.
 */
static const struct
{
	const char *prefix;
	int			status;
}			sqlstate_status[] =
{
	/* our own statements are wrong or not installed: not the client's fault */
	{"42501", 500},				/* insufficient_privilege */
	{"42883", 500},				/* undefined_function */
	{"42P01", 500},				/* undefined_table */
	{"42601", 500},				/* syntax_error */
	{"42P02", 500},				/* undefined_parameter */
	{"23505", 409},				/* unique_violation */
	{"54000", 400},				/* program_limit_exceeded (413 for batches) */
	{"54001", 400},				/* statement_too_complex: JSON nested too deep */
	{"22", 400},				/* data exception */
	{"23", 400},				/* integrity constraint violation */
	{"42", 400},				/* datatype mismatch, undefined column */
	{"08", 503},				/* connection exception */
	{"57P01", 503},				/* admin_shutdown */
	{"57P02", 503},				/* crash_shutdown */
	{"57P03", 503},				/* cannot_connect_now */
	{"57014", 503},				/* query_canceled (statement timeout) */
	{"53", 503},				/* insufficient resources */
	{"40", 503},				/* serialization failure, deadlock */
};

/*
 * shim_status_for_sqlstate maps an error of statement q to the HTTP
 * status.  server_side errors (a statement that could not be prepared) are
 * always 500.
 */
int
shim_status_for_sqlstate(const char *sqlstate, bool server_side, ShimQuery q)
{
	size_t		i;

	if (server_side && strncmp(sqlstate, "08", 2) != 0)
		return 500;
	if (strcmp(sqlstate, "54000") == 0 && q == SHIM_Q_RECORD_EVENTS)
		return 413;
	for (i = 0; i < sizeof(sqlstate_status) / sizeof(sqlstate_status[0]); i++)
	{
		if (strncmp(sqlstate, sqlstate_status[i].prefix,
					strlen(sqlstate_status[i].prefix)) == 0)
			return sqlstate_status[i].status;
	}
	return 500;
}

/* shim_origin_allowed is declared in reply.h: see there. */
bool
shim_origin_allowed(const ShimConfig *cfg, const char *origin, bool *wildcard)
{
	const char *p = cfg->cors_origins;
	size_t		olen = strlen(origin);

	*wildcard = false;
	while (*p)
	{
		size_t		n;
		const char *start;

		while (*p == ' ' || *p == ',')
			p++;
		start = p;
		n = strcspn(p, ",");
		p += n;
		while (n > 0 && start[n - 1] == ' ')
			n--;
		if (n == 1 && *start == '*')
		{
			*wildcard = true;
			return true;
		}
		if (n == olen && strncasecmp(start, origin, n) == 0)
			return true;
	}
	return false;
}

/*
 * shim_add_common_headers adds what every reply carries: the request id,
 * the CORS headers for an allowed Origin, and "Connection: close" while
 * draining so that keep-alive clients let go.
 */
void
shim_add_common_headers(ShimRequest *req, struct MHD_Response *resp)
{
	const ShimConfig *cfg = &req->shim->cfg;
	const char *origin = MHD_lookup_connection_value(req->conn,
													 MHD_HEADER_KIND, "Origin");
	bool		wildcard;

	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	if (origin && shim_origin_allowed(cfg, origin, &wildcard))
	{
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
								wildcard ? "*" : origin);
		if (!wildcard)
		{
			MHD_add_response_header(resp, "Vary", "Origin");
			if (cfg->cors_credentials)
				MHD_add_response_header(resp,
										"Access-Control-Allow-Credentials",
										"true");
		}
		MHD_add_response_header(resp, "Access-Control-Expose-Headers",
								"Link, X-Request-Id, Retry-After, Location");
	}
	if ((shim_draining(req->shim) || (req->early && req->body_declared)) &&
		MHD_get_response_header(resp, MHD_HTTP_HEADER_CONNECTION) == NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
}

/* Queues resp with the common headers; takes ownership of resp. */
enum MHD_Result
shim_reply_response(ShimRequest *req, int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	shim_add_common_headers(req, resp);
	req->status = status;
	req->replied = true;
	if (req->deferred)
	{
		/* a job thread: the HTTP thread queues it when resumed */
		req->pending = resp;
		return MHD_YES;
	}
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

enum MHD_Result
shim_reply(ShimRequest *req, int status, const char *content_type,
		   const char *body, size_t len, const ShimHeader *headers)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *) body,
										   MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
								content_type);
	for (; headers && headers->name; headers++)
		MHD_add_response_header(resp, headers->name, headers->value);
	return shim_reply_response(req, status, resp);
}

enum MHD_Result
shim_reply_json(ShimRequest *req, int status, const char *body,
				const ShimHeader *headers)
{
	return shim_reply(req, status, "application/json", body, strlen(body),
					  headers);
}

/*
 * shim_problem_json builds the problem document: type, title, status,
 * detail (the rule), field, error (the short message, the key the original
 * service's clients read), sqlstate and request id.
 */
void
shim_problem_json(ShimBuf *out, int status, const char *field,
				  const char *message, const char *detail,
				  const char *sqlstate, const char *request_id,
				  const char *instance)
{
	shim_buf_printf(out, "{\"type\":\"about:blank\",\"title\":\"%s\","
					"\"status\":%d,\"detail\":",
					shim_reason(status), status);
	shim_buf_json_string(out, detail && detail[0] ? detail : message);
	shim_buf_puts(out, ",\"error\":");
	shim_buf_json_string(out, message);
	if (field && field[0])
	{
		shim_buf_puts(out, ",\"field\":");
		shim_buf_json_string(out, field);
	}
	if (sqlstate && sqlstate[0])
	{
		shim_buf_puts(out, ",\"sqlstate\":");
		shim_buf_json_string(out, sqlstate);
	}
	if (instance)
	{
		shim_buf_puts(out, ",\"instance\":");
		shim_buf_json_string(out, instance);
	}
	shim_buf_puts(out, ",\"request_id\":");
	shim_buf_json_string(out, request_id);
	shim_buf_puts(out, "}");
}

enum MHD_Result
shim_problem(ShimRequest *req, int status, const char *field,
			 const char *message, const char *detail, const char *sqlstate,
			 const ShimHeader *headers)
{
	ShimBuf		b;
	enum MHD_Result ret;

	shim_buf_init(&b);
	shim_problem_json(&b, status, field, message, detail, sqlstate,
					  req->request_id, req->path);
	if (sqlstate)
		snprintf(req->sqlstate, sizeof(req->sqlstate), "%s", sqlstate);
	ret = shim_reply(req, status, "application/problem+json", b.data, b.len,
					 headers);
	shim_buf_free(&b);
	return ret;
}

/*
 * shim_problem_db replies to a database error.  Input errors carry the
 * database's message, detail and field; 503 adds Retry-After; 500 says
 * nothing of the SQL and logs it instead.
 */
enum MHD_Result
shim_problem_db(ShimRequest *req, ShimQuery q, const ShimDbError *err)
{
	int			status = shim_status_for_sqlstate(err->sqlstate,
												  err->server_side, q);

	if (status == 503)
	{
		static const ShimHeader retry[] = {{"Retry-After", "1"}, {NULL, NULL}};

		shim_log(SHIM_LOG_WARN, "request %s: database unavailable (%s): %s",
				 req->request_id, err->sqlstate, err->detail);
		return shim_problem(req, 503, NULL, "database unavailable",
							"The database cannot be reached or is restarting; retry shortly.",
							err->sqlstate, retry);
	}
	if (status == 500)
	{
		shim_log(SHIM_LOG_ERROR, "request %s: %s failed (%s): %s %s",
				 req->request_id, shim_query_name(q), err->sqlstate,
				 err->message, err->detail);
		return shim_problem(req, 500, NULL, "internal error",
							"The request failed on the server; the request id locates it in the logs.",
							NULL, NULL);
	}
	return shim_problem(req, status, err->field, err->message, err->detail,
						err->sqlstate, NULL);
}
