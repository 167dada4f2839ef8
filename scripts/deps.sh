#!/usr/bin/env bash
# Installs what building and testing lipc needs on a fresh Debian machine:
# Debian packages (C toolchain, LuaJIT, SBCL, CFFI, FiveAM and friends),
# pytest from PyPI, and the Go modules through the module proxy.
# Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

debs="gcc make pkg-config luajit sbcl cl-cffi cl-fiveam cl-trivial-garbage cl-bordeaux-threads"
missing=""
for p in $debs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "deps: installing Debian packages:$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi

python3 -c 'import pytest' 2>/dev/null || { echo "deps: installing pytest"; python3 -m pip install -q pytest; }
# CPython's own test_subprocess runs on lipc in make test: its `test` package
# (python.org and pyenv builds have it; Debian's python3 needs this package).
python3 -c 'import test.test_subprocess' 2>/dev/null || { echo "deps: installing CPython's test package"; \
  $([ "$(id -u)" -ne 0 ] && echo sudo) apt-get install -y -qq "libpython3.$(python3 -c 'import sys; print(sys.version_info.minor)')-testsuite" >/dev/null; }

command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/dl/); not found on PATH" >&2; exit 1; }
go mod download
echo "deps: ready"
