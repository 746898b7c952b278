/* engine.h — the whole run: one producer thread (read -> map -> batch),
 * a ring with one lane per worker, N inserter threads, the reject file and
 * the accounting.  The tool calls engine_run and prints the summary from the
 * stats it returns; the engine itself never prints. */
#ifndef MIGRATE_ENGINE_H
#define MIGRATE_ENGINE_H

#include <stddef.h>

#include "db.h"
#include "err.h"
#include "mapping.h"
#include "stats.h"

typedef struct engine_opts {
    const mapping *map;
    const char *const *inputs;   /* file names, "-" = stdin */
    size_t ninputs;
    const db_target *target;
    size_t workers;              /* default 2 */
    size_t batch_size;           /* records per batch, default 500 */
    size_t queue_depth;          /* batches per worker lane, default 4 */
    const char *rejects_path;    /* required */
    const char *schema_path;     /* XSD, or NULL */
    dup_policy on_dup;           /* DUP_DEFAULT = skip */
    int preload_keys;
    size_t key_memory;           /* bytes for all key sets together; 0 = no limit */
    int create_tables;           /* create missing tables before loading */
    int ledger;                  /* keep the ledger (ledger.h); 0: --no-ledger */
    int reload;                  /* load files the ledger says were loaded */
    double lock_wait;            /* seconds to wait for the run lock (runlock.h) */
    double retry_for;            /* seconds a batch may keep failing on lost
                                    links, deadlocks, timeouts; 0 = 300 */
    /* The workers' link, clock and sleep (worker_ctx); NULL: ODBC, the
     * monotonic clock, nanosleep.  For the unit tests' fake database. */
    const struct worker_link *link;
    double (*now)(void *arg);
    void (*sleep)(void *arg, double seconds);
    void *clock_arg;
    size_t max_record_bytes;     /* largest record (reader.h), 0 = 16 MB */
    /* Called from the calling thread about every progress_interval seconds
     * while the run goes on (NULL: never). */
    void (*progress)(stats *s, void *arg);
    void *progress_arg;
    double progress_interval;
} engine_opts;

/* Run the load.  *out receives the stats (caller frees with stats_free) even
 * when the run stops on an error.  Returns 0 when the run finished (there may
 * be rejects, malformed or unreadable inputs: see the stats), or -1 with err
 * when it stopped (connection, mapping/schema, reject file, database). */
int engine_run(const engine_opts *o, stats **out, mig_err *err);

/* Ask the running engine_run (or the next one, if none runs) to stop:
 * reading ends, queued batches are dropped and running statements are
 * cancelled, wherever the threads wait; engine_run then returns 0 with
 * every record read and not committed counted as not loaded (stats
 * "unfinished").  Call from a thread (the tool's signal watcher), not from
 * a signal handler: it takes a lock. */
void engine_request_stop(void);

/* Connect and create the mapping's tables and the ledger's (ledger.h) that
 * do not exist yet. */
int engine_init_db(const mapping *m, const db_target *t, mig_err *err);

/* The line for an input in which nothing matches m's record path (a wrong
 * namespace, say): "FILE: no record: nothing matches the record path ...". */
void engine_no_record_msg(const mapping *m, const char *name, char *buf, size_t cap);

#endif
