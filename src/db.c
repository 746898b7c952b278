/* db.c — one ODBC connection and the plumbing every dialect shares.
 *
 * Owns the environment and connection handles of a db_conn, builds the
 * connection string (the password is appended only for the SQLDriverConnect
 * call and wiped right after), turns ODBC diagnostics into one error line
 * classified by the connection's classify function, and fills / binds the
 * column-wise parameter arrays (db_params) that carry a batch's rows to the
 * driver.  Plain ODBC: it knows no dialect.  Which dialect a connection
 * speaks, what SQL is run and with which SQL types is the dialect layer's
 * business (dialect*.c, which connects through the steps here:
 * dialect_connect). */
#include "config.h"
#include "db.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <odbcinst.h>

#include "types.h"

#define SQLITE_DRIVER_LIB "/usr/lib/x86_64-linux-gnu/odbc/libsqlite3odbc.so"

/* ---- targets ---- */

/* Returns 1 if the driver manager lists a driver called `name`. */
static int driver_registered(const char *name)
{
    SQLHENV env = SQL_NULL_HENV;
    int found = 0;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)))
        return 0;
    SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    SQLCHAR desc[256], attrs[1024];
    SQLSMALLINT dl, al;
    SQLUSMALLINT dir = SQL_FETCH_FIRST;
    while (!found && SQL_SUCCEEDED(SQLDrivers(env, dir, desc, sizeof desc, &dl, attrs,
                                              sizeof attrs, &al))) {
        found = strcmp((char *)desc, name) == 0;
        dir = SQL_FETCH_NEXT;
    }
    SQLFreeHandle(SQL_HANDLE_ENV, env);
    return found;
}

void db_target_sqlite(db_target *t, const char *file)
{
    memset(t, 0, sizeof *t);
    strbuf sb = STRBUF_INIT;
    /* Timeout: busy timeout in ms.  A second process on the file waits for
     * the write lock (the dialect's begin_write takes it first thing, so the
     * wait is only for the other's transaction, one batch); past 1 s the
     * batch fails as "database is locked" and the worker's retry loop takes
     * over (backoff, --retry-for).  Short, because nothing else ends this
     * wait: a stop request is heard after it (SQLCancel does not reach the
     * driver's busy handler).
     * SyncPragma=NORMAL with WAL (set in after_connect) is durable across a
     * process crash and ~2x faster than FULL. */
    if (driver_registered("SQLite3"))
        sb_puts(&sb, "Driver=SQLite3;");
    else
        sb_puts(&sb, "Driver=" SQLITE_DRIVER_LIB ";");
    sb_printf(&sb, "Database=%s;Timeout=1000;NoWCHAR=1;SyncPragma=NORMAL", file);
    t->connstr = sb_detach(&sb);
    t->dialect_name = "sqlite";
    t->connect_timeout = 30;
    t->load = LOAD_INSERT;
}

/* Overwrite s so the password does not linger in freed memory. */
static void wipe(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
}

void db_target_free(db_target *t)
{
    if (!t)
        return;
    free(t->connstr);
    wipe(t->password);
    free(t->password);
    t->connstr = t->password = NULL;
}

/* ---- diagnostics ---- */

/* Append one driver message to sb as one line (newlines become spaces,
 * trailing blanks dropped). */
