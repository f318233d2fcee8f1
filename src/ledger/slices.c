/*
 * slices.c
 *		Slices: which buckets a movement of credits drew from or gave back
 *		to, and how much each. Stored as two parallel bigint[] columns.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"

#include "ledger/credits.h"
#include "ledger/slices.h"

void
slices_init(Slices *s)
{
	s->count = 0;
	s->capacity = 4;
	s->bucket_ids = palloc(sizeof(int64) * s->capacity);
	s->amounts = palloc(sizeof(int64) * s->capacity);
}

/* Adds credits for a bucket, merging with its earlier slice: ids stay distinct. */
void
slices_add(Slices *s, int64 bucket_id, int64 amount)
{
	for (int i = 0; i < s->count; i++)
	{
		if (s->bucket_ids[i] == bucket_id)
		{
			s->amounts[i] = credits_add(s->amounts[i], amount);
			return;
		}
	}
	if (s->count == s->capacity)
	{
		s->capacity *= 2;
		s->bucket_ids = repalloc(s->bucket_ids, sizeof(int64) * s->capacity);
		s->amounts = repalloc(s->amounts, sizeof(int64) * s->capacity);
	}
	s->bucket_ids[s->count] = bucket_id;
	s->amounts[s->count] = amount;
	s->count++;
}

/* Adds every slice of `more`. */
void
slices_add_all(Slices *s, const Slices *more)
{
	for (int i = 0; i < more->count; i++)
		slices_add(s, more->bucket_ids[i], more->amounts[i]);
}

int64
slices_total(const Slices *s)
{
	int64		total = 0;

	for (int i = 0; i < s->count; i++)
		total = credits_add(total, s->amounts[i]);
	return total;
}

static Datum
int8_array(const int64 *values, int count)
{
	Datum	   *elems = palloc(sizeof(Datum) * (count > 0 ? count : 1));

	for (int i = 0; i < count; i++)
		elems[i] = Int64GetDatum(values[i]);
	return PointerGetDatum(construct_array_builtin(elems, count, INT8OID));
}

Datum
slices_ids_array(const Slices *s)
{
	return int8_array(s->bucket_ids, s->count);
}

Datum
slices_amounts_array(const Slices *s)
{
	return int8_array(s->amounts, s->count);
}

void
slices_from_arrays(Slices *s, Datum ids, Datum amounts)
{
	Datum	   *id_elems;
	Datum	   *amount_elems;
	int			id_count;
	int			amount_count;

	deconstruct_array(DatumGetArrayTypeP(ids), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &id_elems, NULL, &id_count);
	deconstruct_array(DatumGetArrayTypeP(amounts), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &amount_elems, NULL, &amount_count);
	if (id_count != amount_count)
		elog(ERROR, "credit_ledger: slice arrays differ in length (%d, %d)", id_count, amount_count);

	slices_init(s);
	for (int i = 0; i < id_count; i++)
		slices_add(s, DatumGetInt64(id_elems[i]), DatumGetInt64(amount_elems[i]));
}
