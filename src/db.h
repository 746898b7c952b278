/* db.h — one ODBC connection and the generic ODBC plumbing every dialect
 * shares, below the dialects (it knows none of them): the steps of
 * connecting with a login timeout (dialect_connect runs them), transactions,
 * executing text,
 * binding column-wise parameter arrays from a batch, and turning ODBC
 * diagnostics into one clear error line (SQLSTATE, native code, driver
 * message, password removed). */
#ifndef MIGRATE_DB_H
#define MIGRATE_DB_H

#include <pthread.h>
#include <sql.h>
#include <sqlext.h>

#include "batch.h"
#include "err.h"
#include "strbuf.h"

struct dialect;

typedef enum load_method { LOAD_DEFAULT = 0, LOAD_INSERT, LOAD_BCP } load_method;

/* Where to connect.  connstr never holds the password: it is appended at
 * connect time as PWD={...} and never copied into any message. */
typedef struct db_target {
    char *connstr;            /* ODBC connection string (owned) */
    char *password;           /* or NULL (owned; wiped on free) */
    const char *dialect_name; /* --dialect, or NULL to detect from the driver */
    int connect_timeout;      /* seconds to log in (0: the driver's default) */
    int query_timeout;        /* seconds a statement may run (0: no limit) */
    load_method load;
} db_target;

/* Build a target for an SQLite database file through the SQLite3 ODBC driver
 * (registered driver "SQLite3", or the driver library path when unregistered). */
void db_target_sqlite(db_target *t, const char *file);
void db_target_free(db_target *t);

/* Classes of database errors, decided by the dialect from SQLSTATE + native. */
typedef enum db_errclass {
    DBE_NONE = 0,
    DBE_DATA,        /* the data of some row was refused (constraint, conversion, too long): isolate and reject */
    DBE_DUPLICATE,   /* unique/primary key violation (a DBE_DATA kind) */
    DBE_RETRY,       /* deadlock / serialization failure: re-run the batch */
    DBE_CONNECTION,  /* link lost (class 08): reconnect, re-run the batch */
    DBE_PERMISSION,  /* fatal */
    DBE_SCHEMA,      /* missing table/column: fatal */
    DBE_FATAL,       /* anything else: fatal */
    DBE_CANCELLED,   /* cancelled by db_cancel_request (the run stops) */
    DBE_AGAIN        /* a dialect's fast path failed and is off for this
                        range: roll back and run the range again at once */
} db_errclass;

/* Lets another thread cancel what a connection runs (the engine, when the
 * run is asked to stop).  Owned by whoever owns the connection (a worker)
 * and kept across reconnects; `lock` guards every field. */
typedef struct db_cancel {
    pthread_mutex_t lock;
    SQLHSTMT running;   /* the statement executing now, or SQL_NULL_HSTMT */
    int cancelled;      /* set once: no statement may start any more */
} db_cancel;

void db_cancel_init(db_cancel *k);
void db_cancel_destroy(db_cancel *k);
/* Cancel the statement running now (SQLCancel, unless the dialect says
 * no_sqlcancel) and refuse every later one with class DBE_CANCELLED.  Safe
 * from any thread. */
void db_cancel_request(db_cancel *k);

/* Returns the class of a failure from its SQLSTATE, native error and
 * message (each dialect has one: dialect->classify). */
typedef db_errclass (*db_classify_fn)(const char *sqlstate, long native, const char *message);

typedef struct db_conn {
    SQLHENV env;
    SQLHDBC dbc;
    int connected;
    /* The dialect this connection speaks, set by the dialect layer
     * (dialect_connect) for its own use: db.c never looks at it. */
    const struct dialect *d;
    /* What db.c needs to know of it, set with it: how a failure is
     * classified (NULL: DBE_FATAL), and whether a stop may not SQLCancel. */
    db_classify_fn classify;
    int no_sqlcancel;
    const db_target *target;
    char dbms_name[64];       /* SQLGetInfo SQL_DBMS_NAME */
    db_errclass last_class;   /* class of the last failure on this connection */
    db_cancel *cancel;        /* or NULL; set by the owner after connecting */
    unsigned long rollbacks;  /* db_rollback calls: session state (a #temp
                               * table) may have gone back since */
    int no_fast_path;         /* set by the owner: the dialect takes no path
                               * that may fail with DBE_AGAIN */
} db_conn;

/* The steps of connecting, in order (dialect_connect runs them, with the
 * dialect's own steps in between).  Each returns 0, or -1 with err and the
 * connection closed (db_disconnect).
 * db_open: allocate the handles for target t, login timeout set
 * (target->connect_timeout); c is zeroed first. */
