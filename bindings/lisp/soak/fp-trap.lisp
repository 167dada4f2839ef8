;;;; fp-trap.lisp - host-runtimes.md F6 from SBCL: Lisp runs with float traps
;;;; enabled; lipc's Go code divides by zero (LIPC_DIAG_FP_SELFTEST) and the
;;;; process must survive, with Lisp's own traps still on and still usable.
;;;;
;;;;   sbcl --script soak/fp-trap.lisp      exit 0 when every check passed
;;;;
;;;; The last checks trap in Lisp after lipc is loaded and then need signals:
;;;; if the library's signal handlers (Go's) get between SBCL and its own
;;;; SIGFPE handler, the thread is left with its signals blocked and the next
;;;; trap or interrupt kills the image.

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))

(defvar *passed* 0)
(defvar *failed* 0)

(defmacro check (name form)
  `(let ((ok (handler-case ,form (serious-condition (e) (format t "  (~A)~%" e) nil))))
     (if ok (incf *passed*) (incf *failed*))
     (format t "~:[FAIL~;ok  ~]  ~A~%" ok ,name)
     (finish-output)))

(defun traps () (getf (sb-int:get-floating-point-modes) :traps))
(defun traps-on-p () (subsetp '(:overflow :invalid :divide-by-zero) (traps)))

(defun lisp-traps-p ()
  (let ((zero (eval 0.0)))
    (handler-case (progn (print (/ 1.0 zero) (make-broadcast-stream)) nil)
      (division-by-zero () t))))

(defun blocked-signals ()
  "This thread's blocked-signal mask, from /proc (0 at top level)."
  (with-open-file (in (format nil "/proc/self/task/~D/status"
                              (sb-thread::thread-os-tid sb-thread:*current-thread*)))
    (loop for line = (read-line in nil) while line
          when (eql 0 (search "SigBlk:" line))
            return (parse-integer line :start 7 :radix 16))))

(defun with-timeout-fires-p ()
  (eq :timeout (handler-case (sb-ext:with-timeout 0.3 (sleep 3) :slept)
                 (sb-ext:timeout () :timeout))))

(check "SBCL float traps are on" (traps-on-p))
(check "FP_SELFTEST returns 1 from the main thread" (= 1 (lipc:diag :fp-selftest)))
(check "FP_SELFTEST returns 1 from a worker thread"
       (= 1 (sb-thread:join-thread (sb-thread:make-thread (lambda () (lipc:diag :fp-selftest))))))
(check "SBCL float traps are still on" (traps-on-p))
(check "(/ 1.0 0.0) in Lisp still signals division-by-zero" (lisp-traps-p))
(check "no signals left blocked by the Lisp float trap" (zerop (blocked-signals)))
(check "a GC after the Lisp float trap" (progn (sb-ext:gc :full t) t))
(check "with-timeout after the Lisp float trap" (with-timeout-fires-p))
(check "lipc still works after all that" (= 1 (lipc:diag :fp-selftest)))
(format t "~D passed, ~D failed~%" *passed* *failed*)
(finish-output)
(sb-ext:exit :code (if (zerop *failed*) 0 1) :abort t)
