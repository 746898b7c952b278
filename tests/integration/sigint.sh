#!/usr/bin/env bash
# sigint.sh — the first SIGINT/SIGTERM stops the run wherever it waits, and
# every record read is accounted (issue 8, item 12).
#
#   1. pipe: migrate reads standard input from a fifo whose writer sent some
#      records and then keeps it open; SIGINT must end the run (exit 130)
#      with the summary: read = loaded + duplicate + rejected + not loaded,
#      and the database holds exactly the loaded records;
#   2. lane full (SQLite): another process holds the file's write lock, so
#      the worker waits and the producer fills its lane; SIGTERM must end
#      the run (exit 143), accounted the same way;
#   3. lane full (PostgreSQL, when MIGRATE_TEST_PG is set): another session
#      holds LOCK TABLE app_base, the worker's statement waits on it; SIGINT
#      must cancel it and end the run (exit 130), accounted.
#
# The bound on each stop is generous (STOP_BOUND, 20 s): a hang, not a
# speed target; the time each stop took is printed.  Exit: 0 passed, 1
# failed, 99 the test itself cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
test_name=sigint
bound=${STOP_BOUND:-20}

need_built "$MIGRATE" "$GEN_APPS"
command -v sqlite3 >/dev/null 2>&1 || { echo "ERROR: sqlite3 CLI missing" >&2; exit 99; }

