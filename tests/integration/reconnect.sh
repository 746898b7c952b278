#!/usr/bin/env bash
# reconnect.sh — healing connections (issue 4): while migrate loads into
# PostgreSQL, kill its database sessions (pg_terminate_backend) and check that
# the run still ends with exactly the expected rows.
#
#   1. bench/gen-apps writes 60,000 records (5 % repeated: duplicates too);
#   2. a reference load of that file into a fresh SQLite database;
#   3. the same load into PostgreSQL (--workers 2 --batch-size 200) in the
#      background; once rows arrive in app_base, every other client backend
#      of the test database is terminated (psqlODBC sets no
#      application_name, so migrate's sessions cannot be picked out by it),
#      and once more a little later;
#   4. migrate must exit 0, report reconnects >= 1 in its worker table, the
#      same file counts as the reference, no reject file, and `tests/dbdump`
#      of both databases must be identical (the input has the same relative
#      name in both runs, so even the source column matches).
#
# Needs MIGRATE_TEST_PG (an ODBC connection string; tests/with-postgres.sh
# sets it and PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE and
# MIGRATE_TEST_PG_PSQL); without it: exit 77 (SKIP for automake).  The
# database name must contain "test": its schema public is dropped.
# Environment: top_srcdir, top_builddir (default: the repository root),
# MIGRATE, DBDUMP, GEN_APPS, MIGRATE_TEST_PG, MIGRATE_TEST_PG_PSQL,
# RECONNECT_RECORDS (default 60000).
# Prints PASS/FAIL lines.  Exit: 0 passed, 1 failed, 77 skipped, 99 the test
# itself cannot run.  Every step is bounded by a timeout.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
MIGRATE=${MIGRATE:-$top_builddir/migrate}
DBDUMP=${DBDUMP:-$top_builddir/tests/dbdump}
GEN_APPS=${GEN_APPS:-$top_builddir/bench/gen-apps}
records=${RECONNECT_RECORDS:-60000}

if [ -z "${MIGRATE_TEST_PG:-}" ]; then
    echo "SKIP reconnect: MIGRATE_TEST_PG unset (run it under tests/with-postgres.sh)"
    exit 77
fi
for bin in "$MIGRATE" "$DBDUMP" "$GEN_APPS"; do
    if [ ! -x "$bin" ]; then
        echo "ERROR: $bin not built (make check builds it)" >&2
        exit 99
    fi
done

# ---- psql on the test database ----
# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"
case $(pg_attr 'Database') in
*test*) ;;
*)
    echo "ERROR: MIGRATE_TEST_PG names a database without \"test\" in its name;" \
         "this test drops its schema public" >&2
    exit 99 ;;
esac
pg_env_setup
command -v "${psql_cmd[0]}" >/dev/null 2>&1 || { echo "ERROR: no psql" >&2; exit 99; }

# a database of its own: run.sh empties schema public of the shared one
pg_own_database migrate_test_reconnect || { echo "ERROR: cannot create a database" >&2; exit 99; }

# Run psql on the test database (bounded), unaligned tuples only.
pg() {
    PGOPTIONS='-c client_min_messages=warning' timeout 20 "${psql_cmd[@]}" -A -t "$@"
}

