#!/usr/bin/env python3
"""Assembles build/bench.json from the JSON lines every benchmark appended
(tests/bench/bench_record.h, bindings/*/bench/bench_record.*), and checks
them: a record that is malformed, a figure that is not a number, a ratio
that does not match its figures, a language that produced nothing, or a
figure recorded twice fails loudly (exit 1, naming the record), so that a
run never leaves a file that later comparisons would silently misread.

    bench_json.py --jsonl build/bench.jsonl --out build/bench.json \\
        --languages c,luajit,python,lisp --started 2026-12-06T12:00:00Z [--quick]
    bench_json.py --check build/bench.json [--languages ...]

The file (schema 1):
    {"schema": 1, "started": ISO-8601 UTC, "finished": ..., "quick": bool,
     "lipc_version": "0.x.y", "git_commit": "..." or null, "git_dirty": bool or null,
     "host": {"hostname", "kernel", "machine", "cpu_model", "cpus", "memory_bytes",
              "loadavg_start", "loadavg_end", "python", "luajit", "sbcl", "cc"},
     "records": [{"language", "name", "value", "unit", "baseline_name",
                  "baseline_value", "ratio"}, ...]}
A record without a baseline has baseline_name, baseline_value and ratio
null; ratio is value / baseline_value (for MB/s figures, above 1 is lipc
faster; for times, above 1 is lipc slower).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import socket
import subprocess
import sys
from typing import Any, Dict, List, Optional

SCHEMA = 1
LANGUAGES = ("c", "luajit", "python", "lisp")
RECORD_KEYS = ("language", "name", "value", "unit", "baseline_name", "baseline_value", "ratio")
TOP_KEYS = {"schema", "started", "finished", "quick", "lipc_version", "git_commit", "git_dirty", "host",
            "records"}


class BenchJSONError(Exception):
    pass


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_record(r: Any, where: str) -> None:
    if not isinstance(r, dict):
        raise BenchJSONError(f"{where}: not an object: {r!r}")
    if set(r) != set(RECORD_KEYS):
        raise BenchJSONError(f"{where}: keys {sorted(r)}, expected {sorted(RECORD_KEYS)}")
    if r["language"] not in LANGUAGES:
        raise BenchJSONError(f"{where}: unknown language {r['language']!r}")
    for k in ("name", "unit"):
        if not isinstance(r[k], str) or not r[k].strip():
            raise BenchJSONError(f"{where}: {k} must be a non-empty string: {r[k]!r}")
    if not _is_number(r["value"]):
        raise BenchJSONError(f"{where}: value must be a finite number: {r['value']!r}")
    if r["baseline_name"] is None:
        if r["baseline_value"] is not None or r["ratio"] is not None:
            raise BenchJSONError(f"{where}: no baseline_name, yet a baseline_value or ratio")
        return
    if not isinstance(r["baseline_name"], str) or not r["baseline_name"].strip():
        raise BenchJSONError(f"{where}: baseline_name must be null or a non-empty string")
    if not _is_number(r["baseline_value"]):
        raise BenchJSONError(f"{where}: baseline_value must be a finite number: {r['baseline_value']!r}")
    if r["baseline_value"] == 0:
        if r["ratio"] is not None:
            raise BenchJSONError(f"{where}: a ratio over a zero baseline")
        return
    if not _is_number(r["ratio"]):
        raise BenchJSONError(f"{where}: ratio must be a finite number: {r['ratio']!r}")
    want = r["value"] / r["baseline_value"]
    if not math.isclose(r["ratio"], want, rel_tol=1e-3, abs_tol=1e-9):
        raise BenchJSONError(f"{where}: ratio {r['ratio']} is not value/baseline_value = {want}")


def check_records(records: List[Any], languages: List[str]) -> None:
    seen: Dict[tuple, int] = {}
    for i, r in enumerate(records):
        where = f"record {i} ({r.get('language')} {r.get('name')!r})" if isinstance(r, dict) else f"record {i}"
        check_record(r, where)
        key = (r["language"], r["name"], r["baseline_name"])
        if key in seen:
            raise BenchJSONError(f"{where}: the same figure as record {seen[key]} (language, name, baseline)")
        seen[key] = i
    for lang in languages:
        if not any(r["language"] == lang for r in records):
            raise BenchJSONError(f"no records from {lang}: its benchmarks failed or record nothing")


def check_document(doc: Any, languages: List[str]) -> None:
    if not isinstance(doc, dict):
        raise BenchJSONError("the top level is not an object")
    if set(doc) != TOP_KEYS:
        raise BenchJSONError(f"top-level keys {sorted(doc)}, expected {sorted(TOP_KEYS)}")
    if doc["schema"] != SCHEMA:
        raise BenchJSONError(f"schema {doc['schema']!r}, expected {SCHEMA}")
    for k in ("started", "finished"):
        if not isinstance(doc[k], str):
            raise BenchJSONError(f"{k} must be an ISO-8601 string")
        datetime.datetime.fromisoformat(doc[k].replace("Z", "+00:00"))
    if not isinstance(doc["host"], dict) or not isinstance(doc["host"].get("hostname"), str):
        raise BenchJSONError("host must be an object with a hostname")
    if not isinstance(doc["records"], list) or not doc["records"]:
        raise BenchJSONError("records must be a non-empty list")
    check_records(doc["records"], languages)


def _run(*cmd: str) -> Optional[str]:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0] if out.returncode == 0 and text else None


def _cpu_model() -> Optional[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _memory_bytes() -> Optional[int]:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def _lipc_version(root: str) -> Optional[str]:
    try:
        with open(os.path.join(root, "include", "lipc.h")) as f:
            m = re.search(r'#define LIPC_VERSION_STRING "([^"]*)"', f.read())
            return m.group(1) if m else None
    except OSError:
        return None


def host_info(loadavg_start: Optional[List[float]]) -> Dict[str, Any]:
    u = platform.uname()
    return {
        "hostname": socket.gethostname(),
        "kernel": f"{u.system} {u.release}",
        "machine": u.machine,
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "loadavg_start": loadavg_start,
        "loadavg_end": list(os.getloadavg()),
        "python": platform.python_version(),
        "luajit": _run("luajit", "-v"),
        "sbcl": _run("sbcl", "--version"),
        "cc": _run(os.environ.get("CC", "cc"), "--version"),
    }


def read_jsonl(path: str) -> List[Any]:
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise BenchJSONError(f"{path}:{n}: not JSON ({e}): {line.strip()[:200]}")
    return records


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def assemble(jsonl: str, out: str, languages: List[str], started: str, quick: bool,
             loadavg_start: Optional[List[float]]) -> Dict[str, Any]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    commit = _run("git", "-C", root, "rev-parse", "HEAD")
    dirty = _run("git", "-C", root, "status", "--porcelain", "--untracked-files=no")
    doc = {
        "schema": SCHEMA,
        "started": started,
        "finished": now_utc(),
        "quick": quick,
        "lipc_version": _lipc_version(root),
        "git_commit": commit,
        "git_dirty": None if commit is None else bool(dirty),
        "host": host_info(loadavg_start),
        "records": read_jsonl(jsonl),
    }
    check_document(doc, languages)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)  # never a half-written file where the last good one was
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jsonl")
    ap.add_argument("--out")
    ap.add_argument("--check", help="validate an existing bench.json instead of assembling one")
    ap.add_argument("--languages", default=",".join(LANGUAGES))
    ap.add_argument("--started", default=None)
    ap.add_argument("--loadavg-start", default=None, help="three numbers, space-separated")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    languages = [x for x in a.languages.split(",") if x]
    try:
        if a.check:
            with open(a.check) as f:
                doc = json.load(f)
            check_document(doc, languages)
            print(f"{a.check}: schema {SCHEMA}, {len(doc['records'])} records, valid")
            return 0
        if not a.jsonl or not a.out:
            ap.error("--jsonl and --out are required (or --check FILE)")
        load = [float(x) for x in a.loadavg_start.split()[:3]] if a.loadavg_start else None
        doc = assemble(a.jsonl, a.out, languages, a.started or now_utc(), a.quick, load)
    except (BenchJSONError, OSError, ValueError) as e:
        print(f"bench.json: INVALID: {e}", file=sys.stderr)
        return 1
    counts = {lang: sum(r["language"] == lang for r in doc["records"]) for lang in languages}
    print(f"wrote {a.out}: {len(doc['records'])} records ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
