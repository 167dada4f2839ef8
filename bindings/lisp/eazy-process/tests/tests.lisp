;;;; tests.lisp - eazy-process's documented API and observed behaviour, run on
;;;; lipc: every fdspec form, pipelines between two shells, wait's lists,
;;;; with-rlimit, with-process and finalize-process, shell-command, the
;;;; environment; then threads using it during GC storms and the GC
;;;; finalization of a dropped process.  Several tests are the original
;;;; suite's (t/package.lisp), unchanged but for file names.

(in-package #:eazy-process-tests)

(in-suite :eazy-process)

(defparameter +original-exports+
  '("SHELL" "PROCESS" "GETPID" "PID" "WAIT" "FD" "+FDSPECS-DEFAULT+" "FD-AS-PATHNAME"
    "FDS" "PIPE" "*RLIMIT-RESOURCES*" "WITH-RLIMIT" "CLOSE-PIPE" "SHELL-COMMAND"
    "*INTERPRETER*" "FINALIZE-PROCESS" "ENVIRONMENT" "WITH-PROCESS"
    "*BOURNE-COMPATIBLE-SHELL*"))

(defun test-input ()
  "The original suite's t/test-input."
  (write-file (tmp "test-input") (lines "guicho")))

;;; ---- the package

(test exports-exactly-the-originals
  (let ((mine (let (l) (do-external-symbols (s :eazy-process) (push (symbol-name s) l)) l)))
    (is (equal (sort (copy-list +original-exports+) #'string<) (sort mine #'string<))))
  ;; the original's users :use it beside these: no clash may arise
  (let ((name (format nil "EAZY-USER-~D" (random 1000000))))
    (unwind-protect
         (finishes (make-package name :use '(:cl :eazy-process :fiveam :alexandria :cffi)))
      (when (find-package name) (delete-package name))))
  (is (equal '(:input :output :output) +fdspecs-default+)))

;;; ---- shell, fds, implicit pipes

(test shell-default-fdspecs-are-three-pipes
  (let ((p (shell '("sh" "-c" "read x; echo out:$x; echo err:$x >&2; exit 5"))))
    (is (typep p 'process))
    (is (integerp (pid p)))
    (is (string= (format nil "#<PROCESS PID: ~D>" (pid p)) (princ-to-string p)))
    (let ((fds (fds p)))
      (is (= 3 (length fds)))
      (is (every #'integerp fds))
      (is (= 3 (length (remove-duplicates (coerce fds 'list)))))
      (is (not (eq fds (fds p))) "FDS is a fresh copy")
      (is (eql (aref fds 1) (fd p 1))))
    (is (equal (pathname (format nil "/dev/fd/~D" (fd p 0))) (fd-as-pathname p 0)))
    (write-fd p 0 (lines "hi"))
    (is (string= (lines "out:hi") (read-fd p 1)))
    (is (string= (lines "err:hi") (read-fd p 2)))
    (is (equal '(t 5 nil nil nil nil nil nil 1280) (wait p)))
    (quietly (finalize-process p))))

(test read-hostname
  ;; the original's README example
  (let ((p1 (shell `("hostname"))))
    (with-open-file (s (fd-as-pathname p1 1))
      (is (string= (machine-instance) (read-line s))))
    (wait p1)
    (quietly (finalize-process p1))))

(test fdspec-synonyms-and-any-number-of-fds
  ;; :i :in :input are pipes the child reads, :o :out :output pipes it writes,
  ;; at any fd: fd 3 is written, fd 4 read, by the child
  (let ((p (shell '("sh" "-c" "read a; read b <&4; echo $a$b >&3; echo done")
                  '(:i :o :out :o :in))))
    (is (= 5 (length (fds p))))
    (write-fd p 0 (lines "x"))
    (write-fd p 4 (lines "y"))
    (is (string= (lines "xy") (read-fd p 3)))
    (is (string= (lines "done") (read-fd p 1)))
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p)))
    (quietly (finalize-process p))))

(test fdspec-nil-is-dev-null
  (let ((p (shell (list "sh" "-c" "a=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2); echo \"$a\" >&3")
                  '(nil nil nil :out))))
    (is (equalp #(nil nil nil) (subseq (fds p) 0 3)) "no parent ends for /dev/null")
    (is (string= (lines "/dev/null" "/dev/null" "/dev/null") (read-fd p 3)))
    (wait p)
    (quietly (finalize-process p)))
  ;; from fd 3 on (the README's example has one at fd 6): read and write
  (let ((p (shell '("sh" "-c" "readlink /proc/$$/fd/3; cat <&3; echo x >&3; echo $?")
                  '(nil :out nil nil))))
    (is (string= (lines "/dev/null" "0") (read-fd p 1)))
    (wait p)
    (quietly (finalize-process p)))
  ;; the original's devnull test
  (let ((p (shell `("hostname") '(nil nil))))
    (is (eq t (first (wait p))))
    (quietly (finalize-process p)))
)

(test fds-beyond-the-specs-0-2-inherited-others-closed
  ;; an SBCL OPEN leaves its fd inheritable; the child must not see it
  (with-open-file (f (write-file (tmp "held-open") "x"))
    (declare (ignorable f))
    (let ((p (shell '("sh" "-c" "ls /proc/$$/fd") '(nil :out))))
      (is (equal (lines "0" "1" "2") (read-fd p 1)) "only 0 1 2 (2 inherited)")
      (wait p)
      (quietly (finalize-process p)))))

;;; ---- pipelines between two shells

(test implicit-pipe-fd-hands-over
  ;; the original's implicit-pipe test and README example
  (let* ((in (test-input))
         (p1 (shell '("cat") `(,in :output)))
         (p1-out (fd p1 1))
         (p2 (shell '("cat") `(,(fd p1 1) :out :o :input :in :i nil))))
    (is (= 7 (length (fds p2))))
    (is (null (fd p2 0)) "a handed-over fd has no parent slot")
    (is (not (fd-open-p p1-out)) "the parent closed the fd it handed over")
    (signals error (fd-as-pathname p1 1))
    (is (string= (lines "guicho") (read-fd p2 1)))
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p1)))
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p2)))
    (quietly (finalize-process p1) (finalize-process p2))))

(test fixnum-pipeline-of-two-shells
  (let* ((p1 (shell '("printf" "b\\na\\nc\\n")))
         (p2 (shell '("sort") (list (fd p1 1) :out :out))))
    (is (string= (lines "a" "b" "c") (read-fd p2 1)))
    (is (eql 0 (second (wait p1))))
    (is (eql 0 (second (wait p2))))
    (quietly (finalize-process p1) (finalize-process p2))))

(test foreign-fixnum-fds
  ;; an fd this layer did not make is closed in the parent too (the
  ;; original's rule), except 0-2, this image's own stdio
  (cffi:with-foreign-object (fds :int 2)
    (assert (zerop (cffi:foreign-funcall "pipe" :pointer fds :int)))
    (let* ((r (cffi:mem-aref fds :int 0)) (w (cffi:mem-aref fds :int 1))
           (p (shell '("echo" "foreign") (list nil w))))
      (is (not (fd-open-p w)) "the write end was handed over")
      (let ((in (lipc:make-pipe-stream r :input)))
        (unwind-protect
             (is (equal (lines "foreign")
                        (sb-ext:octets-to-string (lipc:read-all-octets in :timeout 5))))
          (close in)))
      (wait p)
      (quietly (finalize-process p))))
  (let ((p (shell '("true") '(0 nil 2))))
    (wait p)
    (is (and (fd-open-p 0) (fd-open-p 2)) "stdio is not closed")
    (quietly (finalize-process p))))

(test explicit-pipe
  ;; the original's explicit-pipe test
  (let* ((pipe (pipe))
         (in (test-input))
         (out (missing (tmp "test-output")))
         (err (missing (tmp "test-error"))))
    (let ((p1 (shell '("cat") `((,in :direction :input)
                                (,pipe :direction :output)
                                :out)))
          (p2 (shell '("cat") `((,pipe :direction :input)
                                (,out :direction :output :if-does-not-exist :create)
                                (,err :direction :output :if-does-not-exist :create)))))
      (is (eql (eazy-process::pipe-read pipe) (fd p1 1)) "the parent slot is the other end")
      (is (eql (eazy-process::pipe-write pipe) (fd p2 0)))
      (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p1)))
      ;; this process still holds the write end: p2 cannot see the end yet
      (sleep 0.2)
      (is (null (wait p2 :nohang)) "p2 waits for the pipe's end while the parent holds it")
      (close-pipe pipe)
      (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p2)))
      (is (string= "guicho" (with-open-file (s out) (read-line s))))
      (is (zerop (with-open-file (s err) (file-length s))))
      (quietly (finalize-process p1) (finalize-process p2)))))

(test explicit-pipe-nodir
  ;; the original's explicit-pipe-nodir test: default directions
  (let* ((pipe (pipe))
         (in (test-input))
         (out (missing (tmp "test-output")))
         (err (missing (tmp "test-error"))))
    (let ((p1 (shell '("cat") `(,in ,pipe)))
          (p2 (shell '("cat") `(,pipe ,out ,err))))
      (close-pipe pipe)
      (is (eq t (first (wait p1))))
      (is (eq t (first (wait p2))))
      (is (string= "guicho" (with-open-file (s out) (read-line s))))
      (is (zerop (with-open-file (s err) (file-length s))))
      (quietly (finalize-process p1) (finalize-process p2)))))

(test pipe-objects
  (let ((pipe (pipe)))
    (is (typep pipe 'pipe))
    (is (string= (format nil "#S(PIPE :READ ~D :WRITE ~D)"
                         (eazy-process::pipe-read pipe) (eazy-process::pipe-write pipe))
                 (prin1-to-string pipe)))
    (signals error (shell '("true") (list nil nil nil pipe)) "fd 3: no default direction")
    ;; a pipe read by this process: the child writes at fd 3 with a direction
    (let ((p (shell '("sh" "-c" "echo three >&3") `(nil nil nil (,pipe :direction :output)))))
      (is (eql (eazy-process::pipe-read pipe) (fd p 3)))
      (wait p)
      (with-open-file (in (fd-as-pathname p 3))
        (close-pipe pipe)                     ; the open stream keeps its own fd
        (is (string= "three" (read-line in))))
      (quietly (finalize-process p)))
    (is (null (close-pipe pipe)) "closing again does nothing")
    (signals error (shell '("true") (list pipe)) "a closed pipe")))

;;; ---- pathnames with OPEN's options

(test file
  ;; the original's file test
  (let ((p (shell '("cat") `((,(test-input) :direction :input) :out :out))))
    (with-open-file (s (fd-as-pathname p 1))
      (is (string= "guicho" (read-line s))))
    (wait p)
    (quietly (finalize-process p))))

(test pathname-fdspecs
  (let ((f (tmp "open-test")))
    ;; output without options: :if-exists :error
    (write-file f "keep")
    (signals error (shell '("echo" "no") `(nil ,f)))
    (is (string= "keep" (read-file f)) "the existing file is untouched")
    ;; a string is a file name too
    (missing f)
    (wait (shell '("echo" "new") `(nil ,(namestring f))))
    (is (string= (lines "new") (read-file f)))
    (write-file f "abcdef")
    (wait (shell '("printf" "XYZ") `(nil (,f :direction :output :if-exists :overwrite))))
    (is (string= "XYZdef" (read-file f)) ":overwrite does not truncate")
    (wait (shell '("printf" "123") `(nil (,f :direction :output :if-exists :append))))
    (is (string= "XYZdef123" (read-file f)))
    (wait (shell '("printf" "S") `(nil (,f :direction :output :if-exists :supersede))))
    (is (string= "S" (read-file f)))
    ;; input, :io, :probe
    (let ((p (shell '("cat") `((,f :direction :input) :out))))
      (is (string= "S" (read-fd p 1)))
      (wait p))
    (let ((p (shell '("sh" "-c" "cat; echo more >&0") `((,f :direction :io) :out))))
      (is (string= "S" (read-fd p 1)))
      (wait p)
      (is (string= (lines "Smore") (read-file f)) "read, then written at the same offset"))
    (let ((p (shell '("cat") `((,f :direction :probe) :out))))
      (is (search "S" (read-fd p 1)))
      (wait p))
    ;; missing files
    (missing f)
    (signals error (shell '("cat") `(,f)) "input of a missing file")
    (signals error (shell '("cat") `(nil (,f :direction :output :if-exists :append))))
    (is (null (probe-file f)))
    (wait (shell '("echo" "c") `(nil (,f :direction :output :if-exists :append
                                          :if-does-not-exist :create))))
    (is (string= (lines "c") (read-file f)))
    ;; what OPEN's options cannot be here
    (signals error (shell '("true") `(nil (,f :direction :output :if-exists :rename))))
    (signals error (shell '("true") `(nil (,f :direction :output :if-does-not-exist nil))))
    (signals error (shell '("true") `(nil (,f :direction :sideways))))
    (signals error (shell '("true") '(:bogus)))))

;;; ---- wait

(test wait-lists
  (is (equal '(t 1 nil nil nil nil nil nil 256) (wait (shell '("sh" "-c" "exit 1")))))
  (is (equal '(nil nil t 15 nil nil nil nil 15) (wait (shell '("sh" "-c" "kill -TERM $$")))))
  (with-rlimit ((4 0))                  ; RLIMIT_CORE 0 (a core_pattern pipe may dump anyway)
    (destructuring-bind (&rest list) (wait (shell '("sh" "-c" "kill -SEGV $$")))
      (is (equal '(nil nil t 11) (subseq list 0 4)))
      (is (member (fifth list) '(t nil)))
      (is (equal (list nil nil nil (logior 11 (if (fifth list) #x80 0))) (subseq list 5)))))
  (let ((p (shell '("sleep" "0.3"))))
    (is (null (wait p :nohang)) ":nohang while it runs")
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p)))
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p)) "a second wait: the same list")
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p :nohang)))
    (finalize-process p)
    (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p)) "after finalize-process too")))

(test wait-untraced-and-continued
  (quietly
    (with-process (p '("sh" "-c" "kill -STOP $$; read x; echo resumed $x") '(:in :out))
      (is (equal (list nil nil nil nil nil t 19 nil (logior (ash 19 8) #x7f))
                 (wait p :untraced)))
      (is (null (wait p :nohang)) "stopped is not exited")
      (wait (shell (list "kill" "-CONT" (princ-to-string (pid p)))))
      (is (equal '(nil nil nil nil nil nil nil t #xffff) (wait p :continued)))
      (write-fd p 0 (lines "ok"))
      (is (string= (lines "resumed ok") (read-fd p 1)))
      (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p :untraced))))))

(test wait-is-interruptible-and-the-process-stays-usable
  ;; every wait sleeps in C in slices: with-timeout (an interrupt) cuts it
  ;; short between two of them, in Lisp
  (let ((p (shell '("sleep" "10") '(nil nil nil))))
    (dolist (option '(nil :untraced :continued))
      (let ((t0 (now)))
        (is (eq :timeout (handler-case (sb-ext:with-timeout 0.2 (wait p option))
                           (sb-ext:timeout () :timeout))))
        (is (< (- (now) t0) 2) "~S: ~,2F s" option (- (now) t0))))
    (is (null (wait p :nohang)) "still running, still usable")
    (quietly (finalize-process p))
    (is (equal '(nil nil t 15 nil nil nil nil 15) (wait p)))))

;;; ---- with-rlimit

(test with-rlimit-cpu-time
  ;; the README's example: the busy child is killed by SIGXCPU (24)
  (let ((t0 (now)))
    (with-rlimit ((0 1))                ; +rlimit-cpu-time+, 1 s
      (let ((p (shell '("sh" "-c" "while :; do :; done"))))
        (destructuring-bind (exited exitstatus ifsignalled termsig &rest args) (wait p)
          (declare (ignore args))
          (is-false exited)
          (is-false exitstatus)
          (is-true ifsignalled)
          (is (= 24 termsig)))
        (quietly (finalize-process p))))
    (is (< (- (now) t0) 10)))
  (is (= -1 (aref *rlimit-resources* 0)) "the binding ends with the form"))

(test with-rlimit-address-space
  (with-rlimit ((9 (* 200 1024 1024)))  ; +rlimit-as+, 200 MiB
    (is (string= (lines "204800") (shell-command "ulimit -v")) "the soft limit, in KiB")
    (if (not (have "python3"))
        (skip "no python3 for the allocation")
        (let ((p (shell '("python3" "-c" "bytearray(500*1024*1024)") '(nil nil :out))))
          (is (search "MemoryError" (read-fd p 2)))
          (is (equal '(t 1 nil nil nil nil nil nil 256) (wait p)))
          (quietly (finalize-process p)))))
  (is (string= (lines "unlimited") (shell-command "ulimit -v")) "outside: none"))

(test with-rlimit-nests-and-sets-only-the-soft-limit
  (let* ((mine (multiple-value-list (lipc::current-rlimit :cpu)))
         (hard (if (= -1 (second mine)) :unlimited (second mine))))
    (flet ((cpu-limits ()
             (limits-line (shell-command "cat /proc/self/limits") "Max cpu time")))
      (with-rlimit ((0 3))
        (is (equal (list 3 hard) (cpu-limits)) "the soft limit; the hard one stays")
        (with-rlimit ((0 5) (9 500000000))
          (is (equal (list 5 hard) (cpu-limits)) "the innermost wins")
          (is (string= (lines "488281") (shell-command "ulimit -v"))))
        (is (equal (list 3 hard) (cpu-limits)) "the outer limit again")
        (is (equal mine (multiple-value-list (lipc::current-rlimit :cpu)))
            "this Lisp process is not limited"))))
  (with-rlimit ((5 1000))                ; RLIMIT_RSS: no effect on Linux, ignored
    (is (eq t (first (wait (shell '("true") '(nil nil nil)))))))
  (with-rlimit ((13 1))                  ; RLIMIT_NICE: lipc cannot set it
    (signals lipc:lipc-not-supported (shell '("true")))))

;;; ---- with-process and finalize-process

(test with-process-kills-right-after-the-body
  ;; the README's example: sleep 3 does not get to run 3 seconds
  (let* ((t0 (now)) (pid nil)
         (warnings (warnings-of (lambda ()
                                  (with-process (p1 '("sleep" "3"))
                                    (setf pid (pid p1)))))))
    (is (equal (list (format nil "Killing ~D" pid)) warnings))
    (is (< (- (now) t0) 2))
    (is (null (proc-state pid)) "killed and reaped: no zombie")))

(test with-process-with-wait-waits
  (let ((t0 (now)))
    (is (null (warnings-of (lambda ()
                             (with-process (p1 '("sleep" "0.4"))
                               (is (equal '(t 0 nil nil nil nil nil nil 0) (wait p1))))))))
    (is (>= (- (now) t0) 0.35))))

(test with-process-cleans-up-on-a-non-local-exit
  (let ((before (count-fds)) pid)
    (is (eq :escaped (catch :out
                       (quietly
                         (with-process (p '("cat"))
                           (setf pid (pid p))
                           (throw :out :escaped))))))
    (is (null (proc-state pid)))
    (is (= before (count-fds)) "the pipes are closed: ~D fds -> ~D" before (count-fds))
    (is (equal 42 (with-process (p '("true") '(nil nil nil)) (wait p) 42)) "the body's value")))

(test finalize-process-escalates-and-is-idempotent
  (let ((p (shell '("sh" "-c" "trap '' TERM; echo ready; exec sleep 10") '(nil :out nil))))
    (with-open-file (in (fd-as-pathname p 1)) (read-line in)) ; the trap is set
    (let ((t0 (now)))
      (is (equal (list (format nil "Killing ~D" (pid p)) (format nil "Force killing ~D" (pid p)))
                 (warnings-of (lambda () (finalize-process p)))))
      (is (< (- (now) t0) 5)))
    (is (equal '(nil nil t 9 nil nil nil nil 9) (wait p)))
    (is (null (proc-state (pid p))))
    (is (null (warnings-of (lambda () (finalize-process p)))) "again: nothing"))
  (let ((p (shell '("sleep" "10") '(nil nil nil))))
    (quietly (finalize-process p 2))
    (is (equal '(nil nil t 2 nil nil nil nil 2) (wait p)) "the signal asked for")))

;;; ---- shell-command

(test trivial-shell
  ;; the original's tests, imported from trivial-shell
  (is (= 10 (read-from-string (shell-command "expr 1 + 2 + 3 + 4"))))
  (is (= 2 (read-from-string (nth-value 1 (shell-command "echo 2 >&2")))))
  (if (have "bash")
      (let ((*interpreter* "bash -c"))
        (is (string= (lines "1 2 3") (shell-command "echo {1..3}"))))
      (skip "no bash"))
  (if (have "perl")
      (let ((*interpreter* "perl -e"))
        (is (string= "4" (shell-command "print(1+3)"))))
      (skip "no perl"))
  (is (= 2 (parse-integer (shell-command "expr 1 + 1") :junk-allowed t)))
  (is (= 5 (parse-integer (shell-command "wc -c" :input "hello") :junk-allowed t))))

(test shell-command-values-and-options
  (is (equal (list (lines "out") (lines "err") 3)
             (multiple-value-list (shell-command "echo out; echo err >&2; exit 3"))))
  (is (= (+ 128 9) (nth-value 2 (shell-command "kill -KILL $$"))) "a signal: 128 + it")
  (is (string= (lines "from a stream")
               (with-input-from-string (in (lines "from a stream")) (shell-command "cat" :input in))))
  (is (string= "" (shell-command "cat" :input nil)) "no input: end of file at once")
  (is (string= "é" (shell-command "printf 'é'" :external-format :utf-8)))
  (let ((script (write-file (tmp "script.sh") (lines "#!/bin/sh" "echo from a pathname"))))
    (sb-posix:chmod (namestring script) #o755)
    (is (string= (lines "from a pathname") (shell-command script))))
  (is (string= "; sh -c 'echo hi'"
               (with-output-to-string (*trace-output*) (shell-command "echo hi" :verbose t))))
  (is (string= (lines "x") (shell-command "echo x" :result-type 'string)))
  (let ((*interpreter* "sh -c"))
    (is (string= "sh -c" *bourne-compatible-shell*) "an alias of *interpreter*")))

;;; ---- the environment, PATH search, start failures

(test environment-and-environments
  (let ((env (environment)))
    (is (every #'stringp env))
    (is (member (format nil "PATH=~A" (lipc:env-get "PATH")) env :test #'string=)))
  (lipc:env-set "EAZY_LIPC_T" "live")
  (unwind-protect
       (progn
         (is (member "EAZY_LIPC_T=live" (environment) :test #'string=))
         (let ((p (shell '("sh" "-c" "echo $EAZY_LIPC_T"))))
           (is (string= (lines "live") (read-fd p 1)) "children inherit the live environ")
           (wait p)))
    (lipc:env-unset "EAZY_LIPC_T"))
  ;; the original's environment test
  (let ((p1 (shell `("sh" "-c" "echo $MYVAL") +fdspecs-default+ (cons "MYVAL=2015" (environment)))))
    (with-open-file (s (fd-as-pathname p1 1))
      (is (= 2015 (read s))))
    (wait p1))
  (let ((p (shell '("sh" "-c" "echo $A:$B:$HOME") '(nil :out) '(("A" . 1) "B=two" ("HOME" . "/nowhere")))))
    (is (string= (lines "1:two:/nowhere") (read-fd p 1)) "added and overridden, on top of the rest")
    (wait p)))

(test search-and-start-failures
  (is (equal '(t 4 nil nil nil nil nil nil 1024)
             (wait (shell '("/bin/sh" "-c" "exit 4") '(nil nil nil) nil nil))))
  (signals lipc:lipc-not-found (shell '("true") '(nil nil nil) nil nil) "search off: no PATH")
  (signals lipc:lipc-not-found (shell '("no-such-program-eazy-lipc")))
  (is (eq t (first (wait (shell #("true") '(nil nil nil))))) "argv: any sequence")
  (is (= (sb-unix:unix-getpid) (getpid))))

;;; ---- threads and the GC

(defun storm-worker (stop failures count dropped)
  (lambda ()
    (handler-case
        (quietly
          (loop until (car stop)
                do (let* ((p1 (shell '("printf" "b\\na\\n")))
                          (p2 (shell '("sort") (list (fd p1 1) :out nil))))
                     (unless (string= (lines "a" "b") (read-fd p2 1))
                       (push :pipeline (car failures)))
                     (unless (and (equal '(t 0) (subseq (wait p1) 0 2))
                                  (equal '(t 0) (subseq (wait p2) 0 2)))
                       (push :wait (car failures)))
                     (finalize-process p1)
                     (finalize-process p2))
                   (multiple-value-bind (out err status) (shell-command "echo x; exit 3")
                     (unless (and (string= out (lines "x")) (string= err "") (eql status 3))
                       (push (list :shell-command out err status) (car failures))))
                   (with-process (p '("sleep" "5") '(nil nil nil))
                     (unless (null (wait p :nohang)) (push :nohang (car failures))))
                   (let ((pipe (pipe)))
                     (let ((p1 (shell '("echo" "via") `(nil ,pipe nil)))
                           (p2 (shell '("cat") `(,pipe :out nil))))
                       (close-pipe pipe)
                       (unless (string= (lines "via") (read-fd p2 1)) (push :pipe (car failures)))
                       (wait p1) (wait p2)))
                   ;; one forgotten each round: the finalizer thread stops
                   ;; and reaps it through lipc while the storm goes on
                   (let ((pid (pid (shell '("sleep" "30") '(nil nil nil)))))
                     (sb-ext:atomic-push pid (car dropped)))
                   (sb-ext:atomic-incf (car count))))
      (serious-condition (e) (push (princ-to-string e) (car failures))))))

(test threads-using-it-during-gc-storms
  ;; The image would crash (heap corruption, "no SP known for thread") if a
  ;; Lisp thread ran Go code while another collects, or if SIGCHLD hit a
  ;; thread inside Go (host-runtimes.md F3, F16, F17).
  (let* ((stop (list nil)) (failures (list '())) (count (list 0)) (gcs (list 0))
         (dropped (list '()))
         (hook (lambda () (sb-ext:atomic-incf (car gcs)))))
    (push hook sb-ext:*after-gc-hooks*)
    (unwind-protect
         (let ((allocators
                 (loop repeat 2
                       collect (sb-thread:make-thread
                                (lambda ()
                                  (let ((ring (make-array 32 :initial-element nil)) (i 0))
                                    (loop until (car stop)
                                          do (setf (aref ring (mod i 32))
                                                   (if (evenp i)
                                                       (make-list 20000 :initial-element i)
                                                       (make-array 50000 :initial-element i)))
                                             (incf i))))
                                :name "eazy storm allocator")))
               (workers (loop repeat 2
                              collect (sb-thread:make-thread (storm-worker stop failures count dropped)
                                                             :name "eazy storm worker"))))
           (sleep 4)
           (setf (car stop) t)
           (let ((joined (mapcar (lambda (th) (sb-thread:join-thread th :default :hung :timeout 60))
                                 workers)))
             (mapc (lambda (th) (sb-thread:join-thread th :default nil :timeout 30)) allocators)
             (is (notany (lambda (r) (eq r :hung)) joined) "a worker hung")))
      (setf (car stop) t)
      (setf sb-ext:*after-gc-hooks* (remove hook sb-ext:*after-gc-hooks*)))
    (is (null (car failures)) "failures: ~S" (car failures))
    (is (< 3 (car count)) "~D worker rounds" (car count))
    (is (< 10 (car gcs)) "~D GCs" (car gcs))
    (is (= 1 (lipc:diag :go-thread)) "Go work ran on lipc's threads")
    (is (until (lambda ()
                 (sb-ext:gc :full t)
                 (notany #'proc-state (car dropped)))
               20)
        "dropped processes still there: ~S" (remove-if-not #'proc-state (car dropped)))
    (is (until (lambda () (null (zombies))) 5) "zombies: ~S" (zombies))))

(defun spawn-and-drop ()
  "Spawns a child in another thread and drops it: returns its pid and the
parent-side fd numbers, nothing that keeps the process object alive (the
thread's stack, which the conservative GC scans, is gone once it is joined)."
  (sb-thread:join-thread
   (sb-thread:make-thread
    (lambda ()
      (let ((p (shell '("sleep" "100"))))
        (list (pid p) (coerce (fds p) 'list))))
    :name "eazy spawn-and-drop")))

(test finalization-of-a-dropped-process
  (let ((before (count-fds)))
    (destructuring-bind (pid fds) (spawn-and-drop)
      (is (member (proc-state pid) '(#\S #\R)) "it runs")
      (is (every #'fd-open-p fds))
      (is (until (lambda ()
                   (sb-ext:gc :full t)
                   (null (proc-state pid)))
                 15)
          "after GC the child is killed and reaped: ~S" (proc-state pid))
      (is (until (lambda () (sb-ext:gc :full t) (<= (count-fds) before)) 10)
          "its pipe ends are closed: ~D fds -> ~D" before (count-fds))
      (is (null (zombies)) "zombies: ~S" (zombies)))))
