/* dialect.h — everything that differs between target databases, behind one
 * interface with one implementation per target (dialect_sqlite.c,
 * dialect_pgsql.c, dialect_mssql.c).  Nothing outside this layer asks which
 * database it talks to.  As in Redis's rio, the interface is a struct of
 * function pointers and each target fills one in. */
#ifndef MIGRATE_DIALECT_H
#define MIGRATE_DIALECT_H

#include "batch.h"
#include "db.h"
#include "keyset.h"
#include "mapping.h"
#include "strbuf.h"

/* Result of loading a row range of one table: what the database did with
 * the rows (settle.c makes the records' fates of it).  Under DUP_UPDATE a
 * dialect without counts_upserts counts every row inserted. */
typedef struct load_result {
    uint64_t inserted;
    uint64_t dup_db;   /* rows skipped because the key already existed */
    uint64_t updated;  /* rows that replaced an existing one */
} load_result;

/* Per-connection, per-table state a dialect keeps (prepared statements,
 * parameter buffers).  Owned by the worker's connection; freed by
 * dialect->table_state_free. */
typedef struct dialect_table_state dialect_table_state;

/* What a dialect learnt of table t for its fast path (SQL Server's bulk
 * copy straight into the table), kept with t's state on the connection:
 * plain numbers, the dialect's to read and set. */
typedef struct dialect_direct {
    int layout; /* 0: not asked yet; 1: the path may be taken; -1: never */
    int frac;   /* fraction digits the table's time columns keep */
} dialect_direct;

