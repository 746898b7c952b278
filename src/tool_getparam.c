/* tool_getparam.c — the command line, parsed and checked.
 *
 * Reads argv with getopt_long into a `struct tool_config` (tool_getparam.h):
 * numbers in range, enums by name, one target only, a mapping, inputs that
 * fit the command.  It builds the db_target the engine connects with: the
 * connection string without any password, the password (from
 * --password-file, MIGRATE_PASSWORD or the string's own PWD=) in
 * target.password.  A password written in --connect is overwritten in argv
 * so that `ps` shows PWD=***.  Nothing here prints: the caller gets an exit
 * code and one line of reason. */
#include "config.h"
#include "tool_getparam.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "dialect.h"
#include "err.h"
#include "strbuf.h"
#include "tool.h"

/* ---- the options ---- */

enum {
    OPT_DB = 256,
    OPT_CONNECT,
    OPT_DSN,
    OPT_DIALECT,
    OPT_PASSWORD_FILE,
    OPT_CONNECT_TIMEOUT,
    OPT_LOAD,
    OPT_CREATE_TABLES,
    OPT_ON_DUPLICATE,
    OPT_PRELOAD_KEYS,
    OPT_SCHEMA,
    OPT_PROGRESS,
    OPT_QUIET,
    OPT_PRINT_DDL,
    OPT_KEY_MEMORY,
    OPT_NO_PROGRESS,
    OPT_PROGRESS_INTERVAL,
    OPT_SUMMARY_JSON,
    OPT_CONFIG,
    OPT_QUERY_TIMEOUT,
    OPT_RETRY_FOR,
    OPT_MAX_RECORD_BYTES,
    OPT_NO_LEDGER,
    OPT_RELOAD,
    OPT_LOCK_WAIT
};

static const struct option long_options[] = {
    {"mapping", required_argument, NULL, 'm'},
    {"db", required_argument, NULL, OPT_DB},
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"dsn", required_argument, NULL, OPT_DSN},
    {"dialect", required_argument, NULL, OPT_DIALECT},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"query-timeout", required_argument, NULL, OPT_QUERY_TIMEOUT},
    {"retry-for", required_argument, NULL, OPT_RETRY_FOR},
    {"load", required_argument, NULL, OPT_LOAD},
    {"create-tables", no_argument, NULL, OPT_CREATE_TABLES},
    {"workers", required_argument, NULL, 'w'},
    {"batch-size", required_argument, NULL, 'b'},
    {"queue-depth", required_argument, NULL, 'q'},
    {"on-duplicate", required_argument, NULL, OPT_ON_DUPLICATE},
    {"preload-keys", no_argument, NULL, OPT_PRELOAD_KEYS},
    {"key-memory", required_argument, NULL, OPT_KEY_MEMORY},
    {"max-record-bytes", required_argument, NULL, OPT_MAX_RECORD_BYTES},
    {"schema", required_argument, NULL, OPT_SCHEMA},
    {"rejects", required_argument, NULL, 'r'},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"progress-interval", required_argument, NULL, OPT_PROGRESS_INTERVAL},
    {"summary-json", required_argument, NULL, OPT_SUMMARY_JSON},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"no-ledger", no_argument, NULL, OPT_NO_LEDGER},
    {"reload", no_argument, NULL, OPT_RELOAD},
    {"lock-wait", required_argument, NULL, OPT_LOCK_WAIT},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"print-ddl", no_argument, NULL, OPT_PRINT_DDL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}
};

/* Leading ':' : a missing argument returns ':' instead of '?'. */
static const char short_options[] = ":m:w:b:q:r:hV";

/* ---- small helpers ---- */

/* Writes a printf-formatted reason into msg; returns code. */
__attribute__((format(printf, 4, 5)))
static int fail(int code, char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return code;
}

static int parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out, char *msg, size_t msglen);

/* Returns 0 with the byte count s ("65536", "64K", "16M", "1G": binary
 * multiples) in *out when it lies in [lo, hi], else EXIT_USAGE. */
