/* dialect_mssql.c — SQL Server (T-SQL) through FreeTDS.
 *
 * [x] quoting, dbo as the default schema, and two load paths: parameter
 * arrays with explicit SQL types (FreeTDS has no SQLDescribeParam), or bulk
 * copy (--load bcp, SQL_COPT_SS_BCP set before connecting).  The skip and
 * update policies go through a per-connection #stage table for each table
 * of the mapping ([#stage_<table index>_<name>]): the batch is
 * loaded into the stage, deduplicated there (ROW_NUMBER over an IDENTITY
 * ordinal), and merged into the target with set-based NOT EXISTS / UPDATE
 * JOIN statements (no MERGE: see SQLSERVER-NOTES).  The session runs with
 * NOCOUNT ON, so the set-based statements report their row count with an
 * explicit SELECT @@ROWCOUNT.  A bulk copy is judged by the server's
 * messages on the connection, never by the client's row count. */
#include "config.h"
#include "dialect.h"

#include <odbcss.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

/* Which staging statement dialect_mssql_stage_sql writes. */
enum {
    STAGE_PREPARE = 0, /* create the #stage once per session, else empty it */
    STAGE_FILL,        /* INSERT INTO #stage (cols) VALUES (?, ...) */
    STAGE_SKIP,        /* insert first occurrences of new keys; SELECT @@ROWCOUNT */
    STAGE_UPDATE,      /* update existing keys from last occurrences; SELECT @@ROWCOUNT */
    STAGE_INSERT_REST  /* insert last occurrences of new keys; SELECT @@ROWCOUNT */
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

/* Returns 0 after switching bulk copy on for --load bcp, or -1. */
static int mssql_before_connect(db_conn *c, mig_err *err)
{
    if (!c->target || c->target->load != LOAD_BCP)
        return 0;
    SQLRETURN rc = SQLSetConnectAttr(c->dbc, SQL_COPT_SS_BCP, (SQLPOINTER)SQL_BCP_ON,
                                     SQL_IS_INTEGER);
    if (!SQL_SUCCEEDED(rc))
        return db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_ECONNECT, err,
                       "cannot connect: cannot enable bulk copy");
    return 0;
}

