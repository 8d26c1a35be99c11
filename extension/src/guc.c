/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Settings that bound what ingest accepts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "user_activity.h"

void
UaDefineIngestGucs(void)
{
}
