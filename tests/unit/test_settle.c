/* test_settle.c — settlement of keys (settle.c): the routing hash of a
 * converted routing key, the same hash from a stored key, the key
 * converted once for routing and row, and the preload
 * that gives each worker only its keys and says when its set is not
 * complete.  The preload runs against a real SQLite file. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "unit.h" /* first: its locals would shadow path.h's type */
#include "db.h"
#include "dialect.h"
#include "mapper.h"
#include "mapping.h"
#include "settle.h"

/* route="@id": the routing value is converted by app's int key column. */
static const char MAP_ROUTE[] =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a/r\" route=\"@id\">"
    "<table name=\"app\" key=\"id\">"
    "<column name=\"id\" path=\"@id\" type=\"int\"/>"
    "</table>"
    "<table name=\"item\" key=\"n id\" each=\"i\">"
    "<column name=\"n\" path=\"@n\" type=\"int\"/>"
    "<column name=\"id\" path=\"../@id\" type=\"int\"/>"
    "</table></mapping>";
/* no route=: the first table's key (two parts) routes */
static const char MAP_KEY2[] =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a/r\">"
    "<table name=\"app\" key=\"id code\">"
    "<column name=\"id\" path=\"@id\" type=\"bigint\"/>"
    "<column name=\"code\" path=\"@c\" type=\"varchar(4)\"/>"
    "</table></mapping>";

/* Returns mapper_route of the record <r .../> written as xml. */
static uint64_t route_of(const mapping *m, const char *rec)
{
    char xml[512];
    snprintf(xml, sizeof xml, "<a>%s</a>", rec);
    xmlDoc *d = xmlReadMemory(xml, (int)strlen(xml), "r.xml", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    mapper *mp = mapper_new(m, 0);
    record_ctx ctx = {"r.xml", 1, 1};
    uint64_t h = mapper_route(mp, xmlDocGetRootElement(d)->children, &ctx);
    mapper_free(mp);
    xmlFreeDoc(d);
    return h;
}

/* Returns settle_key_route of table t of m for a key of ints (k[0..n)). */
static uint64_t stored_route(const mapping *m, size_t t, const int64_t *k, size_t n)
{
    strbuf kb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++)
        settle_key_value(&kb, VC_INT, k[i], 0, NULL, 0);
    uint64_t h = settle_key_route(&m->tables[t], m->nroute, kb.buf, kb.len);
    sb_free(&kb);
    return h;
}

/* "7", "07", " 7 " and "+7" are one int key: one route, the one a stored 7
 * has in either table whose key holds it. */
static void test_route_converted(void)
{
    mapping *m = unit_mapping(MAP_ROUTE);
    CU_ASSERT_EQUAL(m->nroute, 1);
    CU_ASSERT_EQUAL(m->route_table, 0);
    CU_ASSERT(m->tables[1].routed);
    uint64_t h = route_of(m, "<r id=\"7\"/>");
    CU_ASSERT_EQUAL(route_of(m, "<r id=\"07\"/>"), h);
    CU_ASSERT_EQUAL(route_of(m, "<r id=\" 7 \"/>"), h);
    CU_ASSERT_EQUAL(route_of(m, "<r id=\"0007\"><i n=\"1\"/></r>"), h);
    CU_ASSERT_NOT_EQUAL(route_of(m, "<r id=\"8\"/>"), h);
    int64_t k7 = 7, item[2] = {3, 7};
    CU_ASSERT_EQUAL(stored_route(m, 0, &k7, 1), h);
    CU_ASSERT_EQUAL(stored_route(m, 1, item, 2), h);
    mapping_free(m);

    m = unit_mapping(MAP_KEY2);
    CU_ASSERT_EQUAL(m->nroute, 2);
    h = route_of(m, "<r id=\"42\" c=\"ab\"/>");
    CU_ASSERT_EQUAL(route_of(m, "<r id=\"042\" c=\" ab \"/>"), h);
    strbuf kb = STRBUF_INIT;
    settle_key_value(&kb, VC_INT, 42, 0, NULL, 0);
    settle_key_value(&kb, VC_TEXT, 0, 0, "ab", 2);
    CU_ASSERT_EQUAL(settle_key_route(&m->tables[0], m->nroute, kb.buf, kb.len), h);
    sb_free(&kb);
    mapping_free(m);
}

