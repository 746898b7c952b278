/* err.h — the one way the engine reports an error.
 *
 * Engine functions never print and never exit.  A function that can fail
 * returns -1 (or NULL) and fills a caller-owned `mig_err` with a status class
 * and one line of text that already names its context (file:line, table,
 * column, SQLSTATE ...).  The tool maps the status to an exit code and prints
 * the line.  Messages must never contain a password: err_redact() scrubs
 * PWD=... / Password=... from any text that came from a driver. */
#ifndef MIGRATE_ERR_H
#define MIGRATE_ERR_H

#include <stddef.h>

typedef enum mig_status {
    MIG_OK = 0,
    MIG_EUSAGE,     /* bad option or argument */
    MIG_ENOINPUT,   /* an input file cannot be opened or read */
    MIG_EDATA,      /* input not well-formed: that file stopped, others go on */
    MIG_ECONFIG,    /* mapping or schema file is wrong */
    MIG_ECANTCREAT, /* reject file cannot be created or written */
    MIG_ECONNECT,   /* database cannot be reached / login refused / no driver */
    MIG_EDBPERM,    /* database refused for lack of permission */
    MIG_EDBSCHEMA,  /* missing table or column in the target */
    MIG_ETEMPFAIL,  /* link lost / deadlocks: retries exhausted */
    MIG_EDB,        /* any other database error that stopped the run */
    MIG_ENOMEM,
    MIG_EINTERNAL,
    MIG_ELOCKED     /* another run of the same mapping holds the target's run lock */
} mig_status;

typedef struct mig_err {
    mig_status status;
    char sqlstate[6];   /* "" when not a database error */
    long native;        /* driver's native error code, 0 if none */
    char msg[1024];     /* one line, no trailing newline */
} mig_err;

/* Set *e (if non-NULL) to status and a printf-formatted message; returns -1. */
int err_set(mig_err *e, mig_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the message already in *e with "prefix: "; returns -1. */
int err_prefix(mig_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear *e to MIG_OK with an empty message. */
void err_clear(mig_err *e);

/* Remove password values (PWD=..., Password=..., keys case-insensitive, values
 * up to ';' or inside {...}) from s in place, replacing them with "***". */
void err_redact(char *s);

/* Abort on allocation failure: the engine treats OOM as fatal. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
