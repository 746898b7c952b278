/* runlock.c — one run at a time per mapping and target (see runlock.h). */
#include "config.h"
#include "runlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "dialect.h"
#include "ledger.h"
#include "strbuf.h"

/* Fill who with "host H, pid P, started T" for this process. */
static void me(char *who, size_t len, char *host, size_t hostlen, char started[24])
{
    if (gethostname(host, hostlen) != 0)
        snprintf(host, hostlen, "?");
    host[hostlen - 1] = '\0';
    ledger_utc_now(started);
    snprintf(who, len, "host %s, pid %ld, started %s", host, (long)getpid(), started);
}

/* Returns seconds on a monotonic clock. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep a quarter of a second. */
static void nap(void)
{
    struct timespec ts = {0, 250000000L};
    nanosleep(&ts, NULL);
}

/* Returns the lpath of the SQLite lock file beside the database c names
 * (malloc'd), or NULL when its connection string names no Database. */
static char *lock_path(const db_conn *c, const char *map_hash)
{
    db_cs_item it;
    for (const char *p = c->target->connstr; db_connstr_next(p, &it); p = it.next) {
        if (it.klen == 8 && strncasecmp(it.start, "Database", 8) == 0 && it.value) {
            const char *v = it.value, *e = it.vend;
            if (*v == '{' && e > v + 1 && e[-1] == '}') {
                v++;
                e--;
            }
            strbuf sb = STRBUF_INIT;
            sb_append(&sb, v, (size_t)(e - v));
            sb_printf(&sb, ".migrate-%.12s.lock", map_hash);
            return sb_detach(&sb);
        }
    }
    return NULL;
}

/* Returns 0 after taking the file lock (wait seconds at most), or -1. */
static int take_file(runlock *l, db_conn *c, const char *map_hash, double wait, mig_err *err)
{
    char *lpath = lock_path(c, map_hash);
    if (!lpath)
        return 0; /* a DSN: nowhere to put the file; documented */
    int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        err_set(err, MIG_ECANTCREAT, "cannot open the lock file %s: %s", lpath, strerror(errno));
        free(lpath);
        return -1;
    }
    double end = now_s() + wait;
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            err_set(err, MIG_ECANTCREAT, "cannot lock %s: %s", lpath, strerror(errno));
            goto fail;
        }
        if (now_s() >= end) {
            char who[300] = "";
            ssize_t n = pread(fd, who, sizeof who - 1, 0);
            who[n > 0 ? n : 0] = '\0';
            who[strcspn(who, "\n")] = '\0';
            err_set(err, MIG_ELOCKED,
                    "another run holds the lock for this mapping and target: %s (%s)",
                    who[0] ? who : "holder unknown", lpath);
            goto fail;
        }
        nap();
    }
    char who[400], host[256], started[24];
    me(who, sizeof who, host, sizeof host, started);
    strbuf sb = STRBUF_INIT;
    sb_printf(&sb, "%s\n", who);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, sb.buf, sb.len, 0) != (ssize_t)sb.len) {
        sb_free(&sb);
        err_set(err, MIG_ECANTCREAT, "cannot write the lock file %s: %s", lpath, strerror(errno));
        goto fail;
    }
    sb_free(&sb);
    free(lpath);
    l->fd = fd;
    return 0;
fail:
    close(fd);
    free(lpath);
    return -1;
}

/* Returns 0 after running sql and storing the first column of its first
 * result set in *out (results that are only row counts or messages, as
 * an EXEC gives on SQL Server, are passed over), or -1 with err. */
static int query_int(db_conn *c, const char *sql, long long *out, mig_err *err)
{
    SQLHSTMT h = db_prepare(c, NULL, err);
    if (h == SQL_NULL_HSTMT)
        return -1;
    SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)sql, SQL_NTS);
    SQLSMALLINT ncols = 0;
    while (SQL_SUCCEEDED(r) && SQL_SUCCEEDED(SQLNumResultCols(h, &ncols)) && ncols == 0)
        r = SQLMoreResults(h);
    SQLBIGINT v = 0;
    SQLLEN ind = 0;
    if (SQL_SUCCEEDED(r))
        r = SQLFetch(h);
    if (SQL_SUCCEEDED(r))
        r = SQLGetData(h, 1, SQL_C_SBIGINT, &v, 0, &ind);
    int rc = 0;
    if (!SQL_SUCCEEDED(r))
        rc = r == SQL_NO_DATA ? err_set(err, MIG_EDB, "the lock query returned no row")
                              : db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, "lock");
    *out = ind == SQL_NULL_DATA ? 0 : (long long)v;
    db_stmt_free(h);
    return rc;
}

