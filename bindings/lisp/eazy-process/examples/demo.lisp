;;;; demo.lisp - a program written for eazy-process, run unchanged on lipc.
;;;;
;;;;   sbcl --noinform --non-interactive --no-userinit --load bindings/lisp/eazy-process/examples/demo.lisp
;;;;
;;;; Only the loading below knows about lipc: it loads the `eazy-process'
;;;; system of lipc's Lisp binding instead of Masataro Asai's library.  The
;;;; program after it is in the style of eazy-process's README (pipes between
;;;; shells, fdspecs, rlimits, with-process, shell-command) and uses nothing
;;;; but eazy-process's exported API.

(require :asdf)
(asdf:load-asd (merge-pathnames "../eazy-process.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :eazy-process))

;;; ------------------------------------------------------------------------
;;; The program, as written for eazy-process.

(defpackage :eazy-demo
  (:use :cl :eazy-process))
(in-package :eazy-demo)

;; cl-rlimit's constants (Linux numbering), which eazy-process programs take
;; from cl-rlimit; defined here since cl-rlimit is not packaged for Debian.
(defconstant +rlimit-cpu-time+ 0)
(defconstant +rlimit-as+ 9)

(defvar *dir* (format nil "/tmp/eazy-demo-~D/" (getpid)))
(ensure-directories-exist *dir*)
(defvar in (concatenate 'string *dir* "test-input"))
(defvar out (concatenate 'string *dir* "test-output"))
(with-open-file (s in :direction :output :if-exists :supersede)
  (format s "guicho~%lisp~%pipes~%"))

(defun slurp (pathname)
  (with-open-file (s pathname)
    (loop for line = (read-line s nil) while line collect line)))

(defun say (fmt &rest args)
  (let ((*print-pretty* nil))
    (format t "~&~?~%" fmt args))
  (finish-output))

(say "eazy-process on lipc; this is pid ~D" (getpid))

;;; Implicit piping: fd 1 of p1 is a pipe; p2 reads it as its fd 0.
(let* ((p1 (shell '("cat") `(,in :output)))             ; fd 0: file, 1: implicit pipe
       (p2 (shell '("tr" "a-z" "A-Z") `(,(fd p1 1) :out :out))))
  (say "1. ~A (cat ~A) -> ~A (tr a-z A-Z); fds of p2: ~S" p1 in p2 (fds p2))
  (say "   p2 wrote: ~S" (slurp (fd-as-pathname p2 1)))
  (say "   (wait p1) => ~S" (wait p1))
  (say "   (wait p2) => ~S" (wait p2)))

;;; An explicit pipe between two shells, and a file for the output.
(defvar pipe (pipe))
(when (probe-file out) (delete-file out))
(defvar p1 (shell '("cat") `(,in ,pipe)))       ; fd 0: pathname, 1: pipe
(defvar p2 (shell '("sort") `(,pipe ,out)))     ; fd 0: pipe, 1: pathname
(close-pipe pipe)                               ; this process is done with it
(say "2. ~A | pipe | ~A > ~A: waits ~S ~S" p1 p2 out (wait p1) (wait p2))
(say "   ~A now holds ~S" out (slurp out))

;;; Reading the output through /dev/fd/N.
(let ((p (shell '("hostname"))))
  (with-open-file (s (fd-as-pathname p 1))
    (say "3. hostname says ~S; (machine-instance) is ~S" (read-line s) (machine-instance)))
  (wait p))

;;; Resource management: the child, not this Lisp, gets the limits.
(with-rlimit ((+rlimit-cpu-time+ 1))            ; 1 sec
  (let ((p (shell '("sh" "-c" "while :; do :; done"))))
    (destructuring-bind (exited exitstatus ifsignalled termsig &rest rest) (wait p)
      (declare (ignore rest))
      (say "4. a busy loop under a 1 s CPU limit: exited ~S exitstatus ~S ifsignalled ~S termsig ~S (SIGXCPU)"
           exited exitstatus ifsignalled termsig))))
(with-rlimit ((+rlimit-cpu-time+ 3))
  (with-rlimit ((+rlimit-cpu-time+ 5)
                (+rlimit-as+ 500000000))
    (say "5. nested with-rlimit, innermost: ulimit -t -v in the child => ~S"
         (shell-command "echo $(ulimit -t) $(ulimit -v)")))
  (say "   outer again => ~S" (shell-command "echo $(ulimit -t) $(ulimit -v)")))

;;; with-process: the child is finalized (killed, reaped) after the body.
(let ((start (get-internal-real-time)))
  (with-process (p '("sleep" "3"))
    (say "6. with-process ~A: body done" p))
  (say "   sleep 3 was killed right after the body: ~,2F s"
       (/ (- (get-internal-real-time) start) internal-time-units-per-second)))
(with-process (p '("sleep" "0.3"))
  (say "   with a wait inside: ~S" (wait p)))

;;; trivial-shell compatible.
(multiple-value-bind (output error-output status) (shell-command "expr 1 + 2 + 3 + 4; echo oops >&2")
  (say "7. shell-command => ~S ~S ~S" output error-output status))
(say "   with :input => ~S" (shell-command "wc -c" :input "hello"))
(let ((*interpreter* "perl -e"))
  (when (probe-file "/usr/bin/perl")
    (say "   *interpreter* perl -e => ~S" (shell-command "print(1+3)"))))

;;; A forgotten process is finalized when it is garbage.
(defun forget-a-child ()
  (pid (shell '("sleep" "100"))))
(let ((pid (sb-thread:join-thread (sb-thread:make-thread #'forget-a-child))))
  (loop repeat 100
        while (probe-file (format nil "/proc/~D/stat" pid))
        do (sb-ext:gc :full t) (sleep 0.05))
  (say "8. a dropped process (pid ~D) after GC: ~:[killed and reaped~;still there~]"
       pid (probe-file (format nil "/proc/~D/stat" pid))))

(mapc #'delete-file (directory (concatenate 'string *dir* "*")))
(sb-ext:delete-directory *dir*)
(say "done")
