/* dialect_mssql.c — SQL Server (T-SQL) through FreeTDS.
 *
 * [x] quoting, dbo as the default schema, and two load paths: parameter
 * arrays with explicit SQL types (FreeTDS has no SQLDescribeParam), or bulk
 * copy (--load bcp, SQL_COPT_SS_BCP set before connecting).  Everything but
 * the insert path's plain INSERT (error policy) goes through a
 * per-connection #stage table for each table of the mapping
 * ([#stage_<table index>_<name>], columns typed so that any value the mapper
 * accepts fits): the batch is loaded into the stage (parameter array or
 * bulk copy), deduplicated there (ROW_NUMBER over an IDENTITY ordinal), and
 * moved into the target with set-based INSERT ... SELECT / NOT EXISTS /
 * UPDATE JOIN statements (no MERGE: see SQLSERVER-NOTES), in the worker's
 * transaction.  The session runs with NOCOUNT ON, so the set-based
 * statements report their row count with an explicit SELECT @@ROWCOUNT.
 * What bulk copy does to the transaction, and why it goes through the
 * stage, is written above the bulk copy section; when a batch may skip the
 * stage and go straight into the table, above the section after it. */
#include "config.h"
#include "dialect.h"

#include <odbcss.h>
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

/* Which staging statement dialect_mssql_stage_sql writes. */
enum {
    STAGE_PREPARE = 0, /* create the #stage once per session, else empty it */
    STAGE_FILL,        /* INSERT INTO #stage (cols) VALUES (?, ...) */
    STAGE_SKIP,        /* insert first occurrences of new keys; SELECT @@ROWCOUNT */
    STAGE_UPDATE,      /* update existing keys from last occurrences; SELECT @@ROWCOUNT */
    STAGE_INSERT_REST, /* insert last occurrences of new keys; SELECT @@ROWCOUNT */
    STAGE_INSERT_ALL,  /* insert every staged row (error policy); SELECT @@ROWCOUNT */
    STAGE_CHECK,       /* @@TRANCOUNT and the stage's row count (bulk copy guard) */
    STAGE_FOUND,       /* -1 - [__pos] of the staged rows whose key is stored already */
    STAGE_CREATE       /* create the #stage (a session known to have none: warm_up) */
};

/* The generic state keeps one statement per policy; the stage fill uses the
 * DUP_DEFAULT slot, which the worker never passes (it means skip). */
#define STAGE_SLOT DUP_DEFAULT

/* ---- session ---- */

/* Returns 1 for any server calling itself SQL Server. */
static int mssql_matches(const char *dbms)
{
    return strstr(dbms, "SQL Server") != NULL;
}

/* Returns 1 when the connection loads by bulk copy. */
static int use_bcp(const db_conn *c)
{
    return c->target && c->target->load == LOAD_BCP;
}

/* Returns 0 after switching bulk copy on for --load bcp, or -1. */
static int mssql_before_connect(db_conn *c, mig_err *err)
{
    if (!use_bcp(c))
        return 0;
    SQLRETURN rc = SQLSetConnectAttr(c->dbc, SQL_COPT_SS_BCP, (SQLPOINTER)SQL_BCP_ON,
                                     SQL_IS_INTEGER);
    if (!SQL_SUCCEEDED(rc))
        return db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_ECONNECT, err,
                       "cannot connect: cannot enable bulk copy");
    return 0;
}

/* Returns 0 after setting NOCOUNT and ARITHABORT on, or -1.  Not
 * XACT_ABORT: the worker rolls back after every failure itself, and on the
 * TDS test server (Babelfish 4.2.0) a transaction aborted by XACT_ABORT
 * leaves the session without implicit transactions, so every later
 * statement was committed on its own (measured: a rollback after it undid
 * nothing). */
static int mssql_after_connect(db_conn *c, mig_err *err)
{
    if (db_exec(c, "SET NOCOUNT ON; SET ARITHABORT ON", err) < 0)
        return err_prefix(err, "cannot set up the SQL Server session");
    return 0;
}

/* ---- names and types ---- */

/* Quote with brackets, doubling embedded ']'. */
static void mssql_quote(strbuf *out, const char *name)
{
    sb_putc(out, '[');
    for (const char *p = name; *p; p++) {
        if (*p == ']')
            sb_putc(out, ']');
        sb_putc(out, *p);
    }
    sb_putc(out, ']');
}

void dialect_mssql_table(strbuf *out, const char *name)
{
    if (!strchr(name, '.'))
        sb_puts(out, "[dbo].");
    dialect_quote_table(out, &dialect_mssql, name);
}

/* Returns the table name without its schema. */
static const char *bare_name(const char *name)
{
    const char *dot = strchr(name, '.');
    return dot ? dot + 1 : name;
}

/* Append SQL Server's DDL type for t: the mapping's own spelling (its types
 * are SQL Server's), but time and datetime at full precision as time(7) and
 * datetime2(7). */
static void mssql_type_ddl(strbuf *out, const col_type *t)
{
    char buf[64];
    switch (t->kind) {
    case CK_TIME:
        sb_puts(out, "time(7)");
        break;
    case CK_DATETIME:
        sb_puts(out, "datetime2(7)");
        break;
    default:
        type_format(t, buf, sizeof buf);
        sb_puts(out, buf);
        break;
    }
}

/* Append s as the body of an N'...' literal (quotes doubled). */
static void put_literal(strbuf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\'')
            sb_putc(out, '\'');
        sb_putc(out, *s);
    }
}

/* CREATE TABLE guarded by IF OBJECT_ID(...) IS NULL, named primary key. */
static void mssql_create_table(strbuf *out, const map_table *t)
{
    strbuf q = STRBUF_INIT;
    dialect_mssql_table(&q, t->name);
    sb_puts(out, "IF OBJECT_ID(N'");
    put_literal(out, sb_str(&q));
    sb_printf(out, "', N'U') IS NULL CREATE TABLE %s (", sb_str(&q));
    for (size_t c = 0; c < t->ncols; c++) {
        sb_puts(out, c ? ",\n    " : "\n    ");
        mssql_quote(out, t->cols[c].name);
        sb_putc(out, ' ');
        mssql_type_ddl(out, &t->cols[c].type);
        sb_puts(out, t->cols[c].is_key || t->cols[c].required ? " NOT NULL" : " NULL");
    }
    if (t->nkeys) {
        strbuf pk = STRBUF_INIT;
        sb_printf(&pk, "PK_%s", bare_name(t->name));
        sb_puts(out, ",\n    CONSTRAINT ");
        mssql_quote(out, sb_str(&pk));
        sb_puts(out, " PRIMARY KEY (");
        for (size_t k = 0; k < t->nkeys; k++) {
            if (k)
                sb_puts(out, ", ");
            mssql_quote(out, t->cols[t->key_cols[k]].name);
        }
        sb_putc(out, ')');
        sb_free(&pk);
    }
    sb_puts(out, "\n)");
    sb_free(&q);
}

/* The existence check on [schema].[table] (exists_sql). */
static void mssql_exists_sql(strbuf *out, const map_table *t, size_t nkeys)
{
    strbuf q = STRBUF_INIT;
    dialect_mssql_table(&q, t->name);
    dialect_exists_common(out, &dialect_mssql, t, sb_str(&q), nkeys, 0);
    sb_free(&q);
}

/* ---- statements ---- */

/* Every parameter typed as its column (FreeTDS has no SQLDescribeParam),
 * starting from the standard mapping.  Text for nvarchar goes as UTF-8 in
 * SQL_C_CHAR typed SQL_WVARCHAR: it arrives intact with ClientCharset=UTF-8
 * (SQLSERVER-NOTES).  varchar and char columns are bound as SQL_VARCHAR /
 * SQL_CHAR: FreeTDS converts the text to the server's code page and refuses
 * (native 2402, a data error: that record is rejected) what the code page
 * cannot hold; nothing is transliterated.
 *
 * date, time and datetime go as their canonical text typed SQL_VARCHAR, and
 * the server converts them (ISO forms, read the same under every language
 * and DATEFORMAT for date, time and datetime2).  Bound as SQL_TYPE_DATE /
 * SQL_TYPE_TIMESTAMP, FreeTDS 1.3.17 sends dates before about 1600 one day
 * off (0001-01-01 arrived as year 45935) and declares datetime2(7) however
 * the column is declared; as text every date from 0001-01-01 to 9999-12-31
 * and all 7 fraction digits reach the server as written. */
