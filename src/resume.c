/* resume.c — resume points: the tracker that finds where each record ends in
 * the byte stream, and the prolog that lets a later run start there (see
 * resume.h).
 *
 * The tracker is a tokenizer driven byte by byte by the input tap, so a
 * token may span reads.  Outside records it keeps the raw start tags of the
 * open elements (the ancestors) and their namespace declarations, and
 * matches each new element against the record path exactly as the reader
 * does (same names, same namespace URIs).  Inside a record, and inside an
 * element that cannot hold one (off the record path), it only counts
 * depth, and there skip_tags goes from tag to tag by memchr instead of
 * byte by byte (most of the input is inside records).  Each record end becomes an event (seq, name, line of its start
 * tag, offset / line / column after its end tag, the prolog then), queued
 * until the reader hands that record out; prologs are shared between events
 * (refcounted) and rebuilt only when the ancestors change.
 *
 * It does not check well-formedness: libxml2 does, and the engine takes no
 * mark once the reader has seen an error (reader_resumable).
 *
 * Owns: its buffers, the queued events and their prologs. */
#include "config.h"
#include "resume.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "strbuf.h"

#define MAX_DEPTH 256
#define LINE_FIX_MAX 4096 /* spaces a prolog may get to put the column right */

typedef enum tstate {
    T_TEXT,     /* between tags */
    T_LT,       /* after '<' */
    T_STAG,     /* in a start tag */
    T_ETAG,     /* in an end tag */
    T_PI,       /* in <? ... ?> */
    T_BANG,     /* after "<!" */
    T_COMMENT,  /* in <!-- ... --> */
    T_CDATA,    /* in <![CDATA[ ... ]]> */
} tstate;

/* A prolog shared by the events that end under the same ancestors. */
typedef struct snap {
    int refs;
    uint64_t gen;
    size_t len;
    char data[];
} snap;

/* A record end not yet claimed by the reader. */
typedef struct event {
    uint64_t seq, start_line, offset, line, col;
    char *qname;
    snap *prolog;
} event;

/* An open ancestor. */
typedef struct anc {
    char *tag;          /* raw start tag, white space before '>' dropped */
    size_t tag_len;
    char **ns;          /* pairs prefix (NULL: default), uri ("" undeclares) */
    size_t nns;
} anc;

struct resume_tracker {
    const record_path *rp;
    int stopped;
    uint64_t pos, line, col;   /* of the next byte */
    uint64_t seq;              /* records ended so far */
    tstate st;
    char quote, last;          /* start tag: open quote, last byte outside quotes */
    int run;                   /* '-' / ']' / '?' run at the end of a comment, CDATA, PI */
    char bang[8];
    size_t nbang;
    strbuf tok;                /* the tag being read, when it is kept */
    int keep;                  /* keep this token's bytes in tok */
    int started;               /* a '<' was seen */
    size_t lead;               /* bytes before the first '<' */
    strbuf head;               /* BOM and XML declaration */
    int root_closed;           /* the root element ended: nothing may follow */
    anc stack[MAX_DEPTH];
    size_t depth;
    int skipping;              /* inside a record or an off-path element */
    int skip_record;           /* ... a record */
    size_t skip_depth;
    int quick;                 /* skip_tags reads what is skipped (0: the tokenizer) */
    strbuf rec_qname;
    uint64_t rec_line;
    snap *cur;                 /* prolog of the current ancestors, or NULL */
    uint64_t gen;
    event *ev;                 /* ring of queued events */
    size_t ev_head, ev_n, ev_cap;
    snap *given;               /* the prolog of the last mark handed out */
};

/* ---- prologs ---- */

/* Drops one reference to s. */
static void snap_release(snap *s)
{
    if (s && --s->refs == 0)
        free(s);
}

/* Returns the prolog of the current ancestors (a new reference), or NULL
 * when it would be too large. */
