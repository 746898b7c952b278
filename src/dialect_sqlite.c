/* dialect_sqlite.c — SQLite through the SQLite3 ODBC driver (sqliteodbc).
 *
 * One writer at a time (the worker holds ctx->writer_lock around each
 * transaction), WAL journal with synchronous=NORMAL, "x" quoting, and types
 * mapped onto SQLite's affinities.  decimal, date, time, datetime and uuid
 * are stored as TEXT holding exactly the canonical text types.c produced
 * (no REAL rounding of decimals, sortable dates).  Rows go in through one
 * prepared INSERT per policy with column-wise parameter arrays. */
#include "config.h"
#include "dialect.h"

#include <stdlib.h>
#include <string.h>

/* ---- shared machinery (dialect.c / db.c; see the report) ---- */

typedef void (*db_ptype_fn)(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                            SQLULEN *size, SQLSMALLINT *digits);
typedef void (*dialect_insert_fn)(strbuf *out, const dialect *d, const map_table *t,
                                  dup_policy p, size_t nrows);
int dialect_load_generic(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         size_t lo, size_t hi, dup_policy policy, size_t rows_per_stmt,
                         size_t max_params, dialect_insert_fn sqlfn, db_ptype_fn ptype,
                         SQLLEN *changed, mig_err *err);
void dialect_state_free_generic(db_conn *c, dialect_table_state *st);
int dialect_count_existing(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                           size_t lo, size_t hi, uint64_t *n, mig_err *err);
void dialect_column_list(strbuf *out, const dialect *d, const map_table *t, const char *prefix);
void dialect_quote_table(strbuf *out, const dialect *d, const char *name);
void dialect_values_rows(strbuf *out, size_t ncols, size_t nrows);
void dialect_exists_common(strbuf *out, const dialect *d, const map_table *t,
                           const char *qtable, size_t nkeys);
void dialect_upsert_set(strbuf *out, const dialect *d, const map_table *t, int nothing);
void dialect_sqlite_ptype(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                          SQLULEN *size, SQLSMALLINT *digits);
void dialect_sqlite_insert_sql(strbuf *out, const dialect *d, const map_table *t,
                               dup_policy p, size_t nrows);

/* Rows per INSERT statement: 0 = one statement with a parameter array, N =
 * multi-row VALUES.  Measured (50000 rows, 8 columns, medians of 3):
 * parameter array 169k rows/s, 50 rows 309k, 100 rows 206k, 200 rows 252k.
 * At most 999 parameters per statement (older SQLite's limit). */
#ifndef SQLITE_ROWS_PER_STMT
#define SQLITE_ROWS_PER_STMT 50
#endif
#define SQLITE_MAX_PARAMS 999

/* ---- session ---- */

/* Returns 1 for SQLite's SQL_DBMS_NAME. */
static int sqlite_matches(const char *dbms)
{
    return strstr(dbms, "SQLite") != NULL;
}

/* Returns 0 after setting the WAL journal and NORMAL sync, or -1. */
static int sqlite_after_connect(db_conn *c, mig_err *err)
{
    if (db_exec(c, "PRAGMA journal_mode=WAL", err) < 0 ||
        db_exec(c, "PRAGMA synchronous=NORMAL", err) < 0)
        return err_prefix(err, "cannot set up the SQLite session");
    return 0;
}

/* ---- names and types ---- */

/* Quote with double quotes, doubling embedded ones. */
static void sqlite_quote(strbuf *out, const char *name)
{
    sb_putc(out, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sb_putc(out, '"');
        sb_putc(out, *p);
    }
    sb_putc(out, '"');
}

static void sqlite_type_ddl(strbuf *out, const col_type *t)
{
    switch (t->kind) {
    case CK_TINYINT:
    case CK_SMALLINT:
    case CK_INT:
    case CK_BIGINT:
    case CK_BIT:
        sb_puts(out, "INTEGER");
        break;
    case CK_FLOAT:
        sb_puts(out, "REAL");
        break;
    case CK_VARCHAR:
        sb_printf(out, "VARCHAR(%d)", t->length);
        break;
    case CK_NVARCHAR:
        sb_printf(out, "NVARCHAR(%d)", t->length);
        break;
    case CK_CHAR:
        sb_printf(out, "CHAR(%d)", t->length);
        break;
    default:
        /* nvarchar(max), and decimal/date/time/datetime/uuid kept as their
         * exact canonical text */
        sb_puts(out, "TEXT");
        break;
    }
}

/* Append the column definitions and the primary key of t. */
static void sqlite_columns(strbuf *out, const dialect *d, const map_table *t)
{
    for (size_t c = 0; c < t->ncols; c++) {
        sb_puts(out, c ? ",\n    " : "\n    ");
        d->quote_ident(out, t->cols[c].name);
        sb_putc(out, ' ');
        d->type_ddl(out, &t->cols[c].type);
        if (t->cols[c].is_key || t->cols[c].required)
            sb_puts(out, " NOT NULL");
    }
    if (t->nkeys) {
        sb_puts(out, ",\n    PRIMARY KEY (");
        for (size_t k = 0; k < t->nkeys; k++) {
            if (k)
                sb_puts(out, ", ");
            d->quote_ident(out, t->cols[t->key_cols[k]].name);
        }
        sb_putc(out, ')');
    }
    sb_puts(out, "\n)");
}