static void mssql_ptype(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                        SQLULEN *size, SQLSMALLINT *digits)
{
    dialect_ptype_standard(t, ctype, sqltype, size, digits);
    switch (t->kind) {
    case CK_DATE:
    case CK_TIME:
    case CK_DATETIME:
        *ctype = SQL_C_CHAR;
        *sqltype = SQL_VARCHAR;
        *size = type_max_bytes(t);
        *digits = 0;
        break;
    default:
        break;
    }
}

void dialect_mssql_insert_sql(strbuf *out, const dialect *d, const map_table *t, size_t tindex,
                              dup_policy p, size_t nrows)
{
    sb_puts(out, "INSERT INTO ");
    dialect_mssql_table(out, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, d, t, NULL);
    sb_puts(out, ") VALUES ");
    dialect_values_rows(out, t->ncols, nrows);
}

/* At most this many bytes of the table's name go into its stage's name:
 * with "#stage_", 20 digits and "_" that keeps within the 116 characters
 * SQL Server allows a #temp name. */
#define STAGE_NAME_MAX 80

void dialect_mssql_stage_name(strbuf *out, const map_table *t, size_t tindex)
{
    /* the index keeps a.items and b.items apart (and makes a cut name
     * unique); the name is for whoever reads the server's messages, cut
     * on a UTF-8 character boundary */
    const char *name = bare_name(t->name);
    size_t len = strlen(name);
    if (len > STAGE_NAME_MAX) {
        len = STAGE_NAME_MAX;
        while (len > 0 && ((unsigned char)name[len] & 0xC0) == 0x80)
            len--;
    }
    strbuf n = STRBUF_INIT;
    sb_printf(&n, "#stage_%zu_%.*s", tindex, (int)len, name);
    mssql_quote(out, sb_str(&n));
    sb_free(&n);
}

/* How a column is held in the #stage. */
typedef enum stage_kind {
    SK_BIGINT, /* integers and bit, as bulk-copied int64 */
    SK_FLOAT,  /* float, as bulk-copied double */
    SK_TEXT,   /* text kinds: nvarchar wide enough for any valid value */
    SK_ASCII   /* decimal, date, time, datetime, uuid: canonical text */
} stage_kind;

/* Returns how a column of type t is held in the #stage. */
static stage_kind stage_kind_of(const col_type *t)
{
    switch (type_class(t)) {
    case VC_INT:
        return SK_BIGINT;
    case VC_FLOAT:
        return SK_FLOAT;
    default:
        break;
    }
    switch (t->kind) {
    case CK_VARCHAR:
    case CK_CHAR:
    case CK_NVARCHAR:
    case CK_NVARCHAR_MAX:
        return SK_TEXT;
    default:
        return SK_ASCII;
    }
}

/* Append the #stage's type for a column of type t.  No value the mapper
 * accepts can fail to fit: a varchar(n) value has at most n characters, so
 * at most 2n UTF-16 units; nvarchar(n) at most n units. */
static void stage_type(strbuf *out, const col_type *t)
{
    switch (stage_kind_of(t)) {
    case SK_BIGINT:
        sb_puts(out, "bigint");
        break;
    case SK_FLOAT:
        sb_puts(out, "float");
        break;
    case SK_TEXT: {
        long n = t->kind == CK_NVARCHAR ? t->length : 2L * t->length;
        if (t->kind == CK_NVARCHAR_MAX || n > 4000)
            sb_puts(out, "nvarchar(max)");
        else
            sb_printf(out, "nvarchar(%ld)", n);
        break;
    }
    case SK_ASCII:
        sb_puts(out, "varchar(48)");
        break;
    }
}

/* Append the value of column c of the #stage row s as the table's type:
 * canonical text is converted by the server (CAST to the DDL type, then
 * the usual assignment to the column), the rest is assigned as it is. */
static void stage_value(strbuf *out, const map_table *t, size_t c)
{
    const col_type *ty = &t->cols[c].type;
    if (stage_kind_of(ty) != SK_ASCII) {
        sb_puts(out, "s.");
        mssql_quote(out, t->cols[c].name);
        return;
    }
    sb_puts(out, "CAST(s.");
    mssql_quote(out, t->cols[c].name);
    sb_puts(out, " AS ");
    mssql_type_ddl(out, ty);
    sb_putc(out, ')');
}

/* Append every column's stage_value, comma-separated. */
static void stage_values(strbuf *out, const map_table *t)
{
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            sb_puts(out, ", ");
        stage_value(out, t, c);
    }
}

/* Append the condition that stage row s is the first (or last) occurrence
 * of its key in the stage.  An anti-join rather than
 * ROW_NUMBER() OVER (PARTITION BY key ORDER BY [__ord]): the same rows, and
 * on the TDS test server about 100 ms less CPU the first time a session
 * runs it (each new construct costs a fresh session that much). */
static void stage_first(strbuf *out, const map_table *t, size_t tindex, int last)
{
    sb_puts(out, "NOT EXISTS (SELECT 1 FROM ");
    dialect_mssql_stage_name(out, t, tindex);
    sb_puts(out, " e WHERE ");
    dialect_key_match(out, &dialect_mssql, t, "e", "s");
    sb_printf(out, " AND e.[__ord] %c s.[__ord])", last ? '>' : '<');
}

/* Append the INSERT of the stage's new keys (first or last occurrence). */
static void stage_insert_new(strbuf *out, const map_table *t, size_t tindex, int last)
{
    sb_puts(out, "INSERT INTO ");
    dialect_mssql_table(out, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, &dialect_mssql, t, NULL);
    sb_puts(out, ") SELECT ");
    stage_values(out, t);
    sb_puts(out, " FROM ");
    dialect_mssql_stage_name(out, t, tindex);
    sb_puts(out, " s WHERE ");
    if (t->nkeys) { /* a table without key has no repeats */
        stage_first(out, t, tindex, last);
        sb_puts(out, " AND ");
    }
    sb_puts(out, "NOT EXISTS (SELECT 1 FROM ");
    dialect_mssql_table(out, t->name);
    sb_puts(out, " t WITH (UPDLOCK, HOLDLOCK) WHERE ");
    dialect_key_match(out, &dialect_mssql, t, "t", "s");
    sb_puts(out, "); SELECT @@ROWCOUNT");
}

/* Append the creation of t's #stage, named st (bracketed).  CAST keeps a
 * text column's collation, so the stage compares keys as the table does;
 * it drops IDENTITY, so [__ord] can be added. */
static void stage_create(strbuf *out, const map_table *t, const char *st)
{
    sb_puts(out, "SELECT TOP 0 ");
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            sb_puts(out, ", ");
        sb_puts(out, "CAST(t.");
        mssql_quote(out, t->cols[c].name);
        sb_puts(out, " AS ");
        stage_type(out, &t->cols[c].type);
        sb_puts(out, ") AS ");
        mssql_quote(out, t->cols[c].name);
    }
    /* [__pos]: a bulk-copied row's position in its call, so the move can
     * name the rows it found stored (load_rows_found) */
    sb_printf(out, ", CAST(NULL AS bigint) AS [__pos] INTO %s FROM ", st);
    dialect_mssql_table(out, t->name);
    sb_printf(out, " t; ALTER TABLE %s ADD [__ord] bigint IDENTITY(1,1)", st);
}

