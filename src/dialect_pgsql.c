/* dialect_pgsql.c — PostgreSQL through psqlODBC ("PostgreSQL Unicode").
 *
 * "x" quoting, native types (tinyint widens to smallint, bit is boolean,
 * decimal is numeric(p,s), datetime is timestamp), ON CONFLICT for the skip
 * and update policies.  Every parameter is bound with the SQL type of its
 * column so that the server receives typed parameters (a varchar parameter
 * would not be assigned to a date or uuid column); bit values travel as the
 * text "1"/"0", which boolean accepts and an integer parameter is not. */
#include "config.h"
#include "dialect.h"

#include <stdlib.h>
#include <string.h>

/* Rows per INSERT statement: 0 = one statement with a parameter array,
 * N = multi-row VALUES of N rows.  Measured (50000 rows, 8 columns, medians
 * of 3): parameter array 37k rows/s, 50 rows 110k, 100 rows 98k, 200 rows
 * 123k; psqlODBC runs a parameter array as one round trip per row.  Capped
 * so that a statement has at most PGSQL_MAX_PARAMS parameters. */
#ifndef PGSQL_ROWS_PER_STMT
#define PGSQL_ROWS_PER_STMT 200
#endif
#define PGSQL_MAX_PARAMS 32767

/* ---- session ---- */

/* Returns 1 for PostgreSQL's SQL_DBMS_NAME. */
static int pgsql_matches(const char *dbms)
{
    return strstr(dbms, "PostgreSQL") != NULL;
}

/* Returns 0 after asking the session for custom plans (PostgreSQL 12 and
 * later), or -1.  The existence check is kept prepared for the whole load;
 * with the default plan cache mode the server may switch it, after five
 * executions, to a generic plan made with the statistics of that moment: on
 * the table still empty at the start of a load, a sequential scan it then
 * keeps while the table grows (bench/ab.sh, 100,000 records into
 * PostgreSQL: 3.40 s with the default mode, 3.11 s with custom plans). */
static int pgsql_after_connect(db_conn *c, mig_err *err)
{
    if (db_exec(c, "SELECT set_config('plan_cache_mode', 'force_custom_plan', false) "
                   "WHERE current_setting('server_version_num')::int >= 120000",
                err) < 0)
        return err_prefix(err, "cannot set up the PostgreSQL session");
    return 0;
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

/* Loads through INSERT ... ON CONFLICT (dialect_load_on_conflict). */
static int pgsql_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                           size_t lo, size_t hi, dup_policy policy, load_result *res,
                           mig_err *err)
{
    return dialect_load_on_conflict(c, st, b, t, lo, hi, policy, PGSQL_ROWS_PER_STMT,
                                    PGSQL_MAX_PARAMS, dialect_insert_on_conflict_sql, res, err);
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
    .after_connect = pgsql_after_connect,
    .quote_ident = dialect_quote_double,
    .type_ddl = pgsql_type_ddl,
    .ptype = pgsql_ptype,
    .create_table_sql = pgsql_create_table,
    .load_rows = pgsql_load_rows,
    .table_state_free = dialect_state_free_generic,
    .exists_sql = pgsql_exists_sql,
    .classify = pgsql_classify,
    .try_lock_sql = pgsql_try_lock_sql,
    .create_lock = pgsql_create_lock,
};
