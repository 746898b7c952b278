/* keyset.c — a worker's set of row keys already seen in this run.
 *
 * Open addressing with linear probing over a power-of-two array of slots,
 * grown by doubling before the load passes 0.7.  Every slot starts with a
 * non-zero tag derived from the key's 64-bit hash (0 marks an empty slot);
 * growth re-places slots from their tags and never re-reads key bytes.
 *
 *   fixed-width mode (1..16 byte keys): slot = 32-bit tag + the key bytes
 *     inline, rounded up to 4 (8-byte keys: 12-byte slots, 16-byte keys:
 *     20-byte slots, so 10M two-integer keys fit in 2^24 * 20 = 336 MB);
 *   variable mode: slot = 64-bit tag + 32-bit arena offset + 32-bit length
 *     (16 bytes); the key bytes are appended to one growable arena.
 *
 * The set owns the slot array and the arena; it keeps copies, never the
 * caller's pointers.  Not thread-safe: one worker owns each set. */
#include "config.h"
#include "keyset.h"
#include "err.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define KS_MIN_BITS 4             /* smallest table: 16 slots */
#define KS_FIXED_MAX 16           /* widest inline key */
#define KS_FIB 0x9e3779b97f4a7c15ull

/* Variable-mode slot. */
typedef struct ks_vslot {
    uint64_t tag;                 /* hash, 0 remapped to 1; 0 = empty */
    uint32_t off;                 /* key bytes at arena + off */
    uint32_t len;
} ks_vslot;

struct keyset {
    size_t width;                 /* key bytes in fixed mode, 0 = variable */
    size_t stride;                /* bytes per slot */
    unsigned char *slots;         /* (mask + 1) * stride bytes, zero = empty */
    size_t mask;                  /* slots - 1 */
    unsigned shift;               /* 64 - log2(slots): index = top bits */
    size_t count;                 /* keys held */
    size_t limit;                 /* grow before count exceeds this */
    unsigned char *arena;         /* variable mode: all key bytes */
    size_t arena_len, arena_cap;
};

/* ---- the hash: a wyhash-style multiply-fold over 8-byte reads ---- */

#define KS_P0 0xa0761d6478bd642full
#define KS_P1 0xe7037ed1a0b428dbull
#define KS_P2 0x8ebc6af09c88c6e3ull
#define KS_P3 0x589965cc75374cc3ull

/* Returns the 128-bit product of *a and *b split as *a = low, *b = high. */
static inline void ks_mum(uint64_t *a, uint64_t *b)
{
#ifdef __SIZEOF_INT128__
    __uint128_t r = (__uint128_t)*a * *b;
    *a = (uint64_t)r;
    *b = (uint64_t)(r >> 64);
#else
    uint64_t ha = *a >> 32, la = (uint32_t)*a, hb = *b >> 32, lb = (uint32_t)*b;
    uint64_t rh = ha * hb, rm0 = ha * lb, rm1 = hb * la, rl = la * lb;
    uint64_t t = rl + (rm0 << 32), c = t < rl;
    uint64_t lo = t + (rm1 << 32);
    c += lo < t;
    *a = lo;
    *b = rh + (rm0 >> 32) + (rm1 >> 32) + c;
#endif
}

/* Returns the low and high halves of a * b folded together by xor. */
static inline uint64_t ks_mix(uint64_t a, uint64_t b)
{
    ks_mum(&a, &b);
    return a ^ b;
}

/* Returns 8 bytes at p as a native-endian integer. */
static inline uint64_t ks_rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Returns 4 bytes at p as a native-endian integer. */
static inline uint64_t ks_rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

