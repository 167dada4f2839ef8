;;;; hello.lisp - lipc loaded from SBCL: the version, how calls reach the Go
;;;; runtime (handed off: no Lisp thread ever runs Go code), and the
;;;; library's diagnostic figures.
;;;;
;;;;   sbcl --noinform --non-interactive --no-userinit --load bindings/lisp/examples/hello.lisp

(require :asdf)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))

(format t "Lisp: lipc ~A from ~A (~A ~A)~%" (lipc:version) lipc:*library-path*
        (lisp-implementation-type) (lisp-implementation-version))
(format t "Lisp: call mode ~(~A~); host RLIMIT_NOFILE ~D; FP self-test ~D; ~
           Go work on a lipc thread: ~:[no~;yes~]~%"
        (lipc:call-mode) (lipc:diag :host-nofile) (lipc:diag :fp-selftest)
        (= 1 (lipc:diag :go-thread)))
(format t "Lisp: threads wrapped ~D, stack lookups ~D, live handles ~D~%"
        (lipc:diag :threads-wrapped) (lipc:diag :stack-lookups) (lipc:live-handles))
(multiple-value-bind (code out) (lipc:run-command '("echo" "hello from a lipc child"))
  (format t "Lisp: a child said ~S and exited with ~D~%" (string-right-trim '(#\Newline) out) code))
(finish-output)
