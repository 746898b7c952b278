#!/usr/bin/env bash
# outage.sh — the database goes away mid-load (issue 8, item 8): PostgreSQL
# is stopped (pg_ctl stop -m fast) while migrate loads, kept down ~20 s, and
# started again.
#
#   1. bench/gen-apps writes the input (5 % repeated records) and a
#      reference load of it goes into a fresh SQLite database;
#   2. ride out: the load into PostgreSQL (default --retry-for 300) must
#      exit 0 with the reference's file counts (loaded + duplicate together:
#      see same_counts), reconnects >= 1, no reject file, and `tests/dbdump`
#      identical to the reference;
#   2b. the same through a restart (pg_ctl restart -m fast) mid-load;
#   3. give up: the same with --retry-for 4 must exit 75 within the outage,
#      say it gave up, and account for everything: read = loaded + duplicate
#      + rejected + not loaded, and app_base holds exactly the "loaded"
#      records (each record has one app_base row; the database was empty).
#
# Runs when MIGRATE_TEST_PG is set (the suite runs with PostgreSQL), else
# exit 77 (SKIP); it then starts a server of its own with
# tests/with-postgres.sh (MIGRATE_TEST_PG_CTL), since it stops it.  Figures (outage length, run time)
# are printed, never asserted.  Exit: 0 passed, 1 failed, 77 skipped, 99 the
# test itself cannot run.  Every step is bounded by a timeout.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
test_name=outage
records=${OUTAGE_RECORDS:-60000}
down_for=${OUTAGE_SECONDS:-20}

if [ -z "${MIGRATE_TEST_PG:-}" ]; then
    echo "SKIP outage: MIGRATE_TEST_PG unset (run it under tests/with-postgres.sh)"
    exit 77
fi
# The server is stopped: never the one other tests share (make -j check).
# Run again next to a server of our own.
if [ -z "${OUTAGE_OWN_SERVER:-}" ]; then
    OUTAGE_OWN_SERVER=1 "$top_srcdir/tests/with-postgres.sh" "$0" "$@"
    rc=$?
    [ "$rc" -eq 69 ] && { echo "SKIP outage: cannot start a PostgreSQL of its own"; exit 77; }
    exit "$rc"
fi
[ -n "${MIGRATE_TEST_PG_CTL:-}" ] || { echo "ERROR: MIGRATE_TEST_PG_CTL unset" >&2; exit 99; }
need_built "$MIGRATE" "$DBDUMP" "$GEN_APPS"

# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"
pg_env_setup
pg_own_database migrate_test_outage || { echo "ERROR: cannot create a database" >&2; exit 99; }

work_dir outage
load_pid=""
server_down=0
on_exit() {
    if [ "$server_down" -eq 1 ]; then
        "$MIGRATE_TEST_PG_CTL" start -w -t 60 >/dev/null 2>&1
    fi
    stop_pids TERM "$load_pid"
}

