#!/usr/bin/env python3
"""sweep.py — the benchmark sweep behind `bench/run.sh --sweep` (issue 10).

Loads generated applications (bench/gen-apps) with ./migrate over a grid of
options and measures every run; measures the targets' own bulk loaders on the
same rows in the same run; writes everything into one JSON file and draws
rec/min against batch size with gnuplot.

    bench/run.sh --sweep [--target sqlite,postgresql,tds] [--runs 5]
                 [--records N] [--batch-sizes 50,100,...] [--workers 1,2,4]
                 [--scenarios clean,dup5,rerun,invalid2] [--seed S]
                 [--json out.json] [--plot out.png] [--tds-load insert|bcp]
                 [-- MIGRATE-ARGS...]

The grid: every target x scenario x workers x batch size, --runs runs each.
  scenarios  clean     fresh tables, no duplicates, no invalid records
             dup5      fresh tables, 5% of the records repeat an earlier one
             rerun     the clean file loaded once (not measured), then the
                       measured run loads it again: every record a duplicate
             invalid2  fresh tables, 2% of the records are rejected
  targets    sqlite      a new database file per run
             postgresql  MIGRATE_TEST_PG, else the whole sweep re-runs itself
                         under tests/with-postgres.sh (a throwaway server)
             tds         MIGRATE_TEST_MSSQL, else the whole sweep re-runs
                         itself under tests/with-tds.sh (a throwaway TDS
                         server; none: the target is skipped with a line).
                         --tds-load picks migrate's --load.
           Before each run the three tables and the ledger's
           (migrate_ledger_*) are dropped: every run is a first load.

Each run is measured with wait4(): wall seconds, user+system CPU seconds and
peak RSS of migrate itself (a server's own CPU is not included).  Records read
and rows inserted come from `--summary-json` when migrate has it (also the
p50/p95/p99 batch commit latency), else from the text summary (latency null).

Reference loaders, per input file, --runs runs each, on the rows migrate
loaded (dumped from a first SQLite load, so the rows are the same):
  parse       xmllint --stream --noout FILE
  sqlite      sqlite3: CREATE TABLE + .import --csv, one transaction
  postgresql  psql: \\copy ... FROM CSV of each table (tables made first)
  tds         freebcp ... in TSV -c for each table (tables made first)
Every configuration gets ratio = its median wall time / the reference's.

Environment: MIGRATE, GEN_APPS (binaries; default ./migrate, bench/gen-apps),
BENCH_DIR (input cache, default ${TMPDIR:-/tmp}/migrate-bench),
MIGRATE_TEST_PG, MIGRATE_TEST_MSSQL (the servers' ODBC connection strings),
and what tests/with-postgres.sh and tests/with-tds.sh read (the port bases).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAPPING = os.path.join(TOP, "mappings", "applications.xml")
TABLES = ["app_base", "contact_base", "contact_address"]
SCENARIOS = {
    # name: (invalid %, duplicates %, rerun)
    "clean": (0, 0, False),
    "dup5": (0, 5, False),
    "rerun": (0, 0, True),
    "invalid2": (2, 0, False),
}
DEFAULT_BATCHES = [50, 100, 250, 500, 1000, 2000, 5000]
DEFAULT_WORKERS = [1, 2, 4]
# the ledger's tables (src/ledger.h), dropped with the mapped ones before a run
LEDGER = ["migrate_ledger_" + t for t in ("files", "batches", "marks", "rejects", "locks")]
FORMAT = "migrate-bench/1"


def say(msg):
    """Prints one progress line on stderr."""
    print("bench: " + msg, file=sys.stderr, flush=True)


def die(msg, status=1):
    say(msg)
    sys.exit(status)


# ---- running and measuring one command ----

TIME = "/usr/bin/time"   # GNU time, for the peak RSS (see measure)


def measure(cmd, stdin=None, env=None, log=None):
    """Runs cmd; returns dict(rc, wall_s, cpu_s, rss_kb).

    Wall and CPU seconds come from wait4() on the child.  The peak RSS comes
    from GNU time wrapped around the command: Linux charges a child forked
    from this Python process with Python's own RSS at fork (ru_maxrss
    survives exec), so wait4's figure is never below ~10 MB.  Without
    /usr/bin/time the RSS is wait4's (an upper bound) and marked so."""
    out = open(log + ".out", "wb") if log else subprocess.DEVNULL
    err = open(log + ".err", "wb") if log else subprocess.DEVNULL
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    tfile = None
    if os.access(TIME, os.X_OK):
        fd, tfile = tempfile.mkstemp(prefix="time.")
        os.close(fd)
        cmd = [TIME, "-f", "%M", "-o", tfile] + cmd
    try:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=fin, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        rss, rss_exact = ru.ru_maxrss, False
        if tfile:
            with open(tfile) as f:
                last = (f.read().strip().splitlines() or [""])[-1]
            if last.isdigit():
                rss, rss_exact = int(last), True
    finally:
        for f in (out, err, fin):
            if f is not subprocess.DEVNULL:
                f.close()
        if tfile:
            os.unlink(tfile)
    return {"rc": p.returncode, "wall_s": round(wall, 4),
            "cpu_s": round(ru.ru_utime + ru.ru_stime, 4), "rss_kb": rss,
            "rss_exact": rss_exact}


