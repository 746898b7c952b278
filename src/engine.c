/* engine.c — the run: threads, rings, batches, and the end of the run.
 *
 *   producer thread:  input -> reader -> mapper -> batch (one per lane)
 *                     -> ring lane (key-routed) ... workers -> pool -> producer
 *   N worker threads: see worker.c
 *   calling thread:   starts everything, reports progress, joins, cleans up.
 *
 * The workers start right after they connect: they warm their sessions up
 * (dialect warm_up) while the calling thread takes the run lock, the ledger
 * and the reject file, and wait for that (wait_ready) before anything else.
 *
 * Batches circulate between the pool (empty) and the lanes (full).  The pool
 * holds workers * (queue_depth + 2) batches: enough for one partial batch per
 * lane, full lanes and one batch in every worker, so the producer only ever
 * waits when a lane is full (backpressure) and memory is bounded by
 * construction; with large records it also waits while the batches in
 * flight hold more than INFLIGHT_BYTES, so that bound is in bytes too, and
 * reads no record while a batch holding a large text (BATCH_LARGE_TEXT) is
 * in flight (the driver copies such a value once or twice more).  The
 * engine allocated every batch and frees them all after the threads are
 * joined, wherever they ended up.
 *
 * The first fatal error (a worker's, or the reject file's) is kept under
 * `engine.lock` and aborts both rings; every thread then stops at its next
 * hand-off.
 *
 * A stop request (engine_request_stop: the tool's first SIGINT/SIGTERM)
 * sets `engine.stop`, aborts both rings and cancels every worker's running
 * statement, so that the run ends within a moment wherever its threads
 * wait: the producer on its input (input.c polls the flag), on a full lane
 * or the pool, a worker on the database, a lock or its backoff.  What was
 * committed stays; every record read and not committed is counted as not
 * loaded (read, never lost from the sums). */
#include "config.h"
#include "engine.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libxml/parser.h>

#include "batch.h"
#include "dialect.h"
#include "input.h"
#include "ledger.h"
#include "mapper.h"
#include "reader.h"
#include "reject.h"
#include "resume.h"
#include "ring.h"
#include "runlock.h"
#include "settle.h"
#include "worker.h"

typedef struct engine {
    const engine_opts *o;
    stats *st;
    ring *lanes;
    ring *pool;
    reject_writer *rw;
    xmlSchemaPtr schema;
    size_t nworkers;
    size_t batch_size;           /* records per batch (o->batch_size or 500) */
    worker *workers;
    worker_ctx wctx;
    pthread_mutex_t writer_lock; /* one write transaction at a time (single-writer targets) */
    batch **all;                 /* every batch allocated, freed at the end */
    size_t nall;
    db_conn lconn;               /* the ledger's and the run lock's session */
    db_cancel lcancel;           /* lconn's: a stop cancels its statement */
    runlock rlock;
    char map_hash[65];           /* SHA-256 of the mapping file */
    ledger_file *lfiles;         /* per input (o->ledger), else NULL */
    _Atomic uint64_t commits;    /* for worker_ctx.crash_at */

    pthread_mutex_t lock;        /* guards the fields below */
    pthread_cond_t cond;
    int failed;
    mig_err fail_err;
    int ready;                   /* run lock, ledger and reject file set up */
    int inspected;               /* direct[] filled (workers_inspect) */
    int producer_done;

    atomic_int stop;             /* the run was asked to stop (engine_stop) */
    /* Per table: the dialect's inspect, or NULL.  Allocated before the
     * workers start; its entries written by the first worker's thread
     * alone, then read by every worker once inspected is set under lock. */
    dialect_direct *direct;
} engine;

/* The running engine, for engine_request_stop, and a request that came
 * before it registered (the next run stops at once).  Guarded by
 * `stop_lock`. */
static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;
static engine *stop_target;
static int stop_pending;

/* Stop e: flag, rings, and every worker's running statement (under
 * stop_lock, while e is registered). */
static void engine_stop(engine *e)
{
    atomic_store(&e->stop, 1);
    ring_abort(e->lanes);
    ring_abort(e->pool);
    for (size_t i = 0; i < e->nworkers; i++)
        worker_cancel(&e->workers[i]);
    db_cancel_request(&e->lcancel);
}

void engine_request_stop(void)
{
    pthread_mutex_lock(&stop_lock);
    stop_pending = 1;
    if (stop_target)
        engine_stop(stop_target);
    pthread_mutex_unlock(&stop_lock);
}

/* Make e the target of stop requests (NULL: none; a pending request is
 * then forgotten), stopping it at once if one is pending. */
static void stop_register(engine *e)
{
    pthread_mutex_lock(&stop_lock);
    stop_target = e;
    if (e && stop_pending)
        engine_stop(e);
    if (!e)
        stop_pending = 0;
    pthread_mutex_unlock(&stop_lock);
}

/* ---- failure ---- */

/* Records the first fatal error and aborts both rings. */
static void engine_fail(engine *e, const mig_err *err)
{
    pthread_mutex_lock(&e->lock);
    if (!e->failed) {
        e->failed = 1;
        e->fail_err = *err;
    }
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    ring_abort(e->lanes);
    ring_abort(e->pool);
}

/* worker_ctx.fail: forwards a worker's fatal error to the engine. */
static void worker_failed(worker_ctx *ctx, const mig_err *err)
{
    engine_fail(ctx->engine, err);
}

