/* dialect.c — finding a dialect, connecting through it, the whole DDL of a
 * mapping, and the loading machinery the three dialects share.
 *
 * The shared part is the per-connection, per-table state
 * (dialect_table_state): prepared INSERT statements (one per duplicate
 * policy, prepared once and reused for every batch), the worker-owned
 * parameter buffers, and the set-based existence check (exists_sql) that
 * tells settle.c which rows of a batch have a key already in the table,
 * as the server compares keys (its collation, not our bytes).  What
 * SQL to run and how to type each parameter stays in the
 * dialect files; nothing here asks which database it is. */
#include "config.h"
#include "dialect.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NPOLICY 4          /* DUP_DEFAULT .. DUP_ERROR */
#define EXISTS_CHUNK 200   /* keys per existence query (SQL Server: 2100 params) */

#define POW2_SLOTS 16 /* remainders of up to 2^16 - 1 rows */

struct dialect_table_state {
    size_t t;
    SQLHSTMT ins[NPOLICY];     /* full-size statement per policy */
    size_t ins_rows[NPOLICY];  /* rows it takes (1 with parameter arrays) */
    /* multi-row remainders go in power-of-two pieces, one statement per
     * size, so a few prepared statements serve every remainder */
    SQLHSTMT pow2[NPOLICY][POW2_SLOTS];
    SQLHSTMT exists;
    size_t exists_n;
    SQLHSTMT changes;          /* the dialect's changes_sql, or NULL */
    db_params params;
    /* loading whole columns as array parameters (dialect_load_columns) */
    SQLHSTMT cols[NPOLICY];    /* the INSERT per policy, kept prepared */
    SQLHSTMT cols_found;       /* the INSERT naming the rows it found, kept prepared */
    int ask_first;             /* the existence check before it: at first, and
                                  after a run that found most rows stored */
    SQLHSTMT cols_exists;      /* a handle for the existence check, run direct */
    strbuf cols_exists_sql;
    strbuf *arr;               /* one array literal per parameter */
    SQLLEN *arr_ind;
    size_t narr;
    int stage_ready;              /* the dialect's stage is known to exist, empty */
    unsigned long stage_rollbacks; /* ... as long as c->rollbacks is still this */
    dialect_direct direct;         /* the dialect's fast path (dialect_state_direct) */
};

/* ---- finding a dialect ---- */

static const dialect *const all_dialects[] = {&dialect_sqlite, &dialect_pgsql, &dialect_mssql};

const dialect *dialect_by_name(const char *name)
{
    static const struct {
        const char *name;
        const dialect *d;
    } names[] = {
        {"sqlite", &dialect_sqlite},  {"sqlite3", &dialect_sqlite},
        {"postgresql", &dialect_pgsql}, {"pgsql", &dialect_pgsql},
        {"postgres", &dialect_pgsql}, {"sqlserver", &dialect_mssql},
        {"mssql", &dialect_mssql},
    };
    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0)
            return names[i].d;
    return NULL;
}

const dialect *dialect_for_dbms(const char *dbms_name)
{
    if (!dbms_name)
        return NULL;
    for (size_t i = 0; i < sizeof all_dialects / sizeof all_dialects[0]; i++)
        if (all_dialects[i]->matches_dbms(dbms_name))
            return all_dialects[i];
    return NULL;
}

/* Returns the dialect known before connecting (--dialect, or bcp), or NULL. */
static const dialect *early_dialect(const db_target *t)
{
    if (t->dialect_name)
        return dialect_by_name(t->dialect_name);
    if (t->load == LOAD_BCP)
        return &dialect_mssql;
    return NULL;
}

/* Make d the dialect of connection c (and tell db.c what it needs of it). */
static void speak(db_conn *c, const dialect *d)
{
    c->d = d;
    c->classify = d ? d->classify : NULL;
    c->no_sqlcancel = d ? d->no_sqlcancel : 0;
}

/* ---- connecting ---- */

int dialect_connect(db_conn *c, const db_target *t, mig_err *err)
{
    memset(c, 0, sizeof *c);
    if (t->dialect_name && !dialect_by_name(t->dialect_name))
        return err_set(err, MIG_EUSAGE,
                       "unknown dialect \"%s\" (use sqlite, postgresql or sqlserver)",
                       t->dialect_name);
    if (db_open(c, t, err) < 0)
        return -1;
    speak(c, early_dialect(t));
    if (c->d && c->d->before_connect && c->d->before_connect(c, err) < 0) {
        db_disconnect(c);
        return -1;
    }
    if (db_login(c, err) < 0)
        return -1;
    if (!c->d)
        speak(c, dialect_for_dbms(c->dbms_name));
    if (!c->d) {
        err_set(err, MIG_ECONNECT, "unsupported database \"%s\": use --dialect", c->dbms_name);
        db_disconnect(c);
        return -1;
    }
    /* session settings first: some (SQLite's journal mode) cannot change
     * inside the transaction that autocommit off opens */
    if (c->d->after_connect && c->d->after_connect(c, err) < 0) {
        db_disconnect(c);
        return -1;
    }
    return db_autocommit_off(c, err);
}

