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
    stats_totals t = {120000, 119500, 0, 12, 488};
    CU_ASSERT_STRING_EQUAL(tool_progress_line(b, sizeof b, &t, 160.0), "read 120,000  loaded 119,500  r");
    char line[160];
    CU_ASSERT_STRING_EQUAL(tool_progress_line(line, sizeof line, &t, 160.0),
                           "read 120,000  loaded 119,500  rejected 12  45,000 rec/min");
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
    UNIT_TEST(test_numbers);
    UNIT_TEST(test_summary);
    UNIT_TEST(test_exit_codes);
    UNIT_END();
}
