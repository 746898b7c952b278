/* ledger.h — what the target database remembers of earlier runs, so that a
 * nightly run neither loads a file twice nor re-sends what a killed run
 * committed.
 *
 * Tables in the target, created on first use like the mapped tables
 * (the migrate_ledger_ prefix is ours: a mapping must not use it):
 *
 *   migrate_ledger_files    one row per (content hash, mapping hash): the
 *                           file's name, size, state ('loading' | 'loaded'),
 *                           its counts, first and last run time, when loaded
 *   migrate_ledger_batches  one row per committed batch and file in it: the
 *                           record ordinals (1-based, "seq") of that file
 *                           the batch loaded and those it settled as
 *                           duplicates, as ranges "1-40,43,45-50".  Written
 *                           by the worker INSIDE the batch's transaction, so
 *                           a batch and its ledger row commit together or
 *                           not at all.  Deleted when the file is 'loaded'.
 *   migrate_ledger_marks    per committed batch and file, where a later run
 *                           may start reading: after the batch's last record
 *                           of the file (resume.h: byte offset, line, column,
 *                           the prolog), written with the batch row.  A rerun
 *                           starts after the largest mark whose records and
 *                           all before them are committed, without parsing
 *                           them.  Deleted with the batch rows.
 *   migrate_ledger_rejects  one row per rejected record of the file: its
 *                           ordinal, line, reason and XML.  A record the
 *                           producer rejected travels with the batch that
 *                           holds the next record of its file
 *                           (batch_reject) and is written in that record's
 *                           transaction; one the database refused, in a
 *                           transaction of its own once it is isolated
 *                           (ledger_note_rejected).  So rejects count in
 *                           the prefix a rerun skips, and the rerun copies
 *                           them into its reject file (ledger_each_reject)
 *                           instead of reading them again.  Deleted with
 *                           the batch rows.
 *
 * A file is known by the SHA-256 of its bytes as stored (compressed for
 * gzip), the mapping by the SHA-256 of the mapping file.  stdin, and any
 * input that is not a regular file (a FIFO, /dev/stdin), cannot be hashed
 * before it is read: it is loaded without the ledger (never skipped, never
 * resumed).
 *
 * Threads: the producer opens a file (ledger_file_open, on the engine's
 * ledger connection) before it hands on any record of it; workers read the
 * file's hash from the ledger_file afterwards (the ring's mutex orders the
 * two) and write their batch rows on their own connections. */
#ifndef MIGRATE_LEDGER_H
#define MIGRATE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"
#include "db.h"
#include "err.h"
#include "resume.h"

#define LEDGER_FILES "migrate_ledger_files"
#define LEDGER_BATCHES "migrate_ledger_batches"
#define LEDGER_LOCKS "migrate_ledger_locks"
#define LEDGER_MARKS "migrate_ledger_marks"
#define LEDGER_REJECTS "migrate_ledger_rejects"

/* Sorted, disjoint, inclusive ranges of record ordinals. */
typedef struct ledger_ranges {
    uint64_t (*r)[2];
    size_t n, cap;
    size_t cur;  /* lookup cursor: ordinals are asked in increasing order */
} ledger_ranges;

/* What the ledger says of one input of the run. */
typedef struct ledger_file {
    int tracked;         /* hashed, ledger on: its batches are noted */
    char hash[65];       /* SHA-256 of its bytes, hex */
    uint64_t size;
    int skip;            /* loaded before with this mapping: not read again */
    char loaded_at[24];  /* skip: when, "2026-12-01T02:00:00Z" */
    ledger_ranges loaded; /* ordinals committed by earlier runs as loaded */
    ledger_ranges dups;   /* ... and as duplicates */
    ledger_ranges rejects; /* ... and rejected (migrate_ledger_rejects) */
    resume_mark start;    /* seq > 0: read from there (records 1..seq all
                             settled: start_loaded as loaded, start_dups as
                             duplicates, start_rejects rejected); prolog
                             owned */
    uint64_t start_loaded, start_dups, start_rejects;
} ledger_file;

/* Returns 1 when the input named name can be in the ledger: a regular
 * file (hashing reads it once before the load), not "-", a FIFO or a
 * device; 0 otherwise (also when it does not exist: the load says why). */
