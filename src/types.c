/* types.c — column types and the conversion of XML text into checked,
 * canonical values.
 *
 * type_parse() reads the type spelling of a mapping; type_convert() turns
 * one trimmed text value into an integer, a double, or canonical UTF-8 text
 * appended to a caller-owned strbuf, or refuses it with a one-line reason
 * that quotes the value.  This is the hot path of the mapper (every value of
 * every record): nothing here allocates or touches the locale per value.
 * The only shared state is the "C" locale used by strtod_l, created once
 * under pthread_once and read-only afterwards. */
#include "config.h"
#include "types.h"
#include "err.h"

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define QUOTE_MAX 60    /* bytes of a value quoted in a reason */
#define FRAC_MAX 7      /* fraction digits of time/datetime */

/* ---- type names ---- */

static const struct {
    const char *name;
    col_kind kind;
} type_names[] = {
    {"tinyint", CK_TINYINT},   {"smallint", CK_SMALLINT},
    {"int", CK_INT},           {"bigint", CK_BIGINT},
    {"bit", CK_BIT},           {"decimal", CK_DECIMAL},
    {"float", CK_FLOAT},       {"varchar", CK_VARCHAR},
    {"nvarchar", CK_NVARCHAR}, {"char", CK_CHAR},
    {"date", CK_DATE},         {"time", CK_TIME},
    {"datetime", CK_DATETIME}, {"uniqueidentifier", CK_UUID},
};

/* Returns the base name of a kind ("nvarchar" for both nvarchar kinds). */
static const char *kind_name(col_kind k)
{
    if (k == CK_NVARCHAR_MAX)
        return "nvarchar";
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (type_names[i].kind == k)
            return type_names[i].name;
    return "?";
}

/* ---- type_parse / type_format ---- */

/* Returns p advanced past ASCII blanks. */
static const char *skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Returns 1 and the number at *p (advancing *p) if it has 1..9 digits, else 0. */
static int parse_small_num(const char **p, int *out)
{
    const char *q = skip_blanks(*p);
    int n = 0, digits = 0;
    while (*q >= '0' && *q <= '9') {
        if (++digits > 9)
            return 0;
        n = n * 10 + (*q++ - '0');
    }
    if (!digits)
        return 0;
    *out = n;
    *p = skip_blanks(q);
    return 1;
}

/* Returns the arguments of "(...)" at p in a[0..*na), or -1 if malformed;
 * *is_max is set for "(max)". p must point at '(' or the end of the text. */
static int parse_args(const char *p, int a[2], int *na, bool *is_max)
{
    *na = 0;
    *is_max = false;
    p = skip_blanks(p);
    if (!*p)
        return 0;
    if (*p++ != '(')
        return -1;
    const char *q = skip_blanks(p);
    if (strncasecmp(q, "max", 3) == 0) {
        q = skip_blanks(q + 3);
        if (*q != ')' || *skip_blanks(q + 1))
            return -1;
        *is_max = true;
        return 0;
    }
    for (;;) {
        if (*na == 2 || !parse_small_num(&p, &a[*na]))
            return -1;
        (*na)++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != ')' || *skip_blanks(p + 1))
            return -1;
        return 0;
    }
}

