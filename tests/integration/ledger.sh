#!/usr/bin/env bash
# ledger.sh — the ledger in the target (issue 9, items 1-4), on SQLite, on
# PostgreSQL when MIGRATE_TEST_PG is set (tests/with-postgres.sh), and on
# the SQL Server of MIGRATE_TEST_MSSQL (tests/with-tds.sh; in a database of
# its own, migrate_ledger; a visible SKIP line when it is unset):
#
#   resume    a run killed by SIGKILL at several points (MIGRATE_TEST_CRASH:
#             in the first and a middle transaction, before and after its
#             COMMIT, and at about 90%; on SQLite and PostgreSQL also a real
#             kill -9 from outside while it loads), then the same command:
#             the tables exactly those of one clean run, the killed run's
#             committed records reported as loaded earlier (as many as the
#             top table's rows after the kill), loaded over both runs = the
#             clean run's loaded, duplicates and rejects the clean run's,
#             read = loaded + loaded earlier + duplicate + rejected
#   marks     the rerun starts reading after the committed records without
#             parsing them (the ledger's marks): killed at 90%, the rerun
#             starts after a record near there (resumed_after in the JSON
#             report) and is exact (tables, counts, the reject file with its
#             line numbers) for a plain file, its gzip copy, one whose
#             root is prefixed and declares two namespaces, and one with
#             invalid records from the start (the ledger keeps each reject:
#             the rerun counts the earlier ones as rejected and copies them
#             into its reject file, which equals a clean run's); it falls
#             back to reading from the start (resumed_after 0), exactly, for
#             a document with a DTD
#   dbrej     the same with rejects the database makes (a constraint the
#             mapping does not know): resumed from a mark, exact, and the
#             rerun's reject file holds every entry of a clean run's
#   skip      a loaded file skipped (also renamed and touched: the content
#             decides) with the date the ledger holds, tables unchanged;
#             --reload loads it (every record a duplicate); a changed file
#             is loaded; stdin is never skipped; --no-ledger loads again
#   lock      a second run of the same mapping into the same target exits
#             79 at once with one line naming the holder (host, pid, start);
#             --lock-wait waits for the holder to finish; a killed holder's
#             lock is gone (SQLite, PostgreSQL, the TDS server)
#
# Each scenario uses its own copy of the mapping with table names of its
# own, so nothing has to be dropped between them (and the ledger, keyed by
# the mapping's hash, starts empty for each).  Each check prints PASS or FAIL
# with the evidence.  Exit: 0 all passed, 1 some failed, 77 nothing could
# run.  Environment: top_srcdir, top_builddir, MIGRATE, DBDUMP, GEN,
# LEDGER_TARGETS (default "sqlite postgresql sqlserver").
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
GEN=${GEN:-$GEN_APPS}
MAPPING=$top_srcdir/mappings/applications.xml

for bin in "$MIGRATE" "$DBDUMP" "$GEN"; do
    [ -x "$bin" ] || { echo "SKIP: $bin not built (make check builds it)"; exit 77; }
done
command -v python3 >/dev/null 2>&1 || { echo "ERROR: python3 missing" >&2; exit 99; }

work_dir ledger

# check NAME CMD...: PASS when CMD succeeds, else FAIL with the evidence.
check() { check_cmd "$@"; }

# jget FILE EXPR: print EXPR of the JSON report FILE (python, d = the
# report) as JSON: ["skipped", 0]; a string alone prints bare.
jget() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# jis FILE EXPR WANT: EXPR of the report is WANT (else say what it is).
jis() {
    local got
    got=$(jget "$1" "$2")
    [ "$got" = "$3" ] || { why "$2: $got, want $3"; why "stdout: $(head -3 "$work/out")"; return 1; }
}

# ---- the input ----
N=3000
"$GEN" --records $N --seed 7 --duplicates 5 --invalid 2 -o "$work/a.xml" || exit 99
"$GEN" --records $((N + 300)) --seed 8 --duplicates 5 --invalid 2 -o "$work/b.xml" || exit 99
# for the marks: no invalid record (c), its gzip copy, the root prefixed
# with the default namespace declared beside it (cx), invalid records only
# after record 2700 (d: c's first 2700 records, a's last 300), a DTD with
# an entity in use (cdtd)
"$GEN" --records $N --seed 7 --duplicates 5 -o "$work/c.xml" || exit 99
gzip -c "$work/c.xml" > "$work/c.xml.gz"
sed -e 's|^<applications xmlns="urn:example:apps">|<x:applications xmlns:x="urn:example:apps" xmlns="urn:example:apps">|' \
    -e 's|^</applications>|</x:applications>|' "$work/c.xml" > "$work/cx.xml"
{ awk '/<\/application>/ { n++ } { print } n == 2700 { exit }' "$work/c.xml"
  awk 'n >= 2700 { print } /<\/application>/ { n++ }' "$work/a.xml"; } > "$work/d.xml"
