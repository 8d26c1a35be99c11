/*-------------------------------------------------------------------------
 *
 * metrics.c
 *	  Prometheus metrics of the shim, kept in lock-free counters and
 *	  rendered in the text exposition format.  Label values are bounded:
 *	  "path" is a route template, "status" a number, "field" one of the
 *	  event's fields, "query" a prepared statement's fixed name, "format"
 *	  an export format.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "metrics.h"

#define MAX_ROUTES	32
#define MAX_STATUS	600
#define NBUCKETS	14

static const double buckets[NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
	5, 10
};

typedef struct Histogram
{
	uint64_t	counts[NBUCKETS + 1];	/* the last one is +Inf */
	uint64_t	sum_ns;
} Histogram;

static const char *const actions[] = {"created", "updated", "deleted", "viewed"};

#define NACTIONS 4

static const char *const fields[] = {
	"user_id", "action", "event_action_timestamp", "metadata", "event_id",
	"body", "unknown_field", "other"
};

#define NFIELDS 8

static uint64_t requests[MAX_ROUTES][MAX_STATUS];
static Histogram request_seconds[MAX_ROUTES];
static int64_t in_flight;
static uint64_t ingested[NACTIONS];
static uint64_t rejected[NFIELDS];
static uint64_t duplicates;
#define MAX_QUERIES	16
static Histogram query_seconds[MAX_QUERIES];
static const char *query_names[MAX_QUERIES];
static int	db_up = -1;

/* group commit: transactions written, events in them, groups written again */
static uint64_t group_transactions;
static uint64_t group_events;
static uint64_t group_retries;

/* streaming exports: their own block at the end of the file */
static void ExportsReset(void);

/* refused API keys, by reason: indexed by ShimAuthResult, OK unused */
static const char *const auth_reasons[SHIM_AUTH_NRESULTS] = {
	NULL, "missing", "malformed", "unknown", "revoked", "expired", "scope"
};
static uint64_t auth_failures[SHIM_AUTH_NRESULTS];
static void RenderExports(ShimBuf *out, const ShimMetricsExtra *extra);

/* The label values of "path", and how many (shim_metrics_routes). */
static int	nroutes;
static const char *(*route_label) (int route);

/* shim_metrics_routes is declared in metrics.h: see there. */
void
shim_metrics_routes(int n, const char *(*label) (int route))
{
	nroutes = n < MAX_ROUTES ? n : MAX_ROUTES;
	route_label = label;
}

void
shim_metrics_reset(void)
{
	memset(requests, 0, sizeof(requests));
	memset(request_seconds, 0, sizeof(request_seconds));
	memset(ingested, 0, sizeof(ingested));
	memset(rejected, 0, sizeof(rejected));
	memset(query_seconds, 0, sizeof(query_seconds));
	in_flight = 0;
	duplicates = 0;
	db_up = -1;
	ExportsReset();
	memset(auth_failures, 0, sizeof(auth_failures));
	group_transactions = group_events = group_retries = 0;
}

