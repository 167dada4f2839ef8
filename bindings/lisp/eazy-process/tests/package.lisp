;;;; package.lisp - the FiveAM suite of the eazy-process layer and its helpers.

(defpackage #:eazy-process-tests
  (:use #:cl #:eazy-process #:fiveam)
  (:export #:run-suite))

(in-package #:eazy-process-tests)

(def-suite :eazy-process :description "eazy-process's API over lipc")

;;; ---- files

(defvar *tmp* nil "This run's scratch directory (a pathname ending in /).")

(defun tmp (name)
  (unless *tmp*
    (setf *tmp* (pathname (format nil "/tmp/eazy-lipc-test-~D/" (getpid))))
    (ensure-directories-exist *tmp*))
  (merge-pathnames name *tmp*))

(defun write-file (path string)
  (with-open-file (out path :direction :output :if-exists :supersede)
    (write-string string out))
  path)

(defun read-file (path)
  (with-open-file (in path)
    (let ((s (make-string (file-length in))))
      (subseq s 0 (read-sequence s in)))))

(defun missing (path)
  (when (probe-file path) (delete-file path))
  path)

(defun read-fd (process n)
  "Everything the child writes to its fd N, read through FD-AS-PATHNAME."
  (with-open-file (in (fd-as-pathname process n))
    (with-output-to-string (out)
      (loop for c = (read-char in nil) while c do (write-char c out)))))

(defun write-fd (process n string)
  (with-open-file (out (fd-as-pathname process n) :direction :output :if-exists :overwrite)
    (write-string string out)))

(defun lines (&rest lines)
  (format nil "~{~A~%~}" lines))

;;; ---- processes as the system sees them

(defun now () (/ (get-internal-real-time) internal-time-units-per-second))

(defun proc-state (pid)
  "The state letter of PID in /proc, or NIL when it is gone (reaped)."
  (let ((text (ignore-errors
               (with-open-file (in (format nil "/proc/~D/stat" pid)) (read-line in nil)))))
    (and text (char text (+ 2 (position #\) text :from-end t))))))

(defun dir-entries (dir)
  (let ((d (sb-posix:opendir dir)))
    (unwind-protect
         (loop for entry = (sb-posix:readdir d)
               until (sb-alien:null-alien entry)
               for name = (sb-posix:dirent-name entry)
               unless (member name '("." "..") :test #'string=) collect name)
      (sb-posix:closedir d))))

(defun count-fds ()
  "Open fds of this process (the directory's own fd not counted)."
  (1- (length (dir-entries "/proc/self/fd"))))

(defun zombies ()
  "Children of this process that are zombies."
  (let ((me (getpid)))
    (loop for name in (dir-entries "/proc")
          for pid = (ignore-errors (parse-integer name))
          for text = (and pid (ignore-errors
                               (with-open-file (in (format nil "/proc/~D/stat" pid))
                                 (read-line in nil))))
          when (and text
                    (let* ((rest (subseq text (+ 2 (position #\) text :from-end t))))
                           (fields (with-input-from-string (in rest) (list (read in) (read in)))))
                      (and (string= "Z" (string (first fields))) (eql me (second fields)))))
            collect pid)))

(defun fd-open-p (fd)
  (handler-case (progn (sb-posix:fcntl fd sb-posix:f-getfd) t)
    (sb-posix:syscall-error () nil)))

(defun until (predicate seconds)
  "Polls PREDICATE every 20 ms for up to SECONDS; its last value."
  (loop with end = (+ (now) seconds)
        for v = (funcall predicate)
        until (or v (> (now) end))
        do (sleep 0.02)
        finally (return v)))

(defun have (program)
  (eql 0 (third (multiple-value-list
                 (shell-command (format nil "command -v ~A >/dev/null" program))))))

(defmacro quietly (&body body)
  "BODY with FINALIZE-PROCESS's warnings muffled."
  `(handler-bind ((warning #'muffle-warning)) ,@body))

(defun warnings-of (thunk)
  "The messages of the warnings FUNCALLing THUNK signals (muffled)."
  (let ((messages '()))
    (handler-bind ((warning (lambda (w)
                              (push (princ-to-string w) messages)
                              (muffle-warning w))))
      (funcall thunk))
    (nreverse messages)))

(defun limits-line (text prefix)
  "Soft and hard of the /proc/PID/limits line starting with PREFIX."
  (let ((line (find-if (lambda (l) (eql 0 (search prefix l)))
                       (with-input-from-string (in text)
                         (loop for l = (read-line in nil) while l collect l)))))
    (with-input-from-string (in (subseq line (length prefix)))
      (let ((*package* (find-package :keyword)))
        (list (read in) (read in))))))

;;; ---- the runner

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

(defun run-suite ()
  "Runs the suite, prints FiveAM's report and one line `N passed, N failed`
(counting tests), returns T when nothing failed."
  (let* ((fiveam:*on-error* nil) (fiveam:*on-failure* nil)
         (results (unwind-protect (fiveam:run :eazy-process)
                    (when *tmp* (ignore-errors (uiop:delete-directory-tree *tmp* :validate t))))))
    (fiveam:explain! results)
    (multiple-value-bind (p f s) (test-outcomes results)
      (format t "~&~D passed, ~D failed~:[~;, ~:*~D skipped~]~%" p f (and (plusp s) s))
      (finish-output)
      (zerop f))))
