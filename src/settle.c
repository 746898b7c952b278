/* settle.c — key bytes, routing and the key-set preload (see settle.h).
 *
 * Owns nothing between calls.  The routing hash is computed here for the
 * producer (mapper_route, from a record's converted values) and for the
 * preload (from the keys the database gives back, made canonical again by
 * type_convert), so both agree on which worker owns a key. */
#include "config.h"
#include "settle.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"

/* ---- key bytes ---- */

void settle_key_value(strbuf *out, val_class vc, int64_t i, double f, const char *s,
                      size_t len)
{
    unsigned char buf[8];
    if (vc == VC_TEXT) {
        uint32_t n = (uint32_t)len;
        for (int k = 0; k < 4; k++)
            buf[k] = (unsigned char)(n >> (8 * k));
        sb_append(out, buf, 4);
        sb_append(out, s, len);
        return;
    }
    uint64_t u;
    if (vc == VC_INT)
        u = (uint64_t)i;
    else
        memcpy(&u, &f, sizeof u);
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)(u >> (8 * k));
    sb_append(out, buf, 8);
}

void settle_key_bytes(strbuf *out, const batch *b, size_t t, size_t row)
{
    const map_table *mt = &b->map->tables[t];
    const value *v = batch_row(b, t, row);
    for (size_t k = 0; k < mt->nkeys; k++) {
        const value *kv = &v[mt->key_cols[k]];
        val_class vc = type_class(&mt->cols[mt->key_cols[k]].type);
        if (kv->len < 0) {
            sb_putc(out, '\0'); /* a NULL key never matches a stored one */
            continue;
        }
        settle_key_value(out, vc, kv->n.i, kv->n.f, vc == VC_TEXT ? batch_text(b, kv) : NULL,
                         vc == VC_TEXT ? (size_t)kv->len : 0);
    }
}

/* ---- routing ---- */

uint64_t settle_route_hash(const void *bytes, size_t len)
{
    return keyset_hash(bytes, len);
}

/* Returns the length of the key part of class vc at p (len bytes left), or
 * 0 when it is cut short. */
static size_t part_len(val_class vc, const unsigned char *p, size_t len)
{
    if (vc != VC_TEXT)
        return len >= 8 ? 8 : 0;
    if (len < 4)
        return 0;
    size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    return n <= len - 4 ? n + 4 : 0;
}

uint64_t settle_key_route(const map_table *mt, size_t nroute, const void *key, size_t len)
{
    assert(mt->route_keys && nroute <= mt->nkeys);
    const unsigned char *p = key;
    size_t off_s[16], plen_s[16], nk = mt->nkeys;
    size_t *off = nk <= 16 ? off_s : xcalloc(nk, sizeof *off);
    size_t *plen = nk <= 16 ? plen_s : xcalloc(nk, sizeof *plen);
    for (size_t k = 0, at = 0; k < nk; k++) {
        off[k] = at;
        plen[k] = part_len(type_class(&mt->cols[mt->key_cols[k]].type), p + at, len - at);
        at += plen[k];
    }
    strbuf rb = STRBUF_INIT;
    for (size_t i = 0; i < nroute; i++) {
        size_t k = mt->route_keys[i];
        if (k < nk)
            sb_append(&rb, p + off[k], plen[k]);
    }
    uint64_t h = settle_route_hash(rb.buf ? rb.buf : "", rb.len);
    sb_free(&rb);
    if (off != off_s) {
        free(off);
        free(plen);
    }
    return h;
}

/* ---- preload ---- */

/* Append the key bytes of the current row of h (the key columns, in key
 * order); returns 0, or -1 when a value cannot be read back: NULL, too long
 * for the buffer, or text that does not convert to its column type.  Text
 * comes back in the server's spelling and is made canonical again with
 * type_convert. */
