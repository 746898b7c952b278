/* mapping.h — the mapping file: which element is a record, and how each
 * record becomes rows of one or more tables.
 *
 *   <mapping xmlns="urn:migrate:mapping:1" record="/a:applications/a:application"
 *            [route="@app_id"] [on-duplicate="skip|update|error"]>
 *     <namespace prefix="a" uri="urn:example:apps"/>
 *     <table name="app_base" key="app_id" [each="a:contact"] [on-duplicate="..."]>
 *       <column name="app_id" path="@app_id" type="int"/>
 *       <column name="source" var="file" type="nvarchar(260)"/>
 *       <column name="kind"   value="APP" type="varchar(8)"/>
 *       ... required="true" default="en" pattern="^..$"
 *           replace-match="[^0-9]" replace-with=""
 *     </table>
 *   </mapping>
 *
 * mapping_load() reads and checks the whole file before any data is read:
 * unknown element or attribute, unknown type, bad path, bad regex, a key
 * column that does not exist, a column with no or two sources — each is one
 * error naming the mapping file and line.  A loaded mapping is read-only and
 * shared by every thread. */
#ifndef MIGRATE_MAPPING_H
#define MIGRATE_MAPPING_H

#include <stddef.h>

#include "err.h"
#include "path.h"
#include "rule.h"
#include "types.h"

#define MAPPING_NS "urn:migrate:mapping:1"

typedef enum col_source { SRC_PATH, SRC_VALUE, SRC_VAR } col_source;
typedef enum map_var { VAR_FILE, VAR_LINE, VAR_RECORD, VAR_NOW } map_var;

/* What to do when a row's key already exists (issue: duplicates). */
typedef enum dup_policy { DUP_DEFAULT = 0, DUP_SKIP, DUP_UPDATE, DUP_ERROR } dup_policy;

typedef struct map_column {
    char *name;
    col_type type;
    col_source src;
    path *path;        /* SRC_PATH */
    char *value;       /* SRC_VALUE: the constant, as text (converted per row) */
    map_var var;       /* SRC_VAR */
    int required;      /* required="true", or a key column */
    char *deflt;       /* default="...": used when the path matches nothing */
    rule *pattern;     /* pattern="..." or NULL */
    rule *replace;     /* replace-match="..." or NULL */
    char *replace_with;/* replace-with (default "") */
    int is_key;
    int line;          /* line in the mapping file */
} map_column;

typedef struct map_table {
    char *name;
    path *each;        /* NULL: one row per record */
    size_t ncols;
    map_column *cols;
    size_t nkeys;
    size_t *key_cols;  /* indexes into cols, in the order of key="" */
    dup_policy on_dup; /* DUP_DEFAULT: use the run's policy */
    int routed;        /* the key contains the routing key: every occurrence of
                          a key reaches the same worker, so a worker's key set
                          is exact for it; else the database check decides */
    size_t *route_keys;/* routed: for each part of the routing key, the position
                          in key_cols of the column holding it; else NULL */
    int line;
} map_table;

typedef struct mapping {
    char *file;        /* path of the mapping file, for messages */
    ns_table ns;
    record_path *record;
    path *route;       /* route="..." on <mapping>, or NULL: key of table 0 */
    size_t nroute;     /* parts of the routing key (1 with route=) */
    int route_table;   /* route=: the first table whose key holds the routing
                          value, whose column (route_col) converts it; -1: none
                          does, the trimmed text is the value */
    size_t route_col;
    dup_policy on_dup; /* DUP_DEFAULT unless given on <mapping> */
    size_t ntables;
    map_table *tables; /* in file order: that is also the insert order */
    size_t nwarnings;
    char **warnings;   /* "FILE:LINE: ..." lines for the tool to print */
} mapping;

/* Load and check a mapping file.  Returns NULL with MIG_ECONFIG and
 * "FILE:LINE: reason" in err. */
mapping *mapping_load(const char *file, mig_err *err);
/* Same, from a buffer (for tests); name is used in messages. */
mapping *mapping_load_memory(const char *buf, size_t len, const char *name, mig_err *err);
void mapping_free(mapping *m);

/* Returns the index of table `name`, or -1. */
int mapping_table_index(const mapping *m, const char *name);

#endif