work_dir sigint
bg=()
on_exit() { stop_pids KILL "${bg[@]}"; }
# Waits up to $2 tenths of a second for command "$3..." to succeed.
wait_for() {
    local i n=$1
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
# Sends signal $1 to migrate ($pid), waits for its end (bounded); sets rc
# and took (seconds from the signal to the exit).
stop_it() {
    local t0 t1 i
    t0=$(date +%s.%N)
    kill -"$1" "$pid"
    for ((i = 0; i < 10 * bound; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    t1=$(date +%s.%N)
    if kill -0 "$pid" 2>/dev/null; then
        took=never
        kill -KILL "$pid" 2>/dev/null
    else
        took=$(printf '%.2f' "$(echo "$t1 - $t0" | bc)")
    fi
    wait "$pid" 2>/dev/null
    rc=$?
}
# Checks the stopped run $tag: exit $1, its stop within the bound, the sums
# of input $2, and the loaded count against the database's app_base count $3.
check_stopped() {
    echo "sigint: $tag: stopped $took s after the signal"
    check "$tag: stopped within ${bound} s" "still running after ${bound} s" \
        "$([ "$took" != never ]; echo $?)"
    check "$tag: exit $1" "exit status $rc" "$([ "$rc" -eq "$1" ]; echo $?)"
    local rd ld dp rj nl
    read -r rd ld dp rj <<< "$(file_counts "$tag.out" "$2")"
    nl=$(not_loaded "$tag.out")
    check "$tag: read $rd = loaded $ld + duplicate $dp + rejected $rj + not loaded $nl" \
        "the summary does not add up" \
        "$([ -n "$rd" ] && [ "$rd" -gt 0 ] && [ "$rd" -eq $((ld + dp + rj + nl)) ]; echo $?)"
    check "$tag: the database holds the $ld loaded records" "app_base holds $3" \
        "$([ "$3" = "$ld" ]; echo $?)"
    grep -q "interrupted" "$tag.err"
    local st=$?
    check "$tag: says interrupted" "stderr: $(tail -1 "$tag.err")" "$st"
    [ "$failed" -eq 0 ] || { show "$tag.out" 25; show "$tag.err"; }
}

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
cd "$work" || exit 99
timeout 60 "$GEN_APPS" --records 20000 --seed 12 -o apps.xml || { echo "ERROR: gen-apps" >&2; exit 99; }
# the first 250 records, without the closing tag: the rest never comes
awk '/<\/applications>/ { exit } { print } /<\/application>/ && ++n == 250 { exit }' \
    apps.xml > head.xml
[ "$(grep -c '</application>' head.xml)" -eq 250 ] || { echo "ERROR: head.xml" >&2; exit 99; }
sq() { sqlite3 "$db" "$@" 2>/dev/null; }
rows_at_least() { [ "$(sq 'SELECT count(*) FROM app_base')" -ge "$1" ] 2>/dev/null; }

# ---- 1. a pipe that stays open ----
tag=pipe db=pipe.db
mkfifo in.fifo || exit 99
(cat head.xml; exec sleep 120) > in.fifo &
bg+=($!)
"$MIGRATE" --db "$db" --batch-size 100 -r pipe.rej -m mapping.xml - < in.fifo > pipe.out 2> pipe.err &
pid=$!
bg+=($pid)
# two full batches committed; the rest of what came waits in a partial one
wait_for 300 rows_at_least 200 || echo "sigint: pipe: 200 rows never arrived"
sleep 0.5
stop_it INT
check_stopped 130 "-" "$(sq 'SELECT count(*) FROM app_base')"

# ---- 2. a full lane behind a locked SQLite file ----
tag=lane-sqlite db=lane.db
timeout 60 "$MIGRATE" init-db --db "$db" -m mapping.xml > init.log 2>&1 ||
    { echo "ERROR: init-db: $(cat init.log)" >&2; exit 99; }
sqlite3 "$db" "BEGIN IMMEDIATE;" ".shell sleep 120" > locker.log 2>&1 &
locker=$!
bg+=($locker)
wait_for 100 sh -c "! sqlite3 '$db' '.timeout 0' 'BEGIN IMMEDIATE;' 2>/dev/null" ||
    { echo "ERROR: the lock holder never took the lock" >&2; exit 99; }
# --no-ledger: the ledger's first write would wait on the lock before any
# record is read; this case is about the producer behind a full lane
"$MIGRATE" --db "$db" --no-ledger --workers 1 --batch-size 50 --queue-depth 1 -r lane.rej \
    -m mapping.xml apps.xml > lane-sqlite.out 2> lane-sqlite.err &
pid=$!
bg+=($pid)
sleep 2 # the worker waits on the lock, the producer on the full lane
stop_it TERM
{ kill -KILL "$locker"; wait "$locker"; } 2>/dev/null
check_stopped 143 apps.xml "$(sq 'SELECT count(*) FROM app_base')"

# ---- 3. a full lane behind LOCK TABLE on PostgreSQL ----
if [ -n "${MIGRATE_TEST_PG:-}" ]; then
    # shellcheck source=tests/integration/pg-env.sh
    . "$here/pg-env.sh"
    pg_env_setup
    pg_own_database migrate_test_sigint || { echo "ERROR: cannot create a database" >&2; exit 99; }
    pgq() { PGOPTIONS='-c client_min_messages=warning' timeout 30 "${psql_cmd[@]}" -A -t "$@"; }
    tag=lane-pg
    timeout 60 "$MIGRATE" init-db --connect "$MIGRATE_TEST_PG" -m mapping.xml > init.log 2>&1 ||
        { echo "ERROR: init-db: $(cat init.log)" >&2; exit 99; }
    pgq -c "BEGIN; LOCK TABLE app_base; SELECT pg_sleep(120); COMMIT;" > locker.log 2>&1 &
    locker=$!
    bg+=($locker)
    lock_granted() {
        [ "$(pgq -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'app_base' AND l.granted AND l.mode = 'AccessExclusiveLock'
                       AND l.database = (SELECT oid FROM pg_database
                                         WHERE datname = current_database())")" = 1 ]
    }
    wait_for 300 lock_granted || { echo "ERROR: the lock was never granted" >&2; exit 99; }
    "$MIGRATE" --connect "$MIGRATE_TEST_PG" --workers 1 --batch-size 50 --queue-depth 1 \
        -r lane-pg.rej -m mapping.xml apps.xml > lane-pg.out 2> lane-pg.err &
    pid=$!
    bg+=($pid)
    waiting_on_lock() {
        [ "$(pgq -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                     AND datname = current_database()")" -ge 1 ]
    }
    wait_for 300 waiting_on_lock || echo "sigint: lane-pg: no session waited on the lock"
    sleep 1
    stop_it INT
    pgq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE '%LOCK TABLE app_base%'
              AND pid <> pg_backend_pid()" > /dev/null 2>&1
    wait "$locker" 2>/dev/null
    check_stopped 130 apps.xml "$(pgq -c 'SELECT count(*) FROM app_base')"
else
    echo "sigint: PostgreSQL part skipped (MIGRATE_TEST_PG unset)"
fi

[ "$failed" -eq 0 ]