# ---- scratch directory; the background load is stopped on every exit ----
work=$(mktemp -d "${TMPDIR:-/tmp}/migrate-reconnect.XXXXXX")
load_pid=""
cleanup() {
    if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
        kill -TERM "$load_pid" 2>/dev/null
        wait "$load_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

failed=0
# Print a PASS line for $1, or a FAIL line with the reason $2 when $3 != 0.
check() {
    if [ "$3" -eq 0 ]; then
        echo "PASS reconnect: $1"
    else
        echo "FAIL reconnect: $1: $2"
        failed=1
    fi
}
# Show the end of file $1 (indented) after a FAIL.
show() {
    echo "  ---- $1 ----"
    tail -n "${2:-20}" "$work/$1" 2>/dev/null | sed 's/^/  | /'
}
# Prints the sum of the reconnects column of migrate's worker table in $1.
reconnects() {
    awk '$1 == "worker" && $4 == "reconnects" { on = 1; next }
         on && NF == 0 { on = 0 }
         on && $1 ~ /^[0-9]+$/ { n += $4 }
         END { print n + 0 }' "$1"
}
# Prints the "read loaded duplicate rejected" of the file line "apps.xml" in $1.
file_counts() {
    awk '$1 == "apps.xml" { print $2, $3, $4, $5; exit }' "$1"
}

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
cd "$work" || exit 99

# ---- 1. the input ----
if ! timeout 60 "$GEN_APPS" --records "$records" --seed 4 --duplicates 5 -o apps.xml; then
    echo "ERROR: gen-apps failed" >&2
    exit 99
fi

# ---- 2. the reference: the same file into a fresh SQLite database ----
timeout 60 "$MIGRATE" --db ref.db --workers 2 --batch-size 200 -r ref-rejects.xml \
    -m mapping.xml apps.xml > ref.out 2> ref.err
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "ERROR: the reference load into SQLite failed ($rc)" >&2
    cat ref.err >&2
    exit 99
fi
ref_counts=$(file_counts ref.out)

# ---- 3. the load into PostgreSQL, its sessions killed under it ----
if ! pg -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' > psql.log 2>&1; then
    echo "ERROR: cannot reset the PostgreSQL schema: $(cat psql.log)" >&2
    exit 99
fi

# Prints the rows in app_base now (0 while the table does not exist).
rows_now() {
    local n
    n=$(pg -c 'SELECT count(*) FROM app_base' 2>/dev/null) || n=0
    echo "${n:-0}"
}
# Terminates every other client backend of the test database; prints how many.
kill_sessions() {
    pg -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
           WHERE datname = current_database() AND pid <> pg_backend_pid()
             AND backend_type = 'client backend'" 2>>psql.log
}
# Waits (at most $2 tenths of a second) until app_base holds more than $1
# rows while the load runs; returns 1 if the load ended or time ran out.
wait_rows() {
    local i n
    for ((i = 0; i < $2; i++)); do
        kill -0 "$load_pid" 2>/dev/null || return 1
        n=$(rows_now)
        [ "$n" -gt "$1" ] && { echo "$n"; return 0; }
        sleep 0.1
    done
    return 1
}

start=$(date +%s)
timeout 120 "$MIGRATE" --connect "$MIGRATE_TEST_PG" --create-tables --workers 2 \
    --batch-size 200 -r pg-rejects.xml -m mapping.xml apps.xml > pg.out 2> pg.err &
load_pid=$!

kills=0
killed_at=""
for round in 1 2; do
    # first at some rows, then again after the healed workers made progress
    target=$((round == 1 ? 2000 : ${killed_at:-0} + 4000))
    if n=$(wait_rows "$target" 300); then
        k=$(kill_sessions)
        echo "reconnect: at $n rows in app_base, terminated ${k:-0} backend(s)"
        kills=$((kills + ${k:-0}))
        killed_at=$n
    fi
done
wait "$load_pid"
rc=$?
load_pid=""
secs=$(($(date +%s) - start))

# ---- 4. the checks ----
check "terminated backends during the load" "none terminated (the load ended too early?)" \
    "$([ "$kills" -ge 1 ]; echo $?)"
check "migrate exit status 0 (${secs} s)" "exit status $rc" "$([ "$rc" -eq 0 ]; echo $?)"
[ "$rc" -eq 0 ] || { show pg.err; show pg.out; }

nrec=$(reconnects pg.out)
check "reconnects >= 1 in the worker table ($nrec)" "no reconnect counted" \
    "$([ "$nrec" -ge 1 ]; echo $?)"
[ "$nrec" -ge 1 ] || show pg.out

pg_counts=$(file_counts pg.out)
check "file counts as the reference ($ref_counts)" "read loaded duplicate rejected: $pg_counts" \
    "$([ -n "$ref_counts" ] && [ "$pg_counts" = "$ref_counts" ]; echo $?)"

check "no reject file" "pg-rejects.xml written" "$([ ! -e pg-rejects.xml ]; echo $?)"
[ ! -e pg-rejects.xml ] || show pg-rejects.xml 10

for t in app_base contact_base contact_address; do
    want=$(sqlite3 ref.db "SELECT count(*) FROM $t" 2>/dev/null)
    have=$(pg -c "SELECT count(*) FROM $t" 2>/dev/null)
    check "$t holds $want rows" "PostgreSQL holds ${have:-?}" \
        "$([ -n "$want" ] && [ "$have" = "$want" ]; echo $?)"
done

timeout 60 "$DBDUMP" --db ref.db -m mapping.xml > ref.tsv 2> ref.dump.err
drc1=$?
timeout 60 "$DBDUMP" --connect "$MIGRATE_TEST_PG" -m mapping.xml > pg.tsv 2> pg.dump.err
drc2=$?
if [ "$drc1" -ne 0 ] || [ "$drc2" -ne 0 ]; then
    check "dbdump" "dbdump failed: $(cat ref.dump.err pg.dump.err)" 1
else
    diff -u ref.tsv pg.tsv > dump.diff
    check "PostgreSQL content identical to the reference ($(wc -l < ref.tsv) lines)" \
        "dumps differ (--- SQLite reference +++ PostgreSQL)" "$([ -s dump.diff ] && echo 1 || echo 0)"
    [ -s dump.diff ] && show dump.diff 40
fi

[ "$failed" -eq 0 ]
