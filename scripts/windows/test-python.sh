#!/usr/bin/env bash
# The Python binding's suite under the Windows CPython under Wine: the
# `python` part of scripts/windows/test.sh, which has built lipc.dll, sourced
# env.sh and started the wineserver (this script does both itself when run
# alone). Two stages:
#  1. bindings/python/tests with pytest, lipc from the source tree
#     (PYTHONPATH) and LIPC_LIBRARY=build/windows/lipc.dll;
#  2. the win_amd64 wheel (build/dist, or built here when `make dist` has not
#     run) installed into a fresh folder as pip installs it for Windows, and a
#     smoke test of that installed copy: it must load the lipc.dll it carries.
# LIPC_UNDER_WINE=1 (test.sh sets it) skips what Wine cannot do, each test
# naming its gap from shared/design/windows-wine.md.
# `test-python.sh [suite] [wheel]` runs only the stages named (default both);
# LIPC_PYTEST_ARGS adds pytest arguments (e.g. -k).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
if ! declare -F win_python >/dev/null; then
  make -s windows || exit 1
  . scripts/windows/env.sh
  wine_up || exit 1
fi
export LIPC_UNDER_WINE=${LIPC_UNDER_WINE:-1}
W=$ROOT/build/windows
status=0

stages=" ${*:-suite wheel} "
if [[ $stages == *" suite "* ]]; then
echo "--- python: bindings/python/tests (Windows CPython under Wine)"
# pytest's cache goes to build/windows (nothing written into the source
# tree); the tests' temporary files go to the prefix's %TEMP%. PYTHONPATH: see env.sh.
# A Windows process that crashes under Wine may still exit 0 (Wine's
# debugger ends it): the run counts only if pytest wrote its report.
report=$W/pytest-python.xml
rm -f "$report"
# A test that hangs prints every thread's stack after faulthandler_timeout
# seconds, and the whole stage ends after LIPC_PY_TIMEOUT (never a hung
# make test).
# The other languages of test_cross_language.py: the C peer built here with
# mingw (lipc.dll beside it) and the luajit.exe setup.sh built.
mkdir -p "$W/tests"
cp "$W/lipc.dll" "$W/tests/"
x86_64-w64-mingw32-gcc -O1 -Wall -Werror -Iinclude -o "$W/tests/peer.exe" bindings/python/tests/helpers/peer.c \
  -L"$W" -llipc || status=1
export LIPC_TEST_CPEER=$(win_path "$W/tests/peer.exe") LIPC_TEST_LUAJIT=$(win_path "$W/luajit/luajit.exe")
cache=$W/pytest-cache log=$W/pytest-python.log
rm -rf "$cache"
run_pytest() { # pytest arguments...
  rm -f "$report"
  LIPC_LIBRARY=$(win_path "$W/lipc.dll") PYTHONPATH="$(win_path bindings/python)" PYTHONDONTWRITEBYTECODE=1 \
    timeout -k 10 "${LIPC_PY_TIMEOUT:-1800}" bash -c '. scripts/windows/env.sh && set -o pipefail && win_python "$@"' _ \
    -X faulthandler -m pytest -q -o cache_dir="$(win_path "$cache")" -rs -o faulthandler_timeout=120 \
    --continue-on-collection-errors --junitxml="$(win_path "$report")" \
    ${LIPC_PYTEST_ARGS:-} "$@" "$(win_path bindings/python/tests)" 2>&1 | tee "$log" || return 1
  [ -s "$report" ] || { echo "python: pytest ended without its report (crashed?): FAILED"; return 1; }
}
run_pytest || status=1
# Wine's gap 10 (docs/windows-wine.md): now and then a test's child dies
# of a Go runtime fatal error inside Wine's wait, and the test that waited
# for it fails. When the run printed such an error and pytest finished,
# the tests that failed run once more (pytest's --last-failed, its cache
# in build/windows), and that run's result stands.
if [ $status != 0 ] && [ -s "$report" ] && grep -q '^fatal error: runtime\.' "$log"; then
  echo "note: a Go runtime fatal error was printed during the run (Wine's gap 10): the failed tests run once more"
  status=0
  run_pytest --last-failed --last-failed-no-failures=none || status=1
fi
fi
[[ $stages == *" wheel "* ]] || exit $status

echo "--- python: the win_amd64 wheel, installed"
wheel=$(ls "$ROOT"/build/dist/lipc-*-win_amd64.whl 2>/dev/null | head -n1)
if [ -z "$wheel" ]; then
  scripts/windows/wheel.sh "$W/dist" >/dev/null || { echo "wheel: build failed"; exit 1; }
  wheel=$(ls "$W"/dist/lipc-*-win_amd64.whl | head -n1)
fi
site=$W/wheel-site
rm -rf "$site"
# pip for Windows: the embeddable CPython has none, so Linux pip installs
# for that platform (the wheel's tag is checked as Windows pip checks it).
python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-compile --no-deps --no-index --only-binary=:all: \
  --platform win_amd64 --python-version 3.13 --implementation cp --target "$site" "$wheel" || exit 1
[ -f "$site/lipc/lipc.dll" ] || { echo "wheel: no lipc/lipc.dll in $wheel"; exit 1; }
# From a folder outside the source tree, with no LIPC_LIBRARY: the
# installed package must load the DLL beside it and work.
cat >"$W/wheel-smoke.py" <<'PY'
import os, sys
import lipc
pkg = os.path.dirname(os.path.abspath(lipc.__file__))
assert os.path.normcase(lipc._lib.PATH) == os.path.normcase(os.path.join(pkg, "lipc.dll")), lipc._lib.PATH
assert "wheel-site" in pkg, pkg
assert lipc.quote_win('a "b"') == '"a \\"b\\""', lipc.quote_win('a "b"')
assert lipc.error_name(lipc.Code.EINVAL) == "LIPC_EINVAL"
sem = lipc.Semaphore(f"lipc-wheel-smoke-{os.getpid()}", create=True, initial=0, unlink_on_close=True)
sem.release()
assert sem.acquire(timeout=5) and not sem.acquire(timeout=0)
sem.close()
print(f"wheel smoke: lipc {lipc.version()} from {pkg} ok")
PY
# win_python's stdin is /dev/null: the script is a file. (win_python is a
# shell function: LIPC_LIBRARY is unset in a subshell, not with env -u.)
(unset LIPC_LIBRARY; cd "$W" && PYTHONPATH="$(win_path "$site")" win_python "$(win_path "$W/wheel-smoke.py")") || status=1
exit $status
