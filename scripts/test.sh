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
  for t in test_basics test_handles test_fork test_proc test_proc_life test_edges test_sync test_mem \
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

# mypy --strict on the Python package (bindings/python/mypy.ini). The modules
# a [mypy-...] section of mypy.ini still exempts are checked without it and
# their errors listed, without failing the stage, until it is deleted.
python_types() {
  local cfg=bindings/python/mypy.ini cache="$ROOT/build/mypy-cache" exempt floor
  floor=$(sed -n 's/^requires-python = ">=\(.*\)"$/\1/p' bindings/python/pyproject.toml)
  grep -qx "python_version = $floor" $cfg ||
    { echo "$cfg: python_version must be requires-python's floor ($floor)"; return 1; }
  (cd bindings/python && python3 -m mypy --config-file mypy.ini --cache-dir "$cache") || return 1
  python_floor_smoke "$floor" || return 1
  exempt=$(sed -n 's/^\[mypy-\(.*\)\]$/\1/p' $cfg | tr ',' ' ')
  [ -z "$exempt" ] && return 0
  echo "--- exempt in mypy.ini until clean (listed, not failing): $exempt"
  sed '/^\[mypy-/,$d' $cfg > "$ROOT/build/mypy-all.ini"
  (cd bindings/python && python3 -m mypy --config-file "$ROOT/build/mypy-all.ini" --cache-dir "$cache" |
     grep -E "^lipc/($(echo "$exempt" | sed 's/lipc\.//g; s/ /|/g'))\.py:|^Found") || true
}

# requires-python's floor at run time too, when an interpreter of it is here
# (python3.X on the PATH, or pyenv's): every module imports, a few round trips.
python_floor_smoke() { # floor
  local py="" v
  if "python$1" -c pass 2>/dev/null; then py="python$1"
  elif command -v pyenv >/dev/null; then
    v=$(pyenv versions --bare 2>/dev/null | grep -E "^$1\.[0-9]+$" | tail -1)
    [ -n "$v" ] && py="$(pyenv root)/versions/$v/bin/python"
  fi
  if [ -z "$py" ]; then echo "--- no Python $1 here: its floor is checked by mypy only"; return 0; fi
  echo "--- Python $1 ($py): import and round trips"
  PYTHONPATH=bindings/python "$py" - <<'PY'
import os, lipc
assert lipc.run(["echo", "hi"], capture_output=True, text=True, timeout=10).stdout == "hi\n"
n = "floor-smoke-%d" % os.getpid()
with lipc.Semaphore(n, create=True, initial=1, unlink_on_close=True) as got:
    assert got
with lipc.SharedMemory(n, create=True, size=4096, unlink_on_close=True) as shm:
    shm.buf[:2] = b"ok"
    assert bytes(shm.buf[:2]) == b"ok"
assert lipc.quote_sh("a b") == "'a b'"
print("python floor smoke: ok")
PY
}

# Every code block of every README runs as written and every link stays in the
# repository (tests/docs/check_docs.py says how each kind of block runs).
docs_blocks() {
  python3 tests/docs/check_docs.py --selftest && python3 tests/docs/check_docs.py
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
  run "python types (mypy --strict)" python_types
  run "luajit binding" luajit bindings/luajit/tests/run.lua
  run "lisp binding (FiveAM)" bindings/lisp/run-tests.sh
  run "eazy-process on lipc (FiveAM)" bindings/lisp/eazy-process/run-tests.sh
  run "lisp host soak" bindings/lisp/soak/run-soak.sh
  run "install + pkg-config" install_test
  run "readme code blocks and links" docs_blocks
fi

echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