static int parse_bytes(const char *opt, const char *s, unsigned long lo, unsigned long hi,
                       unsigned long *out, char *msg, size_t msglen)
{
    char num[32];
    size_t n = strlen(s);
    unsigned long mult = 1;
    if (n && strchr("kKmMgG", s[n - 1])) {
        mult = strchr("kK", s[n - 1]) ? 1024UL : strchr("mM", s[n - 1]) ? 1024UL * 1024 : 1024UL * 1024 * 1024;
        n--;
    }
    if (n >= sizeof num)
        return fail(EXIT_USAGE, msg, msglen, "%s: \"%s\" is not a size", opt, s);
    memcpy(num, s, n);
    num[n] = '\0';
    unsigned long v = 0;
    if (parse_num(opt, num, 0, hi, &v, msg, msglen) != 0 || v > hi / mult || v * mult < lo)
        return fail(EXIT_USAGE, msg, msglen, "%s: \"%s\" is not a size from %lu to %lu bytes",
                    opt, s, lo, hi);
    *out = v * mult;
    return 0;
}

/* Returns 0 with the value of the decimal text s in *out when it lies in
 * [lo, hi], else EXIT_USAGE with the reason in msg. */
static int parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out, char *msg, size_t msglen)
{
    unsigned long v = 0;
    const char *p = s;
    if (!*p)
        return fail(EXIT_USAGE, msg, msglen, "%s: empty number", opt);
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return fail(EXIT_USAGE, msg, msglen, "%s: \"%s\" is not a number", opt, s);
        if (v <= hi)
            v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < lo || v > hi)
        return fail(EXIT_USAGE, msg, msglen, "%s: %s is out of range (%lu..%lu)", opt, s,
                    lo, hi);
    *out = v;
    return 0;
}

int tool_mask_password(char *s)
{
    int n = 0;
    db_cs_item it;
    for (const char *p = s; db_connstr_next(p, &it); p = it.next) {
        if (!it.password)
            continue;
        memset(s + (it.value - s), '*', (size_t)(it.vend - it.value));
        n++;
    }
    return n;
}

char *tool_default_rejects(const char *db_file)
{
    size_t n = strlen(db_file);
    strbuf sb = STRBUF_INIT;
    if (n > 3 && strcmp(db_file + n - 3, ".db") == 0 && db_file[n - 4] != '/')
        n -= 3;
    sb_append(&sb, db_file, n);
    sb_puts(&sb, ".rejects.xml");
    return sb_detach(&sb);
}

/* Returns 0 with the first line of file (newline stripped) in *pw, else
 * EXIT_NOINPUT naming the file. */
