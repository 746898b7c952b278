#!/usr/bin/env bash
# run.sh [CASE...] — the integration tests: run migrate on every case under
# tests/integration/cases/ (or the named ones) against SQLite, and against
# PostgreSQL too when MIGRATE_TEST_PG holds an ODBC connection string (see
# tests/with-postgres.sh).  As in curl's test suite, a case is data:
#
#   mapping.xml       the mapping (dbdump reads it too)
#   cmd               migrate's arguments after the target options, e.g.
#                     "--workers 2 -m mapping.xml input.xml" (shell words; the
#                     target options go first, or where @TARGET@ stands;
#                     a first word @NOTARGET@ means: no target options)
#   stdin             fed to migrate's standard input (else /dev/null)
#   prepare           bash script run first in the case's scratch copy
#                     (e.g. to gzip an input)
#   setup.sql         SQL run before migrate (sqlite3 CLI / psql)
#   expected-exit     migrate's exit status (default 0)
#   expected.tsv      exact `dbdump` output after the run (no file: no dump)
#   expected-rejects  lines that must appear in the reject file; a line
#                     "#count N" = exactly N rejected records.  Without this
#                     file the run must leave no reject file.
#   expected-summary  lines that must appear in stdout (runs of spaces are
#                     squeezed on both sides before comparing)
#   expected-stderr   lines that must appear in stderr
#   expected-not-stderr  lines that must NOT appear in stdout or stderr
#   sqlite-only       present: the case does not run against PostgreSQL
#                     or SQL Server
#   no-sqlserver      the case does not run against SQL Server; its one line
#                     says why and is printed as a SKIP line
#   no-bcp            the same for the target sqlserver-bcp only
# Any expected-* or setup.sql file may have a per-target variant with the
# suffix .sqlite, .postgresql, .sqlserver (both SQL Server targets),
# .sqlserver-insert or .sqlserver-bcp that replaces it (the most specific
# one wins: .sqlserver-bcp, then .sqlserver, then the plain file).
#
# The targets: sqlite (--db test.db), postgresql (--connect $MIGRATE_TEST_PG
# --create-tables) when MIGRATE_TEST_PG is set, and sqlserver-insert and
# sqlserver-bcp (--connect $MIGRATE_TEST_MSSQL --create-tables --load insert
# or --load bcp) when MIGRATE_TEST_MSSQL holds an ODBC connection string for
# a SQL Server (see tests/with-tds.sh; this script creates and uses its own
# database there: MIGRATE_TEST_TDS_DB, default migrate_it).  An unset variable prints a SKIP line.
#
# Each case runs in a scratch copy of its directory (migrate runs from there,
# with relative file names) and a fresh empty database: a new SQLite file,
# for PostgreSQL an emptied schema public, for SQL Server that database
# dropped and created again (tables made by --create-tables).
# Every reject file must be well-formed XML and, loaded again with the same
# mapping (SQLite), must yield exactly the records it holds.
#
# Environment: top_srcdir, top_builddir (default: the repository root),
# MIGRATE (the binary), DBDUMP, MIGRATE_TEST_WRAPPER (e.g. "valgrind -q
# --error-exitcode=99"), MIGRATE_TEST_PG, MIGRATE_TEST_PG_PSQL,
# MIGRATE_TEST_MSSQL, MIGRATE_TEST_TARGETS (e.g. "sqlite sqlserver-bcp":
# only those targets).
# Exit: 0 all passed, 1 some failed, 99 the harness itself cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
cases_dir="$top_srcdir/tests/integration/cases"
read -r -a wrapper <<< "${MIGRATE_TEST_WRAPPER:-}"

need_built "$MIGRATE" "$DBDUMP"
command -v sqlite3 >/dev/null 2>&1 || { echo "ERROR: sqlite3 CLI missing (apt-get install sqlite3)" >&2; exit 99; }

work_dir it

# ---- targets ----
targets=(sqlite)
pg_password=""
# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"
if [ -n "${MIGRATE_TEST_PG:-}" ]; then
    targets+=(postgresql)
    # Every case empties schema public: only ever do that to a test database.
    case $(pg_attr 'Database') in
    *test*) ;;
    *)
        if [ "${MIGRATE_TEST_PG_FORCE:-0}" != 1 ]; then
            echo "ERROR: MIGRATE_TEST_PG names a database without \"test\" in its name;" \
                 "the cases drop its schema public (set MIGRATE_TEST_PG_FORCE=1 to allow)" >&2
            exit 99
        fi ;;
    esac
    pg_env_setup
else
    echo "SKIP postgresql: MIGRATE_TEST_PG unset"
