#!/usr/bin/env bash
# reconnect.sh — healing connections (issues 4 and 7): while migrate loads
# into a server, kill its database sessions and check that the run still
# ends with exactly the expected rows.  The targets: PostgreSQL (when
# MIGRATE_TEST_PG is set) and SQL Server with --load insert and --load bcp
# (when MIGRATE_TEST_MSSQL is set: the TDS test server of tests/with-tds.sh).
#
#   1. bench/gen-apps writes the records (5 % repeated: duplicates too):
#      60,000 for PostgreSQL, 3,000 for the TDS server (RECONNECT_TDS_RECORDS;
#      the stand-in is slow per statement);
#   2. a reference load of that file into a fresh SQLite database;
#   3. the same load into the server (--workers 2 --batch-size 200) in the
#      background; once rows arrive in app_base, every other session on the
#      test database is ended (PostgreSQL: pg_terminate_backend of every
#      other client backend, psqlODBC sets no application_name; SQL Server:
#      T-SQL KILL of every other user session in the database, from a
#      connection of this script), and again each time the load made
#      progress: RECONNECT_PG_ROUNDS times on PostgreSQL (default 12, every
#      2,000 rows), twice on SQL Server;
#   4. migrate must exit 0, report reconnects >= 1 in its worker table, the
#      same file counts as the reference, no reject file, and `tests/dbdump`
#      of both databases must be identical (the input has the same relative
#      name in both runs, so even the source column matches).
#
# Needs MIGRATE_TEST_PG (an ODBC connection string; tests/with-postgres.sh
# sets it and PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE and
# MIGRATE_TEST_PG_PSQL) or MIGRATE_TEST_MSSQL; without both: exit 77 (SKIP
# for automake); a missing one prints a SKIP line.  The PostgreSQL database
# name must contain "test".  Each target runs in a database of this script's
# own (migrate_test_reconnect, mig_reconnect).
# Environment: top_srcdir, top_builddir (default: the repository root),
# MIGRATE, DBDUMP, GEN_APPS, MIGRATE_TEST_PG, MIGRATE_TEST_PG_PSQL,
# MIGRATE_TEST_MSSQL, RECONNECT_RECORDS (default 60000),
# RECONNECT_TDS_RECORDS (default 3000), RECONNECT_PG_ROUNDS (default 12).
# Prints PASS/FAIL lines.  Exit: 0 passed, 1 failed, 77 skipped, 99 the test
# itself cannot run.  Every step is bounded by a timeout.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
pg_records=${RECONNECT_RECORDS:-60000}
tds_records=${RECONNECT_TDS_RECORDS:-3000}
# rounds of ending the sessions on PostgreSQL (as long as the load runs)
pg_rounds=${RECONNECT_PG_ROUNDS:-12}
# bulk copy is several times faster than inserts on the TDS server: more
# records, so that the load is still running when the sessions are ended
tds_bcp_records=${RECONNECT_TDS_BCP_RECORDS:-20000}

if [ -z "${MIGRATE_TEST_PG:-}" ] && [ -z "${MIGRATE_TEST_MSSQL:-}" ]; then
    echo "SKIP reconnect: MIGRATE_TEST_PG and MIGRATE_TEST_MSSQL unset" \
         "(run it under tests/with-postgres.sh or tests/with-tds.sh)"
    exit 77
fi
need_built "$MIGRATE" "$DBDUMP" "$GEN_APPS"

targets=()
# ---- psql on the test database ----
if [ -n "${MIGRATE_TEST_PG:-}" ]; then
    # shellcheck source=tests/integration/pg-env.sh
    . "$here/pg-env.sh"
    pg_env_setup
    pg_test_database
    # a database of its own: run.sh empties schema public of the shared one
    pg_own_database migrate_test_reconnect || { echo "ERROR: cannot create a database" >&2; exit 99; }
    targets+=(postgresql)
else
    echo "SKIP reconnect (postgresql): MIGRATE_TEST_PG unset"
fi

