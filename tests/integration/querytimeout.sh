#!/usr/bin/env bash
# querytimeout.sh — --query-timeout apart from --connect-timeout (issue 8,
# item 11).  Another session holds LOCK TABLE app_base while migrate loads
# into PostgreSQL:
#
#   1. --query-timeout 2 --retry-for 6, the lock held throughout: every
#      statement is cancelled after 2 s and its batch retried until
#      --retry-for runs out: exit 75, the message names the timeout and says
#      it gave up, nothing is in app_base and the summary counts every record
#      read as not loaded;
#   2. --query-timeout 2, the lock released after ~6 s: the batches time out,
#      are retried, and the run finishes: exit 0, retries >= 1, exact rows;
#   3. no --query-timeout, the lock released after ~6 s: the statements wait
#      for the lock (no limit by default) and the run finishes: exit 0, no
#      retry, exact rows.
#
# Needs MIGRATE_TEST_PG (tests/with-postgres.sh); without it: exit 77.
# Durations are printed, never asserted.  Exit: 0 passed, 1 failed, 77
# skipped, 99 the test itself cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
test_name=querytimeout
pgq_timeout=60

if [ -z "${MIGRATE_TEST_PG:-}" ]; then
    echo "SKIP querytimeout: MIGRATE_TEST_PG unset (run it under tests/with-postgres.sh)"
    exit 77
fi
need_built "$MIGRATE" "$DBDUMP" "$GEN_APPS"
# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"
pg_env_setup
pg_own_database migrate_test_qtimeout || { echo "ERROR: cannot create a database" >&2; exit 99; }

work_dir qtimeout
locker=""
on_exit() {
    [ -n "$locker" ] && kill "$locker" 2>/dev/null
    wait 2>/dev/null
}

# Empties the tables (created once by init-db).
reset_tables() {
    pgq -c 'TRUNCATE app_base, contact_base, contact_address' > psql.log 2>&1 ||
        { echo "ERROR: cannot empty the tables: $(cat psql.log)" >&2; exit 99; }
}
# Holds LOCK TABLE app_base (ACCESS EXCLUSIVE: even reads wait) for $1
# seconds in a psql session of its own, in the background; returns once the
# lock is granted.
hold_lock() {
    pgq -c "BEGIN; LOCK TABLE app_base; SELECT pg_sleep($1); COMMIT;" > locker.log 2>&1 &
    locker=$!
    local i
    for ((i = 0; i < 300; i++)); do
        [ "$(pgq -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                     WHERE c.relname = 'app_base' AND l.mode = 'AccessExclusiveLock'
                       AND l.granted AND l.database = (SELECT oid FROM pg_database
                                                       WHERE datname = current_database())")" = 1 ] &&
            return 0
        sleep 0.1
    done
    echo "ERROR: the lock was never granted: $(cat locker.log)" >&2
    exit 99
}
# Ends the lock holder (its transaction rolls back).
release_lock() {
    pgq -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE '%LOCK TABLE app_base%'
              AND pid <> pg_backend_pid()" > /dev/null 2>&1
    wait "$locker" 2>/dev/null
    locker=""
}
# Runs migrate with extra options "$@" into tag $tag; sets rc and secs.
load() {
    local start end
    start=$(date +%s.%N)
    # --reload: each case loads the same file again into emptied tables
    timeout 300 "$MIGRATE" --connect "$MIGRATE_TEST_PG" --workers 2 --batch-size 100 --reload \
        -r "$tag.rej" "$@" -m mapping.xml apps.xml > "$tag.out" 2> "$tag.err"
    rc=$?
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc)
}
# Compares the database with the reference.
same_rows() {
    if ! timeout 120 "$DBDUMP" --connect "$MIGRATE_TEST_PG" -m mapping.xml > "$tag.tsv" 2> "$tag.dump.err"; then
        check "$tag: dbdump" "$(cat "$tag.dump.err")" 1
        return
    fi
    diff -u ref.tsv "$tag.tsv" > "$tag.diff"
    check "$tag: rows identical to the reference ($(wc -l < ref.tsv) lines)" "dumps differ" \
        "$([ -s "$tag.diff" ] && echo 1 || echo 0)"
}

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
cd "$work" || exit 99
timeout 60 "$GEN_APPS" --records 3000 --seed 11 -o apps.xml || { echo "ERROR: gen-apps" >&2; exit 99; }
timeout 120 "$MIGRATE" --db ref.db -r ref.rej -m mapping.xml apps.xml > ref.out 2>&1 &&
    timeout 60 "$DBDUMP" --db ref.db -m mapping.xml > ref.tsv ||
    { echo "ERROR: the reference load failed" >&2; exit 99; }
pgq -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' > psql.log 2>&1 &&
    timeout 60 "$MIGRATE" init-db --connect "$MIGRATE_TEST_PG" -m mapping.xml > init.log 2>&1 ||
    { echo "ERROR: init-db failed: $(cat psql.log init.log)" >&2; exit 99; }

# ---- 1. held throughout: times out, retries, gives up ----
tag=held
reset_tables
hold_lock 120
load --query-timeout 2 --retry-for 6
release_lock
echo "querytimeout: held: migrate ended after ${secs} s"
check "held: exit 75" "exit status $rc" "$([ "$rc" -eq 75 ]; echo $?)"
grep -q "gave up" held.err && grep -qi "timeout\|cancel" held.err
st=$?
check "held: the message says timeout and gave up" "stderr: $(tail -1 held.err)" "$st"
n=$(pgq -c 'SELECT count(*) FROM app_base')
check "held: app_base empty" "it holds $n rows" "$([ "$n" = 0 ]; echo $?)"
read -r rd ld dp rj <<< "$(file_counts held.out)"
nl=$(not_loaded held.out)
check "held: read $rd, all of them not loaded ($nl)" "loaded $ld dup $dp rejected $rj" \
    "$([ -n "$rd" ] && [ "$ld" = 0 ] && [ "$dp" = 0 ] && [ "$rj" = 0 ] && [ "$nl" = "$rd" ]; echo $?)"
[ "$failed" -eq 0 ] || { show held.err; show held.out 30; }

# ---- 2. released after ~6 s, with --query-timeout 2: retried, finished ----
tag=retried
reset_tables
hold_lock 6
load --query-timeout 2
release_lock
echo "querytimeout: retried: migrate ended after ${secs} s"
check "retried: exit 0" "exit status $rc ($(tail -1 retried.err))" "$([ "$rc" -eq 0 ]; echo $?)"
r=$(retries retried.out)
check "retried: retries >= 1 ($r)" "no retry counted" "$([ "$r" -ge 1 ]; echo $?)"
same_rows

# ---- 3. released after ~6 s, no --query-timeout: waits, finished ----
tag=waited
reset_tables
hold_lock 6
load
release_lock
echo "querytimeout: waited: migrate ended after ${secs} s"
check "waited: exit 0" "exit status $rc ($(tail -1 waited.err))" "$([ "$rc" -eq 0 ]; echo $?)"
r=$(retries waited.out)
check "waited: no retry ($r)" "retried: a statement timed out without --query-timeout" \
    "$([ "$r" -eq 0 ]; echo $?)"
same_rows

[ "$failed" -eq 0 ]