static void put_oneline(strbuf *sb, const char *msg)
{
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        n--;
    for (size_t i = 0; i < n; i++)
        sb_putc(sb, (msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t') ? ' ' : msg[i]);
}

/* Returns the status for an error of class cls when the caller asked for st. */
static mig_status class_status(db_errclass cls, mig_status st)
{
    switch (cls) {
    case DBE_PERMISSION:
        return st == MIG_ECONNECT ? st : MIG_EDBPERM;
    case DBE_SCHEMA:
        return MIG_EDBSCHEMA;
    default:
        return st;
    }
}

/* Returns 1 if the driver says the connection is dead (SQL_ATTR_CONNECTION_DEAD). */
static int connection_dead(db_conn *c)
{
    SQLUINTEGER dead = SQL_CD_FALSE;
    SQLRETURN rc = SQLGetConnectAttr(c->dbc, SQL_ATTR_CONNECTION_DEAD, &dead, 0, NULL);
    return SQL_SUCCEEDED(rc) && dead == SQL_CD_TRUE;
}

int db_diag(db_conn *c, SQLSMALLINT htype, SQLHANDLE h, mig_status status,
            mig_err *err, const char *what)
{
    strbuf sb = STRBUF_INIT;
    char first_state[6] = "", state[6];
    long first_native = 0;
    db_errclass cls = DBE_NONE;
    int nrec = 0;
    sb_printf(&sb, "%s: ", what);
    for (SQLSMALLINT i = 1; i < 32; i++) {
        SQLCHAR st[6], msg[1024];
        SQLINTEGER native = 0;
        SQLSMALLINT ml = 0;
        SQLRETURN rc = SQLGetDiagRec(htype, h, i, st, &native, msg, sizeof msg, &ml);
        if (!SQL_SUCCEEDED(rc))
            break;
        memcpy(state, st, 6);
        state[5] = '\0';
        /* informational records (01xxx) only when nothing else is said */
        int info = state[0] == '0' && state[1] == '1';
        if (info && nrec > 0)
            continue;
        if (nrec > 0 && first_state[0] == '0' && first_state[1] == '1') {
            /* replace a leading warning by the first real error */
            sb_reset(&sb);
            sb_printf(&sb, "%s: ", what);
            nrec = 0;
        }
        if (nrec > 0)
            sb_puts(&sb, " / ");
        if (nrec == 0 || strcmp(state, first_state) != 0 || native != first_native) {
            sb_printf(&sb, "SQLSTATE %s", state);
            if (native)
                sb_printf(&sb, " (native %ld)", (long)native);
            sb_puts(&sb, ": ");
        }
        put_oneline(&sb, (char *)msg);
        if (nrec == 0) {
            memcpy(first_state, state, 6);
            first_native = native;
        }
        db_errclass k = c && c->classify ? c->classify(state, native, (char *)msg) : DBE_FATAL;
        /* the first record that says more than "fatal" decides */
        if (cls == DBE_NONE || (cls == DBE_FATAL && k != DBE_NONE))
            cls = k;
        nrec++;
    }
    if (nrec == 0) {
        sb_puts(&sb, "failed, and the driver gave no message");
        cls = DBE_FATAL;
    }
    if (cls == DBE_NONE)
        cls = DBE_FATAL;
    /* HYT00: the query timeout expired (ODBC's own state, any driver) */
    if (cls == DBE_FATAL && strcmp(first_state, "HYT00") == 0)
        cls = DBE_RETRY;
    /* drivers report a lost link under many SQLSTATEs (psqlODBC: HY000
     * "internal SAVEPOINT failed"): ask the driver whether the link is dead */
    if (cls == DBE_FATAL && c && c->connected && connection_dead(c))
        cls = DBE_CONNECTION;
    if (c)
        c->last_class = cls;
    err_set(err, class_status(cls, status), "%s", sb_str(&sb));
    if (err) {
        memcpy(err->sqlstate, first_state, 6);
        err->native = first_native;
    }
    sb_free(&sb);
    return -1;
}


/* ---- connecting ---- */

/* Append the password as ;PWD={...};.  The closing ';' matters: FreeTDS
 * 1.3.17 mis-reads a braced value that ends the string ("...;PWD={secret}"
 * logs in with a wrong password).  ODBC escapes a '}' inside braces as "}}",
 * but FreeTDS (1.3.17, src/odbc/connectparams.c) does not: it takes the
 * value verbatim up to the first "};".  So for FreeTDS ('freetds' set) '}'
 * stays single, and a password holding "};" cannot be given at all: returns
 * -1 then, else 0. */
static int put_password(strbuf *sb, const char *pw, int freetds)
{
    if (freetds && strstr(pw, "};"))
        return -1;
    if (sb->len && sb->buf[sb->len - 1] != ';')
        sb_putc(sb, ';');
    sb_puts(sb, "PWD={");
    for (const char *p = pw; *p; p++) {
        if (*p == '}' && !freetds)
            sb_putc(sb, '}');
        sb_putc(sb, *p);
    }
    sb_puts(sb, "};");
    return 0;
}

/* ---- connection strings ---- */

/* Returns a copy of the value v[0..end): braces removed, "}}" -> "}". */
static char *value_copy(const char *v, const char *end)
{
    if (*v != '{')
        return xstrndup(v, (size_t)(end - v));
    strbuf sb = STRBUF_INIT;
    sb_grow(&sb, (size_t)(end - v));
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

void db_connstr_take_password(char *s, char **pw)
{
    strbuf out = STRBUF_INIT;
    db_cs_item it;
    sb_grow(&out, strlen(s));
    for (const char *p = s; db_connstr_next(p, &it); p = it.next) {
        if (!it.password) {
            sb_append(&out, it.start, (size_t)(it.next - it.start));
            continue;
        }
        if (pw) {
            if (*pw) {
                explicit_bzero(*pw, strlen(*pw));
                free(*pw);
            }
            *pw = value_copy(it.value, it.vend);
        }
    }
    /* "A=1;PWD=x" leaves "A=1;": drop the dangling separator. */
    if (out.len && out.buf[out.len - 1] == ';' && s[strlen(s) - 1] != ';')
        out.buf[--out.len] = '\0';
    memcpy(s, sb_str(&out), out.len + 1);
    explicit_bzero(out.buf, out.cap);
    sb_free(&out);
}

/* Returns the item of connection string s whose key is `key` (any case),
 * filling *it, or 0 when there is none. */
static int find_key(const char *s, const char *key, db_cs_item *it)
{
    for (const char *p = s; db_connstr_next(p, it); p = it->next)
        if (db_connstr_key_is(it->start, it->klen, key))
            return 1;
    return 0;
}

/* Copies the value of `key` in connection string s into out (empty if absent). */
static void key_value(const char *s, const char *key, char *out, size_t cap)
{
    db_cs_item it;
    out[0] = '\0';
    if (find_key(s, key, &it) && it.value)
        snprintf(out, cap, "%.*s", (int)(it.vend - it.value), it.value);
}

/* Fill err for a failed SQLDriverConnect, naming where it tried to connect
 * (DSN, server, port, database: never the password); returns -1. */
static int connect_failed(db_conn *c, mig_err *err)
{
    db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_ECONNECT, err, "cannot connect");
    err->status = MIG_ECONNECT;
    c->last_class = DBE_CONNECTION;
    size_t n = strlen(err->msg);
    if (strcmp(err->sqlstate, "IM002") == 0 || strstr(err->msg, "Can't open lib")) {
        snprintf(err->msg + n, sizeof err->msg - n,
                 " (is the ODBC driver installed? see odbcinst -q -d)");
        n = strlen(err->msg);
    }
    static const char *const keys[] = {"DSN", "Server", "Port", "Database"};
    const char *cs = c->target && c->target->connstr ? c->target->connstr : "";
    const char *sep = " [";
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char v[200];
        key_value(cs, keys[i], v, sizeof v);
        if (!v[0])
            continue;
        snprintf(err->msg + n, sizeof err->msg - n, "%s%s=%s", sep, keys[i], v);
        n = strlen(err->msg);
        sep = ", ";
    }
    if (sep[0] == ',')
        snprintf(err->msg + n, sizeof err->msg - n, "]");
    err_redact(err->msg);
    return -1;
}

/* Returns 1 if the driver named in s (directly, or through its DSN) is
 * FreeTDS; *charset_set tells whether the DSN sets ClientCharset. */
static int uses_freetds(const char *s, int *charset_set)
{
    char drv[256], dsn[256], cs[64];
    key_value(s, "Driver", drv, sizeof drv);
    key_value(s, "DSN", dsn, sizeof dsn);
    *charset_set = 0;
    if (!drv[0] && dsn[0]) {
        SQLGetPrivateProfileString(dsn, "Driver", "", drv, sizeof drv, "odbc.ini");
        SQLGetPrivateProfileString(dsn, "ClientCharset", "", cs, sizeof cs, "odbc.ini");
        *charset_set = cs[0] != '\0';
    }
    return strcasestr(drv, "freetds") != NULL || strcasestr(drv, "tdsodbc") != NULL;
}

/* Returns 1 if the driver named in s (directly, or through its DSN) is FreeTDS
 * and nothing sets its ClientCharset. */
static int freetds_without_charset(const char *s)
{
    db_cs_item it;
    int charset_set;
    if (find_key(s, "ClientCharset", &it))
        return 0;
    return uses_freetds(s, &charset_set) && !charset_set;
}

/* Returns 1 if the driver named in s (directly, or through its DSN) is
 * psqlODBC and neither s nor the DSN sets its Protocol. */
static int psqlodbc_without_protocol(const char *s)
{
    char drv[256], dsn[256], proto[64] = "";
    db_cs_item it;
    if (find_key(s, "Protocol", &it))
        return 0;
    key_value(s, "Driver", drv, sizeof drv);
    key_value(s, "DSN", dsn, sizeof dsn);
    if (!drv[0] && dsn[0]) {
        SQLGetPrivateProfileString(dsn, "Driver", "", drv, sizeof drv, "odbc.ini");
        SQLGetPrivateProfileString(dsn, "Protocol", "", proto, sizeof proto, "odbc.ini");
    }
    return !proto[0] && (strcasestr(drv, "postgres") != NULL || strcasestr(drv, "psqlodbc") != NULL);
}

/* Append item "key=value" to connection string out. */
static void connstr_add(strbuf *out, const char *item)
{
    if (out->len && out->buf[out->len - 1] != ';')
        sb_putc(out, ';');
    sb_puts(out, item);
}

void db_connstr(const db_target *t, strbuf *out)
{
    sb_reset(out);
    sb_puts(out, t->connstr ? t->connstr : "");
    /* FreeTDS reads SQL_C_CHAR text in the client charset, which follows the
     * process locale unless set: our text is UTF-8 whatever the locale. */
    if (freetds_without_charset(sb_str(out)))
        connstr_add(out, "ClientCharset=UTF-8");
    /* psqlODBC's default "level of rollback on errors" is the statement: it
     * wraps every statement in a SAVEPOINT / RELEASE of its own, a round
     * trip and a subtransaction each, which doubled the round trips of a
     * batch.  Every transaction here is rolled back whole on any error (a
     * batch is split and run again from its start), so the transaction
     * level (7.4-1: the driver rolls the transaction back on an error)
     * loses nothing; a Protocol the user sets is kept. */
    if (psqlodbc_without_protocol(sb_str(out)))
        connstr_add(out, "Protocol=7.4-1");
}

int db_open(db_conn *c, const db_target *t, mig_err *err)
{
    memset(c, 0, sizeof *c);
    c->target = t;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &c->env)))
        return err_set(err, MIG_ECONNECT, "cannot connect: cannot allocate an ODBC environment");
    SQLSetEnvAttr(c->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, c->env, &c->dbc))) {
        db_diag(c, SQL_HANDLE_ENV, c->env, MIG_ECONNECT, err, "cannot connect");
        db_disconnect(c);
        return -1;
    }
    /* the login only: a statement's limit is the query timeout (db_prepare) */
    if (t->connect_timeout > 0)
        SQLSetConnectAttr(c->dbc, SQL_ATTR_LOGIN_TIMEOUT,
                          (SQLPOINTER)(uintptr_t)t->connect_timeout, 0);
    return 0;
}