static int fetched_key_bytes(SQLHSTMT h, const map_table *mt, strbuf *out, strbuf *tmp)
{
    assert(mt->nkeys > 0);
    for (size_t k = 0; k < mt->nkeys; k++) {
        const col_type *ty = &mt->cols[mt->key_cols[k]].type;
        val_class vc = type_class(ty);
        SQLLEN ind = 0;
        SQLUSMALLINT col = (SQLUSMALLINT)(k + 1);
        if (vc == VC_INT) {
            SQLBIGINT i = 0;
            if (!SQL_SUCCEEDED(SQLGetData(h, col, SQL_C_SBIGINT, &i, 0, &ind)) ||
                ind == SQL_NULL_DATA)
                return -1;
            settle_key_value(out, vc, i, 0, NULL, 0);
        } else if (vc == VC_FLOAT) {
            double f = 0;
            if (!SQL_SUCCEEDED(SQLGetData(h, col, SQL_C_DOUBLE, &f, 0, &ind)) ||
                ind == SQL_NULL_DATA)
                return -1;
            settle_key_value(out, vc, 0, f, NULL, 0);
        } else {
            char buf[512];
            if (!SQL_SUCCEEDED(SQLGetData(h, col, SQL_C_CHAR, buf, sizeof buf, &ind)) ||
                ind == SQL_NULL_DATA || ind < 0 || ind >= (SQLLEN)sizeof buf)
                return -1;
            conv_value cv;
            char why[128];
            sb_reset(tmp);
            const char *s = buf;
            size_t len = (size_t)ind;
            text_trim(&s, &len);
            if (type_convert(ty, s, len, &cv, tmp, why, sizeof why) < 0)
                return -1;
            settle_key_value(out, VC_TEXT, 0, 0, tmp->buf + cv.text_off, cv.text_len);
        }
    }
    return 0;
}

int settle_preload(db_conn *c, const map_table *mt, size_t nroute, keyset *ks, size_t lane,
                   size_t nlanes, size_t budget, settle_preload_result *res, mig_err *err)
{
    assert(mt->routed && nlanes > 0);
    memset(res, 0, sizeof *res);
    /* a float read back is not always the stored one (the SQLite ODBC
     * driver hands REALs over as 15-digit text): a rounded key in the set
     * could match another key, so float keys are left to the existence
     * check, which compares bound doubles on the server */
    for (size_t k = 0; k < mt->nkeys; k++)
        if (type_class(&mt->cols[mt->key_cols[k]].type) == VC_FLOAT)
            return 0;
    res->complete = 1;
    strbuf sql = STRBUF_INIT, key = STRBUF_INIT, tmp = STRBUF_INIT;
    c->d->exists_sql(&sql, mt, 0);
    SQLHSTMT h = db_prepare(c, NULL, err);
    int rc = h == SQL_NULL_HSTMT ? -1 : 0;
    SQLRETURN r = SQL_SUCCESS;
    int stopped = 0;
    if (rc == 0)
        r = db_run(c, h, sb_str(&sql), err);
    if (rc == 0 && !SQL_SUCCEEDED(r))
        rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
    while (rc == 0 && SQL_SUCCEEDED(r = SQLFetch(h))) {
        res->scanned++;
        sb_reset(&key);
        if (fetched_key_bytes(h, mt, &key, &tmp) < 0) {
            res->complete = 0; /* a key we cannot name: the set cannot vouch */
            continue;
        }
        if (settle_lane(settle_key_route(mt, nroute, key.buf, key.len), nlanes) != lane)
            continue; /* another worker's key */
        if (budget && keyset_memory_after(ks, key.len) > budget) {
            res->complete = 0; /* stopped by --key-memory */
            stopped = 1;
            break;
        }
        res->kept += keyset_insert(ks, key.buf, key.len);
    }
    if (rc == 0 && r != SQL_NO_DATA && !stopped)
        rc = db_diag(c, SQL_HANDLE_STMT, h, MIG_EDB, err, mt->name);
    db_stmt_free(h);
    sb_free(&sql);
    sb_free(&key);
    sb_free(&tmp);
    return rc;
}
