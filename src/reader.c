/* reader.c — streams the records of one input through libxml2's push parser
 * and its SAX2 tree builder, building only what a record needs.
 *
 * The reader feeds the parser chunks of the input and watches the SAX events
 * on their way to libxml2's own tree builder (xmlSAX2*).  An element that
 * cannot contain a record (its path already differs from the record path)
 * is not built at all, nor anything inside it.  The record path's ancestors
 * are built with their attributes (for "../@x" paths and namespace lookup)
 * but without their text.  A record element is built whole, and when its end
 * tag has been parsed it joins a small queue of complete records; reader_next
 * hands them out one by one and frees each on the next call.  So memory
 * holds one chunk's worth of records and their ancestors, whatever the size
 * of the input.
 *
 * Limits, so that no input can take more memory than a record may:
 *  - a record costs its XML bytes (entities counted as expanded) plus what
 *    libxml2 needs per node (READER_NODE_COST); past max_bytes it stops
 *    being built, its children are freed, and it is handed out marked
 *    too_big (the engine rejects it with its size);
 *  - a document that declares entities in its DTD is parsed with libxml2's
 *    own limits (XML_PARSE_HUGE off: its entity amplification guard, text
 *    nodes up to 10 MB), which refuses "billion laughs" documents; others
 *    keep XML_PARSE_HUGE, for text nodes as large as a record may be;
 *  - the parser's look-ahead (one tag, comment or processing instruction
 *    not yet complete) may not exceed max_bytes, nor its name dictionary
 *    libxml2's default 10 MB.
 *
 * Errors: the first parse error (file:line:col: message) is kept; records
 * completed before it are still handed out, then the error.  An input with
 * nothing but white space is "empty input".
 *
 * Owns: the parser context and its document, the queue of complete records,
 * the optional schema validation context, the error buffers.
 * Hands on: a borrowed xmlNode per record, valid until the next call. */
#include "config.h"
#include "reader.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/entities.h>
#include <libxml/parserInternals.h>

#define READ_CHUNK (64 * 1024)    /* input bytes handed to the parser per step */
#define DICT_LIMIT 10000000       /* libxml2's own default for its name dictionary */

/* One complete record waiting to be handed out. */
typedef struct queued {
    xmlNodePtr node;
    uint64_t line;
    uint64_t bytes;      /* cost counted (see READER_NODE_COST) */
    uint64_t xml_bytes;  /* bytes of XML from its start tag to its end tag */
    int too_big;
    int has_ent;         /* holds entity references */
} queued;

struct reader {
    input *in;
    const mapping *map;
    const record_path *rp;
    size_t max_bytes;
    xmlParserCtxtPtr pc;
    xmlSAXHandler sax;
    xmlBufferPtr dump;       /* reused by reader_record_xml (dropped when large) */
    xmlSchemaValidCtxtPtr vctx;
    char *buf;               /* READ_CHUNK bytes */
    mig_err read_err;        /* an input error */
    int have_read_err;
    char parse_err[768];     /* first parse error, "file:line:col: msg" */
    char invalid[768];       /* validation error / size reason of the current record */
    char generic[256];       /* first line libxml2 gave its generic error handler */
    int nonblank;            /* a byte other than white space was read */
    int ended;               /* no more input will be parsed */
    int at_end;              /* the parser was told the input ended */
    int done;                /* reader_next returned 0 or -1 */
    uint64_t seq;

    /* where the parser is */
    size_t depth;            /* elements open */
    unsigned char *ok;       /* per depth: element built (on the record path) */
    size_t ok_cap;
    size_t skip_from;        /* 0, or depth of an element whose subtree is ignored */

    /* the record being built */
    xmlNodePtr cur;
    size_t cur_depth;
    queued cq;               /* its line, counts and flags */
    uint64_t cur_start;      /* parser position after its start tag */
    int last_text;           /* the last event inside it was text */

