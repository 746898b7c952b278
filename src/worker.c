/* worker.c — an inserter thread (see worker.h).
 *
 * A worker owns one connection, the dialect's per-table statements on it,
 * and one key set per table.  It pops a batch from its lane, loads it in one
 * transaction table by table, commits, accounts, and hands the batch back to
 * the pool.  The records of a batch are the unit of everything here: a
 * failing range [lo, hi) of records is rolled back and split in halves
 * until each failing record is alone and rejected with the database's
 * message; lost links, deadlocks and timeouts re-run the uncommitted range
 * (reconnecting first after a lost link) with capped, jittered backoff for
 * up to ctx->retry_for seconds from the range's first failure; anything else
 * stops the run through ctx->fail.  A stop request (ctx->stop, the
 * connection cancelled) ends the worker without loading more: what it had
 * not committed stays "not loaded" in the accounting.
 *
 * Duplicates under the skip policy are settled in three places, cheapest
 * first: the worker's key set (keys this worker committed or found), the
 * set-based existence check for the first table (so each record's fate is
 * known row by row; a dialect with load_rows_found folds that check into
 * its load, SQL Server's bulk copy into the move statement, and names the
 * rows it found), and the dialect's INSERT-or-ignore for the rest.
 *
 * A record's fate is what the database did with its rows of the first
 * table: the key set and the existence check only predict it.  When the
 * database ignored a row they called new (another process committed the key
 * meanwhile, or the server's comparison met a key the bytes did not), the
 * range is rolled back and loaded again: first with the existence check
 * asked afresh, then, if the database still disagrees, with the first
 * table's rows sent record by record, each record's count of inserted rows
 * its fate.  Key bytes, routing and the preload are in settle.c. */
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
    unsigned char *complete; /* per table: the key set holds every stored key
                                routed here (--preload-keys), so a key not in
                                it is new without asking */
    strbuf key;         /* scratch: one key's bytes */
} run;

/* Per-table result of one attempt at a record range. */
typedef struct range_result {
    load_result *rows;       /* per table */
    uint64_t *dup_keyset;    /* per table */
    unsigned char *rec_dup;  /* per record of the range: duplicate */
} range_result;

/* ---- helpers ---- */

/* Returns the policy in force for table t. */
static dup_policy table_policy(const worker_ctx *ctx, size_t t)
{
    dup_policy p = ctx->map->tables[t].on_dup;
    if (p == DUP_DEFAULT)
        p = ctx->map->on_dup;
    if (p == DUP_DEFAULT)
        p = ctx->on_dup;
    if (p == DUP_DEFAULT)
        p = DUP_SKIP;
    return p;
}

/* Returns 1 if table t uses a key set (skip policy, a key that contains the
 * routing key: otherwise another worker may insert the same key). */
static int uses_keyset(const worker_ctx *ctx, size_t t)
{
    const map_table *mt = &ctx->map->tables[t];
    return table_policy(ctx, t) == DUP_SKIP && mt->nkeys > 0 && mt->routed;
}

/* Returns the fixed key width for table t's key set, or 0 (variable). */
static size_t key_width(const map_table *mt)
{
    if (mt->nkeys == 0 || mt->nkeys > 2)
        return 0;
    for (size_t k = 0; k < mt->nkeys; k++)
        if (type_class(&mt->cols[mt->key_cols[k]].type) != VC_INT)
            return 0;
    return 8 * mt->nkeys;
}

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

/* Build the key of row `row` of table t into r->key; returns 1 when it can
 * go in the table's key set (right width), else 0. */
static int row_key(run *r, const batch *b, size_t t, size_t row)
{
    keyset *ks = r->w->keys[t];
    sb_reset(&r->key);
    settle_key_bytes(&r->key, b, t, row);
    size_t fw = key_width(&b->map->tables[t]);
    return ks && (fw == 0 || r->key.len == fw);
}

/* ---- loading one attempt ---- */

