/* dialect.h — everything that differs between target databases, behind one
 * interface with one implementation per target (dialect_sqlite.c,
 * dialect_pgsql.c, dialect_mssql.c).  Nothing outside this layer asks which
 * database it talks to.  As in Redis's rio, the interface is a struct of
 * function pointers and each target fills one in. */
#ifndef MIGRATE_DIALECT_H
#define MIGRATE_DIALECT_H

#include "batch.h"
#include "db.h"
#include "mapping.h"
#include "strbuf.h"

/* Result of loading a row range of one table. */
typedef struct load_result {
    uint64_t inserted;
    uint64_t dup_db;   /* rows skipped because the key already existed */
    uint64_t updated;  /* rows that replaced an existing one */
} load_result;

/* Per-connection, per-table state a dialect keeps (prepared statements,
 * parameter buffers).  Owned by the worker's connection; freed by
 * dialect->table_state_free. */
typedef struct dialect_table_state dialect_table_state;

typedef struct dialect {
    const char *name;  /* "sqlite", "postgresql", "sqlserver" */
    int single_writer; /* only one write transaction at a time (SQLite) */

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

    /* SQL that selects which of n keys (as parameters) exist in table t,
     * returning the key columns (set-based existence check). */
    void (*exists_sql)(strbuf *out, const map_table *t, size_t nkeys);

    /* Classify a failure by SQLSTATE and native error. */
    db_errclass (*classify)(const char *sqlstate, long native, const char *message);
} dialect;

extern const dialect dialect_sqlite;
extern const dialect dialect_pgsql;
extern const dialect dialect_mssql;

/* Returns the dialect named "sqlite" | "postgresql" | "sqlserver" (also
 * "pgsql", "postgres", "mssql"), or NULL. */
const dialect *dialect_by_name(const char *name);
/* Returns the dialect whose matches_dbms accepts dbms_name, or NULL. */
const dialect *dialect_for_dbms(const char *dbms_name);

/* The whole DDL for a mapping (every table, in mapping order). */
void dialect_ddl(const dialect *d, const mapping *m, strbuf *out);

#endif
