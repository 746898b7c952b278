/* dialect_pgsql.c — PostgreSQL through psqlODBC ("PostgreSQL Unicode").
 *
 * "x" quoting, native types (tinyint widens to smallint, bit is boolean,
 * decimal is numeric(p,s), datetime is timestamp), ON CONFLICT for the skip
 * and update policies.  Rows and the existence check's keys travel as one
 * array literal per column, cast in the SQL to an array of the column's type
 * (bit values as 1/0, which boolean accepts); the first table's INSERT
 * under the skip policy also names the rows it passed over (load_rows_found:
 * no existence check of its own), and a row holding a large text goes alone,
 * the text in pieces (pgsql_load_large_row).  Where the shared machinery
 * binds single values instead, each is bound with the SQL type of its column
 * so that the server receives typed parameters (a varchar parameter would
 * not be assigned to a date or uuid column); bit values then travel as the
 * text "1"/"0", which boolean accepts and an integer parameter is not. */
#include "config.h"
#include "dialect.h"

#include <stdlib.h>
#include <string.h>

/* Rows travel as one array literal per column (dialect_load_columns): one
 * INSERT ... SELECT * FROM unnest(...) per table and batch.  Measured
 * against the multi-row VALUES of 200 rows it replaced (bench/ab.sh,
 * 100,000 records, -w 2 -b 500): client CPU 2.62 -> 2.06 s, the server's
 * 3.43 -> 2.30 s (bench/ab-figures.txt). */

/* ---- session ---- */

/* Returns 1 for PostgreSQL's SQL_DBMS_NAME. */
static int pgsql_matches(const char *dbms)
{
    return strstr(dbms, "PostgreSQL") != NULL;
}

/* ---- names and types ---- */

/* Append PostgreSQL's native DDL type for t. */
static void pgsql_type_ddl(strbuf *out, const col_type *t)
{
    switch (t->kind) {
    case CK_TINYINT:
    case CK_SMALLINT:
        sb_puts(out, "smallint");
        break;
    case CK_INT:
        sb_puts(out, "integer");
        break;
    case CK_BIGINT:
        sb_puts(out, "bigint");
        break;
    case CK_BIT:
        sb_puts(out, "boolean");
        break;
    case CK_DECIMAL:
        sb_printf(out, "numeric(%d,%d)", t->precision, t->scale);
        break;
    case CK_FLOAT:
        sb_puts(out, "double precision");
        break;
    case CK_VARCHAR:
    case CK_NVARCHAR:
        sb_printf(out, "varchar(%d)", t->length);
        break;
    case CK_CHAR:
        sb_printf(out, "char(%d)", t->length);
        break;
    case CK_NVARCHAR_MAX:
        sb_puts(out, "text");
        break;
    case CK_DATE:
        sb_puts(out, "date");
        break;
    case CK_TIME:
        sb_puts(out, "time"); /* microseconds: a 7th digit is refused (frac_digits) */
        break;
    case CK_DATETIME:
        sb_puts(out, "timestamp");
        break;
    case CK_UUID:
        sb_puts(out, "uuid");
        break;
    }
}

/* CREATE TABLE IF NOT EXISTS with PostgreSQL's types. */
static void pgsql_create_table(strbuf *out, const map_table *t)
{
    dialect_create_table_common(out, &dialect_pgsql, t);
}

/* The existence check on the quoted table (exists_sql); each parameter in
 * the VALUES is cast to its column's type, since nothing else there gives it
 * one (psqlODBC leaves it to the server, which would make it text). */
static void pgsql_exists_sql(strbuf *out, const map_table *t, size_t nkeys)
{
    strbuf q = STRBUF_INIT;
    dialect_quote_table(&q, &dialect_pgsql, t->name);
    dialect_exists_common(out, &dialect_pgsql, t, sb_str(&q), nkeys, DIALECT_EXISTS_CAST);
    sb_free(&q);
}

/* ---- loading ---- */

/* Append the type of an array that carries values of t's column to the
 * server: t's own type without its length, precision or scale (text for
 * every text kind), so that the INSERT's assignment to the column checks
 * them as a typed parameter was checked (a value too long is an error, not
 * cut as an explicit cast to varchar(n) would cut it). */
