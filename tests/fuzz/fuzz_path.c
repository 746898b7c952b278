/* fuzz_path.c — libFuzzer target: the path compiler (column paths and record
 * paths) and path evaluation on a small fixed record.  The input is the path
 * text; prefixes a, b and (empty) are bound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "path.h"

static xmlDocPtr doc;
static ns_binding binds[] = {{"a", "urn:a"}, {"b", "urn:b"}, {"", "urn:d"}};
static const ns_table ns = {3, binds};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char xml[] =
        "<a:root xmlns:a='urn:a' xmlns:b='urn:b' id='r'><a:rec id='7' b:k='x'>"
        "<a:c n='1'>one<b:d>two</b:d></a:c><a:c n='2'>three</a:c>text"
        "<![CDATA[cd]]><a:e/></a:rec></a:root>";
    doc = xmlReadMemory(xml, sizeof xml - 1, "fixed.xml", NULL, XML_PARSE_NONET);
    return doc ? 0 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';
    char err[256];
    xmlNodePtr rec = xmlDocGetRootElement(doc)->children;
    path *p = path_compile(src, &ns, err, sizeof err);
    if (p) {
        strbuf v = STRBUF_INIT, scratch = STRBUF_INIT;
        int found = path_value(p, rec, &v);
        /* the borrowing form finds the same value */
        const char *s = NULL;
        size_t n0 = 0;
        if (path_value_ref(p, rec, &scratch, &s, &n0) != found ||
            (found && (n0 != v.len || memcmp(s, sb_str(&v), n0) != 0)))
            abort();
        sb_free(&v);
        sb_free(&scratch);
        xmlNode **nodes = NULL;
        size_t n = 0, cap = 0;
        path_select(p, rec, &nodes, &n, &cap);
        free(nodes);
        path_free(p);
    }
    record_path *rp = record_path_compile(src, &ns, err, sizeof err);
    if (rp)
        record_path_free(rp);
    free(src);
    return 0;
}
