/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Settings that bound what ingest accepts.
 *
 * All three are superuser-settable (PGC_SUSET): a limit that the writer role
 * could raise for itself would not be a limit.  A superuser may still set
 * them per database or per role with ALTER DATABASE / ALTER ROLE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "ua_event.h"
#include "user_activity.h"

int			ua_max_batch_size = 1000;
int			ua_max_metadata_bytes = 32768;
int			ua_future_margin = 86400;

/*
 * UaDefineIngestGucs defines user_activity.max_batch_size,
 * max_metadata_bytes and future_margin.  future_margin is an integer number
 * of seconds with time units, so '1d', '36h' and '90min' are all accepted and
 * SHOW prints the largest unit that divides it.
 */
void
UaDefineIngestGucs(void)
{
	DefineCustomIntVariable("user_activity.max_batch_size",
							"Largest number of events record_events() accepts in one call.",
							"A larger batch is rejected as a whole with SQLSTATE 54000.",
							&ua_max_batch_size,
							1000, 1, 100000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("user_activity.max_metadata_bytes",
							"Largest event metadata accepted, in bytes of its JSON text.",
							"The size is that of the metadata as jsonb prints it.",
							&ua_max_metadata_bytes,
							32768, 2, 100 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("user_activity.future_margin",
							"How far in the future an event's action time may be.",
							"Events whose event_action_timestamp is later than now plus this margin are rejected.",
							&ua_future_margin,
							86400, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}
