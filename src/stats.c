/* stats.c — the run's accounting (see stats.h).
 *
 * A stats record owns its file table (grown as inputs are registered), its
 * table and worker counters and copies of every name.  The producer adds
 * records read; workers add outcomes and row counts, a few calls per batch,
 * always under `lock`.  After the threads are joined, the tool reads totals
 * and stats_check() proves every record read was settled exactly once. */
#include "config.h"
#include "stats.h"
#include "err.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- life cycle ---- */

stats *stats_new(const char *const *table_names, size_t ntables, size_t nworkers)
{
    stats *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->ntables = ntables;
    s->tables = xcalloc(ntables, sizeof *s->tables);
    for (size_t i = 0; i < ntables; i++)
        s->tables[i].name = xstrdup(table_names[i]);
    s->nworkers = nworkers;
    s->workers = xcalloc(nworkers, sizeof *s->workers);
    s->t_start = stats_now();
    s->t_end = s->t_start;
    return s;
}

void stats_free(stats *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nfiles; i++)
        free(s->files[i].name);
    for (size_t i = 0; i < s->ntables; i++)
        free(s->tables[i].name);
    free(s->files);
    free(s->tables);
    free(s->workers);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

double stats_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- files ---- */

uint32_t stats_add_file(stats *s, const char *name)
{
    pthread_mutex_lock(&s->lock);
    if (s->nfiles == s->cap_files) {
        s->cap_files = s->cap_files ? s->cap_files * 2 : 8;
        s->files = xrealloc(s->files, s->cap_files * sizeof *s->files);
    }
    assert(s->nfiles < UINT32_MAX);
    uint32_t idx = (uint32_t)s->nfiles++;
    stats_file *f = &s->files[idx];
    memset(f, 0, sizeof *f);
    f->name = xstrdup(name);
    f->state = FILE_PENDING;
    pthread_mutex_unlock(&s->lock);
    return idx;
}

void stats_file_state(stats *s, uint32_t file, file_state st, const char *error)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    stats_file *f = &s->files[file];
    f->state = st;
    if (error) {
        /* one line: stop at the first line break */
        size_t n = strcspn(error, "\r\n");
        if (n >= sizeof f->error)
            n = sizeof f->error - 1;
        memcpy(f->error, error, n);
        f->error[n] = '\0';
    }
    pthread_mutex_unlock(&s->lock);
}

void stats_add_read(stats *s, uint32_t file, uint64_t n)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    s->files[file].read += n;
    pthread_mutex_unlock(&s->lock);
}

void stats_add_outcome(stats *s, uint32_t file, uint64_t loaded, uint64_t duplicates,
                       uint64_t rejected)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    stats_file *f = &s->files[file];
    f->loaded += loaded;
    f->duplicates += duplicates;
    f->rejected += rejected;
    pthread_mutex_unlock(&s->lock);
}

void stats_add_earlier(stats *s, uint32_t file, uint64_t n)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    s->files[file].loaded_earlier += n;
    pthread_mutex_unlock(&s->lock);
}

void stats_file_skipped(stats *s, uint32_t file, const char *loaded_at)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    s->files[file].state = FILE_SKIPPED;
    snprintf(s->files[file].loaded_at, sizeof s->files[file].loaded_at, "%s",
             loaded_at ? loaded_at : "");
    pthread_mutex_unlock(&s->lock);
}

void stats_file_resumed(stats *s, uint32_t file, uint64_t seq)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    s->files[file].resumed_after = seq;
    pthread_mutex_unlock(&s->lock);
}

_Atomic uint64_t *stats_bytes_counter(stats *s, uint32_t file)
{
    pthread_mutex_lock(&s->lock);
    assert(file < s->nfiles);
    _Atomic uint64_t *c = &s->files[file].bytes;
    pthread_mutex_unlock(&s->lock);
    return c;
}

/* ---- latencies ---- */

/* Returns the histogram bucket of a value in microseconds. */
static size_t lat_bucket(uint64_t us)
{
    if (us < 32)
        return (size_t)us;
    int e = 63 - __builtin_clzll(us); /* 5..63 */
    size_t sub = (size_t)(us >> (e - 5)) - 32;
    size_t idx = 32 + (size_t)(e - 5) * 32 + sub;
    assert(idx < STATS_LAT_BUCKETS);
    return idx;
}

/* Returns the largest value in microseconds that falls in bucket idx. */
static uint64_t lat_bucket_high(size_t idx)
{
    if (idx < 32)
        return idx;
    int e = (int)((idx - 32) / 32) + 5;
    uint64_t sub = (idx - 32) % 32;
    uint64_t width = 1ULL << (e - 5);
    return ((32 + sub) << (e - 5)) + (width - 1);
}

