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
 *		UPDATE would. What else the executor does around a write is done
 *		here: the read-only check, a trigger's skipped row refused, columns
 *		found by name, locks taken up front and checked after the wait.
 *
 *		Which tables, columns and indexes: catalog.c. A caller updates a row
 *		through the Row handle its fetch returned; a handle is good until
 *		the next fetch from the same table or its own update.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "store/catalog.h"
#include "store/row.h"

#define ROW_MAX_KEYS 2

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
	AttrNumber	attnums[ROW_MAX_COLUMNS];	/* where each of the ledger's columns is */
	int			natts;
	ExprState **defaults;		/* per attribute: an added column's default, or NULL */
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

typedef struct RowTable RowTable;

/*
 * The tables one call works on, opened on first use (op_init locked them
 * all before, rows_lock_tables) and closed by rows_end. On error, the
 * transaction's abort releases what it holds.
 */
struct RowAccess
{
	EState	   *estate;
	EPQState	epqstate;
	RowTable   *tables[ROW_TABLE_COUNT];
};

/* One table as a call has it open. */
struct RowTable
{
	RowAccess  *rows;
	RowTableId	id;
	ResultRelInfo *rri;
	TupleTableSlot *found;		/* the row version last fetched */
	TupleTableSlot *written;	/* the row being written */
	uint64		fetches;		/* fetches into found so far */
};

/*
 * A row version fetched into its table's slot. The handle is good while
 * it is the table's latest fetch (version == fetches) and not yet
 * updated: a stale handle is refused, never silently applied to another row.
 */
struct Row
{
	RowTable   *table;
	uint64		version;
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

/*
 * The table is gone: dropped (DROP EXTENSION) while the call waited for
 * its lock, or never there.
 */
static void
row_table_missing(const char *name)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation \"credit_ledger.%s\" does not exist", name),
			 errdetail("The extension credit_ledger was dropped while this call waited for its tables."),
			 errhint("Call again once CREATE EXTENSION credit_ledger has committed.")));
}

static void
row_column_refuse(const RowTableDef *def, const RowColumnDef *col, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("column %s of table credit_ledger.%s %s", col->name, def->name, problem),
			 errdetail("credit_ledger reads and writes this column as %s.", format_type_be(col->type)),
			 errhint("Restore the column as the extension created it; columns may be added, not changed.")));
}

/*
 * Finds each of the ledger's columns by name, with its type, and compiles
 * the defaults of the columns an operator added (inserted rows get them,
 * as an INSERT naming only the ledger's columns would).
 */
static void
row_columns_map(Relation rel, const RowTableDef *def, RowTableCache *c)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool	   *ledger_column = palloc0(sizeof(bool) * (desc->natts + 1));

	for (int i = 0; i < def->column_count; i++)
	{
		const RowColumnDef *col = &def->columns[i];
		AttrNumber	attnum = InvalidAttrNumber;

		for (int a = 0; a < desc->natts && attnum == InvalidAttrNumber; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (!att->attisdropped && strcmp(NameStr(att->attname), col->name) == 0)
				attnum = a + 1;
		}
		if (attnum == InvalidAttrNumber && col->since_1_1)
		{
			c->attnums[i] = InvalidAttrNumber;
			continue;
		}
		if (attnum == InvalidAttrNumber)
			row_column_refuse(def, col, "is missing");
		if (TupleDescAttr(desc, attnum - 1)->atttypid != col->type)
			row_column_refuse(def, col, "has another type");
		c->attnums[i] = attnum;
		ledger_column[attnum - 1] = true;
	}

	c->natts = desc->natts;
	c->defaults = palloc0(sizeof(ExprState *) * (desc->natts + 1));
	for (int a = 0; a < desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a);
		Node	   *expr;

		if (ledger_column[a] || att->attisdropped || att->attgenerated)
			continue;
		expr = build_column_default(rel, a + 1);
		if (expr != NULL)
			c->defaults[a] = ExecInitExpr(expression_planner((Expr *) expr), NULL);
	}
	pfree(ledger_column);
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
	const RowTableDef *def = &catalog_tables[id];
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
		c->context = NULL;
	}
	c->index_count = 0;
	c->complete = false;
	c->relid = catalog_relid(def->name);
	if (!OidIsValid(c->relid) && def->since_1_1)
	{
		/* a 1.0 schema: looked up again by every call until the update creates it */
		c->valid = false;
		c->complete = true;
		return;
	}
	if (!OidIsValid(c->relid))
		row_table_missing(def->name);

	/* from here on, an invalidation of the table makes the caller build again */
	c->valid = true;
	if (def->columns == NULL)
	{
		c->complete = true;
		return;
	}
	rel = try_table_open(c->relid, AccessShareLock);
	if (rel == NULL)
		row_table_missing(def->name);
	c->context = AllocSetContextCreate(CacheMemoryContext, "credit_ledger rows",
									   ALLOCSET_SMALL_SIZES);

	old = MemoryContextSwitchTo(c->context);
	row_columns_map(rel, def, c);
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
			if (catalog_indexes[k].table == id &&
				strcmp(RelationGetRelationName(index), catalog_indexes[k].name) == 0)
				row_index_keys_build(&index_keys[k], &catalog_indexes[k], index);
		index_close(index, AccessShareLock);
		i++;
	}
	c->index_count = i;
	MemoryContextSwitchTo(old);

	for (int k = 0; k < ROW_INDEX_COUNT; k++)
		if (catalog_indexes[k].table == id && !list_member_oid(indexes, index_keys[k].oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("index \"credit_ledger.%s\" does not exist", catalog_indexes[k].name),
					 errdetail("credit_ledger finds rows of credit_ledger.%s through it.", def->name),
					 errhint("Create the index again as the extension created it.")));
	table_close(rel, AccessShareLock);
	c->complete = true;
}

