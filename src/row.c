/*
 * row.c
 *		Single rows of account, bucket and entry, read and written without
 *		a statement. A money call used to run five SPI statements on these
 *		tables, and most of each one's cost was starting it: executor state,
 *		and the CHECK constraints and partial index predicates parsed and
 *		compiled again on every run. Here the table's CHECKs, its index
 *		descriptions and predicates are compiled once per backend and kept
 *		until a relcache invalidation of the table or one of its indexes;
 *		each call only opens the relations and does the work.
 *
 *		Writes go through ExecSimpleRelationInsert/Update, the path logical
 *		replication applies rows with: CHECK and NOT NULL constraints, index
 *		entries (unique checks included) and row triggers, as an INSERT or
 *		UPDATE would.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "row.h"

#define ROW_MAX_KEYS 2

typedef struct RowTableDef
{
	const char *name;
	const char *const *columns; /* the first columns, in order */
	int			column_count;
	bool		all_columns;	/* rows are inserted: columns must be all of them */
} RowTableDef;

static const char *const account_columns[] = {
	"account_id", "status", "credit_limit", "balance", "reserved", "debt", "total_granted",
	"total_consumed", "total_expired", "total_refunded", "next_expiry_at", "metadata",
	"status_reason", "status_changed_at"
};
static const char *const bucket_columns[] = {
	"account_id", "bucket_id", "source", "granted", "remaining", "live"
};
static const char *const entry_columns[] = {
	"account_id", "entry_id", "kind", "amount", "reserved_delta", "balance_after",
	"reserved_after", "event_id", "hold_id", "source", "description", "metadata",
	"price_rule_id", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
	"bucket_ids", "bucket_amounts", "ref_entry_id", "request", "created_at"
};

static const RowTableDef table_defs[ROW_TABLE_COUNT] = {
	[ROW_ACCOUNT] = {"account", account_columns, lengthof(account_columns), false},
	[ROW_BUCKET] = {"bucket", bucket_columns, lengthof(bucket_columns), false},
	[ROW_ENTRY] = {"entry", entry_columns, lengthof(entry_columns), true},
};

typedef struct RowIndexDef
{
	const char *name;
	RowTableId	table;
	int			key_count;		/* leading index columns the lookups give */
} RowIndexDef;

static const RowIndexDef index_defs[ROW_INDEX_COUNT] = {
	[ROW_ACCOUNT_BY_ID] = {"account_pkey", ROW_ACCOUNT, 1},
	[ROW_BUCKET_BY_ID] = {"bucket_pkey", ROW_BUCKET, 2},
	[ROW_BUCKET_BURN_DOWN] = {"bucket_burn_down", ROW_BUCKET, 1},
	[ROW_ENTRY_BY_EVENT] = {"entry_event", ROW_ENTRY, 2},
};

/* What a table needs compiled, for the backend's life (until invalidated). */
typedef struct RowTableCache
{
	bool		valid;			/* no invalidation came since the build began */
	bool		complete;		/* the build ran to its end (an error may stop it) */
	Oid			relid;
	MemoryContext context;
	int			index_count;
	Oid		   *index_oids;
	IndexInfo **index_infos;	/* predicates and expressions compiled */
	ExprState **checks;			/* the table's CHECK constraints, in relcache order */
} RowTableCache;

/* How to look rows up by a named index: its equality functions. */
typedef struct RowIndexKeys
{
	Oid			oid;
	RegProcedure procs[ROW_MAX_KEYS];
	Oid			collations[ROW_MAX_KEYS];
} RowIndexKeys;

static RowTableCache caches[ROW_TABLE_COUNT];
static RowIndexKeys index_keys[ROW_INDEX_COUNT];

/*
 * Contexts of caches built again while a call may still use the old ones
 * (a call opens each table once, but a trigger may run another call in
 * between): freed when the transaction ends.
 */
static List *retired_contexts = NIL;
static bool callbacks_registered = false;

/* One table as a call has it open. */
struct RowTable
{
	ResultRelInfo *rri;
	TupleTableSlot *found;		/* the row last fetched */
	TupleTableSlot *written;	/* the row being written */
};

/* Relcache callback: only flags change here; the next open builds again. */
static void
row_cache_invalidate(Datum arg, Oid relid)
{
	for (int t = 0; t < ROW_TABLE_COUNT; t++)
	{
		RowTableCache *c = &caches[t];

		if (relid == InvalidOid || relid == c->relid)
			c->valid = false;
		for (int i = 0; i < c->index_count; i++)
			if (c->index_oids[i] == relid)
				c->valid = false;
	}
}

