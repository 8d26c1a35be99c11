/*-------------------------------------------------------------------------
 *
 * ua_batch.h
 *	  A batch of events on its way to the events table: the items, and the
 *	  store that record_events() and record_event_each() share
 *	  (batch_store.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef UA_BATCH_H
#define UA_BATCH_H

#include "ua_event.h"

/* Outcome of one batch item. */
typedef enum ItemStatus
{
	ITEM_PENDING,
	ITEM_STORED,
	ITEM_DUPLICATE,
	ITEM_REJECTED
} ItemStatus;

typedef struct BatchItem
{
	UaEvent		ev;
	UaError		err;
	ItemStatus	status;
	int			first;			/* in-batch duplicate: index of the first */
	int64		id;
	TimestampTz recorded_at;
} BatchItem;

/* batch_store.c */
extern void UaCheckBatchSize(int n);
extern void UaStoreBatch(BatchItem *items, int n, bool claim);

#endif							/* UA_BATCH_H */
