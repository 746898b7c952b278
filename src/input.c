/* input.c — byte sources for the reader: plain files, gzip streams and
 * standard input.
 *
 * input_open opens the file (or takes fd 0 for "-"), peeks at the first two
 * bytes and picks the implementation: gzip (magic 1f 8b) inflates with zlib,
 * handling concatenated members as gzip(1) does; anything else is read as
 * is.  The peeked bytes are handed on first, so standard input needs no
 * seeking.  An input owns its descriptor and buffers.  Opened stoppable,
 * an input waits for bytes in poll() slices of 100 ms and gives up when the
 * run's stop flag is set (a pipe that stays open must not hold a stop).
 *
 * Every input reads through one layer (layer_read) on top of its kind's
 * read: it hands out the prefix of an input opened at an offset
 * (input_open_at: a rerun starting after what an earlier run committed)
 * and shows every byte to the tap, if there is one. */
#include "config.h"
#include "input.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IN_BUF (256 * 1024)

typedef struct fd_source {
    int fd;
    int owned;                /* close fd at the end (not for stdin) */
    const atomic_int *stop;   /* or NULL: wait for bytes until they come */
    unsigned char peek[2];
    size_t npeek, peek_pos;
} fd_source;

/* The input as input.c allocates it: the public struct, the kind's own
 * read, and the prefix input_open_at hands out first. */
typedef struct layer {
    input in;                 /* first: an input * is a layer * */
    ssize_t (*src_read)(input *in, char *buf, size_t len, mig_err *err);
    char *pre;                /* head, then tail */
    size_t head_len, pre_len, pre_pos;
    uint64_t newlines;        /* '\n' still to hand out after the head */
} layer;

typedef struct gz_source {
    fd_source src;
    z_stream zs;
    unsigned char *buf;       /* compressed bytes read from fd */
    int eof;                  /* no more compressed bytes */
    int member_end;           /* inflate reached the end of a member */
} gz_source;

/* ---- descriptor reading (shared by both kinds) ---- */

/* Returns 0 once s->fd has bytes (or an end, or an error) to read; -1 with
 * err when the stop flag was set first. */
static int wait_readable(fd_source *s, const char *name, mig_err *err)
{
    if (!s->stop)
        return 0;
    for (;;) {
        if (atomic_load(s->stop))
            return err_set(err, MIG_ENOINPUT, "%s: reading stopped", name);
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        int n = poll(&p, 1, 100);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 0; /* read() tells what is there */
    }
}

