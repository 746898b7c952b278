/* reader.c — streams the records of one input with libxml2's xmlTextReader,
 * copying each record into a small tree of its own as it goes.
 *
 * The reader walks the document node by node (xmlTextReaderRead); libxml2
 * frees the nodes it has moved past.  Elements that cannot contain a record
 * (their path already differs from the record path) are skipped whole, read
 * by read.  The record path's ancestors are copied as start tags
 * (attributes and namespace declarations, no text) into the reader's own
 * document, for "../@x" paths and namespace lookup.  A record is walked node
 * by node and copied under its parent's copy, entity references expanded,
 * into an arena (nodes, names and texts; texts taken from libxml2 are only
 * noted) that is reset on the next call.  So memory holds one record and its
 * ancestors, whatever the size of the input.
 *
 * Limits, so that no input can take more memory than a record may:
 *  - a record costs its XML bytes (entities counted as expanded) plus what
 *    libxml2 needs per node (READER_NODE_COST); past max_bytes its copy is
 *    freed, the rest of it is read without copying, and it is handed out
 *    marked too_big (the engine rejects it with its size);
 *  - before parsing, the reader peeks at the prolog (the bytes before the
 *    root element, replayed to libxml2 afterwards): a document with a
 *    DOCTYPE (or whose prolog cannot be read as ASCII-compatible) is parsed
 *    with libxml2's own limits (XML_PARSE_HUGE off: its entity amplification
 *    guard, text nodes up to 10 MB), which refuses "billion laughs"
 *    documents; others keep XML_PARSE_HUGE, for texts as large as a record;
 *  - libxml2's reader buffers its input up to the next start tag and holds
 *    a text whole: the input filter breaks long texts and CDATA sections
 *    with empty elements of its own (see "the input filter"), which the
 *    copy skips, joining the text again;
 *  - libxml2 holds one tag, comment or processing instruction whole while
 *    it parses it (and rescans a long one): the filter cuts one longer than
 *    READER_TAG_MAX, and its record is rejected; what the filter cannot cut
 *    (a name that long) is stopped by the read callback when more than
 *    max_bytes (plus one read) go in without the reader moving on.
 *
 * libxml2's reader parses ahead of the node it reports, so a well-formedness
 * error can surface before the complete records just in front of it were
 * handed out.  Then the reader "salvages": it walks the partial tree libxml2
 * built, hands out (as copies) every complete record it has not returned yet
 * (returned ones are marked through node->_private), then reports the error.
 *
 * Owns: the xmlTextReader, the document holding the copies, the record
 * arena, the filter's buffers, the optional schema validation context, the
 * error buffers.
 * Hands on: a borrowed xmlNode per record (a copy), valid until the next call. */
#include "config.h"
#include "reader.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/entities.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlreader.h>

#include "types.h"

#define PEEK_MAX (1024 * 1024)  /* prolog bytes read before deciding on XML_PARSE_HUGE */
#define PEEK_STEP (64 * 1024)
#define SLACK (64 * 1024)       /* read ahead allowed on top of max_bytes per node */

struct chunk { /* one block of the record arena */
    struct chunk *next;
    size_t size, used;
    max_align_t data[];
};

struct reader {
    input *in;
    const mapping *map;
    const record_path *rp;
    size_t max_bytes;
    xmlTextReaderPtr xr;
    xmlSchemaValidCtxtPtr vctx;
    xmlDocPtr cdoc;          /* holds the copies of ancestors and the record */
    mig_err read_err;        /* an input error seen inside the read callback */
    int have_read_err;
    char parse_err[768];     /* first parse error, "file:line:col: msg" */
    char invalid[768];       /* validation error / size reason of the current record */
    char generic[256];       /* first line libxml2 gave its generic error handler */
    int nonblank;            /* a byte other than white space was read */
    int has_dtd;             /* the prolog holds a DOCTYPE (or could not be read) */
    char *peek;              /* prolog bytes still to replay */
    size_t npeek, peek_pos;
    uint64_t since_move;     /* bytes read since the reader last moved */
    uint64_t uncounted;      /* prolog bytes of an input opened at an offset still
                                to come: not counted in since_move */
    /* the input filter (filter_*): a long text is broken every BREAK_AT
     * bytes by an empty element of a name of ours, which libxml2's reader
     * reports (and frees) piece by piece; the copy joins the pieces again */
    int filt_on;             /* the input is read as UTF-8 or a superset of ASCII */
    char brk[48];            /* "<NAME/>", the element put in */
    size_t brk_len;
    char brk_name[40];       /* NAME */
    char *tail;              /* bytes since the last start tag (at most TAIL_MAX) */
    size_t ntail;
    uint64_t since_st;       /* bytes since the last start tag (0: none yet) */
    int in_slow;             /* lexing: more than BREAK_AT bytes without one */
    int lx, lq, prev;        /* the lexer's state (L_*), its count or quote, last byte */
    int dsub;                /* in a DOCTYPE: where in its internal subset (S_*) */
    uint32_t dlast;          /* in a DOCTYPE: its last bytes */
    int open;                /* an element is known to be open */
    int text_ws;             /* the text so far is white space only */
    int text_ref;            /* inside a reference "&...;" */
    uint64_t run;            /* bytes since the last start tag or break */
    size_t break_at;         /* a break every so many bytes (below max_bytes) */
    uint64_t tok;            /* bytes of the tag, comment or PI being lexed (from '<') */
    int ts;                  /* where in that tag or PI (T_*) */
    int amp;                 /* inside a reference in an attribute value */
    int nattr;               /* attributes of that start tag so far */
    int cut;                 /* the rest of that tag, comment or PI is dropped */
    uint64_t cut_nl;         /* newlines dropped with it (given back, up to CUT_NL_MAX) */
    char cut_close[4];       /* what closes its part cut short (a quote, "=\"\"") */
    size_t tag_max;          /* a tag, comment or PI longer is cut (READER_TAG_MAX) */
    char *fout;              /* filtered bytes not yet handed to libxml2 */
    size_t nfout, fout_pos, cfout;
    uint64_t injected;       /* bytes the filter added to the input */
    int after_brk;           /* the reader's last node was a break */
    xmlNodePtr merge_node;   /* the copy's text joined last, */
    size_t merge_len;        /* and its length */
    int in_read;             /* inside xmlTextReaderRead/Next */
    int done;
    uint64_t seq;

    /* copies of the open ancestors, per depth */
    xmlNodePtr *anc;
    size_t nanc, canc;
    xmlNodePtr rec;          /* the record handed out last (a copy) */
    xmlNodePtr free_nodes;   /* element and text structs of freed copies, for reuse */
    size_t nfree_nodes;
    xmlAttrPtr free_attrs;   /* attribute structs likewise */
    size_t nfree_attrs;
    /* the record's copy lives in an arena, reset when the record is
     * dropped: no malloc or free per node */
    int in_rec;              /* copying a record: allocate from the arena */
    struct chunk *chunks;    /* the arena's chunks, the current one first */
    xmlNodePtr *owned;       /* text nodes whose content is malloc'd (taken */
    size_t nowned, cowned;   /* from libxml2 or joined): freed at the drop */

    /* the record being read */
    uint64_t bytes, xml_bytes;
    int too_big, has_ent;
    int bad_cdata;           /* a CDATA section of the record is not UTF-8 */
    uint64_t cut_bytes;      /* a cut tag, comment or PI made it too big: its size, */
    const char *cut_what;    /* and what it was */
    uint64_t pending_cut;    /* a cut start tag's marker seen by copy_start, */
    const char *pending_what; /* and what was cut */
    int uncharged;           /* copying an entity's content (already charged) */

    /* after a well-formedness error */
    int salvaging;
    xmlNodePtr *salvage;
    size_t nsalvage, salvage_pos;
    mig_err salvage_err;
    xmlDocPtr salvage_doc;   /* xmlTextReaderCurrentDoc makes it ours to free */
    xmlNodePtr *open_at_err; /* elements still open at the first fatal error */
    size_t nopen_at_err;
    int have_open;
};

static void drop_record(reader *r);
static void drop_ancestors(reader *r, size_t d);

/* Marks record nodes of libxml2's tree already handed out (node->_private). */
static char returned_marker;
/* Marks the nodes inside a record that read_record copied (node->_private);
 * an element copied points to its copy instead. */
static char copied_marker;

/* ---- accounting ---- */

/* In-progress marker for an entity's expanded size (ent->_private). */
static char sizing_marker;

/* ---- accounting ---- */

/* Returns a + b, saturated. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t text_size(reader *r, xmlDocPtr doc, const xmlChar *s, size_t len, int depth);

/* Returns the size of entity ent expanded (references inside it expanded
 * too), memoised in ent->_private; a loop or a too deep nesting counts as
 * unbounded. */
static uint64_t entity_size(reader *r, xmlDocPtr doc, xmlEntityPtr ent, int depth)
{
    if (!ent || !ent->content)
        return 0;
    if (ent->etype == XML_INTERNAL_PREDEFINED_ENTITY)
        return 1;
    if (ent->_private == &sizing_marker || depth > 40)
        return UINT64_MAX;
    if (ent->_private)
        return (uint64_t)(uintptr_t)ent->_private - 1;
    ent->_private = &sizing_marker;
    uint64_t n = text_size(r, doc, ent->content, (size_t)xmlStrlen(ent->content), depth + 1);
    ent->_private = (void *)(uintptr_t)(n >= UINTPTR_MAX - 1 ? UINTPTR_MAX - 1 : n + 1);
    return n;
}

/* Returns the size of s[0..len) with every "&name;" counted as the entity's
 * expansion. */
static uint64_t text_size(reader *r, xmlDocPtr doc, const xmlChar *s, size_t len, int depth)
{
    uint64_t n = 0;
    const xmlChar *end = s + len;
    while (s < end) {
        const xmlChar *amp = memchr(s, '&', (size_t)(end - s));
        if (!amp)
            return sat_add(n, (uint64_t)(end - s));
        n = sat_add(n, (uint64_t)(amp - s));
        const xmlChar *semi = memchr(amp, ';', (size_t)(end - amp));
        if (!semi || amp[1] == '#' || semi - amp > 1000) {
            n = sat_add(n, 1);
            s = amp + 1;
            continue;
        }
        xmlChar *name = xmlStrndup(amp + 1, (int)(semi - amp - 1));
        xmlEntityPtr ent = doc ? xmlGetDocEntity(doc, name) : NULL;
        xmlFree(name);
        n = sat_add(n, ent ? entity_size(r, doc, ent, depth) : (uint64_t)(semi - amp + 1));
        s = semi + 1;
    }
    return n;
}


/* Marks the current record too big: drops the copy's body, only the start
 * tag stays. */
static void make_too_big(reader *r)
{
    if (r->too_big)
        return;
    r->too_big = 1;
    r->rec->children = r->rec->last = NULL; /* (in the arena) */
    for (size_t i = 0; i < r->nowned; i++) {
        xmlFree(r->owned[i]->content);
        r->owned[i]->content = NULL;
    }
    r->nowned = 0;
}

/* Counts n bytes against the current record; returns 1 while it is copied. */
static int charge(reader *r, uint64_t n)
{
    if (r->uncharged)
        return !r->too_big; /* an entity's content: its expansion was charged */
    r->bytes = sat_add(r->bytes, n);
    if (r->bytes > r->max_bytes)
        make_too_big(r);
    return !r->too_big;
}

/* The filter cut a tag, comment or PI of the record (what, size bytes):
 * the record is too large. */
static void record_cut(reader *r, const char *what, uint64_t size)
{
    if (!r->cut_bytes) {
        r->cut_bytes = size;
        r->cut_what = what;
    }
    make_too_big(r);
}

/* Returns the size a marker of the filter's cuts (attribute value or PI
 * content, "[what ]size") gives, with *what. */
static uint64_t cut_size(const xmlChar *s, const char **what)
{
    const char *p = s ? (const char *)s : "";
    *what = strncmp(p, "comment", 7) == 0                  ? "a comment"
            : strncmp(p, "processing-instruction", 22) == 0 ? "a processing instruction"
            : strncmp(p, "attributes", 10) == 0             ? "a start tag of too many attributes"
                                                           : "a start tag";
    while (*p && (*p < '0' || *p > '9'))
        p++;
    uint64_t n = strtoull(p, NULL, 10);
    return n ? n : 1;
}

/* Returns 1 if strings a and b (either may be NULL) are equal: libc's
 * strcmp, faster than xmlStrEqual's byte loop on a namespace URI. */
static int str_eq(const xmlChar *a, const xmlChar *b)
{
    return a == b || (a && b && strcmp((const char *)a, (const char *)b) == 0);
}

/* Returns the length of a qualified name prefix:local. */
static uint64_t qname_len(const xmlChar *prefix, const xmlChar *local)
{
    return (uint64_t)xmlStrlen(local) + (prefix ? (uint64_t)xmlStrlen(prefix) + 1 : 0);
}