void stats_latency_add(stats_latency *l, double seconds)
{
    double us = seconds > 0 ? seconds * 1e6 + 0.5 : 0;
    uint64_t v = us >= 4e18 ? (1ULL << 62) : (uint64_t)us; /* 146,000 years */
    l->count++;
    l->sum_us += v;
    if (v > l->max_us)
        l->max_us = v;
    l->bucket[lat_bucket(v)]++;
}

void stats_latency_merge(stats_latency *dst, const stats_latency *src)
{
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
    for (size_t i = 0; i < STATS_LAT_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
}

uint64_t stats_latency_pct(const stats_latency *l, double p)
{
    if (l->count == 0)
        return 0;
    double r = p / 100.0 * (double)l->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++; /* nearest rank: ceil(p/100 * n), at least 1 */
    if (rank < 1)
        rank = 1;
    if (rank > l->count)
        rank = l->count;
    uint64_t seen = 0;
    for (size_t i = 0; i < STATS_LAT_BUCKETS; i++) {
        seen += l->bucket[i];
        if (seen >= rank) {
            uint64_t hi = lat_bucket_high(i);
            return hi < l->max_us ? hi : l->max_us;
        }
    }
    return l->max_us; /* unreachable when the buckets sum to count */
}

void stats_latency_all(const stats *s, stats_latency *all)
{
    memset(all, 0, sizeof *all);
    for (size_t i = 0; i < s->nworkers; i++)
        stats_latency_merge(all, &s->workers[i].commit);
}

/* ---- tables ---- */

void stats_add_rows(stats *s, size_t table, uint64_t inserted, uint64_t dup_keyset,
                    uint64_t dup_db, uint64_t updated)
{
    pthread_mutex_lock(&s->lock);
    assert(table < s->ntables);
    stats_table *t = &s->tables[table];
    t->inserted += inserted;
    t->dup_keyset += dup_keyset;
    t->dup_db += dup_db;
    t->updated += updated;
    pthread_mutex_unlock(&s->lock);
}

/* ---- totals and the check ---- */

/* Returns 0 when read and its outcomes add up (allowing records not yet
 * settled when allow_unfinished), else -1 with the mismatch in msg. */
static int check_one(const char *what, uint64_t read, uint64_t loaded, uint64_t dup,
                     uint64_t rej, int allow_unfinished, char *msg, size_t msglen)
{
    uint64_t settled = loaded + dup + rej;
    if (settled == read || (allow_unfinished && settled < read))
        return 0;
    if (msg && msglen)
        snprintf(msg, msglen,
                 "%s: read %" PRIu64 " %s loaded %" PRIu64 " + duplicates %" PRIu64
                 " + rejected %" PRIu64,
                 what, read, allow_unfinished ? "<" : "!=", loaded, dup, rej);
    return -1;
}

/* Returns nothing: sums the file counters into *t (lock held). */
static void totals_locked(const stats *s, stats_totals *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < s->nfiles; i++) {
        t->read += s->files[i].read;
        t->loaded += s->files[i].loaded;
        t->duplicates += s->files[i].duplicates;
        t->rejected += s->files[i].rejected;
        t->loaded_earlier += s->files[i].loaded_earlier;
        t->skipped += s->files[i].state == FILE_SKIPPED;
    }
    uint64_t settled = t->loaded + t->loaded_earlier + t->duplicates + t->rejected;
    /* more settled than read is a bookkeeping bug that stats_check reports;
     * do not let it wrap around here */
    t->unfinished = settled < t->read ? t->read - settled : 0;
}

void stats_totals_get(stats *s, stats_totals *t)
{
    pthread_mutex_lock(&s->lock);
    totals_locked(s, t);
    pthread_mutex_unlock(&s->lock);
}

int stats_check(stats *s, int allow_unfinished, char *msg, size_t msglen)
{
    int rc = 0;
    stats_totals t;
    if (msg && msglen)
        msg[0] = '\0';
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nfiles && rc == 0; i++) {
        const stats_file *f = &s->files[i];
        rc = check_one(f->name, f->read, f->loaded + f->loaded_earlier, f->duplicates, f->rejected,
                       allow_unfinished, msg, msglen);
    }
    if (rc == 0) {
        totals_locked(s, &t);
        rc = check_one("total", t.read, t.loaded + t.loaded_earlier, t.duplicates, t.rejected,
                       allow_unfinished, msg, msglen);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}
