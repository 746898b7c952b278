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
    CMD_CHECK,      /* migrate check -m MAPPING [INPUT...]: no database */
    CMD_PING,       /* migrate ping [TARGET]: connect and say what answered */
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
#define TOOL_PROGRESS_IV_DEF 10 /* seconds between plain progress lines */
#define TOOL_LOCK_WAIT_MAX 86400UL /* seconds: a day */
#define TOOL_QUERY_TIMEOUT_MAX 86400
#define TOOL_RETRY_FOR_DEF 300
#define TOOL_RETRY_FOR_MAX 86400
#define TOOL_DEFAULT_DB "migrate.db"
#define TOOL_DEFAULT_REJECTS "migrate-rejects.xml"

/* One `key = value` line of a --config file (tool_config.c). */
typedef struct tool_cfgitem {
    char *key, *value;
    size_t line;
} tool_cfgitem;

/* A --config file read into its lines and its inputs (globs expanded). */
typedef struct tool_cfgfile {
    char *path;
    tool_cfgitem *items;
    size_t n, cap;
    char **inputs;
    size_t ninputs, cap_inputs;
} tool_cfgfile;

/* Read file into *cf (which it initialises; free with tool_cfgfile_free
 * whatever the result).  Returns 0, 66 (unreadable) or 64 with
 * "FILE:LINE: reason" in msg for a line that is not `key = value`. */
int tool_cfgfile_read(tool_cfgfile *cf, const char *file, char *msg, size_t msglen);
void tool_cfgfile_free(tool_cfgfile *cf);
/* Returns 1 for yes/true/on/1/"" , 0 for no/false/off/0, -1 otherwise. */
int tool_cfg_bool(const char *v);

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
    int connect_timeout;        /* --connect-timeout: the login only */
    int query_timeout;          /* --query-timeout, 0 = none */
    int retry_for;              /* --retry-for seconds */
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
    int no_ledger;              /* --no-ledger */
    int reload;                 /* --reload */
    unsigned long lock_wait;    /* --lock-wait SEC (0: exit at once) */

    /* Output. */
    int progress;               /* 1 --progress, 0 --no-progress, -1 unset
                                   (on when stderr is a terminal) */
    int quiet;
    unsigned long progress_interval; /* seconds between plain lines */
    const char *summary_json;   /* --summary-json FILE ("-" = stdout), or NULL */

    /* --config FILE, as read (its values are what some fields point to). */
    tool_cfgfile file;
    int have_file;
    int target_from_file;       /* the target came from the file (the
                                   command line's own replaces it) */

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
