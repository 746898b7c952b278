/* test_keyset.c — the key set: exact insert/contains semantics in both modes,
 * collisions, growth, the hash, and the 10M-key memory figure. */
#include "config.h"
#include "unit.h"
#include "keyset.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* ---- helpers ---- */

/* Returns seconds on the monotonic clock. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Returns nothing: writes the two-integer key (a, b) into k. */
static void key2(unsigned char k[16], int64_t a, int64_t b)
{
    memcpy(k, &a, 8);
    memcpy(k + 8, &b, 8);
}

/* ---- the hash ---- */

static void test_hash_values(void)
{
    const char *abc = "abc";
    CU_ASSERT_EQUAL(keyset_hash(abc, 3), keyset_hash("abcd", 3));   /* bytes, not pointer */
    CU_ASSERT_NOT_EQUAL(keyset_hash("abc", 3), keyset_hash("abc", 2));
    CU_ASSERT_NOT_EQUAL(keyset_hash("", 0), keyset_hash("\0", 1));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* pinned: the producer routes by this hash, so it must never drift */
    CU_ASSERT_EQUAL(keyset_hash("", 0), 0x0409638ee2bde459ull);
    CU_ASSERT_EQUAL(keyset_hash("a", 1), 0x28d2053309d28531ull);
    CU_ASSERT_EQUAL(keyset_hash("abc", 3), 0x02a4f1d7cb516c72ull);
    CU_ASSERT_EQUAL(keyset_hash("abcd", 4), 0x48dfe2b09ab52113ull);
    CU_ASSERT_EQUAL(keyset_hash("applicant-000001", 16), 0xd8a7f69acbe1ce6aull);
    CU_ASSERT_EQUAL(keyset_hash("0123456789abcdef0", 17), 0xfc73b51a64346870ull);
    const char *fox = "The quick brown fox jumps over the lazy dog, twice over.";
    CU_ASSERT_EQUAL(keyset_hash(fox, strlen(fox)), 0x9dfe5e5038b77d04ull);
    unsigned char k[16];
    key2(k, 1, 2);
    CU_ASSERT_EQUAL(keyset_hash(k, 16), 0x6fd8f06c9d19d2bbull);
#endif
    /* every prefix length of one string hashes differently */
    char buf[130];
    memset(buf, 'x', sizeof buf);
    uint64_t h[130];
    int dup = 0;
    for (size_t n = 0; n < 130; n++) {
        h[n] = keyset_hash(buf, n);
        for (size_t m = 0; m < n; m++)
            dup += h[m] == h[n];
    }
    CU_ASSERT_EQUAL(dup, 0);
}

static void test_hash_spread(void)
{
    /* sequential integer keys spread evenly over the top and the low bits
     * (the router may use either): 256 buckets, each within 10 % */
    enum { N = 256 * 4000 };
    static unsigned hi[256], lo[256];
    memset(hi, 0, sizeof hi);
    memset(lo, 0, sizeof lo);
    for (int64_t i = 0; i < N; i++) {
        uint64_t h = keyset_hash(&i, 8);
        hi[h >> 56]++;
        lo[h & 255]++;
    }
    int bad = 0;
    for (int b = 0; b < 256; b++)
        bad += hi[b] < 3600 || hi[b] > 4400 || lo[b] < 3600 || lo[b] > 4400;
    CU_ASSERT_EQUAL(bad, 0);
}

/* ---- semantics ---- */

