#!/usr/bin/env bash
# login-tds.sh — logging in to a SQL Server (the TDS test server of
# tests/with-tds.sh, through FreeTDS) with a password that holds ';', '}',
# '{', '=' and spaces, every way migrate takes one:
#
#   (a) inline in --connect as PWD={...} ('}' doubled, the ODBC escape)
#   (b) from MIGRATE_PASSWORD          (c) from --password-file
#
# each (d) in a DSN-less connection string and (e) through a DSN of a private
# odbc.ini (ODBCINI/ODBCSYSINI point at this script's temporary directory;
# FreeTDS reads no UID from a DSN, so UID= stays in the string).  Every load
# must store exactly the rows of the case (dbdump), and the password must
# never show in migrate's stdout, stderr or in `ps` while it runs (for (a):
# once migrate has masked its argv, see run_migrate).  A wrong
# password, and one FreeTDS cannot be given ('};' inside), must exit 69 with
# exactly one line on stderr.
#
# The login and its user are made here (CREATE LOGIN / CREATE USER, rights
# on the case's tables only), in a database mig_login of this script's own.
# Needs MIGRATE_TEST_MSSQL (a sysadmin login); without it: SKIP, exit 77.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
case_dir="$top_srcdir/tests/integration/cases/basic"

if [ -z "${MIGRATE_TEST_MSSQL:-}" ]; then
    echo "SKIP login-tds: MIGRATE_TEST_MSSQL unset (tests/with-tds.sh starts a server)"
    exit 77
fi
need_built "$MIGRATE" "$DBDUMP"
# shellcheck source=tests/integration/tds-env.sh
. "$here/tds-env.sh"
tds_env_setup

work_dir login

# ---- the database, the login, the tables ----
tds_own_database mig_login || { echo "ERROR: cannot create database mig_login" >&2; exit 99; }
admin=$MIGRATE_TEST_MSSQL
server=$(tds_attr Server)
port=$(tds_attr Port)
user=mig_pw_user
# ';' '}' '{' '=' and spaces, never "};" (FreeTDS cannot read that), plus a
# random part so that a stray match in the output is no accident
token=$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')
pw="p;w}= x {y $token z"
pw_braced=${pw//\}/\}\}}

printf "IF SUSER_ID('%s') IS NOT NULL DROP LOGIN %s;\nCREATE LOGIN %s WITH PASSWORD = '%s';\n" \
    "$user" "$user" "$user" "$pw" | tds_sql "$tds_master" >/dev/null ||
    { echo "ERROR: cannot create the login $user" >&2; exit 99; }
# the tables and the ledger's made by their owner (init-db), as a DBA would
# for a loader that may not create tables (README: the ledger)
"$MIGRATE" init-db --connect "$(tds_with_database mig_login)" -m "$case_dir/mapping.xml" \
    >/dev/null 2>"$work/init-db.err" ||
    { echo "ERROR: init-db in mig_login failed: $(cat "$work/init-db.err")" >&2; exit 99; }
{
    echo "CREATE USER $user FOR LOGIN $user;"
    for t in app_base contact_base contact_address; do
        echo "GRANT SELECT, INSERT, UPDATE ON $t TO $user;"
    done
    for t in migrate_ledger_files migrate_ledger_batches migrate_ledger_marks migrate_ledger_rejects migrate_ledger_locks; do
        echo "GRANT SELECT, INSERT, UPDATE, DELETE ON $t TO $user;"
    done
} | tds_sql >/dev/null || { echo "ERROR: cannot create the user in mig_login" >&2; exit 99; }

# a private ODBC setup for the DSN runs: the FreeTDS driver and one DSN
mkdir "$work/odbc"
odbcinst -q -d -n FreeTDS > "$work/odbc/odbcinst.ini" 2>/dev/null ||
    { echo "ERROR: no ODBC driver FreeTDS (odbcinst -q -d)" >&2; exit 99; }
cat > "$work/odbc/odbc.ini" <<EOF
[migtds]
Driver = FreeTDS
Server = $server
Port = $port
Database = mig_login
TDS_Version = 7.4
EOF
printf '%s\n' "$pw" > "$work/pwfile"
chmod 600 "$work/pwfile"
# what must never show: the random part (in whatever quoting), from a file:
# grep's own arguments show in ps too
printf '%s\n' "$token" > "$work/secret"

dsnless="Driver=FreeTDS;Server=$server;Port=$port;Database=mig_login;UID=$user;TDS_Version=7.4"
viadsn="DSN=migtds;UID=$user"

# Record a result: pass NAME, or fail NAME WHY (WHY printed, indented).
pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# run_migrate DIR ARGS...: run migrate in DIR (stdout/stderr to DIR/.out,
# DIR/.err, status in $mig_rc) while watching `ps`: sets ps_leak=1 if the
# password shows in any process's arguments meanwhile.  A password given in
# --connect is in migrate's argv from exec until migrate masks it (PWD=***,
# while it reads its options): samples from before migrate's own cmdline
# shows the mask do not count; masked=1 tells that it was seen masked.  No
# timeout(1) in between: its own arguments would hold the password.
run_migrate() {
    local dir=$1 pid i own inline=0 a
    shift
    for a in "$@"; do
        case $a in *PWD=*) inline=1 ;; esac
    done
    ps_leak=0
    masked=0
    (cd "$dir" && exec "$MIGRATE" "$@") > "$dir/.out" 2> "$dir/.err" &
    pid=$!
    for ((i = 0; i < 2400; i++)); do          # 2400 * 0.05 s: 120 s at most
        if [ "$inline" -eq 1 ] && [ "$masked" -eq 0 ]; then
            own=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline")
            case $own in *"$MIGRATE"*"PWD=*"*) masked=1 ;; esac
        fi
        if ps -ww -eo args 2>/dev/null | grep -qF -f "$work/secret"; then
            [ "$inline" -eq 0 ] || [ "$masked" -eq 1 ] && ps_leak=1
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    [ "$inline" -eq 1 ] || masked=1
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
    fi
    wait "$pid"
    mig_rc=$?
}

