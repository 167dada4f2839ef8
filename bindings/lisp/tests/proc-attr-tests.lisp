;;;; proc-attr-tests.lisp - SPAWN-PROCESS keywords that mirror subprocess's:
;;;; :user :group :extra-groups :pipe-size :close-fds :restore-signals (and
;;;; :process-group).  Each is a spawn attribute applied before exec.

(in-package #:lipc-tests)

(def-suite :proc-attrs :in :lipc)
(in-suite :proc-attrs)

(defun attr-output (command &rest options)
  (multiple-value-bind (code out err) (apply #'run-command command options)
    (is (= 0 code) "~S exited ~D: ~A" command code err)
    out))

(defun attr-sigign (&rest options)
  (let* ((out (apply #'attr-output "grep ^SigIgn /proc/self/status" options))
         (hex (string-trim '(#\Space #\Tab #\Newline) (subseq out (1+ (position #\: out))))))
    (parse-integer hex :radix 16)))

(defun attr-has (mask sig) (logbitp (1- sig) mask))

(defun attr-signal (sig handler)
  "signal(2) with SIG_DFL (0) or SIG_IGN (1)."
  (cffi:foreign-funcall "signal" :int sig :pointer (cffi:make-pointer handler) :pointer))

(defun attr-default-p (sig)
  "Whether SIG is at SIG_DFL in this image (sigaction, changing nothing;
the handler is the first field of struct sigaction)."
  (cffi:with-foreign-object (old :uint8 256)
    (cffi:foreign-funcall "sigaction" :int sig :pointer (cffi:null-pointer) :pointer old :int)
    (cffi:null-pointer-p (cffi:mem-ref old :pointer))))

(defmacro attr-with-ignored ((&rest signals) &body body)
  "BODY with SIGNALS ignored in this image, put back to the default after.
Only signals SBCL leaves at the default are touched: a handler given back
by signal(2) would lose its SA_ONSTACK (host-runtimes.md F19)."
  `(let ((sigs (list ,@signals)))
     (if (notevery #'attr-default-p sigs)
         (skip "a signal is not at its default in this image")
         (unwind-protect
              (progn (dolist (sig sigs) (attr-signal sig 1))
                     ,@body)
           (dolist (sig sigs) (attr-signal sig 0))))))

(test restore-signals-keeps-what-the-image-ignores-on-purpose
  (attr-with-ignored (10 25)                ; SIGUSR1 on purpose, SIGXFSZ as a runtime would
    (let ((m (attr-sigign)))
      (is-true (attr-has m 10) "an ignored signal stays ignored (nohup): ~X" m)
      (is-false (attr-has m 25) "SIGXFSZ reset by default: ~X" m))
    (let ((m (attr-sigign :restore-signals nil)))
      (is-true (and (attr-has m 10) (attr-has m 25)) ":restore-signals nil keeps them: ~X" m))
    (is (= 0 (attr-sigign :restore-signals :all)) ":restore-signals :all")
    (signals error (spawn-process "true" :restore-signals :some))))

(test ignored-sighup-reaches-children
  ;; as under nohup: SIGHUP ignored in this image stays ignored in children
  (attr-with-ignored (1)
    (is-true (attr-has (attr-sigign) 1))))

(test close-fds-nil-keeps-fds-without-cloexec
  (with-open-file (f "/dev/null")             ; SBCL's OPEN: no close-on-exec
    (let* ((fd (sb-sys:fd-stream-fd f))
           (probe (format nil "test -e /proc/self/fd/~D && echo yes || echo no" fd)))
      (is (string= (format nil "no~%") (attr-output probe)))
      (is (string= (format nil "yes~%") (attr-output probe :close-fds nil)))
      (is (string= (format nil "no~%") (attr-output probe :close-fds t))))))

(test pipe-size-sets-each-pipe
  (let ((p (spawn-process '("cat") :input :pipe :output :pipe :pipe-size (* 256 1024))))
    (unwind-protect
         (flet ((size (pipe) (sb-posix:fcntl (pipe-fd pipe) 1032))) ; F_GETPIPE_SZ
           (is (= (* 256 1024) (size (process-input p))))
           (is (= (* 256 1024) (size (process-output p)))))
      (ignore-errors (process-kill p :kill))
      (process-wait p :timeout 5)
      (close-process p)))
  (signals type-error (spawn-process "true" :pipe-size "big")))

(test user-group-extra-groups
  (signals type-error (spawn-process "true" :user -1))
  (signals type-error (spawn-process "true" :group (expt 2 32)))
  (signals lipc-error (spawn-process "true" :user "no-such-user-lipc"))
  (signals type-error (spawn-process "true" :extra-groups 5))
  (if (/= 0 (sb-posix:geteuid))
      (signals lipc-permission-denied (spawn-process "true" :user 0))
      (let ((lines (proc-lines (attr-output "id -u; id -g; id -G" :user "nobody" :group 65534
                                                                  :extra-groups '(65533 7)))))
        (is (string/= "0" (first lines)) "user nobody, not root")
        (is (string= "65534" (second lines)))
        (is (equal '(7 65533 65534)
                   (sort (mapcar #'parse-integer (proc-lines (substitute #\Newline #\Space (third lines))))
                         #'<)))
        (is (string= (format nil "65534~%") (attr-output "id -G" :group 65534 :extra-groups '()))))))

(test process-group-is-a-new-group
  (let ((p (spawn-process '("sleep" "5") :process-group t)))
    (unwind-protect (is (= (process-pid p) (third (proc-stat (process-pid p)))))
      (process-kill p :kill)
      (process-wait p :timeout 5)
      (close-process p))))
