/*
 * tokens.h
 *		The token kinds a priced call reports, in their one order: the
 *		order of charge()'s and quote()'s arguments, of the request
 *		fingerprint, of the entry's token columns and of the price rule's
 *		price columns. Every list of them is generated from TOKEN_KIND_LIST.
 *		A vocabulary shared by every layer, like errors.h.
 */
#ifndef CREDIT_LEDGER_TOKENS_H
#define CREDIT_LEDGER_TOKENS_H

/* X(enum name, count column and argument, price column) */
#define TOKEN_KIND_LIST(X) \
	X(TOKEN_INPUT, "input_tokens", "input_price") \
	X(TOKEN_OUTPUT, "output_tokens", "output_price") \
	X(TOKEN_CACHED, "cached_tokens", "cached_price") \
	X(TOKEN_REASONING, "reasoning_tokens", "reasoning_price")

#define TOKEN_KIND_ENUM(kind, count, price) kind,
typedef enum TokenKind
{
	TOKEN_KIND_LIST(TOKEN_KIND_ENUM)
	TOKEN_KINDS
} TokenKind;
#undef TOKEN_KIND_ENUM

/* "input_tokens" ...: the argument, fingerprint key and entry column of a kind */
static inline const char *
token_count_name(TokenKind kind)
{
#define TOKEN_KIND_COUNT_NAME(kind, count, price) count,
	static const char *const names[TOKEN_KINDS] = {TOKEN_KIND_LIST(TOKEN_KIND_COUNT_NAME)};
#undef TOKEN_KIND_COUNT_NAME

	return names[kind];
}

#endif
