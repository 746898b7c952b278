/* input.h — byte sources the reader parses: a plain file, a gzip stream
 * (detected by its magic bytes, concatenated members allowed), or standard
 * input ("-", plain or gzip).  Like Redis's rio, an input is a struct of
 * function pointers; the reader never asks which kind it has. */
#ifndef MIGRATE_INPUT_H
#define MIGRATE_INPUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

typedef struct input {
    const char *name;   /* as given ("-" for stdin); not owned */
    const char *kind;   /* "file", "gzip" */
    /* Read up to len bytes; returns bytes read, 0 at end, -1 on error (err set). */
    ssize_t (*read)(struct input *in, char *buf, size_t len, mig_err *err);
    void (*close)(struct input *in);
    void *impl;
    /* If set, every byte taken from the file (as stored: compressed for
     * gzip) is added here, for the progress display; NULL by default. */
    _Atomic uint64_t *bytes;
    /* If set, sees every byte read, in order (resume.h's tracker). */
    void (*tap)(void *arg, const char *buf, size_t n);
    void *tap_arg;
    /* input_open_at: bytes handed out before the stream's own, and the
     * file's bytes (as stored) passed over to reach its offset; else 0. */
    uint64_t prefix_len;
    uint64_t skipped;
} input;

/* Where input_open_at starts: the stream (decompressed) from offset, after
 * head, newlines '\n' bytes and tail (copied). */
typedef struct input_start {
    uint64_t offset;
    const char *head;
    size_t head_len;
    uint64_t newlines;
    const char *tail;
    size_t tail_len;
} input_start;

/* Open name ("-" = standard input).  Returns NULL with MIG_ENOINPUT and
 * "cannot open in.xml: No such file or directory". */
input *input_open(const char *name, mig_err *err);
/* input_open whose waits for bytes (a pipe, a terminal) end as soon as
 * *stop is set: the open or read then fails with "reading stopped". */
input *input_open_stoppable(const char *name, const atomic_int *stop, mig_err *err);
/* input_open_stoppable of a regular file (plain or gzip), handing out
 * at->head, at->newlines '\n' and at->tail first, then the stream from
 * at->offset on (a plain file is seeked, a gzip stream inflated up to
 * there).  Returns NULL with MIG_ENOINPUT (also when the stream is shorter). */
input *input_open_at(const char *name, const input_start *at, const atomic_int *stop,
                     mig_err *err);
/* Close and free. */
void input_close(input *in);

#endif
