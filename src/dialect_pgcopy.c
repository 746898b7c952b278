/* dialect_pgcopy.c — PostgreSQL's bulk path (--load copy): COPY through
 * libpq into a stage, then one INSERT ... SELECT in the worker's
 * transaction.
 *
 * Why: through psqlODBC every value of a multi-row INSERT is formatted into
 * the statement's text by the driver and parsed again by the server
 * (bench/PROFILE.md: the driver is 22.5% of the client's instructions, the
 * server spends 3-6 times the CPU of `psql \copy` on the same rows).  COPY
 * in text format is the server's own bulk format: we write it straight from
 * the batch's values.
 *
 * How the record-fate promises are kept: psqlODBC owns the worker's session
 * and offers no COPY, so the rows travel on a second session of our own
 * (libpq, one per worker connection: db_conn.side), into an UNLOGGED stage
 * table per table, migrate_stage_<backend pid>_<table index>, created on first use
 * in the schema PostgreSQL picks for it and named schema-qualified in both
 * sessions.  A fill empties the stage (TRUNCATE, unless the worker's open
 * transaction still reads it: an earlier fill of the same transaction;
 * then a 50 ms lock timeout gives up at once and the older rows stay) and
 * COPYs the rows, tagged with the fill's number (__fill) and their order
 * (__ord), committed on that session.  The worker's own ODBC transaction
 * then moves them with one statement,
 *
 *   INSERT INTO t (cols) SELECT cols FROM stage WHERE __fill = N
 *   ORDER BY __ord [ON CONFLICT (keys) DO NOTHING | DO UPDATE SET ...]
 *
 * so the table's rows and the ledger's rows commit together or not at
 * all, in row order (the first of two equal keys wins, as with the insert
 * path), with the same constraints, defaults, triggers, ON CONFLICT
 * clauses, row counts and error classes: a refused row fails the
 * statement, the worker rolls back and splits as always.  A lost libpq
 * session is a lost link (DBE_CONNECTION): the worker reconnects and
 * everything starts over with a new session and stages; stages whose
 * session is gone (a killed run) are dropped by the next session's first
 * stage, skipping any still locked.  Under the default method a loader
 * that may not create a table loads by INSERT.
 *
 * Measured (bench/PROFILE.md): not clearly faster than the insert path —
 * the server does about what it saves the client. */
#include "config.h"
#include "dialect.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <odbcinst.h>

/* The libpq session of a worker connection (db_conn.side). */
typedef struct pgcopy_side {
    PGconn *pg;
} pgcopy_side;

/* Per table state (dialect_state_ext). */
typedef struct pgcopy_state {
    char *stage;          /* "schema"."migrate_stage_<pid>_<t>", or NULL */
    unsigned long long fill; /* fills so far on this stage */
    int no_copy;          /* the stage cannot be created: load by INSERT */
    SQLHSTMT move;        /* the move statement's handle on the ODBC session */
    strbuf data;          /* one fill's COPY text */
    strbuf sql;
} pgcopy_state;

/* ---- errors ---- */

/* Returns the status of an error of class cls. */
static mig_status class_status(db_errclass cls)
{
    return cls == DBE_PERMISSION ? MIG_EDBPERM : cls == DBE_SCHEMA ? MIG_EDBSCHEMA : MIG_EDB;
}

/* Fill err from the libpq session's failure (r: the failed result, or NULL
 * for the connection's message): "what: SQLSTATE xxxxx: message" on one
 * line, classified by the dialect (a broken session: DBE_CONNECTION);
 * returns -1. */
static int pg_fail(db_conn *c, PGconn *pg, const PGresult *r, const char *what, mig_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg || !*msg)
        msg = pg ? PQerrorMessage(pg) : "out of memory";
    if (!state)
        state = "";
    strbuf line = STRBUF_INIT;
    for (const char *p = msg; *p; p++)
        sb_putc(&line, *p == '\n' || *p == '\r' || *p == '\t' ? ' ' : *p);
    while (line.len && line.buf[line.len - 1] == ' ')
        line.buf[--line.len] = '\0';
    db_errclass cls = c->d->classify(state, 0, sb_str(&line));
    if (!pg || PQstatus(pg) == CONNECTION_BAD)
        cls = DBE_CONNECTION;
    c->last_class = cls;
    if (*state)
        err_set(err, class_status(cls), "%s: SQLSTATE %s: %s", what, state, sb_str(&line));
    else
        err_set(err, class_status(cls), "%s: %s", what, sb_str(&line));
    err_redact(err->msg);
    snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
    err->native = 0;
    sb_free(&line);
    return -1;
}