/* Returns 0 after loading rows [lo,hi) of table t except those marked in
 * skip (skip may be NULL), adding the counts to *res; -1 with err.  With
 * found (hi - lo bytes, 0 on entry) the dialect's load_rows_found settles
 * the rows against the table as it loads them: found[i - lo] is set for
 * each row whose key was stored already (not loaded, not in res).
 *
 * The rows to load go to the dialect in one call, whatever gaps the skipped
 * rows leave: through a view of the batch whose table t holds only those
 * rows.  The view borrows everything else (arena, records) from b and owns
 * only its table array and the compacted values, freed here. */
static int load_runs(run *r, const batch *b, size_t t, size_t lo, size_t hi,
                     const unsigned char *skip, dup_policy p, unsigned char *found,
                     load_result *res, mig_err *err)
{
    worker *w = r->w;
    const dialect *d = w->conn.d;
    size_t nskip = 0;
    for (size_t i = 0; skip && i < hi - lo; i++)
        nskip += skip[i];
    load_result lr;
    int rc;
    if (nskip == 0) {
        rc = found ? d->load_rows_found(&w->conn, &w->tstate[t], b, t, lo, hi, found, &lr, err)
                   : d->load_rows(&w->conn, &w->tstate[t], b, t, lo, hi, p, &lr, err);
    } else if (nskip == hi - lo) {
        return 0;
    } else {
        size_t ncols = b->tabs[t].ncols, n = 0;
        batch view = *b;
        view.tabs = xcalloc(b->ntables, sizeof *view.tabs);
        memcpy(view.tabs, b->tabs, b->ntables * sizeof *view.tabs);
        value *vals = xmalloc((hi - lo - nskip) * ncols * sizeof *vals);
        for (size_t i = lo; i < hi; i++)
            if (!skip[i - lo])
                memcpy(vals + ncols * n++, batch_row(b, t, i), ncols * sizeof *vals);
        view.tabs[t].vals = vals;
        view.tabs[t].nrows = view.tabs[t].cap_rows = n;
        view.tabs[t].first = NULL; /* record ranges do not apply to the view */
        unsigned char *vfound = found ? xcalloc(n ? n : 1, 1) : NULL;
        rc = found ? d->load_rows_found(&w->conn, &w->tstate[t], &view, t, 0, n, vfound, &lr, err)
                   : d->load_rows(&w->conn, &w->tstate[t], &view, t, 0, n, p, &lr, err);
        for (size_t i = lo, k = 0; found && rc == 0 && i < hi; i++)
            if (!skip[i - lo])
                found[i - lo] = vfound[k++];
        free(vfound);
        free(vals);
        free(view.tabs);
    }
    if (rc < 0)
        return -1;
    res->inserted += lr.inserted;
    res->dup_db += lr.dup_db;
    res->updated += lr.updated;
    return 0;
}

/* Returns 0 after marking in skip[] the rows of table t in [lo,hi) that are
 * settled already: in the key set, repeated in this range (first table), or
 * found in the table by the existence check (first table; asked unless the
 * key set is complete and this is not a recheck, or in_load: the dialect's
 * load settles them, load_rows_found).  Counts them. */
static int mark_known(run *r, const batch *b, size_t t, size_t lo, size_t hi,
                      unsigned char *skip, int recheck, int in_load, range_result *rr,
                      mig_err *err)
{
    worker *w = r->w;
    size_t n = hi - lo, nask = 0;
    keyset *seen = t == 0 ? keyset_new(0) : NULL;
    size_t *ask = xcalloc(n ? n : 1, sizeof *ask);
    for (size_t i = 0; i < n; i++) {
        int fits = row_key(r, b, t, lo + i);
        if ((fits && keyset_contains(w->keys[t], r->key.buf, r->key.len)) ||
            (seen && !keyset_insert(seen, r->key.buf, r->key.len))) {
            skip[i] = 1;
            rr->dup_keyset[t]++;
        } else {
            ask[nask++] = lo + i;
        }
    }
    keyset_free(seen);
    int rc = 0;
    /* a complete preloaded key set holds every key: what it lacks is new */
    if (t == 0 && nask > 0 && !in_load && (recheck || !(r->complete[t] && w->keys[t]))) {
        unsigned char *found = xcalloc(nask, 1);
        rc = dialect_find_existing(&w->conn, &w->tstate[t], b, t, ask, nask, found, err);
        for (size_t i = 0; i < nask && rc == 0; i++)
            if (found[i]) {
                skip[ask[i] - lo] = 1;
                rr->rows[t].dup_db++;
            }
        free(found);
    }
    free(ask);
    return rc;
}