void dialect_mssql_stage_sql(strbuf *out, const map_table *t, size_t tindex, int which)
{
    strbuf st = STRBUF_INIT;
    dialect_mssql_stage_name(&st, t, tindex);
    switch (which) {
    case STAGE_PREPARE:
        sb_puts(out, "IF OBJECT_ID(N'tempdb..");
        put_literal(out, sb_str(&st));
        sb_puts(out, "') IS NULL BEGIN ");
        stage_create(out, t, sb_str(&st));
        sb_printf(out, " END ELSE TRUNCATE TABLE %s", sb_str(&st));
        break;
    case STAGE_CREATE:
        stage_create(out, t, sb_str(&st));
        break;
    case STAGE_FILL:
        sb_printf(out, "INSERT INTO %s (", sb_str(&st));
        dialect_column_list(out, &dialect_mssql, t, NULL);
        sb_puts(out, ") VALUES ");
        dialect_values_rows(out, t->ncols, 1);
        break;
    case STAGE_CHECK:
        /* DECLARE first: a SELECT from a table would open a transaction
         * (IMPLICIT_TRANSACTIONS) before @@TRANCOUNT is read */
        sb_printf(out, "DECLARE @tc int = @@TRANCOUNT; SELECT @tc, COUNT_BIG(*) FROM %s; ",
                  sb_str(&st));
        break;
    case STAGE_INSERT_ALL:
        sb_puts(out, "INSERT INTO ");
        dialect_mssql_table(out, t->name);
        sb_puts(out, " (");
        dialect_column_list(out, &dialect_mssql, t, NULL);
        sb_puts(out, ") SELECT ");
        stage_values(out, t);
        sb_printf(out, " FROM %s s; SELECT @@ROWCOUNT", sb_str(&st));
        break;
    case STAGE_SKIP:
        stage_insert_new(out, t, tindex, 0);
        break;
    case STAGE_UPDATE: {
        size_t n = 0;
        sb_puts(out, "UPDATE t SET ");
        for (size_t c = 0; c < t->ncols; c++) {
            if (t->cols[c].is_key)
                continue;
            if (n++)
                sb_puts(out, ", ");
            mssql_quote(out, t->cols[c].name);
            sb_puts(out, " = ");
            stage_value(out, t, c);
        }
        sb_puts(out, " FROM ");
        dialect_mssql_table(out, t->name);
        sb_puts(out, " t JOIN ");
        dialect_mssql_stage_name(out, t, tindex);
        sb_puts(out, " s ON ");
        dialect_key_match(out, &dialect_mssql, t, "t", "s");
        sb_puts(out, " WHERE ");
        stage_first(out, t, tindex, 1);
        sb_puts(out, "; SELECT @@ROWCOUNT");
        break;
    }
    case STAGE_INSERT_REST:
        stage_insert_new(out, t, tindex, 1);
        break;
    case STAGE_FOUND:
        /* the same lock hints as the insert's NOT EXISTS: on SQL Server the
         * keys found, and the ranges of those not found, stay locked until
         * the end of the transaction, so the insert that follows skips
         * exactly the rows named here */
        sb_printf(out, "SELECT -1 - s.[__pos] FROM %s s WHERE EXISTS (SELECT 1 FROM ",
                  sb_str(&st));
        dialect_mssql_table(out, t->name);
        sb_puts(out, " t WITH (UPDLOCK, HOLDLOCK) WHERE ");
        dialect_key_match(out, &dialect_mssql, t, "t", "s");
        sb_puts(out, ")");
        break;
    }
    sb_free(&st);
}

/* Returns 0 after running sql and storing in vals[0..nvals) the integer
 * cells of its result sets, row by row, column by column, in order (the
 * statements end with SELECT @@ROWCOUNT), or -1 with err; fewer cells than
 * nvals is an error.  With found, a negative cell names a position: -1 - p
 * sets found[p] (p < nfound) and is not a count (STAGE_FOUND; an empty
 * result set may not come back at all: on the TDS test server a SELECT of
 * no rows was seen to send no result set, so sets are told apart by their
 * values, not their order). */
static int exec_counts(db_conn *c, const char *sql, const char *what, uint64_t *vals,
                       size_t nvals, unsigned char *found, size_t nfound, mig_err *err)
{
    SQLHSTMT h = db_prepare(c, NULL, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    size_t got = 0;
    int rc = 0;
    SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
    while (r != SQL_NO_DATA && rc == 0) {
        if (!SQL_SUCCEEDED(r)) {
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
            break;
        }
        SQLSMALLINT ncols = 0;
        SQLNumResultCols(h, &ncols);
        while (ncols > 0 && rc == 0 && SQL_SUCCEEDED(r = SQLFetch(h))) {
            for (SQLSMALLINT k = 1; k <= ncols && rc == 0; k++) {
                SQLBIGINT v = 0;
                SQLLEN ind = 0;
                if (!SQL_SUCCEEDED(SQLGetData(h, (SQLUSMALLINT)k, SQL_C_SBIGINT, &v, 0, &ind))) {
                    rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
                } else if (found && (ind == SQL_NULL_DATA || v < 0)) {
                    if (ind == SQL_NULL_DATA || (uint64_t)(-1 - v) >= nfound) {
                        c->last_class = DBE_FATAL; /* the statement broke its contract */
                        rc = err_set(err, MIG_EINTERNAL, "%s: the move named row %lld of %zu",
                                     what, (long long)(-1 - v), nfound);
                    } else {
                        found[-1 - v] = 1;
                    }
                } else if (got < nvals) {
                    vals[got++] = v < 0 || ind == SQL_NULL_DATA ? 0 : (uint64_t)v;
                }
            }
        }
        if (rc == 0 && ncols > 0 && r != SQL_NO_DATA)
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
        if (rc == 0)
            r = SQLMoreResults(h);
    }
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    if (rc == 0 && got < nvals)
        rc = err_set(err, MIG_EDB, "%s: no row count came back", what);
    return rc;
}

/* ---- bulk copy ----
 *
 * What bulk copy does to the transaction, measured through FreeTDS 1.3.17's
 * ODBC driver with autocommit off (FreeTDS: SET IMPLICIT_TRANSACTIONS ON)
 * against the TDS test server (Babelfish 4.2.0; SQL Server itself was not at
 * hand, hence the guard below):
 *   - the copied rows belong to the connection's open transaction:
 *     @@TRANCOUNT stays 1 across bcp_init/sendrow/batch/done, and a
 *     rollback removes them together with the transaction's earlier
 *     statements; bcp_batch commits nothing (a rollback after two
 *     bcp_batch calls left no row); a #temp table filled by bcp is
 *     emptied by the rollback too;
 *   - bcp_batch ends the INSERT BULK and at once starts the next one (one
 *     more round trip); bcp_batch and bcp_done return the server's row
 *     count or -1, and -1 also when the server's DONE carries no count (the
 *     stand-in sends none for a table with an IDENTITY column): only the
 *     return code of the SQLSetConnectAttr call under odbcss.h's wrappers
 *     tells a failure, so the calls below are made through it;
 *   - a row the server refuses (duplicate key) fails bcp_batch / bcp_done
 *     with the server's message on the connection (23000, native 2627);
 *     calling bcp_done after that sends a stray bulk packet and the server
 *     drops the link; without it the connection stays usable and the
 *     rollback undoes the transaction;
 *   - CHECK constraints are skipped without the CHECK_CONSTRAINTS hint;
 *     text is converted by FreeTDS on the client, and a value that does
 *     not fit (too long, not in the column's code page) fails bcp_sendrow
 *     with half a row already in the stream: the server then refuses the
 *     whole stream as malformed (TDS protocol error).
 * So the rows go by bulk copy into the table's #stage, whose columns take
 * every value the mapper accepts without a client-side conversion that
 * could fail (bigint, float, wide nvarchar, canonical ASCII text), and one
 * set-based statement moves them into the table in the same transaction:
 * constraints, defaults (a NULL stays NULL), triggers and conversions act
 * exactly as for the insert path, and a refused row is an ordinary
 * statement error the worker isolates by splitting.  Before that statement
 * a guard reads @@TRANCOUNT and the stage's row count: a server on which
 * the bulk copy ended the transaction, or kept fewer rows than were sent,
 * stops the run instead of committing part of a record. */

#define BCP_PREFIX 8 /* every bound value is preceded by an int64 length, -1 = NULL */

/* FreeTDS 1.3.17 keeps each bulk-copied value in a buffer of at most 4096
 * bytes (tds_alloc_bcp_column_data) but converts text into it up to the
 * column's size: a longer value (an nvarchar(max) of 2049 characters, an
 * nvarchar(4000) of 3000) overruns the heap (seen: a crash in iconv).  A
 * batch holding such a value fills its #stage by parameter array. */
#define BCP_VALUE_MAX 4096

/* Returns 1 if every text value of rows [lo,hi) of table t fits FreeTDS's
 * bulk-copy buffer once converted to UTF-16. */
static int bcp_values_fit(const batch *b, size_t t, size_t lo, size_t hi)
{
    const map_table *mt = &b->map->tables[t];
    for (size_t col = 0; col < mt->ncols; col++) {
        if (stage_kind_of(&mt->cols[col].type) != SK_TEXT)
            continue; /* numbers, and ASCII text of at most 48 bytes */
        for (size_t r = lo; r < hi; r++) {
            const value *v = &batch_row(b, t, r)[col];
            if (v->len > BCP_VALUE_MAX / 2 &&
                2 * utf8_utf16_units(batch_text(b, v), (size_t)v->len) > BCP_VALUE_MAX)
                return 0;
        }
    }
    return 1;
}

void dialect_mssql_bcp_column(const col_type *t, int *host_type, int *prefixlen, int *varlen,
                              int *termlen)
{
    *prefixlen = BCP_PREFIX;
    *varlen = SQL_VARLEN_DATA;
    *termlen = 0;
    switch (stage_kind_of(t)) {
    case SK_BIGINT:
        *host_type = BCP_TYPE_SQLINT8;
        break;
    case SK_FLOAT:
        *host_type = BCP_TYPE_SQLFLT8;
        break;
    default:
        /* canonical UTF-8 text, converted by FreeTDS to the stage's
         * nvarchar / ASCII varchar: nothing it cannot hold */
        *host_type = BCP_TYPE_SQLCHAR;
        break;
    }
}

int dialect_mssql_bcp_value(const batch *b, const value *v, const col_type *t,
                            unsigned char *buf, size_t cap)
{
    int64_t len;
    size_t n = 0;
    if (v->len < 0) {
        len = -1;
    } else {
        switch (type_class(t)) {
        case VC_INT:
            n = sizeof v->n.i;
            memcpy(buf + BCP_PREFIX, &v->n.i, n);
            break;
        case VC_FLOAT:
            n = sizeof v->n.f;
            memcpy(buf + BCP_PREFIX, &v->n.f, n);
            break;
        default:
            n = (size_t)v->len;
            if (BCP_PREFIX + n > cap)
                return -1;
            memcpy(buf + BCP_PREFIX, batch_text(b, v), n);
            break;
        }
        len = (int64_t)n;
    }
    memcpy(buf, &len, sizeof len);
    return 0;
}

/* Returns 1 if the connection holds a diagnostic record that is not a
 * warning (class 01). */
static int dbc_has_error(db_conn *c)
{
    for (SQLSMALLINT i = 1; i < 32; i++) {
        SQLCHAR st[6], msg[8];
        SQLINTEGER native;
        SQLSMALLINT ml;
        if (!SQL_SUCCEEDED(SQLGetDiagRec(SQL_HANDLE_DBC, c->dbc, i, st, &native, msg,
                                         sizeof msg, &ml)))
            return 0;
        if (!(st[0] == '0' && st[1] == '1'))
            return 1;
    }
    return 0;
}

/* Returns 0 after bulk-copy call `call` (a SQL_COPT_TDSODBC_IMPL_BCP_*
 * attribute of FreeTDS, params its argument block) succeeded without an
 * error message, or -1 with err naming the table and the call:
 * "items: bcp_sendrow: SQLSTATE ...". */
static int bcp_call(db_conn *c, SQLINTEGER attr, void *params, const char *table,
                    const char *call, mig_err *err)
{
    SQLRETURN rc = SQLSetConnectAttr(c->dbc, attr, params, SQL_IS_POINTER);
    if (rc == SQL_SUCCESS || (rc == SQL_SUCCESS_WITH_INFO && !dbc_has_error(c)))
        return 0;
    char what[300];
    snprintf(what, sizeof what, "%s: %s", table, call);
    return db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, what);
}

