# shellcheck shell=bash disable=SC2034,SC2154  # set for, and by, the sourcing script
# bench/lib.sh — what the bench scripts ab.sh, resume.sh, run.sh and tds.sh share,
# sourced after the script sets bench_name (the prefix of its messages):
#
#   bench_name=bench/tds
#   . "$(dirname "$0")/lib.sh"
#
# At source time it sets where things are: top (the source tree), MIGRATE
# and GEN (./migrate and bench/gen-apps; $MIGRATE and $GEN_APPS override),
# DBDUMP (tests/dbdump beside MIGRATE), MAPPING (mappings/applications.xml),
# TABLES (its three tables) and BENCH_DIR (the input cache, default
# ${TMPDIR:-/tmp}/migrate-bench).
# Everything else is a function: die, the common options (bench_option,
# bench_target_check), the cached input (bench_input), the scratch directory
# (bench_workdir), emptying PostgreSQL and the TDS server (bench_pg_drop,
# bench_tds_drop) and median.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MIGRATE=${MIGRATE:-$top/migrate}
GEN=${GEN_APPS:-$top/bench/gen-apps}
DBDUMP=${DBDUMP:-$(dirname "$MIGRATE")/tests/dbdump}
MAPPING=$top/mappings/applications.xml
TABLES=(app_base contact_base contact_address)
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/migrate-bench}

# die MESSAGE [STATUS]: one line "$bench_name: MESSAGE" on stderr, exit
# STATUS (default 1).
die() { echo "$bench_name: $1" >&2; exit "${2:-1}"; }

# bench_option SPELLINGS OPTION [VALUE]: when OPTION is one of the common
# options and among SPELLINGS (the ones this script takes, e.g. "--records
# --runs -w"), set its variable from VALUE (records, runs, target, workers,
# batch, seed; a whole number but for target) and return 0; else return 1.
# The caller shifts 2 on success.
bench_option() {
    local var
    [[ " $1 " == *" $2 "* ]] || return 1
    case $2 in
    --records) var=records ;;
    --runs) var=runs ;;
    --target) var=target ;;
    --workers|-w) var=workers ;;
    --batch-size|-b) var='batch' ;;
    --seed) var=seed ;;
    *) return 1 ;;
    esac
    [ $# -ge 3 ] || die "$2 needs a value" 64
    [ "$var" = target ] || case $3 in ''|*[!0-9]*) die "$2: not a whole number: $3" 64 ;; esac
    printf -v "$var" '%s' "$3"
}

# bench_target_check [TARGETS]: die unless $target is one of TARGETS (default
# "sqlite postgresql"), postgresql has MIGRATE_TEST_PG (tests/with-postgres.sh
# sets it) and tds MIGRATE_TEST_MSSQL and $DBDUMP (tests/with-tds.sh).
bench_target_check() {
    local ok=${1:-sqlite postgresql}
    [[ " $ok " == *" $target "* ]] || die "--target ${ok// / or }, not $target" 64
    case $target in
    postgresql) [ -n "${MIGRATE_TEST_PG:-}" ] ||
        die "--target postgresql needs MIGRATE_TEST_PG (run under tests/with-postgres.sh)" 69 ;;
    tds) [ -n "${MIGRATE_TEST_MSSQL:-}" ] ||
        die "--target tds needs MIGRATE_TEST_MSSQL (run under tests/with-tds.sh)" 69
        [ -x "$DBDUMP" ] || die "no $DBDUMP: make tests/dbdump (or set DBDUMP)" 69 ;;
    esac
}

# bench_input RECORDS SEED [INVALID]: prints the path of bench/gen-apps
# --records RECORDS --seed SEED --invalid INVALID (default 0; no
# duplicates), generated into $BENCH_DIR when missing; bench/run.sh caches
# it under the same name.
bench_input() {
    local invalid=${3:-0}
    local f="$BENCH_DIR/apps-n$1-s$2-i$invalid-d0.xml"
    mkdir -p "$BENCH_DIR"
    if [ ! -s "$f" ]; then
        "$GEN" --records "$1" --seed "$2" --invalid "$invalid" -o "$f.tmp" || die "gen-apps failed"
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# bench_workdir NAME: make the scratch directory $work ($BENCH_DIR/NAME.*),
# removed on exit.
bench_workdir() {
    mkdir -p "$BENCH_DIR"
    work=$(mktemp -d "$BENCH_DIR/$1.XXXXXX")
    trap 'rm -rf "$work"' EXIT
}

# bench_pg_drop: drop the mapped tables and every table of the ledger
# (migrate_ledger_*) from the PostgreSQL target ($MIGRATE_TEST_PG_PSQL, else
# psql from the environment's PG*).
bench_pg_drop() {
    local psql list
    read -r -a psql <<< "${MIGRATE_TEST_PG_PSQL:-psql -X -q -v ON_ERROR_STOP=1}"
    list=$(IFS=,; echo "${TABLES[*]}")
    "${psql[@]}" > /dev/null <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS $list CASCADE;
DO \$\$ DECLARE t text; BEGIN
    FOR t IN SELECT tablename FROM pg_tables
             WHERE schemaname = current_schema() AND tablename LIKE 'migrate\\_ledger\\_%' LOOP
        EXECUTE format('DROP TABLE %I CASCADE', t);
    END LOOP;
END \$\$;
SQL
}

# bench_tds_drop: drop the mapped tables and the ledger's from the TDS target
# (MIGRATE_TEST_MSSQL), through tests/dbdump --exec: no password on a
# command line.
bench_tds_drop() {
    local t
    for t in "${TABLES[@]}" migrate_ledger_files migrate_ledger_batches migrate_ledger_marks \
            migrate_ledger_rejects migrate_ledger_locks; do
        echo "DROP TABLE IF EXISTS dbo.$t;"
    done | "$DBDUMP" --connect "$MIGRATE_TEST_MSSQL" --exec > /dev/null ||
        die "cannot empty the TDS target"
}

# median: the median of the numbers on stdin (the mean of the middle two
# when their count is even).
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