sed -e '1a <!DOCTYPE applications [ <!ENTITY city "City of Austin"> ]>' \
    -e 's|City of Austin|\&city;|g' "$work/c.xml" > "$work/cdtd.xml"

# ---- targets ----
# target_args: the target options of the current target ($tgt).
target_args() {
    case $tgt in
    sqlite) printf '%s\n' --db "$work/sqlite.db" ;;
    postgresql) printf '%s\n' --connect "$MIGRATE_TEST_PG" --create-tables ;;
    sqlserver) printf '%s\n' --connect "$TDS_CS" --dialect sqlserver --create-tables ;;
    esac
}

# mapping_for NAME: a copy of the mapping whose tables end in _NAME; prints its path.
mapping_for() {
    local m="$work/map-$tgt-$1.xml"
    sed -e "s/name=\"\(app_base\|contact_base\|contact_address\)\"/name=\"\1_$1\"/" \
        "$MAPPING" > "$m"
    printf '%s\n' "$m"
}

# mig MAPPING ARGS...: run migrate on the current target (out, err, rc in $work).
mig() {
    local m=$1
    shift
    local a prev=
    for a in "$@"; do # a report left by an earlier run must not answer for this one
        [ "$prev" = --summary-json ] && rm -f "$a"
        prev=$a
    done
    local -a t
    mapfile -t t < <(target_args)
    timeout 300 "$MIGRATE" --no-progress -m "$m" "${t[@]}" -r "$work/rejects.xml" "$@" \
        > "$work/out" 2> "$work/err" < "${MIG_STDIN:-/dev/null}"
    rc=$?
}

# dump MAPPING [TABLE]: the tables of MAPPING, the _NAME suffix removed.
dump() {
    local m=$1
    shift
    local -a t
    mapfile -t t < <(target_args | grep -v -e '--dialect' -e '--create-tables' -e '^sqlserver$')
    "$DBDUMP" "${t[@]}" -m "$m" "$@" | sed 's/^# \(app_base\|contact_base\|contact_address\)_.*/# \1/'
}

