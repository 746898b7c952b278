/* settle.h — how a record's key is settled: the bytes a key is compared by,
 * the routing function that sends every occurrence of a key to one worker,
 * and the preload of a worker's key sets from the tables.
 *
 * One encoding serves everything that compares keys in the engine: the
 * routing hash the producer computes from a record's converted routing key,
 * the key sets of the workers, and the keys read back from the database by
 * the preload.  Because all three use the same converted values and the
 * same bytes, a key routed to worker w is found in w's set whatever its
 * spelling in the input ("7", "07", " 7 "). */
#ifndef MIGRATE_SETTLE_H
#define MIGRATE_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "db.h"
#include "keyset.h"
#include "mapping.h"
#include "strbuf.h"
#include "types.h"

/* Append one converted key value: int64 little-endian (VC_INT), the
 * double's bits (VC_FLOAT), or a 4-byte length and the text (VC_TEXT). */
void settle_key_value(strbuf *out, val_class vc, int64_t i, double f, const char *s,
                      size_t len);
/* Append the key of row `row` of table t of b (its key columns in key order;
 * a NULL part is one 0 byte and never matches a stored key). */
void settle_key_bytes(strbuf *out, const batch *b, size_t t, size_t row);

/* Returns the routing hash of a routing key's bytes (settle_key_value of
 * each part, in routing order). */
uint64_t settle_route_hash(const void *bytes, size_t len);
/* Returns the lane (worker) of a routing hash among n. */
static inline size_t settle_lane(uint64_t route, size_t n)
{
    return (size_t)(route % n);
}
/* Returns the routing hash of a key of routed table mt, given as
 * settle_key_bytes writes it: the routing parts picked out of the key. */
uint64_t settle_key_route(const map_table *mt, size_t nroute, const void *key, size_t len);

/* What a preload read. */
typedef struct settle_preload_result {
    uint64_t scanned;   /* keys read from the table */
    uint64_t kept;      /* of them, routed to this worker and in the set */
    int complete;       /* 1: every key of the table routed here is in the
                           set, so a key not in it is new; 0: some key could
                           not be read back, or the budget stopped the scan */
} settle_preload_result;

/* Add to ks every key stored in table mt (c->d->exists_sql with nkeys 0)
 * that routes to lane `lane` of nlanes (mt must be routed; nroute parts),
 * until ks would hold more than budget bytes (0: no limit).  A table with a
 * float key part is not read (complete 0): a driver may round a double on
 * the way back, and a rounded key could match another.  Returns 0 with *res
 * filled, or -1 with err. */
int settle_preload(db_conn *c, const map_table *mt, size_t nroute, keyset *ks, size_t lane,
                   size_t nlanes, size_t budget, settle_preload_result *res, mig_err *err);

#endif