static void
row_cache_xact_end(XactEvent event, void *arg)
{
	ListCell   *lc;

	foreach(lc, retired_contexts)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	list_free(retired_contexts);
	retired_contexts = NIL;
}

/* The column numbers row.h gives must be the table's. */
static void
row_columns_check(Relation rel, const RowTableDef *def)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (desc->natts < def->column_count || (def->all_columns && desc->natts != def->column_count))
		elog(ERROR, "credit_ledger: table %s has %d columns, expected %d",
			 def->name, desc->natts, def->column_count);
	for (int i = 0; i < def->column_count; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), def->columns[i]) != 0)
			elog(ERROR, "credit_ledger: column %d of table %s is not %s",
				 i + 1, def->name, def->columns[i]);
	}
}

/* CHECK constraints compiled as ExecRelCheck would, in the current context. */
static ExprState **
row_checks_compile(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	int			count = constr ? constr->num_check : 0;
	ExprState **checks = palloc(sizeof(ExprState *) * Max(count, 1));

	for (int i = 0; i < count; i++)
		checks[i] = ExecInitExpr(expression_planner(stringToNode(constr->check[i].ccbin)), NULL);
	return checks;
}

/*
 * An index's description with its predicate and expressions compiled, as
 * ExecInsertIndexTuples would compile them on first use, in the current
 * context.
 */
static IndexInfo *
row_index_info_build(Relation index)
{
	IndexInfo  *ii = BuildIndexInfo(index);
	ListCell   *lc;

	if (ii->ii_Predicate != NIL)
		ii->ii_PredicateState =
			ExecInitQual((List *) expression_planner((Expr *) ii->ii_Predicate), NULL);
	foreach(lc, ii->ii_Expressions)
		ii->ii_ExpressionsState =
			lappend(ii->ii_ExpressionsState,
					ExecInitExpr(expression_planner((Expr *) lfirst(lc)), NULL));
	return ii;
}

/* The equality functions of a named index's leading columns. */
static void
row_index_keys_build(RowIndexKeys *keys, const RowIndexDef *def, Relation index)
{
	keys->oid = RelationGetRelid(index);
	for (int k = 0; k < def->key_count; k++)
	{
		Oid			type = index->rd_opcintype[k];
		Oid			op = get_opfamily_member(index->rd_opfamily[k], type, type,
											 BTEqualStrategyNumber);

		if (!OidIsValid(op))
			elog(ERROR, "credit_ledger: index %s has no equality operator for column %d",
				 def->name, k + 1);
		keys->procs[k] = get_opcode(op);
		keys->collations[k] = index->rd_indcollation[k];
	}
}

static void
row_cache_build(RowTableId id)
{
	RowTableCache *c = &caches[id];
	const RowTableDef *def = &table_defs[id];
	Oid			namespace = get_namespace_oid("credit_ledger", false);
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	MemoryContext old;
	int			i = 0;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(row_cache_invalidate, (Datum) 0);
		RegisterXactCallback(row_cache_xact_end, NULL);
		callbacks_registered = true;
	}
	if (c->context != NULL)
	{
		old = MemoryContextSwitchTo(TopMemoryContext);
		retired_contexts = lappend(retired_contexts, c->context);
		MemoryContextSwitchTo(old);
	}
	c->index_count = 0;
	c->complete = false;
	c->context = AllocSetContextCreate(CacheMemoryContext, "credit_ledger rows",
									   ALLOCSET_SMALL_SIZES);
	c->relid = get_relname_relid(def->name, namespace);
	if (!OidIsValid(c->relid))
		elog(ERROR, "credit_ledger: table credit_ledger.%s not found", def->name);

	/* from here on, an invalidation of the table makes the caller build again */
	c->valid = true;
	rel = table_open(c->relid, AccessShareLock);
	row_columns_check(rel, def);

	old = MemoryContextSwitchTo(c->context);
	c->checks = row_checks_compile(rel);
	indexes = RelationGetIndexList(rel);
	c->index_oids = palloc(sizeof(Oid) * (list_length(indexes) + 1));
	c->index_infos = palloc(sizeof(IndexInfo *) * (list_length(indexes) + 1));
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		c->index_oids[i] = RelationGetRelid(index);
		c->index_infos[i] = row_index_info_build(index);
		for (int k = 0; k < ROW_INDEX_COUNT; k++)
			if (index_defs[k].table == id &&
				strcmp(RelationGetRelationName(index), index_defs[k].name) == 0)
				row_index_keys_build(&index_keys[k], &index_defs[k], index);
		index_close(index, AccessShareLock);
		i++;
	}
	c->index_count = i;
	MemoryContextSwitchTo(old);

	for (int k = 0; k < ROW_INDEX_COUNT; k++)
		if (index_defs[k].table == id && !list_member_oid(indexes, index_keys[k].oid))
			elog(ERROR, "credit_ledger: index credit_ledger.%s not found", index_defs[k].name);
	table_close(rel, AccessShareLock);
	c->complete = true;
}

