;;;; lipc.asd - the Common Lisp binding of lipc, over CFFI.
;;;;
;;;; Load with (asdf:load-asd ".../bindings/lisp/lipc.asd") (asdf:load-system :lipc)
;;;; or put bindings/lisp/ on ASDF's source registry (CL_SOURCE_REGISTRY, or
;;;; ~/common-lisp/).  Tests: (asdf:test-system :lipc).
;;;;
;;;; The library: $LIPC_LIBRARY when set, else a liblipc.so beside this file,
;;;; the source tree's build/liblipc.so, then the system loader (liblipc.so.0
;;;; as `make install` puts it in $PREFIX/lib); src/library.lisp says more.
;;;;
;;;; Implementations: SBCL only (on Linux x86-64; tested with 2.2.9), the one the
;;;; binding is written for and tested on: it hands Go calls to lipc's own
;;;; threads under SBCL's GC (LIPC_CALL_HANDOFF), and its process streams
;;;; are SB-GRAY streams.  Another implementation gets an error at once
;;;; instead of a half-working binding.
;;;;
;;;; Systems: Linux only.  lipc itself also runs on Windows (lipc.dll, for C,
;;;; LuaJIT and Python), but no Windows Lisp could be had to test this
;;;; binding there, so it refuses to load on Windows rather than claim to work.

#+(or windows win32)
(error "The lipc Common Lisp binding is Linux-only: lipc.dll on Windows serves C, LuaJIT and Python (see lipc's README).")

#-sbcl
(error "The lipc Common Lisp binding supports SBCL only (this is ~A ~A)."
       (lisp-implementation-type) (lisp-implementation-version))

(defsystem "lipc"
  :description "Portable inter-process communication over liblipc: child processes, named semaphores, robust mutexes, events, shared memory, mmap, file locks"
  ;; The one place the version is written is include/lipc.h (LIPC_VERSION_STRING).
  :version #.(let ((header (merge-pathnames "../../include/lipc.h"
                                            (or *load-truename* *compile-file-truename*))))
               (with-open-file (s header :if-does-not-exist nil)
                 (loop for line = (and s (read-line s nil)) while line
                       when (eql 0 (search "#define LIPC_VERSION_STRING \"" line))
                         return (subseq line (1+ (position #\" line)) (position #\" line :from-end t)))))
  :license "MIT"
  :homepage "https://github.com/lipc-dev/lipc"
  :depends-on ("cffi")
  :pathname "src/"
  ;; Serial: each file uses only what the files before it define.  A new
  ;; module (mutex, event, shm, ...) is one more file after handle.lisp.
  :serial t
  :components ((:file "package")
               (:file "library")   ; the one loader
               (:file "ffi")       ; the one declaration place
               (:file "errors")    ; conditions and the one error check
               (:file "finalizer-store") ; out of reach of SBCL 2.2.9's card-mark race
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
               (:file "lipc")      ; version, diagnostics, call mode at load
               (:file "image"))    ; a saved image (save-lisp-and-die) that starts
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
               (:file "fork-open-tests") ; after mem-tests (temp-path)
               (:file "number-tests")
               (:file "fast-path-tests")
               (:file "capture-tests")
               (:file "image-tests"))  ; runs tests/image-app.lisp saved
  :perform (test-op (o c)
             (unless (uiop:symbol-call :lipc-tests :run-suite)
               (error "lipc tests failed"))))