def run_quiet(cmd, what, stdin_text=None, env=None):
    """Runs cmd untimed; returns its stdout, or dies naming `what`."""
    p = subprocess.run(cmd, input=stdin_text, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        die("%s failed (exit %d): %s" % (what, p.returncode,
                                         (p.stderr or p.stdout).strip()[-400:]))
    return p.stdout


def first_line(cmd):
    """Returns the first line a command prints (stdout or stderr), or None."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (p.stdout or "") + (p.stderr or "")
    return text.strip().splitlines()[0] if text.strip() else None


# ---- statistics ----

def summarize(values):
    """Returns median, stdev (sample; 0 for one value), min and max, or None."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {"median": round(statistics.median(vals), 4),
            "stdev": round(statistics.stdev(vals), 4) if len(vals) > 1 else 0.0,
            "min": round(min(vals), 4), "max": round(max(vals), 4)}


# ---- migrate's summary ----

def parse_text_summary(text):
    """Returns (records read, rows inserted) from migrate's text summary."""
    read = rows = None
    in_tables = False
    for line in text.splitlines():
        f = line.split()
        if not f:
            in_tables = False
            continue
        if f[0] == "total" and len(f) >= 2 and read is None:
            read = int(f[1].replace(",", ""))
        elif f[0] == "table" and "inserted" in f:
            in_tables, rows = True, 0
        elif in_tables and len(f) >= 2:
            rows += int(f[1].replace(",", ""))
    return read, rows


