#!/usr/bin/env bash
# Installs what building and testing lipc needs on a fresh Debian machine:
# Debian packages (C toolchain, LuaJIT, SBCL, CFFI, FiveAM and friends),
# pytest and mypy from PyPI (Debian's where pip may not install), and the Go
# modules through the module proxy.
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

for m in pytest mypy; do  # PEP 668: where pip may not install, Debian's python3-<name>
  python3 -c "import $m" 2>/dev/null || { echo "deps: installing $m"; python3 -m pip install -q "$m" 2>/dev/null ||
    { [ "$(id -u)" -ne 0 ] && s=sudo; ${s:-} apt-get update -qq && ${s:-} apt-get install -y -qq "python3-$m" >/dev/null; }; }
done

command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/dl/); not found on PATH" >&2; exit 1; }
go mod download
echo "deps: ready"
