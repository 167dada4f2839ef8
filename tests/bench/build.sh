#!/usr/bin/env bash
# Builds the C call-cost benchmark against build/liblipc.so, and runs it
# with `tests/bench/build.sh run`. The yardstick functions live in a shared
# library of their own (build/bench/libbenchbase.so) so that they, like
# lipc's entry points, are reached through the PLT.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$PWD
CC=${CC:-cc}
OUT=build/bench
[ -f build/liblipc.so ] || { echo "build/liblipc.so is missing: run make first" >&2; exit 1; }
mkdir -p "$OUT"
$CC -O2 -Wall -Wextra -Werror -fPIC -shared -o "$OUT/libbenchbase.so" tests/bench/baseline.c
$CC -O2 -Wall -Wextra -Werror -I include -o "$OUT/bench_calls" tests/bench/bench_calls.c \
  -L build -L "$OUT" -llipc -lbenchbase -lpthread \
  -Wl,-rpath,"$ROOT/build" -Wl,-rpath,"$ROOT/$OUT"
$CC -O2 -Wall -Wextra -Werror -I include -o "$OUT/bench_proc" tests/bench/bench_proc.c \
  -L build -llipc -Wl,-rpath,"$ROOT/build"
$CC -O2 -Wall -Wextra -Werror -I include -o "$OUT/bench_sync_mem" tests/bench/bench_sync_mem.c \
  -L build -L "$OUT" -llipc -lbenchbase -lpthread -lrt -Wl,-rpath,"$ROOT/build" -Wl,-rpath,"$ROOT/$OUT"
$CC -O2 -Wall -Wextra -Werror -I include -o "$OUT/bench_lock_wake" tests/bench/bench_lock_wake.c \
  -L build -llipc -Wl,-rpath,"$ROOT/build"
$CC -O2 -Wall -Wextra -Werror -I include -o "$OUT/bench_scale" tests/bench/bench_scale.c \
  -L build -llipc -lpthread -Wl,-rpath,"$ROOT/build"
if [ "${1:-}" = run ]; then
  "$OUT/bench_calls"
  "$OUT/bench_proc"
  "$OUT/bench_sync_mem"
  "$OUT/bench_lock_wake"
  "$OUT/bench_scale"
fi