/* Pad the bound char(n) value in buf (ASCII: n bytes) with spaces to n
 * characters, as SQL Server stores it: the TDS test server's bulk copy
 * stores char values as sent, and FreeTDS then hangs reading a char(3)
 * value of 0 bytes (seen; INSERT pads them). */
static void pad_char(unsigned char *buf, size_t n)
{
    int64_t len;
    memcpy(&len, buf, sizeof len);
    if (len < 0 || (size_t)len >= n)
        return;
    memset(buf + BCP_PREFIX + len, ' ', n - (size_t)len);
    len = (int64_t)n;
    memcpy(buf, &len, sizeof len);
}

/* The hints that make a bulk copy into the table act as INSERT does: CHECK
 * and FOREIGN KEY constraints checked, triggers fired, a NULL kept NULL
 * (not replaced by the column's DEFAULT).  FreeTDS sends them as
 * "insert bulk t (...) with (...)"; the stand-in was seen to honour the
 * CHECK constraint (refused) and KEEP_NULLS. */
#define DIRECT_HINTS "CHECK_CONSTRAINTS, FIRE_TRIGGERS, KEEP_NULLS"

/* Returns 0 after bulk-copying rows [lo,hi) of table t into `into` (a
 * bracketed name): its #stage, with each row's position in [__pos], or
 * (direct) the table itself, under DIRECT_HINTS; -1 with err, or -2 when
 * the copy broke its contract (a row half sent, rows lost): the connection
 * is not to be used again (class DBE_FATAL unless the link is gone). */
static int bcp_rows(db_conn *c, const batch *b, size_t t, size_t lo, size_t hi,
                    const char *into, int direct, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    struct tdsodbc_impl_bcp_init_params init = {into, NULL, NULL, BCP_DIRECTION_IN};
    if (bcp_call(c, SQL_COPT_TDSODBC_IMPL_BCP_INITA, &init, mt->name, "bcp_init", err) < 0)
        return -1;
    if (direct) {
        struct tdsodbc_impl_bcp_control_params hints = {BCPHINTS, (void *)DIRECT_HINTS};
        if (bcp_call(c, SQL_COPT_TDSODBC_IMPL_BCP_CONTROL, &hints, mt->name, "bcp_control",
                     err) < 0)
            return -1;
    }
    size_t *cap = xcalloc(mt->ncols, sizeof *cap);
    unsigned char **buf = xcalloc(mt->ncols, sizeof *buf);
    int rc = 0;
    for (size_t col = 0; col < mt->ncols && rc == 0; col++) {
        size_t w = 16;
        for (size_t r = lo; r < hi; r++) {
            const value *v = &batch_row(b, t, r)[col];
            if (v->len > 0 && (size_t)v->len + BCP_PREFIX > w)
                w = (size_t)v->len + BCP_PREFIX;
        }
        if (direct && (size_t)mt->cols[col].type.length + BCP_PREFIX > w)
            w = (size_t)mt->cols[col].type.length + BCP_PREFIX; /* pad_char */
        cap[col] = w;
        buf[col] = xcalloc(1, w);
        struct tdsodbc_impl_bcp_bind_params bind = {buf[col], 0, 0, NULL, 0, 0, (int)col + 1};
        dialect_mssql_bcp_column(&mt->cols[col].type, &bind.vartype, &bind.prefixlen,
                                 &bind.varlen, &bind.termlen);
        rc = bcp_call(c, SQL_COPT_TDSODBC_IMPL_BCP_BIND, &bind, mt->name, "bcp_bind", err);
    }
    /* [__pos], the column after the mapping's: the row's position r - lo */
    unsigned char pos[BCP_PREFIX + sizeof(int64_t)];
    if (rc == 0 && !direct) {
        int64_t len = sizeof(int64_t);
        memcpy(pos, &len, sizeof len);
        struct tdsodbc_impl_bcp_bind_params bind = {pos, BCP_PREFIX, SQL_VARLEN_DATA, NULL, 0,
                                                    BCP_TYPE_SQLINT8, (int)mt->ncols + 1};
        rc = bcp_call(c, SQL_COPT_TDSODBC_IMPL_BCP_BIND, &bind, mt->name, "bcp_bind", err);
    }
    for (size_t r = lo; r < hi && rc == 0; r++) {
        const value *v = batch_row(b, t, r);
        int64_t at = (int64_t)(r - lo);
        memcpy(pos + BCP_PREFIX, &at, sizeof at);
        for (size_t col = 0; col < mt->ncols; col++) {
            int fits = dialect_mssql_bcp_value(b, &v[col], &mt->cols[col].type, buf[col],
                                               cap[col]);
            assert(fits == 0);
            (void)fits;
            if (direct && mt->cols[col].type.kind == CK_CHAR)
                pad_char(buf[col], (size_t)mt->cols[col].type.length);
        }
        rc = bcp_call(c, SQL_COPT_TDSODBC_IMPL_BCP_SENDROW, NULL, mt->name, "bcp_sendrow", err);
        /* half a row may be in the stream: no use of this connection is
         * safe any more, and retrying would fail the same way */
        if (rc < 0 && c->last_class != DBE_CONNECTION) {
            c->last_class = DBE_FATAL;
            rc = -2;
        }
    }
    /* bcp_done ends the copy (bcp_batch would start another); after a
     * failed bcp_sendrow the stream is broken and after a failed bcp_done
     * a second one makes the server drop the link, so it runs once, and
     * only on a sound stream */
    if (rc == 0) {
        struct tdsodbc_impl_bcp_done_params done = {-1};
        rc = bcp_call(c, SQL_COPT_TDSODBC_IMPL_BCP_DONE, &done, mt->name, "bcp_done", err);
        /* the server's count, when it sends one (-1: none) */
        if (rc == 0 && done.rows >= 0 && (size_t)done.rows != hi - lo) {
            c->last_class = DBE_FATAL;
            rc = err_set(err, MIG_EDB, "%s: the server kept %d of the %zu rows sent by bulk copy",
                         mt->name, done.rows, hi - lo) - 1;
        }
    }
    for (size_t col = 0; col < mt->ncols; col++)
        free(buf[col]);
    free(buf);
    free(cap);
    return rc;
}