    /* complete records, and what to free once they are gone */
    queued *q;
    size_t qhead, qlen, qcap;
    xmlNodePtr handed;       /* the record handed out last */
    xmlNodePtr *grave;       /* ended elements that queued records still hang from */
    size_t ngrave, cgrave;
};

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

/* Returns the parser's position in its (UTF-8) input. */
static uint64_t parser_pos(xmlParserCtxtPtr pc)
{
    if (!pc->input)
        return 0;
    return (uint64_t)pc->input->consumed + (uint64_t)(pc->input->cur - pc->input->base);
}

/* Drops what was built of the current record below its element: it is too big. */
static void drop_record_body(reader *r)
{
    xmlParserCtxtPtr pc = r->pc;
    while (pc->node && pc->node != r->cur)
        nodePop(pc);
    xmlNodePtr kids = r->cur->children;
    r->cur->children = r->cur->last = NULL;
    for (xmlNodePtr k = kids; k; k = k->next)
        k->parent = NULL;
    xmlFreeNodeList(kids);
    pc->nodemem = 0; /* the text builder must not append to a freed node */
    pc->nodelen = 0;
}

/* Counts n bytes against the current record; returns 1 while it is built. */
static int charge(reader *r, uint64_t n)
{
    r->cq.bytes = sat_add(r->cq.bytes, n);
    if (!r->cq.too_big && r->cq.bytes > r->max_bytes) {
        r->cq.too_big = 1;
        drop_record_body(r);
    }
    return !r->cq.too_big;
}

/* ---- queue of complete records ---- */

/* Appends the record just completed to the queue. */
static void enqueue(reader *r)
{
    if (r->qhead + r->qlen == r->qcap) {
        if (r->qhead) {
            memmove(r->q, r->q + r->qhead, r->qlen * sizeof *r->q);
            r->qhead = 0;
        } else {
            r->qcap = r->qcap ? r->qcap * 2 : 16;
            r->q = xrealloc(r->q, r->qcap * sizeof *r->q);
        }
    }
    r->q[r->qhead + r->qlen++] = r->cq;
}

/* Unlinks and frees node n (used where recycling does not matter). */
static void free_node(xmlNodePtr n)
{
    xmlUnlinkNode(n);
    xmlFreeNode(n);
}

/* ---- recycling: the SAX2 builder takes nodes from the parser's free lists
 * (as xmlTextReader does), which saves a malloc and a free per node ---- */

#define RECYCLE_MAX 100   /* nodes (and attributes) kept on each free list */

/* Frees string s unless the dictionary owns it. */
static void free_str(xmlDictPtr dict, const xmlChar *s)
{
    if (s && !(dict && xmlDictOwns(dict, s)))
        xmlFree((xmlChar *)s);
}

/* Frees node n alone (its children and attributes already gone), onto the
 * free list when it has room. */
static void recycle_one(xmlParserCtxtPtr pc, xmlNodePtr n)
{
    xmlDictPtr dict = pc->dict;
    assert(n->type == XML_ELEMENT_NODE || n->type == XML_TEXT_NODE);
    if (n->type == XML_TEXT_NODE) {
        if (n->content != (xmlChar *)&n->properties)
            free_str(dict, n->content);
    } else {
        free_str(dict, n->name);
        if (n->nsDef)
            xmlFreeNsList(n->nsDef);
    }
    if (pc->freeElemsNr < RECYCLE_MAX) {
        n->next = pc->freeElems;
        pc->freeElems = n;
        pc->freeElemsNr++;
    } else {
        xmlFree(n);
    }
}

/* Frees the attributes of element n, onto the free list when it has room. */
static void recycle_attrs(xmlParserCtxtPtr pc, xmlNodePtr n)
{
    xmlAttrPtr a = n->properties, next;
    n->properties = NULL;
    for (; a; a = next) {
        next = a->next;
        xmlFreeNodeList(a->children);
        free_str(pc->dict, a->name);
        if (pc->freeAttrsNr < RECYCLE_MAX) {
            a->next = pc->freeAttrs;
            pc->freeAttrs = a;
            pc->freeAttrsNr++;
        } else {
            xmlFree(a);
        }
    }
}