# rows MAPPING: the rows of the mapping's first table.
rows() {
    dump "$1" "$(sed -n 's/.*<table name="\(app_base[^"]*\)".*/\1/p' "$1")" | grep -vc '^#' || true
}

# ---- resume ----

# reference_of FILE SUFFIX [SETUP [ARGS...]]: one clean run of FILE (its
# own mapping, given to SETUP first; ARGS added); sets ref_* and
# refsuf=SUFFIX, leaves the dump in ref-$tgt$SUFFIX.tsv and the reject file
# in ref-rejects$SUFFIX.xml.
reference_of() {
    local m file=$1 setup=${3:-:}
    refsuf=$2
    shift $(($# < 3 ? $# : 3))
    m=$(mapping_for "ref$refsuf")
    "$setup" "$m" || return 1
    mig "$m" --summary-json "$work/ref.json" "$@" "$file"
    ref_rc=$rc
    ref_read=$(jget "$work/ref.json" 'd["total"]["read"]')
    ref_loaded=$(jget "$work/ref.json" 'd["total"]["loaded"]')
    ref_dup=$(jget "$work/ref.json" 'd["total"]["duplicate"]')
    ref_rej=$(jget "$work/ref.json" 'd["total"]["rejected"]')
    dump "$m" > "$work/ref-$tgt$refsuf.tsv"
    rm -f "$work/ref-rejects$refsuf.xml"
    [ -f "$work/rejects.xml" ] && cp "$work/rejects.xml" "$work/ref-rejects$refsuf.xml"
}

# reference: one clean run of a.xml; sets ref_* and leaves the dump in $work/ref-$tgt.tsv.
reference() {
    reference_of "$work/a.xml" ""
    echo "# $tgt reference: exit $ref_rc, read $ref_read, loaded $ref_loaded," \
        "duplicate $ref_dup, rejected $ref_rej"
}

# resumed NAME COMMITTED: the rerun just made ($work/j.json) is exact.
resumed() {
    local m=$1 committed=$2 ok=0
    [ "$rc" = "$ref_rc" ] || { why "rerun exit $rc, the clean run's $ref_rc"; ok=1; }
    local got want
    got=$(jget "$work/j.json" '[d["total"][k] for k in ("read","loaded","loaded_earlier","duplicate","rejected","not_loaded")]')
    want="[$ref_read, $((ref_loaded - committed)), $committed, $ref_dup, $ref_rej, 0]"
    [ "$got" = "$want" ] ||
        { why "read, loaded, loaded earlier, duplicate, rejected, not loaded: $got, want $want"; ok=1; }
    grep -q 'loaded earlier' "$work/out" || [ "$committed" = 0 ] ||
        { why "no 'loaded earlier' column in the summary"; ok=1; }
    dump "$m" > "$work/got.tsv"
    cmp -s "$work/got.tsv" "$work/ref-$tgt${refsuf:-}.tsv" ||
        { why "tables differ from the clean run: $(diff "$work/ref-$tgt${refsuf:-}.tsv" "$work/got.tsv" | head -5)"; ok=1; }
    return $ok
}

# crash_case POINT: killed by MIGRATE_TEST_CRASH=POINT, then resumed.
crash_case() {
    local point=$1 m name
    name=c$(printf '%s' "$point" | tr -c 'a-z0-9' '_')
    m=$(mapping_for "$name")
    MIGRATE_TEST_CRASH=$point mig "$m" --workers 2 --batch-size 100 "$work/a.xml"
    local krc=$rc committed
    committed=$(rows "$m")
    mig "$m" --workers 2 --batch-size 100 --summary-json "$work/j.json" "$work/a.xml"
    check "$tgt: killed at $point (exit $krc, $committed records committed), resumed exactly" \
        killed_then_resumed "$krc" "$m" "$committed"
    # and once more: the file is now loaded
    mig "$m" --summary-json "$work/j.json" "$work/a.xml"
    check "$tgt: after the resume the file is skipped" \
        skipped_with_date "$m" "$(jget "$work/j.json" 'd["files"][0]["loaded_at"]')"
}

# killed_then_resumed RC MAPPING COMMITTED: the first run died of SIGKILL,
# the rerun was exact.
killed_then_resumed() {
    [ "$1" = 137 ] || { why "the first run exited $1, not killed (137)"; return 1; }
    resumed "$2" "$3"
}

# kill_case: a run killed with kill -9 from outside while it loads.
kill_case() {
    local m committed
    m=$(mapping_for kill9)
    local -a t
    mapfile -t t < <(target_args)
    "$MIGRATE" --no-progress -m "$m" "${t[@]}" -r "$work/rejects.xml" --workers 1 \
        --batch-size 20 "$work/a.xml" > /dev/null 2>&1 &
    local pid=$! i
    # The run goes on 20 ms at a time (SIGSTOP/SIGCONT) and the rows are
    # counted while it is stopped, so it cannot finish the file between two
    # counts however fast or loaded the machine is (polling while it ran, a
    # CI run once saw it finish first: exit 1, not killed).
    kill -STOP "$pid" 2>/dev/null
    for i in $(seq 1 3000); do
        [ "$(rows "$m" 2>/dev/null || echo 0)" -ge 200 ] && break
        kill -CONT "$pid" 2>/dev/null || break
        sleep 0.02
        kill -STOP "$pid" 2>/dev/null || break
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
    local krc=$?
    committed=$(rows "$m")
    mig "$m" --summary-json "$work/j.json" "$work/a.xml"
    check "$tgt: kill -9 from outside (exit $krc, $committed committed), resumed exactly" \
        killed_then_resumed "$krc" "$m" "$committed"
}

# ---- resume from a mark ----

# from_mark KRC MAPPING COMMITTED WANT AFTER: killed (137), the rerun exact
# (reject file too) and, WANT=mark, started after AFTER records, at least
# 60% of the file (the largest mark within the committed records: with two
# workers it may be a few batches short of the 90%); WANT=start, from the
# start (AFTER 0).
from_mark() {
    killed_then_resumed "$1" "$2" "$3" || return 1
    if [ "$4" = mark ]; then
        [ "$5" -le "$ref_read" ] && [ "$5" -ge $((ref_read * 60 / 100)) ] ||
            { why "resumed after record $5 ($3 committed, $ref_read records)"; return 1; }
    else
        [ "$5" = 0 ] || { why "resumed after record $5, not from the start"; return 1; }
    fi
    if [ -f "$work/ref-rejects$refsuf.xml" ]; then
        # the same but for the tables' suffixes (the mappings' copies)
        local strip='s/\(app_base\|contact_base\|contact_address\)_[a-z0-9_]*/\1/g'
        cmp -s <(sed "$strip" "$work/rejects.xml") <(sed "$strip" "$work/ref-rejects$refsuf.xml") ||
            { why "reject file differs: $(diff <(sed "$strip" "$work/ref-rejects$refsuf.xml") <(sed "$strip" "$work/rejects.xml") | head -4)"; return 1; }
    fi
}

# mark_case FILE WANT: FILE killed after 27 of 30 transactions, then the
# same command again (WANT: mark or start, see from_mark).
mark_case() {
    local file=$1 want=$2 m krc committed after
    reference_of "$file" "_$(basename "$file" | tr -c 'a-z0-9' '_')"
    m=$(mapping_for "k$refsuf")
    MIGRATE_TEST_CRASH=after-commit:27 mig "$m" --workers 2 --batch-size 100 "$file"
    krc=$rc
    committed=$(rows "$m")
    mig "$m" --workers 2 --batch-size 100 --summary-json "$work/j.json" "$file"
    after=$(jget "$work/j.json" 'd["files"][0]["resumed_after"]')
    check "$tgt: $(basename "$file") killed at 90% ($committed committed), rerun from record $after ($want)" \
        from_mark "$krc" "$m" "$committed" "$want" "$after"
    refsuf=
}

mark_tests() {
    mark_case "$work/c.xml" mark
    mark_case "$work/cdtd.xml" start
    mark_case "$work/a.xml" mark   # rejects early: the ledger has them (migrate_ledger_rejects)
    [ "$tgt" = sqlserver ] && return 0 # the TDS server is slow: the rest elsewhere
    mark_case "$work/c.xml.gz" mark
    mark_case "$work/cx.xml" mark
    mark_case "$work/d.xml" mark
}

# ---- rejects the database makes ----

# refuse_37 MAPPING: the mapping's tables created, its first table refusing
# the app_ids up to 600 that are multiples of 37 (early rejects; a constraint the mapping does not
# know: the worker isolates the record and rejects it with the database's
# message, after the producer's own rejects of the same stretch).
refuse_37() {
    local m=$1 t
    t=$(sed -n 's/.*<table name="\(app_base[^"]*\)".*/\1/p' "$m")
    local -a a
    mapfile -t a < <(target_args | grep -v -e '--create-tables')
    "$MIGRATE" init-db -m "$m" "${a[@]}" > /dev/null 2>&1 || return 1
    case $tgt in
    sqlite) sqlite3 "$work/sqlite.db" "CREATE TRIGGER no37_$t BEFORE INSERT ON $t WHEN NEW.app_id <= 600 AND NEW.app_id % 37 = 0 BEGIN SELECT RAISE(ABORT, 'app_id is a multiple of 37'); END;" ;;
    postgresql) pg -c "ALTER TABLE $t ADD CONSTRAINT no37_$t CHECK (app_id > 600 OR app_id % 37 <> 0)" ;;
    sqlserver) echo "ALTER TABLE $t ADD CONSTRAINT no37_$t CHECK (app_id > 600 OR app_id % 37 <> 0)" | tds_sql > /dev/null ;;
    esac
}

# entries FILE: the reject file's entries (reason comment and record) one a
# line, sorted, the tables' suffixes removed (a worker's rejects come after
# the producer's of the same stretch, in an order of its own).
entries() {
    sed 's/\(app_base\|contact_base\|contact_address\|no37\)_[a-z0-9_]*/\1/g' "$1" |
        awk '/^<!-- migrate reject/ { if (e) print e; e = $0; next } /^<\// { next } e { e = e "\t" $0 } END { if (e) print e }' |
        sort
}

# same_entries: the rerun's reject file holds the clean run's entries.
same_entries() {
    local want got
    want=$(entries "$work/ref-rejects_dbrej.xml")
    got=$(entries "$work/rejects.xml")
    [ -n "$want" ] || { why "the clean run rejected nothing"; return 1; }
    grep -q 'database refused' <<< "$want" || { why "no reject by the database"; return 1; }
    [ "$got" = "$want" ] ||
        { why "reject entries differ: $(diff <(echo "$want") <(echo "$got") | head -4)"; return 1; }
}

# dbrej_case: a.xml with a constraint the database enforces, killed at 90%
# and run again: exact tables and counts, resumed from a mark (the
# database's rejects are in the ledger too), every reject in the rerun's
# reject file.
dbrej_case() {
    local m krc committed after
    reference_of "$work/a.xml" _dbrej refuse_37 --workers 2 --batch-size 100 ||
        { check "$tgt: a constraint for the database's rejects" false; return; }
    # 90% of the clean run's transactions (the splits that isolate the
    # database's rejects add some early on)
    local n
    n=$(jget "$work/ref.json" 'sum(w["batches"] for w in d["workers"]) * 9 // 10')
    m=$(mapping_for "k$refsuf")
    refuse_37 "$m"
    MIGRATE_TEST_CRASH=after-commit:$n mig "$m" --workers 2 --batch-size 100 "$work/a.xml"
    krc=$rc
    committed=$(rows "$m")
    mig "$m" --workers 2 --batch-size 100 --summary-json "$work/j.json" "$work/a.xml"
    after=$(jget "$work/j.json" 'd["files"][0]["resumed_after"]')
    # the first record the database refused: the rerun must start after it
    # (without the ledger's rejects it ended the part a rerun could skip)
    local first
    first=$(sed -n 's/^<!-- migrate reject: .* record \([0-9]*\): database refused.*/\1/p' \
        "$work/ref-rejects$refsuf.xml" | sort -n | head -1)
    check "$tgt: database rejects too ($ref_rej rejected in all, the first by the database record ${first:-none}), killed at 90% ($committed committed), rerun from record $after" \
        eval 'killed_then_resumed "$krc" "$m" "$committed" && [ -n "$first" ] && [ "$after" -gt "$first" ] || { why "resumed after $after"; false; }'
    check "$tgt: ... and its reject file holds every reject of the clean run, the database's too" \
        same_entries
    refsuf=
}

resume_tests() {
    reference
    crash_case before-commit:1
    crash_case after-commit:1
    crash_case before-commit:9
    # the TDS server is slow: the other points on SQLite and PostgreSQL only
    [ "$tgt" = sqlserver ] || crash_case after-commit:9
    crash_case after-commit:27  # of about 30 transactions: 90%
    [ "$tgt" = sqlserver ] || kill_case
    local saved="$ref_rc $ref_read $ref_loaded $ref_dup $ref_rej"
    mark_tests
    dbrej_case
    read -r ref_rc ref_read ref_loaded ref_dup ref_rej <<< "$saved" # a.xml's, for the rest
}

# ---- skip, reload, changed files ----

# same_tables MAPPING: the mapping's tables are those of the clean run.
same_tables() {
    dump "$1" | cmp -s - "$work/ref-$tgt.tsv" || { why "tables differ from the clean run"; return 1; }
}

# skipped_with_date MAPPING AT: the last run skipped its file, loaded at AT.
skipped_with_date() {
    jis "$work/j.json" '[d["files"][0]["state"], d["total"]["read"], d["total"]["skipped"]]' \
        '["skipped", 0, 1]' || return 1
    [ "$rc" = 0 ] || { why "exit $rc"; return 1; }
    grep -q "(skipped: loaded $2)" "$work/out" || { why "summary: $(head -2 "$work/out")"; return 1; }
    same_tables "$1"
}

skip_tests() {
    local m nm bm at t0 t1
    m=$(mapping_for skip)
    mig "$m" "$work/a.xml"
    cp "$work/a.xml" "$work/renamed.xml"
    touch -d '2001-01-01' "$work/renamed.xml"
    t0=$(date +%s.%N)
    mig "$m" --summary-json "$work/j.json" "$work/renamed.xml"
    t1=$(date +%s.%N)
    at=$(jget "$work/j.json" 'd["files"][0]["loaded_at"]')
    check "$tgt: a loaded file, renamed and touched, is skipped with its load date ($at; $(echo "$t1 - $t0" | bc) s)" \
        skipped_with_date "$m" "$at"
    mig "$m" --reload --summary-json "$work/j.json" "$work/a.xml"
    check "$tgt: --reload loads it again (every record a duplicate)" \
        jis "$work/j.json" '[d["total"][k] for k in ("read","loaded","loaded_earlier","duplicate","rejected")]' \
        "[$ref_read, 0, 0, $((ref_read - ref_rej)), $ref_rej]"
    mig "$m" --summary-json "$work/j.json" "$work/b.xml"
    bm=$(mapping_for skipb)
    mig "$bm" --summary-json "$work/jb.json" "$work/b.xml"
    check "$tgt: a changed file is loaded" \
        jis "$work/j.json" '[d["files"][0]["state"], d["total"]["read"]]' \
        "[\"done\", $(jget "$work/jb.json" 'd["total"]["read"]')]"
    MIG_STDIN=$work/a.xml mig "$m" --summary-json "$work/j.json" -
    check "$tgt: stdin is never skipped (read again, every record a duplicate)" \
        jis "$work/j.json" '[d["files"][0]["state"], d["total"]["read"], d["total"]["loaded"]]' \
        "[\"done\", $ref_read, 0]"
    local tm
    tm=$(mapping_for twice)
    mig "$tm" --summary-json "$work/j.json" "$work/a.xml" "$work/renamed.xml"
    check "$tgt: the same bytes twice in one run: the second copy's records are duplicates" \
        jis "$work/j.json" '[[f["state"], f["loaded"], f["duplicate"], f["rejected"]] for f in d["files"]]' \
        "[[\"done\", $ref_loaded, $ref_dup, $ref_rej], [\"done\", 0, $((ref_read - ref_rej)), $ref_rej]]"
    mig "$tm" --summary-json "$work/j.json" "$work/a.xml" "$work/renamed.xml"
    check "$tgt: ... and both are skipped next time" \
        jis "$work/j.json" '[f["state"] for f in d["files"]]' '["skipped", "skipped"]'
    nm=$(mapping_for noledger)
    mig "$nm" --no-ledger "$work/a.xml"
    mig "$nm" --no-ledger --summary-json "$work/j.json" "$work/a.xml"
    check "$tgt: --no-ledger loads a loaded file again" \
        jis "$work/j.json" '[d["files"][0]["state"], d["total"]["read"], d["total"]["loaded"]]' \
        "[\"done\", $ref_read, 0]"
}

# ---- the run lock ----

# holder_ready MAPPING PID: the holder's details are where a second run looks.
holder_ready() {
    case $tgt in
    sqlite) grep -qs "pid $2," "$work"/sqlite.db.migrate-*.lock ;;
    postgresql) [ "$(PGOPTIONS='-c client_min_messages=warning' psql -X -qAt -c \
        "SELECT count(*) FROM migrate_ledger_locks WHERE pid = $2" 2>/dev/null)" = 1 ] ;;
    sqlserver) [ "$(echo "SELECT count(*) FROM migrate_ledger_locks WHERE pid = $2" |
        tds_sql 2>/dev/null | tr -d ' \r')" = 1 ] ;;
    *) return 1 ;;
    esac
}