void dialect_ddl(const dialect *d, const mapping *m, strbuf *out)
{
    /* every statement ends with ";\n": a valid script for all three
     * (sqlcmd accepts ';'-terminated batches without GO for CREATE TABLE) */
    for (size_t t = 0; t < m->ntables; t++) {
        d->create_table_sql(out, &m->tables[t]);
        sb_puts(out, ";\n");
    }
}

/* ---- SQL pieces shared by the dialects ---- */

void dialect_quote_double(strbuf *out, const char *name)
{
    sb_putc(out, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sb_putc(out, '"');
        sb_putc(out, *p);
    }
    sb_putc(out, '"');
}

void dialect_column_list(strbuf *out, const dialect *d, const map_table *t, const char *prefix)
{
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            sb_puts(out, ", ");
        if (prefix)
            sb_puts(out, prefix);
        d->quote_ident(out, t->cols[c].name);
    }
}

/* Append t's key column names quoted by d, comma-separated. */
static void key_list(strbuf *out, const dialect *d, const map_table *t)
{
    for (size_t k = 0; k < t->nkeys; k++) {
        if (k)
            sb_puts(out, ", ");
        d->quote_ident(out, t->cols[t->key_cols[k]].name);
    }
}

void dialect_key_match(strbuf *out, const dialect *d, const map_table *t, const char *a,
                       const char *b)
{
    for (size_t k = 0; k < t->nkeys; k++) {
        const char *name = t->cols[t->key_cols[k]].name;
        if (k)
            sb_puts(out, " AND ");
        sb_printf(out, "%s.", a);
        d->quote_ident(out, name);
        sb_printf(out, " = %s.", b);
        d->quote_ident(out, name);
    }
}

void dialect_quote_table(strbuf *out, const dialect *d, const char *name)
{
    /* "schema.table": each part quoted on its own */
    const char *dot = strchr(name, '.');
    if (!dot) {
        d->quote_ident(out, name);
        return;
    }
    char *schema = xstrndup(name, (size_t)(dot - name));
    d->quote_ident(out, schema);
    sb_putc(out, '.');
    d->quote_ident(out, dot + 1);
    free(schema);
}

void dialect_exists_common(strbuf *out, const dialect *d, const map_table *t,
                           const char *qtable, size_t nkeys, unsigned flags)
{
    if (nkeys == 0) { /* every key of the table (--preload-keys) */
        sb_puts(out, "SELECT ");
        key_list(out, d, t);
        sb_printf(out, " FROM %s", qtable);
        return;
    }
    /* v(o, k1, k2, ...): generated names, so no key column can clash; a CTE
     * named like the table would hide it (a table "v"): then v_, v__ ... */
    char v[64] = "v";
    const char *bare = strrchr(t->name, '.') ? strrchr(t->name, '.') + 1 : t->name;
    for (size_t n = 1; (flags & DIALECT_EXISTS_CTE) && strncasecmp(bare, v, strlen(bare) + 1) == 0 &&
                       n + 1 < sizeof v;
         n++)
        v[n] = '_';
    strbuf cols = STRBUF_INIT, rows = STRBUF_INIT;
    sb_printf(&cols, "%s(o", v);
    for (size_t k = 0; k < t->nkeys; k++)
        sb_printf(&cols, ", k%zu", k + 1);
    sb_putc(&cols, ')');
    sb_puts(&rows, "(VALUES ");
    for (size_t i = 0; i < nkeys; i++) {
        sb_printf(&rows, i ? ", (%zu" : "(%zu", i + 1);
        for (size_t k = 0; k < t->nkeys; k++) {
            if (!(flags & DIALECT_EXISTS_CAST)) {
                sb_puts(&rows, ", ?");
                continue;
            }
            sb_puts(&rows, ", CAST(? AS ");
            d->type_ddl(&rows, &t->cols[t->key_cols[k]].type);
            sb_putc(&rows, ')');
        }
        sb_putc(&rows, ')');
    }
    sb_putc(&rows, ')');
    if (flags & DIALECT_EXISTS_CTE)
        sb_printf(out, "WITH %s AS %s SELECT %s.o FROM %s", sb_str(&cols), sb_str(&rows), v, v);
    else
        sb_printf(out, "SELECT v.o FROM %s AS %s", sb_str(&rows), sb_str(&cols));
    sb_printf(out, " WHERE EXISTS (SELECT 1 FROM %s x WHERE ", qtable);
    for (size_t k = 0; k < t->nkeys; k++) {
        sb_puts(out, k ? " AND x." : "x.");
        d->quote_ident(out, t->cols[t->key_cols[k]].name);
        sb_printf(out, " = %s.k%zu", v, k + 1);
    }
    sb_putc(out, ')');
    sb_free(&cols);
    sb_free(&rows);
}

void dialect_create_table_common(strbuf *out, const dialect *d, const map_table *t)
{
    sb_puts(out, "CREATE TABLE IF NOT EXISTS ");
    dialect_quote_table(out, d, t->name);
    sb_puts(out, " (");
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
        key_list(out, d, t);
        sb_putc(out, ')');
    }
    sb_puts(out, "\n)");
}

