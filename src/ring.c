/* ring.c — the bounded hand-off between the producer and the workers.
 *
 * A ring owns `nlanes` circular arrays of `depth` slots (head + count per
 * lane), one mutex (`lock`) guarding all of them, and two condition variables
 * per lane: "not empty" for poppers, "not full" for pushers.  It owns the
 * slots, never the items: a pushed pointer is handed on, unchanged, to
 * whoever pops it from that lane (or to ring_drain after an abort). */
#include "config.h"
#include "ring.h"
#include "err.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

typedef struct ring_lane {
    void **slots;              /* depth slots */
    size_t head;               /* index of the oldest item */
    size_t count;              /* items queued, 0..depth */
    pthread_cond_t not_empty;  /* signalled after a push, on close and abort */
    pthread_cond_t not_full;   /* signalled after a pop and on abort */
} ring_lane;

struct ring {
    pthread_mutex_t lock;      /* guards everything below */
    size_t nlanes, depth;
    ring_lane *lanes;
    int closed;                /* no more pushes; pops drain then CLOSED */
    int aborted;               /* pushes and pops fail at once */
    uint64_t push_waits, pop_waits;
};

/* ---- lane helpers (call with the lock held) ---- */

/* Returns the lane, after checking its index invariants. */
static ring_lane *lane_get(ring *r, size_t lane)
{
    assert(lane < r->nlanes);
    ring_lane *l = &r->lanes[lane];
    assert(l->head < r->depth);
    assert(l->count <= r->depth);
    return l;
}

/* Returns nothing: appends item at the tail of a lane that is not full. */
static void lane_put(ring *r, ring_lane *l, void *item)
{
    assert(l->count < r->depth);
    size_t tail = (l->head + l->count) % r->depth;
    l->slots[tail] = item;
    l->count++;
}

/* Returns the oldest item of a lane that is not empty, removing it. */
static void *lane_take(ring *r, ring_lane *l)
{
    assert(l->count > 0);
    void *item = l->slots[l->head];
    l->slots[l->head] = NULL;
    l->head = (l->head + 1) % r->depth;
    l->count--;
    return item;
}

/* ---- life cycle ---- */

ring *ring_new(size_t nlanes, size_t depth)
{
    assert(nlanes > 0 && depth > 0);
    ring *r = xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    r->nlanes = nlanes;
    r->depth = depth;
    r->lanes = xcalloc(nlanes, sizeof *r->lanes);
    for (size_t i = 0; i < nlanes; i++) {
        r->lanes[i].slots = xcalloc(depth, sizeof(void *));
        pthread_cond_init(&r->lanes[i].not_empty, NULL);
        pthread_cond_init(&r->lanes[i].not_full, NULL);
    }
    return r;
}

void ring_free(ring *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nlanes; i++) {
        pthread_cond_destroy(&r->lanes[i].not_empty);
        pthread_cond_destroy(&r->lanes[i].not_full);
        free(r->lanes[i].slots);
    }
    free(r->lanes);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ---- push and pop ---- */

int ring_push(ring *r, size_t lane, void *item)
{
    pthread_mutex_lock(&r->lock);
    ring_lane *l = lane_get(r, lane);
    assert((r->aborted || !r->closed) && "ring_push after ring_close");
    if (!r->aborted && l->count == r->depth) {
        r->push_waits++;
        while (!r->aborted && l->count == r->depth)
            pthread_cond_wait(&l->not_full, &r->lock);
    }
    if (r->aborted) {
        pthread_mutex_unlock(&r->lock);
        return RING_ABORTED;
    }
    lane_put(r, l, item);
    /* signalled under the lock (helgrind-clean); ring ops are per batch */
    pthread_cond_signal(&l->not_empty);
    pthread_mutex_unlock(&r->lock);
    return RING_OK;
}

int ring_pop(ring *r, size_t lane, void **item)
{
    int rc = RING_OK;
    pthread_mutex_lock(&r->lock);
    ring_lane *l = lane_get(r, lane);
    if (!r->aborted && !r->closed && l->count == 0) {
        r->pop_waits++;
        while (!r->aborted && !r->closed && l->count == 0)
            pthread_cond_wait(&l->not_empty, &r->lock);
    }
    if (r->aborted) {
        rc = RING_ABORTED;
    } else if (l->count > 0) {
        *item = lane_take(r, l);
        pthread_cond_signal(&l->not_full);
    } else {
        assert(r->closed);
        rc = RING_CLOSED;
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* ---- ending: close, abort, drain ---- */

void ring_close(ring *r)
{
    pthread_mutex_lock(&r->lock);
    r->closed = 1;
    for (size_t i = 0; i < r->nlanes; i++)
        pthread_cond_broadcast(&r->lanes[i].not_empty);
    pthread_mutex_unlock(&r->lock);
}

void ring_abort(ring *r)
{
    pthread_mutex_lock(&r->lock);
    r->aborted = 1;
    for (size_t i = 0; i < r->nlanes; i++) {
        pthread_cond_broadcast(&r->lanes[i].not_empty);
        pthread_cond_broadcast(&r->lanes[i].not_full);
    }
    pthread_mutex_unlock(&r->lock);
}

void *ring_drain(ring *r)
{
    void *item = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->nlanes && !item; i++) {
        ring_lane *l = lane_get(r, i);
        if (l->count > 0) {
            item = lane_take(r, l);
            pthread_cond_signal(&l->not_full);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return item;
}

/* ---- counters ---- */

void ring_counters(ring *r, uint64_t *push_waits, uint64_t *pop_waits)
{
    pthread_mutex_lock(&r->lock);
    if (push_waits)
        *push_waits = r->push_waits;
    if (pop_waits)
        *pop_waits = r->pop_waits;
    pthread_mutex_unlock(&r->lock);
}

size_t ring_lanes(const ring *r)
{
    return r->nlanes;
}
