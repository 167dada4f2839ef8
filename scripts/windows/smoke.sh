#!/usr/bin/env bash
# Proves the Windows toolchain and Wine set-up (scripts/windows/setup.sh) end
# to end before lipc's own Windows tests rely on them: a Go c-shared DLL
# (tests/windows/smoke/dll) cross-built with mingw is loaded and called from a
# mingw C program, from LuaJIT's ffi.load and from the Windows CPython's
# ctypes, and a cgo test package runs with `go test` under Wine through
# go_windows_amd64_exec. Each prints ok; the script fails if any fails.
# Builds into build/windows/smoke/.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
scripts/windows/setup.sh || exit 1
. scripts/windows/env.sh
# The Go the Makefile uses: deps.sh's toolchain when it made one, else the PATH's.
[ -x build/toolchain/bin/go ] && export PATH="$ROOT/build/toolchain/bin:$PATH"
export GOTOOLCHAIN=local GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc
OUT=$LIPC_WIN/smoke
mkdir -p "$OUT"
trap wine_down EXIT
wine_up || exit 1

failed=0
check() { # name command...
  local name=$1
  shift
  if "$@"; then echo "smoke: $name ok"; else echo "smoke: $name FAILED" >&2; failed=$((failed + 1)); fi
}

check "go c-shared dll build" go build -buildmode=c-shared -o "$OUT/smoke.dll" ./tests/windows/smoke/dll || exit 1
check "dll exports" sh -c 'x86_64-w64-mingw32-objdump -p "$1" | grep -qw smoke_c_twice &&
                            x86_64-w64-mingw32-objdump -p "$1" | grep -qw smoke_go_add' sh "$OUT/smoke.dll"
check "mingw c driver build" x86_64-w64-mingw32-gcc -Wall -Wextra -Werror -O2 -o "$OUT/driver.exe" tests/windows/smoke/driver.c
dll=$(win_path "$OUT/smoke.dll")
check "c (LoadLibrary)" win_c "$OUT/driver.exe" "$dll"
check "luajit (ffi.load)" win_luajit "$(win_path tests/windows/smoke/smoke.lua)" "$dll"
check "python (ctypes)" win_python "$(win_path tests/windows/smoke/smoke.py)" "$dll"
check "go test -exec" go test -count=1 ./tests/windows/smoke/gotest

echo "smoke: $((7 - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
