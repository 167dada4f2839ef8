#!/usr/bin/env bash
# Runs lipc beside its baselines, language by language, in one run each, and
# prints medians and ratios. Nothing here asserts a speed. Expects
# build/liblipc.so (make builds it first).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LIPC_LIBRARY="$ROOT/build/liblipc.so"
export LUA_PATH="$ROOT/bindings/luajit/?.lua;$ROOT/bindings/luajit/?/init.lua;;"
export PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
status=0
run() { echo; echo "== $1"; shift; "$@" || status=1; }

run "C" tests/bench/build.sh run
for b in bindings/luajit/bench/*.lua; do run "LuaJIT $(basename "$b")" luajit "$b"; done
for b in bindings/python/bench/*.py; do run "Python $(basename "$b")" python3 "$b"; done
for b in bindings/lisp/bench/*.lisp; do
  run "Lisp $(basename "$b")" sbcl --noinform --non-interactive --no-userinit --load "$b"
done
exit $status
