/* test_mapping.c — loading the mapping file: the example of the spec with
 * every field checked, and one exact "name:LINE: reason" per error class. */
#include "config.h"
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <libxml/xmlerror.h>

#include "mapping.h"

/* ---- helpers ---- */

static const char *EXAMPLE =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:applications/a:application\">\n"
    "  <namespace prefix=\"a\" uri=\"urn:example:apps\"/>\n"
    "  <table name=\"app_base\" key=\"app_id\">\n"
    "    <column name=\"app_id\"   path=\"@app_id\"   type=\"int\"/>\n"
    "    <column name=\"received\" path=\"@received\" type=\"datetime\"/>\n"
    "    <column name=\"product\"  path=\"a:product\" type=\"varchar(8)\" "
    "pattern=\"^(CARD|LOAN|AUTO|HELOC)$\"/>\n"
    "    <column name=\"amount\"   path=\"a:amount\"  type=\"decimal(12,2)\"/>\n"
    "    <column name=\"source\"   var=\"file\"       type=\"nvarchar(260)\"/>\n"
    "  </table>\n"
    "  <table name=\"contact_base\" each=\"a:contact\" key=\"con_id app_id\">\n"
    "    <column name=\"con_id\"     path=\"@con_id\"      type=\"int\"/>\n"
    "    <column name=\"app_id\"     path=\"../@app_id\"   type=\"int\"/>\n"
    "    <column name=\"last_name\"  path=\"a:last_name\"  type=\"nvarchar(64)\" required=\"true\"/>\n"
    "    <column name=\"birth_date\" path=\"a:birth_date\" type=\"date\"/>\n"
    "    <column name=\"phone\"      path=\"a:phone\"      type=\"varchar(16)\" "
    "replace-match=\"[^0-9]\" replace-with=\"\"/>\n"
    "    <column name=\"lang\"       path=\"@lang\"        type=\"char(2)\" default=\"en\"/>\n"
    "  </table>\n"
    "  <table name=\"contact_address\" each=\"a:contact/a:address[@type='CURR']\" "
    "key=\"con_id app_id\">\n"
    "    <column name=\"con_id\" path=\"../@con_id\"    type=\"int\"/>\n"
    "    <column name=\"app_id\" path=\"../../@app_id\" type=\"int\"/>\n"
    "    <column name=\"city\"   path=\"a:city\"        type=\"nvarchar(64)\"/>\n"
    "  </table>\n"
    "</mapping>\n";

/* Loads xml as "m.xml"; returns the mapping (or NULL) with err filled. */
static mapping *load(const char *xml, mig_err *err)
{
    err_clear(err);
    return mapping_load_memory(xml, strlen(xml), "m.xml", err);
}

/* Asserts that xml fails to load with exactly want (MIG_ECONFIG). */
static void expect_err(const char *xml, const char *want)
{
    mig_err err;
    mapping *m = load(xml, &err);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_EQUAL(err.status, MIG_ECONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    if (strcmp(err.msg, want) != 0)
        fprintf(stderr, "\n  want: %s\n  got:  %s\n", want, err.msg);
    mapping_free(m);
}

/* A mapping whose line 5 is `line5` inside table t (line 3, key "id"). */
static void expect_col_err(const char *line5, const char *want)
{
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:r/a:x\">\n"
             "  <namespace prefix=\"a\" uri=\"urn:a\"/>\n"
             "  <table name=\"t\" key=\"id\">\n"
             "    <column name=\"id\" path=\"@id\" type=\"int\"/>\n"
             "    %s\n"
             "  </table>\n"
             "</mapping>\n",
             line5);
    expect_err(xml, want);
}

/* A mapping whose line 3 (the <table> start tag) is `line3`, then one column. */
static void expect_table_err(const char *line3, const char *want)
{
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:r/a:x\">\n"
             "  <namespace prefix=\"a\" uri=\"urn:a\"/>\n"
             "  %s\n"
             "    <column name=\"id\" path=\"@id\" type=\"int\"/>\n"
             "  </table>\n"
             "</mapping>\n",
             line3);
    expect_err(xml, want);
}

