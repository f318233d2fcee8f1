/*
 * usage_object.c
 *		A provider's usage object, as its API returned it, read into the
 *		five disjoint token kinds. Three shapes are read:
 *		  OpenAI chat completions: prompt_tokens, completion_tokens,
 *		    prompt_tokens_details.cached_tokens (part of prompt_tokens),
 *		    completion_tokens_details.reasoning_tokens (part of
 *		    completion_tokens);
 *		  OpenAI responses: input_tokens, output_tokens,
 *		    input_tokens_details.cached_tokens (part of input_tokens),
 *		    output_tokens_details.reasoning_tokens (part of output_tokens);
 *		  Anthropic messages: input_tokens, output_tokens,
 *		    cache_read_input_tokens, cache_creation_input_tokens (all four
 *		    disjoint).
 *		Other fields (total_tokens, audio_tokens, service_tier ...) are not
 *		read. Anything else is 22023 naming the field: not an object, no
 *		shape's fields, two shapes' fields at once, a count that is not a
 *		whole number from 0 up, a part larger than its whole.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "pricing/price_rules.h"

/* Where a shape keeps one count: a field, or a field of a nested object. */
typedef struct UsageField
{
	const char *parent;			/* NULL: a field of the usage object itself */
	const char *name;			/* NULL: the shape has no such count */
} UsageField;

typedef struct UsageShape
{
	const char *name;
	UsageField	counts[TOKEN_KINDS];
	/* a count that is part of another kind's count (-1: disjoint) */
	int			part_of[TOKEN_KINDS];
	/* the top-level fields that mark the shape (the first two are required) */
	const char *fields[4];
} UsageShape;

enum
{
	SHAPE_CHAT_COMPLETIONS,
	SHAPE_RESPONSES,
	SHAPE_ANTHROPIC,
	SHAPES
};

static const UsageShape shapes[SHAPES] = {
	[SHAPE_CHAT_COMPLETIONS] = {
		"an OpenAI chat completions usage object",
		{
			[TOKEN_INPUT] = {NULL, "prompt_tokens"},
			[TOKEN_OUTPUT] = {NULL, "completion_tokens"},
			[TOKEN_CACHED] = {"prompt_tokens_details", "cached_tokens"},
			[TOKEN_REASONING] = {"completion_tokens_details", "reasoning_tokens"},
		},
		{[TOKEN_INPUT] = -1, [TOKEN_OUTPUT] = -1, [TOKEN_CACHED] = TOKEN_INPUT,
		[TOKEN_REASONING] = TOKEN_OUTPUT, [TOKEN_CACHE_WRITE] = -1},
		{"prompt_tokens", "completion_tokens", "prompt_tokens_details", "completion_tokens_details"}
	},
	[SHAPE_RESPONSES] = {
		"an OpenAI responses usage object",
		{
			[TOKEN_INPUT] = {NULL, "input_tokens"},
			[TOKEN_OUTPUT] = {NULL, "output_tokens"},
			[TOKEN_CACHED] = {"input_tokens_details", "cached_tokens"},
			[TOKEN_REASONING] = {"output_tokens_details", "reasoning_tokens"},
		},
		{[TOKEN_INPUT] = -1, [TOKEN_OUTPUT] = -1, [TOKEN_CACHED] = TOKEN_INPUT,
		[TOKEN_REASONING] = TOKEN_OUTPUT, [TOKEN_CACHE_WRITE] = -1},
		{"input_tokens", "output_tokens", "input_tokens_details", "output_tokens_details"}
	},
	[SHAPE_ANTHROPIC] = {
		"an Anthropic usage object",
		{
			[TOKEN_INPUT] = {NULL, "input_tokens"},
			[TOKEN_OUTPUT] = {NULL, "output_tokens"},
			[TOKEN_CACHED] = {NULL, "cache_read_input_tokens"},
			[TOKEN_CACHE_WRITE] = {NULL, "cache_creation_input_tokens"},
		},
		{-1, -1, -1, -1, -1},
		{"input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"}
	},
};

static JsonbValue *
usage_get(JsonbContainer *object, const char *key)
{
	JsonbValue *value = getKeyJsonValueFromContainer(object, key, strlen(key), NULL);

	/* a JSON null is an absent count (OpenAI sends "prompt_tokens_details": null) */
	return (value != NULL && value->type == jbvNull) ? NULL : value;
}

static bool
usage_has(JsonbContainer *object, const char *key)
{
	return getKeyJsonValueFromContainer(object, key, strlen(key), NULL) != NULL;
}

/* A JSON value as it would print, for a DETAIL. */
static char *
usage_shown(JsonbValue *value)
{
	Jsonb	   *j = JsonbValueToJsonb(value);

	return JsonbToCString(NULL, &j->root, VARSIZE(j));
}

static char *
usage_path(const UsageField *f)
{
	return f->parent ? psprintf("usage.%s.%s", f->parent, f->name) : psprintf("usage.%s", f->name);
}

