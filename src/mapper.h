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

/* Returns the routing hash of a record: the hash of its converted routing
 * key (mapping route, else the key of the first table).  Records whose key
 * does not convert get 0 (they will be rejected by mapper_map anyway). */
uint64_t mapper_route(mapper *mp, xmlNode *rec, const record_ctx *ctx);

/* Map rec into the open record of b.  Returns 0, or -1 with the reason in
 * reason ("table contact_base, column phone: value \"...\" is longer than
 * varchar(16)"); the caller then aborts the record in the batch. */
int mapper_map(mapper *mp, xmlNode *rec, const record_ctx *ctx, batch *b,
               char *reason, size_t reasonlen);

#endif