typedef struct dialect {
    const char *name;  /* "sqlite", "postgresql", "sqlserver" */
    int single_writer; /* only one write transaction at a time (SQLite) */
    /* Fractional second digits its time and datetime columns keep; 0: all
     * that a mapping value can have (7).  A value with more is rejected
     * rather than stored rounded (mapper_limit_fraction). */
    int frac_digits;
    int no_sqlcancel;  /* SQLCancel from another thread is unsafe: a stop
                          waits for the running statement (SQLite) */
    /* Or NULL: the driver's SQLRowCount says how many rows an INSERT
     * changed.  Else a query selecting that count for the last INSERT run
     * on the connection, prepared once and run after each
     * (dialect_load_generic): SQLite's driver reports none for the
     * statements it keeps prepared (dialect_sqlite.c). */
    const char *changes_sql;
    /* Text parameters go with indicator SQL_NTS instead of their length:
     * sqliteodbc binds such a buffer as it is, while for a length it
     * allocates and copies every value at every execute. */
    int text_nts;
    int counts_upserts; /* load_rows under DUP_UPDATE tells inserted rows
                           from updated ones (SQL Server's staged statements);
                           else settle_range counts the updates first with
                           the existence check (ON CONFLICT DO UPDATE counts
                           both as changed) */

    /* Returns 1 if SQL_DBMS_NAME names this dialect's server. */
    int (*matches_dbms)(const char *dbms_name);
    /* Connection attributes to set before SQLDriverConnect (e.g.
     * SQL_COPT_SS_BCP for --load bcp) and session settings after it. */
    int (*before_connect)(db_conn *c, mig_err *err);
    int (*after_connect)(db_conn *c, mig_err *err);

    /* Identifier quoting: "x" / [x] (embedded quote characters doubled). */
    void (*quote_ident)(strbuf *out, const char *name);
    /* The DDL type of a mapping type. */
    void (*type_ddl)(strbuf *out, const col_type *t);
    /* How a parameter of type t is bound: C type, SQL type, column size and
     * decimal digits (a db_ptype_fn; used for every parameter the shared
     * machinery binds on this dialect's connections). */
    void (*ptype)(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype, SQLULEN *size,
                  SQLSMALLINT *digits);
    /* CREATE TABLE (if it does not exist) for table t, primary key = t's key. */
    void (*create_table_sql)(strbuf *out, const map_table *t);

    /* Load rows [row_lo, row_hi) of table `t` of batch b inside the open
     * transaction, under policy (DUP_SKIP: insert unless the key exists,
     * DUP_UPDATE: upsert, DUP_ERROR / DUP_DEFAULT: plain insert).  Uses the
     * fastest path the target offers for the connection's load method.
     * Returns 0, or -1 with err set and c->last_class saying what failed. */
    int (*load_rows)(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                     size_t row_lo, size_t row_hi, dup_policy policy,
                     load_result *res, mig_err *err);
    void (*table_state_free)(db_conn *c, dialect_table_state *st);
    /* Or NULL.  The first table under DUP_SKIP, with the existence check
     * folded into the load: load_rows, and also set found[i - row_lo] for
     * every row whose key the table held before this call (those rows are
     * not loaded; found has row_hi - row_lo bytes, all 0 on entry), or
     * whose key another session committed while the INSERT ran (PostgreSQL:
     * ON CONFLICT waited for it and passed the row over; its record is a
     * duplicate all the same).
     * res->dup_db counts only rows neither loaded nor found (the server met
     * a key twice that the worker's bytes told apart, or another session
     * inserted it meanwhile).  The worker then asks no existence check of
     * its own (dialect_find_existing) for these rows. */
    int (*load_rows_found)(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                           size_t row_lo, size_t row_hi, unsigned char *found,
                           load_result *res, mig_err *err);

    /* Or NULL.  Prepare the session for loading table t under policy p
     * (found: the first table, loaded through load_rows_found) before any
     * batch comes, inside the open transaction, which the caller commits.
     * The worker calls it once, right after its thread starts, while the
     * engine takes the run lock and the ledger on its own connection; the
     * first batch finds the work done.  Not needed for correctness: on
     * failure (-1 with err) the caller rolls back and the first batch
     * prepares as it would have.  SQL Server's bulk copy: create the
     * #stage and run the move statements once on it, empty. */
    int (*warm_up)(db_conn *c, dialect_table_state **st, const mapping *m, size_t t,
                   dup_policy p, int found, mig_err *err);

    /* Or NULL.  What the dialect's fast path needs to know of table t
     * (dialect_direct), asked once a run on one connection (the first
     * worker's, in its thread, after --create-tables and before any
     * worker's warm_up; the engine's own session logs in and takes the run
     * lock meanwhile), and handed to every worker's table state (also
     * after a reconnect); returns 0, or -1 with err (then the fast path is
     * not taken for t).  It may run several statements in the open
     * transaction, which the caller rolls back.  A table state without it
     * asks for itself. */
    int (*inspect)(db_conn *c, const map_table *t, dialect_direct *out, mig_err *err);

    /* SQL for the set-based existence check on table t.  nkeys > 0: the
     * statement takes nkeys parameter rows of t->nkeys parameters each (the
     * key columns in key order, row after row) and selects one column, the
     * 1-based ordinals of the parameter rows whose key matches a stored row
     * under the server's own comparison (collation, trailing spaces), e.g.
     * SELECT v.o FROM (VALUES (1, ?), (2, ?)) AS v(o, k1) WHERE EXISTS
     * (SELECT 1 FROM t x WHERE x.id = v.k1).  The ordinals are integers
     * written into the SQL text.  nkeys == 0 means every key of the table:
     * selects the key columns, no WHERE clause, no parameters (used to
     * preload the key sets, settle_preload). */
    void (*exists_sql)(strbuf *out, const map_table *t, size_t nkeys);
    /* Or NULL: dialect_find_existing, through exists_sql (a target that
     * is no ODBC database, the unit tests' fake, answers itself). */
    int (*find_existing)(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         const size_t *rows, size_t n, unsigned char *found, mig_err *err);

    /* Classify a failure by SQLSTATE and native error. */
    db_errclass (*classify)(const char *sqlstate, long native, const char *message);

    /* The run lock (runlock.c): SQL that tries to take the session-owned
     * lock `name` (or `key`, the same lock as a number), waiting up to
     * wait_ms on the server if it can (else not at all: the caller polls),
     * and selects 1 when it got it, else 0.  NULL: the target has no such
     * lock (SQLite: a lock file beside the database instead). */
    void (*try_lock_sql)(strbuf *out, const char *name, long long key, long wait_ms);
    /* Or NULL.  Take the write lock at the start of a load transaction,
     * before anything is read, with a statement on table t that changes
     * nothing (SQLite: a transaction that read first and then finds another
     * process's commit cannot write, and the driver would wait for it until
     * its busy timeout).  Returns 0, or -1 with err and c->last_class. */
    int (*begin_write)(db_conn *c, const map_table *t, mig_err *err);
    /* Or NULL.  Serialise concurrent table creation by several processes
     * within the open transaction (PostgreSQL: an advisory lock released at
     * commit).  Returns 0, or -1 with err. */
    int (*create_lock)(db_conn *c, mig_err *err);
} dialect;

