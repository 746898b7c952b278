/* tool_help.c — the --help and --version texts.  The help is grouped as in
 * cli.md (commands, target, loading, output, exit status); --version names
 * the package and the libraries it runs on.  Owns no state. */
#include "config.h"
#include "tool.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <libxml/xmlversion.h>
#include <pcre2.h>
#include <sql.h>
#include <sqlext.h>
#include <stdio.h>

/* ---- --help ---- */

static const char help_text[] =
"Usage:\n"
"  migrate [OPTIONS] -m MAPPING INPUT...         load INPUTs (\"-\" = stdin;\n"
"                                                gzip read transparently)\n"
"  migrate init-db -m MAPPING [TARGET]           create the mapped tables\n"
"                                                that do not exist\n"
"  migrate --print-ddl -m MAPPING [--dialect D]  print the DDL, no connection\n"
"                                                (default dialect sqlite, or\n"
"                                                sqlserver with --load bcp)\n"
"  migrate check -m MAPPING [INPUT...]           read and map the inputs with\n"
"                                                no database: read/ok/rejected\n"
"                                                per file, a load's exit status\n"
"  migrate ping [TARGET]                         connect, print the DBMS name\n"
"                                                and version (exit 0, or 69)\n"
"  migrate --config FILE [OPTIONS] [COMMAND] [INPUT...]\n"
"                                                options from FILE, the command\n"
"                                                line overriding them\n"
"\n"
"Stream the records of large XML files into an ODBC database as a mapping\n"
"file says: one or more rows in one or more tables per record.\n"
"\n"
"  -m, --mapping FILE        the mapping file (required)\n"
"\n"
"Target (default: SQLite file migrate.db through the SQLite3 ODBC driver):\n"
"      --db FILE             SQLite database file (default migrate.db);\n"
"                            tables created if missing\n"
"      --connect STRING      any ODBC connection string\n"
"                            (\"Driver=PostgreSQL Unicode;Server=...;...\")\n"
"      --dsn NAME            an ODBC data source (= --connect \"DSN=NAME\")\n"
"      --dialect NAME        sqlserver | postgresql | sqlite\n"
"                            (default: from the driver's DBMS name)\n"
"      --password-file FILE  password from the first line of FILE (else env\n"
"                            MIGRATE_PASSWORD, else the connection string's\n"
"                            PWD; prefer these two to PWD=). Never printed.\n"
"      --connect-timeout SEC login timeout, 1..3600 (default 15)\n"
"      --query-timeout SEC   a statement running longer is cancelled and\n"
"                            its batch retried (see --retry-for);\n"
"                            0..86400 (default 0: no limit)\n"
"      --retry-for SEC       how long a batch may keep failing on a lost\n"
"                            link, deadlock or timeout (reconnecting, with\n"
"                            backoff 0.1 s doubling up to 5 s) before the\n"
"                            run gives up with 75; 1..86400 (default 300)\n"
"      --load insert|bcp     load method (bcp: SQL Server bulk copy;\n"
"                            default insert)\n"
"      --create-tables       create missing tables before loading\n"
"                            (always on for --db)\n"
"\n"
"Loading:\n"
"  -w, --workers N           inserter threads, each with its own\n"
"                            connection, 1..64 (default 2)\n"
"  -b, --batch-size N        records per batch, 1..100000 (default 500)\n"
"  -q, --queue-depth N       batches queued per worker, 1..1024 (default 4)\n"
"      --on-duplicate P      skip | update | error (default skip)\n"
"      --preload-keys        read existing keys into the workers' key sets\n"
"                            at start\n"
"      --key-memory MB       memory for all key sets together (default 16;\n"
"                            0 = no limit); past it the sets start over\n"
"      --max-record-bytes N  largest record, counting its XML and 120 bytes\n"
"                            per element, attribute and text node (default\n"
"                            16M; K/M/G suffixes); a larger one is rejected\n"
"      --schema FILE.xsd     validate every record against this XSD\n"
"  -r, --rejects FILE        reject file (default: next to the --db file,\n"
"                            \"<db without .db>.rejects.xml\"; for\n"
"                            --connect/--dsn: ./migrate-rejects.xml)\n"
"\n"
"Reruns (the ledger: tables migrate_ledger_* in the target):\n"
"      --reload              load inputs the ledger says were loaded with\n"
"                            this mapping (by content hash); else they are\n"
"                            skipped, and a killed run's committed records\n"
"                            are skipped as \"loaded earlier\"\n"
"      --no-ledger           no ledger: load every input in full, create\n"
"                            no ledger table\n"
"      --lock-wait SEC       wait up to SEC s, 0..86400, for another run of\n"
"                            the same mapping into the same target (default\n"
"                            0: exit 79 at once naming its host, pid, start)\n"
"\n"
"Output:\n"
"      --progress            show progress on stderr: a bar on a terminal (the\n"
"                            default there: % of input bytes, rec/s, ETA),\n"
"                            else a plain line every --progress-interval s\n"
"      --no-progress         no progress display, not even on a terminal\n"
"      --progress-interval SEC  seconds between plain lines, 1..3600 (default 10)\n"
"      --summary-json FILE   the run's report as JSON (\"-\" = stdout, instead of\n"
"                            the summary), written also when the run fails;\n"
"                            schema: summary.schema.json in the examples\n"
"      --quiet               no summary (and no progress unless --progress)\n"
"\n"
"Configuration:\n"
"      --config FILE         options from FILE, one \"key = value\" a line (key:\n"
"                            a long option without \"--\"; flags take yes/no;\n"
"                            \"input = GLOB\" adds inputs when the command line\n"
"                            has none; '#' starts a comment line); the command\n"
"                            line overrides it.  systemd: migrate@NAME.timer\n"
"                            runs --config /etc/migrate/NAME.conf nightly\n"
"  -h, --help                this text\n"
"  -V, --version             versions of migrate and its libraries\n"
"\n"
"Exit status (when several apply, the first of: a fatal error 69-79/70,\n"
"then 66, 65, 1, 0):\n"
"    0  every record loaded (or already present: duplicates)\n"
"    1  finished, but some records were rejected (see the reject file)\n"
"   64  usage error (also: the reject file is one of the inputs)\n"
"   65  an input was not well-formed (or empty): read up to the error, the\n"
"       run went on; or an input held no record (the record path matched\n"
"       nothing: a wrong namespace?)\n"
"   66  an input file (or the password file) missing or unreadable\n"
"   69  database unreachable, login refused, driver or DSN unknown\n"
"   70  internal error\n"
"   73  reject file or JSON report cannot be created\n"
"   75  connection lost, deadlocks or timeouts for longer than --retry-for\n"
"   76  database error during the load, e.g. missing table or column\n"
"   77  permission denied by the database\n"
"   78  mapping or schema file wrong\n"
"   79  another run of the same mapping into the same target holds the lock\n"
"  130  SIGINT: the run stopped within a moment; committed records stay,\n"
"       the summary counts the rest as \"not loaded\" (a second signal:\n"
"       130 at once, no summary)\n"
"  143  SIGTERM: as for SIGINT\n"
"\n"
"See migrate(1) for the mapping file format.\n";

void tool_help(FILE *out)
{
    fputs(help_text, out);
}

/* ---- --version ---- */

/* Returns the unixODBC driver manager version into buf ("" if unknown). */
static const char *odbc_version(char *buf, size_t len)
{
    SQLHENV env = SQL_NULL_HENV;
    SQLHDBC dbc = SQL_NULL_HDBC;
    SQLSMALLINT n = 0;
    buf[0] = '\0';
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)))
        return buf;
    SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
    if (SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc))) {
        if (!SQL_SUCCEEDED(SQLGetInfo(dbc, SQL_DM_VER, buf, (SQLSMALLINT)len, &n)))
            buf[0] = '\0';
        SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    }
    SQLFreeHandle(SQL_HANDLE_ENV, env);
    return buf;
}

void tool_version(FILE *out)
{
    char pcre[64] = "", odbc[64];
    pcre2_config(PCRE2_CONFIG_VERSION, pcre);
    fprintf(out, "%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
    fprintf(out, "libxml2 %s, PCRE2 %s", LIBXML_DOTTED_VERSION, pcre);
    if (*odbc_version(odbc, sizeof odbc))
        fprintf(out, ", unixODBC %s", odbc);
    fputc('\n', out);
}
