/*-------------------------------------------------------------------------
 *
 * unit.c
 *	  Unit tests of the shim's pure parts: routing, configuration parsing,
 *	  the SQLSTATE to HTTP status table, problem documents, metrics
 *	  rendering and the helpers; what is derived from the route table
 *	  (OpenAPI, Allow, statements) is checked in unit_table.c.  Prints TAP;
 *	  exits 1 on any failure.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http.h"
#include "unit.h"

static int	ntests = 0;
static int	nfailed = 0;

void
Check(bool ok, const char *what)
{
	ntests++;
	if (!ok)
		nfailed++;
	printf("%s %d - %s\n", ok ? "ok" : "not ok", ntests, what);
}

/* ---- routing ---- */

int
Route(const char *method, const char *path, char *id, char *allow)
{
	return shim_route_match(method, path, id, 32, allow, 64);
}

static int
RouteIndex(const char *method, const char *tmpl)
{
	int			i;

	for (i = 0; i < shim_route_count; i++)
		if (strcmp(shim_routes[i].method, method) == 0 &&
			strcmp(shim_routes[i].path, tmpl) == 0)
			return i;
	return -100;
}

static void
TestRouting(void)
{
	char		id[32];
	char		allow[64];
	int			r;

	Check(Route("POST", "/api/event", id, allow) == RouteIndex("POST", "/api/event"),
		  "POST /api/event routes to recordEvent");
	Check(Route("GET", "/api/events", id, allow) == RouteIndex("GET", "/api/events"),
		  "GET /api/events routes to searchEvents");
	Check(Route("HEAD", "/api/events", id, allow) == RouteIndex("GET", "/api/events"),
		  "HEAD is served as GET");
	r = Route("GET", "/api/users/42/counts", id, allow);
	Check(r == RouteIndex("GET", "/api/users/{id}/counts") && strcmp(id, "42") == 0,
		  "{id} captures one segment");
	r = Route("DELETE", "/api/users/7/events", id, allow);
	Check(r == RouteIndex("DELETE", "/api/users/{id}/events") && strcmp(id, "7") == 0,
		  "DELETE /api/users/{id}/events");
	Check(Route("GET", "/api/users//counts", id, allow) == SHIM_MATCH_NONE,
		  "an empty {id} matches nothing");
	Check(Route("GET", "/api/users/1/2/counts", id, allow) == SHIM_MATCH_NONE,
		  "{id} never spans two segments");
	Check(Route("GET", "/api/event/", id, allow) == SHIM_MATCH_NONE,
		  "a trailing slash is another path");
	Check(Route("GET", "/nope", id, allow) == SHIM_MATCH_NONE, "unknown path");
	r = Route("PUT", "/api/events", id, allow);
	Check(r == SHIM_MATCH_METHOD && strcmp(allow, "POST, GET, HEAD, OPTIONS") == 0,
		  "wrong method: 405 with Allow listing the path's methods");
	r = Route("POST", "/metrics", id, allow);
	Check(r == SHIM_MATCH_METHOD && strcmp(allow, "GET, HEAD, OPTIONS") == 0,
		  "POST /metrics is 405, Allow: GET, HEAD, OPTIONS");
	r = Route("GET", "/api/users/123456789012345678901234567890123/counts", id, allow);
	Check(r == RouteIndex("GET", "/api/users/{id}/counts") && id[0] == '\0',
		  "an over-long id is captured empty (then rejected)");
	Check(strcmp(shim_route_label(SHIM_ROUTE_UNMATCHED), "/{unmatched}") == 0 &&
		  strcmp(shim_route_label(RouteIndex("GET", "/api/users/{id}/counts")),
				 "/api/users/{id}/counts") == 0,
		  "metric labels are templates, never raw paths");
}

/* ---- configuration ---- */

static const char *const *env_pairs;

