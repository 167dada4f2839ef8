#!/usr/bin/env bash
# lipc on Windows, tested under Wine: `scripts/windows/test.sh [part...]`
# with parts c, go, python, luajit (default: all). Builds lipc.dll (make
# windows), sources scripts/windows/env.sh, starts one wineserver for the
# whole run and stops it at the end. Each part prints "N passed, N failed"
# or its runner's own summary and fails the run if anything failed.
# Tests that Wine cannot pass (windows-wine.md, gaps 1-6) are skipped under
# Wine only, each naming its gap (LIPC_UNDER_WINE=1 tells them).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
make -s windows || exit 1
. scripts/windows/env.sh
wine_up || exit 1
trap wine_down EXIT
export LIPC_UNDER_WINE=1
W=$ROOT/build/windows
CCW=x86_64-w64-mingw32-gcc
status=0

part_c() { # every tests/windows/c/test_*.c, built against the import library
  local ok=0 t name
  mkdir -p "$W/tests"
  cp "$W/lipc.dll" "$W/tests/"
  # The header's functions, for the export check (test_base.c).
  python3 - >"$W/tests/functions.inc" <<'PY'
import re
t = re.sub(r"/\*.*?\*/", " ", open("include/lipc.h").read(), flags=re.S)
for m in re.finditer(r"LIPC_API\s+[\w\s\*]*?\b(lipc_\w+)\s*\(", t):
    print("F(%s)" % m.group(1))
PY
  for t in tests/windows/c/test_*.c; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .c)
    $CCW -Wall -Wextra -Werror -O2 -Iinclude -Itests/c -Itests/windows/c -I"$W/tests" -o "$W/tests/$name.exe" "$t" \
      -L"$W" -llipc -lversion || return 1
    echo "--- $name"
    win_c "$W/tests/$name.exe" || ok=1
  done
  # tests/windows/c/static_*.c: tests of capi's internal functions (which
  # lipc.dll does not export), linked with the archive the DLL is made of.
  for t in tests/windows/c/static_*.c; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .c)
    $CCW -Wall -Wextra -Werror -O2 -DLIPC_STATIC -Iinclude -Itests/c -Itests/windows/c -o "$W/tests/$name.exe" "$t" \
      -Wl,--whole-archive "$W/obj/lipc.a" -Wl,--no-whole-archive -lntdll -lws2_32 -lwinmm || return 1
    echo "--- $name"
    win_c "$W/tests/$name.exe" || ok=1
  done
  # lipc's shm "x" is Python's SharedMemory("x"): checked with the Windows CPython.
  if [ -e "$W/python/python.exe" ]; then
    echo "--- shm_interop.py"
    win_python "$(win_path tests/windows/shm_interop.py)" "$(win_path "$W/tests/lipc.dll")" || ok=1
  fi
  return $ok
}

part_go() { # Go packages with Windows code, their tests run under Wine (go_windows_amd64_exec)
  local pkgs
  pkgs=$(grep -v '^#' tests/windows/go-packages.txt | xargs)
  [ -n "$pkgs" ] || return 0
  CGO_ENABLED=1 CC=$CCW GOOS=windows GOARCH=amd64 ${GO:-go} test $pkgs
}

part_python() { [ -x scripts/windows/test-python.sh ] && scripts/windows/test-python.sh; }
part_luajit() { [ -x scripts/windows/test-luajit.sh ] && scripts/windows/test-luajit.sh; }

parts=${*:-c go python luajit}
for p in $parts; do
  echo "--- windows $p"
  if ! "part_$p"; then status=1; echo "--- windows $p: FAILED"; fi
done
exit $status
