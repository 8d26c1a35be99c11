/*-------------------------------------------------------------------------
 *
 * main.c
 *	  user-activity-shim: the HTTP shim as a standalone program, for
 *	  deployments that scale the HTTP tier apart from the database.
 *	  Configured from the environment (see README, "REST API").
 *
 *	  Signals are blocked before the daemon starts, so its threads never see
 *	  them; the main thread waits for them.  The first SIGTERM or SIGINT
 *	  stops accepting and drains the requests in flight, then exits 0; a
 *	  second one exits at once.  SIGHUP reads the API keys of the database
 *	  again (those of the environment stay as they were at start) and goes
 *	  on serving.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static sigset_t stop_signals;

static const char *
Getenv(const char *name)
{
	return getenv(name);
}

/* Waits for a second signal during the drain and exits at once. */
static void *
SecondSignal(void *arg)
{
	int			sig;

	(void) arg;
	if (sigwait(&stop_signals, &sig) == 0)
	{
		shim_log(SHIM_LOG_WARN, "got %s again, exiting at once",
				 sig == SIGTERM ? "SIGTERM" : "SIGINT");
		_exit(1);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	ShimConfig	cfg;
	char		err[512];
	Shim	   *shim;
	int			sig;
	pthread_t	tid;

	if (argc > 1 && (strcmp(argv[1], "--version") == 0))
	{
		printf("user-activity-shim %s\n", SHIM_VERSION);
		return 0;
	}
	if (argc > 1)
	{
		fprintf(stderr,
				"usage: user-activity-shim   (configured from the environment: DB_URL, HTTP_PORT, ...; see README)\n");
		return 2;
	}

	shim_config_defaults(&cfg);
	if (!shim_config_from_env(&cfg, Getenv, err, sizeof(err)))
	{
		fprintf(stderr, "user-activity-shim: %s\n", err);
		return 2;
	}
	shim_log_setup(cfg.log_level, 1);

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	shim = shim_start(&cfg, NULL, err, sizeof(err));
	if (shim == NULL)
	{
		fprintf(stderr, "user-activity-shim: %s\n", err);
		return 1;
	}
	shim_config_free(&cfg);

	for (;;)
	{
		if (sigwait(&stop_signals, &sig) != 0)
			sig = SIGTERM;
		if (sig != SIGHUP)
			break;
		shim_log(SHIM_LOG_INFO, "got SIGHUP, reloading the API keys");
		shim_reload_keys(shim);
	}
	/* during the drain a SIGHUP stays blocked, and so ignored */
	sigdelset(&stop_signals, SIGHUP);
	shim_log(SHIM_LOG_INFO, "got %s, shutting down",
			 sig == SIGTERM ? "SIGTERM" : "SIGINT");
	pthread_create(&tid, NULL, SecondSignal, NULL);
	pthread_detach(tid);
	shim_stop(shim, 30000);
	return 0;
}