static const char *
FakeEnv(const char *name)
{
	const char *const *p;

	for (p = env_pairs; p && *p; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static bool
ParseWith(const char *const *pairs, ShimConfig *cfg, char *err)
{
	env_pairs = pairs;
	shim_config_defaults(cfg);
	err[0] = '\0';
	return shim_config_from_env(cfg, FakeEnv, err, 256);
}

static void
TestConfig(void)
{
	ShimConfig	cfg;
	char		err[256];

	{
		const char *const env[] = {NULL};

		Check(ParseWith(env, &cfg, err) && cfg.port == 8080 &&
			  strcmp(cfg.listen_address, "127.0.0.1") == 0 &&
			  !cfg.allow_unauthenticated &&
			  strcmp(cfg.cors_origins, "") == 0 && cfg.cors_max_age_hours == 12 &&
			  cfg.body_limit == 1048576 && cfg.api_key_write[0] == '\0',
			  "defaults: loopback port 8080, keys required, no CORS origin, 12 h, 1 MiB");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {
			"DB_URL", "postgres://u@h/db", "HTTP_PORT", "9090",
			"HTTP_CORS_ALLOWED_ORIGINS", "http://a.example, http://b.example",
			"HTTP_CORS_ALLOWED_METHODS", "GET,POST",
			"HTTP_CORS_ALLOWED_HEADERS", "Content-Type",
			"HTTP_CORS_MAX_AGE_HOURS_CACHE", "2", "HTTP_THREADS", "4",
			"HTTP_API_KEY_WRITE", "w", "LOG_LEVEL", "warn",
			"HTTP_CORS_ALLOW_CREDENTIALS", "true", NULL};

		Check(ParseWith(env, &cfg, err) && cfg.port == 9090 &&
			  strcmp(cfg.db_url, "postgres://u@h/db") == 0 &&
			  cfg.cors_max_age_hours == 2 && cfg.threads == 4 &&
			  strcmp(cfg.api_key_write, "w") == 0 && cfg.log_level == 2 &&
			  cfg.cors_credentials,
			  "the original's variable names are read");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_PORT", "80a", NULL};

		Check(!ParseWith(env, &cfg, err) &&
			  strcmp(err, "invalid HTTP_PORT \"80a\": must be an integer from 1 to 65535") == 0,
			  "HTTP_PORT=80a: one line naming the variable and the rule");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_PORT", "70000", NULL};

		Check(!ParseWith(env, &cfg, err) && strstr(err, "HTTP_PORT") != NULL,
			  "HTTP_PORT out of range");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_THREADS", "4", "DB_POOL_SIZE", "2", NULL};

		Check(!ParseWith(env, &cfg, err) && strstr(err, "DB_POOL_SIZE") != NULL,
			  "a pool smaller than the threads is refused");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_THREADS", "4", "DB_POOL_SIZE", "6", NULL};

		Check(ParseWith(env, &cfg, err) && shim_config_max_exports(&cfg) == 3,
			  "exports default to half the pool");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_THREADS", "1", "DB_POOL_SIZE", "1", NULL};

		Check(ParseWith(env, &cfg, err) && shim_config_max_exports(&cfg) == 1,
			  "a pool of one still allows one export");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_THREADS", "4", "HTTP_MAX_EXPORTS", "7", NULL};

		Check(!ParseWith(env, &cfg, err) &&
			  strstr(err, "HTTP_MAX_EXPORTS 7") != NULL && strstr(err, "(6)") != NULL,
			  "more exports than connections are refused");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_MAX_EXPORTS", "0", NULL};

		Check(!ParseWith(env, &cfg, err) && strstr(err, "HTTP_MAX_EXPORTS") != NULL,
			  "HTTP_MAX_EXPORTS 0 is refused");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_CORS_ALLOW_CREDENTIALS", "true",
		"HTTP_CORS_ALLOWED_ORIGINS", "*", NULL};

		Check(!ParseWith(env, &cfg, err) && strstr(err, "credentials") != NULL,
			  "credentials with origin * are refused");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_ALLOW_UNAUTHENTICATED", "on",
		"HTTP_LISTEN_ADDRESS", "0.0.0.0", NULL};

		Check(!ParseWith(env, &cfg, err) &&
			  strcmp(err, "refusing to listen on 0.0.0.0 with HTTP_ALLOW_UNAUTHENTICATED=on: unauthenticated access is for loopback only; set API keys instead") == 0,
			  "unauthenticated access beyond loopback: one line naming the setting");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_ALLOW_UNAUTHENTICATED", "on",
		"HTTP_LISTEN_ADDRESS", "*", NULL};

		Check(!ParseWith(env, &cfg, err) && strstr(err, "loopback only") != NULL,
			  "unauthenticated access on every address (*) is refused");
		shim_config_free(&cfg);
	}
	{
		Check(shim_address_is_loopback("127.0.0.1") &&
			  shim_address_is_loopback("127.3.2.1") &&
			  shim_address_is_loopback("::1") &&
			  shim_address_is_loopback("::ffff:127.0.0.1") &&
			  !shim_address_is_loopback("*") &&
			  !shim_address_is_loopback("0.0.0.0") &&
			  !shim_address_is_loopback("::") &&
			  !shim_address_is_loopback("10.0.0.1") &&
			  !shim_address_is_loopback("128.0.0.1") &&
			  !shim_address_is_loopback("::ffff:10.0.0.1"),
			  "loopback is 127.0.0.0/8 and ::1 only");
	}
	{
		const char *const env[] = {"HTTP_ALLOW_UNAUTHENTICATED", "on",
		"HTTP_LISTEN_ADDRESS", "::1", NULL};

		Check(ParseWith(env, &cfg, err) && cfg.allow_unauthenticated,
			  "unauthenticated access on ::1 is taken");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_CORS_ALLOW_CREDENTIALS", "maybe", NULL};

		Check(!ParseWith(env, &cfg, err) &&
			  strstr(err, "must be true or false") != NULL,
			  "a boolean must be true or false");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"LOG_LEVEL", "loud", NULL};

		Check(!ParseWith(env, &cfg, err) && strstr(err, "LOG_LEVEL") != NULL,
			  "unknown LOG_LEVEL");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_CORS_ALLOWED_HEADERS", "X-A\r\nX-B", NULL};

		Check(!ParseWith(env, &cfg, err) &&
			  strstr(err, "HTTP_CORS_ALLOWED_HEADERS") != NULL,
			  "header injection through CORS settings is refused");
		shim_config_free(&cfg);
	}
	{
		const char *const env[] = {"HTTP_BODY_LIMIT_BYTES", "10", NULL};

		Check(!ParseWith(env, &cfg, err) &&
			  strstr(err, "HTTP_BODY_LIMIT_BYTES") != NULL,
			  "body limit below 1024 refused");
		shim_config_free(&cfg);
	}
}

