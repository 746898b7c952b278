/* resume-ab.c — two builds of src/resume.c side by side (bench/resume-ab/run.sh
 * compiles them under the prefixes old_ and new_): generated documents of the
 * tracker's hard cases (CDATA, comments and PIs holding '<', '>' and end
 * tags, '--', '>' and '/>' in quotes, self-closing and nested same-name
 * records, entity references, CRLF, multi-byte UTF-8, DOCTYPEs, cut
 * documents), and optionally a big input file, are fed to both in reads of
 * every size 1..N and in random splits; the trackers' state and every
 * queued mark (offset, line, column, name, prolog and its generation) must
 * be equal.  Usage: resume-ab DOCS N [FILE] (FILE: gen-apps output, record
 * /a:applications/a:application).  Exits 1 on a difference. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "mapping.h"
#include "resume.h"
#include "strbuf.h"

#define DECL(w) void *w##_new(const record_path *, uint64_t, uint64_t); \
    void w##_free(void *); void w##_feed(void *, const char *, size_t); \
    void w##_dump(void *, strbuf *); void w##_set_quick(void *, int);
DECL(old)
DECL(new)

static unsigned long long rs = 1;
static unsigned rnd(unsigned n) { rs = rs * 6364136223846793005ULL + 1442695040888963407ULL; return (unsigned)(rs >> 33) % n; }

static const char *texts[] = {
    "plain", " ", "\n", "\r\n", "caf\xC3\xA9", "Nguy\xE1\xBB\x85n", "\xF0\x9F\x98\x80", "&amp;", "&#233;", "&lt;x&gt;",
    "a > b", "q\"uo'te", "]]&gt;", "  \r\n\t  ", "-->", "?>",
};
static const char *bits[] = {
    "<!-- a comment -->", "<!---->", "<!-- - -- x -- -->", "<!-- <rec> </rec> > -->", "<!--->-->", "<!-- a --->",
    "<![CDATA[ a<b>c </rec> ]] ]> ] ]]>", "<![CDATA[]]>", "<![CDATA[]]]]>", "<![CDATA[>]]>",
    "<?pi a>b ? > ?>", "<?\?>", "<?x?>", "<?pi <rec> ?>",
    "<x/>", "<x a=\"/>\" b='>'/>", "<x a='>'>t</x>", "<x a=\"'\" b='\"'>t</x >", "<x\r\n a=\"1\"\r\n/>",
    "<rec>inner<rec/></rec>", "<rec id='9'><rec>in</rec></rec>", "<a:b xmlns:a='urn:a'>v</a:b>",
    "<y><z><w/></z></y>", "<!--><e>-->", "<!---><e>-->", "<?><e>?>", "<?pi ?<e>?>", "<![CDATA[]><e>]]>", "<![CDATA[]]]><e>]]>",
    "<e a=\"<!--\">x</e>", "<e a='<![CDATA['>", "</e>", "<!-- </rec> -->", "<![CDATA[</rec>]]>", "<?p </rec>?>", "<e\n/>", "<>", "< e>", "<e a='1'\t/>", "<x a=\"1\" />", "<x a=\"/\">t</x>", "<\xC3\xA9l\xC3\xA9ment>\xE2\x82\xAC</\xC3\xA9l\xC3\xA9ment>",
};

/* Appends a random record body to b (depth d). */
static void body(strbuf *b, int d)
{
    int n = (int)rnd(6);
    for (int i = 0; i < n; i++) {
        unsigned k = rnd(10);
        if (k < 4)
            sb_puts(b, texts[rnd(sizeof texts / sizeof *texts)]);
        else if (k < 8)
            sb_puts(b, bits[rnd(sizeof bits / sizeof *bits)]);
        else if (d < 4) {
            const char *nm = rnd(3) == 0 ? "rec" : "e";
            sb_puts(b, "<"); sb_puts(b, nm);
            if (rnd(2)) sb_puts(b, " a=\"x>y\"");
            if (rnd(3) == 0) { sb_puts(b, "/>"); continue; }
            sb_puts(b, ">");
            body(b, d + 1);
            sb_puts(b, "</"); sb_puts(b, nm); sb_puts(b, rnd(4) ? ">" : " >");
        }
    }
}

