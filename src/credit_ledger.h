/*
 * credit_ledger.h
 *		Types and helpers shared by the units of credit_ledger: the locked
 *		account, bucket slices, ledger entries and the frame every
 *		money-moving call runs in.
 */
#ifndef CREDIT_LEDGER_H
#define CREDIT_LEDGER_H

#include "fmgr.h"
#include "common/int.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/numeric.h"

#include "row.h"

/* ---- settings (credit_ledger.c) ---- */
extern char *credit_ledger_database;
extern int	credit_ledger_sweep_interval_ms;
extern int	credit_ledger_sweep_batch_size;
extern int	credit_ledger_default_hold_ttl_s;
extern bool credit_ledger_sweeper_enabled;
extern int	credit_ledger_max_text_size_kb;
extern char *credit_ledger_default_low_balance;
extern int	credit_ledger_event_retention_s;

/* ---- the account, as loaded under its row lock (account.c) ---- */
typedef enum AccountStatus
{
	ACCOUNT_ACTIVE,
	ACCOUNT_FROZEN,
	ACCOUNT_CLOSED
} AccountStatus;

typedef struct LedgerAccount
{
	int64		account_id;
	AccountStatus status;
	int64		credit_limit;
	int64		balance;
	int64		reserved;
	int64		debt;
	int64		total_granted;
	int64		total_consumed;
	int64		total_expired;
	int64		total_refunded;
	bool		has_next_expiry;
	TimestampTz next_expiry_at; /* never later than the true next expiry */
	bool		has_low_balance;	/* set_alert's threshold (1.1) */
	int64		low_balance;
	int64		available_locked;	/* available as stored when the lock was taken */
} LedgerAccount;

extern const char *account_status_name(AccountStatus status);
extern bool account_lock(RowAccess *rows, LedgerAccount *acct, int64 account_id);
extern void account_create(int64 account_id, int64 credit_limit, Datum metadata, bool has_metadata);
extern void account_store(RowAccess *rows, const LedgerAccount *acct);
extern void account_note_expiry(LedgerAccount *acct, TimestampTz expires_at);
extern void account_require_active(const LedgerAccount *acct, bool money_in);
extern void account_require_available(const LedgerAccount *acct, int64 amount);
extern void account_report_not_found(int64 account_id);

/* ---- credits drawn from or given to buckets (slices.c) ---- */
typedef struct Slices
{
	int			count;
	int			capacity;
	int64	   *bucket_ids;
	int64	   *amounts;
} Slices;

extern void slices_init(Slices *s);
extern void slices_add(Slices *s, int64 bucket_id, int64 amount);
extern int64 slices_total(const Slices *s);
extern Datum slices_ids_array(const Slices *s);
extern Datum slices_amounts_array(const Slices *s);
extern void slices_from_arrays(Slices *s, Datum ids, Datum amounts);

/* ---- checked arithmetic: money never wraps ---- */
static inline int64
credits_add(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("credit amount out of range"),
				 errdetail("%lld + %lld does not fit in bigint.", (long long) a, (long long) b)));
	return r;
}

static inline int64
credits_sub(int64 a, int64 b)
{
	int64		r;

	if (pg_sub_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("credit amount out of range"),
				 errdetail("%lld - %lld does not fit in bigint.", (long long) a, (long long) b)));
	return r;
}

/* ---- the frame of a money-moving call (operation.c) ---- */
typedef struct LedgerOp
{
	int64		account_id;
	const char *event_id;		/* NULL for calls keyed by hold (confirm, cancel) */
	StringInfoData request;		/* the call's arguments, compared on replay */
	TimestampTz now;			/* one instant for the whole call */
	RowAccess	rows;			/* account, bucket and entry rows (row.c) */
	LedgerAccount acct;
	bool		account_changed;	/* acct must be written back */
	/* the result */
	int64		entry_id;
	int64		hold_id;		/* 0 = none */
	int64		amount;
	int64		result_balance;
	int64		result_reserved;
	bool		replayed;
	int64		last_entry_id;	/* the last entry the call wrote, 0 = none */
	/* expiries this call wrote (sweep reports them) */
	int64		holds_expired;
	int64		grants_expired;
} LedgerOp;

