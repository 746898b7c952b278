/* test_ledger.c — the ledger's parts without a run: SHA-256 against the
 * FIPS 180-4 examples, ordinal ranges (parse, merge, lookup in increasing
 * order), and a file's life in an SQLite target: first seen, the rows of
 * two committed batches read back as ranges by the next run, then loaded
 * and skipped with its date, and --reload forgetting it. */
#include "config.h"

#include <string.h>

#include "batch.h"
#include "db.h"
#include "dialect.h"
#include "ledger.h"
#include "mapping.h"
#include "sha256.h"
#include "unit.h"

/* Returns the hex SHA-256 of s repeated n times (plain: the plain C one,
 * else the one the build uses, libcrypto's when it has it). */
static const char *sha_with(const char *s, int n, int plain)
{
    static char hex[65];
    sha256_ctx c;
    if (plain)
        sha256_init_plain(&c);
    else
        sha256_init(&c);
    for (int i = 0; i < n; i++)
        sha256_update(&c, s, strlen(s));
    sha256_hex(&c, hex);
    return hex;
}

/* The plain C SHA-256, then the one the build uses. */
static int plain_round;
static const char *sha(const char *s, int n)
{
    return sha_with(s, n, plain_round);
}

static void test_sha256(void)
{
    for (plain_round = 0; plain_round < 2; plain_round++) {
    CU_ASSERT_STRING_EQUAL(sha("", 1),
                           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CU_ASSERT_STRING_EQUAL(sha("abc", 1),
                           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CU_ASSERT_STRING_EQUAL(sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1),
                           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a' fed 10 at a time: partial blocks across updates */
    CU_ASSERT_STRING_EQUAL(sha("aaaaaaaaaa", 100000),
                           "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
}

/* Returns the settled prefix over a and b. */
static uint64_t prefix2(const ledger_ranges *a, const ledger_ranges *b)
{
    const ledger_ranges *sets[] = {a, b};
    return ledger_prefix(sets, 2);
}

static void test_ranges(void)
{
    ledger_ranges r;
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&r, "7-9,1-3"), 0);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&r, "4,12"), 0);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&r, ""), 0);
    ledger_ranges_normalize(&r);
    CU_ASSERT_EQUAL(r.n, 3); /* 1-4, 7-9, 12 */
    int want[14] = {0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0};
    for (uint64_t s = 0; s < 14; s++)
        CU_ASSERT_EQUAL(ledger_ranges_has(&r, s), want[s]);
    /* the committed prefix over loaded and duplicate ordinals */
    ledger_ranges d;
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(prefix2(&r, &d), 4);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&d, "5-6,10-11,20"), 0);
    ledger_ranges_normalize(&d);
    CU_ASSERT_EQUAL(prefix2(&r, &d), 12); /* 1-4 5-6 7-9 10-11 12 */
    CU_ASSERT_EQUAL(prefix2(&d, &r), 12);
    CU_ASSERT_EQUAL(ledger_count_upto(&r, 8), 6);
    CU_ASSERT_EQUAL(ledger_count_upto(&d, 8), 2);
    CU_ASSERT_EQUAL(ledger_count_upto(&d, 100), 5);
    ledger_ranges none;
    memset(&none, 0, sizeof none);
    CU_ASSERT_EQUAL(prefix2(&none, &d), 0); /* 1 is missing */
    free(d.r);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&r, "3-1"), -1);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&r, "1;2"), -1);
    CU_ASSERT_EQUAL(ledger_ranges_parse(&r, "x"), -1);
    free(r.r);
}

static const char MAP[] =
    "<mapping xmlns='urn:migrate:mapping:1' record='/r/x'>"
    "<table name='a' key='id'><column name='id' path='@id' type='int'/></table>"
    "</mapping>";

/* Adds record seq of file f to b. */
static void add(batch *b, uint32_t f, uint64_t seq)
{
    batch_begin_record(b, f, seq, seq, "<x/>", 4);
    value *v = batch_add_row(b, 0);
    v[0].len = 0;
    v[0].n.i = (int64_t)seq;
    batch_commit_record(b, seq);
}