extern const dialect dialect_sqlite;
extern const dialect dialect_pgsql;
extern const dialect dialect_mssql;

/* Returns the dialect named "sqlite" | "postgresql" | "sqlserver" (also
 * "pgsql", "postgres", "mssql"), or NULL. */
const dialect *dialect_by_name(const char *name);
/* Returns the dialect whose matches_dbms accepts dbms_name, or NULL. */
const dialect *dialect_for_dbms(const char *dbms_name);

/* Connect to target t (login timeout = t->connect_timeout) and pick the
 * dialect: the override (--dialect; SQL Server for --load bcp), else the
 * one whose matches_dbms accepts SQL_DBMS_NAME; let it prepare the session
 * (before_connect, after_connect), then turn autocommit off.  Returns 0,
 * or -1 with err (MIG_EUSAGE for an unknown --dialect, MIG_ECONNECT /
 * MIG_EDBPERM: see db_login) and c closed. */
int dialect_connect(db_conn *c, const db_target *t, mig_err *err);

/* The whole DDL for a mapping (every table, in mapping order). */
void dialect_ddl(const dialect *d, const mapping *m, strbuf *out);

/* ---- the existence check (dialect.c, for settle.c) ---- */

/* Set found[i] to 1 when the key of row rows[i] of table t is already in the
 * database (set-based, through c->d->exists_sql); returns 0, or -1 with err. */
int dialect_find_existing(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                          const size_t *rows, size_t n, unsigned char *found, mig_err *err);

/* ---- shared machinery of the dialect files (dialect.c) ---- */

/* Writes the INSERT for policy p taking nrows rows into t, the table with
 * index tindex in its mapping (a dialect's statement builder for
 * dialect_load_generic). */
typedef void (*dialect_insert_fn)(strbuf *out, const dialect *d, const map_table *t,
                                  size_t tindex, dup_policy p, size_t nrows);

/* Load rows [lo,hi) of table t through the statements sqlfn writes (prepared
 * once per policy and kept in *st), rows_per_stmt rows per multi-row VALUES
 * statement (0: one statement run as a parameter array), at most max_params
 * parameters per statement (0: no limit), parameters typed by c->d->ptype.
 * Stores the driver's count of changed rows in *changed; returns 0, or -1
 * with err. */
int dialect_load_generic(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         size_t lo, size_t hi, dup_policy policy, size_t rows_per_stmt,
                         size_t max_params, dialect_insert_fn sqlfn, SQLLEN *changed,
                         mig_err *err);
/* load_rows for targets with INSERT ... ON CONFLICT (SQLite, PostgreSQL):
 * dialect_load_generic with sqlfn (dialect_insert_on_conflict_sql, or a
 * dialect's wrapping of it), and the result
 * counted from the changed rows (skip) or an existence check (update);
 * returns 0, or -1 with err. */
int dialect_load_on_conflict(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                             size_t lo, size_t hi, dup_policy policy, size_t rows_per_stmt,
                             size_t max_params, dialect_insert_fn sqlfn, load_result *res,
                             mig_err *err);
/* Store in *res what an INSERT ... ON CONFLICT of nrows rows under policy
 * did when the driver counted `changed` rows (skip: the rest existed;
 * update: every row counted inserted, settle_range counts the updates). */
void dialect_conflict_result(load_result *res, size_t nrows, SQLLEN changed, dup_policy policy);

/* Writes the INSERT for policy p into t that takes whole columns: parameter
 * i + 1 is the text of an array literal ("{1,2,NULL}", '{"a","b\"c"}')
 * holding column i of every row, in row order (PostgreSQL:
 * INSERT ... SELECT * FROM unnest($1::integer[], ...)). */
typedef void (*dialect_columns_fn)(strbuf *out, const dialect *d, const map_table *t,
                                   dup_policy p);
/* Load rows [lo,hi) of table t through the statement sqlfn writes (prepared
 * once per policy, kept in *st), one execution for all the rows (several
 * only when their text passes 16 MB): one round trip and one statement for
 * the server to parse and plan, whatever the number of rows.  Stores the
 * driver's count of changed rows in *changed; returns 0, or -1 with err. */
