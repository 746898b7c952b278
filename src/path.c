/* path.c — the small path language of the mapping (see path.h).
 *
 * path_compile() turns "a:contact/a:address[@type='CURR']/a:city" into an
 * array of steps whose prefixes are already resolved to namespace URIs, so
 * that evaluation only compares strings against xmlNode->name and
 * xmlNode->ns->href.  Evaluation walks the steps depth-first over the
 * expanded record: every step maps one context node to nodes at a fixed depth,
 * so the first node reached is the first in document order, and only a `..`
 * after a child step can reach a node twice (path_select drops the repeats).
 * Nothing here allocates while evaluating, except growing the caller's strbuf
 * or node array.  A compiled path is read-only and shared by every thread. */
#include "config.h"
#include "path.h"
#include "err.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_NS_URI "http://www.w3.org/XML/1998/namespace"

/* ---- namespace table ---- */

const char *ns_lookup(const ns_table *ns, const char *prefix, size_t plen)
{
    if (ns) {
        for (size_t i = 0; i < ns->n; i++) {
            const char *p = ns->v[i].prefix;
            if (strlen(p) == plen && memcmp(p, prefix, plen) == 0)
                return ns->v[i].uri;
        }
    }
    /* The xml prefix is bound by definition (xml:lang, xml:id). */
    if (plen == 3 && memcmp(prefix, "xml", 3) == 0)
        return XML_NS_URI;
    return NULL;
}

/* ---- lexing ---- */

/* Returns 1 if c may start an XML name (ASCII letters, '_', any UTF-8 byte). */
static int name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Returns 1 if c may continue an XML name. */
static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* Returns the length of the NCName at s, or 0 if there is none. */
static size_t ncname_len(const char *s)
{
    size_t n = 0;
    if (!name_start((unsigned char)s[0]))
        return 0;
    while (name_char((unsigned char)s[n]))
        n++;
    return n;
}

/* Writes a formatted message into err (if any); returns NULL for chaining. */
static void *set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* A qualified name as parsed: prefix (may be empty) and local part. */
typedef struct qname {
    const char *prefix;
    size_t plen;
    const char *local;
    size_t llen;
} qname;

/* Parses "name" or "prefix:name" at *s; returns 0 and advances *s, or -1. */
static int qname_parse(const char **s, qname *q)
{
    size_t n = ncname_len(*s);
    if (!n)
        return -1;
    q->prefix = NULL;
    q->plen = 0;
    q->local = *s;
    q->llen = n;
    if ((*s)[n] == ':') {
        size_t m = ncname_len(*s + n + 1);
        if (!m)
            return -1;
        q->prefix = *s;
        q->plen = n;
        q->local = *s + n + 1;
        q->llen = m;
        n += 1 + m;
    }
    *s += n;
    return 0;
}

/* Resolves q's prefix: returns 0 with *uri (xstrdup'd, NULL when there is no
 * prefix), or -1 with "unknown prefix" in err. */
static int qname_resolve(const qname *q, const ns_table *ns, const char *src,
                         char **uri, char *err, size_t errlen)
{
    *uri = NULL;
    if (!q->prefix)
        return 0;
    const char *u = ns_lookup(ns, q->prefix, q->plen);
    if (!u) {
        set_err(err, errlen, "unknown prefix \"%.*s\" in path \"%s\"", (int)q->plen, q->prefix,
                src);
        return -1;
    }
    *uri = xstrdup(u);
    return 0;
}

/* Returns the length of the step text at s (up to '/' outside brackets). */
static size_t step_text_len(const char *s)
{
    size_t n = 0;
    char quote = 0;
    int depth = 0;
    for (; s[n]; n++) {
        if (quote) {
            if (s[n] == quote)
                quote = 0;
        } else if (s[n] == '\'' || s[n] == '"') {
            quote = s[n];
        } else if (s[n] == '[') {
            depth++;
        } else if (s[n] == ']') {
            depth--;
        } else if (s[n] == '/' && depth <= 0) {
            break;
        }
    }
    return n;
}

/* Returns the length of the predicate text at s ('[' up to its ']' or end). */
static size_t pred_text_len(const char *s)
{
    const char *e = strchr(s, ']');
    return e ? (size_t)(e - s) + 1 : strlen(s);
}

/* Returns s advanced past spaces. */
static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* ---- compiling ---- */

/* Parses the predicate at *s (which points at '[') into st; returns 0 and
 * advances *s past ']', or -1 with a reason in err. */
