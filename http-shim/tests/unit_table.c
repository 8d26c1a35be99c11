/*-------------------------------------------------------------------------
 *
 * unit_table.c
 *	  Unit tests of what the shim derives from its route table (router.c):
 *	  the OpenAPI document, the Allow header of each path, and the prepared
 *	  statements with their parameters.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "unit.h"

static void TestOperations(json_t *paths);
static void TestStatementArgs(void);

void
TestOpenapi(void)
{
	char	   *s = shim_openapi_json();
	json_t	   *doc = json_loads(s, 0, NULL);
	json_t	   *paths = json_object_get(doc, "paths");
	int			i;
	bool		all = true;

	Check(doc != NULL && strcmp(json_string_value(json_object_get(doc, "openapi")), "3.1.0") == 0,
		  "OpenAPI 3.1 document");
	for (i = 0; i < shim_route_count; i++)
	{
		char		m[16];
		size_t		k;

		for (k = 0; shim_routes[i].method[k]; k++)
			m[k] = shim_routes[i].method[k] + ('a' - 'A');
		m[k] = '\0';
		if (json_object_get(json_object_get(paths, shim_routes[i].path), m) == NULL)
			all = false;
	}
	Check(all, "every route of the table is described");
	TestOperations(paths);
	json_decref(doc);
	free(s);
}

/* The lower-case method of route r, as OpenAPI's path items name it. */
static void
LowerMethod(const ShimRoute *r, char *m)
{
	size_t		k;

	for (k = 0; r->method[k]; k++)
		m[k] = r->method[k] + ('a' - 'A');
	m[k] = '\0';
}

/*
 * Each operation of the document is its route's entry: the parameters in
 * the table's order with their places, a body exactly when the route takes
 * one, a reply for every status the table lists (problems included), and
 * the key scope of the route.
 */
static void
TestOperations(json_t *paths)
{
	bool		params_ok = true,
				body_ok = true,
				replies_ok = true,
				scope_ok = true;
	int			i;

	for (i = 0; i < shim_route_count; i++)
	{
		const ShimRoute *r = &shim_routes[i];
		char		m[16];
		json_t	   *op;
		json_t	   *params;
		json_t	   *security;
		const char *want_scope;
		size_t		n = 0;
		const ShimParam *p;
		const ShimReplyDoc *d;
		const int  *st;
		char		code[8];

		LowerMethod(r, m);
		op = json_object_get(json_object_get(paths, r->path), m);
		params = json_object_get(op, "parameters");
		for (p = r->params; p && p->name; p++, n++)
		{
			json_t	   *jp = json_array_get(params, n);

			if (jp == NULL ||
				strcmp(json_string_value(json_object_get(jp, "name")), p->name) != 0 ||
				strcmp(json_string_value(json_object_get(jp, "in")),
					   p->in == SHIM_IN_PATH ? "path" : "query") != 0 ||
				json_is_true(json_object_get(jp, "required")) != p->required)
				params_ok = false;
		}
		if (json_array_size(params) != n)
			params_ok = false;
		if ((json_object_get(op, "requestBody") != NULL) != shim_route_has_body(r))
			body_ok = false;
		for (d = r->replies; d && d->status; d++)
		{
			snprintf(code, sizeof(code), "%d", d->status);
			if (json_object_get(json_object_get(json_object_get(json_object_get(op, "responses"), code),
												"content"), d->content_type) == NULL)
				replies_ok = false;
		}
		for (st = r->problems; st && *st; st++)
		{
			snprintf(code, sizeof(code), "%d", *st);
			if (json_object_get(json_object_get(op, "responses"), code) == NULL)
				replies_ok = false;
		}
		security = json_object_get(op, "security");
		want_scope = r->auth == SHIM_AUTH_READ ? "readKey" :
			r->auth == SHIM_AUTH_WRITE ? "writeKey" :
			r->auth == SHIM_AUTH_ADMIN ? "adminKey" : NULL;
		if (want_scope == NULL ? security != NULL :
			json_object_get(json_array_get(security, 0), want_scope) == NULL)
			scope_ok = false;
		/* the API needs a key; the operational endpoints do not */
		if ((strncmp(r->path, "/api/", 5) == 0 &&
			 strcmp(r->path, "/api/openapi.json") != 0) !=
			(r->auth != SHIM_AUTH_NONE))
			scope_ok = false;
	}
	Check(params_ok, "OpenAPI parameters are the route table's, in its order and places");
	Check(body_ok, "OpenAPI has a request body exactly for the routes that take one");
	Check(replies_ok, "OpenAPI lists every reply and problem status of the table");
	Check(scope_ok, "OpenAPI security is the route's key scope; every /api route needs one");
}

