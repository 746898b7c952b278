/* rule.c — PCRE2 rules of a column: `pattern` checks and
 * `replace-match`/`replace-with` substitutions.
 *
 * A rule owns its compiled pattern (UTF mode, JIT-compiled when the library
 * can) and a copy of its source; after rule_compile() it is read-only and may
 * be shared by every thread.  The per-thread part is a rule_scratch, which
 * owns the pcre2_match_data that matching writes into; it grows to the
 * largest capture count it has seen and is never shared.  Results go to the
 * caller: a yes/no for rule_match, the substituted text in the caller's
 * strbuf for rule_replace.
 *
 * A replace-match that is one character class of ASCII characters and
 * ranges ("[^0-9]", "[ ()+]"; a '-' only as a range) replaced by a literal
 * text is done here without PCRE2, byte by byte: the result is the
 * one pcre2_substitute gives (UTF mode: a non-ASCII character is one
 * character, never in such a class), and a value that is not proper UTF-8
 * goes to PCRE2 as before. */
#include "config.h"
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rule.h"
#include "err.h"

#include <assert.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PCRE2_MATCH_INVALID_UTF
#define PCRE2_MATCH_INVALID_UTF 0
#endif

struct rule {
    pcre2_code *code;
    char *source;
    uint32_t pairs;    /* ovector pairs a match needs: captures + 1 */
    int is_class;      /* the pattern is one ASCII class: in_class says what it matches */
    unsigned char in_class[256]; /* per byte < 0x80: 1 if the class matches it; per
                                    lead byte >= 0x80: 1 if it matches non-ASCII */
};

struct rule_scratch {
    pcre2_match_data *md;
    uint32_t pairs;    /* ovector pairs md holds */
};

/* ---- compiling ---- */

/* Returns 1 for a byte a class may hold as itself here: printable ASCII
 * but the class syntax ('\\' '[' ']' '^' '-'). */
static int class_char(char c)
{
    return c >= 0x20 && c < 0x7F && !strchr("\\[]^-", c);
}

/* Sets r->is_class and fills r->in_class when the pattern is "[...]" or
 * "[^...]" of class_char bytes and ranges of them (e.g. "[^0-9]"). */
static void parse_class(rule *r, const char *p)
{
    int neg = 0;
    unsigned char set[128] = {0};
    if (*p++ != '[')
        return;
    if (*p == '^') {
        neg = 1;
        p++;
    }
    if (*p == ']')
        return; /* "[]...]": ']' as a member, not handled here */
    while (*p != ']') {
        if (!class_char(*p))
            return;
        unsigned char lo = (unsigned char)*p++, hi = lo;
        if (*p == '-') {
            if (!class_char(p[1]) || (unsigned char)p[1] < lo)
                return;
            hi = (unsigned char)p[1];
            p += 2;
        }
        for (unsigned c = lo; c <= hi; c++)
            set[c] = 1;
    }
    if (p[1] != '\0')
        return;
    for (int c = 0; c < 256; c++)
        r->in_class[c] = (unsigned char)((c < 0x80 ? set[c] : 0) ^ neg);
    r->is_class = 1;
}

rule *rule_compile(const char *pattern, char *err, size_t errlen)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(ec, msg, sizeof msg) < 0)
            snprintf((char *)msg, sizeof msg, "error %d", ec);
        if (err && errlen)
            snprintf(err, errlen, "bad regex \"%s\": %s at offset %zu", pattern,
                     (const char *)msg, (size_t)off);
        return NULL;
    }
    (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); /* interpreter if it fails */
    uint32_t captures = 0;
    pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
    rule *r = xcalloc(1, sizeof *r);
    r->code = code;
    r->source = xstrdup(pattern);
    r->pairs = captures + 1;
    parse_class(r, pattern);
    return r;
}

void rule_free(rule *r)
{
    if (!r)
        return;
    pcre2_code_free(r->code);
    free(r->source);
    free(r);
}

const char *rule_source(const rule *r)
{
    return r->source;
}

/* ---- scratch ---- */

rule_scratch *rule_scratch_new(void)
{
    rule_scratch *sc = xcalloc(1, sizeof *sc);
    sc->pairs = 32;
    sc->md = pcre2_match_data_create(sc->pairs, NULL);
    if (!sc->md)
        abort(); /* out of memory, as xmalloc would */
    return sc;
}

void rule_scratch_free(rule_scratch *sc)
{
    if (!sc)
        return;
    pcre2_match_data_free(sc->md);
    free(sc);
}