/* Asserts column c: name, type spelling, source kind, path text (or NULL). */
static void check_col(const map_column *c, const char *name, const char *type, col_source src,
                      const char *path_src, int required, int is_key, int line)
{
    char tbuf[64];
    CU_ASSERT_STRING_EQUAL(c->name, name);
    type_format(&c->type, tbuf, sizeof tbuf);
    CU_ASSERT_STRING_EQUAL(tbuf, type);
    CU_ASSERT_EQUAL(c->src, src);
    if (path_src) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(c->path);
        CU_ASSERT_STRING_EQUAL(c->path->src, path_src);
    } else {
        CU_ASSERT_PTR_NULL(c->path);
    }
    CU_ASSERT_EQUAL(c->required, required);
    CU_ASSERT_EQUAL(c->is_key, is_key);
    CU_ASSERT_EQUAL(c->line, line);
}

/* ---- the example ---- */

static void test_example(void)
{
    mig_err err;
    mapping *m = load(EXAMPLE, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_STRING_EQUAL(m->file, "m.xml");
    CU_ASSERT_EQUAL(m->ns.n, 1);
    CU_ASSERT_STRING_EQUAL(m->ns.v[0].prefix, "a");
    CU_ASSERT_STRING_EQUAL(m->ns.v[0].uri, "urn:example:apps");
    CU_ASSERT_STRING_EQUAL(m->record->src, "/a:applications/a:application");
    CU_ASSERT_EQUAL(m->record->anywhere, 0);
    CU_ASSERT_EQUAL_FATAL(m->record->nsteps, 2);
    CU_ASSERT_STRING_EQUAL(m->record->local[1], "application");
    CU_ASSERT_STRING_EQUAL(m->record->ns_uri[1], "urn:example:apps");
    CU_ASSERT_PTR_NULL(m->route);
    CU_ASSERT_EQUAL(m->on_dup, DUP_DEFAULT);
    CU_ASSERT_EQUAL_FATAL(m->ntables, 3);

    /* app_base */
    const map_table *t = &m->tables[0];
    CU_ASSERT_STRING_EQUAL(t->name, "app_base");
    CU_ASSERT_PTR_NULL(t->each);
    CU_ASSERT_EQUAL(t->line, 3);
    CU_ASSERT_EQUAL(t->on_dup, DUP_DEFAULT);
    CU_ASSERT_EQUAL_FATAL(t->ncols, 5);
    CU_ASSERT_EQUAL_FATAL(t->nkeys, 1);
    CU_ASSERT_EQUAL(t->key_cols[0], 0);
    check_col(&t->cols[0], "app_id", "int", SRC_PATH, "@app_id", 1, 1, 4);
    check_col(&t->cols[1], "received", "datetime", SRC_PATH, "@received", 0, 0, 5);
    check_col(&t->cols[2], "product", "varchar(8)", SRC_PATH, "a:product", 0, 0, 6);
    CU_ASSERT_EQUAL(t->cols[2].type.kind, CK_VARCHAR);
    CU_ASSERT_EQUAL(t->cols[2].type.length, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t->cols[2].pattern);
    CU_ASSERT_STRING_EQUAL(rule_source(t->cols[2].pattern), "^(CARD|LOAN|AUTO|HELOC)$");
    CU_ASSERT_PTR_NULL(t->cols[2].replace);
    CU_ASSERT_PTR_NULL(t->cols[2].replace_with);
    check_col(&t->cols[3], "amount", "decimal(12,2)", SRC_PATH, "a:amount", 0, 0, 7);
    CU_ASSERT_EQUAL(t->cols[3].type.kind, CK_DECIMAL);
    CU_ASSERT_EQUAL(t->cols[3].type.precision, 12);
    CU_ASSERT_EQUAL(t->cols[3].type.scale, 2);
    check_col(&t->cols[4], "source", "nvarchar(260)", SRC_VAR, NULL, 0, 0, 8);
    CU_ASSERT_EQUAL(t->cols[4].var, VAR_FILE);
    CU_ASSERT_PTR_NULL(t->cols[4].value);
    CU_ASSERT_PTR_NULL(t->cols[4].deflt);

    /* contact_base */
    t = &m->tables[1];
    CU_ASSERT_STRING_EQUAL(t->name, "contact_base");
    CU_ASSERT_EQUAL(t->line, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t->each);
    CU_ASSERT_STRING_EQUAL(t->each->src, "a:contact");
    CU_ASSERT_EQUAL_FATAL(t->ncols, 6);
    CU_ASSERT_EQUAL_FATAL(t->nkeys, 2);
    CU_ASSERT_EQUAL(t->key_cols[0], 0);
    CU_ASSERT_EQUAL(t->key_cols[1], 1);
    check_col(&t->cols[0], "con_id", "int", SRC_PATH, "@con_id", 1, 1, 11);
    check_col(&t->cols[1], "app_id", "int", SRC_PATH, "../@app_id", 1, 1, 12);
    check_col(&t->cols[2], "last_name", "nvarchar(64)", SRC_PATH, "a:last_name", 1, 0, 13);
    check_col(&t->cols[3], "birth_date", "date", SRC_PATH, "a:birth_date", 0, 0, 14);
    check_col(&t->cols[4], "phone", "varchar(16)", SRC_PATH, "a:phone", 0, 0, 15);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t->cols[4].replace);
    CU_ASSERT_STRING_EQUAL(rule_source(t->cols[4].replace), "[^0-9]");
    CU_ASSERT_STRING_EQUAL(t->cols[4].replace_with, "");
    CU_ASSERT_PTR_NULL(t->cols[4].pattern);
    check_col(&t->cols[5], "lang", "char(2)", SRC_PATH, "@lang", 0, 0, 16);
    CU_ASSERT_STRING_EQUAL(t->cols[5].deflt, "en");

    /* contact_address */
    t = &m->tables[2];
    CU_ASSERT_STRING_EQUAL(t->name, "contact_address");
    CU_ASSERT_EQUAL(t->line, 18);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t->each);
    CU_ASSERT_STRING_EQUAL(t->each->src, "a:contact/a:address[@type='CURR']");
    CU_ASSERT_EQUAL_FATAL(t->each->nsteps, 2);
    CU_ASSERT_STRING_EQUAL(t->each->steps[1].pred_value, "CURR");
    CU_ASSERT_EQUAL_FATAL(t->ncols, 3);
    CU_ASSERT_EQUAL_FATAL(t->nkeys, 2);
    CU_ASSERT_EQUAL(t->key_cols[0], 0);
    CU_ASSERT_EQUAL(t->key_cols[1], 1);
    check_col(&t->cols[0], "con_id", "int", SRC_PATH, "../@con_id", 1, 1, 19);
    check_col(&t->cols[1], "app_id", "int", SRC_PATH, "../../@app_id", 1, 1, 20);
    check_col(&t->cols[2], "city", "nvarchar(64)", SRC_PATH, "a:city", 0, 0, 21);

    CU_ASSERT_EQUAL(mapping_table_index(m, "app_base"), 0);
    CU_ASSERT_EQUAL(mapping_table_index(m, "contact_address"), 2);
    CU_ASSERT_EQUAL(mapping_table_index(m, "nope"), -1);
    mapping_free(m);
}