/* ---- SQLSTATE mapping and problem documents ---- */

static void
TestSqlstate(void)
{
	Check(shim_status_for_sqlstate("23502", false, SHIM_Q_RECORD_EVENT) == 400,
		  "23502 not_null_violation -> 400");
	Check(shim_status_for_sqlstate("42804", false, SHIM_Q_RECORD_EVENT) == 400,
		  "42804 datatype_mismatch -> 400");
	Check(shim_status_for_sqlstate("22003", false, SHIM_Q_SEARCH_EVENTS) == 400,
		  "22003 out of range -> 400");
	Check(shim_status_for_sqlstate("22007", false, SHIM_Q_RECORD_EVENT) == 400,
		  "22007 bad timestamp -> 400");
	Check(shim_status_for_sqlstate("42703", false, SHIM_Q_RECORD_EVENT) == 400,
		  "42703 unknown field -> 400");
	Check(shim_status_for_sqlstate("54000", false, SHIM_Q_RECORD_EVENTS) == 413,
		  "54000 on a batch -> 413");
	Check(shim_status_for_sqlstate("54000", false, SHIM_Q_RECORD_EVENT) == 400,
		  "54000 on metadata -> 400");
	Check(shim_status_for_sqlstate("08006", false, SHIM_Q_RECORD_EVENT) == 503,
		  "08006 connection failure -> 503");
	Check(shim_status_for_sqlstate("57P01", false, SHIM_Q_RECORD_EVENT) == 503,
		  "57P01 admin shutdown -> 503");
	Check(shim_status_for_sqlstate("53300", false, SHIM_Q_RECORD_EVENT) == 503,
		  "53300 too many connections -> 503");
	Check(shim_status_for_sqlstate("42883", false, SHIM_Q_RECORD_EVENT) == 500,
		  "42883 undefined function -> 500, not the client's fault");
	Check(shim_status_for_sqlstate("42501", false, SHIM_Q_RECORD_EVENT) == 500,
		  "42501 insufficient privilege -> 500");
	Check(shim_status_for_sqlstate("22023", true, SHIM_Q_RECORD_EVENT) == 500,
		  "a statement that failed to prepare -> 500");
	Check(shim_status_for_sqlstate("XX000", false, SHIM_Q_RECORD_EVENT) == 500,
		  "XX000 -> 500");
	Check(shim_status_for_sqlstate("23505", false, SHIM_Q_RECORD_EVENT) == 409,
		  "23505 unique violation -> 409");

	{
		ShimBuf		b;
		json_t	   *doc;

		shim_buf_init(&b);
		shim_problem_json(&b, 400, "action", "invalid action \"x\"",
						  "Field \"action\" must be one of created.", "22023",
						  "abc", "/api/event");
		doc = json_loads(b.data, 0, NULL);
		Check(doc != NULL &&
			  json_integer_value(json_object_get(doc, "status")) == 400 &&
			  strcmp(json_string_value(json_object_get(doc, "title")), "Bad Request") == 0 &&
			  strcmp(json_string_value(json_object_get(doc, "field")), "action") == 0 &&
			  strcmp(json_string_value(json_object_get(doc, "error")), "invalid action \"x\"") == 0 &&
			  strcmp(json_string_value(json_object_get(doc, "detail")),
					 "Field \"action\" must be one of created.") == 0 &&
			  strcmp(json_string_value(json_object_get(doc, "sqlstate")), "22023") == 0 &&
			  strcmp(json_string_value(json_object_get(doc, "request_id")), "abc") == 0,
			  "problem document: valid JSON with status, title, field, detail, sqlstate, request id");
		json_decref(doc);
		shim_buf_free(&b);
	}
}

