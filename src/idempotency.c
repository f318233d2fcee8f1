/*
 * idempotency.c
 *		event_id rules and the request fingerprint: a call records its
 *		arguments as "key=value" lines, and a later call with the same
 *		(account_id, event_id) must carry the same lines to be a replay.
 *		Free-text annotations (description, metadata, reason) are not part
 *		of the fingerprint: a retry may regenerate them.
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "credit_ledger.h"
#include "errors.h"

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

/* The value of `key` in a fingerprint, or NULL; points into the fingerprint. */
static const char *
request_find(const char *request, const char *key, int *len)
{
	size_t		keylen = strlen(key);

	for (const char *line = request; *line; line = strchr(line, '\n') + 1)
	{
		const char *end = strchr(line, '\n');

		if (strncmp(line, key, keylen) == 0 && line[keylen] == '=')
		{
			*len = (int) (end - line - keylen - 1);
			return line + keylen + 1;
		}
	}
	return NULL;
}

/* Appends "key was X, now Y" for every key whose value differs between the calls. */
static void
request_diff(StringInfo detail, const char *now, const char *was)
{
	for (const char *line = now; *line; line = strchr(line, '\n') + 1)
	{
		const char *eq = strchr(line, '=');
		const char *end = strchr(line, '\n');
		char	   *key = pnstrdup(line, eq - line);
		int			old_len;
		const char *old = request_find(was, key, &old_len);
		int			new_len = (int) (end - eq - 1);

		if (old == NULL || old_len != new_len || strncmp(old, eq + 1, new_len) != 0)
		{
			if (detail->len > 0)
				appendStringInfoString(detail, "; ");
			if (old != NULL)
				appendStringInfo(detail, "%s was %.*s, now %.*s", key, old_len, old, new_len, eq + 1);
			else
				appendStringInfo(detail, "%s was not given, now %.*s", key, new_len, eq + 1);
		}
	}
	/* keys the first call had and this one lacks */
	for (const char *line = was; *line; line = strchr(line, '\n') + 1)
	{
		const char *eq = strchr(line, '=');
		const char *end = strchr(line, '\n');
		char	   *key = pnstrdup(line, eq - line);
		int			new_len;

		if (request_find(now, key, &new_len) == NULL)
		{
			if (detail->len > 0)
				appendStringInfoString(detail, "; ");
			appendStringInfo(detail, "%s was %.*s, now not given", key, (int) (end - eq - 1), eq + 1);
		}
	}
}

/* LD004 unless this call repeats exactly the request that used the key first. */
void
request_require_same(const LedgerOp *op, const char *stored)
{
	StringInfoData differences;
	const char *was_op;
	const char *now_op;
	int			was_len;
	int			now_len;

	if (stored != NULL && strcmp(op->request.data, stored) == 0)
		return;

	initStringInfo(&differences);
	was_op = stored ? request_find(stored, "operation", &was_len) : NULL;
	now_op = request_find(op->request.data, "operation", &now_len);
	/* another operation differs in everything: naming it says enough */
	if (was_op != NULL && (was_len != now_len || strncmp(was_op, now_op, now_len) != 0))
		appendStringInfo(&differences, "it was used for %.*s, not %.*s",
						 was_len, was_op, now_len, now_op);
	else
		request_diff(&differences, op->request.data, stored ? stored : "");
	ereport(ERROR,
			(errcode(ERRCODE_LD_EVENT_CONFLICT),
			 errmsg("event_id already used for a different request"),
			 errdetail("Account %lld, event_id \"%s\": %s.",
					   (long long) op->account_id, op->event_id, differences.data)));
}