/* Returns 0 when the connection may run a statement, or -1 with err (class
 * DBE_CANCELLED) once the run is stopping (as db_run refuses one). */
static int not_cancelled(db_conn *c, mig_err *err)
{
    db_cancel *k = c->cancel;
    if (!k)
        return 0;
    pthread_mutex_lock(&k->lock);
    int cancelled = k->cancelled;
    pthread_mutex_unlock(&k->lock);
    if (!cancelled)
        return 0;
    c->last_class = DBE_CANCELLED;
    return err_set(err, MIG_EDB, "cancelled: the run is stopping");
}

/* ---- the libpq session ---- */

/* Keys of the ODBC connection string (or its DSN in odbc.ini) and the libpq
 * keyword each becomes. */
static const struct {
    const char *odbc[3];
    const char *libpq;
} conn_keys[] = {
    {{"Server", "Servername", "Host"}, "host"},
    {{"Port", NULL, NULL}, "port"},
    {{"Database", "DB", NULL}, "dbname"},
    {{"UID", "Username", "User"}, "user"},
    {{"SSLmode", "SSLMode", NULL}, "sslmode"},
};
enum { NKEYS = sizeof conn_keys / sizeof conn_keys[0] };

/* Returns a copy of value v[0..end), braces removed ("}}" read as "}"). */
static char *cs_value(const char *v, const char *end)
{
    strbuf sb = STRBUF_INIT;
    if (*v != '{') {
        sb_append(&sb, v, (size_t)(end - v));
        while (sb.len && sb.buf[sb.len - 1] == ' ')
            sb.buf[--sb.len] = '\0';
        return sb_detach(&sb);
    }
    for (const char *p = v + 1; p < end; p++) {
        if (*p == '}') {
            if (p + 1 < end && p[1] == '}')
                p++;
            else
                break;
        }
        sb_putc(&sb, *p);
    }
    return sb_detach(&sb);
}

/* Fill vals[] (owned, NULL where unset) with the libpq value of each
 * conn_keys entry, from the target's connection string and, for what it
 * does not say, its DSN's entries in odbc.ini. */
static void conn_values(const db_target *tg, char **vals)
{
    char dsn[256] = "";
    db_cs_item it;
    for (const char *p = tg->connstr ? tg->connstr : ""; db_connstr_next(p, &it); p = it.next) {
        if (!it.value)
            continue;
        if (db_connstr_key_is(it.start, it.klen, "DSN")) {
            char *v = cs_value(it.value, it.vend);
            snprintf(dsn, sizeof dsn, "%s", v);
            free(v);
            continue;
        }
        for (size_t k = 0; k < NKEYS; k++)
            for (size_t a = 0; a < 3 && conn_keys[k].odbc[a]; a++)
                if (db_connstr_key_is(it.start, it.klen, conn_keys[k].odbc[a])) {
                    free(vals[k]);
                    vals[k] = cs_value(it.value, it.vend);
                }
    }
    for (size_t k = 0; dsn[0] && k < NKEYS; k++)
        for (size_t a = 0; a < 3 && conn_keys[k].odbc[a] && !vals[k]; a++) {
            char v[512] = "";
            SQLGetPrivateProfileString(dsn, conn_keys[k].odbc[a], "", v, sizeof v, "odbc.ini");
            if (v[0])
                vals[k] = xstrdup(v);
        }
}

/* Returns a new libpq session to the worker's server (the target's host,
 * port, database, user, password, sslmode; its login and statement
 * timeouts), or NULL with err (class DBE_CONNECTION). */
