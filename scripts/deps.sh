#!/usr/bin/env bash
# Installs what building lipc needs on a fresh Debian machine (12 or later),
# with `deps.sh release` also zig (the release build's compiler), and with
# `deps.sh test` also what testing and packaging it needs:
#  - Debian packages: C toolchain, LuaJIT, SBCL, CFFI, FiveAM and friends;
#    for tests also Debian's pytest, venv and luarocks (never pip into
#    Debian's own Python: PEP 668 forbids it, and Debian ships them);
#  - a Go at least as new as go.mod's `go` line: the PATH's when it is new
#    enough, otherwise Go's own toolchain module (golang.org/toolchain, the
#    same download `GOTOOLCHAIN` makes) fetched through the module proxy by
#    whatever Go there is (Debian's golang-go, 1.19 on Debian 12, when there
#    is none) and kept in build/toolchain, which the Makefile puts first on
#    the PATH;
#  - the Go modules, through the module proxy;
#  - for release and test: zig, from PyPI's ziglang package (its own venv,
#    build/venv-zig; build/zig links to the binary), which the release
#    build links with against an old glibc's symbol versions (Makefile
#    RELEASE_GLIBC).
# Safe to run again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
what=${1:-build}

# The toolchain installed when the PATH has no Go new enough: the one CI uses.
GO_TOOLCHAIN=go1.26.8
# zig for the release build: one pinned version, so that every release
# machine links the same way.
ZIGLANG=0.17.0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
apt_install() { # packages...: installs those not installed yet
  local missing="" p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  echo "deps: installing Debian packages:$missing"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

apt_install ca-certificates gcc libc6-dev make pkg-config luajit sbcl cl-cffi cl-fiveam \
  cl-trivial-garbage cl-bordeaux-threads
# A minimal Debian has no python3 at all (the demo and the tests need one).
command -v python3 >/dev/null 2>&1 || apt_install python3

# Python: Debian's own python3 takes Debian's packages; any other python3
# (pyenv, a venv, a distribution without EXTERNALLY-MANAGED) takes pip's.
debian_python() {
  local stdlib
  stdlib=$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
  [ -e "$stdlib/EXTERNALLY-MANAGED" ] && dpkg -S "$stdlib/EXTERNALLY-MANAGED" >/dev/null 2>&1
}
if [ "$what" = test ]; then
  apt_install luarocks procps valgrind  # procps: the suites run kill(1); valgrind: a C host under it
  # CPython's own test_subprocess runs on lipc in make test: its `test`
  # package (python.org and pyenv builds have it; Debian's python3 needs
  # libpython3.X-testsuite).
  python3 -c 'import test.test_subprocess' 2>/dev/null ||
    apt_install "libpython3.$(python3 -c 'import sys; print(sys.version_info.minor)')-testsuite"
  if debian_python; then
    python3 -c 'import pytest' 2>/dev/null || apt_install python3-pytest
    python3 -c 'import filelock' 2>/dev/null || apt_install python3-filelock
    python3 -c 'import daemon' 2>/dev/null || apt_install python3-daemon
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  else
    # filelock: the tests meet its locks; python-daemon (module daemon): a
    # daemon's close-all must spare lipc.runtime_fds(); posix_ipc: lipc's
    # semaphores and shared memory are its objects too (Debian has no
    # package of it: with Debian's python3 those tests are skipped)
    for m in pytest filelock daemon posix_ipc; do
      pkg=$m; [ "$m" = daemon ] && pkg=python-daemon
      python3 -c "import $m" 2>/dev/null || { echo "deps: installing $pkg"; python3 -m pip install -q "$pkg"; }
    done
  fi
fi

# Go
need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' go.mod)
go_version() { # go binary -> its version (1.22.3), or nothing
  (cd / && GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null | sed -n 's/^go\([0-9.]*\).*/\1/p')
}
new_enough() { # version
  [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$need" "$1" | sort -V | head -n1)" = "$need" ]
}
go=""
for g in "$ROOT/build/toolchain/bin/go" "$(command -v go || true)"; do
  if [ -n "$g" ] && [ -x "$g" ] && new_enough "$(go_version "$g")"; then go=$g; break; fi
done
if [ -z "$go" ]; then
  boot=$(command -v go || true)
  if [ -z "$boot" ]; then
    apt_install golang-go
    boot=$(command -v go)
  fi
  echo "deps: go.mod needs Go >= $need; the PATH has $( [ -n "$(go_version "$boot")" ] && echo "Go $(go_version "$boot")" || echo none)."
  arch=$(uname -m)
  case $arch in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac
  mod="golang.org/toolchain@v0.0.1-$GO_TOOLCHAIN.linux-$arch"
  echo "deps: fetching $GO_TOOLCHAIN ($mod) through the Go module proxy"
  dir=$(cd / && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$boot" mod download -json "$mod" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$dir" ] && [ -d "$dir/bin" ] || { echo "deps: could not fetch $mod" >&2; exit 1; }
  # A Go before 1.21 unpacks modules without execute bits; Go's own
  # toolchain switch sets them the same way.
  find "$dir/bin" "$dir/pkg/tool" -type f ! -perm -u+x -exec chmod a+x {} + 2>/dev/null || true
  mkdir -p build
  ln -sfn "$dir" build/toolchain
  go=$ROOT/build/toolchain/bin/go
  new_enough "$(go_version "$go")" || { echo "deps: $go does not run" >&2; exit 1; }
fi
GOTOOLCHAIN=local "$go" mod download

# zig (release, test)
if [ "$what" != build ]; then
  zvenv=$ROOT/build/venv-zig
  if [ "$("$ROOT/build/zig" version 2>/dev/null)" != "$ZIGLANG" ]; then
    python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
    echo "deps: installing zig $ZIGLANG (PyPI ziglang) into $zvenv"
    rm -rf "$zvenv" && python3 -m venv "$zvenv"
    "$zvenv/bin/python" -m pip install -q --disable-pip-version-check "ziglang==$ZIGLANG"
    ln -sfn "$("$zvenv/bin/python" -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/zig" "$ROOT/build/zig"
    [ "$("$ROOT/build/zig" version)" = "$ZIGLANG" ] || { echo "deps: $ROOT/build/zig does not run" >&2; exit 1; }
  fi
fi
# Windows cross-build and Wine test runtimes (issue 13; scripts/windows/setup.sh says what)
if [ "$what" = test ]; then "$ROOT/scripts/windows/setup.sh"; fi
echo "deps: ready (Go $(go_version "$go"): $go)"
