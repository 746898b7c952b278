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
    EXIT_LOCKED = 79,      /* another run of the same mapping into the same
                              target holds the run lock (no sysexits code
                              means "busy"; the first past EX__MAX 78, so it
                              is none of theirs; 75 EX_TEMPFAIL is taken) */
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

/* ---- tool_progress.c ---- */

/* State of the progress display (owned by the thread that runs the load). */
typedef struct tool_progress {
    FILE *out;            /* stderr */
    int tty;              /* out is a terminal: redraw one line with \r */
    int drawn;            /* a \r line is on screen (needs a final newline) */
    double interval;      /* seconds between plain lines (not a terminal) */
    double last;          /* stats_now() of the last line printed */
    uint64_t total_bytes; /* sum of the inputs' sizes */
    int size_known;       /* every input is a regular file */
} tool_progress;

/* What one progress line shows. */
typedef struct tool_progress_view {
    stats_totals t;
    uint64_t bytes, total_bytes; /* read so far, all inputs */
    int size_known;
    int done;                    /* the run ended: elapsed is its length */
    double elapsed;
} tool_progress_view;

/* Start the display: tty = draw a bar in place, else plain lines every
 * interval seconds; the inputs' sizes are taken now ("-" has none). */
void tool_progress_init(tool_progress *p, FILE *out, int tty, double interval,
                        const char *const *inputs, size_t ninputs);
/* engine_opts.progress callback (arg = tool_progress *): draw when due. */
void tool_progress_cb(stats *s, void *arg);
/* The last line, for the run's end (s may be NULL: nothing to show). */
void tool_progress_done(tool_progress *p, stats *s);
/* Format the terminal line ("[#####...]  25%  1,000 records  500 rec/s  ETA 0:06"). */
char *tool_progress_bar(char *buf, size_t len, const tool_progress_view *v);
/* Format a plain line ("progress: 25% of 1.2 MB read, 1,000 records (loaded
 * 990, duplicate 0, rejected 10), 500 rec/s, ETA 0:06"). */
char *tool_progress_line(char *buf, size_t len, const tool_progress_view *v);
/* Returns v as "532 B", "12.3 kB", "4.5 MB", "1.2 GB" in buf. */
char *tool_bytes_text(char *buf, size_t len, uint64_t v);
/* Returns seconds as "m:ss" or "h:mm:ss" in buf. */
char *tool_duration_text(char *buf, size_t len, double seconds);

/* ---- tool_json.c ---- */

/* What the report says besides the stats. */
typedef struct tool_report {
    const char *command;      /* "load", "check" */
    int exit_code;            /* the process's exit status */
    const char *error;        /* the fatal error line, or NULL */
    int signal;               /* the signal that stopped the run, or 0 */
    const char *started;      /* UTC, "2026-12-01T02:00:00Z" */
    const char *finished;
    const char *rejects_path; /* named when there are rejects */
} tool_report;

/* Print the JSON report of a run (packaging/summary.schema.json). */
void tool_summary_json(FILE *out, stats *s, const tool_report *r);
/* Print str as a JSON string (NULL: null); invalid UTF-8 bytes -> U+FFFD. */
void tool_json_string(FILE *out, const char *str);
/* Returns the name of a file's state, as the JSON report and the summary
 * table say it ("done", "not read", "skipped", ...). */
const char *tool_state_name(file_state st);

/* ---- tool_check.c ---- */

struct mapping;
struct db_target;
/* `migrate check`: read inputs through the mapping (no database), reasons
 * of rejected records on stderr unless quiet.  Returns the stats ("loaded"
 * = records that would be loaded), or NULL with err (the XSD is wrong). */
stats *tool_check_run(const struct mapping *m, const char *const *inputs, size_t ninputs,
                      const char *schema_path, size_t max_record_bytes, int quiet,
                      mig_err *err);
/* Print check's file table (read, ok, rejected). */
void tool_check_summary(FILE *out, stats *s);
/* `migrate ping`: connect, print "DBMS version (dialect D, driver X V)" to
 * out.  Returns 0, or -1 with err. */
int tool_ping(FILE *out, const struct db_target *target, mig_err *err);

/* ---- tool_main.c ---- */

/* Returns the exit code of a load: the fatal error if the run stopped (NULL
 * or MIG_OK: none), else the worst file state, else 1 for rejects, else 0. */
int tool_exit_code(const mig_err *fatal, stats *s);
/* Returns the exit code for a fatal engine error status (sqlstate refines
 * database errors: class 08 / 40 during a load -> 75). */
int tool_status_exit(const mig_err *e);

#endif