static snap *snap_current(resume_tracker *t)
{
    if (!t->cur) {
        size_t len = t->head.len;
        for (size_t i = 0; i < t->depth; i++)
            len += t->stack[i].tag_len;
        if (len > RESUME_PROLOG_MAX)
            return NULL;
        snap *s = xmalloc(sizeof *s + len + 1);
        s->refs = 1;
        s->gen = ++t->gen;
        s->len = len;
        memcpy(s->data, t->head.buf ? t->head.buf : "", t->head.len);
        size_t o = t->head.len;
        for (size_t i = 0; i < t->depth; i++) {
            memcpy(s->data + o, t->stack[i].tag, t->stack[i].tag_len);
            o += t->stack[i].tag_len;
        }
        s->data[len] = '\0';
        t->cur = s;
    }
    t->cur->refs++;
    return t->cur;
}

/* Marks the current prolog stale (the ancestors changed). */
static void snap_dirty(resume_tracker *t)
{
    snap_release(t->cur);
    t->cur = NULL;
}

/* ---- the tracker's life ---- */

resume_tracker *resume_tracker_new(const record_path *rp, uint64_t base, uint64_t first_seq)
{
    resume_tracker *t = xcalloc(1, sizeof *t);
    t->rp = rp;
    t->pos = base;
    t->line = t->col = 1;
    t->seq = first_seq;
    t->quick = 1;
    return t;
}

/* Frees ancestor a's strings. */
static void anc_free(anc *a)
{
    free(a->tag);
    for (size_t i = 0; i < a->nns; i++)
        free(a->ns[i]);
    free(a->ns);
    memset(a, 0, sizeof *a);
}

/* Drops every queued event. */
static void drop_events(resume_tracker *t)
{
    for (size_t i = 0; i < t->ev_n; i++) {
        event *e = &t->ev[(t->ev_head + i) % t->ev_cap];
        free(e->qname);
        snap_release(e->prolog);
    }
    t->ev_n = t->ev_head = 0;
}

void resume_tracker_stop(resume_tracker *t)
{
    if (!t || t->stopped)
        return;
    t->stopped = 1;
    drop_events(t);
    for (size_t i = 0; i < t->depth; i++)
        anc_free(&t->stack[i]);
    t->depth = 0;
    snap_dirty(t);
    sb_free(&t->tok);
}

void resume_tracker_set_quick(resume_tracker *t, int on)
{
    t->quick = on;
}

void resume_tracker_free(resume_tracker *t)
{
    if (!t)
        return;
    resume_tracker_stop(t);
    free(t->ev);
    snap_release(t->given);
    sb_free(&t->head);
    sb_free(&t->rec_qname);
    free(t);
}

/* ---- reading tags ---- */

