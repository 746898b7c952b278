#!/usr/bin/env python3
"""callgrind-stages.py — where migrate's instructions go, per pipeline stage.

    valgrind --tool=callgrind --callgrind-out-file=cg.out ./migrate ... INPUT
    bench/callgrind-stages.py cg.out [--json]

    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=cg.out ...
    bench/callgrind-stages.py cg.out-02 cg.out-03 ...   (one column per thread)

Reads a callgrind profile (instruction counts, Ir: they do not depend on the
machine's load) and splits the program's total into stages that add up to
100%.  Every function belongs to a group by its ELF object and, inside
migrate, by its source file; the C library's cost (malloc, memcpy, strlen,
snprintf, ...) and strbuf.c's are charged to the group of the function that
called them.

  read            input.c (and zlib), reader.c's read callback
  parse+expand    libxml2 under the reader (tokenizing and building the
                  record's tree), reader.c itself
  record XML      reader_record_xml: each record serialized again for the
                  reject file (xmlNodeDump)
  path eval       path.c
  conversion      types.c, rule.c and PCRE2
  batch building  mapper.c glue, batch.c
  keys            keyset.c
  ledger          ledger.c, resume.c (the tracker of record ends, a tap on
                  the input), sha256.c: hashing each input file before it is
                  read (libcrypto; under valgrind without the CPU's SHA
                  instructions, so it counts many times its real share)
  SQL + binding   worker.c, settle.c, dialect*.c, db.c (our side of ODBC)
  driver manager  libodbc (unixODBC)
  driver          the ODBC driver (libsqlite3odbc, psqlodbcw, libtdsodbc)
  server          the SQLite library (in process); for PostgreSQL and TDS
                  the server is another process and not in this profile:
                  libpq / FreeTDS's network code shows here instead
  other           the rest (engine, ring, stats, tool, dynamic loader, ...)

Sub-rows (already inside a stage, not added again) show named hot spots.
"""

import json
import re
import sys
from collections import defaultdict


def parse(path):
    """Returns (total, self cost per fn, call edges {(caller, callee): Ir},
    fn id -> (object, file, name))."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    fn_info = {}
    selfc = defaultdict(int)
    edges = defaultdict(int)
    ob = fl = fn = None
    cob = cfn = None
    pending_call = False
    total = 0

    def resolve(kind, value):
        m = re.match(r"\((\d+)\)(?: (.*))?$", value)
        if not m:
            return value
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
        return names[kind].get(m.group(1), value)

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                fields = line.split()
                cost = int(fields[1]) if len(fields) > 1 else 0
                if pending_call:
                    edges[(fn, cfn)] += cost
                    pending_call = False
                else:
                    selfc[fn] += cost
                continue
            key, _, val = line.partition("=")
            if key == "ob":
                ob = resolve("ob", val)
            elif key == "fl":
                fl = resolve("fl", val)
            elif key in ("fi", "fe"):
                resolve("fl", val)   # inlined code's file: names it, but the
                                     # function's own file stays fl
            elif key == "fn":
                name = resolve("fn", val)
                fn = (ob, name)
                fn_info[fn] = (ob, fl, name)   # its own file (a call may have named it first)
                cob = None
            elif key == "cob":
                cob = resolve("ob", val)
            elif key in ("cfi", "cfl"):
                cfl = resolve("fl", val)
            elif key == "cfn":
                name = resolve("fn", val)
                cfn = (cob or ob, name)
                fn_info.setdefault(cfn, (cob or ob, None, name))
                cob = None
            elif key == "calls":
                pending_call = True
            elif key == "summary" or key == "totals":
                total = int(val.split()[0].strip()) if val.strip() else total
    if not total:
        total = sum(selfc.values())
    return total, selfc, edges, fn_info


LIBC = re.compile(r"/(libc|libm|ld-linux[^/]*|libpthread)[.-][^/]*$")


def group_of(ob, fl, name):
    """Returns the stage a function's own instructions belong to."""
    ob = ob or ""
    fl = fl or ""
    base = ob.rsplit("/", 1)[-1]
    if name == "read_cb" or fl.endswith("/input.c") or base.startswith("libz."):
        return "read"
    if name == "reader_record_xml":
        return "record XML"
    if fl.endswith("/reader.c") or base.startswith("libxml2"):
        return "parse+expand"
    if fl.endswith("/path.c"):
        return "path eval"
    if fl.endswith("/types.c") or fl.endswith("/rule.c") or base.startswith("libpcre2"):
        return "conversion"
    if fl.endswith("/strbuf.c"):
        return "libc"   # a helper like libc: charged to whoever calls it
    if fl.endswith(("/mapper.c", "/batch.c", "/batch.h")):
        return "batch building"
    if fl.endswith("/keyset.c"):
        return "keys"
    if fl.endswith(("/ledger.c", "/resume.c", "/sha256.c")):
        return "ledger"
    if fl.endswith(("/worker.c", "/settle.c", "/db.c", "/dialect.c", "/dialect_sqlite.c",
                    "/dialect_pgsql.c", "/dialect_mssql.c")):
        return "SQL + binding"
    if base.startswith("libodbc.") or base.startswith("libodbcinst"):
        return "driver manager"
    if base.startswith(("libsqlite3odbc", "libsqliteodbc", "psqlodbc", "libtdsodbc")):
        return "driver"
    if base.startswith(("libsqlite3.", "libpq.", "libsybdb", "libgnutls", "libssl")):
        return "server"
    if LIBC.search(ob) or base.startswith("libcrypto"):
        return "libc"   # libcrypto too: charged to its caller (sha256.c, libpq's TLS)
    return "other"


ORDER = ["read", "parse+expand", "record XML", "path eval", "conversion", "batch building",
         "keys", "ledger", "SQL + binding", "driver manager", "driver", "server", "other"]