/* ---- bulk copy straight into the table ----
 *
 * A batch whose rows are all new needs none of the #stage's work: bulk
 * copied into the table itself, under DIRECT_HINTS, in the batch's
 * transaction, each row is written once and the batch takes 3 round trips
 * a table fewer.  The server settles what the stage's statements would
 * have settled, by refusing: a stored or repeated key fails the copy
 * (2627), so does a CHECK or FOREIGN KEY constraint.  Then the load fails
 * with class DBE_AGAIN: the worker rolls the range back, runs it again
 * through the #stage (duplicates skipped or updated, refused rows isolated
 * with the server's message, as before), and keeps c->no_fast_path set for
 * a while (worker.c).  On the TDS test server a refused bulk copy also
 * ends the session (it reads the rest of the stream as a protocol error,
 * and drops the link at the rollback); the worker then reconnects first,
 * as after any lost link.  SQL Server reads the whole stream and keeps the
 * session (not measured here).
 *
 * Taken only where the copy cannot go wrong on the client or differ from
 * INSERT ... SELECT:
 *   - the table is the mapping's own (direct_layout): its columns are the
 *     mapping's, in order, of the types --create-tables gives them, and its
 *     primary key is the mapping's key (else a skipped duplicate would be
 *     stored twice);
 *   - the table has no trigger: FIRE_TRIGGERS is sent, and SQL Server
 *     documents that it fires them, but the TDS test server fires none in
 *     a bulk copy (measured), so the insert path's behaviour is kept by
 *     the #stage's INSERT ... SELECT wherever a trigger exists;
 *   - every value converts on the client (direct_values_fit): varchar and
 *     char text is ASCII (in every code page), dates and datetimes are from
 *     1753 on (FreeTDS 1.3.17 converts earlier ones wrong in bulk copy:
 *     1752-12-31 was stored as 1900-12-31, 0001-01-01 as 2001-01-01), time
 *     fractions have no more digits than the column keeps (no client-side
 *     rounding), and text fits FreeTDS's value buffer (bcp_values_fit).
 *     A value FreeTDS cannot convert would fail bcp_sendrow with half a row
 *     sent, which breaks the connection.
 * Whether the copy ran in the transaction was measured on the stand-in
 * only (the bulk copy section above); the stage's guard (@@TRANCOUNT and
 * the staged count) is not run here, the server's row count from bcp_done
 * is checked when it sends one. */

#define DIRECT_YEAR_MIN 1753

/* Returns 1 if a column the server describes as (type, max_length,
 * precision, scale) is the column --create-tables makes for mc, and keeps
 * the smaller of *frac and its fraction digits in *frac. */
static int direct_column(const map_column *mc, const char *type, long len, long prec, long scale,
                         int *frac)
{
    const col_type *t = &mc->type;
    switch (t->kind) {
    case CK_TINYINT:
        return strcmp(type, "tinyint") == 0;
    case CK_SMALLINT:
        return strcmp(type, "smallint") == 0;
    case CK_INT:
        return strcmp(type, "int") == 0;
    case CK_BIGINT:
        return strcmp(type, "bigint") == 0;
    case CK_BIT:
        return strcmp(type, "bit") == 0;
    case CK_DECIMAL:
        return (strcmp(type, "decimal") == 0 || strcmp(type, "numeric") == 0) &&
               prec == t->precision && scale == t->scale;
    case CK_FLOAT:
        return strcmp(type, "float") == 0 && len == 8;
    case CK_VARCHAR:
        return strcmp(type, "varchar") == 0 && len == t->length;
    case CK_CHAR:
        return strcmp(type, "char") == 0 && len == t->length;
    case CK_NVARCHAR:
        return strcmp(type, "nvarchar") == 0 && len == 2L * t->length;
    case CK_NVARCHAR_MAX:
        return strcmp(type, "nvarchar") == 0 && len == -1;
    case CK_DATE:
        return strcmp(type, "date") == 0;
    case CK_TIME:
    case CK_DATETIME:
        if (strcmp(type, t->kind == CK_TIME ? "time" : "datetime2") != 0)
            return 0;
        if (scale < *frac)
            *frac = (int)scale;
        return 1;
    case CK_UUID:
        return strcmp(type, "uniqueidentifier") == 0;
    }
    return 0;
}

/* ---- what the table is (direct_layout) ----
 *
 * Three statements a table, each cheap in a new session; one catalog query
 * joining sys.columns, sys.indexes, sys.index_columns and sys.triggers gave
 * the same answer but cost the TDS test server about 0.8 s of a session's
 * start (its catalog views are compiled on first use):
 *   (a) LAYOUT_PROBE: whether the table exists (OBJECT_ID(name, 'U'): a
 *       view or synonym of that name has no primary key, so it never was
 *       the mapping's own), how many triggers it has, and how many
 *       fraction digits the server keeps of a time(7) and a datetime2(7)
 *       (SQL Server 7; the TDS test server 6, while the result metadata of
 *       (b) says 7: sys.columns says 6 there, and 6 is what it stores);
 *   (b) SELECT TOP 0 * FROM the table: the columns in order, with their
 *       types from the result metadata (SQLDescribeCol, SQLColAttribute);
 *   (c) SQLPrimaryKeys: which columns form the primary key.
 * The answer is the old query's in every case tests/unit/test_dialect.c
 * test_live_mssql_inspect checks, with one difference on the stand-in only:
 * its sys.columns spells every column name in lower case, so a mapping
 * column "Id" did not match there; the result metadata keeps the case, as
 * SQL Server's sys.columns does. */

/* (a), for the quoted table name (written in twice). */
#define LAYOUT_PROBE_HEAD "SELECT OBJECT_ID(N'"
#define LAYOUT_PROBE_MID                                                                    \
    "', N'U'), (SELECT COUNT(*) FROM sys.triggers WHERE parent_id = OBJECT_ID(N'"
#define LAYOUT_PROBE_TAIL                                                                   \
    "', N'U')), DATEPART(NANOSECOND, CAST('00:00:00.1234567' AS time(7))), "               \
    "DATEPART(NANOSECOND, CAST('2000-01-01T00:00:00.1234567' AS datetime2(7)))"

/* Returns the fraction digits left of .1234567 s once the server stored it
 * as ns nanoseconds (no digit of it is 0, so trailing zeros are the digits
 * dropped). */
static int kept_digits(long long ns)
{
    int d = 9;
    if (ns <= 0)
        return 0;
    while (d > 0 && ns % 10 == 0) {
        ns /= 10;
        d--;
    }
    return d;
}

/* Returns 0 after running (a) for quoted table q on h: *exists, *triggers
 * and the fraction digits kept of time(7) and datetime2(7) in keep[0] and
 * keep[1]; -1 with err. */
static int layout_probe(db_conn *c, SQLHSTMT h, const char *q, int *exists, long long *triggers,
                        int keep[2], mig_err *err)
{
    strbuf sql = STRBUF_INIT;
    sb_puts(&sql, LAYOUT_PROBE_HEAD);
    put_literal(&sql, q);
    sb_puts(&sql, LAYOUT_PROBE_MID);
    put_literal(&sql, q);
    sb_puts(&sql, LAYOUT_PROBE_TAIL);
    SQLRETURN r = db_run(c, h, sb_str(&sql), err);
    sb_free(&sql);
    if (!SQL_SUCCEEDED(r) || !SQL_SUCCEEDED(r = SQLFetch(h)))
        return db_run_failed(c, h, err, "inspect");
    SQLBIGINT v[4];
    SQLLEN ind[4];
    for (SQLUSMALLINT k = 0; k < 4; k++)
        if (!SQL_SUCCEEDED(SQLGetData(h, k + 1, SQL_C_SBIGINT, &v[k], 0, &ind[k])))
            return db_run_failed(c, h, err, "inspect");
    SQLFreeStmt(h, SQL_CLOSE);
    *exists = ind[0] != SQL_NULL_DATA;
    *triggers = ind[1] == SQL_NULL_DATA ? 0 : v[1];
    keep[0] = kept_digits(ind[2] == SQL_NULL_DATA ? 0 : v[2]);
    keep[1] = kept_digits(ind[3] == SQL_NULL_DATA ? 0 : v[3]);
    return 0;
}

