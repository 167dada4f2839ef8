;;;; signals.lisp - loading lipc must leave SBCL's signal handlers as SBCL
;;;; installed them (host-runtimes.md F5, F16; "a library must not change the
;;;; host's handlers").  The Go runtime, when it starts inside the library,
;;;; takes some signals and adds SA_ONSTACK to every other handler it finds;
;;;; SBCL runs Lisp code inside its SIGTRAP, SIGFPE and SIGCHLD handlers, and
;;;; on the alternate signal stack a GC then finds "no SP known for thread"
;;;; (soak/gc-storm.lisp crashes), and a Lisp unwind out of Go's forwarding
;;;; SIGFPE handler leaves every signal blocked (soak/fp-trap.lisp).
;;;;
;;;;   sbcl --script soak/signals.lisp      exit 0 when nothing changed
;;;;
;;;; Tolerated: SIGSEGV and SIGBUS, which Go needs for faults in its own code
;;;; and forwards correctly to SBCL; signals SBCL left at SIG_DFL or SIG_IGN.

(require :asdf)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :cffi))

(cffi:defcfun ("sigaction" %sigaction) :int (sig :int) (act :pointer) (old :pointer))

;;; struct sigaction on x86-64 and aarch64 Linux (glibc): handler at 0,
;;; sa_mask (128 bytes) at 8, sa_flags at 136; 152 bytes in all.
(defun handler-of (sig)
  "(handler-address . flags) of signal SIG now."
  (cffi:with-foreign-object (sa :char 152)
    (%sigaction sig (cffi:null-pointer) sa)
    (cons (cffi:pointer-address (cffi:mem-ref sa :pointer 0))
          (cffi:mem-ref sa :int 136))))

(defparameter *signal-names*
  '((1 . "SIGHUP") (2 . "SIGINT") (3 . "SIGQUIT") (4 . "SIGILL") (5 . "SIGTRAP")
    (6 . "SIGABRT") (7 . "SIGBUS") (8 . "SIGFPE") (10 . "SIGUSR1") (11 . "SIGSEGV")
    (12 . "SIGUSR2") (13 . "SIGPIPE") (14 . "SIGALRM") (15 . "SIGTERM") (17 . "SIGCHLD")
    (23 . "SIGURG") (24 . "SIGXCPU") (25 . "SIGXFSZ") (26 . "SIGVTALRM") (27 . "SIGPROF")
    (28 . "SIGWINCH") (29 . "SIGIO") (31 . "SIGSYS")))
(defparameter *tolerated* '(7 11))      ; SIGBUS, SIGSEGV

(defparameter *before*
  (loop for (sig) in *signal-names* collect (cons sig (handler-of sig))))

(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))
;; Go initialises its runtime on a thread of its own; a call that needs Go
;; returns only once that is done, signal handlers included.
(lipc:diag :go-thread)

(defun describe-handler (h)
  (format nil "~[SIG_DFL~;SIG_IGN~:;#x~:*~X~] flags #x~X" (car h) (cdr h)))

(defvar *changed* 0)
(loop for (sig . before) in *before*
      for after = (handler-of sig)
      for name = (cdr (assoc sig *signal-names*))
      do (cond ((equal before after))
               ;; lipc gives SIGURG back with SA_ONSTACK on purpose (capi/
               ;; host_linux.c); SBCL's SIGURG handler only redirects the context,
               ;; so the flag does no harm there (measured: soak unaffected).
               ((and (= sig 23) (= (car before) (car after))
                     (= (logior (cdr before) #x08000000) (cdr after))))
               ((or (member sig *tolerated*) (member (car before) '(0 1)))
                (format t "ok    ~8A changed, tolerated: ~A -> ~A~%" name
                        (describe-handler before) (describe-handler after)))
               (t (incf *changed*)
                  (format t "FAIL  ~8A ~A -> ~A~%" name
                          (describe-handler before) (describe-handler after)))))
(format t "~D of SBCL's signal handlers changed by loading lipc~%" *changed*)
(finish-output)
(sb-ext:exit :code (if (zerop *changed*) 0 1) :abort t)
