/* test_reader.c — input sources and the streaming reader: record paths
 * (absolute, //, default namespace), line numbers and sequence numbers,
 * malformed input after good records, gzip (also concatenated members),
 * per-record XSD validation, and the standalone XML of a record. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "input.h"
#include "mapping.h"
#include "path.h"
#include "reader.h"
#include "unit.h"

static char dir[] = "/tmp/migrate-test-reader-XXXXXX";

/* Writes content to dir/name; returns the path (static buffer per call site). */
static const char *put(const char *name, const char *content)
{
    static char p[8][256];
    static int k;
    char *fpath = p[k++ % 8];
    snprintf(fpath, 256, "%s/%s", dir, name);
    FILE *f = fopen(fpath, "w");
    fputs(content, f);
    fclose(f);
    return fpath;
}

static mapping *map_for(const char *record)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "<mapping xmlns='urn:migrate:mapping:1' record='%s'>"
             "<namespace prefix='a' uri='urn:a'/>"
             "<table name='t' key='id'><column name='id' path='@id' type='int'/></table>"
             "</mapping>", record);
    mig_err err;
    mapping *m = mapping_load_memory(buf, strlen(buf), "m.xml", &err);
    if (!m)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    return m;
}

/* Reads every record of file; writes "id@line#seq," into out; returns reader_next's last rc. */
static int read_all(const char *file, mapping *m, xmlSchemaPtr xsd, char *out, size_t cap,
                    mig_err *err)
{
    out[0] = '\0';
    input *in = input_open(file, err);
    if (!in)
        return -2;
    reader *r = reader_open(in, m, xsd, 0, err);
    reader_record rec;
    int rc;
    while ((rc = reader_next(r, &rec, err)) == 1) {
        xmlChar *id = xmlGetProp(rec.node, BAD_CAST "id");
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s@%llu#%llu%s,", id ? (char *)id : "?",
                 (unsigned long long)rec.line, (unsigned long long)rec.seq,
                 rec.invalid ? "!" : "");
        xmlFree(id);
    }
    reader_close(r);
    input_close(in);
    return rc;
}

static const char DOC[] =
    "<?xml version='1.0'?>\n"
    "<a:root xmlns:a='urn:a'>\n"
    "  <a:x id='1'/>\n"
    "  <a:other><a:x id='99'/></a:other>\n"
    "  <a:x id='2'>\n"
    "    <a:x id='nested'/>\n"
    "  </a:x>\n"
    "  <x id='nons'/>\n"
    "  <a:x id='3'/>\n"
    "</a:root>\n";

