#!/usr/bin/env bash
# smoke.sh — a small run of the benchmark harness (bench/run.sh --sweep) and
# of bench/compare.  It checks the shape of what they write, never the speed:
#
#   1. a sweep against SQLite only: 400 records, 2 runs, batch sizes 50 and
#      100, workers 1 and 2, all four scenarios; the JSON must hold machine,
#      versions and options, 16 configurations with 2 runs each (every run:
#      exit 0 or 1, all 400 records read, rows and figures >= 0), median/
#      stdev/min/max of every figure, the commit latency (numbers or null),
#      ratios to the reference loaders, and the references parse and sqlite
#      for each input with the rows migrate loaded (the exact row counts of
#      those inputs: 1620 clean, 1542 with 5% duplicates, 1594 with 2%
#      invalid records);
#      migrate's --summary-json (tests/bench/summary-sample.json, the layout
#      of packaging/summary.schema.json) read for records, rows and latency;
#   1b. with MIGRATE_TEST_PG and/or MIGRATE_TEST_MSSQL (make check under
#      tests/with-postgres.sh and tests/with-tds.sh), a sweep against those
#      targets, each in a database of its own: 400 records, 2 runs, clean and
#      rerun, one worker, batch size 50; every run must read the 400 records
#      and insert the 1620 rows (none in a rerun): each run starts from
#      emptied tables and ledger, not from the previous run's; the reference
#      loaders (psql \copy, freebcp) must have loaded the 1620 rows too;
#   2. the plot: a PNG when gnuplot is installed, else the line saying so;
#   2b. bench/sweep-table on the sweep: one markdown row per scenario, the
#      fastest configuration's workers, batch size and ratios; --scenario
#      narrows it; a file that is no sweep exits 66;
#   3. bench/compare on crafted files: a 20% drop with a small spread fails
#      (exit 1, REGRESSION), a 15% drop inside the spread passes (exit 0),
#      a file against itself passes, a file that is no sweep exits 66.
#
# Environment: top_srcdir, top_builddir (make check sets them).
# Exit: 0 passed, 1 failed, 99 the harness cannot run.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=$(cd "${top_srcdir:-$here/../..}" && pwd)
top_builddir=$(cd "${top_builddir:-$top_srcdir}" && pwd)
export MIGRATE=${MIGRATE:-$top_builddir/migrate}
export GEN_APPS=${GEN_APPS:-$top_builddir/bench/gen-apps}

for need in python3 sqlite3 xmllint; do
    command -v "$need" >/dev/null || { echo "ERROR: $need missing (tests/ci.sh installs it)"; exit 99; }
done
[ -x "$MIGRATE" ] && [ -x "$GEN_APPS" ] || { echo "ERROR: build migrate and bench/gen-apps first"; exit 99; }

# connection-string helpers, pg_own_database, tds_own_database (check is ours, below)
here=$top_srcdir/tests/integration
# shellcheck source=tests/integration/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/integration/pg-env.sh
. "$here/pg-env.sh"
# shellcheck source=tests/integration/tds-env.sh
. "$here/tds-env.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/migrate-bench-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo '{"x": 1}' > "$work/not.json"
export BENCH_DIR="$work/cache"
servers=()
if [ -n "${MIGRATE_TEST_PG:-}" ]; then
    pg_env_setup
    pg_own_database mig_bench_smoke || { echo "ERROR: cannot create database mig_bench_smoke"; exit 99; }
    export MIGRATE_TEST_PG_PSQL="${psql_cmd[*]}"
    servers+=(postgresql)
fi
if [ -n "${MIGRATE_TEST_MSSQL:-}" ]; then
    need_built "$DBDUMP"
    tds_env_setup
    tds_own_database mig_bench_smoke || { echo "ERROR: cannot create database mig_bench_smoke"; exit 99; }
    servers+=(tds)
fi
server_pg=${MIGRATE_TEST_PG:-}
server_mssql=${MIGRATE_TEST_MSSQL:-}
unset MIGRATE_TEST_PG MIGRATE_TEST_MSSQL
export BENCH_SWEEP_WRAPPED=1   # no throwaway servers of the sweep's own
fails=0

# check NAME CMD...: runs CMD, prints PASS or FAIL
check() {
    local name=$1; shift
    if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; fails=$((fails + 1)); fi
}

# ---- 1. the sweep ----
bash "$top_srcdir/bench/run.sh" --sweep --target sqlite --records 400 --runs 2 \
    --batch-sizes 50,100 --workers 1,2 --json "$work/out.json" --plot "$work/out.png" \
    >"$work/sweep.out" 2>"$work/sweep.err"
rc=$?
check "sweep exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 20 "$work/sweep.err"; }