/* Returns the ranges of r as text "1-4,7". */
static const char *text(const ledger_ranges *r)
{
    static char buf[200];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%llu-%llu", i ? "," : "",
                              (unsigned long long)r->r[i][0], (unsigned long long)r->r[i][1]);
    return buf;
}

/* Returns 0 after connecting c to a new SQLite database `name` in the test's
 * directory (target t) and creating the ledger there; -1 otherwise. */
static int open_ledger(const char *name, db_target *t, db_conn *c)
{
    mig_err err;
    char dbfile[4200];
    snprintf(dbfile, sizeof dbfile, "%s/%s", unit_tmpdir(), name);
    db_target_sqlite(t, dbfile);
    t->dialect_name = "sqlite";
    memset(c, 0, sizeof *c);
    if (dialect_connect(c, t, &err) != 0 || ledger_create(c, 1, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static void test_file_life(void)
{
    mig_err err;
    mapping *m = mapping_load_memory(MAP, sizeof MAP - 1, "m.xml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    db_target t;
    db_conn c;
    CU_ASSERT_EQUAL_FATAL(open_ledger("ledger.db", &t, &c), 0);
    CU_ASSERT_EQUAL(ledger_create(&c, 1, &err), 0); /* exists: nothing to do */

    const char *mh = "m0";
    ledger_file lf[2];
    memset(lf, 0, sizeof lf);
    strcpy(lf[0].hash, "h0");
    strcpy(lf[1].hash, "h1");
    lf[0].tracked = lf[1].tracked = 1;
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &lf[0], &err), 0);
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "b.xml", 0, &lf[1], &err), 0);
    CU_ASSERT_EQUAL(lf[0].skip, 0);
    CU_ASSERT_EQUAL(lf[0].loaded.n, 0);

    /* one batch: a.xml 1,2,3,5 (3 a duplicate), b.xml 1; a second: a.xml 4 */
    batch *b = batch_new(m, 10);
    add(b, 0, 1);
    add(b, 0, 2);
    add(b, 0, 3);
    add(b, 0, 5);
    add(b, 1, 1);
    resume_mark mk = {5, 100, 7, 20, "<?xml version='1.0'?><r a='\xC3\xA9'>", 0, 1};
    mk.prolog_len = strlen(mk.prolog);
    batch_mark_record(b, 0, &mk);
    resume_mark mb = {1, 50, 3, 4, "<r>", 3, 1};
    batch_mark_record(b, 1, &mb);
    unsigned char dup[5] = {0, 0, 1, 0, 0};
    CU_ASSERT_EQUAL(ledger_note_batch(&c, mh, lf, b, 0, 5, dup, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    batch_reset(b);
    add(b, 0, 4);
    resume_mark m4 = {4, 80, 6, 2, "<r>", 3, 2};
    batch_mark_record(b, 0, &m4);
    unsigned char nodup[1] = {0};
    CU_ASSERT_EQUAL(ledger_note_batch(&c, mh, lf, b, 0, 1, nodup, &err), 0);
    db_rollback(&c); /* never committed: not in the ledger */

    /* 4 is missing: the mark after 5 is not usable */
    ledger_file again;
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "h0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.start.seq, 0);
    ledger_file_free(&again);
    /* b.xml's is: record 1 committed */
    strcpy(again.hash, "h1");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "b.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.start.seq, 1);
    CU_ASSERT_EQUAL(again.start.offset, 50);
    CU_ASSERT_EQUAL(again.start_loaded, 1);
    CU_ASSERT_STRING_EQUAL(again.start.prolog, "<r>");
    ledger_file_free(&again);

    /* the next run reads back what was committed */
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "h0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a-renamed.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.skip, 0);
    CU_ASSERT_STRING_EQUAL(text(&again.loaded), "1-2,5-5");
    CU_ASSERT_STRING_EQUAL(text(&again.dups), "3-3");
    ledger_file_free(&again);

    /* 4 committed now (and its mark): reading starts after 5, whose mark
     * comes back as it was written */
    CU_ASSERT_EQUAL(ledger_note_batch(&c, mh, lf, b, 0, 1, nodup, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    batch_free(b);
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "h0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.start.seq, 5);
    CU_ASSERT_EQUAL(again.start.offset, 100);
    CU_ASSERT_EQUAL(again.start.line, 7);
    CU_ASSERT_EQUAL(again.start.col, 20);
    CU_ASSERT_EQUAL(again.start.prolog_len, mk.prolog_len);
    CU_ASSERT_STRING_EQUAL(again.start.prolog, mk.prolog);
    CU_ASSERT_EQUAL(again.start_loaded, 4);
    CU_ASSERT_EQUAL(again.start_dups, 1);
    ledger_file_free(&again);
    /* another mapping knows nothing of it */
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "h0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, "m1", "a.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.loaded.n, 0);
    ledger_file_free(&again);

    /* complete: skipped next time, with its date; --reload forgets it */
    ledger_counts n = {5, 4, 1, 0};
    CU_ASSERT_EQUAL(ledger_file_close(&c, mh, &lf[0], 1, &n, &err), 0);
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "h0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.skip, 1);
    CU_ASSERT_EQUAL(strlen(again.loaded_at), 20);
    CU_ASSERT_EQUAL(again.loaded.n, 0);
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 1, &again, &err), 0);
    CU_ASSERT_EQUAL(again.skip, 0);
    CU_ASSERT_EQUAL(again.loaded.n, 0);
    CU_ASSERT_EQUAL(again.start.seq, 0);
    ledger_file_free(&again);
    /* b.xml is still half done */
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "h1");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "b.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(again.skip, 0);
    CU_ASSERT_STRING_EQUAL(text(&again.loaded), "1-1");
    ledger_file_free(&again);

    db_disconnect(&c);
    db_target_free(&t);
    mapping_free(m);
}