static void test_optional_attributes(void)
{
    const char *xml =
        "<?xml version=\"1.0\"?>\n"
        "<!-- a comment -->\n"
        "<m:mapping xmlns:m=\"urn:migrate:mapping:1\" record=\"//p:app\" route=\"@id\"\n"
        "           on-duplicate=\"update\">\n"
        "  <m:table name=\"t\" key=\"b  a\" on-duplicate=\"skip\">\n"
        "    <!-- columns -->\n"
        "    <m:column name=\"a\" value=\" 42 \" type=\"int\"/>\n"
        "    <m:column name=\"b\" var=\"line\" type=\"bigint\" required=\"false\"/>\n"
        "    <m:column name=\"c\" var=\"record\" type=\"bigint\"/>\n"
        "    <m:column name=\"d\" var=\"now\" type=\"datetime\"/>\n"
        "    <m:column name=\"e\" path=\"p:x/text()\" type=\"nvarchar(max)\" "
        "replace-match=\"(\\d+)\" replace-with=\"[$1]\"/>\n"
        "    <m:column name=\"f\" path=\".\" type=\"int\" default=\"7\" required=\"true\"/>\n"
        "  </m:table>\n"
        "  <m:table name=\"u\" key=\"k\" on-duplicate=\"error\" each=\"..\">"
        "<m:column name=\"k\" path=\"@k\" type=\"uniqueidentifier\"/></m:table>\n"
        "  <m:namespace prefix=\"p\" uri=\"urn:p\"/>\n"
        "</m:mapping>\n";
    mig_err err;
    mapping *m = load(xml, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->record->anywhere, 1);
    CU_ASSERT_EQUAL(m->record->nsteps, 1);
    CU_ASSERT_STRING_EQUAL(m->record->ns_uri[0], "urn:p");
    CU_ASSERT_STRING_EQUAL(m->record->local[0], "app");
    CU_ASSERT_PTR_NOT_NULL_FATAL(m->route);
    CU_ASSERT_STRING_EQUAL(m->route->src, "@id");
    CU_ASSERT_EQUAL(m->on_dup, DUP_UPDATE);
    CU_ASSERT_EQUAL_FATAL(m->ntables, 2);
    const map_table *t = &m->tables[0];
    CU_ASSERT_EQUAL(t->on_dup, DUP_SKIP);
    CU_ASSERT_EQUAL(t->line, 5);
    CU_ASSERT_EQUAL_FATAL(t->ncols, 6);
    CU_ASSERT_EQUAL_FATAL(t->nkeys, 2);
    CU_ASSERT_EQUAL(t->key_cols[0], 1); /* key order, not column order */
    CU_ASSERT_EQUAL(t->key_cols[1], 0);
    check_col(&t->cols[0], "a", "int", SRC_VALUE, NULL, 1, 1, 7);
    CU_ASSERT_STRING_EQUAL(t->cols[0].value, " 42 ");
    check_col(&t->cols[1], "b", "bigint", SRC_VAR, NULL, 1, 1, 8); /* keys are required */
    CU_ASSERT_EQUAL(t->cols[1].var, VAR_LINE);
    CU_ASSERT_EQUAL(t->cols[2].var, VAR_RECORD);
    CU_ASSERT_EQUAL(t->cols[3].var, VAR_NOW);
    check_col(&t->cols[4], "e", "nvarchar(max)", SRC_PATH, "p:x/text()", 0, 0, 11);
    CU_ASSERT_STRING_EQUAL(rule_source(t->cols[4].replace), "(\\d+)");
    CU_ASSERT_STRING_EQUAL(t->cols[4].replace_with, "[$1]");
    check_col(&t->cols[5], "f", "int", SRC_PATH, ".", 1, 0, 12);
    CU_ASSERT_STRING_EQUAL(t->cols[5].deflt, "7");
    t = &m->tables[1];
    CU_ASSERT_STRING_EQUAL(t->name, "u");
    CU_ASSERT_EQUAL(t->on_dup, DUP_ERROR);
    CU_ASSERT_STRING_EQUAL(t->each->src, "..");
    CU_ASSERT_EQUAL(t->line, 14);
    mapping_free(m);
}