# start_holder MAPPING: a run of MAPPING reading stdin from a FIFO kept
# open on fd 7, so it holds the lock until fd 7 is closed; sets holder.
start_holder() {
    local -a t
    mapfile -t t < <(target_args)
    rm -f "$work/fifo"
    mkfifo "$work/fifo"
    "$MIGRATE" --no-progress -m "$1" "${t[@]}" -r "$work/rejects-holder.xml" - \
        < "$work/fifo" > "$work/holder.out" 2>&1 &
    holder=$!
    exec 7> "$work/fifo"
    local i
    for i in $(seq 1 200); do
        holder_ready "$1" "$holder" && return 0
        sleep 0.05
    done
    echo "# the holder did not take the lock: $(cat "$work/holder.out")"
}

# refused_by HOLDER: the last run exited 79 with one line naming HOLDER.
refused_by() {
    local line re
    line=$(cat "$work/err")
    [ "$rc" = 79 ] || { why "exit $rc: $line"; return 1; }
    [ "$(wc -l < "$work/err")" = 1 ] || { why "not one line: $line"; return 1; }
    re="^migrate: another run holds the lock for this mapping and target: host $(hostname), pid $1, started 20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}Z"
    [[ "$line" =~ $re ]] || { why "line: $line"; return 1; }
}