int dialect_load_columns(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                         size_t lo, size_t hi, dup_policy policy, dialect_columns_fn sqlfn,
                         SQLLEN *changed, mig_err *err);
/* Writes the existence check on t that takes the key columns whole, as
 * dialect_columns_fn's array literals (parameter k + 1: key column k of every
 * row asked), and selects the 1-based ordinals of the rows whose key the
 * table holds (exists_sql's contract otherwise). */
typedef void (*dialect_exists_columns_fn)(strbuf *out, const dialect *d, const map_table *t);
/* find_existing through the statement sqlfn writes: run direct at each call
 * (planned for the table as it is then), one execution for every row asked
 * unless their keys pass 16 MB. */
int dialect_find_existing_columns(db_conn *c, dialect_table_state **st, const batch *b,
                                  size_t t, const size_t *rows, size_t n, unsigned char *found,
                                  dialect_exists_columns_fn sqlfn, mig_err *err);
/* load_rows_found through the statement sqlfn writes for DUP_SKIP (prepared
 * once, kept in *st): it takes whole columns as dialect_columns_fn's does,
 * then the key columns again (parameter ncols + k + 1: key column k, the
 * same array), inserts the rows whose key is new, and selects, in any
 * order, one value <= 0, minus the number of rows it inserted, and the
 * 1-based ordinals of rows it did not insert since their key was stored
 * (found[i - lo] set for each).  At a table's first call, and after one
 * that found most of its rows stored (a rerun), the existence check
 * exists_fn writes goes first, and when it finds every row, nothing more.
 * Stores the rows inserted in *inserted; returns 0, or -1 with err. */
int dialect_load_columns_found(db_conn *c, dialect_table_state **st, const batch *b, size_t t,
                               size_t lo, size_t hi, dialect_columns_fn sqlfn,
                               dialect_exists_columns_fn exists_fn, unsigned char *found,
                               uint64_t *inserted, mig_err *err);
/* A dialect's per-session stage table for t (SQL Server's #stage): returns 1
 * when it was marked ready (existing and empty) and no rollback has been
 * asked for on c since, which could have brought back rows or undone its
 * creation. */
int dialect_stage_ready(dialect_table_state **st, size_t t, const db_conn *c);
/* Mark t's stage ready (1) or in an unknown state (0) as of now. */
void dialect_stage_set_ready(dialect_table_state **st, size_t t, const db_conn *c, int ready);
/* Returns t's dialect_direct, zeroed at first. */
dialect_direct *dialect_state_direct(dialect_table_state **st, size_t t);
/* Free a table state of the shared machinery (table_state_free). */
void dialect_state_free_generic(db_conn *c, dialect_table_state *st);

/* Quote with double quotes, doubling embedded ones (SQLite, PostgreSQL). */
void dialect_quote_double(strbuf *out, const char *name);
/* Append name quoted by d, "schema.table" as two quoted parts. */
void dialect_quote_table(strbuf *out, const dialect *d, const char *name);
/* Append t's column names quoted by d, comma-separated, each after prefix
 * (may be NULL). */
void dialect_column_list(strbuf *out, const dialect *d, const map_table *t, const char *prefix);
/* Append "a.k1 = b.k1 AND a.k2 = b.k2 ..." over t's key columns. */
void dialect_key_match(strbuf *out, const dialect *d, const map_table *t, const char *a,
                       const char *b);
/* Append " ON CONFLICT (keys) DO NOTHING" for DUP_SKIP, " ... DO UPDATE SET
 * col = excluded.col, ..." for DUP_UPDATE (DO NOTHING when every column is a
 * key), nothing for the other policies. */
void dialect_on_conflict(strbuf *out, const dialect *d, const map_table *t, dup_policy p);
/* Append nrows groups "(?, ..., ?)" of ncols markers, comma-separated. */
void dialect_values_rows(strbuf *out, size_t ncols, size_t nrows);
/* How dialect_exists_common writes the parameter rows: by default a derived
 * table "(VALUES (1, ?), ...) AS v(o, k1, ...)" (SQL Server). */