/* ---- metrics ---- */

static void
TestMetrics(void)
{
	ShimBuf		b;
	ShimMetricsExtra extra;
	int			route = RouteIndex("POST", "/api/event");

	shim_metrics_reset();
	shim_metrics_request(route, 201, 0.003);
	shim_metrics_request(route, 201, 0.2);
	shim_metrics_request(route, 400, 0.001);
	shim_metrics_request(SHIM_ROUTE_UNMATCHED, 404, 0.0001);
	shim_metrics_ingested("viewed");
	shim_metrics_rejected("action");
	shim_metrics_rejected("no_such_field");
	shim_metrics_duplicate();
	shim_metrics_db_query(SHIM_Q_RECORD_EVENT, 0.002);
	shim_metrics_db_up(true);
	shim_metrics_export_refused();
	shim_metrics_export_rows("csv", 5);
	shim_metrics_export_rows("csv", 2);
	shim_metrics_export_rows("xml", 9);

	memset(&extra, 0, sizeof(extra));
	extra.mode = SHIM_MODE_WORKER;
	extra.pool_idle = 3;
	extra.have_counting = true;
	extra.have_last_success = true;
	extra.last_success_ts = 1700000000;
	extra.seconds_since_success = 12.5;
	extra.have_last_outcome = true;
	extra.last_run_ok = true;
	extra.have_interval = true;
	extra.expected_interval = 14400;
	extra.exports = 1;
	extra.max_exports = 3;
	shim_buf_init(&b);
	shim_metrics_render(&b, &extra);

	Check(strstr(b.data, "user_activity_tracking_api_requests_total{path=\"/api/event\",status=\"201\"} 2\n") != NULL,
		  "requests_total by route template and numeric status");
	Check(strstr(b.data, "user_activity_tracking_api_requests_errors_total{path=\"/api/event\",status=\"400\"} 1\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_api_requests_errors_total{path=\"/api/event\",status=\"201\"}") == NULL,
		  "errors_total only for status >= 400");
	Check(strstr(b.data, "user_activity_tracking_api_request_duration_seconds_bucket{path=\"/api/event\",le=\"0.005\"} 2\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_api_request_duration_seconds_bucket{path=\"/api/event\",le=\"+Inf\"} 3\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_api_request_duration_seconds_count{path=\"/api/event\"} 3\n") != NULL,
		  "duration histogram is cumulative");
	Check(strstr(b.data, "user_activity_tracking_events_ingested_total{action=\"viewed\"} 1\n") != NULL,
		  "ingested by action");
	Check(strstr(b.data, "user_activity_tracking_events_rejected_total{field=\"action\"} 1\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_events_rejected_total{field=\"other\"} 1\n") != NULL,
		  "rejected by field; unknown fields fold into \"other\"");
	Check(strstr(b.data, "user_activity_tracking_events_duplicate_total 1\n") != NULL,
		  "duplicates");
	Check(strstr(b.data, "user_activity_tracking_db_query_duration_seconds_count{query=\"record_event\"} 1\n") != NULL,
		  "query histogram by statement name");
	Check(strstr(b.data, "user_activity_tracking_db_pool_connections{state=\"idle\"} 3\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_db_up 1\n") != NULL,
		  "pool gauges and db_up");
	Check(strstr(b.data, "user_activity_tracking_counting_seconds_since_last_success 12.500\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_counting_last_run_success 1\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_counting_expected_interval_seconds 14400\n") != NULL,
		  "counting freshness gauges");
	Check(strstr(b.data, "user_activity_tracking_build_info{version=\"" SHIM_VERSION "\",mode=\"worker\"} 1\n") != NULL,
		  "build_info with version and mode");
	Check(strstr(b.data, "# TYPE user_activity_tracking_api_request_duration_seconds histogram\n") != NULL,
		  "TYPE lines");
	Check(strstr(b.data, "# TYPE user_activity_tracking_api_exports_in_progress gauge\n"
				 "user_activity_tracking_api_exports_in_progress 1\n") != NULL &&
		  strstr(b.data, "# TYPE user_activity_tracking_api_exports_limit gauge\n"
				 "user_activity_tracking_api_exports_limit 3\n") != NULL,
		  "exports in progress and their limit");
	Check(strstr(b.data, "# TYPE user_activity_tracking_api_exports_refused_total counter\n"
				 "user_activity_tracking_api_exports_refused_total 1\n") != NULL,
		  "exports refused");
	Check(strstr(b.data, "user_activity_tracking_api_export_rows_total{format=\"csv\"} 7\n") != NULL &&
		  strstr(b.data, "user_activity_tracking_api_export_rows_total{format=\"ndjson\"} 0\n") != NULL &&
		  strstr(b.data, "format=\"xml\"") == NULL,
		  "export rows summed by format, both formats shown from zero, others not");
	if (getenv("SHIM_UNIT_METRICS_OUT"))
	{
		FILE	   *f = fopen(getenv("SHIM_UNIT_METRICS_OUT"), "w");

		if (f)
		{
			fwrite(b.data, 1, b.len, f);
			fclose(f);
		}
	}
	shim_buf_free(&b);
}

