/*
 * slices.h
 *		Which buckets a movement of credits drew from or gave back to, and
 *		how much each.
 */
#ifndef CREDIT_LEDGER_SLICES_H
#define CREDIT_LEDGER_SLICES_H

typedef struct Slices
{
	int			count;
	int			capacity;
	int64	   *bucket_ids;
	int64	   *amounts;
} Slices;

extern void slices_init(Slices *s);
extern void slices_add(Slices *s, int64 bucket_id, int64 amount);
extern void slices_add_all(Slices *s, const Slices *more);
extern int64 slices_total(const Slices *s);
extern Datum slices_ids_array(const Slices *s);
extern Datum slices_amounts_array(const Slices *s);
extern void slices_from_arrays(Slices *s, Datum ids, Datum amounts);

#endif
