/* test_worker.c — the worker's recovery paths (split and reject, retry,
 * reconnect, backoff, --retry-for, stop) and the settlement of each
 * record's fate (settle.c: key sets, existence check, the database
 * disagreeing) run through the whole engine against the scripted fake
 * database of fake_dialect.c: no server needed, minutes of outage on a fake
 * clock take no time.  Each test checks the exact keys committed and that
 * the accounting adds up. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"

#include "engine.h"
#include "fake_dialect.h"
#include "input.h"
#include "mapping.h"
#include "stats.h"
#include "worker.h"

/* ---- fixtures ---- */

static char map_path[4200], in_path[4200], rej_path[4200];
/* The input's keys (in_keys[0..n), NULL: 1..n) and the run's policy
 * (DUP_ERROR: plain inserts); set by the settlement tests, reset after. */
static const long *in_keys;
static dup_policy run_policy = DUP_ERROR;

/* Write the mapping and an input of n items (keys 1..n, or in_keys) into
 * the tmpdir. */
static void write_files(int n)
{
    const char *dir = unit_tmpdir();
    snprintf(map_path, sizeof map_path, "%s/map.xml", dir);
    snprintf(in_path, sizeof in_path, "%s/in.xml", dir);
    snprintf(rej_path, sizeof rej_path, "%s/rejects.xml", dir);
    FILE *f = fopen(map_path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/items/item\">\n"
          "  <table name=\"items\" key=\"id\">\n"
          "    <column name=\"id\" path=\"@id\" type=\"bigint\"/>\n"
          "    <column name=\"name\" path=\"@name\" type=\"varchar(20)\"/>\n"
          "  </table>\n"
          "</mapping>\n", f);
    fclose(f);
    f = fopen(in_path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("<items>\n", f);
    for (int i = 1; i <= n; i++) {
        long k = in_keys ? in_keys[i - 1] : i;
        fprintf(f, "  <item id=\"%ld\" name=\"item %d\"/>\n", k, i);
    }
    fputs("</items>\n", f);
    fclose(f);
    remove(rej_path);
}

typedef struct run_out {
    int rc;
    mig_err err;
    stats_totals tot;
    stats_worker w;   /* summed over workers */
    stats_table rows; /* of table items */
    int sums_ok;      /* stats_check passed (unfinished allowed when stopped) */
} run_out;

/* Run the engine on the fake with n records, script s; fills *out. */
static void run_fake(int n, const fake_script *s, size_t workers, size_t batch_size,
                     double retry_for, run_out *out)
{
    write_files(n);
    fake_reset(s);
    mig_err err;
    err_clear(&err);
    mapping *m = mapping_load(map_path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    db_target target;
    memset(&target, 0, sizeof target);
    const char *inputs[] = {in_path};
    engine_opts o;
    memset(&o, 0, sizeof o);
    o.map = m;
    o.inputs = inputs;
    o.ninputs = 1;
    o.target = &target;
    o.workers = workers;
    o.batch_size = batch_size;
    o.rejects_path = rej_path;
    o.on_dup = run_policy;
    o.retry_for = retry_for;
    o.link = &fake_link;
    o.now = fake_now;
    o.sleep = fake_sleep;
    stats *st = NULL;
    memset(out, 0, sizeof *out);
    out->rc = engine_run(&o, &st, &out->err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    stats_totals_get(st, &out->tot);
    out->rows = st->tables[0];
    out->rows.name = NULL; /* freed with st */
    for (size_t i = 0; i < st->nworkers; i++) {
        out->w.retries += st->workers[i].retries;
        out->w.reconnects += st->workers[i].reconnects;
        out->w.splits += st->workers[i].splits;
        out->w.redos += st->workers[i].redos;
        out->w.batches += st->workers[i].batches;
    }
    char why[256];
    out->sums_ok = stats_check(st, out->rc != 0 || out->tot.unfinished > 0, why, sizeof why) == 0;
    if (!out->sums_ok)
        fprintf(stderr, "stats_check: %s\n", why);
    stats_free(st);
    mapping_free(m);
}

/* Returns 1 if the reject file holds the record with key k. */
static int rejected_key(long k)
{
    FILE *f = fopen(rej_path, "r");
    if (!f)
        return 0;
    char line[512], want[64];
    snprintf(want, sizeof want, "id=\"%ld\"", k);
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, want) != NULL;
    fclose(f);
    return found;
}

/* ---- backoff ---- */

static void test_backoff_capped(void)
{
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(0, 5, 1), 0.1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(1, 5, 1), 0.2, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(5, 5, 1), 3.2, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(6, 5, 1), 5.0, 1e-9);  /* 6.4 capped */
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(60, 5, 1), 5.0, 1e-9); /* no overflow */
    /* jitter takes off up to half */
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(6, 5, 0), 2.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(worker_backoff(0, 5, 0.5), 0.075, 1e-9);
}