static void
TestHelpers(void)
{
	ShimBuf		b;

	Check(shim_const_eq("secret", "secret") && !shim_const_eq("secre", "secret") &&
		  !shim_const_eq("secretx", "secret") && !shim_const_eq("", "secret"),
		  "constant-time compare");
	{
		unsigned char h1[32] = {0};
		unsigned char h2[32] = {0};
		int			i;
		bool		ok = shim_const_eq_bytes(h1, h2, 32) == 1;

		for (i = 0; i < 32; i++)
		{
			h2[i] = (unsigned char) (1 << (i % 8));
			ok = ok && shim_const_eq_bytes(h1, h2, 32) == 0;
			h2[i] = 0;
		}
		Check(ok, "constant-time hash compare: 1 when equal, 0 for any one bit off");
	}
	shim_buf_init(&b);
	shim_buf_urlencode(&b, "2025-10-10T15:43:10.380+02:00 a/b");
	Check(strcmp(b.data, "2025-10-10T15%3A43%3A10.380%2B02%3A00%20a%2Fb") == 0,
		  "query values are percent-encoded");
	shim_buf_free(&b);
	shim_buf_json_string(&b, "a\"b\\c\n\x01");
	Check(strcmp(b.data, "\"a\\\"b\\\\c\\n\\u0001\"") == 0, "JSON string escaping");
	shim_buf_free(&b);
}

int
main(void)
{
	shim_log_setup(SHIM_LOG_ERROR + 1, 2);
	shim_routes_register();
	TestRouting();
	TestConfig();
	TestSqlstate();
	TestMetrics();
	TestOpenapi();
	TestAllow();
	TestStatements();
	TestHelpers();
	printf("1..%d\n", ntests);
	if (nfailed)
		printf("# %d of %d failed\n", nfailed, ntests);
	return nfailed ? 1 : 0;
}
