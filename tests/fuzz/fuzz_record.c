/* fuzz_record.c — libFuzzer target: input -> reader -> mapper on one
 * document (the bytes given), with the example applications mapping
 * (three tables, namespaces, each="", ../@ paths, predicates, patterns,
 * replace rules, every kind of type).  Each record is serialised for the
 * reject file (and must parse again as XML), routed and mapped into a
 * batch, as the engine does.  max_bytes is small (64 KB) so that the
 * too-large path runs too; 4 KB for an input of odd length, so that the
 * reader's input filter breaks texts and cuts tags, comments and PIs
 * (past 4 KB without a start tag) in inputs of a few KB.
 *
 * The resume tracker (resume.c) scans the same bytes as an input tap, as the
 * engine runs it.  The mark after record 1 + (size / 2) % 4 (or the next it
 * gives) must point just after a '>' of the input, and reading again from that mark (its prolog,
 * then the input's bytes from its offset: what a rerun does) must give the
 * same records after it (number, line, XML) and end the same way, for an
 * input that is UTF-8 throughout with no record too large. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "batch.h"
#include "input.h"
#include "mapper.h"
#include "mapping.h"
#include "reader.h"
#include "resume.h"
#include "types.h"
#include "strbuf.h"

static mapping *map;

static const char mapping_xml[] =
    "<mapping xmlns='urn:migrate:mapping:1' record='/a:applications/a:application'>"
    "<namespace prefix='a' uri='urn:example:apps'/>"
    "<table name='app_base' key='app_id'>"
    "<column name='app_id' path='@app_id' type='int'/>"
    "<column name='received' path='@received' type='datetime'/>"
    "<column name='product' path='a:product' type='varchar(8)' pattern='^(CARD|LOAN)$'/>"
    "<column name='amount' path='a:amount' type='decimal(12,2)'/>"
    "<column name='ratio' path='a:ratio' type='float'/>"
    "<column name='flag' path='@flag' type='bit'/>"
    "<column name='uid' path='@uid' type='uniqueidentifier'/>"
    "<column name='src' var='file' type='nvarchar(260)'/>"
    "</table>"
    "<table name='contact' each='a:contact' key='con_id app_id'>"
    "<column name='con_id' path='@con_id' type='int'/>"
    "<column name='app_id' path='../@app_id' type='int'/>"
    "<column name='name' path='a:last_name' type='nvarchar(8)' required='true'/>"
    "<column name='born' path='a:birth_date' type='date'/>"
    "<column name='t' path='a:t/text()' type='time'/>"
    "<column name='phone' path='a:phone' type='varchar(16)' replace-match='[^0-9]' replace-with=''/>"
    "<column name='lang' path='@lang' type='char(2)' default='en'/>"
    "</table>"
    "<table name='addr' each=\"a:contact/a:address[@type='CURR']\" key='con_id app_id'>"
    "<column name='con_id' path='../@con_id' type='int'/>"
    "<column name='app_id' path='../../@app_id' type='int'/>"
    "<column name='city' path='a:city[1]' type='nvarchar(64)'/>"
    "</table></mapping>";

/* Memory input over the fuzzer's bytes, in short reads. */
typedef struct mem_src {
    const uint8_t *p;
    size_t left;
} mem_src;

/* Returns up to 7000 bytes of the remaining input, shown to the tap. */
static ssize_t mem_read(input *in, char *buf, size_t len, mig_err *err)
{
    (void)err;
    mem_src *m = in->impl;
    size_t n = len < m->left ? len : m->left;
    if (n > 7000)
        n = 7000;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    if (n > 0 && in->tap) /* as input.c's layer shows its reads */
        in->tap(in->tap_arg, buf, n);
    return (ssize_t)n;
}

static void mem_close(input *in)
{
    (void)in;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    xmlInitParser();
    mig_err err;
    map = mapping_load_memory(mapping_xml, sizeof mapping_xml - 1, "fuzz-map.xml", &err);
    if (!map)
        abort();
    return 0;
}

/* One record as the reader gave it, to compare a resumed reading with. */
typedef struct seen_rec {
    uint64_t seq, line;
    int too_big;
    strbuf xml;
} seen_rec;

/* Appends record rec of r (its XML serialised) to recs (grown; *n of them). */
static void keep_rec(reader *r, const reader_record *rec, seen_rec **recs, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *recs = realloc(*recs, *cap * sizeof **recs);
        if (!*recs)
            abort();
    }
    seen_rec *sr = &(*recs)[(*n)++];
    sr->seq = rec->seq;
    sr->line = rec->line;
    sr->too_big = rec->too_big;
    sb_init(&sr->xml);
    reader_record_xml(r, rec, &sr->xml);
}

/* Returns 1 if a record of recs[0..n) was too large (or cut by the filter). */
static int any_too_big(const seen_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].too_big)
            return 1;
    return 0;
}

static void seen_free(seen_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sb_free(&recs[i].xml);
    free(recs);
}

/* Reads data again from mark mk (what a rerun does) and traps unless the
 * records after mk and the end are those of the first reading (recs, rc). */
