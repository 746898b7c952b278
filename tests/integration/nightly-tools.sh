#!/usr/bin/env bash
# nightly-tools.sh — the parts of a nightly run around the load (issue 9,
# items 5 and 6), against SQLite:
#
#   --summary-json   the report of a run with rejects, checked against
#                    packaging/summary.schema.json and exact expected values
#                    (tests/integration/nightly/*.expected.json); "-" puts
#                    it alone on stdout; a run that fails (database
#                    unreachable, mapping wrong) still writes it, with its
#                    exit status and error; an unwritable path fails at once
#   progress         plain lines on a non-terminal stderr with --progress
#                    (each line's form, the last line's figures), none
#                    without; the bar on a terminal (script(1) gives a pty),
#                    none with --no-progress
#   --config         a file with mapping, target, options and an input glob
#                    loads the exact rows; the command line overrides it;
#                    an unknown key is one FILE:LINE line and exit 64
#   check            read, ok and rejected per file with no database, the
#                    reasons on stderr, the exit status a load would give
#                    (0, 1, 65, 66, 78)
#   ping             the DBMS name and version, exit 0; 69 and one line
#                    (and PostgreSQL when MIGRATE_TEST_PG is set)
#
# Each check prints PASS or FAIL with the evidence.  Exit: 0 all passed,
# 1 some failed, 77 nothing could run.  Environment: top_srcdir,
# top_builddir, MIGRATE, DBDUMP.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
GEN=${GEN:-$GEN_APPS}
cases="$top_srcdir/tests/integration/cases"
schema="$top_srcdir/packaging/summary.schema.json"
jcheck="$top_srcdir/tests/json-check.py"
expect_dir="$here/nightly"

for bin in "$MIGRATE" "$DBDUMP" "$GEN"; do
    [ -x "$bin" ] || { echo "SKIP: $bin not built (make check builds it)"; exit 77; }
done
command -v python3 >/dev/null 2>&1 || { echo "ERROR: python3 missing" >&2; exit 99; }

work_dir nt
rc=0

# check NAME COND...: PASS when COND succeeds, else FAIL with the evidence.
check() { check_cmd "$@"; }
fail_status() { echo " (exit $rc)"; }
fail_evidence() { sed 's/^/  | stderr: /' "$work/err" 2>/dev/null | head -20; }

# fresh CASE: an empty scratch directory $d holding a copy of the case's files.
fresh() {
    d="$work/run"
    rm -rf "$d"
    mkdir -p "$d"
    [ -n "${1:-}" ] && cp -r "$cases/$1/." "$d/"
    : > "$work/why"
}

# run_m ARGS...: migrate in $d (stdout/stderr in $work/out, $work/err; rc).
run_m() {
    (cd "$d" && exec timeout 120 "$MIGRATE" "$@") < /dev/null > "$work/out" 2> "$work/err"
    rc=$?
}

# is_rc N: the last run exited with N.
is_rc() { [ "$rc" = "$1" ] || { why "exit status $rc, expected $1"; return 1; }; }

# json_ok FILE [EXPECTED]: FILE fits the schema, its sums hold, and it has
# every value EXPECTED names.
json_ok() {
    local out
    out=$(python3 "$jcheck" "$schema" "$@" 2>&1) || { why "$out"; return 1; }
}

# rows_are DB EXPECTED_TSV: the database holds exactly those rows.
rows_are() {
    "$DBDUMP" --db "$1" -m "$d/mapping.xml" > "$work/dump" 2>&1 || { why "dbdump failed"; return 1; }
    diff -u "$2" "$work/dump" > "$work/diff" || { why "$(cat "$work/diff")"; return 1; }
}

# has FILE TEXT: FILE holds the line TEXT exactly.
has() { grep -qxF -- "$2" "$1" || { why "no line \"$2\" in $(basename "$1")"; return 1; }; }

# ---- --summary-json ----

fresh invalid
run_m --db t.db -w 1 -m mapping.xml input.xml --summary-json report.json
check "summary-json: a run with rejects, exact values and the schema" \
    eval 'is_rc 1 && json_ok "$d/report.json" "$expect_dir/invalid.expected.json" &&
          rows_are "$d/t.db" "$d/expected.tsv" && [ ! -e "$d/report.json.tmp" ] &&
          has "$work/out" "total                        7          2          0          5"'
# the report's exit status is the process's, its figures the summary's
check "summary-json: elapsed and rec/min are the text summary's" \
    eval 'python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