/* Returns 1 if column col of h's result (b) is mc as --create-tables makes
 * it (direct_column, after turning the result metadata into what
 * sys.columns says: type name, max_length in bytes, -1 for (max),
 * precision, scale), with *frac kept as direct_column keeps it; 0 if not;
 * -1 with err. */
static int layout_column(db_conn *c, SQLHSTMT h, SQLUSMALLINT col, const map_column *mc,
                         const int keep[2], int *frac, mig_err *err)
{
    SQLCHAR name[512], type[64];
    SQLSMALLINT nlen = 0, tlen = 0, dt = 0, digits = 0, nullable = 0;
    SQLULEN size = 0;
    SQLLEN octets = 0;
    if (!SQL_SUCCEEDED(SQLDescribeCol(h, col, name, sizeof name, &nlen, &dt, &size, &digits,
                                      &nullable)) ||
        !SQL_SUCCEEDED(SQLColAttribute(h, col, SQL_DESC_TYPE_NAME, type, sizeof type, &tlen,
                                       NULL)) ||
        !SQL_SUCCEEDED(SQLColAttribute(h, col, SQL_DESC_OCTET_LENGTH, NULL, 0, NULL, &octets)))
        return db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "inspect");
    if ((size_t)nlen >= sizeof name || (size_t)tlen >= sizeof type ||
        strcmp((const char *)name, mc->name) != 0)
        return 0;
    const char *tn = (const char *)type;
    long len = (long)octets, prec = 0, scale = digits;
    /* (max) columns: the drivers differ (a long type, or a size of 0 or
     * 2^30 - 1); no (n) column is longer than 8000 bytes */
    if (strcmp(tn, "varchar") == 0 || strcmp(tn, "char") == 0)
        len = dt == SQL_LONGVARCHAR || size == 0 || size > 8000 ? -1 : (long)size;
    else if (strcmp(tn, "nvarchar") == 0)
        len = dt == SQL_WLONGVARCHAR || size == 0 || size > 4000 ? -1 : 2L * (long)size;
    else if (strcmp(tn, "decimal") == 0 || strcmp(tn, "numeric") == 0)
        prec = (long)size;
    else if (strcmp(tn, "time") == 0 && scale > keep[0])
        scale = keep[0];
    else if (strcmp(tn, "datetime2") == 0 && scale > keep[1])
        scale = keep[1];
    return direct_column(mc, tn, len, prec, scale, frac);
}

/* Returns 0 after setting key[i] for each column i of table mt that the
 * server's primary key holds (SQLPrimaryKeys on h; a key column that is not
 * among mt's clears *ok); -1 with err. */
static int layout_keys(db_conn *c, SQLHSTMT h, const map_table *mt, unsigned char *key, int *ok,
                       mig_err *err)
{
    const char *table = bare_name(mt->name);
    char *schema = table != mt->name ? xstrndup(mt->name, (size_t)(table - 1 - mt->name))
                                     : xstrdup("dbo");
    SQLRETURN r = SQLPrimaryKeys(h, NULL, 0, (SQLCHAR *)schema, SQL_NTS, (SQLCHAR *)table, SQL_NTS);
    free(schema);
    int rc = SQL_SUCCEEDED(r) ? 0 : db_run_failed(c, h, err, "inspect");
    while (rc == 0 && SQL_SUCCEEDED(r = SQLFetch(h))) {
        char name[512];
        SQLLEN ind;
        if (!SQL_SUCCEEDED(SQLGetData(h, 4, SQL_C_CHAR, name, sizeof name, &ind)) ||
            ind == SQL_NULL_DATA) {
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "inspect");
            break;
        }
        size_t i = 0;
        while (i < mt->ncols && ((size_t)ind >= sizeof name || strcmp(name, mt->cols[i].name) != 0))
            i++;
        if (i < mt->ncols)
            key[i] = 1;
        else
            *ok = 0;
    }
    if (rc == 0 && r != SQL_NO_DATA)
        rc = db_run_failed(c, h, err, "inspect");
    SQLFreeStmt(h, SQL_CLOSE);
    return rc;
}

/* Returns 0 after setting dd->layout to 1 when table mt is the mapping's
 * own and has no trigger (see above), -1 when not; -1 with err when a
 * statement failed (dd->layout then -1 too). */
static int direct_layout(db_conn *c, dialect_direct *dd, const map_table *mt, mig_err *err)
{
    strbuf q = STRBUF_INIT, sql = STRBUF_INIT;
    dialect_mssql_table(&q, mt->name);
    dd->frac = 7;
    dd->layout = -1;
    SQLHSTMT h = db_prepare(c, NULL, err);
    int rc = h == SQL_NULL_HSTMT ? -1 : 0, ok = 1, exists = 0, keep[2];
    long long triggers = 0;
    if (rc == 0)
        rc = layout_probe(c, h, sb_str(&q), &exists, &triggers, keep, err);
    ok = rc == 0 && exists && triggers == 0;
    if (ok) {
        sb_printf(&sql, "SELECT TOP 0 * FROM %s", sb_str(&q));
        SQLSMALLINT n = 0;
        if (!SQL_SUCCEEDED(db_run(c, h, sb_str(&sql), err)) ||
            !SQL_SUCCEEDED(SQLNumResultCols(h, &n)))
            rc = db_run_failed(c, h, err, "inspect");
        ok = rc == 0 && (size_t)n == mt->ncols;
        for (size_t i = 0; ok && i < mt->ncols; i++) {
            int m = layout_column(c, h, (SQLUSMALLINT)(i + 1), &mt->cols[i], keep, &dd->frac, err);
            if (m < 0)
                rc = -1;
            ok = m > 0;
        }
        SQLFreeStmt(h, SQL_CLOSE);
    }
    if (ok) {
        unsigned char *key = xcalloc(mt->ncols, 1);
        rc = layout_keys(c, h, mt, key, &ok, err);
        for (size_t i = 0; ok && i < mt->ncols; i++)
            ok = (key[i] != 0) == (mt->cols[i].is_key != 0);
        free(key);
    }
    db_stmt_free(h);
    dd->layout = rc == 0 && ok ? 1 : -1;
    sb_free(&sql);
    sb_free(&q);
    return rc;
}

/* inspect: direct_layout, for bulk copy only. */
static int mssql_inspect(db_conn *c, const map_table *t, dialect_direct *out, mig_err *err)
{
    if (!use_bcp(c)) {
        out->layout = -1;
        return 0;
    }
    return direct_layout(c, out, t, err);
}

/* Returns the fraction digits of canonical time or datetime text s. */
static int frac_digits(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    return dot ? (int)(len - (size_t)(dot + 1 - s)) : 0;
}

/* Returns 1 if every value of rows [lo,hi) of table t converts on the
 * client exactly as the server would convert it (see above; frac: the
 * fraction digits the table keeps). */
static int direct_values_fit(const batch *b, size_t t, size_t lo, size_t hi, int frac)
{
    const map_table *mt = &b->map->tables[t];
    if (!bcp_values_fit(b, t, lo, hi))
        return 0;
    for (size_t col = 0; col < mt->ncols; col++) {
        col_kind k = mt->cols[col].type.kind;
        for (size_t r = lo; r < hi; r++) {
            const value *v = &batch_row(b, t, r)[col];
            if (v->len < 0)
                continue;
            const char *s = batch_text(b, v);
            size_t len = (size_t)v->len;
            switch (k) {
            case CK_VARCHAR:
            case CK_CHAR:
                for (size_t i = 0; i < len; i++)
                    if ((unsigned char)s[i] >= 0x80)
                        return 0;
                break;
            case CK_DATE:
            case CK_DATETIME:
                if (len < 4 || atoi(s) < DIRECT_YEAR_MIN ||
                    (k == CK_DATETIME && frac_digits(s, len) > frac))
                    return 0;
                break;
            case CK_TIME:
                if (frac_digits(s, len) > frac)
                    return 0;
                break;
            default:
                break;
            }
        }
    }
    return 1;
}

/* Returns 1 when rows [lo,hi) of table t go straight into the table, 0
 * when through the #stage, -1 with err (the catalog query failed). */
