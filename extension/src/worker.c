/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The HTTP shim run inside the database as a background worker.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "user_activity.h"

void
UaDefineHttpGucs(void)
{
}

void
UaRegisterHttpWorker(void)
{
}
