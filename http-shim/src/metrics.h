/*-------------------------------------------------------------------------
 *
 * metrics.h
 *	  The shim's Prometheus metrics (metrics.c): counters and histograms
 *	  updated without locks, rendered by GET /metrics.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SHIM_METRICS_H
#define SHIM_METRICS_H

#include "internal.h"

/*
 * The label values of "path": routes 0 .. n-1, named by label (the route
 * templates plus two catch-alls); set once, before the daemon starts.
 */
extern void shim_metrics_routes(int n, const char *(*label) (int route));

typedef struct ShimMetricsExtra
{
	ShimMode	mode;
	int			pool_idle;
	int			pool_busy;
	int			pool_broken;
	bool		have_counting;
	bool		have_last_success;
	double		last_success_ts;
	double		seconds_since_success;
	bool		have_last_outcome;
	bool		last_run_ok;
	bool		have_interval;
	double		expected_interval;
	int			exports;		/* streaming exports holding a slot */
	int			max_exports;
} ShimMetricsExtra;

extern void shim_metrics_reset(void);
extern void shim_metrics_request(int route, int status, double seconds);
extern void shim_metrics_in_flight(int delta);
extern long shim_metrics_get_in_flight(void);
extern void shim_metrics_ingested(const char *action);
extern void shim_metrics_rejected(const char *field);
extern void shim_metrics_duplicate(void);
/* The label value of statement query (a ShimQuery), set once at start. */
extern void shim_metrics_query(int query, const char *name);
extern void shim_metrics_db_query(int query, double seconds);
extern void shim_metrics_db_up(bool up);
extern void shim_metrics_group(int events, bool retried);
extern void shim_metrics_render(ShimBuf *out, const ShimMetricsExtra *extra);
extern void shim_metrics_export_refused(void);
extern void shim_metrics_export_rows(const char *format, uint64_t rows);
extern void shim_metrics_auth_failure(int result);
#endif							/* SHIM_METRICS_H */
