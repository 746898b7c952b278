/* dialect_sqlite.c — SQLite through the SQLite3 ODBC driver (sqliteodbc).
 *
 * One writer at a time (the worker holds ctx->writer_lock around each
 * transaction), WAL journal with synchronous=NORMAL, "x" quoting, and types
 * mapped onto SQLite's affinities.  decimal, date, time, datetime and uuid
 * are stored as TEXT holding exactly the canonical text types.c produced
 * (no REAL rounding of decimals, sortable dates).  Rows go in through
 * multi-row INSERTs prepared once per policy and size, bound to the
 * worker's column-wise parameter buffers.
 *
 * Prepared once, really: sqliteodbc (0.9998, sqlite3odbc.c drvprepare and
 * drvexecute) keeps the SQLite statement of SQLPrepare only for a statement
 * that reads as a query (it starts with SELECT, PRAGMA, EXPLAIN or, on
 * SQLite 3.8.5 and later, WITH); any other statement it compiles again
 * with sqlite3_prepare_v2 at every SQLExecute and finalizes after it, which
 * cost more than the inserts themselves (bench/PROFILE.md: 16% of a load).
 * So each INSERT starts with an unused common table expression, "WITH
 * migrate_keep(x) AS (SELECT 1) INSERT ...": the driver prepares it once
 * and then only binds, steps and resets it.  For such a statement the
 * driver reports no row count (SQLRowCount gives 0), so the rows an INSERT
 * changed come from changes() (the dialect's changes_sql), which counts the
 * INSERT's own rows only, not a trigger's. */
#include "config.h"
#include "dialect.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Rows per INSERT statement: 0 = one statement with a parameter array, N =
 * multi-row VALUES.  Measured (50000 rows, 8 columns, medians of 3):
 * parameter array 169k rows/s, 50 rows 309k, 100 rows 206k, 200 rows 252k.
 * At most 999 parameters per statement (older SQLite's limit). */
#ifndef SQLITE_ROWS_PER_STMT
#define SQLITE_ROWS_PER_STMT 50
#endif
#define SQLITE_MAX_PARAMS 999
#if SQLITE_ROWS_PER_STMT < 1
#error "SQLITE_ROWS_PER_STMT: the INSERT kept prepared counts its rows by changes(), one statement at a time"
#endif

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

/* Append SQLite's DDL type for t (affinities; exact text where SQLite has
 * no exact type). */
static void sqlite_type_ddl(strbuf *out, const col_type *t)
{
    /* the affinity of the class its values convert to */
    switch (type_class(t)) {
    case VC_INT:
        sb_puts(out, "INTEGER");
        return;
    case VC_FLOAT:
        sb_puts(out, "REAL");
        return;
    case VC_TEXT:
        break;
    }
    switch (t->kind) {
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

/* CREATE TABLE IF NOT EXISTS with SQLite's types. */
static void sqlite_create_table(strbuf *out, const map_table *t)
{
    dialect_create_table_common(out, &dialect_sqlite, t);
}

/* The existence check on the quoted table (exists_sql); the parameter rows
 * go in a CTE, since SQLite names no columns of a derived table. */
static void sqlite_exists_sql(strbuf *out, const map_table *t, size_t nkeys)
{
    strbuf q = STRBUF_INIT;
    dialect_quote_table(&q, &dialect_sqlite, t->name);
    dialect_exists_common(out, &dialect_sqlite, t, sb_str(&q), nkeys, DIALECT_EXISTS_CTE);
    sb_free(&q);
}

/* ---- loading ---- */

/* Integers as int64, floats as double, everything else as text. */
static void sqlite_ptype(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
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

/* The INSERT ... ON CONFLICT of dialect_insert_on_conflict_sql behind an
 * unused CTE, so the driver keeps it prepared (see the top); the CTE's name
 * differs from the table's (a CTE would hide a table of its name). */
void dialect_sqlite_insert_sql(strbuf *out, const dialect *d, const map_table *t,
                               size_t tindex, dup_policy p, size_t nrows)
{
    char name[64] = "migrate_keep";
    const char *bare = strrchr(t->name, '.') ? strrchr(t->name, '.') + 1 : t->name;
    for (size_t n = strlen(name); strcasecmp(bare, name) == 0 && n + 1 < sizeof name; n++)
        name[n] = '_';
    sb_printf(out, "WITH %s(x) AS (SELECT 1) ", name);
    dialect_insert_on_conflict_sql(out, d, t, tindex, p, nrows);
}

/* Loads through INSERT ... ON CONFLICT (dialect_load_on_conflict), kept
 * prepared. */
static int sqlite_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                            size_t lo, size_t hi, dup_policy policy, load_result *res,
                            mig_err *err)
{
    return dialect_load_on_conflict(c, st, b, t, lo, hi, policy, SQLITE_ROWS_PER_STMT,
                                    SQLITE_MAX_PARAMS, dialect_sqlite_insert_sql, res, err);
}

/* Takes the write lock (begin_write): a DELETE matching nothing is a write
 * statement, so it waits in the busy handler, before the transaction has
 * read anything, until the other process's transaction ends. */
static int sqlite_begin_write(db_conn *c, const map_table *t, mig_err *err)
{
    strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "DELETE FROM ");
    dialect_quote_table(&sql, &dialect_sqlite, t->name);
    sb_puts(&sql, " WHERE 0");
    int rc = db_exec(c, sb_str(&sql), err);
    sb_free(&sql);
    return rc < 0 ? err_prefix(err, "cannot take the write lock") : 0;
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
    /* sqliteodbc's SQLCancel waits for the running call, then closes the
     * statement's results under the caller; the 1 s busy timeout bounds
     * what a stop waits for instead */
    .no_sqlcancel = 1,
    /* the INSERTs kept prepared report no row count (see the top) */
    .changes_sql = "SELECT changes()",
    /* bound in place, not copied at every execute (text holds no NUL: XML
     * cannot carry one) */
    .text_nts = 1,
    .matches_dbms = sqlite_matches,
    .before_connect = NULL,
    .after_connect = sqlite_after_connect,
    .quote_ident = dialect_quote_double,
    .type_ddl = sqlite_type_ddl,
    .ptype = sqlite_ptype,
    .create_table_sql = sqlite_create_table,
    .load_rows = sqlite_load_rows,
    .table_state_free = dialect_state_free_generic,
    .exists_sql = sqlite_exists_sql,
    .classify = sqlite_classify,
    .begin_write = sqlite_begin_write,
};
