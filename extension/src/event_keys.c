/*-------------------------------------------------------------------------
 *
 * event_keys.c
 *	  The trigger that makes (user_id, event_id) a unique key of
 *	  user_activity.events, through user_activity.event_keys.
 *
 * A unique index on the partitioned table cannot enforce that key, because
 * it does not include the partition key; the trigger claims it in the key
 * table instead.  From version 1.4 ingest claims the key itself before it
 * inserts, and the trigger (user_activity_claim_event_key) accepts a key
 * claimed for the very row it sees; versions 1.1 to 1.3 bind
 * ua_event_key_trigger, which skips a taken key while
 * ua_ingest_skips_duplicates is set.  That flag lives in the backend that
 * runs ingest, so it cannot reach a trigger that runs elsewhere (on a Citus
 * worker); the 1.4 trigger reads nothing but the row and the key table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "user_activity.h"

/* set by ingest while its INSERT runs: a taken key skips the row */
bool		ua_ingest_skips_duplicates = false;

/* the claim of a key, both versions' */
static SPIPlanPtr claim_plan = NULL;
static SPIPlanPtr probe_plan = NULL;	/* 1.4: claimed for this row? */

static Oid	key_types[4] = {INT8OID, UUIDOID, INT8OID, TIMESTAMPTZOID};

PG_FUNCTION_INFO_V1(ua_event_key_trigger);
PG_FUNCTION_INFO_V1(user_activity_claim_event_key);

static int
AttnumOf(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, UA_EVENTS_QUALIFIED " has no column \"%s\"", name);
	return attnum;
}

/*
 * KeyTriggerRow checks that the key trigger fires as it must (BEFORE INSERT
 * FOR EACH ROW; "name" is its C function, for the error) and reads the new
 * row's user_id, event_id, id and recorded_at into values, isnull and SPI's
 * nulls.  Both versions of the trigger start so.
 */
static HeapTuple
KeyTriggerRow(FunctionCallInfo fcinfo, const char *name,
			  Datum *values, bool *isnull, char *nulls)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	static const char *const cols[4] = {"user_id", "event_id", "id", "recorded_at"};
	TupleDesc	desc;
	HeapTuple	tup;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be a BEFORE INSERT FOR EACH ROW trigger", name)));

	tup = td->tg_trigtuple;
	desc = RelationGetDescr(td->tg_relation);
	for (int i = 0; i < 4; i++)
	{
		values[i] = SPI_getbinval(tup, desc, AttnumOf(desc, cols[i]), &isnull[i]);
		nulls[i] = isnull[i] ? 'n' : ' ';
	}
	return tup;
}

/*
 * ClaimKey inserts the row's key into user_activity.event_keys unless it is
 * there already, and says whether it did.  A concurrent writer of the same
 * key makes it wait on event_keys' primary key for that writer to end.
 * The caller is connected to SPI.
 */
static bool
ClaimKey(Datum *values, char *nulls)
{
	int			rc;

	UaKeepPlan(&claim_plan,
			   "INSERT INTO " UA_SCHEMA ".event_keys (user_id, event_id, id, recorded_at) "
			   "VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, event_id) DO NOTHING",
			   4, key_types);
	rc = SPI_execute_plan(claim_plan, values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "insert into " UA_SCHEMA ".event_keys failed: %s",
			 SPI_result_code_string(rc));
	return SPI_processed == 1;
}

/*
 * KeyTaken raises the unique_violation a unique index on (user_id, event_id)
 * would raise.
 */
static void
KeyTaken(Datum user_id, Datum event_id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNIQUE_VIOLATION),
			 errmsg("duplicate key value violates unique constraint \"event_keys_pkey\""),
			 errdetail("Key (user_id, event_id)=(" INT64_FORMAT ", %s) already exists.",
					   DatumGetInt64(user_id),
					   DatumGetCString(DirectFunctionCall1(uuid_out, event_id)))));
}

/*
 * ua_event_key_trigger, BEFORE INSERT FOR EACH ROW on user_activity.events
 * for rows with an event_id (versions 1.1 to 1.3), claims (user_id,
 * event_id) in user_activity.event_keys.  When the key is taken, the row is
 * skipped if ingest is inserting (it reports the event first stored as a
 * duplicate), and otherwise the INSERT fails with unique_violation, as a
 * unique index would make it.
 */
Datum
ua_event_key_trigger(PG_FUNCTION_ARGS)
{
	HeapTuple	tup;
	Datum		values[4];
	bool		isnull[4];
	char		nulls[4];
	bool		claimed;

	tup = KeyTriggerRow(fcinfo, "ua_event_key_trigger", values, isnull, nulls);
	if (isnull[1])
		return PointerGetDatum(tup);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	claimed = ClaimKey(values, nulls);
	SPI_finish();

	if (claimed)
		return PointerGetDatum(tup);
	if (ua_ingest_skips_duplicates)
		return PointerGetDatum(NULL);
	KeyTaken(values[0], values[1]);
	return PointerGetDatum(NULL);	/* not reached */
}

/*
 * user_activity_claim_event_key, BEFORE INSERT FOR EACH ROW on
 * user_activity.events for rows with an event_id (version 1.4), makes
 * (user_id, event_id) behave like a unique key of the table without any
 * state outside the row and user_activity.event_keys, so that it works
 * wherever the row is inserted (on a Citus worker, the shard's trigger runs
 * there).
 *
 * When the key is already in event_keys naming this very row (same id and
 * recorded_at: ingest claimed it just before inserting), the row goes in.
 * When it names another event, the INSERT fails with unique_violation.
 * When it is free, the trigger claims it, and fails if a concurrent writer
 * of the same key commits first.  Ingest itself never gets here with a
 * taken key: it claims first and reports a taken key as a duplicate.
 */
Datum
user_activity_claim_event_key(PG_FUNCTION_ARGS)
{
	HeapTuple	tup;
	Datum		values[4];
	bool		isnull[4];
	char		nulls[4];
	int			rc;
	bool		taken = false;

	tup = KeyTriggerRow(fcinfo, "user_activity_claim_event_key", values, isnull, nulls);
	if (isnull[1])
		return PointerGetDatum(tup);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Claimed for this row already?  (The function runs with enable_seqscan
	 * off, see the 1.4 script: a plan made while event_keys was small would
	 * otherwise scan it whole, and go on doing so as one long transaction
	 * fills it.)
	 */
	UaKeepPlan(&probe_plan,
			   "SELECT k.id = $3 AND k.recorded_at = $4 "
			   "FROM " UA_SCHEMA ".event_keys k "
			   "WHERE k.user_id = $1 AND k.event_id = $2",
			   4, key_types);
	rc = SPI_execute_plan(probe_plan, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "lookup in " UA_SCHEMA ".event_keys failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		mine_null;
		bool		mine = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1,
													  &mine_null));

		taken = mine_null || !mine;
	}
	else
		taken = !ClaimKey(values, nulls);
	SPI_finish();

	if (taken)
		KeyTaken(values[0], values[1]);
	return PointerGetDatum(tup);
}