fi
tds_password=""
# the SQL Server database of these cases (run-sqlserver-*.sh: one each)
tds_db=${MIGRATE_TEST_TDS_DB:-migrate_it}
# shellcheck source=tests/integration/tds-env.sh
. "$here/tds-env.sh"
# wanted T...: one of the targets T is to run (MIGRATE_TEST_TARGETS)
wanted() {
    [ -z "${MIGRATE_TEST_TARGETS:-}" ] && return 0
    local t
    for t in "$@"; do
        case " $MIGRATE_TEST_TARGETS " in *" $t "*) return 0 ;; esac
    done
    return 1
}
if [ -n "${MIGRATE_TEST_MSSQL:-}" ] && ! wanted sqlserver-insert sqlserver-bcp; then
    :
elif [ -n "${MIGRATE_TEST_MSSQL:-}" ]; then
    targets+=(sqlserver-insert sqlserver-bcp)
    tds_env_setup
    if ! tds_own_database "$tds_db" 2> "$work/.tds.err"; then
        echo "ERROR: cannot create the database $tds_db on the SQL Server of" \
             "MIGRATE_TEST_MSSQL: $(cat "$work/.tds.err")" >&2
        exit 99
    fi
else
    echo "SKIP sqlserver: MIGRATE_TEST_MSSQL unset"
fi

