#!/usr/bin/env python3
"""json-check.py SCHEMA REPORT [EXPECTED] -- check a --summary-json report.

Validates REPORT against SCHEMA with the subset of JSON Schema the schema
uses (type, enum, required, properties, additionalProperties, items,
minimum, maximum), checks the report's own sums (read = loaded +
loaded_earlier + duplicate + rejected + not_loaded per file and in total, files add up to the total,
p50 <= p95 <= p99 <= max), and, with EXPECTED (a JSON file), that every
value EXPECTED names is exactly the report's (objects compared key by key,
lists element by element and of the same length).  Exit 0, or 1 with one
line per problem.  Standard library only."""
import json
import sys

TYPES = {"object": dict, "array": list, "string": str, "boolean": bool,
         "null": type(None)}


def type_ok(v, t):
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


def validate(v, s, where, errs):
    ts = s.get("type")
    if ts is not None:
        ts = ts if isinstance(ts, list) else [ts]
        if not any(type_ok(v, t) for t in ts):
            errs.append(f"{where}: {v!r} is not {'/'.join(ts)}")
            return
    if "enum" in s and v not in s["enum"]:
        errs.append(f"{where}: {v!r} not one of {s['enum']}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            errs.append(f"{where}: {v} < {s['minimum']}")
        if "maximum" in s and v > s["maximum"]:
            errs.append(f"{where}: {v} > {s['maximum']}")
    if isinstance(v, dict):
        props = s.get("properties", {})
        for k in s.get("required", []):
            if k not in v:
                errs.append(f"{where}: missing {k}")
        for k, x in v.items():
            if k in props:
                validate(x, props[k], f"{where}.{k}", errs)
            elif s.get("additionalProperties", True) is False:
                errs.append(f"{where}: unexpected key {k}")
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            validate(x, s["items"], f"{where}[{i}]", errs)


def sums(r, errs):
    t = r["total"]
    parts = ("loaded", "loaded_earlier", "duplicate", "rejected", "not_loaded")
    if t["read"] != sum(t.get(k, 0) for k in parts):
        errs.append(f"total: read {t['read']} != loaded + loaded_earlier + duplicate + "
                    "rejected + not_loaded")
    for k in ("read", "loaded", "loaded_earlier", "duplicate", "rejected"):
        if sum(f.get(k, 0) for f in r["files"]) != t.get(k, 0):
            errs.append(f"files: the sum of {k} is not the total's")
    for f in r["files"]:
        if f["read"] < f["loaded"] + f.get("loaded_earlier", 0) + f["duplicate"] + f["rejected"]:
            errs.append(f"file {f['name']}: more settled than read")
    lat = r["commit_latency_ms"]
    if not lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]:
        errs.append(f"commit_latency_ms: percentiles out of order {lat}")


def same(want, have, where, errs):
    if isinstance(want, dict):
        if not isinstance(have, dict):
            errs.append(f"{where}: expected an object, got {have!r}")
            return
        for k, x in want.items():
            if k not in have:
                errs.append(f"{where}: missing {k}")
            else:
                same(x, have[k], f"{where}.{k}", errs)
    elif isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            errs.append(f"{where}: expected {len(want)} elements, got {have!r}")
            return
        for i, (x, y) in enumerate(zip(want, have)):
            same(x, y, f"{where}[{i}]", errs)
    elif isinstance(want, bool) or isinstance(have, bool) or \
            not isinstance(want, (int, float)) or not isinstance(have, (int, float)):
        if want != have or type(want) is not type(have):
            errs.append(f"{where}: expected {want!r}, got {have!r}")
    elif want != have:
        errs.append(f"{where}: expected {want!r}, got {have!r}")


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        schema = json.load(f)
    try:
        with open(argv[2]) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{argv[2]}: not JSON: {e}")
        return 1
    errs = []
    validate(report, schema, "$", errs)
    if not errs:
        sums(report, errs)
    if len(argv) == 4:
        with open(argv[3]) as f:
            same(json.load(f), report, "$", errs)
    for e in errs:
        print(f"{argv[2]}: {e}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