/* Returns 1 for XML white space. */
static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Returns a copy of s[0..n). */
static char *dup_n(const char *s, size_t n)
{
    char *d = xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Parses the start tag s[0..n) ("<name a='v' ...>" or ".../>"): sets *name
 * / *nlen and appends its namespace declarations to a (prefix or NULL, uri).
 * Returns 0, or -1 for anything the tracker does not take (a reference or
 * white space in a namespace name, a tag it cannot read). */
static int parse_tag(const char *s, size_t n, const char **name, size_t *nlen, anc *a)
{
    size_t i = 1;
    while (i < n && !is_ws(s[i]) && s[i] != '/' && s[i] != '>')
        i++;
    *name = s + 1;
    *nlen = i - 1;
    if (*nlen == 0)
        return -1;
    for (;;) {
        while (i < n && is_ws(s[i]))
            i++;
        if (i >= n || s[i] == '/' || s[i] == '>')
            return 0;
        size_t an = i;
        while (i < n && !is_ws(s[i]) && s[i] != '=')
            i++;
        size_t alen = i - an;
        while (i < n && is_ws(s[i]))
            i++;
        if (i >= n || s[i] != '=')
            return -1;
        i++;
        while (i < n && is_ws(s[i]))
            i++;
        if (i >= n || (s[i] != '"' && s[i] != '\''))
            return -1;
        char q = s[i++];
        size_t v = i;
        while (i < n && s[i] != q)
            i++;
        if (i >= n)
            return -1;
        size_t vlen = i - v;
        i++;
        int deflt = alen == 5 && memcmp(s + an, "xmlns", 5) == 0;
        int pfx = alen > 6 && memcmp(s + an, "xmlns:", 6) == 0;
        if (!deflt && !pfx)
            continue;
        for (size_t k = v; k < v + vlen; k++)
            if (s[k] == '&' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r' || s[k] == '<')
                return -1;
        a->ns = xrealloc(a->ns, (a->nns + 2) * sizeof *a->ns);
        a->ns[a->nns++] = deflt ? NULL : dup_n(s + an + 6, alen - 6);
        a->ns[a->nns++] = dup_n(s + v, vlen);
    }
}

/* Returns the URI bound to prefix p[0..plen) (plen 0: the default
 * namespace) by a's declarations or the open ancestors', "" for none;
 * NULL for an undeclared prefix. */
static const char *lookup_ns(const resume_tracker *t, const anc *a, const char *p, size_t plen)
{
    if (plen == 3 && memcmp(p, "xml", 3) == 0)
        return "http://www.w3.org/XML/1998/namespace";
    for (size_t d = t->depth + 1; d-- > 0;) {
        const anc *x = d == t->depth ? a : &t->stack[d];
        for (size_t i = x->nns; i >= 2; i -= 2) {
            const char *dp = x->ns[i - 2];
            if (plen == 0 ? dp == NULL
                          : dp && strlen(dp) == plen && memcmp(dp, p, plen) == 0)
                return x->ns[i - 1];
        }
    }
    return plen == 0 ? "" : NULL;
}

/* Returns 1 if the element named name[0..nlen) with namespace uri ("":
 * none) is step k of the record path. */
static int step_is(const record_path *rp, size_t k, const char *uri, const char *local,
                   size_t llen)
{
    const char *want = rp->ns_uri[k];
    if (strlen(rp->local[k]) != llen || memcmp(rp->local[k], local, llen) != 0)
        return 0;
    return want ? strcmp(want, uri) == 0 : uri[0] == '\0';
}

/* Queues the end of the current record, which ends at the current byte. */
static void record_end(resume_tracker *t)
{
    snap *s = snap_current(t);
    if (!s) {
        resume_tracker_stop(t);
        return;
    }
    if (t->ev_n == t->ev_cap) {
        size_t cap = t->ev_cap ? t->ev_cap * 2 : 64;
        event *ev = xmalloc(cap * sizeof *ev);
        for (size_t i = 0; i < t->ev_n; i++)
            ev[i] = t->ev[(t->ev_head + i) % t->ev_cap];
        free(t->ev);
        t->ev = ev;
        t->ev_cap = cap;
        t->ev_head = 0;
    }
    event *e = &t->ev[(t->ev_head + t->ev_n++) % t->ev_cap];
    e->seq = ++t->seq;
    e->start_line = t->rec_line;
    e->offset = t->pos;
    e->line = t->line;
    e->col = t->col;
    e->qname = dup_n(t->rec_qname.buf ? t->rec_qname.buf : "", t->rec_qname.len);
    e->prolog = s;
}

/* A start tag outside records ended (in t->tok); pos is after its '>'. */
static void start_tag(resume_tracker *t)
{
    const char *s = t->tok.buf;
    size_t n = t->tok.len;
    int empty = n >= 2 && s[n - 2] == '/';
    anc a = {0};
    const char *name;
    size_t nlen;
    if (t->root_closed || t->depth >= MAX_DEPTH || parse_tag(s, n, &name, &nlen, &a) != 0)
        goto stop;
    const char *colon = memchr(name, ':', nlen);
    size_t plen = colon ? (size_t)(colon - name) : 0;
    const char *local = colon ? colon + 1 : name;
    size_t llen = nlen - (colon ? plen + 1 : 0);
    const char *uri = lookup_ns(t, &a, name, plen);
    if (!uri)
        goto stop; /* an undeclared prefix: libxml2's error */
    const record_path *rp = t->rp;
    int on_path, is_record;
    if (rp->anywhere) {
        is_record = step_is(rp, 0, uri, local, llen);
        on_path = 1;
    } else {
        on_path = t->depth < rp->nsteps && step_is(rp, t->depth, uri, local, llen);
        is_record = on_path && t->depth == rp->nsteps - 1;
    }
    if (is_record) {
        sb_reset(&t->rec_qname);
        sb_append(&t->rec_qname, name, nlen);
        t->rec_line = t->line;
        if (empty)
            record_end(t);
        else
            t->skipping = t->skip_record = 1, t->skip_depth = 0;
        anc_free(&a);
        return;
    }
    if (!on_path || empty) {
        if (!empty)
            t->skipping = 1, t->skip_record = 0, t->skip_depth = 0;
        else if (t->depth == 0)
            t->root_closed = 1;
        anc_free(&a);
        return;
    }
    /* an ancestor: keep its tag without the white space before '>' */
    size_t k = n - 1;
    while (k > 0 && is_ws(s[k - 1]))
        k--;
    a.tag_len = k + 1;
    a.tag = xmalloc(a.tag_len);
    memcpy(a.tag, s, k);
    a.tag[k] = '>';
    t->stack[t->depth++] = a;
    snap_dirty(t);
    return;
stop:
    anc_free(&a);
    resume_tracker_stop(t);
}

/* An end tag ended; pos is after its '>'. */
static void end_tag(resume_tracker *t)
{
    if (t->skipping) {
        if (t->skip_depth > 0) {
            t->skip_depth--;
            return;
        }
        t->skipping = 0;
        if (t->skip_record)
            record_end(t);
        else if (t->depth == 0)
            t->root_closed = 1;
        return;
    }
    if (t->depth == 0) {
        resume_tracker_stop(t);
        return;
    }
    anc_free(&t->stack[--t->depth]);
    snap_dirty(t);
    if (t->depth == 0)
        t->root_closed = 1;
}

/* The XML declaration (in t->tok) ended: kept as the head when it is the
 * first thing in the stream and names no encoding but UTF-8. */
static void xml_decl(resume_tracker *t)
{
    const char *s = t->tok.buf, *end = s + t->tok.len;
    const char *e = NULL;
    for (const char *p = s; p + 8 <= end; p++)
        if (memcmp(p, "encoding", 8) == 0) {
            e = p + 8;
            break;
        }
    if (e) {
        while (e < end && (is_ws(*e) || *e == '='))
            e++;
        if (e >= end || (*e != '"' && *e != '\''))
            goto stop;
        char q = *e++;
        const char *v = e;
        while (e < end && *e != q)
            e++;
        size_t n = (size_t)(e - v);
        if (!((n == 5 && strncasecmp(v, "UTF-8", 5) == 0) ||
              (n == 4 && strncasecmp(v, "UTF8", 4) == 0)))
            goto stop;
    }
    sb_append(&t->head, s, t->tok.len);
    return;
stop:
    resume_tracker_stop(t);
}

/* Bytes that end the plain part of a start tag: a quote or '>'. */
static const unsigned char tag_stop[256] = {['"'] = 1, ['\''] = 1, ['>'] = 1};

/* Returns the first byte of s[0..end) that is '>' or a quote, or end.
 * (Byte by byte: tags are short; eight bytes at a time cost more here.) */
static inline const char *tag_stop_at(const char *s, const char *end)
{
    while (s < end && !tag_stop[(unsigned char)*s])
        s++;
    return s;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Returns the 8 bytes at p as one word. */
static inline uint64_t load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* Returns the characters in s[0..n) (UTF-8: bytes but continuation bytes). */
static uint64_t chars_in(const char *s, size_t n)
{
    uint64_t cont = 0;
    size_t i = 0;
    for (; n - i >= 8; i += 8) {
        /* the high bit of each byte 10xxxxxx, summed by the multiply */
        uint64_t w = load8(s + i), m = w & ~(w << 1) & HIGHS;
        cont += ((m >> 7) * ONES) >> 56;
    }
    for (; i < n; i++)
        cont += ((unsigned char)s[i] & 0xC0) == 0x80;
    return n - cont;
}

/* ---- the tap ---- */

/* Adds bytes b[0..n) to the position, line and column (characters after
 * the last newline: UTF-8 continuation bytes do not count). */
static void advance(resume_tracker *t, const char *b, size_t n)
{
    const char *p = b, *end = b + n, *nl, *from = b;
    uint64_t col = t->col;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        t->line++;
        p = from = nl + 1;
        col = 1;
    }
    t->col = col + chars_in(from, (size_t)(end - from));
    t->pos += n;
}

/* Handles the bytes before the first '<' (b[0..n)): a UTF-8 byte order
 * mark at the very start is kept as the head; anything else but white
 * space stops t. */
static void before_start(resume_tracker *t, const char *b, size_t n)
{
    static const char bom[] = "\xEF\xBB\xBF";
    for (size_t i = 0; i < n; i++, t->lead++) {
        if (t->lead < 3 && t->lead == t->head.len && b[i] == bom[t->lead]) {
            sb_putc(&t->head, b[i]);
            continue;
        }
        if ((t->head.len != 0 && t->head.len != 3) || !is_ws(b[i])) {
            resume_tracker_stop(t);
            return;
        }
    }
}

/* Returns the '>' that ends the start tag whose bytes after '<' begin at
 * s (the first '>' outside quotes), or NULL when it is not in s[0..end). */
static const char *stag_end(const char *s, const char *end)
{
    for (;;) {
        s = tag_stop_at(s, end);
        if (s == end)
            return NULL;
        if (*s == '>')
            return s;
        const char *q = memchr(s + 1, *s, (size_t)(end - s - 1));
        if (!q)
            return NULL;
        s = q + 1;
    }
}

/* Returns the '>' that closes a comment, CDATA section or PI whose body
 * begins at body: the first '>' after n - 1 bytes c (n: 3 for "-->" and
 * "]]>", 2 for "?>"), those bytes all in the body as the tokenizer counts
 * them; NULL when there is none in body[..end). */
static const char *closer_end(const char *body, const char *end, char c, size_t n)
{
    if ((size_t)(end - body) < n)
        return NULL;
    for (const char *p = body + n - 1; p < end;) {
        const char *gt = memchr(p, '>', (size_t)(end - p));
        if (!gt)
            return NULL;
        if (gt[-1] == c && (n == 2 || gt[-2] == c))
            return gt;
        p = gt + 1;
    }
    return NULL;
}

/* Inside a record or an off-path element (t->skipping, between tags):
 * counts depth over the whole tags in p[0..end) the quick way, memchr from
 * tag to tag, and returns where the byte-by-byte tokenizer must take over:
 * at the '<' of the end tag that closes the skipped element, of a tag not
 * whole in this buffer or of anything but a start tag, end tag, comment,
 * CDATA section or PI (the tokenizer stops there), or end.  It decides
 * exactly what the tokenizer would (same depth, same ends of comments,
 * CDATA and PIs, '>' inside quotes skipped, "/>" empty), and only the
 * tokenizer notes anything (record ends, positions), so the marks do not
 * depend on which of the two read a byte. */
static const char *skip_tags(resume_tracker *t, const char *p, const char *end)
{
    size_t depth = t->skip_depth;
    const char *gt;
    for (;; p = gt + 1) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) {
            p = end;
            break;
        }
        p = lt; /* where the tokenizer takes over unless this tag is whole */
        if (end - lt < 2)
            break;
        switch (lt[1]) {
        case '/':
            if (depth == 0)
                goto out; /* the skipped element ends: the tokenizer notes it */
            gt = memchr(lt + 2, '>', (size_t)(end - lt - 2));
            if (!gt)
                goto out;
            depth--;
            continue;
        case '?':
            gt = closer_end(lt + 2, end, '?', 2);
            break;
        case '!':
            if (end - lt >= 4 && lt[2] == '-' && lt[3] == '-')
                gt = closer_end(lt + 4, end, '-', 3);
            else if (end - lt >= 9 && memcmp(lt + 2, "[CDATA[", 7) == 0)
                gt = closer_end(lt + 9, end, ']', 3);
            else
                gt = NULL; /* a DOCTYPE, or cut: the tokenizer's */
            break;
        default:
            gt = stag_end(lt + 1, end);
            if (gt && gt[-1] != '/')
                depth++;
            break;
        }
        if (!gt)
            break;
    }
out:
    t->skip_depth = depth;
    return p;
}

