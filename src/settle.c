/* settle.c — the fate of each record (see settle.h): key bytes, routing,
 * the key sets and their preload, the existence check, loading a record
 * range table by table under each table's policy, and the counts.
 *
 * A settler (one per worker) owns its key sets; the rest owns nothing
 * between calls.  The routing hash is computed here for the producer
 * (mapper_route, from a record's converted values) and for the preload
 * (from the keys the database gives back, made canonical again by
 * type_convert), so both agree on which worker owns a key.  Below it are
 * the dialects (what the database did with the rows); above it the worker
 * (transactions, splits, retries). */
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

/* ---- the fate of a record ----
 *
 * Duplicates under the skip policy are settled in three places, cheapest
 * first: the worker's key set (keys this worker committed or found), the
 * set-based existence check for the first table (so each record's fate is
 * known row by row; a dialect with load_rows_found folds that check into
 * its load, SQL Server's bulk copy into the move statement, and names the
 * rows it found), and the dialect's INSERT-or-ignore for the rest.
 *
 * A record's fate is what the database did with its rows of the first
 * table: the key set and the existence check only predict it.  When the
 * database ignored a row they called new (another process committed the key
 * meanwhile, or the server's comparison met a key the bytes did not), the
 * range is rolled back and loaded again: first with the existence check
 * asked afresh, then, if the database still disagrees, with the first
 * table's rows sent record by record, each record's count of inserted rows
 * its fate. */

dup_policy settle_policy(const mapping *m, dup_policy run_policy, size_t t)
{
    dup_policy p = m->tables[t].on_dup;
    if (p == DUP_DEFAULT)
        p = m->on_dup;
    if (p == DUP_DEFAULT)
        p = run_policy;
    if (p == DUP_DEFAULT)
        p = DUP_SKIP;
    return p;
}

/* Returns 1 if table t uses a key set (skip policy, a key that contains the
 * routing key: otherwise another worker may insert the same key). */
static int uses_keyset(const settler *s, size_t t)
{
    const map_table *mt = &s->map->tables[t];
    return settle_policy(s->map, s->on_dup, t) == DUP_SKIP && mt->nkeys > 0 && mt->routed;
}

/* Returns the fixed key width for table t's key set, or 0 (variable). */
static size_t key_width(const map_table *mt)
{
    if (mt->nkeys == 0 || mt->nkeys > 2)
        return 0;
    for (size_t k = 0; k < mt->nkeys; k++)
        if (type_class(&mt->cols[mt->key_cols[k]].type) != VC_INT)
            return 0;
    return 8 * mt->nkeys;
}

void settler_init(settler *s, const mapping *m, dup_policy on_dup, size_t key_budget,
                  db_conn *conn, dialect_table_state **tstate)
{
    memset(s, 0, sizeof *s);
    s->map = m;
    s->on_dup = on_dup;
    s->key_budget = key_budget;
    s->conn = conn;
    s->tstate = tstate;
    s->keys = xcalloc(m->ntables, sizeof *s->keys);
    s->complete = xcalloc(m->ntables, 1);
    for (size_t t = 0; t < m->ntables; t++)
        if (uses_keyset(s, t))
            s->keys[t] = keyset_new(key_width(&m->tables[t]));
}

void settler_free(settler *s)
{
    if (!s->map)
        return;
    for (size_t t = 0; s->keys && t < s->map->ntables; t++)
        keyset_free(s->keys[t]);
    free(s->keys);
    free(s->complete);
    sb_free(&s->key);
    memset(s, 0, sizeof *s);
}

void settle_result_init(settle_result *rr, size_t ntables, size_t nrec)
{
    rr->ntables = ntables;
    rr->nrec = nrec;
    rr->rows = xcalloc(ntables, sizeof *rr->rows);
    rr->dup_keyset = xcalloc(ntables, sizeof *rr->dup_keyset);
    rr->rec_dup = xcalloc(nrec ? nrec : 1, 1);
}

void settle_result_clear(settle_result *rr)
{
    memset(rr->rows, 0, rr->ntables * sizeof *rr->rows);
    memset(rr->dup_keyset, 0, rr->ntables * sizeof *rr->dup_keyset);
    memset(rr->rec_dup, 0, rr->nrec);
}

void settle_result_free(settle_result *rr)
{
    free(rr->rows);
    free(rr->dup_keyset);
    free(rr->rec_dup);
}

/* Build the key of row `row` of table t into s->key; returns 1 when it can
 * go in the table's key set (right width), else 0. */
static int row_key(settler *s, const batch *b, size_t t, size_t row)
{
    keyset *ks = s->keys[t];
    sb_reset(&s->key);
    settle_key_bytes(&s->key, b, t, row);
    size_t fw = key_width(&b->map->tables[t]);
    return ks && (fw == 0 || s->key.len == fw);
}