/* ---- errors ---- */

/* Copies msg into dst as one line: no trailing newline, inner newlines as spaces. */
static void one_line(char *dst, size_t cap, const char *msg)
{
    snprintf(dst, cap, "%s", msg ? msg : "unknown error");
    size_t n = strlen(dst);
    while (n && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
        dst[--n] = '\0';
    for (char *p = dst; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

/* Keeps the first parse error (level error or fatal) with file, line, column. */
static void parse_error_cb(void *ctx, xmlErrorPtr e)
{
    reader *r = ctx;
    if (!e || e->level < XML_ERR_ERROR)
        return;
    if (!r->parse_err[0]) {
        char msg[512];
        int line = e->line, col = e->int2;
        if (e->code == XML_ERR_ENTITY_LOOP) {
            snprintf(msg, sizeof msg, "entity expansion refused: the DTD's entities expand "
                                      "to too much text or refer to themselves");
            line = xmlTextReaderGetParserLineNumber(r->xr); /* where the entity is used */
            col = xmlTextReaderGetParserColumnNumber(r->xr);
        } else {
            one_line(msg, sizeof msg, e->message);
        }
        snprintf(r->parse_err, sizeof r->parse_err, "%s:%d:%d: %s", r->in->name, line, col,
                 msg);
    }
    /* which elements were still open: the parser stops building here, so
     * every element not on this stack is complete.  An error inside an
     * entity's content comes first from the context libxml2 parses it in
     * (its stack starts at a "pseudoroot"); the document's comes after. */
    xmlParserCtxtPtr pc = e->ctxt;
    if (!pc || e->domain != XML_FROM_PARSER || pc->nodeNr < 0 || r->have_open)
        return;
    if (pc->nodeNr > 0 && pc->nodeTab[0] && pc->nodeTab[0]->parent == (xmlNodePtr)pc->myDoc &&
        xmlStrEqual(pc->nodeTab[0]->name, BAD_CAST "pseudoroot"))
        return;
    r->nopen_at_err = (size_t)pc->nodeNr;
    r->open_at_err = xcalloc(r->nopen_at_err + 1, sizeof *r->open_at_err);
    for (int i = 0; i < pc->nodeNr; i++)
        r->open_at_err[i] = pc->nodeTab[i];
    r->have_open = 1;
}

/* libxml2's generic error handler while the reader runs (some encoding and
 * I/O errors bypass the structured one): keeps the first line, prints
 * nothing (the engine never prints). */
static void generic_error_cb(void *ctx, const char *fmt, ...)
{
    reader *r = ctx;
    size_t n = strlen(r->generic);
    if (n > 0 && r->generic[n - 1] == '\n')
        return; /* the first line is complete */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->generic + n, sizeof r->generic - n, fmt, ap);
    va_end(ap);
}

/* Routes libxml2's generic errors of this thread to r until quiet_end. */
typedef struct quiet {
    xmlGenericErrorFunc func;
    void *ctx;
} quiet;

static quiet quiet_begin(reader *r)
{
    quiet q = {xmlGenericError, xmlGenericErrorContext};
    xmlSetGenericErrorFunc(r, generic_error_cb);
    return q;
}

static void quiet_end(quiet q)
{
    xmlSetGenericErrorFunc(q.ctx, q.func);
}

static void expand_text(xmlDocPtr doc, const xmlChar *s, strbuf *out, int depth);

/* Appends the replacement text of entity ent, its references expanded. */
static void expand_entity(xmlDocPtr doc, xmlEntityPtr ent, strbuf *out, int depth)
{
    if (!ent || !ent->content || depth > 40)
        return;
    if (ent->etype == XML_INTERNAL_PREDEFINED_ENTITY)
        sb_puts(out, (const char *)ent->content);
    else
        expand_text(doc, ent->content, out, depth + 1);
}

/* Appends s with character and entity references replaced by their text. */
static void expand_text(xmlDocPtr doc, const xmlChar *s, strbuf *out, int depth)
{
    while (*s) {
        const xmlChar *semi = s[0] == '&' ? xmlStrchr(s, ';') : NULL;
        if (!semi) {
            sb_putc(out, (char)*s++);
            continue;
        }
        if (s[1] == '#') {
            unsigned long c = s[2] == 'x' ? strtoul((const char *)s + 3, NULL, 16)
                                          : strtoul((const char *)s + 2, NULL, 10);
            xmlChar u[8];
            int n = c > 0 && c <= 0x10FFFF ? xmlCopyCharMultiByte(u, (int)c) : 0;
            sb_append(out, u, n > 0 ? (size_t)n : 0);
        } else {
            xmlChar *name = xmlStrndup(s + 1, (int)(semi - s - 1));
            xmlEntityPtr ent = xmlGetDocEntity(doc, name);
            xmlFree(name);
            expand_entity(doc, ent, out, depth);
        }
        s = semi + 1;
    }
}

/* Keeps the first schema validation error of the current record. */
static void valid_error_cb(void *ctx, xmlErrorPtr e)
{
    reader *r = ctx;
    if (!e || r->invalid[0])
        return;
    char msg[512];
    one_line(msg, sizeof msg, e->message);
    snprintf(r->invalid, sizeof r->invalid, "schema: line %d: %s", e->line, msg);
}

/* ---- input: the prolog peek and the read callback ---- */

/* Returns 1 if buf[0..n) holds a byte other than XML white space. */
static int has_nonblank(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
            return 1;
    return 0;
}

/* Returns 1 (DOCTYPE or cannot tell), 0 (root element reached without one)
 * or -1 (more bytes needed) for the prolog p[0..n); at_end: no more bytes. */
static int prolog_has_dtd(const char *p, size_t n, int at_end)
{
    size_t i = 0;
    if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    else if (n >= 2 && ((unsigned char)p[0] == 0xFE || (unsigned char)p[0] == 0xFF ||
                        p[0] == '\0' || p[1] == '\0'))
        return 1; /* UTF-16/32 or EBCDIC-like: not read here */
    else if (n > 0 && (unsigned char)p[0] == 0x4C)
        return 1;
    for (;;) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
            i++;
        if (n - i < 9)
            return at_end ? 0 : -1;
        if (p[i] != '<')
            return 0; /* not XML: libxml2 will say so */
        const char *close;
        if (p[i + 1] == '?')
            close = "?>";
        else if (memcmp(p + i, "<!--", 4) == 0)
            close = "-->";
        else if (p[i + 1] == '!')
            return 1; /* <!DOCTYPE (or anything else declared) */
        else
            return 0; /* the root element */
        const char *end = NULL;
        for (size_t k = i + 2; k + strlen(close) <= n; k++)
            if (memcmp(p + k, close, strlen(close)) == 0) {
                end = p + k;
                break;
            }
        if (!end)
            return at_end ? 0 : -1;
        i = (size_t)(end - p) + strlen(close);
    }
}

/* Reads the prolog ahead (kept for replay) and sets r->has_dtd. */
static void peek_prolog(reader *r)
{
    size_t cap = 0;
    int verdict = -1;
    while (verdict < 0 && r->npeek < PEEK_MAX) {
        if (cap - r->npeek < PEEK_STEP) {
            cap = cap ? cap * 2 : PEEK_STEP;
            r->peek = xrealloc(r->peek, cap);
        }
        ssize_t n = r->in->read(r->in, r->peek + r->npeek, PEEK_STEP, &r->read_err);
        if (n < 0) {
            r->have_read_err = 1;
            verdict = 1;
            break;
        }
        r->npeek += (size_t)n;
        verdict = prolog_has_dtd(r->peek, r->npeek, n == 0);
    }
    r->has_dtd = verdict != 0;
}


/* ---- the input filter ----
 *
 * libxml2's reader keeps in its input buffer every byte it read until an
 * element starts (xmlTextReaderPushData pushes until a start tag), and
 * holds a text node whole until the node after it is parsed: 40 MB of
 * text, or of end tags, comments and CDATA without a start tag, cost
 * several times that.  So one lexer (lex()) follows the bytes going to
 * libxml2: it watches them cheaply (where the last start tag of each read
 * is) until more than BREAK_AT bytes (max_bytes / 4, within 4 KB..256 KB)
 * follow one; then it follows in detail the text, CDATA sections, comments,
 * end tags and PIs that come next, and every BREAK_AT bytes puts
 * an empty element <NAME/> (NAME random per reader) into a text, or
 * "]]><NAME/><![CDATA[" into a CDATA section, at a character boundary
 * outside any reference; back to watching at the next start tag.  The
 * reader skips those elements and joins the text on both sides in the
 * copy, so a record sees its text whole, and a text longer than a record
 * may makes that record too large: rejected alone, the input goes on.
 * White space is broken only where an element is known to be open (an
 * element put after the root would not be well-formed).
 *
 * A tag (its attributes), comment or processing instruction libxml2 parses
 * whole, and rescans for its end (quadratic past about 8 MB), and compares
 * each attribute with all before it.  So the lexer also follows them (from
 * LEX_AFTER bytes after a start tag: a tag of READER_TAG_ATTRS attributes is
 * about that long), and one longer than tag_max, or a start tag with more
 * than READER_TAG_ATTRS attributes, is cut: its bytes stop going to libxml2
 * at a point outside any name or reference; at its real end the filter
 * closes what was open (a quote, "=\"\"", "-->", "?>"), gives back the
 * newlines dropped (lines stay right) and puts a marker: an attribute
 * NAME="size" on a start tag, a PI <?NAME comment size?> after a comment
 * or PI.  The reader rejects the record holding a marker ("record too
 * large"); outside records a cut comment or PI just loses its excess.  A
 * name is not cut (read_cb stops it at max_bytes).  The filter
 * is off when the input is not read as UTF-8 or another superset of ASCII
 * (the prolog says so).  It adds r->injected bytes to what libxml2 counts
 * as consumed. */

#define BREAK_MAX (256 * 1024) /* a break every so many bytes at most, */
#define BREAK_MIN 4096          /* at least, else max_bytes / 4 */
#define TAIL_SLACK (64 * 1024)  /* more than one read */
#define BREAK_AT (r->break_at)
#define TAIL_MAX (BREAK_AT + TAIL_SLACK)
#define LEX_AFTER (16 * 1024)  /* lexing from this many bytes after a start tag: a
                                   tag of READER_TAG_ATTRS attributes is that long */
#define CUT_NL_MAX 65536        /* newlines of a cut given back to libxml2, so that
                                   the line numbers after it stay right */

/* Where the lexer is (r->lx): text, just after '<', a start tag (r->lq: the
 * quote of the value it is in), an end tag, after "<!" (r->lq: bytes of "--"
 * or "[CDATA[" matched), a comment, a CDATA section, a PI (r->lq: how many
 * of the characters that end it, '-', ']', '?', were just before), a
 * DOCTYPE or other declaration (r->lq: the quote of a literal; r->dsub:
 * where in its internal subset); L_LOST: not known (the filter then does
 * nothing more). */
enum { L_TEXT, L_LT, L_STAG, L_ETAG, L_BANG, L_COMMENT, L_CDATA, L_PI, L_DECL, L_LOST };
enum { S_NONE, S_SUBSET, S_COMMENT, S_PI, S_AFTER };

/* How lex() goes over the bytes: LEX_WATCH only follows where they are and
 * notes where start tags begin (jumping with memchr); LEX_FOLLOW keeps as
 * well what a cut or a break needs (the size of the tag, comment or PI, its
 * attributes, whether the text is white space or in a reference, whether an
 * element is open); LEX_EMIT moreover copies them to r->fout, with the
 * breaks put in and the cuts made. */
enum { LEX_WATCH, LEX_FOLLOW, LEX_EMIT };

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Appends p[0..n) to the filtered output. */
static void fout_put(reader *r, const char *p, size_t n)
{
    if (n == 0)
        return;
    if (r->nfout + n > r->cfout) {
        size_t c = r->cfout ? r->cfout : 16384;
        while (c < r->nfout + n)
            c *= 2;
        r->fout = xrealloc(r->fout, c);
        r->cfout = c;
    }
    memcpy(r->fout + r->nfout, p, n);
    r->nfout += n;
}

/* Returns 1 if a reference ("&...;") is open after p[0..n), was: before. */
static int ref_open(const char *p, size_t n, int was)
{
    const char *a = memrchr(p, '&', n), *sc = memrchr(p, ';', n);
    if (a && (!sc || a > sc))
        return 1;
    return sc ? 0 : was;
}

/* Updates the text state for the text bytes p[0..n) (no '<'). */
static void text_saw(reader *r, const char *p, size_t n)
{
    if (r->text_ws)
        for (size_t i = 0; i < n; i++)
            if (!is_ws(p[i])) {
                r->text_ws = 0;
                break;
            }
    r->text_ref = ref_open(p, n, r->text_ref);
}

/* Puts a break into the output (in a CDATA section: closed and opened). */
static void put_break(reader *r, int cdata)
{
    if (cdata)
        fout_put(r, "]]>", 3);
    fout_put(r, r->brk, r->brk_len);
    if (cdata)
        fout_put(r, "<![CDATA[", 9);
    r->injected += r->brk_len + (cdata ? 12 : 0);
    r->run = 0;
    r->open = 1; /* inside an element from here on */
}

static void filter_track(reader *r, const char *p, size_t n);

/* Where the lexer is in a tag or PI: its name, white space (between
 * attributes, or a PI's content), an attribute's name, after that name,
 * after its '=', in its quoted value. */
enum { T_NAME, T_SP, T_ANAME, T_AEQ, T_AQ, T_VAL };

/* Returns 1 if the tag, comment or PI being lexed (state r->lx) may be cut
 * before byte c: past r->tag_max, at a character boundary, outside a name
 * and a reference, where a closing string set by cut_begin makes it whole. */
static int cuttable(const reader *r, unsigned char c)
{
    if (r->lx == L_STAG && r->ts == T_SP && r->nattr >= READER_TAG_ATTRS && !is_ws(c) &&
        c != '/' && c != '>')
        return 1; /* before one attribute too many */
    if (r->tok < r->tag_max || (c & 0xC0) == 0x80 || c == '>')
        return 0;
    switch (r->lx) {
    case L_STAG:
        return r->ts == T_SP || r->ts == T_AEQ || r->ts == T_AQ ||
               (r->ts == T_VAL && !r->amp && c != r->lq);
    case L_ETAG:
        return r->ts == T_SP;
    case L_PI:
        return r->ts == T_SP && c != '?' && !r->lq;
    case L_COMMENT:
        return c != '-' && !r->lq;
    default:
        return 0;
    }
}

/* Starts dropping the construct being lexed; notes what closes its part. */
static void cut_begin(reader *r)
{
    const char *close = "";
    if (r->lx == L_STAG)
        close = r->ts == T_VAL ? (r->lq == '"' ? "\"" : "'")
                : r->ts == T_AEQ ? "=\"\""
                : r->ts == T_AQ  ? "\"\""
                                 : "";
    snprintf(r->cut_close, sizeof r->cut_close, "%s", close);
    r->cut = 1;
    r->cut_nl = 0;
}

/* Ends a cut construct (state was) at its last byte: writes what closes it
 * and, for a start tag, a comment or a PI, the marker the reader sees (an
 * attribute BRK="size" on the tag, else a PI "<?BRK comment size?>" after
 * it). */
static void cut_end(reader *r, int was)
{
    char m[128];
    int k;
    if (was == L_STAG)
        fout_put(r, r->cut_close, strlen(r->cut_close));
    /* the newlines dropped, as white space before the end: lines stay right */
    for (uint64_t i = 0; i < r->cut_nl && i < CUT_NL_MAX; i++)
        fout_put(r, "\n", 1);
    switch (was) {
    case L_STAG:
        k = snprintf(m, sizeof m, " %s=\"%s%" PRIu64 "\"%s", r->brk_name,
                     r->nattr >= READER_TAG_ATTRS ? "attributes " : "", r->tok,
                     r->prev == '/' ? "/>" : ">");
        break;
    case L_COMMENT:
    case L_PI:
        k = snprintf(m, sizeof m, "%s<?%s %s %" PRIu64 "?>", was == L_PI ? "?>" : "-->",
                     r->brk_name, was == L_PI ? "processing-instruction" : "comment", r->tok);
        break;
    default:
        k = snprintf(m, sizeof m, ">");
        break;
    }
    fout_put(r, m, (size_t)k);
    r->cut = 0;
}

/* Returns the newlines in p[0..n). */
static uint64_t count_nl(const char *p, size_t n)
{
    uint64_t k = 0;
    for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
        k++;
    return k;
}

/* The arm of lex() in state was: an end tag, a comment, a CDATA section or
 * a PI, which ends at a '>' with need characters e just before ("-->",
 * "]]>", "?>"; an end tag at any '>'); r->lq of them were before i.  Passes
 * over p[i..lim) to the '>' that ends it (then state L_TEXT); returns where
 * it stopped.  (Inlined with was, e and need constants.) */
static inline __attribute__((always_inline)) size_t lex_to_end(reader *r, const char *p, size_t i,
                                                              size_t lim, int was, char e,
                                                              int need, int mode)
{
    const char *gt = memchr(p + i, '>', lim - i);
    size_t j = gt ? (size_t)(gt - p) : lim, k = j;
    while (k > i && j - k < (size_t)need && p[k - 1] == e)
        k--;
    int ends = (int)(j - k) + (k == i ? r->lq : 0);
    if (mode != LEX_WATCH && r->ts == T_NAME && (was == L_ETAG || was == L_PI))
        for (size_t x = i; x < j; x++)
            if (is_ws(p[x]) || p[x] == '?') {
                r->ts = T_SP; /* past its name */
                break;
            }
    if (!gt) {
        r->lq = ends < need ? ends : need;
        return lim;
    }
    if (need)
        r->lq = 0;
    if (!need || ends >= need)
        r->lx = L_TEXT;
    return j + 1;
}

/* The one lexer of the filter: follows p[0..n) from state r->lx, in mode
 * (LEX_*).  Each arm passes over as much as it can at once (memchr to the
 * '<' ending a text, the quote ending a value, the '>' ending an end tag,
 * comment, CDATA section or PI, its end checked behind), in LEX_EMIT no
 * further than where a break or a cut may fall (then byte by byte).
 * LEX_WATCH returns 1 with *st the offset of the last start tag's '<' in p
 * (-1: the last byte of the bytes before), or 0 if no start tag begins in
 * p.  LEX_EMIT stops at a start tag, to go back to watching: it returns 1
 * with *st the offset of the tag's name in p (the bytes from there are the
 * watch's), or 0 after all of p.
 * Inlined in each caller, whose mode is a constant: the watch, which sees
 * every byte of the input, carries none of the other modes' work. */
static inline __attribute__((always_inline)) int lex(reader *r, const char *p, size_t n,
                                                      int mode, ptrdiff_t *st)
{
    size_t i = 0, from = 0;
    int found = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        size_t i0 = i, lim = n; /* the arm passes over p[i..lim) at most */
        int was = r->lx, dropping = 0;
        if (mode != LEX_WATCH && was != L_TEXT && was != L_CDATA) {
            /* a tag, comment or PI: cut past tag_max, dropped to its end */
            if (mode == LEX_EMIT && !r->cut) {
                if (cuttable(r, c)) {
                    fout_put(r, p + from, i - from);
                    cut_begin(r);
                } else {
                    lim = r->tok >= r->tag_max ? i + 1
                          : r->tag_max - r->tok < n - i ? i + (size_t)(r->tag_max - r->tok)
                                                        : n;
                }
            }
            dropping = r->cut; /* (its last byte too: cut_end writes the end) */
        }
        switch (was) {
        case L_TEXT: {
            if (mode == LEX_EMIT && r->run >= BREAK_AT && c != '<') {
                if (!r->text_ref && (c & 0xC0) != 0x80 && (!r->text_ws || r->open)) {
                    fout_put(r, p + from, i - from);
                    from = i;
                    put_break(r, 0);
                    continue;
                }
                /* not here: past white space, a reference or a character */
                size_t k = 1;
                if (r->text_ws && !r->open)
                    while (i + k < n && is_ws(p[i + k - 1]) && p[i + k] != '<')
                        k++;
                text_saw(r, p + i, k);
                i += k;
                break;
            }
            if (mode == LEX_EMIT && r->run < BREAK_AT && BREAK_AT - r->run < n - i)
                lim = i + (BREAK_AT - r->run);
            const char *lt = memchr(p + i, '<', lim - i);
            size_t end = lt ? (size_t)(lt - p) : lim;
            if (mode != LEX_WATCH)
                text_saw(r, p + i, end - i);
            if (mode == LEX_WATCH && !lt)
                return found;
            i = end;
            if (lt) {
                r->lx = L_LT;
                if (mode != LEX_WATCH)
                    r->tok = 1;
                i++;
            }
            break;
        }
        case L_LT:
            r->lq = 0;
            if (mode != LEX_WATCH)
                r->ts = T_NAME;
            i++;
            if (c == '/') {
                r->lx = L_ETAG;
            } else if (c == '!') {
                r->lx = L_BANG;
            } else if (c == '?') {
                r->lx = L_PI;
            } else if (is_ws(c) || c == '<' || c == '>' || c == '"' || c == '\'' || c == '=') {
                r->lx = L_LOST; /* not well-formed: libxml2 stops here */
                r->in_slow = 0;
            } else { /* a start tag, c the first byte of its name */
                r->lx = L_STAG;
                if (mode == LEX_WATCH) {
                    *st = (ptrdiff_t)i0 - 1;
                    found = 1;
                } else if (mode == LEX_EMIT) {
                    /* back to watching, from its '<' */
                    fout_put(r, p + from, i0 - from);
                    r->in_slow = 0;
                    r->since_st = 1;
                    r->tail[0] = '<';
                    r->ntail = 1;
                    *st = (ptrdiff_t)i0;
                    return 1;
                } else {
                    r->prev = c;
                    r->amp = 0;
                    r->nattr = 0;
                }
            }
            break;
        case L_STAG:
            if (r->lq) { /* a quoted value, to its quote */
                const char *q = memchr(p + i, r->lq, lim - i);
                size_t end = q ? (size_t)(q - p) + 1 : lim;
                if (mode != LEX_WATCH) {
                    r->amp = ref_open(p + i, end - i, r->amp);
                    r->prev = (unsigned char)p[end - 1];
                    if (q)
                        r->ts = T_SP;
                }
                if (q)
                    r->lq = 0;
                i = end;
                break;
            }
            if (mode == LEX_WATCH) { /* to its end or a value */
                while (i < n && p[i] != '>' && p[i] != '"' && p[i] != '\'')
                    i++;
                if (i == n)
                    return found;
                if (p[i] == '>')
                    r->lx = L_TEXT;
                else
                    r->lq = p[i];
                i++;
                break;
            }
            /* byte by byte: where its attributes are */
            if (c == '"' || c == '\'') {
                r->ts = T_VAL;
                r->lq = c;
                r->amp = 0;
            } else if (c == '>') {
                r->lx = L_TEXT;
            } else if (c == '=') {
                r->ts = T_AQ;
            } else if (is_ws(c)) {
                if (r->ts == T_NAME)
                    r->ts = T_SP;
                else if (r->ts == T_ANAME)
                    r->ts = T_AEQ;
            } else if (r->ts == T_SP && c != '/') {
                r->ts = T_ANAME;
                r->nattr++;
            }
            if (c != '>')
                r->prev = c; /* (at the end: the byte before it) */
            i++;
            break;
        case L_ETAG: /* to its '>' */
            i = lex_to_end(r, p, i, lim, L_ETAG, 0, 0, mode);
            break;
        case L_COMMENT:
            i = lex_to_end(r, p, i, lim, L_COMMENT, '-', 2, mode);
            break;
        case L_PI:
            i = lex_to_end(r, p, i, lim, L_PI, '?', 1, mode);
            break;
        case L_CDATA:
            if (mode == LEX_EMIT) { /* broken every BREAK_AT bytes */
                if (r->run >= BREAK_AT) {
                    if (r->lq == 0 && c != ']' && (c & 0xC0) != 0x80) {
                        fout_put(r, p + from, i - from);
                        from = i;
                        put_break(r, 1);
                        continue;
                    }
                    lim = i + 1;
                } else if (BREAK_AT - r->run < n - i) {
                    lim = i + (BREAK_AT - r->run);
                }
            }
            i = lex_to_end(r, p, i, lim, L_CDATA, ']', 2, mode);
            break;
        case L_BANG:
            i++;
            if (r->lq == 0 && c == '-') {
                r->lq = 1;
            } else if (r->lq == 1) {
                r->lx = c == '-' ? L_COMMENT : L_DECL;
                r->lq = 0;
                r->dsub = S_NONE;
            } else if (r->lq == 0 && c == '[') {
                r->lq = 10;
            } else if (r->lq >= 10 && c == (unsigned char)"CDATA["[r->lq - 10]) {
                if (++r->lq == 16) {
                    r->lx = L_CDATA;
                    r->lq = 0;
                }
            } else {
                r->lx = L_DECL;
                r->lq = 0;
                r->dsub = S_NONE;
                r->dlast = 0;
                i--; /* this byte belongs to the declaration */
            }
            break;
        case L_DECL: /* a DOCTYPE (or a declaration): byte by byte */
            i++;
            r->dlast = r->dlast << 8 | c;
            if (r->lq) { /* a quoted literal */
                if (c == r->lq)
                    r->lq = 0;
            } else if (r->dsub == S_COMMENT) {
                if ((r->dlast & 0xFFFFFF) == 0x2D2D3E) /* "-->" */
                    r->dsub = S_SUBSET;
            } else if (r->dsub == S_PI) {
                if ((r->dlast & 0xFFFF) == 0x3F3E) /* "?>" */
                    r->dsub = S_SUBSET;
            } else if (c == '"' || c == '\'') {
                r->lq = c;
            } else if (r->dsub == S_SUBSET) {
                if (c == ']') {
                    r->dsub = S_AFTER;
                } else if (r->dlast == 0x3C212D2D) { /* "<!--" */
                    r->dsub = S_COMMENT;
                    r->dlast = 0;
                } else if ((r->dlast & 0xFFFF) == 0x3C3F) { /* "<?" */
                    r->dsub = S_PI;
                    r->dlast = 0;
                }
            } else if (c == '[' && r->dsub == S_NONE) {
                r->dsub = S_SUBSET;
                r->dlast = 0;
            } else if (c == '>') {
                r->lx = L_TEXT;
            }
            break;
        default: /* L_LOST: not followed */
            if (mode == LEX_WATCH)
                return 0;
            i = n;
            break;
        }
        if (mode == LEX_WATCH)
            continue;
        r->run += i - i0;
        if (was == L_TEXT)
            continue;
        if (was != L_CDATA)
            r->tok += i - i0;
        if (dropping) {
            r->cut_nl += count_nl(p + i0, i - i0);
            from = i;
        }
        if (r->lx == L_TEXT) { /* it ended at p[i - 1] */
            if (r->cut)
                cut_end(r, was);
            if (was == L_STAG)
                r->open = r->prev != '/';
            else if (was == L_ETAG)
                r->open = 0; /* an element closed: maybe the root */
            r->text_ws = 1;
            r->text_ref = 0;
        }
    }
    if (mode == LEX_EMIT)
        fout_put(r, p + from, i - from);
    return found;
}

