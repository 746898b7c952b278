/* worker.c — an inserter thread (see worker.h).
 *
 * A worker owns one connection, the dialect's per-table statements on it,
 * and its settlement (settle.h: one key set per table).  It pops a batch
 * from its lane, has settle_range load it in one transaction table by
 * table, commits, has the counts taken (settle_committed), and hands the
 * batch back to the pool.  The records of a batch are the unit of everything here: a
 * failing range [lo, hi) of records is rolled back and split in halves
 * until each failing record is alone and rejected with the database's
 * message; lost links, deadlocks and timeouts re-run the uncommitted range
 * (reconnecting first after a lost link) with capped, jittered backoff for
 * up to ctx->retry_for seconds from the range's first failure; anything else
 * stops the run through ctx->fail.  A stop request (ctx->stop, the
 * connection cancelled) ends the worker without loading more: what it had
 * not committed stays "not loaded" in the accounting.
 *
 * What becomes of each record (loaded, duplicate: key sets, existence
 * checks, the database's counts) is settled in settle.c; when the database
 * disagrees with a settlement, the worker rolls the range back and asks
 * settle_range again with the next pass. */
#include "config.h"
#include "worker.h"

#include "settle.h"

#include <assert.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* State of a running worker thread beyond struct worker. */
typedef struct run {
    worker *w;
    const worker_link *link; /* ctx->link, or the ODBC layer */
    uint32_t rng;       /* jitter of the backoff (xorshift state) */
    int conn_used;      /* a batch was committed on the current connection */
    /* the dialect's fast path (DBE_AGAIN): off for the next fast_wait
     * ranges after it failed, twice as long after each further failure */
    unsigned long fast_wait, fast_backoff;
} run;

#define FAST_WAIT 8       /* ranges without the fast path after its first failure */
#define FAST_WAIT_MAX 4096
#define REDO_MAX 16       /* DBE_AGAIN for one range: more is a dialect's bug */

/* ---- helpers ---- */

/* Returns 1 when the run was asked to stop. */
static int stopping(const run *r)
{
    const atomic_int *stop = r->w->ctx->stop;
    return stop && atomic_load(stop);
}

/* Returns the retry loop's clock, in seconds. */
static double clock_now(const run *r)
{
    const worker_ctx *ctx = r->w->ctx;
    return ctx->now ? ctx->now(ctx->clock_arg) : stats_now();
}

/* Sleep for s seconds, in slices, returning early when the run stops. */
static void clock_sleep(const run *r, double s)
{
    const worker_ctx *ctx = r->w->ctx;
    if (ctx->sleep) {
        ctx->sleep(ctx->clock_arg, s);
        return;
    }
    while (s > 0 && !stopping(r)) {
        double d = s < 0.05 ? s : 0.05;
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
        s -= d;
    }
}

double worker_backoff(int k, double cap, double jitter)
{
    double s = 0.1 * (double)(1u << (k < 16 ? (k < 0 ? 0 : k) : 16));
    if (cap > 0 && s > cap)
        s = cap;
    if (jitter < 0)
        jitter = 0;
    if (jitter > 1)
        jitter = 1;
    return s * (0.5 + 0.5 * jitter);
}

/* Returns the next jitter value of the run, in [0, 1]. */
static double next_jitter(run *r)
{
    uint32_t x = r->rng ? r->rng : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->rng = x;
    return (double)x / 4294967295.0;
}

/* Returns 0 after the backoff before try k+1 of a range failing since
 * `since`; -1 (MIG_ETEMPFAIL, err prefixed with what gave up) once
 * retry_for seconds have passed since then; 1 when the run stops. */
static int retry_wait(run *r, int k, double since, const char *what, mig_err *err)
{
    const worker_ctx *ctx = r->w->ctx;
    double spent = clock_now(r) - since;
    if (spent >= ctx->retry_for) {
        err->status = MIG_ETEMPFAIL;
        return err_prefix(err, "%s: gave up after %d tr%s in %.0f s (--retry-for %.0f)", what,
                          k + 1, k ? "ies" : "y", spent, ctx->retry_for);
    }
    double d = worker_backoff(k, ctx->backoff_cap, next_jitter(r));
    if (d > ctx->retry_for - spent)
        d = ctx->retry_for - spent; /* the last try right at the deadline */
    clock_sleep(r, d);
    return stopping(r) ? 1 : 0;
}

/* Note in the ledger, in a transaction of its own, that record rec of b
 * was rejected (and the rejects b carries before it), so that a rerun
 * skips them.  A failure is not the run's: a rerun then reads them again
 * and rejects them once more, which is as exact. */