static int read_password_file(const char *file, char **pw, char *msg, size_t msglen)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return fail(EXIT_NOINPUT, msg, msglen, "cannot read password file %s: %s", file,
                    strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    errno = 0;
    ssize_t n = getline(&line, &cap, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    if (rerr) {
        if (line) {
            explicit_bzero(line, cap);
            free(line);
        }
        return fail(EXIT_NOINPUT, msg, msglen, "cannot read password file %s: %s", file,
                    strerror(rerr));
    }
    if (n < 0)
        n = 0;
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    *pw = xstrndup(line ? line : "", (size_t)n);
    if (line) {
        explicit_bzero(line, cap);
        free(line);
    }
    return 0;
}

/* ---- parsing ---- */

/* Returns 0 after one option was stored in cfg, else an exit code. */
static int take_option(struct tool_config *cfg, int c, char *arg, int *print_ddl,
                       char *msg, size_t msglen)
{
    unsigned long v = 0;
    int rc;
    switch (c) {
    case 'm':
        cfg->mapping_path = arg;
        return 0;
    case OPT_DB:
        if (!*arg)
            return fail(EXIT_USAGE, msg, msglen, "--db: empty file name");
        cfg->db_file = arg;
        return 0;
    case OPT_CONNECT:
        if (!*arg)
            return fail(EXIT_USAGE, msg, msglen, "--connect: empty connection string");
        free(cfg->target.connstr);
        cfg->target.connstr = xstrdup(arg);
        tool_mask_password(arg); /* after the copy: `ps` shows PWD=*** */
        cfg->have_connect = 1;
        return 0;
    case OPT_DSN:
        if (!*arg || strpbrk(arg, ";{}"))
            return fail(EXIT_USAGE, msg, msglen, "--dsn: bad data source name \"%s\"", arg);
        cfg->dsn = arg;
        return 0;
    case OPT_DIALECT:
        if (!dialect_by_name(arg))
            return fail(EXIT_USAGE, msg, msglen,
                        "--dialect: unknown database \"%s\" (sqlserver, postgresql, sqlite)",
                        arg);
        cfg->dialect = arg;
        return 0;
    case OPT_PASSWORD_FILE:
        cfg->password_file = arg;
        return 0;
    case OPT_CONNECT_TIMEOUT:
        if ((rc = parse_num("--connect-timeout", arg, 1, TOOL_TIMEOUT_MAX, &v, msg, msglen)))
            return rc;
        cfg->connect_timeout = (int)v;
        return 0;
    case OPT_QUERY_TIMEOUT:
        if ((rc = parse_num("--query-timeout", arg, 0, TOOL_QUERY_TIMEOUT_MAX, &v, msg, msglen)))
            return rc;
        cfg->query_timeout = (int)v;
        return 0;
    case OPT_RETRY_FOR:
        if ((rc = parse_num("--retry-for", arg, 1, TOOL_RETRY_FOR_MAX, &v, msg, msglen)))
            return rc;
        cfg->retry_for = (int)v;
        return 0;
    case OPT_LOAD:
        if (strcmp(arg, "insert") == 0)
            cfg->load = LOAD_INSERT;
        else if (strcmp(arg, "bcp") == 0)
            cfg->load = LOAD_BCP;
        else
            return fail(EXIT_USAGE, msg, msglen, "--load: \"%s\" is not insert or bcp", arg);
        return 0;
    case OPT_CREATE_TABLES:
        cfg->create_tables = 1;
        return 0;
    case 'w':
        if ((rc = parse_num("--workers", arg, 1, TOOL_WORKERS_MAX, &v, msg, msglen)))
            return rc;
        cfg->workers = v;
        return 0;
    case 'b':
        if ((rc = parse_num("--batch-size", arg, 1, TOOL_BATCH_MAX, &v, msg, msglen)))
            return rc;
        cfg->batch_size = v;
        return 0;
    case 'q':
        if ((rc = parse_num("--queue-depth", arg, 1, TOOL_QUEUE_MAX, &v, msg, msglen)))
            return rc;
        cfg->queue_depth = v;
        return 0;
    case OPT_ON_DUPLICATE:
        if (strcmp(arg, "skip") == 0)
            cfg->on_dup = DUP_SKIP;
        else if (strcmp(arg, "update") == 0)
            cfg->on_dup = DUP_UPDATE;
        else if (strcmp(arg, "error") == 0)
            cfg->on_dup = DUP_ERROR;
        else
            return fail(EXIT_USAGE, msg, msglen,
                        "--on-duplicate: \"%s\" is not skip, update or error", arg);
        return 0;
    case OPT_PRELOAD_KEYS:
        cfg->preload_keys = 1;
        return 0;
    case OPT_KEY_MEMORY:
        if ((rc = parse_num("--key-memory", arg, 0, 1024 * 1024, &v, msg, msglen)))
            return rc;
        cfg->key_memory_mb = v;
        return 0;
    case OPT_MAX_RECORD_BYTES:
        if ((rc = parse_bytes("--max-record-bytes", arg, TOOL_MAX_RECORD_MIN,
                              TOOL_MAX_RECORD_MAX, &v, msg, msglen)))
            return rc;
        cfg->max_record_bytes = v;
        return 0;
    case OPT_SCHEMA:
        if (!*arg)
            return fail(EXIT_USAGE, msg, msglen, "--schema: empty file name");
        cfg->schema_path = arg;
        return 0;
    case 'r':
        if (!*arg)
            return fail(EXIT_USAGE, msg, msglen, "--rejects: empty file name");
        free(cfg->rejects_path);
        cfg->rejects_path = xstrdup(arg);
        return 0;
    case OPT_PROGRESS:
        cfg->progress = 1;
        return 0;
    case OPT_NO_PROGRESS:
        cfg->progress = 0;
        return 0;
    case OPT_PROGRESS_INTERVAL:
        if ((rc = parse_num("--progress-interval", arg, 1, TOOL_TIMEOUT_MAX, &v, msg, msglen)))
            return rc;
        cfg->progress_interval = v;
        return 0;
    case OPT_SUMMARY_JSON:
        if (!*arg)
            return fail(EXIT_USAGE, msg, msglen, "--summary-json: empty file name");
        cfg->summary_json = arg;
        return 0;
    case OPT_CONFIG:
        /* read before everything else (see find_config); an abbreviated
         * spelling was not seen there */
        if (!cfg->have_file)
            return fail(EXIT_USAGE, msg, msglen, "write --config in full");
        return 0;
    case OPT_QUIET:
        cfg->quiet = 1;
        return 0;
    case OPT_NO_LEDGER:
        cfg->no_ledger = 1;
        return 0;
    case OPT_RELOAD:
        cfg->reload = 1;
        return 0;
    case OPT_LOCK_WAIT:
        if ((rc = parse_num("--lock-wait", arg, 0, TOOL_LOCK_WAIT_MAX, &v, msg, msglen)))
            return rc;
        cfg->lock_wait = v;
        return 0;
    case OPT_PRINT_DDL:
        *print_ddl = 1;
        return 0;
    default:
        return fail(EXIT_SOFTWARE, msg, msglen, "unhandled option %d", c);
    }
}

/* Returns 0 when the command, target and inputs fit together, else 64. */
static int check_combination(struct tool_config *cfg, char *msg, size_t msglen)
{
    if (cfg->db_file && cfg->have_connect)
        return fail(EXIT_USAGE, msg, msglen, "--db and --connect cannot be used together");
    if (cfg->db_file && cfg->dsn)
        return fail(EXIT_USAGE, msg, msglen, "--db and --dsn cannot be used together");
    if (cfg->have_connect && cfg->dsn)
        return fail(EXIT_USAGE, msg, msglen, "--connect and --dsn cannot be used together");
    if (cfg->cmd == CMD_PING && cfg->ninputs)
        return fail(EXIT_USAGE, msg, msglen, "ping takes no input files");
    if ((!cfg->mapping_path || !*cfg->mapping_path) && cfg->cmd != CMD_PING)
        return fail(EXIT_USAGE, msg, msglen, "no mapping file given (-m MAPPING)");

    const dialect *d = cfg->dialect ? dialect_by_name(cfg->dialect) : NULL;
    if (cfg->load == LOAD_BCP && d && strcmp(d->name, "sqlserver") != 0)
        return fail(EXIT_USAGE, msg, msglen, "--load bcp needs --dialect sqlserver, not %s",
                    d->name);

    switch (cfg->cmd) {
    case CMD_PRINT_DDL:
        if (cfg->ninputs)
            return fail(EXIT_USAGE, msg, msglen, "--print-ddl takes no input files");
        return 0;
    case CMD_INIT_DB:
        if (cfg->ninputs)
            return fail(EXIT_USAGE, msg, msglen, "init-db takes no input files");
        break;
    case CMD_LOAD:
    case CMD_CHECK: {
        if (!cfg->ninputs && cfg->cmd == CMD_LOAD)
            return fail(EXIT_USAGE, msg, msglen, "no input files given");
        int stdin_seen = 0;
        for (size_t i = 0; i < cfg->ninputs; i++) {
            if (!*cfg->inputs[i])
                return fail(EXIT_USAGE, msg, msglen, "empty input file name");
            if (strcmp(cfg->inputs[i], "-") == 0 && stdin_seen++)
                return fail(EXIT_USAGE, msg, msglen, "standard input (-) given twice");
        }
        break;
    }
    default:
        break;
    }

    if (cfg->sqlite_target && cfg->cmd != CMD_CHECK) { /* check connects nowhere */
        if (d && strcmp(d->name, "sqlite") != 0)
            return fail(EXIT_USAGE, msg, msglen,
                        "--dialect %s does not fit an SQLite database file (--db)", d->name);
        if (cfg->load == LOAD_BCP)
            return fail(EXIT_USAGE, msg, msglen,
                        "--load bcp needs a SQL Server target (--connect or --dsn)");
        if (cfg->password_file)
            return fail(EXIT_USAGE, msg, msglen,
                        "--password-file needs a server target (--connect or --dsn)");
    }
    return 0;
}

/* Returns 0 after building cfg->target (connection string, password,
 * dialect, timeout, load method), else 66 for an unreadable password file. */
static int build_target(struct tool_config *cfg, char *msg, size_t msglen)
{
    db_target *t = &cfg->target;
    if (cfg->sqlite_target) {
        db_target_sqlite(t, cfg->db_file ? cfg->db_file : TOOL_DEFAULT_DB);
    } else {
        char *pw = NULL;
        if (cfg->dsn) {
            strbuf sb = STRBUF_INIT;
            sb_printf(&sb, "DSN=%s", cfg->dsn);
            t->connstr = sb_detach(&sb);
        }
        /* The string's own PWD= is the last choice; it never stays in connstr. */
        db_connstr_take_password(t->connstr, &pw);
        const char *env = getenv("MIGRATE_PASSWORD");
        if (cfg->password_file || env) {
            if (pw) {
                explicit_bzero(pw, strlen(pw));
                free(pw);
                pw = NULL;
            }
            if (cfg->password_file) {
                int rc = read_password_file(cfg->password_file, &pw, msg, msglen);
                if (rc)
                    return rc;
            } else {
                pw = xstrdup(env);
            }
        }
        t->password = pw;
    }
    if (cfg->dialect)
        t->dialect_name = cfg->dialect;
    t->connect_timeout = cfg->connect_timeout;
    t->query_timeout = cfg->query_timeout;
    t->load = cfg->load;
    return 0;
}

/* Returns the error for getopt_long's '?' or ':' at argv[optind - 1]. */
static int bad_option(int c, int argc, char **argv, char *msg, size_t msglen)
{
    const char *word = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
    if (c == ':')
        return fail(EXIT_USAGE, msg, msglen, "option '%s' needs a value", word);
    if (optopt && optopt < 256)
        return fail(EXIT_USAGE, msg, msglen, "unknown option '-%c'", optopt);
    if (optopt)
        return fail(EXIT_USAGE, msg, msglen, "option '%s' takes no value", word);
    return fail(EXIT_USAGE, msg, msglen, "unknown or ambiguous option '%s'", word);
}

/* ---- --config FILE ---- */

/* Returns 1 when c chooses the target (--db, --connect, --dsn). */
static int is_target_option(int c)
{
    return c == OPT_DB || c == OPT_CONNECT || c == OPT_DSN;
}

/* A target option from the command line replaces the file's target as a
 * whole (so that `--dsn` on the command line is not "used together" with
 * the file's `db`). */
static void note_target(struct tool_config *cfg, int c, int from_file)
{
    if (!is_target_option(c))
        return;
    if (from_file) {
        cfg->target_from_file = 1;
    } else if (cfg->target_from_file) {
        cfg->db_file = NULL;
        cfg->dsn = NULL;
        cfg->have_connect = 0;
        free(cfg->target.connstr);
        cfg->target.connstr = NULL;
        cfg->target_from_file = 0;
    }
}

/* Returns the long option named exactly name, or NULL. */
static const struct option *option_named(const char *name)
{
    for (const struct option *o = long_options; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

/* Returns 0 after applying every line of the config file to cfg, else an
 * exit code with "FILE:LINE: reason". */
static int apply_file(struct tool_config *cfg, int *print_ddl, char *msg, size_t msglen)
{
    const tool_cfgfile *cf = &cfg->file;
    char why[900];
    for (size_t i = 0; i < cf->n; i++) {
        const tool_cfgitem *it = &cf->items[i];
        const struct option *o = option_named(it->key);
        if (!o)
            return fail(EXIT_USAGE, msg, msglen, "%s:%zu: unknown option '%s'", cf->path,
                        it->line, it->key);
        int c = o->val;
        if (c == OPT_CONFIG || c == 'h' || c == 'V')
            return fail(EXIT_USAGE, msg, msglen, "%s:%zu: '%s' cannot be set in a config file",
                        cf->path, it->line, it->key);
        if (o->has_arg == no_argument) {
            int yes = tool_cfg_bool(it->value);
            if (yes < 0)
                return fail(EXIT_USAGE, msg, msglen, "%s:%zu: %s: \"%s\" is not yes or no",
                            cf->path, it->line, it->key, it->value);
            if (!yes && c != OPT_PROGRESS && c != OPT_NO_PROGRESS)
                continue; /* a flag set to no: as if absent */
            if (!yes)
                c = c == OPT_PROGRESS ? OPT_NO_PROGRESS : OPT_PROGRESS;
        }
        note_target(cfg, c, 1);
        int rc = take_option(cfg, c, it->value, print_ddl, why, sizeof why);
        if (rc)
            return fail(rc, msg, msglen, "%s:%zu: %s", cf->path, it->line, why);
    }
    return 0;
}

/* Returns 0 after reading the file of the command line's --config (if
 * any) into cfg->file; else an exit code.  Only the full spelling counts:
 * "--config FILE" or "--config=FILE", before a "--". */
static int find_config(struct tool_config *cfg, int argc, char **argv, char *msg, size_t msglen)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *f = NULL;
        if (strcmp(a, "--") == 0)
            break;
        if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return fail(EXIT_USAGE, msg, msglen, "option '--config' needs a value");
            f = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            f = a + 9;
        } else {
            continue;
        }
        if (file)
            return fail(EXIT_USAGE, msg, msglen, "--config given twice");
        if (!*f)
            return fail(EXIT_USAGE, msg, msglen, "--config: empty file name");
        file = f;
    }
    if (!file)
        return 0;
    cfg->have_file = 1;
    return tool_cfgfile_read(&cfg->file, file, msg, msglen);
}