/* Append " ON CONFLICT (keys) DO UPDATE SET col = excluded.col, ...", or DO
 * NOTHING when `nothing` is set or every column is a key. */
static void upsert_set(strbuf *out, const dialect *d, const map_table *t, int nothing)
{
    sb_puts(out, " ON CONFLICT (");
    key_list(out, d, t);
    sb_puts(out, ") DO ");
    size_t n = 0;
    for (size_t c = 0; c < t->ncols && !nothing; c++) {
        if (t->cols[c].is_key)
            continue;
        sb_puts(out, n++ ? ", " : "UPDATE SET ");
        d->quote_ident(out, t->cols[c].name);
        sb_puts(out, " = excluded.");
        d->quote_ident(out, t->cols[c].name);
    }
    if (n == 0)
        sb_puts(out, "NOTHING");
}

void dialect_on_conflict(strbuf *out, const dialect *d, const map_table *t, dup_policy p)
{
    if (p == DUP_UPDATE || p == DUP_SKIP)
        upsert_set(out, d, t, p == DUP_SKIP);
}

void dialect_values_rows(strbuf *out, size_t ncols, size_t nrows)
{
    for (size_t r = 0; r < nrows; r++) {
        sb_puts(out, r ? ", (" : "(");
        for (size_t c = 0; c < ncols; c++)
            sb_puts(out, c ? ", ?" : "?");
        sb_putc(out, ')');
    }
}

void dialect_insert_on_conflict_sql(strbuf *out, const dialect *d, const map_table *t,
                                    size_t tindex, dup_policy p, size_t nrows)
{
    /* not INSERT OR IGNORE (SQLite): that would also drop rows failing a
     * CHECK or NOT NULL constraint without a word; ON CONFLICT covers the
     * key only */
    sb_puts(out, "INSERT INTO ");
    dialect_quote_table(out, d, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, d, t, NULL);
    sb_puts(out, ") VALUES ");
    dialect_values_rows(out, t->ncols, nrows);
    dialect_on_conflict(out, d, t, p);
}

/* ---- parameter types ---- */

void dialect_ptype_standard(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                        SQLULEN *size, SQLSMALLINT *digits)
{
    *ctype = SQL_C_CHAR;
    *digits = 0;
    *size = t->length > 0 ? (SQLULEN)t->length : 1;
    switch (t->kind) {
    case CK_TINYINT:
        *ctype = SQL_C_SBIGINT;
        *sqltype = SQL_TINYINT;
        *size = 3;
        break;
    case CK_SMALLINT:
        *ctype = SQL_C_SBIGINT;
        *sqltype = SQL_SMALLINT;
        *size = 5;
        break;
    case CK_INT:
        *ctype = SQL_C_SBIGINT;
        *sqltype = SQL_INTEGER;
        *size = 10;
        break;
    case CK_BIGINT:
        *ctype = SQL_C_SBIGINT;
        *sqltype = SQL_BIGINT;
        *size = 19;
        break;
    case CK_BIT:
        *ctype = SQL_C_SBIGINT;
        *sqltype = SQL_BIT;
        *size = 1;
        break;
    case CK_DECIMAL:
        *sqltype = SQL_DECIMAL;
        *size = (SQLULEN)t->precision;
        *digits = (SQLSMALLINT)t->scale;
        break;
    case CK_FLOAT:
        *ctype = SQL_C_DOUBLE;
        *sqltype = SQL_DOUBLE;
        *size = 15;
        break;
    case CK_VARCHAR:
        *sqltype = SQL_VARCHAR;
        break;
    case CK_CHAR:
        *sqltype = SQL_CHAR;
        break;
    case CK_NVARCHAR:
        *sqltype = SQL_WVARCHAR;
        break;
    case CK_NVARCHAR_MAX:
        *sqltype = SQL_WLONGVARCHAR;
        *size = 1073741823;
        break;
    case CK_DATE:
        *sqltype = SQL_TYPE_DATE;
        *size = 10;
        break;
    case CK_TIME:
        *sqltype = SQL_TYPE_TIME;
        *size = 16;
        *digits = 7;
        break;
    case CK_DATETIME:
        *sqltype = SQL_TYPE_TIMESTAMP;
        *size = 27;
        *digits = 7;
        break;
    case CK_UUID:
        *sqltype = SQL_GUID;
        *size = 36;
        break;
    }
}

/* ---- per-table state ---- */

/* Returns the table state *st, created on first use. */
static dialect_table_state *state_get(dialect_table_state **st, size_t t)
{
    if (!*st) {
        *st = xcalloc(1, sizeof **st);
        (*st)->t = t;
        (*st)->ask_first = 1;
    }
    return *st;
}

int dialect_stage_ready(dialect_table_state **st, size_t t, const db_conn *c)
{
    dialect_table_state *s = state_get(st, t);
    return s->stage_ready && s->stage_rollbacks == c->rollbacks;
}

void dialect_stage_set_ready(dialect_table_state **st, size_t t, const db_conn *c, int ready)
{
    dialect_table_state *s = state_get(st, t);
    s->stage_ready = ready;
    s->stage_rollbacks = c->rollbacks;
}

