/*-------------------------------------------------------------------------
 *
 * router.h
 *	  The route table (router.c), the one description of every endpoint,
 *	  path matching, and what is derived from the table outside dispatch:
 *	  the statements handed to the pool, the metrics' route labels and the
 *	  OpenAPI document (openapi.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_ROUTER_H
#define SHIM_ROUTER_H

#include "handlers.h"

/*
 * How a route's request runs once its body is in (dispatch.c):
 * on the HTTP thread (it needs no database), on a job thread, or sent
 * from the HTTP thread on an idle connection and answered by the executor
 * thread (async.c), alone or in a group commit; those last two go to a
 * job thread when no connection is idle.
 */
typedef enum ShimRun
{
	SHIM_RUN_HTTP,
	SHIM_RUN_JOB,
	SHIM_RUN_PIPELINE,
	SHIM_RUN_GROUP
} ShimRun;

/* Where a parameter comes from. */
typedef enum ShimParamIn
{
	SHIM_IN_QUERY,
	SHIM_IN_PATH
} ShimParamIn;

/* A parameter of a route, as the OpenAPI document describes it. */
typedef struct ShimParam
{
	const char *name;
	ShimParamIn in;
	bool		required;
	const char *type;			/* JSON Schema type */
	const char *format;			/* or NULL */
	const char *description;
} ShimParam;

/*
 * A reply of a route, for the OpenAPI document.  schema is a component's
 * name, "[]Name" for an array of them, or a plain type ("object", "array",
 * "string"); several entries of one status are its content types.
 */
typedef struct ShimReplyDoc
{
	int			status;
	const char *description;
	const char *content_type;
	const char *schema;
	bool		link;			/* carries Link rel="next" */
} ShimReplyDoc;

typedef struct ShimRoute
{
	const char *method;
	const char *path;			/* template, "{id}" matches one segment */
	ShimAuth	auth;			/* the key scope it needs */
	ShimRun		run;
	ShimHandler handler;		/* runs it on the HTTP or a job thread */

	/* RUN_PIPELINE and RUN_GROUP: answers a statement sent */
	ShimAsyncDone done;

	ShimStatement stmt;			/* nparams 0 and no sql: none */

	/*
	 * RUN_GROUP: the statement that runs a group of requests at once, in
	 * one transaction: the requests' bodies its one parameter ("@bodies",
	 * a text[]), one row per request its result (see db.h).
	 */
	ShimStatement group;

	/*
	 * The streamed variant, if any: run on a job thread (stream.c) when
	 * export_format names a format for the request.
	 */
	ShimStatement stream;
	const char *(*export_format) (ShimRequest *req, const char **content_type);

	/* a query parameter not in params is refused (400, 42703) */
	bool		strict_query;

	/* the OpenAPI operation */
	const char *operation_id;
	const char *summary;
	const char *body_schema;	/* as ShimReplyDoc's schema; NULL: no body */
	const ShimParam *params;	/* ends with a NULL name; NULL: none */
	const ShimReplyDoc *replies;	/* ends with status 0 */
	const int  *problems;		/* problem statuses, ending with 0 */
} ShimRoute;

#define shim_route_has_body(r) ((r)->body_schema != NULL)

extern const ShimRoute shim_routes[];
extern const int shim_route_count;

#define SHIM_ROUTE_STATIC	(shim_route_count)
#define SHIM_ROUTE_UNMATCHED (shim_route_count + 1)

#define SHIM_MATCH_NONE		(-1)
#define SHIM_MATCH_METHOD	(-2)

extern int	shim_route_match(const char *method, const char *path,
							 char *id, size_t idlen, char *allow,
							 size_t allowlen);
extern const char *shim_route_label(int route);
extern int	shim_route_for_path(const char *path);

/*
 * shim_routes_register hands the table's statements to the pool (db.c)
 * and its templates to the metrics; shim_start calls it once.
 */
extern void shim_routes_register(void);

/* Paths under /api, which the page's files never shadow. */
extern bool shim_api_path(const char *path);

/* openapi.c */
extern char *shim_openapi_json(void);
extern enum MHD_Result shim_h_openapi(ShimRequest *req);

#endif							/* SHIM_ROUTER_H */