static void test_load_file(void)
{
    char name[] = "/tmp/test_mapping_XXXXXX";
    int fd = mkstemp(name);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL((size_t)write(fd, EXAMPLE, strlen(EXAMPLE)), strlen(EXAMPLE));
    close(fd);
    mig_err err;
    err_clear(&err);
    mapping *m = mapping_load(name, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_STRING_EQUAL(m->file, name);
    CU_ASSERT_EQUAL(m->ntables, 3);
    CU_ASSERT_STRING_EQUAL(m->tables[2].cols[2].name, "city");
    mapping_free(m);
    unlink(name);

    m = mapping_load("/nonexistent/dir/m.xml", &err);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_EQUAL(err.status, MIG_ECONFIG);
    CU_ASSERT_STRING_EQUAL(err.msg,
                           "cannot read mapping /nonexistent/dir/m.xml: No such file or directory");
}

/* ---- errors ---- */

static void test_parse_errors(void)
{
    /* nothing may reach stderr: catch fd 2 while loading */
    FILE *tmp = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);

    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\">\n"
               "  <table name=\"t\" key=\"id\">\n"
               "</mapping>\n",
               "m.xml:3: Opening and ending tag mismatch: table line 2 and mapping");
    expect_err("", "m.xml:1: Document is empty");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\"\n record=\"/a\">\n<x:table/></mapping>",
               "m.xml:3: Namespace prefix x on table is not defined");
    /* found by tests/fuzz/fuzz_mapping: libxml2's message has a second line */
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\">\xff\xff\xff\xff</mapping>",
               "m.xml:1: Input is not proper UTF-8, indicate encoding ! "
               "Bytes: 0xFF 0xFF 0xFF 0xFF");

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CU_ASSERT_EQUAL(ftell(tmp), 0);
    CU_ASSERT_EQUAL(fseek(tmp, 0, SEEK_END), 0);
    CU_ASSERT_EQUAL(ftell(tmp), 0);
    fclose(tmp);
    CU_ASSERT_PTR_NULL(xmlStructuredError); /* no global handler left behind */
    CU_ASSERT_PTR_NULL(xmlStructuredErrorContext);
}