/* A random document: record path /root/rec (or a:root/a:rec). */
static void make_doc(strbuf *b, int ns)
{
    sb_reset(b);
    if (rnd(3)) sb_puts(b, "\xEF\xBB\xBF" + (rnd(2) ? 3 : 0));
    if (rnd(3)) sb_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    sb_puts(b, rnd(2) ? "\n" : "\r\n");
    if (rnd(4) == 0) sb_puts(b, "<!-- head -->\n");
    sb_puts(b, ns ? "<a:root xmlns:a='urn:a' x=\"1>\">" : "<root>");
    int n = 1 + (int)rnd(6);
    for (int i = 0; i < n; i++) {
        sb_puts(b, texts[rnd(3) + 1]);
        unsigned k = rnd(8);
        const char *rn = ns ? "a:rec" : "rec";
        if (k == 0) { sb_puts(b, "<"); sb_puts(b, rn); sb_puts(b, " id='1'/>"); }
        else if (k == 1) sb_puts(b, bits[rnd(sizeof bits / sizeof *bits)]);
        else if (k == 2) { sb_puts(b, "<other>"); body(b, 1); sb_puts(b, "</other>"); }
        else {
            sb_puts(b, "<"); sb_puts(b, rn);
            sb_puts(b, rnd(2) ? " id=\"7\" n='a/>b'>" : ">");
            body(b, 0);
            sb_puts(b, "</"); sb_puts(b, rn); sb_puts(b, ">");
        }
    }
    sb_puts(b, ns ? "\n</a:root>\n" : "\n</root>\n");
    if (rnd(10) == 0) b->len -= rnd((unsigned)b->len / 2 + 1); /* cut */
    if (rnd(20) == 0) { const char *d = "<!DOCTYPE x>"; size_t at = rnd((unsigned)b->len); /* splice */
        strbuf c = STRBUF_INIT; sb_append(&c, b->buf, at); sb_puts(&c, d); sb_append(&c, b->buf + at, b->len - at);
        sb_reset(b); sb_append(b, c.buf, c.len); sb_free(&c); }
}

static long cases, feeds, diffs;

/* Feeds doc to old and new in chunks: size k (0: random splits); compares. */
static void compare(const record_path *rp, const char *doc, size_t len, size_t k, int quick)
{
    void *o = old_new(rp, 0, 0), *n = new_new(rp, 0, 0);
    new_set_quick(n, quick);
    for (size_t at = 0; at < len;) {
        size_t c = k ? k : 1 + rnd(64);
        if (c > len - at) c = len - at;
        old_feed(o, doc + at, c);
        new_feed(n, doc + at, c);
        at += c;
        feeds++;
    }
    strbuf a = STRBUF_INIT, b = STRBUF_INIT;
    old_dump(o, &a);
    new_dump(n, &b);
    cases++;
    if (a.len != b.len || memcmp(a.buf, b.buf, a.len) != 0) {
        if (diffs++ < 3) {
            fprintf(stderr, "DIFF chunk %zu doc:\n%.*s\n--- old:\n%s--- new:\n%s\n", k, (int)len, doc, sb_str(&a), sb_str(&b));
        }
    }
    sb_free(&a); sb_free(&b);
    old_free(o); new_free(n);
}

static record_path *rp_for_ns(const char *record, const char *uri)
{
    char buf[1024];
    mig_err err;
    snprintf(buf, sizeof buf,
             "<mapping xmlns='urn:migrate:mapping:1' record='%s'>"
             "<namespace prefix='a' uri='%s'/>"
             "<table name='t' key='id'><column name='id' path='@id' type='int'/></table>"
             "</mapping>", record, uri);
    mapping *m = mapping_load_memory(buf, strlen(buf), "h.xml", &err);
    if (!m) { fprintf(stderr, "%s\n", err.msg); exit(2); }
    return m->record;
}

static record_path *rp_for(const char *record) { return rp_for_ns(record, "urn:a"); }

int main(int argc, char **argv)
{
    int ndocs = argc > 1 ? atoi(argv[1]) : 300;
    size_t maxk = argc > 2 ? (size_t)atoi(argv[2]) : 64;
    record_path *plain = rp_for("/root/rec"), *ns = rp_for("/a:root/a:rec"), *any = rp_for("//rec");
    strbuf d = STRBUF_INIT;
    long marks = 0, stopped = 0;
    for (int i = 0; i < ndocs; i++) {
        int isns = i % 3 == 1;
        make_doc(&d, isns);
        const record_path *rp = isns ? ns : (i % 3 == 2 ? any : plain);
        for (size_t k = 1; k <= maxk; k++)
            compare(rp, d.buf, d.len, k, 1);
        compare(rp, d.buf, d.len, d.len ? d.len : 1, 1);
        for (int r = 0; r < 8; r++)
            compare(rp, d.buf, d.len, 0, 1);
        compare(rp, d.buf, d.len, 7, 0);
        /* count marks the whole feed queues */
        void *n = new_new(rp, 0, 0);
        new_feed(n, d.buf, d.len);
        strbuf s = STRBUF_INIT; new_dump(n, &s);
        for (const char *p = s.buf; (p = strstr(p, "\nev ")); p++) marks++;
        if (strstr(s.buf, "stopped 1")) stopped++;
        if (i == 5 || i == 7) fprintf(stderr, "sample:\n%s\n%s\n", d.buf, s.buf);
        sb_free(&s); new_free(n);
    }
    /* the big one, if given */
    if (argc > 3) {
        FILE *f = fopen(argv[3], "rb");
        strbuf big = STRBUF_INIT; char tmp[65536]; size_t r;
        while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) sb_append(&big, tmp, r);
        fclose(f);
        record_path *app = rp_for_ns("/a:applications/a:application", "urn:example:apps");
        for (size_t k = 1; k <= 5; k++) {
            compare(app, big.buf, big.len, k * 997, 1);
            compare(rp_for("/applications/application"), big.buf, big.len > 300000 ? 300000 : big.len, k * 331, 1);
        }
        compare(app, big.buf, big.len, 0, 1);
    }
    printf("cases %ld feeds %ld marks %ld stopped %ld diffs %ld\n", cases, feeds, marks, stopped, diffs);
    return diffs != 0;
}