dialect_direct *dialect_state_direct(dialect_table_state **st, size_t t)
{
    return &state_get(st, t)->direct;
}

void dialect_state_free_generic(db_conn *c, dialect_table_state *st)
{
    if (!st)
        return;
    for (int i = 0; i < NPOLICY; i++)
        db_stmt_free(st->ins[i]);
    for (int i = 0; i < NPOLICY; i++)
        for (int k = 0; k < POW2_SLOTS; k++)
            db_stmt_free(st->pow2[i][k]);
    db_stmt_free(st->exists);
    db_stmt_free(st->changes);
    db_params_free(&st->params);
    for (int i = 0; i < NPOLICY; i++)
        db_stmt_free(st->cols[i]);
    db_stmt_free(st->cols_found);
    db_stmt_free(st->cols_exists);
    sb_free(&st->cols_exists_sql);
    for (size_t i = 0; i < st->narr; i++)
        sb_free(&st->arr[i]);
    free(st->arr);
    free(st->arr_ind);
    free(st);
}

/* ---- loading rows through prepared INSERTs ---- */

/* Returns the statement for policy p taking nrows rows — the full-size one,
 * or (full == 0) the power-of-two piece nrows == 2^k — prepared on first use
 * and kept, or NULL with err. */
static SQLHSTMT insert_stmt(db_conn *c, dialect_table_state *s, const map_table *mt,
                            dup_policy p, size_t nrows, int full, dialect_insert_fn sqlfn,
                            mig_err *err)
{
    SQLHSTMT *slot;
    if (full) {
        slot = &s->ins[p];
        if (*slot != SQL_NULL_HSTMT && s->ins_rows[p] == nrows)
            return *slot;
    } else {
        size_t k = 0;
        while (((size_t)1 << (k + 1)) <= nrows)
            k++;
        assert(((size_t)1 << k) == nrows && k < POW2_SLOTS);
        slot = &s->pow2[p][k];
        if (*slot != SQL_NULL_HSTMT)
            return *slot;
    }
    db_stmt_free(*slot);
    *slot = SQL_NULL_HSTMT;
    strbuf sql = STRBUF_INIT;
    sqlfn(&sql, c->d, mt, s->t, p, nrows);
    *slot = db_prepare(c, sb_str(&sql), err);
    sb_free(&sql);
    if (*slot == SQL_NULL_HSTMT)
        return NULL;
    if (full)
        s->ins_rows[p] = nrows;
    return *slot;
}

/* Store in *n the rows the last INSERT on c changed, by the dialect's
 * changes_sql (prepared once in s); returns 0, or -1 with err. */
static int rows_changed(db_conn *c, dialect_table_state *s, const char *what, SQLLEN *n,
                        mig_err *err)
{
    if (s->changes == SQL_NULL_HSTMT &&
        (s->changes = db_prepare(c, c->d->changes_sql, err)) == SQL_NULL_HSTMT)
        return -1;
    SQLBIGINT v = 0;
    SQLLEN ind = 0;
    SQLRETURN r = db_run(c, s->changes, NULL, err);
    if (SQL_SUCCEEDED(r))
        r = SQLFetch(s->changes);
    if (SQL_SUCCEEDED(r))
        r = SQLGetData(s->changes, 1, SQL_C_SBIGINT, &v, 0, &ind);
    int rc = SQL_SUCCEEDED(r) ? 0 : db_diag(c, SQL_HANDLE_STMT, s->changes, MIG_EDB, err, what);
    SQLFreeStmt(s->changes, SQL_CLOSE);
    *n = ind == SQL_NULL_DATA ? 0 : (SQLLEN)v;
    return rc;
}

/* The parameter buffers hold every row of a column at the width of its
 * widest value in the rows bound together: a range is loaded in pieces whose
 * buffers stay within about this many bytes (at least one row each), so one
 * large value does not make every row of its batch as large. */
#define PIECE_BYTES ((size_t)4 << 20)

static int load_piece(db_conn *c, dialect_table_state *s, const batch *b, size_t t, size_t lo,
                      size_t hi, dup_policy policy, size_t rows_per_stmt, size_t max_params,
                      dialect_insert_fn sqlfn, SQLLEN *changed, mig_err *err);

int dialect_load_generic(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         size_t lo, size_t hi, dup_policy policy, size_t rows_per_stmt,
                         size_t max_params, dialect_insert_fn sqlfn, SQLLEN *changed,
                         mig_err *err)
{
    dialect_table_state *s = state_get(st, t);
    assert(s->t == t && c->d && c->d->ptype);
    assert((int)policy >= 0 && policy < NPOLICY);
    *changed = 0;
    s->params.text_nts = c->d->text_nts;
    for (size_t plo = lo, phi; plo < hi; plo = phi) {
        phi = db_params_fill(&s->params, b, t, NULL, b->map->tables[t].ncols, plo, hi,
                             PIECE_BYTES, c->d->ptype);
        SQLLEN n = 0;
        if (load_piece(c, s, b, t, plo, phi, policy, rows_per_stmt, max_params, sqlfn, &n,
                       err) < 0)
            return -1;
        *changed += n;
    }
    return 0;
}