line = open(sys.argv[2]).read().split(\"elapsed \")[1].split(\"\\n\")[0]
secs, rate = line.split(\" s, \")
assert abs(float(secs) - r[\"elapsed_s\"]) < 0.006, (secs, r[\"elapsed_s\"])
assert int(rate.split()[0].replace(\",\", \"\")) == r[\"rec_per_min\"], (rate, r[\"rec_per_min\"])
assert r[\"commit_latency_ms\"][\"max\"] > 0
" "$d/report.json" "$work/out" 2>"$work/why"'

fresh invalid
gzip -c "$d/input.xml" > "$d/input.xml.gz"
run_m --db t.db -w 1 -m mapping.xml input.xml.gz --summary-json r.json
check "summary-json: a gzip input's bytes are its compressed size" \
    eval 'is_rc 1 && json_ok "$d/r.json" && python3 -c "
import json, os, sys
f = json.load(open(sys.argv[1]))[\"files\"][0]
assert f[\"bytes\"] == os.path.getsize(sys.argv[2]) and f[\"read\"] == 7, f
" "$d/r.json" "$d/input.xml.gz" 2>"$work/why"'

fresh invalid
run_m --db t.db -w 1 -m mapping.xml input.xml --summary-json -
check "summary-json -: the report alone on stdout" \
    eval 'is_rc 1 && json_ok "$work/out" "$expect_dir/invalid.expected.json"'

fresh basic
run_m --connect "Driver=NoSuchDriver-$$;Server=x" -m mapping.xml input.xml --summary-json r.json
check "summary-json: written when the database is unreachable (exit 69)" \
    eval 'is_rc 69 && json_ok "$d/r.json" "$expect_dir/failed.expected.json" &&
          python3 -c "import json,sys; e=json.load(open(sys.argv[1]))[\"error\"]; sys.exit(not e.startswith(\"cannot connect\"))" "$d/r.json" ||
          { why "error: $(grep error "$d/r.json")"; false; }'

fresh mapping-unknown-type
run_m --db t.db -m mapping.xml input.xml --summary-json r.json
check "summary-json: written when the mapping is wrong (exit 78)" \
    eval 'is_rc 78 && json_ok "$d/r.json" &&
          python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r[\"exit_status\"] == 78 and r[\"error\"].startswith(\"mapping.xml:\") and r[\"files\"][0][\"state\"] == \"not read\"))" "$d/r.json"'

fresh basic
run_m --db t.db -m mapping.xml input.xml --summary-json "$d/no/such/dir/r.json"
check "summary-json: an unwritable report stops the run before it starts (exit 73)" \
    eval 'is_rc 73 && [ ! -e "$d/t.db" ] &&
          has "$work/err" "migrate: cannot write $d/no/such/dir/r.json.tmp: No such file or directory"'

# an interrupted run: the report says so, with exact sums.  migrate reads a
# FIFO: half the input, SIGINT (taken while it waits for more), the rest.
fresh basic
"$GEN" --records 400 --seed 3 -o "$d/all.xml"
cp "$top_srcdir/mappings/applications.xml" "$d/apps-map.xml"
mkfifo "$d/in.fifo"
# --foreground: GNU timeout passes a SIGINT on to its process group as well,
# so migrate got it twice (the second means "quit at once", no report)
(cd "$d" && exec timeout --foreground 120 "$MIGRATE" --db s.db -w 1 -m apps-map.xml in.fifo \
    --summary-json s.json) < /dev/null > "$work/out" 2> "$work/err" &
mpid=$!
exec 3> "$d/in.fifo"   # returns once migrate opened it (its signal watcher runs)
head -c $(( $(stat -c %s "$d/all.xml") / 2 )) "$d/all.xml" >&3
kill -INT "$mpid"
for _ in $(seq 1 100); do grep -q "stopping" "$work/err" && break; sleep 0.1; done
tail -c +$(( $(stat -c %s "$d/all.xml") / 2 + 1 )) "$d/all.xml" >&3
exec 3>&-
wait "$mpid"
rc=$?
check "summary-json: an interrupted run (SIGINT) is reported, sums exact" \
    eval 'is_rc 130 && json_ok "$d/s.json" && python3 -c "
import json, sqlite3, sys
r = json.load(open(sys.argv[1]))
t = r[\"total\"]
rows = sqlite3.connect(sys.argv[2]).execute(\"SELECT count(*) FROM app_base\").fetchone()[0]
assert r[\"interrupted\"] is True and r[\"exit_status\"] == 130, r
assert r[\"files\"][0][\"state\"] == \"stopped\", r[\"files\"]
assert 0 < t[\"read\"] < 400 and t[\"loaded\"] == rows, (t, rows)
assert t[\"read\"] == t[\"loaded\"] + t[\"duplicate\"] + t[\"rejected\"] + t[\"not_loaded\"], t
" "$d/s.json" "$d/s.db" 2>"$work/why"'

# ---- progress ----

fresh basic
"$GEN" --records 3000 --seed 7 -o "$d/apps.xml"
cp "$top_srcdir/mappings/applications.xml" "$d/apps-map.xml"
size=$(stat -c %s "$d/apps.xml")
kb=$(awk -v s="$size" 'BEGIN { printf "%.1f kB", s / 1000 }')
[ "$size" -ge 1000000 ] && kb=$(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1000000 }')
run_m --db p.db -m apps-map.xml apps.xml --progress --progress-interval 1
check "progress: plain lines on a non-terminal, the last one exact" \
    eval 'is_rc 0 && grep -q . "$work/err" &&
          ! grep -vE "^progress: [0-9]{1,3}% of [0-9.]+ [kMG]?B read, [0-9,]+ records \(loaded [0-9,]+, duplicate [0-9,]+, rejected [0-9,]+\), [0-9,]+ rec/s, (ETA|done in) [0-9:]+$" "$work/err" &&
          tail -n 1 "$work/err" | grep -qE "^progress: 100% of $kb read, 3,000 records \(loaded 3,000, duplicate 0, rejected 0\), [0-9,]+ rec/s, done in [0-9]+:[0-9]{2}$" ||
          { why "last: $(tail -n 1 "$work/err")"; false; }'
rm -f "$d/p.db"
run_m --db p.db -m apps-map.xml apps.xml
check "progress: none on a non-terminal without --progress" \
    eval 'is_rc 0 && [ ! -s "$work/err" ]'

if command -v script >/dev/null 2>&1; then
    rm -f "$d/p.db"
    (cd "$d" && timeout 120 script -qec "'$MIGRATE' --db p.db -m apps-map.xml apps.xml" /dev/null) \
        > "$work/tty" 2> "$work/err" < /dev/null
    rc=$?
    check "progress: the bar on a terminal (script), redrawn with CR, ends at 100%" \
        eval 'is_rc 0 && grep -qF "$(printf "\r[####################] 100%%  3,000 records")" "$work/tty" &&
              grep -q "^total  *3000  *3000 " "$work/tty" || { why "$(cat -A "$work/tty" | head -c 600)"; false; }'
    rm -f "$d/p.db"
    (cd "$d" && timeout 120 script -qec "'$MIGRATE' --db p.db --no-progress -m apps-map.xml apps.xml" /dev/null) \
        > "$work/tty" 2> "$work/err" < /dev/null
    rc=$?
    check "progress: --no-progress on a terminal draws nothing" \
        eval 'is_rc 0 && ! grep -q "rec/s" "$work/tty" && grep -q "^total  *3000  *3000 " "$work/tty"'
else
    echo "FAIL progress on a terminal: script(1) missing (apt-get install util-linux)"
    failed=$((failed + 1))
fi

# ---- --config ----

fresh multi-file
rm -f "$d/missing.xml"
cat > "$d/nightly.conf" <<CONF
# the nightly load of the exports in $d
mapping      = $d/mapping.xml
db           = $d/c.db
workers      = 1
batch-size   = 2
on-duplicate = skip
progress     = no
summary-json = $d/c.json
input        = [ab].xml
CONF
run_m --config nightly.conf
check "config: mapping, target, options and an input glob from the file" \
    eval 'is_rc 0 && rows_are "$d/c.db" "$d/expected.tsv" && json_ok "$d/c.json" &&
          python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not ([f[\"name\"] for f in r[\"files\"]] == [\"a.xml\", \"b.xml\"] and len(r[\"workers\"]) == 1))" "$d/c.json"'
run_m --config nightly.conf --db o.db -w 2 b.xml a.xml
check "config: the command line overrides target, options and inputs" \
    eval 'is_rc 0 && rows_are "$d/o.db" "$d/expected.tsv" &&
          python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not ([f[\"name\"] for f in r[\"files\"]] == [\"b.xml\", \"a.xml\"] and len(r[\"workers\"]) == 2))" "$d/c.json"'
printf 'mapping = mapping.xml\n\nwrkers = 2\n' > "$d/bad.conf"
run_m --config bad.conf a.xml
check "config: an unknown key is one FILE:LINE line, exit 64" \
    eval 'is_rc 64 && [ "$(grep -c . "$work/err")" = 2 ] &&
          has "$work/err" "migrate: bad.conf:3: unknown option '"'"'wrkers'"'"'"'

# ---- check ----

fresh invalid
run_m check -m mapping.xml input.xml
check "check: per file read/ok/rejected, reasons on stderr, exit 1, nothing written" \
    eval 'is_rc 1 && has "$work/out" "total                           7          2          5" &&
          [ "$(grep -c "^migrate: input.xml:[0-9]*: record [0-9]*: " "$work/err")" = 5 ] &&
          [ -z "$(ls "$d" | grep -v -e "^input.xml$" -e "^mapping.xml$" -e "^expected" -e "^cmd$")" ] ||
          { why "files: $(ls "$d")"; false; }'
run_m check -m mapping.xml input.xml --summary-json - --quiet
check "check: --summary-json has the same counts" \
    eval 'is_rc 1 && json_ok "$work/out" &&
          python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r[\"command\"] == \"check\" and r[\"total\"] == {\"read\": 7, \"loaded\": 2, \"duplicate\": 0, \"rejected\": 5, \"not_loaded\": 0, \"loaded_earlier\": 0, \"skipped\": 0}))" "$work/out"'

# the exit status a load of the same inputs gives
for c in basic malformed multi-file mapping-unknown-type invalid; do
    fresh "$c"
    read -r -a words < "$d/cmd"
    load_rc=$(cat "$d/expected-exit" 2>/dev/null || echo 0)
    run_m check "${words[@]}"
    check "check: $c exits $load_rc as its load does" is_rc "$load_rc"
done
fresh malformed
run_m check -m mapping.xml input.xml
check "check: a malformed file is named with its line and column" \
    eval 'is_rc 65 && grep -q "^migrate: input.xml:[0-9]*:[0-9]*: " "$work/err"'

fresh basic
printf '<?xml version="1.0"?>\n<other xmlns="urn:x"><a/></other>\n' > "$d/none.xml"
run_m check -m mapping.xml none.xml
check "check: a well-formed input without records is named (exit 65 as a load)" \
    eval 'is_rc 65 && grep -qF "migrate: none.xml: no record: nothing matches the record path $(sed -n "s/.*record=\"\([^\"]*\)\".*/\1/p" "$d/mapping.xml" | head -n 1) (namespace " "$work/err" &&
          has "$work/out" "none.xml                        0          0          0"'

# ---- ping ----

fresh basic
run_m ping --db p.db
check "ping: an SQLite file that is not there is exit 69 and one line, and not created" \
    eval 'is_rc 69 && [ "$(grep -c . "$work/err")" = 1 ] &&
          grep -q "^migrate: cannot connect: p.db: No such file or directory (ping creates no database)$" "$work/err" &&
          [ ! -e "$d/p.db" ] || { why "err: $(cat "$work/err"); $(ls "$d")"; false; }'
run_m init-db --db p.db -m mapping.xml
run_m ping --db p.db
check "ping: SQLite answers with its name and version" \
    eval 'is_rc 0 && grep -qE "^SQLite 3\.[0-9.]+ \(dialect sqlite, driver .+\)$" "$work/out" ||
          { why "out: $(cat "$work/out")"; false; }'
run_m ping --connect "Driver=NoSuchDriver-$$"
check "ping: an unknown driver is exit 69 and one line" \
    eval 'is_rc 69 && [ "$(grep -c . "$work/err")" = 1 ] && grep -q "^migrate: cannot connect" "$work/err"'

if [ -n "${MIGRATE_TEST_PG:-}" ]; then
    run_m ping --connect "$MIGRATE_TEST_PG"
    check "ping: PostgreSQL (tests/with-postgres.sh) answers, the password not shown" \
        eval 'is_rc 0 && grep -qE "^PostgreSQL [0-9.]+ \(dialect postgresql, driver .+\)$" "$work/out" &&
              pw=$(printf "%s\n" "$MIGRATE_TEST_PG" | tr ";" "\n" | sed -n "s/^ *PWD *= *//Ip") &&
              { [ -z "$pw" ] || ! grep -qF -- "$pw" "$work/out" "$work/err"; } ||
              { why "out: $(cat "$work/out")"; false; }'
else
    echo "SKIP ping postgresql: MIGRATE_TEST_PG unset"
fi

# ---- the documentation: --help and the man page name every option ----

: > "$work/err"
"$MIGRATE" --help > "$work/help" 2>&1
man_page="$top_srcdir/packaging/migrate.1"
# every long option of the option table, as --help and roff spell it
options=$(sed -n 's/^ *{"\([a-z-]*\)", [a-z_]*, NULL, .*/\1/p' "$top_srcdir/src/tool_getparam.c")
missing=""
for o in $options; do
    grep -q -- "--$o\b" "$work/help" || missing+=" --help:--$o"
    grep -qF -- "\\-\\-${o//-/\\-}" "$man_page" || missing+=" man:--$o"
done
for w in "migrate check" "migrate ping" "migrate --config"; do
    grep -qF -- "$w" "$work/help" || missing+=" --help:'$w'"
done
for sec in "CONFIGURATION FILE" "JSON REPORT" "NIGHTLY RUNS"; do
    grep -qx "\.SH $sec" "$man_page" || missing+=" man:'$sec'"
done
check "docs: --help and migrate(1) describe every option, check, ping, config, report, timers" \
    eval '[ -n "$options" ] && [ -z "$missing" ] || { why "missing:$missing"; false; }'

echo "nightly-tools: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
