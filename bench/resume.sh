#!/usr/bin/env bash
# bench/resume.sh — a full run against the rerun after a kill at 90%.
#
#   bench/resume.sh [--records N] [--runs R] [--target sqlite|postgresql|tds]
#                   [--batch-size B] [--invalid PCT] [--old MIGRATE]
#
# Each round, into a fresh target (sqlite: a new file; postgresql and tds: the
# mapped and the ledger tables dropped first; postgresql needs
# MIGRATE_TEST_PG, e.g. under tests/with-postgres.sh, tds MIGRATE_TEST_MSSQL
# and tests/dbdump, under tests/with-tds.sh, and loads with migrate's default
# --load): a full run of the generated input (timed); then, into another fresh
# target, a run killed by MIGRATE_TEST_CRASH=after-commit:K (K = 90% of its
# transactions, not timed), and the same command again (timed).  With --old,
# the killed run's database is copied first (sqlite only) and the rerun of
# that other binary is timed on the copy: the two reruns start from the same
# state.  Prints every round and the medians; the rerun's share of the full
# run is the figure issue 9 asks about (at most a quarter).  Input:
# bench/gen-apps, N records (default 100,000), seed 1, PCT% invalid records
# (default 0; issue 9's figure is with 2: the ledger keeps each reject, so
# they do not end the prefix a rerun skips), cached in $BENCH_DIR like
# bench/run.sh's.
set -euo pipefail

bench_name=bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
records=100000
runs=5
target=sqlite
batch=500
invalid=0
old=
while [ $# -gt 0 ]; do
    case $1 in
    --old) old=$2; shift 2 ;;
    --invalid) invalid=$2; shift 2 ;;
    *) bench_option "--records --runs --target --batch-size" "$@" ||
           die "usage: bench/resume.sh [--records N] [--runs R] [--target sqlite|postgresql|tds] [--batch-size B] [--invalid PCT] [--old MIGRATE]" 64
       shift 2 ;;
    esac
done
bench_target_check "sqlite postgresql tds"
[ "$target" = sqlite ] || [ -z "$old" ] || die "--old is for sqlite (the database is copied)" 64

bench_workdir resume
input=$(bench_input "$records" 1 "$invalid")
# transactions of a full run: one per batch of valid records (two workers,
# batches by lane)
valid=$(echo "$records * (100 - $invalid) / 100" | bc)
kill_at=$(( (valid + batch - 1) / batch * 9 / 10 ))

# fresh NAME: the target options of a fresh target NAME (one word a line)
fresh() {
    case $target in
    sqlite) rm -f "$work/$1.db"*
        printf '%s\n' --db "$work/$1.db" ;;
    postgresql) bench_pg_drop
        printf '%s\n' --connect "$MIGRATE_TEST_PG" --create-tables ;;
    tds) bench_tds_drop
        printf '%s\n' --connect "$MIGRATE_TEST_MSSQL" --create-tables ;;
    esac
}

# secs CMD...: run CMD, print its wall seconds (exit 0 or 1 expected)
secs() {
    local t0 t1 rc=0
    t0=$(date +%s.%N)
    "$@" > "$work/out" 2> "$work/err" || rc=$?
    t1=$(date +%s.%N)
    [ $rc -le 1 ] || die "exit $rc: $(tail -2 "$work/err")"
    echo "$t1 - $t0" | bc
}

echo "bench: $target, $records records, $invalid% invalid ($(stat -c %s "$input") bytes), batch size $batch," \
    "2 workers, killed after commit $kill_at; $runs rounds"
printf '%-6s %8s %8s %8s %10s %8s\n' round full rerun share resumed-at ${old:+old-rerun}
: > "$work/full"; : > "$work/rerun"; : > "$work/old"
for i in $(seq 1 "$runs"); do
    mapfile -t t < <(fresh full)
    f=$(secs "$MIGRATE" --no-progress -m "$MAPPING" "${t[@]}" -r "$work/rej.xml" \
        --batch-size "$batch" "$input")
    mapfile -t t < <(fresh kill)
    # (under sh, which reports the SIGKILL to /dev/null)
    MIGRATE_TEST_CRASH=after-commit:$kill_at sh -c '"$@"; exit 0' sh "$MIGRATE" --no-progress \
        -m "$MAPPING" "${t[@]}" -r "$work/rej.xml" --batch-size "$batch" "$input" > /dev/null 2>&1
    [ -n "$old" ] && cp "$work/kill.db" "$work/old.db"
    r=$(secs "$MIGRATE" --no-progress -m "$MAPPING" "${t[@]}" -r "$work/rej.xml" \
        --batch-size "$batch" --summary-json "$work/j.json" "$input")
    at=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["resumed_after"])' "$work/j.json")
    o=
    if [ -n "$old" ]; then
        o=$(secs "$old" --no-progress -m "$MAPPING" --db "$work/old.db" -r "$work/rej.xml" \
            --batch-size "$batch" "$input")
        echo "$o" >> "$work/old"
        o=$(printf '%.2f' "$o")
    fi
    echo "$f" >> "$work/full"
    echo "$r" >> "$work/rerun"
    printf '%-6s %8.2f %8.2f %7.0f%% %10s %8s\n' "$i" "$f" "$r" \
        "$(echo "100 * $r / $f" | bc -l)" "$at" "$o"
done
mf=$(median < "$work/full")
mr=$(median < "$work/rerun")
printf '%-6s %8.2f %8.2f %7.0f%% %10s %8s\n' median "$mf" "$mr" "$(echo "100 * $mr / $mf" | bc -l)" "" \
    "$( [ -n "$old" ] && printf '%.2f' "$(median < "$work/old")")"
