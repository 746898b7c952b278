/* test_ring.c — the bounded hand-off: FIFO per lane, blocking both ways,
 * close/drain, abort, and no loss or duplication under threads. */
#include "config.h"
#include "unit.h"
#include "ring.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Items are small numbers carried in the pointer (never NULL). */
#define ITEM(n) ((void *)(uintptr_t)(n))
#define NUM(p) ((uintptr_t)(p))

/* ---- helpers ---- */

/* Returns seconds on the monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns nothing: sleeps ms milliseconds. */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Returns 1 once the ring has counted at least the given waits (5 s max). */
static int wait_for_waits(ring *r, uint64_t push_w, uint64_t pop_w)
{
    for (int i = 0; i < 5000; i++) {
        uint64_t pw, qw;
        ring_counters(r, &pw, &qw);
        if (pw >= push_w && qw >= pop_w)
            return 1;
        sleep_ms(1);
    }
    return 0;
}

/* One blocking call run on its own thread. */
typedef struct call {
    ring *r;
    size_t lane;
    void *item;         /* pushed, or popped */
    int rc;
    atomic_int done;
    double t_done;
} call;

/* Returns NULL: pushes c->item and records when it returned. */
static void *push_thread(void *arg)
{
    call *c = arg;
    c->rc = ring_push(c->r, c->lane, c->item);
    c->t_done = now();
    atomic_store(&c->done, 1);
    return NULL;
}

/* Returns NULL: pops into c->item and records when it returned. */
static void *pop_thread(void *arg)
{
    call *c = arg;
    c->rc = ring_pop(c->r, c->lane, &c->item);
    c->t_done = now();
    atomic_store(&c->done, 1);
    return NULL;
}

/* ---- single thread ---- */

static void test_fifo_lanes(void)
{
    ring *r = ring_new(3, 4);
    void *it = NULL;
    CU_ASSERT_EQUAL(ring_lanes(r), 3);
    /* interleave pushes over three lanes, wrapping each lane several times */
    for (uintptr_t round = 0; round < 5; round++) {
        for (uintptr_t k = 1; k <= 4; k++) {
            CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(round * 100 + k)), RING_OK);
            CU_ASSERT_EQUAL(ring_push(r, 2, ITEM(round * 100 + k + 50)), RING_OK);
        }
        CU_ASSERT_EQUAL(ring_push(r, 1, ITEM(round + 1000)), RING_OK);
        /* lane 1 does not see lane 0's or lane 2's items */
        CU_ASSERT_EQUAL(ring_pop(r, 1, &it), RING_OK);
        CU_ASSERT_EQUAL(NUM(it), round + 1000);
        for (uintptr_t k = 1; k <= 4; k++) {
            CU_ASSERT_EQUAL(ring_pop(r, 2, &it), RING_OK);
            CU_ASSERT_EQUAL(NUM(it), round * 100 + k + 50);
        }
        for (uintptr_t k = 1; k <= 4; k++) {
            CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
            CU_ASSERT_EQUAL(NUM(it), round * 100 + k);
        }
    }
    uint64_t pw = 99, qw = 99;
    ring_counters(r, &pw, &qw);
    CU_ASSERT_EQUAL(pw, 0);
    CU_ASSERT_EQUAL(qw, 0);
    CU_ASSERT_PTR_NULL(ring_drain(r));
    ring_free(r);
}

static void test_close_drains(void)
{
    ring *r = ring_new(2, 4);
    void *it = NULL;
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(1)), RING_OK);
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(2)), RING_OK);
    CU_ASSERT_EQUAL(ring_push(r, 1, ITEM(3)), RING_OK);
    ring_close(r);
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 1);
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 2);
    it = ITEM(77);
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_CLOSED);
    CU_ASSERT_EQUAL(NUM(it), 77);     /* untouched */
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_CLOSED);
    CU_ASSERT_EQUAL(ring_pop(r, 1, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 3);
    CU_ASSERT_EQUAL(ring_pop(r, 1, &it), RING_CLOSED);
    ring_free(r);
}

