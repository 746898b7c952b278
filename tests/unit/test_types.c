/* test_types.c — type parsing, value conversion and the UTF-8 helpers. */
#include "config.h"
#include "unit.h"
#include "types.h"

#include <inttypes.h>
#include <string.h>

/* ---- helpers ---- */

/* Returns the outcome of converting `in` to `type` as text: the canonical
 * text, the integer, the float (%.17g), or "ERR: <reason>". */
static const char *conv(const char *type, const char *in)
{
    static char res[512];
    char err[256] = "";
    col_type t;
    if (type_parse(type, &t, err, sizeof err) < 0) {
        snprintf(res, sizeof res, "TYPE: %s", err);
        return res;
    }
    strbuf sb = STRBUF_INIT;
    sb_puts(&sb, "prefix");
    conv_value v;
    if (type_convert(&t, in, strlen(in), &v, &sb, err, sizeof err) < 0) {
        snprintf(res, sizeof res, "ERR: %s", err);
        CU_ASSERT_EQUAL(sb.len, 6); /* nothing appended on failure */
    } else if (v.vclass == VC_INT) {
        CU_ASSERT_EQUAL(type_class(&t), VC_INT);
        snprintf(res, sizeof res, "%" PRId64, v.i);
    } else if (v.vclass == VC_FLOAT) {
        CU_ASSERT_EQUAL(type_class(&t), VC_FLOAT);
        snprintf(res, sizeof res, "%.17g", v.f);
    } else {
        CU_ASSERT_EQUAL(type_class(&t), VC_TEXT);
        CU_ASSERT_EQUAL(v.text_off, 6);
        CU_ASSERT_EQUAL(v.text_off + v.text_len, sb.len);
        CU_ASSERT(type_max_bytes(&t) == 0 || v.text_len <= type_max_bytes(&t));
        snprintf(res, sizeof res, "%.*s", (int)v.text_len, sb.buf + v.text_off);
    }
    sb_free(&sb);
    return res;
}

/* Returns 1 if conv() reported a conversion error. */
static int is_err(const char *r)
{
    return strncmp(r, "ERR: ", 5) == 0;
}

#define EQ(type, in, want) CU_ASSERT_STRING_EQUAL(conv(type, in), want)
#define BAD(type, in) CU_ASSERT(is_err(conv(type, in)))

/* ---- integers and bit ---- */

static void test_int_ranges(void)
{
    EQ("tinyint", "0", "0");
    EQ("tinyint", "255", "255");
    EQ("tinyint", "256", "ERR: value \"256\" is out of range for tinyint");
    EQ("tinyint", "-1", "ERR: value \"-1\" is out of range for tinyint");
    EQ("tinyint", "300", "ERR: value \"300\" is out of range for tinyint");
    EQ("tinyint", "+7", "7");
    EQ("tinyint", "-0", "0");
    EQ("tinyint", "007", "7");
    EQ("smallint", "-32768", "-32768");
    EQ("smallint", "32767", "32767");
    BAD("smallint", "-32769");
    BAD("smallint", "32768");
    EQ("int", "-2147483648", "-2147483648");
    EQ("int", "2147483647", "2147483647");
    EQ("int", "2147483648", "ERR: value \"2147483648\" is out of range for int");
    BAD("int", "-2147483649");
    EQ("bigint", "-9223372036854775808", "-9223372036854775808");
    EQ("bigint", "9223372036854775807", "9223372036854775807");
    EQ("bigint", "9223372036854775808",
       "ERR: value \"9223372036854775808\" is out of range for bigint");
    BAD("bigint", "-9223372036854775809");
    BAD("bigint", "99999999999999999999999999");
}

static void test_int_syntax(void)
{
    EQ("int", "abc", "ERR: value \"abc\" is not a valid int");
    EQ("int", "12.0", "ERR: value \"12.0\" is not a valid int");
    EQ("int", "1e3", "ERR: value \"1e3\" is not a valid int");
    EQ("int", "", "ERR: value \"\" is not a valid int");
    EQ("int", " 1", "ERR: value \" 1\" is not a valid int");
    BAD("int", "1 2");
    BAD("int", "-");
    BAD("int", "+");
    BAD("int", "--1");
    BAD("int", "0x10");
    BAD("int", "\xd9\xa3"); /* Arabic-Indic digit three */
    EQ("bigint", "-0012", "-12");
}

