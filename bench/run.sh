#!/usr/bin/env bash
# bench/run.sh — load generated applications with ./migrate and measure.
#
#   bench/run.sh [--records N] [--runs R] [--target sqlite|postgresql]
#                [--workers W] [--batch-size B] [--invalid PCT] [--duplicates PCT]
#                [--seed S] [--big] [--rerun] [--gen-only] [--keep] [-- MIGRATE-ARGS...]
#
# Builds nothing: expects ./migrate and bench/gen-apps (both from `make`).
# The input is generated once by bench/gen-apps and cached in $BENCH_DIR
# (default ${TMPDIR:-/tmp}/migrate-bench) under a name made of its parameters.
# Each run loads it into a fresh database (sqlite: a new file; postgresql:
# the tables dropped first, needs MIGRATE_TEST_PG, e.g. under
# tests/with-postgres.sh) and is measured with /usr/bin/time: wall seconds
# and peak RSS.  Prints one row per run and the median.
#
#   --big       stream ~2 GB from gen-apps through a pipe (migrate ... -) at
#               1/8, 1/2 and full size, one run each: peak RSS must not grow
#               with the input.  --records sets the full size (default 1,800,000).
#   --rerun     each run loads the file once (not measured), then measures a
#               second run of the same file into the loaded database.
#   --gen-only  no migrate at all: check and time the generator (determinism,
#               bytes per record, XSD validity, speed).
#   --keep      keep the databases and reject files of the runs.
#   -- ARGS     passed on to migrate (e.g. -- --preload-keys).
#
#   bench/run.sh --sweep [--target sqlite,postgresql,tds] [--runs 5] [--records N]
#                [--batch-sizes 50,500] [--workers 1,2] [--scenarios clean,dup5,rerun,invalid2]
#                [--json out.json] [--plot out.png] [-- MIGRATE-ARGS...]
#               the whole grid with the reference loaders, into JSON and a PNG:
#               see bench/sweep.py and bench/README.md.  Compare two sweeps
#               with bench/compare OLD.json NEW.json.
set -euo pipefail

bench_name=bench
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

# ---- the sweep is its own program ----
for a in "$@"; do
    [ "$a" = -- ] && break
    if [ "$a" = --sweep ]; then
        export MIGRATE GEN_APPS=$GEN
        exec python3 "$top/bench/sweep.py" "$@"
    fi
done
SCHEMA=$top/schemas/applications.xsd
TIME=/usr/bin/time

records=""
runs=3
target=sqlite
workers=2
batch=500
invalid=0
dups=0
seed=1
big=0
rerun=0
gen_only=0
keep=0
extra=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# ---- options ----
while [ $# -gt 0 ]; do
    case $1 in
    --records) records=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --target) target=${2:?}; shift 2 ;;
    --workers|-w) workers=${2:?}; shift 2 ;;
    --batch-size|-b) batch=${2:?}; shift 2 ;;
    --invalid) invalid=${2:?}; shift 2 ;;
    --duplicates) dups=${2:?}; shift 2 ;;
    --seed) seed=${2:?}; shift 2 ;;
    --big) big=1; shift ;;
    --rerun) rerun=1; shift ;;
    --gen-only) gen_only=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    *) usage >&2; die "unknown option $1" 64 ;;
    esac
done
for v in "$runs" "$workers" "$batch" "$seed" ${records:+"$records"}; do
    case $v in ''|*[!0-9]*) die "not a whole number: $v" 64 ;; esac
done
case $target in sqlite|postgresql) ;; *) die "--target sqlite or postgresql, not $target" 64 ;; esac
[ "$runs" -ge 1 ] || die "--runs must be at least 1" 64
if [ -z "$records" ]; then
    if [ $big = 1 ]; then records=1800000; else records=100000; fi
fi