/* Returns 0 after loading rows [lo,hi) of table t except those marked in
 * skip (skip may be NULL), adding the counts to *res; -1 with err.  With
 * found (hi - lo bytes, 0 on entry) the dialect's load_rows_found settles
 * the rows against the table as it loads them: found[i - lo] is set for
 * each row whose key was stored already (not loaded, not in res).
 *
 * The rows to load go to the dialect in one call, whatever gaps the skipped
 * rows leave: through a view of the batch whose table t holds only those
 * rows.  The view borrows everything else (arena, records) from b and owns
 * only its table array and the compacted values, freed here. */
static int load_runs(settler *s, const batch *b, size_t t, size_t lo, size_t hi,
                     const unsigned char *skip, dup_policy p, unsigned char *found,
                     load_result *res, mig_err *err)
{
    db_conn *c = s->conn;
    const dialect *d = c->d;
    size_t nskip = 0;
    for (size_t i = 0; skip && i < hi - lo; i++)
        nskip += skip[i];
    load_result lr;
    int rc;
    if (nskip == 0) {
        rc = found ? d->load_rows_found(c, &s->tstate[t], b, t, lo, hi, found, &lr, err)
                   : d->load_rows(c, &s->tstate[t], b, t, lo, hi, p, &lr, err);
    } else if (nskip == hi - lo) {
        return 0;
    } else {
        size_t ncols = b->tabs[t].ncols, n = 0;
        batch view = *b;
        view.tabs = xcalloc(b->ntables, sizeof *view.tabs);
        memcpy(view.tabs, b->tabs, b->ntables * sizeof *view.tabs);
        value *vals = xmalloc((hi - lo - nskip) * ncols * sizeof *vals);
        for (size_t i = lo; i < hi; i++)
            if (!skip[i - lo])
                memcpy(vals + ncols * n++, batch_row(b, t, i), ncols * sizeof *vals);
        view.tabs[t].vals = vals;
        view.tabs[t].nrows = view.tabs[t].cap_rows = n;
        view.tabs[t].first = NULL; /* record ranges do not apply to the view */
        unsigned char *vfound = found ? xcalloc(n ? n : 1, 1) : NULL;
        rc = found ? d->load_rows_found(c, &s->tstate[t], &view, t, 0, n, vfound, &lr, err)
                   : d->load_rows(c, &s->tstate[t], &view, t, 0, n, p, &lr, err);
        for (size_t i = lo, k = 0; found && rc == 0 && i < hi; i++)
            if (!skip[i - lo])
                found[i - lo] = vfound[k++];
        free(vfound);
        free(vals);
        free(view.tabs);
    }
    if (rc < 0)
        return -1;
    res->inserted += lr.inserted;
    res->dup_db += lr.dup_db;
    res->updated += lr.updated;
    return 0;
}

/* Set found[i] to 1 when the key of row rows[i] of table t is in the
 * database: the dialect's own check, else the set-based one through
 * exists_sql; returns 0, or -1 with err. */
static int find_existing(settler *s, const batch *b, size_t t, const size_t *rows, size_t n,
                         unsigned char *found, mig_err *err)
{
    db_conn *c = s->conn;
    if (c->d->find_existing)
        return c->d->find_existing(c, &s->tstate[t], b, t, rows, n, found, err);
    return dialect_find_existing(c, &s->tstate[t], b, t, rows, n, found, err);
}

/* Store in *n how many rows of [lo,hi) of table t have a key already in the
 * database, or met earlier in the range (its copy is upserted after it);
 * returns 0, or -1 with err. */
static int count_existing(settler *s, const batch *b, size_t t, size_t lo, size_t hi,
                          uint64_t *n, mig_err *err)
{
    size_t cnt = hi - lo;
    size_t *rows = xcalloc(cnt, sizeof *rows);
    unsigned char *found = xcalloc(cnt, 1);
    for (size_t i = 0; i < cnt; i++)
        rows[i] = lo + i;
    int rc = find_existing(s, b, t, rows, cnt, found, err);
    /* a key met earlier in the range exists by the time its copy is upserted */
    keyset *seen = keyset_new(0);
    strbuf kb = STRBUF_INIT;
    *n = 0;
    for (size_t i = 0; i < cnt && rc == 0; i++) {
        sb_reset(&kb);
        settle_key_bytes(&kb, b, t, lo + i);
        int repeat = !keyset_insert(seen, kb.buf, kb.len);
        *n += found[i] || repeat;
    }
    sb_free(&kb);
    keyset_free(seen);
    free(rows);
    free(found);
    return rc;
}