/* The shape whose marking fields the object has; 22023 when none or two. */
static const UsageShape *
usage_shape(JsonbContainer *usage)
{
	int			shape;

	if (usage_has(usage, "prompt_tokens"))
		shape = SHAPE_CHAT_COMPLETIONS;
	else if (usage_has(usage, "input_tokens_details") || usage_has(usage, "output_tokens_details"))
		shape = SHAPE_RESPONSES;
	else if (usage_has(usage, "input_tokens"))
		shape = SHAPE_ANTHROPIC;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("usage has neither prompt_tokens nor input_tokens"),
				 errdetail("credit_ledger reads OpenAI chat completions (prompt_tokens), OpenAI responses and Anthropic (input_tokens) usage objects.")));

	/* a field only another shape has: the object mixes two */
	for (int other = 0; other < SHAPES; other++)
		for (size_t f = 0; f < lengthof(shapes[other].fields); f++)
		{
			const char *field = shapes[other].fields[f];
			bool		shared = false;

			for (size_t g = 0; g < lengthof(shapes[shape].fields); g++)
				shared |= strcmp(shapes[shape].fields[g], field) == 0;
			if (!shared && usage_has(usage, field))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("usage.%s does not belong in %s", field, shapes[shape].name),
						 errdetail("usage has %s and %s: it mixes the fields of two providers' usage objects.",
								   shapes[shape].fields[0], field)));
		}
	return &shapes[shape];
}

/* One count: absent is 0 unless required; else a whole number in bigint, 0 or more. */
static int64
usage_count(JsonbContainer *usage, const UsageShape *shape, const UsageField *f, bool required)
{
	JsonbContainer *object = usage;
	JsonbValue *value;
	Numeric		n;

	if (f->name == NULL)
		return 0;
	if (f->parent != NULL)
	{
		JsonbValue *parent = usage_get(usage, f->parent);

		if (parent == NULL)
			return 0;
		if (parent->type != jbvBinary || !JsonContainerIsObject(parent->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("usage.%s must be an object", f->parent),
					 errdetail("usage.%s is %s.", f->parent, usage_shown(parent))));
		object = parent->val.binary.data;
	}
	value = usage_get(object, f->name);
	if (value == NULL)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is missing", usage_path(f)),
					 errdetail("usage has %s, so it is read as %s, which has %s and %s.",
							   shape->fields[0], shape->name, shape->fields[0], shape->fields[1])));
		return 0;
	}
	if (value->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a token count", usage_path(f)),
				 errdetail("%s is %s; a token count is a whole number, 0 or more.",
						   usage_path(f), usage_shown(value))));
	n = value->val.numeric;
	if (numeric_is_nan(n) || numeric_is_inf(n) ||
		DatumGetBool(DirectFunctionCall2(numeric_lt, NumericGetDatum(n),
										 NumericGetDatum(int64_to_numeric(0)))) ||
		!DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(n),
										  DirectFunctionCall2(numeric_trunc, NumericGetDatum(n),
																			  Int32GetDatum(0)))) ||
		DatumGetBool(DirectFunctionCall2(numeric_gt, NumericGetDatum(n),
										 NumericGetDatum(int64_to_numeric(PG_INT64_MAX)))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a token count", usage_path(f)),
				 errdetail("%s is %s; a token count is a whole number from 0 to %lld.",
						   usage_path(f), usage_shown(value), (long long) PG_INT64_MAX)));
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(n)));
}

/*
 * The five disjoint counts of a usage object: a count that the provider
 * reports as part of another (OpenAI's cached tokens are part of the
 * prompt's) is taken out of it.
 */
void
usage_object_tokens(Jsonb *usage, int64 *tokens)
{
	const UsageShape *shape;
	JsonbValue	whole;

	if (!JB_ROOT_IS_OBJECT(usage))
	{
		JsonbToJsonbValue(usage, &whole);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("usage must be a JSON object"),
				 errdetail("usage is %s.", usage_shown(&whole))));
	}
	shape = usage_shape(&usage->root);
	for (int i = 0; i < TOKEN_KINDS; i++)
		tokens[i] = usage_count(&usage->root, shape, &shape->counts[i],
								i == TOKEN_INPUT || i == TOKEN_OUTPUT);
	for (int i = 0; i < TOKEN_KINDS; i++)
	{
		int			whole_kind = shape->part_of[i];

		if (whole_kind < 0)
			continue;
		if (tokens[i] > tokens[whole_kind])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s is more than %s", usage_path(&shape->counts[i]),
							usage_path(&shape->counts[whole_kind])),
					 errdetail("%s is %lld and %s %lld; the first is part of the second.",
							   usage_path(&shape->counts[i]), (long long) tokens[i],
							   usage_path(&shape->counts[whole_kind]),
							   (long long) tokens[whole_kind])));
		tokens[whole_kind] -= tokens[i];
	}
}