int type_parse(const char *s, col_type *out, char *err, size_t errlen)
{
    const char *p = skip_blanks(s), *name = p;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    size_t nl = (size_t)(p - name);
    size_t i, n = sizeof type_names / sizeof type_names[0];
    for (i = 0; i < n; i++)
        if (strlen(type_names[i].name) == nl && strncasecmp(name, type_names[i].name, nl) == 0)
            break;
    const char *rest = skip_blanks(p);
    if (i == n || (*rest && *rest != '(')) {
        snprintf(err, errlen, "unknown type \"%s\"", s);
        return -1;
    }
    int a[2] = {0, 0}, na;
    bool is_max;
    if (parse_args(rest, a, &na, &is_max) < 0) {
        snprintf(err, errlen, "bad arguments in type \"%s\"", s);
        return -1;
    }
    col_type t = {type_names[i].kind, 0, 0, 0};
    switch (t.kind) {
    case CK_DECIMAL:
        if (is_max)
            goto bad_ps;
        t.precision = na ? a[0] : 18;
        t.scale = na == 2 ? a[1] : 0;
        if (t.precision < 1 || t.precision > 38 || t.scale > t.precision)
            goto bad_ps;
        break;
    case CK_VARCHAR:
    case CK_NVARCHAR:
    case CK_CHAR:
        if (is_max && t.kind == CK_NVARCHAR) {
            t.kind = CK_NVARCHAR_MAX;
            break;
        }
        if (is_max && t.kind == CK_VARCHAR) {
            snprintf(err, errlen, "type \"%s\" is not supported: use nvarchar(max)", s);
            return -1;
        }
        if (!is_max && na == 0) {
            snprintf(err, errlen, "missing length in \"%s\"", s);
            return -1;
        }
        t.length = a[0];
        if (is_max || na != 1 || t.length < 1 ||
            t.length > (t.kind == CK_NVARCHAR ? 4000 : 8000)) {
            snprintf(err, errlen, "bad length in \"%s\"", s);
            return -1;
        }
        break;
    default:
        if (na || is_max) {
            snprintf(err, errlen, "type %s takes no arguments in \"%s\"", kind_name(t.kind), s);
            return -1;
        }
        if (t.kind == CK_TIME || t.kind == CK_DATETIME)
            t.scale = FRAC_MAX;
        break;
    }
    *out = t;
    return 0;

bad_ps:
    snprintf(err, errlen, "bad precision or scale in \"%s\" (need 1<=p<=38, 0<=s<=p)", s);
    return -1;
}

void type_format(const col_type *t, char *buf, size_t len)
{
    switch (t->kind) {
    case CK_DECIMAL:
        snprintf(buf, len, "decimal(%d,%d)", t->precision, t->scale);
        break;
    case CK_VARCHAR:
    case CK_NVARCHAR:
    case CK_CHAR:
        snprintf(buf, len, "%s(%d)", kind_name(t->kind), t->length);
        break;
    case CK_NVARCHAR_MAX:
        snprintf(buf, len, "nvarchar(max)");
        break;
    default:
        snprintf(buf, len, "%s", kind_name(t->kind));
        break;
    }
}

val_class type_class(const col_type *t)
{
    switch (t->kind) {
    case CK_TINYINT:
    case CK_SMALLINT:
    case CK_INT:
    case CK_BIGINT:
    case CK_BIT:
        return VC_INT;
    case CK_FLOAT:
        return VC_FLOAT;
    default:
        return VC_TEXT;
    }
}

size_t type_max_bytes(const col_type *t)
{
    switch (t->kind) {
    case CK_DECIMAL: /* sign, digits, point, and a leading "0" when p == s */
        if (t->scale == 0)
            return (size_t)t->precision + 1;
        return (size_t)t->precision + (t->scale == t->precision ? 3 : 2);
    case CK_VARCHAR:
    case CK_NVARCHAR:
    case CK_CHAR:
        return 4 * (size_t)t->length;
    case CK_NVARCHAR_MAX:
        return 0;
    case CK_DATE:
        return 10;
    case CK_TIME:
        return 16;
    case CK_DATETIME:
        return 27;
    case CK_UUID:
        return 36;
    default:
        return 32;
    }
}

/* ---- UTF-8 ---- */

/* Returns the length of the valid UTF-8 sequence at s[0..n) (n >= 1), or 0
 * if it is not valid (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
            (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* Returns the number of code points (astral ones counted `astral` times) of
 * valid UTF-8 s[0..len), or -1. */
static long utf8_count(const char *s, size_t len, long astral)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    long n = 0;
    while (p < end) {
        /* ASCII eight bytes at a time: most values are ASCII */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (w & UINT64_C(0x8080808080808080))
                break;
            p += 8;
            n += 8;
        }
        if (p == end)
            break;
        if (*p < 0x80) {
            p++;
            n++;
            continue;
        }
        size_t k = utf8_seq_len(p, (size_t)(end - p));
        if (!k)
            return -1;
        p += k;
        n += k == 4 ? astral : 1;
    }
    return n;
}