/* More than BREAK_AT bytes follow the last start tag: lexes them (the
 * tail) and goes over to lexing the input. */
static void filter_decide(reader *r)
{
    if (r->ntail < r->since_st)
        return; /* (the tail is whole: reads are smaller than its slack) */
    r->lx = L_TEXT;
    r->open = 0;
    r->text_ws = 1;
    r->text_ref = 0;
    r->prev = 0;
    r->in_slow = 1;
    lex(r, r->tail, r->ntail, LEX_FOLLOW, NULL);
    r->run = r->since_st;
}

/* Notes bytes p[0..n) going to libxml2 while watching. */
static void filter_track(reader *r, const char *p, size_t n)
{
    ptrdiff_t st = 0;
    int found = lex(r, p, n, LEX_WATCH, &st);
    if (r->lx == L_LOST)
        return; /* where the bytes are is not known: nothing done */
    if (found) {
        r->ntail = 0;
        if (st < 0) {
            r->tail[r->ntail++] = '<'; /* from the read before */
            r->since_st = 1 + (uint64_t)n;
        } else {
            p += st;
            n -= (size_t)st;
            r->since_st = (uint64_t)n;
        }
    } else if (r->since_st) {
        r->since_st += n;
    } else {
        return; /* no element yet */
    }
    if (r->ntail < TAIL_MAX) {
        size_t k = n < TAIL_MAX - r->ntail ? n : TAIL_MAX - r->ntail;
        memcpy(r->tail + r->ntail, p, k);
        r->ntail += k;
    }
    if (r->since_st > BREAK_AT || r->since_st > LEX_AFTER)
        filter_decide(r);
}