static void pgsql_array_base(strbuf *out, const col_type *t)
{
    switch (t->kind) {
    case CK_DECIMAL:
        sb_puts(out, "numeric");
        break;
    case CK_VARCHAR:
    case CK_NVARCHAR:
    case CK_CHAR:
    case CK_NVARCHAR_MAX:
        sb_puts(out, "text");
        break;
    default:
        pgsql_type_ddl(out, t);
        break;
    }
}

/* The INSERT of whole columns (a dialect_columns_fn):
 * INSERT INTO t (a, b) SELECT * FROM unnest(CAST(? AS integer[]),
 * CAST(? AS text[])) AS v ON CONFLICT (a) DO NOTHING.  One statement of a
 * few parameters for any number of rows: psqlODBC formats one text per
 * column instead of every value, and the server parses and plans a short
 * statement instead of a VALUES list of hundreds of rows (bench/PROFILE.md). */
static void pgsql_insert_columns_sql(strbuf *out, const dialect *d, const map_table *t,
                                     dup_policy p)
{
    sb_puts(out, "INSERT INTO ");
    dialect_quote_table(out, d, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, d, t, NULL);
    sb_puts(out, ") SELECT * FROM unnest(");
    for (size_t c = 0; c < t->ncols; c++) {
        sb_puts(out, c ? ", CAST(? AS " : "CAST(? AS ");
        pgsql_array_base(out, &t->cols[c].type);
        sb_puts(out, "[])");
    }
    sb_puts(out, ") AS v");
    dialect_on_conflict(out, d, t, p);
}

/* Append unnest(CAST(? AS integer[]), ...) WITH ORDINALITY AS v(k1, ...,
 * o): t's key columns, each as an array of its column's own type. */
static void pgsql_keys_unnest(strbuf *out, const map_table *t)
{
    sb_puts(out, "unnest(");
    for (size_t k = 0; k < t->nkeys; k++) {
        sb_puts(out, k ? ", CAST(? AS " : "CAST(? AS ");
        pgsql_type_ddl(out, &t->cols[t->key_cols[k]].type);
        sb_puts(out, "[])");
    }
    sb_puts(out, ") WITH ORDINALITY AS v(");
    for (size_t k = 0; k < t->nkeys; k++)
        sb_printf(out, "k%zu, ", k + 1);
    sb_puts(out, "o)");
}

/* Append "x.id = v.k1 AND ...": t's key columns in x equal to
 * pgsql_keys_unnest's. */
static void pgsql_keys_match(strbuf *out, const dialect *d, const map_table *t)
{
    for (size_t k = 0; k < t->nkeys; k++) {
        sb_puts(out, k ? " AND x." : "x.");
        d->quote_ident(out, t->cols[t->key_cols[k]].name);
        sb_printf(out, " = v.k%zu", k + 1);
    }
}

/* The existence check taking the key columns whole (a
 * dialect_exists_columns_fn): SELECT v.o FROM unnest(CAST(? AS integer[]))
 * WITH ORDINALITY AS v(k1, o) CROSS JOIN LATERAL (SELECT 1 FROM t x WHERE
 * x.id = v.k1 LIMIT 1) AS f.  The keys are cast to their columns' own
 * types, as exists_sql casts them, so the comparison is the column's (and
 * its index serves it).  Not WHERE EXISTS: the planner turns that into a
 * hash semi-join that reads the whole table at every batch for as long as
 * it holds fewer than some 100,000 rows (its cost model prices 500 index
 * probes above a scan of that size; perf: most of the server's time in a
 * load of 100,000 records); the LIMIT keeps the subquery apart, one index
 * probe per key. */
static void pgsql_exists_columns_sql(strbuf *out, const dialect *d, const map_table *t)
{
    sb_puts(out, "SELECT v.o FROM ");
    pgsql_keys_unnest(out, t);
    sb_puts(out, " CROSS JOIN LATERAL (SELECT 1 FROM ");
    dialect_quote_table(out, d, t->name);
    sb_puts(out, " x WHERE ");
    pgsql_keys_match(out, d, t);
    sb_puts(out, " LIMIT 1) AS f");
}