/* ---- a fast path the dialect gives up ---- */

/* A load failing with DBE_AGAIN (SQL Server's bulk copy straight into the
 * table met a stored key) runs again at once on a new connection without
 * the fast path: not split, not retried as a transient error; the worker
 * keeps the fast path off for the next 8 ranges and then tries it again
 * (back to 8 after it worked).  One worker, 100 batches of 10: refused in
 * batches 1 and 50, so 2 x 8 loads without it. */
static void test_fast_path_refused(void)
{
    fake_script s = {.fast_refused = {5, 500}};
    run_out r;
    run_fake(1000, &s, 1, 10, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 1000);
    CU_ASSERT_EQUAL(r.tot.rejected, 0);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(r.w.splits, 0);
    CU_ASSERT_EQUAL(r.w.retries, 0);
    CU_ASSERT_EQUAL(r.w.redos, 2);
    CU_ASSERT_EQUAL(r.w.reconnects, 2);
    CU_ASSERT_EQUAL(fake.fast_refusals, 2);
    CU_ASSERT_EQUAL(fake.slow_loads, 16);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 1000);
    CU_ASSERT_EQUAL(dups, 0);
}

/* ---- data errors: split down to the refused records ---- */

static void test_data_errors_split_and_reject(void)
{
    fake_script s = {.bad = {7, 500, 501, 1000}};
    run_out r;
    run_fake(1000, &s, 2, 100, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.read, 1000);
    CU_ASSERT_EQUAL(r.tot.loaded, 996);
    CU_ASSERT_EQUAL(r.tot.rejected, 4);
    CU_ASSERT_EQUAL(r.tot.unfinished, 0);
    CU_ASSERT(r.sums_ok);
    /* the error policy settles nothing before the insert */
    CU_ASSERT_EQUAL(r.rows.inserted, 996);
    CU_ASSERT_EQUAL(r.rows.dup_keyset + r.rows.dup_db, 0);
    CU_ASSERT(r.w.splits > 0);
    CU_ASSERT_EQUAL(r.w.retries, 0);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 996);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(fake.committed[7], 0);
    CU_ASSERT_EQUAL(fake.committed[8], 1);
    CU_ASSERT_EQUAL(fake.committed[1000], 0);
    CU_ASSERT(rejected_key(7) && rejected_key(500) && rejected_key(501) && rejected_key(1000));
    CU_ASSERT(!rejected_key(8));
}

/* ---- a lost link, down for 20 s: ridden out, exact ---- */

static void test_outage_ridden_out(void)
{
    fake_script s = {.drop_call = 3, .outage = 20};
    run_out r;
    run_fake(2000, &s, 1, 100, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 2000);
    CU_ASSERT_EQUAL(r.tot.unfinished, 0);
    CU_ASSERT(r.sums_ok);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 2000);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT(r.w.reconnects >= 2); /* several tries while it was down */
    CU_ASSERT(r.w.retries >= 1);
    CU_ASSERT(fake.failed_connects >= 1);
    /* the outage was waited out, never more than the cap at a time */
    CU_ASSERT(fake.slept >= 20.0);
    CU_ASSERT(fake.max_sleep <= 5.0 + 1e-9);
    CU_ASSERT(fake.slept < 20.0 + 5.0 + 1e-9);
}

/* ---- the link drops under a call that still "succeeds" (psqlODBC after
 * pg_terminate_backend between an INSERT and its savepoint release): the
 * driver's commit then returns success having stored nothing.  The batch
 * must be re-run on a new connection, not counted: every key stored once. */

static void test_quiet_drop_not_counted(void)
{
    fake_script s = {.quiet_drop_call = 3};
    run_out r;
    run_fake(1000, &s, 1, 100, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 1000);
    CU_ASSERT(r.sums_ok);
    /* the rows, not the counts: each of keys 1..1000 committed exactly once */
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 1000);
    CU_ASSERT_EQUAL(dups, 0);
    long missing = 0;
    for (long k = 1; k <= 1000; k++)
        missing += fake.committed[k] != 1;
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(r.w.reconnects, 1);
    CU_ASSERT_EQUAL(r.w.retries, 1);
    CU_ASSERT_EQUAL(r.w.batches, 10);
}

