/* test_resume.c — resume points: the tracker finds where each record ends,
 * and a reader started at any of them (input_open_at + reader_open_at)
 * hands out exactly the records, lines, sequence numbers and XML a reader
 * from the start hands out after that record; plain and gzip input,
 * prefixed and default namespaces on the ancestors, comments, CDATA and
 * processing instructions, '>' inside attribute values, records past line
 * 65535, the //-file; and no mark where the fast file must not be taken
 * (a DTD, another encoding, an error before the record). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "mapping.h"
#include "reader.h"
#include "resume.h"
#include "strbuf.h"
#include "unit.h"

/* One record as the reader handed it out. */
typedef struct seen {
    uint64_t seq, line;
    char *xml;
    int marked;
    resume_mark mk; /* prolog copied */
} seen;

/* Reads file from the start (at NULL) or from mark at; fills out[] (up to
 * cap) with the records, marks taken by a tracker; returns their number.
 * want_ok: the input must end without an error. */
static size_t read_records(const char *file, mapping *m, const resume_mark *at, seen *out,
                           size_t cap, int want_ok)
{
    mig_err err;
    input *in;
    resume_tracker *tr;
    strbuf pro = STRBUF_INIT;
    if (at) {
        size_t head;
        uint64_t nl;
        CU_ASSERT_EQUAL_FATAL(resume_prolog(at, &pro, &head, &nl), 0);
        input_start st = {at->offset, pro.buf, head, nl, pro.buf + head, pro.len - head};
        in = input_open_at(file, &st, NULL, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in);
        tr = resume_tracker_new(m->record, at->offset - in->prefix_len, at->seq);
    } else {
        in = input_open(file, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in);
        tr = resume_tracker_new(m->record, 0, 0);
    }
    in->tap = resume_tracker_feed;
    in->tap_arg = tr;
    reader *r = at ? reader_open_at(in, m, NULL, 0, at->seq, &err)
                   : reader_open(in, m, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    reader_record rec;
    size_t n = 0;
    strbuf xml = STRBUF_INIT;
    int rc;
    while ((rc = reader_next(r, &rec, &err)) == 1 && n < cap) {
        seen *s = &out[n++];
        memset(s, 0, sizeof *s);
        s->seq = rec.seq;
        s->line = rec.line;
        reader_record_xml(r, &rec, &xml);
        s->xml = xstrdup(sb_str(&xml));
        const char *prefix = rec.node->ns && rec.node->ns->prefix
                                 ? (const char *)rec.node->ns->prefix : NULL;
        if (reader_resumable(r) &&
            resume_tracker_record(tr, rec.seq, prefix, (const char *)rec.node->name, rec.line,
                                  &s->mk) == 1) {
            s->marked = 1;
            char *p = xmalloc(s->mk.prolog_len + 1);
            memcpy(p, s->mk.prolog, s->mk.prolog_len);
            p[s->mk.prolog_len] = '\0';
            s->mk.prolog = p;
        }
    }
    CU_ASSERT(rc == 0 || !want_ok);
    if (rc != 0 && want_ok)
        fprintf(stderr, "\n  %s\n", err.msg);
    reader_close(r);
    input_close(in);
    resume_tracker_free(tr);
    sb_free(&xml);
    sb_free(&pro);
    return n;
}

static void free_seen(seen *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].xml);
        if (s[i].marked)
            free((char *)s[i].mk.prolog);
    }
}

/* Reads doc from the start, then from every mark: the records after each
 * mark are those of the full read, in order, with the same line, seq and
 * XML, and carry marks of their own.  Returns the number of marks. */