/* Opens the table for this call (once), with its cached compiled parts. */
static RowTable *
row_table(RowAccess *rows, RowTableId id)
{
	RowTableCache *c = &caches[id];
	RowTable   *t = rows->tables[id];
	EState	   *estate;
	Relation	rel;
	ResultRelInfo *rri;
	MemoryContext old;

	if (t != NULL)
		return t;
	if (rows->estate == NULL)
	{
		rows->estate = CreateExecutorState();
		rows->estate->es_snapshot = GetActiveSnapshot();
		EvalPlanQualInit(&rows->epqstate, rows->estate, NULL, NIL, -1);
		AfterTriggerBeginQuery();
	}
	estate = rows->estate;

	/* taking the lock accepts invalidations: build until none came */
	for (;;)
	{
		if (!c->valid || !c->complete)
			row_cache_build(id);
		rel = table_open(c->relid, RowExclusiveLock);
		if (c->valid)
			break;
		table_close(rel, RowExclusiveLock);
	}

	old = MemoryContextSwitchTo(estate->es_query_cxt);
	t = palloc0(sizeof(RowTable));
	rri = t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 0, NULL, 0);
	rri->ri_ConstraintExprs = c->checks;
	rri->ri_NumIndices = c->index_count;
	rri->ri_IndexRelationDescs = palloc(sizeof(Relation) * (c->index_count + 1));
	rri->ri_IndexRelationInfo = palloc(sizeof(IndexInfo *) * (c->index_count + 1));
	for (int i = 0; i < c->index_count; i++)
	{
		/* a copy: the index AM may keep per-call state in it */
		IndexInfo  *ii = palloc(sizeof(IndexInfo));

		*ii = *c->index_infos[i];
		ii->ii_Context = estate->es_query_cxt;
		ii->ii_AmCache = NULL;
		rri->ri_IndexRelationInfo[i] = ii;
		rri->ri_IndexRelationDescs[i] = index_open(c->index_oids[i], RowExclusiveLock);
	}
	estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, rri);
	t->found = table_slot_create(rel, &estate->es_tupleTable);
	t->written = ExecInitExtraTupleSlot(estate, RelationGetDescr(rel), &TTSOpsVirtual);
	MemoryContextSwitchTo(old);

	rows->tables[id] = t;
	return t;
}

static Relation
row_index_relation(RowTable *t, RowIndexId index)
{
	ResultRelInfo *rri = t->rri;

	for (int i = 0; i < rri->ri_NumIndices; i++)
		if (RelationGetRelid(rri->ri_IndexRelationDescs[i]) == index_keys[index].oid)
			return rri->ri_IndexRelationDescs[i];
	elog(ERROR, "credit_ledger: index credit_ledger.%s is not open", index_defs[index].name);
	return NULL;				/* keep compiler quiet */
}

/*
 * Locks the row just found, as SELECT ... FOR UPDATE does: waits for a
 * transaction holding it and, under READ COMMITTED, follows it to its
 * latest version. False when that version was deleted.
 */
static bool
row_lock_found(RowTable *t, Snapshot snapshot)
{
	bool		xact_snapshot = IsolationUsesXactSnapshot();
	ItemPointerData tid = t->found->tts_tid;
	TM_FailureData tmfd;
	TM_Result	result;

	result = table_tuple_lock(t->rri->ri_RelationDesc, &tid, snapshot, t->found,
							  GetCurrentCommandId(true), LockTupleExclusive, LockWaitBlock,
							  TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS |
							  (xact_snapshot ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION),
							  &tmfd);
	if (result == TM_Ok)
		return true;
	if ((result == TM_Updated || result == TM_Deleted) && xact_snapshot)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	if (result == TM_Deleted)
		return false;
	elog(ERROR, "credit_ledger: unexpected result %d locking a row of %s",
		 (int) result, RelationGetRelationName(t->rri->ri_RelationDesc));
	return false;				/* keep compiler quiet */
}