size_t type_int_text(int64_t v, char out[TYPE_INT_TEXT])
{
    char rev[20];
    size_t n = 0, len = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = rev[--n];
    out[len] = '\0';
    return len;
}

long utf8_chars(const char *s, size_t len)
{
    return utf8_count(s, len, 1);
}

long utf8_utf16_units(const char *s, size_t len)
{
    return utf8_count(s, len, 2);
}

/* ---- trimming ---- */

/* Returns the byte length of the white-space character starting at s[0..n), or 0. */
static size_t lead_ws_len(const unsigned char *s, size_t n)
{
    if (s[0] == ' ' || s[0] == '\t' || s[0] == '\r' || s[0] == '\n')
        return 1;
    if (n >= 2 && s[0] == 0xC2 && s[1] == 0xA0)
        return 2;
    if (n < 3)
        return 0;
    if (s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80)                 /* U+1680 */
        return 3;
    if (s[0] == 0xE2 && s[1] == 0x80 &&                               /* U+2000.. */
        ((s[2] >= 0x80 && s[2] <= 0x8A) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF))
        return 3;
    if (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F)                 /* U+205F */
        return 3;
    if (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)                 /* U+3000 */
        return 3;
    if (s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)                 /* U+FEFF */
        return 3;
    return 0;
}

/* Returns the byte length of the white-space character ending s[0..n), or 0. */
static size_t trail_ws_len(const unsigned char *s, size_t n)
{
    unsigned c = s[n - 1];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        return 1;
    if (c < 0x80)
        return 0;
    if (n >= 2 && lead_ws_len(s + n - 2, 2) == 2)
        return 2;
    if (n >= 3 && lead_ws_len(s + n - 3, 3) == 3)
        return 3;
    return 0;
}

/* Returns 1 if byte c cannot begin or end a white-space character: an ASCII
 * byte other than space, tab, CR and LF. */
static inline int not_ws_edge(unsigned char c)
{
    return c > ' ' && c < 0x80;
}

void text_trim(const char **s, size_t *len)
{
    const unsigned char *p = (const unsigned char *)*s;
    size_t n = *len, k;
    if (n && not_ws_edge(p[0]) && not_ws_edge(p[n - 1]))
        return; /* the common case: nothing to trim */
    while (n && (k = lead_ws_len(p, n)) != 0) {
        p += k;
        n -= k;
    }
    while (n && (k = trail_ws_len(p, n)) != 0)
        n -= k;
    *s = (const char *)p;
    *len = n;
}

/* ---- reasons ---- */

/* Writes at most QUOTE_MAX bytes of s[0..len) into q (room for QUOTE_MAX+4),
 * cut at a character boundary, control bytes and invalid UTF-8 as '?', and
 * "..." when cut. */
static void quote_value(const char *s, size_t len, char *q)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t o = 0;
    while (p < end) {
        size_t k = utf8_seq_len(p, (size_t)(end - p));
        if (o + (k ? k : 1) > QUOTE_MAX) {
            memcpy(q + o, "...", 3);
            o += 3;
            break;
        }
        if (!k || *p < 0x20 || *p == 0x7F) {
            q[o++] = '?';
            p++;
        } else {
            memcpy(q + o, p, k);
            o += k;
            p += k;
        }
    }
    q[o] = '\0';
}