# running PID: PID is still running.
running() { kill -0 "$1" 2>/dev/null || { why "$1 is not running"; return 1; }; }

# waited WRC HRC: the waiting run loaded a.xml (exit 1: its rejects) after
# the holder ended (exit 1: its rejects).
waited() {
    [ "$2" = 1 ] || { why "the holder: $2 ($(cat "$work/holder.out"))"; return 1; }
    [ "$1" = 1 ] || { why "the waiting run: exit $1: $(cat "$work/err")"; return 1; }
    jis "$work/j.json" 'd["total"]["read"]' "$ref_read"
}

lock_tests() {
    local m holder wrc hrc feeder t0 t1
    m=$(mapping_for lock)
    start_holder "$m"
    t0=$(date +%s.%N)
    mig "$m" "$work/a.xml"
    t1=$(date +%s.%N)
    check "$tgt: a second run exits 79 naming the holder ($(echo "$t1 - $t0" | bc) s)" \
        refused_by "$holder"
    check "$tgt: the holder goes on" running "$holder"
    mig "$m" --lock-wait 1 "$work/a.xml"
    check "$tgt: --lock-wait 1 gives up with 79 while the holder runs" refused_by "$holder"
    # the holder gets its input 2 s from now and ends; the waiter then loads
    ( sleep 2; cat "$work/a.xml" >&7 ) &
    feeder=$!
    exec 7>&-
    mig "$m" --lock-wait 60 --summary-json "$work/j.json" "$work/a.xml"
    wrc=$rc
    # the holder releases its lock a moment before it exits: give it 30 s
    hrc=still-running
    local i
    for i in $(seq 1 600); do
        kill -0 "$holder" 2>/dev/null || break
        sleep 0.05
    done
    if ! kill -0 "$holder" 2>/dev/null; then
        wait "$holder"
        hrc=$?
    fi
    wait "$feeder"
    check "$tgt: --lock-wait 60 waits for the holder, then loads" waited "$wrc" "$hrc"
    [ "$hrc" = still-running ] && { kill "$holder"; wait "$holder"; }
    # a killed holder leaves no lock behind
    start_holder "$m"
    kill -9 "$holder"
    wait "$holder" 2>/dev/null
    exec 7>&-
    # a server notices the lost session a moment later: wait up to 10 s
    mig "$m" --reload --lock-wait 10 "$work/a.xml"
    check "$tgt: a killed holder's lock is gone" eval '[ "$rc" = 1 ] || { why "exit $rc: $(cat "$work/err")"; false; }'
    rm -f "$work/fifo"
}

