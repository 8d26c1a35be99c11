/*-------------------------------------------------------------------------
 *
 * openapi.c
 *	  The OpenAPI 3.1 description (GET /api/openapi.json).  Each operation
 *	  is the route table's entry (router.c) written out: its parameters,
 *	  body, replies, problems and key scope; only the schemas the routes
 *	  share are written here.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "router.h"

static json_t *
Ref(const char *name)
{
	char		ref[128];

	snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", ref);
}

/*
 * A schema as the route table writes it: a plain type in lower case, a
 * component's name, or "[]Name" for an array of them.
 */
static json_t *
Schema(const char *s)
{
	if (strncmp(s, "[]", 2) == 0)
		return json_pack("{s:s, s:o}", "type", "array", "items", Schema(s + 2));
	if (s[0] >= 'a' && s[0] <= 'z')
		return json_pack("{s:s}", "type", s);
	return Ref(s);
}

static json_t *
Content(const char *type, json_t *schema)
{
	return json_pack("{s:{s:o}}", type, "schema", schema);
}

/* Adds one reply of the table, or its content type to one added. */
static void
AddReply(json_t *responses, const ShimReplyDoc *d)
{
	char		code[8];
	json_t	   *r;

	snprintf(code, sizeof(code), "%d", d->status);
	r = json_object_get(responses, code);
	if (r == NULL)
	{
		r = json_pack("{s:s, s:o}", "description",
					  d->description ? d->description : shim_reason(d->status),
					  "content", shim_json_object());
		json_object_set_new(responses, code, r);
	}
	json_object_set_new(json_object_get(r, "content"), d->content_type,
						json_pack("{s:o}", "schema", Schema(d->schema)));
	if (d->link)
		json_object_set_new(r, "headers",
							json_pack("{s:{s:s, s:{s:s}}}", "Link",
									  "description", "<...&cursor=...>; rel=\"next\"",
									  "schema", "type", "string"));
}

/* The parameters, body and responses of one operation, from its route. */
static json_t *
Operation(const ShimRoute *r)
{
	json_t	   *op = json_pack("{s:s, s:s}", "operationId", r->operation_id,
							   "summary", r->summary);
	json_t	   *params = json_array();
	json_t	   *resp = shim_json_object();
	const ShimParam *p;
	const ShimReplyDoc *d;
	const int  *status;

	for (p = r->params; p && p->name; p++)
	{
		json_t	   *schema = json_pack("{s:s}", "type", p->type);

		if (p->format)
			json_object_set_new(schema, "format", json_string(p->format));
		json_array_append_new(params,
							  json_pack("{s:s, s:s, s:b, s:o, s:s}",
										"name", p->name,
										"in", p->in == SHIM_IN_PATH ? "path" : "query",
										"required", p->required,
										"schema", schema,
										"description", p->description));
	}
	if (r->body_schema)
		json_object_set_new(op, "requestBody",
							json_pack("{s:b, s:o}", "required", 1, "content",
									  Content("application/json",
											  Schema(r->body_schema))));
	for (d = r->replies; d && d->status; d++)
		AddReply(resp, d);
	for (status = r->problems; status && *status; status++)
	{
		ShimReplyDoc problem = {*status, NULL, "application/problem+json",
		"Problem", false};

		AddReply(resp, &problem);
	}

	if (r->auth != SHIM_AUTH_NONE)
		json_object_set_new(op, "security",
							json_pack("[{s:[]}, {}]", r->auth == SHIM_AUTH_READ ? "readKey" :
									  r->auth == SHIM_AUTH_WRITE ? "writeKey" : "adminKey"));
	if (json_array_size(params))
		json_object_set_new(op, "parameters", params);
	else
		json_decref(params);
	json_object_set_new(op, "responses", resp);
	return op;
}

/* A type that may also be null. */
static json_t *
Nullable(const char *type, const char *format)
{
	json_t	   *t = json_pack("{s:[ss]}", "type", type, "null");

	if (format)
		json_object_set_new(t, "format", json_string(format));
	return t;
}