/* Filters the n bytes just read into buf (room for cap); returns how many
 * bytes buf holds for libxml2 now (the rest waits in r->fout). */
static size_t filter(reader *r, char *buf, size_t n, size_t cap)
{
    /* The watch takes at most the bytes that bring it to the point where it
     * decides (more than BREAK_AT or LEX_AFTER bytes after the last start
     * tag), so that it decides at that byte whatever the reads' sizes: the
     * rest of a read then goes through the lexer too.  When the decision
     * came at the end of a read instead, a tag the bound should have cut
     * went to libxml2 whole or not depending on where the reads split the
     * input (found by fuzz_record's resume check). */
    uint64_t at = BREAK_AT < LEX_AFTER ? BREAK_AT : LEX_AFTER;
    size_t i = 0;
    int mixed = 0; /* the output is in r->fout (else buf is, as read) */
    while (i < n) {
        if (!r->in_slow) {
            size_t k = n - i;
            if (r->lx != L_LOST && r->since_st <= at && at + 1 - r->since_st < k)
                k = (size_t)(at + 1 - r->since_st);
            filter_track(r, buf + i, k);
            if (mixed)
                fout_put(r, buf + i, k);
            i += k;
            continue;
        }
        if (!mixed) {
            fout_put(r, buf, i); /* what the watch passed */
            mixed = 1;
        }
        ptrdiff_t st = 0;
        if (lex(r, buf + i, n - i, LEX_EMIT, &st))
            i += (size_t)st; /* watching again from there */
        else
            i = n;
    }
    if (!mixed)
        return n;
    size_t k = r->nfout < cap ? r->nfout : cap;
    if (k)
        memcpy(buf, r->fout, k);
    r->fout_pos = k;
    return k;
}

/* Returns 1 if the reader's node n is an element the filter put in. */
static int is_brk(const reader *r, const xmlNode *n)
{
    return r->filt_on && n->name[0] == r->brk_name[0] &&
           strcmp((const char *)n->name, r->brk_name) == 0;
}

/* Turns the filter on when the prolog reads as UTF-8 or a superset of
 * ASCII, with a fresh random element name. */
static void filter_open(reader *r)
{
    const char *p = r->peek;
    size_t n = r->npeek;
    if (n >= 2 && ((unsigned char)p[0] == 0xFE || (unsigned char)p[0] == 0xFF || p[0] == '\0' ||
                   p[1] == '\0' || (unsigned char)p[0] == 0x4C))
        return; /* UTF-16/32 or EBCDIC */
    if (n >= 5 && memcmp(p, "<?xml", 5) == 0) {
        const char *end = memchr(p, '>', n);
        const char *e = end ? memmem(p, (size_t)(end - p), "encoding", 8) : NULL;
        if (e) {
            e += 8;
            while (e < end && (is_ws(*e) || *e == '='))
                e++;
            if (e < end && (*e == '"' || *e == '\''))
                e++;
            static const char *ok[] = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-"};
            int known = 0;
            for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
                if ((size_t)(end - e) >= strlen(ok[i]) && strncasecmp(e, ok[i], strlen(ok[i])) == 0)
                    known = 1;
            if (!known)
                return;
        }
    }
    unsigned long long tok = (unsigned long long)(uintptr_t)r ^ (unsigned long long)getpid();
    FILE *f = fopen("/dev/urandom", "rb");
    if (f) {
        if (fread(&tok, sizeof tok, 1, f) != 1)
            tok ^= (unsigned long long)time(NULL);
        fclose(f);
    }
    snprintf(r->brk_name, sizeof r->brk_name, "migrate-break.%016llx", tok);
    snprintf(r->brk, sizeof r->brk, "<%s/>", r->brk_name);
    r->brk_len = strlen(r->brk);
    r->break_at = r->max_bytes / 4;
    if (r->break_at > BREAK_MAX)
        r->break_at = BREAK_MAX;
    if (r->break_at < BREAK_MIN)
        r->break_at = BREAK_MIN;
    r->tag_max = r->max_bytes < READER_TAG_MAX ? r->max_bytes : READER_TAG_MAX;
    r->tail = xmalloc(TAIL_MAX);
    r->filt_on = 1;
}

/* Returns bytes for libxml2: the peeked prolog first, then the input; -1
 * on an input error or when one node grows past max_bytes (error kept). */
static int read_cb(void *ctx, char *buf, int len)
{
    reader *r = ctx;
    ssize_t n;
    int fresh = 1; /* bytes the filter has not seen */
    if (r->fout_pos < r->nfout) {
        fresh = 0;
        /* filtered bytes left from the last read */
        n = (ssize_t)(r->nfout - r->fout_pos);
        if (n > len)
            n = len;
        memcpy(buf, r->fout + r->fout_pos, (size_t)n);
        r->fout_pos += (size_t)n;
        if (r->fout_pos == r->nfout)
            r->nfout = r->fout_pos = 0;
    } else if (r->peek_pos < r->npeek) {
        n = (ssize_t)(r->npeek - r->peek_pos);
        if (n > len)
            n = len;
        memcpy(buf, r->peek + r->peek_pos, (size_t)n);
        r->peek_pos += (size_t)n;
        if (r->peek_pos == r->npeek) {
            free(r->peek);
            r->peek = NULL;
            r->npeek = r->peek_pos = 0;
        }
    } else {
        /* (a read the filter drops whole, inside a cut, is not the end;
         * the input's end inside one is) */
        ssize_t got;
        do {
            if (r->have_read_err)
                return -1;
            n = got = r->in->read(r->in, buf, (size_t)len, &r->read_err);
            if (n < 0) {
                r->have_read_err = 1;
                return -1;
            }
            if (r->filt_on && n > 0) {
                r->nfout = r->fout_pos = 0;
                n = (ssize_t)filter(r, buf, (size_t)n, (size_t)len);
            }
        } while (n == 0 && got > 0);
        fresh = 0;
    }
    if (r->filt_on && n > 0 && fresh) {
        r->nfout = r->fout_pos = 0;
        n = (ssize_t)filter(r, buf, (size_t)n, (size_t)len);
        if (n == 0)
            return read_cb(ctx, buf, len); /* all dropped in a cut: not the end */
    }
    if (!r->nonblank)
        r->nonblank = has_nonblank(buf, (size_t)n);
    uint64_t ours = r->uncounted < (uint64_t)n ? r->uncounted : (uint64_t)n;
    r->uncounted -= ours;
    r->since_move += (uint64_t)n - ours;
    if (r->in_read && r->since_move > (uint64_t)r->max_bytes + SLACK) {
        if (!r->parse_err[0])
            snprintf(r->parse_err, sizeof r->parse_err,
                     "%s:%d: a tag, comment or processing instruction longer than "
                     "--max-record-bytes (%zu), or a text that long (libxml2 holds one whole)",
                     r->in->name, xmlTextReaderGetParserLineNumber(r->xr), r->max_bytes);
        return -1;
    }
    return (int)n;
}

/* Moves the reader (next: skip the current subtree); returns its result. */
static int move(reader *r, int next)
{
    xmlTextReaderPtr xr = r->xr;
    int rc, depth = -1;
    if (next && !xmlTextReaderIsEmptyElement(xr) &&
        xmlTextReaderNodeType(xr) == XML_READER_TYPE_ELEMENT)
        depth = xmlTextReaderDepth(xr);
    /* a subtree is skipped node by node (as xmlTextReaderNext does), each
     * read bounded alone: libxml2 frees the nodes it passes */
    do {
        r->since_move = 0;
        r->in_read = 1;
        rc = xmlTextReaderRead(xr);
        r->in_read = 0;
    } while (rc == 1 && depth >= 0 &&
             !(xmlTextReaderDepth(xr) == depth &&
               xmlTextReaderNodeType(xr) == XML_READER_TYPE_END_ELEMENT));
    if (rc == 1 && depth >= 0) {
        r->since_move = 0;
        r->in_read = 1;
        rc = xmlTextReaderRead(xr);
        r->in_read = 0;
    }
    return rc;
}

/* ---- opening ---- */

/* Returns a reader of in; at: in was opened at an offset (input_open_at),
 * records numbered after first_seq.  NULL with err. */
static reader *open_reader(input *in, const mapping *m, xmlSchemaPtr schema, size_t max_bytes,
                           int at, uint64_t first_seq, mig_err *err)
{
    reader *r = xcalloc(1, sizeof *r);
    r->in = in;
    r->map = m;
    r->rp = m->record;
    r->max_bytes = max_bytes ? max_bytes : READER_MAX_BYTES;
    if (at) {
        /* a prolog made for the purpose: no DTD, maybe many newlines */
        r->uncounted = in->prefix_len;
        r->seq = first_seq;
    } else {
        peek_prolog(r);
    }
    filter_open(r);
    int opts = XML_PARSE_NONET | XML_PARSE_BIG_LINES;
    if (!r->has_dtd)
        opts |= XML_PARSE_HUGE;
    quiet q = quiet_begin(r);
    r->xr = xmlReaderForIO(read_cb, NULL, r, in->name, NULL, opts);
    quiet_end(q);
    if (!r->xr) {
        free(r->peek);
        free(r);
        err_set(err, MIG_ENOINPUT, "%s: cannot start the XML reader", in->name);
        return NULL;
    }
    xmlTextReaderSetStructuredErrorHandler(r->xr, parse_error_cb, r);
    if (schema) {
        r->vctx = xmlSchemaNewValidCtxt(schema);
        xmlSchemaSetValidStructuredErrors(r->vctx, valid_error_cb, r);
    }
    r->cdoc = xmlNewDoc(BAD_CAST "1.0");
    return r;
}

