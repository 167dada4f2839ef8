#!/bin/sh
# The C compiler and linker of the release build (Makefile `release`): zig's
# clang and lld for this machine's architecture, linking against the symbol
# versions of glibc $LIPC_GLIBC (zig carries stub libraries for every glibc
# release) whatever glibc this machine has. Go runs it as CC for cgo.
# Go asks the external linker to strip with -s, which zig cc ignores; it
# becomes the linker's own --strip-all.
[ -x "${LIPC_ZIG:?path of the zig binary}" ] ||
  { echo "zig-cc.sh: no zig at $LIPC_ZIG: scripts/deps.sh release installs it" >&2; exit 1; }
for a; do
  shift
  case $a in -s) set -- "$@" -Wl,--strip-all ;; *) set -- "$@" "$a" ;; esac
done
exec "$LIPC_ZIG" cc -target "$(uname -m)-linux-gnu.${LIPC_GLIBC:?glibc version}" "$@"
