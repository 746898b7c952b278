/* tool_config.c — the --config FILE format: one long option per line.
 *
 *   # nightly load of the application exports
 *   mapping    = /etc/migrate/applications.xml
 *   connect    = Driver=PostgreSQL Unicode;Server=db1;Database=loans;UID=loader
 *   password-file = /etc/migrate/loans.pw
 *   workers    = 4
 *   preload-keys = yes
 *   input      = /srv/exports/apps-*.xml.gz
 *
 * A line is blank, a comment (its first non-blank character is '#'), or
 * `key = value`: the key is a long option without its dashes, the value
 * everything after the first '=' with the blanks around it removed (a value
 * may hold '=', ';' and '#'; one pair of surrounding double quotes is
 * dropped).  Options without a value take yes/no (true/false, on/off, 1/0,
 * or nothing = yes).  `input` (repeatable) names input files, with shell
 * wildcards expanded here, in sorted order; they are used only when the
 * command line names none.  This file only reads and splits: the keys are
 * checked and applied by tool_getparam.c, which knows the options, and any
 * problem there is reported as FILE:LINE as well. */
#include "config.h"
#include "tool_getparam.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "tool.h"

/* Writes "FILE:LINE: reason" (or the reason alone when file is NULL) into
 * msg; returns code. */
__attribute__((format(printf, 6, 7)))
static int fail_at(int code, char *msg, size_t msglen, const char *file, size_t line,
                   const char *fmt, ...)
{
    int n = file ? snprintf(msg, msglen, "%s:%zu: ", file, line) : 0;
    if (n < 0 || (size_t)n >= msglen)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, msglen - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

/* Returns s with blanks removed at both ends (in place). */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* Appends one entry to cf. */
static void add_entry(tool_cfgfile *cf, const char *key, const char *val, size_t line)
{
    if (cf->n == cf->cap) {
        cf->cap = cf->cap ? cf->cap * 2 : 16;
        cf->items = xrealloc(cf->items, cf->cap * sizeof *cf->items);
    }
    tool_cfgitem *it = &cf->items[cf->n++];
    it->key = xstrdup(key);
    it->value = xstrdup(val);
    it->line = line;
}

/* Returns 0 after adding the files pattern names (sorted; the pattern
 * itself when nothing matches, so that the load reports it missing). */
static int add_inputs(tool_cfgfile *cf, const char *pattern)
{
    glob_t g;
    memset(&g, 0, sizeof g);
    int rc = glob(pattern, GLOB_NOCHECK, NULL, &g);
    if (rc != 0) {
        globfree(&g);
        return -1;
    }
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (cf->ninputs == cf->cap_inputs) {
            cf->cap_inputs = cf->cap_inputs ? cf->cap_inputs * 2 : 16;
            cf->inputs = xrealloc(cf->inputs, cf->cap_inputs * sizeof *cf->inputs);
        }
        cf->inputs[cf->ninputs++] = xstrdup(g.gl_pathv[i]);
    }
    globfree(&g);
    return 0;
}

int tool_cfgfile_read(tool_cfgfile *cf, const char *file, char *msg, size_t msglen)
{
    memset(cf, 0, sizeof *cf);
    cf->path = xstrdup(file);
    FILE *f = fopen(file, "r");
    if (!f)
        return fail_at(EXIT_NOINPUT, msg, msglen, NULL, 0, "cannot read config file %s: %s",
                       file, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, lineno = 0;
    int rc = 0;
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        lineno++;
        char *line = trim(buf);
        if (!*line || *line == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = fail_at(EXIT_USAGE, msg, msglen, file, lineno,
                         "expected \"key = value\", found \"%.60s\"", line);
            break;
        }
        *eq = '\0';
        char *key = trim(line), *val = trim(eq + 1);
        size_t vn = strlen(val);
        if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') {
            val[vn - 1] = '\0';
            val++;
        }
        if (!*key) {
            rc = fail_at(EXIT_USAGE, msg, msglen, file, lineno, "a value without a key");
            break;
        }
        if (strcmp(key, "input") == 0) {
            if (!*val)
                rc = fail_at(EXIT_USAGE, msg, msglen, file, lineno, "input: empty file name");
            else if (add_inputs(cf, val) != 0)
                rc = fail_at(EXIT_USAGE, msg, msglen, file, lineno,
                             "input: cannot expand \"%s\"", val);
            continue;
        }
        add_entry(cf, key, val, lineno);
    }
    if (rc == 0 && ferror(f))
        rc = fail_at(EXIT_NOINPUT, msg, msglen, NULL, 0, "cannot read config file %s: %s",
                     file, strerror(errno));
    free(buf);
    fclose(f);
    return rc;
}

int tool_cfg_bool(const char *v)
{
    static const char *const yes[] = {"", "yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    return -1;
}

void tool_cfgfile_free(tool_cfgfile *cf)
{
    for (size_t i = 0; i < cf->n; i++) {
        /* a value may be a connection string with a password: wipe it */
        explicit_bzero(cf->items[i].value, strlen(cf->items[i].value));
        free(cf->items[i].key);
        free(cf->items[i].value);
    }
    for (size_t i = 0; i < cf->ninputs; i++)
        free(cf->inputs[i]);
    free(cf->items);
    free(cf->inputs);
    free(cf->path);
    memset(cf, 0, sizeof *cf);
}
