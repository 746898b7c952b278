/* stats.h — the run's accounting.  Every record read is, at the end, exactly
 * one of: loaded, duplicate, rejected, or (only when the run was stopped by a
 * fatal error) not loaded.  stats_check() asserts that sum per file and in
 * total; the summary is printed from a stats_view taken after all threads
 * have been joined.
 *
 * Locking: file and table counters are shared by the producer and all
 * workers and are changed only under `stats.lock` (a few calls per batch, not
 * per row).  stats.workers[i] is written only by worker i while it runs and
 * read by others only after that worker is joined. */
#ifndef MIGRATE_STATS_H
#define MIGRATE_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum file_state {
    FILE_PENDING = 0,
    FILE_READING,
    FILE_DONE,       /* read to the end */
    FILE_MALFORMED,  /* stopped at a well-formedness error (see error) */
    FILE_UNREADABLE, /* could not be opened or read */
    FILE_STOPPED,    /* reading stopped because the run stopped */
    FILE_NORECORD,   /* read to the end, but no element matched the record path */
    FILE_SKIPPED     /* loaded before with this mapping (the ledger): not read */
} file_state;

typedef struct stats_file {
    char *name;
    file_state state;
    char error[512];     /* one line, for MALFORMED / UNREADABLE */
    uint64_t read;       /* records read (the producer) */
    uint64_t loaded;     /* committed, its top row new (or updated) */
    uint64_t duplicates; /* its top row (first table) already present under the
                            skip policy: a later occurrence; any new child
                            rows it brings are still inserted */
    uint64_t rejected;   /* written to the reject file */
    uint64_t loaded_earlier; /* committed by an earlier (killed) run, per the
                                ledger: read, not sent to the database */
    char loaded_at[24];  /* FILE_SKIPPED: when it was loaded (UTC) */
    uint64_t resumed_after; /* read from a resume point after this many records
                               (the ledger's marks: not parsed again); 0: from
                               the start */
    _Atomic uint64_t bytes; /* bytes read from the file as stored (compressed
                               for gzip), added by the input layer as it reads */
} stats_file;

typedef struct stats_table {
    char *name;
    uint64_t inserted;
    uint64_t dup_keyset;  /* duplicates settled by a worker's key set */
    uint64_t dup_db;      /* duplicates settled by the database */
    uint64_t updated;
} stats_table;

/* Latencies of committed transactions, in microseconds, as a log-linear
 * histogram: values below 32 us exactly, above that 32 buckets per power of
 * two (a bucket is at most 1/32 = 3% wide), so a percentile costs no memory
 * per batch and its error is bounded.  The largest value is kept exactly. */
#define STATS_LAT_BUCKETS 1920
typedef struct stats_latency {
    uint64_t count;
    uint64_t max_us;
    uint64_t sum_us;
    uint64_t bucket[STATS_LAT_BUCKETS];
} stats_latency;

typedef struct stats_worker {
    uint64_t batches;     /* batches committed */
    uint64_t reuses;      /* batches run on an already open connection */
    uint64_t reconnects;
    uint64_t retries;     /* batch re-runs after a deadlock or lost link */
    uint64_t splits;      /* batch halvings to isolate failing records */
    uint64_t redos;       /* batch re-runs after a dialect's fast path failed (DBE_AGAIN) */
    uint64_t keys;        /* key-set entries at the end */
    uint64_t keyset_bytes;  /* at the end */
    uint64_t keyset_resets; /* times the sets were emptied to stay in budget */
    stats_latency commit;   /* per committed transaction: BEGIN to COMMIT done */
} stats_worker;

typedef struct stats {
    pthread_mutex_t lock;   /* guards files[], nfiles, tables[] */
    size_t nfiles, cap_files;
    stats_file *files;
    size_t ntables;
    stats_table *tables;
    size_t nworkers;
    stats_worker *workers;
    double t_start, t_end;  /* seconds, monotonic clock */
    uint64_t lane_full_waits;  /* the producer waited for room in a worker's lane */
    uint64_t lane_empty_waits; /* a worker waited for a batch */
} stats;

stats *stats_new(const char *const *table_names, size_t ntables, size_t nworkers);
void stats_free(stats *s);
/* Returns seconds on a monotonic clock. */
double stats_now(void);

/* Register an input; returns its index (stable for the run). */
uint32_t stats_add_file(stats *s, const char *name);
void stats_file_state(stats *s, uint32_t file, file_state st, const char *error);
void stats_add_read(stats *s, uint32_t file, uint64_t n);
void stats_add_outcome(stats *s, uint32_t file, uint64_t loaded, uint64_t duplicates,
                       uint64_t rejected);
/* Count n records of file that an earlier run committed (the ledger). */
void stats_add_earlier(stats *s, uint32_t file, uint64_t n);
/* Mark file skipped: loaded before, at loaded_at. */
void stats_file_skipped(stats *s, uint32_t file, const char *loaded_at);
/* File was read from a resume point after its first seq records. */
void stats_file_resumed(stats *s, uint32_t file, uint64_t seq);
void stats_add_rows(stats *s, size_t table, uint64_t inserted, uint64_t dup_keyset,
                    uint64_t dup_db, uint64_t updated);

/* Returns the counter the input layer adds file's bytes read to (stable for
 * the run: every file is registered before it starts). */
_Atomic uint64_t *stats_bytes_counter(stats *s, uint32_t file);

/* Record one latency of `seconds` (negative counts as 0). */
void stats_latency_add(stats_latency *l, double seconds);
/* Add src's histogram into dst. */
void stats_latency_merge(stats_latency *dst, const stats_latency *src);
/* Returns the p-th percentile (0 < p <= 100, nearest rank) in microseconds:
 * the upper bound of the bucket holding that rank, never above the maximum;
 * 0 when nothing was recorded. */
uint64_t stats_latency_pct(const stats_latency *l, double p);
/* Fill *all with the merged latencies of every worker (after the join). */
void stats_latency_all(const stats *s, stats_latency *all);

/* Totals over all files. */
typedef struct stats_totals {
    uint64_t read, loaded, duplicates, rejected, unfinished;
    uint64_t loaded_earlier, skipped; /* skipped: files */
} stats_totals;

/* Fill *t (under the lock).  unfinished = read - loaded - loaded_earlier -
 * duplicates - rejected. */
void stats_totals_get(stats *s, stats_totals *t);

/* Returns 0 when, for every file and in total, read == loaded +
 * loaded_earlier + duplicates + rejected (+ unfinished when allow_unfinished), else -1 with the first
 * mismatch described in msg. */
int stats_check(stats *s, int allow_unfinished, char *msg, size_t msglen);

#endif
