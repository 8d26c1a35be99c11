/*-------------------------------------------------------------------------
 *
 * user_activity.c
 *	  Module entry point: defines the extension's settings and, when the
 *	  library is preloaded, registers the in-database HTTP worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "user_activity.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init defines every user_activity.* setting in one place, then reserves
 * the prefix so that a misspelt setting is an error rather than silently
 * ignored.
 */
void
_PG_init(void)
{
	UaDefineIngestGucs();
	UaDefineCountGucs();
	UaDefinePartitionGucs();
	UaDefineHttpGucs();

	MarkGUCPrefixReserved("user_activity");

	UaRegisterHttpWorker();
}
