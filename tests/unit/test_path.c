/* test_path.c — the path language: compiling (steps and errors), the value of
 * every step and predicate form, path_select order and dedup, record paths. */
#include "config.h"
#include "unit.h"

#include <string.h>
#include <unistd.h>
#include <libxml/parser.h>

#include "path.h"

/* ---- helpers ---- */

static ns_binding bindings[] = {
    {"a", "urn:example:apps"},
    {"p", "urn:p"},
    {"d", "urn:d"},
};
static const ns_table NS = {3, bindings};

/* Returns the parsed document (the test frees it). */
static xmlDoc *doc_of(const char *xml)
{
    xmlDoc *d = xmlReadMemory(xml, (int)strlen(xml), "t.xml", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

/* Returns the value of path src from ctx ("<none>" when nothing matches);
 * the text is valid until the next call. */
static const char *val(xmlNode *ctx, const char *src)
{
    static char out[256];
    char err[256] = "";
    strbuf sb = STRBUF_INIT;
    path *p = path_compile(src, &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(p);
    if (!p) {
        snprintf(out, sizeof out, "<compile error: %s>", err);
        return out;
    }
    sb_puts(&sb, "untouched");
    if (path_value(p, ctx, &sb))
        snprintf(out, sizeof out, "%s", sb_str(&sb));
    else
        snprintf(out, sizeof out, "<none:%s>", sb_str(&sb));
    sb_free(&sb);
    path_free(p);
    return out;
}

/* Returns the compile error of src ("" if it compiled); valid until the next call. */
static const char *cerr(const char *src)
{
    static char err[256];
    strcpy(err, "");
    path *p = path_compile(src, &NS, err, sizeof err);
    CU_ASSERT_PTR_NULL(p);
    path_free(p);
    return err;
}

/* Returns the first element child of n named name. */
static xmlNode *child(xmlNode *n, const char *name)
{
    for (xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    CU_FAIL_FATAL("no such child");
    return NULL;
}

/* Writes the id attributes of nodes[from..n) as "1,2,3" into out. */
static const char *ids(xmlNode **nodes, size_t from, size_t n)
{
    static char out[256];
    out[0] = '\0';
    for (size_t i = from; i < n; i++) {
        xmlChar *id = xmlGetProp(nodes[i], (const xmlChar *)"id");
        if (i > from)
            strcat(out, ",");
        strcat(out, id ? (const char *)id : "?");
        xmlFree(id);
    }
    return out;
}

/* ---- compiling ---- */

static void test_compile_steps(void)
{
    char err[256] = "";
    path *p = path_compile("../@app_id", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_STRING_EQUAL(p->src, "../@app_id");
    CU_ASSERT_EQUAL(p->nsteps, 2);
    CU_ASSERT_EQUAL(p->steps[0].kind, STEP_PARENT);
    CU_ASSERT_EQUAL(p->steps[1].kind, STEP_ATTR);
    CU_ASSERT_PTR_NULL(p->steps[1].ns_uri);
    CU_ASSERT_STRING_EQUAL(p->steps[1].local, "app_id");
    path_free(p);

    p = path_compile("a:contact/a:address[@type='CURR']/./text()", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 4);
    CU_ASSERT_EQUAL(p->steps[0].kind, STEP_ELEMENT);
    CU_ASSERT_STRING_EQUAL(p->steps[0].ns_uri, "urn:example:apps");
    CU_ASSERT_STRING_EQUAL(p->steps[0].local, "contact");
    CU_ASSERT_EQUAL(p->steps[0].pred, PRED_NONE);
    CU_ASSERT_EQUAL(p->steps[1].pred, PRED_ATTR_EQ);
    CU_ASSERT_STRING_EQUAL(p->steps[1].local, "address");
    CU_ASSERT_PTR_NULL(p->steps[1].pred_ns_uri);
    CU_ASSERT_STRING_EQUAL(p->steps[1].pred_local, "type");
    CU_ASSERT_STRING_EQUAL(p->steps[1].pred_value, "CURR");
    CU_ASSERT_EQUAL(p->steps[2].kind, STEP_SELF);
    CU_ASSERT_EQUAL(p->steps[3].kind, STEP_TEXT);
    path_free(p);

    p = path_compile("x[12]/@p:id", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->steps[0].pred, PRED_POSITION);
    CU_ASSERT_EQUAL(p->steps[0].pred_pos, 12);
    CU_ASSERT_PTR_NULL(p->steps[0].ns_uri);
    CU_ASSERT_STRING_EQUAL(p->steps[1].ns_uri, "urn:p");
    path_free(p);

    p = path_compile("x[@p:t=\"a/b]\"]", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 1);
    CU_ASSERT_STRING_EQUAL(p->steps[0].pred_ns_uri, "urn:p");
    CU_ASSERT_STRING_EQUAL(p->steps[0].pred_value, "a/b]");
    path_free(p);
}

static void test_compile_errors(void)
{
    CU_ASSERT_STRING_EQUAL(cerr("x:a"), "unknown prefix \"x\" in path \"x:a\"");
    CU_ASSERT_STRING_EQUAL(cerr("a:b/@q:id"), "unknown prefix \"q\" in path \"a:b/@q:id\"");
    CU_ASSERT_STRING_EQUAL(cerr("a:b[@q:t='1']"),
                           "unknown prefix \"q\" in path \"a:b[@q:t='1']\"");
    CU_ASSERT_STRING_EQUAL(cerr(""), "empty path");
    CU_ASSERT_STRING_EQUAL(cerr("a//b"), "empty step in path \"a//b\"");
    CU_ASSERT_STRING_EQUAL(cerr("/a"), "empty step in path \"/a\"");
    CU_ASSERT_STRING_EQUAL(cerr("a/"), "empty step in path \"a/\"");
    CU_ASSERT_STRING_EQUAL(cerr("a[@t=CURR]"), "bad predicate \"[@t=CURR]\" in path \"a[@t=CURR]\"");
    CU_ASSERT_STRING_EQUAL(cerr("a[@t='CURR]"), "bad predicate \"[@t='CURR]\" in path \"a[@t='CURR]\"");
    CU_ASSERT_STRING_EQUAL(cerr("a[0]"), "bad predicate \"[0]\" in path \"a[0]\"");
    CU_ASSERT_STRING_EQUAL(cerr("a[x]"), "bad predicate \"[x]\" in path \"a[x]\"");
    CU_ASSERT_STRING_EQUAL(cerr("a[1"), "bad predicate \"[1\" in path \"a[1\"");
    CU_ASSERT_STRING_EQUAL(cerr("a[1][2]"),
                           "bad predicate: one predicate per step, in path \"a[1][2]\"");
    CU_ASSERT_STRING_EQUAL(cerr("@id[1]"),
                           "bad predicate: only element steps take one, in path \"@id[1]\"");
    CU_ASSERT_STRING_EQUAL(cerr("@id/a"), "@id must be the last step in path \"@id/a\"");
    CU_ASSERT_STRING_EQUAL(cerr("a/@id/b"), "@id must be the last step in path \"a/@id/b\"");
    CU_ASSERT_STRING_EQUAL(cerr("text()/a"), "text() must be the last step in path \"text()/a\"");
    CU_ASSERT_STRING_EQUAL(cerr("1a"), "bad step \"1a\" in path \"1a\"");
    CU_ASSERT_STRING_EQUAL(cerr("a b"), "bad step \"a b\" in path \"a b\"");
    CU_ASSERT_STRING_EQUAL(cerr("a:"), "bad step \"a:\" in path \"a:\"");
    CU_ASSERT_STRING_EQUAL(cerr("@"), "bad step \"@\" in path \"@\"");
    CU_ASSERT_STRING_EQUAL(cerr("..."), "bad step \"...\" in path \"...\"");
}

static void test_ns_lookup(void)
{
    CU_ASSERT_STRING_EQUAL(ns_lookup(&NS, "a", 1), "urn:example:apps");
    CU_ASSERT_STRING_EQUAL(ns_lookup(&NS, "pxyz", 1), "urn:p");
    CU_ASSERT_PTR_NULL(ns_lookup(&NS, "ab", 2));
    CU_ASSERT_PTR_NULL(ns_lookup(&NS, "q", 1));
    CU_ASSERT_STRING_EQUAL(ns_lookup(&NS, "xml", 3), "http://www.w3.org/XML/1998/namespace");
}

/* ---- values ---- */

static void test_child_steps(void)
{
    xmlDoc *d = doc_of("<r xmlns:q='urn:p'><x>1</x><q:x>2</q:x><y>3</y><x>4</x></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL(val(r, "x"), "1");
    CU_ASSERT_STRING_EQUAL(val(r, "p:x"), "2"); /* prefix differs from the document's */
    CU_ASSERT_STRING_EQUAL(val(r, "y"), "3");
    CU_ASSERT_STRING_EQUAL(val(r, "z"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "a:x"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "x/x"), "<none:untouched>");
    xmlFreeDoc(d);
}

static void test_default_namespace(void)
{
    xmlDoc *d = doc_of("<r xmlns='urn:d' id='9'><x>1<y>2</y></x><x xmlns=''>3</x></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL(val(r, "d:x"), "12");
    CU_ASSERT_STRING_EQUAL(val(r, "d:x/d:y"), "2");
    CU_ASSERT_STRING_EQUAL(val(r, "x"), "3"); /* the undeclared one only */
    CU_ASSERT_STRING_EQUAL(val(r, "d:x/y"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "@id"), "9"); /* attributes have no default namespace */
    CU_ASSERT_STRING_EQUAL(val(r, "@d:id"), "<none:untouched>");
    xmlFreeDoc(d);
}

static void test_attributes(void)
{
    xmlDoc *d = doc_of("<r xmlns:q='urn:p' id='7' q:id='8' e='' amp='a&amp;b&#x41;' "
                       "xml:lang='de'><c id='c1'/></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL(val(r, "@id"), "7");
    CU_ASSERT_STRING_EQUAL(val(r, "@p:id"), "8");
    CU_ASSERT_STRING_EQUAL(val(r, "@e"), "");
    CU_ASSERT_STRING_EQUAL(val(r, "@amp"), "a&bA");
    CU_ASSERT_STRING_EQUAL(val(r, "@xml:lang"), "de");
    CU_ASSERT_STRING_EQUAL(val(r, "@lang"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "@none"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "c/@id"), "c1");
    xmlFreeDoc(d);
}

static void test_parent_self_text(void)
{
    xmlDoc *d = doc_of("<r v='top'><x v='1'>ab<y>c</y>d<![CDATA[e]]></x><z><![CDATA[f]]>g</z></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    xmlNode *x = child(r, "x");
    CU_ASSERT_STRING_EQUAL(val(x, "."), "abcde");
    CU_ASSERT_STRING_EQUAL(val(x, "./@v"), "1");
    CU_ASSERT_STRING_EQUAL(val(x, "../@v"), "top");
    CU_ASSERT_STRING_EQUAL(val(x, ".."), "abcdefg");
    CU_ASSERT_STRING_EQUAL(val(x, "../z"), "fg");
    CU_ASSERT_STRING_EQUAL(val(x, "y/../@v"), "1");
    CU_ASSERT_STRING_EQUAL(val(x, "text()"), "ab");
    CU_ASSERT_STRING_EQUAL(val(x, "y/text()"), "c");
    CU_ASSERT_STRING_EQUAL(val(r, "z/text()"), "f"); /* a CDATA section is text */
    CU_ASSERT_STRING_EQUAL(val(r, "text()"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "../@v"), "<none:untouched>"); /* the document */
    CU_ASSERT_STRING_EQUAL(val(r, "../../@v"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "../r/x/@v"), "1");
    xmlFreeDoc(d);
}

static void test_element_value(void)
{
    xmlDoc *d = doc_of("<r><x>a<!--no--><![CDATA[<b>&]]><y>c<z>d</z><w/></y>e<?pi no?></x>"
                       "<empty/><ent>&lt;&#233;</ent></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL(val(r, "x"), "a<b>&cde");
    CU_ASSERT_STRING_EQUAL(val(r, "x/y"), "cd");
    CU_ASSERT_STRING_EQUAL(val(r, "x/y/w"), "");
    CU_ASSERT_STRING_EQUAL(val(r, "empty"), "");
    CU_ASSERT_STRING_EQUAL(val(r, "ent"), "<\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(val(r, "."), "a<b>&cde<\xc3\xa9");
    xmlFreeDoc(d);
}

static void test_entity_reference(void)
{
    xmlDoc *d = doc_of("<!DOCTYPE r [<!ENTITY who 'W<i>o</i>'>]><r><x>a&who;b</x></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL(val(r, "x"), "aWob");
    xmlFreeDoc(d);
}

static void test_predicates(void)
{
    xmlDoc *d = doc_of("<r xmlns:q='urn:p'>"
                       "<c t='A' q:k='1'>first</c><c t='B'>second</c><c t='A' q:k='2'>third</c>"
                       "<c t='a&amp;b'>fourth</c></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    CU_ASSERT_STRING_EQUAL(val(r, "c[@t='A']"), "first");
    CU_ASSERT_STRING_EQUAL(val(r, "c[@t=\"B\"]"), "second");
    CU_ASSERT_STRING_EQUAL(val(r, "c[ @t = 'B' ]"), "second");
    CU_ASSERT_STRING_EQUAL(val(r, "c[@p:k='2']"), "third");
    CU_ASSERT_STRING_EQUAL(val(r, "c[@k='2']"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "c[@t='a&b']"), "fourth");
    CU_ASSERT_STRING_EQUAL(val(r, "c[@t='a']"), "<none:untouched>"); /* exact, not prefix */
    CU_ASSERT_STRING_EQUAL(val(r, "c[@t='C']"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "c[@u='A']"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "c[1]"), "first");
    CU_ASSERT_STRING_EQUAL(val(r, "c[2]"), "second");
    CU_ASSERT_STRING_EQUAL(val(r, "c[4]"), "fourth");
    CU_ASSERT_STRING_EQUAL(val(r, "c[5]"), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, "c[2]/@t"), "B");
    xmlFreeDoc(d);
}

static const char *APPS =
    "<a:applications xmlns:a='urn:example:apps' batch='B7'>"
    "<a:application app_id='1'>"
    "<a:contact con_id='10'><a:address type='PREV'><a:city>Old</a:city></a:address></a:contact>"
    "<a:contact con_id='11'><a:address type='PREV'><a:city>Was</a:city></a:address>"
    "<a:address type='CURR'><a:city>Bonn</a:city></a:address></a:contact>"
    "</a:application></a:applications>";

static void test_nested_predicate(void)
{
    xmlDoc *d = doc_of(APPS);
    xmlNode *rec = child(xmlDocGetRootElement(d), "application");
    CU_ASSERT_STRING_EQUAL(val(rec, "a:contact/a:address[@type='CURR']/a:city"), "Bonn");
    CU_ASSERT_STRING_EQUAL(val(rec, "a:contact/a:address[@type='CURR']/../@con_id"), "11");
    CU_ASSERT_STRING_EQUAL(val(rec, "a:contact/a:address[@type='PREV']/a:city"), "Old");
    CU_ASSERT_STRING_EQUAL(val(rec, "a:contact[2]/a:address[1]/a:city"), "Was");
    CU_ASSERT_STRING_EQUAL(val(rec, "a:contact/a:address[2]/a:city"), "Bonn");
    CU_ASSERT_STRING_EQUAL(val(rec, "a:contact[1]/a:address[2]"), "<none:untouched>");
    /* from the record to an ancestor's attribute */
    CU_ASSERT_STRING_EQUAL(val(rec, "../@batch"), "B7");
    CU_ASSERT_STRING_EQUAL(val(rec, "@app_id"), "1");

    /* from an `each` row node (the CURR address) up to the record */
    char err[256];
    path *each = path_compile("a:contact/a:address[@type='CURR']", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(each);
    xmlNode **nodes = NULL;
    size_t n = 0, cap = 0;
    CU_ASSERT_EQUAL(path_select(each, rec, &nodes, &n, &cap), 1);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_STRING_EQUAL(val(nodes[0], "../../@app_id"), "1");
    CU_ASSERT_STRING_EQUAL(val(nodes[0], "../@con_id"), "11");
    CU_ASSERT_STRING_EQUAL(val(nodes[0], "../../../@batch"), "B7");
    CU_ASSERT_STRING_EQUAL(val(nodes[0], "a:city"), "Bonn");
    free(nodes);
    path_free(each);
    xmlFreeDoc(d);
}

/* ---- select ---- */

/* path_value_ref borrows a value that is one text or CDATA node's content
 * (no copy of a large text) and writes any other into the scratch buffer,
 * with the value path_value gives. */
static void test_value_ref(void)
{
    xmlDoc *d = doc_of("<r a='v'><t>one</t><c><![CDATA[x<y]]></c><m>a<i>b</i>c</m><e/></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    char err[256];
    struct { const char *src, *value; int borrowed; } cases[] = {
        {"t", "one", 1}, {"c", "x<y", 1}, {"t/text()", "one", 1}, {"@a", "v", 1},
        {"m", "abc", 0}, {"e", "", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        path *p = path_compile(cases[i].src, &NS, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        strbuf scratch = STRBUF_INIT;
        const char *s = NULL;
        size_t n = 0;
        CU_ASSERT_EQUAL(path_value_ref(p, r, &scratch, &s, &n), 1);
        CU_ASSERT_EQUAL(n, strlen(cases[i].value));
        CU_ASSERT(s && memcmp(s, cases[i].value, n) == 0);
        CU_ASSERT_EQUAL(scratch.buf != NULL && s == scratch.buf, !cases[i].borrowed);
        CU_ASSERT_STRING_EQUAL(val(r, cases[i].src), cases[i].value);
        sb_free(&scratch);
        path_free(p);
    }
    path *p = path_compile("zz", &NS, err, sizeof err);
    strbuf scratch = STRBUF_INIT;
    const char *s = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(path_value_ref(p, r, &scratch, &s, &n), 0);
    CU_ASSERT_PTR_NULL(s);
    path_free(p);
    xmlFreeDoc(d);
}

static void test_select(void)
{
    xmlDoc *d = doc_of("<r id='r'><c id='1'><a id='1a'/><a id='1b'/><b id='1c'/></c>"
                       "<c id='2'><a id='2a'/></c><c id='3' t='x'/></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    char err[256];
    xmlNode **nodes = NULL;
    size_t n = 0, cap = 0;
    struct { const char *src; size_t count; const char *ids; } cases[] = {
        {"c", 3, "1,2,3"},
        {"c/a", 3, "1a,1b,2a"},
        {"c/a/..", 2, "1,2"},          /* c1 reached twice */
        {"c/../c", 3, "1,2,3"},        /* r reached three times */
        {"c/a/../../c[@t='x']", 1, "3"},
        {"c[2]/a", 1, "2a"},
        {"c/*x", 0, ""},
        {"c/@id", 0, ""},              /* attributes select nothing */
        {"c/a/text()", 0, ""},
        {".", 1, "r"},
        {"c/a[2]", 1, "1b"},
        {"zz", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        path *p = path_compile(cases[i].src, &NS, err, sizeof err);
        if (strcmp(cases[i].src, "c/*x") == 0) {
            CU_ASSERT_PTR_NULL(p);
            continue;
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        size_t before = n;
        size_t got = path_select(p, r, &nodes, &n, &cap);
        CU_ASSERT_EQUAL(got, cases[i].count);
        CU_ASSERT_EQUAL(n, before + cases[i].count);
        CU_ASSERT_STRING_EQUAL(ids(nodes, before, n), cases[i].ids);
        CU_ASSERT(cap >= n);
        path_free(p);
    }
    /* appended, never reset: the array holds every selection in turn */
    CU_ASSERT_EQUAL(n, 15);
    CU_ASSERT_STRING_EQUAL(ids(nodes, 0, 3), "1,2,3");
    free(nodes);
    xmlFreeDoc(d);
}

static void test_select_grows(void)
{
    char xml[8192] = "<r>";
    for (int i = 0; i < 100; i++)
        sprintf(xml + strlen(xml), "<c id='%d'/>", i);
    strcat(xml, "</r>");
    xmlDoc *d = doc_of(xml);
    char err[256];
    path *p = path_compile("c", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    xmlNode **nodes = NULL;
    size_t n = 0, cap = 0;
    CU_ASSERT_EQUAL(path_select(p, xmlDocGetRootElement(d), &nodes, &n, &cap), 100);
    CU_ASSERT_EQUAL_FATAL(n, 100);
    CU_ASSERT(cap >= 100);
    CU_ASSERT_STRING_EQUAL(ids(nodes, 0, 3), "0,1,2");
    CU_ASSERT_STRING_EQUAL(ids(nodes, 97, 100), "97,98,99");
    free(nodes);
    path_free(p);
    xmlFreeDoc(d);
}

/* `c/..` reaches the parent once per c: 40 such pairs over two c's were
 * 2^40 walks (fuzz_path's slow unit took 100 s at 15 pairs), and one pair
 * over 20,000 c's compared each of 20,000 emitted nodes with all before it.
 * The alarm ends the test (it hung) where that comes back. */
static void test_repeat_bounded(void)
{
    xmlDoc *d = doc_of("<r id='r'><c id='1'><a id='1a'/></c><c id='2'/><e id='e'>t</e></r>");
    xmlNode *r = xmlDocGetRootElement(d);
    char err[256], src[1024] = "";
    for (int i = 0; i < 40; i++)
        strcat(src, "c/../");
    char sel[1100], miss[1100], val_src[1100];
    snprintf(sel, sizeof sel, "%sc", src);
    snprintf(miss, sizeof miss, "%szz", src);
    snprintf(val_src, sizeof val_src, "%se", src);
    alarm(30);
    path *p = path_compile(sel, &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    xmlNode **nodes = NULL;
    size_t n = 0, cap = 0;
    CU_ASSERT_EQUAL(path_select(p, r, &nodes, &n, &cap), 2);
    CU_ASSERT_STRING_EQUAL(ids(nodes, 0, n), "1,2");
    path_free(p);
    CU_ASSERT_STRING_EQUAL(val(r, miss), "<none:untouched>");
    CU_ASSERT_STRING_EQUAL(val(r, val_src), "t");
    xmlFreeDoc(d);

    /* one pair over 20,000 c's: each c once, in order */
    strbuf xml = STRBUF_INIT;
    sb_puts(&xml, "<r>");
    for (int i = 0; i < 20000; i++)
        sb_printf(&xml, "<c id='%d'/>", i);
    sb_puts(&xml, "</r>");
    d = doc_of(sb_str(&xml));
    p = path_compile("c/../c", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    n = 0;
    CU_ASSERT_EQUAL(path_select(p, xmlDocGetRootElement(d), &nodes, &n, &cap), 20000);
    CU_ASSERT_STRING_EQUAL(ids(nodes, 0, 3), "0,1,2");
    CU_ASSERT_STRING_EQUAL(ids(nodes, 19998, 20000), "19998,19999");
    alarm(0);
    path_free(p);
    free(nodes);
    sb_free(&xml);
    xmlFreeDoc(d);
}

/* ---- record path ---- */

static void test_record_path(void)
{
    char err[256] = "";
    record_path *rp = record_path_compile("/a:applications/a:application", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rp);
    CU_ASSERT_STRING_EQUAL(rp->src, "/a:applications/a:application");
    CU_ASSERT_EQUAL(rp->anywhere, 0);
    CU_ASSERT_EQUAL(rp->nsteps, 2);
    CU_ASSERT_STRING_EQUAL(rp->ns_uri[0], "urn:example:apps");
    CU_ASSERT_STRING_EQUAL(rp->local[0], "applications");
    CU_ASSERT_STRING_EQUAL(rp->ns_uri[1], "urn:example:apps");
    CU_ASSERT_STRING_EQUAL(rp->local[1], "application");
    record_path_free(rp);

    rp = record_path_compile("//a:application", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rp);
    CU_ASSERT_EQUAL(rp->anywhere, 1);
    CU_ASSERT_EQUAL(rp->nsteps, 1);
    CU_ASSERT_STRING_EQUAL(rp->ns_uri[0], "urn:example:apps");
    CU_ASSERT_STRING_EQUAL(rp->local[0], "application");
    record_path_free(rp);

    rp = record_path_compile("/root", &NS, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rp);
    CU_ASSERT_EQUAL(rp->nsteps, 1);
    CU_ASSERT_PTR_NULL(rp->ns_uri[0]);
    CU_ASSERT_STRING_EQUAL(rp->local[0], "root");
    record_path_free(rp);

    const char *bad[] = {"a:application", "", "/", "//", "//a:x/a:y", "/a:x//a:y", "/a:x/",
                         "/a:x[1]", "/a:x/@id", "../a:x", "/a:x/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                 "bad record path \"%s\": expected \"/p:a/p:b\" (from the root) or \"//p:b\"",
                 bad[i]);
        rp = record_path_compile(bad[i], &NS, err, sizeof err);
        CU_ASSERT_PTR_NULL(rp);
        CU_ASSERT_STRING_EQUAL(err, want);
        record_path_free(rp);
    }
    rp = record_path_compile("/a:x/z:y", &NS, err, sizeof err);
    CU_ASSERT_PTR_NULL(rp);
    CU_ASSERT_STRING_EQUAL(err, "unknown prefix \"z\" in path \"/a:x/z:y\"");
    rp = record_path_compile("//z:y", &NS, err, sizeof err);
    CU_ASSERT_PTR_NULL(rp);
    CU_ASSERT_STRING_EQUAL(err, "unknown prefix \"z\" in path \"//z:y\"");
}

int main(void)
{
    UNIT_BEGIN("path");
    UNIT_TEST(test_compile_steps);
    UNIT_TEST(test_compile_errors);
    UNIT_TEST(test_ns_lookup);
    UNIT_TEST(test_child_steps);
    UNIT_TEST(test_default_namespace);
    UNIT_TEST(test_attributes);
    UNIT_TEST(test_parent_self_text);
    UNIT_TEST(test_element_value);
    UNIT_TEST(test_entity_reference);
    UNIT_TEST(test_predicates);
    UNIT_TEST(test_nested_predicate);
    UNIT_TEST(test_value_ref);
    UNIT_TEST(test_select);
    UNIT_TEST(test_select_grows);
    UNIT_TEST(test_repeat_bounded);
    UNIT_TEST(test_record_path);
    UNIT_END();
}
