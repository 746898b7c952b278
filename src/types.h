/* types.h — column types of the mapping and the conversion of XML text into
 * checked, canonical values.
 *
 * The mapper calls type_convert() on the (trimmed) text found for a column.
 * A value either converts — into an integer, a double, or canonical text —
 * or the record is rejected with the reason type_convert() wrote.  Nothing
 * here allocates per value: text goes into a caller-owned strbuf. */
#ifndef MIGRATE_TYPES_H
#define MIGRATE_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

typedef enum col_kind {
    CK_TINYINT,      /* 0..255 (SQL Server tinyint is unsigned) */
    CK_SMALLINT,     /* -32768..32767 */
    CK_INT,          /* 32-bit signed */
    CK_BIGINT,       /* 64-bit signed */
    CK_BIT,          /* 1/0, true/false (any case) -> 1/0 */
    CK_DECIMAL,      /* decimal(p,s), 1<=p<=38, 0<=s<=p */
    CK_FLOAT,        /* IEEE double; no inf/nan */
    CK_VARCHAR,      /* varchar(n): at most n characters */
    CK_NVARCHAR,     /* nvarchar(n): at most n UTF-16 code units */
    CK_CHAR,         /* char(n): at most n characters (stored unpadded) */
    CK_NVARCHAR_MAX, /* nvarchar(max): any length */
    CK_DATE,         /* YYYY-MM-DD */
    CK_TIME,         /* hh:mm:ss[.fffffff] */
    CK_DATETIME,     /* YYYY-MM-DD[T ]hh:mm[:ss[.fffffff]][Z|(+|-)hh:mm] */
    CK_UUID          /* 8-4-4-4-12 hex, optional braces */
} col_kind;

typedef struct col_type {
    col_kind kind;
    int length;     /* varchar/nvarchar/char: n; else 0 */
    int precision;  /* decimal: p */
    int scale;      /* decimal: s; time/datetime: fraction digits kept (7) */
} col_type;

/* How a converted value is held in a batch. */
typedef enum val_class {
    VC_INT,   /* int64_t: tinyint, smallint, int, bigint, bit */
    VC_FLOAT, /* double */
    VC_TEXT   /* canonical UTF-8 text: everything else */
} val_class;

/* A converted value. For VC_TEXT the text is in the strbuf passed to
 * type_convert (appended at out->text_off, out->text_len bytes). */
typedef struct conv_value {
    val_class vclass;
    int64_t i;
    double f;
    size_t text_off;
    size_t text_len;
} conv_value;

/* Parse a type as written in a mapping ("int", "decimal(12,2)",
 * "nvarchar(max)", "varchar(8)"; case-insensitive, spaces allowed inside the
 * parentheses).  Returns 0, or -1 with a one-line reason in err. */
int type_parse(const char *s, col_type *out, char *err, size_t errlen);

/* Write the mapping spelling of t ("decimal(12,2)") into buf. */
void type_format(const col_type *t, char *buf, size_t len);

/* Returns the storage class of values of type t. */
val_class type_class(const col_type *t);

/* Returns the largest number of bytes the canonical UTF-8 text of a value of
 * type t can take (for binding buffers), or 0 when unbounded (nvarchar(max)). */
size_t type_max_bytes(const col_type *t);

/* Convert already-trimmed UTF-8 text s[0..len) to a value of type t.
 * Text results are appended to *text.  Returns 0, or -1 with a reason in err
 * that quotes the value (at most ~60 bytes of it), e.g.
 *   value "300" is out of range for tinyint
 *   value "abc" is not a valid int
 *   value "ÁÉÍÓÚ..." is 17 characters, longer than varchar(16)
 * Canonical text: decimal "-123.40" (exactly s fraction digits; more non-zero
 * digits than s, or more than p-s integer digits, is an error); date
 * "YYYY-MM-DD"; time "hh:mm:ss[.f...]" (fraction kept as given, at most 7
 * digits, trailing zeros dropped); datetime "YYYY-MM-DD hh:mm:ss[.f...]"
 * (a Z or +hh:mm offset is converted to UTC); uuid lower-case 8-4-4-4-12. */
/* For the string kinds (varchar, nvarchar, char, nvarchar(max)), whose
 * converted text is the text itself: returns 1 with s[0..len) checked (as
 * type_convert would), 0 for the other kinds, -1 with err when it fails.
 * The text need not be copied. */
int type_check_text(const col_type *t, const char *s, size_t len, char *err, size_t errlen);

int type_convert(const col_type *t, const char *s, size_t len,
                 conv_value *out, strbuf *text, char *err, size_t errlen);

/* Trim leading/trailing whitespace, UTF-8 aware (ASCII space, tab, CR, LF,
 * U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000,
 * U+FEFF).  Adjusts *s and *len in place. */
void text_trim(const char **s, size_t *len);

/* Writes v in decimal ("%" PRId64, without snprintf's cost), NUL-terminated,
 * into out (TYPE_INT_TEXT bytes); returns its length. */
#define TYPE_INT_TEXT 21
size_t type_int_text(int64_t v, char out[TYPE_INT_TEXT]);

/* Returns the fractional second digits of a canonical time or datetime text
 * (type_convert drops trailing zeros: "12:00:00.5" has 1, "12:00:00" 0). */
int type_fraction_digits(const char *s, size_t len);

/* Returns the number of Unicode code points in valid UTF-8 s[0..len), or -1
 * if s is not valid UTF-8.  utf16_units: same, counting UTF-16 code units. */
long utf8_chars(const char *s, size_t len);
long utf8_utf16_units(const char *s, size_t len);

#endif