/*
 * Locks the table for writing, its cache built; returns it opened when
 * `open`. A table dropped while the lock was awaited is 42P01; one
 * changed meanwhile (a new index, a new column) is built again. A table
 * of 1.1 missing from a 1.0 schema is not locked (NULL), and 42P01 when
 * opened.
 */
static Relation
row_table_lock(RowTableId id, bool open)
{
	RowTableCache *c = &caches[id];

	/* taking the lock accepts invalidations: build until none came */
	for (;;)
	{
		Relation	rel = NULL;

		if (!c->valid || !c->complete)
			row_cache_build(id);
		if (!OidIsValid(c->relid))
		{
			/* a table of 1.1 on a 1.0 schema: nothing to lock, nothing to open */
			if (open)
				row_table_missing(catalog_tables[id].name);
			return NULL;
		}
		if (open)
			rel = try_table_open(c->relid, RowExclusiveLock);
		else
			LockRelationOid(c->relid, RowExclusiveLock);
		if (open ? rel == NULL : !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(c->relid)))
			row_table_missing(catalog_tables[id].name);
		if (c->valid)
			return rel;
		if (rel != NULL)
			table_close(rel, RowExclusiveLock);
	}
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

	rel = row_table_lock(id, true);

	old = MemoryContextSwitchTo(estate->es_query_cxt);
	t = palloc0(sizeof(RowTable));
	t->rows = rows;
	t->id = id;
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
	elog(ERROR, "credit_ledger: index credit_ledger.%s is not open", catalog_indexes[index].name);
	return NULL;				/* keep compiler quiet */
}

/*
 * 25006 in a read-only transaction (BEGIN READ ONLY, a hot standby), as
 * the executor refuses a write there: `what` (a function or a command)
 * would write credit_ledger.`table`.
 */
void
row_require_writable(const char *what, const char *table)
{
	if (!XactReadOnly)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot execute %s in a read-only transaction", what),
			 RecoveryInProgress() ?
			 errdetail("This server is a hot standby; credit_ledger writes credit_ledger.%s on the primary only.", table) :
			 errdetail("The call writes credit_ledger.%s; run it in a read-write transaction.", table)));
}

/*
 * 09000 when a trigger on the table skipped the ledger's write (a BEFORE
 * trigger returned NULL): money never moves without its row.
 */
void
row_report_skipped(const char *command, const char *table)
{
	ereport(ERROR,
			(errcode(ERRCODE_TRIGGERED_ACTION_EXCEPTION),
			 errmsg("a trigger skipped the ledger's %s on credit_ledger.%s", command, table),
			 errdetail("A BEFORE %s trigger on credit_ledger.%s returned NULL; money never moves without its row, so the call changes nothing.",
					   command, table),
			 errhint("A trigger on credit_ledger's tables must return the row (NEW).")));
}