static int link_alive(db_conn *c)
{
    (void)c;
    return 0;
}

static int link_dead(db_conn *c)
{
    (void)c;
    return 1;
}

/* db_commit_verdict, what db_commit and the fake's commit ask: a commit
 * reported done on a dead link is void, a lost link (DBE_CONNECTION, 08S01)
 * that the worker re-runs; on a live link, or when the commit failed
 * already, the answer stands. */
static void test_commit_verdict(void)
{
    db_conn c;
    memset(&c, 0, sizeof c);
    mig_err err;
    err_clear(&err);
    CU_ASSERT_EQUAL(db_commit_verdict(&c, 0, link_alive, &err), 0);
    CU_ASSERT_EQUAL(c.last_class, DBE_NONE);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
    CU_ASSERT_EQUAL(db_commit_verdict(&c, -1, link_dead, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
    CU_ASSERT_EQUAL(db_commit_verdict(&c, 0, link_dead, &err), -1);
    CU_ASSERT_EQUAL(c.last_class, DBE_CONNECTION);
    CU_ASSERT_STRING_EQUAL(err.sqlstate, "08S01");
    CU_ASSERT_STRING_EQUAL(err.msg, "commit: the connection was lost before the COMMIT reached "
                                    "the server (the driver reported success; nothing was "
                                    "committed)");
}

/* ---- down for longer than --retry-for: gives up, accounted ---- */

static void test_outage_gives_up(void)
{
    fake_script s = {.drop_call = 4, .outage = 100000};
    run_out r;
    run_fake(2000, &s, 1, 100, 30, &r);
    CU_ASSERT_EQUAL(r.rc, -1);
    CU_ASSERT_EQUAL(r.err.status, MIG_ETEMPFAIL);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, "gave up"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err.msg, "--retry-for 30"));
    /* gave up at 30 s, not before, not long after */
    CU_ASSERT(fake.slept >= 30.0 - 1e-9);
    CU_ASSERT(fake.slept <= 30.0 + 1e-9);
    CU_ASSERT(fake.max_sleep <= 5.0 + 1e-9);
    /* three batches committed before the drop: exactly those are loaded */
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 300);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 300);
    CU_ASSERT_EQUAL(r.tot.rejected, 0);
    CU_ASSERT_EQUAL(r.tot.loaded + r.tot.unfinished, r.tot.read);
    CU_ASSERT(r.sums_ok);
}

/* ---- a timeout and a deadlock, once each: retried in place ---- */

static void test_timeout_and_deadlock_retried(void)
{
    fake_script s = {.timeout_call = 2, .deadlock_call = 5};
    run_out r;
    run_fake(1000, &s, 1, 100, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 1000);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(r.w.retries, 2);
    CU_ASSERT_EQUAL(r.w.reconnects, 0);
    CU_ASSERT_EQUAL(r.w.splits, 0);
    CU_ASSERT_EQUAL(r.w.batches, 10);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 1000);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(fake.sleeps, 2);
    CU_ASSERT(fake.slept <= 0.2 + 1e-9); /* the first backoff, 0.1 s at most, each time */
}

/* ---- a data error in a batch after a reconnect ---- */

static void test_drop_then_data_error(void)
{
    fake_script s = {.bad = {150}, .drop_call = 2, .outage = 3};
    run_out r;
    run_fake(500, &s, 1, 100, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 499);
    CU_ASSERT_EQUAL(r.tot.rejected, 1);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT(r.w.reconnects >= 1);
    CU_ASSERT(r.w.splits > 0);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 499);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(fake.committed[150], 0);
    CU_ASSERT(rejected_key(150));
}

/* ---- a stop during an outage: ends at once, accounted ---- */

static void test_stop_during_outage(void)
{
    /* the clock starts at 1000 s: stop 10 s into the outage */
    fake_script s = {.drop_call = 2, .outage = 100000, .stop_at = 1010};
    run_out r;
    run_fake(1000, &s, 1, 100, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0); /* stopped, not failed */
    CU_ASSERT(fake.stopped);
    /* no backoff after the one that reached the stop (5 s at most) */
    CU_ASSERT(fake.slept <= 10.0 + 5.0 + 1e-9);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 100);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 100);
    CU_ASSERT(r.tot.unfinished > 0);
    CU_ASSERT_EQUAL(r.tot.loaded + r.tot.unfinished, r.tot.read);
    CU_ASSERT(r.sums_ok);
}

