/* batch.c — building and recycling batches (see batch.h for the layout).
 *
 * The producer fills a batch record by record: batch_begin_record copies the
 * record's XML into the arena, the mapper adds rows and text, and
 * batch_commit_record or batch_abort_record closes the record.  Aborting
 * rolls every table and the arena back to where the record began, so a
 * rejected record leaves no trace.  A batch owns every byte it refers to. */
#include "config.h"
#include "batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

batch *batch_new(const mapping *m, size_t cap_rec)
{
    batch *b = xcalloc(1, sizeof *b);
    b->map = m;
    b->cap_rec = cap_rec ? cap_rec : 1;
    b->recs = xcalloc(b->cap_rec, sizeof *b->recs);
    b->ntables = m->ntables;
    b->tabs = xcalloc(b->ntables, sizeof *b->tabs);
    for (size_t t = 0; t < b->ntables; t++) {
        batch_table *bt = &b->tabs[t];
        bt->ncols = m->tables[t].ncols;
        bt->cap_rows = b->cap_rec;
        bt->vals = xcalloc(bt->cap_rows * bt->ncols, sizeof *bt->vals);
        bt->first = xcalloc(b->cap_rec + 1, sizeof *bt->first);
    }
    b->arena_cap = 64 * 1024;
    b->arena = xmalloc(b->arena_cap);
    return b;
}

void batch_free(batch *b)
{
    if (!b)
        return;
    for (size_t t = 0; t < b->ntables; t++) {
        free(b->tabs[t].vals);
        free(b->tabs[t].first);
    }
    free(b->tabs);
    free(b->recs);
    free(b->arena);
    free(b->marks);
    free(b->rejects);
    free(b);
}

void batch_reset(batch *b)
{
    b->nrec = 0;
    b->arena_len = 0;
    b->largest = 0;
    b->open = 0;
    b->nmarks = 0;
    b->nrejects = 0;
    for (size_t t = 0; t < b->ntables; t++) {
        b->tabs[t].nrows = 0;
        b->tabs[t].first[0] = 0;
    }
    if (b->arena_cap > BATCH_ARENA_KEEP) {
        free(b->arena);
        b->arena_cap = 64 * 1024;
        b->arena = xmalloc(b->arena_cap);
    }
}

/* ---- arena ---- */

/* Returns the offset of n freshly reserved arena bytes. */
static uint32_t arena_reserve(batch *b, size_t n)
{
    if (b->arena_len + n > b->arena_cap) {
        size_t cap = b->arena_cap;
        while (cap < b->arena_len + n)
            cap *= 2;
        assert(cap <= UINT32_MAX);
        b->arena = xrealloc(b->arena, cap);
        b->arena_cap = cap;
    }
    uint32_t off = (uint32_t)b->arena_len;
    b->arena_len += n;
    return off;
}

uint32_t batch_put_text(batch *b, const char *s, size_t len)
{
    uint32_t off = arena_reserve(b, len + 1);
    if (len)
        memcpy(b->arena + off, s, len);
    b->arena[off + len] = '\0'; /* a large value is bound where it is (db.c) */
    if (len > b->largest)
        b->largest = len;
    return off;
}

/* ---- records and rows ---- */

void batch_begin_record(batch *b, uint32_t file, uint64_t line, uint64_t seq,
                        const char *xml, size_t xml_len)
{
    assert(!b->open);
    assert(b->nrec < b->cap_rec);
    batch_rec *r = &b->recs[b->nrec];
    r->file = file;
    r->line = line;
    r->seq = seq;
    r->route = 0;
    r->xml_len = (uint32_t)xml_len;
    r->xml_off = batch_put_text(b, xml, xml_len);
    b->open = 1;
    /* first[nrec] already equals nrows of every table (set at commit/reset) */
}

value *batch_add_row(batch *b, size_t t)
{
    assert(b->open && t < b->ntables);
    batch_table *bt = &b->tabs[t];
    if (bt->nrows == bt->cap_rows) {
        bt->cap_rows *= 2;
        bt->vals = xrealloc(bt->vals, bt->cap_rows * bt->ncols * sizeof *bt->vals);
    }
    value *v = bt->vals + bt->nrows * bt->ncols;
    for (size_t c = 0; c < bt->ncols; c++) {
        v[c].len = -1;
        v[c].off = 0;
        v[c].n.i = 0;
    }
    bt->nrows++;
    return v;
}

void batch_commit_record(batch *b, uint64_t route)
{
    assert(b->open);
    b->recs[b->nrec].route = route;
    b->nrec++;
    for (size_t t = 0; t < b->ntables; t++)
        b->tabs[t].first[b->nrec] = (uint32_t)b->tabs[t].nrows;
    b->open = 0;
}

void batch_abort_record(batch *b)
{
    assert(b->open);
    for (size_t t = 0; t < b->ntables; t++)
        b->tabs[t].nrows = b->tabs[t].first[b->nrec];
    b->arena_len = b->recs[b->nrec].xml_off;
    b->open = 0;
}

/* ---- resume points ---- */

void batch_mark_record(batch *b, uint32_t file, const resume_mark *mk)
{
    assert(!b->open);
    batch_mark *m = NULL;
    for (size_t i = b->nmarks; i-- > 0;)
        if (b->marks[i].file == file) {
            m = &b->marks[i];
            break;
        }
    if (!m) {
        if (b->nmarks == b->cap_marks) {
            b->cap_marks = b->cap_marks ? b->cap_marks * 2 : 4;
            b->marks = xrealloc(b->marks, b->cap_marks * sizeof *b->marks);
        }
        m = &b->marks[b->nmarks++];
        m->file = file;
        m->gen = 0;
    }
    m->seq = mk->seq;
    m->offset = mk->offset;
    m->line = mk->line;
    m->col = mk->col;
    if (m->gen != mk->gen || mk->gen == 0) {
        /* the ancestors changed: their prolog copied once more */
        m->prolog_off = batch_put_text(b, mk->prolog, mk->prolog_len);
        m->prolog_len = (uint32_t)mk->prolog_len;
        m->gen = mk->gen;
    }
}

const batch_mark *batch_file_mark(const batch *b, uint32_t file)
{
    for (size_t i = 0; i < b->nmarks; i++)
        if (b->marks[i].file == file)
            return &b->marks[i];
    return NULL;
}

/* ---- rejects carried for the ledger ---- */

void batch_add_reject(batch *b, uint32_t file, uint64_t seq, uint64_t line, const char *reason,
                      size_t reason_len, const char *xml, size_t xml_len)
{
    assert(!b->open && b->nrec > 0);
    if (b->nrejects == b->cap_rejects) {
        b->cap_rejects = b->cap_rejects ? b->cap_rejects * 2 : 8;
        b->rejects = xrealloc(b->rejects, b->cap_rejects * sizeof *b->rejects);
    }
    batch_reject *r = &b->rejects[b->nrejects++];
    r->file = file;
    r->seq = seq;
    r->line = line;
    r->before = b->nrec - 1;
    r->reason_off = batch_put_text(b, reason, reason_len);
    r->reason_len = (uint32_t)reason_len;
    r->xml_off = batch_put_text(b, xml, xml_len);
    r->xml_len = (uint32_t)xml_len;
}
