#!/usr/bin/env bash
# Runs storm_signals trials in fresh processes, alternating call modes and
# whether the host's handlers were installed before or after loading lipc,
# and reports deaths (a signal killed the trial), hangs (it outlived the
# time limit), wrong answers and set-up failures, with the seed of each.
#   storm_signals.sh PROGRAM LIBRARY TRIALS CALLS_PER_TRIAL
# STORM_SEED fixes the first seed (it is printed either way, to replay a run).
set -u
prog=$1 lib=$2 trials=$3 calls=$4
seed0=${STORM_SEED:-$(( $(date +%s) % 100000 ))}
limit=$(( 60 + calls / 1000 ))
deaths=0 hangs=0 wrong=0 setup=0 bad_seeds=""
echo "signal storm: $trials trials of $calls calls, first seed $seed0"
for ((i = 0; i < trials; i++)); do
  seed=$((seed0 + i))
  mode=direct; ((i % 2)) && mode=handoff
  when=""; ((i / 2 % 2)) && when=before-load
  out=$(timeout -s KILL "$limit" "$prog" "$lib" $mode "$calls" "$seed" $when 2>&1)
  rc=$?
  case $rc in
    0) continue ;;
    1) wrong=$((wrong + 1)) ;;
    2) setup=$((setup + 1)) ;;
    137) hangs=$((hangs + 1)) ;;
    *) deaths=$((deaths + 1)) ;;
  esac
  bad_seeds="$bad_seeds $seed"
  echo "trial $i: exit $rc; replay: $prog $lib $mode $calls $seed $when"
  echo "$out" | head -20 | sed 's/^/    /'
done
echo "signal storm: $trials trials, $deaths deaths, $hangs hangs, $wrong with wrong answers, $setup set-up failures"
[ -z "$bad_seeds" ] || { echo "failed seeds:$bad_seeds"; exit 1; }
