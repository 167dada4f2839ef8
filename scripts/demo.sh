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

# Every example a binding ships, hello first.
examples() { # dir ext
  [ -f "$1/hello.$2" ] && echo "$1/hello.$2"
  for f in "$1"/*."$2"; do [ -e "$f" ] && [ "$(basename "$f")" != "hello.$2" ] && echo "$f"; done
}

section "LuaJIT"
for ex in $(examples bindings/luajit/examples lua); do
  echo "-- $ex"
  luajit "$ex"
done

section "Python"
for ex in $(examples bindings/python/examples py); do
  echo "-- $ex"
  python3 "$ex"
done

section "Common Lisp (SBCL)"
for ex in $(examples bindings/lisp/examples lisp) $(examples bindings/lisp/eazy-process/examples lisp); do
  echo "-- $ex"
  sbcl --noinform --non-interactive --no-userinit --load "$ex"
done
echo
echo "demo: done"
