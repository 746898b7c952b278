/* path.h — the small path language of the mapping, compiled once and
 * evaluated against the expanded subtree of one record.
 *
 *   path  := step ('/' step)*
 *   step  := '..' | '.' | 'text()' | '@' qname | qname  [ predicate ]
 *   qname := name | prefix ':' name
 *   predicate := '[' '@' qname '=' ( "'" chars "'" | '"' chars '"' ) ']'
 *              | '[' digits ']'          (1-based position, as in XPath)
 *
 * Names without a prefix match elements in no namespace (as in XPath 1.0: a
 * document's default namespace needs a prefix).  Attributes without a prefix
 * are in no namespace.  A position counts among the nodes the step selected
 * from one context node, before later predicates: `a:contact[2]` is the
 * second a:contact child.  `..` from the record element reaches its
 * ancestors (the reader keeps them).  The value of a node is: for an element,
 * the concatenation of its descendant text and CDATA; for an attribute, its
 * value; for text(), the first text child's content. */
#ifndef MIGRATE_PATH_H
#define MIGRATE_PATH_H

#include <stddef.h>
#include <libxml/tree.h>

#include "strbuf.h"

/* A namespace table: prefix -> URI, owned by the mapping. */
typedef struct ns_binding {
    char *prefix;
    char *uri;
} ns_binding;

typedef struct ns_table {
    size_t n;
    ns_binding *v;
} ns_table;

/* Returns the URI bound to prefix (length plen), or NULL. */
const char *ns_lookup(const ns_table *ns, const char *prefix, size_t plen);

typedef enum step_kind {
    STEP_ELEMENT, /* child element by name */
    STEP_ATTR,    /* attribute by name (must be the last step) */
    STEP_PARENT,  /* .. */
    STEP_SELF,    /* . */
    STEP_TEXT     /* text() (must be the last step) */
} step_kind;

typedef enum pred_kind { PRED_NONE, PRED_ATTR_EQ, PRED_POSITION } pred_kind;

typedef struct path_step {
    step_kind kind;
    char *ns_uri;      /* NULL = no namespace */
    char *local;       /* element or attribute local name */
    pred_kind pred;
    char *pred_ns_uri; /* PRED_ATTR_EQ: attribute namespace, NULL = none */
    char *pred_local;  /* PRED_ATTR_EQ: attribute local name */
    char *pred_value;  /* PRED_ATTR_EQ: the value compared (exact) */
    long pred_pos;     /* PRED_POSITION: 1-based */
} path_step;

typedef struct path {
    char *src;        /* the text as written, for messages */
    size_t nsteps;
    path_step *steps;
    int repeat;       /* a `..` after a child step: a node can be reached twice */
} path;

/* Compile src using ns for prefixes.  Returns NULL with a one-line reason in
 * err ("unknown prefix \"x\" in path \"x:a\"", "bad predicate ..."). */
path *path_compile(const char *src, const ns_table *ns, char *err, size_t errlen);
void path_free(path *p);

/* Returns 1 and writes the value of the first node p selects from ctx into
 * *value (reset first), or 0 (value untouched) when nothing matches. */
int path_value(const path *p, xmlNode *ctx, strbuf *value);

/* path_value without a copy where it can: returns 1 with the value of the
 * first node p selects in (*s, *n) -- the content of that node's one text
 * or CDATA node itself (NUL-terminated, valid while ctx's tree is), else
 * the value written into *scratch -- or 0 when nothing matches. */
int path_value_ref(const path *p, xmlNode *ctx, strbuf *scratch, const char **s, size_t *n);

/* Appends to *out every element node p selects from ctx, in document order
 * (attributes and text() select nothing here).  *out is a growable array the
 * caller owns: (*nodes, *n, *cap), realloc'd as needed.  Returns the count
 * appended. */
size_t path_select(const path *p, xmlNode *ctx, xmlNode ***nodes, size_t *n, size_t *cap);

/* The record path: "/p:a/p:b" (absolute from the root) or "//p:b" (that
 * element at any depth; records do not nest). */
typedef struct record_path {
    char *src;
    int anywhere;      /* 1 for "//p:b" */
    size_t nsteps;     /* anywhere: 1 */
    char **ns_uri;     /* per step, NULL = no namespace */
    char **local;      /* per step */
} record_path;

record_path *record_path_compile(const char *src, const ns_table *ns, char *err, size_t errlen);
void record_path_free(record_path *rp);

#endif
