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
python3 -c 'import filelock' 2>/dev/null || { echo "deps: installing filelock (tests meet its locks)"; python3 -m pip install -q filelock; }

command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/dl/); not found on PATH" >&2; exit 1; }
go mod download
echo "deps: ready"