# ---- the TDS server ----
if [ -n "${MIGRATE_TEST_MSSQL:-}" ]; then
    # shellcheck source=tests/integration/tds-env.sh
    . "$here/tds-env.sh"
    tds_env_setup
    targets+=(sqlserver-insert sqlserver-bcp)
else
    echo "SKIP reconnect (sqlserver): MIGRATE_TEST_MSSQL unset"
fi

# Run a T-SQL batch from stdin on the test database (bounded).
tsql() {
    timeout 20 "$DBDUMP" --connect "$MIGRATE_TEST_MSSQL" --exec
}

# ---- scratch directory; the background load is stopped on every exit ----
work_dir reconnect
load_pid=""
on_exit() { stop_pids TERM "$load_pid"; }

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
cd "$work" || exit 99

# ---- per target: reset, count rows, end the sessions ----

# reset: an empty database for the load.
reset() {
    case $target in
    postgresql) pgq -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' ;;
    *) tds_own_database mig_reconnect ;;
    esac
}
# Prints the rows in table $1 now (nothing on an error).
count_rows() {
    case $target in
    postgresql) pgq -c "SELECT count(*) FROM $1" 2>/dev/null ;;
    *) tsql <<< "SELECT count(*) FROM $1" 2>/dev/null ;;
    esac
}
# Prints the rows in app_base now (0 while the table does not exist).
rows_now() {
    local n
    n=$(count_rows app_base) || n=0
    echo "${n:-0}"
}
# Ends every other session on the test database; prints how many.
kill_sessions() {
    local ids n=0 id
    case $target in
    postgresql)
        pgq -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND backend_type = 'client backend'" 2>>psql.log ;;
    *)
        ids=$(tsql 2>>tsql.log <<< "SELECT session_id FROM sys.dm_exec_sessions
                WHERE database_id = DB_ID() AND session_id <> @@SPID AND is_user_process = 1")
        for id in $ids; do
            [[ $id =~ ^[0-9]+$ ]] || continue
            tsql <<< "KILL $id" >/dev/null 2>>tsql.log && n=$((n + 1))
        done
        echo "$n" ;;
    esac
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

# ---- 1. and 2. the input and the reference, once per record count ----
# make_input N: writes apps-N/apps.xml and its SQLite reference apps-N/ref.db.
make_input() {
    local d="apps-$1" rc
    [ -f "$d/ref.out" ] && return 0
    mkdir -p "$d" && cp mapping.xml "$d/" || return 1
    if ! (cd "$d" && timeout 60 "$GEN_APPS" --records "$1" --seed 4 --duplicates 5 -o apps.xml); then
        echo "ERROR: gen-apps failed" >&2
        exit 99
    fi
    (cd "$d" && timeout 60 "$MIGRATE" --db ref.db --workers 2 --batch-size 200 \
        -r ref-rejects.xml -m mapping.xml apps.xml > ref.out 2> ref.err)
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "ERROR: the reference load into SQLite failed ($rc)" >&2
        cat "$d/ref.err" >&2
        exit 99
    fi
    (cd "$d" && timeout 60 "$DBDUMP" --db ref.db -m mapping.xml > ref.tsv 2> ref.dump.err) ||
        { echo "ERROR: dbdump of the reference failed: $(cat "$d/ref.dump.err")" >&2; exit 99; }
}

# ---- 3. and 4. one target: the load, its sessions ended under it; checks ----
run_target() {
    local nrecs d out rc secs kills=0 killed_at="" round target_rows n k opts=()
    case $target in
    postgresql) nrecs=$pg_records; opts=(--connect "$MIGRATE_TEST_PG" --create-tables) ;;
    sqlserver-bcp) nrecs=$tds_bcp_records ;;&
    sqlserver-insert) nrecs=$tds_records ;;&
    sqlserver-*)
       opts=(--connect "$(tds_with_database mig_reconnect)" --create-tables --load "${target#sqlserver-}") ;;
    esac
    make_input "$nrecs"
    d="$work/apps-$nrecs"
    out="$work/$target"
    mkdir -p "$out"
    if ! reset > "$out/reset.log" 2>&1; then
        echo "ERROR: cannot reset the $target database: $(cat "$out/reset.log")" >&2
        exit 99
    fi
    local ref_counts
    ref_counts=$(file_counts "$d/ref.out")

    start=$(date +%s)
    (cd "$d" && exec timeout 300 "$MIGRATE" "${opts[@]}" --workers 2 --batch-size 200 \
        -r "$out/rejects.xml" -m mapping.xml apps.xml) > "$out/load.out" 2> "$out/load.err" &
    load_pid=$!

    # PostgreSQL: many rounds, each a chance to end a session between a
    # statement and psqlODBC's savepoint release, where the driver forgets
    # the transaction and a later commit "succeeds" storing nothing (the
    # bug db_commit's dead-link check fixed: ~1 run in 5 lost a batch at
    # 15 rounds); the TDS stand-in is slow per statement: two rounds
    local rounds=2 step=$((nrecs / 15))
    [ "$target" = postgresql ] && rounds=$pg_rounds step=$((nrecs / 30))
    for ((round = 1; round <= rounds; round++)); do
        # first at some rows, then again each time the healed workers made progress
        target_rows=$((round == 1 ? nrecs / 30 : ${killed_at:-0} + step))
        if n=$(wait_rows "$target_rows" 1200); then
            k=$(kill_sessions)
            echo "reconnect ($target): at $n rows in app_base, ended ${k:-0} session(s)"
            kills=$((kills + ${k:-0}))
            killed_at=$n
        fi
    done
    wait "$load_pid"
    rc=$?
    load_pid=""
    secs=$(($(date +%s) - start))

    check "ended sessions during the load" "none ended (the load ended too early?)" \
        "$([ "$kills" -ge 1 ]; echo $?)"
    check "migrate exit status 0 (${secs} s)" "exit status $rc" "$([ "$rc" -eq 0 ]; echo $?)"
    [ "$rc" -eq 0 ] || { show "$out/load.err"; show "$out/load.out"; }

    local nrec
    nrec=$(reconnects "$out/load.out")
    check "reconnects >= 1 in the worker table ($nrec)" "no reconnect counted" \
        "$([ "$nrec" -ge 1 ]; echo $?)"
    [ "$nrec" -ge 1 ] || show "$out/load.out"

    local have_counts
    have_counts=$(file_counts "$out/load.out")
    check "file counts as the reference ($ref_counts)" "read loaded duplicate rejected: $have_counts" \
        "$([ -n "$ref_counts" ] && [ "$have_counts" = "$ref_counts" ]; echo $?)"

    check "no reject file" "a reject file was written" "$([ ! -e "$out/rejects.xml" ]; echo $?)"
    [ ! -e "$out/rejects.xml" ] || show "$out/rejects.xml" 10

    local t want have
    for t in app_base contact_base contact_address; do
        want=$(sqlite3 "$d/ref.db" "SELECT count(*) FROM $t" 2>/dev/null)
        have=$(count_rows "$t")
        check "$t holds $want rows" "the server holds ${have:-?}" \
            "$([ -n "$want" ] && [ "$have" = "$want" ]; echo $?)"
    done

    local dump_cs=${MIGRATE_TEST_PG:-}
    [ "$target" = postgresql ] || dump_cs=$(tds_with_database mig_reconnect)
    if ! (cd "$d" && timeout 120 "$DBDUMP" --connect "$dump_cs" -m mapping.xml) \
            > "$out/dump.tsv" 2> "$out/dump.err"; then
        check "dbdump" "dbdump failed: $(cat "$out/dump.err")" 1
    else
        diff -u "$d/ref.tsv" "$out/dump.tsv" > "$out/dump.diff"
        check "content identical to the reference ($(wc -l < "$d/ref.tsv") lines)" \
            "dumps differ (--- SQLite reference +++ $target)" "$([ -s "$out/dump.diff" ] && echo 1 || echo 0)"
        [ -s "$out/dump.diff" ] && show "$out/dump.diff" 40
    fi
}

for target in "${targets[@]}"; do
    test_name="reconnect ($target)"
    run_target
done

[ "$failed" -eq 0 ]
