/* reject.c — the reject file (format in reject.h).
 *
 * The root element is built from the mapping alone: the record path's
 * ancestors with the mapping's prefixes, declaring every namespace of the
 * mapping, so the file loads again with the same mapping.  Each record is
 * written as the reader serialised it (it declares the namespaces it uses
 * itself), after a comment with the reason.  Comments cannot contain "--",
 * so the reason is escaped.  Writers from several threads are serialised by
 * `lock`; each entry is written whole and flushed. */
#include "config.h"
#include "reject.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strbuf.h"

struct reject_writer {
    pthread_mutex_t lock;  /* guards fp, count */
    char *path;
    FILE *fp;              /* NULL until the first reject */
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

reject_writer *reject_open(const char *fname, const mapping *m, mig_err *err)
{
    if (unlink(fname) != 0 && errno != ENOENT) {
        err_set(err, MIG_ECANTCREAT, "cannot remove old reject file %s: %s", fname,
                strerror(errno));
        return NULL;
    }
    /* prove now, before any data is read, that the file can be created */
    FILE *probe = fopen(fname, "w");
    if (!probe) {
        err_set(err, MIG_ECANTCREAT, "cannot create reject file %s: %s", fname, strerror(errno));
        return NULL;
    }
    fclose(probe);
    unlink(fname);
    reject_writer *rw = xcalloc(1, sizeof *rw);
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
    sb_puts(&e, "<!-- migrate reject: ");
    put_comment_text(&e, file);
    sb_printf(&e, ":%" PRIu64 " record %" PRIu64 ": ", line, seq);
    put_comment_text(&e, reason);
    sb_puts(&e, " -->\n");
    sb_append(&e, xml, xml_len);
    sb_putc(&e, '\n');

    int rc = 0;
    pthread_mutex_lock(&rw->lock);
    if (!rw->fp) {
        rw->fp = fopen(rw->path, "w");
        if (!rw->fp ||
            fprintf(rw->fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            "<!-- Records migrate did not load, each after the reason. Fix them and "
                            "load this file again with the same mapping. -->\n%s",
                    rw->open_tags) < 0)
            rc = err_set(err, MIG_ECANTCREAT, "cannot create reject file %s: %s", rw->path,
                         strerror(errno));
    }
    if (rc == 0 && (fwrite(e.buf, 1, e.len, rw->fp) != e.len || fflush(rw->fp) != 0))
        rc = err_set(err, MIG_ECANTCREAT, "cannot write reject file %s: %s", rw->path,
                     strerror(errno));
    if (rc == 0)
        rw->count++;
    pthread_mutex_unlock(&rw->lock);
    sb_free(&e);
    return rc;
}

int reject_close(reject_writer *rw, mig_err *err)
{
    if (!rw)
        return 0;
    int rc = 0;
    if (rw->fp) {
        if (fputs(rw->close_tags, rw->fp) < 0 || fclose(rw->fp) != 0)
            rc = err_set(err, MIG_ECANTCREAT, "cannot write reject file %s: %s", rw->path,
                         strerror(errno));
    }
    pthread_mutex_destroy(&rw->lock);
    free(rw->path);
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
