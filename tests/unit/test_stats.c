/* test_stats.c — the run's accounting: counters add up, stats_check passes
 * or names the first mismatch, and concurrent updates lose nothing. */
#include "config.h"
#include "unit.h"
#include "stats.h"

#include <pthread.h>
#include <string.h>

/* ---- counting ---- */

static void test_counts(void)
{
    char t0[] = "applications", t1[] = "inventors";
    const char *names[] = {t0, t1};
    stats *s = stats_new(names, 2, 3);
    t0[0] = 'X';                        /* stats_new copied the names */
    CU_ASSERT_STRING_EQUAL(s->tables[0].name, "applications");
    CU_ASSERT_STRING_EQUAL(s->tables[1].name, "inventors");
    CU_ASSERT_EQUAL(s->ntables, 2);
    CU_ASSERT_EQUAL(s->nworkers, 3);
    CU_ASSERT_EQUAL(s->workers[2].batches, 0);
    CU_ASSERT_EQUAL(s->nfiles, 0);

    char fname[] = "a.xml";
    CU_ASSERT_EQUAL(stats_add_file(s, fname), 0);
    fname[0] = 'z';
    CU_ASSERT_EQUAL(stats_add_file(s, "b.xml.gz"), 1);
    for (int i = 2; i < 20; i++)        /* grow the file table */
        CU_ASSERT_EQUAL(stats_add_file(s, "more.xml"), (uint32_t)i);
    CU_ASSERT_EQUAL(s->nfiles, 20);
    CU_ASSERT_STRING_EQUAL(s->files[0].name, "a.xml");
    CU_ASSERT_STRING_EQUAL(s->files[1].name, "b.xml.gz");
    CU_ASSERT_EQUAL(s->files[1].state, FILE_PENDING);

    stats_add_read(s, 0, 10);
    stats_add_read(s, 0, 5);
    stats_add_read(s, 1, 7);
    stats_add_outcome(s, 0, 9, 4, 2);
    stats_add_outcome(s, 1, 3, 0, 1);
    stats_add_outcome(s, 1, 2, 1, 0);
    CU_ASSERT_EQUAL(s->files[0].read, 15);
    CU_ASSERT_EQUAL(s->files[0].loaded, 9);
    CU_ASSERT_EQUAL(s->files[0].duplicates, 4);
    CU_ASSERT_EQUAL(s->files[0].rejected, 2);
    CU_ASSERT_EQUAL(s->files[1].loaded, 5);
    CU_ASSERT_EQUAL(s->files[1].duplicates, 1);
    CU_ASSERT_EQUAL(s->files[1].rejected, 1);

    stats_add_rows(s, 1, 100, 20, 3, 4);
    stats_add_rows(s, 1, 1, 2, 3, 4);
    stats_add_rows(s, 0, 9, 0, 0, 0);
    CU_ASSERT_EQUAL(s->tables[1].inserted, 101);
    CU_ASSERT_EQUAL(s->tables[1].dup_keyset, 22);
    CU_ASSERT_EQUAL(s->tables[1].dup_db, 6);
    CU_ASSERT_EQUAL(s->tables[1].updated, 8);
    CU_ASSERT_EQUAL(s->tables[0].inserted, 9);

    stats_totals t;
    stats_totals_get(s, &t);
    CU_ASSERT_EQUAL(t.read, 22);
    CU_ASSERT_EQUAL(t.loaded, 14);
    CU_ASSERT_EQUAL(t.duplicates, 5);
    CU_ASSERT_EQUAL(t.rejected, 3);
    CU_ASSERT_EQUAL(t.unfinished, 0);
    char msg[200];
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");

    /* states and their one-line error */
    stats_file_state(s, 0, FILE_READING, NULL);
    CU_ASSERT_EQUAL(s->files[0].state, FILE_READING);
    CU_ASSERT_STRING_EQUAL(s->files[0].error, "");
    stats_file_state(s, 1, FILE_MALFORMED,
                     "b.xml.gz:12: Opening and ending tag mismatch: a and b\nmore detail");
    CU_ASSERT_EQUAL(s->files[1].state, FILE_MALFORMED);
    CU_ASSERT_STRING_EQUAL(s->files[1].error,
                           "b.xml.gz:12: Opening and ending tag mismatch: a and b");
    char longer[1000];
    memset(longer, 'e', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    stats_file_state(s, 2, FILE_UNREADABLE, longer);
    CU_ASSERT_EQUAL(strlen(s->files[2].error), sizeof s->files[2].error - 1);

    double a = stats_now(), b = stats_now();
    CU_ASSERT_TRUE(a > 0 && b >= a);
    CU_ASSERT_TRUE(s->t_start > 0 && s->t_start <= a);
    stats_free(s);
}

/* ---- the check ---- */

static void test_check_messages(void)
{
    const char *names[] = {"t"};
    stats *s = stats_new(names, 1, 1);
    char msg[200];
    uint32_t a = stats_add_file(s, "ok.xml");
    uint32_t b = stats_add_file(s, "in.xml");
    stats_add_read(s, a, 4);
    stats_add_outcome(s, a, 4, 0, 0);
    stats_add_read(s, b, 10);
    stats_add_outcome(s, b, 7, 0, 2);
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), -1);
    CU_ASSERT_STRING_EQUAL(msg, "in.xml: read 10 != loaded 7 + duplicates 0 + rejected 2");
    /* a short buffer gets a truncated, terminated message */
    char tiny[8];
    CU_ASSERT_EQUAL(stats_check(s, 0, tiny, sizeof tiny), -1);
    CU_ASSERT_STRING_EQUAL(tiny, "in.xml:");
    CU_ASSERT_EQUAL(stats_check(s, 0, NULL, 0), -1);

    /* more settled than read is wrong even when unfinished is allowed */
    stats_add_outcome(s, b, 0, 2, 0);
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), -1);
    CU_ASSERT_STRING_EQUAL(msg, "in.xml: read 10 != loaded 7 + duplicates 2 + rejected 2");
    CU_ASSERT_EQUAL(stats_check(s, 1, msg, sizeof msg), -1);
    CU_ASSERT_STRING_EQUAL(msg, "in.xml: read 10 < loaded 7 + duplicates 2 + rejected 2");
    stats_totals t;
    stats_totals_get(s, &t);
    CU_ASSERT_EQUAL(t.read, 14);
    CU_ASSERT_EQUAL(t.unfinished, 0);    /* not wrapped around */

    /* the first file that fails is named */
    stats_add_read(s, b, 1);
    stats_add_read(s, a, 1);
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), -1);
    CU_ASSERT_STRING_EQUAL(msg, "ok.xml: read 5 != loaded 4 + duplicates 0 + rejected 0");
    stats_add_outcome(s, a, 0, 0, 1);
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");
    stats_free(s);
}