int db_login(db_conn *c, mig_err *err)
{
    const db_target *t = c->target;
    strbuf cs = STRBUF_INIT;
    db_connstr(t, &cs);
    int charset_set;
    if (t->password && put_password(&cs, t->password, uses_freetds(sb_str(&cs), &charset_set)) < 0) {
        wipe(cs.buf);
        sb_free(&cs);
        db_disconnect(c);
        return err_set(err, MIG_ECONNECT, "cannot connect: the password holds \"};\", which "
                       "the FreeTDS driver cannot read from a connection string");
    }
    SQLRETURN rc = SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)cs.buf, SQL_NTS, NULL, 0, NULL,
                                    SQL_DRIVER_NOPROMPT);
    wipe(cs.buf);
    sb_free(&cs);
    if (!SQL_SUCCEEDED(rc)) {
        connect_failed(c, err);
        db_disconnect(c);
        return -1;
    }
    c->connected = 1;

    SQLSMALLINT nl = 0;
    if (!SQL_SUCCEEDED(SQLGetInfo(c->dbc, SQL_DBMS_NAME, c->dbms_name, sizeof c->dbms_name, &nl)))
        c->dbms_name[0] = '\0';
    return 0;
}

int db_autocommit_off(db_conn *c, mig_err *err)
{
    SQLRETURN rc =
        SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF, 0);
    if (!SQL_SUCCEEDED(rc)) {
        db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_ECONNECT, err, "cannot turn autocommit off");
        db_disconnect(c);
        return -1;
    }
    c->last_class = DBE_NONE;
    return 0;
}