/* worker_ctx.wait_ready: waits until the engine is ready (run lock,
 * ledger, reject file) or has failed. */
static int workers_wait_ready(worker_ctx *ctx)
{
    engine *e = ctx->engine;
    pthread_mutex_lock(&e->lock);
    while (!e->ready && !e->failed)
        pthread_cond_wait(&e->cond, &e->lock);
    int ok = e->ready && !e->failed;
    pthread_mutex_unlock(&e->lock);
    return ok ? 0 : -1;
}

/* ---- DDL ---- */

/* Returns 0 after creating the mapping's missing tables on c, or -1.
 * Race-safe between processes: the dialect's create_lock serialises the
 * creators (PostgreSQL), or the target's own lock does (SQLite); each
 * CREATE TABLE IF NOT EXISTS then finds what the other one made. */
static int create_tables(db_conn *c, const mapping *m, mig_err *err)
{
    strbuf sql = STRBUF_INIT;
    int rc = 0;
    if (c->d->create_lock && c->d->create_lock(c, err) != 0) {
        err_prefix(err, "cannot create tables");
        rc = -1;
    }
    for (size_t t = 0; t < m->ntables && rc == 0; t++) {
        sb_reset(&sql);
        c->d->create_table_sql(&sql, &m->tables[t]);
        if (db_exec(c, sb_str(&sql), err) != 0) {
            err_prefix(err, "cannot create table %s", m->tables[t].name);
            rc = -1;
        }
    }
    rc = db_end(c, rc, err);
    sb_free(&sql);
    return rc;
}

int engine_init_db(const mapping *m, const db_target *t, mig_err *err)
{
    db_conn c;
    memset(&c, 0, sizeof c);
    if (dialect_connect(&c, t, err) != 0)
        return -1;
    int rc = create_tables(&c, m, err);
    /* and the ledger's: a load then finds everything it writes */
    if (rc == 0)
        rc = ledger_create(&c, 1, err);
    db_disconnect(&c);
    return rc;
}

/* ---- the producer ---- */

/* A batch is handed on at batch_size records or at this many bytes of
 * record XML and values, whichever comes first; and the producer waits
 * while the batches handed on and not yet back hold more than INFLIGHT_BYTES
 * (large records must not fill every lane: memory stays bounded). */
#define BATCH_BYTES ((size_t)8 * 1024 * 1024)
#define INFLIGHT_BYTES ((size_t)32 * 1024 * 1024)

/* Per-file counters not yet handed to the stats. */
typedef struct pending {
    uint64_t read, rejected;
    uint64_t earlier, earlier_dups; /* settled by an earlier run (the ledger) */
} pending;

/* Hands pending counts of file f to the stats (read before outcome). */
static void flush_counts(engine *e, uint32_t f, pending *p)
{
    if (p->read)
        stats_add_read(e->st, f, p->read);
    if (p->rejected || p->earlier_dups)
        stats_add_outcome(e->st, f, 0, p->earlier_dups, p->rejected);
    if (p->earlier)
        stats_add_earlier(e->st, f, p->earlier);
    memset(p, 0, sizeof *p);
}

/* ---- the ledger ---- */

/* Returns 1 when a failed ledger statement on e->lconn is worth another
 * try, after a quarter of a second: the target was busy (a lock held
 * elsewhere: SQLite's "database is locked"), or the link was lost and is
 * connected again (the run lock taken again on the new session: the old
 * one's went with it); 0 when the run is stopping or --retry-for is used
 * up since t0. */
static int ledger_again(engine *e, double t0)
{
    db_errclass cls = e->lconn.last_class;
    if (cls != DBE_RETRY && cls != DBE_CONNECTION)
        return 0;
    for (;;) {
        if (atomic_load(&e->stop) || stats_now() - t0 > e->wctx.retry_for)
            return 0;
        struct timespec ts = {0, 250000000L};
        nanosleep(&ts, NULL);
        if (cls != DBE_CONNECTION)
            return !atomic_load(&e->stop);
        mig_err ignored;
        db_disconnect(&e->lconn);
        if (dialect_connect(&e->lconn, e->o->target, &ignored) != 0)
            continue;
        e->lconn.cancel = &e->lcancel;
        if (e->rlock.conn && runlock_take(&e->rlock, &e->lconn, e->map_hash, 0, &ignored) != 0)
            return 0;
        return 1;
    }
}

/* Returns 1 when file f must not be read (the ledger says it was loaded, or
 * it cannot be hashed: then it is marked unreadable), 0 to read it, -1
 * when the run failed (ledger error). */
