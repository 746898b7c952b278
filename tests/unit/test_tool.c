/* test_tool.c — the pure parts of the command-line tool: option parsing and
 * checking, password masking, default paths, number formatting, the summary
 * layout and the exit-code table. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "tool.h"
#include "tool_getparam.h"
#include "unit.h"

/* ---- helpers ---- */

/* argv built from a NULL-terminated list of words, writable like the real one. */
typedef struct argv_buf {
    int argc;
    char *argv[32];
} argv_buf;

static void av_make(argv_buf *a, const char *const *words)
{
    a->argc = 0;
    for (; *words; words++)
        a->argv[a->argc++] = strdup(*words);
    a->argv[a->argc] = NULL;
}

static void av_free(argv_buf *a)
{
    for (int i = 0; i < a->argc; i++)
        free(a->argv[i]);
}

/* Parse words; returns the exit code, message in msg. */
static int parse(struct tool_config *cfg, char *msg, const char *const *words)
{
    argv_buf a;
    av_make(&a, words);
    int rc = tool_getparam(cfg, a.argc, a.argv, msg, 256);
    /* inputs point into argv: keep a copy of their text checked by the caller */
    if (rc == 0 && cfg->ninputs) {
        for (size_t i = 0; i < cfg->ninputs; i++)
            cfg->inputs[i] = strcmp(cfg->inputs[i], "in.xml") == 0 ? "in.xml"
                           : strcmp(cfg->inputs[i], "-") == 0 ? "-" : "other";
    }
    cfg->mapping_path = cfg->mapping_path ? "map" : NULL;
    av_free(&a);
    return rc;
}

#define W(...) ((const char *const[]){"migrate", __VA_ARGS__, NULL})

/* ---- connection strings ---- */

static void test_mask_password(void)
{
    char s1[] = "Driver=FreeTDS;Server=h;UID=sa;PWD=secret;Database=d";
    CU_ASSERT_EQUAL(tool_mask_password(s1), 1);
    CU_ASSERT_STRING_EQUAL(s1, "Driver=FreeTDS;Server=h;UID=sa;PWD=******;Database=d");
    char s2[] = "password = {a;b}}c};pwd=x";
    CU_ASSERT_EQUAL(tool_mask_password(s2), 2);
    CU_ASSERT_STRING_EQUAL(s2, "password = ********;pwd=*");
    char s3[] = "UserPWD=x;DSN=a";
    CU_ASSERT_EQUAL(tool_mask_password(s3), 0);
    CU_ASSERT_STRING_EQUAL(s3, "UserPWD=x;DSN=a");
}

static void test_take_password(void)
{
    char s1[] = "Driver=X;PWD={a;b}}c};Server=h";
    char *pw = NULL;
    db_connstr_take_password(s1, &pw);
    CU_ASSERT_STRING_EQUAL(s1, "Driver=X;Server=h");
    CU_ASSERT_STRING_EQUAL(pw, "a;b}c");
    free(pw);
    pw = NULL;
    char s2[] = "DSN=x;Password=p";
    db_connstr_take_password(s2, &pw);
    CU_ASSERT_STRING_EQUAL(s2, "DSN=x");
    CU_ASSERT_STRING_EQUAL(pw, "p");
    free(pw);
    pw = NULL;
    char s3[] = "DSN=x;";
    db_connstr_take_password(s3, &pw);
    CU_ASSERT_STRING_EQUAL(s3, "DSN=x;");
    CU_ASSERT_PTR_NULL(pw);
}

static void test_default_rejects(void)
{
    char *r = tool_default_rejects("migrate.db");
    CU_ASSERT_STRING_EQUAL(r, "migrate.rejects.xml");
    free(r);
    r = tool_default_rejects("/data/x.sqlite");
    CU_ASSERT_STRING_EQUAL(r, "/data/x.sqlite.rejects.xml");
    free(r);
    r = tool_default_rejects("dir/.db");
    CU_ASSERT_STRING_EQUAL(r, "dir/.db.rejects.xml");
    free(r);
}

/* ---- option parsing ---- */