static void test_abort_then_drain(void)
{
    ring *r = ring_new(3, 2);
    void *it = NULL;
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(1)), RING_OK);
    CU_ASSERT_EQUAL(ring_push(r, 2, ITEM(2)), RING_OK);
    CU_ASSERT_EQUAL(ring_push(r, 2, ITEM(3)), RING_OK);
    ring_abort(r);
    CU_ASSERT_EQUAL(ring_push(r, 1, ITEM(4)), RING_ABORTED);
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_ABORTED);   /* even with items */
    CU_ASSERT_EQUAL(ring_pop(r, 1, &it), RING_ABORTED);
    ring_close(r);
    CU_ASSERT_EQUAL(ring_pop(r, 2, &it), RING_ABORTED);
    CU_ASSERT_EQUAL(NUM(ring_drain(r)), 1);
    CU_ASSERT_EQUAL(NUM(ring_drain(r)), 2);
    CU_ASSERT_EQUAL(NUM(ring_drain(r)), 3);
    CU_ASSERT_PTR_NULL(ring_drain(r));
    ring_free(r);
}

/* ---- blocking ---- */

static void test_push_blocks_when_full(void)
{
    ring *r = ring_new(2, 2);
    void *it = NULL;
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(1)), RING_OK);
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(2)), RING_OK);
    call c = {.r = r, .lane = 0, .item = ITEM(3)};
    pthread_t th;
    pthread_create(&th, NULL, push_thread, &c);
    CU_ASSERT_TRUE(wait_for_waits(r, 1, 0));   /* it is waiting on the full lane */
    /* the other lane is not blocked by lane 0 being full */
    CU_ASSERT_EQUAL(ring_push(r, 1, ITEM(9)), RING_OK);
    sleep_ms(50);
    CU_ASSERT_EQUAL(atomic_load(&c.done), 0);   /* still blocked */
    double t_pop = now();
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 1);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(atomic_load(&c.done), 1);
    CU_ASSERT_EQUAL(c.rc, RING_OK);
    CU_ASSERT_TRUE(c.t_done >= t_pop);          /* proceeded only after the pop */
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 2);
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 3);
    CU_ASSERT_EQUAL(ring_pop(r, 1, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 9);
    uint64_t pw, qw;
    ring_counters(r, &pw, &qw);
    CU_ASSERT_EQUAL(pw, 1);
    CU_ASSERT_EQUAL(qw, 0);
    ring_free(r);
}

static void test_pop_blocks_when_empty(void)
{
    ring *r = ring_new(2, 2);
    call c = {.r = r, .lane = 1};
    pthread_t th;
    pthread_create(&th, NULL, pop_thread, &c);
    CU_ASSERT_TRUE(wait_for_waits(r, 0, 1));
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(5)), RING_OK);   /* other lane: no wake */
    sleep_ms(50);
    CU_ASSERT_EQUAL(atomic_load(&c.done), 0);
    double t_push = now();
    CU_ASSERT_EQUAL(ring_push(r, 1, ITEM(6)), RING_OK);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(c.rc, RING_OK);
    CU_ASSERT_EQUAL(NUM(c.item), 6);
    CU_ASSERT_TRUE(c.t_done >= t_push);
    /* a popper blocked on an empty lane is woken by close */
    call d = {.r = r, .lane = 1};
    pthread_create(&th, NULL, pop_thread, &d);
    CU_ASSERT_TRUE(wait_for_waits(r, 0, 2));
    ring_close(r);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(d.rc, RING_CLOSED);
    void *it = NULL;
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_OK);
    CU_ASSERT_EQUAL(NUM(it), 5);
    CU_ASSERT_EQUAL(ring_pop(r, 0, &it), RING_CLOSED);
    ring_free(r);
}