void resume_tracker_feed(void *arg, const char *buf, size_t n)
{
    resume_tracker *t = arg;
    const char *p = buf, *end = buf + n, *acct = buf;
    /* account for b[acct..q) first: line / column / pos are at q */
#define ACCOUNT(q) (advance(t, acct, (size_t)((q) - acct)), acct = (q))
    while (p < end && !t->stopped) {
        char c = *p;
        switch (t->st) {
        case T_TEXT: {
            if (t->skipping && t->quick)
                p = skip_tags(t, p, end);
            const char *lt = memchr(p, '<', (size_t)(end - p));
            if (!t->started)
                before_start(t, p, (size_t)((lt ? lt : end) - p));
            if (!lt) {
                p = end;
                continue;
            }
            p = lt + 1;
            t->st = T_LT;
            continue;
        }
        case T_LT: {
            int first = !t->started; /* the XML declaration can only be first */
            t->started = 1;
            t->run = 0;
            if (c == '/') {
                t->st = T_ETAG;
            } else if (c == '?') {
                t->st = T_PI;
                t->keep = first;
                sb_reset(&t->tok);
                if (t->keep)
                    sb_append(&t->tok, "<?", 2);
            } else if (c == '!') {
                t->st = T_BANG;
                t->nbang = 0;
            } else {
                t->st = T_STAG;
                t->quote = 0;
                t->last = c;
                t->keep = !t->skipping;
                sb_reset(&t->tok);
                if (t->keep)
                    sb_append(&t->tok, "<", 1);
                continue; /* c is the name's first byte */
            }
            p++;
            continue;
        }
        case T_STAG: {
            /* up to the '>' outside quotes; last: the byte before it */
            const char *q = p;
            while (q < end) {
                if (t->quote) {
                    const char *e = memchr(q, t->quote, (size_t)(end - q));
                    if (!e) {
                        q = end;
                        break;
                    }
                    t->quote = 0;
                    t->last = *e;
                    q = e + 1;
                    continue;
                }
                const char *s0 = q;
                q = tag_stop_at(q, end);
                if (q > s0)
                    t->last = q[-1];
                if (q == end || *q == '>')
                    break;
                t->quote = *q++;
            }
            if (t->keep) {
                sb_append(&t->tok, p, (size_t)((q < end ? q + 1 : q) - p));
                if (t->tok.len > RESUME_PROLOG_MAX) {
                    resume_tracker_stop(t);
                    continue;
                }
            }
            if (q == end) {
                p = end;
                continue;
            }
            p = q + 1;
            t->st = T_TEXT;
            if (t->skipping) {
                if (t->last != '/')
                    t->skip_depth++;
            } else {
                ACCOUNT(p);
                start_tag(t);
            }
            continue;
        }
        case T_ETAG: {
            const char *gt = memchr(p, '>', (size_t)(end - p));
            if (!gt) {
                p = end;
                continue;
            }
            p = gt + 1;
            t->st = T_TEXT;
            if (t->skipping && t->skip_depth > 0) {
                t->skip_depth--; /* inside a record: nothing to note */
                continue;
            }
            ACCOUNT(p);
            end_tag(t);
            continue;
        }
        case T_PI:
            if (t->keep) {
                sb_putc(&t->tok, c);
                if (t->tok.len > 1024)
                    t->keep = 0; /* not a declaration of ours */
            }
            p++;
            if (c == '>' && t->run) {
                t->st = T_TEXT;
                if (t->keep && t->tok.len > 6 && memcmp(t->tok.buf, "<?xml", 5) == 0 &&
                    is_ws(t->tok.buf[5]))
                    xml_decl(t);
                t->keep = 0;
            }
            t->run = c == '?';
            continue;
        case T_BANG:
            t->bang[t->nbang++] = c;
            p++;
            if (t->nbang == 2 && memcmp(t->bang, "--", 2) == 0) {
                t->st = T_COMMENT;
                t->run = 0;
            } else if (t->nbang == 7 && memcmp(t->bang, "[CDATA[", 7) == 0) {
                t->st = T_CDATA;
                t->run = 0;
            } else if (memcmp(t->bang, "--", t->nbang < 2 ? t->nbang : 2) != 0 &&
                       memcmp(t->bang, "[CDATA[", t->nbang) != 0) {
                resume_tracker_stop(t); /* a DOCTYPE (or not XML) */
            }
            continue;
        case T_COMMENT:
        case T_CDATA: {
            char want = t->st == T_COMMENT ? '-' : ']';
            for (; p < end; p++) {
                if (*p == '>' && t->run >= 2) {
                    p++;
                    t->st = T_TEXT;
                    break;
                }
                t->run = *p == want ? t->run + 1 : 0;
            }
            continue;
        }
        }
    }
    if (!t->stopped)
        ACCOUNT(end);
#undef ACCOUNT
}

