;;;; proc-demo.lisp - a two-stage pipeline whose pipe goes from child to
;;;; child (never through this process), and a child under a memory limit
;;;; that fails and is reported with its exit status, CPU time and peak
;;;; memory; then a CPU-limited one, and RUN-COMMAND with input and timeout.
;;;;
;;;;   sbcl --noinform --non-interactive --no-userinit --load bindings/lisp/examples/proc-demo.lisp

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))

(defpackage #:lipc-proc-demo (:use #:cl #:lipc))
(in-package #:lipc-proc-demo)

(defun status (code signal)
  (if (plusp signal)
      (format nil "killed by signal ~D" signal)
      (format nil "exit code ~D" code)))

(defun cpu (process)
  (let ((info (process-info process)))
    (format nil "cpu ~,3F s (user ~,3F, sys ~,3F), max RSS ~D KiB"
            (/ (+ (getf info :utime-us) (getf info :stime-us)) 1d6)
            (/ (getf info :utime-us) 1d6) (/ (getf info :stime-us) 1d6)
            (getf info :maxrss-kb))))

(defun last-line (text)
  (let ((lines (with-input-from-string (in (or text ""))
                 (loop for l = (read-line in nil) while l collect l))))
    (or (car (last lines)) "")))

;;; printf 'pear\napple\nfig\n' | sort -- the pipe is made here, given to
;;; each child, and closed here as soon as each has started (:close t).
(multiple-value-bind (r w) (sb-posix:pipe)
  (let* ((producer (spawn-process '("printf" "pear\\napple\\nfig\\n") :output `(:fd ,w :close t)))
         (sorter (spawn-process '("sort") :input `(:fd ,r :close t) :output :pipe))
         (sorted (process-communicate sorter :timeout 5)))
    (assert (equal '(0 0) (multiple-value-list (process-wait producer :timeout 5))))
    (assert (equal '(0 0) (multiple-value-list (process-wait sorter :timeout 5))))
    (format t "Lisp: pipeline printf (pid ~D) | sort (pid ~D) gave: ~{~A~^ ~}~%"
            (process-pid producer) (process-pid sorter)
            (with-input-from-string (in sorted) (loop for l = (read-line in nil) while l collect l)))
    (close-process producer)
    (close-process sorter)))

;;; A child that wants 300 MiB under a 100 MiB address-space limit.
(defparameter *python*
  (zerop (run-command "command -v python3 >/dev/null")))

(defparameter *limited*
  (multiple-value-list
   (run-command (if *python*
                    '("python3" "-c" "bytearray(300 * 1024 * 1024)")
                    '("sh" "-c" "x=$(head -c 200000000 /dev/zero | tr '\\0' x)"))
                :rlimits `(:as ,(* 100 1024 1024)) :timeout 30)))

(destructuring-bind (code out err p) *limited*
  (declare (ignore out))
  (format t "Lisp: memory-limited child (RLIMIT_AS 100 MiB): ~A, ~A; it said: ~A~%"
          (status code (process-signal p)) (cpu p) (last-line err))
  (format t "Lisp:   (max RSS after exit is the kernel's ru_maxrss, which for a vfork-style ~
             spawn includes this image's own RSS)~%"))

;;; The same in a shell, killed by the kernel's CPU limit instead.
(defparameter *cpu-limited*
  (multiple-value-list (run-command "while :; do :; done" :rlimits '(:cpu (1 2)) :timeout 30)))

(destructuring-bind (code out err p) *cpu-limited*
  (declare (ignore out err))
  (format t "Lisp: CPU-limited shell loop (RLIMIT_CPU 1 s): ~A, ~A~%"
          (status code (process-signal p)) (cpu p)))

;;; Input in, output and status out, with a deadline; a timeout keeps the output.
(multiple-value-bind (code out) (run-command '("tr" "a-z" "A-Z") :input (format nil "lipc from lisp~%")
                                                                 :timeout 5)
  (format t "Lisp: run-command tr a-z A-Z -> ~S, exit code ~D~%" (last-line out) code))
(handler-case (run-command "echo started; exec sleep 10" :timeout 0.2)
  (communicate-timeout (c)
    (format t "Lisp: run-command with a 0.2 s timeout -> ~A; kept output ~S~%"
            (type-of c) (last-line (partial-output c)))))

(finish-output)
(sb-ext:exit :code (if (and (/= 0 (first *limited*))
                            (= 24 (process-signal (fourth *cpu-limited*))))
                       0
                       1))