/* Returns 0 after marking in skip[] the rows of table t in [lo,hi) that are
 * settled already: in the key set, repeated in this range (first table), or
 * found in the table by the existence check (first table; asked unless the
 * key set is complete and this is not a recheck, or in_load: the dialect's
 * load settles them, load_rows_found).  Counts them. */
static int mark_known(settler *s, const batch *b, size_t t, size_t lo, size_t hi,
                      unsigned char *skip, int recheck, int in_load, settle_result *rr,
                      mig_err *err)
{
    size_t n = hi - lo, nask = 0;
    keyset *seen = t == 0 ? keyset_new(0) : NULL;
    size_t *ask = xcalloc(n ? n : 1, sizeof *ask);
    for (size_t i = 0; i < n; i++) {
        int fits = row_key(s, b, t, lo + i);
        if ((fits && keyset_contains(s->keys[t], s->key.buf, s->key.len)) ||
            (seen && !keyset_insert(seen, s->key.buf, s->key.len))) {
            skip[i] = 1;
            rr->dup_keyset[t]++;
        } else {
            ask[nask++] = lo + i;
        }
    }
    keyset_free(seen);
    int rc = 0;
    /* a complete preloaded key set holds every key: what it lacks is new */
    if (t == 0 && nask > 0 && !in_load && (recheck || !(s->complete[t] && s->keys[t]))) {
        unsigned char *found = xcalloc(nask, 1);
        rc = find_existing(s, b, t, ask, nask, found, err);
        for (size_t i = 0; i < nask && rc == 0; i++)
            if (found[i]) {
                skip[ask[i] - lo] = 1;
                rr->rows[t].dup_db++;
            }
        free(found);
    }
    free(ask);
    return rc;
}

/* Returns 0 after loading the first table's rows [rlo,rhi) of records
 * [lo,hi) record by record (skip as marked), each record's fate from the
 * rows the database inserted or updated for it; -1 with err. */
static int load_by_record(settler *s, const batch *b, size_t lo, size_t hi,
                          const unsigned char *skip, dup_policy p, settle_result *rr, mig_err *err)
{
    size_t rlo = batch_first_row(b, 0, lo);
    for (size_t rec = lo; rec < hi; rec++) {
        size_t a = batch_first_row(b, 0, rec), z = batch_first_row(b, 0, rec + 1);
        load_result lr = {0, 0, 0};
        if (load_runs(s, b, 0, a, z, skip + (a - rlo), p, NULL, &lr, err) < 0)
            return -1;
        rr->rows[0].inserted += lr.inserted;
        rr->rows[0].dup_db += lr.dup_db;
        rr->rows[0].updated += lr.updated;
        rr->rec_dup[rec - lo] = (unsigned char)(a < z && lr.inserted + lr.updated == 0);
    }
    return 0;
}

/* Returns 1 when table t's rows (policy p) are settled one by one: with a
 * key set, and the first table under the skip policy even without one (that
 * decides each record's fate: key set, then the database). */
static int settles_rows(const settler *s, size_t t, dup_policy p)
{
    return uses_keyset(s, t) || (t == 0 && p == DUP_SKIP && s->map->tables[0].nkeys > 0);
}

int settle_warm_up(settler *s, mig_err *err)
{
    const dialect *d = s->conn->d;
    if (!d || !d->warm_up)
        return 0;
    for (size_t t = 0; t < s->map->ntables; t++) {
        dup_policy p = settle_policy(s->map, s->on_dup, t);
        /* as settle_range's first pass loads it */
        int found = t == 0 && settles_rows(s, t, p) && d->load_rows_found;
        if (d->warm_up(s->conn, &s->tstate[t], s->map, t, p, found, err) < 0)
            return -1;
    }
    return 0;
}

