/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The HTTP shim run inside the database as a background worker.
 *
 *	  When the library is in shared_preload_libraries and
 *	  user_activity.http_port is set, _PG_init registers one background
 *	  worker.  It starts the shim's HTTP threads while its signals are still
 *	  blocked (so only this main thread ever handles the postmaster's
 *	  signals), then waits on its latch.  The threads never call backend
 *	  functions: they reach the database through libpq over the local
 *	  socket, as any client would.  SIGTERM drains the requests in flight
 *	  and exits; the postmaster restarts the worker after a crash or a kill
 *	  (bgw_restart_time) and stops it with the server.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>
#include <signal.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "shim.h"
#include "user_activity.h"

PGDLLEXPORT void user_activity_http_main(Datum arg);

static int	http_port = 0;
static char *http_listen_address = NULL;
static char *http_database = NULL;
static char *http_user = NULL;
static char *http_role = NULL;
static char *http_static_dir = NULL;
static int	http_threads = 8;
static int	http_pool_size = 0;
static int	http_max_exports = 0;
static int	http_body_limit = 1024 * 1024;
static int	http_idle_timeout = 120;
static int	http_statement_timeout = 0;
static char *http_cors_origins = NULL;
static char *http_cors_methods = NULL;
static char *http_cors_headers = NULL;
static int	http_cors_max_age_hours = 12;
static bool http_cors_credentials = false;
static char *http_api_key_write = NULL;
static char *http_api_key_read = NULL;
static char *http_api_key_admin = NULL;
static int	http_log_level = 1;
static int	http_drain_timeout = 5000;
static bool http_group_commit = true;
static int	http_group_max = 64;

static const struct config_enum_entry log_level_options[] = {
	{"debug", 0, false},
	{"info", 1, false},
	{"warn", 2, false},
	{"error", 3, false},
	{NULL, 0, false}
};

static volatile sig_atomic_t got_sigterm = false;

/*
 * UaDefineHttpGucs defines the worker's settings.  All are read when the
 * server starts (PGC_POSTMASTER), so they exist only when the library is
 * preloaded; the API keys are visible to superusers only.
 */
void
UaDefineHttpGucs(void)
{
	/* PGC_POSTMASTER settings can only be defined while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("user_activity.http_port",
							"TCP port of the in-database HTTP shim (0: no shim).",
							NULL, &http_port, 0, 0, 65535,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_listen_address",
							   "Address the HTTP shim listens on (\"*\": all IPv4 addresses).",
							   NULL, &http_listen_address, "*",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_database",
							   "Database the HTTP shim connects to (it has the extension).",
							   NULL, &http_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_user",
							   "Role the HTTP shim logs in as (empty: the operating system user).",
							   NULL, &http_user, "",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_role",
							   "Role the HTTP shim switches to after login (empty: none).",
							   "By default the extension's writer role, which may call the shim's functions and nothing else.",
							   &http_role, "user_activity_writer",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_static_dir",
							   "Directory of the web page served at / (empty: none).",
							   NULL, &http_static_dir, "",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_threads",
							"HTTP worker threads of the shim.",
							NULL, &http_threads, 8, 1, 256,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_pool_size",
							"Database connections of the shim (0: threads + 2).",
							NULL, &http_pool_size, 0, 0, 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_max_exports",
							"Streaming exports the shim runs at once (0: half the pool).",
							"Each export holds a database connection while its client reads; one over the limit is answered 429 at once.",
							&http_max_exports, 0, 0, 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_body_limit",
							"Largest request body the shim accepts.",
							NULL, &http_body_limit, 1024 * 1024, 1024, INT_MAX,
							PGC_POSTMASTER, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_idle_timeout",
							"Seconds after which an idle HTTP connection is closed.",
							NULL, &http_idle_timeout, 120, 1, 86400,
							PGC_POSTMASTER, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_statement_timeout",
							"statement_timeout of the shim's connections (0: none).",
							NULL, &http_statement_timeout, 0, 0, INT_MAX,
							PGC_POSTMASTER, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_drain_timeout",
							"How long a stopping shim waits for requests in flight.",
							NULL, &http_drain_timeout, 5000, 0, 600000,
							PGC_POSTMASTER, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("user_activity.http_group_commit",
							 "Whether concurrent single-event POSTs are committed together.",
							 NULL, &http_group_commit, true,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_group_max",
							"Most events the shim commits in one group transaction.",
							NULL, &http_group_max, 64, 1, 1000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_cors_allowed_origins",
							   "CORS origins allowed, comma-separated (\"*\": any).",
							   NULL, &http_cors_origins, "*",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_cors_allowed_methods",
							   "CORS methods allowed, comma-separated.",
							   NULL, &http_cors_methods, "GET,POST,DELETE",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_cors_allowed_headers",
							   "CORS request headers allowed, comma-separated.",
							   NULL, &http_cors_headers, "Content-Type,Authorization",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("user_activity.http_cors_max_age_hours",
							"How long browsers may cache a CORS preflight, in hours.",
							NULL, &http_cors_max_age_hours, 12, 0, 24 * 365,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("user_activity.http_cors_allow_credentials",
							 "Whether CORS requests may carry credentials (never with origin \"*\").",
							 NULL, &http_cors_credentials, false,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_api_key_write",
							   "Bearer key for ingest (empty: open).",
							   NULL, &http_api_key_write, "",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_api_key_read",
							   "Bearer key for queries (empty: open).",
							   NULL, &http_api_key_read, "",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_api_key_admin",
							   "Bearer key for deletion (empty: open).",
							   NULL, &http_api_key_admin, "",
							   PGC_POSTMASTER,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, NULL);
	DefineCustomEnumVariable("user_activity.http_log_level",
							 "Least level of the shim's JSON log lines.",
							 NULL, &http_log_level, 1, log_level_options,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

/*
 * UaRegisterHttpWorker registers the shim's background worker, when the
 * library is being preloaded and a port is set.
 */
void
UaRegisterHttpWorker(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress || http_port == 0)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "user_activity");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "user_activity_http_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "user_activity http shim");
	snprintf(worker.bgw_type, BGW_MAXLEN, "user_activity http shim");
	RegisterBackgroundWorker(&worker);
}

