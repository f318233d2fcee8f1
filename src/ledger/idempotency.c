/*
 * idempotency.c
 *		event_id rules and the request fingerprint: a call records its
 *		arguments as "key=value" lines, and a later call with the same
 *		(account_id, event_id) must carry the same lines to be a replay.
 *		Free-text annotations (description, metadata, reason) are not part
 *		of the fingerprint: a retry may regenerate them. A stored
 *		fingerprint is read defensively: a row edited by hand (no final
 *		line break, a line without '=') is a different request, never a
 *		crash.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "errors.h"
#include "ledger/idempotency.h"

#define EVENT_ID_MAX_BYTES 255

/* Keys are non-empty (checked with the other arguments) and bounded. */
void
event_id_check(const char *event_id)
{
	size_t		len = strlen(event_id);

	if (len > EVENT_ID_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("event_id is too long"),
				 errdetail("event_id is %zu bytes; the limit is %d.", len, EVENT_ID_MAX_BYTES)));
}

/* Values are escaped so that a line break inside one cannot forge a key. */
void
request_add_text(StringInfo request, const char *key, const char *value)
{
	appendStringInfo(request, "%s=", key);
	for (const char *c = value; *c; c++)
	{
		if (*c == '\\')
			appendStringInfoString(request, "\\\\");
		else if (*c == '\n')
			appendStringInfoString(request, "\\n");
		else
			appendStringInfoChar(request, *c);
	}
	appendStringInfoChar(request, '\n');
}

void
request_add_int64(StringInfo request, const char *key, int64 value)
{
	appendStringInfo(request, "%s=%lld\n", key, (long long) value);
}

void
request_add_null(StringInfo request, const char *key)
{
	appendStringInfo(request, "%s=null\n", key);
}

void
request_add_optional_text(StringInfo request, const char *key, const char *value)
{
	if (value != NULL)
		request_add_text(request, key, value);
	else
		request_add_null(request, key);
}

/* In UTC, so that the session's TimeZone cannot make one instant two requests. */
void
request_add_timestamp(StringInfo request, const char *key, TimestampTz value)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (timestamp2tm(value, NULL, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("%s out of range", key)));
	appendStringInfo(request, "%s=%04d-%02d-%02d %02d:%02d:%02d.%06d+00\n", key,
					 tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fsec);
}

/* One "key=value" line of a fingerprint; both point into it. */
typedef struct RequestLine
{
	const char *key;
	int			key_len;
	const char *value;			/* "" for a line without '=' */
	int			value_len;
	bool		has_value;		/* false: no '=' (not written by credit_ledger) */
} RequestLine;

/*
 * Reads the line at *pos and moves *pos past it; false at the end. The
 * last line may lack its line break.
 */
static bool
request_next_line(const char **pos, RequestLine *line)
{
	const char *start = *pos;
	const char *end;
	const char *eq;

	if (*start == '\0')
		return false;
	end = strchr(start, '\n');
	if (end == NULL)
		end = start + strlen(start);
	*pos = (*end == '\n') ? end + 1 : end;
	eq = memchr(start, '=', end - start);
	line->key = start;
	line->has_value = (eq != NULL);
	if (eq != NULL)
	{
		line->key_len = (int) (eq - start);
		line->value = eq + 1;
		line->value_len = (int) (end - eq - 1);
	}
	else
	{
		line->key_len = (int) (end - start);
		line->value = end;
		line->value_len = 0;
	}
	return true;
}

/* The line of `key` in a fingerprint; false when it has none. */
static bool
request_find(const char *request, const char *key, int key_len, RequestLine *found)
{
	const char *pos = request;

	while (request_next_line(&pos, found))
		if (found->key_len == key_len && strncmp(found->key, key, key_len) == 0)
			return true;
	return false;
}

static void
request_diff_separate(StringInfo detail)
{
	if (detail->len > 0)
		appendStringInfoString(detail, "; ");
}

/* Appends "key was X, now Y" for every key whose value differs between the calls. */
static void
request_diff(StringInfo detail, const char *now, const char *was)
{
	const char *pos = now;
	RequestLine line;
	RequestLine other;

	while (request_next_line(&pos, &line))
	{
		bool		known = request_find(was, line.key, line.key_len, &other);

		if (known && other.value_len == line.value_len &&
			strncmp(other.value, line.value, line.value_len) == 0)
			continue;
		request_diff_separate(detail);
		if (known)
			appendStringInfo(detail, "%.*s was %.*s, now %.*s", line.key_len, line.key,
							 other.value_len, other.value, line.value_len, line.value);
		else
			appendStringInfo(detail, "%.*s was not given, now %.*s", line.key_len, line.key,
							 line.value_len, line.value);
	}
	/* keys the first call had and this one lacks */
	pos = was;
	while (request_next_line(&pos, &line))
	{
		if (request_find(now, line.key, line.key_len, &other))
			continue;
		request_diff_separate(detail);
		if (line.has_value)
			appendStringInfo(detail, "%.*s was %.*s, now not given", line.key_len, line.key,
							 line.value_len, line.value);
		else
			appendStringInfo(detail, "it had a line \"%.*s\" that is not key=value",
							 line.key_len, line.key);
	}
}

/* LD004 unless this call repeats exactly the request that used the key first. */
void
request_require_same(const LedgerOp *op, const char *stored)
{
	StringInfoData differences;
	RequestLine was_op;
	RequestLine now_op;

	if (stored != NULL && strcmp(op->request.data, stored) == 0)
		return;

	initStringInfo(&differences);
	if (!request_find(op->request.data, "operation", strlen("operation"), &now_op))
		elog(ERROR, "credit_ledger: a request fingerprint without its operation");
	/* another operation differs in everything: naming it says enough */
	if (stored != NULL && request_find(stored, "operation", strlen("operation"), &was_op) &&
		(was_op.value_len != now_op.value_len ||
		 strncmp(was_op.value, now_op.value, now_op.value_len) != 0))
		appendStringInfo(&differences, "it was used for %.*s, not %.*s",
						 was_op.value_len, was_op.value, now_op.value_len, now_op.value);
	else
		request_diff(&differences, op->request.data, stored ? stored : "");
	/* the same lines in another form: a stored request edited by hand */
	if (differences.len == 0)
		appendStringInfoString(&differences, "its stored request is not in the form credit_ledger writes");
	ereport(ERROR,
			(errcode(ERRCODE_LD_EVENT_CONFLICT),
			 errmsg("event_id already used for a different request"),
			 errdetail("Account %lld, event_id \"%s\": %s.",
					   (long long) op->account_id, op->event_id, differences.data)));
}
