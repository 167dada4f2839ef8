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
#   ADV_ROUNDS             rounds of the fork attack (quick 1, soak 20)
#   ADV_HANDLE_CYCLES      opens and closes of the handle attack (quick 200000,
#                          soak 20000000: past 2^24 reuses of one slot)
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

LIBDIR=$(cd "$(dirname "$LIB")" && pwd)

build() {
  python3 tests/adversarial/gen_calls.py "$HDR/lipc.h" "$OUT/fz_gen.h" || return 1
  $CC $FLAGS -o "$OUT/adv_fuzz" tests/adversarial/fuzz/*.c -ldl -lpthread -lrt || return 1
  for t in names_perms special_files handle_reuse fork_blocked contracts; do
    $CC $FLAGS -o "$OUT/$t" tests/adversarial/$t.c -L"$LIBDIR" -llipc -lpthread -ldl -Wl,-rpath,"$LIBDIR" || return 1
  done
}

case $mode in
  quick) seeds=${ADV_SEEDS:-12} calls=${ADV_CALLS:-1500} rounds=${ADV_ROUNDS:-1}
         cycles=${ADV_HANDLE_CYCLES:-200000} limit=600 ;;
  soak) seeds=${ADV_SEEDS:-300} calls=${ADV_CALLS:-5000} rounds=${ADV_ROUNDS:-20}
        cycles=${ADV_HANDLE_CYCLES:-20000000} limit=7200
        export ADV_RSS_LIMIT_KB=${ADV_RSS_LIMIT_KB:-65536} ;;
  build) build; exit ;;
  *) echo "usage: $0 [quick|soak|build] [LIBRARY]"; exit 2 ;;
esac
seed0=${ADV_SEED:-$(( $(date +%s) % 100000 * 1000 ))}

failed=""
part() { # name command...: each in its own time limit, so that a hang is a failure, not a stuck suite
  local name=$1
  shift
  echo "--- adversarial: $name"
  timeout -s KILL "$limit" "$@" || failed="$failed ${name// /-}"
}

build || exit 1
part "call fuzzer" "$OUT/adv_fuzz" run "$LIB" "$seed0" "$seeds" "$calls"
# The same calls made in the child of a fork (half the processes, other seeds):
# what the header says works there must, the rest must say LIPC_EFORKED.
part "call fuzzer in a fork child" env ADV_IN_FORK_CHILD=1 "$OUT/adv_fuzz" run "$LIB" "$((seed0 + 500))" \
  "$(( (seeds + 1) / 2 ))" "$calls"
part "names and permissions" "$OUT/names_perms"
part "names and permissions in a fork child" env ADV_IN_FORK_CHILD=1 "$OUT/names_perms"
part "special files" "$OUT/special_files"
part "handle reuse" "$OUT/handle_reuse" "$cycles"
part "fork with blocked threads" "$OUT/fork_blocked" "$rounds"
part "contracts" "$OUT/contracts"

echo
if [ -n "$failed" ]; then
  echo "adversarial: findings in:$failed (first seed $seed0)"
  exit 1
fi
echo "adversarial: nothing found (first seed $seed0)"
