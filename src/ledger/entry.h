/*
 * entry.h
 *		The ledger: entries, their kinds, writing one and answering a
 *		replay from one.
 */
#ifndef CREDIT_LEDGER_ENTRY_H
#define CREDIT_LEDGER_ENTRY_H

#include "ledger/op.h"
#include "ledger/slices.h"

/* The kinds of entry (the entry_kind_check constraint's list). */
typedef enum EntryKind
{
	ENTRY_GRANT,
	ENTRY_DEDUCT,
	ENTRY_RESERVE,
	ENTRY_CONFIRM,
	ENTRY_CANCEL,
	ENTRY_EXPIRE_HOLD,
	ENTRY_EXPIRE_GRANT,
	ENTRY_REFUND,
	ENTRY_ADJUST,
	ENTRY_REWARD,
	ENTRY_VOID_GRANT,			/* 1.1 */
	ENTRY_EXTEND_GRANT,			/* 1.1 */
	ENTRY_CAPTURE,				/* 1.1 */
	ENTRY_EXTEND_HOLD,			/* 1.1 */
	ENTRY_TRANSFER_OUT,			/* 1.1 */
	ENTRY_TRANSFER_IN,			/* 1.1 */
	ENTRY_KIND_COUNT
} EntryKind;

typedef struct LedgerEntry
{
	int64		entry_id;		/* 0 = take the next from the sequence */
	EntryKind	kind;
	int64		amount;			/* signed change of balance */
	int64		reserved_delta; /* signed change of reserved */
	const char *event_id;		/* NULL: written by the ledger itself */
	int64		hold_id;		/* 0 = none */
	const char *source;
	const char *description;
	Datum		metadata;
	bool		has_metadata;
	int64		price_rule_id;	/* 0 = not priced */
	const int64 *tokens;		/* TOKEN_KINDS counts; NULL = not priced */
	const Slices *slices;		/* NULL = none */
	int64		ref_entry_id;	/* 0 = none */
	const char *subject;		/* who spent (money out); NULL = none named */
} LedgerEntry;

extern const char *entry_kind_name(EntryKind kind);
extern bool entry_kind_parse(const char *name, EntryKind *kind);
extern bool entry_kind_is_consumption(EntryKind kind);
extern int64 entry_next_id(void);
extern int64 entry_write(LedgerOp *op, const LedgerEntry *e);
extern void entry_replay_row(LedgerOp *op, Row *entry);
extern void entry_replay(LedgerOp *op, int64 entry_id);

#endif
