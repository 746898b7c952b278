/* tool_getparam.h — the command line parsed into one struct.
 *
 * tool_getparam() turns argv into a `tool_config`: every option checked
 * (numbers in range, enums, conflicting targets), the database target built
 * (connection string without its password, the password in target.password),
 * the reject path defaulted.  It never prints and never exits: it returns the
 * exit code and one line of reason, and main prints it. */
#ifndef MIGRATE_TOOL_GETPARAM_H
#define MIGRATE_TOOL_GETPARAM_H

#include <stddef.h>

#include "db.h"
#include "mapping.h"

typedef enum tool_cmd {
    CMD_LOAD = 0,   /* migrate [OPTIONS] -m MAPPING INPUT... */
    CMD_INIT_DB,    /* migrate init-db -m MAPPING [TARGET] */
    CMD_PRINT_DDL,  /* migrate --print-ddl -m MAPPING [--dialect D] */
    CMD_HELP,       /* -h, --help */
    CMD_VERSION     /* -V, --version */
} tool_cmd;

/* Defaults and ranges of the numeric options. */
#define TOOL_WORKERS_DEF 2
#define TOOL_KEY_MEMORY_DEF 16UL /* MB: keeps peak RSS flat on any input size */
#define TOOL_MAX_RECORD_DEF (16UL * 1024 * 1024) /* --max-record-bytes */
#define TOOL_MAX_RECORD_MIN 1024UL
#define TOOL_MAX_RECORD_MAX (1024UL * 1024 * 1024)
#define TOOL_WORKERS_MAX 64
#define TOOL_BATCH_DEF 500
#define TOOL_BATCH_MAX 100000
#define TOOL_QUEUE_DEF 4
#define TOOL_QUEUE_MAX 1024
#define TOOL_TIMEOUT_DEF 15
#define TOOL_TIMEOUT_MAX 3600
#define TOOL_DEFAULT_DB "migrate.db"
#define TOOL_DEFAULT_REJECTS "migrate-rejects.xml"

struct tool_config {
    tool_cmd cmd;
    const char *mapping_path;   /* -m (points into argv) */
    const char **inputs;        /* INPUT... (pointers into argv; array owned) */
    size_t ninputs;

    /* Target, as given. */
    const char *db_file;        /* --db, or NULL */
    int have_connect;           /* --connect given (its text is in target.connstr) */
    const char *dsn;            /* --dsn, or NULL */
    const char *dialect;        /* --dialect, or NULL */
    const char *password_file;  /* --password-file, or NULL */
    int connect_timeout;
    load_method load;
    int create_tables;          /* --create-tables, or implied by an SQLite target */
    int sqlite_target;          /* the target is an SQLite file (--db or default) */

    /* Loading. */
    size_t workers, batch_size, queue_depth;
    dup_policy on_dup;
    int preload_keys;
    unsigned long key_memory_mb; /* all key sets together; 0 = no limit */
    unsigned long max_record_bytes; /* largest record (reader.h's cost) */
    const char *schema_path;    /* --schema, or NULL */
    char *rejects_path;         /* -r, or the default (owned) */

    /* Output. */
    int progress, quiet;

    /* Built from the above: connstr without password, password (owned). */
    db_target target;
};

/* Parse argv into *cfg (which it initialises; free with tool_config_free
 * whatever the result).  Returns 0, or an exit code with a one-line reason
 * in msg: 64 (usage), 66 (password file unreadable).  A --connect value that
 * holds PWD=/Password= is overwritten in argv with '*' after it was copied,
 * so that `ps` does not show it. */
int tool_getparam(struct tool_config *cfg, int argc, char **argv, char *msg, size_t msglen);
void tool_config_free(struct tool_config *cfg);

/* Overwrite the value of every PWD=/Password= item of connection string s
 * (keys case-insensitive, value up to ';' or a {...} block) with '*', in
 * place, keeping the length.  Returns the number of values masked. */
int tool_mask_password(char *s);


/* Returns the default reject file for an SQLite database file: "x.db" ->
 * "x.rejects.xml", "x.sqlite" -> "x.sqlite.rejects.xml" (caller frees). */
char *tool_default_rejects(const char *db_file);

#endif
