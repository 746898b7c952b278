/* fake_dialect.c — the scripted database of fake_dialect.h.
 *
 * A connection is a struct fake_conn hung on db_conn.dbc: its rows of the
 * open transaction (pending keys) and whether its link was dropped.  Commit
 * adds the pending keys to fake.committed, rollback forgets them.  Every
 * failure sets err and db_conn.last_class exactly as db.c would for the real
 * thing, so the worker cannot tell the difference. */
#include "config.h"
#include "fake_dialect.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

fake_state fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

typedef struct fake_conn {
    int dead;          /* the link was dropped: every call fails */
    int forgot;        /* ... quietly: the driver forgot the transaction, and
                          its commit returns success storing nothing */
    int loads;         /* load calls on this connection */
    size_t npending, cap;
    long *pending;     /* keys inserted in the open transaction */
} fake_conn;

/* ---- the clock ---- */

double fake_now(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fake.lock);
    double t = fake.now;
    pthread_mutex_unlock(&fake.lock);
    return t;
}

void fake_sleep(void *arg, double seconds)
{
    (void)arg;
    pthread_mutex_lock(&fake.lock);
    fake.now += seconds;
    fake.sleeps++;
    fake.slept += seconds;
    if (seconds > fake.max_sleep)
        fake.max_sleep = seconds;
    int stop = fake.script.stop_at > 0 && fake.now >= fake.script.stop_at && !fake.stopped;
    if (stop)
        fake.stopped = 1;
    pthread_mutex_unlock(&fake.lock);
    if (stop)
        engine_request_stop(); /* outside our lock: it takes the engine's */
}

void fake_reset(const fake_script *s)
{
    pthread_mutex_lock(&fake.lock);
    memset(&fake.script, 0, sizeof fake.script);
    if (s)
        fake.script = *s;
    fake.now = 1000.0;
    fake.outage_end = 0;
    fake.calls = fake.connects = fake.failed_connects = fake.sleeps = fake.stopped = 0;
    fake.stalled = 0;
    fake.warm_ups = fake.warm_ups_late = fake.warm_ups_blind = fake.inspects = 0;
    fake.warm_up_policy = DUP_DEFAULT;
    fake.max_sleep = fake.slept = 0;
    memset(fake.committed, 0, sizeof fake.committed);
    for (size_t i = 0; i < FAKE_MAX_BAD && fake.script.existing[i]; i++)
        fake.committed[fake.script.existing[i]] = 1;
    pthread_mutex_unlock(&fake.lock);
}

long fake_committed(int *dups)
{
    long n = 0;
    *dups = 0;
    pthread_mutex_lock(&fake.lock);
    for (long k = 0; k <= FAKE_MAX_KEY; k++) {
        n += fake.committed[k] > 0;
        if (fake.committed[k] > 1)
            *dups = 1;
    }
    pthread_mutex_unlock(&fake.lock);
    return n;
}

/* ---- the link ---- */

/* Returns -1 after setting err and c's class as a lost link does. */
static int link_lost(db_conn *c, mig_err *err, const char *what)
{
    c->last_class = DBE_CONNECTION;
    err_set(err, MIG_ECONNECT, "%s: SQLSTATE 08S01: fake: connection lost", what);
    memcpy(err->sqlstate, "08S01", 6);
    return -1;
}

static int fake_connect(db_conn *c, const db_target *t, mig_err *err)
{
    memset(c, 0, sizeof *c);
    c->target = t;
    c->d = &fake_dialect;
    pthread_mutex_lock(&fake.lock);
    int down = fake.now < fake.outage_end;
    if (down)
        fake.failed_connects++;
    else
        fake.connects++;
    pthread_mutex_unlock(&fake.lock);
    if (down) {
        link_lost(c, err, "cannot connect");
        return -1;
    }
    c->dbc = (SQLHDBC)xcalloc(1, sizeof(fake_conn));
    c->connected = 1;
    c->last_class = DBE_NONE;
    return 0;
}

static void fake_disconnect(db_conn *c)
{
    fake_conn *fc = (fake_conn *)c->dbc;
    if (fc) {
        free(fc->pending);
        free(fc);
    }
    c->dbc = SQL_NULL_HDBC;
    c->connected = 0;
}

static int fake_begin(db_conn *c, mig_err *err)
{
    fake_conn *fc = (fake_conn *)c->dbc;
    c->last_class = DBE_NONE;
    if (!fc || fc->dead)
        return link_lost(c, err, "begin");
    fc->npending = 0;
    return 0;
}

/* The driver's commit: after a quiet drop it "succeeds" storing nothing. */
static int fake_end_tran(db_conn *c, mig_err *err)
{
    fake_conn *fc = (fake_conn *)c->dbc;
    if (fc && fc->forgot) {
        fc->npending = 0; /* psqlODBC's CC_commit: not in a transaction, no COMMIT */
        return 0;
    }
    if (!fc || fc->dead)
        return link_lost(c, err, "commit");
    pthread_mutex_lock(&fake.lock);
    for (size_t i = 0; i < fc->npending; i++)
        fake.committed[fc->pending[i]]++;
    pthread_mutex_unlock(&fake.lock);
    fc->npending = 0;
    return 0;
}