/* The first table's key is converted once, by mapper_route, and its values
 * kept for mapper_map: the rows are the ones mapper_map alone makes (int
 * and text key parts, trimmed, a first table with `each`), and a record
 * mapped without being routed right before never gets another's keys. */
static const char MAP_EACH[] =
    "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a/r\">"
    "<table name=\"line\" key=\"code n\" each=\"i\">"
    "<column name=\"code\" path=\"../@c\" type=\"varchar(4)\"/>"
    "<column name=\"n\" path=\"@n\" type=\"int\"/>"
    "<column name=\"note\" path=\"@note\" type=\"varchar(10)\"/>"
    "</table></mapping>";

/* Returns the rows of table 0 of b as "v|v|...\n" text (NULL as "-"). */
static char *rows_text(const batch *b)
{
    const map_table *mt = &b->map->tables[0];
    strbuf out = STRBUF_INIT;
    for (size_t r = 0; r < b->tabs[0].nrows; r++) {
        const value *v = batch_row(b, 0, r);
        for (size_t c = 0; c < mt->ncols; c++) {
            if (c)
                sb_putc(&out, '|');
            if (v[c].len < 0)
                sb_putc(&out, '-');
            else if (type_class(&mt->cols[c].type) == VC_TEXT)
                sb_append(&out, batch_text(b, &v[c]), (size_t)v[c].len);
            else
                sb_printf(&out, "%lld", (long long)v[c].n.i);
        }
        sb_putc(&out, '\n');
    }
    return sb_detach(&out);
}

/* Maps record rec (xml of <r/> elements, the one at index i) into a new
 * batch, routed first by mapper_route of record `routed` (-1: not routed);
 * returns the rows of table 0. */
static char *map_text(const mapping *m, const char *xml, int i, int routed)
{
    char doc[600];
    snprintf(doc, sizeof doc, "<a>%s</a>", xml);
    xmlDoc *d = xmlReadMemory(doc, (int)strlen(doc), "r.xml", NULL, XML_PARSE_NONET);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    xmlNode *recs[4] = {NULL};
    int n = 0;
    for (xmlNode *x = xmlDocGetRootElement(d)->children; x && n < 4; x = x->next)
        if (x->type == XML_ELEMENT_NODE)
            recs[n++] = x;
    mapper *mp = mapper_new(m, 0);
    record_ctx ctx = {"r.xml", 1, 1};
    if (routed >= 0)
        mapper_route(mp, recs[routed], &ctx);
    batch *b = batch_new(m, 4);
    char reason[256] = "";
    batch_begin_record(b, 0, 1, 1, "<r/>", 4);
    CU_ASSERT_EQUAL(mapper_map(mp, recs[i], &ctx, b, reason, sizeof reason), 0);
    batch_commit_record(b, 0);
    char *text = rows_text(b);
    batch_free(b);
    mapper_free(mp);
    xmlFreeDoc(d);
    return text;
}

