#!/bin/sh
# glibc_floor.sh LIB FLOOR: fails, naming the symbols, when the ELF file LIB
# needs a glibc newer than FLOOR (2.17): an undefined symbol bound to a
# GLIBC_ version above FLOOR, or an undefined non-weak symbol bound to no
# version at all, which is one the floor glibc's stub libraries lacked at
# link time (a function added later, such as strerrordesc_np in 2.32): the
# dynamic loader of an older glibc would not find it. What auditwheel reads
# to tag a wheel, checked for every file that ships the library.
set -eu
lib=$1 floor=$2
objdump -T "$lib" | awk -v floor="$floor" -v lib="$lib" '
  function newer(v, f,   a, b, i, n) { # version string v above f?
    n = split(v, a, "."); split(f, b, ".")
    for (i = 1; i <= (n > 3 ? n : 3); i++) {
      if ((a[i] + 0) != (b[i] + 0)) return (a[i] + 0) > (b[i] + 0)
    }
    return 0
  }
  /\*UND\*/ {
    name = $NF; weak = ($2 == "w")
    if (match($0, /\(GLIBC_[0-9.]+\)/)) {
      v = substr($0, RSTART + 7, RLENGTH - 8)
      if (newer(v, floor)) { bad = bad "\n  " name "@GLIBC_" v; n++ }
      if (newer(v, max)) max = v
    } else if (!weak && $0 !~ /\([A-Za-z_]+[0-9.]*\)/) { bad = bad "\n  " name " (no version: not in glibc " floor ")"; n++ }
  }
  END {
    if (n) { printf "%s needs a glibc newer than %s:%s\n", lib, floor, bad > "/dev/stderr"; exit 1 }
    if (max == "") { printf "%s: no glibc symbols read (objdump -T failed?)\n", lib > "/dev/stderr"; exit 1 }
    printf "%s: glibc %s is enough (newest symbol version GLIBC_%s)\n", lib, floor, max
  }'
