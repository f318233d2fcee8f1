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

/* "input_tokens" ...: the argument, fingerprint key and entry column of a kind */
static inline const char *
token_count_name(TokenKind kind)
{
#define TOKEN_KIND_COUNT_NAME(kind, count, price, fallback, since_1_1) count,
	static const char *const names[TOKEN_KINDS] = {TOKEN_KIND_LIST(TOKEN_KIND_COUNT_NAME)};
#undef TOKEN_KIND_COUNT_NAME

	return names[kind];
}

/* "input_price" ...: the price rule column of a kind */
static inline const char *
token_price_name(TokenKind kind)
{
#define TOKEN_KIND_PRICE_NAME(kind, count, price, fallback, since_1_1) price,
	static const char *const names[TOKEN_KINDS] = {TOKEN_KIND_LIST(TOKEN_KIND_PRICE_NAME)};
#undef TOKEN_KIND_PRICE_NAME

	return names[kind];
}

/* The kind whose price bills this one when the rule has no price of its own. */
static inline TokenKind
token_price_fallback(TokenKind kind)
{
#define TOKEN_KIND_FALLBACK(kind, count, price, fallback, since_1_1) fallback,
	static const TokenKind fallbacks[TOKEN_KINDS] = {TOKEN_KIND_LIST(TOKEN_KIND_FALLBACK)};
#undef TOKEN_KIND_FALLBACK

	return fallbacks[kind];
}

/* Whether the kind came with 1.1 (a 1.0 schema and a 1.0 call lack it). */
static inline bool
token_kind_since_1_1(TokenKind kind)
{
#define TOKEN_KIND_SINCE(kind, count, price, fallback, since_1_1) since_1_1,
	static const bool since[TOKEN_KINDS] = {TOKEN_KIND_LIST(TOKEN_KIND_SINCE)};
#undef TOKEN_KIND_SINCE

	return since[kind];
}

#endif