static void
Observe(Histogram *h, double seconds)
{
	int			i;

	for (i = 0; i < NBUCKETS && seconds > buckets[i]; i++)
		;
	__atomic_fetch_add(&h->counts[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, (uint64_t) (seconds * 1e9),
					   __ATOMIC_RELAXED);
}

void
shim_metrics_request(int route, int status, double seconds)
{
	if (route < 0 || route >= MAX_ROUTES)
		return;
	if (status < 100 || status >= MAX_STATUS)
		status = 500;
	__atomic_fetch_add(&requests[route][status], 1, __ATOMIC_RELAXED);
	Observe(&request_seconds[route], seconds);
}

void
shim_metrics_in_flight(int delta)
{
	__atomic_fetch_add(&in_flight, delta, __ATOMIC_RELAXED);
}

long
shim_metrics_get_in_flight(void)
{
	return (long) __atomic_load_n(&in_flight, __ATOMIC_RELAXED);
}

void
shim_metrics_ingested(const char *action)
{
	int			i;

	for (i = 0; i < NACTIONS; i++)
	{
		if (action && strcmp(action, actions[i]) == 0)
		{
			__atomic_fetch_add(&ingested[i], 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

void
shim_metrics_rejected(const char *field)
{
	int			i;

	for (i = 0; i < NFIELDS - 1; i++)
	{
		if (field && strcmp(field, fields[i]) == 0)
			break;
	}
	__atomic_fetch_add(&rejected[i], 1, __ATOMIC_RELAXED);
}

void
shim_metrics_duplicate(void)
{
	__atomic_fetch_add(&duplicates, 1, __ATOMIC_RELAXED);
}

/* shim_metrics_query is declared in metrics.h: see there. */
void
shim_metrics_query(int query, const char *name)
{
	if (query >= 0 && query < MAX_QUERIES)
		query_names[query] = name;
}

void
shim_metrics_db_query(int query, double seconds)
{
	if (query >= 0 && query < MAX_QUERIES)
		Observe(&query_seconds[query], seconds);
}

void
shim_metrics_db_up(bool up)
{
	__atomic_store_n(&db_up, up ? 1 : 0, __ATOMIC_RELAXED);
}

/*
 * shim_metrics_group counts one group of POST /api/event written by group
 * commit: in one transaction, or, when that failed (retried), each event
 * in its own.
 */
void
shim_metrics_group(int events, bool retried)
{
	if (retried)
	{
		__atomic_fetch_add(&group_retries, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&group_transactions, events, __ATOMIC_RELAXED);
	}
	else
		__atomic_fetch_add(&group_transactions, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&group_events, events, __ATOMIC_RELAXED);
}

/* A request refused for its API key, for the reason result. */
void
shim_metrics_auth_failure(int result)
{
	if (result > SHIM_AUTH_OK && result < SHIM_AUTH_NRESULTS)
		__atomic_fetch_add(&auth_failures[result], 1, __ATOMIC_RELAXED);
}

static void
Header(ShimBuf *out, const char *name, const char *type, const char *help)
{
	shim_buf_printf(out, "# HELP user_activity_tracking_%s %s\n", name, help);
	shim_buf_printf(out, "# TYPE user_activity_tracking_%s %s\n", name, type);
}

/* Renders a metric of one sample, without labels. */
static void
Scalar(ShimBuf *out, const char *name, const char *type, const char *help,
	   long long value)
{
	Header(out, name, type, help);
	shim_buf_printf(out, "user_activity_tracking_%s %lld\n", name, value);
}

/* A counter's value, for Scalar */
#define COUNTER(c) ((long long) __atomic_load_n(&(c), __ATOMIC_RELAXED))

/* Renders one histogram; labels is "" or 'name="value"'. */
static void
RenderHistogram(ShimBuf *out, const char *name, const char *labels,
				const Histogram *h)
{
	uint64_t	cum = 0;
	int			i;
	const char *sep = labels[0] ? "," : "";

	for (i = 0; i <= NBUCKETS; i++)
	{
		cum += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
		if (i < NBUCKETS)
			shim_buf_printf(out,
							"user_activity_tracking_%s_bucket{%s%sle=\"%g\"} %llu\n",
							name, labels, sep, buckets[i],
							(unsigned long long) cum);
		else
			shim_buf_printf(out,
							"user_activity_tracking_%s_bucket{%s%sle=\"+Inf\"} %llu\n",
							name, labels, sep, (unsigned long long) cum);
	}
	shim_buf_printf(out, "user_activity_tracking_%s_sum%s%s%s %.9f\n", name,
					labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
					__atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) / 1e9);
	shim_buf_printf(out, "user_activity_tracking_%s_count%s%s%s %llu\n", name,
					labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
					(unsigned long long) cum);
}

static bool
HistogramUsed(const Histogram *h)
{
	int			i;

	for (i = 0; i <= NBUCKETS; i++)
		if (__atomic_load_n(&h->counts[i], __ATOMIC_RELAXED) != 0)
			return true;
	return false;
}

void
shim_metrics_render(ShimBuf *out, const ShimMetricsExtra *extra)
{
	int			r,
				s,
				i;
	char		labels[160];

	Header(out, "api_requests_total", "counter",
		   "HTTP requests answered, by route template and status code.");
	for (r = 0; r < nroutes; r++)
		for (s = 100; s < MAX_STATUS; s++)
		{
			uint64_t	n = __atomic_load_n(&requests[r][s], __ATOMIC_RELAXED);

			if (n)
				shim_buf_printf(out,
								"user_activity_tracking_api_requests_total{path=\"%s\",status=\"%d\"} %llu\n",
								route_label(r), s, (unsigned long long) n);
		}

	Header(out, "api_requests_errors_total", "counter",
		   "HTTP requests answered with a status of 400 or more.");
	for (r = 0; r < nroutes; r++)
		for (s = 400; s < MAX_STATUS; s++)
		{
			uint64_t	n = __atomic_load_n(&requests[r][s], __ATOMIC_RELAXED);

			if (n)
				shim_buf_printf(out,
								"user_activity_tracking_api_requests_errors_total{path=\"%s\",status=\"%d\"} %llu\n",
								route_label(r), s, (unsigned long long) n);
		}

	Header(out, "api_request_duration_seconds", "histogram",
		   "Time from the first byte of a request to the end of its reply.");
	for (r = 0; r < nroutes; r++)
	{
		if (!HistogramUsed(&request_seconds[r]))
			continue;
		snprintf(labels, sizeof(labels), "path=\"%s\"", route_label(r));
		RenderHistogram(out, "api_request_duration_seconds", labels,
						&request_seconds[r]);
	}

	/* named as the security issue asked: not under the _tracking_ prefix */
	shim_buf_puts(out,
				  "# HELP user_activity_http_auth_failures_total Requests refused for their API key, by reason (never by key).\n"
				  "# TYPE user_activity_http_auth_failures_total counter\n");
	for (i = SHIM_AUTH_MISSING; i < SHIM_AUTH_NRESULTS; i++)
		shim_buf_printf(out,
						"user_activity_http_auth_failures_total{reason=\"%s\"} %llu\n",
						auth_reasons[i],
						(unsigned long long) __atomic_load_n(&auth_failures[i], __ATOMIC_RELAXED));

	Scalar(out, "api_requests_in_flight", "gauge",
		   "HTTP requests being served.",
		   shim_metrics_get_in_flight());

	RenderExports(out, extra);

	Header(out, "events_ingested_total", "counter",
		   "Events stored, by action.");
	for (i = 0; i < NACTIONS; i++)
		shim_buf_printf(out,
						"user_activity_tracking_events_ingested_total{action=\"%s\"} %llu\n",
						actions[i],
						(unsigned long long) __atomic_load_n(&ingested[i], __ATOMIC_RELAXED));

	Header(out, "events_rejected_total", "counter",
		   "Events rejected by validation, by the field at fault.");
	for (i = 0; i < NFIELDS; i++)
		shim_buf_printf(out,
						"user_activity_tracking_events_rejected_total{field=\"%s\"} %llu\n",
						fields[i],
						(unsigned long long) __atomic_load_n(&rejected[i], __ATOMIC_RELAXED));

	Scalar(out, "events_duplicate_total", "counter",
		   "Events not stored again because their event_id was already stored.",
		   COUNTER(duplicates));

	Header(out, "db_query_duration_seconds", "histogram",
		   "Time of each database statement, by statement.");
	for (i = 0; i < MAX_QUERIES; i++)
	{
		if (!HistogramUsed(&query_seconds[i]) || query_names[i] == NULL)
			continue;
		snprintf(labels, sizeof(labels), "query=\"%s\"", query_names[i]);
		RenderHistogram(out, "db_query_duration_seconds", labels,
						&query_seconds[i]);
	}

	Scalar(out, "db_group_commit_transactions_total", "counter",
		   "Transactions that wrote POST /api/event requests under group commit.",
		   COUNTER(group_transactions));
	Scalar(out, "db_group_commit_events_total", "counter",
		   "Events those transactions wrote or tried to; over the transactions, the mean group size.",
		   COUNTER(group_events));
	Scalar(out, "db_group_commit_retries_total", "counter",
		   "Groups whose statement failed as a whole, then written one event per transaction.",
		   COUNTER(group_retries));

	Header(out, "db_pool_connections", "gauge",
		   "Database connections of the pool, by state.");
	shim_buf_printf(out,
					"user_activity_tracking_db_pool_connections{state=\"idle\"} %d\n"
					"user_activity_tracking_db_pool_connections{state=\"busy\"} %d\n"
					"user_activity_tracking_db_pool_connections{state=\"broken\"} %d\n",
					extra->pool_idle, extra->pool_busy, extra->pool_broken);

	Scalar(out, "db_up", "gauge",
		   "1 when the last database check succeeded, else 0.",
		   __atomic_load_n(&db_up, __ATOMIC_RELAXED) == 1 ? 1 : 0);

	if (extra->have_counting)
	{
		Header(out, "counting_last_success_timestamp_seconds", "gauge",
			   "Unix time of the last successful counting run.");
		if (extra->have_last_success)
			shim_buf_printf(out,
							"user_activity_tracking_counting_last_success_timestamp_seconds %.3f\n",
							extra->last_success_ts);
		Header(out, "counting_seconds_since_last_success", "gauge",
			   "Seconds since the last successful counting run.");
		if (extra->have_last_success)
			shim_buf_printf(out,
							"user_activity_tracking_counting_seconds_since_last_success %.3f\n",
							extra->seconds_since_success);
		Header(out, "counting_last_run_success", "gauge",
			   "1 when the last counting run succeeded, 0 when it failed.");
		if (extra->have_last_outcome)
			shim_buf_printf(out,
							"user_activity_tracking_counting_last_run_success %d\n",
							extra->last_run_ok ? 1 : 0);
		Header(out, "counting_expected_interval_seconds", "gauge",
			   "Longest time between two runs of the pg_cron counting job's schedule; no sample without an active job.");
		if (extra->have_interval)
			shim_buf_printf(out,
							"user_activity_tracking_counting_expected_interval_seconds %.0f\n",
							extra->expected_interval);
	}

	Header(out, "build_info", "gauge",
		   "Version and mode of the shim; always 1.");
	shim_buf_printf(out,
					"user_activity_tracking_build_info{version=\"%s\",mode=\"%s\"} 1\n",
					SHIM_VERSION,
					extra->mode == SHIM_MODE_WORKER ? "worker" : "standalone");
}

/*
 * ---- streaming exports ----
 *
 * The slots in use and their number are the Shim's own (exports and
 * max_exports, passed in ShimMetricsExtra) rather than copies kept here, so
 * the gauges cannot drift from what ExportBegin (stream.c) decides.  Rows are
 * added by the export a chunk of MHD's buffer at a time, not one by one.
 */

static const char *const export_formats[] = {"ndjson", "csv"};

#define NFORMATS 2

static uint64_t exports_refused;
static uint64_t export_rows[NFORMATS];

/* An export answered 429 because every export slot was taken. */
void
shim_metrics_export_refused(void)
{
	__atomic_fetch_add(&exports_refused, 1, __ATOMIC_RELAXED);
}

/* Adds rows (events, not a CSV header) written to an export's reply. */
void
shim_metrics_export_rows(const char *format, uint64_t rows)
{
	int			i;

	for (i = 0; i < NFORMATS; i++)
	{
		if (format && strcmp(format, export_formats[i]) == 0)
		{
			__atomic_fetch_add(&export_rows[i], rows, __ATOMIC_RELAXED);
			return;
		}
	}
}

static void
ExportsReset(void)
{
	exports_refused = 0;
	memset(export_rows, 0, sizeof(export_rows));
}

static void
RenderExports(ShimBuf *out, const ShimMetricsExtra *extra)
{
	int			i;

	Scalar(out, "api_exports_in_progress", "gauge",
		   "Streaming exports in progress (GET /api/events as NDJSON or CSV), each holding a database connection.",
		   extra->exports);
	Scalar(out, "api_exports_limit", "gauge",
		   "Streaming exports allowed at once (HTTP_MAX_EXPORTS, in the worker user_activity.http_max_exports).",
		   extra->max_exports);
	Scalar(out, "api_exports_refused_total", "counter",
		   "Exports answered 429 because the limit of exports at once was reached.",
		   COUNTER(exports_refused));
	Header(out, "api_export_rows_total", "counter",
		   "Events written to export replies, by format (a CSV header line is not counted).");
	for (i = 0; i < NFORMATS; i++)
		shim_buf_printf(out,
						"user_activity_tracking_api_export_rows_total{format=\"%s\"} %llu\n",
						export_formats[i],
						(unsigned long long) __atomic_load_n(&export_rows[i], __ATOMIC_RELAXED));
}
