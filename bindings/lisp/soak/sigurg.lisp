;;;; sigurg.lisp - host-runtimes.md F5 from SBCL: the Go runtime takes SIGURG
;;;; at load; lipc must give it back, or interrupt-thread, with-timeout,
;;;; timers and Ctrl-C silently stop working.
;;;;
;;;;   sbcl --script soak/sigurg.lisp       exit 0 when every check passed

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

(defun seconds-since (t0) (/ (- (get-internal-real-time) t0) internal-time-units-per-second))

(defun timeout-within-p (limit thunk)
  "True when sb-ext:with-timeout 0.5 cuts THUNK short in under LIMIT seconds."
  (let* ((t0 (get-internal-real-time))
         (result (handler-case (sb-ext:with-timeout 0.5 (funcall thunk) :finished)
                   (sb-ext:timeout () :timeout))))
    (and (eq result :timeout) (< (seconds-since t0) limit))))

(check "lipc is loaded and in handoff mode" (eq :handoff (lipc:call-mode)))
(check "with-timeout 0.5 around (sleep 5) fires promptly"
       (timeout-within-p 2 (lambda () (sleep 5))))
(check "interrupt-thread reaches a sleeping thread"
       (let* ((hit nil)
              (th (sb-thread:make-thread (lambda () (sleep 3) :slept))))
         (sleep 0.1)
         (sb-thread:interrupt-thread th (lambda () (setf hit t) (sb-thread:abort-thread)))
         (sb-thread:join-thread th :default nil :timeout 2)
         hit))
(check "with-timeout 0.5 around a semaphore wait without timeout fires promptly"
       (lipc:with-semaphore (s (format nil "lipc-sigurg-~D" (sb-posix:getpid))
                               :create t :unlink-on-close t)
         (timeout-within-p 2 (lambda () (lipc:semaphore-wait s)))))
(check "with-timeout 0.5 around wait-fds without timeout fires promptly"
       (timeout-within-p 2 (lambda () (lipc:wait-fds '()))))
(format t "~D passed, ~D failed~%" *passed* *failed*)
(finish-output)
(sb-ext:exit :code (if (zerop *failed*) 0 1) :abort t)