static void test_bit(void)
{
    EQ("bit", "1", "1");
    EQ("bit", "0", "0");
    EQ("bit", "true", "1");
    EQ("bit", "TRUE", "1");
    EQ("bit", "False", "0");
    EQ("bit", "2", "ERR: value \"2\" is not a valid bit");
    BAD("bit", "yes");
    BAD("bit", "01");
    BAD("bit", "");
    BAD("bit", "truex");
}

/* ---- decimal and float ---- */

static void test_decimal(void)
{
    EQ("decimal(5,2)", "12.5", "12.50");
    EQ("decimal(5,2)", ".5", "0.50");
    EQ("decimal(5,2)", "-0.00", "0.00");
    EQ("decimal(5,2)", "-0", "0.00");
    EQ("decimal(5,2)", "12.340", "12.34");
    EQ("decimal(5,2)", "-123.40", "-123.40");
    EQ("decimal(5,2)", "999.99", "999.99");
    EQ("decimal(5,2)", "+0007.1", "7.10");
    EQ("decimal(5,2)", "5.", "5.00");
    EQ("decimal(5,2)", "12.345",
       "ERR: value \"12.345\" has more than 2 fraction digits for decimal(5,2)");
    EQ("decimal(5,2)", "1000", "ERR: value \"1000\" is out of range for decimal(5,2)");
    BAD("decimal(5,2)", "-1000.00");
    EQ("decimal(5,2)", "abc", "ERR: value \"abc\" is not a valid decimal(5,2)");
    BAD("decimal(5,2)", "");
    BAD("decimal(5,2)", ".");
    BAD("decimal(5,2)", "1e2");
    BAD("decimal(5,2)", "1,5");
    BAD("decimal(5,2)", "1.2.3");
    EQ("decimal", "123456789012345678", "123456789012345678");
    BAD("decimal", "1234567890123456789");
    BAD("decimal", "1.5");
    EQ("decimal", "1.000", "1");
    EQ("decimal(3)", "-999", "-999");
    EQ("decimal(2,2)", ".99", "0.99");
    EQ("decimal(2,2)", "-0.5", "-0.50");
    BAD("decimal(2,2)", "1");
    /* 38 digits, exact (no double anywhere) */
    EQ("decimal(38,0)", "99999999999999999999999999999999999999",
       "99999999999999999999999999999999999999");
    BAD("decimal(38,0)", "100000000000000000000000000000000000000");
    EQ("decimal(38,10)", "-1234567890123456789012345678.0123456789",
       "-1234567890123456789012345678.0123456789");
    EQ("decimal(38,38)", "0.12345678901234567890123456789012345678",
       "0.12345678901234567890123456789012345678");
}

static void test_float(void)
{
    EQ("float", "1.5", "1.5");
    EQ("float", "-2.25e3", "-2250");
    EQ("float", "0.1", "0.10000000000000001");
    EQ("float", ".5", "0.5");
    EQ("float", "1E-3", "0.001");
    EQ("float", "+7", "7");
    EQ("float", "1.7976931348623157e308", "1.7976931348623157e+308");
    EQ("float", "1e309", "ERR: value \"1e309\" is out of range for float");
    EQ("float", "inf", "ERR: value \"inf\" is not a valid float");
    BAD("float", "nan");
    BAD("float", "Infinity");
    BAD("float", "0x1p3");
    BAD("float", "1.5x");
    BAD("float", "1e");
    BAD("float", "1,5");
    BAD("float", "");
    BAD("float", ".");
    BAD("float", "-");
    /* a long but valid value goes through the heap path */
    char big[300];
    memset(big, '0', sizeof big - 1);
    big[0] = '1';
    big[1] = '.';
    big[sizeof big - 1] = '\0';
    EQ("float", big, "1");
}

/* ---- strings ---- */