reader *reader_open(input *in, const mapping *m, xmlSchemaPtr schema, size_t max_bytes,
                    mig_err *err)
{
    return open_reader(in, m, schema, max_bytes, 0, 0, err);
}

reader *reader_open_at(input *in, const mapping *m, xmlSchemaPtr schema, size_t max_bytes,
                       uint64_t first_seq, mig_err *err)
{
    return open_reader(in, m, schema, max_bytes, 1, first_seq, err);
}

int reader_resumable(const reader *r)
{
    return !r->has_dtd && !r->parse_err[0] && !r->have_read_err && !r->generic[0] &&
           !r->salvaging && !r->done;
}

void reader_close(reader *r)
{
    if (!r)
        return;
    xmlFreeTextReader(r->xr);
    if (r->salvage_doc)
        xmlFreeDoc(r->salvage_doc);
    if (r->vctx)
        xmlSchemaFreeValidCtxt(r->vctx);
    drop_record(r);
    drop_ancestors(r, 0);
    xmlFreeDoc(r->cdoc);
    for (xmlNodePtr n = r->free_nodes, next; n; n = next) {
        next = n->next;
        xmlFree(n);
    }
    for (xmlAttrPtr a = r->free_attrs, next; a; a = next) {
        next = a->next;
        xmlFree(a);
    }
    free(r->peek);
    free(r->tail);
    free(r->fout);
    free(r->owned);
    for (struct chunk *c = r->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(r->anc);
    free(r->salvage);
    free(r->open_at_err);
    free(r);
}

/* ---- copying ---- */

/* Returns the namespace for prefix in scope at copy node n, declaring it
 * on n (uri) when it is not. */
static xmlNsPtr new_ns(reader *r, xmlNodePtr n, const xmlChar *href, const xmlChar *prefix);

static xmlNsPtr ns_for(reader *r, xmlNodePtr n, const xmlChar *prefix, const xmlChar *uri)
{
    xmlNsPtr ns = xmlSearchNs(n->doc, n, prefix);
    if (ns && xmlStrEqual(ns->href, uri))
        return ns;
    return new_ns(r, n, uri, prefix);
}

static uint64_t attr_size(reader *r, xmlDocPtr sdoc, xmlAttrPtr a, int *has_ent);
static void attr_value(xmlDocPtr sdoc, xmlAttrPtr a, strbuf *out);


/* ---- the record arena ---- */

#define CHUNK_SIZE (64 * 1024)

/* Returns n bytes (aligned) from the arena, valid until arena_reset. */
static void *arena_alloc(reader *r, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct chunk *c = r->chunks;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_SIZE / 4 ? n : CHUNK_SIZE;
        c = xmalloc(sizeof *c + size);
        c->size = size;
        c->used = 0;
        if (size == n && r->chunks) {
            /* a large block: behind the current chunk, which stays current */
            c->next = r->chunks->next;
            r->chunks->next = c;
            c->used = n;
            return c->data;
        }
        c->next = r->chunks;
        r->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

/* Returns a copy of s[0..n) in the arena, NUL-terminated. */
static xmlChar *arena_strndup(reader *r, const xmlChar *s, size_t n)
{
    xmlChar *d = arena_alloc(r, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Frees the arena but its first chunk, and the owned texts. */
static void arena_reset(reader *r)
{
    for (size_t i = 0; i < r->nowned; i++)
        xmlFree(r->owned[i]->content);
    r->nowned = 0;
    struct chunk *keep = NULL;
    for (struct chunk *c = r->chunks, *next; c; c = next) {
        next = c->next;
        if (!keep && c->size == CHUNK_SIZE) {
            keep = c;
            c->used = 0;
        } else {
            free(c);
        }
    }
    if (keep)
        keep->next = NULL;
    r->chunks = keep;
}

/* Notes that text node t (in the arena) holds malloc'd content. */
static void own(reader *r, xmlNodePtr t)
{
    if (r->nowned == r->cowned) {
        r->cowned = r->cowned ? r->cowned * 2 : 16;
        r->owned = xrealloc(r->owned, r->cowned * sizeof *r->owned);
    }
    r->owned[r->nowned++] = t;
}

/* Returns a namespace declared on copy n (NULL if n declares prefix). */
static xmlNsPtr arena_ns(reader *r, xmlNodePtr n, const xmlChar *href, const xmlChar *prefix)
{
    xmlNsPtr *tail = &n->nsDef;
    for (; *tail; tail = &(*tail)->next)
        if ((*tail)->prefix == prefix || xmlStrEqual((*tail)->prefix, prefix))
            return NULL;
    xmlNsPtr ns = arena_alloc(r, sizeof *ns);
    memset(ns, 0, sizeof *ns);
    ns->type = XML_LOCAL_NAMESPACE;
    ns->href = href ? arena_strndup(r, href, strlen((const char *)href)) : NULL;
    ns->prefix = prefix ? arena_strndup(r, prefix, strlen((const char *)prefix)) : NULL;
    *tail = ns;
    return ns;
}

/* Declares a namespace on copy n, in the arena while copying a record. */
static xmlNsPtr new_ns(reader *r, xmlNodePtr n, const xmlChar *href, const xmlChar *prefix)
{
    if (prefix && xmlStrEqual(prefix, BAD_CAST "xml"))
        return xmlSearchNs(n->doc, n, prefix);
    return r->in_rec ? arena_ns(r, n, href, prefix) : xmlNewNs(n, href, prefix);
}

/* Returns name for a copy: the dictionary's string, else a copy. */
static const xmlChar *copy_name(reader *r, const xmlChar *name)
{
    if (r->cdoc->dict && xmlDictOwns(r->cdoc->dict, name))
        return name;
    return r->in_rec ? arena_strndup(r, name, strlen((const char *)name)) : xmlStrdup(name);
}

/* ---- recycling: the copies' element, text and attribute structs go on
 * free lists and are reused (as libxml2's reader does with its own), which
 * saves a malloc and a free per node ---- */

#define RECYCLE_MAX 256   /* structs kept on each free list */

/* Returns a zeroed node struct of type t in r->cdoc, appended to parent. */
static xmlNodePtr node_new(reader *r, xmlElementType t, xmlNodePtr parent)
{
    xmlNodePtr n = r->free_nodes;
    if (r->in_rec) {
        n = arena_alloc(r, sizeof *n);
    } else if (n) {
        r->free_nodes = n->next;
        r->nfree_nodes--;
    } else {
        n = xmlMalloc(sizeof *n);
        if (!n)
            abort();
    }
    memset(n, 0, sizeof *n);
    n->type = t;
    n->doc = r->cdoc;
    if (parent) {
        n->parent = parent;
        if (parent->last) {
            parent->last->next = n;
            n->prev = parent->last;
        } else {
            parent->children = n;
        }
        parent->last = n;
    }
    return n;
}

/* Returns a zeroed attribute struct of element e, appended to its list. */
static xmlAttrPtr attr_new(reader *r, xmlNodePtr e, xmlNsPtr ns, const xmlChar *name,
                           xmlAttrPtr *last)
{
    xmlAttrPtr a = r->free_attrs;
    if (r->in_rec) {
        a = arena_alloc(r, sizeof *a);
    } else if (a) {
        r->free_attrs = a->next;
        r->nfree_attrs--;
    } else {
        a = xmlMalloc(sizeof *a);
        if (!a)
            abort();
    }
    memset(a, 0, sizeof *a);
    a->type = XML_ATTRIBUTE_NODE;
    a->doc = r->cdoc;
    a->parent = e;
    a->ns = ns;
    a->name = copy_name(r, name);
    if (*last) {
        (*last)->next = a;
        a->prev = *last;
    } else {
        e->properties = a;
    }
    *last = a;
    return a;
}

/* Frees string s unless the copies' dictionary owns it. */
static void free_str(reader *r, const xmlChar *s)
{
    if (s && !(r->cdoc->dict && xmlDictOwns(r->cdoc->dict, s)))
        xmlFree((xmlChar *)s);
}

/* Frees node n alone (its children and attributes already gone), onto the
 * free list when it has room. */
static void recycle_one(reader *r, xmlNodePtr n)
{
    if (n->type == XML_TEXT_NODE) {
        if (n->content != (xmlChar *)&n->properties)
            free_str(r, n->content);
    } else {
        free_str(r, n->name);
        if (n->nsDef)
            xmlFreeNsList(n->nsDef);
    }
    if (r->nfree_nodes < RECYCLE_MAX) {
        n->next = r->free_nodes;
        r->free_nodes = n;
        r->nfree_nodes++;
    } else {
        xmlFree(n);
    }
}

/* Frees the attributes of element n, onto the free list when it has room. */
static void recycle_attrs(reader *r, xmlNodePtr n)
{
    xmlAttrPtr a = n->properties, next;
    n->properties = NULL;
    for (; a; a = next) {
        next = a->next;
        xmlNodePtr c = a->children;
        a->children = NULL;
        for (xmlNodePtr cn; c; c = cn) {
            cn = c->next;
            if (c->type == XML_TEXT_NODE)
                recycle_one(r, c);
            else
                xmlFreeNode(c);
        }
        free_str(r, a->name);
        if (r->nfree_attrs < RECYCLE_MAX) {
            a->next = r->free_attrs;
            r->free_attrs = a;
            r->nfree_attrs++;
        } else {
            xmlFree(a);
        }
    }
}

/* Unlinks and frees the copied subtree n, recycling its element, text and
 * attribute structs.  Should the copies hold IDs (an xml:id copied through
 * libxml2), libxml2's own xmlFreeNode takes care of them. */
static void recycle(reader *r, xmlNodePtr n)
{
    xmlUnlinkNode(n);
    if (r->cdoc->ids || r->cdoc->refs) {
        xmlFreeNode(n);
        return;
    }
    /* post-order walk with parent pointers; n's parent is NULL now */
    xmlNodePtr cur = n;
    for (;;) {
        while (cur->type == XML_ELEMENT_NODE && cur->children)
            cur = cur->children;
        xmlNodePtr next = cur->next, parent = cur->parent;
        if (cur->type == XML_ELEMENT_NODE)
            recycle_attrs(r, cur);
        if (cur->type == XML_ELEMENT_NODE || cur->type == XML_TEXT_NODE)
            recycle_one(r, cur);
        else
            xmlFreeNode(cur);
        if (cur == n)
            return;
        if (next) {
            cur = next;
            continue;
        }
        parent->children = parent->last = NULL; /* all gone: freed next round */
        cur = parent;
    }
}

/* Returns libxml2's name dictionary, which the copies share from the first
 * one on (names and short texts are the dictionary's: nothing to copy). */
static xmlDictPtr share_dict(reader *r, xmlNodePtr src)
{
    if (!r->cdoc->dict && src->doc && src->doc->dict) {
        r->cdoc->dict = src->doc->dict;
        xmlDictReference(r->cdoc->dict);
    }
    return r->cdoc->dict;
}

/* Returns 1 if the text of node src (a text node of the reader's tree that
 * the reader is on: complete, about to be freed) may be taken rather than
 * copied: it is its own allocation, not inline. */
static int can_steal(xmlNodePtr src)
{
    return src->content && src->content != (xmlChar *)&src->properties;
}

/* Returns a new text node (in r->cdoc) with the text of src: the
 * dictionary's string shared, taken from src when steal allows, else copied.
 * A short text held inside src (xmlTextReader parses XML_PARSE_COMPACT: most
 * texts of a record) is copied at once, asking the dictionary nothing. */
static xmlNodePtr new_text(reader *r, xmlNodePtr src, int steal, xmlNodePtr parent)
{
    xmlNodePtr t = node_new(r, XML_TEXT_NODE, parent);
    t->name = xmlStringText;
    xmlDictPtr dict = r->cdoc->dict;
    if (r->in_rec && src->content == (xmlChar *)&src->properties) {
        t->content = arena_strndup(r, src->content, strlen((const char *)src->content));
    } else if (dict && xmlDictOwns(dict, src->content)) {
        t->content = src->content;
    } else if (steal && can_steal(src)) {
        t->content = src->content;
        src->content = NULL;
        if (r->in_rec)
            own(r, t);
    } else if (r->in_rec) {
        t->content = arena_strndup(r, src->content, strlen((const char *)src->content));
    } else {
        t->content = xmlStrdup(src->content);
    }
    return t;
}

/* Returns a copy (in r->cdoc, under parent) of element src's start tag:
 * name, namespace declarations, attributes with entities expanded; adds
 * its cost to *cost and its XML bytes to *xml; *has_ent when an attribute
 * used an entity.  With only_cost, nothing is copied (returns NULL). */
static xmlNodePtr copy_start(reader *r, xmlNodePtr src, xmlNodePtr parent, int only_cost,
                             int steal, uint64_t *cost, uint64_t *xml, int *has_ent)
{
    share_dict(r, src);
    const xmlChar *prefix = src->ns ? src->ns->prefix : NULL;
    uint64_t nl = (uint64_t)xmlStrlen(src->name), pl = prefix ? (uint64_t)xmlStrlen(prefix) : 0;
    uint64_t q = nl + (prefix ? pl + 1 : 0); /* qname_len */
    uint64_t c = READER_NODE_COST + 2 * nl + 5 + (prefix ? 2 * pl + 2 : 0);
    uint64_t x = 2 + q;
    for (xmlNsPtr d = src->nsDef; d; d = d->next) {
        uint64_t k = (uint64_t)xmlStrlen(d->prefix) + (uint64_t)xmlStrlen(d->href);
        c += 10 + k;
        x += 9 + k;
    }
    xmlNodePtr copy = NULL;
    if (!only_cost) {
        copy = node_new(r, XML_ELEMENT_NODE, parent ? parent : (xmlNodePtr)r->cdoc);
        copy->name = copy_name(r, src->name);
        copy->line = src->line;
        for (xmlNsPtr d = src->nsDef; d; d = d->next)
            new_ns(r, copy, d->href, d->prefix);
        if (src->ns && !src->nsDef && parent && parent->type == XML_ELEMENT_NODE &&
            parent->ns && str_eq(parent->ns->prefix, src->ns->prefix) &&
            str_eq(parent->ns->href, src->ns->href))
            copy->ns = parent->ns; /* the parent's: no search */
        else if (src->ns)
            xmlSetNs(copy, ns_for(r, copy, src->ns->prefix, src->ns->href));
    }
    strbuf v = STRBUF_INIT;
    xmlAttrPtr last = NULL;
    for (xmlAttrPtr a = src->properties; a; a = a->next) {
        if (!a->ns && r->filt_on && str_eq(a->name, BAD_CAST r->brk_name)) {
            /* put in by the filter: this start tag was cut */
            r->pending_cut = cut_size(a->children ? a->children->content : NULL,
                                      &r->pending_what);
            continue;
        }
        const xmlChar *ap = a->ns ? a->ns->prefix : NULL;
        uint64_t vlen = attr_size(r, src->doc, a, has_ent);
        uint64_t an = qname_len(ap, a->name);
        c = sat_add(c, sat_add(2 * READER_NODE_COST + 4 + an, vlen));
        x = sat_add(x, sat_add(4 + an, vlen));
        if (copy && c <= r->max_bytes) {
            xmlNsPtr ns = a->ns ? ns_for(r, copy, a->ns->prefix, a->ns->href) : NULL;
            xmlNodePtr t = a->children;
            if (t && !t->next && t->type == XML_TEXT_NODE && t->content) {
                /* one text: taken or shared, not copied */
                xmlAttrPtr na = attr_new(r, copy, ns, a->name, &last);
                new_text(r, t, steal, (xmlNodePtr)na);
            } else {
                sb_reset(&v);
                attr_value(src->doc, a, &v);
                sb_putc(&v, '\0');
                xmlAttrPtr na = attr_new(r, copy, ns, a->name, &last);
                xmlNodePtr nt = node_new(r, XML_TEXT_NODE, (xmlNodePtr)na);
                nt->name = xmlStringText;
                nt->content = r->in_rec ? arena_strndup(r, BAD_CAST sb_str(&v), v.len - 1)
                                        : xmlStrdup(BAD_CAST sb_str(&v));
            }
        }
    }
    sb_free(&v);
    *cost = sat_add(*cost, c);
    *xml = sat_add(*xml, x);
    return copy;
}

/* Returns the size of attribute a's value, entities expanded; sets
 * *has_ent when it uses one. */
static uint64_t attr_size(reader *r, xmlDocPtr sdoc, xmlAttrPtr a, int *has_ent)
{
    uint64_t n = 0;
    for (xmlNodePtr c = a->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && c->content) {
            n = sat_add(n, (uint64_t)xmlStrlen(c->content));
        } else if (c->type == XML_ENTITY_REF_NODE) {
            *has_ent = 1;
            n = sat_add(n, entity_size(r, sdoc, xmlGetDocEntity(sdoc, c->name), 0));
        }
    }
    return n;
}

/* Appends the value of attribute a (in document sdoc), entities expanded. */
static void attr_value(xmlDocPtr sdoc, xmlAttrPtr a, strbuf *out)
{
    for (xmlNodePtr c = a->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && c->content)
            sb_puts(out, (const char *)c->content);
        else if (c->type == XML_ENTITY_REF_NODE)
            expand_entity(sdoc, xmlGetDocEntity(sdoc, c->name), out, 0);
    }
}

/* Appends to the record's copy (under parent, NULL once too big) what
 * node src stands for: a leaf copied, an entity reference expanded (its
 * parsed content copied, in document sdoc).  Charges its cost. */
static void copy_leaf(reader *r, xmlDocPtr sdoc, xmlNodePtr src, xmlNodePtr parent, int depth,
                      int steal);

/* Returns 1 if the start tag copy_start went over last was cut by the
 * filter (the record is then too big). */
static int take_cut(reader *r)
{
    if (!r->pending_cut)
        return 0;
    record_cut(r, r->pending_what, r->pending_cut);
    r->pending_cut = 0;
    return 1;
}

/* Copies the subtree src (an element of libxml2's tree or of an entity's
 * content) under parent. */
static void copy_tree(reader *r, xmlDocPtr sdoc, xmlNodePtr src, xmlNodePtr parent, int depth)
{
    if (src->type != XML_ELEMENT_NODE) {
        copy_leaf(r, sdoc, src, parent, depth, 0);
        return;
    }
    if (is_brk(r, src))
        return; /* put in by the filter */
    uint64_t cost = 0;
    int empty = src->children == NULL;
    xmlNodePtr c = copy_start(r, src, r->too_big ? NULL : parent, r->too_big, 0, &cost,
                              &r->xml_bytes, &r->has_ent);
    r->xml_bytes += empty ? 1 : 3 + qname_len(src->ns ? src->ns->prefix : NULL, src->name);
    if (!charge(r, cost))
        c = NULL; /* (freed with the body, or never made) */
    if (take_cut(r))
        c = NULL;
    for (xmlNodePtr k = src->children; k; k = k->next)
        copy_tree(r, sdoc, k, r->too_big ? NULL : c, depth);
}

/* Appends s[0..n) to the copy's text node t: the text after a break. */
static void join_text(reader *r, xmlNodePtr t, const xmlChar *s, size_t n)
{
    if (r->merge_node != t) {
        r->merge_node = t;
        r->merge_len = strlen((const char *)t->content);
    }
    xmlChar *c = t->content;
    int owned = 0;
    for (size_t i = r->nowned; i > 0 && !owned; i--)
        owned = r->owned[i - 1] == t;
    if (!owned) {
        /* the arena's or the dictionary's: a buffer of its own */
        c = xmlMalloc(r->merge_len + n + 1);
        if (!c)
            abort();
        memcpy(c, t->content, r->merge_len);
        own(r, t);
    } else {
        c = xmlRealloc(c, r->merge_len + n + 1);
        if (!c)
            abort();
    }
    memcpy(c + r->merge_len, s, n);
    r->merge_len += n;
    c[r->merge_len] = '\0';
    t->content = c;
}

/* Returns a new leaf of type t in the arena under parent (NULL: none,
 * once the record is too large): content s[0..n), name for a PI. */
static xmlNodePtr leaf_new(reader *r, xmlElementType t, const xmlChar *name, const xmlChar *s,
                           size_t n, xmlNodePtr parent)
{
    if (!parent || r->too_big)
        return NULL;
    xmlNodePtr c = node_new(r, t, parent);
    c->name = t == XML_TEXT_NODE      ? xmlStringText
              : t == XML_COMMENT_NODE ? xmlStringComment
              : t == XML_PI_NODE      ? copy_name(r, name)
                                      : NULL;
    c->content = arena_strndup(r, s, n);
    return c;
}

static void copy_leaf(reader *r, xmlDocPtr sdoc, xmlNodePtr src, xmlNodePtr parent, int depth,
                      int steal)
{
    xmlNodePtr c = NULL;
    const xmlChar *s = src->content ? src->content : BAD_CAST "";
    uint64_t len = (uint64_t)xmlStrlen(s);
    switch (src->type) {
    case XML_TEXT_NODE:
        r->xml_bytes += len;
        if (!charge(r, len + READER_NODE_COST))
            break;
        if (src->content && parent && !r->too_big) {
            if (r->after_brk && parent->last && parent->last->type == XML_TEXT_NODE)
                join_text(r, parent->last, s, (size_t)len);
            else
                new_text(r, src, steal, parent);
            return;
        }
        break;
    case XML_CDATA_SECTION_NODE:
        r->xml_bytes += len + 12;
        /* libxml2 2.9's push parser checks a text's UTF-8 but not a CDATA
         * section's (found by fuzz_record): such a record is refused here,
         * and not copied (its copy would not be well-formed; content is
         * UTF-8 whatever the input's encoding) */
        if (utf8_chars((const char *)s, (size_t)len) < 0) {
            r->bad_cdata = 1;
            make_too_big(r);
            break;
        }
        if (charge(r, len + 12 + READER_NODE_COST))
            c = leaf_new(r, XML_CDATA_SECTION_NODE, NULL, s, (size_t)len, parent);
        break;
    case XML_COMMENT_NODE:
        r->xml_bytes += len + 7;
        if (charge(r, len + 7 + READER_NODE_COST))
            c = leaf_new(r, XML_COMMENT_NODE, NULL, s, (size_t)len, parent);
        break;
    case XML_PI_NODE:
        if (r->filt_on && xmlStrEqual(src->name, BAD_CAST r->brk_name)) {
            /* put in by the filter after a comment or PI it cut */
            const char *what;
            uint64_t size = cut_size(src->content, &what);
            record_cut(r, what, size);
            break;
        }
        r->xml_bytes += (uint64_t)xmlStrlen(src->name) + len + 5;
        if (charge(r, (uint64_t)xmlStrlen(src->name) + len + 5 + READER_NODE_COST))
            c = leaf_new(r, XML_PI_NODE, src->name, s, (size_t)len, parent);
        break;
    case XML_ENTITY_REF_NODE: {
        r->has_ent = 1;
        r->xml_bytes += (uint64_t)xmlStrlen(src->name) + 2;
        xmlEntityPtr ent = xmlGetDocEntity(sdoc, src->name);
        if (!charge(r, sat_add(entity_size(r, sdoc, ent, 0), READER_NODE_COST)) || !ent)
            break;
        uint64_t saved = r->xml_bytes;
        if (ent->children && depth < 40) {
            /* its parsed content, copied without counting it twice */
            r->uncharged++;
            for (xmlNodePtr k = ent->children; k; k = k->next)
                copy_tree(r, sdoc, k, parent, depth + 1);
            r->uncharged--;
        } else if (ent->etype != XML_EXTERNAL_GENERAL_PARSED_ENTITY) {
            strbuf sb = STRBUF_INIT;
            expand_entity(sdoc, ent, &sb, depth);
            c = leaf_new(r, XML_TEXT_NODE, NULL, BAD_CAST sb_str(&sb), sb.len, parent);
            sb_free(&sb);
        }
        r->xml_bytes = saved;
        break;
    }
    default:
        break;
    }
    (void)c; /* (made under parent, in the arena) */
}

/* ---- record matching ---- */

/* Returns 1 if element n has namespace uri and name local (uri NULL: none). */
static int node_is(xmlNodePtr n, const char *uri, const char *local)
{
    if (strcmp((const char *)n->name, local) != 0)
        return 0;
    if (!uri)
        return n->ns == NULL || !n->ns->href || !n->ns->href[0];
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, uri) == 0;
}

/* Returns the line of node's start tag.  Beyond line 65535 libxml2 (with
 * XML_PARSE_BIG_LINES) takes it from the first text child, recorded where
 * that text ends: subtract the newlines inside it. */
static uint64_t record_line(xmlNodePtr node)
{
    long line = xmlGetLineNo(node);
    xmlNodePtr c = node->children;
    if (node->line == 65535 && c && c->type == XML_TEXT_NODE && c->content)
        for (const xmlChar *p = c->content; *p; p++)
            if (*p == '\n')
                line--;
    return line > 0 ? (uint64_t)line : 0;
}

/* Frees the copies of ancestors at depth d and deeper. */
static void drop_ancestors(reader *r, size_t d)
{
    if (r->nanc > d) {
        recycle(r, r->anc[d]);
        r->nanc = d;
    }
}

/* Frees the record handed out last. */
static void drop_record(reader *r)
{
    if (r->rec) {
        xmlUnlinkNode(r->rec);
        r->rec = NULL;
    }
    if (r->in_rec) {
        arena_reset(r);
        r->in_rec = 0;
    }
}

/* Copies ancestor element src (at depth d) under the copy of its parent;
 * returns 0, or -1 when its start tag alone costs more than a record may. */
static int push_ancestor(reader *r, xmlNodePtr src, size_t d)
{
    drop_ancestors(r, d);
    assert(r->nanc == d);
    uint64_t cost = 0, xml = 0;
    int has_ent = 0;
    r->pending_cut = 0;
    copy_start(r, src, NULL, 1, 0, &cost, &xml, &has_ent);
    if (r->pending_cut) {
        if (!r->parse_err[0])
            snprintf(r->parse_err, sizeof r->parse_err,
                     "%s:%ld: the start tag of element %s (%" PRIu64 " bytes) is longer than "
                     "a tag may be (%zu bytes): the records in it cannot be read",
                     r->in->name, xmlGetLineNo(src), (const char *)src->name, r->pending_cut,
                     r->tag_max);
        return -1;
    }
    if (cost > r->max_bytes) {
        if (!r->parse_err[0])
            snprintf(r->parse_err, sizeof r->parse_err,
                     "%s:%ld: element %s takes %" PRIu64 " bytes once parsed (its attributes, "
                     "entities expanded), more than max-record-bytes (%zu)",
                     r->in->name, xmlGetLineNo(src), (const char *)src->name, cost,
                     r->max_bytes);
        return -1;
    }
    if (r->nanc == r->canc) {
        r->canc = r->canc ? r->canc * 2 : 16;
        r->anc = xrealloc(r->anc, r->canc * sizeof *r->anc);
    }
    cost = xml = 0;
    r->anc[r->nanc] = copy_start(r, src, d ? r->anc[d - 1] : NULL, 0, 0, &cost, &xml,
                                 &has_ent);
    r->nanc++;
    return 0;
}

/* Starts the copy of record element src under parent; fills the counters. */
static void begin_record(reader *r, xmlNodePtr src, xmlNodePtr parent, int steal)
{
    uint64_t cost = 0, start_xml = 0;
    r->bytes = r->xml_bytes = 0;
    r->too_big = r->has_ent = 0;
    r->cut_bytes = r->pending_cut = 0;
    r->bad_cdata = 0;
    r->after_brk = 0;
    r->merge_node = NULL;
    r->in_rec = 1;
    src->_private = &returned_marker;
    r->rec = copy_start(r, src, parent, 0, steal, &cost, &start_xml, &r->has_ent);
    charge(r, cost);
    take_cut(r);
}

/* ---- handing out ---- */

/* Fills rec for the record just copied (start tag at line); returns 1. */
static int give_record(reader *r, uint64_t line, reader_record *rec)
{
    rec->node = r->rec;
    rec->line = line;
    rec->seq = ++r->seq;
    rec->invalid = NULL;
    rec->too_big = r->too_big;
    rec->has_entities = r->has_ent;
    rec->bytes = r->bytes;
    rec->xml_bytes = r->xml_bytes;
    r->invalid[0] = '\0';
    if (r->bad_cdata) {
        snprintf(r->invalid, sizeof r->invalid,
                 "a CDATA section is not proper UTF-8; not copied here, see %s line %" PRIu64,
                 r->in->name, line);
        rec->invalid = r->invalid;
    } else if (r->cut_bytes) {
        char most[160];
        if (strstr(r->cut_what, "attributes"))
            snprintf(most, sizeof most, "%d attributes a tag may have", READER_TAG_ATTRS);
        else
            snprintf(most, sizeof most,
                     "%zu bytes a tag, comment or processing instruction may take "
                     "(max-record-bytes, at most %zu)", r->tag_max, READER_TAG_MAX);
        snprintf(r->invalid, sizeof r->invalid,
                 "record too large: %s of %" PRIu64 " bytes, more than the %s; "
                 "not copied here, see %s line %" PRIu64,
                 r->cut_what, r->cut_bytes, most, r->in->name, line);
        rec->invalid = r->invalid;
    } else if (r->too_big) {
        snprintf(r->invalid, sizeof r->invalid,
                 "record too large: %" PRIu64 " bytes of XML, %" PRIu64
                 " bytes once parsed, more than max-record-bytes (%zu); not copied here, "
                 "see %s line %" PRIu64,
                 r->xml_bytes, r->bytes, r->max_bytes, r->in->name, line);
        rec->invalid = r->invalid;
    } else if (r->vctx) {
        int v = xmlSchemaValidateOneElement(r->vctx, r->rec);
        if (v != 0) {
            if (!r->invalid[0])
                snprintf(r->invalid, sizeof r->invalid,
                         "schema: record does not validate (code %d)", v);
            rec->invalid = r->invalid;
        }
    }
    return 1;
}

/* ---- salvage after a well-formedness error ---- */

/* Returns 1 if node n was complete when parsing stopped: not on the parser's
 * open-element stack (or, when that stack is unknown, followed by a sibling). */
static int complete_at_error(const reader *r, xmlNodePtr n)
{
    if (!r->have_open)
        return n->next != NULL;
    for (size_t i = 0; i < r->nopen_at_err; i++)
        if (r->open_at_err[i] == n)
            return 0;
    return 1;
}

/* Collects, in document order, the complete record elements under n (at
 * depth d) that were not handed out yet. */
static void salvage_walk(reader *r, xmlNodePtr n, size_t d, size_t *cap)
{
    const record_path *rp = r->rp;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        int is_record = 0, descend = 1;
        if (rp->anywhere) {
            is_record = node_is(n, rp->ns_uri[0], rp->local[0]);
        } else {
            descend = d < rp->nsteps && node_is(n, rp->ns_uri[d], rp->local[d]);
            is_record = descend && d == rp->nsteps - 1;
        }
        if (is_record) {
            if (n->_private != &returned_marker && complete_at_error(r, n)) {
                if (r->nsalvage == *cap) {
                    *cap = *cap ? *cap * 2 : 16;
                    r->salvage = xrealloc(r->salvage, *cap * sizeof *r->salvage);
                }
                r->salvage[r->nsalvage++] = n;
            }
        } else if (descend) {
            salvage_walk(r, n->children, d + 1, cap);
        }
    }
}