static void test_absolute_path(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    CU_ASSERT_EQUAL(read_all(put("abs.xml", DOC), m, NULL, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "1@3#1,2@5#2,3@9#3,");
    mapping_free(m);
}

static void test_anywhere_path(void)
{
    mapping *m = map_for("//a:x");
    char out[512];
    mig_err err;
    CU_ASSERT_EQUAL(read_all(put("any.xml", DOC), m, NULL, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "1@3#1,99@4#2,2@5#3,3@9#4,");
    mapping_free(m);
}

static void test_default_namespace(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    const char *doc = "<root xmlns='urn:a'><x id='7'/><x id='8'/></root>";
    CU_ASSERT_EQUAL(read_all(put("def.xml", doc), m, NULL, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "7@1#1,8@1#2,");
    mapping_free(m);
    mapping *m2 = map_for("/root/x"); /* no prefix = no namespace: nothing matches */
    CU_ASSERT_EQUAL(read_all(put("def.xml", doc), m2, NULL, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    mapping_free(m2);
}

static void test_malformed_after_records(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    const char *doc = "<a:root xmlns:a='urn:a'>\n<a:x id='1'/>\n<a:x id='2'>\n</a:y>\n</a:root>\n";
    int rc = read_all(put("bad.xml", doc), m, NULL, out, sizeof out, &err);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(out, "1@2#1,");
    CU_ASSERT_EQUAL(err.status, MIG_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad.xml:4:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mismatch"));
    CU_ASSERT_PTR_NULL(strchr(err.msg, '\n'));
    mapping_free(m);
}

static void test_malformed_same_line(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    const char *doc = "<a:root xmlns:a='urn:a'><a:x id='1'/><a:x id='2'><a:v/></a:x><a:x id='3'></a:y></a:root>";
    CU_ASSERT_EQUAL(read_all(put("bad1.xml", doc), m, NULL, out, sizeof out, &err), -1);
    CU_ASSERT_STRING_EQUAL(out, "1@1#1,2@1#2,");
    CU_ASSERT_EQUAL(err.status, MIG_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bad1.xml:1:"));
    mapping_free(m);
}

/* The last record before the error is complete with nothing after it: it is
 * handed out too (the parser's open-element stack says it was closed). */
static void test_malformed_right_after_record(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    const char *bad = "<a:root xmlns:a='urn:a'><a:x id='1'/><a:x id='2'><a:v/></a:x></oops>";
    CU_ASSERT_EQUAL(read_all(put("bad2.xml", bad), m, NULL, out, sizeof out, &err), -1);
    CU_ASSERT_STRING_EQUAL(out, "1@1#1,2@1#2,");
    const char *cut = "<a:root xmlns:a='urn:a'>\n<a:x id='1'/>\n<a:x id='2'><a:v/></a:x>";
    CU_ASSERT_EQUAL(read_all(put("cut.xml", cut), m, NULL, out, sizeof out, &err), -1);
    CU_ASSERT_STRING_EQUAL(out, "1@2#1,2@3#2,");
    CU_ASSERT_EQUAL(err.status, MIG_EDATA);
    mapping_free(m);
}

static void test_truncated_input(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    const char *doc = "<a:root xmlns:a='urn:a'>\n<a:x id='1'/>\n<a:x id='2'/>\n<a:x id='3'";
    CU_ASSERT_EQUAL(read_all(put("trunc.xml", doc), m, NULL, out, sizeof out, &err), -1);
    CU_ASSERT_STRING_EQUAL(out, "1@2#1,2@3#2,");
    CU_ASSERT_EQUAL(err.status, MIG_EDATA);
    mapping_free(m);
}

/* Writes content gzip-compressed as `members` concatenated members. */
static const char *put_gz(const char *name, const char *content, int members)
{
    static char fpath[256];
    snprintf(fpath, sizeof fpath, "%s/%s", dir, name);
    FILE *f = fopen(fpath, "wb");
    size_t len = strlen(content), part = len / (size_t)members;
    for (int i = 0; i < members; i++) {
        size_t off = part * (size_t)i, n = i == members - 1 ? len - off : part;
        uLongf cap = compressBound(n) + 64;
        unsigned char *buf = malloc(cap);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)content + off;
        zs.avail_in = (uInt)n;
        zs.next_out = buf;
        zs.avail_out = (uInt)cap;
        deflate(&zs, Z_FINISH);
        fwrite(buf, 1, cap - zs.avail_out, f);
        deflateEnd(&zs);
        free(buf);
    }
    fclose(f);
    return fpath;
}

static void test_gzip(void)
{
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    mig_err err;
    CU_ASSERT_EQUAL(read_all(put_gz("one.xml.gz", DOC, 1), m, NULL, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "1@3#1,2@5#2,3@9#3,");
    CU_ASSERT_EQUAL(read_all(put_gz("three.xml.gz", DOC, 3), m, NULL, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "1@3#1,2@5#2,3@9#3,");
    input *in = input_open(put_gz("k.gz", DOC, 1), &err);
    CU_ASSERT_STRING_EQUAL(in->kind, "gzip");
    input_close(in);
    in = input_open(put("k.xml", DOC), &err);
    CU_ASSERT_STRING_EQUAL(in->kind, "file");
    input_close(in);
    mapping_free(m);
}

static void test_missing_file(void)
{
    mig_err err;
    CU_ASSERT_PTR_NULL(input_open("/nonexistent/x.xml", &err));
    CU_ASSERT_EQUAL(err.status, MIG_ENOINPUT);
    CU_ASSERT_STRING_EQUAL(err.msg, "cannot open /nonexistent/x.xml: No such file or directory");
}

static void test_schema(void)
{
    const char *xsd =
        "<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema' targetNamespace='urn:a'"
        " xmlns:a='urn:a' elementFormDefault='qualified'>"
        "<xs:element name='root'><xs:complexType><xs:sequence>"
        "<xs:element ref='a:x' maxOccurs='unbounded'/></xs:sequence></xs:complexType></xs:element>"
        "<xs:element name='x'><xs:complexType><xs:sequence>"
        "<xs:element name='n' type='xs:int' minOccurs='0'/></xs:sequence>"
        "<xs:attribute name='id' type='xs:int' use='required'/></xs:complexType></xs:element>"
        "</xs:schema>";
    mig_err err;
    xmlSchemaPtr s = reader_schema_load(put("s.xsd", xsd), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    mapping *m = map_for("/a:root/a:x");
    char out[512];
    const char *doc = "<a:root xmlns:a='urn:a'>\n<a:x id='1'><a:n>5</a:n></a:x>\n"
                      "<a:x id='2'><a:n>five</a:n></a:x>\n<a:x id='3'/>\n</a:root>";
    CU_ASSERT_EQUAL(read_all(put("v.xml", doc), m, s, out, sizeof out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "1@2#1,2@3#2!,3@4#3,");
    xmlSchemaFree(s);
    mapping_free(m);
    CU_ASSERT_PTR_NULL(reader_schema_load(put("bad.xsd", "<xs:schema xmlns:xs='x'/>"), &err));
    CU_ASSERT_EQUAL(err.status, MIG_ECONFIG);
}

static void test_record_xml_standalone(void)
{
    mapping *m = map_for("/a:root/a:x");
    mig_err err;
    const char *doc = "<root xmlns='urn:a' xmlns:b='urn:b'><x id='1' b:k='v'><y>t&amp;</y></x></root>";
    input *in = input_open(put("ns.xml", doc), &err);
    reader *r = reader_open(in, m, NULL, 0, &err);
    reader_record rec;
    CU_ASSERT_EQUAL_FATAL(reader_next(r, &rec, &err), 1);
    strbuf sb = STRBUF_INIT;
    reader_record_xml(r, &rec, &sb);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb),
                           "<x xmlns=\"urn:a\" xmlns:b=\"urn:b\" id=\"1\" b:k=\"v\"><y>t&amp;</y></x>");
    CU_ASSERT_EQUAL(reader_next(r, &rec, &err), 0);
    sb_free(&sb);
    reader_close(r);
    input_close(in);
    mapping_free(m);
}

static void test_big_line_numbers(void)
{
    mapping *m = map_for("/a:root/a:x");
    char fpath[256];
    snprintf(fpath, sizeof fpath, "%s/big.xml", dir);
    FILE *f = fopen(fpath, "w");
    fputs("<a:root xmlns:a='urn:a'>\n", f);
    for (int i = 0; i < 70000; i++)
        fputs("<a:x id='0'/>\n", f);
    fputs("<a:x id='9'>\n<a:v>1</a:v></a:x>\n</a:root>\n", f);
    fclose(f);
    input *in = input_open(fpath, NULL);
    mig_err err;
    reader *r = reader_open(in, m, NULL, 0, &err);
    reader_record rec;
    uint64_t last_line = 0, n = 0;
    while (reader_next(r, &rec, &err) == 1) {
        last_line = rec.line;
        n++;
    }
    CU_ASSERT_EQUAL(n, 70001);
    CU_ASSERT_EQUAL(last_line, 70002);
    reader_close(r);
    input_close(in);
    mapping_free(m);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 2;
    UNIT_BEGIN("reader");
    UNIT_TEST(test_absolute_path);
    UNIT_TEST(test_anywhere_path);
    UNIT_TEST(test_default_namespace);
    UNIT_TEST(test_malformed_after_records);
    UNIT_TEST(test_malformed_same_line);
    UNIT_TEST(test_malformed_right_after_record);
    UNIT_TEST(test_truncated_input);
    UNIT_TEST(test_gzip);
    UNIT_TEST(test_missing_file);
    UNIT_TEST(test_schema);
    UNIT_TEST(test_record_xml_standalone);
    UNIT_TEST(test_big_line_numbers);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    xmlCleanupParser();
    return failed ? 1 : 0;
}