static void test_key_converted_once(void)
{
    mapping *m = unit_mapping(MAP_KEY2);
    const char *one = "<r id=\" 042 \" c=\" ab \"/>";
    char *alone = map_text(m, one, 0, -1), *routed = map_text(m, one, 0, 0);
    CU_ASSERT_STRING_EQUAL(alone, "42|ab\n");
    CU_ASSERT_STRING_EQUAL(routed, alone);
    free(alone);
    free(routed);
    /* routed A, mapped B: B's own key */
    const char *two = "<r id=\"1\" c=\"x\"/><r id=\"2\" c=\"y\"/>";
    char *other = map_text(m, two, 1, 0);
    CU_ASSERT_STRING_EQUAL(other, "2|y\n");
    free(other);
    mapping_free(m);

    m = unit_mapping(MAP_EACH);
    const char *each = "<r c=\" zz \"><i n=\"07\" note=\" a \"/><i n=\"8\"/></r>";
    alone = map_text(m, each, 0, -1);
    routed = map_text(m, each, 0, 0);
    CU_ASSERT_STRING_EQUAL(alone, "zz|7|a\nzz|8|-\n");
    CU_ASSERT_STRING_EQUAL(routed, alone);
    free(alone);
    free(routed);
    mapping_free(m);
}

/* ---- the preload, on SQLite ---- */

/* Connects c to a fresh SQLite file in the test directory named name, with
 * the statements in sql run and committed. */
static void open_db(db_conn *c, db_target *t, const char *name, const char *const *sql)
{
    char file[4200];
    snprintf(file, sizeof file, "%s/%s", unit_tmpdir(), name);
    unlink(file);
    db_target_sqlite(t, file);
    mig_err err;
    int rc = dialect_connect(c, t, &err);
    if (rc != 0)
        fprintf(stderr, "\n  connect: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    for (; *sql; sql++) {
        rc = db_exec(c, *sql, &err);
        if (rc != 0)
            fprintf(stderr, "\n  %s: %s\n", *sql, err.msg);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    CU_ASSERT_EQUAL_FATAL(db_commit(c, &err), 0);
}

/* 300 stored keys over 3 workers: each key in exactly the set of the lane
 * its route names, none twice, every set complete. */
static void test_preload_split(void)
{
    mapping *m = unit_mapping(MAP_ROUTE);
    static const char *const sql[] = {
        "CREATE TABLE app (id INTEGER PRIMARY KEY)",
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 300) "
        "INSERT INTO app SELECT i FROM s",
        NULL};
    db_conn c;
    db_target t;
    open_db(&c, &t, "split.db", sql);
    keyset *ks[3];
    uint64_t total = 0;
    for (size_t w = 0; w < 3; w++) {
        ks[w] = keyset_new(8);
        settle_preload_result res;
        mig_err err;
        CU_ASSERT_EQUAL(settle_preload(&c, &m->tables[0], m->nroute, ks[w], w, 3, 0, &res, &err),
                        0);
        CU_ASSERT_EQUAL(res.scanned, 300);
        CU_ASSERT_EQUAL(res.complete, 1);
        CU_ASSERT_EQUAL(res.kept, keyset_size(ks[w]));
        CU_ASSERT(res.kept > 50 && res.kept < 150); /* a spread, not all */
        total += res.kept;
    }
    CU_ASSERT_EQUAL(total, 300);
    for (int64_t id = 1; id <= 300; id++) {
        strbuf kb = STRBUF_INIT;
        settle_key_value(&kb, VC_INT, id, 0, NULL, 0);
        char rec[64];
        snprintf(rec, sizeof rec, "<r id=\"%03lld\"/>", (long long)id);
        size_t lane = settle_lane(route_of(m, rec), 3);
        for (size_t w = 0; w < 3; w++)
            CU_ASSERT_EQUAL(keyset_contains(ks[w], kb.buf, kb.len), w == lane);
        sb_free(&kb);
    }
    for (size_t w = 0; w < 3; w++)
        keyset_free(ks[w]);
    db_disconnect(&c);
    db_target_free(&t);
    mapping_free(m);
}

/* A budget too small for the keys stops the scan: the set stays within it
 * and says it is not complete. */
