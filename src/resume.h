/* resume.h — where each record ends in the input, so that a later run can
 * start reading right after the records an earlier run committed, without
 * parsing them again.
 *
 * A resume point ("mark") is what a run needs to start reading after record
 * seq: the byte offset in the (decompressed) stream just after that record's
 * end tag, the line and column there, and the prolog to put in front of the
 * bytes from that offset (the XML declaration as it was, and the start tags
 * of the record's open ancestors as they were, with their namespace
 * declarations).  The worker writes the mark of a batch's last record with
 * the batch (ledger.c); a rerun starts from the best mark (engine.c,
 * input_open_at, reader_open_at).
 *
 * The tracker finds the marks: an input tap (input.h) that scans the same
 * bytes libxml2 parses, as they are read, with a small tokenizer (tags,
 * comments, CDATA, processing instructions; namespace declarations of the
 * elements outside records) and the mapping's record path.  It is ahead of
 * the reader; for each record the reader hands out, resume_tracker_record
 * takes the tracker's next record end and checks that both saw the same
 * record (qualified name and line).  Anything it does not handle, or any
 * disagreement, stops the tracker for that input: no more marks, and a rerun
 * falls back to parsing from the start (or from the last good mark).  It
 * stops at a DOCTYPE, an encoding other than UTF-8, a namespace declaration
 * with references or white space in it, ancestors deeper than 256 or whose
 * start tags take more than RESUME_PROLOG_MAX bytes.
 *
 * Threads: a tracker belongs to the producer thread (the input's reads and
 * the reader run there). */
#ifndef MIGRATE_RESUME_H
#define MIGRATE_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "path.h"

/* Largest prolog (XML declaration and ancestors' start tags) kept in a mark. */
#define RESUME_PROLOG_MAX (64 * 1024)

/* A point to resume reading at: after record seq (0: none). */
typedef struct resume_mark {
    uint64_t seq;        /* the last record before the point */
    uint64_t offset;     /* stream bytes before the point */
    uint64_t line, col;  /* of the first byte after it (1-based, col in chars) */
    const char *prolog;  /* XML declaration + ancestors' start tags */
    size_t prolog_len;
    uint64_t gen;        /* changes when the prolog does (tracker's marks only) */
} resume_mark;

typedef struct resume_tracker resume_tracker;

/* A tracker for an input read from its start (base 0, first_seq 0), or one
 * opened at a mark (base = mark offset - the prolog bytes handed out first,
 * first_seq = the mark's seq). */
resume_tracker *resume_tracker_new(const record_path *rp, uint64_t base, uint64_t first_seq);
void resume_tracker_free(resume_tracker *t);

/* With on 0, t reads the inside of records byte by byte with its tokenizer
 * instead of the quick skip: the reference the tests hold the skip to. */
void resume_tracker_set_quick(resume_tracker *t, int on);

/* The input tap: scan n more bytes of the stream (t is a resume_tracker). */
void resume_tracker_feed(void *t, const char *buf, size_t n);

/* Returns 1 with *mk, the point after the record the reader just handed
 * out (seq, qualified name prefix:local with prefix NULL for none, line of
 * its start tag), when the tracker saw the same record end; 0 otherwise
 * (the tracker then stops).  mk->prolog stays valid until the next call. */
int resume_tracker_record(resume_tracker *t, uint64_t seq, const char *prefix,
                          const char *local, uint64_t line, resume_mark *mk);

/* No more marks from t (the reader saw an error, say). */
void resume_tracker_stop(resume_tracker *t);

/* What to hand out before the stream's bytes from mk->offset: head, then
 * newlines '\n' bytes, then tail (head and tail point into buf, which the
 * caller frees with sb_free), so that the parser sees the same open
 * elements, line and column there as it did the first time.  Returns 0, or
 * -1 when mk cannot be used (its figures do not add up). */
struct strbuf;
int resume_prolog(const resume_mark *mk, struct strbuf *buf, size_t *head_len,
                  uint64_t *newlines);

#endif
