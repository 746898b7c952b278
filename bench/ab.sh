#!/usr/bin/env bash
# bench/ab.sh — two builds of migrate and the target's own bulk loader,
# taking turns on the same input, so that a shared machine's load falls on
# all three alike.
#
#   bench/ab.sh [--target sqlite|postgresql] [--records N] [--runs R]
#               [--workers W] [--batch-size B] [--seed S] OLD NEW
#
# OLD and NEW are migrate binaries (e.g. a copy of main's build and ./migrate).
# The input is bench/gen-apps --records N --seed S (cached in $BENCH_DIR like
# run.sh's).  Its rows are dumped once (NEW into SQLite, sqlite3 -csv), then
# R rounds run, each in a rotated order: OLD, NEW and the reference loader
# (sqlite: the DDL, then `.import --csv` of the three tables in one
# transaction; postgresql: `\copy ... (FORMAT csv)` of the three tables in
# one transaction into tables made by `migrate init-db`: the same tables,
# primary keys and rows), each into an emptied target.  PostgreSQL needs
# MIGRATE_TEST_PG and MIGRATE_TEST_PG_PSQL (tests/with-postgres.sh sets them).
# Every run must load every row (checked by row counts).  Printed: every
# run (wall seconds, records per minute, peak RSS, the client's CPU seconds,
# user + sys, and on PostgreSQL the server's: what its backends used, read
# from the postmaster's reaped children in /proc), the medians, NEW against
# OLD and both against the reference, and the load average before and after.
set -euo pipefail

bench_name=ab.sh
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
target=sqlite records=100000 runs=5 workers=2 batch=500 seed=1
while [ $# -gt 2 ]; do
    bench_option "--target --records --runs --workers --batch-size --seed" "$@" ||
        die "unknown option $1" 64
    shift 2
done
[ $# -eq 2 ] || die "usage: bench/ab.sh [options] OLD NEW" 64
old=$(realpath "$1") new=$(realpath "$2")
bench_target_check
input=$(bench_input "$records" "$seed")
bench_workdir ab
read -r -a psql <<< "${MIGRATE_TEST_PG_PSQL:-psql -X -q -v ON_ERROR_STOP=1}"

# the rows, as the reference loaders take them
"$new" -m "$MAPPING" --db "$work/rows.db" -r "$work/rows.rejects" "$input" > /dev/null
nrows=0
for t in "${TABLES[@]}"; do
    sqlite3 -csv "$work/rows.db" "SELECT * FROM $t ORDER BY rowid" > "$work/$t.csv"
    nrows=$((nrows + $(wc -l < "$work/$t.csv")))
done

# Empty the target (untimed).
reset() {
    rm -f "$work"/t.db "$work"/t.db-* "$work"/ref.db
    [ "$target" = sqlite ] || bench_pg_drop
}
# Print the rows the target holds.
count() {
    local sql="SELECT (SELECT count(*) FROM app_base) + (SELECT count(*) FROM contact_base)
               + (SELECT count(*) FROM contact_address)"
    if [ "$target" = sqlite ]; then sqlite3 "$1" "$sql"; else "${psql[@]}" -At -c "$sql"; fi
}
# Print the CPU seconds the server's ended backends used so far (the
# postmaster's cutime + cstime), or 0 when it cannot be read (SQLite, or a
# server not on this machine).
server_cpu() {
    if [ -z "$pgpid" ] || [ ! -r "/proc/$pgpid/stat" ]; then
        echo 0
        return
    fi
    # the fields after the command's ")": 14 cutime, 15 cstime (clock ticks)
    sed 's/.*) //' "/proc/$pgpid/stat" |
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }'
}
pgpid=
if [ "$target" = postgresql ]; then
    pgdir=$("${psql[@]}" -At -c "SHOW data_directory" 2> /dev/null || true)
    [ -r "$pgdir/postmaster.pid" ] && pgpid=$(head -n 1 "$pgdir/postmaster.pid")
fi
# Run one program (old, new, ref) once; prints "seconds rssKB client-cpu
# server-cpu".
one() {
    local who=$1 db=$work/t.db
    reset
    local cmd
    case $who in
    old|new)
        local bin=$old
        [ "$who" = new ] && bin=$new
        if [ "$target" = sqlite ]; then
            cmd=("$bin" --workers "$workers" --batch-size "$batch" -m "$MAPPING" --db "$db"
                 -r "$work/rej.xml" "$input")
        else
            cmd=("$bin" --workers "$workers" --batch-size "$batch" -m "$MAPPING" --connect
                 "$MIGRATE_TEST_PG" --create-tables -r "$work/rej.xml" "$input")
        fi ;;
    ref)
        if [ "$target" = sqlite ]; then
            db=$work/ref.db
            { cat "$top/schemas/applications.sqlite.sql"; echo "BEGIN;"
              for t in "${TABLES[@]}"; do echo ".import --csv $work/$t.csv $t"; done
              echo "COMMIT;"; } > "$work/import.sql"
            cmd=(sqlite3 -bail "$db" ".read $work/import.sql")
        else
            "$new" init-db -m "$MAPPING" --connect "$MIGRATE_TEST_PG" > /dev/null
            for t in "${TABLES[@]}"; do echo "\\copy $t FROM '$work/$t.csv' WITH (FORMAT csv)"; done \
                > "$work/copy.psql"
            # one transaction, like the sqlite3 reference (psql -1)
            cmd=("${psql[@]}" -1 -f "$work/copy.psql")
        fi ;;
    esac
    local s0 s1
    s0=$(server_cpu)
    /usr/bin/time -f "%e %M %U %S" -o "$work/time" "${cmd[@]}" > "$work/out" 2> "$work/err" ||
        { echo "ab.sh: $who failed:" >&2; tail -5 "$work/err" >&2; exit 1; }
    sleep 0.2 # the postmaster reaps the run's backends
    s1=$(server_cpu)
    local got
    got=$(count "$db")
    [ "$got" = "$nrows" ] || { echo "ab.sh: $who loaded $got rows, not $nrows" >&2; exit 1; }
    awk -v s0="$s0" -v s1="$s1" '{ printf "%s %s %.2f %.2f\n", $1, $2, $3 + $4, s1 - s0 }' \
        "$work/time"
}