static void note_rejected(run *r, const batch *b, size_t rec, const char *reason)
{
    worker *w = r->w;
    pthread_mutex_t *lock = w->ctx->writer_lock;
    mig_err err;
    if (lock)
        pthread_mutex_lock(lock);
    int rc = r->link->begin(&w->conn, &err);
    if (rc == 0 && w->conn.d->begin_write)
        rc = w->conn.d->begin_write(&w->conn, &b->map->tables[0], &err);
    if (rc == 0)
        rc = ledger_note_rejected(&w->conn, w->ctx->map_hash, w->ctx->ledger_files, b, rec,
                                  reason, &err);
    if (rc == 0)
        rc = r->link->commit(&w->conn, &err);
    if (rc != 0)
        r->link->rollback(&w->conn);
    if (lock)
        pthread_mutex_unlock(lock);
}

/* Returns 0 after writing record rec to the reject file with the
 * database's reason, or -1 (reject file error, err set). */
static int reject_record(run *r, const batch *b, size_t rec, const mig_err *why, mig_err *err)
{
    const worker_ctx *ctx = r->w->ctx;
    const batch_rec *br = &b->recs[rec];
    char reason[sizeof why->msg + 96];
    const char *file = ctx->file_names ? ctx->file_names[br->file] : "-";
    char big[80] = "";
    if (!br->xml_len)
        snprintf(big, sizeof big, "; the record is not copied here (more than %zu bytes of XML)",
                 BATCH_XML_KEEP);
    snprintf(reason, sizeof reason, "database refused: %s%s", why->msg, big);
    if (reject_write(ctx->rejects, file, br->line, br->seq, reason, b->arena + br->xml_off,
                     br->xml_len, err) < 0)
        return -1;
    settle_rejected(ctx->stats, b, rec);
    if (ctx->ledger_files)
        note_rejected(r, b, rec, reason);
    return 0;
}

/* ---- transactions, retries and splits ---- */

/* Fault injection (worker_ctx.crash_at): die by SIGKILL at the chosen
 * transaction, before its COMMIT (before = 1) or after it. */
static void crash_point(const worker_ctx *ctx, int before, int rc)
{
    if (!ctx->crash_at || rc != 0 || before != ctx->crash_before)
        return;
    if (atomic_fetch_add(ctx->commits, 1) + 1 == ctx->crash_at)
        raise(SIGKILL);
}

/* Returns 0 after committing records [lo,hi) (or, on -1, with the
 * transaction rolled back and err / conn.last_class saying why). */
static int try_range(run *r, const batch *b, size_t lo, size_t hi, mig_err *err)
{
    worker *w = r->w;
    settle_result rr;
    settle_result_init(&rr, b->ntables, hi - lo);
    pthread_mutex_t *lock = w->ctx->writer_lock;
    int rc = 1;
    double t0 = 0; /* the committed transaction's latency, for the report */
    /* pass > 0: the database disagreed with the settlement (settle_range) */
    w->conn.no_fast_path = r->fast_wait > 0;
    for (int pass = 0; rc == 1; pass++) {
        settle_result_clear(&rr);
        if (lock)
            pthread_mutex_lock(lock);
        t0 = stats_now();
        rc = r->link->begin(&w->conn, err);
        /* a target that must take its write lock first (SQLite) */
        if (rc == 0 && w->conn.d->begin_write)
            rc = w->conn.d->begin_write(&w->conn, &b->map->tables[0], err);
        if (rc == 0)
            rc = settle_range(&w->settle, b, lo, hi, pass, &rr, err);
        /* the ledger's rows commit with the records they name, or not at all */
        if (rc == 0 && w->ctx->ledger_files)
            rc = ledger_note_batch(&w->conn, w->ctx->map_hash, w->ctx->ledger_files, b, lo, hi,
                                   rr.rec_dup, err);
        crash_point(w->ctx, 1, rc);
        /* a commit on a link found dead may have stored nothing (psqlODBC):
         * the link's commit fails it (db_commit_verdict), so the batch is
         * re-run on a new connection, never counted */
        if (rc == 0)
            rc = r->link->commit(&w->conn, err);
        crash_point(w->ctx, 0, rc);
        if (rc != 0)
            r->link->rollback(&w->conn);
        if (lock)
            pthread_mutex_unlock(lock);
        assert(rc != 1 || pass < 2); /* record by record, nothing is guessed */
    }
    if (rc == 0) {
        if (r->fast_wait > 0)
            r->fast_wait--;
        else
            r->fast_backoff = 0; /* the fast path worked again */
        stats_latency_add(&w->st->commit, stats_now() - t0);
        w->st->keyset_resets +=
            (uint64_t)settle_committed(&w->settle, w->ctx->stats, b, lo, hi, &rr);
        w->st->batches++;
        if (r->conn_used)
            w->st->reuses++;
        r->conn_used = 1;
    }
    settle_result_free(&rr);
    return rc;
}

