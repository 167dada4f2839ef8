;;;; lipc.asd - the Common Lisp binding of lipc, over CFFI.
;;;;
;;;; Load with (asdf:load-asd ".../bindings/lisp/lipc.asd") (asdf:load-system :lipc)
;;;; or put bindings/lisp/ on asdf:*central-registry*.  Tests: (asdf:test-system :lipc).

(defsystem "lipc"
  :description "Portable inter-process communication (semaphores, waits, ...) over liblipc"
  :version "0.1.0"
  :license "MIT"
  :depends-on ("cffi" "trivial-garbage")
  :pathname "src/"
  ;; Serial: each file uses only what the files before it define.  A new
  ;; module (mutex, event, shm, ...) is one more file after handle.lisp.
  :serial t
  :components ((:file "package")
               (:file "library")   ; the one loader
               (:file "ffi")       ; the one declaration place
               (:file "errors")    ; conditions and the one error check
               (:file "handle")    ; handle objects shared by every module
               (:file "wait")      ; wait-fds and the EINTR/remaining-time loop
               (:file "sem")
               ;; sync and memory (each file exports its own symbols)
               (:file "mutex")
               (:file "event")
               (:file "shm")
               (:file "mmap")
               (:file "flock")
               ;; processes (each file exports its own symbols)
               (:file "proc-env")
               (:file "proc")
               (:file "lipc"))     ; version, diagnostics, call mode at load
  :in-order-to ((test-op (test-op "lipc/tests"))))

(defsystem "lipc/tests"
  :description "FiveAM suite of the lipc binding"
  :depends-on ("lipc" "fiveam" (:require "sb-posix"))
  :pathname "tests/"
  :serial t
  :components ((:file "package")
               (:file "base-tests")
               (:file "wait-tests")
               (:file "sem-tests")
               (:file "sync-tests")
               (:file "mem-tests")
               (:file "named-tests")
               (:file "proc-tests")
               (:file "proc-life-tests")
               (:file "proc-attr-tests")
               (:file "host-tests")
               (:file "number-tests"))
  :perform (test-op (o c)
             (unless (uiop:symbol-call :lipc-tests :run-suite)
               (error "lipc tests failed"))))