uint64_t keyset_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t seed = ks_mix(KS_P0, KS_P1), a, b;
    if (len <= 16) {
        if (len >= 4) {
            size_t mid = (len >> 3) << 2;
            a = (ks_rd32(p) << 32) | ks_rd32(p + mid);
            b = (ks_rd32(p + len - 4) << 32) | ks_rd32(p + len - 4 - mid);
        } else if (len > 0) {
            a = ((uint64_t)p[0] << 16) | ((uint64_t)p[len >> 1] << 8) | p[len - 1];
            b = 0;
        } else {
            a = b = 0;
        }
    } else {
        size_t i = len;
        if (i > 48) {
            uint64_t s1 = seed, s2 = seed;
            do {
                seed = ks_mix(ks_rd64(p) ^ KS_P1, ks_rd64(p + 8) ^ seed);
                s1 = ks_mix(ks_rd64(p + 16) ^ KS_P2, ks_rd64(p + 24) ^ s1);
                s2 = ks_mix(ks_rd64(p + 32) ^ KS_P3, ks_rd64(p + 40) ^ s2);
                p += 48;
                i -= 48;
            } while (i > 48);
            seed ^= s1 ^ s2;
        }
        while (i > 16) {
            seed = ks_mix(ks_rd64(p) ^ KS_P1, ks_rd64(p + 8) ^ seed);
            p += 16;
            i -= 16;
        }
        a = ks_rd64(p + i - 16);
        b = ks_rd64(p + i - 8);
    }
    a ^= KS_P1;
    b ^= seed;
    ks_mum(&a, &b);
    return ks_mix(a ^ KS_P0 ^ len, b ^ KS_P1);
}

/* ---- slots and tags ---- */

/* Returns the fixed-mode tag of a hash: its top 32 bits, never 0. */
static inline uint32_t ks_ftag(uint64_t hash)
{
    uint32_t t = (uint32_t)(hash >> 32);
    return t ? t : 1;
}

/* Returns the variable-mode tag of a hash: the hash, never 0. */
static inline uint64_t ks_vtag(uint64_t hash)
{
    return hash ? hash : 1;
}

/* Returns the home slot of a tag (Fibonacci hashing, so that keys routed to
 * this worker by some bits of the hash still spread over the whole table). */
static inline size_t ks_home(const keyset *ks, uint64_t tag)
{
    return (size_t)((tag * KS_FIB) >> ks->shift);
}

/* Returns a pointer to slot i. */
static inline unsigned char *ks_slot(const keyset *ks, size_t i)
{
    return ks->slots + i * ks->stride;
}

/* Returns the tag stored in slot s (0 when empty), whatever the mode. */
static inline uint64_t ks_slot_tag(const keyset *ks, const unsigned char *s)
{
    if (ks->width) {
        uint32_t t;
        memcpy(&t, s, 4);
        return t;
    }
    return ((const ks_vslot *)(const void *)s)->tag;
}

/* Returns nothing: allocates an empty table of 2^bits slots. */
static void ks_alloc_table(keyset *ks, unsigned bits)
{
    size_t n = (size_t)1 << bits;
    ks->slots = xcalloc(n, ks->stride);
    ks->mask = n - 1;
    ks->shift = 64 - bits;
    ks->limit = n * 7 / 10;      /* load factor <= 0.7 */
    assert(ks->limit < n);
}

/* Returns nothing: doubles the table, re-placing every slot by its tag. */
static void ks_grow(keyset *ks)
{
    unsigned char *old = ks->slots;
    size_t oldn = ks->mask + 1, stride = ks->stride;
    unsigned bits = 64 - ks->shift + 1;
    /* fixed-mode tags carry 32 bits of hash: enough for 2^32 slots */
    assert(bits <= 32 || !ks->width);
    ks_alloc_table(ks, bits);
    for (size_t i = 0; i < oldn; i++) {
        const unsigned char *s = old + i * stride;
        uint64_t tag = ks_slot_tag(ks, s);
        if (!tag)
            continue;
        size_t j = ks_home(ks, tag);
        while (ks_slot_tag(ks, ks_slot(ks, j)))
            j = (j + 1) & ks->mask;
        memcpy(ks_slot(ks, j), s, stride);
    }
    free(old);
}

/* ---- lookups: each returns the matching slot, or the empty slot that ends
 * the probe (and *found = 0) ---- */

/* Returns the slot index for a fixed-width key. */
static size_t ks_find_fixed(const keyset *ks, uint64_t hash, const void *key, int *found)
{
    uint32_t tag = ks_ftag(hash);
    size_t i = ks_home(ks, tag), w = ks->width;
    for (;;) {
        const unsigned char *s = ks_slot(ks, i);
        uint32_t t;
        memcpy(&t, s, 4);
        if (!t) {
            *found = 0;
            return i;
        }
        if (t == tag && memcmp(s + 4, key, w) == 0) {
            *found = 1;
            return i;
        }
        i = (i + 1) & ks->mask;
    }
}