def stages(path):
    total, selfc, edges, info = parse(path)
    group = {fn: group_of(*info.get(fn, (fn[0], None, fn[1]))) for fn in
             set(selfc) | {e[0] for e in edges} | {e[1] for e in edges}}
    cost = defaultdict(int)
    for fn, c in selfc.items():
        cost[group[fn]] += c
    # libc's instructions go to whoever called libc (edge costs are inclusive;
    # libc calling back out, e.g. start_thread, is not charged twice)
    for (a, b), c in edges.items():
        if group[b] == "libc" and group[a] != "libc":
            cost[group[a]] += c
    libc_called = sum(c for (a, b), c in edges.items()
                      if group[b] == "libc" and group[a] != "libc")
    libc_out = sum(c for (a, b), c in edges.items()
                   if group[a] == "libc" and group[b] != "libc")
    cost["libc"] -= libc_called   # what remains: libc not called from a group
    cost["other"] += cost.pop("libc") if cost["libc"] > 0 else 0
    cost.pop("libc", None)

    def callee_incl(pred_callee, pred_caller=lambda f: True):
        return sum(c for (a, b), c in edges.items() if pred_callee(b) and pred_caller(a)
                   and not pred_callee(a))

    # libxml2 is one object: what it does for reader_record_xml (serializing)
    # moves from parse+expand to record XML
    dump = sum(c for (a, b), c in edges.items()
               if a[1] == "reader_record_xml" and group[b] == "parse+expand")
    cost["parse+expand"] -= dump
    cost["record XML"] += dump

    sub = {
        "parse+expand": [("tree building (libxml2 SAX2 callbacks)",
                          callee_incl(lambda f: f[1].startswith("xmlSAX2")))],
        "record XML": [("xmlNodeDump", callee_incl(lambda f: f[1] == "xmlNodeDump"))],
        "path eval": [("text_of_children (value of a node)",
                       callee_incl(lambda f: f[1] == "text_of_children"))],
        "conversion": [("type_convert", callee_incl(lambda f: f[1] == "type_convert")),
                       ("rule_replace (PCRE2 substitute)",
                        callee_incl(lambda f: f[1] == "rule_replace"))],
        "ledger": [("the tracker of record ends (resume_tracker_feed, incl. libc)",
                    callee_incl(lambda f: f[1] == "resume_tracker_feed"))],
        "SQL + binding": [("db_params_bind + db_params_fill (incl. ODBC calls)",
                           callee_incl(lambda f: f[1] in ("db_params_bind", "db_params_fill"))),
                          ("dialect_find_existing (incl. ODBC calls)",
                           callee_incl(lambda f: f[1] == "dialect_find_existing"))],
        "server": [("sqlite3_prepare_v2 called from SQLExecute (re-prepare per row)",
                    callee_incl(lambda f: f[1] == "sqlite3_prepare_v2",
                                lambda f: f[1] == "SQLExecute")),
                   ("sqlite3_step", callee_incl(lambda f: f[1] == "sqlite3_step"))],
    }
    return total, cost, sub


def per_thread(files):
    """Prints Ir per stage, one column per profile (a thread's, from
    --separate-threads=yes: the column is named by the file's last '-' part)
    and their sum; returns 0."""
    cols = [stages(f) for f in files]
    names = [f.rsplit("-", 1)[-1] if "-" in f else f for f in files]
    grand = sum(t for t, _, _ in cols)
    print("%-44s" % "stage" + "".join(" %15s" % ("thread " + n) for n in names) +
          " %15s %7s" % ("all", "share"))
    rows = []
    for k in ORDER:
        rows.append((k, [c.get(k, 0) for _, c, _ in cols]))
        subs = {}
        for _, _, s in cols:
            for name, v in s.get(k, []):
                subs.setdefault(name, None)
        for name in subs:
            rows.append(("  of which " + name,
                         [dict(s.get(k, [])).get(name, 0) for _, _, s in cols]))
    rows.append(("total (callgrind summary)", [t for t, _, _ in cols]))
    for label, vals in rows:
        if not any(vals) and label.startswith("  "):
            continue
        print("%-44s" % label[:44] + "".join(" %15s" % format(v, ",") for v in vals) +
              " %15s %6.1f%%" % (format(sum(vals), ","), 100.0 * sum(vals) / grand))
    return 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 64
    files = [a for a in argv if not a.startswith("--")]
    if len(files) > 1 and "--json" not in argv:
        return per_thread(files)
    total, cost, sub = stages(argv[0])
    if "--json" in argv:
        json.dump({"total_ir": total, "stages": {k: cost.get(k, 0) for k in ORDER},
                   "sub": {k: dict(v) for k, v in sub.items()}}, sys.stdout, indent=1)
        print()
        return 0
    print("%-58s %15s %7s" % ("stage", "Ir", "share"))
    acc = 0
    for k in ORDER:
        c = cost.get(k, 0)
        acc += c
        print("%-58s %15s %6.1f%%" % (k, format(c, ","), 100.0 * c / total))
        for name, v in sub.get(k, []):
            if v:
                print("  %-56s %15s %6.1f%%" % ("of which " + name, format(v, ","),
                                                100.0 * v / total))
    if "--other" in argv:
        _, selfc, _, info = parse(argv[0])
        rows = sorted(((c, fn) for fn, c in selfc.items()
                       if group_of(*info.get(fn, (fn[0], None, fn[1]))) in ("other", "libc")),
                      reverse=True)[:15]
        for c, fn in rows:
            print("    other: %-50s %15s" % ((fn[1] or "?")[:50], format(c, ",")))
    print("%-58s %15s %6.1f%%" % ("total (callgrind summary)", format(total, ","),
                                  100.0 * acc / total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
