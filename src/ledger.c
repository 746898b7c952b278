/* ledger.c — the ledger in the target database (see ledger.h): its tables,
 * the content hash of an input, what earlier runs committed of a file, and
 * the row each committed batch leaves.
 *
 * The tables are described as mapping tables (map_table) and created by the
 * dialect's own create_table_sql, so the three targets need nothing new:
 * text is varchar, counts bigint, times varchar(20) in ISO 8601 UTC (the
 * same text on every target), the ordinal ranges nvarchar(max) / text.
 * Every statement here is plain SQL with parameters the three accept. */
#include "config.h"
#include "ledger.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dialect.h"
#include "sha256.h"
#include "strbuf.h"

#define NAME_MAX_BYTES 1000 /* the files table's name column */

/* ---- hashing ---- */

int ledger_can_track(const char *name)
{
    struct stat st;
    return strcmp(name, "-") != 0 && stat(name, &st) == 0 && S_ISREG(st.st_mode);
}

int ledger_hash_file(const char *file, char hex[65], uint64_t *size, mig_err *err)
{
    FILE *f = fopen(file, "rb");
    if (!f)
        return err_set(err, MIG_ENOINPUT, "cannot open %s: %s", file, strerror(errno));
    sha256_ctx c;
    sha256_init(&c);
    size_t cap = 1 << 20, n;
    unsigned char *buf = xmalloc(cap);
    while ((n = fread(buf, 1, cap, f)) > 0)
        sha256_update(&c, buf, n);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad)
        return err_set(err, MIG_ENOINPUT, "%s: read error", file);
    *size = c.len;
    sha256_hex(&c, hex);
    return 0;
}

void ledger_utc_now(char buf[24])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- ordinal ranges ---- */

/* Append [lo,hi] to r. */
static void ranges_add(ledger_ranges *r, uint64_t lo, uint64_t hi)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->r = xrealloc(r->r, r->cap * sizeof *r->r);
    }
    r->r[r->n][0] = lo;
    r->r[r->n][1] = hi;
    r->n++;
}

