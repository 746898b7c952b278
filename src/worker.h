/* worker.h — an inserter thread.  Each worker owns one ODBC connection,
 * opened once (worker_open, before any data is read) and kept for the run.
 * It pops batches from its own lane of the ring, loads each batch in one
 * transaction table by table (mapping order), and returns the batch to the
 * pool.  When the database refuses some rows of a batch (DBE_DATA), it rolls
 * back and splits the batch in halves until the failing records are alone;
 * those go to the reject file with the database's message and the rest is
 * committed.  Lost links, deadlocks and timeouts are retried with capped,
 * jittered backoff for up to retry_for seconds; anything else stops the run
 * through worker_ctx.fail().  When the run is asked to stop (*stop set, the
 * connection cancelled) a worker ends without loading more. */
#ifndef MIGRATE_WORKER_H
#define MIGRATE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include "batch.h"
#include "db.h"
#include "dialect.h"
#include "keyset.h"
#include "ledger.h"
#include "mapping.h"
#include "reject.h"
#include "ring.h"
#include "settle.h"
#include "stats.h"

/* How a worker reaches its database.  worker_ctx.link NULL means the ODBC
 * layer (dialect_connect, db_begin, ...); the unit tests put a scripted fake here
 * (tests/unit/fake_dialect.c) so that every recovery path runs without a
 * database. */
typedef struct worker_link {
    int (*connect)(db_conn *c, const db_target *t, mig_err *err);
    void (*disconnect)(db_conn *c);
    int (*begin)(db_conn *c, mig_err *err);
    /* 0 only when committed on a link not known dead: a commit that
     * returned success on a dead link did not happen (db_commit_verdict) */
    int (*commit)(db_conn *c, mig_err *err);
    int (*rollback)(db_conn *c);
} worker_link;

/* The ODBC link (what link NULL means). */
extern const worker_link worker_link_odbc;

/* Backoff before retry k (0, 1, ...) of a failing range: 0.1 s doubling,
 * capped at cap seconds, times a jitter factor in [0.5, 1] (jitter: 0..1
 * maps onto it).  Exposed for the unit tests. */
double worker_backoff(int k, double cap, double jitter);

/* Shared by every worker; read-only while they run, except through the
 * functions it points to (which lock). */
typedef struct worker_ctx {
    const mapping *map;
    const db_target *target;
    dup_policy on_dup;          /* run policy (tables may override) */
    int preload_keys;
    size_t key_budget;          /* bytes for one worker's key sets; 0 = no limit */
    size_t nworkers;            /* lanes: a worker preloads the keys routed to it */
    ring *lanes;                /* full batches, lane i -> worker i */
    ring *pool;                 /* empty batches back to the producer */
    stats *stats;
    reject_writer *rejects;
    const char *const *file_names; /* by stats file index */
    pthread_mutex_t *writer_lock;  /* held around each transaction when the
                                      dialect is single_writer; else NULL */
    int max_retries;            /* reconnect/deadlock retries per batch (5) */
    /* The ledger (ledger.h): per input, its hash; NULL: no ledger.  Each
     * committed range writes its ledger rows in its own transaction. */
    const struct ledger_file *ledger_files;
    const char *map_hash;
    /* Fault injection for the resume tests (MIGRATE_TEST_CRASH, read once by
     * the engine): kill the process with SIGKILL in the crash_at-th
     * transaction, before its COMMIT (crash_before) or right after it. */
    uint64_t crash_at;
    int crash_before;
    _Atomic uint64_t *commits; /* transactions reaching COMMIT so far */
    double retry_for;           /* seconds a range may keep failing with lost
                                   links, deadlocks or timeouts before the run
                                   gives up (MIG_ETEMPFAIL); --retry-for */
    double backoff_cap;         /* longest wait between two tries (5 s) */
    const worker_link *link;    /* NULL: the ODBC layer */
    /* The clock and sleep of the retry loop; NULL: the monotonic clock and
     * nanosleep (the unit tests pass a fake clock).  sleep returns early
     * when *stop is set. */
    double (*now)(void *arg);
    void (*sleep)(void *arg, double seconds);
    void *clock_arg;
    const atomic_int *stop;     /* set when the run must stop; or NULL */
    /* Stop the run: records the first fatal error and aborts both rings. */
    void (*fail)(struct worker_ctx *ctx, const mig_err *err);
    /* Or NULL.  Waits until the engine has taken the run lock and set up
     * the ledger and the reject file (the workers start before, to warm
     * their sessions up); returns 0 to go on, -1 when the run failed or
     * stopped first.  Everything the engine set up is visible after it. */
    int (*wait_ready)(struct worker_ctx *ctx);
    /* Or NULL.  Called first thing in every worker's thread with its id and
     * session: worker 0 has the dialect inspect the tables there (direct),
     * the others wait until it has.  Returns 0 to go on, -1 when the run
     * failed first (direct is then not to be read). */
    int (*inspect)(struct worker_ctx *ctx, size_t id, db_conn *c);
    void *engine;               /* for fail(), wait_ready() and inspect() */
    /* Or NULL: per table, what the dialect's inspect found (engine); its
     * entries are read only after inspect returned 0 */
    const dialect_direct *direct;
} worker_ctx;

typedef struct worker {
    size_t id;
    worker_ctx *ctx;
    db_conn conn;
    pthread_t thread;
    int started;
    stats_worker *st;           /* &ctx->stats->workers[id], written only here */
    dialect_table_state **tstate; /* per table */
    settler settle;             /* key sets; what each record became */
    db_cancel cancel;           /* lets the engine cancel conn's statement */
    int cancel_ready;           /* cancel initialised (worker_open ran) */
} worker;

/* Connect worker id (in the calling thread).  Returns 0 or -1 with err. */
int worker_open(worker *w, size_t id, worker_ctx *ctx, mig_err *err);
/* Start the thread. */
int worker_start(worker *w, mig_err *err);
/* Wait for the thread to end (after ring_close or ring_abort). */
void worker_join(worker *w);
/* Cancel what the worker's connection runs and refuse any later statement
 * (the run stops); safe from any thread between worker_open and
 * worker_close. */
void worker_cancel(worker *w);
/* Free statements, key sets, and close the connection. */
void worker_close(worker *w);

#endif
