/* reject.c — the reject file (format in reject.h).
 *
 * The root element is built from the mapping alone: the record path's
 * ancestors with the mapping's prefixes, declaring every namespace of the
 * mapping, so the file loads again with the same mapping.  Each record is
 * written as the reader serialised it (it declares the namespaces it uses
 * itself), after a comment with the reason.  Comments cannot contain "--",
 * so the reason is escaped.  Writers from several threads are serialised by
 * `lock`; each entry is written whole and flushed.
 *
 * The file is written under a temporary name beside the final one
 * ("NAME.PID.N.tmp", same directory, so same file system) and renamed over
 * NAME by reject_close, after an fsync: NAME is never half-written, and an
 * old NAME (perhaps the very input being loaded again) stays whole until
 * the new one replaces it.  A run without rejects removes its temporary file
 * and leaves an old NAME as it was.  A run killed before reject_close leaves
 * the temporary file, never a partial NAME. */
#include "config.h"
#include "reject.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include "strbuf.h"

struct reject_writer {
    pthread_mutex_t lock;  /* guards fp, count, started, failed */
    char *path;            /* the final name */
    char *tmp;             /* the file written, renamed to path by reject_close */
    FILE *fp;              /* tmp, open from reject_open to reject_close */
    int started;           /* the header is written */
    int failed;            /* a write failed: tmp is not renamed */
    uint64_t count;
    char *open_tags;       /* root element(s) start tags */
    char *close_tags;
};

/* Returns the prefix the mapping binds to uri, or NULL. */
static const char *prefix_of(const mapping *m, const char *uri)
{
    for (size_t i = 0; i < m->ns.n; i++)
        if (strcmp(m->ns.v[i].uri, uri) == 0)
            return m->ns.v[i].prefix;
    return NULL;
}

/* Appends the qualified name of (uri, local) as the mapping spells it. */
static void put_qname(strbuf *sb, const mapping *m, const char *uri, const char *local)
{
    const char *p = uri ? prefix_of(m, uri) : NULL;
    if (p && *p)
        sb_printf(sb, "%s:", p);
    sb_puts(sb, local);
}

/* Appends s with the five XML special characters escaped (attribute value). */
static void put_escaped(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_puts(sb, "&lt;"); break;
        case '>': sb_puts(sb, "&gt;"); break;
        case '&': sb_puts(sb, "&amp;"); break;
        case '"': sb_puts(sb, "&quot;"); break;
        default: sb_putc(sb, *s);
        }
    }
}

/* Builds the root start and end tags for the mapping's record path. */
static void build_root(reject_writer *rw, const mapping *m)
{
    strbuf open = STRBUF_INIT, close = STRBUF_INIT;
    const record_path *rp = m->record;
    size_t nanc = rp->anywhere ? 0 : rp->nsteps - 1;
    if (nanc == 0) {
        sb_puts(&open, "<migrate-rejects");
        sb_puts(&close, "</migrate-rejects>\n");
    }
    for (size_t i = 0; i < nanc; i++) {
        sb_putc(&open, '<');
        put_qname(&open, m, rp->ns_uri[i], rp->local[i]);
        if (i + 1 < nanc)
            sb_putc(&open, '>');
    }
    for (size_t i = 0; i < m->ns.n; i++) {
        const ns_binding *b = &m->ns.v[i];
        sb_printf(&open, b->prefix[0] ? " xmlns:%s=\"" : "%s xmlns=\"", b->prefix);
        put_escaped(&open, b->uri);
        sb_putc(&open, '"');
    }
    sb_puts(&open, ">\n");
    for (size_t i = nanc; i-- > 0;) {
        sb_puts(&close, "</");
        put_qname(&close, m, rp->ns_uri[i], rp->local[i]);
        sb_puts(&close, i ? ">" : ">\n");
    }
    rw->open_tags = sb_detach(&open);
    rw->close_tags = sb_detach(&close);
}

/* Returns 1 if input name ("-" = standard input) is the file st describes. */
static int same_file(const char *name, const struct stat *st)
{
    struct stat in;
    int rc = strcmp(name, "-") == 0 ? fstat(0, &in) : stat(name, &in);
    return rc == 0 && in.st_dev == st->st_dev && in.st_ino == st->st_ino;
}

int reject_check(const char *fname, const char *const *inputs, size_t ninputs, mig_err *err)
{
    struct stat st;
    if (stat(fname, &st) != 0)
        return 0; /* nothing there yet: it cannot be an input */
    if (!S_ISREG(st.st_mode))
        return err_set(err, MIG_ECANTCREAT, "reject file %s is not a regular file", fname);
    for (size_t i = 0; i < ninputs; i++)
        if (same_file(inputs[i], &st))
            return err_set(err, MIG_EUSAGE,
                           "reject file %s is also the input %s: name another with --rejects",
                           fname, inputs[i]);
    return 0;
}