static void test_abort_wakes_waiters(void)
{
    ring *r = ring_new(2, 1);
    CU_ASSERT_EQUAL(ring_push(r, 0, ITEM(1)), RING_OK);
    call p = {.r = r, .lane = 0, .item = ITEM(2)};
    call q = {.r = r, .lane = 1};
    pthread_t tp, tq;
    pthread_create(&tp, NULL, push_thread, &p);
    pthread_create(&tq, NULL, pop_thread, &q);
    CU_ASSERT_TRUE(wait_for_waits(r, 1, 1));
    sleep_ms(20);
    CU_ASSERT_EQUAL(atomic_load(&p.done), 0);
    CU_ASSERT_EQUAL(atomic_load(&q.done), 0);
    ring_abort(r);
    pthread_join(tp, NULL);
    pthread_join(tq, NULL);
    CU_ASSERT_EQUAL(p.rc, RING_ABORTED);   /* item 2 not queued */
    CU_ASSERT_EQUAL(q.rc, RING_ABORTED);
    CU_ASSERT_EQUAL(NUM(ring_drain(r)), 1);
    CU_ASSERT_PTR_NULL(ring_drain(r));
    ring_free(r);
}

/* ---- many threads ---- */

#define MT_ITEMS 200000
#define MT_LANES 4

/* Returns the lane item n goes to: a scramble, not round robin. */
static size_t mt_lane(uintptr_t n)
{
    return (size_t)((n * 2654435761u) >> 7) % MT_LANES;
}

typedef struct consumer {
    ring *r;
    size_t lane;
    unsigned char *seen;    /* shared, but each item is popped by one thread */
    uint64_t got;
    uint64_t errors;        /* wrong lane, out of order, or seen twice */
    /* pool test: last number seen from each producer */
    uintptr_t last[3];
    int pool;
} consumer;

/* Returns NULL: pops until CLOSED, checking every item. */
static void *consumer_thread(void *arg)
{
    consumer *c = arg;
    uintptr_t last = 0;
    void *it;
    int rc;
    while ((rc = ring_pop(c->r, c->lane, &it)) == RING_OK) {
        uintptr_t n = NUM(it);
        if (n == 0 || n > 3 * (uintptr_t)MT_ITEMS) {
            c->errors++;
            continue;
        }
        if (c->pool) {
            /* item = producer * MT_ITEMS + k + 1: per producer, increasing */
            uintptr_t p = (n - 1) / MT_ITEMS;
            if (n <= c->last[p])
                c->errors++;
            c->last[p] = n;
        } else {
            if (mt_lane(n) != c->lane || n <= last)
                c->errors++;
            last = n;
        }
        if (c->seen[n]++)
            c->errors++;
        c->got++;
    }
    if (rc != RING_CLOSED)
        c->errors++;
    return NULL;
}

typedef struct producer {
    ring *r;
    uintptr_t first, count;
    int pool;
    uint64_t errors;
} producer;

/* Returns NULL: pushes first .. first+count-1 in order. */
static void *producer_thread(void *arg)
{
    producer *p = arg;
    for (uintptr_t n = p->first; n < p->first + p->count; n++)
        if (ring_push(p->r, p->pool ? 0 : mt_lane(n), ITEM(n)) != RING_OK)
            p->errors++;
    return NULL;
}

