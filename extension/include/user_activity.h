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

/* guc.c: settings of validation and ingest */
extern void UaDefineIngestGucs(void);

/* counts.c: settings of the counting job */
extern void UaDefineCountGucs(void);

/* partition.c: time partitions of the events and their key table */
extern bool ua_ingest_skips_duplicates;
extern void UaDefinePartitionGucs(void);
extern void UaEnsureEventPartition(TimestampTz recorded_at);

/* worker.c: the in-database HTTP shim as a background worker */
extern void UaDefineHttpGucs(void);
extern void UaRegisterHttpWorker(void);

#endif							/* USER_ACTIVITY_H */