static TupleTableSlot *
row_find(RowAccess *rows, RowIndexId index, const Datum *keys, bool lock)
{
	const RowIndexDef *def = &index_defs[index];
	RowTable   *t = row_table(rows, def->table);
	ScanKeyData scankeys[ROW_MAX_KEYS];
	IndexScanDesc scan;
	Snapshot	snapshot;
	bool		found;

	/* what this call wrote so far becomes visible, as before a statement */
	CommandCounterIncrement();
	snapshot = GetTransactionSnapshot();

	for (int k = 0; k < def->key_count; k++)
		ScanKeyEntryInitialize(&scankeys[k], 0, k + 1, BTEqualStrategyNumber, InvalidOid,
							   index_keys[index].collations[k], index_keys[index].procs[k],
							   keys[k]);
	scan = index_beginscan(t->rri->ri_RelationDesc, row_index_relation(t, index), snapshot,
						   def->key_count, 0);
	index_rescan(scan, scankeys, def->key_count, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, t->found);
	index_endscan(scan);

	if (!found || (lock && !row_lock_found(t, snapshot)))
	{
		ExecClearTuple(t->found);
		return NULL;
	}
	return t->found;
}

TupleTableSlot *
row_fetch(RowAccess *rows, RowIndexId index, const Datum *keys)
{
	return row_find(rows, index, keys, false);
}

TupleTableSlot *
row_lock(RowAccess *rows, RowIndexId index, const Datum *keys)
{
	return row_find(rows, index, keys, true);
}

int64
row_int64(TupleTableSlot *slot, int column, bool *isnull)
{
	bool		null;
	Datum		value = slot_getattr(slot, column, &null);

	if (isnull)
		*isnull = null;
	else if (null)
		elog(ERROR, "credit_ledger: unexpected NULL in column %d of %s", column,
			 get_rel_name(slot->tts_tableOid));
	return null ? 0 : DatumGetInt64(value);
}

char *
row_text(TupleTableSlot *slot, int column)
{
	bool		null;
	Datum		value = slot_getattr(slot, column, &null);

	return null ? NULL : TextDatumGetCString(value);
}

void
row_update(RowAccess *rows, RowTableId table, int count, const int *columns,
		   const Datum *values, const bool *nulls)
{
	RowTable   *t = rows->tables[table];
	TupleTableSlot *written;
	int			natts;

	if (t == NULL || TTS_EMPTY(t->found))
		elog(ERROR, "credit_ledger: no row of %s fetched to update", table_defs[table].name);
	written = t->written;
	natts = written->tts_tupleDescriptor->natts;
	slot_getallattrs(t->found);
	ExecClearTuple(written);
	memcpy(written->tts_values, t->found->tts_values, sizeof(Datum) * natts);
	memcpy(written->tts_isnull, t->found->tts_isnull, sizeof(bool) * natts);
	for (int i = 0; i < count; i++)
	{
		written->tts_values[columns[i] - 1] = values[i];
		written->tts_isnull[columns[i] - 1] = nulls ? nulls[i] : false;
	}
	ExecStoreVirtualTuple(written);
	/* BEFORE UPDATE triggers lock the old version with it: it must see this call's writes */
	rows->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationUpdate(t->rri, rows->estate, &rows->epqstate, t->found, written);
	/* the version fetched is gone: a further update must fetch again */
	ExecClearTuple(t->found);
}

void
row_insert(RowAccess *rows, RowTableId table, const Datum *values, const bool *nulls)
{
	RowTable   *t = row_table(rows, table);
	TupleTableSlot *written = t->written;
	int			natts = written->tts_tupleDescriptor->natts;

	ExecClearTuple(written);
	memcpy(written->tts_values, values, sizeof(Datum) * natts);
	memcpy(written->tts_isnull, nulls, sizeof(bool) * natts);
	ExecStoreVirtualTuple(written);
	rows->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationInsert(t->rri, rows->estate, written);
}

void
rows_end(RowAccess *rows)
{
	EState	   *estate = rows->estate;

	if (estate == NULL)
		return;
	AfterTriggerEndQuery(estate);
	ExecCloseResultRelations(estate);
	for (int t = 0; t < ROW_TABLE_COUNT; t++)
		if (rows->tables[t] != NULL)
			table_close(rows->tables[t]->rri->ri_RelationDesc, NoLock);
	ExecResetTupleTable(estate->es_tupleTable, false);
	EvalPlanQualEnd(&rows->epqstate);
	FreeExecutorState(estate);
	memset(rows, 0, sizeof(*rows));
}