/* Writes "value \"<s>\" <fmt...>" into err; returns -1. */
static int fail(char *err, size_t errlen, const char *s, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *s, size_t len, const char *fmt, ...)
{
    if (!err || !errlen)
        return -1;
    char q[QUOTE_MAX + 4];
    quote_value(s, len, q);
    int n = snprintf(err, errlen, "value \"%s\" ", q);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Returns -1 with "value ... is not a valid <type>" in err. */
static int fail_invalid(const col_type *t, const char *s, size_t len, char *err, size_t errlen)
{
    char tn[32];
    type_format(t, tn, sizeof tn);
    return fail(err, errlen, s, len, "is not a valid %s", tn);
}

/* Returns -1 with "value ... is out of range for <type>" in err. */
static int fail_range(const col_type *t, const char *s, size_t len, char *err, size_t errlen)
{
    char tn[32];
    type_format(t, tn, sizeof tn);
    return fail(err, errlen, s, len, "is out of range for %s", tn);
}

/* ---- numbers ---- */

/* Returns 1 if c is an ASCII digit. */
static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Returns 0 and the integer in *v, -1 if not an integer, -2 if beyond int64. */
static int parse_int64(const char *s, size_t len, int64_t *v)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == len)
        return -1;
    uint64_t u = 0;
    bool over = false;
    for (; i < len; i++) {
        if (!is_digit(s[i]))
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (u > (UINT64_MAX - d) / 10)
            over = true;
        else
            u = u * 10 + d;
    }
    if (over || u > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
        return -2;
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return 0;
}

/* Converts an integer kind; returns 0 or -1. */
static int conv_int(const col_type *t, const char *s, size_t len, conv_value *out,
                    char *err, size_t errlen)
{
    int64_t v, lo, hi;
    switch (t->kind) {
    case CK_TINYINT: lo = 0; hi = 255; break;
    case CK_SMALLINT: lo = INT16_MIN; hi = INT16_MAX; break;
    case CK_INT: lo = INT32_MIN; hi = INT32_MAX; break;
    default: lo = INT64_MIN; hi = INT64_MAX; break;
    }
    int rc = parse_int64(s, len, &v);
    if (rc == -1)
        return fail_invalid(t, s, len, err, errlen);
    if (rc == -2 || v < lo || v > hi)
        return fail_range(t, s, len, err, errlen);
    out->i = v;
    return 0;
}

/* Converts a bit (1/0/true/false); returns 0 or -1. */
static int conv_bit(const col_type *t, const char *s, size_t len, conv_value *out,
                    char *err, size_t errlen)
{
    if (len == 1 && (s[0] == '0' || s[0] == '1'))
        out->i = s[0] - '0';
    else if (len == 4 && strncasecmp(s, "true", 4) == 0)
        out->i = 1;
    else if (len == 5 && strncasecmp(s, "false", 5) == 0)
        out->i = 0;
    else
        return fail_invalid(t, s, len, err, errlen);
    return 0;
}

/* Converts a decimal(p,s) into canonical text in buf (room for 42); returns
 * its length, or -1 with a reason. */
static int conv_decimal(const col_type *t, const char *s, size_t len, char *buf,
                        char *err, size_t errlen)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    size_t ib = i;
    while (i < len && is_digit(s[i]))
        i++;
    size_t ie = i, fb = i, fe = i;
    if (i < len && s[i] == '.') {
        fb = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        fe = i;
    }
    if (i != len || (ie == ib && fe == fb))
        return fail_invalid(t, s, len, err, errlen);
    while (ib < ie && s[ib] == '0')     /* leading zeros */
        ib++;
    while (fe > fb && s[fe - 1] == '0') /* trailing fraction zeros */
        fe--;
    size_t idig = ie - ib, fdig = fe - fb;
    if (fdig > (size_t)t->scale) {
        char tn[32];
        type_format(t, tn, sizeof tn);
        return fail(err, errlen, s, len, "has more than %d fraction digits for %s",
                    t->scale, tn);
    }
    if (idig > (size_t)(t->precision - t->scale))
        return fail_range(t, s, len, err, errlen);
    int o = 0;
    if (neg && (idig || fdig))
        buf[o++] = '-';
    if (idig) {
        memcpy(buf + o, s + ib, idig);
        o += (int)idig;
    } else {
        buf[o++] = '0';
    }
    if (t->scale) {
        buf[o++] = '.';
        memcpy(buf + o, s + fb, fdig);
        o += (int)fdig;
        for (size_t k = fdig; k < (size_t)t->scale; k++)
            buf[o++] = '0';
    }
    buf[o] = '\0';
    return o;
}

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale; /* written once under c_locale_once, then read-only */

