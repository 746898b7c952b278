/* err.c — error records and the allocation wrappers (see err.h). */
#include "config.h"
#include "err.h"

#include "db.h" /* db_connstr_next: the one connection-string parser */

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int err_set(mig_err *e, mig_status status, const char *fmt, ...)
{
    if (!e)
        return -1;
    va_list ap;
    e->status = status;
    e->sqlstate[0] = '\0';
    e->native = 0;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    err_redact(e->msg);
    return -1;
}

int err_prefix(mig_err *e, const char *fmt, ...)
{
    if (!e)
        return -1;
    char pre[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t pl = strlen(pre) + 2, ml = strlen(e->msg), cap = sizeof e->msg - 1;
    if (pl >= cap)
        pl = cap;
    if (ml > cap - pl)
        ml = cap - pl;
    memmove(e->msg + pl, e->msg, ml);
    e->msg[pl + ml] = '\0';
    memcpy(e->msg, pre, pl - 2);
    memcpy(e->msg + pl - 2, ": ", 2);
    err_redact(e->msg);
    return -1;
}

void err_clear(mig_err *e)
{
    if (!e)
        return;
    e->status = MIG_OK;
    e->sqlstate[0] = '\0';
    e->native = 0;
    e->msg[0] = '\0';
}

/* Returns 1 if a password key ("pwd" or "password", any case) starts a
 * word at p in s. */
static int pw_key_at(const char *s, const char *p)
{
    if (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
        return 0;
    return strncasecmp(p, "password", 8) == 0 || strncasecmp(p, "pwd", 3) == 0;
}

/* Text from a driver may hold a connection string anywhere in it: each
 * place where a password key starts a word is read as a connection-string
 * item by the one parser of that format (db_connstr_next), so a value
 * ends where a connection string's value ends ("}}" inside braces, ';'
 * inside braces, spaces in an unbraced value) and nothing of it is left. */
void err_redact(char *s)
{
    for (char *p = s; *p; p++) {
        db_cs_item it;
        if (!pw_key_at(s, p) || !db_connstr_next(p, &it) || !it.password || !it.value)
            continue;
        char *v = p + (it.value - p), *end = p + (it.vend - p);
        memmove(v + 3, end, strlen(end) + 1);
        memcpy(v, "***", 3);
        p = v + 2;
    }
}

static void oom(void)
{
    fputs("migrate: out of memory\n", stderr);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom();
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        oom();
    return p;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}
