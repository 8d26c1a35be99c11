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
 *	  socket, as any client would, logged in as user_activity_http (never a
 *	  superuser: the shim refuses to serve as one).  SIGTERM drains the
 *	  requests in flight and exits; so does the postmaster's death, after
 *	  the HTTP threads stopped.  The postmaster restarts the worker after a
 *	  crash or a kill (bgw_restart_time) and stops it with the server.
 *
 *	  A port already taken or a superuser login role does not make the
 *	  worker exit and start again every few seconds: it says so once and
 *	  tries again, waiting longer each time (up to a minute), holding no
 *	  database connection meanwhile.  A setting that cannot work (such as
 *	  unauthenticated access beyond loopback) is said once, and the worker
 *	  exits for good: it would fail the same way until the server restarts.
 *
 *	  There are no API key settings: keys live in user_activity.api_keys
 *	  (see user_activity.create_api_key), out of reach of those who may
 *	  read the server's settings.
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
#include "libpq/pqsignal.h"
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
static bool http_allow_unauthenticated = false;
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
static volatile sig_atomic_t got_sighup = false;

/* The longest wait between two tries to start, in milliseconds. */
#define HTTP_RETRY_MAX_MS	60000

/*
 * UaDefineHttpGucs defines the worker's settings.  All are read when the
 * server starts (PGC_POSTMASTER), so they exist only when the library is
 * preloaded.  None holds a secret.
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
							   "Loopback by default; beyond loopback every API route needs a key.",
							   &http_listen_address, "127.0.0.1",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_database",
							   "Database the HTTP shim connects to (it has the extension).",
							   NULL, &http_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_user",
							   "Role the HTTP shim logs in as; never a superuser.",
							   "The extension's user_activity_http, a member of user_activity_writer, by default.",
							   &http_user, "user_activity_http",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("user_activity.http_role",
							   "Role the HTTP shim switches to after login (empty: none).",
							   NULL, &http_role, "",
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
							   "CORS origins allowed, comma-separated (\"*\": any; empty: none).",
							   NULL, &http_cors_origins, "",
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
	DefineCustomBoolVariable("user_activity.http_allow_unauthenticated",
							 "Whether the API routes take requests without a key (loopback only).",
							 "Off: every /api route needs a key of its scope; on, the worker refuses to listen beyond loopback.",
							 &http_allow_unauthenticated, false,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
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
HandleSighup(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sighup = true;
	SetLatch(MyLatch);
	errno = save_errno;
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
	cfg->allow_unauthenticated = http_allow_unauthenticated;
	shim_config_set(&cfg->static_dir, http_static_dir);
	cfg->log_level = http_log_level;
}

/*
 * Pause waits up to ms on the latch.  False when the worker must stop:
 * SIGTERM, or the postmaster died.
 */
static bool
Pause(long ms)
{
	int			rc;

	rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
				   ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	return !got_sigterm && !(rc & WL_POSTMASTER_DEATH);
}

/*
 * StartShim starts the shim, trying again while the port is taken or the
 * login role is a superuser, each wait twice the last up to a minute.
 * Each cause is logged once, not at each try.  A setting that cannot work
 * is logged and ends the worker for good (exit code 0: the postmaster does
 * not restart it).  NULL when the worker must stop.
 */
static Shim *
StartShim(void)
{
	ShimConfig	cfg;
	char		err[512];
	Shim	   *shim;
	ShimStartError why;
	ShimStartError said = SHIM_START_CONFIG;
	long		wait_ms = 1000;

	for (;;)
	{
		WorkerConfig(&cfg);
		/* the threads start with every signal blocked, as this one is now */
		sigprocmask(SIG_SETMASK, &BlockSig, NULL);
		shim = shim_start(&cfg, &why, err, sizeof(err));
		sigprocmask(SIG_SETMASK, &UnBlockSig, NULL);
		shim_config_free(&cfg);
		if (shim != NULL)
		{
			if (said != SHIM_START_CONFIG)
				ereport(LOG,
						(errmsg("user_activity http shim started after all")));
			return shim;
		}
		if (why == SHIM_START_CONFIG)
		{
			ereport(LOG,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("user_activity http shim: %s", err),
					 errhint("Fix the user_activity.http_* settings and restart the server.")));
			proc_exit(0);
		}
		if (why != said)
		{
			if (why == SHIM_START_SUPERUSER)
				ereport(WARNING,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("user_activity http shim: %s", err),
						 errdetail("user_activity.http_user is \"%s\".", http_user),
						 errhint("Set user_activity.http_user to a role without superuser rights, such as user_activity_http; the worker tries again, waiting up to %d s between tries.",
								 HTTP_RETRY_MAX_MS / 1000)));
			else
				ereport(WARNING,
						(errcode(ERRCODE_CONFIG_FILE_ERROR),
						 errmsg("user_activity http shim cannot start: %s", err),
						 errhint("The worker tries again, waiting up to %d s between tries; it holds no database connection meanwhile.",
								 HTTP_RETRY_MAX_MS / 1000)));
			said = why;
		}
		if (!Pause(wait_ms))
			return NULL;
		wait_ms = Min(wait_ms * 2, HTTP_RETRY_MAX_MS);
	}
}

/*
 * user_activity_http_main is the worker's entry point.  Exiting with code 1
 * (also after SIGTERM) lets the postmaster restart the worker unless the
 * whole server is stopping.  On the postmaster's death the HTTP threads
 * are stopped (without waiting for requests: their database is gone)
 * before the worker exits.
 */
void
user_activity_http_main(Datum arg)
{
	ShimConfig	cfg;
	char		err[512];
	Shim	   *shim;
	bool		pm_dead = false;

	pqsignal(SIGTERM, HandleSigterm);
	pqsignal(SIGHUP, HandleSighup);

	WorkerConfig(&cfg);
	if (!shim_config_validate(&cfg, err, sizeof(err)))
	{
		/* said once: exit code 0, so the postmaster does not start it again */
		ereport(LOG,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_activity http shim: %s", err),
				 errhint("Fix the user_activity.http_* settings and restart the server.")));
		proc_exit(0);
	}
	shim_config_free(&cfg);

	BackgroundWorkerUnblockSignals();
	shim = StartShim();
	if (shim == NULL)
		proc_exit(1);
	ereport(LOG,
			(errmsg("user_activity http shim listening on %s port %d",
					http_listen_address, http_port)));

	while (!got_sigterm)
	{
		int			rc;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
					   1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (rc & WL_POSTMASTER_DEATH)
		{
			pm_dead = true;
			break;
		}
		if (got_sighup)
		{
			got_sighup = false;
			shim_reload_keys(shim);
		}
	}

	if (pm_dead)
	{
		ereport(LOG,
				(errmsg("user_activity http shim: the postmaster died, stopping the HTTP threads")));
		shim_stop(shim, 0);
		proc_exit(1);
	}
	ereport(LOG, (errmsg("user_activity http shim got SIGTERM, shutting down")));
	shim_stop(shim, http_drain_timeout);
	proc_exit(1);
}
