/* test_rule.c — PCRE2 pattern checks and replace-match substitutions. */
#include "config.h"
#include "unit.h"
#include "rule.h"

#include <string.h>

/* ---- helpers ---- */

/* Returns rule_match of pattern against s (compiling it fresh), or -2 if
 * the pattern does not compile. */
static int match(const char *pattern, const char *s)
{
    char err[256];
    rule *r = rule_compile(pattern, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL(r);
    if (!r)
        return -2;
    rule_scratch *sc = rule_scratch_new();
    int rc = rule_match(r, sc, s, strlen(s), err, sizeof err);
    rule_scratch_free(sc);
    rule_free(r);
    return rc;
}

/* Returns the result of replacing pattern by with in s, or "ERR: reason". */
static const char *replace(const char *pattern, const char *s, const char *with)
{
    static char res[1024];
    char err[256];
    rule *r = rule_compile(pattern, err, sizeof err);
    if (!r) {
        snprintf(res, sizeof res, "ERR: %s", err);
        return res;
    }
    rule_scratch *sc = rule_scratch_new();
    strbuf out = STRBUF_INIT;
    sb_puts(&out, "stale");
    if (rule_replace(r, sc, s, strlen(s), with, &out, err, sizeof err) < 0)
        snprintf(res, sizeof res, "ERR: %s", err);
    else {
        CU_ASSERT_EQUAL(strlen(sb_str(&out)), out.len);
        snprintf(res, sizeof res, "%s", sb_str(&out));
    }
    sb_free(&out);
    rule_scratch_free(sc);
    rule_free(r);
    return res;
}

/* ---- matching ---- */

static void test_match(void)
{
    CU_ASSERT_EQUAL(match("[0-9]+", "abc123"), 1);
    CU_ASSERT_EQUAL(match("[0-9]+", "abc"), 0);
    CU_ASSERT_EQUAL(match("^[0-9]+$", "123"), 1);
    CU_ASSERT_EQUAL(match("^[0-9]+$", "123a"), 0);
    CU_ASSERT_EQUAL(match("^[0-9]+$", "a123"), 0);
    CU_ASSERT_EQUAL(match("^$", ""), 1);
    CU_ASSERT_EQUAL(match("x", ""), 0);
    CU_ASSERT_EQUAL(match("^[A-Z]{2}-\\d{4}$", "AB-1234"), 1);
    CU_ASSERT_EQUAL(match("^[A-Z]{2}-\\d{4}$", "ab-1234"), 0);
    CU_ASSERT_EQUAL(match("(?i)^[A-Z]{2}-\\d{4}$", "ab-1234"), 1);
}

static void test_match_utf8(void)
{
    /* "." is one code point, not one byte */
    CU_ASSERT_EQUAL(match("^.$", "\xc3\xa9"), 1);            /* é */
    CU_ASSERT_EQUAL(match("^..$", "\xe6\xbc\xa2\xe5\xad\x97"), 1); /* 漢字 */
    CU_ASSERT_EQUAL(match("^.$", "\xf0\x9f\x98\x80"), 1);    /* 😀 */
    CU_ASSERT_EQUAL(match("^\\p{L}+$", "\xc3\x89t\xc3\xa9"), 1); /* Été */
    CU_ASSERT_EQUAL(match("^\\p{L}+$", "\xc3\x89t\xc3\xa9" "1"), 0);
    CU_ASSERT_EQUAL(match("^\\p{Han}{2}$", "\xe6\xbc\xa2\xe5\xad\x97"), 1);
    CU_ASSERT_EQUAL(match("^[\xc3\xa0-\xc3\xbf]$", "\xc3\xa9"), 1); /* [à-ÿ] */
    CU_ASSERT_EQUAL(match("^[\xc3\xa0-\xc3\xbf]$", "e"), 0);
    /* invalid UTF-8 in the subject does not raise an error */
    CU_ASSERT_EQUAL(match("b", "a\xff" "b"), 1);
    CU_ASSERT_EQUAL(match("^a$", "a\xff"), 0);
    /* a subject with an embedded NUL is matched over its whole length */
    char err[128];
    rule *r = rule_compile("b$", err, sizeof err);
    rule_scratch *sc = rule_scratch_new();
    CU_ASSERT_EQUAL(rule_match(r, sc, "a\0b", 3, err, sizeof err), 1);
    CU_ASSERT_EQUAL(rule_match(r, sc, "a\0b", 2, err, sizeof err), 0);
    CU_ASSERT_EQUAL(rule_match(r, sc, NULL, 0, err, sizeof err), 0);
    rule_scratch_free(sc);
    rule_free(r);
}

/* ---- replacing ---- */

static void test_replace(void)
{
    CU_ASSERT_STRING_EQUAL(replace("[^0-9]", "(555) 123-4567", ""), "5551234567");
    CU_ASSERT_STRING_EQUAL(replace("\\s+", "  a   b  c ", " "), " a b c ");
    CU_ASSERT_STRING_EQUAL(replace("x", "abc", "y"), "abc");
    CU_ASSERT_STRING_EQUAL(replace("x", "", "y"), "");
    CU_ASSERT_STRING_EQUAL(replace("^", "abc", ">"), ">abc");
    CU_ASSERT_STRING_EQUAL(replace("(\\d{4})-(\\d{2})-(\\d{2})", "31.12: 2024-12-31", "$3/$2/$1"),
                           "31.12: 31/12/2024");
    CU_ASSERT_STRING_EQUAL(replace("(?<w>\\w+)@", "joe@example.org", "${w} at "),
                           "joe at example.org");
    CU_ASSERT_STRING_EQUAL(replace("(a)|b", "ab", "[$1]"), "[a][]"); /* unset group = "" */
    CU_ASSERT_STRING_EQUAL(replace("(\\w+)", "ab cd", "\\U$1"), "AB CD");
    CU_ASSERT_STRING_EQUAL(replace("\\p{Zs}", "a\xc2\xa0" "b\xe3\x80\x80" "c", "_"), "a_b_c");
    CU_ASSERT_STRING_EQUAL(replace("\xc3\xa9", "\xc3\xa9t\xc3\xa9", "e"), "ete");
}

static void test_replace_grow(void)
{
    char err[128];
    rule *r = rule_compile("a", err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    rule_scratch *sc = rule_scratch_new();
    strbuf out = STRBUF_INIT;
    char big[2001];
    memset(big, 'a', 2000);
    big[2000] = '\0';
    CU_ASSERT_EQUAL(rule_replace(r, sc, big, 2000, "<$0$0>", &out, err, sizeof err), 0);
    CU_ASSERT_EQUAL(out.len, 8000);
    CU_ASSERT_EQUAL(strlen(sb_str(&out)), 8000);
    CU_ASSERT(memcmp(out.buf, "<aa><aa>", 8) == 0);
    CU_ASSERT(memcmp(out.buf + 7996, "<aa>", 5) == 0);
    /* the same buffer, now bigger than needed, is reset first */
    CU_ASSERT_EQUAL(rule_replace(r, sc, "bab", 3, "A", &out, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&out), "bAb");
    CU_ASSERT_EQUAL(out.len, 3);
    sb_free(&out);
    rule_scratch_free(sc);
    rule_free(r);
}

/* A one-class rule ("[^0-9]") is replaced without PCRE2 (rule.c): the same
 * result as PCRE2 gives for the same class wrapped in a group, which is not
 * taken for a class, on ASCII, multi-byte, invalid UTF-8 and NUL bytes. */
static void test_replace_class(void)
{
    static const char *classes[] = {"[^0-9]", "[0-9]", "[a-fA-F]", "[^ a-z.]", "[ ()+]",
                                    "[^x]", "[^~]", "[a-a]"};
    static const struct {
        const char *s;
        size_t n;
    } subj[] = {
#define S(lit) {lit, sizeof lit - 1}
        S("+49 (30) 1234-5678"),
        S(""),
        S("0123456789"),
        S("caf\xc3\xa9 \xe2\x82\xac" "1 \xf0\x9f\x98\x80" "x"),
        S("a\0b1"),                       /* a NUL byte inside */
        S("1\xff" "2"),                   /* not UTF-8: PCRE2 decides */
        S("1\xc3"),                       /* cut short */
        S("\xed\xa0\x80" "9"),          /* a surrogate */
        S("\xc0\xaf" "9"),               /* overlong */
        S("\x7f\x01 ~x"),
#undef S
    };
    static const char *withs[] = {"", "#", "\xc3\xa9\xc3\xa9", "$0$0", "\\U$0"};
    char err[256];
    rule_scratch *sc = rule_scratch_new();
    strbuf fast = STRBUF_INIT, slow = STRBUF_INIT;
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        char grouped[64];
        snprintf(grouped, sizeof grouped, "(?:%s)", classes[i]);
        rule *a = rule_compile(classes[i], err, sizeof err);
        rule *b = rule_compile(grouped, err, sizeof err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        for (size_t j = 0; j < sizeof subj / sizeof *subj; j++)
            for (size_t k = 0; k < sizeof withs / sizeof *withs; k++) {
                sb_puts(&fast, "stale");
                int ra = rule_replace(a, sc, subj[j].s, subj[j].n, withs[k], &fast, err, sizeof err);
                int rb = rule_replace(b, sc, subj[j].s, subj[j].n, withs[k], &slow, err, sizeof err);
                CU_ASSERT_EQUAL(ra, rb);
                CU_ASSERT_EQUAL(fast.len, slow.len);
                if (fast.len != slow.len || memcmp(sb_str(&fast), sb_str(&slow), slow.len) != 0) {
                    CU_FAIL("class replacement differs from PCRE2's");
                    fprintf(stderr, "  class %s, subject %zu, with \"%s\"\n", classes[i], j,
                            withs[k]);
                }
                CU_ASSERT_EQUAL(fast.buf[fast.len], '\0');
            }
        rule_free(a);
        rule_free(b);
    }
    /* the phone of mappings/applications.xml */
    CU_ASSERT_STRING_EQUAL(replace("[^0-9]", "+49 (30) 1234-5678", ""), "493012345678");
    CU_ASSERT_STRING_EQUAL(replace("[^0-9]", "\xe2\x82\xac" "12", "?"), "?12");
    /* not a class this path takes: still PCRE2's */
    CU_ASSERT_STRING_EQUAL(replace("[]a]", "a]b", "-"), "--b");
    CU_ASSERT_STRING_EQUAL(replace("[a-]", "a-b", "+"), "++b");
    CU_ASSERT_STRING_EQUAL(replace("[\\d]", "a1", "+"), "a+");
    CU_ASSERT_STRING_EQUAL(replace("[0-9]+", "a12b3", "#"), "a#b#");
    CU_ASSERT_STRING_EQUAL(replace("[[:digit:]]", "a1", "+"), "a+");
    sb_free(&fast);
    sb_free(&slow);
    rule_scratch_free(sc);
}

/* ---- errors ---- */

static void test_errors(void)
{
    char err[256];
    CU_ASSERT_PTR_NULL(rule_compile("[a-", err, sizeof err));
    CU_ASSERT_STRING_EQUAL(err,
        "bad regex \"[a-\": missing terminating ] for character class at offset 3");
    CU_ASSERT_PTR_NULL(rule_compile("(abc", err, sizeof err));
    CU_ASSERT_STRING_EQUAL(err, "bad regex \"(abc\": missing closing parenthesis at offset 4");
    CU_ASSERT_PTR_NULL(rule_compile("a{2,1}", err, sizeof err));
    CU_ASSERT(strncmp(err, "bad regex \"a{2,1}\": ", 20) == 0);
    /* a small error buffer is cut, not overrun */
    char tiny[10];
    CU_ASSERT_PTR_NULL(rule_compile("[a-", tiny, sizeof tiny));
    CU_ASSERT_STRING_EQUAL(tiny, "bad regex");

    /* a bad replacement is reported, naming the replacement and the regex */
    CU_ASSERT_STRING_EQUAL(replace("(a)", "abc", "$2"),
                           "ERR: replacing with \"$2\" by regex \"(a)\": unknown substring");
    CU_ASSERT(strncmp(replace("a", "abc", "${1"), "ERR: replacing with \"${1\" by regex", 34) == 0);
}

/* ---- reuse ---- */

static void test_scratch_reuse(void)
{
    char err[128];
    rule *phone = rule_compile("^\\+?[0-9 ()-]{7,20}$", err, sizeof err);
    rule *digits = rule_compile("[^0-9]", err, sizeof err);
    /* 40 capture groups: more than the scratch starts with */
    char many[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(many, "(.)");
    rule *wide = rule_compile(many, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(phone);
    CU_ASSERT_PTR_NOT_NULL_FATAL(digits);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wide);
    CU_ASSERT_STRING_EQUAL(rule_source(phone), "^\\+?[0-9 ()-]{7,20}$");

    rule_scratch *sc = rule_scratch_new();
    strbuf out = STRBUF_INIT;
    int matched = 0, ok = 1;
    for (int i = 0; i < 10000; i++) {
        char s[64];
        int n = snprintf(s, sizeof s, "+1 (%03d) %03d-%04d%s", i % 1000, i % 997, i,
                         i % 10 == 0 ? "x" : "");
        int m = rule_match(phone, sc, s, (size_t)n, err, sizeof err);
        matched += m == 1;
        if (m != (i % 10 == 0 ? 0 : 1))
            ok = 0;
        if (rule_replace(digits, sc, s, (size_t)n, "", &out, err, sizeof err) < 0)
            ok = 0;
        char want[64];
        snprintf(want, sizeof want, "1%03d%03d%04d", i % 1000, i % 997, i);
        if (strcmp(sb_str(&out), want) != 0)
            ok = 0;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(matched, 9000);

    /* the scratch grows for a rule with many captures and still serves the others */
    char subj[64];
    for (int i = 0; i < 45; i++)
        subj[i] = (char)('A' + i % 26);
    subj[45] = '\0';
    CU_ASSERT_EQUAL(rule_match(wide, sc, subj, 45, err, sizeof err), 1);
    CU_ASSERT_EQUAL(rule_replace(wide, sc, subj, 40, "$40$1", &out, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&out), "NA");
    CU_ASSERT_EQUAL(rule_replace(digits, sc, "a1b2", 4, "", &out, err, sizeof err), 0);
    CU_ASSERT_STRING_EQUAL(sb_str(&out), "12");
    CU_ASSERT_EQUAL(rule_match(wide, sc, "short", 5, err, sizeof err), 0);

    sb_free(&out);
    rule_scratch_free(sc);
    rule_free(wide);
    rule_free(digits);
    rule_free(phone);
    rule_free(NULL);
    rule_scratch_free(NULL);
}

int main(void)
{
    UNIT_BEGIN("rule");
    UNIT_TEST(test_match);
    UNIT_TEST(test_match_utf8);
    UNIT_TEST(test_replace);
    UNIT_TEST(test_replace_grow);
    UNIT_TEST(test_replace_class);
    UNIT_TEST(test_errors);
    UNIT_TEST(test_scratch_reuse);
    UNIT_END();
}