/* Connect w's connection through the run's link, cancellable by the
 * engine; returns 0 or -1 with err. */
static int link_connect(const worker_link *link, worker *w, mig_err *err)
{
    int rc = link->connect(&w->conn, w->ctx->target, err);
    w->conn.cancel = &w->cancel;
    return rc;
}

/* Give every table state what the engine's inspection found (worker_ctx
 * direct), so that the dialect need not ask on this session. */
static void seed_direct(worker *w)
{
    for (size_t t = 0; w->ctx->direct && t < w->ctx->map->ntables; t++)
        *dialect_state_direct(&w->tstate[t], t) = w->ctx->direct[t];
}

/* Drop the statements of the old connection and connect again; returns 0
 * or -1 with err. */
static int reconnect(run *r, mig_err *err)
{
    worker *w = r->w;
    for (size_t t = 0; t < w->ctx->map->ntables; t++) {
        if (w->tstate[t] && w->conn.d)
            w->conn.d->table_state_free(&w->conn, w->tstate[t]);
        w->tstate[t] = NULL;
    }
    r->link->disconnect(&w->conn);
    w->st->reconnects++;
    r->conn_used = 0;
    seed_direct(w);
    return link_connect(r->link, w, err);
}

/* Returns 0 when every record of [lo,hi) is committed or rejected; -1 on a
 * fatal error (err set); 1 when the run stops first (what is not committed
 * stays unfinished). */
static int load_range(run *r, const batch *b, size_t lo, size_t hi, mig_err *err)
{
    worker *w = r->w;
    if (lo >= hi)
        return 0;
    double since = 0; /* first transient failure of this range */
    int redos = 0;
    for (int attempt = 0;; attempt++) {
        if (try_range(r, b, lo, hi, err) == 0)
            return 0;
        db_errclass cls = w->conn.last_class;
        if (stopping(r) || cls == DBE_CANCELLED)
            return 1;
        /* the dialect's fast path failed (SQL Server's bulk copy straight
         * into the table met a duplicate or a refused row): the same range
         * again at once without it, which settles or isolates what failed,
         * on a new session (the TDS test server leaves the old one reading
         * the rest of the refused copy as garbage) */
        if (cls == DBE_AGAIN && redos++ < REDO_MAX) {
            r->fast_backoff = r->fast_backoff ? 2 * r->fast_backoff : FAST_WAIT;
            if (r->fast_backoff > FAST_WAIT_MAX)
                r->fast_backoff = FAST_WAIT_MAX;
            r->fast_wait = r->fast_backoff;
            w->st->redos++;
            if (reconnect(r, err) == 0) {
                attempt--;
                continue;
            }
            cls = DBE_CONNECTION; /* not regained: as after a lost link */
        }
        if (cls == DBE_DATA || cls == DBE_DUPLICATE) {
            if (hi - lo == 1)
                return reject_record(r, b, lo, err, err);
            w->st->splits++;
            size_t mid = lo + (hi - lo) / 2;
            int rc = load_range(r, b, lo, mid, err);
            return rc != 0 ? rc : load_range(r, b, mid, hi, err);
        }
        if (cls != DBE_RETRY && cls != DBE_CONNECTION)
            return -1;
        if (attempt == 0)
            since = clock_now(r);
        int rc = retry_wait(r, attempt, since, "batch", err);
        if (rc != 0)
            return rc;
        w->st->retries++;
        if (cls != DBE_CONNECTION)
            continue;
        /* the link is gone: reconnect within the same time budget */
        while (reconnect(r, err) < 0) {
            if ((rc = retry_wait(r, ++attempt, since, "connection lost and not regained",
                                 err)) != 0)
                return rc;
        }
    }
}

/* ---- the thread ---- */

/* Returns 0 after filling the key sets from the tables (--preload-keys,
 * settle_preload_sets) and ending the read transaction; -1 with err. */
static int preload(run *r, mig_err *err)
{
    worker *w = r->w;
    if (settle_preload_sets(&w->settle, w->id, w->ctx->nworkers, err) < 0)
        return -1;
    r->link->rollback(&w->conn); /* end the read transaction */
    return 0;
}