/* Returns 0 after setting NOCOUNT, XACT_ABORT and ARITHABORT on, or -1. */
static int mssql_after_connect(db_conn *c, mig_err *err)
{
    if (db_exec(c, "SET NOCOUNT ON; SET XACT_ABORT ON; SET ARITHABORT ON", err) < 0)
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

/* Every parameter typed as its column (FreeTDS has no SQLDescribeParam):
 * the standard mapping is SQL Server's own.  Text for nvarchar goes as UTF-8
 * in SQL_C_CHAR typed SQL_WVARCHAR: it arrives intact with
 * ClientCharset=UTF-8 (SQLSERVER-NOTES).
 *
 * varchar and char columns are bound as SQL_VARCHAR / SQL_CHAR, so the
 * server converts the text to the column's code page.  Text that the code
 * page cannot hold (non-ASCII UTF-8 into a varchar column on a non-UTF-8
 * collation) is refused by the server with native error 2402 ("Error
 * converting characters into server's character set"); mssql_classify
 * makes that a data error, so that record alone is rejected, with the
 * server's message.  Nothing is transliterated or dropped on the way:
 * nvarchar is the column type for Unicode text (or a UTF-8 collation,
 * _UTF8, SQL Server 2019 and later).  On the bulk copy path FreeTDS
 * converts the SQLCHAR text to the column's code page itself; how it
 * reports a character that does not fit was not seen (no server here). */
static void mssql_ptype(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                        SQLULEN *size, SQLSMALLINT *digits)
{
    dialect_ptype_standard(t, ctype, sqltype, size, digits);
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

/* Append the deduplicated stage: one row per key, the first (asc) or last
 * occurrence, as a derived table aliased s. */
static void stage_dedup(strbuf *out, const map_table *t, size_t tindex, int last)
{
    sb_puts(out, "(SELECT ");
    dialect_column_list(out, &dialect_mssql, t, NULL);
    sb_puts(out, ", ROW_NUMBER() OVER (PARTITION BY ");
    for (size_t k = 0; k < t->nkeys; k++) {
        if (k)
            sb_puts(out, ", ");
        mssql_quote(out, t->cols[t->key_cols[k]].name);
    }
    sb_printf(out, " ORDER BY [__ord]%s) AS [__rn] FROM ", last ? " DESC" : "");
    dialect_mssql_stage_name(out, t, tindex);
    sb_puts(out, ") s");
}

/* Append the INSERT of the stage's new keys (first or last occurrence). */
static void stage_insert_new(strbuf *out, const map_table *t, size_t tindex, int last)
{
    sb_puts(out, "INSERT INTO ");
    dialect_mssql_table(out, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, &dialect_mssql, t, NULL);
    sb_puts(out, ") SELECT ");
    dialect_column_list(out, &dialect_mssql, t, "s.");
    sb_puts(out, " FROM ");
    stage_dedup(out, t, tindex, last);
    sb_puts(out, " WHERE s.[__rn] = 1 AND NOT EXISTS (SELECT 1 FROM ");
    dialect_mssql_table(out, t->name);
    sb_puts(out, " t WITH (UPDLOCK, HOLDLOCK) WHERE ");
    dialect_key_match(out, &dialect_mssql, t, "t", "s");
    sb_puts(out, "); SELECT @@ROWCOUNT");
}

void dialect_mssql_stage_sql(strbuf *out, const map_table *t, size_t tindex, int which)
{
    strbuf st = STRBUF_INIT;
    dialect_mssql_stage_name(&st, t, tindex);
    switch (which) {
    case STAGE_PREPARE:
        sb_puts(out, "IF OBJECT_ID(N'tempdb..");
        put_literal(out, sb_str(&st));
        sb_puts(out, "') IS NULL BEGIN SELECT TOP 0 ");
        dialect_column_list(out, &dialect_mssql, t, NULL);
        sb_printf(out, " INTO %s FROM ", sb_str(&st));
        dialect_mssql_table(out, t->name);
        sb_printf(out, "; ALTER TABLE %s ADD [__ord] int IDENTITY(1,1) END ELSE TRUNCATE TABLE %s",
                  sb_str(&st), sb_str(&st));
        break;
    case STAGE_FILL:
        sb_printf(out, "INSERT INTO %s (", sb_str(&st));
        dialect_column_list(out, &dialect_mssql, t, NULL);
        sb_puts(out, ") VALUES ");
        dialect_values_rows(out, t->ncols, 1);
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
            sb_puts(out, " = s.");
            mssql_quote(out, t->cols[c].name);
        }
        sb_puts(out, " FROM ");
        dialect_mssql_table(out, t->name);
        sb_puts(out, " t JOIN ");
        stage_dedup(out, t, tindex, 1);
        sb_puts(out, " ON ");
        dialect_key_match(out, &dialect_mssql, t, "t", "s");
        sb_puts(out, " WHERE s.[__rn] = 1; SELECT @@ROWCOUNT");
        break;
    }
    case STAGE_INSERT_REST:
        stage_insert_new(out, t, tindex, 1);
        break;
    }
    sb_free(&st);
}

/* Returns 0 after running sql and reading the first value of its first
 * result set into *n (the statements end with SELECT @@ROWCOUNT), or -1. */