check "sweep JSON shape" python3 - "$work/out.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def fail(msg):
    print("  " + msg)
    sys.exit(1)
def num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0
def stat(s, what):
    if not isinstance(s, dict) or set(s) != {"median", "stdev", "min", "max"} \
            or not all(num(v) for v in s.values()) or not s["min"] <= s["median"] <= s["max"]:
        fail("%s: not median/stdev/min/max: %r" % (what, s))
if d.get("format") != "migrate-bench/1":
    fail("format")
for k in ("machine", "versions", "options", "configs", "references", "skipped", "created"):
    if k not in d:
        fail("no key " + k)
if not d["machine"].get("nproc") or not d["versions"].get("migrate") or not d["versions"].get("sqlite3"):
    fail("machine/versions incomplete: %r %r" % (d["machine"], d["versions"]))
o = d["options"]
if (o["runs"], o["records"], o["batch_sizes"], o["workers"], o["targets"]) != (2, 400, [50, 100], [1, 2], ["sqlite"]):
    fail("options: %r" % o)
if o["scenarios"] != ["clean", "dup5", "rerun", "invalid2"]:
    fail("scenarios: %r" % o["scenarios"])
rows = {"clean": 1620, "dup5": 1542, "invalid2": 1594}
refs = {(r["target"], r["dataset"]): r for r in d["references"]}
for ds, n in rows.items():
    for t in ("parse", "sqlite"):
        r = refs.get((t, ds))
        if not r or len(r["runs"]) != 2 or r["rows"] != n:
            fail("reference %s/%s: %r" % (t, ds, r and (len(r["runs"]), r["rows"])))
        stat(r["summary"]["wall_s"], "reference wall_s")
seen = set()
for c in d["configs"]:
    key = (c["target"], c["scenario"], c["workers"], c["batch_size"])
    seen.add(key)
    if len(c["runs"]) != 2:
        fail("%r: %d runs" % (key, len(c["runs"])))
    for r in c["runs"]:
        if r["rc"] not in (0, 1) or r["records"] != 400 or not num(r["rows"]):
            fail("%r: run %r" % (key, r))
        for f in ("wall_s", "cpu_s", "peak_rss_mb", "rec_per_min", "rows_per_s"):
            if not num(r[f]):
                fail("%r: %s = %r" % (key, f, r[f]))
        lat = r["commit_latency_ms"]
        if lat is not None and not (set(lat) == {"p50", "p95", "p99"} and all(num(v) for v in lat.values())):
            fail("%r: latency %r" % (key, lat))
    expect_rows = {"clean": 1620, "dup5": 1542, "invalid2": 1594, "rerun": 0}[c["scenario"]]
    if any(r["rows"] != expect_rows for r in c["runs"]):
        fail("%r: rows %r, expected %d" % (key, [r["rows"] for r in c["runs"]], expect_rows))
    for f in ("rec_per_min", "rows_per_s", "wall_s", "cpu_s", "peak_rss_mb"):
        stat(c["summary"][f], "%r %s" % (key, f))
    if not (num(c["ratio"]["parse"]) and num(c["ratio"]["bulk"]) and c["ratio"]["parse"] > 0):
        fail("%r: ratio %r" % (key, c["ratio"]))
want = {("sqlite", s, w, b) for s in o["scenarios"] for w in (1, 2) for b in (50, 100)}
if seen != want or len(d["configs"]) != 16:
    fail("configurations: %r" % sorted(seen ^ want))
EOF

check "sweep prints a table row per configuration" \
    test "$(grep -c '^sqlite ' "$work/sweep.out")" -eq 16

check "reads --summary-json: read, rows inserted, commit latency" python3 - "$top_srcdir/bench" \
    "$top_srcdir/tests/bench/summary-sample.json" <<'EOF'
import json, sys
sys.dont_write_bytecode = True   # the source tree may be read-only (distcheck)
sys.path.insert(0, sys.argv[1])
import sweep
got = sweep.parse_summary_json(json.load(open(sys.argv[2])))
want = (2000, 7960, {"p50": 12.25, "p95": 30.0, "p99": 31.5})
if got != want:
    print("  got %r, want %r" % (got, want))
    sys.exit(1)
EOF