/* find_existing: the keys as arrays (dialect_find_existing_columns). */
static int pgsql_find_existing(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                               const size_t *rows, size_t n, unsigned char *found, mig_err *err)
{
    return dialect_find_existing_columns(c, st, b, t, rows, n, found, pgsql_exists_columns_sql,
                                         err);
}

/* The INSERT that names the rows it did not insert (a dialect_columns_fn,
 * for dialect_load_columns_found; p is DUP_SKIP):
 *   WITH i AS (INSERT INTO t (id, b) SELECT * FROM unnest(CAST(? AS
 *     integer[]), CAST(? AS text[])) AS v ON CONFLICT (id) DO NOTHING
 *     RETURNING id)
 *   SELECT -count(*) FROM i UNION ALL SELECT v.o FROM unnest(CAST(? AS
 *     integer[])) WITH ORDINALITY AS v(k1, o) WHERE NOT EXISTS (SELECT 1
 *     FROM i x WHERE x.id = v.k1)
 * the key columns' arrays bound twice, the second time cast as the
 * existence check casts them.  A row ON CONFLICT passed over met its key
 * stored: before the statement, or committed by another session meanwhile
 * (the INSERT waited for it); either way its record is a duplicate now.  So
 * the statement names the rows without a probe of the table of its own: a
 * load of new keys costs the INSERT alone, a rerun one index probe per row
 * as the existence check did.  (Two rows of one key the worker's bytes told
 * apart both match the row inserted: neither is named, and settle.c sees a
 * row unaccounted for.) */
static void pgsql_insert_found_sql(strbuf *out, const dialect *d, const map_table *t,
                                   dup_policy p)
{
    sb_puts(out, "WITH i AS (");
    pgsql_insert_columns_sql(out, d, t, p);
    sb_puts(out, " RETURNING ");
    for (size_t k = 0; k < t->nkeys; k++) {
        sb_puts(out, k ? ", " : "");
        d->quote_ident(out, t->cols[t->key_cols[k]].name);
    }
    sb_puts(out, ") SELECT -count(*) FROM i UNION ALL SELECT v.o FROM ");
    pgsql_keys_unnest(out, t);
    sb_puts(out, " WHERE NOT EXISTS (SELECT 1 FROM i x WHERE ");
    pgsql_keys_match(out, d, t);
    sb_puts(out, ")");
}

/* The standard types, except: tinyint goes as smallint (PostgreSQL has no
 * tinyint); bit as the text "1"/"0" (boolean refuses an integer
 * parameter); decimal as SQL_NUMERIC; every text kind as varchar. */
static void pgsql_ptype(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                        SQLULEN *size, SQLSMALLINT *digits)
{
    dialect_ptype_standard(t, ctype, sqltype, size, digits);
    switch (t->kind) {
    case CK_TINYINT:
        *sqltype = SQL_SMALLINT;
        *size = 5;
        break;
    case CK_BIT:
        *ctype = SQL_C_CHAR;
        break;
    case CK_DECIMAL:
        *sqltype = SQL_NUMERIC;
        break;
    case CK_NVARCHAR:
    case CK_CHAR:
        *sqltype = SQL_VARCHAR;
        break;
    case CK_NVARCHAR_MAX:
        *sqltype = SQL_LONGVARCHAR;
        *size = 1u << 30;
        break;
    default:
        break;
    }
}

/* ---- a row of large values ---- */

/* Bytes of a large text one statement carries at most (pgsql_load_large_row). */
#define PGSQL_PIECE ((size_t)2 << 20)

/* Returns 1 when value v of t's column col goes in pieces. */
static int in_pieces(const map_table *t, size_t col, const value *v)
{
    return v->len >= 0 && (size_t)v->len > PGSQL_PIECE &&
           type_class(&t->cols[col].type) == VC_TEXT;
}

/* Returns the length of the piece of the n bytes at p that starts there: at
 * most PGSQL_PIECE bytes, ending before a UTF-8 continuation byte (each
 * piece must be text of its own). */
static size_t piece_len(const char *p, size_t n)
{
    size_t k = n < PGSQL_PIECE ? n : PGSQL_PIECE;
    while (k < n && k > 1 && ((unsigned char)p[k] & 0xC0) == 0x80)
        k--;
    return k;
}

