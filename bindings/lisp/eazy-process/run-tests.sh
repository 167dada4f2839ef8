#!/bin/sh
# Runs the FiveAM suite of the eazy-process compatibility layer against the
# build tree's liblipc.so (or $LIPC_LIBRARY).  Prints FiveAM's report, then
# one line `N passed, N failed` (tests, not checks); exits non-zero on any
# failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
exec sbcl --noinform --non-interactive --no-userinit \
  --eval '(require :asdf)' \
  --eval "(asdf:load-asd \"$here/eazy-process.asd\")" \
  --eval '(let ((*standard-output* (make-broadcast-stream))) (asdf:load-system :eazy-process/tests))' \
  --eval '(sb-ext:exit :code (if (uiop:symbol-call :eazy-process-tests :run-suite) 0 1) :abort t)'