enum {
    DIALECT_EXISTS_CTE = 1, /* "WITH v(o, k1, ...) AS (VALUES ...)" (SQLite:
                               no column names on a derived table) */
    DIALECT_EXISTS_CAST = 2 /* each marker as CAST(? AS type) in d's DDL type
                               (PostgreSQL: VALUES gives a parameter no type,
                               and an untyped one becomes text) */
};
/* Append the exists_sql statement for t on the already quoted table name
 * qtable (nkeys == 0: every key of the table), the parameter rows written as
 * flags (DIALECT_EXISTS_*) say. */
void dialect_exists_common(strbuf *out, const dialect *d, const map_table *t,
                           const char *qtable, size_t nkeys, unsigned flags);
/* Append "CREATE TABLE IF NOT EXISTS t (columns, PRIMARY KEY (keys))" with
 * d's quoting and types (SQLite, PostgreSQL). */
void dialect_create_table_common(strbuf *out, const dialect *d, const map_table *t);
/* Append the multi-row INSERT of nrows rows into t, with ON CONFLICT (keys)
 * DO NOTHING for DUP_SKIP and DO UPDATE SET ... for DUP_UPDATE (a
 * dialect_insert_fn; SQLite, PostgreSQL). */
void dialect_insert_on_conflict_sql(strbuf *out, const dialect *d, const map_table *t,
                                    size_t tindex, dup_policy p, size_t nrows);

/* The standard ODBC parameter type of a column: integers and bit as int64
 * (SQL_TINYINT .. SQL_BIGINT, SQL_BIT), float as double, everything else as
 * UTF-8 text typed as its column (SQL_DECIMAL(p,s), SQL_VARCHAR, SQL_CHAR,
 * SQL_WVARCHAR, SQL_WLONGVARCHAR, SQL_TYPE_DATE/TIME/TIMESTAMP, SQL_GUID).
 * Each dialect's ptype starts from it and changes what its target wants. */
void dialect_ptype_standard(const col_type *t, SQLSMALLINT *ctype, SQLSMALLINT *sqltype,
                            SQLULEN *size, SQLSMALLINT *digits);

/* ---- per-dialect internals, exposed for the unit tests ---- */

/* SQLite: append the multi-row INSERT ... ON CONFLICT of nrows rows into t
 * behind an unused CTE, so that the ODBC driver keeps it prepared (a
 * dialect_insert_fn; see dialect_sqlite.c). */
void dialect_sqlite_insert_sql(strbuf *out, const dialect *d, const map_table *t, size_t tindex,
                               dup_policy p, size_t nrows);
/* SQL Server: append the table name as [schema].[table] ([dbo] by default). */
void dialect_mssql_table(strbuf *out, const char *name);
/* SQL Server: append the plain INSERT of nrows rows (a dialect_insert_fn;
 * the skip and update policies go through the #stage). */
void dialect_mssql_insert_sql(strbuf *out, const dialect *d, const map_table *t, size_t tindex,
                              dup_policy p, size_t nrows);
/* SQL Server: append the name of the #stage of table t, the table's index
 * tindex in its mapping: [#stage_<tindex>_<bare name>] (a.items and b.items
 * get stages of their own). */
void dialect_mssql_stage_name(strbuf *out, const map_table *t, size_t tindex);
/* SQL Server: append staging statement `which` for t (index tindex in its
 * mapping): 0 create or empty the #stage, 1 fill it, 2 insert new keys
 * (skip), 3 update existing keys, 4 insert the remaining new keys (update),
 * 5 insert every staged row (error), 6 the bulk-copy guard (@@TRANCOUNT and
 * the stage's row count), 7 the rows found stored (-1 - [__pos]); see the enum in dialect_mssql.c. */
void dialect_mssql_stage_sql(strbuf *out, const map_table *t, size_t tindex, int which);
/* SQL Server bulk copy: how a column of type t is bound (bcp_bind arguments)
 * for the #stage. */
void dialect_mssql_bcp_column(const col_type *t, int *host_type, int *prefixlen, int *varlen,
                              int *termlen);
/* SQL Server bulk copy: write v into buf (int64 length prefix, -1 = NULL,
 * then the bytes); returns 0, or -1 when it does not fit in cap bytes. */
int dialect_mssql_bcp_value(const batch *b, const value *v, const col_type *t,
                            unsigned char *buf, size_t cap);

#endif