def find_key(obj, pred, path=()):
    """Yields (path, value) for every key in a JSON tree that pred(path) accepts."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = path + (str(k).lower(),)
            if pred(p):
                yield p, v
            yield from find_key(v, pred, p)
    elif isinstance(obj, list):
        for v in obj:
            yield from find_key(v, pred, path)


def parse_summary_json(doc):
    """Returns (read, rows, {p50,p95,p99} ms or None) from --summary-json.

    The file's exact layout belongs to migrate; this reads it by key names:
    a "read" count at the top or under "total(s)", "inserted" counts under
    "tables", and p50/p95/p99 under a key that mentions commit or latency."""
    read = None
    for p, v in find_key(doc, lambda p: p[-1] == "read"):
        if isinstance(v, int) and (len(p) == 1 or p[-2] in ("total", "totals")):
            read = v
            break
    rows = None
    for p, v in find_key(doc, lambda p: p[-1] == "tables"):
        items = v.values() if isinstance(v, dict) else v
        if isinstance(items, (list, type({}.values()))):
            got = [t.get("inserted") for t in items if isinstance(t, dict)]
            if got and all(isinstance(x, int) for x in got):
                rows = sum(got)
                break
    lat = {}
    for p, v in find_key(doc, lambda p: p[-1] in ("p50", "p95", "p99")
                         and any("commit" in k or "latenc" in k for k in p)):
        if isinstance(v, (int, float)) and p[-1] not in lat:
            lat[p[-1]] = v
    return read, rows, (lat if len(lat) == 3 else None)


# ---- the harness ----

class Sweep:
    def __init__(self, a):
        self.a = a
        self.migrate = os.environ.get("MIGRATE") or os.path.join(TOP, "migrate")
        self.gen = os.environ.get("GEN_APPS") or os.path.join(TOP, "bench", "gen-apps")
        self.cache = os.environ.get("BENCH_DIR") or os.path.join(
            os.environ.get("TMPDIR", "/tmp"), "migrate-bench")
        os.makedirs(self.cache, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="sweep.", dir=self.cache)
        self.has_summary_json = False
        self.has_reload = False  # a binary with the ledger skips a loaded file
        self.failed = False      # a run failed: keep the work directory
        self.skipped = []
        self.tds = None          # MIGRATE_TEST_MSSQL's fields, lower-case keys, and "cs"
        self.rows_dir = {}       # dataset -> directory of dumped CSV/TSV
        self.result = {"format": FORMAT, "configs": [], "references": [],
                       "skipped": self.skipped}

    # -- inputs --

    def input_file(self, invalid, dups):
        """Returns the cached input for (invalid, dups), generated if missing."""
        a = self.a
        f = os.path.join(self.cache, "apps-n%d-s%d-i%d-d%d.xml" % (a.records, a.seed, invalid, dups))
        if not os.path.exists(f) or os.path.getsize(f) == 0:
            say("generating " + f)
            run_quiet([self.gen, "--records", str(a.records), "--seed", str(a.seed),
                       "--invalid", str(invalid), "--duplicates", str(dups), "-o", f + ".tmp"],
                      "gen-apps")
            os.rename(f + ".tmp", f)
        return f

    def dataset(self, scenario):
        """Returns (dataset name, input file) of a scenario (rerun reads clean's)."""
        invalid, dups, _ = SCENARIOS[scenario]
        name = "clean" if scenario == "rerun" else scenario
        return name, self.input_file(invalid, dups)

    # -- targets: per-run reset and migrate's target options --

    def target_args(self, target, run_dir):
        if target == "sqlite":
            return ["--db", os.path.join(run_dir, "t.db")]
        if target == "postgresql":
            return ["--connect", os.environ["MIGRATE_TEST_PG"], "--create-tables"]
        return ["--connect", self.tds["cs"], "--create-tables", "--load", self.a.tds_load]

    def reset(self, target, run_dir):
        """Empties the target before a run (untimed)."""
        if target == "sqlite":
            for sfx in ("", "-journal", "-wal", "-shm"):
                f = os.path.join(run_dir, "t.db" + sfx)
                if os.path.exists(f):
                    os.unlink(f)
        elif target == "postgresql":
            self.psql("SET client_min_messages = warning; DROP TABLE IF EXISTS "
                      + ", ".join(TABLES + LEDGER) + " CASCADE")
        else:
            self.tsql("".join("DROP TABLE IF EXISTS dbo.%s\n" % t for t in TABLES + LEDGER))

    def psql_cmd(self):
        if os.environ.get("MIGRATE_TEST_PG_PSQL"):
            return os.environ["MIGRATE_TEST_PG_PSQL"].split()
        return ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1"]

    def psql(self, sql):
        return run_quiet(self.psql_cmd() + ["-At", "-c", sql], "psql")

    def tds_login(self):
        """Returns tsql's and freebcp's login options for MIGRATE_TEST_MSSQL."""
        t = self.tds
        return ["-U", t.get("uid", ""), "-P", t.get("pwd", ""), "-D", t.get("database", "testdb")]

    def tsql(self, sql):
        """Runs T-SQL through FreeTDS's tsql on the TDS server; returns its output."""
        return run_quiet(["tsql", "-o", "q", "-H", self.tds.get("server", "127.0.0.1"),
                          "-p", self.tds.get("port", "1433")] + self.tds_login(),
                         "tsql", stdin_text=sql + "go\n")

    def skip(self, line):
        say("skipped: " + line)
        self.skipped.append(line)

    # -- one migrate run --

    def migrate_run(self, target, scenario, workers, batch, run_dir, i):
        """Measures one migrate run; returns its figures."""
        _, path = self.dataset(scenario)
        cmd = ([self.migrate, "--workers", str(workers), "--batch-size", str(batch),
                "-m", MAPPING, "-r", os.path.join(run_dir, "rejects.xml")]
               + self.target_args(target, run_dir) + self.a.migrate_args)
        sj = os.path.join(run_dir, "summary.json")
        if self.has_summary_json:
            cmd += ["--summary-json", sj]
        self.reset(target, run_dir)
        log = os.path.join(run_dir, "run%d" % i)
        if SCENARIOS[scenario][2]:    # rerun: a first load, not measured
            first = measure(cmd + [path], log=log + ".first")
            self.check_rc(first, log + ".first")
            if self.has_reload:       # measure the duplicates, not the ledger's skip
                cmd = cmd + ["--reload"]
        if os.path.exists(sj):
            os.unlink(sj)
        m = measure(cmd + [path], log=log)
        self.check_rc(m, log)
        with open(log + ".out", encoding="utf-8", errors="replace") as f:
            read, rows = parse_text_summary(f.read())
        lat = None
        if self.has_summary_json and os.path.exists(sj):
            with open(sj, encoding="utf-8") as f:
                jread, jrows, lat = parse_summary_json(json.load(f))
            read = jread if jread is not None else read
            rows = jrows if jrows is not None else rows
        self.check_counts(scenario, read, rows)
        wall = max(m["wall_s"], 1e-6)
        return {"rc": m["rc"], "wall_s": m["wall_s"], "cpu_s": m["cpu_s"],
                "peak_rss_mb": round(m["rss_kb"] / 1024, 2), "records": read, "rows": rows,
                "rec_per_min": round(read * 60 / wall, 1),
                "rows_per_s": round(rows / wall, 1) if rows is not None else None,
                "commit_latency_ms": lat}

    def check_counts(self, scenario, read, rows):
        """Raises RunFailed unless a run read the whole file and inserted the rows
        the dumped first load has (none in a rerun): a target not emptied, a
        ledger that skipped the file, would otherwise pass for a fast run."""
        want = 0 if SCENARIOS[scenario][2] else self.rows_dir[self.dataset(scenario)[0]][1]
        if read != self.a.records or (rows is not None and rows != want):
            raise RunFailed("read %s of %d records, inserted %s of %d rows"
                            % (read, self.a.records, rows, want))

    def check_rc(self, m, log):
        """Raises RunFailed unless migrate exited 0 or 1 (1: some records rejected)."""
        if m["rc"] not in (0, 1):
            with open(log + ".err", encoding="utf-8", errors="replace") as f:
                tail = f.read().strip().splitlines()[-3:]
            raise RunFailed("migrate exited with status %d: %s" % (m["rc"], " / ".join(tail)))

    # -- reference loaders --

    def dump_rows(self, dataset, path):
        """Loads path once into SQLite and dumps each table as CSV and TSV."""
        if dataset in self.rows_dir:
            return self.rows_dir[dataset]
        d = os.path.join(self.work, "rows-" + dataset)
        os.makedirs(d)
        db = os.path.join(d, "dump.db")
        m = measure([self.migrate, "-m", MAPPING, "--db", db, "-r",
                     os.path.join(d, "rejects.xml"), path], log=os.path.join(d, "load"))
        try:
            self.check_rc(m, os.path.join(d, "load"))
        except RunFailed as e:
            die("loading %s to dump its rows: %s" % (path, e))
        rows = 0
        for t in TABLES:
            q = "SELECT * FROM %s ORDER BY rowid" % t
            csv = run_quiet(["sqlite3", "-csv", db, q], "sqlite3 dump")
            tsv = run_quiet(["sqlite3", "-list", "-separator", "\t", db, q], "sqlite3 dump")
            with open(os.path.join(d, t + ".csv"), "w", encoding="utf-8") as f:
                f.write(csv)
            with open(os.path.join(d, t + ".tsv"), "w", encoding="utf-8") as f:
                f.write(tsv)
            rows += tsv.count("\n")
        os.unlink(db)
        self.rows_dir[dataset] = (d, rows)
        return d, rows

    def ref_parse(self, path, d, i):
        return measure(["xmllint", "--stream", "--noout", path],
                       log=os.path.join(d, "xmllint%d" % i))

    def ref_sqlite(self, path, d, i):
        db = os.path.join(d, "ref.db")
        if os.path.exists(db):
            os.unlink(db)
        script = os.path.join(d, "import.sql")
        with open(script, "w") as f:
            with open(os.path.join(TOP, "schemas", "applications.sqlite.sql")) as ddl:
                f.write(ddl.read())
            f.write("BEGIN;\n")
            for t in TABLES:
                f.write(".import --csv %s %s\n" % (os.path.join(d, t + ".csv"), t))
            f.write("COMMIT;\n")
        return measure(["sqlite3", "-bail", db], stdin=script, log=os.path.join(d, "import%d" % i))

    def make_tables(self, target):
        """Drops and creates the mapped tables with `migrate init-db` (untimed)."""
        self.reset(target, self.work)
        cs = os.environ["MIGRATE_TEST_PG"] if target == "postgresql" else self.tds["cs"]
        run_quiet([self.migrate, "init-db", "-m", MAPPING, "--connect", cs], "migrate init-db")

    def ref_postgresql(self, path, d, i):
        self.make_tables("postgresql")
        script = os.path.join(d, "copy.psql")
        with open(script, "w") as f:
            for t in TABLES:
                f.write("\\copy %s FROM '%s' WITH (FORMAT csv)\n" % (t, os.path.join(d, t + ".csv")))
        return measure(self.psql_cmd() + ["-f", script], log=os.path.join(d, "copy%d" % i))

    def ref_tds(self, path, d, i):
        self.make_tables("tds")
        total = {"rc": 0, "wall_s": 0.0, "cpu_s": 0.0, "rss_kb": 0}
        for t in TABLES:
            m = measure(["freebcp", "dbo." + t, "in", os.path.join(d, t + ".tsv"), "-c",
                         "-S", "%s:%s" % (self.tds.get("server", "127.0.0.1"),
                                          self.tds.get("port", "1433")),
                         "-b", "10000"] + self.tds_login(),
                        log=os.path.join(d, "bcp-%s%d" % (t, i)))
            total["rc"] = total["rc"] or m["rc"]
            total["wall_s"] += m["wall_s"]
            total["cpu_s"] += m["cpu_s"]
            total["rss_kb"] = max(total["rss_kb"], m["rss_kb"])
        return total

    def references(self, datasets, targets):
        """Measures every reference loader on every dataset the sweep uses."""
        loaders = [("parse", "xmllint --stream --noout", "xmllint", self.ref_parse),
                   ("sqlite", "sqlite3 .import (CSV, one transaction)", "sqlite3", self.ref_sqlite),
                   ("postgresql", "psql \\copy (CSV)", "psql", self.ref_postgresql),
                   ("tds", "freebcp -c (TSV)", "freebcp", self.ref_tds)]
        for name, path in datasets:
            d, rows = self.dump_rows(name, path)
            for target, what, tool, fn in loaders:
                if target != "parse" and target not in targets:
                    continue
                if not shutil.which(tool):
                    self.skip("reference %s: no %s" % (what, tool))
                    continue
                runs = []
                for i in range(self.a.runs):
                    m = fn(path, d, i)
                    if m["rc"] == 0 and target != "parse" and self.loaded_rows(target, d) != rows:
                        m["rc"] = -1   # exit 0 but not every row arrived
                    if m["rc"] != 0:
                        self.skip("reference %s on %s: exit %d (see %s)" % (what, name, m["rc"], d))
                        runs = []
                        break
                    runs.append({"wall_s": round(m["wall_s"], 4), "cpu_s": round(m["cpu_s"], 4),
                                 "peak_rss_mb": round(m["rss_kb"] / 1024, 2),
                                 "rec_per_min": round(self.a.records * 60 / max(m["wall_s"], 1e-6), 1),
                                 "rows_per_s": round(rows / max(m["wall_s"], 1e-6), 1)})
                if not runs:
                    continue
                ref = {"dataset": name, "target": target, "loader": what, "rows": rows,
                       "runs": runs, "summary": self.summary(runs)}
                self.result["references"].append(ref)
                say("reference %-10s %-8s median %.3f s" % (target, name,
                                                           ref["summary"]["wall_s"]["median"]))

    def loaded_rows(self, target, d):
        """Returns the rows a reference loader left in the three tables."""
        q = " UNION ALL ".join("SELECT count(*) FROM %s" % t for t in TABLES)
        if target == "sqlite":
            out = run_quiet(["sqlite3", os.path.join(d, "ref.db"), q], "sqlite3 count")
        elif target == "postgresql":
            out = self.psql(q)
        else:
            out = self.tsql(q + "\n")
        return sum(int(x) for x in re.findall(r"^\s*(\d+)\s*$", out, re.M))

    def ref_median(self, dataset, target):
        for r in self.result["references"]:
            if r["dataset"] == dataset and r["target"] == target:
                return r["summary"]["wall_s"]["median"]
        return None

    # -- the sweep --

    @staticmethod
    def summary(runs):
        keys = ["rec_per_min", "rows_per_s", "wall_s", "cpu_s", "peak_rss_mb"]
        s = {k: summarize([r.get(k) for r in runs]) for k in keys}
        lats = [r.get("commit_latency_ms") for r in runs if r.get("commit_latency_ms")]
        s["commit_latency_ms"] = ({q: summarize([x[q] for x in lats])["median"]
                                   for q in ("p50", "p95", "p99")} if lats else None)
        return s

    def config(self, target, scenario, workers, batch):
        run_dir = os.path.join(self.work, "%s-%s-w%d-b%d" % (target, scenario, workers, batch))
        os.makedirs(run_dir)
        try:
            runs = [self.migrate_run(target, scenario, workers, batch, run_dir, i)
                    for i in range(self.a.runs)]
        except RunFailed as e:
            self.failed = True
            self.skip("%s %s w%d b%d: %s (logs in %s)" % (target, scenario, workers, batch, e,
                                                          run_dir))
            return
        s = self.summary(runs)
        dataset, _ = self.dataset(scenario)
        ratio = {}
        for ref in ("parse", target):
            med = self.ref_median(dataset, ref)
            ratio[ref if ref == "parse" else "bulk"] = (
                round(s["wall_s"]["median"] / med, 3) if med else None)
        c = {"target": target, "scenario": scenario, "workers": workers, "batch_size": batch,
             "load": self.a.tds_load if target == "tds" else "insert",
             "dataset": dataset, "runs": runs, "summary": s, "ratio": ratio}
        self.result["configs"].append(c)
        if not self.a.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
        say("%-10s %-8s w%d b%-5d %10.0f rec/min  sd %8.0f  cpu %6.2f s  rss %6.1f MB  x%s bulk"
            % (target, scenario, workers, batch, s["rec_per_min"]["median"],
               s["rec_per_min"]["stdev"], s["cpu_s"]["median"], s["peak_rss_mb"]["median"],
               ratio.get("bulk")))

    def environment(self, targets):
        """Returns the machine, the versions and the options for the JSON."""
        cpu = None
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu = line.split(":", 1)[1].strip()
                        break
            with open("/proc/meminfo") as f:
                mem_kb = int(f.readline().split()[1])
        except OSError:
            mem_kb = None
        machine = {"hostname": socket.gethostname(), "cpu": cpu, "nproc": os.cpu_count(),
                   "mem_mb": mem_kb // 1024 if mem_kb else None, "kernel": platform.release(),
                   "os": first_line(["sh", "-c", ". /etc/os-release && echo $PRETTY_NAME"]),
                   "loadavg_start": os.getloadavg()}
        versions = {"migrate": first_line([self.migrate, "--version"]),
                    "git": first_line(["git", "-C", TOP, "describe", "--always", "--dirty"]),
                    "xmllint": first_line(["xmllint", "--version"]),
                    "sqlite3": first_line(["sqlite3", "--version"]),
                    "python": platform.python_version()}
        if "postgresql" in targets:
            versions["postgresql"] = self.psql("SELECT version()").strip()
            versions["postgresql_settings"] = self.psql(
                "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN "
                "('fsync','synchronous_commit','full_page_writes','shared_buffers')").strip()
            versions["psql"] = first_line(self.psql_cmd()[:1] + ["--version"])
        if self.tds:
            out = [line.strip() for line in self.tsql("SELECT @@VERSION\n").splitlines()
                   if line.strip() and not line.startswith("Changed database context")]
            versions["tds_server"] = " ".join(out[1:])   # out[0]: the column's name
            versions["freebcp"] = next((line.strip() for line in run_quiet(
                ["tsql", "-C"], "tsql -C").splitlines() if "Version:" in line), None)
        return machine, versions

    def run(self):
        a = self.a
        if not os.access(self.migrate, os.X_OK) or not os.access(self.gen, os.X_OK):
            die("no %s or %s: run make first" % (self.migrate, self.gen), 69)
        help_text = run_quiet([self.migrate, "--help"], "migrate --help")
        self.has_summary_json = "--summary-json" in help_text
        self.has_reload = "--reload" in help_text
        targets = list(a.targets)
        if "tds" in targets:
            cs = os.environ.get("MIGRATE_TEST_MSSQL")
            if cs and not shutil.which("tsql"):
                self.skip("tds: no tsql (apt-get install freetds-bin)")
                targets.remove("tds")
            elif cs:
                self.tds = {k.strip().lower(): v.strip().removeprefix("{").removesuffix("}")
                            for k, _, v in (f.partition("=") for f in cs.split(";") if "=" in f)}
                self.tds["cs"] = cs
            else:
                self.skip("tds: no TDS server (MIGRATE_TEST_MSSQL unset, tests/with-tds.sh "
                          "started none)")
                targets.remove("tds")
        machine, versions = self.environment(targets)
        datasets = []
        for sc in a.scenarios:
            ds = self.dataset(sc)
            if ds not in datasets:
                datasets.append(ds)
        n = len(targets) * len(a.scenarios) * len(a.workers) * len(a.batch_sizes)
        say("%d configurations x %d runs of %d records (%s); work dir %s"
            % (n, a.runs, a.records, "latency from --summary-json" if self.has_summary_json
               else "no --summary-json in this migrate: latency null", self.work))
        self.references(datasets, targets)
        for target in targets:
            for sc in a.scenarios:
                for w in a.workers:
                    for b in a.batch_sizes:
                        self.config(target, sc, w, b)
        machine["loadavg_end"] = os.getloadavg()
        self.result.update({
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine, "versions": versions,
            "options": {"targets": targets, "targets_asked": a.targets, "runs": a.runs,
                        "records": a.records, "seed": a.seed, "batch_sizes": a.batch_sizes,
                        "workers": a.workers, "scenarios": a.scenarios,
                        "tds_load": a.tds_load, "migrate_args": a.migrate_args,
                        "summary_json": self.has_summary_json,
                        "peak_rss_from": ("GNU time (%M)" if os.access(TIME, os.X_OK)
                                          else "wait4 ru_maxrss: includes the harness's RSS "
                                          "at fork, an upper bound"),
                        "inputs": {name: {"file": os.path.basename(p), "bytes": os.path.getsize(p)}
                                   for name, p in datasets}}})
        if a.json:
            with open(a.json, "w") as f:
                json.dump(self.result, f, indent=1)
                f.write("\n")
            say("wrote " + a.json)
        self.print_table()
        if a.plot:
            plot(self.result, a.plot, self.work)
        if a.keep or self.failed:
            say("work directory kept: " + self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def print_table(self):
        print("%-10s %-8s %3s %6s %12s %10s %9s %8s %8s %7s %7s" % (
            "target", "scenario", "w", "batch", "rec/min", "sd", "rows/s", "cpu s", "rss MB",
            "xbulk", "xparse"))
        for c in self.result["configs"]:
            s, r = c["summary"], c["ratio"]
            print("%-10s %-8s %3d %6d %12.0f %10.0f %9.0f %8.2f %8.1f %7s %7s" % (
                c["target"], c["scenario"], c["workers"], c["batch_size"],
                s["rec_per_min"]["median"], s["rec_per_min"]["stdev"],
                (s["rows_per_s"] or {}).get("median") or 0, s["cpu_s"]["median"],
                s["peak_rss_mb"]["median"], r.get("bulk"), r.get("parse")))
        for ref in self.result["references"]:
            s = ref["summary"]
            print("reference %-10s %-8s %-40s %8.3f s %12.0f rec/min" % (
                ref["target"], ref["dataset"], ref["loader"], s["wall_s"]["median"],
                s["rec_per_min"]["median"]))
        for line in self.skipped:
            print("skipped: " + line)


class RunFailed(Exception):
    """A migrate run that exited other than 0 or 1, or read or inserted the wrong counts."""


# ---- the picture ----

def plot(result, png, work):
    """Draws rec/min against batch size: one panel per scenario, one line per
    target and worker count.  Without gnuplot: one line saying so."""
    if not shutil.which("gnuplot"):
        say("no gnuplot (apt-get install gnuplot-nox): no plot written")
        return False
    scenarios = result["options"]["scenarios"]
    lines = sorted({(c["target"], c["workers"]) for c in result["configs"]})
    data = os.path.join(work, "plot.dat")
    with open(data, "w") as f:
        for sc in scenarios:
            for t, w in lines:
                f.write("# %s %s w%d\n" % (sc, t, w))
                for c in sorted((c for c in result["configs"] if c["scenario"] == sc
                                 and c["target"] == t and c["workers"] == w),
                                key=lambda c: c["batch_size"]):
                    s = c["summary"]["rec_per_min"]
                    f.write("%d %f %f %f\n" % (c["batch_size"], s["median"] / 1e6,
                                               s["min"] / 1e6, s["max"] / 1e6))
                f.write("\n\n")
    cols = 2 if len(scenarios) > 1 else 1
    rows = (len(scenarios) + cols - 1) // cols
    m = result["machine"]
    gp = ["set terminal pngcairo size %d,%d font ',9'" % (860 * cols, 440 * rows + 40)
          if gnuplot_has_cairo() else "set terminal png size %d,%d" % (860 * cols, 440 * rows + 40),
          "set output '%s'" % png.replace("'", ""),
          "set multiplot layout %d,%d title '%s'" % (
              rows, cols, ("migrate: rec/min by batch size, %d records, median of %d runs "
                           "(bars: min-max), %s x%s" % (result["options"]["records"],
                                                        result["options"]["runs"],
                                                        m.get("cpu") or "?", m.get("nproc")))
              .replace("'", "")),
          "set logscale x", "set xlabel 'batch size (records)'",
          "set ylabel 'M rec/min (log scale)'", "set key outside right top font ',8'",
          "set grid", "set logscale y"]   # the targets lie orders of magnitude apart
    sizes = [c["batch_size"] for c in result["configs"]] or [1]
    gp.append("set xrange [%g:%g]" % (min(sizes) / 1.5, max(sizes) * 1.5))
    gp.append("set xtics (%s)" % ", ".join(str(b) for b in sorted(set(sizes))))
    block = 0
    for sc in scenarios:
        gp.append("set title '%s'" % sc)
        parts = []
        for t, w in lines:
            parts.append("'%s' index %d using 1:2:3:4 with yerrorlines title '%s w%d'"
                         % (data, block, t, w))
            block += 1
        # the reference loaders on this scenario's rows: dashed lines
        dataset = "clean" if sc == "rerun" else sc
        for ref in result["references"]:
            if ref["dataset"] == dataset:
                parts.append("%f with lines dashtype 2 title '%s'" % (
                    ref["summary"]["rec_per_min"]["median"] / 1e6,
                    ref["loader"].split(" (")[0].replace("'", "").replace("\\", "")))
        gp.append("plot " + ", ".join(parts))
    gp.append("unset multiplot")
    p = subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", capture_output=True, text=True)
    if p.returncode != 0:
        say("gnuplot failed: " + p.stderr.strip()[-300:])
        return False
    say("wrote " + png)
    return True


def gnuplot_has_cairo():
    p = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
    return "pngcairo" in (p.stdout + p.stderr)


# ---- options ----

def int_list(s):
    try:
        v = [int(x) for x in s.split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError("not a list of whole numbers: " + s)
    if not v or min(v) < 1:
        raise argparse.ArgumentTypeError("need whole numbers >= 1: " + s)
    return v


def name_list(allowed):
    def parse(s):
        v = [x for x in s.split(",") if x]
        bad = [x for x in v if x not in allowed]
        if bad or not v:
            raise argparse.ArgumentTypeError("%s: choose from %s" % (s, ",".join(allowed)))
        return v
    return parse


def parse_args(argv):
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(prog="bench/run.sh --sweep",
                                description="The benchmark sweep (see bench/README.md).")
    p.add_argument("--sweep", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--target", dest="targets", default=["sqlite", "postgresql", "tds"],
                   type=name_list(["sqlite", "postgresql", "tds"]),
                   help="comma list of sqlite,postgresql,tds (default all three)")
    p.add_argument("--runs", type=int, default=5, help="runs per configuration (default 5)")
    p.add_argument("--records", type=int, default=50000,
                   help="records per input file (default 50000)")
    p.add_argument("--batch-sizes", type=int_list, default=DEFAULT_BATCHES,
                   help="comma list (default 50,100,250,500,1000,2000,5000)")
    p.add_argument("--workers", type=int_list, default=DEFAULT_WORKERS,
                   help="comma list (default 1,2,4)")
    p.add_argument("--scenarios", type=name_list(list(SCENARIOS)), default=list(SCENARIOS),
                   help="comma list of clean,dup5,rerun,invalid2 (default all)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tds-load", choices=["insert", "bcp"], default="bcp",
                   help="migrate's --load for the tds target (default bcp)")
    p.add_argument("--json", help="write every figure here")
    p.add_argument("--plot", help="draw the PNG here (needs gnuplot)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    a = p.parse_args(argv)
    if a.runs < 1 or a.records < 1:
        p.error("--runs and --records must be at least 1")
    a.migrate_args = extra
    return a


def main(argv):
    a = parse_args(argv)
    # Throwaway servers for the whole sweep, removed when it ends: it re-runs
    # itself under tests/with-postgres.sh and/or tests/with-tds.sh (once).
    wrap = []
    for target, var, script in (("postgresql", "MIGRATE_TEST_PG", "with-postgres.sh"),
                                ("tds", "MIGRATE_TEST_MSSQL", "with-tds.sh")):
        if target in a.targets and not os.environ.get(var) \
                and not os.environ.get("BENCH_SWEEP_WRAPPED"):
            say("no %s: running the sweep under tests/%s" % (var, script))
            wrap += ["bash", os.path.join(TOP, "tests", script)]
    if wrap:
        os.environ["BENCH_SWEEP_WRAPPED"] = "1"
        # with-tds.sh makes its login with tests/dbdump: the one built beside migrate
        migrate = os.environ.get("MIGRATE") or os.path.join(TOP, "migrate")
        dbdump = os.path.join(os.path.dirname(os.path.abspath(migrate)), "tests", "dbdump")
        if os.access(dbdump, os.X_OK):
            os.environ.setdefault("DBDUMP", dbdump)
        os.execvp(wrap[0], wrap + [sys.executable, os.path.abspath(__file__)] + argv)
    Sweep(a).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
