/*-------------------------------------------------------------------------
 *
 * counts.c
 *	  Settings of the counting job.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "user_activity.h"

void
UaDefineCountGucs(void)
{
}
