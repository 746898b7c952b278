/* dbdump.c — print the mapped tables of a database in one canonical text
 * form, so that one expected file serves every target (test tool).
 *
 *   dbdump (--db FILE | --connect STRING) -m MAPPING [TABLE...]
 *   dbdump (--db FILE | --connect STRING) --exec
 *
 * For every table of the mapping (or only those named, in the order named)
 * it prints a line "# TABLE", then one line per row: the mapped columns in
 * mapping order, joined by TAB, rows in key order (ORDER BY the key columns).
 * Values are fetched as SQL_C_CHAR text and put through type_convert() of
 * the column's mapping type, so that "1234.5" (SQLite) and "1234.50"
 * (PostgreSQL) both print as 1234.50, booleans as 1/0 and timestamps as
 * "YYYY-MM-DD hh:mm:ss".  NULL prints as \N; a backslash, TAB, CR or LF
 * inside a value prints as \\, \t, \r, \n.  A value that does not convert is
 * printed as the database returned it, with a warning on stderr.
 *
 * With --exec it instead runs the SQL read from stdin as one batch (one
 * SQLExecDirect: T-SQL batches may hold many statements) and prints the rows
 * of every result set, columns joined by TAB, NULL as \N (the test scripts
 * use it to reset a database, or to ask the server something, without a SQL
 * client that would want the password on its command line or print it).
 *
 * It owns its one connection (dialect_connect, the engine's own) and one
 * statement at a time; nothing is written to the database.
 * Exit status: 0 ok, 1 database error, 2 usage, 3 mapping error. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "dialect.h"
#include "err.h"
#include "mapping.h"
#include "strbuf.h"
#include "types.h"

/* ---- command line ---- */

typedef struct options {
    const char *db_file;
    const char *connstr;
    const char *mapping_file;
    char **tables;
    int ntables;
    int exec;
} options;

/* Returns 2 (the usage status) after printing the usage line to stderr. */
static int usage(void)
{
    fprintf(stderr, "usage: dbdump (--db FILE | --connect STRING) -m MAPPING [TABLE...]\n"
                    "       dbdump (--db FILE | --connect STRING) --exec < SQL\n");
    return 2;
}

/* Returns 0 when argv parsed into *o, else 2 (usage printed). */
static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->tables = xcalloc((size_t)argc, sizeof *o->tables);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--db") || !strcmp(a, "--connect") || !strcmp(a, "-m")
             || !strcmp(a, "--mapping")) && i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--db"))
                o->db_file = v;
            else if (!strcmp(a, "--connect"))
                o->connstr = v;
            else
                o->mapping_file = v;
        } else if (!strcmp(a, "--exec")) {
            o->exec = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "dbdump: unknown option or missing value: %s\n", a);
            return usage();
        } else {
            o->tables[o->ntables++] = argv[i];
        }
    }
    if (!o->db_file == !o->connstr)
        return usage();
    if (o->exec ? (o->mapping_file || o->ntables) : !o->mapping_file)
        return usage();
    return 0;
}

/* ---- connection string: keep the password out of connstr ---- */

/* Fill t from an ODBC connection string, moving PWD=/Password= into
 * t->password as db.h wants. */
static void target_from_connstr(db_target *t, const char *cs)
{
    memset(t, 0, sizeof *t);
    t->connstr = xstrdup(cs);
    db_connstr_take_password(t->connstr, &t->password);
    t->connect_timeout = 15;
    t->load = LOAD_INSERT;
}

/* ---- fetching and printing ---- */

/* Print the diagnostics of a statement handle to stderr; returns 1. */
static int stmt_fail(SQLHSTMT st, const char *what)
{
    SQLCHAR state[6] = "", msg[1024] = "";
    SQLINTEGER native = 0;
    SQLSMALLINT len = 0;
    SQLGetDiagRec(SQL_HANDLE_STMT, st, 1, state, &native, msg, sizeof msg, &len);
    fprintf(stderr, "dbdump: %s: SQLSTATE %s (native %ld): %s\n", what,
            (char *)state, (long)native, (char *)msg);
    return 1;
}

/* Returns 1 and the whole value of column col (1-based) in *val, 0 when it
 * is NULL, -1 on error (printed). */
