#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions reached only through trap
# with-postgres.sh CMD [ARG...] — run CMD next to a throwaway PostgreSQL server.
#
# Starts a private PostgreSQL (Debian's postgresql package, version 15 unless
# PGBIN names another bin directory) on 127.0.0.1 at a free port, in a fresh
# mktemp -d directory (data, log, socket), with its own superuser `migrate`
# (random password) and a database `migrate_test`.  It never touches the
# package's own cluster (15/main on port 5432).  For CMD it exports
#
#   MIGRATE_TEST_PG       ODBC connection string for the "PostgreSQL Unicode" driver
#   MIGRATE_TEST_PG_PSQL  a psql command line for the same database
#   MIGRATE_TEST_PG_CTL   a script running pg_ctl on this server as its OS
#                         user (`$MIGRATE_TEST_PG_CTL stop -m fast -w`, `... start
#                         -w`: same data directory, port and log), for the
#                         tests that take the server away mid-load
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE
#
# then stops the server and removes the directory on every exit path, and
# exits with CMD's status.  As root the server runs as the OS user postgres
# (initdb refuses root); otherwise as the current user.
set -euo pipefail

# shellcheck source=tests/with-server.sh
. "$(cd "$(dirname "$0")" && pwd)/with-server.sh"
with_usage "$@"

# ---- locate the server binaries ----
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/initdb" ] && PGBIN=$d
    done
fi
if [ ! -x "$PGBIN/initdb" ]; then
    echo "with-postgres: no PostgreSQL server binaries (apt-get install postgresql)" >&2
    exit 69
fi
PSQL="$PGBIN/psql"
[ -x "$PSQL" ] || PSQL=psql

# ---- who runs the server ----
as_server() { "$@"; }
server_user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root but there is no OS user postgres" >&2
        exit 69
    fi
    server_user=postgres
    if command -v runuser >/dev/null 2>&1; then
        as_server() { runuser -u postgres -- "$@"; }
    else
        as_server() {
            setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
        }
    fi
fi

# ---- scratch directory and cleanup on every exit path ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migrate-pg.XXXXXX")
data="$tmp/data"
sock="$tmp/sock"
log="$tmp/server.log"
started=0

# Stop the server (fast shutdown, then by PID) and remove the directory.
cleanup() {
    if [ "$started" -eq 1 ] && [ -d "$data" ]; then
        (cd "$tmp" && as_server "$PGBIN/pg_ctl" -D "$data" -m fast -w -t 20 stop) \
            >/dev/null 2>&1 || true
        stop_postmaster "$data/postmaster.pid"
    fi
    rm -rf "$tmp"
    if [ -n "${port:-}" ] && [ "$(cat "${TMPDIR:-/tmp}/migrate-pg-port.$port" 2>/dev/null)" = "$$" ]; then
        rm -f "${TMPDIR:-/tmp}/migrate-pg-port.$port"
    fi
}
with_traps

mkdir -p "$sock"
password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
printf '%s\n' "$password" > "$tmp/pwfile"
chmod 700 "$tmp"
chmod 600 "$tmp/pwfile"
if [ "$server_user" = postgres ] && [ "$(id -un)" != postgres ]; then
    chown -R postgres: "$tmp"
fi

# Print the server log and fail.
die_with_log() {
    echo "with-postgres: $*" >&2
    if [ -f "$log" ]; then
        echo "---- $log ----" >&2
        tail -n 40 "$log" >&2 || true
    fi
    exit 69
}

# ---- initdb: superuser migrate, password auth only ----
if ! (cd "$tmp" && as_server "$PGBIN/initdb" -D "$data" -U migrate \
        --pwfile="$tmp/pwfile" --auth=scram-sha-256 -E UTF8 --locale=C \
        --no-sync) > "$tmp/initdb.log" 2>&1; then
    cat "$tmp/initdb.log" >&2
    die_with_log "initdb failed"
fi
rm -f "$tmp/pwfile"

cat >> "$data/postgresql.conf" <<EOF
# ---- with-postgres.sh: a throwaway test server ----
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 32MB
logging_collector = off
EOF