static PGconn *session_open(db_conn *c, mig_err *err)
{
    const db_target *tg = c->target;
    const char *kw[NKEYS + 6];
    const char *val[NKEYS + 6];
    char *vals[NKEYS] = {NULL};
    char timeout[32], options[64];
    size_t n = 0;
    conn_values(tg, vals);
    for (size_t k = 0; k < NKEYS; k++)
        if (vals[k] && vals[k][0]) {
            kw[n] = conn_keys[k].libpq;
            val[n++] = vals[k];
        }
    if (tg->password) {
        kw[n] = "password";
        val[n++] = tg->password;
    }
    if (tg->connect_timeout > 0) {
        snprintf(timeout, sizeof timeout, "%d", tg->connect_timeout);
        kw[n] = "connect_timeout";
        val[n++] = timeout;
    }
    /* --query-timeout: a fill running longer is cancelled and retried */
    if (tg->query_timeout > 0) {
        snprintf(options, sizeof options, "-c statement_timeout=%lld",
                 (long long)tg->query_timeout * 1000);
        kw[n] = "options";
        val[n++] = options;
    }
    kw[n] = "fallback_application_name";
    val[n++] = "migrate copy";
    kw[n] = NULL;
    val[n] = NULL;
    PGconn *pg = PQconnectdbParams(kw, val, 0);
    for (size_t k = 0; k < NKEYS; k++)
        free(vals[k]);
    if (pg && PQstatus(pg) == CONNECTION_OK) {
        PQsetClientEncoding(pg, "UTF8");
        return pg;
    }
    pg_fail(c, pg, NULL, "copy: cannot connect", err);
    c->last_class = DBE_CONNECTION;
    PQfinish(pg);
    return NULL;
}

/* Run sql on the session; returns 0 (a command, or a query whose first value
 * goes to *out when out is not NULL), or -1 with err. */