/* Returns 0 after loading the first table's rows [rlo,rhi) of records
 * [lo,hi) record by record (skip as marked), each record's fate from the
 * rows the database inserted or updated for it; -1 with err. */
static int load_by_record(run *r, const batch *b, size_t lo, size_t hi, const unsigned char *skip,
                          dup_policy p, range_result *rr, mig_err *err)
{
    size_t rlo = batch_first_row(b, 0, lo);
    for (size_t rec = lo; rec < hi; rec++) {
        size_t a = batch_first_row(b, 0, rec), z = batch_first_row(b, 0, rec + 1);
        load_result lr = {0, 0, 0};
        if (load_runs(r, b, 0, a, z, skip + (a - rlo), p, NULL, &lr, err) < 0)
            return -1;
        rr->rows[0].inserted += lr.inserted;
        rr->rows[0].dup_db += lr.dup_db;
        rr->rows[0].updated += lr.updated;
        rr->rec_dup[rec - lo] = (unsigned char)(a < z && lr.inserted + lr.updated == 0);
    }
    return 0;
}

/* Returns 0 after loading records [lo,hi) of b into every table inside the
 * open transaction, filling rr; 1 when the database ignored first-table rows
 * that were settled as new (the caller rolls back and calls again with the
 * next pass: 1 asks the existence check afresh, 2 and later load the first
 * table record by record); -1 with err (class in conn.last_class). */