static void test_preload_budget(void)
{
    mapping *m = unit_mapping(MAP_ROUTE);
    static const char *const sql[] = {
        "CREATE TABLE app (id INTEGER PRIMARY KEY)",
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000) "
        "INSERT INTO app SELECT i FROM s",
        NULL};
    db_conn c;
    db_target t;
    open_db(&c, &t, "budget.db", sql);
    keyset *ks = keyset_new(8);
    size_t budget = keyset_memory(ks) * 4;
    settle_preload_result res;
    mig_err err;
    CU_ASSERT_EQUAL(settle_preload(&c, &m->tables[0], m->nroute, ks, 0, 1, budget, &res, &err), 0);
    CU_ASSERT_EQUAL(res.complete, 0);
    CU_ASSERT(res.kept > 0 && res.kept < 20000);
    CU_ASSERT(keyset_memory(ks) <= budget);
    keyset_free(ks);
    db_disconnect(&c);
    db_target_free(&t);
    mapping_free(m);
}

/* A stored key our converter refuses (too long for varchar(4)) cannot be
 * named: the set keeps the others and is not complete. */
static void test_preload_unreadable(void)
{
    mapping *m = unit_mapping(MAP_KEY2);
    static const char *const sql[] = {
        "CREATE TABLE app (id INTEGER, code VARCHAR(4), PRIMARY KEY (id, code))",
        "INSERT INTO app VALUES (1, 'ab'), (2, 'cd'), (3, 'toolong')",
        NULL};
    db_conn c;
    db_target t;
    open_db(&c, &t, "unreadable.db", sql);
    keyset *ks = keyset_new(0);
    settle_preload_result res;
    mig_err err;
    CU_ASSERT_EQUAL(settle_preload(&c, &m->tables[0], m->nroute, ks, 0, 1, 0, &res, &err), 0);
    CU_ASSERT_EQUAL(res.scanned, 3);
    CU_ASSERT_EQUAL(res.kept, 2);
    CU_ASSERT_EQUAL(res.complete, 0);
    strbuf kb = STRBUF_INIT;
    settle_key_value(&kb, VC_INT, 2, 0, NULL, 0);
    settle_key_value(&kb, VC_TEXT, 0, 0, "cd", 2);
    CU_ASSERT(keyset_contains(ks, kb.buf, kb.len));
    sb_free(&kb);
    keyset_free(ks);
    db_disconnect(&c);
    db_target_free(&t);
    mapping_free(m);
}

/* Float keys are not preloaded: read back through the SQLite ODBC driver,
 * 0.30000000000000004 comes back as 0.3, which would then pass an incoming
 * 0.3 off as a duplicate. */
static void test_preload_float_key(void)
{
    static const char map[] =
        "<mapping xmlns=\"urn:migrate:mapping:1\" record=\"/a/r\">"
        "<table name=\"fk\" key=\"x\"><column name=\"x\" path=\"@x\" type=\"float\"/>"
        "</table></mapping>";
    mapping *m = unit_mapping(map);
    static const char *const sql[] = {"CREATE TABLE fk (x REAL PRIMARY KEY)",
                                      "INSERT INTO fk VALUES (0.30000000000000004)", NULL};
    db_conn c;
    db_target t;
    open_db(&c, &t, "floatkey.db", sql);
    keyset *ks = keyset_new(8);
    settle_preload_result res;
    mig_err err;
    CU_ASSERT_EQUAL(settle_preload(&c, &m->tables[0], m->nroute, ks, 0, 1, 0, &res, &err), 0);
    CU_ASSERT_EQUAL(res.complete, 0);
    CU_ASSERT_EQUAL(keyset_size(ks), 0);
    keyset_free(ks);
    db_disconnect(&c);
    db_target_free(&t);
    mapping_free(m);
}

int main(void)
{
    UNIT_BEGIN("settle");
    UNIT_TEST(test_route_converted);
    UNIT_TEST(test_key_converted_once);
    UNIT_TEST(test_preload_split);
    UNIT_TEST(test_preload_budget);
    UNIT_TEST(test_preload_unreadable);
    UNIT_TEST(test_preload_float_key);
    UNIT_END();
}