/* Keeps the error that ended the input in r->salvage_err. */
static void keep_error(reader *r)
{
    mig_err *e = &r->salvage_err;
    if (r->have_read_err)
        *e = r->read_err;
    else if (!r->nonblank)
        err_set(e, MIG_EDATA, "%s: empty input", r->in->name);
    else if (r->parse_err[0])
        err_set(e, MIG_EDATA, "%s", r->parse_err);
    else {
        /* stopped without a structured error: an encoding or I/O error */
        char msg[256];
        one_line(msg, sizeof msg, r->generic[0] ? r->generic : "not well-formed XML");
        err_set(e, MIG_EDATA, "%s:%d: %s", r->in->name,
                xmlTextReaderGetParserLineNumber(r->xr), msg);
    }
}

/* Switches to salvage mode after a parse/read error and keeps the error. */
static void start_salvage(reader *r)
{
    keep_error(r);
    r->salvaging = 1;
    drop_record(r);
    drop_ancestors(r, 0);
    size_t cap = 0;
    if (r->salvage_err.status != MIG_EDATA || !r->nonblank)
        return;
    r->salvage_doc = xmlTextReaderCurrentDoc(r->xr);
    if (r->salvage_doc)
        salvage_walk(r, r->salvage_doc->children, 0, &cap);
}

