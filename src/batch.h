/* batch.h — a batch: up to --batch-size records, mapped into rows of every
 * table, handed whole from the producer to one worker through the ring.
 *
 * Ownership: exactly one thread owns a batch at a time — the producer while
 * it fills it, then (after ring_push) the worker that popped it, which hands
 * it back to the pool when done.  A batch owns all its memory: values hold
 * offsets into the batch's arena, never pointers, so the arena can grow.
 *
 * Layout, per table t: rows are appended in record order, ncols values each
 * (tab[t].vals[row * ncols + col]); the rows of record r are
 * [tab[t].first[r], tab[t].first[r + 1]).  That makes "insert records
 * [lo, hi)" a contiguous row range in every table, which is what the worker
 * needs to split a failing batch and retry the halves. */
#ifndef MIGRATE_BATCH_H
#define MIGRATE_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "mapping.h"
#include "resume.h"

/* One converted value.  len < 0: NULL.  VC_TEXT: len bytes of UTF-8 at
 * arena + off, then a NUL (not counted).  VC_INT / VC_FLOAT: len == 0, number in
 * n.i / n.f. */
typedef struct value {
    int32_t len;
    uint32_t off;
    union {
        int64_t i;
        double f;
    } n;
} value;

typedef struct batch_rec {
    uint32_t file;     /* index of the input file in the run's stats */
    uint64_t line;     /* line where the record starts */
    uint64_t seq;      /* 1-based record number within its file */
    uint32_t xml_off;  /* the record's original XML, in the arena */
    uint32_t xml_len;
    uint64_t route;    /* hash of the routing key */
} batch_rec;

typedef struct batch_table {
    size_t ncols;
    size_t nrows, cap_rows;
    value *vals;       /* nrows * ncols */
    uint32_t *first;   /* nrec + 1 entries (cap_rec + 1 allocated) */
} batch_table;

/* Where a later run may start reading file `file` (resume.h): after its
 * last record in this batch.  The worker writes it to the ledger with the
 * batch. */
typedef struct batch_mark {
    uint32_t file;
    uint64_t seq, offset, line, col;
    uint64_t gen;                    /* the tracker's prolog generation copied */
    uint32_t prolog_off, prolog_len; /* in the arena */
} batch_mark;

/* A record the producer rejected (it never reaches a table), carried by the
 * batch that holds the next record of its file so that the worker writes
 * its ledger row in the transaction that commits that record (ledger.h):
 * a rerun then knows it was settled without reading it again. */
typedef struct batch_reject {
    uint32_t file;
    uint64_t seq, line;
    size_t before;                   /* the record of this batch it precedes */
    uint32_t reason_off, reason_len; /* in the arena */
    uint32_t xml_off, xml_len;       /* in the arena (0 bytes: not copied) */
} batch_reject;

typedef struct batch {
    const mapping *map;
    size_t lane;        /* worker lane it is routed to */
    size_t nrec, cap_rec;
    batch_rec *recs;
    size_t ntables;
    batch_table *tabs;
    char *arena;
    size_t arena_len, arena_cap;
    size_t largest;     /* the longest text put in the arena since the reset */
    int open;           /* a record is being built */
    batch_mark *marks;  /* per file with records here, at most one */
    size_t nmarks, cap_marks;
    batch_reject *rejects; /* in order of seq within each file */
    size_t nrejects, cap_rejects;
} batch;

batch *batch_new(const mapping *m, size_t cap_rec);
void batch_free(batch *b);
/* Empty the batch for reuse, keeping its memory (an arena that grew past
 * BATCH_ARENA_KEEP for a large record is given back: memory does not stay
 * at the high-water mark of every batch in the pool). */
void batch_reset(batch *b);
#define BATCH_ARENA_KEEP ((size_t)8 * 1024 * 1024)

/* A record of more XML is not copied into its batch (the engine passes
 * none): should the database refuse it, the reject file names it
 * (FILE:LINE) without its XML. */
#define BATCH_XML_KEEP ((size_t)4 * 1024 * 1024)

/* A batch holding a text this long is loaded alone: the producer reads no
 * record while one is in flight (engine.c), since the driver copies such a
 * value once or twice more. */
#define BATCH_LARGE_TEXT ((size_t)4 * 1024 * 1024)

/* Start a record.  The record's XML is copied into the arena (xml_len 0:
 * not kept, see BATCH_XML_KEEP). */
void batch_begin_record(batch *b, uint32_t file, uint64_t line, uint64_t seq,
                        const char *xml, size_t xml_len);
/* Add a row to table t of the open record; returns its ncols values, all
 * NULL, to be filled. The pointer is valid until the next batch_add_row. */
value *batch_add_row(batch *b, size_t t);
/* Copy text into the arena, NUL-terminated; returns its offset. */
uint32_t batch_put_text(batch *b, const char *s, size_t len);
/* Keep the open record (all its rows). */
void batch_commit_record(batch *b, uint64_t route);
/* Drop the open record and every row added for it. */
void batch_abort_record(batch *b);

/* Note mk as the resume point of file (its last record committed here). */
void batch_mark_record(batch *b, uint32_t file, const resume_mark *mk);
/* Returns the resume point of file in b, or NULL. */
const batch_mark *batch_file_mark(const batch *b, uint32_t file);

/* Carry reject (file, seq, line, reason, xml) with the batch, before its
 * last committed record (there must be one). */
void batch_add_reject(batch *b, uint32_t file, uint64_t seq, uint64_t line, const char *reason,
                      size_t reason_len, const char *xml, size_t xml_len);

/* Returns the text of a VC_TEXT value (v->len bytes, then a NUL). */
static inline const char *batch_text(const batch *b, const value *v)
{
    return b->arena + v->off;
}
/* Returns the values of row `row` of table t. */
static inline const value *batch_row(const batch *b, size_t t, size_t row)
{
    return b->tabs[t].vals + row * b->tabs[t].ncols;
}
/* Returns the first row of table t for record r (r may be nrec). */
static inline size_t batch_first_row(const batch *b, size_t t, size_t r)
{
    return b->tabs[t].first[r];
}

#endif
