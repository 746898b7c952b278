/* settle.h — how each record's fate is settled (loaded, duplicate), and
 * everything that decides it: the bytes a key is compared by, the routing
 * function that sends every occurrence of a key to one worker, the key sets
 * of a worker and their preload from the tables, the existence check, the
 * loading of a record range table by table under each table's policy, and
 * the counts handed to the stats once a range is committed.  The worker
 * (worker.c) only orchestrates: batches, transactions, splits, retries and
 * reconnects; the dialects below say what the database did with the rows.
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
#include "dialect.h"
#include "keyset.h"
#include "ledger.h"
#include "mapping.h"
#include "stats.h"
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

/* ---- the fate of a record ---- */

/* Returns the duplicate policy in force for table t of m: the table's, the
 * mapping's, the run's (run_policy), else DUP_SKIP. */
dup_policy settle_policy(const mapping *m, dup_policy run_policy, size_t t);

/* One worker's settlement: its key sets and the connection it settles on.
 * Owned by the worker (one thread); the connection and the table states are
 * the worker's, borrowed (their addresses stay while it reconnects). */
typedef struct settler {
    const mapping *map;
    dup_policy on_dup;          /* the run's policy (tables may override) */
    size_t key_budget;          /* bytes for all the key sets; 0: no limit */
    db_conn *conn;              /* borrowed */
    dialect_table_state **tstate; /* borrowed: per table */
    keyset **keys;              /* per table: keys committed or found (skip
                                   policy, routed key), or NULL */
    unsigned char *complete;    /* per table: the key set holds every stored
                                   key routed here (--preload-keys), so a key
                                   not in it is new without asking */
    strbuf key;                 /* scratch: one key's bytes */
} settler;

/* Set s up for mapping m (key sets empty); settler_free frees it. */
void settler_init(settler *s, const mapping *m, dup_policy on_dup, size_t key_budget,
                  db_conn *conn, dialect_table_state **tstate);
void settler_free(settler *s);

/* What one attempt at a record range settled: per table the rows inserted,
 * found existing by the database or the existence check (dup_db) and
 * updated, and the rows the key sets settled; per record of the range
 * whether it is a duplicate.  Sized for ntables tables, nrec records. */
typedef struct settle_result {
    size_t ntables, nrec;
    load_result *rows;       /* per table */
    uint64_t *dup_keyset;    /* per table */
    unsigned char *rec_dup;  /* per record of the range: duplicate */
} settle_result;

void settle_result_init(settle_result *rr, size_t ntables, size_t nrec);
/* Zero the counts for another attempt. */
void settle_result_clear(settle_result *rr);
void settle_result_free(settle_result *rr);

/* Returns 0 after loading records [lo,hi) of b into every table inside the
 * open transaction on s->conn, settling each row (key set, existence check,
 * the database's own count) and each record's fate into rr; 1 when the
 * database ignored first-table rows that were settled as new (the caller
 * rolls back and calls again with the next pass: 1 asks the existence check
 * afresh, 2 and later load the first table record by record, where nothing
 * is guessed); -1 with err (class in conn->last_class). */
int settle_range(settler *s, const batch *b, size_t lo, size_t hi, int pass, settle_result *rr,
                 mig_err *err);
/* Returns 0 after the dialect's warm_up of every table (the statements
 * settle_range's first pass will run, prepared inside the open transaction
 * on s->conn, which the caller commits), or when it has none; -1 with err. */
int settle_warm_up(settler *s, mig_err *err);
/* Once records [lo,hi) are committed with result rr: their rows' and
 * records' counts to st, their keys to the key sets.  Returns 1 when the
 * sets outgrew key_budget and were emptied, else 0. */
int settle_committed(settler *s, stats *st, const batch *b, size_t lo, size_t hi,
                     const settle_result *rr);
/* Returns 1 when record seq of input lf (NULL: no ledger) was settled by
 * an earlier run (the ledger) as loaded or duplicate, counting it in
 * *loaded (loaded then) or *dups (a duplicate then); 2 when it was rejected
 * then (counted in *rejected: the caller copies its reject from the
 * ledger); else 0: this run settles it.  Inline: the producer asks for every
 * record read. */
static inline int settle_earlier(ledger_file *lf, uint64_t seq, uint64_t *loaded,
                                 uint64_t *dups, uint64_t *rejected)
{
    if (!lf || !lf->tracked)
        return 0;
    if (ledger_ranges_has(&lf->loaded, seq)) {
        (*loaded)++;
        return 1;
    }
    if (ledger_ranges_has(&lf->dups, seq)) {
        (*dups)++;
        return 1;
    }
    if (ledger_ranges_has(&lf->rejects, seq)) {
        (*rejected)++;
        return 2;
    }
    return 0;
}
/* Count record rec of b rejected (the database refused it alone). */
void settle_rejected(stats *st, const batch *b, size_t rec);
/* Returns 0 after filling the key sets from the tables (--preload-keys,
 * settle_preload): each worker (lane of nlanes) takes the keys routed to it,
 * within key_budget; a set that could not take every such key is not
 * complete, and the existence check keeps settling what it lacks.  -1 with
 * err. */
int settle_preload_sets(settler *s, size_t lane, size_t nlanes, mig_err *err);

#endif