static int load_tables(run *r, const batch *b, size_t lo, size_t hi, int pass, range_result *rr,
                       mig_err *err)
{
    const worker_ctx *ctx = r->w->ctx;
    for (size_t t = 0; t < b->ntables; t++) {
        size_t rlo = batch_first_row(b, t, lo), rhi = batch_first_row(b, t, hi);
        dup_policy p = table_policy(ctx, t);
        unsigned char *skip = NULL;
        int rc = 0;
        /* the first table's rows are settled one by one (key set, then the
         * database) even without a key set: that decides each record's fate */
        int settle = uses_keyset(ctx, t) ||
                     (t == 0 && p == DUP_SKIP && ctx->map->tables[0].nkeys > 0);
        /* the first pass lets a dialect that can settle the first table's
         * rows in its load do so (no existence check of its own); a recheck
         * asks the existence check as before */
        int in_load = settle && t == 0 && pass == 0 && r->w->conn.d->load_rows_found;
        if (settle && rhi > rlo) {
            skip = xcalloc(rhi - rlo, 1);
            rc = mark_known(r, b, t, rlo, rhi, skip, pass > 0, in_load, rr, err);
        }
        if (rc == 0 && t == 0 && skip && pass >= 2) {
            rc = load_by_record(r, b, lo, hi, skip, p, rr, err);
        } else if (rc == 0) {
            load_result lr = {0, 0, 0};
            unsigned char *found = in_load && skip ? xcalloc(rhi - rlo, 1) : NULL;
            rc = load_runs(r, b, t, rlo, rhi, skip, p, found, &lr, err);
            for (size_t i = 0; found && rc == 0 && i < rhi - rlo; i++)
                if (found[i]) { /* stored already: as if the check had found it */
                    skip[i] = 1;
                    rr->rows[t].dup_db++;
                }
            free(found);
            rr->rows[t].inserted += lr.inserted;
            rr->rows[t].dup_db += lr.dup_db;
            rr->rows[t].updated += lr.updated;
            if (rc == 0 && t == 0 && skip && lr.dup_db > 0) {
                free(skip); /* the database ignored a row settled as new */
                return 1;
            }
            /* every row settled as new was inserted: a record is a
             * duplicate when all its rows in the first table were settled
             * as existing */
            for (size_t rec = lo; rc == 0 && t == 0 && skip && rec < hi; rec++) {
                size_t a = batch_first_row(b, 0, rec), z = batch_first_row(b, 0, rec + 1);
                int dup = a < z;
                for (size_t i = a; i < z && dup; i++)
                    dup = skip[i - rlo];
                rr->rec_dup[rec - lo] = (unsigned char)dup;
            }
        }
        free(skip);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- accounting ---- */

/* Empties every key set of the worker when together they outgrow its
 * budget.  The sets only save lookups: without them the set-based check
 * settles duplicates, so starting over is always correct — but a set that
 * no longer holds every key cannot stand in for that check (preloaded). */
static void keep_in_budget(run *r)
{
    worker *w = r->w;
    size_t budget = w->ctx->key_budget, used = 0;
    if (!budget)
        return;
    for (size_t t = 0; t < w->ctx->map->ntables; t++)
        if (w->keys[t])
            used += keyset_memory(w->keys[t]);
    if (used <= budget)
        return;
    for (size_t t = 0; t < w->ctx->map->ntables; t++)
        if (w->keys[t]) {
            keyset_free(w->keys[t]);
            w->keys[t] = keyset_new(key_width(&w->ctx->map->tables[t]));
            r->complete[t] = 0;
        }
    w->st->keyset_resets++;
}

/* Hand the committed range's counts to the stats and its keys to the key
 * sets. */
static void account(run *r, const batch *b, size_t lo, size_t hi, const range_result *rr)
{
    worker *w = r->w;
    const worker_ctx *ctx = w->ctx;
    for (size_t t = 0; t < b->ntables; t++) {
        stats_add_rows(ctx->stats, t, rr->rows[t].inserted, rr->dup_keyset[t],
                       rr->rows[t].dup_db, rr->rows[t].updated);
        if (!w->keys[t])
            continue;
        /* every key of a committed range is in the table now */
        for (size_t row = batch_first_row(b, t, lo); row < batch_first_row(b, t, hi); row++)
            if (row_key(r, b, t, row))
                keyset_insert(w->keys[t], r->key.buf, r->key.len);
    }
    keep_in_budget(r);
    size_t rec = lo;
    while (rec < hi) {
        uint32_t file = b->recs[rec].file;
        uint64_t loaded = 0, dups = 0;
        for (; rec < hi && b->recs[rec].file == file; rec++) {
            if (rr->rec_dup[rec - lo])
                dups++;
            else
                loaded++;
        }
        stats_add_outcome(ctx->stats, file, loaded, dups, 0);
    }
}

/* Returns 0 after writing record rec to the reject file with the
 * database's reason, or -1 (reject file error, err set). */
static int reject_record(run *r, const batch *b, size_t rec, const mig_err *why, mig_err *err)
{
    const worker_ctx *ctx = r->w->ctx;
    const batch_rec *br = &b->recs[rec];
    char reason[sizeof why->msg + 32];
    snprintf(reason, sizeof reason, "database refused: %s", why->msg);
    const char *file = ctx->file_names ? ctx->file_names[br->file] : "-";
    if (reject_write(ctx->rejects, file, br->line, br->seq, reason, b->arena + br->xml_off,
                     br->xml_len, err) < 0)
        return -1;
    stats_add_outcome(ctx->stats, br->file, 0, 0, 1);
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
    size_t nt = b->ntables;
    range_result rr;
    rr.rows = xcalloc(nt, sizeof *rr.rows);
    rr.dup_keyset = xcalloc(nt, sizeof *rr.dup_keyset);
    rr.rec_dup = xcalloc(hi - lo, 1);
    pthread_mutex_t *lock = w->ctx->writer_lock;
    int rc = 1;
    double t0 = 0; /* the committed transaction's latency, for the report */
    /* pass > 0: the database disagreed with the settlement (load_tables) */
    for (int pass = 0; rc == 1; pass++) {
        memset(rr.rows, 0, nt * sizeof *rr.rows);
        memset(rr.dup_keyset, 0, nt * sizeof *rr.dup_keyset);
        memset(rr.rec_dup, 0, hi - lo);
        if (lock)
            pthread_mutex_lock(lock);
        t0 = stats_now();
        rc = r->link->begin(&w->conn, err);
        /* a target that must take its write lock first (SQLite) */
        if (rc == 0 && w->conn.d->begin_write)
            rc = w->conn.d->begin_write(&w->conn, &b->map->tables[0], err);
        if (rc == 0)
            rc = load_tables(r, b, lo, hi, pass, &rr, err);
        /* the ledger's rows commit with the records they name, or not at all */
        if (rc == 0 && w->ctx->ledger_files)
            rc = ledger_note_batch(&w->conn, w->ctx->map_hash, w->ctx->ledger_files, b, lo, hi,
                                   rr.rec_dup, err);
        crash_point(w->ctx, 1, rc);
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
        stats_latency_add(&w->st->commit, stats_now() - t0);
        account(r, b, lo, hi, &rr);
        w->st->batches++;
        if (r->conn_used)
            w->st->reuses++;
        r->conn_used = 1;
    }
    free(rr.rows);
    free(rr.dup_keyset);
    free(rr.rec_dup);
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
    for (int attempt = 0;; attempt++) {
        if (try_range(r, b, lo, hi, err) == 0)
            return 0;
        db_errclass cls = w->conn.last_class;
        if (stopping(r) || cls == DBE_CANCELLED)
            return 1;
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

/* Returns 0 after filling the key sets from the tables (--preload-keys):
 * each worker takes the keys routed to it, within its --key-memory share;
 * a set that could not take every such key is not complete, and the
 * existence check keeps settling what it lacks. */
static int preload(run *r, mig_err *err)
{
    worker *w = r->w;
    const worker_ctx *ctx = w->ctx;
    size_t used = 0;
    for (size_t t = 0; t < ctx->map->ntables; t++) {
        if (!w->keys[t])
            continue;
        size_t left = 0;
        if (ctx->key_budget)
            left = used < ctx->key_budget ? ctx->key_budget - used : 1;
        settle_preload_result res;
        if (settle_preload(&w->conn, &ctx->map->tables[t], ctx->map->nroute, w->keys[t], w->id,
                           ctx->nworkers ? ctx->nworkers : 1, left, &res, err) < 0)
            return -1;
        r->complete[t] = (unsigned char)res.complete;
        used += keyset_memory(w->keys[t]);
    }
    r->link->rollback(&w->conn); /* end the read transaction */
    return 0;
}

static void *worker_main(void *arg)
{
    run r;
    memset(&r, 0, sizeof r);
    r.w = arg;
    worker *w = r.w;
    worker_ctx *ctx = w->ctx;
    r.complete = xcalloc(ctx->map->ntables, 1);
    r.link = ctx->link ? ctx->link : &worker_link_odbc;
    r.rng = (uint32_t)(w->id * 2654435761u) ^ (uint32_t)(uint64_t)(stats_now() * 1e6);
    mig_err err;
    err_clear(&err);
    if (ctx->preload_keys && preload(&r, &err) < 0) {
        ctx->fail(ctx, &err);
        sb_free(&r.key);
        free(r.complete);
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
        if (w->keys[t]) {
            w->st->keys += keyset_size(w->keys[t]);
            w->st->keyset_bytes += keyset_memory(w->keys[t]);
        }
    sb_free(&r.key);
    free(r.complete);
    return NULL;
}

/* ---- public ---- */

const worker_link worker_link_odbc = {
    .connect = db_connect,
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
    w->keys = xcalloc(nt, sizeof *w->keys);
    for (size_t t = 0; t < nt; t++)
        if (uses_keyset(ctx, t))
            w->keys[t] = keyset_new(key_width(&ctx->map->tables[t]));
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
    for (size_t t = 0; t < nt; t++) {
        if (w->tstate && w->tstate[t] && w->conn.d)
            w->conn.d->table_state_free(&w->conn, w->tstate[t]);
        if (w->keys)
            keyset_free(w->keys[t]);
    }
    free(w->tstate);
    free(w->keys);
    w->tstate = NULL;
    w->keys = NULL;
    (w->ctx->link ? w->ctx->link : &worker_link_odbc)->disconnect(&w->conn);
    if (w->cancel_ready)
        db_cancel_destroy(&w->cancel);
    w->cancel_ready = 0;
}
