/* tool.h — the command-line tool on top of the engine (as curl's tool_*
 * files sit on top of libcurl): help and version text, the summary and the
 * progress line, and the exit codes of cli.md.  Only the tool prints or
 * exits; the engine returns stats and mig_err. */
#ifndef MIGRATE_TOOL_H
#define MIGRATE_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "stats.h"

/* Exit codes (sysexits.h values, spelled out so that the table in cli.md,
 * the --help text and the man page can be checked against one place). */
enum tool_exit {
    EXIT_OK_ALL = 0,       /* every record loaded (or already present) */
    EXIT_REJECTS = 1,      /* finished, some records rejected */
    EXIT_USAGE = 64,       /* EX_USAGE */
    EXIT_DATAERR = 65,     /* EX_DATAERR: an input not well-formed */
    EXIT_NOINPUT = 66,     /* EX_NOINPUT: an input missing/unreadable */
    EXIT_UNAVAILABLE = 69, /* EX_UNAVAILABLE: database unreachable */
    EXIT_SOFTWARE = 70,    /* EX_SOFTWARE: internal error */
    EXIT_CANTCREAT = 73,   /* EX_CANTCREAT: reject file */
    EXIT_TEMPFAIL = 75,    /* EX_TEMPFAIL: connection lost, deadlocks */
    EXIT_PROTOCOL = 76,    /* EX_PROTOCOL: database error during the load */
    EXIT_NOPERM = 77,      /* EX_NOPERM: permission denied */
    EXIT_CONFIG = 78,      /* EX_CONFIG: mapping or schema wrong */
    EXIT_SIGINT = 130      /* a second SIGINT/SIGTERM */
};

/* ---- tool_help.c ---- */

/* Print the --help text. */
void tool_help(FILE *out);
/* Print the --version text (package, libxml2, PCRE2, unixODBC versions). */
void tool_version(FILE *out);

/* ---- tool_summary.c ---- */

/* Format v with thousands separators ("2,500") into buf; returns buf. */
char *tool_thousands(char *buf, size_t len, uint64_t v);
/* Returns records per minute: read * 60 / elapsed, rounded (0 if elapsed <= 0). */
uint64_t tool_rec_per_min(uint64_t read, double elapsed);

/* Print the summary of a run (file, table, worker tables, elapsed and rejects
 * lines) to out.  rejects_path names the reject file in the last line. */
void tool_summary(FILE *out, stats *s, const char *rejects_path);

/* State of the progress line. */
typedef struct tool_progress {
    FILE *out;        /* stderr */
    int tty;          /* out is a terminal: redraw one line with \r */
    int drawn;        /* a \r line is on screen (needs a final newline) */
    double last;      /* stats_now() of the last line printed */
} tool_progress;

void tool_progress_init(tool_progress *p, FILE *out);
/* engine_opts.progress callback (arg = tool_progress *): print one line. */
void tool_progress_cb(stats *s, void *arg);
/* End the progress line (newline after a \r line). */
void tool_progress_done(tool_progress *p);
/* Format one progress line (without \r or \n) into buf; returns buf. */
char *tool_progress_line(char *buf, size_t len, const stats_totals *t, double elapsed);

/* ---- tool_main.c ---- */

/* Returns the exit code of a load: the fatal error if the run stopped (NULL
 * or MIG_OK: none), else the worst file state, else 1 for rejects, else 0. */
int tool_exit_code(const mig_err *fatal, stats *s);
/* Returns the exit code for a fatal engine error status (sqlstate refines
 * database errors: class 08 / 40 during a load -> 75). */
int tool_status_exit(const mig_err *e);

#endif