/* Loads rows [lo,hi) of table t, filled in s->params (one piece, see
 * dialect_load_generic); returns 0 with the rows changed in *changed, or -1
 * with err. */
static int load_piece(db_conn *c, dialect_table_state *s, const batch *b, size_t t, size_t lo,
                      size_t hi, dup_policy policy, size_t rows_per_stmt, size_t max_params,
                      dialect_insert_fn sqlfn, SQLLEN *changed, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    db_ptype_fn ptype = c->d->ptype;
    size_t nrows = hi - lo;
    *changed = 0;
    if (nrows == 0)
        return 0;
    if (rows_per_stmt == 0) {
        /* one statement, one parameter set per row */
        SQLHSTMT h = insert_stmt(c, s, mt, policy, 1, 1, sqlfn, err);
        SQLLEN n = 0;
        if (!h ||
            db_params_bind(c, h, &s->params, mt, NULL, mt->ncols, 0, nrows, 1, ptype, err) < 0 ||
            db_execute_array(c, h, &s->params, nrows, &n, err, mt->name) < 0)
            return -1;
        /* the driver's count: a statement that needs changes_sql (one the
         * driver keeps prepared) is never run as an array (changes() would
         * count the last parameter set only; see dialect_sqlite.c) */
        *changed = n;
        return 0;
    }
    /* multi-row VALUES, rows_per_stmt rows per statement */
    if (max_params && rows_per_stmt * mt->ncols > max_params)
        rows_per_stmt = max_params / mt->ncols ? max_params / mt->ncols : 1;
    for (size_t r = 0, k; r < nrows; r += k) {
        size_t left = nrows - r;
        int full = left >= rows_per_stmt;
        if (full) {
            k = rows_per_stmt;
        } else { /* the largest power of two that fits */
            for (k = 1; k * 2 <= left; k *= 2)
                ;
        }
        SQLHSTMT h = insert_stmt(c, s, mt, policy, k, full, sqlfn, err);
        SQLLEN n = 0;
        if (!h || db_params_bind(c, h, &s->params, mt, NULL, mt->ncols, r, k, 0, ptype, err) < 0 ||
            db_execute(c, h, &n, err, mt->name) < 0 ||
            (c->d->changes_sql && rows_changed(c, s, mt->name, &n, err) < 0))
            return -1;
        *changed += n;
    }
    return 0;
}

/* ---- the existence check ---- */

/* Run one existence query over rows[0..n), n <= full, through the kept
 * statement for `full` keys (rows past n bound to NULL keys, which match
 * nothing), and set found[i] for each row the server names by its ordinal
 * i + 1; returns 0 or -1 with err. */
static int exists_chunk(db_conn *c, dialect_table_state *s, const batch *b, size_t t,
                        const size_t *rows, size_t n, size_t full, unsigned char *found,
                        mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    db_ptype_fn ptype = c->d->ptype;
    assert(n <= full);
    if (s->exists == SQL_NULL_HSTMT || s->exists_n != full) {
        db_stmt_free(s->exists);
        strbuf sql = STRBUF_INIT;
        c->d->exists_sql(&sql, mt, full);
        s->exists = db_prepare(c, sb_str(&sql), err);
        sb_free(&sql);
        if (s->exists == SQL_NULL_HSTMT)
            return -1;
        s->exists_n = full;
    }
    SQLHSTMT h = s->exists;
    /* bind each key of each row straight from the batch values */
    strbuf tmp = STRBUF_INIT;
    size_t nk = mt->nkeys;
    SQLLEN *ind = xcalloc(full * nk, sizeof *ind);
    SQLBIGINT *ints = xcalloc(full * nk, sizeof *ints);
    double *flts = xcalloc(full * nk, sizeof *flts);
    char **texts = xcalloc(full * nk, sizeof *texts);
    const value none = {.len = -1};
    int rc = 0;
    for (size_t i = 0; i < full && rc == 0; i++) {
        const value *v = i < n ? batch_row(b, t, rows[i]) : NULL;
        for (size_t k = 0; k < nk; k++) {
            size_t j = i * nk + k;
            const value *kv = v ? &v[mt->key_cols[k]] : &none;
            const col_type *ty = &mt->cols[mt->key_cols[k]].type;
            SQLSMALLINT ctype, sqltype, digits;
            SQLULEN size;
            ptype(ty, &ctype, &sqltype, &size, &digits);
            val_class vc = type_class(ty);
            void *data;
            SQLLEN w = 0;
            ind[j] = kv->len < 0 ? SQL_NULL_DATA : 0;
            if (vc == VC_INT && ctype == SQL_C_SBIGINT) {
                ints[j] = kv->n.i;
                data = &ints[j];
                ind[j] = kv->len < 0 ? SQL_NULL_DATA : (SQLLEN)sizeof ints[j];
            } else if (vc == VC_FLOAT) {
                flts[j] = kv->n.f;
                data = &flts[j];
                ctype = SQL_C_DOUBLE;
                ind[j] = kv->len < 0 ? SQL_NULL_DATA : (SQLLEN)sizeof flts[j];
            } else {
                sb_reset(&tmp);
                if (vc == VC_INT)
                    sb_printf(&tmp, "%lld", (long long)kv->n.i);
                else if (kv->len >= 0)
                    sb_append(&tmp, batch_text(b, kv), (size_t)kv->len);
                texts[j] = xstrndup(sb_str(&tmp), tmp.len);
                data = texts[j];
                w = (SQLLEN)tmp.len + 1;
                ctype = SQL_C_CHAR;
                if (kv->len >= 0)
                    ind[j] = (SQLLEN)tmp.len;
            }
            if (!SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(j + 1), SQL_PARAM_INPUT,
                                                ctype, sqltype, size, digits, data, w, &ind[j])))
                rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
        }
    }
    if (rc == 0) {
        SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)1, 0);
        SQLRETURN r = db_run(c, h, NULL, err);
        if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
        while (rc == 0 && SQL_SUCCEEDED(r = SQLFetch(h))) {
            SQLBIGINT ord = 0;
            SQLLEN oind = 0;
            r = SQLGetData(h, 1, SQL_C_SBIGINT, &ord, 0, &oind);
            if (!SQL_SUCCEEDED(r))
                rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
            else if (oind == SQL_NULL_DATA || ord < 1 || (uint64_t)ord > n) {
                c->last_class = DBE_FATAL; /* exists_sql broke its contract */
                rc = err_set(err, MIG_EINTERNAL, "%s: existence check named row %lld of %zu",
                             mt->name, (long long)ord, n);
            } else
                found[ord - 1] = 1;
        }
        if (rc == 0 && r != SQL_NO_DATA)
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
        SQLFreeStmt(h, SQL_CLOSE);
    }
    SQLFreeStmt(h, SQL_RESET_PARAMS);
    for (size_t j = 0; j < full * nk; j++)
        free(texts[j]);
    free(texts);
    free(flts);
    free(ints);
    free(ind);
    sb_free(&tmp);
    return rc;
}