/* Creates the "C" locale used by strtod_l. */
static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Returns 1 if s[0..len) is a decimal float: [+-]d*[.d*][(e|E)[+-]d+], one digit at least. */
static int float_syntax_ok(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < len && is_digit(s[i]); i++)
        digits++;
    if (i < len && s[i] == '.')
        for (i++; i < len && is_digit(s[i]); i++)
            digits++;
    if (!digits)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == len || !is_digit(s[i]))
            return 0;
        while (i < len && is_digit(s[i]))
            i++;
    }
    return i == len;
}

/* Converts a float; returns 0 or -1. */
static int conv_float(const col_type *t, const char *s, size_t len, conv_value *out,
                      char *err, size_t errlen)
{
    if (!float_syntax_ok(s, len))
        return fail_invalid(t, s, len, err, errlen);
    pthread_once(&c_locale_once, c_locale_init);
    char small[128], *buf = len < sizeof small ? small : xmalloc(len + 1);
    memcpy(buf, s, len);
    buf[len] = '\0';
    double d = c_locale ? strtod_l(buf, NULL, c_locale) : strtod(buf, NULL);
    if (buf != small)
        free(buf);
    if (!isfinite(d))
        return fail_range(t, s, len, err, errlen);
    out->f = d;
    return 0;
}

/* ---- dates and times ---- */