static int exec_count(db_conn *c, const char *sql, const char *what, uint64_t *n, mig_err *err)
{
    SQLHSTMT h = db_prepare(c, NULL, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    int got = 0, rc = 0;
    SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
    while (r != SQL_NO_DATA) {
        if (!SQL_SUCCEEDED(r)) {
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
            break;
        }
        SQLSMALLINT ncols = 0;
        SQLNumResultCols(h, &ncols);
        if (ncols > 0 && !got) {
            SQLBIGINT v = 0;
            SQLLEN ind = 0;
            r = SQLFetch(h);
            if (SQL_SUCCEEDED(r))
                r = SQLGetData(h, 1, SQL_C_SBIGINT, &v, 0, &ind);
            if (!SQL_SUCCEEDED(r)) {
                rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
                break;
            }
            *n = v < 0 ? 0 : (uint64_t)v;
            got = 1;
        }
        r = SQLMoreResults(h);
    }
    SQLFreeHandle(SQL_HANDLE_STMT, h);
    if (rc == 0 && !got)
        rc = err_set(err, MIG_EDB, "%s: no row count came back", what);
    return rc;
}

/* ---- bulk copy ---- */

#define BCP_PREFIX 8 /* every bound value is preceded by an int64 length, -1 = NULL */

/* A bulk copy skips CHECK and FOREIGN KEY constraints unless told to check
 * them: rows that an INSERT would refuse must be refused here too. */
#define BCP_HINTS "CHECK_CONSTRAINTS"

const char *dialect_mssql_bcp_hints(void)
{
    return BCP_HINTS;
}

void dialect_mssql_bcp_column(const col_type *t, int *host_type, int *prefixlen, int *varlen,
                              int *termlen)
{
    *prefixlen = BCP_PREFIX;
    *varlen = SQL_VARLEN_DATA;
    *termlen = 0;
    switch (type_class(t)) {
    case VC_INT:
        *host_type = BCP_TYPE_SQLINT8;
        break;
    case VC_FLOAT:
        *host_type = BCP_TYPE_SQLFLT8;
        break;
    default:
        /* canonical UTF-8 text, converted by FreeTDS to the column's type */
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

/* Returns 0 when the connection holds no error message (after a bulk copy
 * call), else -1 with err from those messages. */
static int bcp_server_ok(db_conn *c, mig_err *err, const char *what)
{
    for (SQLSMALLINT i = 1; i < 32; i++) {
        SQLCHAR st[6];
        SQLINTEGER native;
        SQLCHAR msg[8];
        SQLSMALLINT ml;
        if (!SQL_SUCCEEDED(SQLGetDiagRec(SQL_HANDLE_DBC, c->dbc, i, st, &native, msg,
                                         sizeof msg, &ml)))
            break;
        if (!(st[0] == '0' && st[1] == '1'))
            return db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, what);
    }
    return 0;
}

/* Returns 0 after bulk-copying rows [lo,hi) of table t into `target`, or -1. */
static int bcp_rows(db_conn *c, const batch *b, size_t t, size_t lo, size_t hi,
                    const char *target, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    if (bcp_initA(c->dbc, target, NULL, NULL, BCP_DIRECTION_IN) != SUCCEED)
        return db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, mt->name);
    size_t *cap = xcalloc(mt->ncols, sizeof *cap);
    unsigned char **buf = xcalloc(mt->ncols, sizeof *buf);
    int rc = 0;
    /* FreeTDS copies the hint; it goes out as INSERT BULK ... WITH (hint) */
    if (bcp_control(c->dbc, BCPHINTS, (void *)dialect_mssql_bcp_hints()) != SUCCEED)
        rc = db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, mt->name);
    for (size_t col = 0; col < mt->ncols && rc == 0; col++) {
        size_t w = 16;
        for (size_t r = lo; r < hi; r++) {
            const value *v = &batch_row(b, t, r)[col];
            if (v->len > 0 && (size_t)v->len + BCP_PREFIX > w)
                w = (size_t)v->len + BCP_PREFIX;
        }
        cap[col] = w;
        buf[col] = xcalloc(1, w);
        int host, prefix, varlen, termlen;
        dialect_mssql_bcp_column(&mt->cols[col].type, &host, &prefix, &varlen, &termlen);
        if (bcp_bind(c->dbc, buf[col], prefix, varlen, NULL, termlen, host, (int)col + 1) !=
            SUCCEED)
            rc = db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, mt->name);
    }
    for (size_t r = lo; r < hi && rc == 0; r++) {
        const value *v = batch_row(b, t, r);
        for (size_t col = 0; col < mt->ncols; col++)
            dialect_mssql_bcp_value(b, &v[col], &mt->cols[col].type, buf[col], cap[col]);
        if (bcp_sendrow(c->dbc) != SUCCEED)
            rc = db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, mt->name);
    }
    if (rc == 0 && bcp_batch(c->dbc) < 0)
        rc = db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, mt->name);
    if (rc == 0)
        rc = bcp_server_ok(c, err, mt->name);
    /* always end the copy so that the connection can be used again */
    int done = bcp_done(c->dbc);
    if (rc == 0 && done < 0)
        rc = db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, mt->name);
    if (rc == 0)
        rc = bcp_server_ok(c, err, mt->name);
    for (size_t col = 0; col < mt->ncols; col++)
        free(buf[col]);
    free(buf);
    free(cap);
    return rc;
}

/* ---- loading ---- */