int dialect_find_existing(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                          const size_t *rows, size_t n, unsigned char *found, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    dialect_table_state *s = state_get(st, t);
    memset(found, 0, n);
    if (n == 0 || mt->nkeys == 0)
        return 0;
    /* the server decides what matches (its collation, its trailing-space
     * rule): it names the matching rows, no key bytes are compared here */
    /* one statement of `chunk` keys, prepared once, serves every call: a
     * shorter rest is padded with NULL keys (no statement compiled again
     * for each length, and no more round trips than chunks) */
    size_t chunk = EXISTS_CHUNK / mt->nkeys ? EXISTS_CHUNK / mt->nkeys : 1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i += chunk)
        rc = exists_chunk(c, s, b, t, rows + i, n - i < chunk ? n - i : chunk, chunk, found + i,
                          err);
    return rc;
}

/* ---- whole columns as array parameters ---- */

/* Bytes of array text one statement carries at most (at least one row): a
 * batch of very large values goes in several statements rather than in one
 * copy of all of it. */
#define COLUMNS_BYTES ((size_t)16 << 20)

/* Append value v (of column type ty) to the array literal out as one
 * element: NULL, a number, or a double-quoted text with '"' and '\\'
 * escaped. */
static void array_element(strbuf *out, const batch *b, const value *v, const col_type *ty)
{
    char num[32];
    if (v->len < 0) {
        sb_puts(out, "NULL");
        return;
    }
    switch (type_class(ty)) {
    case VC_INT:
        sb_append(out, num, type_int_text(v->n.i, num));
        return;
    case VC_FLOAT: /* 17 digits: the same double again */
        sb_append(out, num, (size_t)snprintf(num, sizeof num, "%.17g", v->n.f));
        return;
    case VC_TEXT:
        break;
    }
    const char *p = batch_text(b, v), *end = p + v->len;
    sb_putc(out, '"');
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '"' && *q != '\\')
            q++;
        sb_append(out, p, (size_t)(q - p));
        if (q == end)
            break;
        sb_putc(out, '\\');
        sb_putc(out, *q);
        p = q + 1;
    }
    sb_putc(out, '"');
}

/* Make s hold n array buffers. */
static void arrays_reserve(dialect_table_state *s, size_t n)
{
    if (s->narr >= n)
        return;
    s->arr = xrealloc(s->arr, n * sizeof *s->arr);
    s->arr_ind = xrealloc(s->arr_ind, n * sizeof *s->arr_ind);
    for (size_t i = s->narr; i < n; i++)
        sb_init(&s->arr[i]);
    s->narr = n;
}

/* Give back array buffers grown for large values (else every later batch
 * would keep them). */
static void arrays_trim(dialect_table_state *s)
{
    for (size_t i = 0; i < s->narr; i++)
        if (s->arr[i].cap > ((size_t)4 << 20))
            sb_free(&s->arr[i]);
}

/* Fill s->arr[k] with the array literal of column cols[k] (k < ncols) over
 * rows[0..n) of table t (rows == NULL: rows lo, lo+1, ...) and bind each to
 * parameter k + 1 of h as text; returns 0, or -1 with err. */
