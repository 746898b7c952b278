/* runlock.h — one run at a time per mapping and target.
 *
 * The lock is the database's own where it has one, so that runs on two
 * hosts exclude each other: pg_try_advisory_lock on PostgreSQL,
 * sp_getapplock with a session owner on SQL Server (the dialect's
 * try_lock_sql).  Both belong to the session that took them, so a killed
 * holder's lock goes with its connection.  SQLite has none: there the lock
 * is flock() on a file beside the database, "<database>.migrate-<hash>.lock",
 * released by the kernel when the holder dies (the file stays; it is never
 * removed, which would race).  The lock is named by the mapping's content
 * hash: two different mappings may load one target at once.
 *
 * Who holds it (host, pid, start time) is written where the next run looks:
 * a row of migrate_ledger_locks, or the lock file itself. */
#ifndef MIGRATE_RUNLOCK_H
#define MIGRATE_RUNLOCK_H

#include "db.h"
#include "err.h"

typedef struct runlock {
    int fd;          /* SQLite: the lock file, or -1 */
    db_conn *conn;   /* database lock: the session holding it, or NULL */
} runlock;

/* Take the lock for the mapping with hash map_hash on the target c is
 * connected to, waiting up to wait seconds (0: not at all).  c must stay
 * connected while the lock is held (the ledger tables exist).  Returns 0,
 * or -1 with MIG_ELOCKED and "another run holds the lock for this mapping
 * and target: host H, pid P, started T", or another error. */
int runlock_take(runlock *l, db_conn *c, const char *map_hash, double wait, mig_err *err);

/* Release the lock (the file lock; a database lock goes with its
 * connection, closed by the caller). */
void runlock_release(runlock *l);

#endif
