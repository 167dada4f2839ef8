;;;; package.lisp - the FiveAM suite of the lipc binding and its helpers.

(defpackage #:lipc-tests
  (:use #:cl #:lipc #:fiveam)
  (:export #:run-suite))

(in-package #:lipc-tests)

(def-suite :lipc :description "The Common Lisp binding of lipc")

(defvar *name-counter* (list 0))

(defun unique-name (tag)
  "A semaphore name unique per process and call, so parallel runs never
collide; tests unlink what they create."
  (format nil "lipc-lisp-~D-~D-~A" (sb-posix:getpid)
          (sb-ext:atomic-incf (car *name-counter*)) tag))

(defun now ()
  "Seconds on CLOCK_MONOTONIC (get-internal-real-time moves in 4 ms steps)."
  (/ (lipc::monotonic-ns) 1d9))

(defmacro timed (&body body)
  "Returns BODY's first value and the seconds it took."
  (let ((t0 (gensym)))
    `(let ((,t0 (now)))
       (values (progn ,@body) (- (now) ,t0)))))

(defun spawn (function &optional (name "lipc-test"))
  (sb-thread:make-thread function :name name))

(defun join (thread &optional (timeout 10))
  "Joins THREAD; :timeout-ed when it did not finish in TIMEOUT seconds."
  (sb-thread:join-thread thread :default :join-failed :timeout timeout))

(defun pipe-write (fd string)
  (cffi:with-foreign-string ((p n) string :null-terminated-p nil)
    (sb-posix:write fd p n)))

(defmacro with-pipe ((r w) &body body)
  `(multiple-value-bind (,r ,w) (sb-posix:pipe)
     (unwind-protect (progn ,@body)
       (ignore-errors (sb-posix:close ,r))
       (ignore-errors (sb-posix:close ,w)))))

(defun test-outcomes (results)
  "Per test: :failed if any check failed or errored, :skipped if it was
skipped, else :passed.  Returns (values passed failed skipped)."
  (let ((by-test (make-hash-table)))
    (dolist (r results)
      (let* ((name (fiveam::name (fiveam::test-case r)))
             (old (gethash name by-test :passed)))
        (setf (gethash name by-test)
              (cond ((or (eq old :failed) (typep r 'fiveam::test-failure)) :failed)
                    ((or (eq old :skipped) (typep r 'fiveam::test-skipped)) :skipped)
                    (t :passed)))))
    (loop for v being the hash-values of by-test
          count (eq v :passed) into p count (eq v :failed) into f
          count (eq v :skipped) into s
          finally (return (values p f s)))))

(defvar *cleanups* '()
  "Functions RUN-SUITE calls when the suite is over (whatever tests left
for the whole suite, e.g. image-tests.lisp's executable).")

(defun run-cleanups ()
  (loop while *cleanups* do (ignore-errors (funcall (pop *cleanups*)))))

(defun run-suite ()
  "Runs the suite, prints FiveAM's report and one line `N passed, N failed`
(counting tests), returns T when nothing failed."
  (let* ((fiveam:*on-error* nil) (fiveam:*on-failure* nil)
         (results (unwind-protect (fiveam:run :lipc) (run-cleanups))))
    (fiveam:explain! results)
    (multiple-value-bind (p f s) (test-outcomes results)
      (format t "~&~D passed, ~D failed~:[~;, ~:*~D skipped~]~%" p f (and (plusp s) s))
      (finish-output)
      (zerop f))))
