/* tool_summary.c — what the user sees of a run's numbers: the summary on
 * stdout after the run (files, tables, workers, elapsed, rejects).  Reads a
 * `stats` the engine filled; owns nothing.  The progress display is in
 * tool_progress.c, the JSON report in tool_json.c. */
#include "config.h"
#include "tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- numbers ---- */

char *tool_thousands(char *buf, size_t len, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    size_t o = 0;
    for (int i = 0; i < n && o + 1 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < len)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    if (len)
        buf[o < len ? o : len - 1] = '\0';
    return buf;
}

uint64_t tool_rec_per_min(uint64_t read, double elapsed)
{
    if (elapsed <= 0.0)
        return 0;
    return (uint64_t)((double)read * 60.0 / elapsed + 0.5);
}

/* Returns the number of decimal digits of v. */
static int digits(uint64_t v)
{
    int n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

/* Returns the larger of a and b. */
static int imax(int a, int b)
{
    return a > b ? a : b;
}

/* ---- the summary tables ---- */

/* Widths of the file table: name, read, loaded, duplicate, rejected. */
#define NAME_MIN 22

/* Print the file table with a total row.  The "loaded earlier" column
 * (records a killed run committed, per the ledger) is shown when a file has
 * some, or was skipped. */
static void print_files(FILE *out, stats *s, const stats_totals *t)
{
    int wn = imax(NAME_MIN, (int)strlen("total"));
    int w[5] = {7, 10, 10, 10, 14};
    int earlier = t->loaded_earlier > 0 || t->skipped > 0;
    for (size_t i = 0; i < s->nfiles; i++)
        wn = imax(wn, (int)strlen(s->files[i].name));
    w[0] = imax(w[0], digits(t->read));
    w[1] = imax(w[1], digits(t->loaded));
    w[2] = imax(w[2], digits(t->duplicates));
    w[3] = imax(w[3], digits(t->rejected));
    w[4] = imax(w[4], digits(t->loaded_earlier));

    fprintf(out, "%-*s %*s %*s", wn, "file", w[0], "read", w[1], "loaded");
    if (earlier)
        fprintf(out, " %*s", w[4], "loaded earlier");
    fprintf(out, " %*s %*s\n", w[2], "duplicate", w[3], "rejected");
    for (size_t i = 0; i < s->nfiles; i++) {
        const stats_file *f = &s->files[i];
        fprintf(out, "%-*s %*" PRIu64 " %*" PRIu64, wn, f->name, w[0], f->read, w[1],
                f->loaded);
        if (earlier)
            fprintf(out, " %*" PRIu64, w[4], f->loaded_earlier);
        fprintf(out, " %*" PRIu64 " %*" PRIu64, w[2], f->duplicates, w[3], f->rejected);
        /* after the row, its state unless read to the end */
        if (f->state == FILE_SKIPPED)
            fprintf(out, " (%s: loaded %s)", tool_state_name(f->state), f->loaded_at);
        else if (f->state != FILE_DONE && f->state != FILE_READING)
            fprintf(out, " (%s)", tool_state_name(f->state));
        fputc('\n', out);
    }
    fprintf(out, "%-*s %*" PRIu64 " %*" PRIu64, wn, "total", w[0], t->read, w[1], t->loaded);
    if (earlier)
        fprintf(out, " %*" PRIu64, w[4], t->loaded_earlier);
    fprintf(out, " %*" PRIu64 " %*" PRIu64 "\n", w[2], t->duplicates, w[3], t->rejected);
}

/* Print the per-table row counts. */
static void print_tables(FILE *out, const stats *s)
{
    int wn = NAME_MIN;
    int w[4] = {8, 11, 9, 9};
    for (size_t i = 0; i < s->ntables; i++) {
        const stats_table *tb = &s->tables[i];
        wn = imax(wn, (int)strlen(tb->name));
        w[0] = imax(w[0], digits(tb->inserted));
        w[1] = imax(w[1], digits(tb->dup_keyset));
        w[2] = imax(w[2], digits(tb->dup_db));
        w[3] = imax(w[3], digits(tb->updated));
    }
    fprintf(out, "%-*s %*s %*s %*s %*s\n", wn, "table", w[0], "inserted", w[1], "dup-keyset",
            w[2], "dup-db", w[3], "updated");
    for (size_t i = 0; i < s->ntables; i++) {
        const stats_table *tb = &s->tables[i];
        fprintf(out, "%-*s %*" PRIu64 " %*" PRIu64 " %*" PRIu64 " %*" PRIu64 "\n", wn,
                tb->name, w[0], tb->inserted, w[1], tb->dup_keyset, w[2], tb->dup_db, w[3],
                tb->updated);
    }
}

/* Print the per-worker counters (key-set memory in KiB, rounded up). */
static void print_workers(FILE *out, const stats *s)
{
    enum { NW = 7 };
    static const char *const head[NW] = {"batches", "reuses", "reconnects", "retries",
                                         "splits", "keys", "keyset-KiB"};
    int w[NW] = {9, 8, 11, 8, 7, 9, 11};
    int wn = 6; /* "worker" */
    for (size_t i = 0; i < s->nworkers; i++) {
        const stats_worker *k = &s->workers[i];
        uint64_t v[NW] = {k->batches, k->reuses, k->reconnects, k->retries, k->splits,
                          k->keys, (k->keyset_bytes + 1023) / 1024};
        for (int j = 0; j < NW; j++)
            w[j] = imax(w[j], digits(v[j]));
    }
    fprintf(out, "%-*s", wn, "worker");
    for (int j = 0; j < NW; j++)
        fprintf(out, " %*s", w[j], head[j]);
    fputc('\n', out);
    for (size_t i = 0; i < s->nworkers; i++) {
        const stats_worker *k = &s->workers[i];
        uint64_t v[NW] = {k->batches, k->reuses, k->reconnects, k->retries, k->splits,
                          k->keys, (k->keyset_bytes + 1023) / 1024};
        fprintf(out, "%-*zu", wn, i);
        for (int j = 0; j < NW; j++)
            fprintf(out, " %*" PRIu64, w[j], v[j]);
        fputc('\n', out);
    }
}

void tool_summary(FILE *out, stats *s, const char *rejects_path)
{
    stats_totals t;
    char rate[32];
    stats_totals_get(s, &t);
    double elapsed = s->t_end - s->t_start;
    if (elapsed < 0)
        elapsed = 0;

    print_files(out, s, &t);
    fputc('\n', out);
    print_tables(out, s);
    fputc('\n', out);
    print_workers(out, s);
    fputc('\n', out);
    fprintf(out, "elapsed %.2f s, %s rec/min\n", elapsed,
            tool_thousands(rate, sizeof rate, tool_rec_per_min(t.read, elapsed)));
    /* who waited for whom: a producer that often finds a lane full is ahead
     * of the database; workers that often find theirs empty wait for input */
    fprintf(out, "waits: producer on a full lane %" PRIu64 ", workers on an empty lane %" PRIu64
                 "\n", s->lane_full_waits, s->lane_empty_waits);
    if (t.unfinished)
        fprintf(out, "not loaded: %" PRIu64 " record%s (the run stopped)\n", t.unfinished,
                t.unfinished == 1 ? "" : "s");
    if (t.rejected)
        fprintf(out, "rejects: %" PRIu64 " record%s in %s\n", t.rejected,
                t.rejected == 1 ? "" : "s", rejects_path ? rejects_path : "?");
}