void db_disconnect(db_conn *c)
{
    if (c->dbc) {
        if (c->connected) {
            SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);
            SQLDisconnect(c->dbc);
        }
        SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
    }
    if (c->env)
        SQLFreeHandle(SQL_HANDLE_ENV, c->env);
    c->dbc = SQL_NULL_HDBC;
    c->env = SQL_NULL_HENV;
    c->connected = 0;
}

/* ---- cancelling from another thread ---- */

void db_cancel_init(db_cancel *k)
{
    pthread_mutex_init(&k->lock, NULL);
    k->running = SQL_NULL_HSTMT;
    k->cancelled = 0;
}

void db_cancel_destroy(db_cancel *k)
{
    pthread_mutex_destroy(&k->lock);
}

void db_cancel_request(db_cancel *k)
{
    pthread_mutex_lock(&k->lock);
    k->cancelled = 1;
    /* under the lock: the statement cannot be freed meanwhile (db_run
     * clears `running` under it before its caller may free the handle) */
    if (k->running != SQL_NULL_HSTMT)
        SQLCancel(k->running);
    pthread_mutex_unlock(&k->lock);
}

/* Returns 0 after registering h as running on c, or -1 with err when c was
 * cancelled. */
static int run_begin(db_conn *c, SQLHSTMT h, mig_err *err)
{
    db_cancel *k = c->cancel;
    if (!k)
        return 0;
    pthread_mutex_lock(&k->lock);
    int cancelled = k->cancelled;
    if (!cancelled && !c->no_sqlcancel)
        k->running = h;
    pthread_mutex_unlock(&k->lock);
    if (!cancelled)
        return 0;
    c->last_class = DBE_CANCELLED;
    return err_set(err, MIG_EDB, "cancelled: the run is stopping");
}