static int ledger_skip(engine *e, uint32_t f)
{
    ledger_file *lf = e->lfiles ? &e->lfiles[f] : NULL;
    const char *name = e->o->inputs[f];
    if (!lf || !ledger_can_track(name))
        return 0; /* stdin, a FIFO: cannot be hashed before it is read */
    mig_err err;
    if (ledger_hash_file(name, lf->hash, &lf->size, &err) != 0) {
        stats_file_state(e->st, f, FILE_UNREADABLE, err.msg);
        return 1;
    }
    /* the same bytes twice in this run: the first copy is the one in the
     * ledger (its batch rows are keyed by the content); this one is loaded
     * without it, its records duplicates of the first's */
    for (uint32_t g = 0; g < f; g++)
        if (e->lfiles[g].tracked && strcmp(e->lfiles[g].hash, lf->hash) == 0)
            return 0;
    pthread_mutex_t *wl = e->wctx.writer_lock;
    int rc;
    double t0 = stats_now();
    do {
        if (wl)
            pthread_mutex_lock(wl);
        rc = ledger_file_open(&e->lconn, e->map_hash, name, e->o->reload, lf, &err);
        if (wl)
            pthread_mutex_unlock(wl);
    } while (rc != 0 && ledger_again(e, t0));
    if (rc != 0 && atomic_load(&e->stop)) {
        stats_file_state(e->st, f, FILE_STOPPED, NULL);
        return -1;
    }
    if (rc != 0) {
        engine_fail(e, &err);
        return -1;
    }
    if (lf->skip) {
        stats_file_skipped(e->st, f, lf->loaded_at);
        return 1;
    }
    lf->tracked = 1;
    return 0;
}

/* Where copy_reject writes, and how many it wrote. */
typedef struct copier {
    reject_writer *rw;
    uint64_t written;
} copier;

/* ledger_reject_fn: an earlier run's reject written to this run's reject
 * file (arg: a copier), as that run wrote it. */
static int copy_reject(void *arg, const char *name, uint64_t seq, uint64_t line,
                       const char *reason, const char *xml, size_t xml_len, mig_err *err)
{
    copier *cp = arg;
    if (reject_write(cp->rw, name, line, seq, reason, xml, xml_len, err) != 0)
        return -1;
    cp->written++;
    return 0;
}

/* Returns 0 after copying the rejects of file f with ordinals lo..hi that
 * the ledger holds (want of them) into the reject file; -1 when the run
 * failed (engine_fail) or stops. */
static int copy_rejects(engine *e, uint32_t f, uint64_t lo, uint64_t hi, uint64_t want)
{
    pthread_mutex_t *wl = e->wctx.writer_lock;
    copier cp = {e->rw, 0};
    mig_err err;
    long long n;
    double t0 = stats_now();
    do {
        e->lconn.last_class = DBE_NONE;
        if (wl)
            pthread_mutex_lock(wl);
        n = ledger_each_reject(&e->lconn, e->map_hash, &e->lfiles[f], e->o->inputs[f], lo, hi,
                               copy_reject, &cp, &err);
        if (wl)
            pthread_mutex_unlock(wl);
        /* once one is written, another try would write it twice */
    } while (n < 0 && cp.written == 0 && ledger_again(e, t0));
    if (n >= 0 && (uint64_t)n == want)
        return 0;
    if (n >= 0)
        err_set(&err, MIG_EDB, "ledger: %s: %llu rejects of records %llu-%llu noted, %lld found",
                e->o->inputs[f], (unsigned long long)want, (unsigned long long)lo,
                (unsigned long long)hi, n);
    if (!atomic_load(&e->stop))
        engine_fail(e, &err);
    return -1;
}

/* Returns 1 when record seq of file f was settled by an earlier run,
 * counting it in p (as loaded earlier, a duplicate, or rejected: its reject
 * then copied from the ledger); -1 when that copy failed (the run stops). */
static int settled_earlier(engine *e, uint32_t f, uint64_t seq, pending *p)
{
    int s = settle_earlier(e->lfiles ? &e->lfiles[f] : NULL, seq, &p->earlier,
                           &p->earlier_dups, &p->rejected);
    if (s == 2)
        return copy_rejects(e, f, seq, seq, 1) == 0 ? 1 : -1;
    return s;
}

/* Returns 0 after writing the end of the run into the ledger for every
 * file it tracked (complete: every record settled and the run not
 * stopped), or -1 with err. */
