/* tool_main.c — main: parse the command line, run one command (load,
 * init-db, --print-ddl, --help, --version) on the engine, print what the
 * user must see and turn the outcome into the exit status of cli.md.
 *
 * Output order of a load: per-file problems ("migrate: bad.xml:17:5: ...")
 * on stderr, the summary on stdout, a fatal error last on stderr; then the
 * JSON report (--summary-json), written whatever the outcome, its exit
 * status included.  The progress display (tool_progress.c) draws on stderr
 * while the run goes on.  check and ping (tool_check.c) need no load.  SIGINT
 * and SIGTERM are blocked in every thread and taken by one watcher thread:
 * the first asks the engine to stop (it ends within a moment wherever it
 * waits; the summary counts what was read and not loaded) and the exit is
 * 128 + the signal (130 SIGINT, 143 SIGTERM); a second one exits 130 at
 * once, without a summary.  The locale
 * stays "C" on purpose: numbers are parsed and printed by us. */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dialect.h"
#include "engine.h"
#include "mapping.h"
#include "strbuf.h"
#include "tool_getparam.h"

/* ---- exit status ---- */

/* Exit code of each fatal engine status (cli.md, "Exit status"). */
static const int status_exit[] = {
    [MIG_OK] = EXIT_OK_ALL,
    [MIG_EUSAGE] = EXIT_USAGE,
    [MIG_ENOINPUT] = EXIT_NOINPUT,
    [MIG_EDATA] = EXIT_DATAERR,
    [MIG_ECONFIG] = EXIT_CONFIG,
    [MIG_ECANTCREAT] = EXIT_CANTCREAT,
    [MIG_ECONNECT] = EXIT_UNAVAILABLE,
    [MIG_EDBPERM] = EXIT_NOPERM,
    [MIG_EDBSCHEMA] = EXIT_PROTOCOL,
    [MIG_ETEMPFAIL] = EXIT_TEMPFAIL,
    [MIG_EDB] = EXIT_PROTOCOL,
    [MIG_ENOMEM] = EXIT_SOFTWARE,
    [MIG_EINTERNAL] = EXIT_SOFTWARE,
    [MIG_ELOCKED] = EXIT_LOCKED,
};

int tool_status_exit(const mig_err *e)
{
    size_t n = sizeof status_exit / sizeof status_exit[0];
    if ((size_t)e->status >= n || e->status == MIG_OK)
        return EXIT_SOFTWARE; /* a failure without a class is our bug */
    return status_exit[e->status];
}

int tool_exit_code(const mig_err *fatal, stats *s)
{
    if (fatal && fatal->status != MIG_OK)
        return tool_status_exit(fatal);
    int code = EXIT_OK_ALL;
    stats_totals t;
    stats_totals_get(s, &t);
    if (t.rejected)
        code = EXIT_REJECTS;
    /* 66 > 65 > 1 > 0: the larger number wins among these. */
    for (size_t i = 0; i < s->nfiles; i++) {
        if (s->files[i].state == FILE_UNREADABLE && code < EXIT_NOINPUT)
            code = EXIT_NOINPUT;
        else if ((s->files[i].state == FILE_MALFORMED || s->files[i].state == FILE_NORECORD) &&
                 code < EXIT_DATAERR)
            code = EXIT_DATAERR;
    }
    return code;
}

/* ---- messages ---- */

/* Print "migrate: msg" on stderr (stdout flushed first, to keep order). */
static void say(const char *msg)
{
    fflush(stdout);
    fprintf(stderr, "migrate: %s\n", msg);
}

/* Print the line of every input that stopped early. */
static void report_files(stats *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        const stats_file *f = &s->files[i];
        char line[600];
        if (f->state != FILE_MALFORMED && f->state != FILE_UNREADABLE &&
            f->state != FILE_NORECORD)
            continue;
        if (f->error[0])
            snprintf(line, sizeof line, "%s", f->error);
        else
            snprintf(line, sizeof line, "%s: %s", f->name,
                     f->state == FILE_MALFORMED   ? "not well-formed"
                     : f->state == FILE_NORECORD ? "no record"
                                                 : "cannot be read");
        say(line);
    }
}