/* Forget the running statement of c. */
static void run_end(db_conn *c)
{
    db_cancel *k = c->cancel;
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->running = SQL_NULL_HSTMT;
    pthread_mutex_unlock(&k->lock);
}

SQLRETURN db_run(db_conn *c, SQLHSTMT h, const char *sql, mig_err *err)
{
    if (run_begin(c, h, err) < 0)
        return SQL_ERROR; /* db_run_failed says why */
    SQLRETURN rc = sql ? SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS) : SQLExecute(h);
    run_end(c);
    return rc;
}

/* Fill err for a failed execution of h: "what: cancelled ..." with class
 * DBE_CANCELLED when c was cancelled (whatever the driver says then), else
 * the driver's diagnostics; returns -1. */
int db_run_failed(db_conn *c, SQLHSTMT h, mig_err *err, const char *what)
{
    db_cancel *k = c->cancel;
    int cancelled = 0;
    if (k) {
        pthread_mutex_lock(&k->lock);
        cancelled = k->cancelled;
        pthread_mutex_unlock(&k->lock);
    }
    if (!cancelled)
        return db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, what);
    c->last_class = DBE_CANCELLED;
    return err_set(err, MIG_EDB, "%s: cancelled (the run is stopping)", what);
}

/* ---- statements and transactions ---- */

SQLHSTMT db_prepare(db_conn *c, const char *sql, mig_err *err)
{
    SQLHSTMT h = SQL_NULL_HSTMT;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &h))) {
        db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, "cannot allocate a statement");
        return SQL_NULL_HSTMT;
    }
    /* --query-timeout: a statement running longer (a lock, a busy server)
     * ends with HYT00 / the server's cancel, and the batch is retried */
    if (c->target && c->target->query_timeout > 0)
        SQLSetStmtAttr(h, SQL_ATTR_QUERY_TIMEOUT,
                       (SQLPOINTER)(uintptr_t)c->target->query_timeout, 0);
    if (sql && !SQL_SUCCEEDED(SQLPrepare(h, (SQLCHAR *)sql, SQL_NTS))) {
        db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "prepare");
        SQLFreeHandle(SQL_HANDLE_STMT, h);
        return SQL_NULL_HSTMT;
    }
    return h;
}

void db_stmt_free(SQLHSTMT h)
{
    if (h != SQL_NULL_HSTMT)
        SQLFreeHandle(SQL_HANDLE_STMT, h);
}

/* Returns 0 after draining every result of h (summing row counts into
 * *rows), or -1 with err. rc is the result of the execute call. */
static int drain(db_conn *c, SQLHSTMT h, SQLRETURN rc, SQLLEN *rows, mig_err *err,
                 const char *what)
{
    SQLLEN total = 0;
    for (;;) {
        if (rc == SQL_NO_DATA)
            break;
        if (!SQL_SUCCEEDED(rc) && rc != SQL_NEED_DATA) {
            db_run_failed(c, h, err, what);
            SQLFreeStmt(h, SQL_CLOSE);
            return -1;
        }
        SQLLEN n = 0;
        if (SQL_SUCCEEDED(SQLRowCount(h, &n)) && n > 0)
            total += n;
        rc = SQLMoreResults(h);
    }
    SQLFreeStmt(h, SQL_CLOSE);
    if (rows)
        *rows = total;
    return 0;
}

int db_execute(db_conn *c, SQLHSTMT h, SQLLEN *rows, mig_err *err, const char *what)
{
    return drain(c, h, db_run(c, h, NULL, err), rows, err, what);
}

int db_execute_direct(db_conn *c, SQLHSTMT h, const char *sql, SQLLEN *rows, mig_err *err,
                      const char *what)
{
    return drain(c, h, db_run(c, h, sql, err), rows, err, what);
}