[ -x "$GEN" ] || die "no $GEN: run make first" 69
[ -x "$TIME" ] || die "no $TIME: install the package 'time' (apt-get install time)" 69
mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
cleanup() { [ "$keep" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# ---- helpers ----

# thousands N: N with thousands separators
thousands() { awk -v n="$1" 'BEGIN { s = sprintf("%.0f", n); o = "";
    while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
    print s o }'; }

# input_file: the cached input for the parameters, generated if missing
input_file() {
    local f="$BENCH_DIR/apps-n$records-s$seed-i$invalid-d$dups.xml"
    if [ ! -s "$f" ]; then
        echo "bench: generating $f" >&2
        "$GEN" --records "$records" --seed "$seed" --invalid "$invalid" \
            --duplicates "$dups" -v -o "$f.tmp" || die "gen-apps failed"
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# target_args RUN: migrate's target options for run RUN (fresh database)
target_args() {
    if [ "$target" = sqlite ]; then
        local db="$work/run-$1.db"
        rm -f "$db" "$db-journal" "$db-wal" "$db-shm"
        printf '%s\n' --db "$db" -r "$work/run-$1.rejects.xml"
    else
        printf '%s\n' --connect "$MIGRATE_TEST_PG" --create-tables -r "$work/run-$1.rejects.xml"
    fi
}

# timed LOG -- CMD...: run CMD under /usr/bin/time; sets t_sec, t_rss_kb, t_rc
timed() {
    local log=$1; shift 2
    set +e
    "$TIME" -f "%e %M" -o "$work/time" "$@" >"$log.out" 2>"$log.err"
    t_rc=$?
    set -e
    read -r t_sec t_rss_kb < <(tail -n 1 "$work/time")
}

# check_rc LOG: fail unless migrate exited 0 or 1 (1 = some records rejected)
check_rc() {
    if [ "$t_rc" -ne 0 ] && [ "$t_rc" -ne 1 ]; then
        echo "bench: migrate exited with status $t_rc:" >&2
        tail -n 5 "$1.err" >&2
        exit 1
    fi
}

# read_count LOG N: the summary's "total" read count, else N (records asked for)
read_count() {
    awk '$1 == "total" && $2 ~ /^[0-9,]+$/ { gsub(",", "", $2); print $2; exit }' "$1.out" \
        | grep . || echo "$2"
}

# keyset_mb LOG: the workers' key sets in MB from the summary, else "-"
keyset_mb() {
    awk '$1 == "worker" { w = 1; next } w && NF == 0 { w = 0 }
         w && $1 ~ /^[0-9]+$/ { v = $NF; gsub(",", "", v); s += v; f = 1 }
         END { if (f) printf "%.1f\n", s / 1024; else print "-" }' "$1.out"
}

# row LABEL RECORDS SECONDS RSS_KB KEYSET_MB: one line of the table
row() {
    local rpm
    rpm=$(awk -v n="$2" -v s="$3" 'BEGIN { printf "%.0f", (s > 0 ? n * 60 / s : 0) }')
    printf '%-8s %12s %9.2f %14s %12.1f %10s\n' "$1" "$(thousands "$2")" "$3" \
        "$(thousands "$rpm")" "$(awk -v k="$4" 'BEGIN { print k / 1024 }')" "$5"
}

header() {
    printf '%-8s %12s %9s %14s %12s %10s\n' "$1" records seconds rec/min "peak RSS MB" "keyset MB"
}

# migrate_cmd RUN INPUT: the full migrate command line, one word per line
migrate_cmd() {
    printf '%s\n' "$MIGRATE" --workers "$workers" --batch-size "$batch" -m "$MAPPING"
    target_args "$1"
    [ ${#extra[@]} -eq 0 ] || printf '%s\n' "${extra[@]}"
    printf '%s\n' "$2"
}

# ---- the generator alone ----
gen_only_checks() {
    local n=$records a b bytes s
    echo "bench: gen-apps checks ($n records, seed $seed)"
    a="$work/a.xml"; b="$work/b.xml"
    "$GEN" --records "$n" --seed "$seed" --invalid "$invalid" --duplicates "$dups" -o "$a"
    "$GEN" --records "$n" --seed "$seed" --invalid "$invalid" --duplicates "$dups" > "$b"
    cmp "$a" "$b" && echo "  determinism: two runs byte-identical"
    bytes=$(stat -c %s "$a")
    echo "  size: $(thousands "$bytes") bytes, $(awk -v b="$bytes" -v n="$n" 'BEGIN { printf "%.0f", b / n }') bytes/record"
    rm -f "$a" "$b"
    if command -v xmllint >/dev/null; then
        "$GEN" --records 1000 --seed "$seed" -o "$a"
        xmllint --noout --schema "$SCHEMA" "$a" 2>&1 | sed 's/^/  xsd: /'
        "$GEN" --records 1000 --seed "$seed" --invalid 10 -o "$a"
        if xmllint --noout --schema "$SCHEMA" "$a" 2>/dev/null; then
            die "a file with --invalid 10 validates"
        fi
        echo "  xsd: with --invalid 10 the file does not validate (as meant)"
        rm -f "$a"
    else
        echo "  xsd: skipped (no xmllint: apt-get install libxml2-utils)"
    fi
    for how in /dev/null pipe; do
        if [ $how = pipe ]; then
            timed "$work/gen" -- sh -c '"$0" "$@" | cat > /dev/null' "$GEN" --records "$n" \
                --seed "$seed" --invalid "$invalid" --duplicates "$dups"
        else
            timed "$work/gen" -- "$GEN" --records "$n" --seed "$seed" --invalid "$invalid" \
                --duplicates "$dups" -o /dev/null
        fi
        s=$t_sec
        echo "  speed: $(thousands "$n") records in $s s to $how:" \
            "$(awk -v b="$bytes" -v s="$s" 'BEGIN { if (s > 0) printf "%.0f MB/s, 2 GB in %.1f s", b / s / 1e6, 2e9 * s / b; else print "too fast to time" }')," \
            "peak RSS $((t_rss_kb / 1024)) MB"
    done
}

if [ $gen_only = 1 ]; then
    gen_only_checks
    exit 0
fi

# ---- loads ----
"$MIGRATE" --help >/dev/null 2>&1 || die "$MIGRATE --help fails: build migrate first (make)" 69
if [ "$target" = postgresql ]; then
    [ -n "${MIGRATE_TEST_PG:-}" ] || die "--target postgresql needs MIGRATE_TEST_PG (run under tests/with-postgres.sh)" 69
fi
echo "bench: target $target, workers $workers, batch size $batch${extra[*]:+, migrate args: ${extra[*]}}"

if [ $big = 1 ]; then
    echo "bench: --big: gen-apps | migrate ... -  (seed $seed, invalid $invalid%, duplicates $dups%)"
    header size
    labels=("" 1/8 1/2 full)
    i=0
    for n in $((records / 8)) $((records / 2)) "$records"; do
        i=$((i + 1))
        [ "$target" = postgresql ] && bench_pg_drop
        mapfile -t cmd < <(migrate_cmd "big$i" -)
        set +e
        "$GEN" --records "$n" --seed "$seed" --invalid "$invalid" --duplicates "$dups" \
            | "$TIME" -f "%e %M" -o "$work/time" "${cmd[@]}" >"$work/big$i.out" 2>"$work/big$i.err"
        t_rc=${PIPESTATUS[1]}
        set -e
        read -r t_sec t_rss_kb < <(tail -n 1 "$work/time")
        check_rc "$work/big$i"
        row "${labels[$i]}" "$(read_count "$work/big$i" "$n")" "$t_sec" "$t_rss_kb" \
            "$(keyset_mb "$work/big$i")"
        [ $keep = 1 ] || rm -f "$work/run-big$i".*
    done
    exit 0
fi

input=$(input_file)
echo "bench: input $input ($(thousands "$(stat -c %s "$input")") bytes; $(thousands "$records") records," \
    "seed $seed, invalid $invalid%, duplicates $dups%)"
[ $rerun = 1 ] && echo "bench: --rerun: each run measures a second load of the file into the loaded database"
header run
: > "$work/secs"; : > "$work/rss"; : > "$work/recs"; : > "$work/keyset"
for i in $(seq 1 "$runs"); do
    [ "$target" = postgresql ] && bench_pg_drop
    mapfile -t cmd < <(migrate_cmd "$i" "$input")
    if [ $rerun = 1 ]; then
        timed "$work/load$i" -- "${cmd[@]}"
        check_rc "$work/load$i"
        # the ledger would skip the loaded file: measure the duplicates
        "$MIGRATE" --help | grep -q -- --reload && cmd=("${cmd[@]:0:${#cmd[@]}-1}" --reload "$input")
    fi
    timed "$work/run$i" -- "${cmd[@]}"
    check_rc "$work/run$i"
    n=$(read_count "$work/run$i" "$records")
    ks=$(keyset_mb "$work/run$i")
    row "$i" "$n" "$t_sec" "$t_rss_kb" "$ks"
    echo "$t_sec" >> "$work/secs"; echo "$t_rss_kb" >> "$work/rss"; echo "$n" >> "$work/recs"
    echo "$ks" >> "$work/keyset"
    [ $keep = 1 ] || rm -f "$work/run-$i".*
done
if grep -q '^-$' "$work/keyset"; then ks=-; else ks=$(median < "$work/keyset"); fi
row median "$(median < "$work/recs")" "$(median < "$work/secs")" "$(median < "$work/rss")" "$ks"
[ $keep = 1 ] && echo "bench: databases, reject files and logs kept in $work"
exit 0
