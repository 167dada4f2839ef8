#!/usr/bin/env bash
# Cross-builds lipc.dll for Windows x64 from Linux (make windows): the Go
# side as a C archive, linked into the DLL by mingw with a .def file made
# from include/lipc.h, so that exactly the header's lipc_* functions are
# exported (Go's own c-shared mode also exports its //export callbacks and
# leaves a libgcc DLL dependency). Outputs in build/windows/: lipc.dll, its
# import library liblipc.dll.a, lipc.def, and lipc.h.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=build/windows
CC_WIN=${CC_WIN:-x86_64-w64-mingw32-gcc}
WINDRES=${WINDRES:-x86_64-w64-mingw32-windres}
command -v "$CC_WIN" >/dev/null || { echo "make windows needs mingw ($CC_WIN): scripts/windows/setup.sh installs it" >&2; exit 1; }
mkdir -p "$OUT/obj"
VERSION=$(sed -n 's/^#define LIPC_VERSION_STRING "\(.*\)"/\1/p' include/lipc.h)
read -r MAJ MIN PAT < <(sed -n 's/^#define LIPC_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' include/lipc.h | paste -sd' ')

# The export list: every function the header declares, nothing else.
{
  echo "LIBRARY lipc.dll"
  echo "EXPORTS"
  python3 - <<'PY'
import re
t = re.sub(r"/\*.*?\*/", " ", open("include/lipc.h").read(), flags=re.S)
for m in re.finditer(r"LIPC_API\s+[\w\s\*]*?\b(lipc_\w+)\s*\(", t):
    print("  " + m.group(1))
PY
} > "$OUT/lipc.def.tmp"
mv "$OUT/lipc.def.tmp" "$OUT/lipc.def"

# The version resource: what Windows shows as the file's version, and what
# the tests read back (the counterpart of the soname check).
cat > "$OUT/obj/version.rc" <<RC
1 VERSIONINFO
FILEVERSION $MAJ,$MIN,$PAT,0
PRODUCTVERSION $MAJ,$MIN,$PAT,0
FILETYPE 2
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "FileDescription", "lipc: inter-process communication for C, LuaJIT and Python"
      VALUE "FileVersion", "$VERSION"
      VALUE "ProductName", "lipc"
      VALUE "ProductVersion", "$VERSION"
      VALUE "OriginalFilename", "lipc.dll"
      VALUE "InternalName", "lipc-$MAJ"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
"$WINDRES" -O coff -o "$OUT/obj/version.o" "$OUT/obj/version.rc"

CGO_ENABLED=1 CC="$CC_WIN" GOOS=windows GOARCH=amd64 ${GO:-go} build -buildmode=c-archive \
  -ldflags='-s -w' -o "$OUT/obj/lipc.a" ./capi
rm -f "$OUT/obj/lipc.h" # Go's header of its own exports: not API
"$CC_WIN" -shared -o "$OUT/lipc.dll.tmp" "$OUT/lipc.def" "$OUT/obj/version.o" \
  -Wl,--whole-archive "$OUT/obj/lipc.a" -Wl,--no-whole-archive \
  -static-libgcc -Wl,--out-implib,"$OUT/liblipc.dll.a" -Wl,--no-insert-timestamp -s \
  -lntdll -lws2_32 -lwinmm
mv "$OUT/lipc.dll.tmp" "$OUT/lipc.dll"
cp include/lipc.h "$OUT/lipc.h"
