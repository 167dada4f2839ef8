#!/usr/bin/env bash
# `make test-old-glibc`: the packages `make dist` built, run on a real older
# glibc than this machine's: Debian 11 (glibc 2.31, below 2.32's
# strerrordesc_np, 2.33's stat and 2.34's merge of libpthread into libc), the
# oldest release Debian's mirror still serves. Its root is debootstrapped
# once into build/old-glibc/root (Debian's python3, luajit, gcc and procps;
# 2 to 4 minutes and 400 MB) and entered with chroot, in a mount namespace of its own
# (/proc, /dev), as root. Run there:
#  - the wheel's library from Python 3.9 (the wheel asks for 3.10, so it is
#    unpacked, not pip-installed): spawn, pipes, semaphore, shared memory,
#    mutex, event, and the text of an OS error, which comes from the
#    sys_errlist fallback on this glibc (capi/errors_linux.c);
#  - the C suites (scripts/test.sh c), built there by Debian 11's gcc
#    against the rock's library, and the LuaJIT suite
#    (bindings/luajit/tests), both in a copy of the source tree's layout
#    whose build/liblipc.so is the rock's library.
# Not in `make test`: it needs the mirror (and root), and the shipped
# library's symbol versions are checked there on every run (test.sh
# python_dist_test, scripts/glibc_floor.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE=bullseye
MIRROR=${OLD_GLIBC_MIRROR:-http://deb.debian.org/debian}
PKGS=python3,luajit,procps,gcc,libc6-dev
base=$ROOT/build/old-glibc
root=$base/root
v=$(sed -n 's/^#define LIPC_VERSION_STRING "\(.*\)"/\1/p' include/lipc.h)
wheel=$(ls build/dist/lipc-"$v"-py3-none-manylinux*.whl)
rock=build/dist/lipc-$v-1.linux-x86_64.rock
[ "$(id -u)" = 0 ] || { echo "test-old-glibc: needs root (debootstrap, chroot)" >&2; exit 1; }

if [ "$(cat "$base/ready" 2>/dev/null)" != "$SUITE $PKGS" ]; then
  command -v debootstrap >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null; }
  echo "test-old-glibc: debootstrap $SUITE ($PKGS) into $root"
  rm -rf "$root" "$root.tmp" && mkdir -p "$base"
  debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$root.tmp" "$MIRROR" >"$base/debootstrap.log" 2>&1 ||
    { tail -20 "$base/debootstrap.log"; exit 1; }
  mv "$root.tmp" "$root" && echo "$SUITE $PKGS" >"$base/ready"
fi

# What the chroot gets: the wheel and the rock unpacked; the header, the C
# and LuaJIT suites and the examples they run in the source tree's layout.
src=$root/lipc/src
rm -rf "$root/lipc" && mkdir -p "$root/lipc/wheel" "$root/lipc/rock" "$src/bindings" "$src/build" "$src/scripts"
python3 -m zipfile -e "$wheel" "$root/lipc/wheel"
python3 -m zipfile -e "$rock" "$root/lipc/rock"
cp -R include tests examples "$src/" && cp -R bindings/luajit "$src/bindings/" && cp scripts/test.sh "$src/scripts/"
cp -R bindings/python "$src/bindings/" # the demo's Python peer (3.9 here: it may skip)
cp "$root/lipc/rock/lib/lipc/liblipc.so" "$src/build/liblipc.so" && ln -s liblipc.so "$src/build/liblipc.so.0"
# The C suites' second Go library (tests/c/othergo): there is no Go in the
# root, so it is built here the way the release library is.
floor=$(sed -n 's/^RELEASE_GLIBC := //p' Makefile)
CC=$ROOT/scripts/zig-cc.sh LIPC_ZIG=$ROOT/build/zig LIPC_GLIBC=$floor CGO_ENABLED=1 \
  ZIG_GLOBAL_CACHE_DIR=$ROOT/build/zig-cache ZIG_LOCAL_CACHE_DIR=$ROOT/build/zig-cache \
  go build -buildmode=c-shared -o "$src/build/libothergo.so" ./tests/c/othergo
# Debian 11's Valgrind (3.16) aborts on clone with CLONE_PIDFD, so the C
# suites' Valgrind host runs there as a plain host: a stand-in that drops
# valgrind's options.
mkdir -p "$root/lipc/bin"
printf '%s\n' '#!/bin/sh' 'while [ "${1#-}" != "$1" ]; do shift; done' 'exec "$@"' >"$root/lipc/bin/valgrind"
chmod +x "$root/lipc/bin/valgrind"
cat >"$root/lipc/smoke.py" <<'PY'
import errno, os, sys, lipc
tag = "oldglibc-%d" % os.getpid()
here = os.path.realpath(lipc.__file__)
assert here.startswith("/lipc/wheel/"), here
print("glibc", os.confstr("CS_GNU_LIBC_VERSION"), "python", sys.version.split()[0], "lipc", lipc.version())
r = lipc.run(["sh", "-c", "cat; echo err >&2; exit 3"], input=b"in", capture_output=True, timeout=10)
assert (r.returncode, r.stdout, r.stderr) == (3, b"in", b"err\n"), r
with lipc.Semaphore(tag, create=True, initial=1, unlink_on_close=True) as got:
    assert got
with lipc.SharedMemory(tag, create=True, size=4096, unlink_on_close=True) as shm:
    shm.buf[:2] = b"ok"
    assert bytes(shm.buf[:2]) == b"ok"
with lipc.Mutex(tag, create=True, unlink_on_close=True) as m:
    pass
ev = lipc.Event(tag, create=True, unlink_on_close=True)
ev.set()
assert ev.wait(1)
ev.close()
try:
    lipc.run(["/nonexistent-" + tag])
    raise AssertionError("spawned a program that is not there")
except OSError as e:
    assert e.errno == errno.ENOENT and "no such file or directory" in str(e).lower(), repr(e)
    print("an OS error reads:", e)
print("python on the wheel's library: ok")
PY

# Each part runs even when one before it failed; the exit status is whether
# all passed.
unshare --mount --fork bash -c '
  mount --make-rprivate / && mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" || exit 1
  in_root() { env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
  failed=""
  echo "--- python on the wheel'"'"'s library"
  in_root PYTHONPATH=/lipc/wheel /usr/sbin/chroot "$1" python3 /lipc/smoke.py || failed="$failed python"
  echo "--- the C suites on the binary rock'"'"'s library"
  in_root PATH=/lipc/bin:/usr/bin:/bin /usr/sbin/chroot "$1" /lipc/src/scripts/test.sh c || failed="$failed c"
  echo "--- the LuaJIT suite on the binary rock'"'"'s library"
  in_root LIPC_LIBRARY=/lipc/src/build/liblipc.so \
    LUA_PATH="/lipc/src/bindings/luajit/?.lua;/lipc/src/bindings/luajit/?/init.lua;;" \
    /usr/sbin/chroot "$1" sh -c "cd /lipc/src && luajit bindings/luajit/tests/run.lua" || failed="$failed luajit"
  if [ -n "$failed" ]; then echo "test-old-glibc: failed:$failed"; exit 1; fi
  echo "test-old-glibc: the wheel and the rock work on $(/usr/sbin/chroot "$1" ldd --version | head -n1)"
' _ "$root"