/* Returns bytes read from the source (peeked bytes first), 0 at end, -1 on error. */
static ssize_t fd_read(fd_source *s, const char *name, void *buf, size_t len, mig_err *err)
{
    if (s->peek_pos < s->npeek) {
        size_t n = s->npeek - s->peek_pos;
        if (n > len)
            n = len;
        memcpy(buf, s->peek + s->peek_pos, n);
        s->peek_pos += n;
        return (ssize_t)n;
    }
    for (;;) {
        if (wait_readable(s, name, err) < 0)
            return -1;
        ssize_t n = read(s->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        err_set(err, MIG_ENOINPUT, "cannot read %s: %s", name, strerror(errno));
        return -1;
    }
}

/* Adds n bytes taken from the file to the input's counter, if it has one. */
static void count_bytes(input *in, ssize_t n)
{
    if (in->bytes && n > 0)
        atomic_fetch_add(in->bytes, (uint64_t)n);
}

/* ---- plain implementation ---- */

/* Returns bytes of the plain input. */
static ssize_t plain_read(input *in, char *buf, size_t len, mig_err *err)
{
    ssize_t n = fd_read(in->impl, in->name, buf, len, err);
    count_bytes(in, n);
    return n;
}

/* Releases a plain input's descriptor and state. */
static void plain_close(input *in)
{
    fd_source *s = in->impl;
    if (s->owned)
        close(s->fd);
    free(s);
}

/* ---- gzip implementation ---- */

/* Returns decompressed bytes, 0 at the end of the last member, -1 on error. */
static ssize_t gz_read(input *in, char *buf, size_t len, mig_err *err)
{
    gz_source *g = in->impl;
    g->zs.next_out = (Bytef *)buf;
    assert(len <= 0x7fffffff);
    g->zs.avail_out = (uInt)len;
    while (g->zs.avail_out == len) {
        if (g->zs.avail_in == 0 && !g->eof) {
            ssize_t n = fd_read(&g->src, in->name, g->buf, IN_BUF, err);
            if (n < 0)
                return -1;
            count_bytes(in, n);
            if (n == 0)
                g->eof = 1;
            g->zs.next_in = g->buf;
            g->zs.avail_in = (uInt)n;
        }
        if (g->member_end) {
            if (g->zs.avail_in == 0 && g->eof)
                return 0;
            if (g->zs.avail_in == 0)
                continue;
            /* another gzip member follows: start over */
            if (inflateReset(&g->zs) != Z_OK)
                return err_set(err, MIG_ENOINPUT, "%s: gzip: cannot reset stream", in->name);
            g->member_end = 0;
        }
        if (g->zs.avail_in == 0 && g->eof)
            return err_set(err, MIG_ENOINPUT, "%s: gzip: unexpected end of compressed data",
                           in->name);
        int rc = inflate(&g->zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            g->member_end = 1;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return err_set(err, MIG_ENOINPUT, "%s: gzip: %s", in->name,
                           g->zs.msg ? g->zs.msg : "corrupt data");
    }
    return (ssize_t)(len - g->zs.avail_out);
}

/* Releases a gzip input's stream, buffer and descriptor. */
static void gz_close(input *in)
{
    gz_source *g = in->impl;
    inflateEnd(&g->zs);
    if (g->src.owned)
        close(g->src.fd);
    free(g->buf);
    free(g);
}

/* ---- the layer: prefix and tap ---- */

/* Returns bytes of the prefix, then of the stream; shows them to the tap. */
static ssize_t layer_read(input *in, char *buf, size_t len, mig_err *err)
{
    layer *l = (layer *)in;
    ssize_t n;
    if (l->pre_pos < l->head_len || (l->newlines == 0 && l->pre_pos < l->pre_len)) {
        size_t end = l->pre_pos < l->head_len ? l->head_len : l->pre_len;
        n = (ssize_t)(end - l->pre_pos < len ? end - l->pre_pos : len);
        memcpy(buf, l->pre + l->pre_pos, (size_t)n);
        l->pre_pos += (size_t)n;
    } else if (l->newlines > 0) {
        n = (ssize_t)(l->newlines < len ? l->newlines : len);
        memset(buf, '\n', (size_t)n);
        l->newlines -= (uint64_t)n;
    } else {
        n = l->src_read(in, buf, len, err);
    }
    if (n > 0 && in->tap)
        in->tap(in->tap_arg, buf, (size_t)n);
    return n;
}

/* ---- opening ---- */

input *input_open(const char *name, mig_err *err)
{
    return input_open_stoppable(name, NULL, err);
}

input *input_open_stoppable(const char *name, const atomic_int *stop, mig_err *err)
{
    fd_source s = {0};
    s.stop = stop;
    if (strcmp(name, "-") == 0) {
        s.fd = 0;
    } else {
        s.fd = open(name, O_RDONLY | O_CLOEXEC);
        if (s.fd < 0) {
            err_set(err, MIG_ENOINPUT, "cannot open %s: %s", name, strerror(errno));
            return NULL;
        }
        s.owned = 1;
    }
    /* peek at the magic bytes */
    while (s.npeek < 2) {
        if (wait_readable(&s, name, err) < 0) {
            if (s.owned)
                close(s.fd);
            return NULL;
        }
        ssize_t n = read(s.fd, s.peek + s.npeek, 2 - s.npeek);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err_set(err, MIG_ENOINPUT, "cannot read %s: %s", name, strerror(errno));
            if (s.owned)
                close(s.fd);
            return NULL;
        }
        s.npeek += (size_t)n;
    }
    layer *l = xcalloc(1, sizeof *l);
    input *in = &l->in;
    in->name = name;
    if (s.npeek == 2 && s.peek[0] == 0x1f && s.peek[1] == 0x8b) {
        gz_source *g = xcalloc(1, sizeof *g);
        g->src = s;
        g->buf = xmalloc(IN_BUF);
        if (inflateInit2(&g->zs, 15 + 16) != Z_OK) {
            err_set(err, MIG_ENOINPUT, "%s: gzip: cannot initialise zlib", name);
            free(g->buf);
            free(g);
            if (s.owned)
                close(s.fd);
            free(l);
            return NULL;
        }
        in->kind = "gzip";
        in->read = gz_read;
        in->close = gz_close;
        in->impl = g;
    } else {
        fd_source *p = xmalloc(sizeof *p);
        *p = s;
        in->kind = "file";
        in->read = plain_read;
        in->close = plain_close;
        in->impl = p;
    }
    l->src_read = in->read;
    in->read = layer_read;
    return in;
}

input *input_open_at(const char *name, const input_start *at, const atomic_int *stop,
                     mig_err *err)
{
    input *in = input_open_stoppable(name, stop, err);
    if (!in)
        return NULL;
    layer *l = (layer *)in;
    _Atomic uint64_t skipped = 0;
    in->bytes = &skipped;
    if (strcmp(in->kind, "file") == 0) {
        fd_source *s = in->impl;
        s->peek_pos = s->npeek;
        if (lseek(s->fd, (off_t)at->offset, SEEK_SET) < 0) {
            err_set(err, MIG_ENOINPUT, "cannot seek in %s: %s", name, strerror(errno));
            goto fail;
        }
        count_bytes(in, (ssize_t)at->offset);
    } else {
        /* inflated and dropped: still far cheaper than parsing */
        char *buf = xmalloc(IN_BUF);
        uint64_t left = at->offset;
        while (left > 0) {
            ssize_t n = l->src_read(in, buf, left < IN_BUF ? (size_t)left : IN_BUF, err);
            if (n <= 0) {
                if (n == 0)
                    err_set(err, MIG_ENOINPUT, "%s: shorter than the ledger says", name);
                free(buf);
                goto fail;
            }
            left -= (uint64_t)n;
        }
        free(buf);
    }
    in->bytes = NULL;
    in->skipped = atomic_load(&skipped);
    l->pre_len = at->head_len + at->tail_len;
    l->pre = xmalloc(l->pre_len + 1);
    memcpy(l->pre, at->head, at->head_len);
    memcpy(l->pre + at->head_len, at->tail, at->tail_len);
    l->head_len = at->head_len;
    l->newlines = at->newlines;
    in->prefix_len = l->pre_len + at->newlines;
    return in;
fail:
    in->bytes = NULL;
    input_close(in);
    return NULL;
}

void input_close(input *in)
{
    if (!in)
        return;
    in->close(in);
    free(((layer *)in)->pre);
    free(in);
}