static int fetch_text(SQLHSTMT st, SQLUSMALLINT col, strbuf *val)
{
    char buf[4096];
    SQLLEN ind = 0;
    sb_reset(val);
    for (;;) {
        SQLRETURN r = SQLGetData(st, col, SQL_C_CHAR, buf, sizeof buf, &ind);
        if (r == SQL_NO_DATA)
            return 1;
        if (!SQL_SUCCEEDED(r)) {
            stmt_fail(st, "SQLGetData");
            return -1;
        }
        if (ind == SQL_NULL_DATA)
            return 0;
        size_t got = (ind == SQL_NO_TOTAL || ind >= (SQLLEN)sizeof buf)
                         ? sizeof buf - 1 : (size_t)ind;
        sb_append(val, buf, got);
        if (r == SQL_SUCCESS)
            return 1;
        /* SQL_SUCCESS_WITH_INFO: truncated (01004), more to come. */
        if (got < sizeof buf - 1)
            return 1;
    }
}

/* Returns 1 and the double in column col (1-based) in *f, as the driver
 * hands a double over (no text in between), 0 when it is NULL, -1 on error
 * (printed). */
static int fetch_double(SQLHSTMT st, SQLUSMALLINT col, double *f)
{
    SQLLEN ind = 0;
    if (!SQL_SUCCEEDED(SQLGetData(st, col, SQL_C_DOUBLE, f, 0, &ind))) {
        stmt_fail(st, "SQLGetData");
        return -1;
    }
    return ind == SQL_NULL_DATA ? 0 : 1;
}

/* The SQLite ODBC driver hands a REAL over through 15-digit text, whatever
 * C type is asked for, so a stored double cannot be read back exactly
 * through it.  SQLite's own printf('%!.17g') comes within an ulp or so, and
 * a comparison with a bound double (sqlite3_bind_double: exact) tells
 * which neighbour is the stored value. */

/* Returns 1 and the exact double in column col of the row of table t with
 * rowid `rowid` in *f, from its 17-digit text in txt; 0 when no neighbour
 * within 16 ulps compares equal (printed); -1 on error (printed). */
static int sqlite_exact_double(db_conn *c, const map_table *t, size_t col, long long rowid,
                               const char *txt, double *f)
{
    strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "SELECT 1 FROM ");
    c->d->quote_ident(&sql, t->name);
    sb_puts(&sql, " WHERE rowid = ? AND ");
    c->d->quote_ident(&sql, t->cols[col].name);
    sb_puts(&sql, " = ?");
    SQLHSTMT h = SQL_NULL_HSTMT;
    int rc = -1;
    if (SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h)) &&
        SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)sql.buf, SQL_NTS))) {
        double base = strtod(txt, NULL), cand = base;
        SQLBIGINT id = rowid;
        SQLLEN ind0 = 0, ind1 = 0;
        SQLBindParameter(h, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 19, 0, &id, 0, &ind0);
        SQLBindParameter(h, 2, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 17, 0, &cand, 0, &ind1);
        rc = 0;
        for (int k = 0; k <= 32 && rc == 0; k++) {
            /* base, then one ulp above, one below, two above, ... */
            cand = base;
            for (int s = 0; s < (k + 1) / 2; s++)
                cand = nextafter(cand, k % 2 ? INFINITY : -INFINITY);
            if (!SQL_SUCCEEDED(SQLExecute(h))) {
                stmt_fail(h, t->name);
                rc = -1;
                break;
            }
            if (SQL_SUCCEEDED(SQLFetch(h))) {
                *f = cand;
                rc = 1;
            }
            SQLFreeStmt(h, SQL_CLOSE);
        }
        if (rc == 0)
            fprintf(stderr, "dbdump: %s.%s: no double near %s equals the stored value\n",
                    t->name, t->cols[col].name, txt);
    } else {
        stmt_fail(h, t->name);
    }
    if (h != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, h);
    sb_free(&sql);
    return rc;
}

/* Print f exactly: with 15 significant digits (%g) when they read back as
 * f, else 16, else 17 (always enough). */
static void put_double(double f)
{
    char buf[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    fputs(buf, stdout);
}

/* Print s[0..n) with backslash, TAB, CR and LF escaped. */
static void put_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\\': fputs("\\\\", stdout); break;
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        default: putchar(s[i]);
        }
    }
}

/* Returns the text to convert for a raw database value of column c:
 * PostgreSQL booleans t/f become 1/0, char(n) padding is dropped, and a
 * date whose year has fewer than 4 digits gets its leading zeros back
 * (FreeTDS prints year 1 as "1-01-01"); pad (32 bytes) holds that copy. */
static void prepare_raw(const map_column *c, const char **s, size_t *n, char *pad)
{
    if (c->type.kind == CK_BIT && *n == 1 && (**s == 't' || **s == 'f'))
        *s = (**s == 't') ? "1" : "0";
    if (c->type.kind == CK_CHAR)
        while (*n > 0 && (*s)[*n - 1] == ' ')
            (*n)--;
    if (c->type.kind == CK_DATE || c->type.kind == CK_DATETIME) {
        size_t y = 0;
        while (y < *n && (*s)[y] >= '0' && (*s)[y] <= '9')
            y++;
        if (y >= 1 && y < 4 && y < *n && (*s)[y] == '-' && *n + 4 - y < 32) {
            memset(pad, '0', 4 - y);
            memcpy(pad + 4 - y, *s, *n);
            *n += 4 - y;
            pad[*n] = '\0';
            *s = pad;
        }
    }
}