/* What counting_status_json() returns (docs/interfaces.md). */
static json_t *
CountingStatusSchema(void)
{
	json_t	   *props = shim_json_object();
	json_t	   *position = shim_json_object();
	json_t	   *job = shim_json_object();
	json_t	   *last_run = shim_json_object();

	json_object_set_new(props, "last_run_at", Nullable("string", "date-time"));
	json_object_set_new(props, "last_success_at", Nullable("string", "date-time"));
	json_object_set_new(props, "last_outcome",
						json_pack("{s:[ss], s:[sssso]}", "type", "string", "null",
								  "enum", "counted", "empty", "busy", "error", json_null()));
	json_object_set_new(props, "last_error", Nullable("string", NULL));
	json_object_set_new(props, "seconds_since_last_success", Nullable("number", NULL));
	json_object_set_new(props, "schedule", Nullable("string", NULL));
	json_object_set_new(props, "events_counted", Nullable("integer", "int64"));
	json_object_set_new(position, "last_id", json_pack("{s:s, s:s}", "type", "integer", "format", "int64"));
	json_object_set_new(position, "last_period_end", json_pack("{s:s, s:s}", "type", "string", "format", "date-time"));
	json_object_set_new(position, "updated_at", json_pack("{s:s, s:s}", "type", "string", "format", "date-time"));
	json_object_set_new(props, "position",
						json_pack("{s:[ss], s:o}", "type", "object", "null", "properties", position));
	json_object_set_new(props, "expected_interval_seconds", Nullable("integer", NULL));
	json_object_set_new(props, "next_run_at", Nullable("string", "date-time"));
	json_object_set_new(last_run, "status", json_pack("{s:s}", "type", "string"));
	json_object_set_new(last_run, "started_at", Nullable("string", "date-time"));
	json_object_set_new(last_run, "ended_at", Nullable("string", "date-time"));
	json_object_set_new(last_run, "message", Nullable("string", NULL));
	json_object_set_new(job, "name", json_pack("{s:s}", "type", "string"));
	json_object_set_new(job, "schedule", json_pack("{s:s}", "type", "string"));
	json_object_set_new(job, "active", json_pack("{s:s}", "type", "boolean"));
	json_object_set_new(job, "last_run",
						json_pack("{s:[ss], s:o}", "type", "object", "null", "properties", last_run));
	json_object_set_new(props, "pg_cron",
						json_pack("{s:[ss], s:{s:{s:s}, s:{s:[ss], s:o}}}",
								  "type", "object", "null", "properties",
								  "timezone", "type", "string",
								  "job", "type", "object", "null", "properties", job));
	return json_pack("{s:s, s:o}", "type", "object", "properties", props);
}

static json_t *
Components(void)
{
	json_t	   *event_props = json_pack(
										"{s:{s:s, s:s}, s:{s:s, s:s, s:i}, s:{s:s, s:[ssss]},"
										" s:{s:s, s:s}, s:{s:s}, s:{s:[ss], s:s}}",
										"id", "type", "integer", "format", "int64",
										"user_id", "type", "integer", "format", "int64", "minimum", 1,
										"action", "type", "string", "enum", "created", "updated", "deleted", "viewed",
										"event_action_timestamp", "type", "string", "format", "date-time",
										"metadata", "type", "object",
										"event_id", "type", "string", "null", "format", "uuid");
	json_t	   *input_props = json_deep_copy(event_props);
	json_t	   *schemas;
	json_t	   *bearer = json_pack("{s:s, s:s}", "type", "http", "scheme", "bearer");

	json_object_del(input_props, "id");
	json_object_set_new(event_props, "recorded_at",
						json_pack("{s:s, s:s}", "type", "string", "format", "date-time"));
	json_object_set_new(event_props, "status",
						json_pack("{s:s, s:[ss]}", "type", "string", "enum", "stored", "duplicate"));
	json_object_set_new(event_props, "createdAt",
						json_pack("{s:s, s:s, s:s}", "type", "string", "format", "date-time",
								  "description", "recorded_at again, as the original service named it (POST /api/event only)"));
	schemas = json_pack("{s:{s:s, s:o}, s:{s:s, s:[sss], s:b, s:o}, s:{s:s, s:o}, s:{s:s, s:o}}",
						"Event", "type", "object", "properties", event_props,
						"EventInput", "type", "object",
						"required", "user_id", "action", "event_action_timestamp",
						"additionalProperties", 0, "properties", input_props,
						"BatchResult", "type", "object", "properties",
						json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}}",
								  "stored", "type", "integer",
								  "duplicates", "type", "integer",
								  "rejected", "type", "integer",
								  "results", "type", "array", "items", "type", "object"),
						"Problem", "type", "object", "properties",
						json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s},"
								  " s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}",
								  "type", "type", "string", "title", "type", "string",
								  "status", "type", "integer", "detail", "type", "string",
								  "error", "type", "string", "field", "type", "string",
								  "sqlstate", "type", "string", "instance", "type", "string",
								  "request_id", "type", "string"));
	json_object_set_new(schemas, "CountingStatus", CountingStatusSchema());
	return json_pack("{s:o, s:{s:O, s:O, s:o}}", "schemas", schemas,
					 "securitySchemes", "readKey", bearer, "writeKey", bearer,
					 "adminKey", bearer);
}

/* shim_openapi_json renders the description of every route (malloc'd). */
char *
shim_openapi_json(void)
{
	json_t	   *paths = shim_json_object();
	json_t	   *doc;
	char	   *s;
	int			i;

	for (i = 0; i < shim_route_count; i++)
	{
		const ShimRoute *r = &shim_routes[i];
		json_t	   *item = json_object_get(paths, r->path);
		char		method[16];
		size_t		k;

		if (item == NULL)
		{
			item = shim_json_object();
			json_object_set_new(paths, r->path, item);
		}
		for (k = 0; r->method[k] && k < sizeof(method) - 1; k++)
			method[k] = r->method[k] - 'A' + 'a';
		method[k] = '\0';
		json_object_set_new(item, method, Operation(r));
	}
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o}",
					"openapi", "3.1.0",
					"info", "title", "user_activity REST API",
					"version", SHIM_VERSION,
					"description", "Record, find, export and count user activity events. Errors are RFC 9457 problem documents.",
					"paths", paths, "components", Components());
	s = json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return s;
}

/* GET /api/openapi.json */
enum MHD_Result
shim_h_openapi(ShimRequest *req)
{
	char	   *s = shim_openapi_json();
	enum MHD_Result ret;

	ret = shim_reply_json(req, 200, s, NULL);
	free(s);
	return ret;
}