/* Run sql on h (parameters bound) and store in tid the ctid it returns, ""
 * when it returns no row; returns 0, or -1 with err. */
static int run_tid(db_conn *c, SQLHSTMT h, const char *sql, const char *what, char *tid,
                   size_t cap, mig_err *err)
{
    SQLRETURN r = db_run(c, h, sql, err);
    SQLLEN ind = 0;
    int rc = 0;
    tid[0] = '\0';
    if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
        return db_run_failed(c, h, err, what);
    if (r != SQL_NO_DATA && (r = SQLFetch(h)) != SQL_NO_DATA &&
        (!SQL_SUCCEEDED(r) || !SQL_SUCCEEDED(SQLGetData(h, 1, SQL_C_CHAR, tid, (SQLLEN)cap, &ind)) ||
         ind == SQL_NULL_DATA))
        rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
    SQLFreeStmt(h, SQL_CLOSE);
    return rc;
}

/* Load row `row` of table t alone, under policy, each text longer than
 * PGSQL_PIECE sent in pieces: INSERT ... VALUES (?, '') ON CONFLICT ...
 * RETURNING ctid, then UPDATE t SET note = note || CAST(? AS text) WHERE
 * ctid = CAST(? AS tid) RETURNING ctid for each piece, bound where it lies
 * in the batch.  psqlODBC copies a parameter twice before libpq copies the
 * whole message into its output buffer, which it keeps at that size for the
 * connection's life: a 15 MB value sent whole costs 48 MB of driver
 * buffers, 16 MB of them for good on every connection that sent one; in
 * pieces some 2 MB each.  The server rewrites the value at each piece (8
 * times for a 16 MB text), which a row this rare can afford.  Stores the
 * rows changed in *changed; returns 0, or -1 with err. */
static int pgsql_load_large_row(db_conn *c, const batch *b, size_t t, size_t row,
                                dup_policy policy, SQLLEN *changed, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    const value *v = batch_row(b, t, row);
    size_t ncols = mt->ncols, nsmall = 0, n = 0;
    size_t *order = xcalloc(ncols, sizeof *order);
    for (size_t col = 0; col < ncols; col++) /* the other values first: db_params binds them */
        if (!in_pieces(mt, col, &v[col]))
            order[nsmall++] = col;
    for (size_t col = 0; col < ncols; col++)
        if (in_pieces(mt, col, &v[col]))
            order[nsmall + n++] = col;
    strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "INSERT INTO ");
    dialect_quote_table(&sql, &dialect_pgsql, mt->name);
    sb_puts(&sql, " (");
    for (size_t i = 0; i < ncols; i++) {
        sb_puts(&sql, i ? ", " : "");
        dialect_quote_double(&sql, mt->cols[order[i]].name);
    }
    sb_puts(&sql, ") VALUES (");
    for (size_t i = 0; i < ncols; i++)
        sb_puts(&sql, i == 0 ? (i < nsmall ? "?" : "''") : (i < nsmall ? ", ?" : ", ''"));
    sb_putc(&sql, ')');
    dialect_on_conflict(&sql, &dialect_pgsql, mt, policy);
    sb_puts(&sql, " RETURNING ctid");
    db_params p;
    memset(&p, 0, sizeof p);
    char tid[64];
    SQLLEN ind[2] = {0, SQL_NTS};
    SQLHSTMT h = db_prepare(c, NULL, err);
    int rc = h == SQL_NULL_HSTMT ? -1 : 0;
    if (rc == 0 && nsmall > 0) {
        db_params_fill(&p, b, t, order, nsmall, row, row + 1, 0, pgsql_ptype);
        rc = db_params_bind(c, h, &p, mt, order, nsmall, 0, 1, 0, pgsql_ptype, err);
    }
    if (rc == 0)
        rc = run_tid(c, h, sb_str(&sql), mt->name, tid, sizeof tid, err);
    SQLFreeStmt(h, SQL_RESET_PARAMS);
    *changed = rc == 0 && tid[0];
    for (size_t i = nsmall; i < ncols && rc == 0 && tid[0]; i++) {
        const char *name = mt->cols[order[i]].name;
        sb_reset(&sql);
        sb_puts(&sql, "UPDATE ");
        dialect_quote_table(&sql, &dialect_pgsql, mt->name);
        sb_puts(&sql, " SET ");
        dialect_quote_double(&sql, name);
        sb_puts(&sql, " = ");
        dialect_quote_double(&sql, name);
        sb_puts(&sql, " || CAST(? AS text) WHERE ctid = CAST(? AS tid) RETURNING ctid");
        const char *at = batch_text(b, &v[order[i]]);
        for (size_t left = (size_t)v[order[i]].len, k; left > 0 && rc == 0; at += k, left -= k) {
            k = piece_len(at, left);
            ind[0] = (SQLLEN)k;
            if (!SQL_SUCCEEDED(SQLBindParameter(h, 1, SQL_PARAM_INPUT, SQL_C_CHAR,
                                                SQL_LONGVARCHAR, k, 0, (SQLPOINTER)at,
                                                (SQLLEN)k, &ind[0])) ||
                !SQL_SUCCEEDED(SQLBindParameter(h, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                                                sizeof tid, 0, tid, sizeof tid, &ind[1])))
                rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
            if (rc == 0)
                rc = run_tid(c, h, sb_str(&sql), mt->name, tid, sizeof tid, err);
            if (rc == 0 && !tid[0]) {
                c->last_class = DBE_FATAL; /* the row just written is gone */
                rc = err_set(err, MIG_EINTERNAL, "%s: the row of a large value vanished",
                             mt->name);
            }
        }
    }
    db_stmt_free(h);
    db_params_free(&p);
    free(order);
    sb_free(&sql);
    return rc;
}