/* Print one value of column c in its canonical form. */
static void put_value(const map_table *t, const map_column *c, const strbuf *raw,
                      strbuf *text)
{
    const char *s = sb_str(raw);
    size_t n = raw->len;
    conv_value v;
    char why[256], pad[32];

    prepare_raw(c, &s, &n, pad);
    sb_reset(text);
    if (type_convert(&c->type, s, n, &v, text, why, sizeof why) != 0) {
        fprintf(stderr, "dbdump: warning: %s.%s: %s (printed as stored)\n",
                t->name, c->name, why);
        put_escaped(sb_str(raw), raw->len);
        return;
    }
    switch (v.vclass) {
    case VC_INT:
        printf("%lld", (long long)v.i);
        break;
    case VC_FLOAT:
        printf("%.15g", v.f);
        break;
    case VC_TEXT:
        put_escaped(text->buf + v.text_off, v.text_len);
        break;
    }
}

/* Append the quoted name to sql (the dialect's quoting, else "..."). */
static void quote(const db_conn *c, strbuf *sql, const char *name)
{
    if (c->d && c->d->quote_ident) {
        c->d->quote_ident(sql, name);
        return;
    }
    sb_putc(sql, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sb_putc(sql, '"');
        sb_putc(sql, *p);
    }
    sb_putc(sql, '"');
}

/* Returns 0 after printing table t, 1 on a database error (printed). */
static int dump_table(db_conn *c, const map_table *t)
{
    strbuf sql = STRBUF_INIT, raw = STRBUF_INIT, text = STRBUF_INIT;
    SQLHSTMT st = SQL_NULL_HSTMT;
    int rc = 0;
    int sqlite = c->d == &dialect_sqlite;

    sb_puts(&sql, "SELECT ");
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            sb_puts(&sql, ", ");
        /* SQLite floats as 17-digit text, made exact below */
        int exact = sqlite && type_class(&t->cols[i].type) == VC_FLOAT;
        if (exact)
            sb_puts(&sql, "printf('%!.17g', ");
        quote(c, &sql, t->cols[i].name);
        if (exact)
            sb_puts(&sql, ")");
    }
    if (sqlite)
        sb_puts(&sql, ", rowid");
    sb_puts(&sql, " FROM ");
    quote(c, &sql, t->name);
    for (size_t k = 0; k < t->nkeys; k++) {
        sb_puts(&sql, k ? ", " : " ORDER BY ");
        quote(c, &sql, t->cols[t->key_cols[k]].name);
    }

    printf("# %s\n", t->name);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st))) {
        fprintf(stderr, "dbdump: cannot allocate a statement\n");
        rc = 1;
        goto out;
    }
    if (!SQL_SUCCEEDED(SQLExecDirect(st, (SQLCHAR *)sql.buf, SQL_NTS))) {
        rc = stmt_fail(st, t->name);
        goto out;
    }
    for (;;) {
        SQLRETURN r = SQLFetch(st);
        if (r == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(r)) {
            rc = stmt_fail(st, "SQLFetch");
            goto out;
        }
        SQLBIGINT rowid = 0;
        SQLLEN rind = 0;
        if (sqlite && !SQL_SUCCEEDED(SQLGetData(st, (SQLUSMALLINT)(t->ncols + 1), SQL_C_SBIGINT,
                                                &rowid, 0, &rind))) {
            rc = stmt_fail(st, "SQLGetData");
            goto out;
        }
        for (size_t i = 0; i < t->ncols; i++) {
            if (i)
                putchar('\t');
            /* floats as doubles: a driver's text would round them */
            int isf = type_class(&t->cols[i].type) == VC_FLOAT;
            double f = 0;
            int got;
            if (isf && sqlite) {
                got = fetch_text(st, (SQLUSMALLINT)(i + 1), &raw);
                if (got == 1)
                    got = sqlite_exact_double(c, t, i, (long long)rowid, sb_str(&raw), &f);
            } else {
                got = isf ? fetch_double(st, (SQLUSMALLINT)(i + 1), &f)
                          : fetch_text(st, (SQLUSMALLINT)(i + 1), &raw);
            }
            if (got < 0) {
                rc = 1;
                goto out;
            }
            if (got == 0)
                fputs("\\N", stdout);
            else if (isf)
                put_double(f);
            else
                put_value(t, &t->cols[i], &raw, &text);
        }
        putchar('\n');
    }
