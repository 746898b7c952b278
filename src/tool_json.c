/* tool_json.c — the run's report for machines: --summary-json FILE.
 *
 * One JSON object with every figure of the text summary (per file, per
 * table, per worker, the waits, elapsed time and rec/min), the run's exit
 * status and fatal error line, and the latency percentiles of the committed
 * transactions.  Its shape is packaging/summary.schema.json; a change here
 * is a change there.  The report is written whatever the outcome (also when
 * the run failed before reading anything), so that a nightly job always
 * leaves one.  Strings are escaped for JSON; bytes that are not UTF-8 (a
 * file name can hold any) become U+FFFD.  Owns nothing. */
#include "config.h"
#include "tool.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ---- */

/* Returns the length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, out of range, or a surrogate */
    return len;
}

void tool_json_string(FILE *out, const char *str)
{
    if (!str) {
        fputs("null", out);
        return;
    }
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    fputc('"', out);
    while (n > 0) {
        size_t k = utf8_len(s, n);
        if (k == 0) {
            fputs("\\ufffd", out);
            k = 1;
        } else if (*s == '"' || *s == '\\') {
            fputc('\\', out);
            fputc(*s, out);
        } else if (*s == '\n') {
            fputs("\\n", out);
        } else if (*s == '\t') {
            fputs("\\t", out);
        } else if (*s == '\r') {
            fputs("\\r", out);
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(out, "\\u%04x", *s);
        } else {
            fwrite(s, 1, k, out);
        }
        s += k;
        n -= k;
    }
    fputc('"', out);
}

/* ---- the report ---- */

const char *tool_state_name(file_state st)
{
    switch (st) {
    case FILE_PENDING:
        return "not read";
    case FILE_READING:
        return "reading";
    case FILE_DONE:
        return "done";
    case FILE_MALFORMED:
        return "malformed";
    case FILE_UNREADABLE:
        return "unreadable";
    case FILE_STOPPED:
        return "stopped";
    case FILE_NORECORD:
        return "no record";
    case FILE_SKIPPED:
        return "skipped";
    }
    return "unknown";
}

/* Print microseconds as milliseconds with three decimals. */
static void print_ms(FILE *out, uint64_t us)
{
    fprintf(out, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000);
}

/* Print the "files" array. */
static void json_files(FILE *out, stats *s)
{
    fputs("  \"files\": [", out);
    for (size_t i = 0; i < s->nfiles; i++) {
        const stats_file *f = &s->files[i];
        fputs(i ? ",\n    {" : "\n    {", out);
        fputs("\"name\": ", out);
        tool_json_string(out, f->name);
        fprintf(out, ", \"state\": \"%s\", \"error\": ", tool_state_name(f->state));
        tool_json_string(out, f->error[0] ? f->error : NULL);
        fprintf(out,
                ", \"read\": %" PRIu64 ", \"loaded\": %" PRIu64 ", \"duplicate\": %" PRIu64
                ", \"rejected\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"loaded_earlier\": %" PRIu64
                ", \"resumed_after\": %" PRIu64 ", \"loaded_at\": ",
                f->read, f->loaded, f->duplicates, f->rejected, atomic_load(&f->bytes),
                f->loaded_earlier, f->resumed_after);
        tool_json_string(out, f->state == FILE_SKIPPED ? f->loaded_at : NULL);
        fputc('}', out);
    }
    fputs(s->nfiles ? "\n  ],\n" : "],\n", out);
}

/* Print the "tables" array. */
static void json_tables(FILE *out, const stats *s)
{
    fputs("  \"tables\": [", out);
    for (size_t i = 0; i < s->ntables; i++) {
        const stats_table *t = &s->tables[i];
        fputs(i ? ",\n    {" : "\n    {", out);
        fputs("\"name\": ", out);
        tool_json_string(out, t->name);
        fprintf(out,
                ", \"inserted\": %" PRIu64 ", \"dup_keyset\": %" PRIu64 ", \"dup_db\": %" PRIu64
                ", \"updated\": %" PRIu64 "}",
                t->inserted, t->dup_keyset, t->dup_db, t->updated);
    }
    fputs(s->ntables ? "\n  ],\n" : "],\n", out);
}

