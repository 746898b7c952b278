# shellcheck shell=bash
# tds-env.sh — sourced by the integration scripts that talk to the test TDS
# (SQL Server protocol) server (run.sh, reconnect.sh, login-tds.sh).  From
# MIGRATE_TEST_MSSQL (an ODBC connection string, see tests/with-tds.sh) it
# defines tds_attr, tds_env_setup, tds_sql and tds_own_database; nothing
# runs at source time.  SQL goes through `dbdump --exec` (the engine's own
# connect: the password never lands on a SQL client's command line or in its
# output); DBDUMP must name that binary.  Needs lib.sh sourced first
# (connstr_attr, connstr_with_database).

# tds_attr KEY: the value of KEY in MIGRATE_TEST_MSSQL ({braces} removed).
tds_attr() { connstr_attr "$MIGRATE_TEST_MSSQL" "$1"; }

# tds_env_setup: set tds_password (to mask it in logs) and tds_master, the
# connection string of the server's database master.
tds_env_setup() {
    tds_password=$(tds_attr 'PWD')
    [ -n "$tds_password" ] || tds_password=$(tds_attr 'Password')
    tds_master=$(tds_with_database master)
}

# tds_with_database NAME: MIGRATE_TEST_MSSQL with Database=NAME.
tds_with_database() { connstr_with_database "$MIGRATE_TEST_MSSQL" "$1"; }

# tds_sql [CONNSTR]: run the T-SQL batch on stdin (default: on the test
# database); result rows go to stdout, TAB-separated.
tds_sql() {
    "$DBDUMP" --connect "${1:-$MIGRATE_TEST_MSSQL}" --exec
}

# tds_own_database NAME: create database NAME anew (dropping an old one) and
# point MIGRATE_TEST_MSSQL at it, so that scripts make runs at the same time
# (make -j check) never share, or drop, each other's tables.  Run again, it
# empties the database: every table, constraint and view goes with it.
# The stand-in (Babelfish) may refuse a CREATE/DROP DATABASE that runs at the
# same time as another script's ("tuple concurrently updated", PostgreSQL's
# catalog): up to 5 tries, the last one's error on stderr.
tds_own_database() {
    local try
    for try in 1 2 3 4 5; do
        printf 'IF DB_ID(%s) IS NOT NULL DROP DATABASE %s;\nCREATE DATABASE %s;\n' \
            "'$1'" "$1" "$1" | tds_sql "$tds_master" >/dev/null 2>"$work/.tds-own.err" && break
        [ "$try" = 5 ] && { cat "$work/.tds-own.err" >&2; return 1; }
        sleep "$try"
    done
    MIGRATE_TEST_MSSQL=$(tds_with_database "$1")
    export MIGRATE_TEST_MSSQL
}
