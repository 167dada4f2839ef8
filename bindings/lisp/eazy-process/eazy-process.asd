;;;; eazy-process.asd - eazy-process's API over lipc's Common Lisp binding.
;;;;
;;;; A program written for eazy-process (Masataro Asai's library) loads this
;;;; system instead and runs unchanged; COMPAT.md lists the deliberate
;;;; differences.  The lipc system is found beside this directory
;;;; (../lipc.asd) unless ASDF already knows it (e.g. bindings/lisp/ is on
;;;; asdf:*central-registry*):
;;;;
;;;;   (require :asdf)
;;;;   (asdf:load-asd "/path/to/lipc/bindings/lisp/eazy-process/eazy-process.asd")
;;;;   (asdf:load-system :eazy-process)
;;;;
;;;; Tests: (asdf:test-system :eazy-process), or ./run-tests.sh.

(unless (asdf:find-system "lipc" nil)
  (asdf:load-asd (merge-pathnames "../lipc.asd" (or *load-truename* *compile-file-truename*))))

(defsystem "eazy-process"
  :description "eazy-process compatibility layer over lipc: declarative child
processes with fd specs, pipes, rlimits and GC finalization"
  :version #.(asdf:component-version (asdf:find-system "lipc")) ; lipc's, from include/lipc.h
  :license "MIT"
  :depends-on ("lipc")
  :pathname "src/"
  :serial t
  :components ((:file "package")
               (:file "specials")   ; +fdspecs-default+, *rlimit-resources*, with-rlimit
               (:file "pipe")       ; pipe objects and the owners of parent-side fds
               (:file "fdspec")     ; fdspecs -> lipc spawn specs
               (:file "process")    ; shell, wait, fd, finalize-process, with-process
               (:file "shell-command")) ; the trivial-shell compatible part
  :in-order-to ((test-op (test-op "eazy-process/tests"))))

(defsystem "eazy-process/tests"
  :description "FiveAM suite of the eazy-process compatibility layer"
  :depends-on ("eazy-process" "fiveam" (:require "sb-posix"))
  :pathname "tests/"
  :serial t
  :components ((:file "package")
               (:file "tests"))
  :perform (test-op (o c)
             (unless (uiop:symbol-call :eazy-process-tests :run-suite)
               (error "eazy-process tests failed"))))
