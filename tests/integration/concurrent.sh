#!/usr/bin/env bash
# concurrent.sh — two processes, one file, the same PostgreSQL tables (issue
# 8 item 4): a record counts as loaded only when the database inserted its
# rows in that run.
#
#   1. bench/gen-apps writes CONCURRENT_RECORDS records (default 20,000;
#      5 % repeated inside the file);
#   2. a reference load of that file into a fresh SQLite database;
#   3. two migrate processes load the same file into the same (emptied)
#      PostgreSQL tables at the same time (--workers 2 --batch-size 100, the
#      tables created beforehand by `migrate init-db`), once plain and once
#      with --preload-keys;
#   4. both must exit 0, each run's read = loaded + duplicate + rejected,
#      the loaded of both runs add up to the reference's loaded (the
#      distinct records), each run's app_base "inserted" equals its loaded
#      (the table line agrees with the record line), and `tests/dbdump` of
#      PostgreSQL equals the reference's.
#
# Needs MIGRATE_TEST_PG (tests/with-postgres.sh); without it: exit 77.
# Prints PASS/FAIL lines.  Exit: 0 passed, 1 failed, 77 skipped, 99 the test
# itself cannot run.  Every step is bounded by a timeout.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
test_name=concurrent
records=${CONCURRENT_RECORDS:-20000}

if [ -z "${MIGRATE_TEST_PG:-}" ]; then
    echo "SKIP concurrent: MIGRATE_TEST_PG unset (run it under tests/with-postgres.sh)"
    exit 77
fi
need_built "$MIGRATE" "$DBDUMP" "$GEN_APPS"

# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"
pg_env_setup
pg_test_database
pg_own_database migrate_test_concurrent || { echo "ERROR: cannot create a database" >&2; exit 99; }

work_dir concurrent
pids=()
on_exit() { stop_pids TERM "${pids[@]}"; }

cp "$top_srcdir/mappings/applications.xml" "$work/mapping.xml" || exit 99
# run 2: the same tables through a mapping of other bytes, since the run
# lock (one run per mapping and target) would refuse the same one
{ cat "$work/mapping.xml"; echo "<!-- run 2 -->"; } > "$work/mapping-2.xml"
cd "$work" || exit 99
timeout 60 "$GEN_APPS" --records "$records" --seed 8 --duplicates 5 -o apps.xml ||
    { echo "ERROR: gen-apps failed" >&2; exit 99; }

timeout 120 "$MIGRATE" --db ref.db --workers 2 --batch-size 100 -m mapping.xml apps.xml \
    > ref.out 2> ref.err || { echo "ERROR: the reference load failed" >&2; cat ref.err >&2; exit 99; }
read -r ref_read ref_loaded _ <<< "$(file_counts ref.out)"
timeout 60 "$DBDUMP" --db ref.db -m mapping.xml > ref.tsv || exit 99

for mode in plain preload; do
    extra=()
    [ "$mode" = preload ] && extra=(--preload-keys --key-memory 64)
    if ! timeout 20 "${psql_cmd[@]}" -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' \
        > psql.log 2>&1 ||
        ! timeout 60 "$MIGRATE" init-db -m mapping.xml --connect "$MIGRATE_TEST_PG" > init.log 2>&1; then
        echo "ERROR: cannot prepare the PostgreSQL tables: $(cat psql.log init.log)" >&2
        exit 99
    fi
    pids=()
    for run in 1 2; do
        timeout 300 "$MIGRATE" --connect "$MIGRATE_TEST_PG" --workers 2 --batch-size 100 \
            "${extra[@]}" -r "rej-$mode-$run.xml" -m "$([ $run = 1 ] && echo mapping.xml || echo mapping-2.xml)" apps.xml \
            > "$mode-$run.out" 2> "$mode-$run.err" &
        pids+=($!)
    done
    sum=0
    for run in 1 2; do
        wait "${pids[$((run - 1))]}"
        rc=$?
        check "$mode run $run exit status 0" "exit $rc: $(head -c 300 "$mode-$run.err")" "$rc"
        read -r r l d j <<< "$(file_counts "$mode-$run.out")"
        ins=$(inserted "$mode-$run.out")
        echo "concurrent: $mode run $run: read $r loaded $l duplicate $d rejected $j, app_base inserted $ins"
        check "$mode run $run read = loaded + duplicate + rejected" "$r != $l + $d + $j" \
            "$([ -n "$r" ] && [ "$r" -eq $((l + d + j)) ]; echo $?)"
        check "$mode run $run app_base inserted = loaded" "$ins != $l" \
            "$([ -n "$ins" ] && [ "$ins" = "$l" ]; echo $?)"
        check "$mode run $run read all of the file" "read $r, want $ref_read" \
            "$([ "$r" = "$ref_read" ]; echo $?)"
        sum=$((sum + ${l:-0}))
    done
    pids=()
    check "$mode: loaded over both runs = distinct records ($ref_loaded)" "sum $sum" \
        "$([ "$sum" -eq "$ref_loaded" ]; echo $?)"
    timeout 60 "$DBDUMP" --connect "$MIGRATE_TEST_PG" -m mapping.xml > "pg-$mode.tsv" 2> dump.err
    check "$mode: the tables hold exactly the reference's rows" \
        "$(diff ref.tsv "pg-$mode.tsv" | head -5 | tr '\n' ' ')" \
        "$(cmp -s ref.tsv "pg-$mode.tsv"; echo $?)"
done
exit "$failed"