static int direct_chosen(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         size_t lo, size_t hi, mig_err *err)
{
    dialect_direct *dd = dialect_state_direct(st, t);
    if (dd->layout == 0 && direct_layout(c, dd, &b->map->tables[t], err) < 0) {
        db_errclass cls = c->last_class;
        if (cls == DBE_CONNECTION || cls == DBE_RETRY || cls == DBE_CANCELLED)
            return -1;
        dd->layout = -1; /* never on this connection; the range again */
        c->last_class = DBE_AGAIN;
        return -1;
    }
    if (dd->layout < 0 || c->no_fast_path)
        return 0;
    return direct_values_fit(b, t, lo, hi, dd->frac);
}

/* Returns 0 after bulk-copying rows [lo,hi) of table t into the table, with
 * res counting them inserted; -1 with err, class DBE_AGAIN when the server
 * refused the rows (the stage's turn: the range runs again). */
static int load_direct(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                       size_t lo, size_t hi, load_result *res, mig_err *err)
{
    strbuf q = STRBUF_INIT;
    dialect_mssql_table(&q, b->map->tables[t].name);
    int rc = bcp_rows(c, b, t, lo, hi, sb_str(&q), 1, err);
    sb_free(&q);
    if (rc == 0) {
        res->inserted = hi - lo;
        return 0;
    }
    db_errclass cls = c->last_class;
    if (rc == -2 || cls == DBE_CONNECTION || cls == DBE_RETRY || cls == DBE_CANCELLED)
        return -1; /* as for any statement */
    c->last_class = DBE_AGAIN; /* the server refused: the stage settles it */
    return -1;
}

/* ---- loading ---- */

/* Rows per INSERT statement on the insert path: multi-row VALUES of up to
 * this many rows and at most MSSQL_MAX_PARAMS markers, or (0) one statement
 * run as a parameter array, one parameter set per row.  SQL Server takes
 * 2100 parameters a request, and a prepared statement runs as sp_execute
 * with its handle as one more: 2000 leaves room.  Multi-row VALUES was
 * measured faster (bench/tds.sh, figures in bench/tds-figures.txt); the
 * choice is made at build time (-DMSSQL_INSERT_ROWS=0) so that the bench
 * can measure both. */
#ifndef MSSQL_INSERT_ROWS
#define MSSQL_INSERT_ROWS 1000
#endif
#define MSSQL_MAX_PARAMS 2000

/* Writes the INSERT into the #stage (a dialect_insert_fn). */
static void mssql_stage_fill_sql(strbuf *out, const dialect *d, const map_table *t,
                                 size_t tindex, dup_policy p, size_t nrows)
{
    sb_puts(out, "INSERT INTO ");
    dialect_mssql_stage_name(out, t, tindex);
    sb_puts(out, " (");
    dialect_column_list(out, d, t, NULL);
    sb_puts(out, ") VALUES ");
    dialect_values_rows(out, t->ncols, nrows);
}

/* Returns 0 after filling t's #stage with rows [lo,hi): by bulk copy, or by
 * a parameter array (the insert path, or values too long for FreeTDS's
 * bulk copy); -1 with err. */
static int fill_stage(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                      size_t lo, size_t hi, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    strbuf sql = STRBUF_INIT;
    int rc = 0;
    /* the move statement empties the stage at its end; only when that is
     * not known to hold (first use, a failure, a rollback since) is it
     * created or emptied here, one round trip more */
    if (!dialect_stage_ready(st, t, c)) {
        dialect_mssql_stage_sql(&sql, mt, t, STAGE_PREPARE);
        rc = db_exec(c, sb_str(&sql), err);
    }
    dialect_stage_set_ready(st, t, c, 0);
    if (rc == 0 && use_bcp(c) && bcp_values_fit(b, t, lo, hi)) {
        sb_reset(&sql);
        dialect_mssql_stage_name(&sql, mt, t);
        rc = bcp_rows(c, b, t, lo, hi, sb_str(&sql), 0, err);
    } else if (rc == 0) {
        SQLLEN changed = 0;
        rc = dialect_load_generic(c, st, b, t, lo, hi, STAGE_SLOT, MSSQL_INSERT_ROWS,
                                  MSSQL_MAX_PARAMS, mssql_stage_fill_sql,
                                  &changed, err);
    }
    sb_free(&sql);
    return rc;
}

/* Append the statements that move t's #stage into the table under policy
 * (with found: the skip policy's, naming the rows found stored first; only
 * with [__pos] set, by bulk copy), in one batch: the guard (bulk copy
 * only), the policy's statements, and the TRUNCATE that leaves the stage
 * empty.  *nv gets how many counts its result sets give, *first the index
 * of the policy's first count, *update whether an UPDATE runs first. */
static void move_sql(strbuf *sql, const db_conn *c, const map_table *mt, size_t t,
                     dup_policy policy, int found, size_t *nv, size_t *first, int *update)
{
    *nv = 0;
    if (use_bcp(c)) {
        dialect_mssql_stage_sql(sql, mt, t, STAGE_CHECK);
        *nv = 2;
    }
    if (found) {
        dialect_mssql_stage_sql(sql, mt, t, STAGE_FOUND);
        sb_puts(sql, "; ");
    }
    *update = policy == DUP_UPDATE && mt->nkeys < mt->ncols;
    if (*update) {
        dialect_mssql_stage_sql(sql, mt, t, STAGE_UPDATE);
        sb_puts(sql, "; ");
    }
    dialect_mssql_stage_sql(sql, mt, t,
                            policy == DUP_SKIP     ? STAGE_SKIP
                            : policy == DUP_UPDATE ? STAGE_INSERT_REST
                                                   : STAGE_INSERT_ALL);
    *first = *nv;
    *nv += *update ? 2 : 1;
    /* leave the stage empty for the next fill (a rollback brings its rows
     * back: dialect_stage_ready then says so).  TRUNCATE, not DELETE: on
     * the TDS test server (PostgreSQL underneath, no vacuum of a #temp
     * table) every deleted row stays in the stage's file and every later
     * scan of the stage reads it; measured with one worker and 60,000
     * records, a batch took 170 ms at the start and 550 ms at the end
     * with DELETE, 250 ms throughout with TRUNCATE (server CPU 7.9-8.7 s
     * against 6.2-6.8 s; at 20,000 records the two are even).  On SQL
     * Server a DELETE from a heap also keeps its emptied pages, and a
     * TRUNCATE of a #temp table is cheap and undone by a rollback. */
    sb_puts(sql, "; TRUNCATE TABLE ");
    dialect_mssql_stage_name(sql, mt, t);
}

/* Plain INSERT by parameter array for the error policy on the insert path;
 * bulk copy straight into the table when direct_chosen says so (found
 * stays all 0: a stored key fails the copy); everything else through the
 * #stage: filled (bulk copy or parameter array), checked, then moved by
 * the policy's set-based statements in one round trip.  With found (skip policy, bulk copy): the same round trip
 * first names the staged rows whose key is stored already (STAGE_FOUND),
 * and found[] gets them (load_rows_found). */