static int pred_parse(const char **s, path_step *st, const ns_table *ns, const char *src,
                      char *err, size_t errlen)
{
    const char *start = *s, *p = skip_ws(*s + 1);
    int plen = (int)pred_text_len(start);

    if (*p == '@') {
        qname q;
        p++;
        if (qname_parse(&p, &q) < 0)
            goto bad;
        p = skip_ws(p);
        if (*p != '=')
            goto bad;
        p = skip_ws(p + 1);
        char quote = *p;
        if (quote != '\'' && quote != '"')
            goto bad;
        const char *v = p + 1, *e = strchr(v, quote);
        if (!e)
            goto bad;
        p = skip_ws(e + 1);
        if (*p != ']')
            goto bad;
        if (qname_resolve(&q, ns, src, &st->pred_ns_uri, err, errlen) < 0)
            return -1;
        st->pred = PRED_ATTR_EQ;
        st->pred_local = xstrndup(q.local, q.llen);
        st->pred_value = xstrndup(v, (size_t)(e - v));
    } else if (*p >= '0' && *p <= '9') {
        char *end;
        errno = 0;
        long pos = strtol(p, &end, 10);
        if (errno || pos < 1)
            goto bad;
        p = skip_ws(end);
        if (*p != ']')
            goto bad;
        st->pred = PRED_POSITION;
        st->pred_pos = pos;
    } else {
        goto bad;
    }
    *s = p + 1;
    return 0;
bad:
    set_err(err, errlen, "bad predicate \"%.*s\" in path \"%s\"", plen, start, src);
    return -1;
}

/* Parses one step at *s into st; returns 0 and advances *s to the '/' or the
 * end that follows it, or -1 with a reason in err. */
static int step_parse(const char **s, path_step *st, const ns_table *ns, const char *src,
                      char *err, size_t errlen)
{
    const char *p = *s;
    int slen = (int)step_text_len(p);

    if (*p == '/' || *p == '\0') {
        set_err(err, errlen, "empty step in path \"%s\"", src);
        return -1;
    }
    if (p[0] == '.' && p[1] == '.') {
        st->kind = STEP_PARENT;
        p += 2;
    } else if (p[0] == '.') {
        st->kind = STEP_SELF;
        p += 1;
    } else if (strncmp(p, "text()", 6) == 0) {
        st->kind = STEP_TEXT;
        p += 6;
    } else {
        qname q;
        st->kind = STEP_ELEMENT;
        if (*p == '@') {
            st->kind = STEP_ATTR;
            p++;
        }
        if (qname_parse(&p, &q) < 0) {
            set_err(err, errlen, "bad step \"%.*s\" in path \"%s\"", slen, *s, src);
            return -1;
        }
        if (qname_resolve(&q, ns, src, &st->ns_uri, err, errlen) < 0)
            return -1;
        st->local = xstrndup(q.local, q.llen);
    }
    if (*p == '[') {
        if (st->kind != STEP_ELEMENT) {
            set_err(err, errlen, "bad predicate: only element steps take one, in path \"%s\"",
                    src);
            return -1;
        }
        if (pred_parse(&p, st, ns, src, err, errlen) < 0)
            return -1;
        if (*p == '[') {
            set_err(err, errlen, "bad predicate: one predicate per step, in path \"%s\"", src);
            return -1;
        }
    }
    if (*p != '/' && *p != '\0') {
        set_err(err, errlen, "bad step \"%.*s\" in path \"%s\"", slen, *s, src);
        return -1;
    }
    *s = p;
    return 0;
}

/* Returns 1 if p has a `..` after a child step (it can then reach a node twice). */
static int path_may_repeat(const path *p)
{
    int down = 0;
    for (size_t i = 0; i < p->nsteps; i++) {
        if (p->steps[i].kind == STEP_ELEMENT)
            down = 1;
        else if (p->steps[i].kind == STEP_PARENT && down)
            return 1;
    }
    return 0;
}