# MIGRATE_TEST_TARGETS="t1 t2": run only those of the targets (debugging).
if [ -n "${MIGRATE_TEST_TARGETS:-}" ]; then
    keep=()
    for t in "${targets[@]}"; do
        case " $MIGRATE_TEST_TARGETS " in *" $t "*) keep+=("$t") ;; esac
    done
    targets=("${keep[@]}")
    if [ ${#targets[@]} -eq 0 ]; then
        echo "SKIP: none of the targets $MIGRATE_TEST_TARGETS is configured"
        exit 77
    fi
fi

# Prints the file to use for $1 under target $2 ($1.$2 if present, then
# $1.sqlserver for both SQL Server targets, then $1), or nothing.
variant() {
    if [ -f "$1.$2" ]; then
        echo "$1.$2"
    elif [ "${2%%-*}" = sqlserver ] && [ -f "$1.sqlserver" ]; then
        echo "$1.sqlserver"
    elif [ -f "$1" ]; then
        echo "$1"
    fi
}

# Returns success when every line of file $1 (blank lines and "#count"
# lines aside) occurs in file $2; squeeze=1 compares with runs of spaces
# squeezed, squeeze=2 also joins $2 into one line (a reject comment may
# wrap).  Missing lines are appended to $out_reason, labelled $4.
grep_lines() {
    local want=$1 have=$2 squeeze=$3 label=$4 line ok=0 hay
    hay=$(cat "$have" 2>/dev/null)
    [ "$squeeze" -eq 1 ] && hay=$(printf "%s\n" "$hay" | tr -s " ")
    [ "$squeeze" -eq 2 ] && hay=$(printf "%s\n" "$hay" | tr "\n\t" "  " | tr -s " ")
    while IFS= read -r line || [ -n "$line" ]; do
        [ -z "$line" ] && continue
        case $line in "#count "*) continue ;; esac
        [ "$squeeze" -ge 1 ] && line=$(printf '%s' "$line" | tr -s ' ')
        if ! grep -qF -- "$line" <<< "$hay"; then
            out_reason+="    $label missing: $line"$'\n'
            ok=1
        fi
    done < "$want"
    return $ok
}

# ---- one case against one target; returns 0 when it passed ----
run_case() {
    local name=$1 target=$2 src="$cases_dir/$1" dir="$work/$1.$2"
    local f rc want_exit rejects cmdline db_opts=() args=() dump_target=()
    out_reason=""
    details=""

    rm -rf "$dir"
    cp -R "$src" "$dir"
    chmod -R u+w "$dir"

    if [ "$target" = sqlite ]; then
        db_opts=(--db test.db)
        dump_target=(--db test.db)
    elif [ "${target%%-*}" = sqlserver ]; then
        db_opts=(--connect "$MIGRATE_TEST_MSSQL" --create-tables --load "${target#sqlserver-}")
        dump_target=(--connect "$MIGRATE_TEST_MSSQL")
        if ! tds_own_database "$tds_db" >/dev/null 2>"$dir/.tds.err"; then
            out_reason="cannot reset the SQL Server database $tds_db: $(cat "$dir/.tds.err")"
            return 1
        fi
    else
        db_opts=(--connect "$MIGRATE_TEST_PG" --create-tables)
        dump_target=(--connect "$MIGRATE_TEST_PG")
        if ! pg -c 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;' >/dev/null 2>"$dir/.psql.err"; then
            out_reason="cannot reset the PostgreSQL schema: $(cat "$dir/.psql.err")"
            return 1
        fi
    fi

    (
        cd "$dir" || exit 1
        if [ -f prepare ]; then
            bash ./prepare || { echo "prepare failed" >&2; exit 1; }
        fi
        f=$(variant setup.sql "$target")
        if [ -n "$f" ]; then
            if [ "$target" = sqlite ]; then
                sqlite3 -bail test.db < "$f" || exit 1
            elif [ "${target%%-*}" = sqlserver ]; then
                tds_sql < "$f" >/dev/null || exit 1
            else
                pg -f "$f" >/dev/null || exit 1
            fi
        fi
    ) > "$dir/.setup.log" 2>&1 || {
        out_reason="setup failed: $(cat "$dir/.setup.log")"
        return 1
    }

    # The arguments: shell words from cmd, target options in front or at @TARGET@.
    cmdline=$(cat "$src/cmd")
    eval "args=($cmdline)" || { out_reason="cannot parse cmd"; return 1; }
    local final=() a placed=0
    if [ "${args[0]:-}" = "@NOTARGET@" ]; then
        final=("${args[@]:1}")
        placed=1
    else
        for a in "${args[@]}"; do
            if [ "$a" = "@TARGET@" ]; then
                final+=("${db_opts[@]}")
                placed=1
            else
                final+=("$a")
            fi
        done
    fi
    [ "$placed" -eq 1 ] || final=("${db_opts[@]}" "${final[@]}")
    # The reject file: the one named in the arguments, else the default for
    # the target (--db X.db: X.rejects.xml; --connect/--dsn: migrate-rejects.xml).
    local i
    rejects=migrate.rejects.xml
    for ((i = 0; i < ${#final[@]}; i++)); do
        case ${final[i]} in
        --connect|--dsn) rejects=migrate-rejects.xml ;;
        --db) rejects="${final[i + 1]%.db}.rejects.xml" ;;
        esac
    done
    for ((i = 0; i < ${#final[@]}; i++)); do
        case ${final[i]} in
        -r|--rejects) rejects=${final[i + 1]:-} ;;
        --rejects=*) rejects=${final[i]#--rejects=} ;;
        esac
    done

    local stdin_file=/dev/null
    [ -f "$dir/stdin" ] && stdin_file="$dir/stdin"
    # a watchdog against hangs: generous for the TDS test server, slow per
    # statement and sharing the machine
    local limit=60
    [ "${target%%-*}" = sqlserver ] && limit=240
    (cd "$dir" && exec timeout "$limit" "${wrapper[@]}" "$MIGRATE" "${final[@]}") \
        < "$stdin_file" > "$dir/.stdout" 2> "$dir/.stderr"
    rc=$?
    local shown="${final[*]}"
    [ -n "$pg_password" ] && shown=${shown//"$pg_password"/***}
    [ -n "$tds_password" ] && shown=${shown//"$tds_password"/***}
    details="  command: (cd $src && migrate $shown)"$'\n'
    details+="  ---- stdout ----"$'\n'"$(sed 's/^/  | /' "$dir/.stdout")"$'\n'
    details+="  ---- stderr ----"$'\n'"$(sed 's/^/  | /' "$dir/.stderr")"$'\n'

    local failed=0
    want_exit=0
    f=$(variant "$dir/expected-exit" "$target")
    [ -n "$f" ] && want_exit=$(tr -d ' \n' < "$f")
    if [ "$rc" != "$want_exit" ]; then
        out_reason+="    exit status $rc, expected $want_exit"$'\n'
        failed=1
    fi

    f=$(variant "$dir/expected.tsv" "$target")
    if [ -n "$f" ]; then
        (cd "$dir" && "$DBDUMP" "${dump_target[@]}" -m mapping.xml) > "$dir/.dump" 2> "$dir/.dump.err"
        local drc=$?
        if [ "$drc" -ne 0 ]; then
            out_reason+="    dbdump failed ($drc): $(cat "$dir/.dump.err")"$'\n'
            failed=1
        fi
        if ! diff -u "$f" "$dir/.dump" > "$dir/.diff"; then
            out_reason+="    database content differs (--- expected +++ actual):"$'\n'
            # (long lines cut: a case may hold a 1 MiB value)
            out_reason+="$(sed 's/^/    /' "$dir/.diff" | cut -c1-400)"$'\n'
            failed=1
        fi
    fi

    f=$(variant "$dir/expected-summary" "$target")
    if [ -n "$f" ] && ! grep_lines "$f" "$dir/.stdout" 1 stdout; then
        failed=1
    fi
    f=$(variant "$dir/expected-stderr" "$target")
    if [ -n "$f" ] && ! grep_lines "$f" "$dir/.stderr" 0 stderr; then
        failed=1
    fi
    f=$(variant "$dir/expected-not-stderr" "$target")
    if [ -n "$f" ]; then
        local line
        while IFS= read -r line || [ -n "$line" ]; do
            [ -z "$line" ] && continue
            if grep -qF -- "$line" "$dir/.stderr" "$dir/.stdout"; then
                out_reason+="    output contains what it must not: $line"$'\n'
                failed=1
            fi
        done < "$f"
    fi
    local pw
    for pw in "$pg_password" "$tds_password"; do
        if [ -n "$pw" ] && grep -qF -- "$pw" "$dir/.stderr" "$dir/.stdout" \
                "$dir/$rejects" 2>/dev/null; then
            out_reason+="    the database password appears in the output"$'\n'
            failed=1
        fi
    done

    f=$(variant "$dir/expected-rejects" "$target")
    if [ -n "$f" ]; then
        if [ ! -f "$dir/$rejects" ]; then
            out_reason+="    no reject file $rejects"$'\n'
            failed=1
        else
            check_rejects "$f" "$dir" "$rejects" || failed=1
        fi
    elif [ -f "$dir/$rejects" ]; then
        out_reason+="    unexpected reject file $rejects:"$'\n'"$(sed 's/^/  | /' "$dir/$rejects")"$'\n'
        failed=1
    fi
    return $failed
}

# Check the reject file $3 in dir $2 against expectations $1: the lines, the
# count, well-formed XML, and that it loads again with the same mapping.
check_rejects() {
    local want=$1 dir=$2 rej=$3 count n failed=0
    if ! grep_lines "$want" "$dir/$rej" 2 "reject file"; then
        failed=1
    fi
    n=$(grep -c '<!-- migrate reject:' "$dir/$rej")
    count=$(sed -n 's/^#count \([0-9]*\).*/\1/p' "$want" | head -n 1)
    if [ -n "$count" ] && [ "$n" != "$count" ]; then
        out_reason+="    $n rejected records in $rej, expected $count"$'\n'
        failed=1
    fi
    if command -v xmllint >/dev/null 2>&1 && ! xmllint --noout "$dir/$rej" 2> "$dir/.xmllint"; then
        out_reason+="    reject file is not well-formed: $(head -n 3 "$dir/.xmllint")"$'\n'
        failed=1
    fi
    # Reload into a new SQLite file: every record in it must be read again.
    # (The record count is the "total" line's "read" column.)
    local rl="$dir/.reload" read_n
    mkdir -p "$rl"
    cp "$dir"/*.xml "$dir"/*.xsd "$rl"/ 2>/dev/null
    cp "$dir/$rej" "$rl/reload-input.xml"
    (cd "$rl" && timeout 60 "$MIGRATE" --db reload.db -r reload.rejects.xml \
        -m mapping.xml reload-input.xml) > "$rl/.stdout" 2> "$rl/.stderr"
    read_n=$(awk '$1 == "total" { print $2; exit }' "$rl/.stdout")
    if [ "$read_n" != "$n" ]; then
        out_reason+="    reloading $rej read ${read_n:-?} records, expected $n: $(head -n 3 "$rl/.stderr")"$'\n'
        failed=1
    fi
    return $failed
}

# ---- main ----
if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for d in "$cases_dir"/*/; do
        names+=("$(basename "$d")")
    done
fi

passed=0
failed=0
for name in "${names[@]}"; do
    if [ ! -f "$cases_dir/$name/cmd" ]; then
        echo "FAIL $name: no such case (or no cmd file)"
        failed=$((failed + 1))
        continue
    fi
    for target in "${targets[@]}"; do
        if [ "$target" != sqlite ] && [ -f "$cases_dir/$name/sqlite-only" ]; then
            continue
        fi
        skip_file=""
        [ "${target%%-*}" = sqlserver ] && [ -f "$cases_dir/$name/no-sqlserver" ] &&
            skip_file="$cases_dir/$name/no-sqlserver"
        [ "$target" = sqlserver-bcp ] && [ -f "$cases_dir/$name/no-bcp" ] &&
            skip_file="$cases_dir/$name/no-bcp"
        if [ -n "$skip_file" ]; then
            reason=$(head -n 1 "$skip_file")
            if [ -z "$reason" ]; then
                failed=$((failed + 1))
                echo "FAIL $name ($target): $(basename "$skip_file") gives no reason"
            else
                echo "SKIP $name ($target): $reason"
            fi
            continue
        fi
        start=$(date +%s%N)
        if run_case "$name" "$target"; then
            passed=$((passed + 1))
            ms=$(( ($(date +%s%N) - start) / 1000000 ))
            printf "PASS %s (%s) %d.%03ds\n" "$name" "$target" $((ms / 1000)) $((ms % 1000))
        else
            failed=$((failed + 1))
            first=$(printf '%s' "$out_reason" | sed -n '1s/^ *//p')
            echo "FAIL $name ($target): $first"
            printf '%s' "$out_reason"
            printf '%s' "$details"
        fi
    done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