int db_open(db_conn *c, const db_target *t, mig_err *err);
/* db_login: SQLDriverConnect with the target's connection string and
 * password; reads SQL_DBMS_NAME into c->dbms_name.  Fails with MIG_ECONNECT
 * and "cannot connect: SQLSTATE 08001: [FreeTDS][SQL Server]Unable to
 * connect to data source [Server=..., Port=...]". */
int db_login(db_conn *c, mig_err *err);
/* db_autocommit_off: every statement from now on runs in a transaction
 * that db_commit / db_rollback ends. */
int db_autocommit_off(db_conn *c, mig_err *err);
void db_disconnect(db_conn *c);
/* One key=value item of an ODBC connection string. */
typedef struct db_cs_item {
    const char *start; /* first byte of the item (its key) */
    size_t klen;       /* bytes of the key, up to '=' or ';' */
    const char *value; /* first byte of the value (spaces skipped), or NULL */
    const char *vend;  /* end of the value (after its {...} block, if braced) */
    const char *next;  /* start of the next item (after ';'), or the final NUL */
    int password;      /* the key is PWD or Password (any case) */
} db_cs_item;

/* Returns 1 and fills *it with the item starting at p, or 0 at the end:
 *   for (p = s; db_connstr_next(p, &it); p = it.next) ... */
int db_connstr_next(const char *p, db_cs_item *it);
/* Returns 1 if key[0..len), spaces trimmed, is `name` (any case). */
int db_connstr_key_is(const char *key, size_t len, const char *name);

/* Remove every PWD=/Password= item from connection string s (in place) and
 * hand the last one's value to *pw (braces removed, "}}" as "}"), wiping
 * the old *pw. */
void db_connstr_take_password(char *s, char **pw);

/* The connection string db_login uses, without the password: the target's,
 * plus ClientCharset=UTF-8 for a FreeTDS driver (named, or behind a DSN) that
 * does not set one, and Protocol=7.4-1 (no savepoint around each statement)
 * for a psqlODBC driver that sets no Protocol. */
void db_connstr(const db_target *t, strbuf *out);

/* Run SQL text (DDL, BEGIN ...).  Returns 0 or -1 (err set, class in c->last_class). */
int db_exec(db_conn *c, const char *sql, mig_err *err);
int db_begin(db_conn *c, mig_err *err);
/* Commit; returns 0 only when the driver reports the commit done on a link
 * it does not call dead (db_lost): psqlODBC answers SQL_SUCCESS without
 * sending COMMIT once it has found the link dead, even after a statement it
 * reported as succeeded.  A lost link fails with class DBE_CONNECTION. */
int db_commit(db_conn *c, mig_err *err);
/* Returns 1 if c is open and its driver says the link is dead
 * (SQL_ATTR_CONNECTION_DEAD; a driver that cannot tell says 0). */
int db_lost(db_conn *c);
/* Returns rc, what ending c's transaction with a commit returned, unless rc
 * is 0 while lost(c) says the link is dead: then -1, with err filled for a
 * commit that the lost link made void (class DBE_CONNECTION, SQLSTATE
 * 08S01).  The one place that decides whether a commit counts: db_commit
 * asks it with db_lost, the unit tests' fake link with its own. */
int db_commit_verdict(db_conn *c, int rc, int (*lost)(db_conn *c), mig_err *err);
int db_rollback(db_conn *c);
/* End the open transaction of a step that returned rc: commit when rc is 0,
 * else roll back.  Returns 0, or -1 (rc, or the failed commit, err set). */
int db_end(db_conn *c, int rc, mig_err *err);

/* Fill err from the diagnostics of handle h: "what: SQLSTATE xxxxx (native
 * n): message"; sets err->sqlstate/native and c->last_class (via c->classify)
 * and returns -1.  status is used unless the class maps to a more specific one. */
int db_diag(db_conn *c, SQLSMALLINT htype, SQLHANDLE h, mig_status status,
            mig_err *err, const char *what);

/* ---- statements (for the dialect layer) ---- */

/* Returns a new statement on c, prepared with sql unless sql is NULL (then
 * only allocated, for SQLExecDirect), or SQL_NULL_HSTMT with err set. */
SQLHSTMT db_prepare(db_conn *c, const char *sql, mig_err *err);
/* Free a statement from db_prepare; SQL_NULL_HSTMT is ignored. */
void db_stmt_free(SQLHSTMT h);
/* Run h (prepared: sql NULL; else SQLExecDirect of sql) where
 * db_cancel_request can cancel it; returns the driver's result, or SQL_ERROR
 * with err set and class DBE_CANCELLED when the connection was cancelled
 * before it started.  Every statement execution goes through here. */