static void test_strings(void)
{
    EQ("varchar(3)", "abc", "abc");
    EQ("varchar(3)", "abcd", "ERR: value \"abcd\" is 4 characters, longer than varchar(3)");
    EQ("varchar(3)", "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"); /* été: 3 chars, 5 bytes */
    EQ("varchar(2)", "\xe6\xbc\xa2\xe5\xad\x97", "\xe6\xbc\xa2\xe5\xad\x97"); /* 漢字 */
    BAD("varchar(1)", "\xe6\xbc\xa2\xe5\xad\x97");
    EQ("varchar(2)", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80", /* 😀😀: 2 code points */
       "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    EQ("char(2)", "ab", "ab");
    EQ("char(2)", "abc", "ERR: value \"abc\" is 3 characters, longer than char(2)");
    EQ("nvarchar(2)", "\xe6\xbc\xa2\xe5\xad\x97", "\xe6\xbc\xa2\xe5\xad\x97");
    EQ("nvarchar(2)", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* 😀 = 2 units */
    EQ("nvarchar(2)", "\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
       "ERR: value \"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\" is 4 UTF-16 units, longer than "
       "nvarchar(2)");
    BAD("nvarchar(2)", "a\xf0\x9f\x98\x80");
    EQ("nvarchar(max)", "", "");
    EQ("varchar(3)", "", "");
    /* invalid UTF-8: quoted with '?' for the bad bytes */
    EQ("varchar(10)", "a\xffz", "ERR: value \"a?z\" is not valid UTF-8");
    BAD("nvarchar(max)", "\xc3");             /* truncated */
    BAD("nvarchar(max)", "\xc0\xaf");         /* overlong */
    BAD("nvarchar(max)", "\xed\xa0\x80");     /* surrogate */
    BAD("nvarchar(max)", "\xf4\x90\x80\x80"); /* above U+10FFFF */
    /* long values are quoted to about 60 bytes, cut at a character */
    char big[200] = "";
    for (int i = 0; i < 40; i++)
        strcat(big, "\xc3\x89"); /* É x 40 = 80 bytes */
    char want[300] = "ERR: value \"";
    for (int i = 0; i < 30; i++)
        strcat(want, "\xc3\x89");
    strcat(want, "...\" is 40 characters, longer than varchar(16)");
    EQ("varchar(16)", big, want);
    EQ("varchar(40)", big, big);
    /* a control character in the value does not break the one-line reason */
    EQ("varchar(2)", "a\nbc", "ERR: value \"a?bc\" is 4 characters, longer than varchar(2)");
}

static void test_utf8_counts(void)
{
    CU_ASSERT_EQUAL(utf8_chars("", 0), 0);
    CU_ASSERT_EQUAL(utf8_chars("abc", 3), 3);
    CU_ASSERT_EQUAL(utf8_chars("\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80", 9), 3);
    CU_ASSERT_EQUAL(utf8_utf16_units("\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80", 9), 4);
    CU_ASSERT_EQUAL(utf8_chars("\xe6\xbc", 2), -1);
    CU_ASSERT_EQUAL(utf8_utf16_units("\x80", 1), -1);
    CU_ASSERT_EQUAL(utf8_chars("a\0b", 3), 3);
    /* ASCII runs of 8 and more (counted a word at a time), then the rest */
    CU_ASSERT_EQUAL(utf8_chars("abcdefgh", 8), 8);
    CU_ASSERT_EQUAL(utf8_chars("abcdefghijklmnopq", 17), 17);
    CU_ASSERT_EQUAL(utf8_chars("abcdefgh\xc3\xa9ijklmnopqrs", 21), 20);
    CU_ASSERT_EQUAL(utf8_utf16_units("abcdefg\xf0\x9f\x98\x80hijklmno", 19), 17);
    CU_ASSERT_EQUAL(utf8_chars("abcdefghijklmnop\x80", 17), -1);
    CU_ASSERT_EQUAL(utf8_chars("abcdefgh\xe6\xbc", 10), -1);
}

/* ---- dates and times ---- */

static void test_date(void)
{
    EQ("date", "2024-01-31", "2024-01-31");
    EQ("date", "2024-02-29", "2024-02-29");
    EQ("date", "2000-02-29", "2000-02-29");
    EQ("date", "2024-02-30", "ERR: value \"2024-02-30\" is not a valid date");
    BAD("date", "2023-02-29");
    BAD("date", "1900-02-29");
    BAD("date", "2024-04-31");
    BAD("date", "2024-13-01");
    BAD("date", "2024-00-10");
    BAD("date", "2024-01-00");
    BAD("date", "0000-01-01");
    EQ("date", "0001-01-01", "0001-01-01");
    EQ("date", "9999-12-31", "9999-12-31");
    BAD("date", "2024-1-01");
    BAD("date", "2024/01/01");
    BAD("date", "2024-01-01T00:00");
    BAD("date", "");
}

static void test_time(void)
{
    EQ("time", "00:00", "00:00:00");
    EQ("time", "23:59:59", "23:59:59");
    EQ("time", "12:30:15.5", "12:30:15.5");
    EQ("time", "12:30:15.1234567", "12:30:15.1234567");
    EQ("time", "12:30:15.1200", "12:30:15.12");
    EQ("time", "12:30:15.000", "12:30:15");
    EQ("time", "24:00", "ERR: value \"24:00\" is not a valid time");
    BAD("time", "12:60");
    BAD("time", "12:30:60");
    BAD("time", "12:30:15.12345678");
    BAD("time", "12:30:15.");
    BAD("time", "1:30");
    BAD("time", "12:30:");
    BAD("time", "12:30Z");
    BAD("time", "");
}

static void test_datetime(void)
{
    EQ("datetime", "2024-01-31", "2024-01-31 00:00:00");
    EQ("datetime", "2024-01-31T10:20", "2024-01-31 10:20:00");
    EQ("datetime", "2024-01-31 10:20:30", "2024-01-31 10:20:30");
    EQ("datetime", "2024-01-31T10:20:30.1230000", "2024-01-31 10:20:30.123");
    EQ("datetime", "2024-01-31T10:20:30Z", "2024-01-31 10:20:30");
    EQ("datetime", "2024-01-31T10:20:30+02:00", "2024-01-31 08:20:30");
    EQ("datetime", "2024-12-31T23:30:00-01:00", "2025-01-01 00:30:00");
    EQ("datetime", "2025-01-01T00:30:00.25+01:00", "2024-12-31 23:30:00.25");
    EQ("datetime", "2024-02-28T23:00:00-05:30", "2024-02-29 04:30:00");
    EQ("datetime", "2023-02-28T23:00:00-05:30", "2023-03-01 04:30:00");
    EQ("datetime", "2024-03-01T01:00:00+02:00", "2024-02-29 23:00:00");
    EQ("datetime", "2024-05-01T00:00:00+00:01", "2024-04-30 23:59:00");
    EQ("datetime", "9999-12-31T23:59:59.9999999", "9999-12-31 23:59:59.9999999");
    EQ("datetime", "0001-01-01", "0001-01-01 00:00:00");
    EQ("datetime", "0999-10-09T08:07:06.05", "0999-10-09 08:07:06.05");
    EQ("datetime", "2024-01-01T00:30:00+01:00", "2023-12-31 23:30:00");
    EQ("datetime", "9999-12-31T23:00:00-02:00",
       "ERR: value \"9999-12-31T23:00:00-02:00\" is out of range for datetime");
    BAD("datetime", "0001-01-01T00:30:00+01:00");
    EQ("datetime", "2024-02-30T00:00", "ERR: value \"2024-02-30T00:00\" is not a valid datetime");
    BAD("datetime", "2024-01-31X10:20");
    BAD("datetime", "2024-01-31T");
    BAD("datetime", "2024-01-31T25:00");
    BAD("datetime", "2024-01-31T10:20:30+2:00");
    BAD("datetime", "2024-01-31T10:20:30+15:00");
    BAD("datetime", "2024-01-31T10:20:30ZZ");
    BAD("datetime", "2024-01-31 10:20:30 ");
}

/* ---- uuid ---- */

static void test_uuid(void)
{
    EQ("uniqueidentifier", "6F9619FF-8B86-D011-B42D-00C04FC964FF",
       "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    EQ("uniqueidentifier", "{6f9619ff-8b86-d011-b42d-00c04fc964ff}",
       "6f9619ff-8b86-d011-b42d-00c04fc964ff");
    EQ("uniqueidentifier", "6f9619ff8b86d011b42d00c04fc964ff",
       "ERR: value \"6f9619ff8b86d011b42d00c04fc964ff\" is not a valid uniqueidentifier");
    BAD("uniqueidentifier", "6f9619ff-8b86-d011-b42d-00c04fc964fg");
    BAD("uniqueidentifier", "6f9619ff-8b86-d011-b42d00c04fc964ff-");
    BAD("uniqueidentifier", "{6f9619ff-8b86-d011-b42d-00c04fc964ff");
    BAD("uniqueidentifier", "");
}

/* ---- type_parse / type_format / sizes ---- */

/* Returns the type_format spelling of a parsed type, or "ERR: reason". */
static const char *parse_fmt(const char *s)
{
    static char res[300];
    char err[256];
    col_type t;
    if (type_parse(s, &t, err, sizeof err) < 0)
        snprintf(res, sizeof res, "ERR: %s", err);
    else
        type_format(&t, res, sizeof res);
    return res;
}

static void test_type_parse(void)
{
    CU_ASSERT_STRING_EQUAL(parse_fmt("int"), "int");
    CU_ASSERT_STRING_EQUAL(parse_fmt("INT"), "int");
    CU_ASSERT_STRING_EQUAL(parse_fmt("TinyInt"), "tinyint");
    CU_ASSERT_STRING_EQUAL(parse_fmt("decimal"), "decimal(18,0)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("decimal(7)"), "decimal(7,0)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("Decimal( 12 , 2 )"), "decimal(12,2)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("decimal(38,38)"), "decimal(38,38)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar(8)"), "varchar(8)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("VARCHAR(8000)"), "varchar(8000)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("nvarchar(4000)"), "nvarchar(4000)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("char(1)"), "char(1)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("nvarchar(MAX)"), "nvarchar(max)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("nvarchar( max )"), "nvarchar(max)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("uniqueidentifier"), "uniqueidentifier");
    CU_ASSERT_STRING_EQUAL(parse_fmt("datetime"), "datetime");

    CU_ASSERT_STRING_EQUAL(parse_fmt("integer"), "ERR: unknown type \"integer\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt(""), "ERR: unknown type \"\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("int4"), "ERR: unknown type \"int4\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar(0)"), "ERR: bad length in \"varchar(0)\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar(8001)"), "ERR: bad length in \"varchar(8001)\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("nvarchar(4001)"), "ERR: bad length in \"nvarchar(4001)\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("char(max)"), "ERR: bad length in \"char(max)\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar"), "ERR: missing length in \"varchar\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar(max)"),
                           "ERR: type \"varchar(max)\" is not supported: use nvarchar(max)");
    CU_ASSERT_STRING_EQUAL(parse_fmt("decimal(39,2)"),
                           "ERR: bad precision or scale in \"decimal(39,2)\" "
                           "(need 1<=p<=38, 0<=s<=p)");
    CU_ASSERT(strncmp(parse_fmt("decimal(0)"), "ERR: bad precision", 18) == 0);
    CU_ASSERT(strncmp(parse_fmt("decimal(5,6)"), "ERR: bad precision", 18) == 0);
    CU_ASSERT_STRING_EQUAL(parse_fmt("decimal(1,2,3)"),
                           "ERR: bad arguments in type \"decimal(1,2,3)\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar(8"), "ERR: bad arguments in type \"varchar(8\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("varchar(-1)"),
                           "ERR: bad arguments in type \"varchar(-1)\"");
    CU_ASSERT_STRING_EQUAL(parse_fmt("int(4)"), "ERR: type int takes no arguments in \"int(4)\"");

    col_type t;
    char err[128];
    CU_ASSERT_EQUAL(type_parse("time", &t, err, sizeof err), 0);
    CU_ASSERT_EQUAL(t.kind, CK_TIME);
    CU_ASSERT_EQUAL(t.scale, 7);
    CU_ASSERT_EQUAL(type_parse("datetime", &t, err, sizeof err), 0);
    CU_ASSERT_EQUAL(t.scale, 7);
    CU_ASSERT_EQUAL(type_parse("decimal(12,2)", &t, err, sizeof err), 0);
    CU_ASSERT_EQUAL(t.kind, CK_DECIMAL);
    CU_ASSERT_EQUAL(t.precision, 12);
    CU_ASSERT_EQUAL(t.scale, 2);
    CU_ASSERT_EQUAL(t.length, 0);
    CU_ASSERT_EQUAL(type_parse("nvarchar(max)", &t, err, sizeof err), 0);
    CU_ASSERT_EQUAL(t.kind, CK_NVARCHAR_MAX);
    CU_ASSERT_EQUAL(type_parse("nvarchar(20)", &t, err, sizeof err), 0);
    CU_ASSERT_EQUAL(t.kind, CK_NVARCHAR);
    CU_ASSERT_EQUAL(t.length, 20);
}