/* Returns the end of the run of rows that starts at lo (< hi) in table t:
 * lo alone, with *large set, when it holds a text of BATCH_LARGE_TEXT bytes
 * or more, else every row up to the next that does.  A large value is not
 * copied into an array literal: its row goes alone, the text in pieces
 * (pgsql_load_large_row). */
static size_t run_end(const batch *b, size_t t, size_t lo, size_t hi, int *large)
{
    size_t ncols = b->map->tables[t].ncols, r;
    *large = 0;
    if (b->largest < BATCH_LARGE_TEXT)
        return hi;
    for (r = lo; r < hi; r++) {
        const value *row = batch_row(b, t, r);
        int big = 0;
        for (size_t c = 0; c < ncols && !big; c++)
            big = row[c].len >= 0 && (size_t)row[c].len >= BATCH_LARGE_TEXT;
        if (big) {
            *large = r == lo;
            return r == lo ? lo + 1 : r;
        }
    }
    return hi;
}

/* Add the counts of r to *sum. */
static void result_add(load_result *sum, const load_result *r)
{
    sum->inserted += r->inserted;
    sum->dup_db += r->dup_db;
    sum->updated += r->updated;
}

/* Loads through INSERT ... SELECT * FROM unnest(...) ON CONFLICT, the rows
 * as one array per column (dialect_load_columns); a row with a large text
 * alone, the text in pieces (run_end, pgsql_load_large_row). */
static int pgsql_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                           size_t lo, size_t hi, dup_policy policy, load_result *res,
                           mig_err *err)
{
    memset(res, 0, sizeof *res);
    for (size_t a = lo, z; a < hi; a = z) {
        int large;
        z = run_end(b, t, a, hi, &large);
        load_result lr;
        SQLLEN changed = 0;
        if ((large ? pgsql_load_large_row(c, b, t, a, policy, &changed, err)
                   : dialect_load_columns(c, st, b, t, a, z, policy, pgsql_insert_columns_sql,
                                          &changed, err)) < 0)
            return -1;
        dialect_conflict_result(&lr, z - a, changed, policy);
        result_add(res, &lr);
    }
    return 0;
}

/* load_rows_found: the INSERT names the rows it passed over
 * (pgsql_insert_found_sql, no existence check of its own); a row with a
 * large text, the existence check first, then pgsql_load_large_row unless
 * it was found. */