static int load_table(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                       size_t lo, size_t hi, dup_policy policy, unsigned char *found,
                       load_result *res, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    uint64_t n = hi - lo;
    memset(res, 0, sizeof *res);
    if (n == 0)
        return 0;
    if (policy != DUP_SKIP && policy != DUP_UPDATE && !use_bcp(c)) {
        SQLLEN changed = 0;
        if (dialect_load_generic(c, st, b, t, lo, hi, DUP_ERROR, MSSQL_INSERT_ROWS,
                                 MSSQL_MAX_PARAMS, dialect_mssql_insert_sql,
                                 &changed, err) < 0)
            return -1;
        res->inserted = n;
        return 0;
    }
    if (use_bcp(c)) {
        int direct = direct_chosen(c, st, b, t, lo, hi, err);
        if (direct != 0)
            return direct < 0 ? -1 : load_direct(c, st, b, t, lo, hi, res, err);
    }
    if (fill_stage(c, st, b, t, lo, hi, err) < 0)
        return -1;
    assert(!found || (policy == DUP_SKIP && use_bcp(c) && bcp_values_fit(b, t, lo, hi)));
    strbuf sql = STRBUF_INIT;
    uint64_t v[4] = {1, n, 0, 0};
    size_t nv, first;
    int update;
    move_sql(&sql, c, mt, t, policy, found != NULL, &nv, &first, &update);
    int rc = exec_counts(c, sb_str(&sql), mt->name, v, nv, found, (size_t)n, err);
    sb_free(&sql);
    if (rc < 0)
        return -1;
    if (use_bcp(c) && (v[0] == 0 || v[1] != n)) {
        c->last_class = DBE_FATAL;
        return err_set(err, MIG_EDB,
                       v[0] == 0 ? "%s: the bulk copy ended the transaction (@@TRANCOUNT 0): "
                                   "records could be loaded in part; use --load insert"
                                 : "%s: the server kept %llu of the %llu rows sent by bulk copy",
                       mt->name, (unsigned long long)v[1], (unsigned long long)n);
    }
    dialect_stage_set_ready(st, t, c, 1);
    uint64_t upd = update ? v[first] : 0, ins = v[first + (update ? 1 : 0)];
    if (policy == DUP_SKIP) {
        uint64_t nfound = 0;
        for (size_t i = 0; found && i < n; i++)
            nfound += found[i];
        /* rows neither inserted nor found; more inserted than not found
         * (a found key deleted by another session meanwhile, on a server
         * without the lock hints' locks) counts as a disagreement too,
         * and the worker loads the range again with a check of its own */
        res->inserted = ins;
        res->dup_db = n - ins >= nfound ? n - ins - nfound : ins + nfound - n;
    } else if (policy == DUP_UPDATE) {
        /* repeated keys inside the batch count as updates of the first */
        (void)upd;
        res->inserted = ins;
        res->updated = n - ins;
    } else {
        res->inserted = ins;
    }
    return 0;
}

static int mssql_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                           size_t lo, size_t hi, dup_policy policy, load_result *res,
                           mig_err *err)
{
    return load_table(c, st, b, t, lo, hi, policy, NULL, res, err);
}

/* load_rows_found: by bulk copy, the move statement names the rows it
 * found stored (no round trip of its own); on the insert path, and for
 * rows the bulk copy cannot take (their stage is filled by INSERT, which
 * sets no [__pos]), the existence check first, then the skip policy's
 * move, which passes over the rows found. */
static int mssql_load_rows_found(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                                 size_t lo, size_t hi, unsigned char *found, load_result *res,
                                 mig_err *err)
{
    if (use_bcp(c) && bcp_values_fit(b, t, lo, hi))
        return load_table(c, st, b, t, lo, hi, DUP_SKIP, found, res, err);
    size_t n = hi - lo;
    size_t *rows = xcalloc(n ? n : 1, sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = lo + i;
    int rc = dialect_find_existing(c, st, b, t, rows, n, found, err);
    free(rows);
    if (rc == 0)
        rc = load_table(c, st, b, t, lo, hi, DUP_SKIP, NULL, res, err);
    uint64_t nfound = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        nfound += found[i];
    if (rc == 0) /* load_staged counted the rows found as not inserted */
        res->dup_db = res->dup_db >= nfound ? res->dup_db - nfound : 1;
    return rc;
}

/* warm_up, for bulk copy: create t's #stage and run its move statements
 * once, on the empty stage.  On the TDS test server a session's first use
 * of each statement form costs far more than its later uses (creating a
 * #stage 0.25-0.6 s, the first move 0.1-0.5 s, against about 1 ms again):
 * done here, while the engine takes the run lock and the ledger, it no
 * longer delays the first batch.  On SQL Server the same statements move
 * nothing and leave the #stage created and empty, as a batch would. */
static int mssql_warm_up(db_conn *c, dialect_table_state **st, const mapping *m, size_t t,
                         dup_policy p, int found, mig_err *err)
{
    if (!use_bcp(c))
        return 0;
    const map_table *mt = &m->tables[t];
    /* a table the batches copy into directly needs no #stage until a copy
     * fails (a rerun's first batch then creates it) */
    if (dialect_state_direct(st, t)->layout > 0)
        return 0;
    strbuf sql = STRBUF_INIT;
    /* the session is new (the worker's first statements): no stage yet, and
     * no IF OBJECT_ID(...) to compile (about 0.09 s of the stand-in's CPU
     * in a new session) */
    dialect_mssql_stage_sql(&sql, mt, t, STAGE_CREATE);
    int rc = db_exec(c, sb_str(&sql), err);
    if (rc == 0) {
        uint64_t v[4];
        size_t nv, first;
        int update;
        unsigned char none = 0;
        sb_reset(&sql);
        move_sql(&sql, c, mt, t, p, found, &nv, &first, &update);
        rc = exec_counts(c, sb_str(&sql), mt->name, v, nv, found ? &none : NULL, 0, err);
    }
    sb_free(&sql);
    /* empty and there, once the caller commits (a rollback says otherwise) */
    dialect_stage_set_ready(st, t, c, rc == 0);
    return rc;
}

/* ---- errors ---- */

/* Classify mainly by SQL Server's native error number, then by SQLSTATE. */
static db_errclass mssql_classify(const char *state, long native, const char *msg)
{
    switch (native) {
    case 2627:
    case 2601:
        return DBE_DUPLICATE;
    case 547:  /* CHECK or FOREIGN KEY constraint */
    case 8152: /* string or binary data would be truncated */
    case 2628: /* the same, naming table and column */
    case 245:  /* conversion failed */
    case 8114: /* error converting data type */
    case 241:  /* conversion failed (date/time from string) */
    case 242:  /* date/time out of range */
    case 515:  /* NULL into a NOT NULL column */
    case 8115: /* arithmetic overflow */
    case 2402: /* characters not in the server's character set (varchar) */
    case 4815: /* bulk copy: invalid column length */
    case 4816: /* bulk copy: invalid column type / data */
        return DBE_DATA;
    case 1205:
        return DBE_RETRY;
    case 229:
    case 230:
    case 262:
    case 18456:
        return DBE_PERMISSION;
    case 208:
    case 207:
        return DBE_SCHEMA;
    default:
        break;
    }
    if (strcmp(state, "40001") == 0)
        return DBE_RETRY;
    if (strncmp(state, "08", 2) == 0)
        return DBE_CONNECTION;
    if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)
        return DBE_DATA;
    if (strcmp(state, "28000") == 0)
        return DBE_PERMISSION;
    if (strcmp(state, "42S02") == 0 || strcmp(state, "42S22") == 0)
        return DBE_SCHEMA;
    return DBE_FATAL;
}

/* The run lock: an application lock owned by the session, so that it
 * outlives transactions and goes with the connection; the server waits
 * (try_lock_sql).  Babelfish's backend died on a second sp_getapplock
 * after a refused one in the same session: one call does all the waiting.
 * The resource names the database: SQL Server's application locks are per
 * database already, the stand-in's (Babelfish) are per server, where two
 * databases loaded with one mapping would otherwise exclude each other. */
static void mssql_try_lock_sql(strbuf *out, const char *name, long long key, long wait_ms)
{
    (void)key;
    sb_printf(out,
              "SET NOCOUNT ON; DECLARE @r int, @res nvarchar(255) = N'%s ' + DB_NAME(); "
              "EXEC @r = sp_getapplock @Resource = @res, "
              "@LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = %ld; "
              "SELECT CASE WHEN @r >= 0 THEN 1 ELSE 0 END",
              name, wait_ms);
}

/* Serialises table creation between processes (create_lock): an
 * application lock owned by the open transaction, released at its commit.
 * Without it two "IF OBJECT_ID(...) IS NULL CREATE TABLE" at once both go
 * ahead and the second fails (error 2714). */
static int mssql_create_lock(db_conn *c, mig_err *err)
{
    return db_exec(c,
                   "DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'migrate: create tables', "
                   "@LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = -1; "
                   "IF @r < 0 RAISERROR('sp_getapplock failed (%d)', 16, 1, @r)",
                   err);
}

const dialect dialect_mssql = {
    .name = "sqlserver",
    .single_writer = 0,
    .counts_upserts = 1,
    .matches_dbms = mssql_matches,
    .before_connect = mssql_before_connect,
    .after_connect = mssql_after_connect,
    .quote_ident = mssql_quote,
    .type_ddl = mssql_type_ddl,
    .ptype = mssql_ptype,
    .create_table_sql = mssql_create_table,
    .load_rows = mssql_load_rows,
    .load_rows_found = mssql_load_rows_found,
    .warm_up = mssql_warm_up,
    .inspect = mssql_inspect,
    .table_state_free = dialect_state_free_generic,
    .exists_sql = mssql_exists_sql,
    .classify = mssql_classify,
    .try_lock_sql = mssql_try_lock_sql,
    .create_lock = mssql_create_lock,
};