# ---- run everything on each target ----
# LEDGER_TARGETS: the targets to try (default all three).
targets=" ${LEDGER_TARGETS:-sqlite postgresql sqlserver} "
if [[ $targets == *" sqlite "* ]]; then
    tgt=sqlite
    echo "# target sqlite"
    resume_tests
    skip_tests
    lock_tests
fi

if [[ $targets != *" postgresql "* ]]; then
    :
elif [ -n "${MIGRATE_TEST_PG:-}" ]; then
    # shellcheck source=tests/integration/pg-env.sh
    . "$here/pg-env.sh"
    pg_env_setup
    if pg_own_database migrate_ledger; then
        tgt=postgresql
        echo "# target postgresql"
        resume_tests
        skip_tests
        lock_tests
    else
        echo "FAIL postgresql: cannot create the database migrate_ledger"
        failed=$((failed + 1))
    fi
else
    echo "SKIP postgresql: MIGRATE_TEST_PG not set (run under tests/with-postgres.sh)"
fi

if [[ $targets != *" sqlserver "* ]]; then
    :
elif [ -n "${MIGRATE_TEST_MSSQL:-}" ]; then
    # shellcheck source=tests/integration/tds-env.sh
    . "$here/tds-env.sh"
    tds_env_setup
    if tds_own_database migrate_ledger 2> "$work/tds.err"; then
        TDS_CS=$MIGRATE_TEST_MSSQL
        tgt=sqlserver
        echo "# target sqlserver (MIGRATE_TEST_MSSQL, database migrate_ledger)"
        resume_tests
        lock_tests
    else
        echo "ERROR: cannot create the database migrate_ledger: $(cat "$work/tds.err")" >&2
        failed=$((failed + 1))
    fi
else
    echo "SKIP sqlserver: MIGRATE_TEST_MSSQL not set (run under tests/with-tds.sh)"
fi

echo "# $passed passed, $failed failed"
[ "$failed" = 0 ]
