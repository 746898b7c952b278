/* tool_progress.c — what the user sees while a load runs, on stderr.
 *
 * On a terminal one line is redrawn in place (\r) about every second: a bar
 * and the percentage of the inputs' bytes read (as stored: compressed bytes
 * for gzip, the sizes taken with stat() at the start), records per second
 * since the start, the estimated time left and the record counts.  When
 * stderr is not a terminal (a log, the journal) and --progress was given,
 * plain lines are written instead, one every --progress-interval seconds,
 * and one last line when the run ends.  Standard input and other inputs
 * without a size give no percentage and no estimate.
 *
 * The engine calls tool_progress_cb from the thread that started the run;
 * the state here belongs to that thread.  The numbers it reads are the
 * stats' own (under their lock) and the files' atomic byte counters. */
#include "config.h"
#include "tool.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define BAR_WIDTH 20

void tool_progress_init(tool_progress *p, FILE *out, int tty, double interval,
                        const char *const *inputs, size_t ninputs)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->interval = interval > 0 ? interval : 1.0;
    p->size_known = ninputs > 0;
    for (size_t i = 0; i < ninputs; i++) {
        struct stat st;
        if (strcmp(inputs[i], "-") == 0 || stat(inputs[i], &st) != 0 || !S_ISREG(st.st_mode)) {
            p->size_known = 0;
            continue;
        }
        p->total_bytes += (uint64_t)st.st_size;
    }
}

/* ---- formatting ---- */

char *tool_bytes_text(char *buf, size_t len, uint64_t v)
{
    if (v >= 1000000000ULL)
        snprintf(buf, len, "%.1f GB", (double)v / 1e9);
    else if (v >= 1000000ULL)
        snprintf(buf, len, "%.1f MB", (double)v / 1e6);
    else if (v >= 1000ULL)
        snprintf(buf, len, "%.1f kB", (double)v / 1e3);
    else
        snprintf(buf, len, "%" PRIu64 " B", v);
    return buf;
}

char *tool_duration_text(char *buf, size_t len, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    uint64_t s = (uint64_t)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, len, "%" PRIu64 ":%02" PRIu64, s / 60, s % 60);
    return buf;
}

/* Returns the percentage (0..100) of total read, or -1 when unknown. */
static int percent(const tool_progress_view *v)
{
    if (!v->size_known)
        return -1;
    if (v->total_bytes == 0 || v->bytes >= v->total_bytes)
        return 100;
    return (int)(v->bytes * 100 / v->total_bytes);
}

/* Returns seconds left by the bytes still to read, or -1 when unknown. */
static double eta(const tool_progress_view *v)
{
    if (!v->size_known || v->bytes == 0 || v->elapsed <= 0)
        return -1;
    if (v->bytes >= v->total_bytes)
        return 0;
    return v->elapsed * (double)(v->total_bytes - v->bytes) / (double)v->bytes;
}

/* Returns records per second since the start (0 before any time passed). */
static uint64_t rec_per_s(const tool_progress_view *v)
{
    if (v->elapsed <= 0)
        return 0;
    return (uint64_t)((double)v->t.read / v->elapsed + 0.5);
}

char *tool_progress_bar(char *buf, size_t len, const tool_progress_view *v)
{
    char rate[32], read[32], eta_s[32] = "";
    int pct = percent(v);
    double left = eta(v);
    tool_thousands(rate, sizeof rate, rec_per_s(v));
    tool_thousands(read, sizeof read, v->t.read);
    if (pct < 0) {
        snprintf(buf, len, "%s records  %s rec/s", read, rate);
        return buf;
    }
    char bar[BAR_WIDTH + 1];
    int fill = pct * BAR_WIDTH / 100;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(BAR_WIDTH - fill));
    bar[BAR_WIDTH] = '\0';
    if (v->done)
        tool_duration_text(eta_s, sizeof eta_s, v->elapsed);
    else if (left >= 0)
        tool_duration_text(eta_s, sizeof eta_s, left);
    snprintf(buf, len, "[%s] %3d%%  %s records  %s rec/s  %s %s", bar, pct, read, rate,
             v->done ? "took" : "ETA", left >= 0 || v->done ? eta_s : "-");
    return buf;
}

char *tool_progress_line(char *buf, size_t len, const tool_progress_view *v)
{
    char r[32], l[32], d[32], j[32], rate[32], by[32], tot[32], eta_s[32];
    int pct = percent(v);
    double left = eta(v);
    size_t o = 0;
    o += (size_t)snprintf(buf, len, "progress: ");
    if (pct >= 0 && o < len)
        o += (size_t)snprintf(buf + o, len - o, "%d%% of %s read, ", pct,
                              tool_bytes_text(tot, sizeof tot, v->total_bytes));
    else if (o < len)
        o += (size_t)snprintf(buf + o, len - o, "%s read, ",
                              tool_bytes_text(by, sizeof by, v->bytes));
    if (o < len)
        o += (size_t)snprintf(buf + o, len - o,
                              "%s records (loaded %s, duplicate %s, rejected %s), %s rec/s",
                              tool_thousands(r, sizeof r, v->t.read),
                              tool_thousands(l, sizeof l, v->t.loaded),
                              tool_thousands(d, sizeof d, v->t.duplicates),
                              tool_thousands(j, sizeof j, v->t.rejected),
                              tool_thousands(rate, sizeof rate, rec_per_s(v)));
    if (o < len && v->done)
        snprintf(buf + o, len - o, ", done in %s",
                 tool_duration_text(eta_s, sizeof eta_s, v->elapsed));
    else if (o < len && left >= 0)
        snprintf(buf + o, len - o, ", ETA %s", tool_duration_text(eta_s, sizeof eta_s, left));
    return buf;
}

/* ---- drawing ---- */

/* Fill *v from the run's stats now. */
static void take_view(const tool_progress *p, stats *s, tool_progress_view *v, int done)
{
    memset(v, 0, sizeof *v);
    stats_totals_get(s, &v->t);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nfiles; i++)
        v->bytes += atomic_load(&s->files[i].bytes);
    pthread_mutex_unlock(&s->lock);
    v->total_bytes = p->total_bytes;
    v->size_known = p->size_known;
    v->done = done;
    double end = done ? s->t_end : stats_now();
    v->elapsed = end - s->t_start;
}

/* Print the state of s: redraw the terminal line, or write a plain line. */
static void draw(tool_progress *p, stats *s, int done)
{
    tool_progress_view v;
    char line[256];
    take_view(p, s, &v, done);
    if (p->tty) {
        tool_progress_bar(line, sizeof line, &v);
        /* trailing spaces cover a longer line drawn before */
        fprintf(p->out, "\r%-78s", line);
        p->drawn = 1;
    } else {
        fprintf(p->out, "%s\n", tool_progress_line(line, sizeof line, &v));
    }
    fflush(p->out);
}

void tool_progress_cb(stats *s, void *arg)
{
    tool_progress *p = arg;
    double now = stats_now();
    double every = p->tty ? 1.0 : p->interval;
    if (p->last > 0 && now - p->last < every * 0.95)
        return; /* the engine may call more often than we draw */
    p->last = now;
    draw(p, s, 0);
}

void tool_progress_done(tool_progress *p, stats *s)
{
    if (s && s->nfiles)
        draw(p, s, 1);
    if (p->drawn) {
        fputc('\n', p->out);
        fflush(p->out);
        p->drawn = 0;
    }
}