/* Returns the value of n digits at s, or -1 if any is not a digit. */
static int digits_val(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Returns the number of days of month m (1..12) of year y. */
static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

typedef struct dt_parts {
    int y, mo, d, h, mi, sec;
    char frac[FRAC_MAX + 1]; /* fraction digits, trailing zeros dropped */
} dt_parts;

/* Returns 0 if s[0..10) is a real YYYY-MM-DD date (into p), else -1. */
static int parse_date(const char *s, size_t len, dt_parts *p)
{
    if (len < 10 || s[4] != '-' || s[7] != '-')
        return -1;
    p->y = digits_val(s, 4);
    p->mo = digits_val(s + 5, 2);
    p->d = digits_val(s + 8, 2);
    if (p->y < 1 || p->mo < 1 || p->mo > 12 || p->d < 1 ||
        p->d > days_in_month(p->y, p->mo))
        return -1;
    return 0;
}

/* Returns the bytes of s[0..len) used by hh:mm[:ss[.f{1,7}]] (into p), or -1. */
static int parse_time(const char *s, size_t len, dt_parts *p)
{
    size_t i = 5;
    if (len < 5 || s[2] != ':')
        return -1;
    p->h = digits_val(s, 2);
    p->mi = digits_val(s + 3, 2);
    p->sec = 0;
    p->frac[0] = '\0';
    if (p->h < 0 || p->h > 23 || p->mi < 0 || p->mi > 59)
        return -1;
    if (i < len && s[i] == ':') {
        if (len < 8 || (p->sec = digits_val(s + 6, 2)) < 0 || p->sec > 59)
            return -1;
        i = 8;
        if (i < len && s[i] == '.') {
            size_t fb = ++i;
            while (i < len && is_digit(s[i]))
                i++;
            size_t n = i - fb;
            if (n < 1 || n > FRAC_MAX)
                return -1;
            while (n && s[fb + n - 1] == '0')
                n--;
            memcpy(p->frac, s + fb, n);
            p->frac[n] = '\0';
        }
    }
    return (int)i;
}

/* Moves p by delta minutes (|delta| < one day), carrying days, months and
 * years.  Returns 0, or -1 if the year leaves 1..9999. */
static int shift_minutes(dt_parts *p, int delta)
{
    int m = p->h * 60 + p->mi + delta;
    if (m < 0) {
        m += 24 * 60;
        if (--p->d < 1) {
            if (--p->mo < 1) {
                p->mo = 12;
                p->y--;
            }
            p->d = p->y >= 1 ? days_in_month(p->y, p->mo) : 31;
        }
    } else if (m >= 24 * 60) {
        m -= 24 * 60;
        if (++p->d > days_in_month(p->y, p->mo)) {
            p->d = 1;
            if (++p->mo > 12) {
                p->mo = 1;
                p->y++;
            }
        }
    }
    p->h = m / 60;
    p->mi = m % 60;
    return p->y >= 1 && p->y <= 9999 ? 0 : -1;
}

/* Writes v (0..99) as two digits at buf; returns buf + 2.  (snprintf cost
 * 40% of type_convert on a datetime column: bench/PROFILE.md.) */
static char *put2(char *buf, int v)
{
    assert(v >= 0 && v <= 99);
    buf[0] = (char)('0' + v / 10);
    buf[1] = (char)('0' + v % 10);
    return buf + 2;
}

/* Writes "hh:mm:ss[.f]" and a NUL at buf (room for 17); returns its length. */
static int format_time(const dt_parts *p, char *buf)
{
    char *o = put2(buf, p->h);
    *o++ = ':';
    o = put2(o, p->mi);
    *o++ = ':';
    o = put2(o, p->sec);
    if (p->frac[0]) {
        size_t n = strlen(p->frac);
        assert(n <= FRAC_MAX);
        *o++ = '.';
        memcpy(o, p->frac, n);
        o += n;
    }
    *o = '\0';
    return (int)(o - buf);
}

/* Converts a date into buf; returns its length or -1. */
static int conv_date(const col_type *t, const char *s, size_t len, char *buf,
                     char *err, size_t errlen)
{
    dt_parts p;
    if (len != 10 || parse_date(s, len, &p) < 0)
        return fail_invalid(t, s, len, err, errlen);
    memcpy(buf, s, 10);
    buf[10] = '\0';
    return 10;
}

/* Converts a time into buf; returns its length or -1. */
static int conv_time(const col_type *t, const char *s, size_t len, char *buf,
                     char *err, size_t errlen)
{
    dt_parts p;
    if (parse_time(s, len, &p) != (int)len)
        return fail_invalid(t, s, len, err, errlen);
    return format_time(&p, buf);
}

/* Returns the offset in minutes east of UTC of "Z" / "+hh:mm" / "-hh:mm"
 * making up all of s[0..len), 0 for an empty s, or INT32_MIN if malformed. */
static int parse_offset(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    if (len == 1 && (s[0] == 'Z' || s[0] == 'z'))
        return 0;
    if (len != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return INT32_MIN;
    int h = digits_val(s + 1, 2), m = digits_val(s + 4, 2);
    if (h < 0 || h > 14 || m < 0 || m > 59 || (h == 14 && m))
        return INT32_MIN;
    return (s[0] == '-' ? -1 : 1) * (h * 60 + m);
}

/* Converts a datetime (UTC) into buf; returns its length or -1. */
static int conv_datetime(const col_type *t, const char *s, size_t len, char *buf,
                         char *err, size_t errlen)
{
    dt_parts p;
    if (parse_date(s, len, &p) < 0)
        return fail_invalid(t, s, len, err, errlen);
    if (len == 10) {
        p.h = p.mi = p.sec = 0;
        p.frac[0] = '\0';
    } else {
        if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
            return fail_invalid(t, s, len, err, errlen);
        int tl = parse_time(s + 11, len - 11, &p);
        if (tl < 0)
            return fail_invalid(t, s, len, err, errlen);
        size_t used = 11 + (size_t)tl;
        int off = parse_offset(s + used, len - used);
        if (off == INT32_MIN)
            return fail_invalid(t, s, len, err, errlen);
        if (off && shift_minutes(&p, -off) < 0)
            return fail_range(t, s, len, err, errlen);
    }
    assert(p.y >= 1 && p.y <= 9999);
    char *o = put2(put2(buf, p.y / 100), p.y % 100);
    *o++ = '-';
    o = put2(o, p.mo);
    *o++ = '-';
    o = put2(o, p.d);
    *o++ = ' ';
    return (int)(o - buf) + format_time(&p, o);
}

/* ---- uuid ---- */

/* Returns the value of hex digit c, or -1. */
static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Converts a uuid into lower-case buf; returns 36 or -1. */
static int conv_uuid(const col_type *t, const char *s, size_t len, char *buf,
                     char *err, size_t errlen)
{
    const char *u = s;
    size_t ul = len;
    if (ul == 38 && u[0] == '{' && u[37] == '}') {
        u++;
        ul -= 2;
    }
    if (ul != 36)
        return fail_invalid(t, s, len, err, errlen);
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (u[i] != '-')
                return fail_invalid(t, s, len, err, errlen);
            buf[i] = '-';
        } else {
            int v = hex_val(u[i]);
            if (v < 0)
                return fail_invalid(t, s, len, err, errlen);
            buf[i] = "0123456789abcdef"[v];
        }
    }
    buf[36] = '\0';
    return 36;
}

