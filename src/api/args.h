/*
 * args.h
 *		Argument checks shared by the SQL-callable functions (this layer
 *		only), and credit_ledger.max_text_size, which bounds them.
 */
#ifndef CREDIT_LEDGER_ARGS_H
#define CREDIT_LEDGER_ARGS_H

#include "fmgr.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

/* The arguments grant_credits, deduct and reserve start with. */
typedef struct MoneyArgs
{
	int64		account_id;
	int64		amount;
	char	   *event_id;
	char	   *source;
} MoneyArgs;

extern void args_init(void);
extern void arg_require_not_null(FunctionCallInfo fcinfo, int argno, const char *name);
extern int64 arg_positive_amount(FunctionCallInfo fcinfo, int argno, const char *name);
extern int64 arg_count(FunctionCallInfo fcinfo, int argno, const char *name);
extern int64 arg_count_since_1_1(FunctionCallInfo fcinfo, int argno, const char *name);
extern char *arg_nonempty_text(FunctionCallInfo fcinfo, int argno, const char *name);
extern bool arg_is_null(FunctionCallInfo fcinfo, int argno);
extern bool arg_declared(FunctionCallInfo fcinfo, int argno);
extern char *arg_optional_text(FunctionCallInfo fcinfo, int argno, const char *name);
extern char *arg_subject(FunctionCallInfo fcinfo, int argno);
extern Datum arg_optional_jsonb(FunctionCallInfo fcinfo, int argno, const char *name, bool *given);
extern char *arg_event_id(FunctionCallInfo fcinfo, int argno, const char *name);
extern Datum arg_optional_datum(FunctionCallInfo fcinfo, int argno, bool *given);
extern TimestampTz arg_optional_time(FunctionCallInfo fcinfo, int argno, const char *name,
									 const char *null_means, bool *given);
extern void arg_money(FunctionCallInfo fcinfo, int source_argno, MoneyArgs *args);
extern void request_add_money(StringInfo request, const MoneyArgs *args);
extern void request_add_subject(StringInfo request, const char *subject);

#endif
