/* test_batch.c — building batches: rows per record, abort rolls back every
 * table and the arena, reset keeps memory, row ranges per record. */
#include "config.h"

#include <string.h>

#include "batch.h"
#include "mapping.h"
#include "unit.h"

static const char MAP[] =
    "<mapping xmlns='urn:migrate:mapping:1' record='/r/x'>"
    "<table name='a' key='id'><column name='id' path='@id' type='int'/>"
    "<column name='s' path='s' type='varchar(10)'/></table>"
    "<table name='b' each='c' key='id'><column name='id' path='@id' type='int'/></table>"
    "</mapping>";

static mapping *load(void)
{
    mig_err err;
    mapping *m = mapping_load_memory(MAP, sizeof MAP - 1, "m.xml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    return m;
}

/* Adds a record with one row in a and n rows in b; commits unless abort. */
static void add(batch *b, int id, int n, int abort_it)
{
    char xml[32];
    snprintf(xml, sizeof xml, "<x id='%d'/>", id);
    batch_begin_record(b, 0, (uint64_t)id * 10, (uint64_t)id, xml, strlen(xml));
    value *v = batch_add_row(b, 0);
    v[0].len = 0;
    v[0].n.i = id;
    char s[16];
    int sl = snprintf(s, sizeof s, "s%d", id);
    v[1].off = batch_put_text(b, s, (size_t)sl);
    v[1].len = sl;
    for (int k = 0; k < n; k++) {
        value *w = batch_add_row(b, 1);
        w[0].len = 0;
        w[0].n.i = id * 100 + k;
    }
    if (abort_it)
        batch_abort_record(b);
    else
        batch_commit_record(b, (uint64_t)id);
}

static void test_rows_and_ranges(void)
{
    mapping *m = load();
    batch *b = batch_new(m, 4);
    add(b, 1, 2, 0);
    add(b, 2, 0, 0);
    add(b, 3, 3, 0);
    CU_ASSERT_EQUAL(b->nrec, 3);
    CU_ASSERT_EQUAL(b->tabs[0].nrows, 3);
    CU_ASSERT_EQUAL(b->tabs[1].nrows, 5);
    CU_ASSERT_EQUAL(batch_first_row(b, 1, 0), 0);
    CU_ASSERT_EQUAL(batch_first_row(b, 1, 1), 2);
    CU_ASSERT_EQUAL(batch_first_row(b, 1, 2), 2);
    CU_ASSERT_EQUAL(batch_first_row(b, 1, 3), 5);
    const value *r = batch_row(b, 0, 2);
    CU_ASSERT_EQUAL(r[0].n.i, 3);
    CU_ASSERT_EQUAL(r[1].len, 2);
    CU_ASSERT_NSTRING_EQUAL(batch_text(b, &r[1]), "s3", 2);
    CU_ASSERT_EQUAL(batch_row(b, 1, 4)[0].n.i, 302);
    CU_ASSERT_EQUAL(b->recs[2].line, 30);
    CU_ASSERT_EQUAL(b->recs[2].route, 3);
    CU_ASSERT_NSTRING_EQUAL(b->arena + b->recs[1].xml_off, "<x id='2'/>", b->recs[1].xml_len);
    batch_free(b);
    mapping_free(m);
}

static void test_abort_rolls_back(void)
{
    mapping *m = load();
    batch *b = batch_new(m, 4);
    add(b, 1, 1, 0);
    size_t arena = b->arena_len;
    add(b, 2, 3, 1);
    CU_ASSERT_EQUAL(b->nrec, 1);
    CU_ASSERT_EQUAL(b->tabs[0].nrows, 1);
    CU_ASSERT_EQUAL(b->tabs[1].nrows, 1);
    CU_ASSERT_EQUAL(b->arena_len, arena);
    add(b, 3, 1, 0);
    CU_ASSERT_EQUAL(b->nrec, 2);
    CU_ASSERT_EQUAL(batch_row(b, 1, 1)[0].n.i, 300);
    CU_ASSERT_EQUAL(batch_first_row(b, 1, 1), 1);
    CU_ASSERT_EQUAL(b->recs[1].seq, 3);
    batch_free(b);
    mapping_free(m);
}

static void test_growth_and_reset(void)
{
    mapping *m = load();
    batch *b = batch_new(m, 500);
    for (int i = 0; i < 500; i++)
        add(b, i, 7, 0); /* 3500 child rows: more than the initial capacity */
    CU_ASSERT_EQUAL(b->tabs[1].nrows, 3500);
    CU_ASSERT_EQUAL(batch_row(b, 1, 3499)[0].n.i, 499 * 100 + 6);
    batch_reset(b);
    CU_ASSERT_EQUAL(b->nrec, 0);
    CU_ASSERT_EQUAL(b->tabs[1].nrows, 0);
    CU_ASSERT_EQUAL(b->arena_len, 0);
    add(b, 9, 1, 0);
    CU_ASSERT_EQUAL(batch_row(b, 1, 0)[0].n.i, 900);
    batch_free(b);
    mapping_free(m);
}

int main(void)
{
    UNIT_BEGIN("batch");
    UNIT_TEST(test_rows_and_ranges);
    UNIT_TEST(test_abort_rolls_back);
    UNIT_TEST(test_growth_and_reset);
    UNIT_END();
}