static void test_fixed_semantics(void)
{
    keyset *ks = keyset_new(8);
    int64_t a = 42, b = 43, neg = -1;
    CU_ASSERT_EQUAL(keyset_size(ks), 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, &a, 8), 0);
    CU_ASSERT_EQUAL(keyset_insert(ks, &a, 8), 1);
    CU_ASSERT_EQUAL(keyset_insert(ks, &a, 8), 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, &a, 8), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, &b, 8), 0);
    CU_ASSERT_EQUAL(keyset_insert(ks, &neg, 8), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, &neg, 8), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, &a, 4), 0);   /* wrong width: absent */
    CU_ASSERT_EQUAL(keyset_size(ks), 2);
    /* 8-byte keys: 16 slots of 12 bytes (32-bit tag + 8 key bytes) */
    CU_ASSERT_EQUAL(keyset_memory(ks), 16 * 12);
    keyset_free(ks);

    /* odd widths: 3 and 13 bytes */
    ks = keyset_new(3);
    CU_ASSERT_EQUAL(keyset_insert(ks, "abc", 3), 1);
    CU_ASSERT_EQUAL(keyset_insert(ks, "abd", 3), 1);
    CU_ASSERT_EQUAL(keyset_insert(ks, "abc", 3), 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, "abd", 3), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, "abe", 3), 0);
    CU_ASSERT_EQUAL(keyset_size(ks), 2);
    keyset_free(ks);
    ks = keyset_new(13);
    CU_ASSERT_EQUAL(keyset_insert(ks, "0123456789abc", 13), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, "0123456789abd", 13), 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, "0123456789abc", 13), 1);
    CU_ASSERT_EQUAL(keyset_memory(ks), 16 * 20);
    keyset_free(ks);
}

static void test_variable_semantics(void)
{
    keyset *ks = keyset_new(0);
    /* the same prefix at many lengths, the empty key, an embedded NUL */
    const char *keys[] = {"", "a", "ab", "abc", "abcd", "abcdefgh", "abcdefghi",
                          "abcdefghijklmnop", "abcdefghijklmnopq", "b", "ba"};
    size_t n = sizeof keys / sizeof keys[0];
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(keyset_contains(ks, keys[i], strlen(keys[i])), 0);
        CU_ASSERT_EQUAL(keyset_insert(ks, keys[i], strlen(keys[i])), 1);
    }
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(keyset_insert(ks, keys[i], strlen(keys[i])), 0);
        CU_ASSERT_EQUAL(keyset_contains(ks, keys[i], strlen(keys[i])), 1);
    }
    CU_ASSERT_EQUAL(keyset_size(ks), n);
    CU_ASSERT_EQUAL(keyset_contains(ks, "abcde", 5), 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, "abcdefghijklmno", 15), 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, "abcdefghijklmnopqr", 17), 1);   /* = "...q" */
    CU_ASSERT_EQUAL(keyset_contains(ks, "a\0", 2), 0);
    CU_ASSERT_EQUAL(keyset_insert(ks, "a\0", 2), 1);
    CU_ASSERT_EQUAL(keyset_insert(ks, "a\0b", 3), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, "a\0b", 3), 1);
    CU_ASSERT_EQUAL(keyset_contains(ks, "a\0c", 3), 0);
    CU_ASSERT_EQUAL(keyset_size(ks), n + 2);
    /* a long key, longer than one hash round */
    char big[1000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)('a' + i % 26);
    CU_ASSERT_EQUAL(keyset_insert(ks, big, sizeof big), 1);
    big[999] = 'Z';
    CU_ASSERT_EQUAL(keyset_contains(ks, big, sizeof big), 0);
    CU_ASSERT_EQUAL(keyset_insert(ks, big, sizeof big), 1);
    big[0] = 'Z';
    CU_ASSERT_EQUAL(keyset_contains(ks, big, sizeof big), 0);
    CU_ASSERT_EQUAL(keyset_size(ks), n + 4);
    /* 15 keys: 32 slots of 16 bytes + the first arena block */
    CU_ASSERT_EQUAL(keyset_memory(ks), 32 * 16 + 4096);
    keyset_free(ks);
}