/* Returns type_max_bytes of a parsed type. */
static size_t max_bytes(const char *s)
{
    col_type t;
    char err[128];
    if (type_parse(s, &t, err, sizeof err) < 0)
        return (size_t)-1;
    return type_max_bytes(&t);
}

static void test_format_round_trip(void)
{
    static const char *types[] = {
        "tinyint", "smallint", "int", "bigint", "bit", "decimal(12,2)", "decimal(38,0)",
        "float", "varchar(16)", "nvarchar(40)", "char(2)", "nvarchar(max)", "date", "time",
        "datetime", "uniqueidentifier",
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        col_type a, b;
        char err[128], buf[64];
        CU_ASSERT_EQUAL_FATAL(type_parse(types[i], &a, err, sizeof err), 0);
        type_format(&a, buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, types[i]);
        CU_ASSERT_EQUAL_FATAL(type_parse(buf, &b, err, sizeof err), 0);
        CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
    }
    CU_ASSERT_EQUAL(max_bytes("decimal(12,2)"), 14);
    CU_ASSERT_EQUAL(max_bytes("decimal(5,0)"), 6);
    CU_ASSERT_EQUAL(max_bytes("decimal(2,2)"), 5); /* "-0.99" */
    CU_ASSERT_EQUAL(max_bytes("varchar(10)"), 40);
    CU_ASSERT_EQUAL(max_bytes("nvarchar(10)"), 40);
    CU_ASSERT_EQUAL(max_bytes("nvarchar(max)"), 0);
    CU_ASSERT_EQUAL(max_bytes("date"), 10);
    CU_ASSERT_EQUAL(max_bytes("time"), 16);
    CU_ASSERT_EQUAL(max_bytes("datetime"), 27);
    CU_ASSERT_EQUAL(max_bytes("uniqueidentifier"), 36);
    CU_ASSERT_EQUAL(max_bytes("bigint"), 32);
    CU_ASSERT_EQUAL(strlen(conv("decimal(2,2)", "-.99")), 5);
    CU_ASSERT_EQUAL(strlen(conv("datetime", "2024-01-31T10:20:30.1234567")), 27);
    CU_ASSERT_EQUAL(strlen(conv("time", "10:20:30.1234567")), 16);
}

