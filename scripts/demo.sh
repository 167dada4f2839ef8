#!/usr/bin/env bash
# The main demonstration: lipc loaded from C, LuaJIT, Python and Common Lisp,
# each printing what it sees, then each language's real examples (a
# child-to-child pipeline, a child under a memory limit). Expects
# build/liblipc.so (make builds it first).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export LIPC_LIBRARY="$ROOT/build/liblipc.so"
export LUA_PATH="$ROOT/bindings/luajit/?.lua;$ROOT/bindings/luajit/?/init.lua;;"
export PYTHONPATH="$ROOT/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
CC=${CC:-cc}

section() { printf '\n== %s\n' "$1"; }

section "C"
for ex in examples/c/*.c; do
  bin=build/examples/$(basename "$ex" .c)
  mkdir -p build/examples
  $CC -Wall -Wextra -Werror -Iinclude -o "$bin" "$ex" -Lbuild -llipc -Wl,-rpath,"$ROOT/build"
  "$bin"
done

section "LuaJIT"
for ex in hello proc_demo; do
  [ -f "bindings/luajit/examples/$ex.lua" ] && luajit "bindings/luajit/examples/$ex.lua"
done

section "Python"
for ex in hello proc_demo; do
  [ -f "bindings/python/examples/$ex.py" ] && python3 "bindings/python/examples/$ex.py"
done

section "Common Lisp (SBCL)"
for ex in hello proc-demo; do
  [ -f "bindings/lisp/examples/$ex.lisp" ] &&
    sbcl --noinform --non-interactive --no-userinit --load "bindings/lisp/examples/$ex.lisp"
done
echo
echo "demo: done"