static void test_structure_errors(void)
{
    expect_err("<mapping record=\"/a\"><table/></mapping>",
               "m.xml:1: root element must be <mapping> in namespace urn:migrate:mapping:1");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:2\" record=\"/a\"/>",
               "m.xml:1: root element must be <mapping> in namespace urn:migrate:mapping:1");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\">\n\n"
               "  <tables/>\n</mapping>",
               "m.xml:3: unknown element <tables> in <mapping>");
    expect_col_err("<colum name=\"c\" path=\"c\" type=\"int\"/>",
                   "m.xml:5: unknown element <colum> in <table>");
    expect_col_err("<column xmlns=\"\" name=\"c\" path=\"c\" type=\"int\"/>",
                   "m.xml:5: element <column> is not in namespace urn:migrate:mapping:1");
    expect_col_err("<column name=\"c\" path=\"c\" type=\"int\"><x/></column>",
                   "m.xml:5: unknown element <x> in <column>");
    expect_col_err("stray text",
                   "m.xml:3: unexpected text in <table>");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\">\n</mapping>",
               "m.xml:1: no <table> in mapping");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\">\n<table/></mapping>",
               "m.xml:1: missing attribute \"record\" on <mapping>");
    expect_table_err("<table name=\"t\" key=\"id\"/><table name=\"u\" key=\"id\">",
                     "m.xml:3: table t: no <column>");
    expect_table_err("<table name=\"t\" key=\"id\"><!-- c --></table><table name=\"u\" key=\"id\">",
                     "m.xml:3: table t: no <column>");
}

static void test_attribute_errors(void)
{
    expect_col_err("<column name=\"c\" path=\"c\" type=\"int\" requird=\"true\"/>",
                   "m.xml:5: unknown attribute \"requird\" on <column>");
    expect_col_err("<column xmlns:z=\"urn:z\" name=\"c\" path=\"c\" type=\"int\" z:x=\"1\"/>",
                   "m.xml:5: unknown attribute \"z:x\" on <column>");
    expect_table_err("<table name=\"t\" key=\"id\" eachh=\"a:x\">",
                     "m.xml:3: unknown attribute \"eachh\" on <table>");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\" rout=\"@id\">\n</mapping>",
               "m.xml:1: unknown attribute \"rout\" on <mapping>");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\">\n"
               " <namespace prefix=\"a\" url=\"urn:a\"/></mapping>",
               "m.xml:2: unknown attribute \"url\" on <namespace>");
    expect_col_err("<column path=\"c\" type=\"int\"/>",
                   "m.xml:5: missing attribute \"name\" on <column>");
    expect_col_err("<column name=\"\" path=\"c\" type=\"int\"/>",
                   "m.xml:5: empty attribute \"name\" on <column>");
    expect_col_err("<column name=\"c\" path=\"c\"/>",
                   "m.xml:5: missing attribute \"type\" on <column>");
    expect_table_err("<table key=\"id\">", "m.xml:3: missing attribute \"name\" on <table>");
    expect_table_err("<table name=\"t\">", "m.xml:3: missing attribute \"key\" on <table>");
    expect_col_err("<column name=\"c\" path=\"c\" type=\"int\" required=\"yes\"/>",
                   "m.xml:5: table t, column c: required must be \"true\" or \"false\", not \"yes\"");
    expect_col_err("<column name=\"c\" path=\"c\" type=\"int\" replace-with=\"x\"/>",
                   "m.xml:5: table t, column c: replace-with needs replace-match");
    expect_table_err("<table name=\"t\" key=\"id\" on-duplicate=\"ignore\">",
                     "m.xml:3: table t: on-duplicate must be skip, update or error, not \"ignore\"");
    /* libxml2 numbers an element by the line where its start tag ends */
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a\"\n on-duplicate=\"x\">\n"
               "</mapping>",
               "m.xml:2: on-duplicate must be skip, update or error, not \"x\"");
}

