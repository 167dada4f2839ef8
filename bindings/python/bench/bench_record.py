"""The machine-readable side of the Python benchmarks: one JSON object per
printed figure, appended as a line to the file LIPC_BENCH_JSONL names
(scripts/bench.sh sets it and assembles build/bench.json from every
language's lines). Without the variable nothing is written."""
from __future__ import annotations

import json
import math
import os
from typing import Optional


def _number(v: Optional[float]) -> Optional[float]:
    return v if v is not None and math.isfinite(v) else None


def record(name: str, value: float, unit: str, base_name: Optional[str] = None,
           base_value: Optional[float] = None) -> None:
    path = os.environ.get("LIPC_BENCH_JSONL")
    if not path:
        return
    ratio = value / base_value if base_name is not None and base_value else None
    line = json.dumps({"language": "python", "name": name, "value": _number(value), "unit": unit,
                       "baseline_name": base_name, "baseline_value": _number(base_value) if base_name else None,
                       "ratio": _number(ratio)})
    with open(path, "a") as f:  # append: several benchmarks (and languages) share the file
        f.write(line + "\n")
