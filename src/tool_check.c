/* tool_check.c — the commands that look without loading.
 *
 *   migrate check -m MAPPING [--schema XSD] [INPUT...]
 *       loads the mapping (every mapping error as FILE:LINE), then reads
 *       every input as a load would (well-formedness, the record path, XSD,
 *       every column's conversion and rules) without any database: the
 *       records that would be loaded are counted "ok", the others rejected
 *       with their reason on stderr.  The exit status is the one a load of
 *       the same inputs would give (0, 1 rejects, 65 malformed, 66
 *       unreadable, 78 mapping or schema); nothing is written.
 *   migrate ping [TARGET]
 *       connects as a load would and prints what answered (DBMS name and
 *       version, driver, dialect); exit 0, or 69 with one line.
 *
 * A well-formed input without any record gets a line saying so (the
 * record path or its namespace is then most often wrong); the status stays
 * that of a load (0).  Key duplicates are not looked for here: they are settled against what the
 * database holds.  Owns the mapper, one reusable batch and the readers it
 * opens, all freed before it returns. */
#include "config.h"
#include "engine.h"
#include "tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>

#include "batch.h"
#include "db.h"
#include "dialect.h"
#include "input.h"
#include "mapper.h"
#include "reader.h"

/* Reasons printed per file before "... N more" (the counts stay exact). */
#define CHECK_SHOWN 10

/* Print one rejected record's reason, or count it as not shown. */
static void show_reject(const char *file, const reader_record *rec, const char *why,
                        uint64_t *shown, int quiet)
{
    if (quiet)
        return;
    if (*shown < CHECK_SHOWN) {
        fflush(stdout);
        fprintf(stderr, "migrate: %s:%" PRIu64 ": record %" PRIu64 ": %s\n", file, rec->line,
                rec->seq, why);
    }
    (*shown)++;
}

/* Read input f to its end or its first error, counting into s. */
static void check_file(stats *s, uint32_t f, const char *name, const mapping *m,
                       xmlSchemaPtr schema, size_t max_record_bytes, mapper *mp, batch *b,
                       int quiet)
{
    mig_err err;
    char reason[1024];
    uint64_t ok = 0, bad = 0, shown = 0;

    stats_file_state(s, f, FILE_READING, NULL);
    input *in = input_open(name, &err);
    if (!in) {
        stats_file_state(s, f, FILE_UNREADABLE, err.msg);
        return;
    }
    in->bytes = stats_bytes_counter(s, f);
    reader *r = reader_open(in, m, schema, max_record_bytes, &err);
    if (!r) {
        input_close(in);
        stats_file_state(s, f, FILE_UNREADABLE, err.msg);
        return;
    }
    reader_record rec;
    int rc;
    while ((rc = reader_next(r, &rec, &err)) == 1) {
        if (rec.invalid) {
            show_reject(name, &rec, rec.invalid, &shown, quiet);
            bad++;
            continue;
        }
        record_ctx ctx = {name, rec.line, rec.seq};
        if (b->nrec == b->cap_rec)
            batch_reset(b);
        batch_begin_record(b, f, rec.line, rec.seq, "", 0);
        if (mapper_map(mp, rec.node, &ctx, b, reason, sizeof reason) != 0) {
            batch_abort_record(b);
            show_reject(name, &rec, reason, &shown, quiet);
            bad++;
            continue;
        }
        batch_commit_record(b, 0);
        ok++;
    }
    stats_add_read(s, f, ok + bad);
    stats_add_outcome(s, f, ok, 0, bad);
    if (rc < 0) {
        stats_file_state(s, f, err.status == MIG_EDATA ? FILE_MALFORMED : FILE_UNREADABLE,
                         err.msg);
    } else if (ok + bad == 0) {
        /* well-formed, but nothing matched: most often a wrong record path
         * or namespace in the mapping (a load says the same) */
        char msg[sizeof err.msg];
        engine_no_record_msg(m, name, msg, sizeof msg);
        stats_file_state(s, f, FILE_NORECORD, msg);
    } else {
        stats_file_state(s, f, FILE_DONE, NULL);
    }
    if (shown > CHECK_SHOWN) {
        fflush(stdout);
        fprintf(stderr, "migrate: %s: %" PRIu64 " more rejected records not shown\n", name,
                shown - CHECK_SHOWN);
    }
    reader_close(r);
    input_close(in);
}

stats *tool_check_run(const mapping *m, const char *const *inputs, size_t ninputs,
                      const char *schema_path, size_t max_record_bytes, int quiet,
                      mig_err *err)
{
    xmlInitParser();
    xmlSchemaPtr schema = NULL;
    if (schema_path && !(schema = reader_schema_load(schema_path, err)))
        return NULL;
    const char **names = xcalloc(m->ntables + 1, sizeof *names);
    for (size_t t = 0; t < m->ntables; t++)
        names[t] = m->tables[t].name;
    stats *s = stats_new(names, m->ntables, 0);
    free(names);
    for (size_t f = 0; f < ninputs; f++)
        stats_add_file(s, inputs[f]);
    s->t_start = stats_now();
    mapper *mp = mapper_new(m, (double)time(NULL));
    batch *b = batch_new(m, 64);
    for (size_t f = 0; f < ninputs; f++)
        check_file(s, (uint32_t)f, inputs[f], m, schema, max_record_bytes, mp, b, quiet);
    batch_free(b);
    mapper_free(mp);
    if (schema)
        xmlSchemaFree(schema);
    s->t_end = stats_now();
    return s;
}

void tool_check_summary(FILE *out, stats *s)
{
    stats_totals t;
    stats_totals_get(s, &t);
    int wn = 22;
    for (size_t i = 0; i < s->nfiles; i++)
        if ((int)strlen(s->files[i].name) > wn)
            wn = (int)strlen(s->files[i].name);
    fprintf(out, "%-*s %10s %10s %10s\n", wn, "file", "read", "ok", "rejected");
    for (size_t i = 0; i < s->nfiles; i++) {
        const stats_file *f = &s->files[i];
        const char *note = f->state == FILE_MALFORMED    ? " (malformed)"
                           : f->state == FILE_UNREADABLE ? " (unreadable)"
                                                         : "";
        fprintf(out, "%-*s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "%s\n", wn, f->name, f->read,
                f->loaded, f->rejected, note);
    }
    fprintf(out, "%-*s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", wn, "total", t.read,
            t.loaded, t.rejected);
}

/* ---- ping ---- */

int tool_ping(FILE *out, const db_target *target, mig_err *err)
{
    db_conn c;
    if (dialect_connect(&c, target, err) != 0)
        return -1;
    char ver[128] = "", drv[128] = "", drv_ver[64] = "";
    SQLSMALLINT n = 0;
    if (!SQL_SUCCEEDED(SQLGetInfo(c.dbc, SQL_DBMS_VER, ver, sizeof ver, &n)))
        ver[0] = '\0';
    if (!SQL_SUCCEEDED(SQLGetInfo(c.dbc, SQL_DRIVER_NAME, drv, sizeof drv, &n)))
        drv[0] = '\0';
    if (!SQL_SUCCEEDED(SQLGetInfo(c.dbc, SQL_DRIVER_VER, drv_ver, sizeof drv_ver, &n)))
        drv_ver[0] = '\0';
    fprintf(out, "%s %s (dialect %s, driver %s %s)\n", c.dbms_name[0] ? c.dbms_name : "?",
            ver[0] ? ver : "?", c.d ? c.d->name : "?", drv[0] ? drv : "?",
            drv_ver[0] ? drv_ver : "?");
    db_disconnect(&c);
    return 0;
}