/* Returns 0 after reading who holds the database lock into who, or -1. */
static int read_holder(db_conn *c, const char *name, char *who, size_t len, mig_err *err)
{
    strbuf sql = STRBUF_INIT;
    sb_printf(&sql, "SELECT host, pid, started FROM " LEDGER_LOCKS " WHERE lock_name = '%s'",
              name); /* name is hex digits and "migrate-" */
    SQLHSTMT h = db_prepare(c, NULL, err);
    int rc = -1;
    if (h != SQL_NULL_HSTMT) {
        SQLRETURN r = SQLExecDirect(h, (SQLCHAR *)sb_str(&sql), SQL_NTS);
        snprintf(who, len, "holder unknown");
        if (SQL_SUCCEEDED(r) && SQL_SUCCEEDED(r = SQLFetch(h))) {
            char host[256] = "", started[32] = "";
            SQLBIGINT pid = 0;
            SQLLEN i1, i2, i3;
            SQLGetData(h, 1, SQL_C_CHAR, host, sizeof host, &i1);
            SQLGetData(h, 2, SQL_C_SBIGINT, &pid, 0, &i2);
            SQLGetData(h, 3, SQL_C_CHAR, started, sizeof started, &i3);
            snprintf(who, len, "host %s, pid %lld, started %s", host, (long long)pid, started);
        }
        rc = SQL_SUCCEEDED(r) || r == SQL_NO_DATA ? 0
                                                   : db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err,
                                                             "lock holder");
        db_stmt_free(h);
    }
    db_rollback(c);
    sb_free(&sql);
    return rc;
}

/* Returns 0 after writing this process as the holder of lock name, or -1. */
static int write_holder(db_conn *c, const char *name, mig_err *err)
{
    char who[400], host[256], started[24];
    me(who, sizeof who, host, sizeof host, started);
    for (char *p = host; *p; p++)
        if (*p == '\'')
            *p = '_';
    strbuf sql = STRBUF_INIT;
    sb_printf(&sql, "DELETE FROM " LEDGER_LOCKS " WHERE lock_name = '%s'", name);
    int rc = db_exec(c, sb_str(&sql), err);
    sb_reset(&sql);
    sb_printf(&sql,
              "INSERT INTO " LEDGER_LOCKS " (lock_name, host, pid, started) VALUES "
              "('%s', '%s', %ld, '%s')",
              name, host, (long)getpid(), started);
    if (rc == 0)
        rc = db_exec(c, sb_str(&sql), err);
    rc = db_end(c, rc, err);
    sb_free(&sql);
    return rc;
}

/* Returns 0 after taking the database lock (wait seconds at most), or -1. */
static int take_db(runlock *l, db_conn *c, const char *map_hash, double wait, mig_err *err)
{
    char name[64];
    snprintf(name, sizeof name, "migrate-%.32s", map_hash);
    char hex[16];
    snprintf(hex, sizeof hex, "%.15s", map_hash);
    long long key = strtoll(hex, NULL, 16); /* 60 bits: positive */
    strbuf sql = STRBUF_INIT;
    double start = now_s(), end = start + wait;
    int rc = 0;
    for (;;) {
        long long got = 0;
        double left = end - now_s();
        sb_reset(&sql);
        c->d->try_lock_sql(&sql, name, key, left > 0 ? (long)(left * 1000) : 0);
        rc = query_int(c, sb_str(&sql), &got, err);
        db_rollback(c); /* both locks belong to the session, not the transaction */
        if (rc != 0) {
            err_prefix(err, "cannot take the run lock");
            break;
        }
        if (got == 1) {
            l->conn = c;
            mig_err ignored; /* no locks table (--no-ledger): holder unknown */
            write_holder(c, name, &ignored);
            break;
        }
        /* a server that waited (SQL Server) has used the time up */
        if (now_s() + 0.25 >= end) {
            char who[400];
            if (read_holder(c, name, who, sizeof who, err) != 0)
                snprintf(who, sizeof who, "holder unknown");
            rc = err_set(err, MIG_ELOCKED,
                         "another run holds the lock for this mapping and target: %s", who);
            break;
        }
        nap();
    }
    sb_free(&sql);
    return rc;
}

int runlock_take(runlock *l, db_conn *c, const char *map_hash, double wait, mig_err *err)
{
    l->fd = -1;
    l->conn = NULL;
    if (c->d->try_lock_sql)
        return take_db(l, c, map_hash, wait, err);
    return take_file(l, c, map_hash, wait, err);
}

void runlock_release(runlock *l)
{
    if (l->fd >= 0) {
        flock(l->fd, LOCK_UN);
        close(l->fd);
    }
    l->fd = -1;
    l->conn = NULL;
}