/* ---- SIGINT / SIGTERM ---- */

typedef struct sigwatch {
    pthread_mutex_t lock; /* guards signo */
    int signo;            /* the first signal taken, 0 = none */
    sigset_t set;         /* SIGINT, SIGTERM */
    pthread_t thread;
    int running;
} sigwatch;

/* Write a constant text to stderr (async-safe, unbuffered). */
static void say_raw(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

/* The watcher thread: returns never (cancelled by sigwatch_stop). */
static void *sigwatch_main(void *arg)
{
    sigwatch *w = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&w->set, &sig) != 0)
            continue;
        pthread_mutex_lock(&w->lock);
        int first = w->signo == 0;
        if (first)
            w->signo = sig;
        pthread_mutex_unlock(&w->lock);
        if (!first) {
            say_raw("\nmigrate: interrupted\n");
            _exit(EXIT_SIGINT);
        }
        engine_request_stop(); /* before the message: who sees it knows */
        say_raw("\nmigrate: stopping (interrupt again to quit at once)\n");
    }
    return NULL;
}

/* Block SIGINT/SIGTERM here (threads started later inherit it) and start
 * the watcher; returns 0, or -1 (then signals keep their default action). */
static int sigwatch_start(sigwatch *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &w->set, NULL) != 0)
        return -1;
    if (pthread_create(&w->thread, NULL, sigwatch_main, w) != 0) {
        pthread_sigmask(SIG_UNBLOCK, &w->set, NULL);
        return -1;
    }
    w->running = 1;
    return 0;
}

/* Stop the watcher; returns the signal taken during the run (0 = none).
 * The signals stay blocked until exit: the run is over. */
static int sigwatch_stop(sigwatch *w)
{
    if (w->running) {
        pthread_cancel(w->thread);
        pthread_join(w->thread, NULL);
        w->running = 0;
    }
    pthread_mutex_lock(&w->lock);
    int sig = w->signo;
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_destroy(&w->lock);
    return sig;
}

/* ---- the JSON report ---- */

/* Where --summary-json goes: opened before the run (a path that cannot be
 * written fails at once, not after the load), written at its end. */
typedef struct json_out {
    FILE *f;          /* NULL: no report */
    char *tmp;        /* FILE.tmp, renamed to FILE when complete (NULL: stdout) */
    const char *path;
    char started[32]; /* UTC start of the command */
} json_out;

