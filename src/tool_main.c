/* tool_main.c — main: parse the command line, run one command (load,
 * init-db, --print-ddl, --help, --version) on the engine, print what the
 * user must see and turn the outcome into the exit status of cli.md.
 *
 * Output order of a load: per-file problems ("migrate: bad.xml:17:5: ...")
 * on stderr, the summary on stdout, a fatal error last on stderr.  SIGINT
 * and SIGTERM are blocked in every thread and taken by one watcher thread:
 * the first asks the engine to stop, a second one exits 130.  The locale
 * stays "C" on purpose: numbers are parsed and printed by us. */
#include "config.h"
#include "tool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
        say_raw("\nmigrate: stopping (interrupt again to quit at once)\n");
        engine_request_stop();
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

/* ---- the commands ---- */

/* Returns the loaded mapping, or NULL after printing why (*code set). */
static mapping *load_mapping(const struct tool_config *cfg, int *code)
{
    mig_err err;
    err_clear(&err);
    mapping *m = mapping_load(cfg->mapping_path, &err);
    if (!m) {
        say(err.msg);
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
    mapping *m = load_mapping(cfg, &code);
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
    mig_err err;
    mapping *m = load_mapping(cfg, &code);
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
}

/* Print what a finished or stopped load leaves to say, in cli.md's order
 * (file problems, summary, sum check, fatal error); returns the exit code.
 * rc: engine_run's result (err set when -1); sig: signal that stopped it. */
static int report_load(const struct tool_config *cfg, stats *s, int rc, const mig_err *err,
                       int sig)
{
    stats_totals t;
    char why[512], line[600];
    int code;

    report_files(s);
    stats_totals_get(s, &t);
    /* A run that failed before reading anything has nothing to sum up. */
    if (!cfg->quiet && !(rc != 0 && t.read == 0)) {
        tool_summary(stdout, s, cfg->rejects_path);
        fflush(stdout);
    }
    /* The numbers must add up; unfinished records only if the run stopped. */
    int bad_sums = stats_check(s, rc != 0 || sig != 0, why, sizeof why) != 0;
    if (bad_sums) {
        snprintf(line, sizeof line, "internal error: %s", why);
        say(line);
    }
    if (rc) {
        say(err->msg);
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

/* The load: returns the exit code. */
static int cmd_load(const struct tool_config *cfg)
{
    int code = 0;
    mapping *m = load_mapping(cfg, &code);
    if (!m)
        return code;

    engine_opts o;
    tool_progress prog;
    load_opts(cfg, m, &o);
    if (cfg->progress) {
        tool_progress_init(&prog, stderr);
        o.progress = tool_progress_cb;
        o.progress_arg = &prog;
        o.progress_interval = 1.0;
    }

    sigwatch w;
    int watching = sigwatch_start(&w) == 0;
    stats *s = NULL;
    mig_err err;
    err_clear(&err);
    int rc = engine_run(&o, &s, &err);
    int sig = watching ? sigwatch_stop(&w) : 0;
    if (cfg->progress)
        tool_progress_done(&prog);
    if (rc == 0)
        err_clear(&err);
    else if (err.status == MIG_OK)
        err_set(&err, MIG_EINTERNAL, "the run stopped without saying why");

    if (s) {
        code = report_load(cfg, s, rc, &err, sig);
        stats_free(s);
    } else {
        say(rc ? err.msg : "internal error: the engine returned no stats");
        code = rc ? tool_status_exit(&err) : EXIT_SOFTWARE;
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
    }
    tool_config_free(&cfg);
    if (fflush(stdout) != 0 && errno != EPIPE) {
        fprintf(stderr, "migrate: cannot write standard output: %s\n", strerror(errno));
        if (code == EXIT_OK_ALL)
            code = EXIT_SOFTWARE;
    }
    return code;
}
