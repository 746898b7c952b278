/* fake_dialect.h — a scripted database for the unit tests: a dialect and a
 * worker_link that need no server, fail on purpose as a script says (refuse
 * rows by key, drop the link on load call n and stay down for a while, time
 * out once, deadlock once, drop it under a call that still "succeeds", stop
 * the run at a given time), and keep what was
 * committed so that a test can check exact rows.  Its clock is fake too:
 * sleeping only advances it, so minutes of backoff take no time.
 *
 * Rows: the first column of table 0 is an integer key in 1..FAKE_MAX_KEY;
 * the fake counts how often each key was committed (exactly once is right).
 * Under DUP_SKIP a row whose key is stored (committed, pending in the
 * transaction, existing or hidden) is ignored and counted dup_db, as
 * INSERT ... ON CONFLICT DO NOTHING does; under any other policy every row
 * is inserted.
 * All state lives in one struct guarded by `fake.lock` (workers are threads). */
#ifndef MIGRATE_FAKE_DIALECT_H
#define MIGRATE_FAKE_DIALECT_H

#include <pthread.h>

#include "dialect.h"
#include "worker.h"

#define FAKE_MAX_KEY 100000
#define FAKE_MAX_BAD 16

typedef struct fake_script {
    long bad[FAKE_MAX_BAD];  /* keys refused as data errors (0 ends the list) */
    int drop_call;           /* load call n (1-based, all connections) drops the link */
    double outage;           /* ... and connects fail for this many (fake) seconds */
    int quiet_drop_call;     /* load call n "succeeds" while the link drops
                                under it: the driver forgets the
                                transaction and its commit then returns
                                success having stored nothing (psqlODBC
                                after a session ended mid-statement) */
    int timeout_call;        /* load call n times out (HYT00), once */
    int deadlock_call;       /* load call n is a deadlock victim (40P01), once */
    double stop_at;          /* engine_request_stop once the clock passes this (0: never) */
    int stall_call;          /* load call n hangs until its connection is
                                cancelled (db_cancel_request), like a
                                statement waiting on a lock */
    /* Under the skip policy (a row whose key is stored is ignored, and the
     * existence check names the stored keys): */
    long existing[FAKE_MAX_BAD]; /* keys stored before the run (committed
                                    once already; 0 ends the list) */
    int warm_up_drop;        /* the dialect's warm_up drops the link (the
                                worker meets it at its first batch) */
    long hidden[FAKE_MAX_BAD];   /* keys stored that the existence check
                                    does not find (another process commits
                                    them meanwhile, or the server's
                                    comparison differs from ours) */
    long fast_refused[FAKE_MAX_BAD]; /* a load holding one of these keys on a
                                    connection without no_fast_path fails
                                    with DBE_AGAIN (a fast path refused, as
                                    SQL Server's bulk copy straight into the
                                    table on a stored key); without the fast
                                    path the same rows load as usual */
} fake_script;

typedef struct fake_state {
    pthread_mutex_t lock;    /* guards everything here */
    fake_script script;
    double now;              /* the fake clock, seconds */
    double outage_end;       /* connects fail while now < outage_end */
    int calls;               /* load_rows calls so far */
    int connects, failed_connects;
    int sleeps;
    double max_sleep, slept;
    int stopped;             /* stop_at reached and the stop requested */
    int stalled;             /* the stall_call is hanging now */
    int warm_ups;            /* warm_up calls */
    int warm_ups_late;       /* ... on a connection that had loaded rows already */
    dup_policy warm_up_policy; /* the policy the last warm_up was given */
    int warm_ups_blind;      /* ... on a table state not told the inspection */
    int inspects;            /* inspect calls */
    pthread_t inspect_thread; /* the thread of the last one */
    int fast_refusals;       /* loads failed with DBE_AGAIN (fast_refused) */
    int slow_loads;          /* load calls on a connection with no_fast_path */
    unsigned char committed[FAKE_MAX_KEY + 1]; /* times each key was committed */
} fake_state;

extern fake_state fake;
extern const dialect fake_dialect;
extern const worker_link fake_link;

/* Reset the state and arm script s (NULL: no faults). */
void fake_reset(const fake_script *s);
/* The fake clock for engine_opts.now / .sleep (arg unused). */
double fake_now(void *arg);
void fake_sleep(void *arg, double seconds);
/* Returns how many keys were committed, and 1 in *dups if any key was
 * committed more than once. */
long fake_committed(int *dups);

#endif