path *path_compile(const char *src, const ns_table *ns, char *err, size_t errlen)
{
    assert(src);
    if (!*src)
        return set_err(err, errlen, "empty path");

    size_t cap = 1;
    for (const char *c = src; *c; c++)
        cap += *c == '/';

    path *p = xcalloc(1, sizeof *p);
    p->src = xstrdup(src);
    p->steps = xcalloc(cap, sizeof *p->steps);

    const char *s = src;
    for (;;) {
        path_step *st = &p->steps[p->nsteps++];
        assert(p->nsteps <= cap);
        if (step_parse(&s, st, ns, src, err, errlen) < 0)
            goto fail;
        if (*s == '\0')
            break;
        s++; /* the '/' */
        if (st->kind == STEP_ATTR) {
            set_err(err, errlen, "@%s must be the last step in path \"%s\"", st->local, src);
            goto fail;
        }
        if (st->kind == STEP_TEXT) {
            set_err(err, errlen, "text() must be the last step in path \"%s\"", src);
            goto fail;
        }
    }
    p->repeat = path_may_repeat(p);
    return p;
fail:
    path_free(p);
    return NULL;
}

void path_free(path *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsteps; i++) {
        path_step *st = &p->steps[i];
        free(st->ns_uri);
        free(st->local);
        free(st->pred_ns_uri);
        free(st->pred_local);
        free(st->pred_value);
    }
    free(p->steps);
    free(p->src);
    free(p);
}

/* ---- matching ---- */

/* Returns 1 if a node's name and namespace equal local and uri (NULL: none).
 * The first byte is compared inline: most siblings a step looks at differ
 * there, and this runs for every child of every context node. */
static int name_match(const xmlChar *name, const xmlNs *ns, const char *uri, const char *local)
{
    if ((char)name[0] != local[0] || strcmp((const char *)name, local) != 0)
        return 0;
    if (!uri)
        return ns == NULL || ns->href == NULL;
    return ns && ns->href && strcmp((const char *)ns->href, uri) == 0;
}

/* Returns the attribute of element n named (uri, local), or NULL. */
static xmlAttr *attr_find(const xmlNode *n, const char *uri, const char *local)
{
    if (n->type != XML_ELEMENT_NODE)
        return NULL;
    for (xmlAttr *a = n->properties; a; a = a->next)
        if (name_match(a->name, a->ns, uri, local))
            return a;
    return NULL;
}

/* Returns 1 if the value of attribute a is exactly want. */
static int attr_equals(const xmlAttr *a, const char *want)
{
    size_t left = strlen(want);
    for (const xmlNode *c = a->children; c; c = c->next) {
        if (c->type != XML_TEXT_NODE || !c->content)
            continue;
        size_t n = strlen((const char *)c->content);
        if (n > left || memcmp(c->content, want, n) != 0)
            return 0;
        want += n;
        left -= n;
    }
    return left == 0;
}

/* Returns 1 if element c passes the attribute predicate of st (if any). */
static int pred_attr_ok(const path_step *st, const xmlNode *c)
{
    if (st->pred != PRED_ATTR_EQ)
        return 1;
    const xmlAttr *a = attr_find(c, st->pred_ns_uri, st->pred_local);
    return a && attr_equals(a, st->pred_value);
}

/* ---- evaluation ---- */

/* One (step, node) pair a walk has been at. */
typedef struct walk_seen {
    const xmlNode *node; /* NULL: a free slot */
    size_t step;
} walk_seen;

/* What a walk does with the nodes it reaches. */
typedef struct walk {
    xmlNode *first;   /* path_value: the first node reached */
    xmlNode ***nodes; /* path_select: the caller's array, or NULL */
    size_t *n, *cap;
    int repeat;       /* the path can reach a node twice (path_may_repeat) */
    walk_seen *seen;  /* when repeat: the pairs the walk has been at (owned) */
    size_t nseen, seen_cap;
} walk;

/* Returns the slot of (step, x) in seen[0..cap), cap a power of two: the
 * pair's own, or the free one where it belongs. */
static walk_seen *seen_slot(walk_seen *seen, size_t cap, size_t step, const xmlNode *x)
{
    uint64_t h = ((uint64_t)(uintptr_t)x >> 4) * 0x9E3779B97F4A7C15u ^ (uint64_t)step * 0xC2B2AE3D27D4EB4Fu;
    size_t i = (size_t)(h ^ h >> 29) & (cap - 1);
    while (seen[i].node && (seen[i].node != x || seen[i].step != step))
        i = (i + 1) & (cap - 1);
    return &seen[i];
}

/* Returns 1 the first time the walk is at step `step` on node x, 0 after.
 * A path with `..` after a child step reaches the same node by several
 * ways (`c/..` reaches the parent once per c): walking on from it again
 * can find nothing new, and without this each such pair of steps multiplies
 * the walks by the number of c's (2^20 walks for `c/../` 20 times over two
 * c's, found by fuzz_path). */