int tool_getparam(struct tool_config *cfg, int argc, char **argv, char *msg, size_t msglen)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->cmd = CMD_LOAD;
    cfg->connect_timeout = TOOL_TIMEOUT_DEF;
    cfg->retry_for = TOOL_RETRY_FOR_DEF;
    cfg->load = LOAD_DEFAULT;
    cfg->workers = TOOL_WORKERS_DEF;
    cfg->key_memory_mb = TOOL_KEY_MEMORY_DEF;
    cfg->max_record_bytes = TOOL_MAX_RECORD_DEF;
    cfg->batch_size = TOOL_BATCH_DEF;
    cfg->queue_depth = TOOL_QUEUE_DEF;
    cfg->on_dup = DUP_DEFAULT;
    cfg->progress = -1;
    cfg->progress_interval = TOOL_PROGRESS_IV_DEF;
    msg[0] = '\0';

    int print_ddl = 0, c, rc;
    /* the file first: the command line overrides it */
    if ((rc = find_config(cfg, argc, argv, msg, msglen)))
        return rc;
    if (cfg->have_file && (rc = apply_file(cfg, &print_ddl, msg, msglen)))
        return rc;
    optind = 0; /* GNU: full re-initialisation (tests parse several times) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        if (c == 'h') {
            cfg->cmd = CMD_HELP;
            return 0;
        }
        if (c == 'V') {
            cfg->cmd = CMD_VERSION;
            return 0;
        }
        if (c == '?' || c == ':')
            return bad_option(c, argc, argv, msg, msglen);
        note_target(cfg, c, 0);
        if ((rc = take_option(cfg, c, optarg, &print_ddl, msg, msglen)))
            return rc;
    }

    /* Positional words: [init-db | check | ping] INPUT... */
    int first = optind;
    static const struct { const char *word; tool_cmd cmd; } words[] = {
        {"init-db", CMD_INIT_DB}, {"check", CMD_CHECK}, {"ping", CMD_PING}};
    for (size_t i = 0; first < argc && i < sizeof words / sizeof *words; i++) {
        if (strcmp(argv[first], words[i].word) == 0) {
            cfg->cmd = words[i].cmd;
            first++;
            break;
        }
    }
    if (print_ddl) {
        if (cfg->cmd != CMD_LOAD)
            return fail(EXIT_USAGE, msg, msglen, "--print-ddl and %s exclude each other",
                        argv[first - 1]);
        cfg->cmd = CMD_PRINT_DDL;
    }
    /* the file's inputs when the command line names none */
    int from_file = first == argc && cfg->have_file &&
                    (cfg->cmd == CMD_LOAD || cfg->cmd == CMD_CHECK);
    size_t n = from_file ? cfg->file.ninputs : (size_t)(argc - first);
    cfg->inputs = xcalloc(n + 1, sizeof *cfg->inputs);
    for (size_t i = 0; i < n; i++)
        cfg->inputs[cfg->ninputs++] = from_file ? cfg->file.inputs[i] : argv[first + (int)i];

    cfg->sqlite_target = !cfg->have_connect && !cfg->dsn;
    if ((rc = check_combination(cfg, msg, msglen)))
        return rc;
    if (cfg->sqlite_target)
        cfg->create_tables = 1;
    if (cfg->cmd == CMD_PRINT_DDL || cfg->cmd == CMD_CHECK)
        return 0; /* no connection: no target, no reject file */

    if ((rc = build_target(cfg, msg, msglen)))
        return rc;
    if (!cfg->rejects_path)
        cfg->rejects_path = cfg->sqlite_target
            ? tool_default_rejects(cfg->db_file ? cfg->db_file : TOOL_DEFAULT_DB)
            : xstrdup(TOOL_DEFAULT_REJECTS);
    return 0;
}

void tool_config_free(struct tool_config *cfg)
{
    free(cfg->inputs);
    tool_cfgfile_free(&cfg->file);
    free(cfg->rejects_path);
    /* The connection string may still hold a PWD= (when the target was
     * never built): wipe both before they are freed. */
    if (cfg->target.password)
        explicit_bzero(cfg->target.password, strlen(cfg->target.password));
    if (cfg->target.connstr)
        explicit_bzero(cfg->target.connstr, strlen(cfg->target.connstr));
    if (cfg->target.connstr || cfg->target.password)
        db_target_free(&cfg->target);
    memset(cfg, 0, sizeof *cfg);
}