/* qsort: by first ordinal. */
static int range_cmp(const void *a, const void *b)
{
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

void ledger_ranges_normalize(ledger_ranges *r)
{
    if (r->n == 0)
        return;
    qsort(r->r, r->n, sizeof *r->r, range_cmp);
    size_t o = 0;
    for (size_t i = 1; i < r->n; i++) {
        if (r->r[i][0] <= r->r[o][1] + 1) {
            if (r->r[i][1] > r->r[o][1])
                r->r[o][1] = r->r[i][1];
        } else {
            o++;
            r->r[o][0] = r->r[i][0];
            r->r[o][1] = r->r[i][1];
        }
    }
    r->n = o + 1;
    r->cur = 0;
}

int ledger_ranges_parse(ledger_ranges *r, const char *s)
{
    while (*s) {
        char *end;
        errno = 0;
        uint64_t lo = strtoull(s, &end, 10), hi = lo;
        if (end == s || errno)
            return -1;
        s = end;
        if (*s == '-') {
            hi = strtoull(++s, &end, 10);
            if (end == s || errno || hi < lo)
                return -1;
            s = end;
        }
        ranges_add(r, lo, hi);
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

uint64_t ledger_prefix(const ledger_ranges *const *sets, size_t nsets)
{
    uint64_t n = 0;
    size_t at[8] = {0};
    assert(nsets <= sizeof at / sizeof *at);
    for (;;) {
        uint64_t next = n;
        for (size_t s = 0; s < nsets; s++) {
            const ledger_ranges *r = sets[s];
            /* ranges that end at or before n add nothing */
            while (at[s] < r->n && r->r[at[s]][1] <= n)
                at[s]++;
            if (at[s] < r->n && r->r[at[s]][0] <= n + 1 && r->r[at[s]][1] > next)
                next = r->r[at[s]][1];
        }
        if (next == n)
            return n;
        n = next;
    }
}

uint64_t ledger_count_upto(const ledger_ranges *r, uint64_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < r->n && r->r[i][0] <= n; i++)
        c += (r->r[i][1] < n ? r->r[i][1] : n) - r->r[i][0] + 1;
    return c;
}

int ledger_ranges_has(ledger_ranges *r, uint64_t seq)
{
    while (r->cur < r->n && r->r[r->cur][1] < seq)
        r->cur++;
    return r->cur < r->n && r->r[r->cur][0] <= seq;
}

void ledger_file_free(ledger_file *lf)
{
    free(lf->loaded.r);
    free(lf->dups.r);
    free(lf->rejects.r);
    free((char *)lf->start.prolog);
    memset(&lf->loaded, 0, sizeof lf->loaded);
    memset(&lf->dups, 0, sizeof lf->dups);
    memset(&lf->rejects, 0, sizeof lf->rejects);
    memset(&lf->start, 0, sizeof lf->start);
}

/* ---- statements with parameters ---- */

/* One parameter: text (s != NULL) or a bigint. */
typedef struct lparam {
    const char *s;
    long long i;
    SQLLEN ind;
} lparam;

#define TXT(x) {(x), 0, 0}
#define INT(x) {NULL, (long long)(x), 0}

/* SQL_NO_DATA from an execute, site by site.  It is no error here, and no
 * proof of anything either: SQLite's and PostgreSQL's drivers answer it to
 * an UPDATE or DELETE that matched no row, FreeTDS (the SQL Server
 * sessions run under NOCOUNT) to every statement that returns no result,
 * an INSERT that inserted included (measured: ledger.sh on the TDS server).
 *   INSERT ... VALUES   inserts its row or fails: SQL_NO_DATA is success.
 *   DELETE of a file's batch rows, marks, rejects: there may be none.
 *   UPDATE of the file's row: it must be there; ledger_file_open read it in
 *     the same transaction, ledger_file_close asks first (file_row_there),
 *     so a row gone under a run is an error, not a silent no-op. */

/* Returns a statement bound to params p[0..n) (db_prepare: --query-timeout
 * set), or SQL_NULL_HSTMT with err, for sql to run directly through the db
 * layer (db_run, db_execute_direct), where a stop cancels it.  Directly,
 * not prepared: each of these runs once, and psqlODBC keeps a prepared one
 * as a named server statement that freeing the handle DEALLOCATEs in a
 * round trip (and a savepoint) of its own, twice per batch for the
 * ledger's rows. */
static SQLHSTMT bind_params(db_conn *c, lparam *p, size_t n, mig_err *err)
{
    SQLHSTMT h = db_prepare(c, NULL, err);
    if (h == SQL_NULL_HSTMT)
        return h;
    for (size_t k = 0; k < n; k++) {
        SQLRETURN r;
        if (p[k].s) {
            /* typed as the dialect types an nvarchar(n) / nvarchar(max)
             * value (UTF-8 in, Unicode on SQL Server: a varchar parameter
             * there is the server's code page, and a record's XML in it
             * failed the session's next statement) */
            size_t len = strlen(p[k].s);
            col_type t = {len > 4000 ? CK_NVARCHAR_MAX : CK_NVARCHAR, len ? (int)len : 1, 0, 0};
            SQLSMALLINT ctype = SQL_C_CHAR, sqltype = SQL_VARCHAR, digits = 0;
            SQLULEN size = (SQLULEN)t.length;
            if (c->d)
                c->d->ptype(&t, &ctype, &sqltype, &size, &digits);
            p[k].ind = (SQLLEN)len;
            r = SQLBindParameter(h, (SQLUSMALLINT)(k + 1), SQL_PARAM_INPUT, SQL_C_CHAR, sqltype,
                                 size, 0, (SQLPOINTER)p[k].s, (SQLLEN)len + 1, &p[k].ind);
        } else {
            p[k].ind = 0;
            r = SQLBindParameter(h, (SQLUSMALLINT)(k + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT,
                                 SQL_BIGINT, 19, 0, &p[k].i, 0, &p[k].ind);
        }
        if (!SQL_SUCCEEDED(r)) {
            db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "ledger");
            db_stmt_free(h);
            return SQL_NULL_HSTMT;
        }
    }
    return h;
}

/* Returns 0 after running a statement that returns no rows (SQL_NO_DATA as
 * above) and draining what the driver still holds of it (FreeTDS: freeing
 * a statement with results pending cancels, and the cancel then hits the
 * connection's next statement: "Operation was cancelled"), or -1. */
static int exec(db_conn *c, const char *sql, lparam *p, size_t n, mig_err *err)
{
    SQLHSTMT h = bind_params(c, p, n, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    int rc = db_execute_direct(c, h, sql, NULL, err, "ledger");
    db_stmt_free(h);
    return rc;
}

/* Returns 1 after reading column col of the current row as text into out
 * (NULL reads as ""), or -1 with err. */
static int get_text(db_conn *c, SQLHSTMT h, SQLUSMALLINT col, strbuf *out, mig_err *err)
{
    sb_reset(out);
    char buf[4096];
    for (;;) {
        SQLLEN ind = 0;
        SQLRETURN r = SQLGetData(h, col, SQL_C_CHAR, buf, sizeof buf, &ind);
        if (r == SQL_NO_DATA)
            return 1;
        if (!SQL_SUCCEEDED(r))
            return db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "ledger");
        if (ind == SQL_NULL_DATA)
            return 1;
        size_t got = ind == SQL_NO_TOTAL || ind >= (SQLLEN)sizeof buf ? sizeof buf - 1
                                                                        : (size_t)ind;
        sb_append(out, buf, got);
        if (r == SQL_SUCCESS)
            return 1;
    }
}

#define QUERY_MAX_COLS 4

/* Called with each row of a query, its columns as text; returns 0 for the
 * next row, 1 to stop, -1 with err. */
typedef int (*row_fn)(void *arg, strbuf *col, mig_err *err);

/* The one fetch loop: returns the number of rows handed to fn after
 * running sql with params p[0..n) and reading ncols columns of each row as
 * text, or -1 with err (fn's, or the database's). */
static long long query(db_conn *c, const char *sql, lparam *p, size_t n, size_t ncols,
                       row_fn fn, void *arg, mig_err *err)
{
    assert(ncols <= QUERY_MAX_COLS);
    SQLHSTMT h = bind_params(c, p, n, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    SQLRETURN r = db_run(c, h, sql, err);
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA) {
        db_run_failed(c, h, err, "ledger");
        db_stmt_free(h);
        return -1;
    }
    strbuf col[QUERY_MAX_COLS] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    long long rows = 0;
    int rc = 0;
    while (rc == 0 && r != SQL_NO_DATA && SQL_SUCCEEDED(r = SQLFetch(h))) {
        for (size_t k = 0; k < ncols && rc == 0; k++)
            if (get_text(c, h, (SQLUSMALLINT)(k + 1), &col[k], err) < 0)
                rc = -1;
        rows++;
        if (rc == 0)
            rc = fn(arg, col, err);
    }
    if (rc == 0 && r != SQL_NO_DATA)
        rc = db_run_failed(c, h, err, "ledger");
    /* the rest (fn stopped early) and any further result: see exec */
    while (SQL_SUCCEEDED(SQLMoreResults(h)))
        ;
    SQLFreeStmt(h, SQL_CLOSE);
    for (size_t k = 0; k < QUERY_MAX_COLS; k++)
        sb_free(&col[k]);
    db_stmt_free(h);
    return rc < 0 ? -1 : rows;
}

/* row_fn: the first row's columns, copied into arg (strbuf[ncols]); stops. */
static int first_row(void *arg, strbuf *col, mig_err *err)
{
    (void)err;
    strbuf *out = arg;
    for (size_t k = 0; k < QUERY_MAX_COLS; k++) {
        sb_reset(&out[k]);
        sb_append(&out[k], col[k].buf ? col[k].buf : "", col[k].len);
    }
    return 1;
}

/* ---- the tables ---- */

/* A column of a ledger table. */
static map_column col(const char *name, col_kind kind, int length, int key)
{
    map_column m;
    memset(&m, 0, sizeof m);
    m.name = (char *)name;
    m.type.kind = kind;
    m.type.length = length;
    m.is_key = key;
    m.required = key;
    return m;
}

/* Returns 0 after creating table (cols, the first nkeys the key) unless it
 * exists, or -1 with err.  Two runs may race to create it: the dialect's
 * create_lock serialises them where it has one, and a loser's error is
 * forgiven when the table is there afterwards. */
static int create_one(db_conn *c, const char *name, map_column *cols, size_t ncols,
                      size_t nkeys, mig_err *err)
{
    size_t keys[4] = {0, 1, 2, 3};
    map_table t;
    memset(&t, 0, sizeof t);
    t.name = (char *)name;
    t.cols = cols;
    t.ncols = ncols;
    t.nkeys = nkeys;
    t.key_cols = keys;
    strbuf sql = STRBUF_INIT;
    /* there already: nothing to create (a role that may not create tables
     * uses the ledger an owner made, e.g. with init-db) */
    long long n;
    mig_err probe;
    sb_printf(&sql, "SELECT COUNT(*) FROM %s WHERE 1 = 0", name);
    int there = db_query_int(c, sb_str(&sql), &n, &probe) == 0;
    db_rollback(c);
    sb_reset(&sql);
    if (there) {
        sb_free(&sql);
        return 0;
    }
    c->d->create_table_sql(&sql, &t);
    int rc = c->d->create_lock ? c->d->create_lock(c, err) : 0;
    if (rc == 0)
        rc = db_exec(c, sb_str(&sql), err);
    rc = rc == 0 ? db_commit(c, err) : rc;
    if (rc != 0) {
        db_rollback(c);
        sb_reset(&sql);
        sb_printf(&sql, "SELECT COUNT(*) FROM %s", name);
        mig_err e2;
        if (db_query_int(c, sb_str(&sql), &n, &e2) == 0)
            rc = 0; /* another run created it meanwhile */
        db_rollback(c);
    }
    if (rc != 0)
        err_prefix(err, "cannot create the ledger table %s", name);
    sb_free(&sql);
    return rc;
}

int ledger_create(db_conn *c, int all, mig_err *err)
{
    map_column files[] = {
        col("content_hash", CK_VARCHAR, 64, 1), col("mapping_hash", CK_VARCHAR, 64, 1),
        col("name", CK_NVARCHAR, NAME_MAX_BYTES, 0), col("size", CK_BIGINT, 0, 0),
        col("state", CK_VARCHAR, 16, 0), col("records_read", CK_BIGINT, 0, 0),
        col("loaded", CK_BIGINT, 0, 0), col("duplicates", CK_BIGINT, 0, 0),
        col("rejected", CK_BIGINT, 0, 0), col("first_run", CK_VARCHAR, 20, 0),
        col("last_run", CK_VARCHAR, 20, 0), col("loaded_at", CK_VARCHAR, 20, 0),
    };
    map_column batches[] = {
        col("content_hash", CK_VARCHAR, 64, 1), col("mapping_hash", CK_VARCHAR, 64, 1),
        col("seq_lo", CK_BIGINT, 0, 1), col("seq_hi", CK_BIGINT, 0, 0),
        col("loaded_seqs", CK_NVARCHAR_MAX, 0, 0), col("dup_seqs", CK_NVARCHAR_MAX, 0, 0),
        col("committed_at", CK_VARCHAR, 20, 0),
    };
    map_column marks[] = {
        col("content_hash", CK_VARCHAR, 64, 1), col("mapping_hash", CK_VARCHAR, 64, 1),
        col("seq", CK_BIGINT, 0, 1), col("byte_offset", CK_BIGINT, 0, 0),
        col("line_no", CK_BIGINT, 0, 0), col("col_no", CK_BIGINT, 0, 0),
        col("prolog", CK_NVARCHAR_MAX, 0, 0),
    };
    map_column rejects[] = {
        col("content_hash", CK_VARCHAR, 64, 1), col("mapping_hash", CK_VARCHAR, 64, 1),
        col("seq", CK_BIGINT, 0, 1), col("line_no", CK_BIGINT, 0, 0),
        col("reason", CK_NVARCHAR_MAX, 0, 0), col("record_xml", CK_NVARCHAR_MAX, 0, 0),
    };
    map_column locks[] = {
        col("lock_name", CK_VARCHAR, 64, 1), col("host", CK_VARCHAR, 255, 0),
        col("pid", CK_BIGINT, 0, 0), col("started", CK_VARCHAR, 20, 0),
    };
    if (!all)
        return 0; /* --no-ledger: the lock's holder row is written if the table is there */
    if (create_one(c, LEDGER_LOCKS, locks, sizeof locks / sizeof *locks, 1, err) != 0)
        return -1;
    if ((create_one(c, LEDGER_FILES, files, sizeof files / sizeof *files, 2, err) != 0 ||
                create_one(c, LEDGER_BATCHES, batches, sizeof batches / sizeof *batches, 3,
                           err) != 0 ||
                create_one(c, LEDGER_MARKS, marks, sizeof marks / sizeof *marks, 3, err) != 0 ||
                create_one(c, LEDGER_REJECTS, rejects, sizeof rejects / sizeof *rejects, 3,
                           err) != 0))
        return -1;
    return 0;
}

/* ---- a file's life ---- */

/* Copy name into buf, cut to NAME_MAX_BYTES bytes on a UTF-8 boundary. */
static void cut_name(char *buf, const char *name)
{
    size_t n = strlen(name);
    if (n > NAME_MAX_BYTES) {
        n = NAME_MAX_BYTES;
        while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(buf, name, n);
    buf[n] = '\0';
}

/* row_fn: a batch row's loaded and duplicate ordinals added to the
 * ledger_file arg. */
static int batch_ranges_row(void *arg, strbuf *col, mig_err *err)
{
    ledger_file *lf = arg;
    for (int k = 0; k < 2; k++)
        if (ledger_ranges_parse(k == 0 ? &lf->loaded : &lf->dups, sb_str(&col[k])) != 0)
            return err_set(err, MIG_EDB, "ledger: malformed ranges in %s: %.60s",
                           LEDGER_BATCHES, sb_str(&col[k]));
    return 0;
}

/* row_fn: a reject row's ordinal added to the ledger_file arg. */
static int reject_row(void *arg, strbuf *col, mig_err *err)
{
    ledger_file *lf = arg;
    return ledger_ranges_parse(&lf->rejects, sb_str(&col[0])) == 0
               ? 0
               : err_set(err, MIG_EDB, "ledger: malformed ordinal in %s: %.60s",
                         LEDGER_REJECTS, sb_str(&col[0]));
}

/* Returns 0 after reading what earlier runs settled of lf (its batch rows
 * and rejects) into its ranges, or -1. */
static int read_settled(db_conn *c, const char *map_hash, ledger_file *lf, mig_err *err)
{
    lparam p[] = {TXT(lf->hash), TXT(map_hash)};
    int rc = query(c, "SELECT loaded_seqs, dup_seqs FROM " LEDGER_BATCHES
                      " WHERE content_hash = ? AND mapping_hash = ?", p, 2, 2, batch_ranges_row, lf,
                   err) < 0 ||
                     query(c, "SELECT seq FROM " LEDGER_REJECTS
                              " WHERE content_hash = ? AND mapping_hash = ?", p, 2, 1,
                           reject_row, lf, err) < 0
                 ? -1
                 : 0;
    ledger_ranges_normalize(&lf->loaded);
    ledger_ranges_normalize(&lf->dups);
    ledger_ranges_normalize(&lf->rejects);
    return rc;
}

/* Returns 0 after setting lf->start to the largest mark of lf at or
 * before the end of its settled prefix (none: seq 0), or -1. */
static int read_start(db_conn *c, const char *map_hash, ledger_file *lf, mig_err *err)
{
    const ledger_ranges *sets[] = {&lf->loaded, &lf->dups, &lf->rejects};
    uint64_t k = ledger_prefix(sets, 3), seq;
    if (k == 0)
        return 0;
    lparam p[] = {TXT(lf->hash), TXT(map_hash), INT(k)};
    strbuf v[QUERY_MAX_COLS] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    int rc = 0;
    if (query(c, "SELECT MAX(seq) FROM " LEDGER_MARKS " WHERE content_hash = ? AND "
                 "mapping_hash = ? AND seq <= ?", p, 3, 1, first_row, v, err) < 0)
        rc = -1;
    seq = rc == 0 ? strtoull(sb_str(&v[0]), NULL, 10) : 0;
    p[2].i = (long long)seq;
    long long got = 0;
    if (seq > 0 && (got = query(c, "SELECT byte_offset, line_no, col_no, prolog FROM "
                                   LEDGER_MARKS " WHERE content_hash = ? AND mapping_hash = ? "
                                   "AND seq = ?", p, 3, 4, first_row, v, err)) < 0)
        rc = -1;
    uint64_t nl = ledger_count_upto(&lf->loaded, seq), nd = ledger_count_upto(&lf->dups, seq),
             nr = ledger_count_upto(&lf->rejects, seq);
    /* got 0: the mark went meanwhile */
    if (rc == 0 && got > 0 && nl + nd + nr == seq) {
        lf->start.seq = seq;
        lf->start.offset = strtoull(sb_str(&v[0]), NULL, 10);
        lf->start.line = strtoull(sb_str(&v[1]), NULL, 10);
        lf->start.col = strtoull(sb_str(&v[2]), NULL, 10);
        lf->start.prolog_len = v[3].len;
        lf->start.prolog = sb_detach(&v[3]);
        lf->start_loaded = nl;
        lf->start_dups = nd;
        lf->start_rejects = nr;
    }
    for (size_t i = 0; i < QUERY_MAX_COLS; i++)
        sb_free(&v[i]);
    return rc;
}

/* Returns 0 after deleting what earlier runs noted of file key[0..2)
 * (hash, mapping hash) row by row: batches, marks, rejects; or -1. */
static int forget_settled(db_conn *c, lparam *key, mig_err *err)
{
    static const char *const del[] = {
        "DELETE FROM " LEDGER_BATCHES " WHERE content_hash = ? AND mapping_hash = ?",
        "DELETE FROM " LEDGER_MARKS " WHERE content_hash = ? AND mapping_hash = ?",
        "DELETE FROM " LEDGER_REJECTS " WHERE content_hash = ? AND mapping_hash = ?",
    };
    for (size_t i = 0; i < sizeof del / sizeof *del; i++)
        if (exec(c, del[i], key, 2, err) != 0)
            return -1;
    return 0;
}

int ledger_file_open(db_conn *c, const char *map_hash, const char *name, int reload,
                     ledger_file *lf, mig_err *err)
{
    char now[24], cut[NAME_MAX_BYTES + 1];
    ledger_utc_now(now);
    cut_name(cut, name);
    lf->skip = 0;
    lparam key[] = {TXT(lf->hash), TXT(map_hash)};
    strbuf row[QUERY_MAX_COLS] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    long long found = query(c, "SELECT state, loaded_at FROM " LEDGER_FILES
                               " WHERE content_hash = ? AND mapping_hash = ?",
                            key, 2, 2, first_row, row, err);
    if (found > 0 && !reload && strcmp(sb_str(&row[0]), "loaded") == 0) {
        lf->skip = 1;
        snprintf(lf->loaded_at, sizeof lf->loaded_at, "%s", sb_str(&row[1]));
    }
    for (size_t i = 0; i < QUERY_MAX_COLS; i++)
        sb_free(&row[i]);
    if (found < 0)
        goto fail;
    if (lf->skip) {
        lparam p[] = {TXT(now), TXT(lf->hash), TXT(map_hash)};
        if (exec(c, "UPDATE " LEDGER_FILES " SET last_run = ? WHERE content_hash = ? AND "
                    "mapping_hash = ?", p, 3, err) != 0)
            goto fail;
    } else if (found) {
        lparam p[] = {TXT(cut), TXT(now), TXT(lf->hash), TXT(map_hash)};
        if (exec(c, "UPDATE " LEDGER_FILES " SET name = ?, state = 'loading', last_run = ? "
                    "WHERE content_hash = ? AND mapping_hash = ?", p, 4, err) != 0)
            goto fail;
        if (reload && forget_settled(c, key, err) != 0)
            goto fail;
        if (!reload && (read_settled(c, map_hash, lf, err) != 0 ||
                        read_start(c, map_hash, lf, err) != 0))
            goto fail;
    } else {
        lparam p[] = {TXT(lf->hash), TXT(map_hash), TXT(cut), INT(lf->size), TXT(now), TXT(now)};
        if (exec(c, "INSERT INTO " LEDGER_FILES " (content_hash, mapping_hash, name, size, "
                    "state, records_read, loaded, duplicates, rejected, first_run, last_run) "
                    "VALUES (?, ?, ?, ?, 'loading', 0, 0, 0, 0, ?, ?)", p, 6,
                 err) != 0)
            goto fail;
        /* rows a killed run left of a file whose row was dropped since
         * would collide with this run's (same keys): gone first */
        if (forget_settled(c, key, err) != 0)
            goto fail;
    }
    if (db_commit(c, err) != 0)
        goto fail;
    return 0;
fail:
    db_rollback(c);
    return err_prefix(err, "ledger: %s", name);
}

static int note_mark(db_conn *c, const char *map_hash, const ledger_file *lf, const batch *b,
                     uint32_t f, size_t lo, size_t hi, strbuf *tmp, mig_err *err);

/* Returns 0 after writing the ledger row of a reject of file lf, or -1. */
static int note_reject(db_conn *c, const char *map_hash, const ledger_file *lf, uint64_t seq,
                       uint64_t line, const char *reason, size_t reason_len, const char *xml,
                       size_t xml_len, strbuf *tmp, mig_err *err)
{
    sb_reset(tmp);
    sb_append(tmp, reason, reason_len);
    size_t at = tmp->len + 1;
    sb_putc(tmp, '\0');
    sb_append(tmp, xml, xml_len);
    lparam p[] = {TXT(lf->hash), TXT(map_hash), INT(seq), INT(line), TXT(tmp->buf),
                  TXT(tmp->buf + at)};
    return exec(c, "INSERT INTO " LEDGER_REJECTS " (content_hash, mapping_hash, seq, line_no, "
                   "reason, record_xml) VALUES (?, ?, ?, ?, ?, ?)", p, 6, err);
}

/* Returns 0 after writing the rows of the rejects b carries before its
 * records [lo,hi) (those whose file is tracked), or -1. */
static int note_carried(db_conn *c, const char *map_hash, const ledger_file *files,
                        const batch *b, size_t lo, size_t hi, strbuf *tmp, mig_err *err)
{
    for (size_t i = 0; i < b->nrejects; i++) {
        const batch_reject *r = &b->rejects[i];
        if (r->before < lo || r->before >= hi || !files[r->file].tracked)
            continue;
        if (note_reject(c, map_hash, &files[r->file], r->seq, r->line, b->arena + r->reason_off,
                        r->reason_len, b->arena + r->xml_off, r->xml_len, tmp, err) != 0)
            return -1;
    }
    return 0;
}

int ledger_note_rejected(db_conn *c, const char *map_hash, const ledger_file *files,
                         const batch *b, size_t rec, const char *reason, mig_err *err)
{
    const batch_rec *br = &b->recs[rec];
    strbuf tmp = STRBUF_INIT;
    int rc = 0;
    if (files[br->file].tracked)
        rc = note_reject(c, map_hash, &files[br->file], br->seq, br->line, reason,
                         strlen(reason), b->arena + br->xml_off, br->xml_len, &tmp, err);
    if (rc == 0)
        rc = note_carried(c, map_hash, files, b, rec, rec + 1, &tmp, err);
    /* the batch's mark after this record stays usable: the record is settled */
    if (rc == 0 && files[br->file].tracked)
        rc = note_mark(c, map_hash, &files[br->file], b, br->file, rec, rec + 1, &tmp, err);
    sb_free(&tmp);
    return rc;
}

/* A reject_fn and its argument, for each_reject. */
typedef struct reject_copy {
    const char *name;
    ledger_reject_fn fn;
    void *arg;
} reject_copy;

/* row_fn: a reject row (seq, line, reason, xml) handed to the copier. */
static int copy_row(void *arg, strbuf *col, mig_err *err)
{
    reject_copy *rc = arg;
    return rc->fn(rc->arg, rc->name, strtoull(sb_str(&col[0]), NULL, 10),
                  strtoull(sb_str(&col[1]), NULL, 10), sb_str(&col[2]), sb_str(&col[3]),
                  col[3].len, err) != 0
               ? -1
               : 0;
}

long long ledger_each_reject(db_conn *c, const char *map_hash, const ledger_file *lf,
                             const char *name, uint64_t lo, uint64_t hi, ledger_reject_fn fn,
                             void *arg, mig_err *err)
{
    reject_copy rc = {name, fn, arg};
    lparam p[] = {TXT(lf->hash), TXT(map_hash), INT(lo), INT(hi)};
    long long n = query(c, "SELECT seq, line_no, reason, record_xml FROM " LEDGER_REJECTS
                           " WHERE content_hash = ? AND mapping_hash = ? AND seq >= ? AND "
                           "seq <= ? ORDER BY seq", p, 4, 4, copy_row, &rc, err);
    db_rollback(c); /* a read transaction must not hold the writers back */
    return n;
}

/* Append "a" or "a-z" to out, comma-separated. */
static void put_range(strbuf *out, uint64_t a, uint64_t z)
{
    if (out->len)
        sb_putc(out, ',');
    if (a == z)
        sb_printf(out, "%" PRIu64, a);
    else
        sb_printf(out, "%" PRIu64 "-%" PRIu64, a, z);
}

/* Append to out, as ranges, the ordinals of the records of file f in
 * [lo,hi) whose duplicate flag (dup[i - lo]) is want. */
static void seq_ranges(strbuf *out, const batch *b, uint32_t f, size_t lo, size_t hi,
                       const unsigned char *dup, int want)
{
    int open = 0;
    uint64_t a = 0, z = 0;
    for (size_t i = lo; i < hi; i++) {
        if (b->recs[i].file != f || (dup[i - lo] != 0) != want)
            continue;
        uint64_t s = b->recs[i].seq;
        if (open && s == z + 1) {
            z = s;
            continue;
        }
        if (open)
            put_range(out, a, z);
        a = z = s;
        open = 1;
    }
    if (open)
        put_range(out, a, z);
}

/* Returns 0 after writing b's mark of file f when its record is among
 * records [lo,hi) (the ones this transaction commits), or -1. */
static int note_mark(db_conn *c, const char *map_hash, const ledger_file *lf, const batch *b,
                     uint32_t f, size_t lo, size_t hi, strbuf *tmp, mig_err *err)
{
    const batch_mark *m = batch_file_mark(b, f);
    if (!m)
        return 0;
    size_t i = lo;
    while (i < hi && !(b->recs[i].file == f && b->recs[i].seq == m->seq))
        i++;
    if (i == hi)
        return 0;
    sb_reset(tmp);
    sb_append(tmp, b->arena + m->prolog_off, m->prolog_len);
    lparam p[] = {TXT(lf->hash), TXT(map_hash), INT(m->seq), INT(m->offset), INT(m->line),
                  INT(m->col), TXT(sb_str(tmp))};
    return exec(c, "INSERT INTO " LEDGER_MARKS " (content_hash, mapping_hash, seq, byte_offset, "
                   "line_no, col_no, prolog) VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7,
                err);
}

int ledger_note_batch(db_conn *c, const char *map_hash, const ledger_file *files,
                      const batch *b, size_t lo, size_t hi, const unsigned char *rec_dup,
                      mig_err *err)
{
    char now[24];
    ledger_utc_now(now);
    strbuf ld = STRBUF_INIT, dp = STRBUF_INIT;
    int rc = 0;
    for (size_t i = lo; i < hi && rc == 0;) {
        uint32_t f = b->recs[i].file;
        size_t j = i;
        uint64_t smin = b->recs[i].seq, smax = smin;
        for (; j < hi && b->recs[j].file == f; j++) {
            if (b->recs[j].seq < smin)
                smin = b->recs[j].seq;
            if (b->recs[j].seq > smax)
                smax = b->recs[j].seq;
        }
        if (files && files[f].tracked) {
            sb_reset(&ld);
            sb_reset(&dp);
            seq_ranges(&ld, b, f, i, j, rec_dup + (i - lo), 0);
            seq_ranges(&dp, b, f, i, j, rec_dup + (i - lo), 1);
            lparam p[] = {TXT(files[f].hash), TXT(map_hash), INT(smin), INT(smax),
                          TXT(sb_str(&ld)), TXT(sb_str(&dp)), TXT(now)};
            rc = exec(c, "INSERT INTO " LEDGER_BATCHES " (content_hash, mapping_hash, seq_lo, "
                         "seq_hi, loaded_seqs, dup_seqs, committed_at) VALUES (?, ?, ?, ?, ?, "
                         "?, ?)", p, 7, err);
            if (rc == 0)
                rc = note_mark(c, map_hash, &files[f], b, f, i, j, &ld, err);
        }
        i = j;
    }
    if (rc == 0 && files)
        rc = note_carried(c, map_hash, files, b, lo, hi, &ld, err);
    sb_free(&ld);
    sb_free(&dp);
    return rc;
}

/* Returns 1 when file key[0..2)'s row is in the files table, 0 when it is
 * not (err set), -1 with err. */
static int file_row_there(db_conn *c, lparam *key, mig_err *err)
{
    strbuf v[QUERY_MAX_COLS] = {STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT};
    long long n = query(c, "SELECT COUNT(*) FROM " LEDGER_FILES " WHERE content_hash = ? AND "
                           "mapping_hash = ?", key, 2, 1, first_row, v, err);
    int there = n > 0 && strtoull(sb_str(&v[0]), NULL, 10) > 0;
    for (size_t i = 0; i < QUERY_MAX_COLS; i++)
        sb_free(&v[i]);
    if (n < 0)
        return -1;
    if (!there) {
        c->last_class = DBE_FATAL;
        err_set(err, MIG_EDB, "ledger: the row of the file is gone from %s", LEDGER_FILES);
    }
    return there;
}

int ledger_file_close(db_conn *c, const char *map_hash, const ledger_file *lf, int complete,
                      const ledger_counts *n, mig_err *err)
{
    char now[24];
    ledger_utc_now(now);
    lparam key[] = {TXT(lf->hash), TXT(map_hash)};
    lparam p[] = {TXT(complete ? "loaded" : "loading"), INT(n->read), INT(n->loaded),
                  INT(n->duplicates), INT(n->rejected), TXT(now), TXT(lf->hash),
                  TXT(map_hash)};
    /* loaded_at is set only when the file is complete; its row must be
     * there (the run opened it): a close that changes nothing is an error */
    int rc = file_row_there(c, key, err) == 1 ? 0 : -1;
    if (rc == 0)
        rc = exec(c, "UPDATE " LEDGER_FILES " SET state = ?, records_read = ?, loaded = ?, "
                     "duplicates = ?, rejected = ?, last_run = ? WHERE content_hash = ? AND "
                     "mapping_hash = ?",
                  p, 8, err);
    if (rc == 0 && complete)
        rc = exec(c, "UPDATE " LEDGER_FILES " SET loaded_at = ? WHERE content_hash = ? AND "
                     "mapping_hash = ?", (lparam[]){TXT(now), TXT(lf->hash), TXT(map_hash)},
                  3, err);
    if (rc == 0 && complete)
        rc = forget_settled(c, key, err);
    if (rc == 0)
        rc = db_commit(c, err);
    if (rc != 0) {
        db_rollback(c);
        err_prefix(err, "ledger: %s", lf->hash);
    }
    return rc;
}