static int pgsql_load_rows_found(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                                 size_t lo, size_t hi, unsigned char *found, load_result *res,
                                 mig_err *err)
{
    memset(res, 0, sizeof *res);
    for (size_t a = lo, z; a < hi; a = z) {
        int large;
        z = run_end(b, t, a, hi, &large);
        unsigned char *f = found + (a - lo);
        load_result lr = {0, 0, 0};
        if (large) {
            if (pgsql_find_existing(c, st, b, t, &a, 1, f, err) < 0 ||
                (!f[0] && pgsql_load_rows(c, st, b, t, a, z, DUP_SKIP, &lr, err) < 0))
                return -1;
        } else {
            uint64_t ins = 0, nfound = 0, n = z - a;
            if (dialect_load_columns_found(c, st, b, t, a, z, pgsql_insert_found_sql,
                                           pgsql_exists_columns_sql, f, &ins, err) < 0)
                return -1;
            for (size_t i = 0; i < n; i++)
                nfound += f[i];
            /* rows neither inserted nor found: the server met a key twice
             * that the worker's bytes told apart (more than n would break
             * the statement's contract: a disagreement too); the worker
             * loads the range again with a check of its own */
            lr.inserted = ins;
            lr.dup_db = n - ins >= nfound ? n - ins - nfound : ins + nfound - n;
        }
        result_add(res, &lr);
    }
    return 0;
}

/* ---- errors ---- */

/* psqlODBC passes the server's SQLSTATE through; lost links come back as
 * 08S01 or HY000 with libpq's text. */
static db_errclass pgsql_classify(const char *state, long native, const char *msg)
{
    if (strcmp(state, "23505") == 0)
        return DBE_DUPLICATE;
    /* 21000: one upsert statement met the same key twice; split apart */
    if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0 ||
        strcmp(state, "21000") == 0)
        return DBE_DATA;
    /* 57014: the statement was cancelled (our query timeout): retry it */
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "57014") == 0)
        return DBE_RETRY;
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
        strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0)
        return DBE_CONNECTION;
    if (strstr(msg, "could not send") || strstr(msg, "server closed the connection") ||
        strstr(msg, "no connection to the server") || strstr(msg, "terminating connection") ||
        strstr(msg, "connection not open") || strstr(msg, "connection has been lost") ||
        strstr(msg, "SAVEPOINT failed"))
        return DBE_CONNECTION;
    if (strcmp(state, "42501") == 0 || strcmp(state, "28000") == 0 ||
        strcmp(state, "28P01") == 0)
        return DBE_PERMISSION;
    if (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0 ||
        strcmp(state, "3F000") == 0)
        return DBE_SCHEMA;
    return DBE_FATAL;
}

/* ---- the run lock ---- */

/* A session-level advisory lock: it survives the rollback that ends the
 * query's transaction and goes with the connection (try_lock_sql; it does
 * not wait: runlock.c polls). */
static void pgsql_try_lock_sql(strbuf *out, const char *name, long long key, long wait_ms)
{
    (void)name;
    (void)wait_ms;
    sb_printf(out, "SELECT CASE WHEN pg_try_advisory_lock(%lld) THEN 1 ELSE 0 END", key);
}

/* Serialises table creation between processes (create_lock): a
 * transaction-level advisory lock on one key of our own, released at the
 * commit that makes the tables visible.  Without it two CREATE TABLE IF NOT
 * EXISTS at once both go ahead and the second fails on pg_type's unique
 * index. */
static int pgsql_create_lock(db_conn *c, mig_err *err)
{
    /* the key: "migrate" as bytes, 0x6d696772617465 */
    return db_exec(c, "SELECT pg_advisory_xact_lock(30796665482998885)", err);
}

const dialect dialect_pgsql = {
    .name = "postgresql",
    .single_writer = 0,
    .frac_digits = 6, /* time and timestamp keep microseconds */
    .matches_dbms = pgsql_matches,
    .before_connect = NULL,
    .after_connect = NULL,
    .quote_ident = dialect_quote_double,
    .type_ddl = pgsql_type_ddl,
    .ptype = pgsql_ptype,
    .create_table_sql = pgsql_create_table,
    .load_rows = pgsql_load_rows,
    .load_rows_found = pgsql_load_rows_found,
    .table_state_free = dialect_state_free_generic,
    .exists_sql = pgsql_exists_sql,
    .find_existing = pgsql_find_existing,
    .classify = pgsql_classify,
    .try_lock_sql = pgsql_try_lock_sql,
    .create_lock = pgsql_create_lock,
};
