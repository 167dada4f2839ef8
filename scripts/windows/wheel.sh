#!/usr/bin/env bash
# `scripts/windows/wheel.sh OUTDIR`: the Python wheel for Windows x64,
# lipc-V-py3-none-win_amd64.whl, carrying build/windows/lipc.dll beside the
# package (lipc/lipc.dll, where the loader looks first). make dist calls it
# (scripts/dist.sh); scripts/windows/test-python.sh installs the result into
# the Windows CPython under Wine and tests it. Tagged py3-none like the
# Linux wheel: the package is pure ctypes (no CPython ABI), the DLL is x64
# Windows code. Built with the same setup.py and pyproject.toml as the Linux
# wheel, in the packaging venv dist.sh uses (build/venv-tools).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${1:?usage: wheel.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
DLL=$ROOT/build/windows/lipc.dll
[ -f "$DLL" ] || make -s windows
tools=$ROOT/build/venv-tools
if ! "$tools/bin/python" -c 'import setuptools, wheel' 2>/dev/null; then
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check 'setuptools>=77' wheel build
fi
stage=$ROOT/build/windows/wheel-stage
rm -rf "$stage"
mkdir -p "$stage/include"
(cd bindings/python && cp -R pyproject.toml setup.py README.md MANIFEST.in LICENSE lipc "$stage/")
rm -rf "$stage/lipc/__pycache__" "$stage/lipc/liblipc.so"
cp include/lipc.h "$stage/include/"   # setup.py reads the version there
install -m 0755 "$DLL" "$stage/lipc/lipc.dll"
# bdist_wheel's --plat-name sets the platform tag (setup.py keeps py3-none).
(cd "$stage" && "$tools/bin/python" setup.py -q bdist_wheel --plat-name win_amd64 --dist-dir "$OUT" \
  >"$stage/wheel.log" 2>&1) || { cat "$stage/wheel.log"; exit 1; }
whl=$(ls "$OUT"/lipc-*-py3-none-win_amd64.whl)
# The wheel must carry the DLL and no Linux library.
"$tools/bin/python" - "$whl" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
assert "lipc/lipc.dll" in names and "lipc/__init__.py" in names, sorted(names)
assert not [n for n in names if n.endswith(".so")], sorted(names)
PY
echo "$whl"