# ---- 1b. the servers' targets ----
if [ ${#servers[@]} -gt 0 ]; then
    targets=$(IFS=,; echo "${servers[*]}")
    MIGRATE_TEST_PG=$server_pg MIGRATE_TEST_MSSQL=$server_mssql \
        bash "$top_srcdir/bench/run.sh" --sweep --target "$targets" --records 400 --runs 2 \
        --batch-sizes 50 --workers 1 --scenarios clean,rerun --json "$work/servers.json" \
        >"$work/servers.out" 2>"$work/servers.err"
    rc=$?
    check "sweep of $targets exits 0" test "$rc" -eq 0
    [ "$rc" -eq 0 ] || { tail -n 20 "$work/servers.err"; }
    check "sweep of $targets: every run a first load, references loaded" \
        python3 - "$work/servers.json" "$targets" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
targets = sys.argv[2].split(",")
def fail(msg):
    print("  " + msg)
    sys.exit(1)
if d["options"]["targets"] != targets or d["skipped"]:
    fail("targets %r, skipped %r" % (d["options"]["targets"], d["skipped"]))
v = d["versions"]
if "postgresql" in targets and not (v.get("postgresql") or "").startswith("PostgreSQL"):
    fail("versions: %r" % v)
if "tds" in targets and not (v.get("tds_server") and v.get("freebcp")):
    fail("versions: %r" % v)
configs = {(c["target"], c["scenario"]): c for c in d["configs"]}
for t in targets:
    for sc, rows in (("clean", 1620), ("rerun", 0)):
        c = configs.get((t, sc))
        got = c and [(r["records"], r["rows"]) for r in c["runs"]]
        if got != [(400, rows)] * 2:
            fail("%s %s: runs (records, rows) %r, want %r" % (t, sc, got, [(400, rows)] * 2))
        if not c["ratio"]["bulk"]:
            fail("%s %s: ratio %r" % (t, sc, c["ratio"]))
    r = [r for r in d["references"] if r["target"] == t and r["dataset"] == "clean"]
    if len(r) != 1 or r[0]["rows"] != 1620 or len(r[0]["runs"]) != 2:
        fail("reference %s: %r" % (t, r))
EOF
fi

# ---- 2. the plot ----
if command -v gnuplot >/dev/null; then
    check "plot is a PNG" sh -c "head -c 8 '$work/out.png' | od -An -c | grep -q 'P   N   G'"
else
    check "no gnuplot: says so" grep -q "no gnuplot" "$work/sweep.err"
fi

# ---- 2b. sweep-table ----
python3 "$top_srcdir/bench/sweep-table" "$work/out.json" > "$work/table.md" 2>&1
check "sweep-table exits 0" test $? -eq 0
check "sweep-table: the fastest configuration per scenario" python3 - "$work/out.json" \
    "$work/table.md" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
rows = [l.split("|")[1:-1] for l in open(sys.argv[2]) if l.startswith("| sqlite |")]
want = []
for sc in d["options"]["scenarios"]:
    c = max((c for c in d["configs"] if c["scenario"] == sc),
            key=lambda c: c["summary"]["rec_per_min"]["median"])
    want.append(["sqlite", sc, "%d, %d" % (c["workers"], c["batch_size"]),
                 "%.2f" % c["ratio"]["bulk"], "%.2f" % c["ratio"]["parse"]])
got = [[f.strip() for f in r[:3] + r[-2:]] for r in rows]
if got != want:
    print("  got %r\n  want %r" % (got, want))
    sys.exit(1)
EOF
check "sweep-table --scenario rerun: one row" \
    test "$(python3 "$top_srcdir/bench/sweep-table" "$work/out.json" --scenario rerun | grep -c '^| sqlite |')" -eq 1
python3 "$top_srcdir/bench/sweep-table" "$work/not.json" > /dev/null 2>&1
check "sweep-table: not a sweep: exit 66" test $? -eq 66

# ---- 3. compare ----
cmp_run() { bash -c '"$@" > "$0.out" 2>&1; echo $? > "$0.rc"' "$work/cmp" \
    python3 "$top_srcdir/bench/compare" "$@"; cat "$work/cmp.rc"; }
data="$top_srcdir/tests/bench"
check "compare: 20% slower, small spread: exit 1" test "$(cmp_run "$data/old.json" "$data/new-regression.json")" -eq 1
check "compare: names the regression" grep -Eq "^sqlite +clean +2 +500 .*-20\.0% .*REGRESSION$" "$work/cmp.out"
check "compare: 15% slower inside the spread: exit 0" \
    test "$(cmp_run "$data/old.json" "$data/new-within-spread.json")" -eq 0
check "compare: reports it as noise" grep -Eq "^postgresql +clean +2 +500 .*-15\.0% .*noise\?$" "$work/cmp.out"
check "compare: a sweep against itself: exit 0" test "$(cmp_run "$work/out.json" "$work/out.json")" -eq 0
check "compare: 16 rows, all ok" test "$(grep -c ' ok$' "$work/cmp.out")" -eq 16
check "compare: not a sweep: exit 66" test "$(cmp_run "$work/not.json" "$data/old.json")" -eq 66

[ "$fails" -eq 0 ] || { echo "---- sweep stderr ----"; cat "$work/sweep.err"; exit 1; }
exit 0