# Checks summary $2's counts against the reference's (tag $1): read,
# loaded + duplicate and rejected equal.  A commit whose acknowledgement the
# outage swallowed is re-run and found present, so its records may count as
# duplicates rather than loaded (README, known limits): said, not failed.
same_counts() {
    local rd ld dp rj RD LD DP RJ
    read -r rd ld dp rj <<< "$(file_counts "$2")"
    read -r RD LD DP RJ <<< "$ref_counts"
    check "$1: counts as the reference ($ref_counts)" "read loaded duplicate rejected: $rd $ld $dp $rj" \
        "$([ -n "$rd" ] && [ "$rd" = "$RD" ] && [ $((ld + dp)) -eq $((LD + DP)) ] && [ "$rj" = "$RJ" ]; echo $?)"
    [ "$ld" = "$LD" ] || echo "outage: $1: $((LD - ld)) record(s) counted duplicate, not loaded (a lost commit acknowledgement)"
}
rows_now() {
    local n
    n=$(pgq -c 'SELECT count(*) FROM app_base' 2>/dev/null) || n=0
    echo "${n:-0}"
}
# Waits (at most $2 tenths of a second) until app_base holds more than $1
# rows while the load runs; prints the count; 1 if the load ended first.
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
reset_schema() {
    pgq -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' > "$work/psql.log" 2>&1 ||
        { echo "ERROR: cannot reset the schema: $(cat "$work/psql.log")" >&2; exit 99; }
}
# Stops the server, fast (sessions are terminated); prints the time.
server_stop() {
    "$MIGRATE_TEST_PG_CTL" stop -m fast -w -t 60 >> "$work/pgctl.log" 2>&1 ||
        { echo "ERROR: pg_ctl stop failed: $(tail -3 "$work/pgctl.log")" >&2; exit 99; }
    server_down=1
}
# Starts the server again; a start that fails (seen once on a loaded CI
# machine: the postmaster exited during start-up) is tried twice more, then
# the test stops with the server's own log.
server_start() {
    local try
    for try in 1 2 3; do
        if "$MIGRATE_TEST_PG_CTL" start -w -t 60 >> "$work/pgctl.log" 2>&1; then
            server_down=0
            return 0
        fi
        echo "outage: pg_ctl start failed (try $try): $(tail -n 5 "${MIGRATE_TEST_PG_LOG:-/dev/null}" 2>/dev/null | tr '\n' ' ')" >&2
        sleep 2
    done
    echo "ERROR: pg_ctl start failed: $(tail -3 "$work/pgctl.log")" >&2
    exit 99
}

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
cd "$work" || exit 99

# ---- 1. input and reference ----
timeout 120 "$GEN_APPS" --records "$records" --seed 8 --duplicates 5 -o apps.xml ||
    { echo "ERROR: gen-apps failed" >&2; exit 99; }
timeout 300 "$MIGRATE" --db ref.db --workers 2 --batch-size 100 -r ref-rejects.xml \
    -m mapping.xml apps.xml > ref.out 2> ref.err ||
    { echo "ERROR: the reference load failed" >&2; cat ref.err >&2; exit 99; }
ref_counts=$(file_counts ref.out)

# ---- 2. ride out a ~20 s outage ----
reset_schema
start=$(date +%s.%N)
timeout 600 "$MIGRATE" --connect "$MIGRATE_TEST_PG" --create-tables --workers 2 \
    --batch-size 100 -r pg-rejects.xml -m mapping.xml apps.xml > pg.out 2> pg.err &
load_pid=$!
if n=$(wait_rows 2000 600); then
    server_stop
    t_down=$(date +%s.%N)
    echo "outage: server stopped at $n rows in app_base; down for ${down_for} s"
    sleep "$down_for"
    server_start
    t_up=$(date +%s.%N)
    stopped=1
else
    stopped=0
fi
wait "$load_pid"
rc=$?
load_pid=""
end=$(date +%s.%N)
check "server stopped mid-load" "the load ended before ${n:-2000} rows arrived" "$((1 - stopped))"
[ "$stopped" -eq 1 ] && printf 'outage: server down %.1f s; load %.1f s in all, %.1f s after the restart\n' \
    "$(echo "$t_up - $t_down" | bc)" "$(echo "$end - $start" | bc)" "$(echo "$end - $t_up" | bc)"
check "rode out the outage: exit 0" "exit status $rc" "$([ "$rc" -eq 0 ]; echo $?)"
[ "$rc" -eq 0 ] || { show pg.err; show pg.out; }
nrec=$(reconnects pg.out)
check "reconnects >= 1 ($nrec)" "no reconnect counted" "$([ "$nrec" -ge 1 ]; echo $?)"
same_counts "outage" pg.out
check "no reject file" "pg-rejects.xml written" "$([ ! -e pg-rejects.xml ]; echo $?)"
timeout 120 "$DBDUMP" --db ref.db -m mapping.xml > ref.tsv 2> dump.err &&
    timeout 120 "$DBDUMP" --connect "$MIGRATE_TEST_PG" -m mapping.xml > pg.tsv 2>> dump.err