int db_execute_array(db_conn *c, SQLHSTMT h, db_params *p, size_t nrows, SQLLEN *rows,
                     mig_err *err, const char *what)
{
    assert(nrows <= p->cap_rows);
    for (size_t i = 0; i < nrows; i++)
        p->status[i] = SQL_PARAM_UNUSED;
    p->processed = 0;
    SQLRETURN rc = db_run(c, h, NULL, err);
    mig_err info;
    int have_info = 0;
    db_errclass info_class = DBE_NONE;
    if (rc == SQL_SUCCESS_WITH_INFO) {
        /* the refused rows' messages, if any: draining discards them */
        db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, &info, what);
        info_class = c->last_class;
        have_info = 1;
    }
    if (drain(c, h, rc, rows, err, what) < 0)
        return -1;
    /* FreeTDS answers SQL_SUCCESS_WITH_INFO when some parameter sets failed:
     * only the status array tells (a driver that fills neither it nor the
     * processed count leaves rc the judge) */
    /* SQL_PARAM_DIAG_UNAVAILABLE is a refusal only when the call said
     * something went wrong: a driver that runs the array as one unit may
     * mark every set so after a clean SQL_SUCCESS.  FreeTDS marks good sets
     * SQL_PARAM_SUCCESS and refused ones SQL_PARAM_ERROR (measured) */
    size_t bad = nrows;
    for (size_t i = 0; i < nrows && bad == nrows; i++)
        if (p->status[i] == SQL_PARAM_ERROR ||
            (p->status[i] == SQL_PARAM_DIAG_UNAVAILABLE && rc != SQL_SUCCESS))
            bad = i;
    if (bad == nrows && p->processed > 0 && p->processed < nrows)
        bad = p->processed;
    c->last_class = DBE_NONE;
    if (bad == nrows)
        return 0;
    if (have_info)
        *err = info;
    else
        err_set(err, MIG_EDB, "%s: the driver gave no message", what);
    err_prefix(err, "%s: parameter set %zu of %zu refused", what, bad + 1, nrows);
    c->last_class = have_info && info_class != DBE_FATAL && info_class != DBE_NONE
                        ? info_class
                        : DBE_DATA;
    return -1;
}

int db_exec(db_conn *c, const char *sql, mig_err *err)
{
    SQLHSTMT h = db_prepare(c, NULL, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    int r = drain(c, h, db_run(c, h, sql, err), NULL, err, "execute");
    db_stmt_free(h);
    return r;
}

int db_query_int(db_conn *c, const char *sql, long long *out, mig_err *err)
{
    SQLHSTMT h = db_prepare(c, NULL, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    SQLBIGINT v = 0;
    SQLLEN ind = 0;
    SQLRETURN rc = db_run(c, h, sql, err);
    if (SQL_SUCCEEDED(rc))
        rc = SQLFetch(h);
    if (SQL_SUCCEEDED(rc))
        rc = SQLGetData(h, 1, SQL_C_SBIGINT, &v, 0, &ind);
    if (!SQL_SUCCEEDED(rc)) {
        db_run_failed(c, h, err, "query");
        db_stmt_free(h);
        return -1;
    }
    *out = ind == SQL_NULL_DATA ? 0 : (long long)v;
    db_stmt_free(h);
    return 0;
}

int db_begin(db_conn *c, mig_err *err)
{
    /* autocommit is off: the driver opens a transaction with the first
     * statement; nothing to send. */
    c->last_class = DBE_NONE;
    return c->connected ? 0 : err_set(err, MIG_EDB, "not connected");
}

int db_lost(db_conn *c)
{
    return c->connected && connection_dead(c);
}

int db_commit_verdict(db_conn *c, int rc, int (*lost)(db_conn *c), mig_err *err)
{
    if (rc != 0 || !lost(c))
        return rc;
    c->last_class = DBE_CONNECTION;
    err_set(err, MIG_EDB, "commit: the connection was lost before the COMMIT reached the "
                          "server (the driver reported success; nothing was committed)");
    if (err) {
        memcpy(err->sqlstate, "08S01", 6);
        err->native = 0;
    }
    return -1;
}

int db_commit(db_conn *c, mig_err *err)
{
    if (!SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_COMMIT)))
        return db_diag(c, SQL_HANDLE_DBC, c->dbc, MIG_EDB, err, "commit");
    /* psqlODBC (13.02, connection.c CC_commit / execute.c PGAPI_Transact)
     * sends COMMIT only while it believes a transaction is open, and it
     * forgets the transaction when it finds the link dead (CC_on_abort with
     * CONN_DEAD) -- also under a statement it then reports as succeeded: a
     * session ended between an INSERT and psqlODBC's own RELEASE of its
     * per-statement savepoint gives SQL_SUCCESS_WITH_INFO (measured with
     * pg_terminate_backend, tests/integration/reconnect.sh).  Its
     * SQLEndTran(SQL_COMMIT) then returns SQL_SUCCESS having sent nothing.
     * A commit counts only if the driver does not call the link dead after
     * it: a link that died during a COMMIT that was sent fails the call
     * itself. */
    return db_commit_verdict(c, 0, db_lost, err);
}

int db_rollback(db_conn *c)
{
    c->rollbacks++;
    if (!c->connected)
        return -1;
    return SQL_SUCCEEDED(SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK)) ? 0 : -1;
}