/* Unlinks and frees the subtree n, recycling its element, text and
 * attribute structs.  A document with a DTD may hold IDs pointing into the
 * tree: there libxml2's own xmlFreeNode takes care of them. */
static void recycle(reader *r, xmlNodePtr n)
{
    xmlParserCtxtPtr pc = r->pc;
    xmlDocPtr doc = n->doc;
    xmlUnlinkNode(n);
    if (!doc || doc->intSubset || doc->extSubset || doc->ids || doc->refs) {
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
            recycle_attrs(pc, cur);
        if (cur->type == XML_ELEMENT_NODE || cur->type == XML_TEXT_NODE)
            recycle_one(pc, cur);
        else
            xmlFreeNode(cur);
        if (cur == n)
            return;
        if (next) {
            cur = next;
            continue;
        }
        /* parent's children are all gone */
        parent->children = parent->last = NULL;
        cur = parent;
        /* parent is freed by the next round: it has no children now */
    }
}

/* Returns 1 if a is b or one of b's ancestors. */
static int is_ancestor(xmlNodePtr a, xmlNodePtr b)
{
    for (; b; b = b->parent)
        if (a == b)
            return 1;
    return 0;
}


/* Frees ended element n now, or later if queued records hang from it. */
static void bury(reader *r, xmlNodePtr n)
{
    if (r->qlen == 0) {
        recycle(r, n);
        return;
    }
    /* graves below n go with it */
    size_t k = 0;
    for (size_t i = 0; i < r->ngrave; i++)
        if (!is_ancestor(n, r->grave[i]))
            r->grave[k++] = r->grave[i];
    r->ngrave = k;
    if (r->ngrave == r->cgrave) {
        r->cgrave = r->cgrave ? r->cgrave * 2 : 8;
        r->grave = xrealloc(r->grave, r->cgrave * sizeof *r->grave);
    }
    r->grave[r->ngrave++] = n;
}

/* Frees the record handed out last and, when no record is queued, the graves. */
static void release(reader *r)
{
    if (r->handed) {
        recycle(r, r->handed);
        r->handed = NULL;
    }
    if (r->qlen == 0) {
        for (size_t i = 0; i < r->ngrave; i++)
            recycle(r, r->grave[i]);
        r->ngrave = 0;
    }
}

/* ---- SAX: what the tree builder gets ---- */

/* Returns the reader of parser context ctx when ctx is the main one (not
 * the context libxml2 makes to parse an entity's content), else NULL. */
static reader *main_reader(void *ctx)
{
    xmlParserCtxtPtr pc = ctx;
    reader *r = pc->_private;
    return r && r->pc == pc ? r : NULL;
}

/* Returns 1 if (uri, local) is the name wanted (want_uri NULL: no namespace). */
static int name_is(const xmlChar *uri, const xmlChar *local, const char *want_uri,
                   const char *want_local)
{
    if (strcmp((const char *)local, want_local) != 0)
        return 0;
    if (!want_uri)
        return uri == NULL || uri[0] == '\0';
    return uri && strcmp((const char *)uri, want_uri) == 0;
}

/* Returns the cost of an element's start tag with its attributes; sets
 * *has_ent when an attribute value holds an entity reference. */