/*
 * Allow is the table's methods of a path, GET with HEAD, then OPTIONS, for
 * every path template of the table.
 */
void
TestAllow(void)
{
	bool		ok = true;
	int			i,
				j;

	for (i = 0; i < shim_route_count; i++)
	{
		char		path[128];
		char		want[64] = "";
		char		allow[64];
		char		id[32];
		const char *brace = strstr(shim_routes[i].path, "{id}");
		size_t		used = 0;

		if (brace)
			snprintf(path, sizeof(path), "%.*s42%s",
					 (int) (brace - shim_routes[i].path), shim_routes[i].path,
					 brace + 4);
		else
			snprintf(path, sizeof(path), "%s", shim_routes[i].path);
		for (j = 0; j < shim_route_count; j++)
			if (strcmp(shim_routes[j].path, shim_routes[i].path) == 0)
				used += snprintf(want + used, sizeof(want) - used, "%s%s%s",
								 used ? ", " : "", shim_routes[j].method,
								 strcmp(shim_routes[j].method, "GET") == 0 ? ", HEAD" : "");
		snprintf(want + used, sizeof(want) - used, ", OPTIONS");
		if (Route("PATCH", path, id, allow) != SHIM_MATCH_METHOD ||
			strcmp(allow, want) != 0)
			ok = false;
		if (Route(shim_routes[i].method, path, id, allow) != i)
			ok = false;
	}
	Check(ok, "each template routes to its entry; Allow is the table's methods of the path");
}

/* Every statement of the table is found by its id, once, with its SQL. */
void
TestStatements(void)
{
	bool		ok = true;
	int			q;

	for (q = 0; q < SHIM_Q_COUNT; q++)
	{
		const ShimStatement *st = shim_statement(q);

		if (st == NULL || st->id != (ShimQuery) q || st->sql == NULL ||
			strcmp(shim_query_name(q), st->name) != 0)
			ok = false;
	}
	Check(ok, "every prepared statement is written in the route table");
	TestStatementArgs();
}

/*
 * Each statement's parameters are named once each, and each name is a
 * parameter of its route (the body only where the route takes one, the
 * bodies of a group only as a group statement's one parameter), so that
 * every parameter reaches the SQL call as it came.  A route has a group
 * statement exactly when it runs in groups.
 */
static void
TestStatementArgs(void)
{
	bool		ok = true;
	int			i;

	for (i = 0; i < shim_route_count; i++)
	{
		const ShimRoute *r = &shim_routes[i];
		const ShimStatement *st[3] = {&r->stmt, &r->stream, &r->group};
		int			k;

		if ((r->run == SHIM_RUN_GROUP) != (r->group.sql != NULL))
			ok = false;
		for (k = 0; k < 3; k++)
		{
			int			a;

			if (st[k]->sql == NULL)
				continue;
			for (a = 0; a < st[k]->nparams; a++)
			{
				const char *name = st[k]->args[a];
				const ShimParam *p;
				bool		found = false;

				if (name == NULL)
					ok = false;
				else if (strcmp(name, "@body") == 0)
					found = shim_route_has_body(r);
				else if (strcmp(name, "@format") == 0)
					found = k == 1;
				else if (strcmp(name, "@bodies") == 0)
					found = k == 2 && st[k]->nparams == 1 &&
						shim_route_has_body(r) && r->stmt.nparams == 1;
				else
					for (p = r->params; p && p->name; p++)
						found = found || strcmp(p->name, name) == 0;
				if (!found)
					ok = false;
			}
			if (st[k]->nparams < SHIM_MAX_ARGS && st[k]->args[st[k]->nparams])
				ok = false;
		}
	}
	Check(ok, "every statement parameter is one of its route's, the body, the format or a group's bodies; only group routes have a group statement");
}