/* Writes the current UTC time as "2026-12-01T02:00:00Z" into buf. */
static void utc_now(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Returns 0 after opening the report (if asked for), else 73 after one line. */
static int json_open(const struct tool_config *cfg, json_out *j)
{
    memset(j, 0, sizeof *j);
    utc_now(j->started, sizeof j->started);
    if (!cfg->summary_json)
        return 0;
    j->path = cfg->summary_json;
    if (strcmp(j->path, "-") == 0) {
        j->f = stdout;
        return 0;
    }
    strbuf sb = STRBUF_INIT;
    sb_printf(&sb, "%s.tmp", j->path);
    j->tmp = sb_detach(&sb);
    j->f = fopen(j->tmp, "w");
    if (!j->f) {
        char line[600];
        snprintf(line, sizeof line, "cannot write %s: %s", j->tmp, strerror(errno));
        say(line);
        free(j->tmp);
        j->tmp = NULL;
        return EXIT_CANTCREAT;
    }
    return 0;
}

/* Write the report of a finished command (s may be NULL: the run never
 * started; the inputs are then listed as not read).  Returns code, or 73
 * when the report could not be written and the run had nothing worse. */
static int json_finish(json_out *j, const struct tool_config *cfg, const char *command, stats *s,
                       int code, const char *error, int sig)
{
    if (!j->f)
        return code;
    stats *own = NULL;
    if (!s) {
        s = own = stats_new(NULL, 0, 0);
        for (size_t i = 0; i < cfg->ninputs; i++)
            stats_add_file(s, cfg->inputs[i]);
    }
    char finished[32];
    utc_now(finished, sizeof finished);
    tool_report r = {command, code, error, sig, j->started, finished, cfg->rejects_path};
    tool_summary_json(j->f, s, &r);
    stats_free(own);
    int bad = 0;
    if (j->tmp) {
        bad = fclose(j->f) != 0;
        if (!bad && rename(j->tmp, j->path) != 0)
            bad = 1;
        if (bad) {
            char line[600];
            snprintf(line, sizeof line, "cannot write %s: %s", j->path, strerror(errno));
            say(line);
            remove(j->tmp);
        }
        free(j->tmp);
    } else {
        fflush(j->f);
    }
    j->f = NULL;
    j->tmp = NULL;
    return bad && code < EXIT_CANTCREAT ? EXIT_CANTCREAT : code;
}

/* ---- the commands ---- */

/* Returns the loaded mapping, or NULL after printing why (*code set, the
 * line in why). */
static mapping *load_mapping(const struct tool_config *cfg, int *code, char *why, size_t whylen)
{
    mig_err err;
    err_clear(&err);
    mapping *m = mapping_load(cfg->mapping_path, &err);
    if (!m) {
        say(err.msg);
        snprintf(why, whylen, "%s", err.msg);
        *code = tool_status_exit(&err);
        return NULL;
    }
    for (size_t i = 0; i < m->nwarnings; i++)
        fprintf(stderr, "migrate: warning: %s\n", m->warnings[i]);
    return m;
}

/* --print-ddl: returns the exit code. */
static int cmd_print_ddl(const struct tool_config *cfg)
{
    int code = 0;
    char why[1024];
    mapping *m = load_mapping(cfg, &code, why, sizeof why);
    if (!m)
        return code;
    const char *name = cfg->dialect ? cfg->dialect
                                    : cfg->load == LOAD_BCP ? "sqlserver" : "sqlite";
    const dialect *d = dialect_by_name(name);
    if (!d) {
        say("no such dialect");
        mapping_free(m);
        return EXIT_SOFTWARE;
    }
    strbuf sb = STRBUF_INIT;
    dialect_ddl(d, m, &sb);
    fputs(sb_str(&sb), stdout);
    sb_free(&sb);
    mapping_free(m);
    return EXIT_OK_ALL;
}

/* init-db: returns the exit code. */
static int cmd_init_db(const struct tool_config *cfg)
{
    int code = 0;
    char why[1024];
    mig_err err;
    mapping *m = load_mapping(cfg, &code, why, sizeof why);
    if (!m)
        return code;
    err_clear(&err);
    if (engine_init_db(m, &cfg->target, &err) != 0) {
        say(err.msg);
        code = tool_status_exit(&err);
    }
    mapping_free(m);
    return code;
}

/* ping: returns 0, or 69 after one line.  An SQLite file that is not
 * there is not created (the driver would): a connection test must not
 * answer for a mistyped path with a new empty database. */
static int cmd_ping(const struct tool_config *cfg)
{
    mig_err err;
    err_clear(&err);
    const char *file = cfg->db_file ? cfg->db_file : TOOL_DEFAULT_DB;
    struct stat st;
    if (cfg->sqlite_target && stat(file, &st) != 0) {
        err_set(&err, MIG_ECONNECT, "cannot connect: %s: %s (ping creates no database)", file,
                strerror(errno));
        say(err.msg);
        return EXIT_UNAVAILABLE;
    }
    if (tool_ping(stdout, &cfg->target, &err) != 0) {
        say(err.msg);
        return EXIT_UNAVAILABLE;
    }
    return EXIT_OK_ALL;
}

/* The start of check and load (command): open the JSON report and load
 * the mapping.  Returns the mapping, or NULL with *code the exit code (the
 * report finished). */
static mapping *cmd_start(const struct tool_config *cfg, const char *command, json_out *j,
                          int *code)
{
    char why[1024] = "";
    if ((*code = json_open(cfg, j)))
        return NULL;
    mapping *m = load_mapping(cfg, code, why, sizeof why);
    if (!m)
        *code = json_finish(j, cfg, command, NULL, *code, why, 0);
    return m;
}

/* check: returns the exit code a load of the same inputs would give. */
static int cmd_check(const struct tool_config *cfg)
{
    int code = 0;
    json_out j;
    mapping *m = cmd_start(cfg, "check", &j, &code);
    if (!m)
        return code;
    mig_err err;
    err_clear(&err);
    stats *s = tool_check_run(m, cfg->inputs, cfg->ninputs, cfg->schema_path, cfg->max_record_bytes,
                              cfg->quiet, &err);
    if (!s) {
        say(err.msg);
        code = tool_status_exit(&err);
        code = json_finish(&j, cfg, "check", NULL, code, err.msg, 0);
    } else {
        report_files(s);
        if (!cfg->quiet && j.f != stdout)
            tool_check_summary(stdout, s);
        code = tool_exit_code(NULL, s);
        code = json_finish(&j, cfg, "check", s, code, NULL, 0);
        stats_free(s);
    }
    mapping_free(m);
    return code;
}

/* Fill the engine options of a load from the command line. */
static void load_opts(const struct tool_config *cfg, const mapping *m, engine_opts *o)
{
    memset(o, 0, sizeof *o);
    o->map = m;
    o->inputs = cfg->inputs;
    o->ninputs = cfg->ninputs;
    o->target = &cfg->target;
    o->workers = cfg->workers;
    o->batch_size = cfg->batch_size;
    o->queue_depth = cfg->queue_depth;
    o->rejects_path = cfg->rejects_path;
    o->schema_path = cfg->schema_path;
    o->on_dup = cfg->on_dup;
    o->preload_keys = cfg->preload_keys;
    o->key_memory = (size_t)cfg->key_memory_mb * 1024 * 1024;
    o->max_record_bytes = cfg->max_record_bytes;
    o->create_tables = cfg->create_tables;
    o->retry_for = cfg->retry_for;
    o->ledger = !cfg->no_ledger;
    o->reload = cfg->reload;
    o->lock_wait = (double)cfg->lock_wait;
}

/* Print what a finished or stopped load leaves to say, in cli.md's order
 * (file problems, summary, sum check, fatal error); returns the exit code.
 * rc: engine_run's result (err set when -1); sig: signal that stopped it;
 * summary: print the text summary (stdout is not the JSON report). */
static int report_load(const struct tool_config *cfg, stats *s, int rc, const mig_err *err,
                       int sig, int summary, char *why, size_t whylen)
{
    stats_totals t;
    char line[600];
    int code;

    report_files(s);
    stats_totals_get(s, &t);
    /* A run that failed before reading anything has nothing to sum up. */
    if (summary && !cfg->quiet && !(rc != 0 && t.read == 0)) {
        tool_summary(stdout, s, cfg->rejects_path);
        fflush(stdout);
    }
    /* The numbers must add up; unfinished records only if the run stopped. */
    int bad_sums = stats_check(s, rc != 0 || sig != 0, why, whylen) != 0;
    if (bad_sums) {
        snprintf(line, sizeof line, "internal error: %s", why);
        say(line);
        snprintf(why, whylen, "%s", line);
    } else {
        why[0] = '\0';
    }
    if (rc) {
        say(err->msg);
        snprintf(why, whylen, "%s", err->msg);
        code = tool_exit_code(err, s);
    } else {
        code = bad_sums ? EXIT_SOFTWARE : tool_exit_code(NULL, s);
    }
    if (sig) {
        say("interrupted");
        code = 128 + sig;
    }
    return code;
}

/* Returns 1 when the progress display is on: asked for, or by default when
 * stderr is a terminal. */
static int progress_wanted(const struct tool_config *cfg)
{
    if (cfg->progress >= 0)
        return cfg->progress;
    return !cfg->quiet && isatty(STDERR_FILENO);
}

/* The load: returns the exit code. */
static int cmd_load(const struct tool_config *cfg)
{
    int code = 0;
    char why[1024] = "";
    json_out j;
    mapping *m = cmd_start(cfg, "load", &j, &code);
    if (!m)
        return code;

    engine_opts o;
    tool_progress prog;
    int progress = progress_wanted(cfg);
    load_opts(cfg, m, &o);
    if (progress) {
        int tty = isatty(STDERR_FILENO);
        tool_progress_init(&prog, stderr, tty, (double)cfg->progress_interval, cfg->inputs,
                           cfg->ninputs);
        o.progress = tool_progress_cb;
        o.progress_arg = &prog;
        o.progress_interval = tty ? 1.0 : (double)cfg->progress_interval;
    }

    sigwatch w;
    int watching = sigwatch_start(&w) == 0;
    stats *s = NULL;
    mig_err err;
    err_clear(&err);
    int rc = engine_run(&o, &s, &err);
    int sig = watching ? sigwatch_stop(&w) : 0;
    if (progress)
        tool_progress_done(&prog, s);
    if (rc == 0)
        err_clear(&err);
    else if (err.status == MIG_OK)
        err_set(&err, MIG_EINTERNAL, "the run stopped without saying why");

    if (s) {
        code = report_load(cfg, s, rc, &err, sig, j.f != stdout, why, sizeof why);
        code = json_finish(&j, cfg, "load", s, code, why[0] ? why : NULL, sig);
        stats_free(s);
    } else {
        const char *line = rc ? err.msg : "internal error: the engine returned no stats";
        say(line);
        code = rc ? tool_status_exit(&err) : EXIT_SOFTWARE;
        code = json_finish(&j, cfg, "load", NULL, code, line, sig);
    }
    mapping_free(m);
    return code;
}

/* ---- main ---- */

int main(int argc, char **argv); /* declared: the unit test renames it */

int main(int argc, char **argv)
{
    struct tool_config cfg;
    char msg[1024];
    int code;

    signal(SIGPIPE, SIG_IGN); /* a closed pipe is a write error, not a death */
    /* Blocks of 1 MB and more (a large record's copy, its XML, a batch's
     * arena) are mapped alone and given back to the system when freed.
     * glibc would otherwise raise this threshold to the largest block freed
     * (up to 32 MB) and serve later large blocks from the heap, where they
     * stay as resident memory: 40 records of 10 MB peaked at 73 MB with the
     * default, 44 MB with this (README, "Large records"). */
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    code = tool_getparam(&cfg, argc, argv, msg, sizeof msg);
    if (code) {
        say(msg);
        if (code == EXIT_USAGE)
            fputs("Try 'migrate --help'.\n", stderr);
        tool_config_free(&cfg);
        return code;
    }
    switch (cfg.cmd) {
    case CMD_HELP:
        tool_help(stdout);
        break;
    case CMD_VERSION:
        tool_version(stdout);
        break;
    case CMD_PRINT_DDL:
        code = cmd_print_ddl(&cfg);
        break;
    case CMD_INIT_DB:
        code = cmd_init_db(&cfg);
        break;
    case CMD_LOAD:
        code = cmd_load(&cfg);
        break;
    case CMD_CHECK:
        code = cmd_check(&cfg);
        break;
    case CMD_PING:
        code = cmd_ping(&cfg);
        break;
    }
    tool_config_free(&cfg);
    if (fflush(stdout) != 0 && errno != EPIPE) {
        fprintf(stderr, "migrate: cannot write standard output: %s\n", strerror(errno));
        if (code == EXIT_OK_ALL)
            code = EXIT_SOFTWARE;
    }
    return code;
}
