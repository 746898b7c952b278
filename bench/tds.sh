#!/usr/bin/env bash
# bench/tds.sh — SQL Server load methods side by side on one TDS server, in
# one run: freebcp, migrate --load bcp, and migrate --load insert as
# multi-row INSERT ... VALUES (the default) and as parameter arrays.
#
#   MIGRATE_TEST_MSSQL="Driver=FreeTDS;Server=127.0.0.1;Port=P;Database=testdb;UID=u;PWD=p;TDS_Version=7.4" \
#   bench/tds.sh [--records N] [--runs R] [--workers W] [--batch-size B]
#                [--methods "freebcp bcp insert arrays"]
#
# Builds nothing but the arrays variant: expects ./migrate, src/libmigrate.a
# and bench/gen-apps (all from `make`).  The input (bench/gen-apps, default
# 10,000 records, seed 1) is cached in $BENCH_DIR (default
# ${TMPDIR:-/tmp}/migrate-bench).  The same rows go to every method: one
# migrate load makes the tables, freebcp copies them out as text, and each
# freebcp run loads those files (one freebcp per table, one after the other,
# its default batch of 1000 rows).  Every measured run starts from empty
# tables (TRUNCATE) and ends with their row counts checked against the
# reference.  Methods take turns within a round, so a load on the shared
# machine hits all of them alike; each row of output is one run, then the
# medians.  Rows = rows of all three tables.
#
#   insert      migrate --load insert as built: multi-row INSERT ... VALUES,
#               at most 2,000 parameters a statement
#   arrays      migrate --load insert built with -DMSSQL_INSERT_ROWS=0: one
#               prepared INSERT run as a parameter array
#   bcp-base    $MIGRATE_BASE --load bcp: another build (e.g. main before a
#               change) next to this one's bcp, in the same run
#   bcp-noledger  migrate --load bcp --no-ledger: bcp without the ledger's
#               row per batch and its start and end (what the ledger costs)
set -euo pipefail

bench_name=bench/tds
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
records=10000
runs=3
workers=2
batch=500
methods="freebcp bcp insert arrays"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
    --methods) methods=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) bench_option "--records --runs --workers -w --batch-size -b" "$@" ||
           die "unknown option $1 (see --help)" 64
       shift 2 ;;
    esac
done

CS=${MIGRATE_TEST_MSSQL:-}
[ -n "$CS" ] || die "MIGRATE_TEST_MSSQL is not set (an ODBC connection string to the TDS server)" 64
for bin in "$MIGRATE" "$GEN" "$top/src/libmigrate.a"; do
    [ -e "$bin" ] || die "$bin is missing: run make first" 99
done
command -v freebcp >/dev/null || die "freebcp missing (apt-get install freetds-bin)" 99
command -v tsql >/dev/null || die "tsql missing (apt-get install freetds-bin)" 99

# Returns the value of key $1 in the connection string (no braces handled:
# the test server's strings have none).
cs_get() {
    local IFS=';' kv
    for kv in $CS; do
        case ${kv%%=*} in
        [Ss][Ee][Rr][Vv][Ee][Rr]) [ "$1" = Server ] && echo "${kv#*=}" ;;
        [Pp][Oo][Rr][Tt]) [ "$1" = Port ] && echo "${kv#*=}" ;;
        [Uu][Ii][Dd]) [ "$1" = UID ] && echo "${kv#*=}" ;;
        [Pp][Ww][Dd]) [ "$1" = PWD ] && echo "${kv#*=}" ;;
        [Dd][Aa][Tt][Aa][Bb][Aa][Ss][Ee]) [ "$1" = Database ] && echo "${kv#*=}" ;;
        esac
    done
    return 0
}
host=$(cs_get Server); port=$(cs_get Port); user=$(cs_get UID); pass=$(cs_get PWD)
db=$(cs_get Database)
[ -n "$host" ] && [ -n "$port" ] && [ -n "$db" ] || die "need Server, Port and Database in MIGRATE_TEST_MSSQL" 64

# Run T-SQL $1 through tsql; prints its result rows.
sql() {
    printf '%s\ngo\n' "$1" | tsql -H "$host" -p "$port" -U "$user" -P "$pass" -D "$db" -o q 2>&1 |
        grep -v '^locale\|^Setting\|^Default database\|^using default\|^Changed database\|^[0-9]*>' ||
        true
}

bench_workdir tds
input=$(bench_input "$records" 1)

# ---- the arrays variant: libmigrate.a with dialect_mssql.c rebuilt ----
if [[ " $methods " == *" arrays "* ]]; then
    vdir=$work/arrays
    mkdir -p "$vdir"
    cp "$top/src/libmigrate.a" "$vdir/lib.a"
    # shellcheck disable=SC2046
    ${CC:-cc} -std=c11 -O2 -pthread -DHAVE_CONFIG_H -DTDSODBC_BCP \
        -DMSSQL_INSERT_ROWS=0 -I"$top" -I"$top/src" $(xml2-config --cflags) \
        -c "$top/src/dialect_mssql.c" -o "$vdir/dialect_mssql.o"
    ar r "$vdir/lib.a" "$vdir/dialect_mssql.o" 2>/dev/null
    # shellcheck disable=SC2046
    ${CC:-cc} -pthread -o "$vdir/migrate" "$top"/src/tool_*.o "$vdir/lib.a" \
        $(xml2-config --libs) -lodbc -lodbcinst -lpcre2-8 -lz -lcrypto -lm