static void
HandleSigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Appends key='value' to a libpq connection string, quoting the value. */
static void
AppendConnOption(StringInfo buf, const char *key, const char *value)
{
	const char *p;

	if (value == NULL || value[0] == '\0')
		return;
	appendStringInfo(buf, "%s%s='", buf->len ? " " : "", key);
	for (p = value; *p; p++)
	{
		if (*p == '\'' || *p == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * WorkerConfig fills the shim's configuration from the settings.  The
 * database is reached over the first Unix socket directory (or loopback
 * when there is none) at this server's port.
 */
static void
WorkerConfig(ShimConfig *cfg)
{
	StringInfoData conn;
	char		port[16];
	char	   *sockdir = NULL;

	shim_config_defaults(cfg);
	cfg->mode = SHIM_MODE_WORKER;

	if (Unix_socket_directories && Unix_socket_directories[0])
	{
		sockdir = pstrdup(Unix_socket_directories);
		sockdir[strcspn(sockdir, ",")] = '\0';
		while (sockdir[0] == ' ')
			sockdir++;
	}
	initStringInfo(&conn);
	snprintf(port, sizeof(port), "%d", PostPortNumber);
	AppendConnOption(&conn, "host", sockdir && sockdir[0] ? sockdir : "127.0.0.1");
	AppendConnOption(&conn, "port", port);
	AppendConnOption(&conn, "dbname", http_database);
	AppendConnOption(&conn, "user", http_user);
	shim_config_set(&cfg->db_url, conn.data);
	pfree(conn.data);

	shim_config_set(&cfg->db_role, http_role);
	shim_config_set(&cfg->listen_address, http_listen_address);
	cfg->port = http_port;
	cfg->threads = http_threads;
	cfg->pool_size = http_pool_size;
	cfg->max_exports = http_max_exports;
	cfg->body_limit = http_body_limit;
	cfg->timeout = http_idle_timeout;
	cfg->statement_timeout_ms = http_statement_timeout;
	cfg->group_commit = http_group_commit;
	cfg->group_max = http_group_max;
	shim_config_set(&cfg->cors_origins, http_cors_origins);
	shim_config_set(&cfg->cors_methods, http_cors_methods);
	shim_config_set(&cfg->cors_headers, http_cors_headers);
	cfg->cors_max_age_hours = http_cors_max_age_hours;
	cfg->cors_credentials = http_cors_credentials;
	shim_config_set(&cfg->api_key_write, http_api_key_write);
	shim_config_set(&cfg->api_key_read, http_api_key_read);
	shim_config_set(&cfg->api_key_admin, http_api_key_admin);
	shim_config_set(&cfg->static_dir, http_static_dir);
	cfg->log_level = http_log_level;
}

/*
 * user_activity_http_main is the worker's entry point.  Exiting with code 1
 * (also after SIGTERM) lets the postmaster restart the worker unless the
 * whole server is stopping.
 */
void
user_activity_http_main(Datum arg)
{
	ShimConfig	cfg;
	char		err[512];
	Shim	   *shim;

	pqsignal(SIGTERM, HandleSigterm);
	pqsignal(SIGHUP, SIG_IGN);

	WorkerConfig(&cfg);
	if (!shim_config_validate(&cfg, err, sizeof(err)))
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_activity http shim: %s", err)));

	/* the threads start with every signal blocked, as this thread is now */
	shim = shim_start(&cfg, err, sizeof(err));
	shim_config_free(&cfg);
	if (shim == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("user_activity http shim cannot start: %s", err)));

	BackgroundWorkerUnblockSignals();
	ereport(LOG,
			(errmsg("user_activity http shim listening on port %d", http_port)));

	while (!got_sigterm)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}

	ereport(LOG, (errmsg("user_activity http shim got SIGTERM, shutting down")));
	shim_stop(shim, http_drain_timeout);
	proc_exit(1);
}
