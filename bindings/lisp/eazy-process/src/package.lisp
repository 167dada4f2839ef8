;;;; package.lisp - eazy-process's package: exactly the original's exports.
;;;;
;;;; Nothing more is exported: the original's users :use this package
;;;; together with alexandria, iterate, cffi, optima, fiveam, cl-ppcre and
;;;; cl-rlimit, and any extra name could clash with theirs.  lipc's own
;;;; symbols are reached qualified (lipc:...), never :use'd, for the same
;;;; reason (lipc exports PROCESS and WITH-PROCESS too).

(defpackage #:eazy-process
  (:use #:cl)
  (:export #:shell
           #:process
           #:getpid
           #:pid
           #:wait
           #:fd
           #:+fdspecs-default+
           #:fd-as-pathname
           #:fds
           #:pipe
           #:*rlimit-resources*
           #:with-rlimit
           #:close-pipe
           #:shell-command
           #:*interpreter*
           #:finalize-process
           #:environment
           #:with-process
           #:*bourne-compatible-shell*))