int db_end(db_conn *c, int rc, mig_err *err)
{
    if (rc == 0)
        return db_commit(c, err);
    db_rollback(c);
    return rc;
}

/* ---- parameter arrays ---- */

void db_params_free(db_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncols; i++) {
        if (p->data)
            free(p->data[i]);
        if (p->ind)
            free(p->ind[i]);
    }
    free(p->data);
    free(p->ind);
    free(p->width);
    free(p->status);
    free(p->direct);
    free(p->direct_len);
    memset(p, 0, sizeof *p);
}

/* Makes p's per-column arrays for ncols columns (emptied if it had others). */
static void params_shape(db_params *p, size_t ncols)
{
    if (p->ncols == ncols)
        return;
    int nts = p->text_nts;
    db_params_free(p);
    p->text_nts = nts;
    p->ncols = ncols;
    p->data = xcalloc(ncols, sizeof *p->data);
    p->ind = xcalloc(ncols, sizeof *p->ind);
    p->width = xcalloc(ncols, sizeof *p->width);
    p->direct = xcalloc(ncols, sizeof *p->direct);
    p->direct_len = xcalloc(ncols, sizeof *p->direct_len);
}

/* Make room for nrows rows of ncols columns with the given widths (grown,
 * and shrunk only when a large buffer is mostly unused). */
static void params_reserve(db_params *p, size_t ncols, size_t nrows, const size_t *width)
{
    assert(p->ncols == ncols);
    size_t rows = p->cap_rows;
    if (nrows > rows) {
        rows = rows ? rows : 16;
        while (rows < nrows)
            rows *= 2;
        p->status = xrealloc(p->status, rows * sizeof *p->status);
    }
    for (size_t c = 0; c < ncols; c++) {
        size_t w = width[c] > p->width[c] ? width[c] : p->width[c];
        /* a buffer grown for one large value is given back once the values
         * are small again (else every later batch would pay for it) */
        if (p->width[c] > 4 * width[c] && rows * p->width[c] > ((size_t)1 << 20))
            w = width[c];
        if (rows != p->cap_rows || w != p->width[c]) {
            free(p->data[c]);
            p->data[c] = xmalloc(rows * w);
            p->width[c] = w;
            p->ind[c] = xrealloc(p->ind[c], rows * sizeof *p->ind[c]);
        }
    }
    p->cap_rows = rows;
}

/* Write the value v (class of column type t) into one element of width w as
 * the C type ctype; returns its indicator (text: its length, or SQL_NTS when
 * nts is set). */
static SQLLEN put_value(const batch *b, const value *v, const col_type *t, SQLSMALLINT ctype,
                        char *dst, size_t w, int nts)
{
    if (v->len < 0)
        return SQL_NULL_DATA;
    val_class vc = type_class(t);
    switch (ctype) {
    case SQL_C_SBIGINT: {
        SQLBIGINT i = vc == VC_FLOAT ? (SQLBIGINT)v->n.f : (SQLBIGINT)v->n.i;
        memcpy(dst, &i, sizeof i);
        return sizeof i;
    }
    case SQL_C_DOUBLE: {
        double f = vc == VC_INT ? (double)v->n.i : v->n.f;
        memcpy(dst, &f, sizeof f);
        return sizeof f;
    }
    default: /* SQL_C_CHAR */
        if (vc == VC_TEXT) {
            assert((size_t)v->len < w);
            memcpy(dst, batch_text(b, v), (size_t)v->len);
            dst[v->len] = '\0';
            return nts ? SQL_NTS : v->len;
        }
        assert(w >= TYPE_INT_TEXT || vc != VC_INT);
        int n = vc == VC_INT ? (int)type_int_text(v->n.i, dst)
                             : snprintf(dst, w, "%.17g", v->n.f);
        return nts ? SQL_NTS : n;
    }
}

/* Returns the column index of the i-th bound column. */
static size_t col_at(const size_t *cols, size_t i)
{
    return cols ? cols[i] : i;
}