static int session_exec(db_conn *c, PGconn *pg, const char *sql, strbuf *out, const char *what,
                        mig_err *err)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_fail(c, pg, r, what, err);
    else if (out && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        sb_puts(out, PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* End the worker connection's libpq session (db_conn.side_free). */
static void side_free(void *side)
{
    pgcopy_side *sd = side;
    PQfinish(sd->pg);
    free(sd);
}

/* Returns the worker connection's libpq session, opened on first use, or
 * NULL with err.  A session that broke stays broken (every table's stage
 * lives on it): the failure is a lost link, and the worker's reconnect
 * frees the table states and the connection with it. */
static PGconn *side_session(db_conn *c, mig_err *err)
{
    pgcopy_side *sd = c->side;
    if (!sd) {
        sd = xcalloc(1, sizeof *sd);
        c->side = sd;
        c->side_free = side_free;
        sd->pg = session_open(c, err);
        return sd->pg;
    }
    if (sd->pg && PQstatus(sd->pg) == CONNECTION_OK)
        return sd->pg;
    if (sd->pg)
        return pg_fail(c, sd->pg, NULL, "copy: the session is lost", err), NULL;
    c->last_class = DBE_CONNECTION;
    return err_set(err, MIG_ECONNECT, "copy: no session (its login failed)"), NULL;
}

/* Drop the stages of sessions that are gone (killed runs), skipping any
 * another session still holds: best effort, nothing fails here. */
static void drop_stale_stages(db_conn *c, PGconn *pg)
{
    PGresult *r = PQexec(pg,
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(x.relname) "
        "FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace "
        "WHERE x.relkind = 'r' AND x.relname ~ '^migrate_stage_[0-9]+_[0-9]+$' "
        "AND pg_has_role(x.relowner, 'USAGE') "
        "AND split_part(x.relname, '_', 3)::int NOT IN "
        "(SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL)");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
        mig_err ignored;
        strbuf sql = STRBUF_INIT;
        session_exec(c, pg, "SET lock_timeout = 100", NULL, "copy", &ignored);
        for (int i = 0; i < PQntuples(r); i++) {
            sb_reset(&sql);
            sb_printf(&sql, "DROP TABLE IF EXISTS %s", PQgetvalue(r, i, 0));
            session_exec(c, pg, sb_str(&sql), NULL, "copy", &ignored);
        }
        session_exec(c, pg, "RESET lock_timeout", NULL, "copy", &ignored);
        sb_free(&sql);
    }
    PQclear(r);
}

/* Returns 0 with the connection's session open and s->stage created for table t (index
 * tindex), or -1 with err.  A stage refused for want of privilege sets
 * s->no_copy instead (and returns 0) when the load method is the default. */
static int stage_open(db_conn *c, pgcopy_state *s, const map_table *t, size_t tindex,
                      mig_err *err)
{
    if (s->stage)
        return 0;
    PGconn *pg = side_session(c, err);
    if (!pg)
        return -1;
    if (tindex == 0)
        drop_stale_stages(c, pg);
    char name[64];
    snprintf(name, sizeof name, "migrate_stage_%d_%zu", PQbackendPID(pg), tindex);
    strbuf sql = STRBUF_INIT, schema = STRBUF_INIT;
    sb_printf(&sql, "CREATE UNLOGGED TABLE %s (__fill bigint, __ord integer", name);
    for (size_t k = 0; k < t->ncols; k++) {
        sb_puts(&sql, ", ");
        dialect_quote_double(&sql, t->cols[k].name);
        sb_putc(&sql, ' ');
        c->d->type_ddl(&sql, &t->cols[k].type);
    }
    sb_printf(&sql, ")");
    int rc = session_exec(c, pg, sb_str(&sql), NULL, "copy: cannot create the stage", err);
    if (rc == 0) {
        sb_reset(&sql);
        sb_printf(&sql, "SELECT quote_ident(n.nspname) FROM pg_class x JOIN pg_namespace n "
                        "ON n.oid = x.relnamespace WHERE x.oid = '%s'::regclass", name);
        rc = session_exec(c, pg, sb_str(&sql), &schema, "copy: cannot find the stage", err);
    }
    if (rc == 0) {
        sb_printf(&schema, ".%s", name);
        s->stage = sb_detach(&schema);
        s->fill = 0;
    } else if (c->last_class == DBE_PERMISSION && c->target->load != LOAD_COPY) {
        s->no_copy = 1;
        rc = 0;
    }
    sb_free(&sql);
    sb_free(&schema);
    return rc;
}

/* Free s, dropping its stage (best effort) while the worker connection's
 * session still runs (a table state is freed before its connection). */
static void state_free(db_conn *c, void *ext)
{
    pgcopy_state *s = ext;
    if (!s)
        return;
    pgcopy_side *sd = c->side;
    if (sd && sd->pg && s->stage && PQstatus(sd->pg) == CONNECTION_OK) {
        strbuf sql = STRBUF_INIT;
        sb_printf(&sql, "DROP TABLE IF EXISTS %s", s->stage);
        PQclear(PQexec(sd->pg, sb_str(&sql)));
        sb_free(&sql);
    }
    db_stmt_free(s->move);
    free(s->stage);
    sb_free(&s->data);
    sb_free(&s->sql);
    free(s);
}

/* ---- COPY text ---- */

void dialect_pgcopy_value(strbuf *out, const batch *b, const value *v, const col_type *t)
{
    if (v->len < 0) {
        sb_puts(out, "\\N");
        return;
    }
    switch (type_class(t)) {
    case VC_INT: {
        char num[24];
        int n = snprintf(num, sizeof num, "%" PRId64, v->n.i);
        sb_append(out, num, (size_t)n);
        return;
    }
    case VC_FLOAT: {
        char num[40];
        int n = snprintf(num, sizeof num, "%.17g", v->n.f);
        sb_append(out, num, (size_t)n);
        return;
    }
    case VC_TEXT:
        break;
    }
    /* text: backslash, tab, newline and carriage return escaped */
    const char *p = batch_text(b, v), *end = p + v->len;
    while (p < end) {
        const char *q = p;
        while (q < end && *q != '\\' && *q != '\t' && *q != '\n' && *q != '\r')
            q++;
        sb_append(out, p, (size_t)(q - p));
        if (q == end)
            break;
        sb_putc(out, '\\');
        sb_putc(out, *q == '\\' ? '\\' : *q == '\t' ? 't' : *q == '\n' ? 'n' : 'r');
        p = q + 1;
    }
}

void dialect_pgcopy_move_sql(strbuf *out, const map_table *t, const char *stage,
                             unsigned long long fill, dup_policy p)
{
    sb_puts(out, "INSERT INTO ");
    dialect_quote_table(out, &dialect_pgsql, t->name);
    sb_puts(out, " (");
    dialect_column_list(out, &dialect_pgsql, t, NULL);
    sb_puts(out, ") SELECT ");
    dialect_column_list(out, &dialect_pgsql, t, NULL);
    sb_printf(out, " FROM %s WHERE __fill = %llu ORDER BY __ord", stage, fill);
    dialect_on_conflict(out, &dialect_pgsql, t, p);
}

/* Returns 0 after one fill: rows [lo,hi) of table t COPYed into the stage
 * and committed on its session, tagged with fill number s->fill; -1 with
 * err. */
static int fill_stage(db_conn *c, pgcopy_state *s, const batch *b, size_t t, size_t lo,
                      size_t hi, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    PGconn *pg = side_session(c, err);
    if (!pg)
        return -1;
    sb_reset(&s->data);
    for (size_t r = lo; r < hi; r++) {
        const value *row = batch_row(b, t, r);
        sb_printf(&s->data, "%llu\t%zu", s->fill, r - lo);
        for (size_t k = 0; k < mt->ncols; k++) {
            sb_putc(&s->data, '\t');
            dialect_pgcopy_value(&s->data, b, &row[k], &mt->cols[k].type);
        }
        sb_putc(&s->data, '\n');
    }
    /* empty the stage first unless the worker's transaction still reads
     * it (an earlier fill of this transaction: then the lock timeout
     * ends the wait at once and the older fills stay, never moved again) */
    sb_reset(&s->sql);
    sb_printf(&s->sql, "SET LOCAL lock_timeout = 50; TRUNCATE %s", s->stage);
    PGresult *tr = PQexec(pg, sb_str(&s->sql));
    if (PQresultStatus(tr) != PGRES_COMMAND_OK && PQstatus(pg) == CONNECTION_BAD) {
        int rc = pg_fail(c, pg, tr, mt->name, err);
        PQclear(tr);
        return rc;
    }
    PQclear(tr);
    sb_reset(&s->sql);
    sb_printf(&s->sql, "COPY %s (__fill, __ord", s->stage);
    for (size_t k = 0; k < mt->ncols; k++) {
        sb_puts(&s->sql, ", ");
        dialect_quote_double(&s->sql, mt->cols[k].name);
    }
    sb_puts(&s->sql, ") FROM STDIN");
    PGresult *r = PQexec(pg, sb_str(&s->sql));
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        int rc = pg_fail(c, pg, r, mt->name, err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    if (PQputCopyData(pg, s->data.buf, (int)s->data.len) != 1 ||
        PQputCopyEnd(pg, NULL) != 1)
        return pg_fail(c, pg, NULL, mt->name, err);
    int rc = 0;
    while ((r = PQgetResult(pg)) != NULL) {
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(c, pg, r, mt->name, err);
        PQclear(r);
    }
    return rc;
}

/* ---- loading ---- */

int dialect_pgcopy_load(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                        size_t lo, size_t hi, dup_policy policy, load_result *res, mig_err *err)
{
    const map_table *mt = &b->map->tables[t];
    void **slot = dialect_state_ext(st, t, state_free);
    if (!*slot)
        *slot = xcalloc(1, sizeof(pgcopy_state));
    pgcopy_state *s = *slot;
    memset(res, 0, sizeof *res);
    if (hi <= lo)
        return 0;
    if (s->no_copy)
        return 1;
    if (not_cancelled(c, err) < 0 || stage_open(c, s, mt, t, err) < 0)
        return -1;
    if (s->no_copy) /* may not create the stage: the insert path */
        return 1;
    uint64_t existing = 0;
    if (policy == DUP_UPDATE && dialect_count_existing(c, st, b, t, lo, hi, &existing, err) < 0)
        return -1;
    s->fill++;
    if (fill_stage(c, s, b, t, lo, hi, err) < 0)
        return -1;
    /* the move, in the worker's transaction */
    if (s->move == SQL_NULL_HSTMT && (s->move = db_prepare(c, NULL, err)) == SQL_NULL_HSTMT)
        return -1;
    sb_reset(&s->sql);
    dialect_pgcopy_move_sql(&s->sql, mt, s->stage, s->fill, policy);
    SQLLEN changed = 0;
    if (db_execute_direct(c, s->move, sb_str(&s->sql), &changed, err, mt->name) < 0)
        return -1;
    uint64_t n = hi - lo, ch = changed > 0 ? (uint64_t)changed : 0;
    if (policy == DUP_SKIP) {
        if (ch > n) {
            c->last_class = DBE_FATAL;
            return err_set(err, MIG_EINTERNAL, "%s: the move inserted %" PRIu64 " of %" PRIu64
                           " rows", mt->name, ch, n);
        }
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
