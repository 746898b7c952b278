/* err.c — error records and the allocation wrappers (see err.h). */
#include "config.h"
#include "err.h"

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

/* Returns the length of a password key ("pwd" or "password") at p, else 0. */
static size_t pw_key_len(const char *p)
{
    if (strncasecmp(p, "password", 8) == 0)
        return 8;
    if (strncasecmp(p, "pwd", 3) == 0)
        return 3;
    return 0;
}

void err_redact(char *s)
{
    for (char *p = s; *p; p++) {
        size_t k = pw_key_len(p);
        if (!k || (p > s && (isalnum((unsigned char)p[-1]) || p[-1] == '_')))
            continue;
        char *q = p + k;
        while (*q == ' ')
            q++;
        if (*q != '=')
            continue;
        q++;
        char *v = q, *end;
        if (*v == '{') {
            end = strchr(v, '}');
            end = end ? end + 1 : v + strlen(v);
        } else {
            end = v + strcspn(v, "; \t");
        }
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
