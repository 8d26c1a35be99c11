/*-------------------------------------------------------------------------
 *
 * user_activity.c
 *	  Module entry point: defines the extension's settings and reserves
 *	  their prefix.
 *
 *	  The in-database HTTP worker is the library user_activity_http, so
 *	  that this module, which every backend using the extension loads,
 *	  links none of the HTTP stack.  Preloading either library loads both,
 *	  as preloading user_activity did before the split: the worker, and
 *	  this module's settings known in every session (so that a role
 *	  without the right to set a limit is refused at once).  Configurations
 *	  written before the split preload user_activity with
 *	  user_activity.http_port set; for them this module loads
 *	  user_activity_http and says once what to preload instead.
 *
 *	  Each library marks itself loaded in a rendezvous variable named after
 *	  it as the first thing its _PG_init does, so that neither loads the
 *	  other twice, whichever shared_preload_libraries names first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "user_activity.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static bool loaded = true;

/*
 * LoadHttpWorker loads user_activity_http while this module is preloaded,
 * unless that library is loading this one, when it is preloaded too or
 * user_activity.http_port is set
 * (still a placeholder here, the setting being that library's).  Loading
 * it defines its settings and registers the worker, as preloading it
 * would, and does so before this module reserves the prefix, whichever
 * of the two shared_preload_libraries names first.
 */
static void
LoadHttpWorker(void)
{
	const char *port = GetConfigOption("user_activity.http_port", true, false);
	bool		listed = shared_preload_libraries_string != NULL &&
		strstr(shared_preload_libraries_string, "user_activity_http") != NULL;

	if (*find_rendezvous_variable("user_activity_http") != NULL)
		return;					/* it is loading us */
	if (!listed)
	{
		if (port == NULL || strtol(port, NULL, 10) == 0)
			return;
		ereport(LOG,
				(errmsg("user_activity.http_port is set: loading user_activity_http, the library that runs the HTTP worker"),
				 errhint("List user_activity_http in shared_preload_libraries instead of user_activity.")));
	}
	load_file("user_activity_http", false);
}

/*
 * _PG_init defines every user_activity.* setting of this module, then
 * reserves the prefix so that a misspelt setting is an error rather than
 * silently ignored.  user_activity_http's settings are defined by then
 * where that library is preloaded or loaded here.
 */
void
_PG_init(void)
{
	*find_rendezvous_variable("user_activity") = &loaded;
	if (process_shared_preload_libraries_in_progress)
		LoadHttpWorker();

	UaDefineIngestGucs();
	UaDefineCountGucs();
	UaDefinePartitionGucs();

	MarkGUCPrefixReserved("user_activity");
}