static size_t check_every_mark(const char *name, const char *doc, size_t len, int gz,
                               const char *record)
{
    mapping *m = unit_map_for(record);
    const char *file = unit_put_bytes(name, doc, len, gz);
    enum { CAP = 64 };
    seen all[CAP], from[CAP];
    size_t n = read_records(file, m, NULL, all, CAP, 1), marks = 0;
    CU_ASSERT(n > 0);
    for (size_t i = 0; i < n; i++) {
        if (!all[i].marked)
            continue;
        marks++;
        size_t k = read_records(file, m, &all[i].mk, from, CAP, 1);
        CU_ASSERT_EQUAL(k, n - i - 1);
        for (size_t j = 0; j < k && i + 1 + j < n; j++) {
            const seen *a = &all[i + 1 + j], *b = &from[j];
            CU_ASSERT_EQUAL(a->seq, b->seq);
            CU_ASSERT_EQUAL(a->line, b->line);
            CU_ASSERT_STRING_EQUAL(a->xml, b->xml);
            CU_ASSERT_EQUAL(a->marked, b->marked);
            if (a->marked && b->marked) {
                CU_ASSERT_EQUAL(a->mk.offset, b->mk.offset);
                CU_ASSERT_EQUAL(a->mk.line, b->mk.line);
                CU_ASSERT_EQUAL(a->mk.col, b->mk.col);
            }
            if (a->line != b->line || strcmp(a->xml, b->xml) != 0)
                fprintf(stderr, "\n  %s from mark %zu: record %llu line %llu/%llu\n  %s\n  %s\n",
                        name, i + 1, (unsigned long long)a->seq,
                        (unsigned long long)a->line, (unsigned long long)b->line, a->xml,
                        b->xml);
        }
        free_seen(from, k);
    }
    free_seen(all, n);
    mapping_free(m);
    return marks;
}

static const char NS_DOC[] =
    "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<!-- a comment, <a:r id='0'/> inside -->\n"
    "<?pi <a:r id='0'/> ?>\n"
    "<a:root xmlns:a=\"urn:a\" xmlns=\"urn:d\" note=\"x > y\"\n"
    "        other='it&apos;s'>\n"
    "  <a:head><a:r id=\"99\"/></a:head>\n"
    "  <a:r id=\"1\" v=\"a>b\"><x>t</x><![CDATA[ </a:r> ]]><!-- </a:r> --></a:r>\n"
    "  <a:r id=\"2\"/><a:r id=\"3\">caf\xC3\xA9 &amp; <y a='1'/></a:r>\n"
    "  <b:r xmlns:b=\"urn:a\" id=\"4\"><?p x?></b:r>\n"
    "  <a:r xmlns:a=\"urn:other\" id=\"5\"/>\n"
    "  <a:r id=\"6\">\n\n  deep <a:r id='7'/>\n  </a:r>\n"
    "</a:root>\n<!-- the end -->\n";

/* Prefixed and default namespaces, comments, CDATA, PIs, '>' in
 * attributes, a record under another prefix of the same URI, a look-alike
 * in another namespace, plain and gzip. */
static void test_marks_namespaces(void)
{
    size_t n = check_every_mark("ns.xml", NS_DOC, sizeof NS_DOC - 1, 0, "/a:root/a:r");
    CU_ASSERT_EQUAL(n, 5); /* 1, 2, 3, 4, 6 (the last one too) */
    CU_ASSERT_EQUAL(check_every_mark("ns.xml.gz", NS_DOC, sizeof NS_DOC - 1, 1, "/a:root/a:r"),
                    5);
}

/* The //-file: records at several depths under ancestors that change. */
static void test_marks_anywhere(void)
{
    static const char doc[] =
        "<top xmlns:a='urn:a'><g1><a:r id='1'/><a:r id='2'><a:r id='9'/></a:r></g1>\n"
        "<g2 k='v'>\n<h><a:r id='3'/></h><a:r id='4'>x</a:r></g2><a:r id='5'/></top>";
    CU_ASSERT_EQUAL(check_every_mark("any.xml", doc, sizeof doc - 1, 0, "//a:r"), 5);
}

/* Records beyond line 65535 (libxml2 keeps big line numbers elsewhere) and
 * a long line: lines and columns stay those of the file. */