static int arrays_bind(db_conn *c, SQLHSTMT h, dialect_table_state *s, const batch *b, size_t t,
                       const size_t *cols, size_t ncols, const size_t *rows, size_t lo,
                       size_t n, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    arrays_reserve(s, ncols);
    for (size_t k = 0; k < ncols; k++) {
        strbuf *a = &s->arr[k];
        size_t col = cols ? cols[k] : k;
        sb_reset(a);
        sb_putc(a, '{');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sb_putc(a, ',');
            array_element(a, b, &batch_row(b, t, rows ? rows[i] : lo + i)[col],
                          &mt->cols[col].type);
        }
        sb_putc(a, '}');
        s->arr_ind[k] = (SQLLEN)a->len;
        if (!SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(k + 1), SQL_PARAM_INPUT,
                                            SQL_C_CHAR, SQL_LONGVARCHAR, a->len, 0, a->buf,
                                            (SQLLEN)a->len + 1, &s->arr_ind[k])))
            return db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
    }
    return 0;
}

/* Returns the end of the statement that starts at row lo of [lo,hi) of
 * table t: its rows' text within COLUMNS_BYTES. */
static size_t columns_end(const batch *b, size_t t, size_t lo, size_t hi)
{
    const map_table *mt = &b->map->tables[t];
    size_t bytes = 0, r;
    for (r = lo; r < hi; r++) {
        const value *row = batch_row(b, t, r);
        for (size_t c = 0; c < mt->ncols; c++)
            bytes += row[c].len >= 0 && type_class(&mt->cols[c].type) == VC_TEXT
                         ? (size_t)row[c].len + 3
                         : 24;
        if (r > lo && bytes > COLUMNS_BYTES)
            break;
    }
    return r;
}

/* Read the result of h, run with answer r: 1-based ordinals of rows among
 * n, each setting found[ord - 1]; with count, also one value <= 0, the
 * negated count of rows inserted, stored in *count.  Returns 0, or -1 with
 * err (a value out of range breaks the statement's contract). */
static int fetch_ordinals(db_conn *c, SQLHSTMT h, SQLRETURN r, const char *what, size_t n,
                          unsigned char *found, uint64_t *count, mig_err *err)
{
    int rc = 0;
    while (rc == 0 && r != SQL_NO_DATA && SQL_SUCCEEDED(r = SQLFetch(h))) {
        SQLBIGINT ord = 0;
        SQLLEN oind = 0;
        r = SQLGetData(h, 1, SQL_C_SBIGINT, &ord, 0, &oind);
        if (!SQL_SUCCEEDED(r))
            rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
        else if (count && oind != SQL_NULL_DATA && ord <= 0 && (uint64_t)-ord <= n)
            *count = (uint64_t)-ord;
        else if (oind == SQL_NULL_DATA || ord < 1 || (uint64_t)ord > n) {
            c->last_class = DBE_FATAL; /* the statement broke its contract */
            rc = err_set(err, MIG_EINTERNAL, "%s: existence check named row %lld of %zu", what,
                         (long long)ord, n);
        } else
            found[ord - 1] = 1;
    }
    if (rc == 0 && r != SQL_NO_DATA)
        rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
    return rc;
}

int dialect_load_columns(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         size_t lo, size_t hi, dup_policy policy, dialect_columns_fn sqlfn,
                         SQLLEN *changed, mig_err *err)
{
    dialect_table_state *s = state_get(st, t);
    const map_table *mt = &b->map->tables[t];
    assert((int)policy >= 0 && policy < NPOLICY);
    *changed = 0;
    if (s->cols[policy] == SQL_NULL_HSTMT) {
        strbuf sql = STRBUF_INIT;
        sqlfn(&sql, c->d, mt, policy);
        s->cols[policy] = db_prepare(c, sb_str(&sql), err);
        sb_free(&sql);
        if (s->cols[policy] == SQL_NULL_HSTMT)
            return -1;
    }
    SQLHSTMT h = s->cols[policy];
    int rc = 0;
    for (size_t plo = lo, phi; plo < hi && rc == 0; plo = phi) {
        phi = columns_end(b, t, plo, hi);
        SQLLEN n = 0;
        rc = arrays_bind(c, h, s, b, t, NULL, mt->ncols, NULL, plo, phi - plo, err);
        if (rc == 0)
            rc = db_execute(c, h, &n, err, mt->name);
        *changed += n;
    }
    arrays_trim(s);
    return rc;
}