static void test_defaults(void)
{
    struct tool_config c;
    char msg[256];
    unsetenv("MIGRATE_PASSWORD");
    CU_ASSERT_EQUAL(parse(&c, msg, W("-m", "map.xml", "in.xml")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_LOAD);
    CU_ASSERT_EQUAL(c.workers, 2);
    CU_ASSERT_EQUAL(c.batch_size, 500);
    CU_ASSERT_EQUAL(c.queue_depth, 4);
    CU_ASSERT_EQUAL(c.connect_timeout, 15);
    CU_ASSERT_EQUAL(c.target.connect_timeout, 15);
    CU_ASSERT_EQUAL(c.target.query_timeout, 0); /* no statement limit by default */
    CU_ASSERT_EQUAL(c.retry_for, 300);
    CU_ASSERT_EQUAL(c.create_tables, 1);
    CU_ASSERT_EQUAL(c.on_dup, DUP_DEFAULT);
    CU_ASSERT_EQUAL(c.ninputs, 1);
    CU_ASSERT_STRING_EQUAL(c.inputs[0], "in.xml");
    CU_ASSERT_STRING_EQUAL(c.rejects_path, "migrate.rejects.xml");
    db_target want;
    memset(&want, 0, sizeof want);
    db_target_sqlite(&want, "migrate.db");
    CU_ASSERT_STRING_EQUAL(c.target.connstr, want.connstr);
    db_target_free(&want);
    CU_ASSERT_PTR_NULL(c.target.password);
    tool_config_free(&c);
}

static void test_options(void)
{
    struct tool_config c;
    char msg[256];
    CU_ASSERT_EQUAL(parse(&c, msg, W("in.xml", "-w", "64", "--batch-size=100000", "-q1",
                                     "--on-duplicate", "update", "--db", "d/x.db",
                                     "--preload-keys", "-m", "map.xml", "--progress",
                                     "--quiet", "-r", "rj.xml", "-")), 0);
    CU_ASSERT_EQUAL(c.workers, 64);
    CU_ASSERT_EQUAL(c.batch_size, 100000);
    CU_ASSERT_EQUAL(c.queue_depth, 1);
    CU_ASSERT_EQUAL(c.on_dup, DUP_UPDATE);
    CU_ASSERT_EQUAL(c.preload_keys, 1);
    CU_ASSERT_EQUAL(c.progress, 1);
    CU_ASSERT_EQUAL(c.quiet, 1);
    CU_ASSERT_EQUAL(c.ninputs, 2);
    CU_ASSERT_STRING_EQUAL(c.inputs[1], "-");
    CU_ASSERT_STRING_EQUAL(c.rejects_path, "rj.xml");
    CU_ASSERT_PTR_NOT_NULL(strstr(c.target.connstr, "d/x.db"));
    tool_config_free(&c);

    CU_ASSERT_EQUAL(parse(&c, msg, W("--db", "d/x.db", "-m", "m", "in.xml")), 0);
    CU_ASSERT_STRING_EQUAL(c.rejects_path, "d/x.rejects.xml");
    tool_config_free(&c);
}

static void test_commands(void)
{
    struct tool_config c;
    char msg[256];
    CU_ASSERT_EQUAL(parse(&c, msg, W("init-db", "-m", "m", "--dsn", "prod")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_INIT_DB);
    CU_ASSERT_STRING_EQUAL(c.target.connstr, "DSN=prod");
    CU_ASSERT_EQUAL(c.create_tables, 0);
    CU_ASSERT_STRING_EQUAL(c.rejects_path, "migrate-rejects.xml");
    tool_config_free(&c);

    CU_ASSERT_EQUAL(parse(&c, msg, W("--print-ddl", "-m", "m", "--load", "bcp")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_PRINT_DDL);
    CU_ASSERT_EQUAL(c.load, LOAD_BCP);
    tool_config_free(&c);

    CU_ASSERT_EQUAL(parse(&c, msg, W("--workers", "0", "--help")), 64);
    tool_config_free(&c);
    CU_ASSERT_EQUAL(parse(&c, msg, W("--help", "--workers", "0")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_HELP);
    tool_config_free(&c);
    /* check needs no target and no inputs; ping needs no mapping */
    CU_ASSERT_EQUAL(parse(&c, msg, W("check", "-m", "m", "--password-file", "/nonexistent")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_CHECK);
    CU_ASSERT_EQUAL(c.ninputs, 0);
    tool_config_free(&c);
    CU_ASSERT_EQUAL(parse(&c, msg, W("ping", "--dsn", "prod")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_PING);
    CU_ASSERT_STRING_EQUAL(c.target.connstr, "DSN=prod");
    tool_config_free(&c);
    CU_ASSERT_EQUAL(parse(&c, msg, W("-m", "m", "--summary-json", "-", "--no-progress", "in.xml")), 0);
    CU_ASSERT_PTR_NOT_NULL(c.summary_json); /* its text was in the freed argv */
    CU_ASSERT_EQUAL(c.progress, 0);
    CU_ASSERT_EQUAL(c.progress_interval, 10);
    tool_config_free(&c);
    CU_ASSERT_EQUAL(parse(&c, msg, W("-V")), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_VERSION);
    tool_config_free(&c);
}

/* One usage error: exit code and exact message. */
static void expect(int code, const char *want, const char *const *words)
{
    struct tool_config c;
    char msg[256];
    int rc = parse(&c, msg, words);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_STRING_EQUAL(msg, want);
    if (rc != code || strcmp(msg, want) != 0)
        fprintf(stderr, "\n  got %d \"%s\"\n", rc, msg);
    tool_config_free(&c);
}

static void test_usage_errors(void)
{
    expect(64, "--workers: 0 is out of range (1..64)", W("-m", "m", "-w", "0", "in.xml"));
    expect(64, "--workers: 65 is out of range (1..64)", W("-m", "m", "-w65", "in.xml"));
    expect(64, "--batch-size: \"12x\" is not a number", W("-m", "m", "-b", "12x", "in.xml"));
    expect(64, "--batch-size: 100001 is out of range (1..100000)",
           W("-m", "m", "-b", "100001", "in.xml"));
    expect(64, "--queue-depth: 99999999999999999999999 is out of range (1..1024)",
           W("-m", "m", "-q", "99999999999999999999999", "in.xml"));
    expect(64, "--connect-timeout: \"-1\" is not a number",
           W("-m", "m", "--connect-timeout", "-1", "in.xml"));
    expect(64, "--connect-timeout: 3601 is out of range (1..3600)",
           W("-m", "m", "--connect-timeout=3601", "in.xml"));
    expect(64, "--query-timeout: 86401 is out of range (0..86400)",
           W("-m", "m", "--query-timeout", "86401", "in.xml"));
    expect(64, "--retry-for: 0 is out of range (1..86400)",
           W("-m", "m", "--retry-for", "0", "in.xml"));
    expect(64, "--on-duplicate: \"ignore\" is not skip, update or error",
           W("-m", "m", "--on-duplicate", "ignore", "in.xml"));
    expect(64, "--load: \"copy\" is not insert or bcp", W("-m", "m", "--load", "copy", "in.xml"));
    expect(64, "--dialect: unknown database \"oracle\" (sqlserver, postgresql, sqlite)",
           W("-m", "m", "--dialect", "oracle", "in.xml"));
    expect(64, "--db and --connect cannot be used together",
           W("-m", "m", "--db", "x.db", "--connect", "DSN=a", "in.xml"));
    expect(64, "--db and --dsn cannot be used together",
           W("-m", "m", "--dsn", "a", "--db", "x.db", "in.xml"));
    expect(64, "--connect and --dsn cannot be used together",
           W("-m", "m", "--dsn", "a", "--connect", "DSN=b", "in.xml"));
    expect(64, "no mapping file given (-m MAPPING)", W("in.xml"));
    expect(64, "no input files given", W("-m", "m"));
    expect(64, "init-db takes no input files", W("init-db", "-m", "m", "in.xml"));
    expect(64, "--print-ddl takes no input files", W("--print-ddl", "-m", "m", "in.xml"));
    expect(64, "--print-ddl and init-db exclude each other", W("init-db", "--print-ddl", "-m", "m"));
    expect(64, "unknown or ambiguous option '--bogus'", W("-m", "m", "--bogus", "in.xml"));
    expect(64, "unknown option '-x'", W("-m", "m", "-x", "in.xml"));
    expect(64, "option '--workers' needs a value", W("-m", "m", "in.xml", "--workers"));
    expect(64, "option '-m' needs a value", W("in.xml", "-m"));
    expect(64, "option '--quiet=1' takes no value", W("-m", "m", "--quiet=1", "in.xml"));
    expect(64, "--load bcp needs a SQL Server target (--connect or --dsn)",
           W("-m", "m", "--load", "bcp", "in.xml"));
    expect(64, "--load bcp needs --dialect sqlserver, not postgresql",
           W("-m", "m", "--load", "bcp", "--dialect", "pgsql", "--dsn", "x", "in.xml"));
    expect(64, "--dialect sqlserver does not fit an SQLite database file (--db)",
           W("-m", "m", "--dialect", "mssql", "in.xml"));
    expect(64, "--password-file needs a server target (--connect or --dsn)",
           W("-m", "m", "--password-file", "/etc/hostname", "in.xml"));
    expect(64, "standard input (-) given twice", W("-m", "m", "-", "-"));
    expect(64, "ping takes no input files", W("ping", "in.xml"));
    expect(64, "no mapping file given (-m MAPPING)", W("check", "in.xml"));
    expect(64, "--print-ddl and check exclude each other", W("check", "--print-ddl", "-m", "m"));
    expect(64, "--progress-interval: 0 is out of range (1..3600)",
           W("-m", "m", "--progress-interval", "0", "in.xml"));
    expect(64, "--summary-json: empty file name", W("-m", "m", "--summary-json=", "in.xml"));
    expect(66, "cannot read password file /nonexistent/pw: No such file or directory",
           W("-m", "m", "--dsn", "x", "--password-file", "/nonexistent/pw", "in.xml"));
}

static void test_password_sources(void)
{
    struct tool_config c;
    char msg[256];
    argv_buf a;
    unsetenv("MIGRATE_PASSWORD");

    /* PWD in --connect: taken out of connstr, masked in argv. */
    av_make(&a, W("-m", "m", "--connect", "Driver=FreeTDS;UID=sa;PWD=s3cret;TDS_Version=7.4",
                  "in.xml"));
    CU_ASSERT_EQUAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(c.target.connstr, "Driver=FreeTDS;UID=sa;TDS_Version=7.4");
    CU_ASSERT_STRING_EQUAL(c.target.password, "s3cret");
    int found = 0;
    for (int i = 0; i < a.argc; i++)
        if (strcmp(a.argv[i], "Driver=FreeTDS;UID=sa;PWD=******;TDS_Version=7.4") == 0)
            found = 1;
    CU_ASSERT_EQUAL(found, 1);
    CU_ASSERT_EQUAL(c.sqlite_target, 0);
    CU_ASSERT_EQUAL(c.create_tables, 0);
    tool_config_free(&c);
    av_free(&a);

    /* The environment wins over the string's PWD. */
    setenv("MIGRATE_PASSWORD", "fromenv", 1);
    av_make(&a, W("-m", "m", "--connect=DSN=x;PWD=inline", "in.xml"));
    CU_ASSERT_EQUAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(c.target.connstr, "DSN=x");
    CU_ASSERT_STRING_EQUAL(c.target.password, "fromenv");
    CU_ASSERT_STRING_EQUAL(a.argv[3], "--connect=DSN=x;PWD=******");
    tool_config_free(&c);
    av_free(&a);

    /* The password file wins over both; first line, CR LF stripped. */
    char pwfile[4200];
    snprintf(pwfile, sizeof pwfile, "%s/pw.txt", unit_tmpdir());
    FILE *f = fopen(pwfile, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("filepw\r\nsecond line\n", f);
    fclose(f);
    av_make(&a, W("-m", "m", "--dsn", "x", "--password-file", pwfile,
                  "--dialect", "sqlserver", "--load", "bcp", "--connect-timeout", "3",
                  "--query-timeout", "7", "--retry-for", "20", "in.xml"));
    CU_ASSERT_EQUAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(c.target.connstr, "DSN=x");
    CU_ASSERT_STRING_EQUAL(c.target.password, "filepw");
    CU_ASSERT_STRING_EQUAL(c.target.dialect_name, "sqlserver");
    CU_ASSERT_EQUAL(c.target.load, LOAD_BCP);
    CU_ASSERT_EQUAL(c.target.connect_timeout, 3);
    CU_ASSERT_EQUAL(c.target.query_timeout, 7); /* apart from the login's */
    CU_ASSERT_EQUAL(c.retry_for, 20);
    tool_config_free(&c);
    av_free(&a);
    unsetenv("MIGRATE_PASSWORD");
}

/* ---- --config FILE ---- */

static void test_config_file(void)
{
    struct tool_config c;
    char msg[1024];
    argv_buf a;
    unsetenv("MIGRATE_PASSWORD");
    unit_put("in-b.xml", "");
    unit_put("in-a.xml", "");
    char pattern[4300];
    snprintf(pattern, sizeof pattern, "%s/in-*.xml", unit_tmpdir());
    char text[8192];
    snprintf(text, sizeof text,
             "# nightly\n"
             "\n"
             "   # indented comment\n"
             "mapping = /etc/migrate/apps.xml\n"
             "connect = Driver=PostgreSQL Unicode;Server=db1;UID=loader;PWD=s#cret\n"
             "workers=4\n"
             "batch-size = \"250\"\n"
             "preload-keys = yes\n"
             "quiet = no\n"
             "progress = off\n"
             "summary-json = /var/log/migrate/nightly.json\n"
             "input = %s\n",
             pattern);
    const char *conf = unit_put("nightly.conf", text);

    /* the file alone: every value, the inputs expanded and sorted */
    av_make(&a, W("--config", conf));
    CU_ASSERT_EQUAL_FATAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_STRING_EQUAL(c.mapping_path, "/etc/migrate/apps.xml");
    CU_ASSERT_STRING_EQUAL(c.target.connstr, "Driver=PostgreSQL Unicode;Server=db1;UID=loader");
    CU_ASSERT_STRING_EQUAL(c.target.password, "s#cret");
    CU_ASSERT_EQUAL(c.workers, 4);
    CU_ASSERT_EQUAL(c.batch_size, 250);
    CU_ASSERT_EQUAL(c.preload_keys, 1);
    CU_ASSERT_EQUAL(c.quiet, 0);
    CU_ASSERT_EQUAL(c.progress, 0);
    CU_ASSERT_STRING_EQUAL(c.summary_json, "/var/log/migrate/nightly.json");
    CU_ASSERT_EQUAL_FATAL(c.ninputs, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.inputs[0], "/in-a.xml"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.inputs[1], "/in-b.xml"));
    tool_config_free(&c);
    av_free(&a);

    /* the command line wins: numbers, flags, the target as a whole, inputs */
    av_make(&a, W("-w", "1", "--config=x", "--db", "t.db", "--progress", "one.xml"));
    free(a.argv[3]);
    char eq[4300];
    snprintf(eq, sizeof eq, "--config=%s", conf);
    a.argv[3] = strdup(eq);
    CU_ASSERT_EQUAL_FATAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_EQUAL(c.workers, 1);
    CU_ASSERT_EQUAL(c.batch_size, 250);
    CU_ASSERT_EQUAL(c.progress, 1);
    CU_ASSERT_EQUAL(c.sqlite_target, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.target.connstr, "t.db"));
    CU_ASSERT_PTR_NULL(c.target.password);
    CU_ASSERT_EQUAL(c.ninputs, 1);
    CU_ASSERT_STRING_EQUAL(c.inputs[0], "one.xml");
    tool_config_free(&c);
    av_free(&a);

    /* check and ping take the same file */
    av_make(&a, W("--config", conf, "check"));
    CU_ASSERT_EQUAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_CHECK);
    CU_ASSERT_EQUAL(c.ninputs, 2);
    tool_config_free(&c);
    av_free(&a);
    av_make(&a, W("ping", "--config", conf));
    CU_ASSERT_EQUAL(tool_getparam(&c, a.argc, a.argv, msg, sizeof msg), 0);
    CU_ASSERT_EQUAL(c.cmd, CMD_PING);
    CU_ASSERT_EQUAL(c.ninputs, 0);
    tool_config_free(&c);
    av_free(&a);
}

/* One config file's error: exit code and exact message (FILE:LINE). */
static void expect_conf(int code, const char *text, const char *want_fmt, int line)
{
    struct tool_config c;
    char msg[1024], want[4400];
    const char *conf = unit_put("bad.conf", text);
    argv_buf a;
    av_make(&a, W("--config", conf, "in.xml"));
    int rc = tool_getparam(&c, a.argc, a.argv, msg, sizeof msg);
    if (line) /* 0: a combination, checked after the file and the command line */
        snprintf(want, sizeof want, "%s:%d: %s", conf, line, want_fmt);
    else
        snprintf(want, sizeof want, "%s", want_fmt);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_STRING_EQUAL(msg, want);
    if (rc != code || strcmp(msg, want) != 0)
        fprintf(stderr, "\n  got %d \"%s\"\n", rc, msg);
    tool_config_free(&c);
    av_free(&a);
}

static void test_config_errors(void)
{
    expect_conf(64, "mapping = m\n\n# x\nworkerz = 3\n", "unknown option 'workerz'", 4);
    expect_conf(64, "mapping = m\nworkers = 0\n", "--workers: 0 is out of range (1..64)", 2);
    expect_conf(64, "mapping m\n", "expected \"key = value\", found \"mapping m\"", 1);
    expect_conf(64, "= 3\n", "a value without a key", 1);
    expect_conf(64, "quiet = maybe\n", "quiet: \"maybe\" is not yes or no", 1);
    expect_conf(64, "config = other.conf\n", "'config' cannot be set in a config file", 1);
    expect_conf(64, "help = yes\n", "'help' cannot be set in a config file", 1);
    expect_conf(64, "mapping = m\ndb = a.db\ndsn = x\n",
                "--db and --dsn cannot be used together", 0);
    expect(66, "cannot read config file /nonexistent/x.conf: No such file or directory",
           W("--config", "/nonexistent/x.conf", "-m", "m", "in.xml"));
    expect(64, "--config given twice", W("--config", "a", "--config=b", "in.xml"));
    expect(64, "write --config in full", W("--conf", "a", "-m", "m", "in.xml"));
    expect(64, "option '--config' needs a value", W("-m", "m", "in.xml", "--config"));
}

/* ---- numbers and the summary ---- */

static void test_numbers(void)
{
    char b[32];
    CU_ASSERT_STRING_EQUAL(tool_thousands(b, sizeof b, 0), "0");
    CU_ASSERT_STRING_EQUAL(tool_thousands(b, sizeof b, 999), "999");
    CU_ASSERT_STRING_EQUAL(tool_thousands(b, sizeof b, 1000), "1,000");
    CU_ASSERT_STRING_EQUAL(tool_thousands(b, sizeof b, 1234567), "1,234,567");
    CU_ASSERT_STRING_EQUAL(tool_thousands(b, sizeof b, 18446744073709551615ULL),
                           "18,446,744,073,709,551,615");
    CU_ASSERT_EQUAL(tool_rec_per_min(5, 0.12), 2500);
    CU_ASSERT_EQUAL(tool_rec_per_min(5, 0.0), 0);
    CU_ASSERT_EQUAL(tool_rec_per_min(120000, 160.0), 45000);
}

/* ---- the progress display ---- */

static void test_progress_lines(void)
{
    char b[32], line[256];
    CU_ASSERT_STRING_EQUAL(tool_bytes_text(b, sizeof b, 999), "999 B");
    CU_ASSERT_STRING_EQUAL(tool_bytes_text(b, sizeof b, 23916), "23.9 kB");
    CU_ASSERT_STRING_EQUAL(tool_bytes_text(b, sizeof b, 17588782), "17.6 MB");
    CU_ASSERT_STRING_EQUAL(tool_bytes_text(b, sizeof b, 4000000000ULL), "4.0 GB");
    CU_ASSERT_STRING_EQUAL(tool_duration_text(b, sizeof b, 0.4), "0:00");
    CU_ASSERT_STRING_EQUAL(tool_duration_text(b, sizeof b, 65.6), "1:06");
    CU_ASSERT_STRING_EQUAL(tool_duration_text(b, sizeof b, 3 * 3600 + 62), "3:01:02");
    CU_ASSERT_STRING_EQUAL(tool_duration_text(b, sizeof b, -5), "0:00");

    /* a quarter read in 160 s: 480 s left */
    tool_progress_view v = {.t = {120000, 119500, 0, 12, 488}, .bytes = 25000000,
                            .total_bytes = 100000000, .size_known = 1, .elapsed = 160.0};
    CU_ASSERT_STRING_EQUAL(tool_progress_line(line, sizeof line, &v),
                           "progress: 25% of 100.0 MB read, 120,000 records (loaded 119,500, "
                           "duplicate 0, rejected 12), 750 rec/s, ETA 8:00");
    CU_ASSERT_STRING_EQUAL(tool_progress_bar(line, sizeof line, &v),
                           "[#####...............]  25%  120,000 records  750 rec/s  ETA 8:00");
    /* truncated, never overrun */
    CU_ASSERT_STRING_EQUAL(tool_progress_line(b, sizeof b, &v), "progress: 25% of 100.0 MB read,");

    /* the end of the run */
    v.done = 1;
    v.bytes = v.total_bytes;
    CU_ASSERT_STRING_EQUAL(tool_progress_line(line, sizeof line, &v),
                           "progress: 100% of 100.0 MB read, 120,000 records (loaded 119,500, "
                           "duplicate 0, rejected 12), 750 rec/s, done in 2:40");
    CU_ASSERT_STRING_EQUAL(tool_progress_bar(line, sizeof line, &v),
                           "[####################] 100%  120,000 records  750 rec/s  took 2:40");

    /* standard input: no size, no percentage, no estimate */
    tool_progress_view u = {.t = {5, 5, 0, 0, 0}, .bytes = 1234, .elapsed = 2.0};
    CU_ASSERT_STRING_EQUAL(tool_progress_line(line, sizeof line, &u),
                           "progress: 1.2 kB read, 5 records (loaded 5, duplicate 0, rejected 0), "
                           "3 rec/s");
    CU_ASSERT_STRING_EQUAL(tool_progress_bar(line, sizeof line, &u), "5 records  3 rec/s");

    /* nothing read yet: no estimate */
    tool_progress_view z = {.total_bytes = 10, .size_known = 1, .elapsed = 0};
    CU_ASSERT_STRING_EQUAL(tool_progress_line(line, sizeof line, &z),
                           "progress: 0% of 10 B read, 0 records (loaded 0, duplicate 0, "
                           "rejected 0), 0 rec/s");
    CU_ASSERT_STRING_EQUAL(tool_progress_bar(line, sizeof line, &z),
                           "[....................]   0%  0 records  0 rec/s  ETA -");
}

/* The display's sizes come from the inputs (a missing one or "-": unknown). */
static void test_progress_sizes(void)
{
    char a[4200], bpath[4200];
    snprintf(a, sizeof a, "%s/p1.xml", unit_tmpdir());
    snprintf(bpath, sizeof bpath, "%s/p2.xml", unit_tmpdir());
    FILE *f = fopen(a, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("0123456789", f);
    fclose(f);
    f = fopen(bpath, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("abc", f);
    fclose(f);
    tool_progress p;
    const char *two[] = {a, bpath};
    tool_progress_init(&p, stderr, 0, 5, two, 2);
    CU_ASSERT_EQUAL(p.total_bytes, 13);
    CU_ASSERT_EQUAL(p.size_known, 1);
    CU_ASSERT_EQUAL(p.interval, 5.0);
    const char *withstdin[] = {a, "-"};
    tool_progress_init(&p, stderr, 0, 5, withstdin, 2);
    CU_ASSERT_EQUAL(p.size_known, 0);
}

/* Returns the text tool_summary prints for s (caller frees). */
static char *summary_text(stats *s, const char *rejects)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tool_summary(f, s, rejects);
    fclose(f);
    return buf;
}

static void test_summary(void)
{
    stats_file files[1] = {{.name = "tests/integration/cases/x/input.xml", .state = FILE_DONE,
                            .read = 5, .loaded = 3, .rejected = 2}};
    stats_table tables[2] = {{.name = "app_base", .inserted = 3},
                             {.name = "contact_base", .inserted = 6}};
    stats_worker workers[1] = {{.batches = 1}};
    stats s = {.lock = PTHREAD_MUTEX_INITIALIZER, .nfiles = 1, .files = files, .ntables = 2, .tables = tables,
               .nworkers = 1, .workers = workers, .t_start = 10.0, .t_end = 10.12};
    char *out = summary_text(&s, "migrate.rejects.xml");
    const char *want =
        "file                                   read     loaded  duplicate   rejected\n"
        "tests/integration/cases/x/input.xml       5          3          0          2\n"
        "total                                     5          3          0          2\n"
        "\n"
        "table                  inserted  dup-keyset    dup-db   updated\n"
        "app_base                      3           0         0         0\n"
        "contact_base                  6           0         0         0\n"
        "\n"
        "worker   batches   reuses  reconnects  retries  splits      keys  keyset-KiB\n"
        "0              1        0           0        0       0         0           0\n"
        "\n"
        "elapsed 0.12 s, 2,500 rec/min\n"
        "waits: producer on a full lane 0, workers on an empty lane 0\n"
        "rejects: 2 records in migrate.rejects.xml\n";
    CU_ASSERT_STRING_EQUAL(out, want);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n%s", out);
    free(out);

    /* A malformed file is marked; short names keep the minimum width; no rejects line. */
    stats_file f2[2] = {{.name = "a.xml", .state = FILE_DONE, .read = 2, .loaded = 1,
                         .duplicates = 1},
                        {.name = "bad.xml", .state = FILE_MALFORMED, .read = 1, .loaded = 1}};
    stats_worker w2[2] = {{.batches = 2, .keys = 3, .keyset_bytes = 1025}, {0}};
    stats s2 = {.lock = PTHREAD_MUTEX_INITIALIZER, .nfiles = 2, .files = f2, .ntables = 1, .tables = tables, .nworkers = 2,
                .workers = w2, .t_start = 0, .t_end = 2.0};
    out = summary_text(&s2, "r.xml");
    want =
        "file                      read     loaded  duplicate   rejected\n"
        "a.xml                        2          1          1          0\n"
        "bad.xml                      1          1          0          0 (malformed)\n"
        "total                        3          2          1          0\n"
        "\n"
        "table                  inserted  dup-keyset    dup-db   updated\n"
        "app_base                      3           0         0         0\n"
        "\n"
        "worker   batches   reuses  reconnects  retries  splits      keys  keyset-KiB\n"
        "0              2        0           0        0       0         3           2\n"
        "1              0        0           0        0       0         0           0\n"
        "\n"
        "elapsed 2.00 s, 90 rec/min\n"
        "waits: producer on a full lane 0, workers on an empty lane 0\n";
    CU_ASSERT_STRING_EQUAL(out, want);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n%s", out);
    free(out);
}

/* The ledger's figures: a "loaded earlier" column when some file has
 * records an earlier run committed, and a skipped file's load date. */
static void test_summary_ledger(void)
{
    stats_file files[2] = {{.name = "a.xml.gz", .state = FILE_DONE, .read = 10, .loaded = 3,
                            .loaded_earlier = 6, .duplicates = 1},
                           {.name = "b.xml.gz", .state = FILE_SKIPPED,
                            .loaded_at = "2026-11-30T02:00:01Z"}};
    stats_table tables[1] = {{.name = "app_base", .inserted = 3}};
    stats_worker workers[1] = {{.batches = 1}};
    stats s = {.lock = PTHREAD_MUTEX_INITIALIZER, .nfiles = 2, .files = files, .ntables = 1,
               .tables = tables, .nworkers = 1, .workers = workers, .t_start = 0, .t_end = 1.0};
    char *out = summary_text(&s, "r.xml");
    const char *want =
        "file                      read     loaded loaded earlier  duplicate   rejected\n"
        "a.xml.gz                    10          3              6          1          0\n"
        "b.xml.gz                     0          0              0          0          0 "
        "(skipped: loaded 2026-11-30T02:00:01Z)\n"
        "total                       10          3              6          1          0\n"
        "\n"
        "table                  inserted  dup-keyset    dup-db   updated\n"
        "app_base                      3           0         0         0\n"
        "\n"
        "worker   batches   reuses  reconnects  retries  splits      keys  keyset-KiB\n"
        "0              1        0           0        0       0         0           0\n"
        "\n"
        "elapsed 1.00 s, 600 rec/min\n"
        "waits: producer on a full lane 0, workers on an empty lane 0\n";
    CU_ASSERT_STRING_EQUAL(out, want);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n%s", out);
    free(out);
    char msg[200];
    CU_ASSERT_EQUAL(stats_check(&s, 0, msg, sizeof msg), 0);
    files[0].loaded_earlier = 5;
    CU_ASSERT_EQUAL(stats_check(&s, 0, msg, sizeof msg), -1);
}

/* ---- the JSON report ---- */

/* Returns what tool_summary_json prints (caller frees). */
static char *json_text(stats *s, const tool_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tool_summary_json(f, s, r);
    fclose(f);
    return buf;
}

static void test_json(void)
{
    stats_file files[3] = {{.name = "in \"1\".xml", .state = FILE_DONE, .read = 5, .loaded = 2,
                            .loaded_earlier = 1, .rejected = 2, .bytes = 1234},
                           {.name = "bad.xml", .state = FILE_MALFORMED, .read = 1, .loaded = 1,
                            .error = "bad.xml:3:1: Premature end of data\tx"},
                           {.name = "old.xml", .state = FILE_SKIPPED,
                            .loaded_at = "2026-11-30T02:00:01Z"}};
    stats_table tables[1] = {{.name = "app_base", .inserted = 4, .dup_keyset = 1, .dup_db = 2,
                              .updated = 3}};
    stats_worker *workers = calloc(2, sizeof *workers);
    workers[0].batches = 2;
    workers[0].keys = 7;
    workers[0].keyset_bytes = 1025;
    stats_latency_add(&workers[0].commit, 0.000010);
    stats_latency_add(&workers[0].commit, 0.000030);
    stats_latency_add(&workers[1].commit, 0.001500); /* bucket [1472,1503] us */
    stats s = {.lock = PTHREAD_MUTEX_INITIALIZER, .nfiles = 3, .files = files, .ntables = 1,
               .tables = tables, .nworkers = 2, .workers = workers, .t_start = 10.0,
               .t_end = 12.0, .lane_full_waits = 4, .lane_empty_waits = 9};
    tool_report r = {"load", 1, NULL, 0, "2026-12-01T02:00:00Z", "2026-12-01T02:00:02Z",
                     "r.xml"};
    char *out = json_text(&s, &r);
    const char *want =
        "{\n"
        "  \"migrate\": \"" PACKAGE_VERSION "\",\n"
        "  \"command\": \"load\",\n"
        "  \"exit_status\": 1,\n"
        "  \"error\": null,\n"
        "  \"interrupted\": false,\n"
        "  \"started\": \"2026-12-01T02:00:00Z\",\n"
        "  \"finished\": \"2026-12-01T02:00:02Z\",\n"
        "  \"elapsed_s\": 2.000,\n"
        "  \"rec_per_min\": 180,\n"
        "  \"total\": {\"read\": 6, \"loaded\": 3, \"duplicate\": 0, \"rejected\": 2, "
        "\"not_loaded\": 0, \"loaded_earlier\": 1, \"skipped\": 1},\n"
        "  \"files\": [\n"
        "    {\"name\": \"in \\\"1\\\".xml\", \"state\": \"done\", \"error\": null, \"read\": 5, "
        "\"loaded\": 2, \"duplicate\": 0, \"rejected\": 2, \"bytes\": 1234, "
        "\"loaded_earlier\": 1, \"resumed_after\": 0, \"loaded_at\": null},\n"
        "    {\"name\": \"bad.xml\", \"state\": \"malformed\", \"error\": \"bad.xml:3:1: Premature "
        "end of data\\tx\", \"read\": 1, \"loaded\": 1, \"duplicate\": 0, \"rejected\": 0, "
        "\"bytes\": 0, \"loaded_earlier\": 0, \"resumed_after\": 0, \"loaded_at\": null},\n"
        "    {\"name\": \"old.xml\", \"state\": \"skipped\", \"error\": null, \"read\": 0, "
        "\"loaded\": 0, \"duplicate\": 0, \"rejected\": 0, \"bytes\": 0, \"loaded_earlier\": 0, "
        "\"resumed_after\": 0, \"loaded_at\": \"2026-11-30T02:00:01Z\"}\n"
        "  ],\n"
        "  \"tables\": [\n"
        "    {\"name\": \"app_base\", \"inserted\": 4, \"dup_keyset\": 1, \"dup_db\": 2, "
        "\"updated\": 3}\n"
        "  ],\n"
        "  \"workers\": [\n"
        "    {\"worker\": 0, \"batches\": 2, \"reuses\": 0, \"reconnects\": 0, \"retries\": 0, "
        "\"splits\": 0, \"redos\": 0, \"keys\": 7, \"keyset_kib\": 2, \"keyset_resets\": 0},\n"
        "    {\"worker\": 1, \"batches\": 0, \"reuses\": 0, \"reconnects\": 0, \"retries\": 0, "
        "\"splits\": 0, \"redos\": 0, \"keys\": 0, \"keyset_kib\": 0, \"keyset_resets\": 0}\n"
        "  ],\n"
        "  \"waits\": {\"producer_full_lane\": 4, \"workers_empty_lane\": 9},\n"
        "  \"commit_latency_ms\": {\"count\": 3, \"p50\": 0.030, \"p95\": 1.500, \"p99\": 1.500, "
        "\"max\": 1.500},\n"
        "  \"rejects_file\": \"r.xml\"\n"
        "}\n";
    CU_ASSERT_STRING_EQUAL(out, want);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "\n%s", out);
    free(out);

    /* a run that failed before reading: error and status, empty lists */
    stats s0 = {.lock = PTHREAD_MUTEX_INITIALIZER};
    tool_report r0 = {"load", 69, "cannot connect: [unixODBC]no driver", 2, "a", "b", "r.xml"};
    out = json_text(&s0, &r0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  \"exit_status\": 69,\n  \"error\": \"cannot connect: "
                                       "[unixODBC]no driver\",\n  \"interrupted\": true,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "  \"files\": [],\n  \"tables\": [],\n  \"workers\": [],\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"count\": 0, \"p50\": 0.000, \"p95\": 0.000, "
                                       "\"p99\": 0.000, \"max\": 0.000}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"rejects_file\": null\n}\n"));
    free(out);
    free(workers);
}

static void test_json_string(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tool_json_string(f, "a\"b\\c\n\x01\x7f \xc3\xa9 \xff \xe2\x82 \xed\xa0\x80 \xf0\x9f\x98\x80");
    fputc(' ', f);
    tool_json_string(f, NULL);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(buf, "\"a\\\"b\\\\c\\n\\u0001\\u007f \xc3\xa9 \\ufffd \\ufffd\\ufffd "
                                "\\ufffd\\ufffd\\ufffd \xf0\x9f\x98\x80\" null");
    free(buf);
}

/* ---- exit codes ---- */

static void test_exit_codes(void)
{
    mig_err e;
    err_clear(&e);
    stats_file files[3] = {{.name = "a", .state = FILE_DONE, .read = 1, .loaded = 1}};
    stats s = {.lock = PTHREAD_MUTEX_INITIALIZER, .nfiles = 1, .files = files};
    CU_ASSERT_EQUAL(tool_exit_code(NULL, &s), 0);
    CU_ASSERT_EQUAL(tool_exit_code(&e, &s), 0);
    files[0].rejected = 1;
    files[0].loaded = 0;
    CU_ASSERT_EQUAL(tool_exit_code(NULL, &s), 1);
    files[1] = (stats_file){.name = "b", .state = FILE_MALFORMED};
    s.nfiles = 2;
    CU_ASSERT_EQUAL(tool_exit_code(NULL, &s), 65);
    files[2] = (stats_file){.name = "c", .state = FILE_UNREADABLE};
    s.nfiles = 3;
    CU_ASSERT_EQUAL(tool_exit_code(NULL, &s), 66);
    err_set(&e, MIG_ECONNECT, "cannot connect");
    CU_ASSERT_EQUAL(tool_exit_code(&e, &s), 69);

    struct { mig_status st; const char *sqlstate; int code; } table[] = {
        {MIG_EUSAGE, "", 64},       {MIG_ENOINPUT, "", 66},   {MIG_EDATA, "", 65},
        {MIG_ECONFIG, "", 78},      {MIG_ECANTCREAT, "", 73}, {MIG_ECONNECT, "08001", 69},
        {MIG_EDBPERM, "42501", 77}, {MIG_EDBSCHEMA, "42S02", 76}, {MIG_EDB, "23000", 76},
        {MIG_ETEMPFAIL, "08S01", 75}, {MIG_ETEMPFAIL, "40001", 75}, {MIG_EDB, "HY000", 76},
        {MIG_ENOMEM, "", 70},       {MIG_EINTERNAL, "", 70},  {MIG_OK, "", 70},
        {MIG_ELOCKED, "", 79},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        err_set(&e, table[i].st, "x");
        strcpy(e.sqlstate, table[i].sqlstate);
        CU_ASSERT_EQUAL(tool_status_exit(&e), table[i].code);
    }
}

#undef main
int main(void)
{
    UNIT_BEGIN("tool");
    UNIT_TEST(test_mask_password);
    UNIT_TEST(test_take_password);
    UNIT_TEST(test_default_rejects);
    UNIT_TEST(test_defaults);
    UNIT_TEST(test_options);
    UNIT_TEST(test_commands);
    UNIT_TEST(test_usage_errors);
    UNIT_TEST(test_password_sources);
    UNIT_TEST(test_config_file);
    UNIT_TEST(test_config_errors);
    UNIT_TEST(test_numbers);
    UNIT_TEST(test_progress_lines);
    UNIT_TEST(test_progress_sizes);
    UNIT_TEST(test_summary);
    UNIT_TEST(test_summary_ledger);
    UNIT_TEST(test_json);
    UNIT_TEST(test_json_string);
    UNIT_TEST(test_exit_codes);
    UNIT_END();
}