static void test_allow_unfinished(void)
{
    const char *names[] = {"t"};
    stats *s = stats_new(names, 1, 2);
    char msg[200];
    uint32_t f = stats_add_file(s, "big.xml");
    stats_add_read(s, f, 1000);
    stats_add_outcome(s, f, 600, 50, 25);
    stats_file_state(s, f, FILE_STOPPED, NULL);
    stats_totals t;
    stats_totals_get(s, &t);
    CU_ASSERT_EQUAL(t.read, 1000);
    CU_ASSERT_EQUAL(t.unfinished, 325);
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), -1);
    CU_ASSERT_STRING_EQUAL(msg, "big.xml: read 1000 != loaded 600 + duplicates 50 + rejected 25");
    CU_ASSERT_EQUAL(stats_check(s, 1, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(msg, "");
    stats_free(s);
}

static void test_no_files(void)
{
    stats *s = stats_new(NULL, 0, 0);
    char msg[100];
    stats_totals t;
    stats_totals_get(s, &t);
    CU_ASSERT_EQUAL(t.read + t.loaded + t.duplicates + t.rejected + t.unfinished, 0);
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), 0);
    stats_free(s);
}

/* ---- concurrency ---- */

#define TH_N 4
#define TH_ROUNDS 20000

typedef struct th_arg {
    stats *s;
    uint32_t files[2];
    int id;
} th_arg;

/* Returns NULL: adds TH_ROUNDS reads and outcomes, as a worker would. */
static void *th_worker(void *p)
{
    th_arg *a = p;
    for (int i = 0; i < TH_ROUNDS; i++) {
        uint32_t f = a->files[i & 1];
        stats_add_read(a->s, f, 6);
        stats_add_outcome(a->s, f, 3, 2, 1);
        stats_add_rows(a->s, (size_t)(i % 2), 3, 1, 1, (uint64_t)a->id);
    }
    return NULL;
}