/* ---- a stop while a statement hangs and the lane is full ---- */

/* Thread: requests the stop once the stalled call hangs (polls). */
static void *stop_when_stalled(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) { /* 20 s at most: then stop anyway */
        pthread_mutex_lock(&fake.lock);
        int stalled = fake.stalled;
        pthread_mutex_unlock(&fake.lock);
        if (stalled)
            break;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 50000000L}; /* let the producer fill the lane */
    nanosleep(&ts, NULL);
    engine_request_stop();
    return NULL;
}

static void test_stop_cancels_a_hanging_statement(void)
{
    fake_script s = {.stall_call = 2};
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, stop_when_stalled, NULL), 0);
    run_out r;
    run_fake(5000, &s, 1, 100, 300, &r);
    pthread_join(t, NULL);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(fake.stalled, 0); /* the hanging call was cancelled */
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 100); /* the first batch only */
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 100);
    CU_ASSERT(r.tot.read > 100);      /* the producer had read on */
    CU_ASSERT(r.tot.read < 5000);     /* and stopped, its lane full */
    CU_ASSERT_EQUAL(r.tot.loaded + r.tot.unfinished, r.tot.read);
    CU_ASSERT_EQUAL(r.w.retries, 0);  /* a cancel is not retried */
    CU_ASSERT(r.sums_ok);
}

/* ---- an input waiting on a pipe that stays open ---- */

static atomic_int pipe_stop;

/* Thread: sets pipe_stop a little later. */
static void *set_pipe_stop(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50000000L};
    nanosleep(&ts, NULL);
    atomic_store(&pipe_stop, 1);
    return NULL;
}

static void test_input_stops_on_an_open_pipe(void)
{
    int fds[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fds), 0);
    CU_ASSERT_EQUAL_FATAL(write(fds[1], "<a>", 3), 3); /* then nothing, never closed */
    int saved = dup(0);
    CU_ASSERT_FATAL(saved >= 0);
    CU_ASSERT_FATAL(dup2(fds[0], 0) == 0);
    atomic_store(&pipe_stop, 0);
    mig_err err;
    err_clear(&err);
    input *in = input_open_stoppable("-", &pipe_stop, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    char buf[64];
    CU_ASSERT_EQUAL(in->read(in, buf, sizeof buf, &err), 2); /* the peeked "<a" */
    CU_ASSERT_EQUAL(in->read(in, buf, sizeof buf, &err), 1); /* ">" */
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, set_pipe_stop, NULL), 0);
    CU_ASSERT_EQUAL(in->read(in, buf, sizeof buf, &err), -1); /* ends at the stop */
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "reading stopped"));
    pthread_join(t, NULL);
    input_close(in);
    dup2(saved, 0);
    close(saved);
    close(fds[0]);
    close(fds[1]);
}

/* ---- the fate of each record under the skip policy (settle.c) ---- */

/* Keys repeated in the input (across batches, and twice in a row inside
 * one), and keys stored before the run: every record is loaded or a
 * duplicate, settled by the key sets (repeats) or the existence check
 * (stored keys), and every key is stored exactly once. */
static void test_skip_settles_every_fate(void)
{
    long keys[305];
    for (int i = 0; i < 300; i++)
        keys[i] = i + 1;
    keys[300] = 5;
    keys[301] = 150;
    keys[302] = 299;
    keys[303] = keys[304] = 400;
    fake_script s = {.existing = {10, 20, 250}};
    run_out r;
    in_keys = keys;
    run_policy = DUP_SKIP;
    run_fake(305, &s, 2, 50, 300, &r);
    in_keys = NULL;
    run_policy = DUP_ERROR;
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.read, 305);
    CU_ASSERT_EQUAL(r.tot.loaded, 298);     /* 301 distinct keys, 3 stored before */
    CU_ASSERT_EQUAL(r.tot.duplicates, 7);
    CU_ASSERT_EQUAL(r.tot.rejected, 0);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(r.rows.inserted, 298);
    CU_ASSERT_EQUAL(r.rows.dup_keyset, 4);  /* 5, 150, 299 again; 400 twice */
    CU_ASSERT_EQUAL(r.rows.dup_db, 3);      /* 10, 20, 250 */
    CU_ASSERT_EQUAL(r.rows.updated, 0);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 301);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(fake.committed[10], 1);
    CU_ASSERT_EQUAL(fake.committed[400], 1);
}

/* Each worker warms its session up (dialect warm_up, once per table with
 * the table's policy) before it loads anything on it. */
