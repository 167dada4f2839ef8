"""build/bench.json: `scripts/bench.sh --quick` runs every language's
benchmarks with tiny counts and must leave a bench.json that
scripts/bench_json.py accepts (one record per figure, from C, LuaJIT,
Python and Lisp); and the checker must refuse what later comparisons would
misread. Nothing here looks at a figure's size: the quick run's numbers mean
nothing. Run with pytest from the repository root, after `make`."""
import copy
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import bench_json  # noqa: E402

LANGS = list(bench_json.LANGUAGES)


SHM = pathlib.Path("/dev/shm")


def bench_names():
    """The names in /dev/shm that a benchmark made (each has "bench" in it)."""
    return {p.name for p in SHM.iterdir() if "bench" in p.name} if SHM.is_dir() else set()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    env = dict(os.environ, LIPC_BENCH_JSON=str(out))
    before = bench_names()
    r = subprocess.run([str(ROOT / "scripts" / "bench.sh"), "--quick"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"bench.sh --quick failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return out, r.stdout, bench_names() - before


def test_quick_run_leaves_no_names_behind(quick_run):
    """Every benchmark unlinks the named objects it made: a name left in
    /dev/shm outlives the run, and a later process with the same pid
    failed its exclusive create on it (Lisp's placement children did)."""
    _, _, left = quick_run
    assert not left, sorted(left)


def test_quick_run_writes_a_valid_file(quick_run):
    out, _, _ = quick_run
    doc = json.loads(out.read_text())
    bench_json.check_document(doc, LANGS)
    assert doc["quick"] is True


def test_every_printed_figure_is_recorded(quick_run):
    """Each language's printed table and its records tell the same story:
    every record's name appears in the printed output of the run."""
    out, stdout, _ = quick_run
    doc = json.loads(out.read_text())
    for lang in LANGS:
        names = [r["name"] for r in doc["records"] if r["language"] == lang]
        assert names, lang
    for r in doc["records"]:
        base = r["name"].split(" (")[0] if r["language"] == "lisp" else r["name"]
        assert base.split(",")[0] in stdout, r


def good_doc():
    rec = {"language": "c", "name": "x", "value": 2.0, "unit": "ns", "baseline_name": "y",
           "baseline_value": 1.0, "ratio": 2.0}
    recs = []
    for lang in LANGS:
        r = dict(rec, language=lang)
        recs.append(r)
        recs.append(dict(r, name="alone", baseline_name=None, baseline_value=None, ratio=None))
    return {"schema": 1, "started": "2026-01-01T00:00:00Z", "finished": "2026-01-01T00:01:00Z",
            "quick": False, "lipc_version": "0.1.0", "git_commit": None, "git_dirty": None,
            "host": {"hostname": "h"}, "records": recs}


def test_checker_accepts_a_good_document():
    bench_json.check_document(good_doc(), LANGS)


@pytest.mark.parametrize("breakage", [
    lambda d: d["records"][0].__setitem__("ratio", 3.0),               # ratio disagrees
    lambda d: d["records"][0].__setitem__("value", float("nan")),      # not a number
    lambda d: d["records"][0].__setitem__("value", "2.0"),             # a string
    lambda d: d["records"][0].pop("unit"),                             # a key missing
    lambda d: d["records"][0].__setitem__("extra", 1),                 # a key too many
    lambda d: d["records"][1].__setitem__("ratio", 1.0),               # ratio without baseline
    lambda d: d["records"][0].__setitem__("language", "rust"),         # unknown language
    lambda d: d.__setitem__("records", [r for r in d["records"] if r["language"] != "lisp"]),
    lambda d: d["records"].append(copy.deepcopy(d["records"][0])),     # the same figure twice
    lambda d: d.__setitem__("schema", 2),
    lambda d: d.pop("host"),
])
def test_checker_refuses(breakage):
    d = good_doc()
    breakage(d)
    with pytest.raises(bench_json.BenchJSONError):
        bench_json.check_document(d, LANGS)


def test_a_malformed_line_fails_the_assembly(tmp_path):
    lines = tmp_path / "b.jsonl"
    lines.write_text('{"language": "c", "name": "x"\n')
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_json.py"), "--jsonl", str(lines),
                        "--out", str(tmp_path / "b.json"), "--languages", "c"], capture_output=True, text=True)
    assert r.returncode == 1 and "INVALID" in r.stderr
    assert not (tmp_path / "b.json").exists()
