/*
 * tokens.h
 *		The token kinds a priced call reports, in their one order: the
 *		order of quote()'s token arguments, of the request fingerprint, of
 *		the entry's token columns and of the price rule's price columns.
 *		Every list of them is generated from TOKEN_KIND_LIST. A vocabulary
 *		shared by every layer, like errors.h.
 */
#ifndef CREDIT_LEDGER_TOKENS_H
#define CREDIT_LEDGER_TOKENS_H

/*
 * X(enum name, count column and argument, price column, the kind whose
 * price a NULL price falls back to, added in 1.1). A kind of 1.1 has no
 * column in a 1.0 schema not yet updated, and a 1.0 call never has it.
 */
#define TOKEN_KIND_LIST(X) \
	X(TOKEN_INPUT, "input_tokens", "input_price", TOKEN_INPUT, false) \
	X(TOKEN_OUTPUT, "output_tokens", "output_price", TOKEN_OUTPUT, false) \
	X(TOKEN_CACHED, "cached_tokens", "cached_price", TOKEN_INPUT, false) \
	X(TOKEN_REASONING, "reasoning_tokens", "reasoning_price", TOKEN_OUTPUT, false) \
	X(TOKEN_CACHE_WRITE, "cache_write_tokens", "cache_write_price", TOKEN_INPUT, true)

#define TOKEN_KIND_ENUM(kind, count, price, fallback, since_1_1) kind,
typedef enum TokenKind
{
	TOKEN_KIND_LIST(TOKEN_KIND_ENUM)
	TOKEN_KINDS
} TokenKind;
#undef TOKEN_KIND_ENUM

/* What the code knows of a kind, from TOKEN_KIND_LIST. */
typedef struct TokenKindInfo
{
	const char *count;			/* the argument, fingerprint key and entry column */
	const char *price;			/* the price rule column */
	TokenKind	fallback;		/* whose price bills it when its own is NULL */
	bool		since_1_1;		/* a 1.0 schema and a 1.0 call lack it */
} TokenKindInfo;

static inline const TokenKindInfo *
token_kind_info(TokenKind kind)
{
#define TOKEN_KIND_INFO(kind, count, price, fallback, since_1_1) {count, price, fallback, since_1_1},
	static const TokenKindInfo info[TOKEN_KINDS] = {TOKEN_KIND_LIST(TOKEN_KIND_INFO)};
#undef TOKEN_KIND_INFO

	return &info[kind];
}

/* "input_tokens" ...: the argument, fingerprint key and entry column of a kind */
static inline const char *
token_count_name(TokenKind kind)
{
	return token_kind_info(kind)->count;
}

#endif
