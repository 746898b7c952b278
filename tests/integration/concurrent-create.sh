#!/usr/bin/env bash
# concurrent-create.sh — two migrate processes at once on one database (issue 8,
# items 9 and 10).
#
#   SQLite: two loads of the same input into one new database file (tables
#   created by both, --db implies --create-tables).  Both must exit 0 well
#   within a generous bound (before: one waited inside the driver's 600 s
#   busy timeout), their "loaded" counts must add up to the distinct records
#   and their duplicates to the rest, and the file must hold exactly the
#   reference rows (tests/dbdump).
#
#   PostgreSQL (when MIGRATE_TEST_PG is set): two --create-tables loads into
#   an empty database, three rounds (before: the second CREATE failed on
#   pg_type's unique index, exit 76).  Both exit 0, each one's counts add
#   up, the rows are the reference's.  (Whether the two processes' "loaded"
#   counts add up to the distinct records is checked by concurrent.sh.)
#
#   SQL Server (when MIGRATE_TEST_MSSQL holds an ODBC connection string, e.g.
#   the one /work/shared/tds-server prints; needs unixODBC's isql): two
#   `init-db` at once on a database without the tables, three rounds
#   (before: the second CREATE failed, exit 76); both exit 0 and the three
#   tables exist.
#
# Durations are printed, never asserted.  Exit: 0 passed, 1 failed, 99 the
# test itself cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
test_name=concurrent
records=${CONCURRENT_RECORDS:-20000}
bound=${CONCURRENT_BOUND:-240}   # seconds: a hang, not a speed target

need_built "$MIGRATE" "$DBDUMP" "$GEN_APPS"

work_dir concurrent
pids=()
on_exit() { stop_pids TERM "${pids[@]}"; }

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
# the second process: the same tables through a mapping of other bytes, since
# the run lock (one run per mapping and target) would refuse the same one
{ cat "$work/mapping.xml"; echo "<!-- the second process -->"; } > "$work/mapping-2.xml"
cd "$work" || exit 99
timeout 120 "$GEN_APPS" --records "$records" --seed 9 --duplicates 5 -o apps.xml ||
    { echo "ERROR: gen-apps failed" >&2; exit 99; }
timeout 300 "$MIGRATE" --db ref.db -r ref-rejects.xml -m mapping.xml apps.xml > ref.out 2> ref.err ||
    { echo "ERROR: the reference load failed" >&2; cat ref.err >&2; exit 99; }
read -r _ ref_loaded ref_dup _ <<< "$(file_counts ref.out)"
timeout 120 "$DBDUMP" --db ref.db -m mapping.xml > ref.tsv ||
    { echo "ERROR: dbdump of the reference failed" >&2; exit 99; }

# Runs two loads at once with target options "$@" (tag $tag); checks both
# exit 0 within the bound and that the counts add up.
two_loads() {
    local start end rc1 rc2
    start=$(date +%s.%N)
    timeout -k 10 "$bound" "$MIGRATE" "$@" --workers 2 -r "$tag-1.rej" -m mapping.xml apps.xml \
        > "$tag-1.out" 2> "$tag-1.err" &
    pids=($!)
    timeout -k 10 "$bound" "$MIGRATE" "$@" --workers 3 --batch-size 200 -r "$tag-2.rej" -m mapping-2.xml \
        apps.xml > "$tag-2.out" 2> "$tag-2.err" &
    pids+=($!)
    wait "${pids[0]}"; rc1=$?
    wait "${pids[1]}"; rc2=$?
    pids=()
    end=$(date +%s.%N)
    printf 'concurrent: %s: both ended after %.1f s\n' "$tag" "$(echo "$end - $start" | bc)"
    check "$tag: first load exit 0" "exit status $rc1 ($(tail -1 "$tag-1.err"))" "$([ "$rc1" -eq 0 ]; echo $?)"
    check "$tag: second load exit 0" "exit status $rc2 ($(tail -1 "$tag-2.err"))" "$([ "$rc2" -eq 0 ]; echo $?)"
    local r1 l1 d1 j1 r2 l2 d2 j2
    read -r r1 l1 d1 j1 <<< "$(file_counts "$tag-1.out")"
    read -r r2 l2 d2 j2 <<< "$(file_counts "$tag-2.out")"
    check "$tag: each read $records = loaded + duplicate + rejected" "counts: $(file_counts "$tag-1.out") / $(file_counts "$tag-2.out")" \
        "$([ "$r1" = "$records" ] && [ "$r2" = "$records" ] && [ $((l1 + d1 + j1)) -eq "$records" ] &&
           [ $((l2 + d2 + j2)) -eq "$records" ]; echo $?)"
    # across processes a record's fate is exact where one writer holds the
    # file (SQLite); on PostgreSQL that is issue 8 item 4, not checked here
    [ "$cross" -eq 1 ] || return 0
    check "$tag: loaded $l1 + $l2 = $ref_loaded distinct records" "counts: $(file_counts "$tag-1.out") / $(file_counts "$tag-2.out")" \
        "$([ -n "$l1" ] && [ -n "$l2" ] && [ $((l1 + l2)) -eq "$ref_loaded" ]; echo $?)"
    check "$tag: duplicates $d1 + $d2 = $((records + ref_dup)) (each read the whole input)" "counts differ" \
        "$([ -n "$d1" ] && [ -n "$d2" ] && [ $((d1 + d2)) -eq $((records + ref_dup)) ]; echo $?)"
}
# Compares dbdump "$@" with the reference.
same_rows() {
    if ! timeout 120 "$DBDUMP" "$@" -m mapping.xml > "$tag.tsv" 2> "$tag.dump.err"; then
        check "$tag: dbdump" "$(cat "$tag.dump.err")" 1
        return
    fi
    diff -u ref.tsv "$tag.tsv" > "$tag.diff"
    check "$tag: rows identical to the reference ($(wc -l < ref.tsv) lines)" "dumps differ" \
        "$([ -s "$tag.diff" ] && echo 1 || echo 0)"
    [ -s "$tag.diff" ] && show "$tag.diff" 20
}

