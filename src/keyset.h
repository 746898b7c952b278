/* keyset.h — a set of row keys, one per table per worker, so that a key seen
 * before in this run is settled without asking the database.
 *
 * Open addressing (linear probing) over a power-of-two table of slots.  Each
 * slot holds the key's 64-bit hash; the key bytes live in one arena (or, when
 * every key column is an integer and the key is at most 16 bytes, inline in
 * the slot: fixed-width mode).  No per-key allocation.  Not thread-safe: one
 * worker owns each set. */
#ifndef MIGRATE_KEYSET_H
#define MIGRATE_KEYSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct keyset keyset;

/* fixed_width: > 0 means every key is exactly that many bytes (<= 16) and is
 * stored inline in the slot; 0 means variable-length keys kept in an arena. */
keyset *keyset_new(size_t fixed_width);
void keyset_free(keyset *ks);

/* 64-bit hash of key bytes (the same function the producer uses to route). */
uint64_t keyset_hash(const void *key, size_t len);

/* Returns 1 if the key was added, 0 if it was already present. */
int keyset_insert(keyset *ks, const void *key, size_t len);
/* Returns 1 if present, else 0. */
int keyset_contains(const keyset *ks, const void *key, size_t len);
/* Same with the hash already computed (hash == keyset_hash(key, len)). */
int keyset_insert_hashed(keyset *ks, uint64_t hash, const void *key, size_t len);
int keyset_contains_hashed(const keyset *ks, uint64_t hash, const void *key, size_t len);

size_t keyset_size(const keyset *ks);
/* Returns the bytes the set holds (slots + arena). */
size_t keyset_memory(const keyset *ks);
/* Returns the bytes the set would hold after adding one new key of len
 * bytes (it doubles its slots or its arena when full). */
size_t keyset_memory_after(const keyset *ks, size_t len);

#endif