SQLRETURN db_run(db_conn *c, SQLHSTMT h, const char *sql, mig_err *err);
/* Fill err for a failed execution (or fetch) of h: "what: cancelled ..."
 * with class DBE_CANCELLED when c was cancelled (whatever the driver says
 * then), else the driver's diagnostics; returns -1. */
int db_run_failed(db_conn *c, SQLHSTMT h, mig_err *err, const char *what);
/* Execute the prepared h and drain all its results, summing their row counts
 * into *rows (may be NULL); returns 0, or -1 with err ("what: SQLSTATE ..."). */
int db_execute(db_conn *c, SQLHSTMT h, SQLLEN *rows, mig_err *err, const char *what);
/* The same for sql run directly (SQLExecDirect) on h, a statement from
 * db_prepare(c, NULL, ...) with its parameters bound. */
int db_execute_direct(db_conn *c, SQLHSTMT h, const char *sql, SQLLEN *rows, mig_err *err,
                      const char *what);
/* Run sql and store the first column of its first row in *out (NULL reads
 * as 0); returns 0, or -1 with err. */
int db_query_int(db_conn *c, const char *sql, long long *out, mig_err *err);

/* ---- parameter arrays ---- */

/* How a parameter of column type t is bound: the C type of the buffer
 * (SQL_C_SBIGINT, SQL_C_DOUBLE or SQL_C_CHAR), the SQL type, the column size
 * and the decimal digits.  Each dialect has one (dialect->ptype). */
typedef void (*db_ptype_fn)(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                            SQLULEN *size, SQLSMALLINT *digits);

struct db_params;
/* Execute h bound to a parameter array of nrows sets (db_params_bind with
 * as_array) and check every set: a driver may answer SQL_SUCCESS_WITH_INFO
 * while some sets failed (FreeTDS).  A refused set fails the call with the
 * driver's message and class (DBE_DATA when it gives none), so the worker
 * isolates the record.  Returns 0 or -1. */
int db_execute_array(db_conn *c, SQLHSTMT h, struct db_params *p, size_t nrows, SQLLEN *rows,
                     mig_err *err, const char *what);

/* Column-wise parameter-array buffers for one table, owned by a worker and
 * reused for every batch (grown as needed, never shrunk). */
typedef struct db_params {
    size_t ncols;
    size_t cap_rows;
    void **data;          /* per column: rows * width bytes */
    SQLLEN **ind;         /* per column: rows indicators */
    size_t *width;        /* per column: element width in bytes */
    SQLUSMALLINT *status; /* per row: SQL_PARAM_* after execute */
    SQLULEN processed;
    int text_nts;         /* set by the owner: text goes with indicator
                           * SQL_NTS (every buffer is NUL-terminated) */
    const char **direct;  /* per column: a large text bound where it is in
                           * the batch (one row filled), else NULL */
    size_t *direct_len;   /* its length */
} db_params;

/* A text value this long or longer, alone in the rows filled, is bound
 * where it lies in the batch (NUL-terminated there) instead of copied. */
#define DB_PARAMS_DIRECT ((size_t)64 * 1024)

/* Fill p with rows [lo,end) of table t of b, columns cols[0..ncols) (cols
 * NULL: columns 0..ncols-1), each converted to the C type ptype gives it,
 * and return end: the rows up to hi whose buffers, each column as wide as
 * its widest value in them, fit in max_bytes (at least one row; max_bytes
 * 0: all).  So one large value does not make every row as large, and a
 * value of DB_PARAMS_DIRECT bytes or more is not copied at all. */
size_t db_params_fill(db_params *p, const batch *b, size_t t, const size_t *cols, size_t ncols,
                      size_t lo, size_t hi, size_t max_bytes, db_ptype_fn ptype);
/* Bind rows [row0, row0+nrows) of p (filled by db_params_fill) to h: as
 * nrows parameter sets of ncols (as_array), else as one set of nrows*ncols
 * parameters (multi-row VALUES); returns 0, or -1 with err. */
int db_params_bind(db_conn *c, SQLHSTMT h, db_params *p, const map_table *mt,
                   const size_t *cols, size_t ncols, size_t row0, size_t nrows, int as_array,
                   db_ptype_fn ptype, mig_err *err);
/* Free p's buffers and leave it empty. */
void db_params_free(db_params *p);

#endif