static int fake_rollback(db_conn *c)
{
    fake_conn *fc = (fake_conn *)c->dbc;
    if (!fc || fc->dead)
        return -1;
    fc->npending = 0;
    return 0;
}

/* The link is dead (what SQL_ATTR_CONNECTION_DEAD says). */
static int fake_lost(db_conn *c)
{
    fake_conn *fc = (fake_conn *)c->dbc;
    return fc && fc->dead;
}

/* The link's commit, judged as db_commit judges the driver's. */
static int fake_commit(db_conn *c, mig_err *err)
{
    return db_commit_verdict(c, fake_end_tran(c, err), fake_lost, err);
}

const worker_link fake_link = {
    .connect = fake_connect,
    .disconnect = fake_disconnect,
    .begin = fake_begin,
    .commit = fake_commit,
    .rollback = fake_rollback,
};

/* ---- the dialect ---- */

/* Returns -1 (class DBE_CANCELLED) once c's connection is cancelled: hangs
 * until then, as a statement waiting on another session's lock. */
static int stall(db_conn *c, mig_err *err)
{
    pthread_mutex_lock(&fake.lock);
    fake.stalled = 1;
    pthread_mutex_unlock(&fake.lock);
    for (;;) {
        int cancelled = 0;
        if (c->cancel) {
            pthread_mutex_lock(&c->cancel->lock);
            cancelled = c->cancel->cancelled;
            pthread_mutex_unlock(&c->cancel->lock);
        }
        if (cancelled)
            break;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&fake.lock);
    fake.stalled = 0;
    pthread_mutex_unlock(&fake.lock);
    c->last_class = DBE_CANCELLED;
    return err_set(err, MIG_EDB, "insert: cancelled (the run is stopping)");
}

/* Returns 1 if key k is on list (FAKE_MAX_BAD entries, 0 ends it). */
static int listed(const long *list, long k)
{
    for (size_t i = 0; i < FAKE_MAX_BAD && list[i]; i++)
        if (list[i] == k)
            return 1;
    return 0;
}

/* Returns 1 if key k is on the script's list of refused keys. */
static int is_bad(long k)
{
    return listed(fake.script.bad, k);
}

/* Returns 1 if key k is pending in fc's open transaction. */
static int is_pending(const fake_conn *fc, long k)
{
    for (size_t i = 0; i < fc->npending; i++)
        if (fc->pending[i] == k)
            return 1;
    return 0;
}

/* Returns 1 if key k is stored as fc sees it; the existence check
 * (check = 1) does not see the hidden keys.  Called under fake.lock. */
static int is_stored(const fake_conn *fc, long k, int check)
{
    if (k < 1 || k > FAKE_MAX_KEY)
        return 0;
    return fake.committed[k] > 0 || is_pending(fc, k) ||
           (!check && listed(fake.script.hidden, k));
}

/* Loads rows [lo,hi) of table t as the script allows (load_rows). */
static int fake_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                          size_t lo, size_t hi, dup_policy policy, load_result *res,
                          mig_err *err)
{
    (void)st;
    fake_conn *fc = (fake_conn *)c->dbc;
    memset(res, 0, sizeof *res);
    if (!fc || fc->dead)
        return link_lost(c, err, "insert");
    fc->loads++;
    pthread_mutex_lock(&fake.lock);
    int call = ++fake.calls;
    const fake_script *s = &fake.script;
    int drop = call == s->drop_call, quiet = call == s->quiet_drop_call, timeout = call == s->timeout_call,
        deadlock = call == s->deadlock_call, stalls = call == s->stall_call;
    if (drop)
        fake.outage_end = fake.now + s->outage;
    long bad = 0, refused = 0;
    for (size_t i = lo; i < hi && t == 0 && !bad; i++)
        if (is_bad((long)batch_row(b, t, i)[0].n.i))
            bad = (long)batch_row(b, t, i)[0].n.i;
    for (size_t i = lo; i < hi && t == 0 && !c->no_fast_path && !refused; i++)
        if (listed(s->fast_refused, (long)batch_row(b, t, i)[0].n.i))
            refused = (long)batch_row(b, t, i)[0].n.i;
    fake.fast_refusals += refused != 0;
    fake.slow_loads += c->no_fast_path != 0;
    pthread_mutex_unlock(&fake.lock);
    if (stalls)
        return stall(c, err);
    if (drop) {
        fc->dead = 1;
        return link_lost(c, err, "insert");
    }
    if (quiet) {
        /* the rows went nowhere, yet the call reports success */
        fc->dead = fc->forgot = 1;
        fc->npending = 0;
        res->inserted = hi - lo;
        c->last_class = DBE_NONE;
        return 0;
    }
    if (timeout || deadlock) {
        c->last_class = DBE_RETRY;
        err_set(err, MIG_EDB, "insert: SQLSTATE %s: fake: %s", timeout ? "HYT00" : "40P01",
                timeout ? "query timeout expired" : "deadlock detected");
        return -1;
    }
    if (refused) {
        c->last_class = DBE_AGAIN;
        return err_set(err, MIG_EDB, "insert: fake: the fast path met key %ld", refused);
    }
    if (bad) {
        c->last_class = DBE_DATA;
        return err_set(err, MIG_EDB, "insert: SQLSTATE 23514: fake: key %ld refused", bad);
    }
    uint64_t ignored = 0;
    for (size_t i = lo; i < hi; i++) {
        if (t != 0)
            continue;
        if (fc->npending == fc->cap) {
            fc->cap = fc->cap ? 2 * fc->cap : 64;
            fc->pending = xrealloc(fc->pending, fc->cap * sizeof *fc->pending);
        }
        long k = (long)batch_row(b, t, i)[0].n.i;
        if (k < 1 || k > FAKE_MAX_KEY) {
            c->last_class = DBE_FATAL;
            return err_set(err, MIG_EINTERNAL, "fake: key %ld out of range", k);
        }
        if (policy == DUP_SKIP) {
            pthread_mutex_lock(&fake.lock);
            int stored = is_stored(fc, k, 0);
            pthread_mutex_unlock(&fake.lock);
            if (stored) {
                ignored++;
                continue;
            }
        }
        fc->pending[fc->npending++] = k;
    }
    res->inserted = hi - lo - ignored;
    res->dup_db = ignored;
    c->last_class = DBE_NONE;
    return 0;
}

