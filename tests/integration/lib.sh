# shellcheck shell=bash
# lib.sh — what the integration scripts share, sourced first thing:
#
#   here=$(cd "$(dirname "$0")" && pwd)
#   . "$here/lib.sh"
#
# At source time it sets the paths (top_srcdir, top_builddir, MIGRATE,
# DBDUMP, GEN_APPS: each kept when the environment gives it) and the
# counters passed and failed; everything else is a function: the scratch
# directory and its cleanup (work_dir), the PASS/FAIL lines (check,
# check_cmd), and readers of migrate's summary (file_counts, worker_sum, ...).
# pg-env.sh and tds-env.sh use its connection-string helpers.

top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
top_srcdir=$(cd "$top_srcdir" && pwd)       # absolute: cases run elsewhere
top_builddir=$(cd "$top_builddir" && pwd)
MIGRATE=${MIGRATE:-$top_builddir/migrate}
DBDUMP=${DBDUMP:-$top_builddir/tests/dbdump}
GEN_APPS=${GEN_APPS:-$top_builddir/bench/gen-apps}
passed=0
failed=0

# need_built BIN...: exit 99 unless every BIN is built.
need_built() {
    local bin
    for bin in "$@"; do
        [ -x "$bin" ] || { echo "ERROR: $bin not built (make check builds it)" >&2; exit 99; }
    done
}

# work_dir NAME: make the scratch directory $work, removed on every exit
# after the script's own on_exit (when it defines one: stop what it started);
# SIGINT / SIGTERM exit 130 / 143.
work_dir() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/migrate-$1.XXXXXX") ||
        { echo "ERROR: cannot make a scratch directory" >&2; exit 99; }
    trap lib_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# lib_cleanup: the EXIT trap of work_dir.
lib_cleanup() {
    if declare -F on_exit >/dev/null; then
        on_exit
    fi
    rm -rf "$work"
}

# stop_pids SIGNAL PID...: send SIGNAL to each PID still running (empty
# ones are skipped) and wait for it.
stop_pids() {
    local sig=$1 p
    shift
    for p in "$@"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill "-$sig" "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        fi
    done
}

# check WHAT WHY RC: print "PASS $test_name: WHAT", or, when RC != 0,
# "FAIL $test_name: WHAT: WHY" and set failed.
check() {
    if [ "$3" -eq 0 ]; then
        echo "PASS $test_name: $1"
    else
        echo "FAIL $test_name: $1: $2"
        failed=1
    fi
}

# check_cmd NAME CMD...: PASS NAME when CMD succeeds, else FAIL NAME with the
# evidence: the FAIL line ends with what the script's fail_status prints
# (e.g. " (exit 1)"), then come the lines its fail_evidence prints (each
# only when the script defines it) and the notes `why` left since the last
# check.
check_cmd() {
    local name=$1
    shift
    if "$@"; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name$(declare -F fail_status >/dev/null && fail_status)"
        declare -F fail_evidence >/dev/null && fail_evidence
        [ -s "$work/why" ] && sed 's/^/  | /' "$work/why"
        failed=$((failed + 1))
    fi
    : > "$work/why"
}

# why TEXT: note why the current check fails (printed with its FAIL line).
why() { printf '%s\n' "$*" >> "$work/why"; }

# show FILE [N]: the last N (20) lines of FILE ($work/FILE when relative),
# indented, after a FAIL.
show() {
    local f=$1
    case $f in
    /*) ;;
    *) f=$work/$f ;;
    esac
    echo "  ---- $1 ----"
    tail -n "${2:-20}" "$f" 2>/dev/null | sed 's/^/  | /'
}

# ---- migrate's summary ----

# file_counts SUMMARY [INPUT]: "read loaded duplicate rejected" of the
# file line of INPUT (apps.xml).
file_counts() {
    awk -v f="${2:-apps.xml}" '$1 == f { print $2, $3, $4, $5; exit }' "$1"
}

# not_loaded SUMMARY: the "not loaded:" count (0 when absent).
not_loaded() {
    awk '$1 == "not" && $2 == "loaded:" { print $3; found = 1; exit }
         END { if (!found) print 0 }' "$1"
}

# worker_sum COLUMN SUMMARY: the sum of COLUMN (reconnects, retries, ...)
# over the rows of the worker table.
worker_sum() {
    awk -v c="$1" '$1 == "worker" { col = 0; for (i = 2; i <= NF; i++) if ($i == c) col = i
                                    on = col > 0; next }
                   on && NF == 0 { on = 0 }
                   on && $1 ~ /^[0-9]+$/ { n += $col }
                   END { print n + 0 }' "$2"
}
reconnects() { worker_sum reconnects "$1"; }
retries() { worker_sum retries "$1"; }

# inserted SUMMARY: the inserted column of table line app_base.
inserted() {
    awk '$1 == "app_base" { print $2; exit }' "$1"
}

# ---- connection strings (pg-env.sh, tds-env.sh) ----

# connstr_attr CONNSTR KEY: the value of KEY in CONNSTR ({braces} removed).
connstr_attr() {
    printf '%s\n' "$1" | tr ';' '\n' \
        | sed -n "s/^ *$2 *= *//Ip" | sed 's/^{\(.*\)}$/\1/' | head -n 1
}

# connstr_with_database CONNSTR NAME: CONNSTR with Database=NAME.
connstr_with_database() {
    printf '%s' "$1" |
        sed -E "s/(^|;)( *[Dd][Aa][Tt][Aa][Bb][Aa][Ss][Ee] *= *)[^;]*/\1\2$2/"
}

# pgq ARGS...: psql on the test database, bounded (pgq_timeout seconds, 20),
# unaligned tuples only (after pg_env_setup).
pgq() {
    PGOPTIONS='-c client_min_messages=warning' timeout "${pgq_timeout:-20}" "${psql_cmd[@]}" -A -t "$@"
}

# pg_test_database: exit 99 unless MIGRATE_TEST_PG names a database with
# "test" in its name (the scripts drop its schema public) and psql runs
# (after pg_env_setup).
pg_test_database() {
    case $(pg_attr 'Database') in
    *test*) ;;
    *)
        echo "ERROR: MIGRATE_TEST_PG names a database without \"test\" in its name;" \
             "this test drops its schema public" >&2
        exit 99 ;;
    esac
    command -v "${psql_cmd[0]}" >/dev/null 2>&1 || { echo "ERROR: no psql" >&2; exit 99; }
}
