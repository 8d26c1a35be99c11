/*-------------------------------------------------------------------------
 *
 * ops.c
 *	  Operational endpoints: liveness, readiness and Prometheus metrics.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "handlers.h"

/* GET /healthz: the process answers. */
enum MHD_Result
shim_h_healthz(ShimRequest *req)
{
	return shim_reply_json(req, 200, "{\"status\":\"ok\"}", NULL);
}

/* GET /readyz: the database answers and the shim is not shutting down. */
enum MHD_Result
shim_h_readyz(ShimRequest *req)
{
	static const ShimHeader retry[] = {{"Retry-After", "1"}, {NULL, NULL}};
	ShimConn   *conn;
	ShimDbError err;
	PGresult   *res;

	if (shim_draining(req->shim))
		return shim_problem(req, 503, NULL, "shutting down",
							"The shim is draining its requests before it stops.",
							NULL, retry);
	conn = shim_pool_acquire(req->shim->pool, 1000, &err);
	if (conn == NULL)
		return shim_problem_db(req, SHIM_Q_PING, &err);
	res = shim_db_exec(conn, SHIM_Q_PING, 0, NULL, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
		return shim_problem_db(req, SHIM_Q_PING, &err);
	PQclear(res);
	return shim_reply_json(req, 200, "{\"status\":\"ready\"}", NULL);
}

/* Parses an RFC 3339 UTC time as the extension prints it. */
static bool
ParseUtc(const char *s, double *out)
{
	struct tm	tm;
	const char *rest;
	double		frac = 0;

	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return false;
	if (*rest == '.')
		frac = strtod(rest, NULL);
	*out = (double) timegm(&tm) + frac;
	return true;
}

/*
 * CountingStatus reads counting_status_json() (a single-row view and the
 * pg_cron job, cheap) into the freshness gauges.  Nothing is filled when the function is
 * missing or the database is down: the gauges then have no sample.
 */
static void
CountingStatus(ShimRequest *req, ShimMetricsExtra *extra)
{
	ShimConn   *conn;
	ShimDbError err;
	PGresult   *res;
	json_t	   *doc;
	const char *s;
	json_t	   *v;

	conn = shim_pool_acquire(req->shim->pool, 1000, &err);
	if (conn == NULL)
		return;
	res = shim_db_exec(conn, SHIM_Q_COUNTING_STATUS, 0, NULL, &err);
	shim_pool_release(req->shim->pool, conn);
	if (res == NULL)
		return;
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	if (doc == NULL)
		return;
	extra->have_counting = true;
	s = json_string_value(json_object_get(doc, "last_success_at"));
	if (s && ParseUtc(s, &extra->last_success_ts))
	{
		extra->have_last_success = true;
		v = json_object_get(doc, "seconds_since_last_success");
		if (json_is_number(v))
			extra->seconds_since_success = json_number_value(v);
		else
			extra->seconds_since_success = (double) time(NULL) -
				extra->last_success_ts;
	}
	/* computed by the extension from the pg_cron job's cron expression */
	v = json_object_get(doc, "expected_interval_seconds");
	if (json_is_number(v) && json_number_value(v) > 0)
	{
		extra->have_interval = true;
		extra->expected_interval = json_number_value(v);
	}
	s = json_string_value(json_object_get(doc, "last_outcome"));
	if (s)
	{
		extra->have_last_outcome = true;
		extra->last_run_ok = strcmp(s, "failed") != 0 &&
			strcmp(s, "error") != 0;
	}
	json_decref(doc);
}

/* GET /metrics */
enum MHD_Result
shim_h_metrics(ShimRequest *req)
{
	ShimMetricsExtra extra;
	ShimBuf		b;
	enum MHD_Result ret;

	memset(&extra, 0, sizeof(extra));
	extra.mode = req->shim->cfg.mode;
	CountingStatus(req, &extra);
	shim_pool_counts(req->shim->pool, &extra.pool_idle, &extra.pool_busy,
					 &extra.pool_broken);
	extra.exports = __atomic_load_n(&req->shim->exports, __ATOMIC_RELAXED);
	extra.max_exports = req->shim->max_exports;
	shim_buf_init(&b);
	shim_metrics_render(&b, &extra);
	ret = shim_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
					 b.data, b.len, NULL);
	shim_buf_free(&b);
	return ret;
}