/* Prepares the session for the first batch (settle_warm_up) in a
 * transaction of its own, committed.  A failure costs nothing but the
 * time: rolled back, and the first batch prepares as it would have (and
 * meets the error again, with its retries and reconnects). */
static void warm_up(run *r)
{
    worker *w = r->w;
    if (!w->conn.d || !w->conn.d->warm_up || stopping(r))
        return;
    mig_err err;
    err_clear(&err);
    int rc = r->link->begin(&w->conn, &err);
    if (rc == 0)
        rc = settle_warm_up(&w->settle, &err);
    if (rc == 0)
        rc = r->link->commit(&w->conn, &err);
    if (rc != 0)
        r->link->rollback(&w->conn);
}

static void *worker_main(void *arg)
{
    run r;
    memset(&r, 0, sizeof r);
    r.w = arg;
    worker *w = r.w;
    worker_ctx *ctx = w->ctx;
    r.link = ctx->link ? ctx->link : &worker_link_odbc;
    r.rng = (uint32_t)(w->id * 2654435761u) ^ (uint32_t)(uint64_t)(stats_now() * 1e6);
    mig_err err;
    err_clear(&err);
    /* the engine starts the workers before it takes the run lock: the
     * tables are inspected and the session is prepared meanwhile, and what
     * reads the tables waits */
    if (ctx->inspect && ctx->inspect(ctx, w->id, &w->conn) < 0)
        return NULL;
    seed_direct(w);
    warm_up(&r);
    if (ctx->wait_ready && ctx->wait_ready(ctx) < 0)
        return NULL;
    if (ctx->preload_keys && preload(&r, &err) < 0) {
        ctx->fail(ctx, &err);
        return NULL;
    }
    for (;;) {
        void *item = NULL;
        if (ring_pop(ctx->lanes, w->id, &item) != RING_OK)
            break;
        batch *b = item;
        int rc = load_range(&r, b, 0, b->nrec, &err);
        batch_reset(b);
        /* aborted: the engine owns every batch and frees it */
        ring_push(ctx->pool, 0, b);
        if (rc < 0)
            ctx->fail(ctx, &err);
        if (rc != 0)
            break; /* failed, or stopped: the rest stays unfinished */
    }
    for (size_t t = 0; t < ctx->map->ntables; t++)
        if (w->settle.keys[t]) {
            w->st->keys += keyset_size(w->settle.keys[t]);
            w->st->keyset_bytes += keyset_memory(w->settle.keys[t]);
        }
    return NULL;
}

/* ---- public ---- */

const worker_link worker_link_odbc = {
    .connect = dialect_connect,
    .disconnect = db_disconnect,
    .begin = db_begin,
    .commit = db_commit,
    .rollback = db_rollback,
};

int worker_open(worker *w, size_t id, worker_ctx *ctx, mig_err *err)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->ctx = ctx;
    w->st = &ctx->stats->workers[id];
    size_t nt = ctx->map->ntables;
    w->tstate = xcalloc(nt, sizeof *w->tstate);
    settler_init(&w->settle, ctx->map, ctx->on_dup, ctx->key_budget, &w->conn, w->tstate);
    db_cancel_init(&w->cancel);
    w->cancel_ready = 1;
    return link_connect(ctx->link ? ctx->link : &worker_link_odbc, w, err);
}

void worker_cancel(worker *w)
{
    if (w->cancel_ready)
        db_cancel_request(&w->cancel);
}

int worker_start(worker *w, mig_err *err)
{
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        return err_set(err, MIG_EINTERNAL, "cannot start worker thread %zu", w->id + 1);
    w->started = 1;
    return 0;
}

void worker_join(worker *w)
{
    if (w->started)
        pthread_join(w->thread, NULL);
    w->started = 0;
}

void worker_close(worker *w)
{
    if (!w->ctx)
        return;
    size_t nt = w->ctx->map->ntables;
    for (size_t t = 0; t < nt; t++)
        if (w->tstate && w->tstate[t] && w->conn.d)
            w->conn.d->table_state_free(&w->conn, w->tstate[t]);
    free(w->tstate);
    w->tstate = NULL;
    settler_free(&w->settle);
    (w->ctx->link ? w->ctx->link : &worker_link_odbc)->disconnect(&w->conn);
    if (w->cancel_ready)
        db_cancel_destroy(&w->cancel);
    w->cancel_ready = 0;
}