/* ---- marks ---- */

int resume_tracker_record(resume_tracker *t, uint64_t seq, const char *prefix,
                          const char *local, uint64_t line, resume_mark *mk)
{
    snap_release(t->given);
    t->given = NULL;
    if (t->stopped)
        return 0;
    if (t->ev_n == 0) {
        resume_tracker_stop(t);
        return 0;
    }
    event e = t->ev[t->ev_head];
    t->ev_head = (t->ev_head + 1) % t->ev_cap;
    t->ev_n--;
    size_t pl = prefix ? strlen(prefix) : 0;
    size_t ql = strlen(e.qname);
    int same = e.seq == seq && e.start_line == line &&
               (prefix ? ql == pl + 1 + strlen(local) && memcmp(e.qname, prefix, pl) == 0 &&
                             e.qname[pl] == ':' && strcmp(e.qname + pl + 1, local) == 0
                       : strcmp(e.qname, local) == 0);
    free(e.qname);
    if (!same) {
        snap_release(e.prolog);
        resume_tracker_stop(t);
        return 0;
    }
    t->given = e.prolog;
    mk->seq = e.seq;
    mk->offset = e.offset;
    mk->line = e.line;
    mk->col = e.col;
    mk->prolog = e.prolog->data;
    mk->prolog_len = e.prolog->len;
    mk->gen = e.prolog->gen;
    return 1;
}