size_t db_params_fill(db_params *p, const batch *b, size_t t, const size_t *cols, size_t ncols,
                      size_t lo, size_t hi, size_t max_bytes, db_ptype_fn ptype)
{
    const map_table *mt = &b->map->tables[t];
    size_t *width = xcalloc(ncols ? ncols : 1, sizeof *width);
    SQLSMALLINT *ctype = xcalloc(ncols ? ncols : 1, sizeof *ctype);
    unsigned char *text = xcalloc(ncols ? ncols : 1, 1);
    for (size_t i = 0; i < ncols; i++) {
        SQLSMALLINT st, dg;
        SQLULEN sz;
        const col_type *ty = &mt->cols[col_at(cols, i)].type;
        ptype(ty, &ctype[i], &st, &sz, &dg);
        if (ctype[i] == SQL_C_SBIGINT || ctype[i] == SQL_C_DOUBLE)
            width[i] = 8;
        else if (type_class(ty) != VC_TEXT)
            width[i] = 32; /* a number as text */
        else
            text[i] = 1; /* (width 1 until a value says more) */
        if (text[i])
            width[i] = 1;
    }
    /* the widths, row by row, up to the rows that fit in max_bytes */
    size_t end;
    for (end = lo; end < hi; end++) {
        const value *row = batch_row(b, t, end);
        size_t sum = 0;
        for (size_t i = 0; i < ncols; i++) {
            const value *v = &row[col_at(cols, i)];
            size_t need = text[i] && v->len >= 0 ? (size_t)v->len + 1 : 0;
            sum += need > width[i] ? need : width[i];
        }
        if (max_bytes && end > lo && sum * (end - lo + 1) > max_bytes)
            break;
        for (size_t i = 0; i < ncols; i++) {
            const value *v = &row[col_at(cols, i)];
            if (text[i] && v->len >= 0 && (size_t)v->len + 1 > width[i])
                width[i] = (size_t)v->len + 1;
        }
    }
    size_t nrows = end - lo;
    params_shape(p, ncols);
    for (size_t i = 0; i < ncols; i++) {
        p->direct[i] = NULL;
        if (nrows == 1 && text[i] && width[i] > DB_PARAMS_DIRECT) {
            /* alone and large: bound in the batch, no buffer */
            const value *v = &batch_row(b, t, lo)[col_at(cols, i)];
            p->direct[i] = batch_text(b, v);
            p->direct_len[i] = (size_t)v->len;
            width[i] = 1;
        }
    }
    params_reserve(p, ncols, nrows, width);
    for (size_t i = 0; i < ncols; i++) {
        size_t c = col_at(cols, i), w = p->width[i];
        const col_type *ty = &mt->cols[c].type;
        if (p->direct[i]) {
            p->ind[i][0] = p->text_nts ? SQL_NTS : (SQLLEN)p->direct_len[i];
            continue;
        }
        for (size_t r = 0; r < nrows; r++)
            p->ind[i][r] = put_value(b, &batch_row(b, t, lo + r)[c], ty, ctype[i],
                                     (char *)p->data[i] + r * w, w, p->text_nts);
    }
    free(width);
    free(ctype);
    free(text);
    return end;
}

int db_params_bind(db_conn *c, SQLHSTMT h, db_params *p, const map_table *mt,
                   const size_t *cols, size_t ncols, size_t row0, size_t nrows, int as_array,
                   db_ptype_fn ptype, mig_err *err)
{
    assert(row0 + nrows <= p->cap_rows);
    SQLULEN setsize = as_array ? nrows : 1;
    SQLRETURN rc = SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE,
                                  (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN, 0);
    if (SQL_SUCCEEDED(rc))
        rc = SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)setsize, 0);
    if (SQL_SUCCEEDED(rc) && as_array) {
        /* the sets' statuses from p->status[0], where db_execute_array
         * reads them, whatever row of the buffers the array starts at */
        rc = SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, p->status, 0);
        if (SQL_SUCCEEDED(rc))
            rc = SQLSetStmtAttr(h, SQL_ATTR_PARAMS_PROCESSED_PTR, &p->processed, 0);
    }
    if (!SQL_SUCCEEDED(rc))
        return db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "set parameter array");
    size_t per = as_array ? 1 : nrows;
    for (size_t r = 0; r < per; r++) {
        for (size_t i = 0; i < ncols; i++) {
            SQLSMALLINT ctype, sqltype, digits;
            SQLULEN size;
            ptype(&mt->cols[col_at(cols, i)].type, &ctype, &sqltype, &size, &digits);
            size_t row = row0 + r;
            SQLLEN w = (SQLLEN)p->width[i];
            SQLPOINTER at = (char *)p->data[i] + row * p->width[i];
            if (p->direct[i]) {
                /* a large text where it is in the batch (NUL after it) */
                assert(row == 0);
                at = (SQLPOINTER)p->direct[i];
                w = (SQLLEN)p->direct_len[i] + 1;
            }
            SQLUSMALLINT pno = (SQLUSMALLINT)(r * ncols + i + 1);
            rc = SQLBindParameter(h, pno, SQL_PARAM_INPUT, ctype, sqltype, size, digits, at, w,
                                  p->ind[i] + row);
            if (!SQL_SUCCEEDED(rc))
                return db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "bind parameter");
        }
    }
    return 0;
}