/* Writes the INSERT into the #stage (a dialect_insert_fn). */
static void mssql_stage_fill_sql(strbuf *out, const dialect *d, const map_table *t,
                                 size_t tindex, dup_policy p, size_t nrows)
{
    dialect_mssql_stage_sql(out, t, tindex, STAGE_FILL);
}

/* Returns 0 after loading rows [lo,hi) into `into` (the table itself when
 * stage is 0, else its #stage) by bcp or by a parameter array. */
static int put_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t, size_t lo,
                    size_t hi, int stage, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    if (c->target && c->target->load == LOAD_BCP) {
        strbuf name = STRBUF_INIT;
        /* the target as schema.table (SQLSERVER-NOTES); FreeTDS puts the
         * name into its statements as given, so the bracketed stage name
         * is the very one the staging statements use */
        if (stage)
            dialect_mssql_stage_name(&name, mt, t);
        else if (strchr(mt->name, '.'))
            sb_puts(&name, mt->name);
        else
            sb_printf(&name, "dbo.%s", mt->name);
        int rc = bcp_rows(c, b, t, lo, hi, sb_str(&name), err);
        sb_free(&name);
        return rc;
    }
    SQLLEN changed = 0;
    return dialect_load_generic(c, st, b, t, lo, hi, stage ? STAGE_SLOT : DUP_ERROR, 0, 0,
                                stage ? mssql_stage_fill_sql : dialect_mssql_insert_sql,
                                &changed, err);
}

/* Plain INSERT (or bcp) for the error policy; the #stage and set-based
 * statements for skip and update. */
static int mssql_load_rows(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                           size_t lo, size_t hi, dup_policy policy, load_result *res,
                           mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    uint64_t n = hi - lo;
    memset(res, 0, sizeof *res);
    if (n == 0)
        return 0;
    if (policy != DUP_SKIP && policy != DUP_UPDATE) {
        if (put_rows(c, st, b, t, lo, hi, 0, err) < 0)
            return -1;
        res->inserted = n;
        return 0;
    }
    strbuf sql = STRBUF_INIT;
    int rc = 0;
    dialect_mssql_stage_sql(&sql, mt, t, STAGE_PREPARE);
    rc = db_exec(c, sb_str(&sql), err);
    if (rc == 0)
        rc = put_rows(c, st, b, t, lo, hi, 1, err);
    if (rc == 0 && policy == DUP_SKIP) {
        uint64_t ins = 0;
        sb_reset(&sql);
        dialect_mssql_stage_sql(&sql, mt, t, STAGE_SKIP);
        rc = exec_count(c, sb_str(&sql), mt->name, &ins, err);
        res->inserted = ins;
        res->dup_db = n - ins;
    } else if (rc == 0) {
        uint64_t ins = 0, upd = 0;
        if (mt->nkeys < mt->ncols) {
            sb_reset(&sql);
            dialect_mssql_stage_sql(&sql, mt, t, STAGE_UPDATE);
            rc = exec_count(c, sb_str(&sql), mt->name, &upd, err);
        }
        if (rc == 0) {
            sb_reset(&sql);
            dialect_mssql_stage_sql(&sql, mt, t, STAGE_INSERT_REST);
            rc = exec_count(c, sb_str(&sql), mt->name, &ins, err);
        }
        /* repeated keys inside the batch count as updates of the first */
        res->inserted = ins;
        res->updated = n - ins;
    }
    sb_free(&sql);
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
 * after a refused one in the same session: one call does all the waiting. */
static void mssql_try_lock_sql(strbuf *out, const char *name, long long key, long wait_ms)
{
    (void)key;
    sb_printf(out,
              "SET NOCOUNT ON; DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'%s', "
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
    .matches_dbms = mssql_matches,
    .before_connect = mssql_before_connect,
    .after_connect = mssql_after_connect,
    .quote_ident = mssql_quote,
    .type_ddl = mssql_type_ddl,
    .ptype = mssql_ptype,
    .create_table_sql = mssql_create_table,
    .load_rows = mssql_load_rows,
    .table_state_free = dialect_state_free_generic,
    .exists_sql = mssql_exists_sql,
    .classify = mssql_classify,
    .try_lock_sql = mssql_try_lock_sql,
    .create_lock = mssql_create_lock,
};