/* Print the "workers" array. */
static void json_workers(FILE *out, const stats *s)
{
    fputs("  \"workers\": [", out);
    for (size_t i = 0; i < s->nworkers; i++) {
        const stats_worker *k = &s->workers[i];
        fputs(i ? ",\n    {" : "\n    {", out);
        fprintf(out,
                "\"worker\": %zu, \"batches\": %" PRIu64 ", \"reuses\": %" PRIu64
                ", \"reconnects\": %" PRIu64 ", \"retries\": %" PRIu64 ", \"splits\": %" PRIu64
                ", \"redos\": %" PRIu64 ", \"keys\": %" PRIu64 ", \"keyset_kib\": %" PRIu64
                ", \"keyset_resets\": %" PRIu64 "}",
                i, k->batches, k->reuses, k->reconnects, k->retries, k->splits, k->redos,
                k->keys, (k->keyset_bytes + 1023) / 1024, k->keyset_resets);
    }
    fputs(s->nworkers ? "\n  ],\n" : "],\n", out);
}

/* Print the "commit_latency_ms" object (over every worker). */
static void json_latency(FILE *out, const stats *s)
{
    stats_latency *all = xmalloc(sizeof *all);
    stats_latency_all(s, all);
    fprintf(out, "  \"commit_latency_ms\": {\"count\": %" PRIu64 ", \"p50\": ", all->count);
    print_ms(out, stats_latency_pct(all, 50));
    fputs(", \"p95\": ", out);
    print_ms(out, stats_latency_pct(all, 95));
    fputs(", \"p99\": ", out);
    print_ms(out, stats_latency_pct(all, 99));
    fputs(", \"max\": ", out);
    print_ms(out, all->max_us);
    fputs("},\n", out);
    free(all);
}

void tool_summary_json(FILE *out, stats *s, const tool_report *r)
{
    stats_totals t;
    stats_totals_get(s, &t);
    double elapsed = s->t_end - s->t_start;
    if (elapsed < 0)
        elapsed = 0;

    fputs("{\n", out);
    fprintf(out, "  \"migrate\": \"%s\",\n", PACKAGE_VERSION);
    fputs("  \"command\": ", out);
    tool_json_string(out, r->command);
    fprintf(out, ",\n  \"exit_status\": %d,\n  \"error\": ", r->exit_code);
    tool_json_string(out, r->error);
    fprintf(out, ",\n  \"interrupted\": %s,\n", r->signal ? "true" : "false");
    fputs("  \"started\": ", out);
    tool_json_string(out, r->started);
    fputs(",\n  \"finished\": ", out);
    tool_json_string(out, r->finished);
    fprintf(out, ",\n  \"elapsed_s\": %.3f,\n", elapsed);
    fprintf(out, "  \"rec_per_min\": %" PRIu64 ",\n", tool_rec_per_min(t.read, elapsed));
    fprintf(out,
            "  \"total\": {\"read\": %" PRIu64 ", \"loaded\": %" PRIu64 ", \"duplicate\": %" PRIu64
            ", \"rejected\": %" PRIu64 ", \"not_loaded\": %" PRIu64
            ", \"loaded_earlier\": %" PRIu64 ", \"skipped\": %" PRIu64 "},\n",
            t.read, t.loaded, t.duplicates, t.rejected, t.unfinished, t.loaded_earlier,
            t.skipped);
    json_files(out, s);
    json_tables(out, s);
    json_workers(out, s);
    fprintf(out,
            "  \"waits\": {\"producer_full_lane\": %" PRIu64 ", \"workers_empty_lane\": %" PRIu64
            "},\n",
            s->lane_full_waits, s->lane_empty_waits);
    json_latency(out, s);
    fputs("  \"rejects_file\": ", out);
    tool_json_string(out, t.rejected ? r->rejects_path : NULL);
    fputs("\n}\n", out);
}
