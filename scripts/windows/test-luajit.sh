#!/usr/bin/env bash
# The LuaJIT part of lipc's Windows tests (scripts/windows/test.sh luajit):
# bindings/luajit/tests/run.lua under the Windows LuaJIT (win_luajit) with
# the binding on LUA_PATH (Windows paths) and LIPC_LIBRARY the freshly built
# build/windows/lipc.dll; the whole suite runs, the compat layers' tests
# (test_compat_luaipc.lua, test_compat_luapower.lua, test_windows_compat.lua)
# included. POSIX-only tests skip with their reason, Wine's gaps skip under
# Wine only (LIPC_UNDER_WINE=1). test_windows.lua also loads the binding
# from a rock's layout (luarocks cannot run under Wine here). Called by test.sh, which has sourced env.sh, run wine_up and
# built lipc.dll; runs on its own too (it does those itself then).
#   scripts/windows/test-luajit.sh [pattern]   only tests whose file:name
#                                              contains pattern
set -uo pipefail
cd "$(dirname "$0")/../.."
if ! declare -F win_luajit >/dev/null; then
  make -s windows || exit 1
  . scripts/windows/env.sh
  wine_up || exit 1
  trap wine_down EXIT
  export LIPC_UNDER_WINE=1
fi
B=$(win_path bindings/luajit)
export LUA_PATH="$B\\?.lua;$B\\?\\init.lua;;"
export LIPC_LIBRARY
LIPC_LIBRARY=$(win_path build/windows/lipc.dll)
export LUAJIT
LUAJIT=$(win_path build/windows/luajit/luajit.exe)
status=0
log=build/windows/luajit-suite.log
# stdin /dev/null: nothing here reads the terminal; output through a pipe
# (tee) so that a child the suite leaves behind cannot hold it (env.sh).
win_luajit "$(win_path bindings/luajit/tests/run.lua)" "$@" </dev/null 2>&1 | tee "$log" || status=1
# Wine's gap 10 (docs/windows-wine.md): now and then a test's child dies
# of a Go runtime fatal error inside Wine's wait, and the test that waited
# for it fails. Under Wine only, when the run printed such an error, each
# failed test runs once more by itself, and that run's result stands.
# Only when the runner finished and each of its failures names one test.
ids=$(sed -n 's/^FAIL \([^ :]*:[^ :]*\): .*/\1/p' "$log")
failed=$(sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p' "$log")
if [ $status != 0 ] && [ "${LIPC_UNDER_WINE:-}" = 1 ] && grep -q '^fatal error: runtime\.' "$log" &&
  [ -n "$ids" ] && [ "$failed" = "$(echo "$ids" | wc -l)" ] && [ "$(grep -c '^FAIL ' "$log")" = "$failed" ]; then
  status=0
  for id in $ids; do
    echo "note $id: a Go runtime fatal error was printed during the run (Wine's gap 10): run once more"
    win_luajit "$(win_path bindings/luajit/tests/run.lua)" "$id" </dev/null | cat || status=1
  done
fi
exit $status