/* ledger_reject_fn: appends "seq line reason xml;" to the strbuf arg. */
static int collect(void *arg, const char *name, uint64_t seq, uint64_t line, const char *reason,
                   const char *xml, size_t xml_len, mig_err *err)
{
    (void)err;
    sb_printf(arg, "%s %llu %llu %s %.*s;", name, (unsigned long long)seq,
              (unsigned long long)line, reason, (int)xml_len, xml);
    return 0;
}

/* Rejects in the ledger: carried by a batch before its records, noted with
 * the range that commits their next record (not with another range of the
 * same batch), or alone for a record the database refused; they count in
 * the settled prefix, so the mark after them is usable, and come back in
 * order.  Statements that must change a row fail when it is gone; DELETEs
 * of nothing are fine; a cancelled session refuses every statement. */
static void test_rejects(void)
{
    mig_err err;
    mapping *m = mapping_load_memory(MAP, sizeof MAP - 1, "m.xml", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    db_target t;
    db_conn c;
    CU_ASSERT_EQUAL_FATAL(open_ledger("rejects.db", &t, &c), 0);
    const char *mh = "m0";
    ledger_file lf;
    memset(&lf, 0, sizeof lf);
    strcpy(lf.hash, "r0");
    lf.tracked = 1;
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &lf, &err), 0);

    /* records 1 and 4 rejected by the mapper, 2, 3, 5 in a batch, 6 refused
     * by the database; the mark after 5 */
    batch *b = batch_new(m, 10);
    add(b, 0, 2);
    batch_add_reject(b, 0, 1, 11, "bad date", 8, "<x a='1'/>", 10);
    add(b, 0, 3);
    add(b, 0, 5);
    batch_add_reject(b, 0, 4, 14, "too long", 8, "", 0);
    add(b, 0, 6);
    resume_mark mk = {6, 600, 16, 5, "<r>", 3, 1};
    batch_mark_record(b, 0, &mk);
    unsigned char dup[4] = {0, 0, 0, 0};
    /* records 2-3 commit: reject 1 goes with them, reject 4 does not */
    CU_ASSERT_EQUAL(ledger_note_batch(&c, mh, &lf, b, 0, 2, dup, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    ledger_file again;
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "r0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &again, &err), 0);
    CU_ASSERT_STRING_EQUAL(text(&again.rejects), "1-1");
    CU_ASSERT_EQUAL(again.start.seq, 0); /* no mark yet */
    ledger_file_free(&again);
    /* record 5 commits with reject 4; record 6 is refused alone (and its
     * mark is written: the record is settled) */
    CU_ASSERT_EQUAL(ledger_note_batch(&c, mh, &lf, b, 2, 3, dup, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    CU_ASSERT_EQUAL(ledger_note_rejected(&c, mh, &lf, b, 3, "database refused: x", &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "r0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &again, &err), 0);
    CU_ASSERT_STRING_EQUAL(text(&again.loaded), "2-3,5-5");
    CU_ASSERT_STRING_EQUAL(text(&again.rejects), "1-1,4-4,6-6");
    CU_ASSERT_EQUAL(again.start.seq, 6);
    CU_ASSERT_EQUAL(again.start.offset, 600);
    CU_ASSERT_EQUAL(again.start_loaded, 3);
    CU_ASSERT_EQUAL(again.start_rejects, 3);
    strbuf got = STRBUF_INIT;
    CU_ASSERT_EQUAL(ledger_each_reject(&c, mh, &again, "b.xml", 1, 6, collect, &got, &err), 3);
    CU_ASSERT_STRING_EQUAL(sb_str(&got), "b.xml 1 11 bad date <x a='1'/>;b.xml 4 14 too long ;"
                                         "b.xml 6 6 database refused: x <x/>;");
    sb_reset(&got);
    CU_ASSERT_EQUAL(ledger_each_reject(&c, mh, &again, "b.xml", 2, 5, collect, &got, &err), 1);
    CU_ASSERT_STRING_EQUAL(sb_str(&got), "b.xml 4 14 too long ;");
    sb_free(&got);
    ledger_file_free(&again);
    batch_free(b);

    /* complete: everything noted goes (a DELETE of nothing is fine too) */
    ledger_counts n = {6, 3, 0, 3};
    CU_ASSERT_EQUAL(ledger_file_close(&c, mh, &lf, 1, &n, &err), 0);
    CU_ASSERT_EQUAL(ledger_file_close(&c, mh, &lf, 1, &n, &err), 0);
    long long left = -1;
    CU_ASSERT_EQUAL(db_query_int(&c, "SELECT COUNT(*) FROM " LEDGER_REJECTS, &left, &err), 0);
    CU_ASSERT_EQUAL(left, 0);
    db_rollback(&c);
    /* the file's row gone under the run: closing it changes nothing, an error */
    CU_ASSERT_EQUAL(db_exec(&c, "DELETE FROM " LEDGER_FILES, &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    CU_ASSERT_EQUAL(ledger_file_close(&c, mh, &lf, 0, &n, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "is gone"));
    /* a killed run's reject left behind: a file new to the ledger clears it */
    CU_ASSERT_EQUAL(db_exec(&c, "INSERT INTO " LEDGER_REJECTS " (content_hash, mapping_hash, "
                                "seq, line_no, reason, record_xml) VALUES ('r0', 'm0', 1, 1, "
                                "'x', '')", &err), 0);
    CU_ASSERT_EQUAL(db_commit(&c, &err), 0);
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "r0");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "a.xml", 0, &again, &err), 0);
    CU_ASSERT_EQUAL(db_query_int(&c, "SELECT COUNT(*) FROM " LEDGER_REJECTS, &left, &err), 0);
    CU_ASSERT_EQUAL(left, 0);
    db_rollback(&c);
    ledger_file_free(&again);

    /* a cancelled session (the run stops) runs no ledger statement */
    db_cancel k;
    db_cancel_init(&k);
    c.cancel = &k;
    db_cancel_request(&k);
    memset(&again, 0, sizeof again);
    strcpy(again.hash, "r1");
    CU_ASSERT_EQUAL(ledger_file_open(&c, mh, "c.xml", 0, &again, &err), -1);
    CU_ASSERT_EQUAL(c.last_class, DBE_CANCELLED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cancelled"));
    ledger_file_free(&again);
    c.cancel = NULL;
    db_cancel_destroy(&k);

    ledger_file_free(&lf);
    db_disconnect(&c);
    db_target_free(&t);
    mapping_free(m);
}

int main(void)
{
    UNIT_BEGIN("ledger");
    UNIT_TEST(test_sha256);
    UNIT_TEST(test_ranges);
    UNIT_TEST(test_file_life);
    UNIT_TEST(test_rejects);
    UNIT_END();
}