out:
    if (st != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    sb_free(&sql);
    sb_free(&raw);
    sb_free(&text);
    return rc;
}

/* ---- --exec: run one batch from stdin ---- */

/* Returns 0 after running stdin as one batch and printing every result set,
 * 1 on a database error (printed). */
static int exec_stdin(db_conn *c)
{
    strbuf sql = STRBUF_INIT, raw = STRBUF_INIT;
    SQLHSTMT st = SQL_NULL_HSTMT;
    char buf[4096];
    size_t n;
    int rc = 0;

    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        sb_append(&sql, buf, n);
    /* each statement commits by itself (CREATE DATABASE refuses a transaction) */
    SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON, 0);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st))) {
        fprintf(stderr, "dbdump: cannot allocate a statement\n");
        rc = 1;
        goto out;
    }
    SQLRETURN r = SQLExecDirect(st, (SQLCHAR *)sb_str(&sql), SQL_NTS);
    for (;;) {
        if (r == SQL_NO_DATA)
            goto next;
        if (!SQL_SUCCEEDED(r)) {
            rc = stmt_fail(st, "--exec");
            goto out;
        }
        SQLSMALLINT ncols = 0;
        if (!SQL_SUCCEEDED(SQLNumResultCols(st, &ncols))) {
            rc = stmt_fail(st, "SQLNumResultCols");
            goto out;
        }
        while (ncols > 0) {
            r = SQLFetch(st);
            if (r == SQL_NO_DATA)
                break;
            if (!SQL_SUCCEEDED(r)) {
                rc = stmt_fail(st, "SQLFetch");
                goto out;
            }
            for (SQLSMALLINT i = 1; i <= ncols; i++) {
                if (i > 1)
                    putchar('\t');
                int got = fetch_text(st, (SQLUSMALLINT)i, &raw);
                if (got < 0) {
                    rc = 1;
                    goto out;
                }
                if (got == 0)
                    fputs("\\N", stdout);
                else
                    put_escaped(raw.buf, raw.len);
            }
            putchar('\n');
        }
    next:
        r = SQLMoreResults(st);
        if (r == SQL_NO_DATA)
            break;
    }
out:
    if (st != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, st);
    sb_free(&sql);
    sb_free(&raw);
    return rc;
}

/* ---- main ---- */

/* Returns main's status for --exec: connect, run stdin, disconnect. */
static int run_exec(options *o)
{
    mig_err err;
    db_target target;
    db_conn conn;
    int rc;

    err_clear(&err);
    if (o->db_file)
        db_target_sqlite(&target, o->db_file);
    else
        target_from_connstr(&target, o->connstr);
    memset(&conn, 0, sizeof conn);
    if (dialect_connect(&conn, &target, &err) != 0) {
        fprintf(stderr, "dbdump: %s\n", err.msg);
        rc = 1;
    } else {
        rc = exec_stdin(&conn);
        db_disconnect(&conn);
    }
    fflush(stdout);
    db_target_free(&target);
    free(o->tables);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    mig_err err;
    db_target target;
    db_conn conn;
    mapping *m;
    int rc = 0;

    err_clear(&err);
    if (parse_args(argc, argv, &o) != 0) {
        free(o.tables);
        return 2;
    }
    if (o.exec)
        return run_exec(&o);
    m = mapping_load(o.mapping_file, &err);
    if (!m) {
        fprintf(stderr, "dbdump: %s\n", err.msg);
        free(o.tables);
        return 3;
    }
    for (int i = 0; i < o.ntables; i++) {
        if (mapping_table_index(m, o.tables[i]) < 0) {
            fprintf(stderr, "dbdump: no table \"%s\" in %s\n", o.tables[i], o.mapping_file);
            mapping_free(m);
            free(o.tables);
            return 2;
        }
    }

    if (o.db_file)
        db_target_sqlite(&target, o.db_file);
    else
        target_from_connstr(&target, o.connstr);
    memset(&conn, 0, sizeof conn);
    if (dialect_connect(&conn, &target, &err) != 0) {
        fprintf(stderr, "dbdump: %s\n", err.msg);
        rc = 1;
    } else {
        if (o.ntables == 0) {
            for (size_t t = 0; t < m->ntables && rc == 0; t++)
                rc = dump_table(&conn, &m->tables[t]);
        } else {
            for (int i = 0; i < o.ntables && rc == 0; i++)
                rc = dump_table(&conn, &m->tables[mapping_table_index(m, o.tables[i])]);
        }
        db_disconnect(&conn);
    }
    fflush(stdout);
    db_target_free(&target);
    mapping_free(m);
    free(o.tables);
    return rc;
}
