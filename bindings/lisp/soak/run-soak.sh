#!/bin/sh
# Runs soak/gc-storm.lisp LIPC_SOAK_RUNS times (default 5) as separate sbcl
# processes of LIPC_SOAK_SECONDS each (default 5): a crash that happens in 1
# run of 5 (host-runtimes.md F17) cannot hide.  A run passes when it exits 0;
# a failed check, a crash, or a hang does not.  SBCL's "fatal error" leaves
# the image stopped rather than dead, so a run that printed one is killed at
# once instead of waiting for the time limit.
# The last LIPC_SOAK_VERIFY_RUNS runs (default 2) have SBCL check its heap
# after every GC (LIPC_SOAK_VERIFY=1, see gc-storm.lisp): heap damage that a
# run might not live to show is a failure there ("Verify failed").
# Ends with `N passed, N failed` over runs; exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
runs=${LIPC_SOAK_RUNS:-5}
verify_runs=${LIPC_SOAK_VERIFY_RUNS:-2}
seconds=${LIPC_SOAK_SECONDS:-5}
export LIPC_SOAK_SECONDS=$seconds
limit=$((seconds + 60))
out=$(mktemp "${TMPDIR:-/tmp}/lipc-soak.XXXXXX")
trap 'rm -f "$out"' EXIT

# One run; prints why it failed, or nothing; returns 0 when it passed.
run_once() {
  LIPC_SOAK_VERIFY=$1 sbcl --script "$here/gc-storm.lisp" >"$out" 2>&1 &
  pid=$!
  why="" waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if grep -q "fatal error encountered in SBCL" "$out"; then
      sleep 1; kill -9 "$pid" 2>/dev/null; why="SBCL fatal error"; break
    fi
    if [ "$waited" -ge "$limit" ]; then
      kill -9 "$pid" 2>/dev/null; why="hung (killed after ${limit}s)"; break
    fi
    sleep 1; waited=$((waited + 1))
  done
  wait "$pid"; rc=$?
  if [ -z "$why" ]; then
    case $rc in
      0) if grep -q "Error calling finalizer" "$out"; then why="a finalizer failed"; fi ;;
      1) why="checks failed" ;;
      *) if [ "$rc" -gt 128 ]; then why="died of signal $((rc - 128))"; else why="exit $rc"; fi ;;
    esac
  fi
  # A run that died could not unlink its semaphores, mutexes and events
  # (named after its pid).
  rm -f /dev/shm/sem.lipc-soak-"$pid"-* /dev/shm/lipc.mutex.lipc-soak-"$pid"-* \
        /dev/shm/lipc.event.lipc-soak-"$pid"-* 2>/dev/null
  [ -z "$why" ] && return 0
  echo "$why"; return 1
}

# SBCL 2.2.9 itself now and then stops with "pending handler changed in gc"
# when a deferrable signal (with-timeout's SIGALRM, interrupt-thread's
# SIGURG) meets a stop-for-GC: the same storm with every lipc call taken
# out does it too (see the closing note of issue 9). Such a run is run once
# more; that error twice in a row, or any other failure, fails the soak.
sbcl_own() { grep -q "pending handler changed in gc" "$out"; }

passed=0 failed=0 retried=0 i=1 again=0
while [ "$i" -le "$runs" ]; do
  verify=0 tag=""
  if [ "$i" -gt $((runs - verify_runs)) ]; then verify=1 tag=" (heap checked after every GC)"; fi
  if why=$(run_once $verify); then
    passed=$((passed + 1)); echo "run $i: ok    $(tail -1 "$out")$tag"
  elif [ "$again" -eq 0 ] && sbcl_own; then
    retried=$((retried + 1)); again=1
    echo "run $i: SBCL's own fatal error (pending handler changed in gc): run again"
    grep "pending handler" "$out" | sed 's/^/    /'
    continue
  else
    failed=$((failed + 1)); echo "run $i: FAIL  $why$tag"
    grep -v '^ *[0-9]*: fp=' "$out" | tail -12 | sed 's/^/    /'
  fi
  i=$((i + 1)) again=0
done
echo "$passed passed, $failed failed ($retried runs again after SBCL's own fatal error)"
[ "$failed" -eq 0 ]