int ledger_can_track(const char *name);

/* Fill hex with the SHA-256 of file path's bytes and *size with their
 * count; returns 0, or -1 with MIG_ENOINPUT. */
int ledger_hash_file(const char *path, char hex[65], uint64_t *size, mig_err *err);

/* Create the ledger tables that do not exist yet (and commit); nothing
 * when all is 0 (--no-ledger).  Returns 0 or -1 with err. */
int ledger_create(db_conn *c, int all, mig_err *err);

/* Look file `name` (hash in lf) up: fills lf->skip / loaded_at, or (not
 * skipped) the ordinals earlier runs committed and the mark to start
 * reading at (lf->start), and marks the file 'loading'.  reload: forget what earlier runs did with it.  Commits.
 * Returns 0 or -1 with err. */
int ledger_file_open(db_conn *c, const char *map_hash, const char *name, int reload,
                     ledger_file *lf, mig_err *err);

/* Write the rows for records [lo,hi) of b (rec_dup[i]: record lo+i was a
 * duplicate) inside the open transaction, one per tracked file among
 * them, the marks of b (batch_mark) whose record is among them, and the
 * rejects b carries before them (batch_reject).  Returns 0 or -1 with err
 * (class in c->last_class). */
int ledger_note_batch(db_conn *c, const char *map_hash, const ledger_file *files,
                      const batch *b, size_t lo, size_t hi, const unsigned char *rec_dup,
                      mig_err *err);

/* Write the ledger rows of record rec of b, which the database refused
 * alone (reason: the reject file's), and of the rejects b carries before it
 * (they would otherwise go with its transaction), inside the open
 * transaction.  Returns 0 or -1 with err. */
int ledger_note_rejected(db_conn *c, const char *map_hash, const ledger_file *files,
                         const batch *b, size_t rec, const char *reason, mig_err *err);

/* Called with each reject an earlier run noted: input name, ordinal, line,
 * reason, the record's XML (xml_len 0: it was not copied); returns 0 or -1
 * with err. */
typedef int (*ledger_reject_fn)(void *arg, const char *name, uint64_t seq, uint64_t line,
                                const char *reason, const char *xml, size_t xml_len,
                                mig_err *err);

/* Hand fn the rejects of lf with ordinals lo..hi that earlier runs noted, in
 * order (name: the input's name in this run), and end the read
 * transaction.  Returns how many, or -1 with err. */
long long ledger_each_reject(db_conn *c, const char *map_hash, const ledger_file *lf,
                             const char *name, uint64_t lo, uint64_t hi, ledger_reject_fn fn,
                             void *arg, mig_err *err);

/* Counts of a file at the end of a run. */
typedef struct ledger_counts {
    uint64_t read, loaded, duplicates, rejected;
} ledger_counts;

/* Record the end of a run for the file: complete = every record settled
 * (state 'loaded', batch rows deleted), else it stays 'loading'.  Commits.
 * Returns 0 or -1 with err. */
int ledger_file_close(db_conn *c, const char *map_hash, const ledger_file *lf, int complete,
                      const ledger_counts *n, mig_err *err);

/* Free lf's ranges. */
void ledger_file_free(ledger_file *lf);

/* Returns the largest n such that every ordinal 1..n is in one of
 * sets[0..nsets) (at most 8, each normalized). */
uint64_t ledger_prefix(const ledger_ranges *const *sets, size_t nsets);
/* Returns how many ordinals of r are at most n. */
uint64_t ledger_count_upto(const ledger_ranges *r, uint64_t n);

/* Returns 1 when ordinal seq is in r (asked in increasing order). */
int ledger_ranges_has(ledger_ranges *r, uint64_t seq);
/* Parse "1-40,43" into r (appending); returns 0, or -1 when malformed. */
int ledger_ranges_parse(ledger_ranges *r, const char *s);
/* Sort and merge r's ranges. */
void ledger_ranges_normalize(ledger_ranges *r);

/* The current UTC time as "2026-12-01T02:00:00Z". */
void ledger_utc_now(char buf[24]);

#endif