typedef enum OpAccountMode
{
	OP_ACCOUNT_MUST_EXIST,		/* LD002 when missing */
	OP_ACCOUNT_OPEN_IF_MISSING	/* money in opens the wallet */
} OpAccountMode;

extern void op_init(LedgerOp *op, int64 account_id, const char *event_id, const char *operation);
extern bool op_begin(LedgerOp *op, OpAccountMode mode);
extern void op_replay_entry(LedgerOp *op, int64 entry_id);
extern void op_end(LedgerOp *op);
extern Datum op_finish(LedgerOp *op, FunctionCallInfo fcinfo);

/* ---- the ledger (entry.c) ---- */
typedef struct LedgerEntry
{
	int64		entry_id;		/* 0 = take the next from the sequence */
	const char *kind;
	int64		amount;			/* signed change of balance */
	int64		reserved_delta; /* signed change of reserved */
	const char *event_id;		/* NULL: written by the ledger itself */
	int64		hold_id;		/* 0 = none */
	const char *source;
	const char *description;
	Datum		metadata;
	bool		has_metadata;
	int64		price_rule_id;	/* 0 = not priced */
	const int64 *tokens;		/* input, output, cached, reasoning; NULL = not priced */
	const Slices *slices;		/* NULL = none */
	int64		ref_entry_id;	/* 0 = none */
} LedgerEntry;

extern int64 entry_write(LedgerOp *op, const LedgerEntry *e);
extern int64 entry_op_amount(const char *kind, int64 amount, int64 reserved_delta);

/* ---- buckets (bucket.c) ---- */
extern void buckets_apply(LedgerOp *op, const Slices *slices, int sign);
extern int64 buckets_draw(LedgerOp *op, int64 amount, Slices *drawn);
extern void buckets_expire_due(LedgerOp *op);
extern void buckets_give_back(LedgerOp *op, const Slices *slices, int64 cause_entry_id);
extern int64 bucket_create(LedgerOp *op, int64 *entry_id, const char *source, int64 granted,
						   int64 remaining, int priority, bool has_expiry, TimestampTz expires_at);

/* ---- credits in and out (money.c) ---- */
extern void money_in(LedgerOp *op, const char *kind, int64 amount, const char *source,
					 bool has_expiry, TimestampTz expires_at, int priority,
					 const char *description, Datum metadata, bool has_metadata);
extern void money_out(LedgerOp *op, const char *kind, int64 amount, const char *source,
					  const char *description, Datum metadata, bool has_metadata,
					  int64 price_rule_id, const int64 *tokens);

/* ---- expiry (expiry.c) ---- */
extern void expire_due(LedgerOp *op);
extern TimestampTz timestamptz_plus_utc(TimestampTz t, const Interval *span);

/* ---- holds (hold.c; the operations in reserve.c, confirm.c, cancel.c) ---- */
typedef struct Hold
{
	int64		hold_id;
	char	   *state;
	int64		amount;			/* credits held */
	Slices		slices;			/* drawn from buckets; the rest of amount is unbacked */
	char	   *source;			/* the reserve's; NULL where not loaded */
	int64		settled_amount;
	bool		has_settled_amount;
	int64		result_entry_id;	/* 0 while pending */
} Hold;

extern void hold_load(LedgerOp *op, int64 hold_id, Hold *hold);
extern bool hold_require_pending(LedgerOp *op, const Hold *hold, const char *repeat_state,
								 bool same_request);
extern void hold_settle(LedgerOp *op, int64 hold_id, const char *state, int64 settled_amount,
						bool has_settled_amount, int64 result_entry_id);
extern int64 hold_release(LedgerOp *op, const Hold *hold, const char *kind, const char *state,
						  const char *description);
extern void holds_expire_due(LedgerOp *op);

/*
 * Confirms a pending hold for `amount` (the held amount unless has_amount),
 * or replays the confirm that settled it; fills the op's result. Called
 * after op_begin returned true. The entry carries op->event_id when set,
 * and price_rule_id/tokens when non-zero/non-NULL (a priced charge).
 */