# ---- SQLite: one file, two processes ----
for round in 1 2; do
    tag="sqlite-$round" cross=1
    rm -f shared.db shared.db-wal shared.db-shm
    two_loads --db shared.db
    same_rows --db shared.db
done

# ---- PostgreSQL: --create-tables twice at once into an empty database ----
if [ -n "${MIGRATE_TEST_PG:-}" ]; then
    # shellcheck source=tests/integration/pg-env.sh
    . "$here/pg-env.sh"
    pg_env_setup
    pg_own_database migrate_test_concreate || { echo "ERROR: cannot create a database" >&2; exit 99; }
    for round in 1 2 3; do
        tag="pg-$round" cross=0
        pg -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' > psql.log 2>&1 ||
            { echo "ERROR: cannot reset the schema: $(cat psql.log)" >&2; exit 99; }
        two_loads --connect "$MIGRATE_TEST_PG" --create-tables
        same_rows --connect "$MIGRATE_TEST_PG"
    done
else
    echo "concurrent: PostgreSQL part skipped (MIGRATE_TEST_PG unset)"
fi

# ---- SQL Server: two init-db at once ----
if [ -n "${MIGRATE_TEST_MSSQL:-}" ] && command -v isql >/dev/null 2>&1; then
    mssql() { timeout 60 isql -b -k "$MIGRATE_TEST_MSSQL"; }
    for round in 1 2 3; do
        tag="mssql-$round"
        printf '%s\n' "IF OBJECT_ID('dbo.contact_address') IS NOT NULL DROP TABLE dbo.contact_address" \
            "IF OBJECT_ID('dbo.contact_base') IS NOT NULL DROP TABLE dbo.contact_base" \
            "IF OBJECT_ID('dbo.app_base') IS NOT NULL DROP TABLE dbo.app_base" | mssql > isql.log 2>&1 ||
            { echo "ERROR: cannot drop the tables: $(cat isql.log)" >&2; exit 99; }
        timeout -k 10 "$bound" "$MIGRATE" init-db --connect "$MIGRATE_TEST_MSSQL" -m mapping.xml \
            > "$tag-1.err" 2>&1 &
        pids=($!)
        timeout -k 10 "$bound" "$MIGRATE" init-db --connect "$MIGRATE_TEST_MSSQL" -m mapping.xml \
            > "$tag-2.err" 2>&1 &
        pids+=($!)
        wait "${pids[0]}"; rc1=$?
        wait "${pids[1]}"; rc2=$?
        pids=()
        check "$tag: first init-db exit 0" "exit $rc1: $(tail -1 "$tag-1.err")" "$([ "$rc1" -eq 0 ]; echo $?)"
        check "$tag: second init-db exit 0" "exit $rc2: $(tail -1 "$tag-2.err")" "$([ "$rc2" -eq 0 ]; echo $?)"
        n=$(echo "SELECT COUNT(*) FROM sys.tables WHERE name IN ('app_base', 'contact_base', 'contact_address')" |
            mssql 2>/dev/null | awk '$2 ~ /^[0-9]+$/ { print $2; exit }')
        check "$tag: the three tables exist" "found ${n:-none}" "$([ "$n" = 3 ]; echo $?)"
    done
else
    echo "concurrent: SQL Server part skipped (MIGRATE_TEST_MSSQL unset or no isql)"
fi

[ "$failed" -eq 0 ]