static void test_same_hash_different_bytes(void)
{
    /* force equal hashes (and hence equal tags and home slots): only the
     * key bytes tell the keys apart */
    keyset *v = keyset_new(0);
    keyset *f = keyset_new(4);
    const uint64_t h = 0x1234567800000000ull;
    const char *k[] = {"k001", "k002", "k003", "k004", "k005", "k006", "k007",
                       "k008", "k009", "k010", "k011", "k012", "k013", "k014"};
    for (size_t i = 0; i < 14; i++) {
        CU_ASSERT_EQUAL(keyset_insert_hashed(v, h, k[i], 4), 1);
        CU_ASSERT_EQUAL(keyset_insert_hashed(f, h, k[i], 4), 1);
    }
    for (size_t i = 0; i < 14; i++) {
        CU_ASSERT_EQUAL(keyset_insert_hashed(v, h, k[i], 4), 0);
        CU_ASSERT_EQUAL(keyset_insert_hashed(f, h, k[i], 4), 0);
        CU_ASSERT_EQUAL(keyset_contains_hashed(v, h, k[i], 4), 1);
        CU_ASSERT_EQUAL(keyset_contains_hashed(f, h, k[i], 4), 1);
    }
    CU_ASSERT_EQUAL(keyset_contains_hashed(v, h, "k015", 4), 0);
    CU_ASSERT_EQUAL(keyset_contains_hashed(f, h, "k015", 4), 0);
    CU_ASSERT_EQUAL(keyset_contains_hashed(v, h, "k00", 3), 0);
    /* hashes that differ only in the low 32 bits, and a zero hash */
    CU_ASSERT_EQUAL(keyset_insert_hashed(f, h | 1, "x001", 4), 1);
    CU_ASSERT_EQUAL(keyset_insert_hashed(f, 0, "x002", 4), 1);
    CU_ASSERT_EQUAL(keyset_insert_hashed(v, 0, "x002", 4), 1);
    CU_ASSERT_EQUAL(keyset_contains_hashed(f, h | 1, "x001", 4), 1);
    CU_ASSERT_EQUAL(keyset_contains_hashed(f, 0, "x002", 4), 1);
    CU_ASSERT_EQUAL(keyset_contains_hashed(v, 0, "x002", 4), 1);
    CU_ASSERT_EQUAL(keyset_contains_hashed(v, 0, "x001", 4), 0);
    CU_ASSERT_EQUAL(keyset_size(v), 15);
    CU_ASSERT_EQUAL(keyset_size(f), 16);
    /* the 14 + 2 keys grew f from 16 to 32 slots: all still there */
    for (size_t i = 0; i < 14; i++)
        CU_ASSERT_EQUAL(keyset_contains_hashed(f, h, k[i], 4), 1);
    CU_ASSERT_EQUAL(keyset_memory(f), 32 * 8);
    keyset_free(v);
    keyset_free(f);
}

/* ---- growth ---- */

static void test_growth_fixed(void)
{
    enum { N = 200000 };
    keyset *ks = keyset_new(16);
    unsigned char k[16];
    size_t added = 0;
    for (int64_t i = 0; i < N; i++) {
        key2(k, i, -i);
        added += (size_t)keyset_insert(ks, k, 16);
    }
    CU_ASSERT_EQUAL(added, N);
    CU_ASSERT_EQUAL(keyset_size(ks), N);
    size_t found = 0, absent = 0;
    for (int64_t i = 0; i < N; i++) {
        key2(k, i, -i);
        found += (size_t)keyset_contains(ks, k, 16);
        key2(k, i, i + 1);          /* same first half, other second half */
        absent += (size_t)!keyset_contains(ks, k, 16);
    }
    CU_ASSERT_EQUAL(found, N);
    CU_ASSERT_EQUAL(absent, N);
    /* 200,000 / 0.7 -> 2^19 slots of 20 bytes, after 15 doublings */
    CU_ASSERT_EQUAL(keyset_memory(ks), ((size_t)1 << 19) * 20);
    keyset_free(ks);
}