/* The existence check (find_existing): names the stored keys but the
 * hidden ones. */
static int fake_find_existing(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                              const size_t *rows, size_t n, unsigned char *found, mig_err *err)
{
    (void)st;
    fake_conn *fc = (fake_conn *)c->dbc;
    if (!fc || fc->dead)
        return link_lost(c, err, "exists");
    pthread_mutex_lock(&fake.lock);
    for (size_t i = 0; i < n; i++)
        found[i] = (unsigned char)is_stored(fc, (long)batch_row(b, t, rows[i])[0].n.i, 1);
    pthread_mutex_unlock(&fake.lock);
    return 0;
}

/* Nothing to free: the fake keeps no per-table state. */
/* The fake keeps nothing in a table state but what the worker seeds into
 * it (dialect_state_direct). */
static void fake_state_free(db_conn *c, dialect_table_state *st)
{
    dialect_state_free_generic(c, st);
}

/* The inspection's answer for every table: no fast path (the fake has
 * none), and a frac no table state has by itself, so that warm_up can tell
 * whether it was told. */
#define FAKE_FRAC 5

/* Returns 0 after counting the call and its thread (inspect). */
static int fake_inspect(db_conn *c, const map_table *t, dialect_direct *out, mig_err *err)
{
    (void)t;
    fake_conn *fc = (fake_conn *)c->dbc;
    if (!fc || fc->dead)
        return link_lost(c, err, "inspect");
    pthread_mutex_lock(&fake.lock);
    fake.inspects++;
    fake.inspect_thread = pthread_self();
    pthread_mutex_unlock(&fake.lock);
    out->layout = -1;
    out->frac = FAKE_FRAC;
    return 0;
}

/* Every error the fake makes is classified already (last_class). */
static db_errclass fake_classify(const char *state, long native, const char *msg)
{
    (void)state;
    (void)native;
    (void)msg;
    return DBE_FATAL;
}

/* Counts the call (warm_up); drops the link when the script says so. */
static int fake_warm_up(db_conn *c, dialect_table_state **st, const mapping *m, size_t t,
                        dup_policy p, int found, mig_err *err)
{
    (void)m;
    (void)found;
    fake_conn *fc = (fake_conn *)c->dbc;
    if (!fc || fc->dead)
        return link_lost(c, err, "warm up");
    pthread_mutex_lock(&fake.lock);
    fake.warm_ups++;
    fake.warm_ups_late += fc->loads > 0;
    fake.warm_ups_blind += dialect_state_direct(st, t)->frac != FAKE_FRAC;
    fake.warm_up_policy = p;
    int drop = fake.script.warm_up_drop;
    pthread_mutex_unlock(&fake.lock);
    if (drop) {
        fc->dead = 1;
        return link_lost(c, err, "warm up");
    }
    return 0;
}

const dialect fake_dialect = {
    .name = "fake",
    .single_writer = 0,
    .quote_ident = dialect_quote_double,
    .load_rows = fake_load_rows,
    .table_state_free = fake_state_free,
    .find_existing = fake_find_existing,
    .classify = fake_classify,
    .warm_up = fake_warm_up,
    .inspect = fake_inspect,
};