/* Returns the match data of sc, grown to hold every capture of r. */
static pcre2_match_data *scratch_for(rule_scratch *sc, const rule *r)
{
    assert(sc && sc->md);
    if (sc->pairs < r->pairs) {
        pcre2_match_data_free(sc->md);
        sc->pairs = r->pairs;
        sc->md = pcre2_match_data_create(sc->pairs, NULL);
        if (!sc->md)
            abort();
    }
    return sc->md;
}

/* Writes "<what> \"<source>\": <PCRE2 message for rc>" into err; returns -1. */
static int pcre_fail(const rule *r, int rc, const char *what, char *err, size_t errlen)
{
    PCRE2_UCHAR msg[256];
    if (pcre2_get_error_message(rc, msg, sizeof msg) < 0)
        snprintf((char *)msg, sizeof msg, "error %d", rc);
    if (err && errlen)
        snprintf(err, errlen, "%s \"%s\": %s", what, r->source, (const char *)msg);
    return -1;
}

/* ---- matching ---- */

int rule_match(const rule *r, rule_scratch *sc, const char *s, size_t len,
               char *err, size_t errlen)
{
    pcre2_match_data *md = scratch_for(sc, r);
    int rc = pcre2_match(r->code, (PCRE2_SPTR)(s ? s : ""), len, 0, 0, md, NULL);
    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return pcre_fail(r, rc, "matching regex", err, errlen);
}

/* Returns the length of the UTF-8 character at s[0..n) (a lead byte
 * >= 0xC2), or 0 if it is not a proper one. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t l = s[0] < 0xC2 ? 0 : s[0] < 0xE0 ? 2 : s[0] < 0xF0 ? 3 : s[0] < 0xF5 ? 4 : 0;
    if (l == 0 || l > n)
        return 0;
    for (size_t i = 1; i < l; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
        return 0; /* overlong, a surrogate, or above U+10FFFF */
    return l;
}

/* rule_replace for a class rule and a literal `with`: returns 0 with the
 * result in out, or -1 when s is not proper UTF-8 (out undefined). */
static int replace_class(const rule *r, const unsigned char *s, size_t len, const char *with,
                         strbuf *out)
{
    size_t wlen = strlen(with), i = 0;
    sb_reset(out);
    sb_grow(out, len);
    while (i < len) {
        size_t from = i;
        while (i < len && s[i] < 0x80 && !r->in_class[s[i]])
            i++;
        sb_append(out, s + from, i - from);
        if (i == len)
            break;
        size_t l = 1;
        if (s[i] >= 0x80 && (l = utf8_char(s + i, len - i)) == 0)
            return -1;
        if (r->in_class[s[i]])
            sb_append(out, with, wlen);
        else
            sb_append(out, s + i, l);
        i += l;
    }
    return 0;
}

int rule_replace(const rule *r, rule_scratch *sc, const char *s, size_t len,
                 const char *with, strbuf *out, char *err, size_t errlen)
{
    /* '$' and '\\' are special in an extended replacement */
    if (r->is_class && !strpbrk(with, "$\\") &&
        replace_class(r, (const unsigned char *)(s ? s : ""), len, with, out) == 0)
        return 0;
    const uint32_t opts = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_EXTENDED |
                          PCRE2_SUBSTITUTE_OVERFLOW_LENGTH | PCRE2_SUBSTITUTE_UNSET_EMPTY;
    pcre2_match_data *md = scratch_for(sc, r);
    sb_reset(out);
    sb_grow(out, len + 16);
    for (int attempt = 0; attempt < 2; attempt++) {
        PCRE2_SIZE outlen = out->cap;
        int rc = pcre2_substitute(r->code, (PCRE2_SPTR)(s ? s : ""), len, 0, opts, md,
                                  NULL, (PCRE2_SPTR)with, PCRE2_ZERO_TERMINATED,
                                  (PCRE2_UCHAR *)out->buf, &outlen);
        if (rc >= 0) {
            assert(outlen < out->cap);
            out->len = outlen;
            out->buf[outlen] = '\0';
            return 0;
        }
        if (rc != PCRE2_ERROR_NOMEMORY) {
            sb_reset(out);
            char what[160];
            snprintf(what, sizeof what, "replacing with \"%.100s\" by regex", with);
            return pcre_fail(r, rc, what, err, errlen);
        }
        sb_grow(out, outlen); /* outlen: the length needed */
    }
    sb_reset(out);
    if (err && errlen)
        snprintf(err, errlen, "replacing by regex \"%s\": result does not fit", r->source);
    return -1;
}