/* Returns the next salvaged record (1), or -1 with the kept error. */
static int salvage_next(reader *r, reader_record *rec, mig_err *err)
{
    drop_record(r);
    drop_ancestors(r, 0);
    if (r->salvage_pos < r->nsalvage) {
        xmlNodePtr n = r->salvage[r->salvage_pos++];
        /* copies of its ancestors, outermost first */
        size_t d = 0;
        for (xmlNodePtr p = n->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent)
            d++;
        xmlNodePtr *chain = xcalloc(d + 1, sizeof *chain);
        size_t k = d;
        for (xmlNodePtr p = n->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent)
            chain[--k] = p;
        for (k = 0; k < d; k++)
            if (push_ancestor(r, chain[k], k) != 0)
                break;
        free(chain);
        begin_record(r, n, r->nanc ? r->anc[r->nanc - 1] : NULL, 0);
        for (xmlNodePtr c = n->children; c; c = c->next)
            copy_tree(r, n->doc, c, r->too_big ? NULL : r->rec, 0);
        r->xml_bytes += n->children ? 3 + qname_len(n->ns ? n->ns->prefix : NULL, n->name) : 0;
        return give_record(r, record_line(n), rec);
    }
    r->done = 1;
    *err = r->salvage_err;
    return -1;
}

/* Returns -1 on a parse/read error (err set) after salvaged records run out. */
static int fail_read(reader *r, reader_record *rec, mig_err *err)
{
    if (!r->salvaging)
        start_salvage(r);
    return salvage_next(r, rec, err);
}

/* ---- reading ---- */

/* Returns 1 if element n was still open when a parse error stopped the
 * parser (the reader closes it all the same: it is not complete). */
static int open_at_error(const reader *r, xmlNodePtr n)
{
    if (!r->have_open)
        return 0;
    for (size_t i = 0; i < r->nopen_at_err; i++)
        if (r->open_at_err[i] == n)
            return 1;
    return 0;
}

/* Appends to copy (the copy of element t of libxml2's tree) the children of
 * t that read_record did not copy yet, in document order: those it copied
 * are marked (copied_marker, or an element's copy to go on in). */
static void finish_children(reader *r, xmlNodePtr t, xmlNodePtr copy)
{
    for (xmlNodePtr k = t->children; k; k = k->next) {
        if (k->_private == &copied_marker)
            continue;
        if (k->type == XML_ELEMENT_NODE && k->_private)
            finish_children(r, k, k->_private);
        else
            copy_tree(r, k->doc, k, r->too_big ? NULL : copy, 0);
    }
}

/* Returns 1 after completing the copy of record src from libxml2's tree,
 * when a well-formedness error stopped the reader inside it although the
 * record had ended before the error: libxml2 parses ahead of the node it
 * reports, so an error a few hundred bytes on surfaces here.  The rest of
 * the record is in the tree (the reader frees only what it passed, which
 * is copied); without this the record was dropped, uncounted, and the next
 * one salvaged took its number (found by fuzz_record's resume check).
 * Returns 0 when the record was still open at the error (or the error was
 * not the parser's). */
static int finish_from_tree(reader *r, xmlNodePtr src)
{
    if (!r->have_open || open_at_error(r, src) || r->have_read_err || !r->parse_err[0])
        return 0;
    if (!r->too_big)
        finish_children(r, src, r->rec);
    return 1;
}

/* Reads the rest of the record whose start tag the reader is on (src, at
 * depth depth), copying it; returns 1 with rec filled, or what the reader
 * returned (0 or -1) if the input ended inside it. */
static int read_record(reader *r, xmlNodePtr src, int depth, reader_record *rec)
{
    xmlTextReaderPtr xr = r->xr;
    begin_record(r, src, depth > 0 && (size_t)depth <= r->nanc ? r->anc[depth - 1] : NULL, 1);
    uint64_t line = src->line < 65535 ? (uint64_t)src->line : 0;
    if (xmlTextReaderIsEmptyElement(xr)) {
        if (!line)
            line = record_line(src);
        return give_record(r, line, rec);
    }
    xmlNodePtr cur = r->rec; /* where the next node's copy goes */
    for (;;) {
        int rc = move(r, 0);
        if (rc < 0 && finish_from_tree(r, src))
            return give_record(r, line ? line : record_line(src), rec);
        if (rc != 1)
            return rc;
        if (!line)
            line = record_line(src);
        xmlNodePtr n = xmlTextReaderCurrentNode(xr);
        /* the reader's type only for elements (start or end): for a text
         * it would test whether it is blank, which is not needed here */
        int type = n->type == XML_ELEMENT_NODE ? xmlTextReaderNodeType(xr) : 0;
        if (type && is_brk(r, n)) {
            r->after_brk = 1; /* put in by the filter: not copied */
            continue;
        }
        if (type == XML_READER_TYPE_END_ELEMENT) {
            r->xml_bytes += 3 + qname_len(n->ns ? n->ns->prefix : NULL, n->name);
            if (xmlTextReaderDepth(xr) == depth)
                return open_at_error(r, src) ? -1 : give_record(r, line, rec);
            cur = r->too_big ? NULL : cur->parent;
        } else if (type == XML_READER_TYPE_ELEMENT) {
            uint64_t cost = 0;
            xmlNodePtr c = copy_start(r, n, r->too_big ? NULL : cur, r->too_big, 1, &cost,
                                      &r->xml_bytes, &r->has_ent);
            if (!charge(r, cost) || take_cut(r))
                c = NULL;
            n->_private = c ? (void *)c : &copied_marker;
            if (xmlTextReaderIsEmptyElement(xr))
                r->xml_bytes += 1;
            else
                cur = c;
        } else {
            copy_leaf(r, n->doc, n, r->too_big ? NULL : cur, 0, 1);
            n->_private = &copied_marker;
        }
        r->after_brk = 0;
    }
}