# leaked DIR: success if the password shows in DIR's outputs.
leaked() {
    grep -qF -f "$work/secret" "$1/.out" "$1/.err" "$1"/*.xml 2>/dev/null
}

# one_load NAME ENV-ASSIGNMENT|- ARGS...: load the basic case as the new
# login and check exit 0, the exact rows, and no password anywhere.
one_load() {
    local name=$1 envset=$2 dir="$work/$1" why=""
    shift 2
    printf 'DELETE FROM contact_address; DELETE FROM contact_base; DELETE FROM app_base; DELETE FROM migrate_ledger_batches; DELETE FROM migrate_ledger_marks; DELETE FROM migrate_ledger_rejects; DELETE FROM migrate_ledger_files;\n' |
        tds_sql "$admin" >/dev/null || { fail "$name" "cannot empty the tables"; return; }
    mkdir "$dir"
    cp "$case_dir/mapping.xml" "$case_dir/input.xml" "$dir/"
    if [ "$envset" = - ]; then
        run_migrate "$dir" "$@" -m mapping.xml input.xml
    else
        MIGRATE_PASSWORD=$envset run_migrate "$dir" "$@" -m mapping.xml input.xml
    fi
    [ "$mig_rc" -eq 0 ] || why+="exit status $mig_rc, expected 0: $(head -n 3 "$dir/.err");"
    tds_sql "$admin" > /dev/null <<< "SELECT 1" || why+="admin connection lost;"
    "$DBDUMP" --connect "$admin" -m "$dir/mapping.xml" > "$dir/.dump" 2>&1
    if ! diff -u "$case_dir/expected.tsv" "$dir/.dump" > "$dir/.diff"; then
        why+=" rows differ: $(tr '\n' ' ' < "$dir/.diff" | cut -c1-600);"
    fi
    leaked "$dir" && why+=" the password appears in migrate's output;"
    [ "$ps_leak" -eq 1 ] && why+=" the password appears in ps;"
    [ "$masked" -eq 1 ] || why+=" migrate's cmdline never showed PWD masked;"
    if [ -n "$why" ]; then fail "$name" "$why"; else pass "$name"; fi
}

# one_refusal NAME ENV-ASSIGNMENT|- SECRET ARGS...: the login must fail:
# exit 69, exactly one line on stderr, SECRET nowhere.
one_refusal() {
    local name=$1 envset=$2 secret=$3 dir="$work/$1" why="" n
    shift 3
    mkdir "$dir"
    cp "$case_dir/mapping.xml" "$case_dir/input.xml" "$dir/"
    if [ "$envset" = - ]; then
        run_migrate "$dir" "$@" -m mapping.xml input.xml
    else
        MIGRATE_PASSWORD=$envset run_migrate "$dir" "$@" -m mapping.xml input.xml
    fi
    [ "$mig_rc" -eq 69 ] || why+=" exit status $mig_rc, expected 69;"
    n=$(wc -l < "$dir/.err")
    [ "$n" -eq 1 ] || why+=" $n lines on stderr, expected 1: $(head -n 5 "$dir/.err" | tr '\n' '|');"
    grep -qF -- "$secret" "$dir/.out" "$dir/.err" "$dir"/*.xml 2>/dev/null &&
        why+=" the password appears in migrate's output;"
    [ "$ps_leak" -eq 1 ] && why+=" the password appears in ps;"
    if [ -n "$why" ]; then
        fail "$name" "$why"
    else
        pass "$name ($(cut -c1-150 "$dir/.err"))"
    fi
}

# ---- (a) inline, (b) MIGRATE_PASSWORD, (c) --password-file; (d) DSN-less ----
one_load inline-dsnless - --connect "$dsnless;PWD={$pw_braced};"
one_load inline-dsnless-last - --connect "$dsnless;PWD={$pw_braced}"
one_load env-dsnless "$pw" --connect "$dsnless"
one_load file-dsnless - --password-file "$work/pwfile" --connect "$dsnless"

# ---- (e) the same through a DSN ----
export ODBCINI="$work/odbc/odbc.ini" ODBCSYSINI="$work/odbc"
one_load inline-dsn - --connect "$viadsn;PWD={$pw_braced}"
one_load env-dsn "$pw" --connect "$viadsn"
one_load file-dsn - --password-file "$work/pwfile" --connect "$viadsn"
unset ODBCINI ODBCSYSINI

# ---- refused: a wrong password, one FreeTDS cannot read ----
wrong="${pw}-wrong"
one_refusal wrong-inline - "$wrong" --connect "$dsnless;PWD={${wrong//\}/\}\}}}"
one_refusal wrong-env "$wrong" "$wrong" --connect "$dsnless"
bad="Bad-$(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')};x"
one_refusal unreadable-by-freetds "$bad" "$bad" --connect "$dsnless"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
