/* reader.c — streams the records of one input with libxml2's xmlTextReader.
 *
 * The reader walks the document node by node.  Elements that cannot contain
 * a record (their path already differs from the record path) are skipped
 * whole with xmlTextReaderNext; a record element is expanded alone
 * (xmlTextReaderExpand) and handed to the caller; the next call moves past
 * it, which lets libxml2 free that subtree.  So memory holds one record and
 * its ancestors, whatever the size of the input.
 *
 * libxml2's reader parses ahead of the node it reports, so a well-formedness
 * error can surface before the complete records just in front of it were
 * handed out.  Then the reader "salvages": it walks the partial tree libxml2
 * built, hands out every complete record it has not returned yet (returned
 * ones are marked through node->_private), and only then reports the error.
 *
 * Owns: the xmlTextReader, the optional schema validation context, the
 * buffers for the first parse error and the current validation error.
 * Hands on: a borrowed xmlNode per record, valid until the next call. */
#include "config.h"
#include "reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/xmlreader.h>

struct reader {
    input *in;
    const mapping *map;
    const record_path *rp;
    xmlTextReaderPtr xr;
    xmlSchemaValidCtxtPtr vctx;
    mig_err read_err;        /* an input error seen inside the read callback */
    int have_read_err;
    char parse_err[768];     /* first fatal parse error, "file:line:col: msg" */
    char invalid[768];       /* validation error of the current record */
    unsigned char *ok;       /* per depth: element matches the record path so far */
    size_t ok_cap;
    uint64_t seq;
    int on_record;           /* the previous call returned a record */
    int done;
    /* After a well-formedness error: the complete records libxml2 had
     * already built but the reader could not hand out (it parses ahead). */
    int salvaging;
    xmlNodePtr *salvage;
    size_t nsalvage, salvage_pos;
    mig_err salvage_err;
    xmlDocPtr salvage_doc;   /* xmlTextReaderCurrentDoc makes it ours to free */
    xmlNodePtr *open_at_err; /* elements still open at the first fatal error */
    size_t nopen_at_err;
    int have_open;           /* open_at_err was taken from the parser */
    xmlBufferPtr dump;       /* reused for reader_record_xml */
};

/* ---- libxml2 callbacks ---- */

/* Returns bytes for libxml2 from the input, or -1 (error kept in the reader). */
static int read_cb(void *ctx, char *buf, int len)
{
    reader *r = ctx;
    ssize_t n = r->in->read(r->in, buf, (size_t)len, &r->read_err);
    if (n < 0) {
        r->have_read_err = 1;
        return -1;
    }
    return (int)n;
}

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
    if (!e || e->level < XML_ERR_ERROR || r->parse_err[0])
        return;
    char msg[512];
    one_line(msg, sizeof msg, e->message);
    snprintf(r->parse_err, sizeof r->parse_err, "%s:%d:%d: %s", r->in->name, e->line, e->int2,
             msg);
    /* which elements were still open: the parser stops building here, so
     * every element not on this stack is complete */
    xmlParserCtxtPtr pc = e->ctxt;
    if (pc && e->domain == XML_FROM_PARSER && pc->nodeNr >= 0) {
        r->nopen_at_err = (size_t)pc->nodeNr;
        r->open_at_err = xcalloc(r->nopen_at_err + 1, sizeof *r->open_at_err);
        for (int i = 0; i < pc->nodeNr; i++)
            r->open_at_err[i] = pc->nodeTab[i];
        r->have_open = 1;
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

/* ---- opening ---- */

reader *reader_open(input *in, const mapping *m, xmlSchemaPtr schema, mig_err *err)
{
    reader *r = xcalloc(1, sizeof *r);
    r->in = in;
    r->map = m;
    r->rp = m->record;
    r->ok_cap = 64;
    r->ok = xcalloc(r->ok_cap, 1);
    r->xr = xmlReaderForIO(read_cb, NULL, r, in->name, NULL,
                           XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_HUGE);
    if (!r->xr) {
        free(r->ok);
        free(r);
        err_set(err, MIG_ENOINPUT, "%s: cannot start the XML reader", in->name);
        return NULL;
    }
    xmlTextReaderSetStructuredErrorHandler(r->xr, parse_error_cb, r);
    if (schema) {
        r->vctx = xmlSchemaNewValidCtxt(schema);
        xmlSchemaSetValidStructuredErrors(r->vctx, valid_error_cb, r);
    }
    r->dump = xmlBufferCreate();
    return r;
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
    xmlBufferFree(r->dump);
    free(r->salvage);
    free(r->open_at_err);
    free(r->ok);
    free(r);
}

/* ---- record matching ---- */

/* Returns 1 if the reader's current element has namespace uri and name local. */
static int name_is(xmlTextReaderPtr xr, const char *uri, const char *local)
{
    const char *ln = (const char *)xmlTextReaderConstLocalName(xr);
    if (!ln || strcmp(ln, local) != 0)
        return 0;
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(xr);
    if (!uri)
        return ns == NULL || ns[0] == '\0';
    return ns && strcmp(ns, uri) == 0;
}

/* Marks record nodes already handed out (node->_private). */
static char returned_marker;

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

/* Returns 1 if element node has namespace uri and name local. */
static int node_is(xmlNodePtr n, const char *uri, const char *local)
{
    if (strcmp((const char *)n->name, local) != 0)
        return 0;
    if (!uri)
        return n->ns == NULL || !n->ns->href || !n->ns->href[0];
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, uri) == 0;
}

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