static void test_type_and_rule_errors(void)
{
    char why[512], want[1024];
    col_type ct;

    CU_ASSERT_EQUAL(type_parse("money", &ct, why, sizeof why), -1);
    snprintf(want, sizeof want, "m.xml:5: table t, column c: %s", why);
    expect_col_err("<column name=\"c\" path=\"c\" type=\"money\"/>", want);

    CU_ASSERT_EQUAL(type_parse("varchar(0)", &ct, why, sizeof why), -1);
    snprintf(want, sizeof want, "m.xml:5: table t, column c: %s", why);
    expect_col_err("<column name=\"c\" path=\"c\" type=\"varchar(0)\"/>", want);

    CU_ASSERT_PTR_NULL(rule_compile("(a", why, sizeof why));
    snprintf(want, sizeof want, "m.xml:5: table t, column c: %s", why);
    expect_col_err("<column name=\"c\" path=\"c\" type=\"int\" pattern=\"(a\"/>", want);
    expect_col_err("<column name=\"c\" path=\"c\" type=\"int\" replace-match=\"(a\"/>", want);

    /* constants must convert to the column's type */
    conv_value v;
    strbuf sb = STRBUF_INIT;
    col_type tint = {CK_INT, 0, 0, 0};
    CU_ASSERT_EQUAL(type_convert(&tint, "abc", 3, &v, &sb, why, sizeof why), -1);
    sb_free(&sb);
    snprintf(want, sizeof want, "m.xml:5: table t, column c: value: %s", why);
    expect_col_err("<column name=\"c\" value=\"abc\" type=\"int\"/>", want);
    snprintf(want, sizeof want, "m.xml:5: table t, column c: default: %s", why);
    expect_col_err("<column name=\"c\" path=\"c\" default=\"abc\" type=\"int\"/>", want);
}

static void test_path_errors(void)
{
    expect_col_err("<column name=\"c\" path=\"a//b\" type=\"int\"/>",
                   "m.xml:5: table t, column c: empty step in path \"a//b\"");
    expect_col_err("<column name=\"c\" path=\"\" type=\"int\"/>",
                   "m.xml:5: table t, column c: empty path");
    expect_col_err("<column name=\"c\" path=\"z:x\" type=\"int\"/>",
                   "m.xml:5: table t, column c: unknown prefix \"z\" in path \"z:x\"");
    expect_col_err("<column name=\"c\" path=\"@a:x/a:y\" type=\"int\"/>",
                   "m.xml:5: table t, column c: @x must be the last step in path \"@a:x/a:y\"");
    expect_col_err("<column name=\"c\" path=\"a:x[@t=1]\" type=\"int\"/>",
                   "m.xml:5: table t, column c: bad predicate \"[@t=1]\" in path \"a:x[@t=1]\"");
    expect_table_err("<table name=\"t\" key=\"id\" each=\"a:x/@id\">",
                     "m.xml:3: table t, each: path \"a:x/@id\" must select elements, not an "
                     "attribute or text()");
    expect_table_err("<table name=\"t\" key=\"id\" each=\"a:x/text()\">",
                     "m.xml:3: table t, each: path \"a:x/text()\" must select elements, not an "
                     "attribute or text()");
    expect_table_err("<table name=\"t\" key=\"id\" each=\"b:x\">",
                     "m.xml:3: table t, each: unknown prefix \"b\" in path \"b:x\"");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"a:r\">\n"
               "<namespace prefix=\"a\" uri=\"urn:a\"/></mapping>",
               "m.xml:1: bad record path \"a:r\": expected \"/p:a/p:b\" (from the root) or "
               "\"//p:b\"");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"//a:r/a:s\">\n"
               "<namespace prefix=\"a\" uri=\"urn:a\"/></mapping>",
               "m.xml:1: bad record path \"//a:r/a:s\": expected \"/p:a/p:b\" (from the root) or "
               "\"//p:b\"");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/b:r\">\n"
               "<namespace prefix=\"a\" uri=\"urn:a\"/></mapping>",
               "m.xml:1: unknown prefix \"b\" in path \"/b:r\"");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/r\" route=\"x[\">\n"
               "</mapping>",
               "m.xml:1: route: bad predicate \"[\" in path \"x[\"");
}

