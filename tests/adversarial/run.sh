#!/usr/bin/env bash
# The adversarial suite (issue 9, item 15): builds and runs every attack on
# lipc in fresh processes, so that a crash, an abort or a hang is caught and
# reported with what replays it.
#
#   tests/adversarial/run.sh [quick|soak] [LIBRARY]
#
# quick (make test): a few seconds. soak (make soak): minutes. Counts:
#   ADV_SEEDS, ADV_CALLS   fuzzer processes and calls in each (quick 12 x 1500,
#                          soak 300 x 5000)
#   ADV_SEED               the first seed (printed either way, to replay a run)
#   ADV_ROUNDS             rounds of the fork, handle and special-file attacks
# Each part prints its findings; the exit status is 0 only if none found any.
# LIBRARY defaults to build/liblipc.so; the attacks build against
# include/lipc.h, the header of the library under test.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
mode=${1:-quick}
LIB=${2:-$ROOT/build/liblipc.so}
HDR=${ADV_HEADER:-$ROOT/include}
OUT=${ADV_OUT:-$ROOT/build/adversarial}
CC=${CC:-cc}
FLAGS="-Wall -Wextra -Werror -O2 -g -I$HDR -I$OUT -Itests/c"
mkdir -p "$OUT"

build() {
  python3 tests/adversarial/gen_calls.py "$HDR/lipc.h" "$OUT/fz_gen.h" || return 1
  $CC $FLAGS -o "$OUT/adv_fuzz" tests/adversarial/fuzz/*.c -ldl -lpthread -lrt || return 1
}

case $mode in
  quick) seeds=${ADV_SEEDS:-12} calls=${ADV_CALLS:-1500} ;;
  soak) seeds=${ADV_SEEDS:-300} calls=${ADV_CALLS:-5000}
        export ADV_RSS_LIMIT_KB=${ADV_RSS_LIMIT_KB:-65536} ;;
  build) build; exit ;;
  *) echo "usage: $0 [quick|soak|build] [LIBRARY]"; exit 2 ;;
esac
seed0=${ADV_SEED:-$(( $(date +%s) % 100000 * 1000 ))}

failed=""
part() { # name command...
  local name=$1
  shift
  echo "--- adversarial: $name"
  "$@" || failed="$failed $name"
}

build || exit 1
part "call fuzzer" "$OUT/adv_fuzz" run "$LIB" "$seed0" "$seeds" "$calls"

echo
if [ -n "$failed" ]; then
  echo "adversarial: findings in:$failed (first seed $seed0)"
  exit 1
fi
echo "adversarial: nothing found (first seed $seed0)"