extern void hold_confirm(LedgerOp *op, int64 hold_id, bool has_amount, int64 amount,
						 Datum metadata, bool has_metadata, int64 price_rule_id,
						 const int64 *tokens);

/* ---- events, the transactional outbox (events.c) ---- */
extern void events_balance_changed(LedgerOp *op);
extern void events_hold_expired(LedgerOp *op, int64 hold_id, int64 amount, int64 entry_id);
extern void events_grant_expired(LedgerOp *op, const Slices *lapsed, int64 entry_id);
extern int64 events_prune(int max_rows);
extern bool default_low_balance_check(char **newval, void **extra, GucSource source);
extern void default_low_balance_assign(const char *newval, void *extra);

/* ---- the shop's orders (orders.c) ---- */
extern int	credit_ledger_order_ttl_s;
extern void orders_define_settings(void);
extern int64 orders_expire_due(int max_rows);

/* ---- the sweep (sweep.c) ---- */
typedef struct SweepResult
{
	int			accounts;		/* accounts locked and swept */
	int64		holds_expired;
	int64		grants_expired; /* bucket lapses */
} SweepResult;

extern void sweep_batch(int max_accounts, SweepResult *result);

/* ---- the background worker (worker.c) and its shared state (shmem.c) ---- */
extern void worker_register(void);
extern void shmem_install_hooks(void);
extern bool worker_state_start(void);
extern void worker_state_set_connected(void);
extern void worker_state_request_connect(void);
extern void worker_state_swept(const SweepResult *result);
extern void worker_state_error(const char *message);

/* ---- idempotency (idempotency.c) ---- */
extern void event_id_check(const char *event_id);
extern void request_add_text(StringInfo request, const char *key, const char *value);
extern void request_add_int64(StringInfo request, const char *key, int64 value);
extern void request_add_null(StringInfo request, const char *key);
extern void request_add_optional_text(StringInfo request, const char *key, const char *value);
extern void request_add_timestamp(StringInfo request, const char *key, TimestampTz value);
extern void request_require_same(const LedgerOp *op, const char *stored);

/* ---- argument checks shared by the SQL-callable functions (args.c) ---- */
extern void arg_require_not_null(FunctionCallInfo fcinfo, int argno, const char *name);
extern int64 arg_positive_amount(FunctionCallInfo fcinfo, int argno, const char *name);
extern int64 arg_count(FunctionCallInfo fcinfo, int argno, const char *name);
extern char *arg_nonempty_text(FunctionCallInfo fcinfo, int argno, const char *name);
extern char *arg_optional_text(FunctionCallInfo fcinfo, int argno, const char *name);
extern Datum arg_optional_jsonb(FunctionCallInfo fcinfo, int argno, const char *name, bool *given);
extern char *arg_event_id(FunctionCallInfo fcinfo, int argno, const char *name);
extern Datum arg_optional_datum(FunctionCallInfo fcinfo, int argno, bool *given);

/* ---- prices (price_cache.c: the cached rules; pricing.c: the arithmetic) ---- */
#define TOKEN_KINDS 4			/* input, output, cached, reasoning */

typedef struct PriceRule
{
	int64		id;
	const char *scene;			/* NULL = any */
	const char *provider;		/* NULL = any */
	const char *model;			/* NULL = any */
	int			model_prefix_len;	/* -1: model is exact; else the part before '*' */
	Numeric		token_prices[TOKEN_KINDS];	/* credits per million tokens */
	Numeric		request_price;	/* credits per call */
	int64		min_charge;
	int32		priority;
	TimestampTz valid_from;
	bool		has_valid_until;
	TimestampTz valid_until;
	Datum		row;			/* the whole price_rule row, as resolve_price returns it */
} PriceRule;

extern const PriceRule *price_rule_resolve(const char *scene, const char *provider,
										   const char *model, TimestampTz at);
extern int64 price_quote(const PriceRule *rule, const int64 *tokens);

#endif
