#!/usr/bin/env bash
# shellcheck disable=SC2016  # the checks are strings that `all` evals
# connfail.sh — migrate against targets that fail: every failure must be one
# clear line on stderr ("migrate: ..." with the driver's SQLSTATE), the exit
# status of the CLI contract (69 unreachable / login refused / driver or DSN
# unknown, 76 missing table, 77 permission denied), no hang (login and query
# timeouts from --connect-timeout), and never the password: not on stdout,
# stderr, in the reject file or in the process's command line (`ps`).
#
# Always: SQLite (missing table, unopenable database), unknown driver and
# DSN, a closed port on 127.0.0.1 (psqlODBC and FreeTDS), a listener that
# accepts and never answers (login timeout, `ps` masking).
#
# Robust on a loaded machine: the closed port is one this script holds (a
# socket bound and not listening: the kernel refuses connections to it and
# nobody else can take it), the silent listener binds a port the kernel
# picks; no port is probed and then hoped to stay free.  Time bounds only
# prove "does not hang" (generous: well under the 60 s watchdog and the
# life of what would otherwise answer); that a timeout was the cause is
# checked in the message, not by how long it took.  With
# MIGRATE_TEST_PG (tests/with-postgres.sh) also against the real PostgreSQL:
# wrong password, password from MIGRATE_PASSWORD and --password-file, a
# missing table, a role without INSERT, a table locked by another session
# (query timeout).  The PostgreSQL checks use tables named cf_* and a role
# cf_noins_<pid>, made and dropped here; schema public is left alone.
#
# Each check prints PASS or FAIL (with the evidence).  Exit: 0 all passed,
# 1 some failed, 77 nothing could run (no migrate binary).
# Environment: top_srcdir, top_builddir, MIGRATE, MIGRATE_TEST_PG,
# MIGRATE_TEST_PG_PSQL (else psql with the PG* variables).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"

if [ ! -x "$MIGRATE" ]; then
    echo "SKIP: $MIGRATE not built (make)"
    exit 77
fi