echo "ab: target $target, $records records ($nrows rows), --workers $workers --batch-size $batch, $runs rounds"
echo "ab: OLD $old"
echo "ab: NEW $new"
echo "ab: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-4s %9s %12s %8s %9s %9s\n' round who seconds rec/min RSS-MB client-s server-s
order=(old new ref)
for ((r = 1; r <= runs; r++)); do
    for who in "${order[@]}"; do
        read -r s kb cpu scpu <<< "$(one "$who")"
        echo "$who $s $kb $cpu $scpu" >> "$work/all"
        printf '%-6s %-4s %9.2f %12.0f %8.1f %9.2f %9.2f\n' "$r" "$who" "$s" \
            "$(echo "$records * 60 / $s" | bc -l)" "$(echo "$kb / 1024" | bc -l)" "$cpu" "$scpu"
    done
    order=("${order[@]:1}" "${order[0]}") # rotate: each takes every turn
done
echo "ab: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A med
for who in old new ref; do
    m=$(awk -v w="$who" '$1 == w {print $2}' "$work/all" | median)
    rss=$(awk -v w="$who" '$1 == w {print $3}' "$work/all" | median)
    cpu=$(awk -v w="$who" '$1 == w {print $4}' "$work/all" | median)
    scpu=$(awk -v w="$who" '$1 == w {print $5}' "$work/all" | median)
    med[$who]=$m
    printf 'median %-4s %9.2f s %12.0f rec/min %8.1f MB  client %.2f s  server %.2f s\n' \
        "$who" "$m" "$(echo "$records * 60 / $m" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
        "$cpu" "$scpu"
done
printf 'NEW/OLD time %.2f, OLD/ref %.2f, NEW/ref %.2f\n' \
    "$(echo "${med[new]} / ${med[old]}" | bc -l)" "$(echo "${med[old]} / ${med[ref]}" | bc -l)" \
    "$(echo "${med[new]} / ${med[ref]}" | bc -l)"