static void check_resume(const uint8_t *data, size_t size, size_t max_bytes,
                         const resume_mark *mk, const seen_rec *recs, size_t n, int rc)
{
    if (mk->offset == 0 || mk->offset > size || data[mk->offset - 1] != '>')
        __builtin_trap();
    strbuf pro = STRBUF_INIT, bytes = STRBUF_INIT;
    size_t head_len;
    uint64_t newlines;
    if (resume_prolog(mk, &pro, &head_len, &newlines) != 0)
        __builtin_trap(); /* the tracker's own mark must add up */
    sb_append(&bytes, pro.buf, head_len);
    for (uint64_t i = 0; i < newlines; i++)
        sb_putc(&bytes, '\n');
    sb_append(&bytes, pro.buf + head_len, pro.len - head_len);
    size_t prefix_len = bytes.len;
    sb_append(&bytes, (const char *)data + mk->offset, size - mk->offset);
    mem_src src = {(const uint8_t *)bytes.buf, bytes.len};
    input in = {"fuzz.xml", "mem", mem_read, mem_close, &src};
    in.prefix_len = prefix_len;
    mig_err err;
    reader *r = reader_open_at(&in, map, NULL, max_bytes, mk->seq, &err);
    if (!r)
        __builtin_trap();
    seen_rec *again = NULL;
    size_t m = 0, cap = 0;
    reader_record rec;
    int rc2;
    while ((rc2 = reader_next(r, &rec, &err)) == 1)
        keep_rec(r, &rec, &again, &m, &cap);
    reader_close(r);
    size_t k = 0; /* the first record after the mark */
    while (k < n && recs[k].seq <= mk->seq)
        k++;
    if (any_too_big(again, m)) {
        seen_free(again, m);
        sb_free(&pro);
        sb_free(&bytes);
        return; /* see the caller */
    }
    if (rc2 != rc || m != n - k)
        __builtin_trap();
    for (size_t i = 0; i < m; i++) {
        const seen_rec *a = &recs[k + i], *b = &again[i];
        if (a->seq != b->seq || a->line != b->line || a->too_big != b->too_big ||
            a->xml.len != b->xml.len ||
            (a->xml.len && memcmp(a->xml.buf, b->xml.buf, a->xml.len) != 0))
            __builtin_trap();
    }
    seen_free(again, m);
    sb_free(&pro);
    sb_free(&bytes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_bytes = size % 2 ? 4096 : 64 * 1024;
    mem_src src = {data, size};
    input in = {"fuzz.xml", "mem", mem_read, mem_close, &src};
    resume_tracker *tr = resume_tracker_new(map->record, 0, 0);
    in.tap = resume_tracker_feed;
    in.tap_arg = tr;
    mig_err err;
    reader *r = reader_open(&in, map, NULL, max_bytes, &err);
    if (!r) {
        resume_tracker_free(tr);
        return 0;
    }
    mapper *mp = mapper_new(map, 0);
    batch *b = batch_new(map, 4);
    char reason[1024];
    seen_rec *recs = NULL;
    size_t n = 0, cap = 0;
    resume_mark mk;
    int marked = 0, rc;
    uint64_t want = 1 + (size / 2) % 4; /* the mark after this record, or the next */
    strbuf prolog = STRBUF_INIT;
    reader_record rec;
    while ((rc = reader_next(r, &rec, &err)) == 1) {
        keep_rec(r, &rec, &recs, &n, &cap);
        const strbuf *xml = &recs[n - 1].xml;
        if (!marked && reader_resumable(r)) {
            const xmlNode *nd = rec.node;
            const char *prefix = nd->ns && nd->ns->prefix ? (const char *)nd->ns->prefix : NULL;
            if (resume_tracker_record(tr, rec.seq, prefix, (const char *)nd->name, rec.line,
                                      &mk) == 1 &&
                rec.seq >= want) {
                marked = 1;
                sb_append(&prolog, mk.prolog, mk.prolog_len);
            }
        }
        if (rec.too_big) {
            if (xml->len != 0)
                __builtin_trap();
            continue;
        }
        /* what goes to the reject file must stand alone */
        xmlDocPtr again = xmlReadMemory(xml->buf, (int)xml->len, "again.xml", NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!again)
            __builtin_trap();
        xmlFreeDoc(again);
        record_ctx ctx = {"fuzz.xml", rec.line, rec.seq};
        uint64_t route = mapper_route(mp, rec.node, &ctx);
        if (b->nrec == b->cap_rec)
            batch_reset(b);
        batch_begin_record(b, 0, rec.line, rec.seq, xml->buf, xml->len);
        if (mapper_map(mp, rec.node, &ctx, b, reason, sizeof reason) != 0)
            batch_abort_record(b);
        else
            batch_commit_record(b, route);
    }
    reader_close(r);
    /* Not compared for an input that is not UTF-8 throughout, or where
     * either reading found a record too large: a rerun from a mark next to
     * such a record can end the file differently (README "Known limits").
     * What this check found there first, a tag cut or not depending on the
     * reads' sizes, is fixed (test_cut_any_read_size); the cases left were
     * a mark's prolog the filter then cut, with max_bytes 4 KB. */
    if (marked && utf8_chars((const char *)data, size) >= 0 && !any_too_big(recs, n)) {
        mk.prolog = prolog.buf ? prolog.buf : "";
        check_resume(data, size, max_bytes, &mk, recs, n, rc);
    }
    resume_tracker_free(tr);
    sb_free(&prolog);
    seen_free(recs, n);
    batch_free(b);
    mapper_free(mp);
    return 0;
}