int reader_next(reader *r, reader_record *rec, mig_err *err)
{
    xmlTextReaderPtr xr = r->xr;
    if (r->done)
        return 0;
    quiet q = quiet_begin(r);
    int rc;
    if (r->salvaging) {
        rc = salvage_next(r, rec, err);
        quiet_end(q);
        return rc;
    }
    drop_record(r);
    const record_path *rp = r->rp;
    rc = move(r, 0);
    while (rc == 1) {
        xmlNodePtr n = xmlTextReaderCurrentNode(xr);
        if (n->type != XML_ELEMENT_NODE || xmlTextReaderNodeType(xr) != XML_READER_TYPE_ELEMENT) {
            rc = move(r, 0);
            continue;
        }
        int depth = xmlTextReaderDepth(xr);
        int is_record, descend;
        if (rp->anywhere) {
            is_record = node_is(n, rp->ns_uri[0], rp->local[0]);
            descend = !is_record;
        } else {
            /* an element reached here has every ancestor on the path */
            descend = (size_t)depth < rp->nsteps &&
                      node_is(n, rp->ns_uri[depth], rp->local[depth]);
            is_record = descend && (size_t)depth == rp->nsteps - 1;
        }
        if (is_record) {
            drop_ancestors(r, (size_t)depth);
            rc = read_record(r, n, depth, rec);
            if (rc == 1) {
                quiet_end(q);
                return 1;
            }
            break;
        }
        if (descend && !xmlTextReaderIsEmptyElement(xr)) {
            if (push_ancestor(r, n, (size_t)depth) != 0) {
                r->done = 1;
                drop_ancestors(r, 0);
                quiet_end(q);
                return err_set(err, MIG_EDATA, "%s", r->parse_err);
            }
            rc = move(r, 0);
        } else {
            rc = move(r, 1);
        }
    }
    if (rc < 0 || r->have_read_err || r->parse_err[0] || !r->nonblank) {
        rc = fail_read(r, rec, err);
    } else {
        r->done = 1;
        rc = 0;
    }
    quiet_end(q);
    return rc;
}

void reader_release(reader *r)
{
    drop_record(r);
}

/* ---- serialising a record ----
 *
 * A walk of the copy appending to the strbuf, byte for byte what
 * xmlNodeDump gave (the copies' document has no encoding): text escapes
 * < > & and CR; attribute values escape < > & " TAB LF CR and write
 * non-ASCII characters as hexadecimal character references; namespace
 * URIs are quoted as libxml2 quotes them.  It costs a third of xmlNodeDump,
 * which goes through an output buffer and an escaping callback per text. */

/* Returns the escape of byte c in a text (&lt; &gt; &amp; &#13;) or in an
 * attribute value (those and &quot; &#9; &#10;), or NULL. */
static const char *escape_of(xmlChar c, int attr)
{
    switch (c) {
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '&': return "&amp;";
    case '\r': return "&#13;";
    case '"': return attr ? "&quot;" : NULL;
    case '\t': return attr ? "&#9;" : NULL;
    case '\n': return attr ? "&#10;" : NULL;
    default: return NULL;
    }
}

/* Appends text s (NUL-terminated), < > & and CR escaped: runs found by
 * strcspn up to the NUL, no strlen first. */
static void put_text(strbuf *out, const xmlChar *s)
{
    for (;;) {
        size_t k = strcspn((const char *)s, "<>&\r");
        sb_append(out, s, k);
        s += k;
        if (!*s)
            return;
        sb_puts(out, escape_of(*s++, 0));
    }
}

/* Appends attribute value s[0..n) escaped: < > & " TAB LF CR as entities,
 * other control characters as they are, non-ASCII characters as
 * hexadecimal character references. */
static void put_attr_value(strbuf *out, const xmlChar *s, size_t n)
{
    const xmlChar *end = s + n;
    while (s < end) {
        const xmlChar *p = s;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '<' && *p != '>' && *p != '&' &&
               *p != '"')
            p++;
        sb_append(out, s, (size_t)(p - s));
        if (p == end)
            return;
        xmlChar c = *p;
        const char *rep = escape_of(c, 1);
        if (rep) {
            sb_puts(out, rep);
            s = p + 1;
            continue;
        }
        if (c < 0x80) { /* another control character: as it is */
            sb_putc(out, (char)c);
            s = p + 1;
            continue;
        }
        /* a non-ASCII character: a character reference */
        int val = 0, l = 1;
        if (p + 1 < end) {
            if (c < 0xC0) {
                l = 1;
            } else if (c < 0xE0) {
                val = ((c & 0x1F) << 6) | (p[1] & 0x3F);
                l = 2;
            } else if (c < 0xF0 && p + 2 < end) {
                val = ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
                l = 3;
            } else if (c < 0xF8 && p + 3 < end) {
                val = ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) |
                      (p[3] & 0x3F);
                l = 4;
            }
        } else {
            sb_putc(out, (char)c); /* a last byte alone: libxml2 copies it */
            s = p + 1;
            continue;
        }
        if (l == 1 || !xmlIsCharQ(val)) {
            val = c;
            l = 1;
        }
        sb_printf(out, "&#x%X;", (unsigned)val);
        s = p + l;
    }
}

/* Appends a namespace declaration as xmlNsDumpOutput writes it. */
static void put_ns(strbuf *out, const xmlNs *ns)
{
    if (ns->type != XML_LOCAL_NAMESPACE || !ns->href ||
        (ns->prefix && xmlStrEqual(ns->prefix, BAD_CAST "xml")))
        return;
    if (ns->prefix) {
        sb_append(out, " xmlns:", 7);
        sb_puts(out, (const char *)ns->prefix);
    } else {
        sb_append(out, " xmlns", 6);
    }
    const char *h = (const char *)ns->href;
    int dq = strchr(h, '"') != NULL, sq = strchr(h, '\'') != NULL;
    if (dq && !sq) {
        sb_append(out, "='", 2);
        sb_puts(out, h);
        sb_putc(out, '\'');
        return;
    }
    sb_append(out, "=\"", 2);
    for (; *h; h++)
        if (*h == '"')
            sb_append(out, "&quot;", 6);
        else
            sb_putc(out, *h);
    sb_putc(out, '"');
}

/* Returns 1 if the prefix of ns is declared by a namespace in list. */
static int ns_listed(const xmlNs *list, const xmlNs *ns)
{
    for (; list; list = list->next)
        if (list->prefix == ns->prefix || xmlStrEqual(list->prefix, ns->prefix))
            return 1;
    return 0;
}

/* Appends prefix:name. */
static void put_qname(strbuf *out, const xmlNs *ns, const xmlChar *name)
{
    if (ns && ns->prefix) {
        sb_puts(out, (const char *)ns->prefix);
        sb_putc(out, ':');
    }
    sb_puts(out, (const char *)name);
}

/* Appends element e's start tag without its closing '>' or "/>"; top: the
 * record element, which also declares every namespace in scope. */
static void put_start(strbuf *out, xmlNodePtr e, int top)
{
    sb_putc(out, '<');
    put_qname(out, e->ns, e->name);
    for (const xmlNs *d = e->nsDef; d; d = d->next)
        put_ns(out, d);
    if (top)
        for (xmlNodePtr a = e->parent; a && a->type == XML_ELEMENT_NODE; a = a->parent)
            for (const xmlNs *d = a->nsDef; d; d = d->next) {
                /* nearer declarations of the prefix win */
                int shadowed = ns_listed(e->nsDef, d);
                for (xmlNodePtr b = e->parent; !shadowed && b != a; b = b->parent)
                    shadowed = ns_listed(b->nsDef, d);
                for (const xmlNs *p = a->nsDef; !shadowed && p != d; p = p->next)
                    shadowed = p->prefix == d->prefix || xmlStrEqual(p->prefix, d->prefix);
                if (!shadowed)
                    put_ns(out, d);
            }
    for (xmlAttrPtr a = e->properties; a; a = a->next) {
        sb_putc(out, ' ');
        put_qname(out, a->ns, a->name);
        sb_append(out, "=\"", 2);
        for (xmlNodePtr t = a->children; t; t = t->next)
            if (t->type == XML_TEXT_NODE && t->content)
                put_attr_value(out, t->content, strlen((const char *)t->content));
        sb_putc(out, '"');
    }
}

/* Appends leaf n (text, CDATA, comment, PI). */
static void put_leaf(strbuf *out, xmlNodePtr n)
{
    const xmlChar *c = n->content;
    switch (n->type) {
    case XML_TEXT_NODE:
        if (!c)
            break;
        if (n->name == xmlStringTextNoenc)
            sb_puts(out, (const char *)c);
        else
            put_text(out, c);
        break;
    case XML_CDATA_SECTION_NODE: {
        if (!c || !*c) {
            sb_append(out, "<![CDATA[]]>", 12);
            break;
        }
        /* "]]>" inside splits the section, as xmlNodeDump does */
        const xmlChar *start = c, *end = c;
        for (; *end; end++)
            if (end[0] == ']' && end[1] == ']' && end[2] == '>') {
                end += 2;
                sb_append(out, "<![CDATA[", 9);
                sb_append(out, start, (size_t)(end - start));
                sb_append(out, "]]>", 3);
                start = end;
            }
        if (start != end) {
            sb_append(out, "<![CDATA[", 9);
            sb_puts(out, (const char *)start);
            sb_append(out, "]]>", 3);
        }
        break;
    }
    case XML_COMMENT_NODE:
        if (c) {
            sb_append(out, "<!--", 4);
            sb_puts(out, (const char *)c);
            sb_append(out, "-->", 3);
        }
        break;
    case XML_PI_NODE:
        sb_append(out, "<?", 2);
        sb_puts(out, (const char *)n->name);
        if (c) {
            sb_putc(out, ' ');
            sb_puts(out, (const char *)c);
        }
        sb_append(out, "?>", 2);
        break;
    case XML_ENTITY_REF_NODE:
        sb_putc(out, '&');
        sb_puts(out, (const char *)n->name);
        sb_putc(out, ';');
        break;
    default:
        break;
    }
}

void reader_record_xml(reader *r, const reader_record *rec, strbuf *out)
{
    (void)r;
    sb_reset(out);
    if (rec->too_big)
        return;
    xmlNodePtr top = rec->node;
    sb_grow(out, rec->xml_bytes + rec->xml_bytes / 8 + 256);
    /* iterative walk with parent pointers */
    xmlNodePtr n = top;
    for (;;) {
        if (n->type == XML_ELEMENT_NODE) {
            put_start(out, n, n == top);
            if (n->children) {
                sb_putc(out, '>');
                n = n->children;
                continue;
            }
            sb_append(out, "/>", 2);
        } else {
            put_leaf(out, n);
        }
        /* up to the next sibling, closing elements on the way */
        while (n != top && !n->next) {
            n = n->parent;
            sb_append(out, "</", 2);
            put_qname(out, n->ns, n->name);
            sb_putc(out, '>');
        }
        if (n == top)
            return;
        n = n->next;
    }
}

/* ---- schema ---- */

/* Keeps the first error of schema parsing in the buffer ctx. */
static void schema_error_cb(void *ctx, xmlErrorPtr e)
{
    char *buf = ctx;
    if (!e || buf[0])
        return;
    char msg[512];
    one_line(msg, sizeof msg, e->message);
    snprintf(buf, 768, "%s:%d: %s", e->file ? e->file : "schema", e->line, msg);
}

xmlSchemaPtr reader_schema_load(const char *file, mig_err *err)
{
    char msg[768] = "";
    if (access(file, R_OK) != 0) {
        err_set(err, MIG_ECONFIG, "cannot read schema %s: %s", file, strerror(errno));
        return NULL;
    }
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(file);
    if (!pc) {
        err_set(err, MIG_ECONFIG, "cannot read schema %s", file);
        return NULL;
    }
    xmlSchemaSetParserStructuredErrors(pc, schema_error_cb, msg);
    xmlSchemaPtr s = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (!s)
        err_set(err, MIG_ECONFIG, "schema %s: %s", file, msg[0] ? msg : "cannot be parsed");
    return s;
}
