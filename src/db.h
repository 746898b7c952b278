/* db.h — one ODBC connection and the generic ODBC plumbing every dialect
 * shares: connecting with a login timeout, transactions, executing text,
 * binding column-wise parameter arrays from a batch, and turning ODBC
 * diagnostics into one clear error line (SQLSTATE, native code, driver
 * message, password removed). */
#ifndef MIGRATE_DB_H
#define MIGRATE_DB_H

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
    int connect_timeout;      /* seconds, login and query timeout */
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
    DBE_FATAL        /* anything else: fatal */
} db_errclass;

typedef struct db_conn {
    SQLHENV env;
    SQLHDBC dbc;
    int connected;
    const struct dialect *d;
    const db_target *target;
    char dbms_name[64];       /* SQLGetInfo SQL_DBMS_NAME */
    db_errclass last_class;   /* class of the last failure on this connection */
} db_conn;

/* Connect (login timeout = target->connect_timeout), pick the dialect (the
 * override, else from SQL_DBMS_NAME), let it prepare the session.  Returns 0,
 * or -1 with MIG_ECONNECT / MIG_EDBPERM and "cannot connect: SQLSTATE 08001:
 * [FreeTDS][SQL Server]Unable to connect to data source". */
int db_connect(db_conn *c, const db_target *t, mig_err *err);
void db_disconnect(db_conn *c);

/* Run SQL text (DDL, BEGIN ...).  Returns 0 or -1 (err set, class in c->last_class). */
int db_exec(db_conn *c, const char *sql, mig_err *err);
int db_begin(db_conn *c, mig_err *err);
int db_commit(db_conn *c, mig_err *err);
int db_rollback(db_conn *c);

/* Fill err from the diagnostics of handle h: "what: SQLSTATE xxxxx (native
 * n): message"; sets err->sqlstate/native and c->last_class (via the dialect)
 * and returns -1.  status is used unless the class maps to a more specific one. */
int db_diag(db_conn *c, SQLSMALLINT htype, SQLHANDLE h, mig_status status,
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
} db_params;

void db_params_free(db_params *p);

#endif
