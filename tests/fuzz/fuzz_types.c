/* fuzz_types.c — libFuzzer target: the type parser and the value converters
 * (integers, decimals, floats, dates, times, datetimes, UUIDs, text lengths
 * in UTF-8 characters and UTF-16 units, trimming).  Input: a type spec, a
 * NUL byte, then the value (without a NUL: the value is converted to every
 * built-in type). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "types.h"

static const char *specs[] = {"tinyint", "smallint", "int", "bigint", "bit",
    "decimal(38,10)", "decimal(5,2)", "decimal(1,0)", "float", "varchar(8)",
    "nvarchar(4)", "char(2)", "nvarchar(max)", "date", "time", "datetime",
    "uniqueidentifier"};

/* Converts value (len bytes) to type spec, checking the result's invariants. */
static void convert(const char *spec, const char *value, size_t len)
{
    col_type t;
    char err[256];
    if (type_parse(spec, &t, err, sizeof err) != 0)
        return;
    char buf[64];
    type_format(&t, buf, sizeof buf);
    conv_value out;
    strbuf text = STRBUF_INIT;
    if (type_convert(&t, value, len, &out, &text, err, sizeof err) == 0 &&
        out.vclass == VC_TEXT) {
        if (out.text_off + out.text_len > text.len)
            __builtin_trap(); /* the converted text lies inside the buffer */
        size_t max = type_max_bytes(&t);
        if (max && out.text_len > max)
            __builtin_trap(); /* never longer than the column can hold */
    }
    sb_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *nul = memchr(copy, '\0', size);
    if (nul) {
        convert(copy, nul + 1, size - (size_t)(nul - copy) - 1);
    } else {
        for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
            convert(specs[i], copy, size);
        const char *s = copy;
        size_t len = size;
        text_trim(&s, &len);
        if (s < copy || s + len > copy + size)
            __builtin_trap();
        utf8_chars(copy, size);
        utf8_utf16_units(copy, size);
    }
    free(copy);
    return 0;
}
