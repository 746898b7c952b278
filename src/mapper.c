/* mapper.c — one record in, rows of every table out (see mapper.h).
 *
 * For each table the mapper picks the row nodes (the record itself, or every
 * element `each` selects under it), and for each column finds the raw text
 * (path, constant or variable), trims it, applies replace-match, falls back
 * to the default, checks required and pattern, and converts it to the
 * column type.  Converted values go straight into the batch.  The first
 * problem stops the record with one line naming table, column and value.
 *
 * Value rules: a path that matches nothing, or (for non-text types) matches
 * an empty value, gives NULL — or the default, or a rejection when the column
 * is required (key columns always are).  Text types keep an empty string as
 * an empty string, except that required text columns reject it.
 *
 * Owns: scratch buffers and the PCRE2 match data, reused for every record;
 * one mapper per thread (the producer). */
#include "config.h"
#include "mapper.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rule.h"
#include "settle.h"

#define MAPPER_KEEP ((size_t)1 << 20) /* scratch buffers larger are given back */

struct mapper {
    const mapping *m;
    char now_text[32];     /* var="now": run start, local time */
    rule_scratch *sc;
    strbuf raw;            /* the text a path found (when not borrowed) */
    const char *rs;        /* the raw text: in raw, or borrowed from the record */
    size_t rn;
    strbuf repl;           /* after replace-match */
    strbuf conv;           /* converted text */
    strbuf key;            /* routing key bytes */
    /* The first table's key columns converted by mapper_route for the row
     * node rnode (NULL: none), kept for that row in mapper_map so that a
     * key is converted once: per column of table 0, whether it is kept and
     * its value (text in rconv). */
    xmlNode *rnode;
    unsigned char *rhave;
    conv_value *rcv;
    strbuf rconv;
    xmlNode **nodes;       /* rows selected by `each` */
    size_t nnodes, cap_nodes;
    int frac_digits;       /* time/datetime fraction the target keeps; 0: all */
    char err[512];
};

mapper *mapper_new(const mapping *m, double run_start)
{
    mapper *mp = xcalloc(1, sizeof *mp);
    mp->m = m;
    time_t t = (time_t)run_start;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(mp->now_text, sizeof mp->now_text, "%Y-%m-%d %H:%M:%S", &tm);
    mp->sc = rule_scratch_new();
    if (m->ntables > 0) {
        mp->rhave = xcalloc(m->tables[0].ncols ? m->tables[0].ncols : 1, 1);
        mp->rcv = xcalloc(m->tables[0].ncols ? m->tables[0].ncols : 1, sizeof *mp->rcv);
    }
    return mp;
}

void mapper_free(mapper *mp)
{
    if (!mp)
        return;
    rule_scratch_free(mp->sc);
    sb_free(&mp->raw);
    sb_free(&mp->repl);
    sb_free(&mp->conv);
    sb_free(&mp->key);
    sb_free(&mp->rconv);
    free(mp->rhave);
    free(mp->rcv);
    free(mp->nodes);
    free(mp);
}

void mapper_limit_fraction(mapper *mp, int digits)
{
    mp->frac_digits = digits;
}

/* ---- one column ---- */

/* Returns 1 for the text kinds, whose empty string is a value. */
static int is_text_kind(col_kind k)
{
    return k == CK_VARCHAR || k == CK_NVARCHAR || k == CK_CHAR || k == CK_NVARCHAR_MAX;
}