static uint64_t start_tag_cost(reader *r, const xmlChar *localname, const xmlChar *prefix,
                               int nb_namespaces, const xmlChar **namespaces,
                               int nb_attributes, const xmlChar **attributes, int *has_ent)
{
    uint64_t n = READER_NODE_COST + 2 * (uint64_t)xmlStrlen(localname) + 5;
    if (prefix)
        n += 2 * (uint64_t)xmlStrlen(prefix) + 2;
    for (int i = 0; i < nb_namespaces; i++)
        n += 10 + (uint64_t)xmlStrlen(namespaces[2 * i]) + (uint64_t)xmlStrlen(namespaces[2 * i + 1]);
    for (int i = 0; i < nb_attributes; i++) {
        const xmlChar **a = attributes + 5 * i; /* localname, prefix, URI, value, end */
        n = sat_add(n, 2 * READER_NODE_COST + 4 + (uint64_t)xmlStrlen(a[0]) +
                           (a[1] ? (uint64_t)xmlStrlen(a[1]) + 1 : 0));
        n = sat_add(n, text_size(r, r->pc->myDoc, a[3], (size_t)(a[4] - a[3]), 0));
        /* the value still holds "&name;" (entities are not substituted) */
        if (memchr(a[3], '&', (size_t)(a[4] - a[3])))
            *has_ent = 1;
    }
    return n;
}

/* startElementNs: builds the element if it is a record, inside one, or an
 * ancestor of where records can be; else ignores its whole subtree. */
static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces,
                              nb_attributes, nb_defaulted, attributes);
        return;
    }
    size_t d = ++r->depth;
    if (r->skip_from)
        return;
    if (r->cur) {
        r->last_text = 0;
        if (charge(r, start_tag_cost(r, localname, prefix, nb_namespaces, namespaces,
                                     nb_attributes, attributes, &r->cq.has_ent)))
            xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces,
                                  nb_attributes, nb_defaulted, attributes);
        return;
    }
    const record_path *rp = r->rp;
    int build, is_record;
    if (rp->anywhere) {
        is_record = name_is(URI, localname, rp->ns_uri[0], rp->local[0]);
        build = 1;
    } else {
        int parent_ok = d == 1 || r->ok[d - 1];
        build = d <= rp->nsteps && parent_ok &&
                name_is(URI, localname, rp->ns_uri[d - 1], rp->local[d - 1]);
        is_record = build && d == rp->nsteps;
    }
    if (!build) {
        r->skip_from = d;
        return;
    }
    if (d >= r->ok_cap) {
        r->ok = xrealloc(r->ok, d * 2);
        memset(r->ok + r->ok_cap, 0, d * 2 - r->ok_cap);
        r->ok_cap = d * 2;
    }
    r->ok[d] = 1;
    xmlParserCtxtPtr pc = r->pc;
    int has_ent = 0;
    uint64_t cost = start_tag_cost(r, localname, prefix, nb_namespaces, namespaces,
                                   nb_attributes, attributes, &has_ent);
    if (!is_record && cost > r->max_bytes) {
        /* an ancestor is kept for "../@x": it must not outgrow a record */
        if (!r->parse_err[0])
            snprintf(r->parse_err, sizeof r->parse_err,
                     "%s:%d: element %s takes %" PRIu64 " bytes once parsed (its attributes, "
                     "entities expanded), more than max-record-bytes (%zu)",
                     r->in->name, pc->input ? pc->input->line : 0, (const char *)localname,
                     cost, r->max_bytes);
        xmlStopParser(pc);
        r->skip_from = d;
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces,
                          nb_attributes, nb_defaulted, attributes);
    if (!is_record || !pc->node || pc->node->type != XML_ELEMENT_NODE)
        return;
    r->cur = pc->node;
    r->cur_depth = d;
    memset(&r->cq, 0, sizeof r->cq);
    r->cq.node = r->cur;
    r->cq.line = pc->input ? (uint64_t)pc->input->line : 0;
    r->cur_start = parser_pos(pc);
    r->last_text = 0;
    r->cq.has_ent = has_ent;
    charge(r, cost);
}