static void test_threads(void)
{
    const char *names[] = {"t0", "t1"};
    stats *s = stats_new(names, 2, TH_N);
    th_arg args[TH_N];
    pthread_t th[TH_N];
    for (int i = 0; i < TH_N; i++) {
        args[i].s = s;
        args[i].id = i + 1;
        /* the workers also register files while others count */
        char name[32];
        snprintf(name, sizeof name, "f%d.xml", 2 * i);
        args[i].files[0] = stats_add_file(s, name);
        snprintf(name, sizeof name, "f%d.xml", 2 * i + 1);
        args[i].files[1] = stats_add_file(s, name);
        pthread_create(&th[i], NULL, th_worker, &args[i]);
    }
    for (int i = 0; i < TH_N; i++)
        pthread_join(th[i], NULL);
    stats_totals t;
    stats_totals_get(s, &t);
    const uint64_t n = (uint64_t)TH_N * TH_ROUNDS;
    CU_ASSERT_EQUAL(t.read, 6 * n);
    CU_ASSERT_EQUAL(t.loaded, 3 * n);
    CU_ASSERT_EQUAL(t.duplicates, 2 * n);
    CU_ASSERT_EQUAL(t.rejected, n);
    CU_ASSERT_EQUAL(t.unfinished, 0);
    CU_ASSERT_EQUAL(s->nfiles, 2 * TH_N);
    for (size_t i = 0; i < s->nfiles; i++) {
        char want[32];
        snprintf(want, sizeof want, "f%zu.xml", i);
        CU_ASSERT_STRING_EQUAL(s->files[i].name, want);
        CU_ASSERT_EQUAL(s->files[i].read, 6 * (TH_ROUNDS / 2));
        CU_ASSERT_EQUAL(s->files[i].loaded, 3 * (TH_ROUNDS / 2));
    }
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(s->tables[k].inserted, 3 * n / 2);
        CU_ASSERT_EQUAL(s->tables[k].dup_keyset, n / 2);
        CU_ASSERT_EQUAL(s->tables[k].dup_db, n / 2);
        /* sum of ids 1..4, each added TH_ROUNDS / 2 times per table */
        CU_ASSERT_EQUAL(s->tables[k].updated, 10 * (TH_ROUNDS / 2));
    }
    char msg[100];
    CU_ASSERT_EQUAL(stats_check(s, 0, msg, sizeof msg), 0);
    stats_free(s);
}

/* Latency percentiles: exact below 64 us, bucket upper bounds above,
 * never above the maximum; merged over workers. */
static void test_latency(void)
{
    stats_latency *l = calloc(1, sizeof *l);
    CU_ASSERT_EQUAL(stats_latency_pct(l, 50), 0);
    for (int i = 1; i <= 100; i++)
        stats_latency_add(l, i / 1e6); /* 1..100 us */
    CU_ASSERT_EQUAL(l->count, 100);
    CU_ASSERT_EQUAL(l->max_us, 100);
    CU_ASSERT_EQUAL(l->sum_us, 5050);
    CU_ASSERT_EQUAL(stats_latency_pct(l, 50), 50);
    CU_ASSERT_EQUAL(stats_latency_pct(l, 95), 95); /* bucket [94,95] */
    CU_ASSERT_EQUAL(stats_latency_pct(l, 99), 99); /* bucket [98,99] */
    CU_ASSERT_EQUAL(stats_latency_pct(l, 100), 100);
    CU_ASSERT_EQUAL(stats_latency_pct(l, 0.5), 1);

    /* 1 s and 2.5 s: 32 buckets per power of two, so within 1/32 above */
    stats_latency *m = calloc(1, sizeof *m);
    stats_latency_add(m, 1.0);
    stats_latency_add(m, 2.5);
    stats_latency_add(m, -1.0); /* a clock step back counts as 0 */
    uint64_t p50 = stats_latency_pct(m, 50);
    CU_ASSERT(p50 >= 1000000 && p50 <= 1000000 + 1000000 / 32);
    CU_ASSERT_EQUAL(stats_latency_pct(m, 33), 0);
    CU_ASSERT_EQUAL(stats_latency_pct(m, 99), 2500000); /* clamped to the max */

    stats_latency_merge(l, m);
    CU_ASSERT_EQUAL(l->count, 103);
    CU_ASSERT_EQUAL(l->max_us, 2500000);
    CU_ASSERT_EQUAL(stats_latency_pct(l, 50), 51); /* rank 52 of 0, 1..100, ... */
    free(l);
    free(m);
}

/* The bytes counter of a file is the one in its stats_file. */
static void test_bytes_counter(void)
{
    const char *names[] = {"t"};
    stats *s = stats_new(names, 1, 2);
    uint32_t a = stats_add_file(s, "a.xml");
    uint32_t b = stats_add_file(s, "b.xml");
    atomic_fetch_add(stats_bytes_counter(s, b), 42);
    CU_ASSERT_EQUAL(atomic_load(&s->files[a].bytes), 0);
    CU_ASSERT_EQUAL(atomic_load(&s->files[b].bytes), 42);
    stats_latency_add(&s->workers[0].commit, 0.000010);
    stats_latency_add(&s->workers[1].commit, 0.000020);
    stats_latency *all = malloc(sizeof *all);
    stats_latency_all(s, all);
    CU_ASSERT_EQUAL(all->count, 2);
    CU_ASSERT_EQUAL(stats_latency_pct(all, 50), 10);
    CU_ASSERT_EQUAL(stats_latency_pct(all, 95), 20);
    free(all);
    stats_free(s);
}

int main(void)
{
    UNIT_BEGIN("stats");
    UNIT_TEST(test_counts);
    UNIT_TEST(test_check_messages);
    UNIT_TEST(test_allow_unfinished);
    UNIT_TEST(test_no_files);
    UNIT_TEST(test_threads);
    UNIT_TEST(test_latency);
    UNIT_TEST(test_bytes_counter);
    UNIT_END();
}