static int walk_first_visit(walk *w, size_t step, const xmlNode *x)
{
    if (2 * (w->nseen + 1) > w->seen_cap) {
        size_t ncap = w->seen_cap ? 2 * w->seen_cap : 64;
        walk_seen *ns = xcalloc(ncap, sizeof *ns);
        for (size_t i = 0; i < w->seen_cap; i++)
            if (w->seen[i].node)
                *seen_slot(ns, ncap, w->seen[i].step, w->seen[i].node) = w->seen[i];
        free(w->seen);
        w->seen = ns;
        w->seen_cap = ncap;
    }
    walk_seen *s = seen_slot(w->seen, w->seen_cap, step, x);
    if (s->node)
        return 0;
    s->node = x;
    s->step = step;
    w->nseen++;
    return 1;
}

/* Records node x; returns 1 when the walk should stop (first node found). */
static int walk_emit(walk *w, xmlNode *x)
{
    if (!w->nodes) {
        w->first = x;
        return 1;
    }
    if (x->type != XML_ELEMENT_NODE)
        return 0;
    if (*w->n == *w->cap) {
        *w->cap = *w->cap ? *w->cap * 2 : 16;
        *w->nodes = xrealloc(*w->nodes, *w->cap * sizeof **w->nodes);
    }
    (*w->nodes)[(*w->n)++] = x;
    return 0;
}

/* Applies steps i.. of p to ctx; returns 1 when the walk should stop. */
static int walk_steps(const path *p, size_t i, xmlNode *ctx, walk *w)
{
    /* Been here: everything from here was emitted then (path_select), or
     * nothing was found (path_value would have stopped).  The step index
     * only grows down the recursion, so that visit has ended. */
    if (w->repeat && !walk_first_visit(w, i, ctx))
        return 0;
    if (i == p->nsteps)
        return walk_emit(w, ctx);

    const path_step *st = &p->steps[i];
    switch (st->kind) {
    case STEP_SELF:
        return walk_steps(p, i + 1, ctx, w);
    case STEP_PARENT: {
        xmlNode *up = ctx->parent;
        if (!up || (up->type != XML_ELEMENT_NODE && up->type != XML_DOCUMENT_NODE))
            return 0;
        return walk_steps(p, i + 1, up, w);
    }
    case STEP_ELEMENT: {
        long pos = 0;
        for (xmlNode *c = ctx->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || !name_match(c->name, c->ns, st->ns_uri, st->local))
                continue;
            if (st->pred == PRED_POSITION) {
                if (++pos == st->pred_pos)
                    return walk_steps(p, i + 1, c, w);
                continue;
            }
            if (pred_attr_ok(st, c) && walk_steps(p, i + 1, c, w))
                return 1;
        }
        return 0;
    }
    case STEP_ATTR: {
        xmlAttr *a = attr_find(ctx, st->ns_uri, st->local);
        return a ? walk_emit(w, (xmlNode *)a) : 0;
    }
    case STEP_TEXT:
        for (xmlNode *c = ctx->children; c; c = c->next)
            if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE)
                return walk_emit(w, c);
        return 0;
    }
    return 0;
}

/* ---- values ---- */

static void text_of_children(const xmlNode *top, strbuf *out, int depth);

/* Appends the replacement text of entity reference n (declared entities only). */
static void text_of_entity(const xmlNode *n, strbuf *out, int depth)
{
    const xmlEntity *ent = (const xmlEntity *)n->children;
    if (depth > 16 || !ent || ent->type != XML_ENTITY_DECL)
        return;
    text_of_children((const xmlNode *)ent, out, depth + 1);
}

/* Appends the text and CDATA of every descendant of top, in document order,
 * walking with parent pointers (no recursion except into entities). */
static void text_of_children(const xmlNode *top, strbuf *out, int depth)
{
    const xmlNode *n = top->children;
    while (n) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                sb_puts(out, (const char *)n->content);
        } else if (n->type == XML_ENTITY_REF_NODE) {
            text_of_entity(n, out, depth);
        } else if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (!n->next) {
            n = n->parent;
            if (!n || n == top)
                return;
        }
        n = n->next;
    }
}

/* Appends the value of node n (element, document, attribute or text). */
static void node_value(const xmlNode *n, strbuf *out)
{
    switch (n->type) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        if (n->content)
            sb_puts(out, (const char *)n->content);
        break;
    case XML_ATTRIBUTE_NODE:
    case XML_ELEMENT_NODE:
    case XML_DOCUMENT_NODE:
        text_of_children(n, out, 0);
        break;
    default:
        break;
    }
}