/* endElementNs: closes what on_start built; a closed record joins the queue. */
static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *URI)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2EndElementNs(ctx, localname, prefix, URI);
        return;
    }
    size_t d = r->depth--;
    if (r->skip_from) {
        if (d == r->skip_from)
            r->skip_from = 0;
        return;
    }
    if (r->cur) {
        r->last_text = 0;
        if (d > r->cur_depth) {
            if (!r->cq.too_big)
                xmlSAX2EndElementNs(ctx, localname, prefix, URI);
            return;
        }
        assert(d == r->cur_depth && r->pc->node == r->cur);
        xmlSAX2EndElementNs(ctx, localname, prefix, URI);
        r->cq.xml_bytes = parser_pos(r->pc) - r->cur_start;
        enqueue(r);
        r->cur = NULL;
        return;
    }
    xmlNodePtr n = r->pc->node;
    xmlSAX2EndElementNs(ctx, localname, prefix, URI);
    if (n)
        bury(r, n);
}

/* characters / ignorableWhitespace: text is built inside a record only. */
static void on_text(void *ctx, const xmlChar *ch, int len)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2Characters(ctx, ch, len);
        return;
    }
    if (!r->cur || r->skip_from)
        return;
    uint64_t cost = (uint64_t)len + (r->last_text ? 0 : READER_NODE_COST);
    r->last_text = 1;
    if (charge(r, cost))
        xmlSAX2Characters(ctx, ch, len);
}

/* cdataBlock: inside a record only. */
static void on_cdata(void *ctx, const xmlChar *value, int len)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2CDataBlock(ctx, value, len);
        return;
    }
    if (!r->cur || r->skip_from)
        return;
    r->last_text = 0;
    if (charge(r, (uint64_t)len + 12 + READER_NODE_COST))
        xmlSAX2CDataBlock(ctx, value, len);
}

/* comment: inside a record only (the DTD's and the prolog's are not needed). */
static void on_comment(void *ctx, const xmlChar *value)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2Comment(ctx, value);
        return;
    }
    if (!r->cur || r->skip_from)
        return;
    r->last_text = 0;
    if (charge(r, (uint64_t)xmlStrlen(value) + 7 + READER_NODE_COST))
        xmlSAX2Comment(ctx, value);
}

/* processingInstruction: inside a record only. */
static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2ProcessingInstruction(ctx, target, data);
        return;
    }
    if (!r->cur || r->skip_from)
        return;
    r->last_text = 0;
    if (charge(r, (uint64_t)xmlStrlen(target) + (uint64_t)xmlStrlen(data) + 5 +
                      READER_NODE_COST))
        xmlSAX2ProcessingInstruction(ctx, target, data);
}

/* reference: an entity reference inside a record costs its expansion. */
static void on_reference(void *ctx, const xmlChar *name)
{
    reader *r = main_reader(ctx);
    if (!r) {
        xmlSAX2Reference(ctx, name);
        return;
    }
    if (!r->cur || r->skip_from)
        return;
    r->last_text = 0;
    r->cq.has_ent = 1;
    xmlEntityPtr ent = xmlGetDocEntity(r->pc->myDoc, name);
    if (charge(r, sat_add(entity_size(r, r->pc->myDoc, ent, 0), READER_NODE_COST)))
        xmlSAX2Reference(ctx, name);
}

/* entityDecl: a document that declares entities loses XML_PARSE_HUGE, so
 * that libxml2's entity amplification guard applies to it. */