static void test_growth_variable(void)
{
    enum { N = 100000 };
    keyset *ks = keyset_new(0);
    char k[64];
    size_t added = 0, again = 0, bytes = 0;
    for (int i = 0; i < N; i++) {
        /* lengths 6..~40: "<i>" followed by i % 32 filler bytes */
        int n = snprintf(k, sizeof k, "%d|", i);
        memset(k + n, '.', (size_t)(i % 32));
        n += i % 32;
        bytes += (size_t)n;
        added += (size_t)keyset_insert(ks, k, (size_t)n);
        again += (size_t)keyset_insert(ks, k, (size_t)n);   /* second insert: 0 */
    }
    CU_ASSERT_EQUAL(added, N);
    CU_ASSERT_EQUAL(again, 0);
    CU_ASSERT_EQUAL(keyset_size(ks), N);
    size_t found = 0, absent = 0;
    for (int i = 0; i < N; i++) {
        int n = snprintf(k, sizeof k, "%d|", i);
        memset(k + n, '.', (size_t)(i % 32));
        n += i % 32;
        found += (size_t)keyset_contains(ks, k, (size_t)n);
        k[n] = '.';
        absent += (size_t)!keyset_contains(ks, k, (size_t)n + 1);   /* one '.' more */
    }
    CU_ASSERT_EQUAL(found, N);
    CU_ASSERT_EQUAL(absent, N);
    /* 2^18 slots of 16 bytes + an arena that doubled from 4096 past bytes */
    size_t arena = keyset_memory(ks) - ((size_t)1 << 18) * 16;
    CU_ASSERT_TRUE(arena >= bytes && arena < 2 * bytes);
    CU_ASSERT_EQUAL(arena & (arena - 1), 0);
    keyset_free(ks);
}

/* ---- the required memory figure ---- */

static void test_ten_million_keys(void)
{
    size_t n = 10000000;
    if (getenv("MIGRATE_TEST_QUICK")) {
        n = 100000;
        printf("\n    MIGRATE_TEST_QUICK set: %zu keys instead of 10,000,000", n);
    }
    keyset *ks = keyset_new(16);
    unsigned char k[16];
    size_t added = 0;
    double t0 = now();
    for (size_t i = 0; i < n; i++) {
        /* two integers, as (application id, sequence) */
        key2(k, (int64_t)(i / 7) + 1000000, (int64_t)(i % 7));
        added += (size_t)keyset_insert(ks, k, 16);
    }
    double t1 = now();
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        key2(k, (int64_t)(i / 7) + 1000000, (int64_t)(i % 7));
        found += (size_t)keyset_contains(ks, k, 16);
    }
    key2(k, 999999, 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, k, 16), 0);
    key2(k, (int64_t)(n / 7) + 1000001, 0);
    CU_ASSERT_EQUAL(keyset_contains(ks, k, 16), 0);
    double t2 = now();
    size_t mem = keyset_memory(ks);
    CU_ASSERT_EQUAL(added, n);
    CU_ASSERT_EQUAL(found, n);
    CU_ASSERT_EQUAL(keyset_size(ks), n);
    CU_ASSERT_TRUE(mem < (size_t)400 * 1000 * 1000);
    printf("\n    %zu keys of 16 bytes: keyset_memory %zu bytes (%.1f MB), %.1f bytes/key;"
           "\n    insert %.2f s (%.1f M/s), lookup %.2f s (%.1f M/s)\n",
           n, mem, mem / 1e6, (double)mem / (double)n, t1 - t0, n / (t1 - t0) / 1e6,
           t2 - t1, n / (t2 - t1) / 1e6);
    keyset_free(ks);
}

int main(void)
{
    UNIT_BEGIN("keyset");
    UNIT_TEST(test_hash_values);
    UNIT_TEST(test_hash_spread);
    UNIT_TEST(test_fixed_semantics);
    UNIT_TEST(test_variable_semantics);
    UNIT_TEST(test_same_hash_different_bytes);
    UNIT_TEST(test_growth_fixed);
    UNIT_TEST(test_growth_variable);
    UNIT_TEST(test_ten_million_keys);
    UNIT_END();
}