int settle_range(settler *s, const batch *b, size_t lo, size_t hi, int pass, settle_result *rr,
                 mig_err *err)
{
    assert(hi - lo <= rr->nrec && b->ntables <= rr->ntables);
    for (size_t t = 0; t < b->ntables; t++) {
        size_t rlo = batch_first_row(b, t, lo), rhi = batch_first_row(b, t, hi);
        dup_policy p = settle_policy(s->map, s->on_dup, t);
        unsigned char *skip = NULL;
        int rc = 0;
        int settle = settles_rows(s, t, p);
        /* the first pass lets a dialect that can settle the first table's
         * rows in its load do so (no existence check of its own); a recheck
         * asks the existence check as before */
        int in_load = settle && t == 0 && pass == 0 && s->conn->d->load_rows_found;
        if (settle && rhi > rlo) {
            skip = xcalloc(rhi - rlo, 1);
            rc = mark_known(s, b, t, rlo, rhi, skip, pass > 0, in_load, rr, err);
        }
        if (rc == 0 && t == 0 && skip && pass >= 2) {
            rc = load_by_record(s, b, lo, hi, skip, p, rr, err);
        } else if (rc == 0) {
            load_result lr = {0, 0, 0};
            /* an upsert that does not say which rows it updated: the rows
             * whose key exists before it are the updates */
            int upserts = p == DUP_UPDATE && !s->conn->d->counts_upserts && rhi > rlo;
            uint64_t existing = 0;
            if (upserts)
                rc = count_existing(s, b, t, rlo, rhi, &existing, err);
            unsigned char *found = in_load && skip ? xcalloc(rhi - rlo, 1) : NULL;
            if (rc == 0)
                rc = load_runs(s, b, t, rlo, rhi, skip, p, found, &lr, err);
            for (size_t i = 0; found && rc == 0 && i < rhi - rlo; i++)
                if (found[i]) { /* stored already: as if the check had found it */
                    skip[i] = 1;
                    rr->rows[t].dup_db++;
                }
            free(found);
            if (rc == 0 && upserts) {
                lr.updated = existing;
                lr.inserted = (rhi - rlo) - existing;
            }
            rr->rows[t].inserted += lr.inserted;
            rr->rows[t].dup_db += lr.dup_db;
            rr->rows[t].updated += lr.updated;
            if (rc == 0 && t == 0 && skip && lr.dup_db > 0) {
                free(skip); /* the database ignored a row settled as new */
                return 1;
            }
            /* every row settled as new was inserted: a record is a
             * duplicate when all its rows in the first table were settled
             * as existing */
            for (size_t rec = lo; rc == 0 && t == 0 && skip && rec < hi; rec++) {
                size_t a = batch_first_row(b, 0, rec), z = batch_first_row(b, 0, rec + 1);
                int dup = a < z;
                for (size_t i = a; i < z && dup; i++)
                    dup = skip[i - rlo];
                rr->rec_dup[rec - lo] = (unsigned char)dup;
            }
        }
        free(skip);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- counts ---- */

/* Empties every key set of the worker when together they outgrow its
 * budget; returns 1 when it did.  The sets only save lookups: without them
 * the set-based check settles duplicates, so starting over is always
 * correct — but a set that no longer holds every key cannot stand in for
 * that check (preloaded). */
static int keep_in_budget(settler *s)
{
    size_t budget = s->key_budget, used = 0;
    if (!budget)
        return 0;
    for (size_t t = 0; t < s->map->ntables; t++)
        if (s->keys[t])
            used += keyset_memory(s->keys[t]);
    if (used <= budget)
        return 0;
    for (size_t t = 0; t < s->map->ntables; t++)
        if (s->keys[t]) {
            keyset_free(s->keys[t]);
            s->keys[t] = keyset_new(key_width(&s->map->tables[t]));
            s->complete[t] = 0;
        }
    return 1;
}

int settle_committed(settler *s, stats *st, const batch *b, size_t lo, size_t hi,
                     const settle_result *rr)
{
    for (size_t t = 0; t < b->ntables; t++) {
        stats_add_rows(st, t, rr->rows[t].inserted, rr->dup_keyset[t],
                       rr->rows[t].dup_db, rr->rows[t].updated);
        if (!s->keys[t])
            continue;
        /* every key of a committed range is in the table now */
        for (size_t row = batch_first_row(b, t, lo); row < batch_first_row(b, t, hi); row++)
            if (row_key(s, b, t, row))
                keyset_insert(s->keys[t], s->key.buf, s->key.len);
    }
    int reset = keep_in_budget(s);
    size_t rec = lo;
    while (rec < hi) {
        uint32_t file = b->recs[rec].file;
        uint64_t loaded = 0, dups = 0;
        for (; rec < hi && b->recs[rec].file == file; rec++) {
            if (rr->rec_dup[rec - lo])
                dups++;
            else
                loaded++;
        }
        stats_add_outcome(st, file, loaded, dups, 0);
    }
    return reset;
}

void settle_rejected(stats *st, const batch *b, size_t rec)
{
    stats_add_outcome(st, b->recs[rec].file, 0, 0, 1);
}

int settle_preload_sets(settler *s, size_t lane, size_t nlanes, mig_err *err)
{
    size_t used = 0;
    for (size_t t = 0; t < s->map->ntables; t++) {
        if (!s->keys[t])
            continue;
        size_t left = 0;
        if (s->key_budget)
            left = used < s->key_budget ? s->key_budget - used : 1;
        settle_preload_result res;
        if (settle_preload(s->conn, &s->map->tables[t], s->map->nroute, s->keys[t], lane,
                           nlanes ? nlanes : 1, left, &res, err) < 0)
            return -1;
        s->complete[t] = (unsigned char)res.complete;
        used += keyset_memory(s->keys[t]);
    }
    return 0;
}
