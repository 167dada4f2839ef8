#!/usr/bin/env bash
# The Python binding on every CPython newer than the main one (python3) that
# pyenv has here, newest patch release of each minor version:
# - CPython's own test_subprocess and lock_tests on lipc, under each one
#   (cpython_tests/; each version's test_subprocess has tests the others
#   lack, and the two take ~20 s a version);
# - the binding's pytest suite, from this source tree, under the newest one
#   only: it takes 1.5-2 minutes a version, and what changes from one
#   CPython to the next (ctypes, signals, threads, warnings) shows first in
#   the newest. `--all` runs it under every one.
# Everything runs with DeprecationWarning as an error, so lipc calling
# something a newer CPython deprecates fails here first. The pytest venvs
# (pytest, filelock, python-daemon from PyPI) are kept in build/venv-py<ver>.
# Prints a line and succeeds when there is no newer CPython.
# Usage: bindings/python/newer-pythons.sh [--all]
set -u
cd "$(dirname "$0")"
PYDIR=$PWD
ROOT=$(cd ../.. && pwd)
export LIPC_LIBRARY=${LIPC_LIBRARY:-$ROOT/build/liblipc.so}
all=${1:-}

main=$(python3 -c 'import sys; print(sys.version_info[1])') || exit 1
versions=""
if command -v pyenv >/dev/null; then
  # X.Y.Z only (no pypy, free-threaded "t" builds or virtualenvs); the
  # highest Z of each Y above the main one.
  versions=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' | sort -V |
    awk -F. -v main="$main" '$2 > main { last[$2] = $0 } END { for (y in last) print last[y] }' | sort -V)
fi
if [ -z "$versions" ]; then
  echo "--- no CPython newer than 3.$main here (pyenv versions): skipped"
  exit 0
fi
newest=$(echo "$versions" | tail -1)
echo "--- CPythons newer than 3.$main: $(echo "$versions" | paste -sd' ')"

ok=0
for v in $versions; do
  py=$(pyenv root)/versions/$v/bin/python
  echo "--- Python $v: CPython's test_subprocess and lock_tests on lipc"
  PYTHONWARNINGS=error::DeprecationWarning "$py" cpython_tests/run.py || ok=1
  PYTHONWARNINGS=error::DeprecationWarning "$py" cpython_tests/run_lock_tests.py || ok=1
  [ "$v" = "$newest" ] || [ "$all" = --all ] || continue
  venv=$ROOT/build/venv-py$v
  if ! "$venv/bin/python" -c 'import pytest, filelock, daemon' 2>/dev/null; then
    rm -rf "$venv" && "$py" -m venv "$venv" &&
      "$venv/bin/python" -m pip install -q --disable-pip-version-check pytest filelock python-daemon || { ok=1; continue; }
  fi
  echo "--- Python $v: the binding's pytest suite"
  PYTHONWARNINGS=error::DeprecationWarning "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    -W error::DeprecationWarning "$PYDIR/tests" || ok=1
done
exit $ok
