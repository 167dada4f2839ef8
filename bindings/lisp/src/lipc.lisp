;;;; lipc.lisp - version, error texts, diagnostics, and the call mode set at
;;;; load: this binding never lets a Lisp thread run Go code (host-runtimes.md
;;;; F3, F16, F17, rule 8), whatever the library's default.

(in-package #:lipc)

(defconstant +version-string+
  (if (boundp '+version-string+)
      (symbol-value '+version-string+)
      #.(asdf:component-version (asdf:find-system "lipc"))) ; from include/lipc.h
  "The LIPC_VERSION_STRING of the header this binding was written against.")

(defun version ()
  "The loaded library's version string, e.g. \"0.1.0\"."
  (%version))

(defun strerror (code)
  "The English description of a LIPC code (an integer that fits a C int)."
  (check-type code (signed-byte 32))
  (%strerror code))

(defun error-name (code)
  "The symbolic name of a LIPC code, e.g. \"LIPC_EINVAL\"."
  (check-type code (signed-byte 32))
  (%error-name code))

(defparameter *diag-figures*
  '((:call-mode . 1) (:host-nofile . 2) (:threads-wrapped . 3)
    (:stack-lookups . 4) (:fp-selftest . 5) (:go-thread . 6) (:live-handles . 7)
    (:go-panics . 8)
    (:go-signals-blocked . 9))
  "The LIPC_DIAG_* figures by keyword.")

(defun diag (what)
  "The diagnostic figure WHAT (a keyword of *DIAG-FIGURES* or its number)."
  (let ((code (if (integerp what)
                  (progn (check-type what (signed-byte 32)) what)
                  (or (cdr (assoc what *diag-figures*))
                      (error 'type-error :datum what
                                         :expected-type `(member ,@(mapcar #'car *diag-figures*)))))))
    (cffi:with-foreign-object (value :int64)
      (check (%diag code value))
      (cffi:mem-ref value :int64))))

(defun runtime-fds ()
  "The file descriptors lipc keeps open that no lipc object of yours stands
for, as a list of integers: the Go runtime's, for the life of the process
(its poller's epoll fd and eventfd; the cgroup files it re-reads), and the
pidfds of children whose process was closed while they ran (lipc reaps
them). A daemon that closes every fd above 2 after loading lipc must spare
them (ask right before), or the runtime aborts the process at its next poll.
Those closed already are not listed; NIL on Windows. Runs in C."
  (cffi:with-foreign-object (n :size)
    (loop with room = 0
          do (cffi:with-foreign-object (fds :int (max room 1))
               (check (%runtime-fds fds room n))
               (let ((count (cffi:mem-ref n :size)))
                 (when (<= count room)
                   (return (loop for i below count collect (cffi:mem-aref fds :int i))))
                 (setf room count))))))

(defun call-mode ()
  "The library's call mode: :handoff or :direct."
  (ecase (diag :call-mode) (1 :direct) (2 :handoff)))

(defun live-handles ()
  "How many handles are open in this process."
  (diag :live-handles))

(defconstant +call-handoff+ 2 "LIPC_CALL_HANDOFF")

(defun ensure-handoff ()
  "Belt and braces: lipc picks handoff itself when it sees SBCL; ask anyway,
and verify, so a library that failed to detect SBCL cannot corrupt the heap."
  (check (%set-call-mode +call-handoff+))
  (unless (eq (call-mode) :handoff)
    (error "lipc: the library did not switch to LIPC_CALL_HANDOFF")))

(eval-when (:load-toplevel :execute)
  ;; A saved image sets it again when it starts (image.lisp).
  (ensure-handoff))
