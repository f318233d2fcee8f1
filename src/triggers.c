/*
 * triggers.c
 *		Triggers on the extension's tables: the ledger is append-only.
 */
#include "postgres.h"

#include "commands/trigger.h"

PG_FUNCTION_INFO_V1(credit_ledger_refuse_entry_change);

Datum
credit_ledger_refuse_entry_change(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "credit_ledger: refuse_entry_change must be called as a trigger");
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("ledger entries are append-only"),
			 errdetail("%s on %s is refused.",
					   TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? "UPDATE" :
					   TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "DELETE" : "TRUNCATE",
					   RelationGetRelationName(trigdata->tg_relation)),
			 errhint("Correct a balance with credit_ledger.adjust().")));
	PG_RETURN_NULL();
}
