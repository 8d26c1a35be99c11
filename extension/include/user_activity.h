/*-------------------------------------------------------------------------
 *
 * user_activity.h
 *	  Declarations shared by the files of the user_activity extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef USER_ACTIVITY_H
#define USER_ACTIVITY_H

#include "datatype/timestamp.h"
#include "executor/spi.h"

/*
 * The extension's schema and its events table, for lookups, messages and
 * the queries' text (as string literals, they join other literals).
 */
#define UA_SCHEMA "user_activity"
#define UA_EVENTS_TABLE "events"
#define UA_EVENTS_QUALIFIED UA_SCHEMA "." UA_EVENTS_TABLE

/* guc.c: settings of validation and ingest */
extern void UaDefineIngestGucs(void);

/* counts.c: settings of the counting job */
extern void UaDefineCountGucs(void);

/* partition_settings.c: settings of the time partitions */
extern void UaDefinePartitionGucs(void);

/* event_keys.c: the key trigger; set by ingest while its INSERT runs */
extern bool ua_ingest_skips_duplicates;

/* ingest.c: shared by one event's ingest and the batch's (batch_store.c) */
extern SPIPlanPtr UaKeepPlan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr UaKeepPlanWith(SPIPlanPtr *slot, const char *sql, int nargs,
								 Oid *argtypes, int cursor_options);
extern int	UaExecuteSkippingDuplicates(SPIPlanPtr plan, Datum *values, const char *nulls);

/* events_target.c: where ingest inserts; see UaLockEvents(). */
typedef struct UaEventsTarget
{
	Oid			events;			/* user_activity.events, locked */
	Oid			seq;			/* its id sequence */
	Oid			partition;		/* the partition for the time, locked, or
								 * InvalidOid: insert through the table */
	const char *partition_name; /* its qualified name, quoted */
	uint64		generation;		/* changes when partition_name does */
} UaEventsTarget;

extern void UaLockEvents(TimestampTz recorded_at, UaEventsTarget *target);

#endif							/* USER_ACTIVITY_H */