/* Creates the temporary file beside fname; returns its descriptor (name in
 * rw->tmp) or -1 with errno. */
static int create_temp(reject_writer *rw, const char *fname)
{
    strbuf sb = STRBUF_INIT;
    for (unsigned n = 0; n < 100; n++) {
        sb_reset(&sb);
        sb_printf(&sb, "%s.%ld.%u.tmp", fname, (long)getpid(), n);
        int fd = open(sb_str(&sb), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            rw->tmp = sb_detach(&sb);
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    sb_free(&sb);
    errno = e;
    return -1;
}

reject_writer *reject_open(const char *fname, const mapping *m, mig_err *err)
{
    reject_writer *rw = xcalloc(1, sizeof *rw);
    int fd = create_temp(rw, fname);
    if (fd < 0 || !(rw->fp = fdopen(fd, "w"))) {
        err_set(err, MIG_ECANTCREAT, "cannot create reject file %s: %s", fname, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(rw->tmp);
        }
        free(rw->tmp);
        free(rw);
        return NULL;
    }
    pthread_mutex_init(&rw->lock, NULL);
    rw->path = xstrdup(fname);
    build_root(rw, m);
    return rw;
}

/* Appends text to sb with "--" broken up so it is legal inside a comment. */
static void put_comment_text(strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (*s == '\n' || *s == '\r') {
            sb_putc(sb, ' ');
            continue;
        }
        sb_putc(sb, *s);
        if (*s == '-' && (s[1] == '-' || s[1] == '\0'))
            sb_putc(sb, ' ');
    }
}

int reject_write(reject_writer *rw, const char *file, uint64_t line, uint64_t seq,
                 const char *reason, const char *xml, size_t xml_len, mig_err *err)
{
    strbuf e = STRBUF_INIT;
    /* a record too large to copy gets the comment only, worded so that it is
     * not counted as a record the file holds */
    sb_puts(&e, xml_len ? "<!-- migrate reject: " : "<!-- migrate reject, not copied: ");
    put_comment_text(&e, file);
    sb_printf(&e, ":%" PRIu64 " record %" PRIu64 ": ", line, seq);
    put_comment_text(&e, reason);
    sb_puts(&e, " -->\n");

    int rc = 0;
    pthread_mutex_lock(&rw->lock);
    if (!rw->started) {
        rw->started = 1;
        if (fprintf(rw->fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<!-- Records migrate did not load, each after the reason. Fix them and "
                            "load this file again with the same mapping. -->\n%s",
                    rw->open_tags) < 0)
            rc = -1;
    }
    /* the record's XML written where it is (a large one is not copied) */
    if (rc == 0 && (fwrite(e.buf, 1, e.len, rw->fp) != e.len ||
                    (xml_len && (fwrite(xml, 1, xml_len, rw->fp) != xml_len ||
                                 fputc('\n', rw->fp) == EOF)) ||
                    fflush(rw->fp) != 0))
        rc = -1;
    if (rc == 0)
        rw->count++;
    else
        rw->failed = 1;
    if (rc != 0)
        err_set(err, MIG_ECANTCREAT, "cannot write reject file %s: %s", rw->tmp, strerror(errno));
    pthread_mutex_unlock(&rw->lock);
    sb_free(&e);
    return rc;
}

int reject_close(reject_writer *rw, mig_err *err)
{
    if (!rw)
        return 0;
    int rc = 0;
    if (rw->started && !rw->failed) {
        /* finish, make it durable, then put it in place in one step */
        if (fputs(rw->close_tags, rw->fp) < 0 || fflush(rw->fp) != 0 ||
            fsync(fileno(rw->fp)) != 0)
            rc = err_set(err, MIG_ECANTCREAT, "cannot write reject file %s: %s", rw->tmp,
                         strerror(errno));
    }
    if (fclose(rw->fp) != 0 && rc == 0 && rw->started)
        rc = err_set(err, MIG_ECANTCREAT, "cannot write reject file %s: %s", rw->tmp,
                     strerror(errno));
    if (rw->started && !rw->failed && rc == 0) {
        if (rename(rw->tmp, rw->path) != 0)
            rc = err_set(err, MIG_ECANTCREAT, "cannot rename %s to %s: %s", rw->tmp, rw->path,
                         strerror(errno));
    } else if (!rw->started) {
        unlink(rw->tmp); /* no reject: the old file, if any, stays as it was */
    }
    /* a failed write leaves tmp for the user to look at; path is untouched */
    pthread_mutex_destroy(&rw->lock);
    free(rw->path);
    free(rw->tmp);
    free(rw->open_tags);
    free(rw->close_tags);
    free(rw);
    return rc;
}

uint64_t reject_count(reject_writer *rw)
{
    pthread_mutex_lock(&rw->lock);
    uint64_t n = rw->count;
    pthread_mutex_unlock(&rw->lock);
    return n;
}

const char *reject_path(const reject_writer *rw)
{
    return rw->path;
}