/* ---- resuming ---- */

/* Counts the '\n' in s[0..n); *tail gets the characters after the last one
 * (added to *tail when there is none). */
static uint64_t count_lines(const char *s, size_t n, uint64_t *tail)
{
    uint64_t nl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            nl++;
            *tail = 0;
        } else if ((c & 0xC0) != 0x80) {
            (*tail)++;
        }
    }
    return nl;
}

int resume_prolog(const resume_mark *mk, strbuf *buf, size_t *head_len, uint64_t *newlines)
{
    const char *p = mk->prolog;
    size_t n = mk->prolog_len, h = 0;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        h = 3;
    if (n - h >= 5 && memcmp(p + h, "<?xml", 5) == 0) {
        const char *q = strstr(p + h, "?>");
        if (!q)
            return -1;
        h = (size_t)(q + 2 - p);
    }
    /* ancestors: at least one, ending in '>' */
    if (n <= h + 1 || p[h] != '<' || p[n - 1] != '>' || mk->line < 1 || mk->col < 2)
        return -1;
    uint64_t c = 0;
    uint64_t lines = count_lines(p, n - 1, &c); /* c: before the last '>' */
    if (lines > mk->line - 1)
        return -1;
    uint64_t k = mk->line - 1 - lines;
    /* the last line: the ancestors' text after the padding, or all of it */
    uint64_t a_tail = 0;
    uint64_t a_lines = count_lines(p + h, n - 1 - h, &a_tail);
    if (k > 0 && a_lines == 0)
        c = a_tail;
    sb_reset(buf);
    sb_append(buf, p, n - 1);
    uint64_t want = mk->col - 2; /* characters before the final '>' on its line */
    if (want >= c && want - c <= LINE_FIX_MAX) {
        for (uint64_t i = c; i < want; i++)
            sb_putc(buf, ' ');
    } else if (k > 0 && want <= LINE_FIX_MAX) {
        k--;
        sb_putc(buf, '\n');
        for (uint64_t i = 0; i < want; i++)
            sb_putc(buf, ' ');
    } /* else: the column stays off on that line */
    sb_putc(buf, '>');
    *head_len = h;
    *newlines = k;
    return 0;
}
