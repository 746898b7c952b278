/* mapping.c — loads and checks the mapping file (see mapping.h).
 *
 * The mapping is small, so it is parsed into a libxml2 DOM (no network, parse
 * errors captured through a structured handler on the parser context: nothing
 * is printed and no global handler is touched).  The DOM is then checked and
 * compiled element by element: namespaces first (paths need them), then the
 * <mapping> attributes, then every <table> and <column>.  The first problem
 * stops the load with MIG_ECONFIG and "FILE:LINE: reason".  The result owns
 * every string, path and rule it holds; the DOM is freed before returning.
 * A loaded mapping is read-only and handed to the reader, mapper, dialects
 * and reject writer of every thread. */
#include "config.h"
#include "mapping.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

/* One load in progress. */
typedef struct loader {
    const char *name; /* file name for messages */
    mig_err *err;
    mapping *m;
} loader;

/* ---- errors ---- */

/* Sets "NAME:LINE: reason" (line of node n) in ld->err; returns -1. */
static int cfg_err(loader *ld, const xmlNode *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cfg_err(loader *ld, const xmlNode *n, const char *fmt, ...)
{
    char reason[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return err_set(ld->err, MIG_ECONFIG, "%s:%ld: %s", ld->name, n ? xmlGetLineNo(n) : 0L,
                   reason);
}

/* The first parse error libxml2 reported for one document. */
typedef struct parse_error {
    int set;
    int line;
    char msg[600];
} parse_error;

/* Structured error handler of the mapping's parser context: keeps the first
 * error (warnings are dropped). */
static void on_parse_error(void *data, xmlErrorPtr e)
{
    xmlParserCtxtPtr pc = data;
    parse_error *pe = pc ? pc->_private : NULL;
    if (!pe || !e || e->level < XML_ERR_ERROR || pe->set)
        return;
    pe->set = 1;
    pe->line = e->line;
    snprintf(pe->msg, sizeof pe->msg, "%s", e->message ? e->message : "parse error");
    size_t n = strlen(pe->msg);
    while (n && (pe->msg[n - 1] == '\n' || pe->msg[n - 1] == '\r' || pe->msg[n - 1] == ' '))
        pe->msg[--n] = '\0';
    for (char *p = pe->msg; *p; p++) /* "...UTF-8, indicate encoding !\nBytes: ..." */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* ---- DOM helpers ---- */

/* Returns 1 if n is the element <name> of the mapping namespace. */
static int elem_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, MAPPING_NS) == 0 &&
           strcmp((const char *)n->name, name) == 0;
}

/* Returns 0 if child c of <parent> is allowed (ignorable, or an element named
 * in want, NULL-terminated), else -1 with the reason.  Sets *is_elem when c is
 * one of the wanted elements. */
static int check_child(loader *ld, const xmlNode *c, const char *parent,
                       const char *const *want, int *is_elem)
{
    *is_elem = 0;
    switch (c->type) {
    case XML_ELEMENT_NODE:
        if (!c->ns || !c->ns->href || strcmp((const char *)c->ns->href, MAPPING_NS) != 0)
            return cfg_err(ld, c, "element <%s> is not in namespace %s", (const char *)c->name,
                           MAPPING_NS);
        for (size_t i = 0; want[i]; i++)
            *is_elem |= strcmp((const char *)c->name, want[i]) == 0;
        if (!*is_elem)
            return cfg_err(ld, c, "unknown element <%s> in <%s>", (const char *)c->name, parent);
        return 0;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        for (const xmlChar *p = c->content; p && *p; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                return cfg_err(ld, c->parent, "unexpected text in <%s>", parent);
        return 0;
    default: /* comments, processing instructions */
        return 0;
    }
}

/* Returns 0 if every attribute of n is in allowed (NULL-terminated), else -1. */
static int check_attrs(loader *ld, const xmlNode *n, const char *const *allowed)
{
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        int ok = 0;
        for (size_t i = 0; !a->ns && allowed[i]; i++)
            ok |= strcmp((const char *)a->name, allowed[i]) == 0;
        if (!ok) {
            if (a->ns && a->ns->prefix)
                return cfg_err(ld, n, "unknown attribute \"%s:%s\" on <%s>",
                               (const char *)a->ns->prefix, (const char *)a->name,
                               (const char *)n->name);
            return cfg_err(ld, n, "unknown attribute \"%s\" on <%s>", (const char *)a->name,
                           (const char *)n->name);
        }
    }
    return 0;
}

/* Returns attribute `name` of n (no namespace) as a malloc'd string, or NULL. */
static char *attr_get(const xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

/* Returns attribute `name` of n (malloc'd), or NULL with an error when it is
 * missing or empty. */
static char *attr_need(loader *ld, const xmlNode *n, const char *name)
{
    char *v = attr_get(n, name);
    if (!v) {
        cfg_err(ld, n, "missing attribute \"%s\" on <%s>", name, (const char *)n->name);
        return NULL;
    }
    if (!*v) {
        free(v);
        cfg_err(ld, n, "empty attribute \"%s\" on <%s>", name, (const char *)n->name);
        return NULL;
    }
    return v;
}

/* Parses on-duplicate of n into *out (DUP_DEFAULT when absent); returns 0 or
 * -1 with an error prefixed by ctx. */
static int dup_parse(loader *ld, const xmlNode *n, const char *ctx, dup_policy *out)
{
    char *v = attr_get(n, "on-duplicate");
    int rc = 0;
    *out = DUP_DEFAULT;
    if (!v)
        return 0;
    if (strcmp(v, "skip") == 0)
        *out = DUP_SKIP;
    else if (strcmp(v, "update") == 0)
        *out = DUP_UPDATE;
    else if (strcmp(v, "error") == 0)
        *out = DUP_ERROR;
    else
        rc = cfg_err(ld, n, "%son-duplicate must be skip, update or error, not \"%s\"", ctx, v);
    free(v);
    return rc;
}

/* ---- columns ---- */

/* Parses var="..." into *out; returns 0, or -1 if the name is unknown. */
static int var_parse(const char *s, map_var *out)
{
    static const struct { const char *name; map_var var; } vars[] = {
        {"file", VAR_FILE}, {"line", VAR_LINE}, {"record", VAR_RECORD}, {"now", VAR_NOW}};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (strcmp(s, vars[i].name) == 0) {
            *out = vars[i].var;
            return 0;
        }
    }
    return -1;
}

/* Checks that constant text s converts to the column's type; returns 0 or -1
 * with "what: reason". */
static int const_check(loader *ld, const xmlNode *cn, const map_table *t, const map_column *c,
                       const char *what, const char *s)
{
    char why[256] = "";
    strbuf text = STRBUF_INIT;
    conv_value v;
    size_t len = strlen(s);
    text_trim(&s, &len);
    int rc = type_convert(&c->type, s, len, &v, &text, why, sizeof why);
    sb_free(&text);
    if (rc < 0)
        return cfg_err(ld, cn, "table %s, column %s: %s: %s", t->name, c->name, what, why);
    return 0;
}

/* Fills the source (path, value or var) of c from cn; returns 0 or -1. */
static int column_source(loader *ld, const xmlNode *cn, const map_table *t, map_column *c)
{
    char *p = attr_get(cn, "path"), *v = attr_get(cn, "value"), *var = attr_get(cn, "var");
    int nsrc = (p != NULL) + (v != NULL) + (var != NULL), rc = 0;
    char why[512];

    if (nsrc == 0) {
        rc = cfg_err(ld, cn, "table %s, column %s: no source: give one of path, value or var",
                     t->name, c->name);
    } else if (nsrc > 1) {
        rc = cfg_err(ld, cn, "table %s, column %s: two sources: give only one of path, value "
                     "or var", t->name, c->name);
    } else if (p) {
        c->src = SRC_PATH;
        c->path = path_compile(p, &ld->m->ns, why, sizeof why);
        if (!c->path)
            rc = cfg_err(ld, cn, "table %s, column %s: %s", t->name, c->name, why);
    } else if (v) {
        c->src = SRC_VALUE;
        c->value = v;
        v = NULL;
    } else if (var_parse(var, &c->var) < 0) {
        rc = cfg_err(ld, cn, "table %s, column %s: unknown var \"%s\" (file, line, record or "
                     "now)", t->name, c->name, var);
    } else {
        c->src = SRC_VAR;
    }
    free(p);
    free(v);
    free(var);
    return rc;
}

/* Fills required, default, pattern and replace-* of c; returns 0 or -1. */
static int column_rules(loader *ld, const xmlNode *cn, const map_table *t, map_column *c)
{
    char why[512];
    char *req = attr_get(cn, "required");
    if (req) {
        int bad = strcmp(req, "true") != 0 && strcmp(req, "false") != 0;
        c->required = strcmp(req, "true") == 0;
        if (bad)
            cfg_err(ld, cn, "table %s, column %s: required must be \"true\" or \"false\", not "
                    "\"%s\"", t->name, c->name, req);
        free(req);
        if (bad)
            return -1;
    }

    char *pat = attr_get(cn, "pattern");
    if (pat) {
        c->pattern = rule_compile(pat, why, sizeof why);
        free(pat);
        if (!c->pattern)
            return cfg_err(ld, cn, "table %s, column %s: %s", t->name, c->name, why);
    }

    char *rm = attr_get(cn, "replace-match"), *rw = attr_get(cn, "replace-with");
    if (rw && !rm) {
        free(rw);
        return cfg_err(ld, cn, "table %s, column %s: replace-with needs replace-match",
                       t->name, c->name);
    }
    if (rm) {
        c->replace = rule_compile(rm, why, sizeof why);
        free(rm);
        c->replace_with = rw ? rw : xstrdup("");
        if (!c->replace)
            return cfg_err(ld, cn, "table %s, column %s: %s", t->name, c->name, why);
    }

    c->deflt = attr_get(cn, "default");
    if (c->src == SRC_VALUE && const_check(ld, cn, t, c, "value", c->value) < 0)
        return -1;
    if (c->deflt && const_check(ld, cn, t, c, "default", c->deflt) < 0)
        return -1;
    return 0;
}

/* Loads <column> cn into c (zeroed) of table t; returns 0 or -1. */
static int column_load(loader *ld, const xmlNode *cn, const map_table *t, map_column *c)
{
    static const char *const allowed[] = {"name", "type", "path", "value", "var", "required",
                                          "default", "pattern", "replace-match",
                                          "replace-with", NULL};
    static const char *const want[] = {NULL};
    char why[512];
    int is_elem;

    c->line = (int)xmlGetLineNo(cn);
    for (const xmlNode *k = cn->children; k; k = k->next)
        if (check_child(ld, k, "column", want, &is_elem) < 0)
            return -1;
    if (check_attrs(ld, cn, allowed) < 0 || !(c->name = attr_need(ld, cn, "name")))
        return -1;
    for (const map_column *o = t->cols; o < c; o++)
        if (strcasecmp(o->name, c->name) == 0)
            return cfg_err(ld, cn, "table %s: duplicate column name \"%s\"", t->name, c->name);

    char *type = attr_need(ld, cn, "type");
    if (!type)
        return -1;
    int rc = type_parse(type, &c->type, why, sizeof why);
    free(type);
    if (rc < 0)
        return cfg_err(ld, cn, "table %s, column %s: %s", t->name, c->name, why);

    if (column_source(ld, cn, t, c) < 0)
        return -1;
    return column_rules(ld, cn, t, c);
}

/* ---- tables ---- */

/* Returns the index of column `name` in t, or -1. */
static long column_index(const map_table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strlen(t->cols[i].name) == len && memcmp(t->cols[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

/* Resolves key="a b" of table t (columns already loaded); returns 0 or -1. */
static int table_keys(loader *ld, const xmlNode *tn, map_table *t, const char *key)
{
    size_t cap = 1;
    for (const char *p = key; *p; p++)
        cap += *p == ' ';
    t->key_cols = xcalloc(cap, sizeof *t->key_cols);

    const char *ws = " \t\r\n";
    for (const char *p = key + strspn(key, ws); *p; p += strspn(p, ws)) {
        size_t len = strcspn(p, ws);
        long ci = column_index(t, p, len);
        if (ci < 0)
            return cfg_err(ld, tn, "table %s: key column \"%.*s\" does not exist", t->name,
                           (int)len, p);
        if (t->cols[ci].is_key)
            return cfg_err(ld, tn, "table %s: key column \"%.*s\" listed twice", t->name,
                           (int)len, p);
        assert(t->nkeys < cap);
        t->key_cols[t->nkeys++] = (size_t)ci;
        t->cols[ci].is_key = 1;
        t->cols[ci].required = 1;
        p += len;
    }
    if (t->nkeys == 0)
        return cfg_err(ld, tn, "table %s: empty key", t->name);
    return 0;
}

/* Compiles each="..." of table t, which must select elements; returns 0 or -1. */
static int table_each(loader *ld, const xmlNode *tn, map_table *t, const char *each)
{
    char why[512];
    t->each = path_compile(each, &ld->m->ns, why, sizeof why);
    if (!t->each)
        return cfg_err(ld, tn, "table %s, each: %s", t->name, why);
    step_kind last = t->each->steps[t->each->nsteps - 1].kind;
    if (last == STEP_ATTR || last == STEP_TEXT)
        return cfg_err(ld, tn, "table %s, each: path \"%s\" must select elements, not an "
                       "attribute or text()", t->name, each);
    return 0;
}

/* Loads the <column> children of tn into t; returns 0 or -1. */
static int table_columns(loader *ld, const xmlNode *tn, map_table *t)
{
    static const char *const want[] = {"column", NULL};
    size_t n = 0;
    int is_col;
    for (const xmlNode *c = tn->children; c; c = c->next) {
        if (check_child(ld, c, "table", want, &is_col) < 0)
            return -1;
        n += is_col;
    }
    if (n == 0)
        return cfg_err(ld, tn, "table %s: no <column>", t->name);
    t->cols = xcalloc(n, sizeof *t->cols);
    for (const xmlNode *c = tn->children; c; c = c->next) {
        if (!elem_is(c, "column"))
            continue;
        assert(t->ncols < n);
        if (column_load(ld, c, t, &t->cols[t->ncols++]) < 0)
            return -1;
    }
    return 0;
}

/* Loads <table> tn into t (zeroed); returns 0 or -1. */
static int table_load(loader *ld, const xmlNode *tn, map_table *t)
{
    static const char *const allowed[] = {"name", "key", "each", "on-duplicate", NULL};
    char ctx[300];

    t->line = (int)xmlGetLineNo(tn);
    if (check_attrs(ld, tn, allowed) < 0 || !(t->name = attr_need(ld, tn, "name")))
        return -1;
    for (const map_table *o = ld->m->tables; o < t; o++)
        if (strcasecmp(o->name, t->name) == 0)
            return cfg_err(ld, tn, "duplicate table name \"%s\"", t->name);

    char *key = attr_need(ld, tn, "key");
    if (!key)
        return -1;
    char *each = attr_get(tn, "each");
    snprintf(ctx, sizeof ctx, "table %s: ", t->name);
    int rc = dup_parse(ld, tn, ctx, &t->on_dup);
    if (rc == 0 && each)
        rc = table_each(ld, tn, t, each);
    if (rc == 0)
        rc = table_columns(ld, tn, t);
    if (rc == 0)
        rc = table_keys(ld, tn, t, key);
    free(key);
    free(each);
    return rc;
}

/* ---- the mapping element ---- */

/* Loads a <namespace> declaration into m->ns; returns 0 or -1. */
static int namespace_load(loader *ld, const xmlNode *n)
{
    static const char *const allowed[] = {"prefix", "uri", NULL};
    ns_table *ns = &ld->m->ns;
    if (check_attrs(ld, n, allowed) < 0)
        return -1;
    char *prefix = attr_need(ld, n, "prefix");
    char *uri = prefix ? attr_need(ld, n, "uri") : NULL;
    if (!uri) {
        free(prefix);
        return -1;
    }
    if (strchr(prefix, ':') || ns_lookup(ns, prefix, strlen(prefix))) {
        int dup = strchr(prefix, ':') == NULL;
        cfg_err(ld, n, dup ? "namespace prefix \"%s\" declared twice" : "bad namespace prefix "
                "\"%s\"", prefix);
        free(prefix);
        free(uri);
        return -1;
    }
    ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof *ns->v);
    ns->v[ns->n].prefix = prefix;
    ns->v[ns->n].uri = uri;
    ns->n++;
    return 0;
}

/* Loads the attributes of <mapping> (namespaces already known); returns 0 or -1. */
static int mapping_attrs(loader *ld, const xmlNode *root)
{
    static const char *const allowed[] = {"record", "route", "on-duplicate", NULL};
    mapping *m = ld->m;
    char why[512];

    if (check_attrs(ld, root, allowed) < 0)
        return -1;
    char *rec = attr_need(ld, root, "record");
    if (!rec)
        return -1;
    m->record = record_path_compile(rec, &m->ns, why, sizeof why);
    free(rec);
    if (!m->record)
        return cfg_err(ld, root, "%s", why);

    char *route = attr_get(root, "route");
    if (route) {
        m->route = path_compile(route, &m->ns, why, sizeof why);
        free(route);
        if (!m->route)
            return cfg_err(ld, root, "route: %s", why);
    }
    return dup_parse(ld, root, "", &m->on_dup);
}

/* Checks and compiles the whole document into ld->m; returns 0 or -1. */
static int mapping_build(loader *ld, xmlDoc *doc)
{
    static const char *const want[] = {"namespace", "table", NULL};
    xmlNode *root = xmlDocGetRootElement(doc);
    mapping *m = ld->m;
    size_t ntables = 0;
    int is_elem;

    if (!root || !elem_is(root, "mapping"))
        return cfg_err(ld, root, "root element must be <mapping> in namespace %s", MAPPING_NS);

    /* Pass 1: namespaces (every path needs them) and the table count. */
    for (xmlNode *c = root->children; c; c = c->next) {
        if (check_child(ld, c, "mapping", want, &is_elem) < 0)
            return -1;
        if (elem_is(c, "namespace") && namespace_load(ld, c) < 0)
            return -1;
        ntables += elem_is(c, "table");
    }
    if (mapping_attrs(ld, root) < 0)
        return -1;
    if (ntables == 0)
        return cfg_err(ld, root, "no <table> in mapping");

    /* Pass 2: the tables, in file order. */
    m->tables = xcalloc(ntables, sizeof *m->tables);
    for (xmlNode *c = root->children; c; c = c->next) {
        if (!elem_is(c, "table"))
            continue;
        assert(m->ntables < ntables);
        if (table_load(ld, c, &m->tables[m->ntables++]) < 0)
            return -1;
    }
    return 0;
}

/* ---- routing analysis ----
 *
 * Records are routed to workers by their routing key (route="..." or the key
 * of the first table).  A table whose key contains every part of the routing
 * key has each of its keys on one worker only; for another table two workers
 * may meet the same key, so its duplicates must be settled by the database.
 * A part is identified by where its value comes from: the column's path,
 * joined to its table's `each` path and normalised (`.` dropped, `..` folded
 * into the step before it), relative to the record. */

/* A normalised record-relative path: the steps it keeps, in order. */
typedef struct npath {
    size_t n;
    const path_step *steps[64];
    int valid;  /* 0: cannot be compared (too long, or above the record) */
} npath;

/* Appends the steps of p to np, folding "." and "..". */
static void npath_add(npath *np, const path *p)
{
    for (size_t i = 0; p && i < p->nsteps && np->valid; i++) {
        const path_step *s = &p->steps[i];
        if (s->kind == STEP_SELF)
            continue;
        if (s->kind == STEP_PARENT) {
            if (np->n == 0 || np->steps[np->n - 1]->kind != STEP_ELEMENT)
                np->valid = 0; /* above the record: not comparable */
            else
                np->n--;
            continue;
        }
        if (np->n == sizeof np->steps / sizeof np->steps[0])
            np->valid = 0;
        else
            np->steps[np->n++] = s;
    }
}

/* Returns 1 if both strings are NULL or equal. */
static int str_same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Returns 1 if two steps select the same nodes. */
static int step_same(const path_step *a, const path_step *b)
{
    return a->kind == b->kind && str_same(a->ns_uri, b->ns_uri) && str_same(a->local, b->local) &&
           a->pred == b->pred && str_same(a->pred_ns_uri, b->pred_ns_uri) &&
           str_same(a->pred_local, b->pred_local) && str_same(a->pred_value, b->pred_value) &&
           a->pred_pos == b->pred_pos;
}

/* Returns 1 if two normalised paths are comparable and equal. */
static int npath_same(const npath *a, const npath *b)
{
    if (!a->valid || !b->valid || a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (!step_same(a->steps[i], b->steps[i]))
            return 0;
    return 1;
}

/* Fills np with where column c of table t takes its value from. */
static void column_npath(const map_table *t, const map_column *c, npath *np)
{
    np->n = 0;
    np->valid = c->src == SRC_PATH;
    npath_add(np, t->each);
    npath_add(np, c->path);
}

/* Returns 1 if table t's key contains every part of the routing key, with
 * each part's position in t's key order in pos[] (m->nroute entries). */
static int key_contains_route(const mapping *m, const map_table *t, size_t *pos)
{
    npath part, col;
    size_t nparts = m->route ? 1 : m->tables[0].nkeys;
    for (size_t i = 0; i < nparts; i++) {
        if (m->route) {
            part.n = 0;
            part.valid = 1;
            npath_add(&part, m->route);
        } else {
            const map_table *t0 = &m->tables[0];
            column_npath(t0, &t0->cols[t0->key_cols[i]], &part);
        }
        int found = 0;
        for (size_t k = 0; k < t->nkeys && !found; k++) {
            column_npath(t, &t->cols[t->key_cols[k]], &col);
            found = npath_same(&part, &col);
            pos[i] = k;
        }
        if (!found)
            return 0;
    }
    return 1;
}

/* Marks each table routed or not, with a warning for the ones that are not. */
static void routing_analyse(mapping *m)
{
    m->nroute = m->route ? 1 : m->tables[0].nkeys;
    m->route_table = -1;
    for (size_t t = 0; t < m->ntables; t++) {
        map_table *tab = &m->tables[t];
        size_t *pos = xcalloc(m->nroute, sizeof *pos);
        if (t == 0 && !m->route) { /* its own key: part i is key column i */
            for (size_t i = 0; i < m->nroute; i++)
                pos[i] = i;
            tab->routed = 1;
        } else {
            tab->routed = key_contains_route(m, tab, pos);
        }
        if (tab->routed) {
            tab->route_keys = pos;
            if (m->route && m->route_table < 0) {
                m->route_table = (int)t;
                m->route_col = tab->key_cols[pos[0]];
            }
            continue;
        }
        free(pos);
        char buf[640];
        snprintf(buf, sizeof buf,
                 "%s:%d: table %s: its key does not contain the routing key, so two workers may "
                 "meet the same key; its duplicates are settled by the database, not the key "
                 "sets%s",
                 m->file, tab->line, tab->name,
                 t == 0 ? ", and the workers' transactions run one at a time" : "");
        m->warnings = xrealloc(m->warnings, (m->nwarnings + 1) * sizeof *m->warnings);
        m->warnings[m->nwarnings++] = xstrdup(buf);
    }
}

/* ---- public ---- */

mapping *mapping_load_memory(const char *buf, size_t len, const char *name, mig_err *err)
{
    assert(buf && name);
    loader ld = {name, err, NULL};
    parse_error pe = {0};

    if (len > INT_MAX) {
        err_set(err, MIG_ECONFIG, "%s: mapping file too large", name);
        return NULL;
    }
    xmlParserCtxtPtr pc = xmlNewParserCtxt();
    if (!pc) {
        err_set(err, MIG_ENOMEM, "%s: cannot create an XML parser", name);
        return NULL;
    }
    pc->_private = &pe;
    pc->sax->serror = on_parse_error; /* per context: called with pc as data */
    pc->sax->initialized = XML_SAX2_MAGIC;
    xmlDoc *doc = xmlCtxtReadMemory(pc, buf, (int)len, name, NULL,
                                    XML_PARSE_NONET | XML_PARSE_BIG_LINES);
    xmlFreeParserCtxt(pc);
    if (!doc || pe.set) {
        err_set(err, MIG_ECONFIG, "%s:%d: %s", name, pe.set ? pe.line : 1,
                pe.set ? pe.msg : "cannot parse the mapping");
        xmlFreeDoc(doc);
        return NULL;
    }

    ld.m = xcalloc(1, sizeof *ld.m);
    ld.m->file = xstrdup(name);
    int rc = mapping_build(&ld, doc);
    xmlFreeDoc(doc);
    if (rc == 0)
        routing_analyse(ld.m);
    if (rc < 0) {
        mapping_free(ld.m);
        return NULL;
    }
    return ld.m;
}

mapping *mapping_load(const char *file, mig_err *err)
{
    assert(file);
    FILE *f = fopen(file, "rb");
    if (!f) {
        err_set(err, MIG_ECONFIG, "cannot read mapping %s: %s", file, strerror(errno));
        return NULL;
    }
    strbuf sb = STRBUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sb_append(&sb, chunk, n);
    int bad = ferror(f);
    int e = errno;
    fclose(f);
    mapping *m = NULL;
    if (bad)
        err_set(err, MIG_ECONFIG, "cannot read mapping %s: %s", file, strerror(e));
    else
        m = mapping_load_memory(sb_str(&sb), sb.len, file, err);
    sb_free(&sb);
    return m;
}

/* Releases everything column c owns. */
static void column_free(map_column *c)
{
    free(c->name);
    path_free(c->path);
    free(c->value);
    free(c->deflt);
    if (c->pattern)
        rule_free(c->pattern);
    if (c->replace)
        rule_free(c->replace);
    free(c->replace_with);
}

void mapping_free(mapping *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->ntables; i++) {
        map_table *t = &m->tables[i];
        for (size_t j = 0; j < t->ncols; j++)
            column_free(&t->cols[j]);
        free(t->cols);
        free(t->key_cols);
        free(t->route_keys);
        path_free(t->each);
        free(t->name);
    }
    free(m->tables);
    for (size_t i = 0; i < m->ns.n; i++) {
        free(m->ns.v[i].prefix);
        free(m->ns.v[i].uri);
    }
    free(m->ns.v);
    record_path_free(m->record);
    path_free(m->route);
    for (size_t i = 0; i < m->nwarnings; i++)
        free(m->warnings[i]);
    free(m->warnings);
    free(m->file);
    free(m);
}

int mapping_table_index(const mapping *m, const char *name)
{
    for (size_t i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i].name, name) == 0)
            return (int)i;
    return -1;
}