static void test_semantic_errors(void)
{
    expect_table_err("<table name=\"t\" key=\"id nope\">",
                     "m.xml:3: table t: key column \"nope\" does not exist");
    expect_table_err("<table name=\"t\" key=\"id ID id\">",
                     "m.xml:3: table t: key column \"ID\" does not exist");
    expect_table_err("<table name=\"t\" key=\"id id\">",
                     "m.xml:3: table t: key column \"id\" listed twice");
    expect_table_err("<table name=\"t\" key=\" \">", "m.xml:3: table t: empty key");
    expect_col_err("<column name=\"ID\" path=\"c\" type=\"int\"/>",
                   "m.xml:5: table t: duplicate column name \"ID\"");
    expect_table_err("<table name=\"t\" key=\"id\"><column name=\"id\" path=\"@id\" type=\"int\"/>"
                     "</table>\n  <table name=\"T\" key=\"id\">",
                     "m.xml:4: duplicate table name \"T\"");
    expect_col_err("<column name=\"c\" type=\"int\"/>",
                   "m.xml:5: table t, column c: no source: give one of path, value or var");
    expect_col_err("<column name=\"c\" path=\"x\" value=\"1\" type=\"int\"/>",
                   "m.xml:5: table t, column c: two sources: give only one of path, value or var");
    expect_col_err("<column name=\"c\" var=\"line\" value=\"1\" type=\"int\"/>",
                   "m.xml:5: table t, column c: two sources: give only one of path, value or var");
    expect_col_err("<column name=\"c\" var=\"host\" type=\"int\"/>",
                   "m.xml:5: table t, column c: unknown var \"host\" (file, line, record or now)");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:r\">\n"
               "<namespace prefix=\"a\" uri=\"urn:a\"/>\n"
               "<namespace prefix=\"a\" uri=\"urn:b\"/></mapping>",
               "m.xml:3: namespace prefix \"a\" declared twice");
    expect_err("<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:r\">\n"
               "<namespace prefix=\"a\"/></mapping>",
               "m.xml:2: missing attribute \"uri\" on <namespace>");
}

/* Tables whose key contains the routing key are "routed"; others warned. */
static void test_routing_analysis(void)
{
    static const char xml[] =
        "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a:r/a:app\">\n"
        "<namespace prefix=\"a\" uri=\"urn:a\"/>\n"
        "<table name=\"app\" key=\"id\"><column name=\"id\" path=\"@id\" type=\"int\"/></table>\n"
        "<table name=\"con\" each=\"a:c\" key=\"cid id\">"
        "<column name=\"cid\" path=\"@cid\" type=\"int\"/>"
        "<column name=\"id\" path=\"./../@id\" type=\"int\"/></table>\n"
        "<table name=\"adr\" each=\"a:c/a:ad[@t='C']\" key=\"cid id\">"
        "<column name=\"cid\" path=\"../@cid\" type=\"int\"/>"
        "<column name=\"id\" path=\"../../@id\" type=\"int\"/></table>\n"
        "<table name=\"only\" each=\"a:c\" key=\"cid\">"
        "<column name=\"cid\" path=\"@cid\" type=\"int\"/></table>\n"
        "<table name=\"other\" key=\"id\"><column name=\"id\" path=\"a:x/@id\" type=\"int\"/>"
        "</table>\n"
        "</mapping>";
    mig_err err;
    mapping *m = load(xml, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->tables[0].routed, 1);
    CU_ASSERT_EQUAL(m->tables[1].routed, 1);
    CU_ASSERT_EQUAL(m->tables[2].routed, 1);
    CU_ASSERT_EQUAL(m->tables[3].routed, 0);
    CU_ASSERT_EQUAL(m->tables[4].routed, 0);
    CU_ASSERT_EQUAL_FATAL(m->nwarnings, 2);
    CU_ASSERT_STRING_EQUAL(m->warnings[0],
                           "m.xml:6: table only: its key does not contain the routing key, so two "
                           "workers may meet the same key; its duplicates are settled by the "
                           "database, not the key sets");
    CU_ASSERT_PTR_NOT_NULL(strstr(m->warnings[1], "m.xml:7: table other:"));
    mapping_free(m);
}

int main(void)
{
    UNIT_BEGIN("mapping");
    UNIT_TEST(test_routing_analysis);
    UNIT_TEST(test_example);
    UNIT_TEST(test_optional_attributes);
    UNIT_TEST(test_load_file);
    UNIT_TEST(test_parse_errors);
    UNIT_TEST(test_structure_errors);
    UNIT_TEST(test_attribute_errors);
    UNIT_TEST(test_type_and_rule_errors);
    UNIT_TEST(test_path_errors);
    UNIT_TEST(test_semantic_errors);
    UNIT_END();
}