drc=$?
if [ "$drc" -ne 0 ]; then
    check "dbdump" "dbdump failed: $(cat dump.err)" 1
else
    diff -u ref.tsv pg.tsv > dump.diff
    check "PostgreSQL content identical to the reference ($(wc -l < ref.tsv) lines)" \
        "dumps differ" "$([ -s dump.diff ] && echo 1 || echo 0)"
    [ -s dump.diff ] && show dump.diff 30
fi

# ---- 2b. a restart (pg_ctl restart -m fast) mid-load ----
reset_schema
timeout 600 "$MIGRATE" --connect "$MIGRATE_TEST_PG" --create-tables --workers 2 \
    --batch-size 100 -r rs-rejects.xml -m mapping.xml apps.xml > rs.out 2> rs.err &
load_pid=$!
if n=$(wait_rows 2000 600); then
    "$MIGRATE_TEST_PG_CTL" restart -m fast -w -t 60 >> pgctl.log 2>&1 ||
        { echo "ERROR: pg_ctl restart failed: $(tail -3 pgctl.log)" >&2; exit 99; }
    echo "outage: server restarted at $n rows in app_base"
    restarted=0
else
    restarted=1
fi
wait "$load_pid"
rc=$?
load_pid=""
check "restart: server restarted mid-load" "the load ended too early" "$restarted"
check "restart: exit 0" "exit status $rc ($(tail -1 rs.err))" "$([ "$rc" -eq 0 ]; echo $?)"
same_counts "restart" rs.out
if timeout 120 "$DBDUMP" --connect "$MIGRATE_TEST_PG" -m mapping.xml > rs.tsv 2> dump.err; then
    diff -u ref.tsv rs.tsv > rs.diff
    check "restart: content identical to the reference" "dumps differ" \
        "$([ -s rs.diff ] && echo 1 || echo 0)"
else
    check "restart: dbdump" "dbdump failed: $(cat dump.err)" 1
fi

# ---- 3. a short --retry-for gives up, everything accounted ----
reset_schema
rm -f pg-rejects.xml
timeout 600 "$MIGRATE" --connect "$MIGRATE_TEST_PG" --create-tables --workers 2 \
    --batch-size 100 --retry-for 4 -r pg-rejects.xml -m mapping.xml apps.xml > gu.out 2> gu.err &
load_pid=$!
if n=$(wait_rows 2000 600); then
    server_stop
    t_down=$(date +%s.%N)
    # the run must end while the server is down (bounded wait, not timed)
    for ((i = 0; i < 10 * (down_for + 40); i++)); do
        kill -0 "$load_pid" 2>/dev/null || break
        sleep 0.1
    done
    t_end=$(date +%s.%N)
    wait "$load_pid"
    rc=$?
    load_pid=""
    printf 'outage: --retry-for 4 gave up %.1f s after the server stopped\n' "$(echo "$t_end - $t_down" | bc)"
    server_start
    check "--retry-for 4: exit 75" "exit status $rc" "$([ "$rc" -eq 75 ]; echo $?)"
    grep -q "gave up" gu.err
    st=$?
    check "--retry-for 4: says it gave up" "stderr: $(tail -1 gu.err)" "$st"
    read -r rd ld dp rj <<< "$(file_counts gu.out)"
    nl=$(not_loaded gu.out)
    check "read $rd = loaded $ld + duplicate $dp + rejected $rj + not loaded $nl" "sums differ" \
        "$([ -n "$rd" ] && [ "$rd" -eq $((ld + dp + rj + nl)) ] && [ "$nl" -gt 0 ]; echo $?)"
    have=$(rows_now)
    check "app_base holds exactly the $ld records counted loaded" "it holds $have" \
        "$([ "$have" = "$ld" ]; echo $?)"
    [ "$failed" -eq 0 ] || { show gu.out 30; show gu.err; }
else
    wait "$load_pid"
    load_pid=""
    check "--retry-for 4: server stopped mid-load" "the load ended too early" 1
fi

[ "$failed" -eq 0 ]