static void test_marks_big_lines(void)
{
    strbuf d = STRBUF_INIT;
    sb_puts(&d, "<?xml version='1.0'?>\n<a:root xmlns:a='urn:a'>");
    for (int i = 1; i <= 30; i++) {
        for (int k = 0; k < 3000; k++)
            sb_putc(&d, '\n');
        sb_printf(&d, "<a:r id='%d'>t</a:r>", i);
        for (int k = 0; k < i * 10; k++)
            sb_putc(&d, ' ');
    }
    sb_puts(&d, "</a:root>");
    CU_ASSERT_EQUAL(check_every_mark("big.xml", d.buf, d.len, 0, "/a:root/a:r"), 30);
    sb_free(&d);
}

/* Returns how many records of doc got a mark. */
static size_t marks_of(const char *doc, const char *record)
{
    mapping *m = unit_map_for(record);
    const char *file = unit_put_bytes("no.xml", doc, strlen(doc), 0);
    seen all[16];
    size_t n = read_records(file, m, NULL, all, 16, 0), marks = 0;
    for (size_t i = 0; i < n; i++)
        marks += all[i].marked;
    free_seen(all, n);
    mapping_free(m);
    return marks;
}

/* No mark where starting later could differ: a DTD (entities), an encoding
 * other than UTF-8; and none after an error (an undeclared prefix). */
static void test_no_marks(void)
{
    CU_ASSERT_EQUAL(marks_of("<!DOCTYPE root [<!ENTITY e 'x'>]><root><r id='1'>&e;</r>"
                             "<r id='2'/></root>", "/root/r"), 0);
    CU_ASSERT_EQUAL(marks_of("<?xml version='1.0' encoding='ISO-8859-1'?><root><r id='1'/>"
                             "<r id='2'/></root>", "/root/r"), 0);
    CU_ASSERT_EQUAL(marks_of("<root><r id='1'/><r id='2'/><x:r id='3'/><r id='4'/></root>",
                             "/root/r"), 0);
    /* the same without the error: every record */
    CU_ASSERT_EQUAL(marks_of("<root><r id='1'/><r id='2'/><r id='4'/></root>", "/root/r"), 3);
}

/* Records of SPLIT_DOC (/a:root/a:r): id, the text that ends it and which
 * occurrence of that text. */
static const struct {
    const char *start, *end;
    int nth;
} SPLIT_RECS[] = {
    {"<a:r id=\"1\"", "</a:r>", 4},
    {"<a:r id=\"2\"", "<a:r id=\"2\"/>", 1},
    {"<a:r id=\"3\"", "</a:r></a:r>", 1},
    {"<a:r id=\"4\"", "</a:r >", 1},
    {"<a:r id=\"5\"", "<?p?></a:r>", 1},
};

/* What the quick skip must read exactly as the tokenizer does: CDATA and
 * comments and PIs holding '<', '>' and the record's end tag, "--" in a
 * comment, '>' and "/>" in attributes, self-closing and nested records of
 * the same name, entity references, CRLF, multi-byte UTF-8, a tag broken
 * over lines, and closers that are too short ("<!-->", "<?>"). */
static const char SPLIT_DOC[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    "<a:root xmlns:a=\"urn:a\" note=\"x > y\">\r\n"
    "  <a:r id=\"1\" v=\"a>b\" w='c/>'><x q=\"'\">t</x><![CDATA[ <a:r> </a:r> ]] ]> ]]>"
    "<!-- </a:r> -- - ---><?p </a:r> ?></a:r>\r\n"
    "  <a:r id=\"2\"/><a:r id=\"3\">caf\xC3\xA9 &amp; &#233; <y a='/>'/>"
    "<a:r id='9'><a:r/></a:r></a:r>\r\n"
    "  <a:r id=\"4\">\r\n\xE2\x82\xAC \xF0\x9F\x98\x80<z\r\n q=\"1\"\r\n/>\r\n</a:r >\r\n"
    "  <other><a:r id='8'/></other>"
    "<a:r id=\"5\"><!--><e>--><!---><e>--><![CDATA[]><e>]]><?q><e>?><?><e>?><w a='\">'/><?p?></a:r>\r\n"
    "</a:root>\r\n";

/* Returns the line of doc[0..at) + 1, and *col the characters after its
 * last newline + 1. */
static uint64_t line_col(const char *doc, size_t at, uint64_t *col)
{
    uint64_t line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (doc[i] == '\n')
            line++, *col = 1;
        else if (((unsigned char)doc[i] & 0xC0) != 0x80)
            (*col)++;
    }
    return line;
}