int dialect_load_columns_found(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                               size_t lo, size_t hi, dialect_columns_fn sqlfn,
                               dialect_exists_columns_fn exists_fn, unsigned char *found,
                               uint64_t *inserted, mig_err *err)
{
    dialect_table_state *s = state_get(st, t);
    const map_table *mt = &b->map->tables[t];
    size_t n = hi - lo, nfound = 0;
    *inserted = 0;
    if (s->ask_first) {
        /* a rerun, maybe: the keys alone first, and nothing more to send
         * when every one is stored */
        size_t *rows = xcalloc(n ? n : 1, sizeof *rows);
        for (size_t i = 0; i < n; i++)
            rows[i] = lo + i;
        int rc = dialect_find_existing_columns(c, st, b, t, rows, n, found, exists_fn, err);
        free(rows);
        for (size_t i = 0; i < n; i++)
            nfound += found[i];
        if (rc < 0 || nfound == n)
            return rc;
        nfound = 0;
    }
    memset(found, 0, n);
    if (s->cols_found == SQL_NULL_HSTMT) {
        strbuf sql = STRBUF_INIT;
        sqlfn(&sql, c->d, mt, DUP_SKIP);
        s->cols_found = db_prepare(c, sb_str(&sql), err);
        sb_free(&sql);
        if (s->cols_found == SQL_NULL_HSTMT)
            return -1;
    }
    SQLHSTMT h = s->cols_found;
    int rc = 0;
    for (size_t plo = lo, phi; plo < hi && rc == 0; plo = phi) {
        phi = columns_end(b, t, plo, hi);
        uint64_t ins = 0;
        rc = arrays_bind(c, h, s, b, t, NULL, mt->ncols, NULL, plo, phi - plo, err);
        /* the key columns again, the same buffers */
        for (size_t k = 0; k < mt->nkeys && rc == 0; k++) {
            strbuf *a = &s->arr[mt->key_cols[k]];
            if (!SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(mt->ncols + k + 1),
                                                SQL_PARAM_INPUT, SQL_C_CHAR, SQL_LONGVARCHAR,
                                                a->len, 0, a->buf, (SQLLEN)a->len + 1,
                                                &s->arr_ind[mt->key_cols[k]])))
                rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
        }
        SQLRETURN r = SQL_SUCCESS;
        if (rc == 0) {
            r = db_run(c, h, NULL, err);
            if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
                rc = db_run_failed(c, h, err, mt->name);
        }
        if (rc == 0)
            rc = fetch_ordinals(c, h, r, mt->name, phi - plo, found + (plo - lo), &ins, err);
        SQLFreeStmt(h, SQL_CLOSE);
        *inserted += ins;
    }
    for (size_t i = 0; i < n; i++)
        nfound += found[i];
    s->ask_first = rc == 0 && 2 * nfound > n;
    arrays_trim(s);
    return rc;
}

int dialect_find_existing_columns(db_conn *c, dialect_table_state **st, const batch *b,
                                  size_t t, const size_t *rows, size_t n, unsigned char *found,
                                  dialect_exists_columns_fn sqlfn, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    dialect_table_state *s = state_get(st, t);
    memset(found, 0, n);
    if (n == 0 || mt->nkeys == 0)
        return 0;
    /* run direct, never kept prepared: the server plans it for the table as
     * it is now (a kept plan made on a still empty table scans it) */
    if (s->cols_exists == SQL_NULL_HSTMT) {
        sb_reset(&s->cols_exists_sql);
        sqlfn(&s->cols_exists_sql, c->d, mt);
        if ((s->cols_exists = db_prepare(c, NULL, err)) == SQL_NULL_HSTMT)
            return -1;
    }
    SQLHSTMT h = s->cols_exists;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        /* one statement for every row asked unless the keys are very large */
        size_t bytes = 0, j = i;
        for (; j < n && (j == i || bytes <= COLUMNS_BYTES); j++)
            for (size_t k = 0; k < mt->nkeys; k++) {
                const value *kv = &batch_row(b, t, rows[j])[mt->key_cols[k]];
                bytes += kv->len >= 0 ? (size_t)kv->len + 3 : 24;
            }
        rc = arrays_bind(c, h, s, b, t, mt->key_cols, mt->nkeys, rows + i, 0, j - i, err);
        SQLRETURN r = SQL_SUCCESS;
        if (rc == 0) {
            r = db_run(c, h, sb_str(&s->cols_exists_sql), err);
            if (!SQL_SUCCEEDED(r) && r != SQL_NO_DATA)
                rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
        }
        if (rc == 0)
            rc = fetch_ordinals(c, h, r, mt->name, j - i, found + i, NULL, err);
        SQLFreeStmt(h, SQL_CLOSE);
        i = j;
    }
    SQLFreeStmt(h, SQL_RESET_PARAMS);
    arrays_trim(s);
    return rc;
}

/* ---- loading with INSERT ... ON CONFLICT ---- */

void dialect_conflict_result(load_result *res, size_t nrows, SQLLEN changed, dup_policy policy)
{
    uint64_t n = nrows, ch = (uint64_t)changed;
    memset(res, 0, sizeof *res);
    if (policy == DUP_SKIP) {
        res->inserted = ch;
        res->dup_db = n - ch;
    } else {
        /* DUP_UPDATE: inserted or updated, the database does not say which
         * (counts_upserts 0: settle_range counts the updates) */
        res->inserted = n;
    }
}

int dialect_load_on_conflict(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                             size_t lo, size_t hi, dup_policy policy, size_t rows_per_stmt,
                             size_t max_params, dialect_insert_fn sqlfn, load_result *res,
                             mig_err *err)
{
    SQLLEN changed = 0;
    memset(res, 0, sizeof *res);
    if (dialect_load_generic(c, st, b, t, lo, hi, policy, rows_per_stmt, max_params,
                             sqlfn, &changed, err) < 0)
        return -1;
    dialect_conflict_result(res, hi - lo, changed, policy);
    return 0;
}