/* Switches to salvage mode after a parse/read error and keeps the error. */
static void start_salvage(reader *r)
{
    mig_err *e = &r->salvage_err;
    if (r->have_read_err)
        *e = r->read_err;
    else if (r->parse_err[0])
        err_set(e, MIG_EDATA, "%s", r->parse_err);
    else
        err_set(e, MIG_EDATA, "%s: not well-formed XML", r->in->name);
    r->salvaging = 1;
    size_t cap = 0;
    if (e->status != MIG_EDATA)
        return;
    r->salvage_doc = xmlTextReaderCurrentDoc(r->xr);
    if (r->salvage_doc)
        salvage_walk(r, r->salvage_doc->children, 0, &cap);
}

/* Fills rec for the record element node; returns 1. */
static int give_record(reader *r, xmlNodePtr node, reader_record *rec)
{
    node->_private = &returned_marker;
    rec->node = node;
    rec->line = record_line(node);
    rec->seq = ++r->seq;
    rec->invalid = NULL;
    if (r->vctx) {
        r->invalid[0] = '\0';
        int v = xmlSchemaValidateOneElement(r->vctx, node);
        if (v != 0) {
            if (!r->invalid[0])
                snprintf(r->invalid, sizeof r->invalid,
                         "schema: record does not validate (code %d)", v);
            rec->invalid = r->invalid;
        }
    }
    return 1;
}

/* Returns the next salvaged record (1), or -1 with the kept error. */
static int salvage_next(reader *r, reader_record *rec, mig_err *err)
{
    if (r->salvage_pos < r->nsalvage)
        return give_record(r, r->salvage[r->salvage_pos++], rec);
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

int reader_next(reader *r, reader_record *rec, mig_err *err)
{
    xmlTextReaderPtr xr = r->xr;
    int rc;
    if (r->done)
        return 0;
    if (r->salvaging)
        return salvage_next(r, rec, err);
    if (r->on_record) {
        r->on_record = 0;
        rc = xmlTextReaderNext(xr);
    } else {
        rc = xmlTextReaderRead(xr);
    }
    while (rc == 1) {
        if (xmlTextReaderNodeType(xr) != XML_READER_TYPE_ELEMENT) {
            rc = xmlTextReaderRead(xr);
            continue;
        }
        const record_path *rp = r->rp;
        int depth = xmlTextReaderDepth(xr);
        int is_record = 0, descend = 1;
        if (rp->anywhere) {
            is_record = name_is(xr, rp->ns_uri[0], rp->local[0]);
        } else if ((size_t)depth >= rp->nsteps) {
            descend = 0; /* cannot happen: we never descend into non-matching elements */
        } else {
            int parent_ok = depth == 0 || r->ok[depth - 1];
            int ok = parent_ok && name_is(xr, rp->ns_uri[depth], rp->local[depth]);
            if ((size_t)depth >= r->ok_cap) {
                r->ok = xrealloc(r->ok, (size_t)depth * 2);
                r->ok_cap = (size_t)depth * 2;
            }
            r->ok[depth] = (unsigned char)ok;
            is_record = ok && (size_t)depth == rp->nsteps - 1;
            descend = ok;
        }
        if (is_record) {
            xmlNodePtr node = xmlTextReaderExpand(xr);
            if (!node)
                return fail_read(r, rec, err);
            r->on_record = 1;
            return give_record(r, node, rec);
        }
        rc = descend ? xmlTextReaderRead(xr) : xmlTextReaderNext(xr);
    }
    if (rc < 0 || r->have_read_err || r->parse_err[0])
        return fail_read(r, rec, err);
    r->done = 1;
    return 0;
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

void reader_record_xml(reader *r, const reader_record *rec, strbuf *out)
{
    sb_reset(out);
    if (rec->node->parent && rec->node->parent->type == XML_ELEMENT_NODE)
        declare_inscope_ns(rec->node);
    xmlBufferEmpty(r->dump);
    xmlNodeDump(r->dump, rec->node->doc, rec->node, 0, 0);
    sb_append(out, xmlBufferContent(r->dump), (size_t)xmlBufferLength(r->dump));
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