static int ledger_finish(engine *e, int stopped, mig_err *err)
{
    for (size_t f = 0; e->lfiles && f < e->o->ninputs; f++) {
        ledger_file *lf = &e->lfiles[f];
        if (!lf->tracked)
            continue;
        pthread_mutex_lock(&e->st->lock);
        const stats_file *sf = &e->st->files[f];
        ledger_counts n = {sf->read, sf->loaded + sf->loaded_earlier, sf->duplicates,
                           sf->rejected};
        int complete = !stopped && sf->state == FILE_DONE &&
                       n.read == n.loaded + n.duplicates + n.rejected;
        pthread_mutex_unlock(&e->st->lock);
        int rc;
        double t0 = stats_now();
        while ((rc = ledger_file_close(&e->lconn, e->map_hash, lf, complete, &n, err)) != 0 &&
               ledger_again(e, t0))
            ;
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* Returns 0 after opening the ledger's session, creating the ledger tables
 * and taking the run lock, or -1 with err (MIG_ELOCKED: another run). */
static int ledger_start(engine *e, mig_err *err)
{
    const engine_opts *o = e->o;
    uint64_t size;
    if (ledger_hash_file(o->map->file, e->map_hash, &size, err) != 0) {
        err->status = MIG_ECONFIG;
        return -1;
    }
    if (dialect_connect(&e->lconn, o->target, err) != 0)
        return -1;
    e->lconn.cancel = &e->lcancel;
    int rc;
    double t0 = stats_now();
    while ((rc = ledger_create(&e->lconn, o->ledger, err)) != 0 && ledger_again(e, t0))
        ;
    if (rc != 0)
        return -1;
    if (runlock_take(&e->rlock, &e->lconn, e->map_hash, o->lock_wait, err) != 0)
        return -1;
    if (o->ledger) {
        e->lfiles = xcalloc(o->ninputs ? o->ninputs : 1, sizeof *e->lfiles);
        e->wctx.ledger_files = e->lfiles;
        e->wctx.map_hash = e->map_hash;
    }
    return 0;
}

/* Read MIGRATE_TEST_CRASH ("before-commit:N" or "after-commit:N") into the
 * workers' fault injection. */
static void crash_setup(engine *e)
{
    const char *v = getenv("MIGRATE_TEST_CRASH");
    if (!v)
        return;
    const char *colon = strchr(v, ':');
    if (!colon)
        return;
    e->wctx.crash_before = strncmp(v, "before-commit:", 14) == 0;
    e->wctx.crash_at = strtoull(colon + 1, NULL, 10);
    e->wctx.commits = &e->commits;
}

/* Returns 0 after writing a rejected record, or -1 (run failed). */
static int reject_record(engine *e, const char *file, const reader_record *rec, const char *why,
                         const strbuf *xml)
{
    mig_err err;
    if (reject_write(e->rw, file, rec->line, rec->seq, why, xml->buf, xml->len, &err) == 0)
        return 0;
    engine_fail(e, &err);
    return -1;
}

/* A reject waiting for the next record of its file (producer.pend). */
typedef struct pend_reject {
    uint64_t seq, line;
    size_t reason_off, reason_len, xml_off, xml_len; /* in producer.pend_text */
} pend_reject;

/* Producer state across files. */
typedef struct producer {
    engine *e;
    mapper *mp;
    batch **cur;   /* per lane: the batch being filled, or NULL */
    size_t *charged; /* per e->all index: arena bytes of a batch handed on */
    size_t inflight; /* sum of charged: handed on, not back in the pool yet */
    unsigned char *large; /* per e->all index: a batch handed on holds a large text */
    size_t nlarge;   /* such batches handed on, not back yet */
    batch **spare;   /* empty batches taken from the pool while waiting */
    size_t nspare;
    strbuf xml;
    char reason[1024];
    /* rejects of the file being read since its last record handed to a
     * batch (ledger only): they go with the next one (batch_add_reject) */
    pend_reject *pend;
    size_t npend, cap_pend;
    strbuf pend_text;            /* their reasons and XML */
} producer;

/* Keep reject (rec, why, xml) of a tracked file until the next record of
 * the file goes into a batch. */
static void pend_add(producer *p, const reader_record *rec, const char *why, const strbuf *xml)
{
    if (p->npend == p->cap_pend) {
        p->cap_pend = p->cap_pend ? p->cap_pend * 2 : 16;
        p->pend = xrealloc(p->pend, p->cap_pend * sizeof *p->pend);
    }
    pend_reject *r = &p->pend[p->npend++];
    r->seq = rec->seq;
    r->line = rec->line;
    r->reason_off = p->pend_text.len;
    r->reason_len = strlen(why);
    sb_append(&p->pend_text, why, r->reason_len);
    r->xml_off = p->pend_text.len;
    r->xml_len = xml->len;
    sb_append(&p->pend_text, xml->buf, xml->len);
}

/* Hand the pending rejects of file f to b, whose last record follows them:
 * their ledger rows commit with it. */
static void pend_give(producer *p, batch *b, uint32_t f)
{
    const char *t = p->pend_text.buf;
    for (size_t i = 0; i < p->npend; i++) {
        const pend_reject *r = &p->pend[i];
        batch_add_reject(b, f, r->seq, r->line, t + r->reason_off, r->reason_len,
                         t + r->xml_off, r->xml_len);
    }
    p->npend = 0;
    sb_reset(&p->pend_text);
}

/* Returns the index of b in e->all. */
static size_t batch_index(const engine *e, const batch *b)
{
    for (size_t i = 0; i < e->nall; i++)
        if (e->all[i] == b)
            return i;
    assert(!"batch not in e->all");
    return 0;
}

/* Returns an empty batch from the pool (its bytes no longer in flight), or
 * NULL when the run was aborted. */
static batch *pool_take(producer *p)
{
    void *item;
    if (ring_pop(p->e->pool, 0, &item) != RING_OK)
        return NULL;
    batch *b = item;
    size_t i = batch_index(p->e, b);
    assert(p->inflight >= p->charged[i]);
    p->inflight -= p->charged[i];
    p->charged[i] = 0;
    p->nlarge -= p->large[i];
    p->large[i] = 0;
    return b;
}

/* Returns the batch being filled for lane, taking one from the spares or
 * the pool if needed, or NULL when the run was aborted. */
static batch *lane_batch(producer *p, size_t lane)
{
    if (!p->cur[lane]) {
        batch *b = p->nspare ? p->spare[--p->nspare] : pool_take(p);
        if (!b)
            return NULL;
        p->cur[lane] = b;
        p->cur[lane]->lane = lane;
    }
    return p->cur[lane];
}

/* Waits until b can be handed on within INFLIGHT_BYTES, keeping the batches
 * that come back as spares; returns 0, or -1 when the run was aborted. */
static int inflight_wait(producer *p, const batch *b)
{
    while (p->inflight > 0 && p->inflight + b->arena_len > INFLIGHT_BYTES) {
        batch *back = pool_take(p);
        if (!back)
            return -1;
        assert(p->nspare < p->e->nall);
        p->spare[p->nspare++] = back;
    }
    size_t i = batch_index(p->e, b);
    p->charged[i] = b->arena_len;
    p->inflight += b->arena_len;
    p->large[i] = b->largest >= BATCH_LARGE_TEXT;
    p->nlarge += p->large[i];
    return 0;
}

/* Waits until no batch holding a large text is in flight (its value costs
 * the worker and the driver two or three copies: the next record's copies
 * must not add to those); returns 0, or -1 when the run was aborted. */
static int large_wait(producer *p)
{
    while (p->nlarge > 0) {
        batch *back = pool_take(p);
        if (!back)
            return -1;
        assert(p->nspare < p->e->nall);
        p->spare[p->nspare++] = back;
    }
    return 0;
}

void engine_no_record_msg(const mapping *m, const char *name, char *buf, size_t cap)
{
    const record_path *rp = m->record;
    const char *uri = rp->ns_uri[rp->nsteps - 1];
    snprintf(buf, cap, "%s: no record: nothing matches the record path %s%s%s%s", name,
             rp->src, uri ? " (namespace " : "", uri ? uri : "", uri ? ")" : "");
}

/* Returns file f's input, opened at the mark the ledger gave (after
 * *first records, which are not read again) or at its start (*first 0);
 * NULL with err. */
static input *open_input(engine *e, uint32_t f, uint64_t *first, mig_err *err)
{
    const char *name = e->o->inputs[f];
    ledger_file *lf = e->lfiles ? &e->lfiles[f] : NULL;
    *first = 0;
    strbuf pro = STRBUF_INIT;
    size_t head;
    uint64_t newlines;
    if (lf && lf->tracked && lf->start.seq > 0 &&
        resume_prolog(&lf->start, &pro, &head, &newlines) == 0) {
        input_start at = {lf->start.offset, pro.buf, head, newlines, pro.buf + head,
                          pro.len - head};
        input *in = input_open_at(name, &at, &e->stop, err);
        sb_free(&pro);
        if (in)
            *first = lf->start.seq;
        return in;
    }
    sb_free(&pro);
    return input_open_stoppable(name, &e->stop, err);
}

/* Returns 1 with *mk, the resume point after record rec of reader r, when
 * tracker tr (may be NULL) found it and r saw nothing that forbids one. */
static int take_mark(resume_tracker *tr, reader *r, const reader_record *rec, resume_mark *mk)
{
    if (!tr)
        return 0;
    if (!reader_resumable(r)) {
        resume_tracker_stop(tr);
        return 0;
    }
    const xmlNode *n = rec->node;
    const char *prefix = n->ns && n->ns->prefix ? (const char *)n->ns->prefix : NULL;
    return resume_tracker_record(tr, rec->seq, prefix, (const char *)n->name, rec->line, mk);
}

/* Returns 0 after reading file f to its end or its first error; -1 when the
 * run was aborted or stopped (f marked accordingly). */
static int produce_file(producer *p, uint32_t f)
{
    engine *e = p->e;
    const engine_opts *o = e->o;
    const char *name = o->inputs[f];
    mig_err err;
    pending cnt = {0, 0, 0, 0};
    int stopped = 0;

    int skip = ledger_skip(e, f);
    if (skip)
        return skip < 0 ? -1 : 0;
    stats_file_state(e->st, f, FILE_READING, NULL);
    /* a read waiting on a pipe ends at a stop */
    uint64_t first;
    input *in = open_input(e, f, &first, &err);
    if (!in) {
        int stop = atomic_load(&e->stop);
        stats_file_state(e->st, f, stop ? FILE_STOPPED : FILE_UNREADABLE, stop ? NULL : err.msg);
        return stop ? -1 : 0;
    }
    in->bytes = stats_bytes_counter(e->st, f); /* for the progress display */
    atomic_fetch_add(in->bytes, in->skipped);
    /* where records end, for the marks a rerun may start from */
    ledger_file *lf = e->lfiles && e->lfiles[f].tracked ? &e->lfiles[f] : NULL;
    resume_tracker *tr = NULL;
    if (lf) {
        tr = resume_tracker_new(o->map->record, first ? lf->start.offset - in->prefix_len : 0,
                                first);
        in->tap = resume_tracker_feed;
        in->tap_arg = tr;
    }
    reader *r = first ? reader_open_at(in, o->map, e->schema, o->max_record_bytes, first, &err)
                      : reader_open(in, o->map, e->schema, o->max_record_bytes, &err);
    if (!r) {
        input_close(in);
        resume_tracker_free(tr);
        stats_file_state(e->st, f, FILE_UNREADABLE, err.msg);
        return 0;
    }
    reader_record rec;
    resume_mark mk;
    int rc = 0;
    uint64_t nrecords = first;
    if (first) {
        /* records 1..first: settled by earlier runs, not read again; their
         * rejects copied from the ledger into this run's reject file */
        cnt.read = first;
        cnt.earlier = lf->start_loaded;
        cnt.earlier_dups = lf->start_dups;
        cnt.rejected = lf->start_rejects;
        stats_file_resumed(e->st, f, first);
        if (lf->start_rejects && copy_rejects(e, f, 1, first, lf->start_rejects) != 0) {
            cnt.rejected = 0;
            stopped = 1;
        }
    }
    while (!stopped) {
        /* before reading: a record read is always counted */
        if (atomic_load(&e->stop)) {
            stopped = 1;
            break;
        }
        if (large_wait(p) != 0) {
            stopped = 1;
            break;
        }
        if ((rc = reader_next(r, &rec, &err)) != 1)
            break;
        nrecords++;
        int marked = take_mark(tr, r, &rec, &mk);
        if (p->xml.cap > BATCH_BYTES)
            sb_free(&p->xml); /* a large record's buffer is not kept for the next */
        cnt.read++;
        int earlier = settled_earlier(e, f, rec.seq, &cnt);
        if (earlier < 0) {
            stopped = 1;
            break;
        }
        if (earlier)
            continue; /* settled by an earlier run: not sent again */
        /* the record's XML, for the reject file: a large one only if it is
         * rejected here (a copy less of each of its values while loading) */
        int keep_xml = rec.xml_bytes <= BATCH_XML_KEEP;
        if (rec.invalid || keep_xml)
            reader_record_xml(r, &rec, &p->xml);
        else
            sb_reset(&p->xml);
        if (rec.invalid) {
            if (reject_record(e, name, &rec, rec.invalid, &p->xml) != 0) {
                stopped = 1; /* not written: the record stays unfinished */
                break;
            }
            if (lf)
                pend_add(p, &rec, rec.invalid, &p->xml);
            cnt.rejected++;
            continue;
        }
        record_ctx ctx = {name, rec.line, rec.seq};
        uint64_t route = mapper_route(p->mp, rec.node, &ctx);
        size_t lane = settle_lane(route, e->nworkers);
        batch *b = lane_batch(p, lane);
        if (!b) {
            stopped = 1; /* read, never handed on: counted as not loaded */
            break;
        }
        batch_begin_record(b, f, rec.line, rec.seq, p->xml.buf, p->xml.len);
        if (mapper_map(p->mp, rec.node, &ctx, b, p->reason, sizeof p->reason) != 0) {
            batch_abort_record(b);
            if (!keep_xml)
                reader_record_xml(r, &rec, &p->xml);
            reader_release(r); /* (serialised: the copy can go) */
            if (reject_record(e, name, &rec, p->reason, &p->xml) != 0) {
                stopped = 1; /* not written: the record stays unfinished */
                break;
            }
            if (lf)
                pend_add(p, &rec, p->reason, &p->xml);
            cnt.rejected++;
            continue;
        }
        reader_release(r); /* its rows are built: the record's copy goes */
        batch_commit_record(b, route);
        if (p->npend)
            pend_give(p, b, f);
        if (marked)
            batch_mark_record(b, f, &mk);
        /* full by count, or by bytes: large records must not pile up in
         * the lanes batch_size at a time; a large text goes at once (and
         * alone: large_wait) */
        if (b->nrec == e->batch_size || b->arena_len >= BATCH_BYTES ||
            b->largest >= BATCH_LARGE_TEXT) {
            flush_counts(e, f, &cnt);
            p->cur[lane] = NULL;
            if (inflight_wait(p, b) != 0 || ring_push(e->lanes, lane, b) != RING_OK) {
                stopped = 1;
                break;
            }
        }
    }
    /* rejects after the file's last record handed on: not in the ledger
     * (a rerun reads them again) */
    p->npend = 0;
    sb_reset(&p->pend_text);
    flush_counts(e, f, &cnt);
    if (rc < 0 && atomic_load(&e->stop))
        stopped = 1; /* the read itself was stopped */
    if (stopped) {
        stats_file_state(e->st, f, FILE_STOPPED, NULL);
    } else if (rc < 0) {
        stats_file_state(e->st, f, err.status == MIG_EDATA ? FILE_MALFORMED : FILE_UNREADABLE,
                         err.msg);
    } else if (nrecords == 0) {
        /* a mapping that matches nothing (a wrong namespace, say) must not
         * pass for an empty success */
        char msg[sizeof err.msg];
        engine_no_record_msg(o->map, name, msg, sizeof msg);
        stats_file_state(e->st, f, FILE_NORECORD, msg);
    } else {
        stats_file_state(e->st, f, FILE_DONE, NULL);
    }
    reader_close(r);
    input_close(in);
    resume_tracker_free(tr);
    return stopped ? -1 : 0;
}

/* Producer thread: reads every input, then hands on the partial batches and
 * closes the lanes. */
static void *producer_main(void *arg)
{
    engine *e = arg;
    producer p;
    memset(&p, 0, sizeof p);
    p.e = e;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    p.mp = mapper_new(e->o->map, (double)tv.tv_sec);
    mapper_limit_fraction(p.mp, e->workers[0].conn.d->frac_digits);
    p.cur = xcalloc(e->nworkers, sizeof *p.cur);
    p.charged = xcalloc(e->nall, sizeof *p.charged);
    p.large = xcalloc(e->nall, sizeof *p.large);
    p.spare = xcalloc(e->nall, sizeof *p.spare);

    uint32_t f = 0;
    for (; f < e->o->ninputs; f++)
        if (produce_file(&p, f) != 0)
            break;
    for (f++; f < e->o->ninputs; f++)
        stats_file_state(e->st, f, FILE_STOPPED, NULL);
    for (size_t lane = 0; lane < e->nworkers; lane++) {
        batch *b = p.cur[lane];
        if (!b)
            continue;
        if (b->nrec > 0 && ring_push(e->lanes, lane, b) == RING_OK)
            continue;
        batch_reset(b); /* empty, or aborted: stays in e->all and is freed there */
    }
    ring_close(e->lanes);

    mapper_free(p.mp);
    free(p.cur);
    free(p.charged);
    free(p.large);
    free(p.spare);
    sb_free(&p.xml);
    sb_free(&p.pend_text);
    free(p.pend);
    pthread_mutex_lock(&e->lock);
    e->producer_done = 1;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

/* ---- set-up and tear-down ---- */

/* Has the dialect inspect every table once, on c (the first worker's
 * session), for all workers (e->direct).  A table it could not inspect is
 * marked so: its fast path is not taken. */
static void inspect_tables(engine *e, db_conn *c)
{
    const mapping *m = e->o->map;
    const worker_link *link = e->o->link ? e->o->link : &worker_link_odbc;
    for (size_t t = 0; t < m->ntables; t++) {
        mig_err ierr;
        if (c->d->inspect(c, &m->tables[t], &e->direct[t], &ierr) < 0)
            e->direct[t].layout = -1;
    }
    link->rollback(c); /* ends the reading transaction */
}

/* worker_ctx inspect: worker 0 inspects the tables on c in its own thread,
 * while this engine's thread logs in and takes the run lock and the
 * ledger, then tells the others; they wait for it.  Returns 0, or -1 when
 * the run failed first (e->direct is then not to be read). */
static int workers_inspect(worker_ctx *ctx, size_t id, db_conn *c)
{
    engine *e = ctx->engine;
    if (id == 0)
        inspect_tables(e, c);
    pthread_mutex_lock(&e->lock);
    if (id == 0) {
        e->inspected = 1;
        pthread_cond_broadcast(&e->cond);
    }
    while (!e->inspected && !e->failed)
        pthread_cond_wait(&e->cond, &e->lock);
    int ok = e->inspected;
    pthread_mutex_unlock(&e->lock);
    return ok ? 0 : -1;
}

/* Returns 0 after connecting every worker (and creating tables), or -1. */
static int open_workers(engine *e, mig_err *err)
{
    e->workers = xcalloc(e->nworkers, sizeof *e->workers);
    for (size_t i = 0; i < e->nworkers; i++)
        if (worker_open(&e->workers[i], i, &e->wctx, err) != 0)
            return -1;
    db_conn *c0 = &e->workers[0].conn;
    if (e->o->create_tables && create_tables(c0, e->o->map, err) != 0)
        return -1;
    /* the tables exist now: the first worker inspects them once its thread
     * runs (workers_inspect) */
    if (c0->d && c0->d->inspect) {
        e->direct = xcalloc(e->o->map->ntables, sizeof *e->direct);
        e->wctx.direct = e->direct;
        e->wctx.inspect = workers_inspect;
    }
    /* One write transaction at a time when the target takes one writer, or
     * when the first table's key is not the routing key: two workers could
     * then settle the same top-row key at once, and each record's fate
     * (loaded or duplicate) must stay exact. */
    if (c0->d->single_writer || !e->o->map->tables[0].routed)
        e->wctx.writer_lock = &e->writer_lock;
    return 0;
}

/* Frees everything engine_run set up (threads already joined). */
static void engine_cleanup(engine *e)
{
    if (e->workers)
        for (size_t i = 0; i < e->nworkers; i++)
            worker_close(&e->workers[i]);
    free(e->workers);
    free(e->direct);
    for (size_t i = 0; i < e->nall; i++)
        batch_free(e->all[i]);
    free(e->all);
    if (e->lanes)
        ring_free(e->lanes);
    if (e->pool)
        ring_free(e->pool);
    if (e->schema)
        xmlSchemaFree(e->schema);
    if (e->rw)
        reject_close(e->rw, NULL);
    runlock_release(&e->rlock);
    db_disconnect(&e->lconn);
    for (size_t f = 0; e->lfiles && f < e->o->ninputs; f++)
        ledger_file_free(&e->lfiles[f]);
    free(e->lfiles);
    db_cancel_destroy(&e->lcancel);
    pthread_mutex_destroy(&e->writer_lock);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
}

/* Waits for the producer, calling the progress callback on the way. */
static void wait_producer(engine *e)
{
    const engine_opts *o = e->o;
    pthread_mutex_lock(&e->lock);
    while (!e->producer_done) {
        if (!o->progress) {
            pthread_cond_wait(&e->cond, &e->lock);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double iv = o->progress_interval > 0 ? o->progress_interval : 1.0;
        ts.tv_sec += (time_t)iv;
        ts.tv_nsec += (long)((iv - (double)(time_t)iv) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&e->cond, &e->lock, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&e->lock);
            o->progress(e->st, o->progress_arg);
            pthread_mutex_lock(&e->lock);
        }
    }
    pthread_mutex_unlock(&e->lock);
}

int engine_run(const engine_opts *o, stats **out, mig_err *err)
{
    engine e;
    memset(&e, 0, sizeof e);
    e.o = o;
    e.rlock.fd = -1;
    e.nworkers = o->workers ? o->workers : 2;
    pthread_mutex_init(&e.lock, NULL);
    pthread_mutex_init(&e.writer_lock, NULL);
    db_cancel_init(&e.lcancel);
    pthread_cond_init(&e.cond, NULL);
    atomic_store(&e.stop, 0);
    xmlInitParser();

    const mapping *m = o->map;
    const char **names = xcalloc(m->ntables, sizeof *names);
    for (size_t t = 0; t < m->ntables; t++)
        names[t] = m->tables[t].name;
    e.st = stats_new(names, m->ntables, e.nworkers);
    free(names);
    *out = e.st;
    for (size_t f = 0; f < o->ninputs; f++)
        stats_add_file(e.st, o->inputs[f]);
    e.st->t_start = stats_now();

    int rc = -1;
    if (reject_check(o->rejects_path, o->inputs, o->ninputs, err) != 0)
        goto done;
    if (o->schema_path && !(e.schema = reader_schema_load(o->schema_path, err)))
        goto done;
    size_t depth = o->queue_depth ? o->queue_depth : 4;
    size_t bsize = o->batch_size ? o->batch_size : 500;
    e.batch_size = bsize;
    e.lanes = ring_new(e.nworkers, depth);
    e.nall = e.nworkers * (depth + 2);
    e.pool = ring_new(1, e.nall);
    e.all = xcalloc(e.nall, sizeof *e.all);
    for (size_t i = 0; i < e.nall; i++) {
        e.all[i] = batch_new(m, bsize);
        int pushed = ring_push(e.pool, 0, e.all[i]);
        assert(pushed == RING_OK);
        (void)pushed;
    }

    e.wctx.map = m;
    e.wctx.target = o->target;
    e.wctx.on_dup = o->on_dup;
    e.wctx.preload_keys = o->preload_keys;
    e.wctx.key_budget = o->key_memory ? o->key_memory / e.nworkers : 0;
    e.wctx.nworkers = e.nworkers;
    e.wctx.lanes = e.lanes;
    e.wctx.pool = e.pool;
    e.wctx.stats = e.st;
    e.wctx.file_names = o->inputs;
    e.wctx.retry_for = o->retry_for > 0 ? o->retry_for : 300;
    e.wctx.backoff_cap = 5;
    e.wctx.link = o->link;
    e.wctx.now = o->now;
    e.wctx.sleep = o->sleep;
    e.wctx.clock_arg = o->clock_arg;
    e.wctx.stop = &e.stop;
    e.wctx.fail = worker_failed;
    e.wctx.wait_ready = workers_wait_ready;
    e.wctx.engine = &e;
    /* the database first: a target that cannot be reached is the error to
     * report, not the reject file beside it */
    if (open_workers(&e, err) != 0)
        goto done;
    /* the workers first: the first one inspects the tables (dialect
     * inspect) and all prepare their sessions (dialect warm_up) while this
     * thread takes the run lock and the ledger, then wait for
     * it (wait_ready: what is set up below, under e.lock) before they read
     * a table (--preload-keys) or anything set up here */
    size_t started = 0;
    for (; started < e.nworkers; started++)
        if (worker_start(&e.workers[started], err) != 0)
            break;
    /* the run lock before the reject file: a second run must not touch the
     * first one's (the unit tests' fake database has neither lock nor
     * ledger: they speak ODBC) */
    stop_register(&e); /* a stop ends a wait for the ledger too */
    int ready = started == e.nworkers;
    if (ready && !o->link && ledger_start(&e, err) != 0)
        ready = 0;
    if (ready) {
        crash_setup(&e);
        if (!(e.rw = reject_open(o->rejects_path, m, err)))
            ready = 0;
        e.wctx.rejects = e.rw;
    }
    if (ready) {
        pthread_mutex_lock(&e.lock);
        e.ready = 1;
        pthread_cond_broadcast(&e.cond);
        pthread_mutex_unlock(&e.lock);
    }
    pthread_t prod;
    int have_prod = 0;
    if (ready) {
        if (pthread_create(&prod, NULL, producer_main, &e) == 0)
            have_prod = 1;
        else
            err_set(err, MIG_EINTERNAL, "cannot start the producer thread");
    }
    if (!have_prod) {
        mig_err tmp = *err;
        engine_fail(&e, &tmp);
    } else {
        wait_producer(&e);
        pthread_join(prod, NULL);
    }
    for (size_t i = 0; i < started; i++)
        worker_join(&e.workers[i]);
    e.st->t_end = stats_now();
    ring_counters(e.lanes, &e.st->lane_full_waits, &e.st->lane_empty_waits);

    pthread_mutex_lock(&e.lock);
    int failed = e.failed;
    if (failed)
        *err = e.fail_err;
    pthread_mutex_unlock(&e.lock);
    /* a stopped run leaves its files 'loading': what it committed is in the
     * batch rows already, and a stop must not wait on the database */
    if (!failed && !atomic_load(&e.stop) && ledger_finish(&e, 0, err) != 0)
        goto done;
    if (!failed) {
        reject_writer *rw = e.rw;
        e.rw = NULL;
        if (reject_close(rw, err) != 0)
            goto done;
        rc = 0;
    }
done:
    if (!e.st->t_end)
        e.st->t_end = stats_now();
    stop_register(NULL);
    engine_cleanup(&e);
    return rc;
}