int path_value(const path *p, xmlNode *ctx, strbuf *value)
{
    assert(p && ctx && value);
    walk w = {0};
    w.repeat = p->repeat;
    int found = walk_steps(p, 0, ctx, &w);
    free(w.seen);
    if (!found)
        return 0;
    sb_reset(value);
    sb_grow(value, 0); /* "" rather than NULL even when the node is empty */
    value->buf[value->len] = '\0';
    node_value(w.first, value);
    return 1;
}

/* Returns node n's one text or CDATA node when its value is that node's
 * content alone, else NULL. */
static const xmlNode *single_text(const xmlNode *n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
        return n;
    if ((n->type == XML_ELEMENT_NODE || n->type == XML_ATTRIBUTE_NODE) && n->children &&
        !n->children->next &&
        (n->children->type == XML_TEXT_NODE || n->children->type == XML_CDATA_SECTION_NODE))
        return n->children;
    return NULL;
}

int path_value_ref(const path *p, xmlNode *ctx, strbuf *scratch, const char **s, size_t *n)
{
    assert(p && ctx && scratch && s && n);
    walk w = {0};
    w.repeat = p->repeat;
    int found = walk_steps(p, 0, ctx, &w);
    free(w.seen);
    if (!found)
        return 0;
    const xmlNode *one = single_text(w.first);
    if (one && one->content) {
        *s = (const char *)one->content;
        *n = strlen(*s);
        return 1;
    }
    sb_reset(scratch);
    sb_grow(scratch, 0);
    scratch->buf[scratch->len] = '\0';
    node_value(w.first, scratch);
    *s = scratch->buf;
    *n = scratch->len;
    return 1;
}

size_t path_select(const path *p, xmlNode *ctx, xmlNode ***nodes, size_t *n, size_t *cap)
{
    assert(p && ctx && nodes && n && cap);
    assert(*n <= *cap);
    walk w = {0};
    w.nodes = nodes;
    w.n = n;
    w.cap = cap;
    w.repeat = p->repeat;
    size_t start = *n;
    walk_steps(p, 0, ctx, &w);
    free(w.seen);
    return *n - start;
}

/* ---- record path ---- */

/* Appends one resolved step (q) to rp; returns 0, or -1 with a reason. */
static int record_step_add(record_path *rp, const qname *q, const ns_table *ns, char *err,
                           size_t errlen)
{
    char *uri;
    if (qname_resolve(q, ns, rp->src, &uri, err, errlen) < 0)
        return -1;
    rp->ns_uri = xrealloc(rp->ns_uri, (rp->nsteps + 1) * sizeof *rp->ns_uri);
    rp->local = xrealloc(rp->local, (rp->nsteps + 1) * sizeof *rp->local);
    rp->ns_uri[rp->nsteps] = uri;
    rp->local[rp->nsteps] = xstrndup(q->local, q->llen);
    rp->nsteps++;
    return 0;
}

record_path *record_path_compile(const char *src, const ns_table *ns, char *err, size_t errlen)
{
    assert(src);
    record_path *rp = xcalloc(1, sizeof *rp);
    rp->src = xstrdup(src);

    const char *s = src;
    qname q;
    if (s[0] == '/' && s[1] == '/') {
        rp->anywhere = 1;
        s += 2;
        if (qname_parse(&s, &q) < 0 || *s != '\0')
            goto bad;
        if (record_step_add(rp, &q, ns, err, errlen) < 0)
            goto fail;
        return rp;
    }
    if (*s != '/')
        goto bad;
    while (*s == '/') {
        s++;
        if (qname_parse(&s, &q) < 0)
            goto bad;
        if (record_step_add(rp, &q, ns, err, errlen) < 0)
            goto fail;
    }
    if (*s != '\0')
        goto bad;
    return rp;
bad:
    set_err(err, errlen,
            "bad record path \"%s\": expected \"/p:a/p:b\" (from the root) or \"//p:b\"", src);
fail:
    record_path_free(rp);
    return NULL;
}

void record_path_free(record_path *rp)
{
    if (!rp)
        return;
    for (size_t i = 0; i < rp->nsteps; i++) {
        free(rp->ns_uri[i]);
        free(rp->local[i]);
    }
    free(rp->ns_uri);
    free(rp->local);
    free(rp->src);
    free(rp);
}