# Returns success when something already listens on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Returns success when another live with-postgres.sh reserved port $1 (its
# server may be down for a while: the outage tests stop and restart it).
port_reserved() {
    local f="${TMPDIR:-/tmp}/migrate-pg-port.$1" owner
    [ -f "$f" ] || return 1
    owner=$(cat "$f" 2>/dev/null)
    [ -n "$owner" ] && [ "$owner" != "$$" ] && kill -0 "$owner" 2>/dev/null
}

# Returns (prints) the first port from $1 upward where nothing listens.
free_port() {
    local p=$1
    while [ "$p" -lt $(($1 + 500)) ]; do
        if ! port_busy "$p" && [ ! -e "/tmp/.s.PGSQL.$p" ] && ! port_reserved "$p"; then
            echo "$p"
            return 0
        fi
        p=$((p + 1))
    done
    return 1
}

# ---- start, retrying on another port if the one we picked was taken ----
port=""
base=${MIGRATE_TEST_PG_PORT_BASE:-15432}
for attempt in 1 2 3 4 5; do
    port=$(free_port "$base") || die_with_log "no free port from $base"
    started=1
    (cd "$tmp" && as_server "$PGBIN/pg_ctl" -D "$data" -l "$log" -W \
        -o "-p $port" start) >/dev/null 2>&1 || true
    ready=0
    for i in $(seq 1 60); do   # 60 * 0.5 s = 30 s
        if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 2>/dev/null; then
            ready=1
            break
        fi
        # The postmaster gave up (e.g. port taken meanwhile): try the next port.
        if [ -f "$log" ] && grep -q "could not create any TCP/IP sockets\|Address already in use" "$log"; then
            break
        fi
        # The postmaster died (bad setting, no shared memory ...): stop waiting.
        if [ "$i" -ge 6 ] && ! (cd "$tmp" && as_server "$PGBIN/pg_ctl" -D "$data" status) >/dev/null 2>&1; then
            break
        fi
        sleep 0.5
    done
    [ "$ready" -eq 1 ] && break
    if grep -q "Address already in use" "$log" 2>/dev/null && [ "$attempt" -lt 5 ]; then
        (cd "$tmp" && as_server "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop) \
            >/dev/null 2>&1 || true
        : > "$log"
        base=$((port + 1))
        continue
    fi
    die_with_log "server did not become ready on 127.0.0.1:$port within 30 s"
done

# keep the port ours while the server is stopped by a test (port_reserved)
echo "$$" > "${TMPDIR:-/tmp}/migrate-pg-port.$port"

export PGHOST=127.0.0.1 PGPORT="$port" PGUSER=migrate PGPASSWORD="$password"
export PGDATABASE=migrate_test
unset PGSERVICE PGSERVICEFILE PGPASSFILE PGSSLMODE PGOPTIONS
export PGCONNECT_TIMEOUT=10

if ! "$PSQL" -X -q -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE migrate_test ENCODING 'UTF8' TEMPLATE template0" >/dev/null; then
    die_with_log "cannot create database migrate_test"
fi

# pg_ctl on this server, for the outage tests (as the server's OS user)
as_prefix=""
if [ "$server_user" = postgres ] && [ "$(id -un)" != postgres ]; then
    if command -v runuser >/dev/null 2>&1; then
        as_prefix="runuser -u postgres --"
    else
        as_prefix="setpriv --reuid=postgres --regid=postgres --init-groups --"
    fi
fi
cat > "$tmp/pg_ctl" <<EOF
#!/bin/sh
# pg_ctl ARGS... on the with-postgres.sh server (data, log and port preset)
cd "$tmp" && exec $as_prefix "$PGBIN/pg_ctl" -D "$data" -l "$log" -o "-p $port" "\$@"
EOF
chmod 755 "$tmp/pg_ctl"
export MIGRATE_TEST_PG_CTL="$tmp/pg_ctl"
export MIGRATE_TEST_PG_LOG="$log"   # the server's log, for a test's error message

export MIGRATE_TEST_PG="Driver=PostgreSQL Unicode;Server=127.0.0.1;Port=$port;Database=migrate_test;UID=migrate;PWD=$password"
export MIGRATE_TEST_PG_PSQL="$PSQL -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $port -U migrate -d migrate_test"
echo "with-postgres: PostgreSQL $("$PGBIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$port (data in $tmp)" >&2

# ---- run the command; the EXIT trap stops the server ----
with_run "$@"