/* Writes at most ~60 bytes of s as a quoted, UTF-8-safe excerpt into dst. */
static void excerpt(char *dst, size_t cap, const char *s, size_t len)
{
    size_t n = len;
    if (n > 60) {
        n = 60;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    snprintf(dst, cap, "\"%.*s%s\"", (int)n, s, n < len ? "..." : "");
}

/* Returns 1 with the raw text of column c's source (path, constant or
 * variable) in (mp->rs, mp->rn), or 0 when its path matches nothing.  A
 * path's value that is one text node's is borrowed from the record, not
 * copied (a large value costs one copy less). */
static int column_raw(mapper *mp, const map_column *c, xmlNode *node, const record_ctx *ctx)
{
    int found = 0;
    switch (c->src) {
    case SRC_PATH:
        return path_value_ref(c->path, node, &mp->raw, &mp->rs, &mp->rn);
    case SRC_VALUE:
        sb_reset(&mp->raw);
        sb_puts(&mp->raw, c->value);
        found = 1;
        break;
    case SRC_VAR:
        sb_reset(&mp->raw);
        switch (c->var) {
        case VAR_FILE: sb_puts(&mp->raw, ctx->file); break;
        case VAR_LINE: sb_printf(&mp->raw, "%" PRIu64, ctx->line); break;
        case VAR_RECORD: sb_printf(&mp->raw, "%" PRIu64, ctx->seq); break;
        case VAR_NOW: sb_puts(&mp->raw, mp->now_text); break;
        }
        found = 1;
        break;
    }
    mp->rs = sb_str(&mp->raw);
    mp->rn = mp->raw.len;
    return found;
}

/* Returns 0 with column c's final text, from the raw text in mp->rs (found:
 * its source matched), in (*s, *len); 1 for NULL; or -1 with the reason in
 * mp->err.  Trims, replaces, applies the default, required and pattern. */
static int column_finish(mapper *mp, const map_column *c, int found, const char **s,
                         size_t *len)
{
    const char *p = mp->rs;
    size_t n = mp->rn;
    if (found) {
        text_trim(&p, &n);
        if (c->replace) {
            if (rule_replace(c->replace, mp->sc, p, n, c->replace_with ? c->replace_with : "",
                             &mp->repl, mp->err, sizeof mp->err) != 0)
                return -1;
            p = sb_str(&mp->repl);
            n = mp->repl.len;
            text_trim(&p, &n);
        }
        if (n == 0 && (!is_text_kind(c->type.kind) || c->required))
            found = 0;
    }
    if (!found) {
        if (c->deflt) {
            p = c->deflt;
            n = strlen(p);
        } else if (c->required) {
            snprintf(mp->err, sizeof mp->err, "required value missing%s%s",
                     c->src == SRC_PATH ? " at path " : "", c->src == SRC_PATH ? c->path->src : "");
            return -1;
        } else {
            return 1;
        }
    }
    if (c->pattern) {
        int ok = rule_match(c->pattern, mp->sc, p, n, mp->err, sizeof mp->err);
        if (ok < 0)
            return -1;
        if (!ok) {
            char ex[96];
            excerpt(ex, sizeof ex, p, n);
            snprintf(mp->err, sizeof mp->err, "value %s does not match pattern %s", ex,
                     rule_source(c->pattern));
            return -1;
        }
    }
    *s = p;
    *len = n;
    return 0;
}

/* Returns 0 with the converted value of column c in *out (a text at *text +
 * out->text_off: in mp->conv, or for a string kind the text itself), 1 for
 * NULL, or -1 with the reason in mp->err. */
static int column_value(mapper *mp, const map_column *c, xmlNode *node, const record_ctx *ctx,
                        conv_value *out, const char **text)
{
    const char *s;
    size_t n;
    int rc = column_finish(mp, c, column_raw(mp, c, node, ctx), &s, &n);
    if (rc != 0)
        return rc;
    int str = type_check_text(&c->type, s, n, mp->err, sizeof mp->err);
    if (str < 0)
        return -1;
    if (str) {
        /* the converted text is the text: not copied */
        memset(out, 0, sizeof *out);
        out->vclass = VC_TEXT;
        out->text_len = n;
        *text = s;
        return 0;
    }
    sb_reset(&mp->conv);
    if (type_convert(&c->type, s, n, out, &mp->conv, mp->err, sizeof mp->err) != 0)
        return -1;
    *text = mp->conv.buf;
    if (mp->frac_digits > 0 && (c->type.kind == CK_TIME || c->type.kind == CK_DATETIME) &&
        type_fraction_digits(mp->conv.buf + out->text_off, out->text_len) > mp->frac_digits) {
        /* exact or refused: the target would round it (23:59:59.9999999
         * would become 24:00:00), and a loader must not change a value */
        char ex[96];
        excerpt(ex, sizeof ex, s, n);
        snprintf(mp->err, sizeof mp->err,
                 "value %s has more fractional second digits than the target keeps (%d): "
                 "it would be stored rounded",
                 ex, mp->frac_digits);
        return -1;
    }
    return 0;
}

/* ---- rows ---- */

/* Returns 0 after adding one row of table t for node, or -1 with reason set.
 * kept: the key values mapper_route converted for this row (table 0 only),
 * or NULL. */
static int map_row(mapper *mp, size_t t, xmlNode *node, const record_ctx *ctx, batch *b,
                   const unsigned char *kept, char *reason, size_t reasonlen)
{
    const map_table *tab = &mp->m->tables[t];
    value *v = batch_add_row(b, t);
    for (size_t i = 0; i < tab->ncols; i++) {
        const map_column *c = &tab->cols[i];
        conv_value cv;
        const char *text = mp->conv.buf;
        int rc = 0;
        if (kept && kept[i]) {
            cv = mp->rcv[i];
            text = mp->rconv.buf;
        } else {
            rc = column_value(mp, c, node, ctx, &cv, &text);
        }
        if (rc < 0) {
            snprintf(reason, reasonlen, "table %s, column %s: %s", tab->name, c->name, mp->err);
            return -1;
        }
        if (rc == 1)
            continue; /* stays NULL */
        switch (cv.vclass) {
        case VC_INT:
            v[i].len = 0;
            v[i].n.i = cv.i;
            break;
        case VC_FLOAT:
            v[i].len = 0;
            v[i].n.f = cv.f;
            break;
        case VC_TEXT:
            v[i].off = batch_put_text(b, text + cv.text_off, cv.text_len);
            v[i].len = (int32_t)cv.text_len;
            break;
        }
    }
    return 0;
}

/* Gives back a scratch buffer a large value grew: kept, it would stay
 * resident beside the copies the worker makes of that value. */
static void shrink(strbuf *sb)
{
    if (sb->cap > MAPPER_KEEP)
        sb_free(sb);
}

static int map_record(mapper *mp, xmlNode *rec, const record_ctx *ctx, batch *b, char *reason,
                      size_t reasonlen);

int mapper_map(mapper *mp, xmlNode *rec, const record_ctx *ctx, batch *b, char *reason,
               size_t reasonlen)
{
    int rc = map_record(mp, rec, ctx, b, reason, reasonlen);
    shrink(&mp->raw);
    shrink(&mp->repl);
    shrink(&mp->conv);
    shrink(&mp->rconv);
    return rc;
}

/* mapper_map, its scratch buffers kept. */
static int map_record(mapper *mp, xmlNode *rec, const record_ctx *ctx, batch *b, char *reason,
                      size_t reasonlen)
{
    /* the keys mapper_route kept are for this record only */
    xmlNode *rnode = mp->rnode;
    mp->rnode = NULL;
    for (size_t t = 0; t < mp->m->ntables; t++) {
        const map_table *tab = &mp->m->tables[t];
        if (!tab->each) {
            const unsigned char *kept = t == 0 && rnode == rec ? mp->rhave : NULL;
            if (map_row(mp, t, rec, ctx, b, kept, reason, reasonlen) != 0)
                return -1;
            continue;
        }
        mp->nnodes = 0;
        path_select(tab->each, rec, &mp->nodes, &mp->nnodes, &mp->cap_nodes);
        for (size_t k = 0; k < mp->nnodes; k++) {
            xmlNode *node = mp->nodes[k];
            const unsigned char *kept = t == 0 && k == 0 && rnode == node ? mp->rhave : NULL;
            if (map_row(mp, t, node, ctx, b, kept, reason, reasonlen) != 0)
                return -1;
        }
    }
    return 0;
}

/* ---- routing ---- */

/* Appends the converted value cv (text at text + cv->text_off) as key bytes. */
static void route_part(mapper *mp, const conv_value *cv, const char *text)
{
    settle_key_value(&mp->key, cv->vclass, cv->i, cv->f,
                     cv->vclass == VC_TEXT ? text + cv->text_off : NULL,
                     cv->vclass == VC_TEXT ? cv->text_len : 0);
}

uint64_t mapper_route(mapper *mp, xmlNode *rec, const record_ctx *ctx)
{
    const mapping *m = mp->m;
    sb_reset(&mp->key);
    if (m->route) {
        /* the value the route path finds, converted by the rules of the key
         * column that holds it: the bytes that key has in every key set */
        int found = path_value(m->route, rec, &mp->raw);
        if (m->route_table < 0) {
            if (!found)
                return 0;
            const char *p = sb_str(&mp->raw);
            size_t n = mp->raw.len;
            text_trim(&p, &n);
            settle_key_value(&mp->key, VC_TEXT, 0, 0, p, n);
            return settle_route_hash(mp->key.buf, mp->key.len);
        }
        const map_column *c = &m->tables[m->route_table].cols[m->route_col];
        const char *s;
        size_t n;
        conv_value cv;
        mp->rs = sb_str(&mp->raw);
        mp->rn = mp->raw.len;
        if (column_finish(mp, c, found, &s, &n) != 0)
            return 0;
        sb_reset(&mp->conv);
        if (type_convert(&c->type, s, n, &cv, &mp->conv, mp->err, sizeof mp->err) != 0)
            return 0;
        route_part(mp, &cv, mp->conv.buf);
        return settle_route_hash(mp->key.buf, mp->key.len);
    }
    const map_table *tab = &m->tables[0];
    xmlNode *node = rec;
    if (tab->each) {
        mp->nnodes = 0;
        if (!path_select(tab->each, rec, &mp->nodes, &mp->nnodes, &mp->cap_nodes))
            return 0;
        node = mp->nodes[0];
    }
    /* kept for mapper_map: the row's key columns are not converted again */
    memset(mp->rhave, 0, tab->ncols);
    sb_reset(&mp->rconv);
    mp->rnode = node;
    for (size_t k = 0; k < tab->nkeys; k++) {
        conv_value cv;
        const char *text;
        size_t col = tab->key_cols[k];
        if (column_value(mp, &tab->cols[col], node, ctx, &cv, &text) != 0)
            return 0;
        route_part(mp, &cv, text);
        mp->rcv[col] = cv;
        if (cv.vclass == VC_TEXT) {
            mp->rcv[col].text_off = mp->rconv.len;
            sb_append(&mp->rconv, text + cv.text_off, cv.text_len);
        }
        mp->rhave[col] = 1;
    }
    return settle_route_hash(mp->key.buf, mp->key.len);
}