/* ---- strings ---- */

/* Checks a string's encoding and length; returns 0 or -1. */
static int check_string(const col_type *t, const char *s, size_t len, char *err,
                        size_t errlen)
{
    long n = t->kind == CK_NVARCHAR ? utf8_utf16_units(s, len) : utf8_chars(s, len);
    if (n < 0)
        return fail(err, errlen, s, len, "is not valid UTF-8");
    if (t->kind != CK_NVARCHAR_MAX && n > t->length) {
        char tn[32];
        type_format(t, tn, sizeof tn);
        return fail(err, errlen, s, len, "is %ld %s, longer than %s", n,
                    t->kind == CK_NVARCHAR ? "UTF-16 units" : "characters", tn);
    }
    return 0;
}

/* ---- type_convert ---- */

int type_check_text(const col_type *t, const char *s, size_t len, char *err, size_t errlen)
{
    switch (t->kind) {
    case CK_VARCHAR:
    case CK_NVARCHAR:
    case CK_CHAR:
    case CK_NVARCHAR_MAX:
        return check_string(t, s, len, err, errlen) < 0 ? -1 : 1;
    default:
        return 0;
    }
}

int type_convert(const col_type *t, const char *s, size_t len,
                 conv_value *out, strbuf *text, char *err, size_t errlen)
{
    assert(t && out && text && (s || !len));
    char buf[48];
    int n;
    memset(out, 0, sizeof *out);
    out->vclass = type_class(t);
    out->text_off = text->len;
    switch (t->kind) {
    case CK_TINYINT:
    case CK_SMALLINT:
    case CK_INT:
    case CK_BIGINT:
        return conv_int(t, s, len, out, err, errlen);
    case CK_BIT:
        return conv_bit(t, s, len, out, err, errlen);
    case CK_FLOAT:
        return conv_float(t, s, len, out, err, errlen);
    case CK_VARCHAR:
    case CK_NVARCHAR:
    case CK_CHAR:
    case CK_NVARCHAR_MAX:
        if (check_string(t, s, len, err, errlen) < 0)
            return -1;
        sb_append(text, s, len);
        out->text_len = len;
        return 0;
    case CK_DECIMAL:
        n = conv_decimal(t, s, len, buf, err, errlen);
        break;
    case CK_DATE:
        n = conv_date(t, s, len, buf, err, errlen);
        break;
    case CK_TIME:
        n = conv_time(t, s, len, buf, err, errlen);
        break;
    case CK_DATETIME:
        n = conv_datetime(t, s, len, buf, err, errlen);
        break;
    case CK_UUID:
        n = conv_uuid(t, s, len, buf, err, errlen);
        break;
    default:
        assert(!"unknown column kind");
        return -1;
    }
    if (n < 0)
        return -1;
    assert((size_t)n <= type_max_bytes(t));
    sb_append(text, buf, (size_t)n);
    out->text_len = (size_t)n;
    return 0;
}

int type_fraction_digits(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    return dot ? (int)(len - (size_t)(dot + 1 - s)) : 0;
}
