#!/usr/bin/env bash
# Runs lipc beside its baselines, language by language, in one run each, and
# prints medians and ratios. Nothing here asserts a speed. Expects
# build/liblipc.so (make builds it first).
#
# Every printed figure is also recorded (each benchmark appends one JSON line
# per figure to $LIPC_BENCH_JSONL), and scripts/bench_json.py assembles and
# checks build/bench.json (or $LIPC_BENCH_JSON) from them: one record per
# figure, with the run's time and host. A malformed record, or a language
# with none, fails the run.
#
#   scripts/bench.sh            the full run (`make bench`)
#   scripts/bench.sh --quick    every benchmark with tiny counts: the figures
#                               mean little; it checks the machinery (and
#                               bench.json's schema) in a minute or two
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LIPC_LIBRARY="$ROOT/build/liblipc.so"
export LUA_PATH="$ROOT/bindings/luajit/?.lua;$ROOT/bindings/luajit/?/init.lua;;"
export PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
quick=""
if [ "${1:-}" = --quick ]; then
  quick=--quick
  # the knobs each benchmark reads (see its header comment)
  export LIPC_BENCH_ROUNDS=1 LIPC_BENCH_ROUND_MS=10 LIPC_BENCH_SPAWNS=10 LIPC_BENCH_READS=1 \
    LIPC_BENCH_LINES=10 LIPC_BENCH_HANDOFFS=10 LIPC_BENCH_PAIRS=2000 LIPC_BENCH_CALLS=20000 \
    LIPC_BENCH_MIB=8 LIPC_BENCH_PLACEMENTS=2
fi
OUT_JSON=${LIPC_BENCH_JSON:-$ROOT/build/bench.json}
export LIPC_BENCH_JSONL="$OUT_JSON"l
mkdir -p "$(dirname "$OUT_JSON")"
rm -f "$LIPC_BENCH_JSONL"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
read -r l1 l5 l15 _ < /proc/loadavg
status=0
run() { echo; echo "== $1"; shift; "$@" || { echo "== FAILED: $*" >&2; status=1; }; }

run "C" tests/bench/build.sh run
for b in bindings/luajit/bench/bench_*.lua; do
  case $b in */bench_record.lua) continue ;; esac
  run "LuaJIT $(basename "$b")" luajit "$b"
done
for b in bindings/python/bench/bench_*.py; do
  case $b in */bench_record.py) continue ;; esac
  run "Python $(basename "$b")" python3 "$b"
done
for b in bindings/lisp/bench/bench-*.lisp; do
  case $b in */bench-record.lisp) continue ;; esac
  run "Lisp $(basename "$b")" sbcl --noinform --non-interactive --no-userinit --load "$b"
done
echo
python3 scripts/bench_json.py --jsonl "$LIPC_BENCH_JSONL" --out "$OUT_JSON" --started "$started" \
  --loadavg-start "$l1 $l5 $l15" $quick || status=1
exit $status