static void sqlite_create_table(strbuf *out, const map_table *t)
{
    sb_puts(out, "CREATE TABLE IF NOT EXISTS ");
    dialect_quote_table(out, &dialect_sqlite, t->name);
    sb_puts(out, " (");
    sqlite_columns(out, &dialect_sqlite, t);
}

static void sqlite_exists_sql(strbuf *out, const map_table *t, size_t nkeys)
{
    strbuf q = STRBUF_INIT;
    dialect_quote_table(&q, &dialect_sqlite, t->name);
    dialect_exists_common(out, &dialect_sqlite, t, sb_str(&q), nkeys);
    sb_free(&q);
}

/* ---- loading ---- */

void dialect_sqlite_ptype(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                          SQLULEN *size, SQLSMALLINT *digits)
{
    *digits = 0;
    switch (type_class(t)) {
    case VC_INT:
        *ctype = SQL_C_SBIGINT;
        *sqltype = SQL_BIGINT;
        *size = 19;
        break;
    case VC_FLOAT:
        *ctype = SQL_C_DOUBLE;
        *sqltype = SQL_DOUBLE;
        *size = 15;
        break;
    default:
        /* every text, canonical decimals and dates too: stored as given */
        *ctype = SQL_C_CHAR;
        *sqltype = SQL_VARCHAR;
        *size = t->length > 0 ? (SQLULEN)t->length * 4 : 65535;
        break;
    }
}

void dialect_sqlite_insert_sql(strbuf *out, const dialect *d, const map_table *t,
                               dup_policy p, size_t nrows)
{
    /* not INSERT OR IGNORE: that would also drop rows failing a CHECK or
     * NOT NULL constraint without a word; ON CONFLICT covers the key only */
    sb_puts(out, "INSERT INTO ");
    dialect_quote_table(out, d, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, d, t, NULL);
    sb_puts(out, ") VALUES ");
    dialect_values_rows(out, t->ncols, nrows);
    if (p == DUP_UPDATE || p == DUP_SKIP)
        dialect_upsert_set(out, d, t, p == DUP_SKIP);
}

static int sqlite_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                            size_t lo, size_t hi, dup_policy policy, load_result *res,
                            mig_err *err)
{
    uint64_t existing = 0;
    SQLLEN changed = 0;
    memset(res, 0, sizeof *res);
    if (policy == DUP_UPDATE &&
        dialect_count_existing(c, st, b, t, lo, hi, &existing, err) < 0)
        return -1;
    if (dialect_load_generic(c, st, b, t, lo, hi, policy, SQLITE_ROWS_PER_STMT, SQLITE_MAX_PARAMS,
                             dialect_sqlite_insert_sql, dialect_sqlite_ptype, &changed, err) < 0)
        return -1;
    uint64_t n = hi - lo, ch = (uint64_t)changed;
    if (policy == DUP_SKIP) {
        res->inserted = ch;
        res->dup_db = n - ch;
    } else if (policy == DUP_UPDATE) {
        res->updated = existing;
        res->inserted = n - existing;
    } else {
        res->inserted = n;
    }
    return 0;
}

/* ---- errors ---- */

/* sqliteodbc reports every engine error as SQLSTATE HY000 with SQLite's
 * message, and the SQLite result code as the native error. */
static db_errclass sqlite_classify(const char *state, long native, const char *msg)
{
    if (strstr(msg, "UNIQUE constraint failed") || strstr(msg, "PRIMARY KEY") ||
        strstr(msg, "is not unique") || native == 2067 || native == 1555)
        return DBE_DUPLICATE;
    if (strstr(msg, "constraint failed") || strstr(msg, "datatype mismatch") ||
        native == 19 || native == 20 || strncmp(state, "23", 2) == 0 ||
        strncmp(state, "22", 2) == 0)
        return DBE_DATA;
    if (strstr(msg, "database is locked") || strstr(msg, "database table is locked") ||
        native == 5 || native == 6)
        return DBE_RETRY;
    if (strstr(msg, "no such table") || strstr(msg, "no such column") ||
        strstr(msg, "has no column named"))
        return DBE_SCHEMA;
    if (strstr(msg, "readonly database") || strstr(msg, "unable to open") ||
        native == 8 || native == 23)
        return DBE_PERMISSION;
    if (strncmp(state, "08", 2) == 0)
        return DBE_CONNECTION;
    return DBE_FATAL;
}

const dialect dialect_sqlite = {
    .name = "sqlite",
    .single_writer = 1,
    .matches_dbms = sqlite_matches,
    .before_connect = NULL,
    .after_connect = sqlite_after_connect,
    .quote_ident = sqlite_quote,
    .type_ddl = sqlite_type_ddl,
    .create_table_sql = sqlite_create_table,
    .load_rows = sqlite_load_rows,
    .table_state_free = dialect_state_free_generic,
    .exists_sql = sqlite_exists_sql,
    .classify = sqlite_classify,
};
