/* connstr.c — the one parser of ODBC connection strings ("KEY=value;..."
 * with {braced} values where "}}" is an escaped brace).  db.c uses it to
 * take the password out and read keys; err.c uses it to redact passwords
 * from messages.  It needs no ODBC library, so the fuzz targets and the
 * redactor link it alone.  Declared in db.h. */
#include "config.h"
#include "db.h"

#include <string.h>
#include <strings.h>

int db_connstr_key_is(const char *key, size_t len, const char *name)
{
    while (len && *key == ' ') {
        key++;
        len--;
    }
    while (len && key[len - 1] == ' ')
        len--;
    return len == strlen(name) && strncasecmp(key, name, len) == 0;
}

/* Returns the end of the connection-string value that starts at v: after
 * its {...} block ("}}" is an escaped brace), else at ';' or the end. */
static const char *value_end(const char *v)
{
    if (*v != '{')
        return v + strcspn(v, ";");
    const char *p = v + 1;
    for (;;) {
        if (!*p)
            return p;
        if (*p == '}') {
            if (p[1] != '}')
                return p + 1;
            p++;
        }
        p++;
    }
}

int db_connstr_next(const char *p, db_cs_item *it)
{
    if (!*p)
        return 0;
    size_t klen = strcspn(p, "=;");
    it->start = p;
    it->klen = klen;
    it->value = it->vend = NULL;
    it->password = 0;
    if (p[klen] != '=') {
        it->next = p[klen] ? p + klen + 1 : p + klen;
        return 1;
    }
    it->password = db_connstr_key_is(p, klen, "PWD") || db_connstr_key_is(p, klen, "Password");
    const char *v = p + klen + 1;
    while (*v == ' ')
        v++;
    it->value = v;
    it->vend = value_end(v);
    const char *e = it->vend + strcspn(it->vend, ";");
    it->next = *e ? e + 1 : e;
    return 1;
}

