/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  user_activity_http: the library that runs the HTTP shim inside the
 *	  database as a background worker.
 *
 *	  It is a library of its own so that the SQL module, user_activity,
 *	  which every backend using the extension loads, links none of the HTTP
 *	  stack (libmicrohttpd, jansson, libcrypto, threads).  Only this library
 *	  holds the shim's core; it defines no SQL function.
 *
 *	  Preloaded (shared_preload_libraries = 'user_activity_http') with
 *	  user_activity.http_port set, _PG_init defines the user_activity.http_*
 *	  settings from the shim's table of settings and registers one
 *	  background worker.  (The SQL module loads this library itself when an
 *	  older configuration preloads user_activity with the port set; see
 *	  user_activity.c.)  The worker starts the shim's HTTP threads while its
 *	  signals are still blocked (so only this main thread ever handles the
 *	  postmaster's signals), then waits on its latch.  The threads never call
 *	  backend functions: they reach the database through libpq over the
 *	  local socket, as any client would, logged in as user_activity_http
 *	  (never a superuser: the shim refuses to serve as one).  SIGTERM drains
 *	  the requests in flight and exits; so does the postmaster's death,
 *	  after the HTTP threads stopped.  The postmaster restarts the worker
 *	  after a crash or a kill (bgw_restart_time) and stops it with the
 *	  server.
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
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "shim.h"

PG_MODULE_MAGIC;

void		_PG_init(void);
PGDLLEXPORT void user_activity_http_main(Datum arg);

/*
 * The value of each GUC, by its row in shim_settings (the GUC machinery
 * writes here).  Rows without a GUC leave their slot unused.
 */
typedef union GucValue
{
	int			i;
	bool		b;
	char	   *s;
} GucValue;

static GucValue *guc_values;

static bool loaded = true;

static volatile sig_atomic_t got_sigterm = false;
static volatile sig_atomic_t got_sighup = false;

/* The longest wait between two tries to start, in milliseconds. */
#define HTTP_RETRY_MAX_MS	60000

/* The value of the worker-only setting named guc. */
static GucValue
Setting(const char *guc)
{
	const ShimSetting *s = shim_setting_by_name(guc);

	Assert(s != NULL);
	return guc_values[s - shim_settings];
}

/*
 * DefineGucs defines one GUC for each row of shim_settings that has one,
 * with the row's name, default, range, unit and description.  All are read
 * when the server starts (PGC_POSTMASTER).  None holds a secret.
 */
static void
DefineGucs(void)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	int			i;

	guc_values = palloc0(sizeof(GucValue) * shim_num_settings);
	for (i = 0; i < shim_num_settings; i++)
	{
		const ShimSetting *s = &shim_settings[i];
		GucValue   *v = &guc_values[i];
		const char *desc = psprintf("%s.", s->desc);
		int			flags = 0;
		int			min = (int) s->min;
		int			def = (int) s->def;

		if (s->guc == NULL)
			continue;
		if (s->unit == SHIM_UNIT_BYTES)
			flags = GUC_UNIT_BYTE;
		else if (s->unit == SHIM_UNIT_S)
			flags = GUC_UNIT_S;
		else if (s->unit == SHIM_UNIT_MS)
			flags = GUC_UNIT_MS;
		if (s->zero != NULL)
		{
			/* a GUC cannot be unset: 0, its default, stands for that */
			desc = psprintf("%s (0: %s).", s->desc, s->zero);
			min = def = 0;
		}

		switch (s->type)
		{
			case SHIM_SETTING_STRING:
				DefineCustomStringVariable(s->guc, desc, s->detail, &v->s,
										   s->text, PGC_POSTMASTER, 0,
										   NULL, NULL, NULL);
				break;
			case SHIM_SETTING_INT:
			case SHIM_SETTING_LONG:
				DefineCustomIntVariable(s->guc, desc, s->detail, &v->i,
										def, min, (int) s->max,
										PGC_POSTMASTER, flags,
										NULL, NULL, NULL);
				break;
			case SHIM_SETTING_BOOL:
				DefineCustomBoolVariable(s->guc, desc, s->detail, &v->b,
										 s->def != 0, PGC_POSTMASTER, 0,
										 NULL, NULL, NULL);
				break;
			case SHIM_SETTING_ENUM:
				{
					struct config_enum_entry *options;
					int			n = 0;
					int			j;

					while (s->names[n])
						n++;
					options = palloc0(sizeof(*options) * (n + 1));
					for (j = 0; j < n; j++)
					{
						options[j].name = s->names[j];
						options[j].val = j;
					}
					DefineCustomEnumVariable(s->guc, desc, s->detail, &v->i,
											 def, options, PGC_POSTMASTER, 0,
											 NULL, NULL, NULL);
				}
				break;
		}
	}
	MemoryContextSwitchTo(old);
}

/*
 * _PG_init defines the worker's settings, loads the SQL module (as
 * preloading user_activity did before the split: its settings are then
 * known in every session) and registers the worker when a port is set.
 * PGC_POSTMASTER settings can only be defined while the library is
 * preloaded; loaded later, it does nothing.  The settings come first: the
 * SQL module reserves the "user_activity" prefix, which drops the values
 * postgresql.conf gives settings not defined by then.  Both libraries mark
 * themselves loaded in a rendezvous variable, so that neither loads the
 * other twice (see user_activity.c).
 */
void
_PG_init(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineGucs();
	*find_rendezvous_variable("user_activity_http") = &loaded;
	if (*find_rendezvous_variable("user_activity") == NULL)
		load_file("user_activity", false);
	if (Setting("user_activity.http_port").i == 0)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "user_activity_http");
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
	int			i;

	shim_config_defaults(cfg);
	cfg->mode = SHIM_MODE_WORKER;
	for (i = 0; i < shim_num_settings; i++)
	{
		const ShimSetting *s = &shim_settings[i];
		GucValue	v = guc_values[i];

		if (s->guc == NULL)
			continue;
		switch (s->type)
		{
			case SHIM_SETTING_STRING:
				shim_setting_store(cfg, s, 0, v.s);
				break;
			case SHIM_SETTING_BOOL:
				shim_setting_store(cfg, s, v.b, NULL);
				break;
			default:
				shim_setting_store(cfg, s, v.i, NULL);
				break;
		}
	}

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
	AppendConnOption(&conn, "dbname", Setting("user_activity.http_database").s);
	AppendConnOption(&conn, "user", Setting("user_activity.http_user").s);
	shim_config_set(&cfg->db_url, conn.data);
	pfree(conn.data);
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
						 errdetail("user_activity.http_user is \"%s\".",
								   Setting("user_activity.http_user").s),
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
					Setting("user_activity.http_listen_address").s,
					Setting("user_activity.http_port").i)));

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
	shim_stop(shim, Setting("user_activity.http_drain_timeout").i);
	proc_exit(1);
}