work_dir cf
listener_pid=""
holder_pid=""
locker_pid=""
pg_role=""
# Stop what we started (by PID), drop what we made.
on_exit() {
    [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null
    [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null
    [ -n "$locker_pid" ] && kill "$locker_pid" 2>/dev/null
    if [ -n "$pg_role" ]; then
        pg -c "DROP TABLE IF EXISTS cf_app, cf_perm;" >/dev/null 2>&1
        pg -c "DROP OWNED BY $pg_role; DROP ROLE IF EXISTS $pg_role;" >/dev/null 2>&1
    fi
}

pg_password=""
cd "$work" || exit 99

# ---- helpers ----

# check NAME COND...: PASS when the command COND succeeds, else FAIL with
# the last run's status, time and stderr.
check() { check_cmd "$@"; }
fail_status() { echo " (exit $rc, ${secs}s)"; }
fail_evidence() {
    local text line
    text=$(cat "$work/err")
    [ -n "${pg_password:-}" ] && text=${text//"$pg_password"/***}
    text=${text//"$secret"/***}
    while IFS= read -r line; do
        printf '  | stderr: %s\n' "$line"
    done <<< "$text"
}

# run_m ARGS...: run migrate (60 s at most) with stdout/stderr in $work/out,
# $work/err; sets rc and secs.  libpq must not find a password of its own.
run_m() {
    local t0 t1
    t0=$(date +%s.%N)
    (cd "$work" && exec env -u PGPASSWORD PGPASSFILE=/dev/null \
        timeout 60 "$MIGRATE" "$@") < /dev/null > "$work/out" 2> "$work/err"
    rc=$?
    t1=$(date +%s.%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

# is_rc N: the last run exited with N
is_rc() { [ "$rc" = "$1" ] || { why "exit status $rc, expected $1"; return 1; }; }

# one_line: stderr is exactly one line starting "migrate: "
one_line() {
    local n
    n=$(wc -l < "$work/err")
    if [ "$n" -ne 1 ] || ! grep -q '^migrate: ' "$work/err"; then
        why "stderr has $n lines, expected one \"migrate: ...\" line"
        return 1
    fi
}

# err_has TEXT...: stderr contains every TEXT
err_has() {
    local s
    for s in "$@"; do
        grep -qF -- "$s" "$work/err" || { why "stderr lacks: $s"; return 1; }
    done
}

# err_has_any TEXT...: stderr contains at least one TEXT
err_has_any() {
    local s
    for s in "$@"; do
        grep -qF -- "$s" "$work/err" && return 0
    done
    why "stderr has none of: $*"
    return 1
}

# no_secret TEXT [FILE...]: TEXT is in neither stdout, stderr nor the FILEs
no_secret() {
    local s=$1 f
    shift
    for f in "$work/out" "$work/err" "$@"; do
        if [ -f "$f" ] && grep -qF -- "$s" "$f"; then
            why "the password appears in $(basename "$f")"
            return 1
        fi
    done
}

# within SECS: the last run took less than SECS seconds
within() {
    awk -v s="$secs" -v m="$1" 'BEGIN { exit !(s < m) }' \
        || { why "took ${secs}s, limit $1 s"; return 1; }
}

# all CMD...: every CMD (each one shell command string, eval'd) succeeds;
# all are run, so that each failing one notes why
all() {
    local c ok=0
    for c in "$@"; do
        eval "$c" || ok=1
    done
    return $ok
}

# Returns success when something listens on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# have_python: python3 with its socket module runs here
have_python() { command -v python3 >/dev/null 2>&1 && python3 -c 'import socket' 2>/dev/null; }

# hold_closed_port: a port on 127.0.0.1 that this script holds closed (a
# socket bound, never listening, until we kill its holder): sets closed and
# holder_pid.  Without python3, the first of a range where nothing listens
# now (check-then-use: the one weak spot left, said in the check's name).
hold_closed_port() {
    closed=""
    closed_how="held by this script"
    if have_python; then
        python3 -c '
import signal, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
signal.pause()
' > "$work/closed" 2>/dev/null &
        holder_pid=$!
        local _
        for _ in $(seq 1 300); do
            closed=$(cat "$work/closed" 2>/dev/null)
            [ -n "$closed" ] && return 0
            kill -0 "$holder_pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    closed_how="probed, not held: no python3"
    local p
    for p in $(seq 47411 47511); do
        port_busy "$p" || { closed=$p; return 0; }
    done
    closed=1
}

# start_listener: a TCP listener on 127.0.0.1 that accepts and never
# answers, alive until we kill it; sets listener_pid and listen_port (empty
# when none could start).  python3 binds a port the kernel picks; nc gets
# ports to try, and another one when it cannot bind (it exits then).
start_listener() {
    listen_port=""
    if have_python; then
        python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept()[0])
' > "$work/port" 2>/dev/null &
        listener_pid=$!
        local _
        for _ in $(seq 1 300); do
            listen_port=$(cat "$work/port" 2>/dev/null)
            [ -n "$listen_port" ] && return 0
            kill -0 "$listener_pid" 2>/dev/null || break
            sleep 0.1
        done
        listen_port=""
        return 1
    fi
    command -v nc >/dev/null 2>&1 || return 1
    local p _
    for p in $(seq 47611 47631); do
        # -d: never read stdin, so nothing is ever sent; -k: accept again
        timeout 300 nc -dlk 127.0.0.1 "$p" >/dev/null 2>&1 &
        listener_pid=$!
        for _ in $(seq 1 30); do
            kill -0 "$listener_pid" 2>/dev/null || break   # cannot bind: next port
            if port_busy "$p"; then
                listen_port=$p
                return 0
            fi
            sleep 0.1
        done
        kill "$listener_pid" 2>/dev/null
        wait "$listener_pid" 2>/dev/null
        listener_pid=""
    done
    return 1
}

# ---- data ----
cat > map.xml <<'EOF'
<mapping xmlns="urn:migrate:mapping:1" record="/apps/app">
  <table name="cf_app" key="app_id">
    <column name="app_id"  path="@id"     type="int"/>
    <column name="product" path="product" type="varchar(8)" pattern="^(CARD|LOAN)$"/>
  </table>
</mapping>
EOF
sed 's/cf_app/cf_perm/' map.xml > map-perm.xml
sed 's/cf_app/cf_missing_table/' map.xml > map-missing.xml
# input.xml: two good records and one rejected (product BAD)
make_input() {
    printf '<apps>\n'
    printf '  <app id="%d"><product>CARD</product></app>\n' "$1"
    printf '  <app id="%d"><product>LOAN</product></app>\n' "$(($1 + 1))"
    printf '  <app id="%d"><product>BAD</product></app>\n' "$(($1 + 2))"
    printf '</apps>\n'
}
make_input 1 > input.xml

secret="Cf-Secret-$$-x7"     # a password that must never show up
hold_closed_port

# ---- SQLite ----
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 other.db 'CREATE TABLE unrelated (x INTEGER);'
    run_m --connect "Driver=SQLite3;Database=other.db" -r rej.xml -m map.xml input.xml
    check "sqlite: missing table without --create-tables: exit 76, one line naming the table" \
        all 'is_rc 76' 'one_line' 'err_has SQLSTATE cf_app'
else
    echo "SKIP sqlite missing table: no sqlite3 CLI"
fi
run_m --connect "Driver=SQLite3;Database=$work/no-such-dir/x.db" -r rej.xml -m map.xml input.xml
check "sqlite: database in a missing directory: exit 69, one line" \
    all 'is_rc 69' 'one_line' 'err_has "cannot connect" SQLSTATE'

# ---- driver and DSN unknown ----
run_m --connect "Driver=No Such Driver cf;Server=127.0.0.1;UID=u;PWD=$secret" -r rej.xml \
    -m map.xml input.xml
check "unknown driver: exit 69, SQLSTATE and \"Can't open lib\"/IM002, no password" \
    all 'is_rc 69' 'one_line' 'err_has SQLSTATE' 'err_has_any "Can'"'"'t open lib" IM002' \
        'no_secret "$secret"'
run_m --dsn "NoSuchDsn-cf-$$" -r rej.xml -m map.xml input.xml
check "unknown DSN: exit 69, SQLSTATE IM002" \
    all 'is_rc 69' 'one_line' 'err_has "SQLSTATE IM002"'

# ---- closed port: refused at once ----
run_m --connect "Driver=PostgreSQL Unicode;Server=127.0.0.1;Port=$closed;Database=x;UID=u;PWD=$secret" \
    --connect-timeout 3 -r rej.xml -m map.xml input.xml
check "psqlODBC, closed port $closed ($closed_how): exit 69 without hanging, SQLSTATE, no password" \
    all 'is_rc 69' 'one_line' 'within 30' 'err_has "cannot connect: SQLSTATE"' 'no_secret "$secret"'
MIGRATE_PASSWORD=$secret run_m \
    --connect "Driver=FreeTDS;Server=127.0.0.1;Port=$closed;Database=x;UID=u;TDS_Version=7.4" \
    --connect-timeout 3 -r rej.xml -m map.xml input.xml
check "FreeTDS, closed port $closed (MIGRATE_PASSWORD set): exit 69 without hanging, SQLSTATE, no password" \
    all 'is_rc 69' 'one_line' 'within 30' 'err_has "cannot connect: SQLSTATE"' 'no_secret "$secret"'

# ---- a server that accepts and never answers: login timeout, ps ----
if start_listener; then
    for drv in "PostgreSQL Unicode" FreeTDS; do
        cs="Driver=$drv;Server=127.0.0.1;Port=$listen_port;Database=x;UID=u;PWD={$secret};TDS_Version=7.4"
        t0=$(date +%s.%N)
        (cd "$work" && exec env -u PGPASSWORD PGPASSFILE=/dev/null timeout 60 "$MIGRATE" \
            --connect "$cs" --connect-timeout 3 -r rej.xml -m map.xml input.xml) \
            < /dev/null > "$work/out" 2> "$work/err" &
        mpid=$!
        # the migrate process: our subshell exec'd env, which exec'd timeout;
        # migrate is timeout's child.  Sample it for as long as it runs and
        # keep the last sample: taken while it waits for the login, long
        # after it masked its options, however slow the machine is to start it.
        cmdline=""
        while kill -0 "$mpid" 2>/dev/null; do
            for p in $(pgrep -P "$mpid" 2>/dev/null); do
                c=$(tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline")
                case $c in *"$MIGRATE"*--connect-timeout*) cmdline=$c ;; esac
            done
            sleep 0.1
        done
        wait "$mpid"
        rc=$?
        secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
        # the listener lives until killed: without the login timeout migrate
        # would hang until the 60 s watchdog (exit 124)
        check "$drv, silent listener, --connect-timeout 3: times out (exit 69, SQLSTATE), no password" \
            all 'is_rc 69' 'one_line' 'within 45' 'err_has "cannot connect: SQLSTATE"' \
                'err_has_any HYT00 timeout Timeout "timed out"' 'no_secret "$secret"'
        printf '%s\n' "$cmdline" > "$work/cmdline"
        check "$drv: /proc/PID/cmdline while connecting shows PWD masked, not the password" \
            all '[ -n "$cmdline" ] || { why "migrate process not found"; false; }' \
                'no_secret "$secret" "$work/cmdline"' \
                'grep -q "PWD=\*" "$work/cmdline" || { why "cmdline: $cmdline"; false; }'
    done
    kill "$listener_pid" 2>/dev/null
    wait "$listener_pid" 2>/dev/null
    listener_pid=""
else
    echo "SKIP silent listener checks: neither python3 nor nc (apt-get install netcat-openbsd)"
fi

# ---- PostgreSQL ----
# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"

if [ -z "${MIGRATE_TEST_PG:-}" ]; then
    echo "SKIP postgresql checks: MIGRATE_TEST_PG unset (run under tests/with-postgres.sh)"
else
    pg_env_setup
    pg_own_database migrate_test_connfail || { echo "ERROR: cannot create a database" >&2; exit 99; }
    # the connection string without its password
    pg_nopw=$(printf '%s' "$MIGRATE_TEST_PG" | tr ';' '\n' | grep -viE '^ *(pwd|password) *=' \
        | paste -sd ';')
    pg_role="cf_noins_$$"
    pg -c "DROP TABLE IF EXISTS cf_app, cf_perm, cf_missing_table;" >/dev/null

    # wrong password, in the string and in MIGRATE_PASSWORD
    run_m --connect "$pg_nopw;PWD=$secret" -r rej.xml -m map.xml input.xml
    check "pg: wrong password in --connect: exit 69, one line with SQLSTATE and the reason, no password" \
        all 'is_rc 69' 'one_line' 'err_has SQLSTATE' \
            'err_has_any 28P01 "password authentication failed"' 'no_secret "$secret"' \
            'no_secret "$pg_password"'
    MIGRATE_PASSWORD=$secret run_m --connect "$pg_nopw" -r rej.xml -m map.xml input.xml
    check "pg: wrong MIGRATE_PASSWORD: exit 69, SQLSTATE, no password" \
        all 'is_rc 69' 'one_line' 'err_has SQLSTATE' \
            'err_has_any 28P01 "password authentication failed"' 'no_secret "$secret"'
    printf '%s\n' "$secret" > wrong.pw
    run_m --connect "$pg_nopw" --password-file wrong.pw -r rej.xml -m map.xml input.xml
    check "pg: wrong --password-file: exit 69, SQLSTATE, no password" \
        all 'is_rc 69' 'one_line' 'err_has SQLSTATE' 'no_secret "$secret"'

    # the right password from MIGRATE_PASSWORD, then from --password-file
    rm -f rej.xml
    MIGRATE_PASSWORD=$pg_password run_m --connect "$pg_nopw" --create-tables -r rej.xml \
        -m map.xml input.xml
    check "pg: MIGRATE_PASSWORD: loads (exit 1: one reject), password not in stdout/stderr/rejects" \
        all 'is_rc 1' 'grep -q "^total  *3  *2  *0  *1" out || { why "summary: $(grep ^total out)"; false; }' \
            '[ -f rej.xml ] || { why "no reject file"; false; }' 'no_secret "$pg_password" rej.xml'
    rm -f rej.xml
    make_input 11 > input2.xml
    printf '%s\n' "$pg_password" > right.pw
    chmod 600 right.pw
    run_m --connect "$pg_nopw" --password-file right.pw -r rej.xml -m map.xml input2.xml
    check "pg: --password-file: loads, password not in stdout/stderr/rejects" \
        all 'is_rc 1' 'grep -q "^total  *3  *2  *0  *1" out || { why "summary: $(grep ^total out)"; false; }' \
            'no_secret "$pg_password" rej.xml'
    n=$(pg -At -c "SELECT string_agg(app_id::text || ':' || product, ',' ORDER BY app_id) FROM cf_app")
    check "pg: cf_app holds exactly the four good records" \
        all '[ "$n" = "1:CARD,2:LOAN,11:CARD,12:LOAN" ] || { why "cf_app: $n"; false; }'

    # missing table
    run_m --connect "$MIGRATE_TEST_PG" -r rej.xml -m map-missing.xml input.xml
    check "pg: missing table without --create-tables: exit 76, one line naming it, 42P01" \
        all 'is_rc 76' 'one_line' 'err_has cf_missing_table "SQLSTATE 42P01"' \
            'no_secret "$pg_password"'

    # missing permission: a role that may log in and read, not insert
    rolepw="Cf-Role-$$-pw"
    if pg -c "DROP TABLE IF EXISTS cf_perm; CREATE TABLE cf_perm (app_id INTEGER PRIMARY KEY, product VARCHAR(8));
              DROP ROLE IF EXISTS $pg_role; CREATE ROLE $pg_role LOGIN PASSWORD '$rolepw';
              GRANT USAGE ON SCHEMA public TO $pg_role; GRANT SELECT ON cf_perm TO $pg_role;" \
              >/dev/null 2> pg.err; then
        role_cs=$(printf '%s' "$pg_nopw" | tr ';' '\n' | grep -viE '^ *uid *=' | paste -sd ';')
        # --no-ledger: else the first refusal is the ledger's CREATE TABLE
        run_m --connect "$role_cs;UID=$pg_role;PWD=$rolepw" --no-ledger -r rej.xml -m map-perm.xml input.xml
        check "pg: role without INSERT: exit 77, one line with 42501 naming the table, no password" \
            all 'is_rc 77' 'one_line' 'err_has "SQLSTATE 42501" cf_perm' 'no_secret "$rolepw"'
    else
        rc=-; secs=0; : > err
        why "cannot create the role: $(cat pg.err)"
        check "pg: role without INSERT" false
    fi

    # query timeout: another session holds an exclusive lock on cf_app for
    # longer than migrate tries: each statement times out after
    # --query-timeout, the batch is retried with backoff until --retry-for
    # runs out, then the run stops with exit 75 (EX_TEMPFAIL) instead of
    # hanging (--connect-timeout is the login's alone)
    make_input 21 > input3.xml
    # (the lock is held far longer than any run, and released by us)
    PGAPPNAME=cf_locker "${psql_cmd[@]}" -c "BEGIN; LOCK TABLE cf_app IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);" \
        >/dev/null 2>&1 &
    locker_pid=$!
    locked=0
    for _ in $(seq 1 300); do
        if [ "$(pg -At -c "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                            WHERE c.relname = 'cf_app' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ]; then
            locked=1
            break
        fi
        sleep 0.1
    done
    if [ $locked = 1 ]; then
        run_m --connect "$MIGRATE_TEST_PG" --query-timeout 2 --retry-for 8 -r rej.xml -m map.xml input3.xml
        # exit 75 is the proof it did not hang: the lock outlives the 60 s
        # watchdog (exit 124), and a hang would not say 57014
        check "pg: table locked by another session, --query-timeout 2 --retry-for 8: retried, gives up with 75, SQLSTATE 57014" \
            all '[ "$rc" = 75 ] || { why "exit $rc, expected 75"; false; }' \
                'err_has SQLSTATE' 'err_has 57014'
    else
        rc=-; secs=0; : > err
        why "the lock was not taken"
        check "pg: query timeout" false
    fi
    pg -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'cf_locker'" \
        >/dev/null 2>&1
    wait "$locker_pid" 2>/dev/null
    locker_pid=""
fi

echo "$passed passed, $failed failed"
[ $((passed + failed)) -gt 0 ] || exit 77
[ "$failed" -eq 0 ]