static void test_warm_up_before_loading(void)
{
    run_out r;
    run_policy = DUP_SKIP;
    run_fake(200, NULL, 2, 20, 300, &r);
    run_policy = DUP_ERROR;
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 200);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(fake.warm_ups, 2); /* one table, two workers */
    CU_ASSERT_EQUAL(fake.warm_ups_late, 0);
    CU_ASSERT_EQUAL(fake.warm_up_policy, DUP_SKIP);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 200);
    CU_ASSERT_EQUAL(dups, 0);
}

/* The first worker inspects the tables once, in its own thread (not the
 * engine's, which takes the run lock meanwhile), and every worker's table
 * states know the answer before its warm_up. */
static void test_inspect_in_first_worker(void)
{
    run_out r;
    run_fake(200, NULL, 3, 20, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 200);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(fake.inspects, 1); /* one table */
    CU_ASSERT(!pthread_equal(fake.inspect_thread, pthread_self()));
    CU_ASSERT_EQUAL(fake.warm_ups, 3);
    CU_ASSERT_EQUAL(fake.warm_ups_blind, 0);
}

/* A warm-up that fails costs nothing but the time: here it drops the link,
 * and each worker reconnects at its first batch and loads every record
 * exactly once. */
static void test_warm_up_failure_costs_nothing(void)
{
    fake_script s = {.warm_up_drop = 1};
    run_out r;
    run_fake(200, &s, 2, 20, 300, &r);
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.loaded, 200);
    CU_ASSERT_EQUAL(r.tot.rejected, 0);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(fake.warm_ups, 2);
    CU_ASSERT_EQUAL(r.w.reconnects, 2);
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 200);
    CU_ASSERT_EQUAL(dups, 0);
}

/* Keys the existence check does not find but the database ignores (hidden:
 * committed by another process meanwhile, or matched by the server's own
 * comparison): the range is loaded again with the check asked afresh, then
 * record by record, and the record whose row was ignored is a duplicate;
 * nothing is counted loaded that the database did not insert. */
static void test_database_disagrees(void)
{
    fake_script s = {.hidden = {42, 77}};
    run_out r;
    run_policy = DUP_SKIP;
    run_fake(100, &s, 1, 50, 300, &r);
    run_policy = DUP_ERROR;
    CU_ASSERT_EQUAL(r.rc, 0);
    CU_ASSERT_EQUAL(r.tot.read, 100);
    CU_ASSERT_EQUAL(r.tot.loaded, 98);
    CU_ASSERT_EQUAL(r.tot.duplicates, 2);
    CU_ASSERT(r.sums_ok);
    CU_ASSERT_EQUAL(r.rows.inserted, 98);
    CU_ASSERT_EQUAL(r.rows.dup_db, 2);
    CU_ASSERT_EQUAL(r.rows.dup_keyset, 0);
    CU_ASSERT_EQUAL(r.w.batches, 2);
    /* per batch (42 in the first, 77 in the second): the whole range, the
     * recheck, then its 50 records one by one */
    CU_ASSERT_EQUAL(fake.calls, 2 * (1 + 1 + 50));
    int dups;
    CU_ASSERT_EQUAL(fake_committed(&dups), 98);
    CU_ASSERT_EQUAL(dups, 0);
    CU_ASSERT_EQUAL(fake.committed[42], 0);
    CU_ASSERT_EQUAL(fake.committed[77], 0);
    CU_ASSERT_EQUAL(fake.committed[43], 1);
}

int main(void)
{
    UNIT_BEGIN("worker");
    UNIT_TEST(test_backoff_capped);
    UNIT_TEST(test_data_errors_split_and_reject);
    UNIT_TEST(test_fast_path_refused);
    UNIT_TEST(test_outage_ridden_out);
    UNIT_TEST(test_outage_gives_up);
    UNIT_TEST(test_timeout_and_deadlock_retried);
    UNIT_TEST(test_quiet_drop_not_counted);
    UNIT_TEST(test_commit_verdict);
    UNIT_TEST(test_drop_then_data_error);
    UNIT_TEST(test_stop_during_outage);
    UNIT_TEST(test_stop_cancels_a_hanging_statement);
    UNIT_TEST(test_input_stops_on_an_open_pipe);
    UNIT_TEST(test_skip_settles_every_fate);
    UNIT_TEST(test_database_disagrees);
    UNIT_TEST(test_warm_up_before_loading);
    UNIT_TEST(test_warm_up_failure_costs_nothing);
    UNIT_TEST(test_inspect_in_first_worker);
    UNIT_END();
}
