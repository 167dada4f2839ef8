#!/bin/sh
# Runs the single-process host-safety checks, each in a fresh sbcl:
#   fp-trap.lisp  (F6: Go's float divisions under SBCL's traps; Lisp traps after)
#   sigurg.lisp   (F5: with-timeout and interrupt-thread after load)
#   signals.lisp  (F16: SBCL's signal handlers unchanged by the load)
#   sigchld-writes.lisp (a SIGCHLD SBCL deferred stays blocked through a pipe write)
# Ends with `N passed, N failed` over scripts; exits non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
passed=0 failed=0
for script in fp-trap.lisp sigurg.lisp signals.lisp sigchld-writes.lisp; do
  out=$(timeout -k 5 120 sbcl --script "$here/$script" 2>&1)
  rc=$?
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1)); echo "$script: ok"
  else
    failed=$((failed + 1)); echo "$script: FAIL (exit $rc)"
  fi
  printf '%s\n' "$out" | sed 's/^/    /'
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