fi

drop_tables() {
    sql "DROP TABLE IF EXISTS app_base; DROP TABLE IF EXISTS contact_base; DROP TABLE IF EXISTS contact_address;
         DROP TABLE IF EXISTS migrate_ledger_batches; DROP TABLE IF EXISTS migrate_ledger_files" >/dev/null
}
# The ledger's tables too: each run loads the file as a first load would (ledger rows
# written in every batch's transaction), not skipped as loaded already.
empty_tables() {
    sql "TRUNCATE TABLE app_base; TRUNCATE TABLE contact_base; TRUNCATE TABLE contact_address;
         IF OBJECT_ID('migrate_ledger_batches') IS NOT NULL DELETE FROM migrate_ledger_batches;
         IF OBJECT_ID('migrate_ledger_files') IS NOT NULL DELETE FROM migrate_ledger_files" >/dev/null
}
# Prints the row counts of the three tables, space-separated.
counts() {
    sql "SELECT (SELECT COUNT(*) FROM app_base), (SELECT COUNT(*) FROM contact_base), (SELECT COUNT(*) FROM contact_address)" |
        awk 'NF == 3 && $1 ~ /^[0-9]+$/ { print $1, $2, $3 }'
}

# ---- reference load and the freebcp files ----
drop_tables
"$MIGRATE" --connect "$CS" --load bcp --create-tables -w "$workers" -b "$batch" \
    -m "$MAPPING" "$input" > "$work/ref.out" 2>&1 || { cat "$work/ref.out"; die "reference load failed"; }
want=$(counts)
total=$(echo "$want" | awk '{ print $1 + $2 + $3 }')
for t in "${TABLES[@]}"; do
    freebcp "$db.dbo.$t" out "$work/$t.tsv" -c -S "$host:$port" -U "$user" -P "$pass" -D "$db" \
        > "$work/out.log" 2>&1 || { cat "$work/out.log"; die "freebcp out $t failed"; }
done

# Run method $1 once into the emptied tables; prints its wall seconds.
run_method() {
    local m=$1 s e
    empty_tables
    s=$(date +%s.%N)
    case $m in
    freebcp)
        for t in "${TABLES[@]}"; do
            freebcp "$db.dbo.$t" in "$work/$t.tsv" -c -S "$host:$port" -U "$user" -P "$pass" \
                -D "$db" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; return 1; }
        done ;;
    bcp) "$MIGRATE" --connect "$CS" --load bcp -w "$workers" -b "$batch" -m "$MAPPING" \
            "$input" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; return 1; } ;;
    bcp-base) "${MIGRATE_BASE:?set MIGRATE_BASE to the build to compare with}" --connect "$CS" \
            --load bcp -w "$workers" -b "$batch" -m "$MAPPING" \
            "$input" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; return 1; } ;;
    bcp-noledger) "$MIGRATE" --connect "$CS" --load bcp --no-ledger -w "$workers" -b "$batch" \
            -m "$MAPPING" "$input" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; return 1; } ;;
    insert) "$MIGRATE" --connect "$CS" --load insert -w "$workers" -b "$batch" -m "$MAPPING" \
            "$input" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; return 1; } ;;
    arrays) "$vdir/migrate" --connect "$CS" --load insert -w "$workers" -b "$batch" \
            -m "$MAPPING" "$input" > "$work/run.log" 2>&1 || { cat "$work/run.log" >&2; return 1; } ;;
    *) die "unknown method $m" 64 ;;
    esac
    e=$(date +%s.%N)
    local got
    got=$(counts)
    [ "$got" = "$want" ] || { echo "bench/tds: $m loaded \"$got\" rows, want \"$want\"" >&2; return 1; }
    echo "$e - $s" | bc
}

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $records records ($input), $total rows (app_base contact_base contact_address: $want)"
echo "# migrate: --workers $workers --batch-size $batch"
printf '%-12s %4s %9s %10s\n' method run seconds rows/s
declare -A secs
for ((r = 1; r <= runs; r++)); do
    for m in $methods; do
        s=$(run_method "$m") || die "$m failed"
        secs[$m]="${secs[$m]:-} $s"
        printf '%-12s %4d %9.2f %10.0f\n' "$m" "$r" "$s" "$(echo "$total / $s" | bc -l)"
    done
done
echo "# medians (x freebcp: freebcp's median seconds / this method's, i.e. the ratio of rows/s)"
declare -A meds
for m in $methods; do
    meds[$m]=$(echo "${secs[$m]}" | tr ' ' '\n' | grep . | median)
done
for m in $methods; do
    med=${meds[$m]}
    ratio=
    [ -n "${meds[freebcp]:-}" ] && ratio=$(printf '%.2f x freebcp' "$(echo "${meds[freebcp]} / $med" | bc -l)")
    printf '%-12s %4s %9.2f %10.0f  %s\n' "$m" med "$med" "$(echo "$total / $med" | bc -l)" "$ratio"
done
echo "# load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