/* ---- appending into one buffer ---- */

static void test_append_offsets(void)
{
    col_type d, v;
    char err[128];
    CU_ASSERT_EQUAL_FATAL(type_parse("date", &d, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(type_parse("varchar(5)", &v, err, sizeof err), 0);
    strbuf sb = STRBUF_INIT;
    conv_value a, b, c;
    CU_ASSERT_EQUAL(type_convert(&d, "2024-01-02", 10, &a, &sb, err, sizeof err), 0);
    CU_ASSERT_EQUAL(type_convert(&v, "toolong", 7, &c, &sb, err, sizeof err), -1);
    CU_ASSERT_STRING_EQUAL(err, "value \"toolong\" is 7 characters, longer than varchar(5)");
    CU_ASSERT_EQUAL(type_convert(&v, "hello world", 5, &b, &sb, err, sizeof err), 0);
    CU_ASSERT_EQUAL(a.vclass, VC_TEXT);
    CU_ASSERT_EQUAL(a.text_off, 0);
    CU_ASSERT_EQUAL(a.text_len, 10);
    CU_ASSERT_EQUAL(b.text_off, 10);
    CU_ASSERT_EQUAL(b.text_len, 5);
    CU_ASSERT_STRING_EQUAL(sb_str(&sb), "2024-01-02hello");
    sb_free(&sb);

    /* a small err buffer is truncated, never overrun */
    char tiny[8];
    CU_ASSERT_EQUAL(type_convert(&v, "toolong", 7, &c, &sb, tiny, sizeof tiny), -1);
    CU_ASSERT_STRING_EQUAL(tiny, "value \"");
    sb_free(&sb);
}

/* ---- trimming ---- */

/* Returns text_trim of s as a NUL-terminated string. */
static const char *trimmed(const char *s)
{
    static char res[128];
    const char *p = s;
    size_t n = strlen(s);
    text_trim(&p, &n);
    snprintf(res, sizeof res, "%.*s", (int)n, p);
    return res;
}

static void test_trim(void)
{
    CU_ASSERT_STRING_EQUAL(trimmed("  abc \t\r\n"), "abc");
    CU_ASSERT_STRING_EQUAL(trimmed("a b"), "a b");
    CU_ASSERT_STRING_EQUAL(trimmed(""), "");
    CU_ASSERT_STRING_EQUAL(trimmed(" \t \n"), "");
    CU_ASSERT_STRING_EQUAL(trimmed("\xc2\xa0" "abc" "\xc2\xa0"), "abc");             /* NBSP */
    CU_ASSERT_STRING_EQUAL(trimmed("\xe3\x80\x80" "\xe6\xbc\xa2" "\xe3\x80\x80"),    /* U+3000 */
                           "\xe6\xbc\xa2");
    CU_ASSERT_STRING_EQUAL(trimmed("\xef\xbb\xbf" "x"), "x");                        /* BOM */
    CU_ASSERT_STRING_EQUAL(trimmed("x\xe2\x80\x8a\xe2\x80\xaf\xe2\x81\x9f"), "x"); /* U+200A.. */
    CU_ASSERT_STRING_EQUAL(trimmed("\xe2\x80\xa8" "x" "\xe2\x80\xa9"), "x");
    CU_ASSERT_STRING_EQUAL(trimmed("\xe1\x9a\x80" "x" "\xe2\x80\x80"), "x");
    /* zero-width space U+200B and "é" are not white space */
    CU_ASSERT_STRING_EQUAL(trimmed("\xe2\x80\x8b" "x"), "\xe2\x80\x8b" "x");
    CU_ASSERT_STRING_EQUAL(trimmed(" \xc3\xa9 "), "\xc3\xa9");
    CU_ASSERT_STRING_EQUAL(trimmed("\xc2\xa0\xc2\xa0 a\xc2\xa0" "b \xc2\xa0"), "a\xc2\xa0" "b");
    /* a lone continuation byte 0xA0 is not taken for NBSP */
    CU_ASSERT_STRING_EQUAL(trimmed("x\xa0"), "x\xa0");
}

/* type_int_text writes what snprintf's PRId64 writes, at the ends of the
 * range and around every power of ten. */
static void test_int_text(void)
{
    int64_t vals[200];
    size_t n = 0;
    vals[n++] = 0;
    vals[n++] = INT64_MAX;
    vals[n++] = INT64_MIN;
    vals[n++] = INT64_MIN + 1;
    for (int64_t p = 1; n + 6 <= sizeof vals / sizeof *vals; p *= 10) {
        vals[n++] = p;
        vals[n++] = p - 1;
        vals[n++] = p + 1;
        vals[n++] = -p;
        vals[n++] = -p + 1;
        vals[n++] = -p - 1;
        if (p > INT64_MAX / 10)
            break;
    }
    for (size_t i = 0; i < n; i++) {
        char got[TYPE_INT_TEXT], want[32];
        memset(got, 'x', sizeof got);
        size_t len = type_int_text(vals[i], got);
        int wl = snprintf(want, sizeof want, "%" PRId64, vals[i]);
        CU_ASSERT_EQUAL(len, (size_t)wl);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
}

int main(void)
{
    UNIT_BEGIN("types");
    UNIT_TEST(test_int_ranges);
    UNIT_TEST(test_int_syntax);
    UNIT_TEST(test_bit);
    UNIT_TEST(test_decimal);
    UNIT_TEST(test_float);
    UNIT_TEST(test_strings);
    UNIT_TEST(test_utf8_counts);
    UNIT_TEST(test_date);
    UNIT_TEST(test_time);
    UNIT_TEST(test_datetime);
    UNIT_TEST(test_uuid);
    UNIT_TEST(test_type_parse);
    UNIT_TEST(test_format_round_trip);
    UNIT_TEST(test_append_offsets);
    UNIT_TEST(test_trim);
    UNIT_TEST(test_int_text);
    UNIT_END();
}
