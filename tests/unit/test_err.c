/* test_err.c — the error records: password redaction of driver text, read
 * with the one connection-string parser (db_connstr_next), on hostile
 * strings. */
#include "config.h"

#include <string.h>

#include "err.h"
#include "unit.h"

/* Redacts a copy of in and checks it reads want. */
static void redacts(const char *in, const char *want)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", in);
    err_redact(buf);
    CU_ASSERT_STRING_EQUAL(buf, want);
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "\n  redact(%s) = %s, want %s\n", in, buf, want);
}

/* Escaped braces, spaces in a value, ';' inside braces. */
static void test_redact_values(void)
{
    redacts("PWD={se}}cret}", "PWD=***");
    redacts("Password=top secret", "Password=***");
    redacts("DSN=x;PWD={a;b};UID=u", "DSN=x;PWD=***;UID=u");
    redacts("PWD={a;b}}c;d}}};Server=h", "PWD=***;Server=h");
    redacts("PWD={unterminated;rest", "PWD=***");
    redacts("PWD=", "PWD=***");
    redacts("PWD=plain;UID=u", "PWD=***;UID=u");
}

/* Key spelling: case, spaces around the key and the '=', repeats. */
static void test_redact_keys(void)
{
    redacts("pwd=x;uid=u", "pwd=***;uid=u");
    redacts("PaSsWoRd=x", "PaSsWoRd=***");
    redacts("DSN=x; PWD = secret ;UID=u", "DSN=x; PWD = ***;UID=u");
    redacts("Driver=D; password  =  {s p;a}}ce} ;X=1", "Driver=D; password  =  *** ;X=1");
    redacts("PWD=a;PWD=b;pwd={c}", "PWD=***;PWD=***;pwd=***");
    redacts("PWD=a;Password=b c", "PWD=***;Password=***");
}

/* Not a password: other keys that contain the word, prose without '='. */
static void test_redact_not_password(void)
{
    redacts("UserPWD=x;DSN=a", "UserPWD=x;DSN=a");
    redacts("PWDX=1;DSN=a", "PWDX=1;DSN=a");
    redacts("my_password=1", "my_password=1");
    redacts("password expired; call the DBA", "password expired; call the DBA");
}

/* Inside a driver message: everything after the key up to the value's end
 * goes, nothing of the value is left. */
static void test_redact_in_message(void)
{
    redacts("[unixODBC]login failed (DSN=pg;PWD={se}}cret};UID=a)",
            "[unixODBC]login failed (DSN=pg;PWD=***;UID=a)");
    redacts("bad string 'Server=h;Password=top secret'", "bad string 'Server=h;Password=***");
    mig_err e;
    err_set(&e, MIG_ECONNECT, "cannot connect: %s", "Driver=X;PWD={se}}cret};Server=h");
    CU_ASSERT_STRING_EQUAL(e.msg, "cannot connect: Driver=X;PWD=***;Server=h");
    CU_ASSERT_PTR_NULL(strstr(e.msg, "cret"));
}

int main(void)
{
    UNIT_BEGIN("err");
    UNIT_TEST(test_redact_values);
    UNIT_TEST(test_redact_keys);
    UNIT_TEST(test_redact_not_password);
    UNIT_TEST(test_redact_in_message);
    UNIT_END();
}
