#!/usr/bin/env bash
# Runs lipc's whole test suite, each part in its own ecosystem's runner, and
# ends with one summary line. `scripts/test.sh soak` runs only the host soaks,
# for as long as LIPC_SOAK_SECONDS / LIPC_SOAK_RUNS say, and the adversarial
# suite's long run (tests/adversarial/run.sh says which variables size it).
# Expects build/liblipc.so (make builds it first).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export LIPC_LIBRARY="$ROOT/build/liblipc.so"
export LIPC_REQUIRE_LIB=1
export LUA_PATH="$ROOT/bindings/luajit/?.lua;$ROOT/bindings/luajit/?/init.lua;;"
CC=${CC:-cc}
passed=0
failed=0
failed_names=""

run() { # name command...
  local name=$1
  shift
  echo
  echo "=== $name"
  local t0=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    failed_names="$failed_names $name"
    echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

c_tests() {
  local ok=0 flags="-Wall -Wextra -Werror -O2 -Iinclude -Itests/c"
  for t in test_basics test_handles test_handle_race test_fork test_proc test_proc_life test_edges test_sync test_mem \
           test_special_files test_named; do
    $CC $flags -o build/$t tests/c/$t.c -Lbuild -llipc -lpthread -lrt -Wl,-rpath,"$ROOT/build" || return 1
    echo "--- $t"; build/$t || ok=1
  done
  $CC $flags -o build/test_host tests/c/test_host.c -ldl || return 1
  echo "--- test_host"; build/test_host build/liblipc.so || ok=1
  return $ok
}

# A plain C host with signal() handlers under a signal storm (F19): trials in
# fresh processes, every call mode, handlers set before and after loading.
signal_storm() { # trials calls
  local flags="-Wall -Wextra -Werror -O2 -Iinclude -Itests/c"
  $CC $flags -o build/storm_signals tests/c/storm_signals.c -ldl -lpthread || return 1
  tests/c/storm_signals.sh build/storm_signals build/liblipc.so "$1" "$2"
}

install_test() {
  local dir
  dir=$(mktemp -d)
  make -s install PREFIX="$dir/prefix" >/dev/null || return 1
  cat > "$dir/prog.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <lipc.h>
int main(void) {
  int64_t v;
  if (strcmp(lipc_version(), LIPC_VERSION_STRING) != 0) return 1;
  if (lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) != 0 || v != 1) return 2;
  printf("installed lipc %s works\n", lipc_version());
  return 0;
}
C
  PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig" $CC -Wall -Wextra -o "$dir/prog" "$dir/prog.c" \
    $(PKG_CONFIG_PATH="$dir/prefix/lib/pkgconfig" pkg-config --cflags --libs lipc) || return 1
  readelf -d "$dir/prefix/lib/liblipc.so" | grep -q 'SONAME.*liblipc.so.0' || { echo "no soname"; return 1; }
  "$dir/prog" && rm -rf "$dir"
}

pytest_run() { # dir: pytest exits 5 when it collected nothing, which is a failure here too
  python3 -m pytest -q -p no:cacheprovider "$@"
}

if [ "${1:-}" = soak ]; then
  run "lisp host soak" bindings/lisp/soak/run-soak.sh
  run "python host soak" python3 -m pytest -q -p no:cacheprovider bindings/python/tests/test_soak.py
  run "c host signal storm" signal_storm "${STORM_TRIALS:-100}" "${STORM_CALLS:-200000}"
  run "adversarial soak (ADV_SEEDS, ADV_CALLS, ADV_ROUNDS, ADV_HANDLE_CYCLES)" tests/adversarial/run.sh soak
else
  run "lint (gofmt, go vet, C -Wall -Wextra)" make -s lint
  run "go core tests" go test ./core/...
  run "c tests" c_tests
  run "c host signal storm" signal_storm "${STORM_TRIALS:-12}" "${STORM_CALLS:-40000}"
  run "adversarial (call fuzzer, names, special files, handles, fork)" tests/adversarial/run.sh quick
  run "abi tests (purego)" env GODEBUG=asyncpreemptoff=1 go test ./tests/abi/...
  run "declarations vs header" pytest_run tests/test_decls.py
  run "python binding (pytest)" pytest_run bindings/python/tests
  run "luajit binding" luajit bindings/luajit/tests/run.lua
  run "lisp binding (FiveAM)" bindings/lisp/run-tests.sh
  run "eazy-process on lipc (FiveAM)" bindings/lisp/eazy-process/run-tests.sh
  run "lisp host soak" bindings/lisp/soak/run-soak.sh
  run "install + pkg-config" install_test
fi

echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