static void test_threads_lanes(void)
{
    double t0 = now();
    ring *r = ring_new(MT_LANES, 3);
    unsigned char *seen = calloc(MT_ITEMS + 1, 1);
    consumer cs[MT_LANES];
    pthread_t tc[MT_LANES], tp;
    for (size_t i = 0; i < MT_LANES; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].r = r;
        cs[i].lane = i;
        cs[i].seen = seen;
        pthread_create(&tc[i], NULL, consumer_thread, &cs[i]);
    }
    producer p = {.r = r, .first = 1, .count = MT_ITEMS};
    pthread_create(&tp, NULL, producer_thread, &p);
    pthread_join(tp, NULL);
    ring_close(r);
    uint64_t got = 0, errors = p.errors, expect[MT_LANES] = {0};
    for (uintptr_t n = 1; n <= MT_ITEMS; n++)
        expect[mt_lane(n)]++;
    for (size_t i = 0; i < MT_LANES; i++) {
        pthread_join(tc[i], NULL);
        got += cs[i].got;
        errors += cs[i].errors;
        CU_ASSERT_EQUAL(cs[i].got, expect[i]);
    }
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(got, MT_ITEMS);
    size_t once = 0;
    for (uintptr_t n = 1; n <= MT_ITEMS; n++)
        once += seen[n] == 1;
    CU_ASSERT_EQUAL(once, MT_ITEMS);
    CU_ASSERT_PTR_NULL(ring_drain(r));
    uint64_t pw, qw;
    ring_counters(r, &pw, &qw);
    printf("\n    lanes: %d items, push_waits %llu pop_waits %llu, %.2f s\n", MT_ITEMS,
           (unsigned long long)pw, (unsigned long long)qw, now() - t0);
    free(seen);
    ring_free(r);
}

static void test_threads_pool(void)
{
    enum { NPROD = 3, NCONS = 3 };
    double t0 = now();
    ring *r = ring_new(1, 3);
    unsigned char *seen = calloc(NPROD * (size_t)MT_ITEMS + 1, 1);
    consumer cs[NCONS];
    producer ps[NPROD];
    pthread_t tc[NCONS], tp[NPROD];
    for (size_t i = 0; i < NCONS; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].r = r;
        cs[i].lane = 0;
        cs[i].seen = seen;
        cs[i].pool = 1;
        pthread_create(&tc[i], NULL, consumer_thread, &cs[i]);
    }
    for (size_t i = 0; i < NPROD; i++) {
        /* 200,000 items in all: 66,667 + 66,667 + 66,666, numbered
         * i * MT_ITEMS + 1 .. so the producer can be read from the number */
        uintptr_t count = MT_ITEMS / NPROD + (i < MT_ITEMS % NPROD);
        ps[i] = (producer){.r = r, .first = i * MT_ITEMS + 1, .count = count, .pool = 1};
        pthread_create(&tp[i], NULL, producer_thread, &ps[i]);
    }
    uint64_t got = 0, errors = 0;
    for (size_t i = 0; i < NPROD; i++) {
        pthread_join(tp[i], NULL);
        errors += ps[i].errors;
    }
    ring_close(r);
    for (size_t i = 0; i < NCONS; i++) {
        pthread_join(tc[i], NULL);
        got += cs[i].got;
        errors += cs[i].errors;
    }
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT_EQUAL(got, MT_ITEMS);
    size_t once = 0, other = 0;
    for (size_t i = 0; i < NPROD; i++) {
        for (uintptr_t n = i * MT_ITEMS + 1; n <= (i + 1) * MT_ITEMS; n++) {
            if (n < ps[i].first + ps[i].count)
                once += seen[n] == 1;
            else
                other += seen[n] != 0;
        }
    }
    CU_ASSERT_EQUAL(once, MT_ITEMS);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_PTR_NULL(ring_drain(r));
    uint64_t pw, qw;
    ring_counters(r, &pw, &qw);
    printf("\n    pool: %d items, push_waits %llu pop_waits %llu, %.2f s\n", MT_ITEMS,
           (unsigned long long)pw, (unsigned long long)qw, now() - t0);
    free(seen);
    ring_free(r);
}

int main(void)
{
    UNIT_BEGIN("ring");
    UNIT_TEST(test_fifo_lanes);
    UNIT_TEST(test_close_drains);
    UNIT_TEST(test_abort_then_drain);
    UNIT_TEST(test_push_blocks_when_full);
    UNIT_TEST(test_pop_blocks_when_empty);
    UNIT_TEST(test_abort_wakes_waiters);
    UNIT_TEST(test_threads_lanes);
    UNIT_TEST(test_threads_pool);
    UNIT_END();
}
