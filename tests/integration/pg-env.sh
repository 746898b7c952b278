# shellcheck shell=bash
# pg-env.sh — sourced by the integration scripts that talk to the test
# PostgreSQL (run.sh, reconnect.sh, connfail.sh).  From MIGRATE_TEST_PG (an
# ODBC connection string, see tests/with-postgres.sh) it defines pg_attr,
# pg_env_setup and pg; nothing runs at source time.  Needs lib.sh sourced
# first (connstr_attr, connstr_with_database).

# pg_attr KEY: the value of KEY in MIGRATE_TEST_PG ({braces} removed).
pg_attr() { connstr_attr "$MIGRATE_TEST_PG" "$1"; }

# pg_env_setup: export psql's PG* variables (those tests/with-postgres.sh
# set win, else what the connection string says), set pg_password and the
# psql_cmd array (MIGRATE_TEST_PG_PSQL, else psql -X -q -v ON_ERROR_STOP=1).
pg_env_setup() {
    pg_password=$(pg_attr 'PWD')
    [ -n "$pg_password" ] || pg_password=$(pg_attr 'Password')
    : "${PGHOST:=$(pg_attr 'Server')}" "${PGPORT:=$(pg_attr 'Port')}"
    : "${PGDATABASE:=$(pg_attr 'Database')}" "${PGUSER:=$(pg_attr 'UID')}"
    : "${PGPASSWORD:=$pg_password}"
    export PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD
    if [ -n "${MIGRATE_TEST_PG_PSQL:-}" ]; then
        read -r -a psql_cmd <<< "$MIGRATE_TEST_PG_PSQL"
    else
        psql_cmd=(psql -X -q -v ON_ERROR_STOP=1)
    fi
}

# pg ARGS...: psql quietly on the test database (after pg_env_setup).
pg() {
    PGOPTIONS='-c client_min_messages=warning' "${psql_cmd[@]}" "$@"
}

# pg_own_database NAME: create database NAME anew and point MIGRATE_TEST_PG
# and PGDATABASE at it (after pg_env_setup), so that scripts make runs at the
# same time (make -j check) never share, or drop, each other's tables.
pg_own_database() {
    pg -c "DROP DATABASE IF EXISTS $1" >/dev/null && pg -c "CREATE DATABASE $1" >/dev/null ||
        return 1
    MIGRATE_TEST_PG=$(connstr_with_database "$MIGRATE_TEST_PG" "$1")
    PGDATABASE=$1
    export MIGRATE_TEST_PG PGDATABASE
    # psql_cmd may name the shared database (-d NAME): name ours instead
    local i
    for i in "${!psql_cmd[@]}"; do
        if [ "${psql_cmd[$i]}" = -d ] && [ $((i + 1)) -lt ${#psql_cmd[@]} ]; then
            psql_cmd[i + 1]=$1
        fi
    done
}
