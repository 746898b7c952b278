#!/usr/bin/env bash
# shellcheck disable=SC2317  # functions reached only through trap
# with-tds.sh CMD [ARG...] — run CMD next to a throwaway TDS (SQL Server
# protocol) server.
#
# The server is the tds-server script (Babelfish for PostgreSQL, a stand-in
# for SQL Server; see its README): $MIGRATE_TDS_SERVER, else
# <source top>/../shared/tds-server/tds-server, else
# /work/shared/tds-server/tds-server.  It starts it on 127.0.0.1 with
# --dir in a fresh mktemp -d directory, trying ports from
# $MIGRATE_TEST_TDS_PORT_BASE (default 14330) plus a random offset below
# $MIGRATE_TEST_TDS_PORT_SPAN (default 200), and
# retrying on another port when a start fails (a port taken meanwhile: no
# check-then-use).  It adds a login of its own with a random password
# (sysadmin: the tests create databases and logins) and exports for CMD
#
#   MIGRATE_TEST_MSSQL      the ODBC connection string (FreeTDS, testdb)
#   MIGRATE_TEST_TDS_PGPORT the port of the server's PostgreSQL side
#
# then stops the server and removes the directory on every exit path, and
# exits with CMD's status.  When there is no server script, or it cannot
# start a server, it prints "SKIP sqlserver: WHY" and runs CMD without
# MIGRATE_TEST_MSSQL, unless MIGRATE_TDS_REQUIRED=1 (then it fails, 69).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/with-server.sh
. "$top/tests/with-server.sh"
with_usage "$@"
DBDUMP=${DBDUMP:-$PWD/tests/dbdump}
[ -x "$DBDUMP" ] || DBDUMP=$top/tests/dbdump

cmd=("$@")

# skip WHY: run CMD without a server after a visible SKIP line (or fail, 69,
# when MIGRATE_TDS_REQUIRED=1).
skip() {
    if [ "${MIGRATE_TDS_REQUIRED:-0}" = 1 ]; then
        echo "with-tds: $1 (and MIGRATE_TDS_REQUIRED=1)" >&2
        exit 69
    fi
    echo "SKIP sqlserver: $1"
    unset MIGRATE_TEST_MSSQL MIGRATE_TEST_TDS_PGPORT
    exec "${cmd[@]}"
}

# ---- locate the server script ----
server=""
for s in "${MIGRATE_TDS_SERVER:-}" "$top/../shared/tds-server/tds-server" \
        /work/shared/tds-server/tds-server; do
    [ -n "$s" ] || continue
    if [ -n "${MIGRATE_TDS_SERVER:-}" ] && [ "$s" != "$MIGRATE_TDS_SERVER" ]; then
        break   # named explicitly: no fallback
    fi
    if [ -f "$s" ] && [ -x "$s" ]; then
        server=$s
        break
    fi
done
if [ -z "$server" ]; then
    skip "no TDS server script (${MIGRATE_TDS_SERVER:-../shared/tds-server/tds-server, /work/shared/tds-server/tds-server})"
fi
# dbdump (the tests' SQL tool) creates the login: build it in a build tree
# (also when it is there: an older build may lack --exec)
if [ -f Makefile ] && [ "$DBDUMP" = "$PWD/tests/dbdump" -o ! -x "$DBDUMP" ]; then
    make tests/dbdump >/dev/null 2>&1 || true
    DBDUMP=$PWD/tests/dbdump
fi
if [ ! -x "$DBDUMP" ]; then
    echo "with-tds: $DBDUMP not built (run it from a configured build tree)" >&2
    exit 69
fi

# ---- scratch directory and cleanup on every exit path ----
tmp=$(mktemp -d "${TMPDIR:-/tmp}/migrate-tds.XXXXXX")
chmod 711 "$tmp"            # as root the server runs as the user tds-server
dir="$tmp/srv"
started=0

# Stop the server (its script, then by the PID it wrote) and remove the directory.
cleanup() {
    if [ "$started" -eq 1 ] && [ -d "$dir" ]; then
        timeout 150 "$server" stop --dir "$dir" >/dev/null 2>&1 || true
        stop_postmaster "$dir/data/postmaster.pid"
    fi
    rm -rf "$tmp"
}
with_traps

# ---- start, on another port when a start fails ----
base=${MIGRATE_TEST_TDS_PORT_BASE:-14330}
span=${MIGRATE_TEST_TDS_PORT_SPAN:-200}
cs=""
why=""
for attempt in 1 2 3 4 5 6; do
    port=$((base + RANDOM % span))
    started=1
    if cs=$(timeout 300 "$server" start --port "$port" --dir "$dir" 2>"$tmp/start.err"); then
        [ -n "$cs" ] && break
    fi
    why=$(grep -m 1 'error' "$tmp/start.err" || tail -n 1 "$tmp/start.err")
    cs=""
    # a half-started server (the port taken between check and bind): stop it,
    # keep its data, try another port
    timeout 150 "$server" stop --dir "$dir" >/dev/null 2>&1 || true
    case $why in
    *"already in use"*|*"does not answer"*|*"did not start"*) ;;
    *) break ;;   # not a port problem: retrying will not help
    esac
    echo "with-tds: start on port $port failed (attempt $attempt): $why" >&2
done
if [ -z "$cs" ]; then
    echo "---- tds-server start ----" >&2
    tail -n 20 "$tmp/start.err" >&2 || true
    cleanup
    started=0
    trap - EXIT INT TERM
    skip "tds-server could not start a server: ${why:-no connection string}"
fi

# ---- a login of our own, with a random password ----
password="Mig-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')"
user=migrate_test
master=$(printf '%s' "$cs" | sed -E 's/(^|;)(Database=)[^;]*/\1\2master/')
if ! printf "CREATE LOGIN %s WITH PASSWORD = '%s';\nALTER SERVER ROLE sysadmin ADD MEMBER %s;\n" \
        "$user" "$password" "$user" | "$DBDUMP" --connect "$master" --exec >/dev/null 2>"$tmp/login.err"; then
    echo "with-tds: cannot create the login $user: $(cat "$tmp/login.err")" >&2
    exit 69
fi
MIGRATE_TEST_MSSQL=$(printf '%s' "$cs" | sed -E "s/(^|;)UID=[^;]*/\1UID=$user/; s/(^|;)PWD=[^;]*/\1PWD=$password/")
pgport=$(sed -n 's/^port *= *\([0-9]*\).*/\1/p' "$dir/data/tds-server.conf" 2>/dev/null | head -n 1)
export MIGRATE_TEST_MSSQL MIGRATE_TEST_TDS_PGPORT=$pgport
echo "with-tds: TDS server (Babelfish) on 127.0.0.1:$port, its PostgreSQL on port ${pgport:-?} (dir $dir)" >&2

# ---- run the command; the EXIT trap stops the server ----
with_run "$@"
