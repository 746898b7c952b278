/* mapper.h — turns one record (an expanded XML element) into rows of every
 * table of the mapping, appended to the open record of a batch.  It evaluates
 * paths, applies replace-match, trims, applies defaults, checks `required`
 * and `pattern`, converts each value to its column type and checks range and
 * length.  The first problem rejects the record with one line naming the
 * table, the column and the value.  A mapper belongs to one thread. */
#ifndef MIGRATE_MAPPER_H
#define MIGRATE_MAPPER_H

#include <stdint.h>
#include <libxml/tree.h>

#include "batch.h"
#include "err.h"
#include "mapping.h"

typedef struct mapper mapper;

/* run_start: wall-clock start of the run (seconds since the epoch), the
 * value of var="now". */
mapper *mapper_new(const mapping *m, double run_start);
void mapper_free(mapper *mp);

/* The per-record context for var="file|line|record". */
typedef struct record_ctx {
    const char *file;
    uint64_t line;
    uint64_t seq;
} record_ctx;

/* Returns the routing hash of a record (settle_route_hash): the key bytes
 * of its converted routing key — the key of the first table, or the value
 * route="..." finds converted by the rules of the key column that holds it —
 * so that "7" and "07" in an int key go to the same worker, the one whose
 * key set holds 7 (and that settle_preload gives 7 to).  Records whose key
 * does not convert get 0 (they will be rejected by mapper_map anyway). */
uint64_t mapper_route(mapper *mp, xmlNode *rec, const record_ctx *ctx);

/* Reject time and datetime values with more than digits fractional second
 * digits (the target's dialect frac_digits; 0: no limit), since the target
 * would store them rounded. */
void mapper_limit_fraction(mapper *mp, int digits);

/* Map rec into the open record of b.  Returns 0, or -1 with the reason in
 * reason ("table contact_base, column phone: value \"...\" is longer than
 * varchar(16)"); the caller then aborts the record in the batch. */
int mapper_map(mapper *mp, xmlNode *rec, const record_ctx *ctx, batch *b,
               char *reason, size_t reasonlen);

#endif