/* A call's tables, each opened on first use; rows_end closes them. */
RowAccess *
rows_open(void)
{
	return palloc0(sizeof(RowAccess));
}

/*
 * Takes RowExclusiveLock on every table a money call may write (account,
 * bucket, hold, entry), before it reads any of them: a call that read a
 * table first and wrote it later would upgrade its lock, which deadlocks
 * with REINDEX. Held to the end of the transaction, as a statement's are.
 * A table dropped while the call waited (DROP EXTENSION) is 42P01.
 */
void
rows_lock_tables(void)
{
	for (int t = 0; t < ROW_TABLE_COUNT; t++)
		(void) row_table_lock(t, false);
}

/*
 * Locks the row just found, as SELECT ... FOR NO KEY UPDATE does: waits
 * for a transaction holding it and, under READ COMMITTED, follows it to
 * its latest version. False when that version was deleted.
 */
static bool
row_lock_found(RowTable *t, Snapshot snapshot)
{
	bool		xact_snapshot = IsolationUsesXactSnapshot();
	ItemPointerData tid = t->found->tts_tid;
	TM_FailureData tmfd;
	TM_Result	result;

	result = table_tuple_lock(t->rri->ri_RelationDesc, &tid, snapshot, t->found,
							  GetCurrentCommandId(true), LockTupleNoKeyExclusive, LockWaitBlock,
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

/* An index scan for rows whose leading index columns equal keys. */
static IndexScanDesc
row_index_scan(RowTable *t, RowIndexId index, const Datum *keys, Snapshot snapshot)
{
	const RowIndexDef *def = &catalog_indexes[index];
	ScanKeyData scankeys[ROW_MAX_KEYS];
	IndexScanDesc scan;

	for (int k = 0; k < def->key_count; k++)
		ScanKeyEntryInitialize(&scankeys[k], 0, k + 1, BTEqualStrategyNumber, InvalidOid,
							   index_keys[index].collations[k], index_keys[index].procs[k],
							   keys[k]);
	scan = index_beginscan(t->rri->ri_RelationDesc, row_index_relation(t, index), snapshot,
						   def->key_count, 0);
	index_rescan(scan, scankeys, def->key_count, NULL, 0);
	return scan;
}

/* A handle on the table's row just fetched (a fresh version number). */
static Row *
row_handle(RowTable *t)
{
	Row		   *row = MemoryContextAlloc(t->rows->estate->es_query_cxt, sizeof(Row));

	row->table = t;
	row->version = ++t->fetches;
	return row;
}

/* snapshot NULL: one taken now */
static Row *
row_find(RowAccess *rows, RowIndexId index, const Datum *keys, bool lock, Snapshot snapshot)
{
	RowTable   *t;
	IndexScanDesc scan;
	bool		found;

	if (lock)
		row_require_writable("SELECT FOR NO KEY UPDATE", catalog_tables[catalog_indexes[index].table].name);
	t = row_table(rows, catalog_indexes[index].table);

	if (snapshot == NULL)
	{
		/* what this call wrote so far becomes visible, as before a statement */
		CommandCounterIncrement();
		snapshot = GetTransactionSnapshot();
	}

	scan = row_index_scan(t, index, keys, snapshot);
	t->fetches++;
	found = index_getnext_slot(scan, ForwardScanDirection, t->found);
	index_endscan(scan);

	if (!found || (lock && !row_lock_found(t, snapshot)))
	{
		ExecClearTuple(t->found);
		return NULL;
	}
	return row_handle(t);
}

/*
 * The row whose index key columns equal keys (the index's leading columns,
 * as many as it takes), seen by a snapshot taken now: under READ COMMITTED
 * everything committed so far, and all of this transaction's own writes.
 * The first in index order when several match; NULL when none.
 */
Row *
row_fetch(RowAccess *rows, RowIndexId index, const Datum *keys)
{
	return row_find(rows, index, keys, false, NULL);
}

/*
 * row_fetch, and the row locked FOR NO KEY UPDATE (the key never changes,
 * so a foreign key from an application's table does not conflict with
 * it): waits for a transaction that holds the row, then returns its latest
 * version (under REPEATABLE READ and SERIALIZABLE a row changed since the
 * snapshot raises 40001, as SELECT ... FOR NO KEY UPDATE does).
 */
Row *
row_lock(RowAccess *rows, RowIndexId index, const Datum *keys)
{
	return row_find(rows, index, keys, true, NULL);
}

struct RowScan
{
	RowTable   *table;
	IndexScanDesc scan;
	Snapshot	snapshot;		/* registered: the scan outlives other fetches */
};

/*
 * The rows whose index key columns equal keys, in index order, in one
 * index scan on a snapshot taken at its start: rows the call writes while
 * scanning are not seen again. row_scan_next returns NULL after the last.
 */
RowScan *
row_scan_begin(RowAccess *rows, RowIndexId index, const Datum *keys)
{
	RowScan    *s = palloc(sizeof(RowScan));

	s->table = row_table(rows, catalog_indexes[index].table);
	CommandCounterIncrement();
	s->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	s->scan = row_index_scan(s->table, index, keys, s->snapshot);
	return s;
}

Row *
row_scan_next(RowScan *s)
{
	s->table->fetches++;
	if (index_getnext_slot(s->scan, ForwardScanDirection, s->table->found))
		return row_handle(s->table);
	ExecClearTuple(s->table->found);
	return NULL;
}

void
row_scan_end(RowScan *s)
{
	index_endscan(s->scan);
	UnregisterSnapshot(s->snapshot);
	pfree(s);
}

/* The row's slot, refusing a handle that another fetch or an update made stale. */
static TupleTableSlot *
row_slot(const Row *row)
{
	RowTable   *t = row->table;

	if (row->version != t->fetches || TTS_EMPTY(t->found))
		elog(ERROR, "credit_ledger: a stale row handle of %s was used",
			 catalog_tables[t->id].name);
	return t->found;
}

/*
 * A snapshot a call keeps, taken as row_fetch takes its own (after the
 * call's writes so far): rows fetched with it, and later the question
 * whether a row version locked since was already there for it.
 */
struct RowView
{
	Snapshot	snapshot;		/* registered */
};

RowView *
row_view_take(void)
{
	RowView    *view = palloc(sizeof(RowView));

	CommandCounterIncrement();
	view->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	return view;
}

void
row_view_release(RowView *view)
{
	UnregisterSnapshot(view->snapshot);
	pfree(view);
}

/* row_fetch, seen by the view's snapshot. */
Row *
row_fetch_in(RowAccess *rows, RowIndexId index, const Datum *keys, const RowView *view)
{
	return row_find(rows, index, keys, false, view->snapshot);
}

/*
 * Whether the view sees this version of the row (row_lock's: the latest):
 * no transaction that committed since the view was taken changed the row.
 */
bool
row_seen_in(const Row *row, const RowView *view)
{
	return table_tuple_satisfies_snapshot(row->table->rri->ri_RelationDesc, row_slot(row),
										  view->snapshot);
}

/*
 * Whether the table has the column: a column added by a later version's
 * upgrade script is missing until ALTER EXTENSION ... UPDATE ran. Such a
 * column reads as NULL and writes to it are dropped. The table must have
 * been opened by this call.
 */
bool
row_has_column(RowTableId table, int column)
{
	return caches[table].attnums[column - 1] != InvalidAttrNumber;
}

/*
 * Whether the schema is 1.1's (ALTER EXTENSION ... UPDATE has run): the
 * account table, which every call opens first, has a column the 1.1 script
 * added. The 1.1 library serves a 1.0 schema until then.
 */
bool
row_schema_1_1(void)
{
	return row_has_column(ROW_ACCOUNT, ACCOUNT_LOW_BALANCE);
}

/* Typed readers of a fetched row's columns (the catalogue's numbering). */
Datum
row_datum(const Row *row, int column, bool *isnull)
{
	TupleTableSlot *slot = row_slot(row);
	AttrNumber	attnum = caches[row->table->id].attnums[column - 1];

	if (attnum == InvalidAttrNumber)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return slot_getattr(slot, attnum, isnull);
}

int64
row_int64(const Row *row, int column, bool *isnull)
{
	bool		null;
	Datum		value = row_datum(row, column, &null);

	if (isnull)
		*isnull = null;
	else if (null)
		elog(ERROR, "credit_ledger: unexpected NULL in column %d of %s", column,
			 catalog_tables[row->table->id].name);
	return null ? 0 : DatumGetInt64(value);
}

char *
row_text(const Row *row, int column)
{
	bool		null;
	Datum		value = row_datum(row, column, &null);

	return null ? NULL : TextDatumGetCString(value);
}

/*
 * Whether the write just made stored a row: a BEFORE trigger that returns
 * NULL makes the executor skip it without a word, and then the slot gets
 * no tuple id.
 */
static void
row_require_stored(TupleTableSlot *written, const char *command, RowTableId table)
{
	if (!ItemPointerIsValid(&written->tts_tid))
		row_report_skipped(command, catalog_tables[table].name);
}

/*
 * Writes a new version of the row, with `count` columns set to values
 * (nulls[i]: NULL; nulls NULL: none). The handle is used up.
 */
void
row_update(Row *row, int count, const int *columns, const Datum *values, const bool *nulls)
{
	RowTable   *t = row->table;
	RowAccess  *rows = t->rows;
	RowTableId	table = t->id;
	const AttrNumber *attnums = caches[table].attnums;
	TupleTableSlot *written;
	int			natts;

	(void) row_slot(row);
	row_require_writable("UPDATE", catalog_tables[table].name);
	written = t->written;
	natts = written->tts_tupleDescriptor->natts;
	slot_getallattrs(t->found);
	ExecClearTuple(written);
	memcpy(written->tts_values, t->found->tts_values, sizeof(Datum) * natts);
	memcpy(written->tts_isnull, t->found->tts_isnull, sizeof(bool) * natts);
	for (int i = 0; i < count; i++)
	{
		AttrNumber	attnum = attnums[columns[i] - 1];

		if (attnum == InvalidAttrNumber)
			continue;
		written->tts_values[attnum - 1] = values[i];
		written->tts_isnull[attnum - 1] = nulls ? nulls[i] : false;
	}
	ExecStoreVirtualTuple(written);
	ItemPointerSetInvalid(&written->tts_tid);
	/* BEFORE UPDATE triggers lock the old version with it: it must see this call's writes */
	rows->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationUpdate(t->rri, rows->estate, &rows->epqstate, t->found, written);
	row_require_stored(written, "UPDATE", table);
	/* the version fetched is gone: a further update must fetch again */
	ExecClearTuple(t->found);
	t->fetches++;
}

/*
 * Inserts a row; values and nulls cover the ledger's columns, in their
 * order. Columns an operator added get their defaults (or NULL).
 */
void
row_insert(RowAccess *rows, RowTableId table, const Datum *values, const bool *nulls)
{
	RowTable   *t = row_table(rows, table);
	const RowTableCache *c = &caches[table];
	TupleTableSlot *written = t->written;
	ExprContext *econtext = GetPerTupleExprContext(rows->estate);

	row_require_writable("INSERT", catalog_tables[table].name);
	ExecClearTuple(written);
	for (int a = 0; a < c->natts; a++)
	{
		written->tts_isnull[a] = true;
		if (c->defaults[a] != NULL)
			written->tts_values[a] = ExecEvalExpr(c->defaults[a], econtext,
												  &written->tts_isnull[a]);
	}
	for (int i = 0; i < catalog_tables[table].column_count; i++)
	{
		if (c->attnums[i] == InvalidAttrNumber)
			continue;
		written->tts_values[c->attnums[i] - 1] = values[i];
		written->tts_isnull[c->attnums[i] - 1] = nulls[i];
	}
	ExecStoreVirtualTuple(written);
	ItemPointerSetInvalid(&written->tts_tid);
	rows->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationInsert(t->rri, rows->estate, written);
	row_require_stored(written, "INSERT", table);
}

/* Fires the AFTER triggers the writes queued, closes everything and frees rows. */
void
rows_end(RowAccess *rows)
{
	EState	   *estate = rows->estate;

	if (estate == NULL)
	{
		pfree(rows);
		return;
	}
	AfterTriggerEndQuery(estate);
	ExecCloseResultRelations(estate);
	for (int t = 0; t < ROW_TABLE_COUNT; t++)
		if (rows->tables[t] != NULL)
			table_close(rows->tables[t]->rri->ri_RelationDesc, NoLock);
	ExecResetTupleTable(estate->es_tupleTable, false);
	EvalPlanQualEnd(&rows->epqstate);
	FreeExecutorState(estate);
	pfree(rows);
}
