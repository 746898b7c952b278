/* ring.h — bounded hand-off queues between the producer and the workers.
 *
 * A ring has `nlanes` lanes of `depth` slots each; lane i is read only by
 * worker i (records are routed to a worker by key, so each worker has its own
 * lane).  ring_push blocks while the lane is full (backpressure: nothing is
 * ever dropped); ring_pop blocks while it is empty.  ring_close says no more
 * items will come: pops drain what is queued, then return RING_CLOSED.
 * ring_abort wakes every waiter at once; pushes and pops then fail with
 * RING_ABORTED and queued items stay for ring_drain to hand back.
 *
 * All state is guarded by the ring's one mutex (`lock`).  Items are opaque
 * pointers; the ring never frees them.  A one-lane ring also serves as the
 * pool of empty batches. */
#ifndef MIGRATE_RING_H
#define MIGRATE_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct ring ring;

enum { RING_OK = 0, RING_CLOSED = 1, RING_ABORTED = -1 };

ring *ring_new(size_t nlanes, size_t depth);
/* Frees the ring itself (not the items still in it). */
void ring_free(ring *r);

/* Returns RING_OK, or RING_ABORTED (item not queued; caller still owns it).
 * Pushing after ring_close is a programming error (asserted). */
int ring_push(ring *r, size_t lane, void *item);
/* Returns RING_OK with *item set, RING_CLOSED when closed and the lane is
 * empty, or RING_ABORTED. */
int ring_pop(ring *r, size_t lane, void **item);
void ring_close(ring *r);
void ring_abort(ring *r);
/* Removes and returns one queued item from any lane, or NULL when empty
 * (used after abort to free what is left). */
void *ring_drain(ring *r);

/* Counters, read under the lock: how often push had to wait (lane full) and
 * pop had to wait (lane empty), summed over lanes. */
void ring_counters(ring *r, uint64_t *push_waits, uint64_t *pop_waits);
size_t ring_lanes(const ring *r);

#endif