static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *publicId,
                           const xmlChar *systemId, xmlChar *content)
{
    xmlParserCtxtPtr pc = ctx;
    pc->options &= ~XML_PARSE_HUGE;
    xmlSAX2EntityDecl(ctx, name, type, publicId, systemId, content);
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
    xmlParserCtxtPtr pc = ctx;
    reader *r = pc ? pc->_private : NULL;
    if (!r || !e || e->level < XML_ERR_ERROR || r->parse_err[0])
        return;
    char msg[512];
    if (e->code == XML_ERR_ENTITY_LOOP)
        snprintf(msg, sizeof msg, "entity expansion refused: the DTD's entities expand to "
                                  "too much text or refer to themselves");
    else
        one_line(msg, sizeof msg, e->message);
    int line = e->line, col = e->int2;
    if (pc != r->pc && r->pc->input) { /* inside an entity: where it is used */
        line = r->pc->input->line;
        col = r->pc->input->col;
    }
    snprintf(r->parse_err, sizeof r->parse_err, "%s:%d:%d: %s", r->in->name, line, col, msg);
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

/* ---- opening ---- */

reader *reader_open(input *in, const mapping *m, xmlSchemaPtr schema, size_t max_bytes,
                    mig_err *err)
{
    reader *r = xcalloc(1, sizeof *r);
    r->in = in;
    r->map = m;
    r->rp = m->record;
    r->max_bytes = max_bytes ? max_bytes : READER_MAX_BYTES;
    r->ok_cap = 64;
    r->ok = xcalloc(r->ok_cap, 1);
    xmlSAXVersion(&r->sax, 2);
    r->sax.startElementNs = on_start;
    r->sax.endElementNs = on_end;
    r->sax.characters = on_text;
    r->sax.ignorableWhitespace = on_text;
    r->sax.cdataBlock = on_cdata;
    r->sax.comment = on_comment;
    r->sax.processingInstruction = on_pi;
    r->sax.reference = on_reference;
    r->sax.entityDecl = on_entity_decl;
    r->sax.serror = parse_error_cb;
    r->pc = xmlCreatePushParserCtxt(&r->sax, NULL, NULL, 0, in->name);
    if (!r->pc) {
        free(r->ok);
        free(r);
        err_set(err, MIG_ENOINPUT, "%s: cannot start the XML parser", in->name);
        return NULL;
    }
    r->pc->_private = r;
    /* XML_PARSE_COMPACT: short texts inside their node, as xmlTextReader
     * does (the tree is never modified in place, only copies are) */
    xmlCtxtUseOptions(r->pc, XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_HUGE |
                                 XML_PARSE_COMPACT);
    if (r->pc->dict)
        xmlDictSetLimit(r->pc->dict, DICT_LIMIT);
    if (schema) {
        r->vctx = xmlSchemaNewValidCtxt(schema);
        xmlSchemaSetValidStructuredErrors(r->vctx, valid_error_cb, r);
    }
    r->buf = xmalloc(READ_CHUNK);
    r->dump = xmlBufferCreate();
    return r;
}

void reader_close(reader *r)
{
    if (!r)
        return;
    if (r->pc) {
        if (r->pc->myDoc)
            xmlFreeDoc(r->pc->myDoc); /* with every record and grave still in it */
        r->pc->myDoc = NULL;
        xmlFreeParserCtxt(r->pc);
    }
    if (r->vctx)
        xmlSchemaFreeValidCtxt(r->vctx);
    xmlBufferFree(r->dump);
    free(r->grave);
    free(r->q);
    free(r->buf);
    free(r->ok);
    free(r);
}

/* ---- reading ---- */

/* Returns 1 if buf[0..n) holds a byte other than XML white space. */
static int has_nonblank(const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r')
            return 1;
    return 0;
}

/* Hands the parser one chunk of input (or the end); sets r->ended when no
 * more will be parsed (end of input, read error or a fatal parse error). */
static void feed(reader *r)
{
    xmlParserCtxtPtr pc = r->pc;
    ssize_t n = r->in->read(r->in, r->buf, READ_CHUNK, &r->read_err);
    if (n < 0) {
        r->have_read_err = 1;
        r->ended = 1;
        return;
    }
    if (n == 0) {
        /* a failure libxml2 did not report through the structured handler
         * (an encoding error while flushing) leaves at_end unset */
        if (!r->nonblank || xmlParseChunk(pc, NULL, 0, 1) == 0 || r->parse_err[0])
            r->at_end = 1;
        r->ended = 1;
        return;
    }
    if (!r->nonblank)
        r->nonblank = has_nonblank(r->buf, (size_t)n);
    int prc = xmlParseChunk(pc, r->buf, (int)n, 0);
    if (pc->disableSAX || pc->instate == XML_PARSER_EOF || (prc != 0 && !r->parse_err[0])) {
        r->ended = 1;
        return;
    }
    /* the parser holds back an incomplete tag, comment or PI: bounded too */
    if (pc->input && (uint64_t)(pc->input->end - pc->input->cur) > r->max_bytes) {
        if (!r->parse_err[0])
            snprintf(r->parse_err, sizeof r->parse_err,
                     "%s:%d: a tag, comment or processing instruction longer than "
                     "--max-record-bytes (%zu)", r->in->name, pc->input->line, r->max_bytes);
        xmlStopParser(pc);
        r->ended = 1;
    }
}

/* Fills rec from the queue's first record; returns 1. */
static int give_record(reader *r, reader_record *rec)
{
    queued q = r->q[r->qhead++];
    r->qlen--;
    if (r->qlen == 0)
        r->qhead = 0;
    r->handed = q.node;
    rec->node = q.node;
    rec->line = q.line;
    rec->seq = ++r->seq;
    rec->invalid = NULL;
    rec->too_big = q.too_big;
    rec->has_entities = q.has_ent;
    rec->bytes = q.bytes;
    rec->xml_bytes = q.xml_bytes;
    r->invalid[0] = '\0';
    if (q.too_big) {
        snprintf(r->invalid, sizeof r->invalid,
                 "record too large: %" PRIu64 " bytes of XML, %" PRIu64
                 " bytes once parsed, more than max-record-bytes (%zu); not copied here, "
                 "see %s line %" PRIu64,
                 q.xml_bytes, q.bytes, r->max_bytes, r->in->name, q.line);
        rec->invalid = r->invalid;
    } else if (r->vctx) {
        int v = xmlSchemaValidateOneElement(r->vctx, q.node);
        if (v != 0) {
            if (!r->invalid[0])
                snprintf(r->invalid, sizeof r->invalid,
                         "schema: record does not validate (code %d)", v);
            rec->invalid = r->invalid;
        }
    }
    return 1;
}

/* Returns -1 with the reason the input ended early, or 0 at a clean end. */
static int end_of_input(reader *r, mig_err *err)
{
    r->done = 1;
    if (r->have_read_err) {
        *err = r->read_err;
        return -1;
    }
    if (!r->nonblank)
        return err_set(err, MIG_EDATA, "%s: empty input", r->in->name);
    if (r->parse_err[0])
        return err_set(err, MIG_EDATA, "%s", r->parse_err);
    if (!r->pc->wellFormed || !r->at_end) {
        /* stopped without a structured error: an encoding or I/O error */
        char msg[256];
        one_line(msg, sizeof msg, r->generic[0] ? r->generic : "not well-formed XML");
        return err_set(err, MIG_EDATA, "%s:%d: %s", r->in->name,
                       r->pc->input ? r->pc->input->line : 0, msg);
    }
    return 0;
}

int reader_next(reader *r, reader_record *rec, mig_err *err)
{
    if (r->done)
        return 0;
    quiet q = quiet_begin(r);
    release(r);
    while (r->qlen == 0 && !r->ended)
        feed(r);
    int rc = r->qlen > 0 ? give_record(r, rec) : end_of_input(r, err);
    quiet_end(q);
    return rc;
}

/* ---- serialising a record ---- */

/* Declares on node every namespace in scope that node itself does not declare. */
static void declare_inscope_ns(xmlNodePtr node)
{
    xmlNsPtr *list = xmlGetNsList(node->doc, node);
    if (!list)
        return;
    for (xmlNsPtr *p = list; *p; p++) {
        int declared = 0;
        for (xmlNsPtr d = node->nsDef; d; d = d->next)
            if ((d->prefix == NULL) == ((*p)->prefix == NULL) &&
                (!d->prefix || xmlStrEqual(d->prefix, (*p)->prefix))) {
                declared = 1;
                break;
            }
        if (!declared && !((*p)->prefix && xmlStrEqual((*p)->prefix, BAD_CAST "xml")))
            xmlNewNs(node, (*p)->href, (*p)->prefix);
    }
    xmlFree(list);
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

/* Returns the text value of attribute a, entity references expanded. */
static char *attr_text(xmlDocPtr doc, xmlAttrPtr a)
{
    strbuf sb = STRBUF_INIT;
    for (xmlNodePtr c = a->children; c; c = c->next) {
        if (c->type == XML_TEXT_NODE && c->content)
            sb_puts(&sb, (const char *)c->content);
        else if (c->type == XML_ENTITY_REF_NODE)
            expand_entity(doc, xmlGetDocEntity(doc, c->name), &sb, 0);
    }
    sb_putc(&sb, '\0');
    return sb_detach(&sb);
}

/* Replaces every entity reference under n (in element content and in
 * attribute values) by what it stands for, so that the XML stands without
 * the DTD. */
static void expand_refs(xmlDocPtr doc, xmlNodePtr n, int depth)
{
    for (xmlNodePtr c = n->children, next; c; c = next) {
        next = c->next;
        if (c->type == XML_ENTITY_REF_NODE) {
            xmlEntityPtr ent = xmlGetDocEntity(doc, c->name);
            xmlNodePtr copy = NULL;
            if (ent && ent->children && depth < 40)
                copy = xmlDocCopyNodeList(doc, ent->children);
            if (!copy && ent && ent->etype != XML_EXTERNAL_GENERAL_PARSED_ENTITY) {
                strbuf sb = STRBUF_INIT;
                expand_entity(doc, ent, &sb, depth);
                copy = xmlNewDocTextLen(doc, BAD_CAST sb_str(&sb), (int)sb.len);
                sb_free(&sb);
            }
            for (xmlNodePtr k = copy, kn; k; k = kn) {
                kn = k->next;
                k->next = k->prev = NULL;
                k->parent = NULL;
                if (k->type == XML_ELEMENT_NODE || k->type == XML_ENTITY_REF_NODE) {
                    xmlNodePtr holder = xmlNewDocNode(doc, NULL, BAD_CAST "x", NULL);
                    xmlAddChild(holder, k);
                    expand_refs(doc, holder, depth + 1);
                    for (xmlNodePtr h = holder->children, hn; h; h = hn) {
                        hn = h->next;
                        xmlUnlinkNode(h);
                        xmlAddPrevSibling(c, h);
                    }
                    xmlFreeNode(holder);
                } else {
                    xmlAddPrevSibling(c, k);
                }
            }
            free_node(c);
            continue;
        }
        if (c->type == XML_ELEMENT_NODE)
            expand_refs(doc, c, depth);
    }
    if (n->type != XML_ELEMENT_NODE)
        return;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        int has_ref = 0;
        for (xmlNodePtr c = a->children; c; c = c->next)
            has_ref |= c->type == XML_ENTITY_REF_NODE;
        if (!has_ref)
            continue;
        char *v = attr_text(doc, a);
        xmlSetNsProp(n, a->ns, a->name, BAD_CAST v);
        free(v);
    }
}

void reader_record_xml(reader *r, const reader_record *rec, strbuf *out)
{
    sb_reset(out);
    if (rec->too_big)
        return;
    xmlNodePtr node = rec->node;
    if (node->parent && node->parent->type == XML_ELEMENT_NODE)
        declare_inscope_ns(node);
    xmlNodePtr copy = NULL;
    if (rec->has_entities) {
        copy = xmlDocCopyNode(node, node->doc, 1);
        if (copy) {
            expand_refs(node->doc, copy, 0);
            node = copy;
        }
    }
    quiet q = quiet_begin(r);
    xmlBufferEmpty(r->dump);
    xmlNodeDump(r->dump, node->doc, node, 0, 0);
    quiet_end(q);
    sb_append(out, xmlBufferContent(r->dump), (size_t)xmlBufferLength(r->dump));
    if (xmlBufferLength(r->dump) > READ_CHUNK) { /* a large record: do not keep its buffer */
        xmlBufferFree(r->dump);
        r->dump = xmlBufferCreate();
    }
    if (copy)
        xmlFreeNode(copy);
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