/* The marks do not depend on how the input is cut into reads, nor on
 * whether the quick skip or the tokenizer reads the records: SPLIT_DOC fed
 * in reads of every size from 1 byte to all of it, and in two reads cut at
 * every byte, gives each record the mark right after its end tag (offset,
 * line, column in characters, the declaration and root as prolog). */
static void test_marks_any_split(void)
{
    enum { NREC = sizeof SPLIT_RECS / sizeof *SPLIT_RECS };
    const char *doc = SPLIT_DOC;
    size_t len = sizeof SPLIT_DOC - 1;
    static const char prolog[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a:root xmlns:a=\"urn:a\" note=\"x > y\">";
    uint64_t start_line[NREC], offset[NREC], line[NREC], col[NREC], c;
    for (size_t i = 0; i < NREC; i++) {
        const char *s = strstr(doc, SPLIT_RECS[i].start), *e = doc;
        for (int k = 0; k < SPLIT_RECS[i].nth; k++)
            e = strstr(k ? e + 1 : e, SPLIT_RECS[i].end);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        start_line[i] = line_col(doc, (size_t)(s - doc), &c);
        offset[i] = (uint64_t)(e - doc) + strlen(SPLIT_RECS[i].end);
        line[i] = line_col(doc, offset[i], &col[i]);
    }
    /* known marks, by hand: record 4 ends on line 9 after "</a:r >" */
    CU_ASSERT_EQUAL(line[3], 9);
    CU_ASSERT_EQUAL(col[3], 8);
    mapping *m = unit_map_for("/a:root/a:r");
    size_t bad = 0, runs = 0;
    for (int quick = 0; quick <= 1; quick++) {
        for (size_t k = 1; k <= 2 * len; k++) {
            /* k <= len: reads of k bytes; beyond: two reads cut at k - len */
            resume_tracker *t = resume_tracker_new(m->record, 0, 0);
            resume_tracker_set_quick(t, quick);
            if (k <= len) {
                for (size_t at = 0; at < len; at += k)
                    resume_tracker_feed(t, doc + at, len - at < k ? len - at : k);
            } else {
                resume_tracker_feed(t, doc, k - len);
                resume_tracker_feed(t, doc + (k - len), len - (k - len));
            }
            for (size_t i = 0; i < NREC; i++) {
                resume_mark mk;
                int ok = resume_tracker_record(t, i + 1, "a", "r", start_line[i], &mk) == 1 &&
                         mk.seq == i + 1 && mk.offset == offset[i] && mk.line == line[i] &&
                         mk.col == col[i] && mk.prolog_len == sizeof prolog - 1 &&
                         memcmp(mk.prolog, prolog, mk.prolog_len) == 0;
                if (!ok && bad++ == 0)
                    fprintf(stderr, "\n  quick %d, split %zu: record %zu's mark differs"
                            " (offset %llu line %llu col %llu, want %llu %llu %llu)\n",
                            quick, k, i + 1, (unsigned long long)mk.offset,
                            (unsigned long long)mk.line, (unsigned long long)mk.col,
                            (unsigned long long)offset[i], (unsigned long long)line[i],
                            (unsigned long long)col[i]);
                if (!ok)
                    break;
            }
            resume_tracker_free(t);
            runs++;
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(runs, 4 * len);
    mapping_free(m);
}

int main(void)
{
    UNIT_BEGIN("resume");
    UNIT_TEST(test_marks_namespaces);
    UNIT_TEST(test_marks_anywhere);
    UNIT_TEST(test_marks_big_lines);
    UNIT_TEST(test_no_marks);
    UNIT_TEST(test_marks_any_split);
    UNIT_END();
}