/* Returns the slot index for a variable-length key. */
static size_t ks_find_var(const keyset *ks, uint64_t hash, const void *key, size_t len,
                          int *found)
{
    uint64_t tag = ks_vtag(hash);
    size_t i = ks_home(ks, tag);
    for (;;) {
        const ks_vslot *s = (const ks_vslot *)(const void *)ks_slot(ks, i);
        if (!s->tag) {
            *found = 0;
            return i;
        }
        if (s->tag == tag && s->len == len &&
            (len == 0 || memcmp(ks->arena + s->off, key, len) == 0)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & ks->mask;
    }
}

/* Returns the arena offset of a fresh copy of key (len bytes). */
static uint32_t ks_arena_add(keyset *ks, const void *key, size_t len)
{
    /* offsets and lengths are 32-bit: the arena stays below 4 GB */
    assert(len <= UINT32_MAX && ks->arena_len <= UINT32_MAX - len);
    if (ks->arena_len + len > ks->arena_cap) {
        size_t cap = ks->arena_cap ? ks->arena_cap * 2 : 4096;
        while (cap < ks->arena_len + len)
            cap *= 2;
        ks->arena = xrealloc(ks->arena, cap);
        ks->arena_cap = cap;
    }
    uint32_t off = (uint32_t)ks->arena_len;
    if (len)
        memcpy(ks->arena + off, key, len);
    ks->arena_len += len;
    return off;
}

/* ---- public interface ---- */

keyset *keyset_new(size_t fixed_width)
{
    assert(fixed_width <= KS_FIXED_MAX);
    keyset *ks = xcalloc(1, sizeof *ks);
    ks->width = fixed_width;
    ks->stride = fixed_width ? 4 + ((fixed_width + 3) & ~(size_t)3) : sizeof(ks_vslot);
    ks_alloc_table(ks, KS_MIN_BITS);
    return ks;
}

void keyset_free(keyset *ks)
{
    if (!ks)
        return;
    free(ks->slots);
    free(ks->arena);
    free(ks);
}

int keyset_insert_hashed(keyset *ks, uint64_t hash, const void *key, size_t len)
{
    int found;
    size_t i;
    assert(!ks->width || len == ks->width);
    i = ks->width ? ks_find_fixed(ks, hash, key, &found) : ks_find_var(ks, hash, key, len, &found);
    if (found)
        return 0;
    if (ks->count + 1 > ks->limit) {
        ks_grow(ks);
        i = ks->width ? ks_find_fixed(ks, hash, key, &found)
                      : ks_find_var(ks, hash, key, len, &found);
        assert(!found);
    }
    unsigned char *s = ks_slot(ks, i);
    if (ks->width) {
        uint32_t tag = ks_ftag(hash);
        memcpy(s, &tag, 4);
        memcpy(s + 4, key, len);
    } else {
        ks_vslot *v = (ks_vslot *)(void *)s;
        v->off = ks_arena_add(ks, key, len);
        v->len = (uint32_t)len;
        v->tag = ks_vtag(hash);
    }
    ks->count++;
    assert(ks->count <= ks->limit);
    return 1;
}

int keyset_contains_hashed(const keyset *ks, uint64_t hash, const void *key, size_t len)
{
    int found;
    if (ks->width) {
        if (len != ks->width)
            return 0;
        ks_find_fixed(ks, hash, key, &found);
    } else {
        ks_find_var(ks, hash, key, len, &found);
    }
    return found;
}

int keyset_insert(keyset *ks, const void *key, size_t len)
{
    return keyset_insert_hashed(ks, keyset_hash(key, len), key, len);
}

int keyset_contains(const keyset *ks, const void *key, size_t len)
{
    return keyset_contains_hashed(ks, keyset_hash(key, len), key, len);
}

size_t keyset_size(const keyset *ks)
{
    return ks->count;
}

size_t keyset_memory(const keyset *ks)
{
    return (ks->mask + 1) * ks->stride + ks->arena_cap;
}

size_t keyset_memory_after(const keyset *ks, size_t len)
{
    size_t slots = (ks->mask + 1) * ks->stride, arena = ks->arena_cap;
    if (ks->count + 1 > ks->limit)
        slots *= 2;
    if (!ks->width && ks->arena_len + len > arena) {
        size_t cap = arena ? arena * 2 : 4096;
        while (cap < ks->arena_len + len)
            cap *= 2;
        arena = cap;
    }
    return slots + arena;
}
