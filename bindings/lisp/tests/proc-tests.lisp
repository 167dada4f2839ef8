;;;; proc-tests.lisp - processes, pipes, the environment and quoting: every
;;;; item of the proc brief's test list, from Lisp, plus what SBCL adds:
;;;; threads spawning and waiting during GC storms while children exit,
;;;; interrupt-thread and with-timeout cutting waits and pipe reads short,
;;;; fds that SBCL's OPEN leaves inheritable, autokill from a short-lived
;;;; thread and after kill -9 of a parent sbcl.
;;;;
;;;; Helpers are named proc-... so they cannot collide with other suites'.

(in-package #:lipc-tests)

(def-suite :proc :in :lipc)
(in-suite :proc)

;;; ---- helpers

(defun proc-lines (string)
  (with-input-from-string (in string)
    (loop for line = (read-line in nil) while line collect line)))

(defun proc-stat (pid)
  "(state ppid pgrp session) of PID from /proc, or NIL when it is gone."
  (let ((text (ignore-errors
               (with-open-file (in (format nil "/proc/~D/stat" pid)) (read-line in nil)))))
    (when text
      (let ((fields (with-input-from-string (in (subseq text (+ 2 (position #\) text :from-end t))))
                      (loop repeat 4 collect (read in)))))
        (cons (char (string (first fields)) 0) (rest fields))))))

(defun proc-gone-p (pid)
  "True when PID no longer runs: gone, or a zombie."
  (let ((stat (proc-stat pid)))
    (or (null stat) (char= #\Z (first stat)))))

(defun proc-wait-until (predicate seconds)
  "Polls PREDICATE every 20 ms for up to SECONDS; its last value."
  (loop with end = (+ (now) seconds)
        for v = (funcall predicate)
        until (or v (> (now) end))
        do (sleep 0.02)
        finally (return v)))

(defun proc-dir-entries (dir)
  (let ((d (sb-posix:opendir dir)))
    (unwind-protect
         (loop for entry = (sb-posix:readdir d)
               until (sb-alien:null-alien entry)
               for name = (sb-posix:dirent-name entry)
               unless (member name '("." "..") :test #'string=) collect name)
      (sb-posix:closedir d))))

(defun proc-count-fds ()
  "Open fds of this process (the directory's own fd not counted)."
  (1- (length (proc-dir-entries "/proc/self/fd"))))

(defun proc-zombies-of (ppid)
  "How many children of PPID are zombies."
  (loop for name in (proc-dir-entries "/proc")
        for pid = (ignore-errors (parse-integer name))
        for stat = (and pid (proc-stat pid))
        count (and stat (char= #\Z (first stat)) (eql ppid (second stat)))))

(defun proc-fd-open-p (fd)
  (handler-case (progn (sb-posix:fcntl fd sb-posix:f-getfd) t)
    (sb-posix:syscall-error () nil)))

(defun proc-octets (string)
  (sb-ext:string-to-octets string :external-format :utf-8))

(defun proc-string (octets &optional (end (length octets)))
  (sb-ext:octets-to-string octets :external-format :utf-8 :end end))

(defun proc-have (program)
  (zerop (run-command (list "sh" "-c" (format nil "command -v ~A >/dev/null" program)))))

(defun proc-error-of (thunk)
  "The condition FUNCALLing THUNK signals, or NIL."
  (handler-case (progn (funcall thunk) nil)
    (error (e) e)))

(defmacro proc-with-child ((var command &rest options) &body body)
  "BODY with VAR a process that is killed and closed after, whatever happens."
  `(let ((,var (spawn-process ,command ,@options)))
     (unwind-protect (progn ,@body)
       (ignore-errors (process-kill ,var :kill))
       (ignore-errors (process-wait ,var :timeout 5))
       (close-process ,var))))

;;; ---- basics

(test proc-run-basics-and-path
  (multiple-value-bind (code out err p) (run-command '("echo" "hello" "world"))
    (is (= 0 code))
    (is (string= (format nil "hello world~%") out))
    (is (string= "" err))
    (is (typep p 'process))
    (is (not (handle-open-p p)) "run closes the process")
    (is (eq :exited (process-status p)) "the status survives the close")
    (is (equal '("echo" "hello" "world") (process-command p))))
  (proc-with-child (p '("echo" "x") :output :null)
    (is (search "/echo" (process-path p)))
    (is (< 1 (process-pid p)))
    (is (= +kind-proc+ (handle-kind p)))
    (is (equal '(0 0) (multiple-value-list (process-wait p :timeout 5))))
    (is (equal '(0 0) (multiple-value-list (process-wait p :timeout 0))) "a second wait: the same")
    (is (search "echo" (princ-to-string p))))
  (is (equal (list 0 (format nil "a b~%")) (subseq (multiple-value-list (run-command "echo a b" :error :null)) 0 2))
      "a string is a shell command")
  (is (equalp (proc-octets "é") (nth-value 1 (run-command '("printf" "é") :output :octets)))))

(test proc-exit-code-versus-signal
  (multiple-value-bind (code out err p) (run-command "exit 42")
    (declare (ignore out err))
    (is (= 42 code))
    (is (= 0 (process-signal p)))
    (is (eq :exited (process-status p))))
  (multiple-value-bind (code out err p) (run-command "kill -KILL $$")
    (declare (ignore out err))
    (is (= -1 code))
    (is (= 9 (process-signal p)))
    (is (= -1 (process-exit-code p)))
    (is (eq :signaled (process-status p))))
  (proc-with-child (p '("sleep" "10"))
    (is (eq :running (process-status p)))
    (is (null (process-exit-code p)))
    (is (null (process-signal p)))
    (is (process-alive-p p))
    (is (eq t (process-kill p 0)) "signal 0: alive")
    (is (eq t (process-kill p :term)))
    (is (equal '(-1 15) (multiple-value-list (process-wait p :timeout 5))))
    (is (null (process-kill p :term)) "kill after exit: NIL")))

(defparameter *term-ignoring-child* "trap '' TERM; echo ready; exec sleep 30"
  "A shell that ignores SIGTERM once it has said ready (PROC-AWAIT-READY).")

(defun proc-await-ready (p)
  "Waits for the ready line of P's output pipe: a child's trap is set then.
A fixed sleep instead let a loaded machine send the TERM before the shell
had run its trap (seen on a machine loaded by other suites)."
  (let ((buf (make-array 6 :element-type '(unsigned-byte 8))))
    (is (eql 6 (read-octets (process-output p) buf :timeout 30)) "the child never said ready")))

(test proc-stop-escalates-after-the-grace
  (proc-with-child (p *term-ignoring-child* :output :pipe)
    (proc-await-ready p)
    (multiple-value-bind (result secs) (timed (multiple-value-list (process-stop p :grace 0.2)))
      (is (equal '(-1 9) result) "KILLed: ~S" result)
      (is (>= secs 0.19) "killed before the grace: ~,3F s" secs)
      (is (< secs 3))))
  ;; a grace longer than a wait slice goes through the sliced path
  (proc-with-child (p *term-ignoring-child* :output :pipe)
    (proc-await-ready p)
    (multiple-value-bind (result secs) (timed (multiple-value-list (process-stop p :grace 0.7)))
      (is (equal '(-1 9) result))
      (is (>= secs 0.69) "~,3F s" secs)))
  (proc-with-child (p '("sleep" "10"))
    (signals (lipc-invalid-argument "group kill of a child that leads no group")
      (process-kill p :term :group t))
    (multiple-value-bind (result secs) (timed (multiple-value-list (process-stop p :grace 5)))
      (is (equal '(-1 15) result) "TERM was enough: ~S" result)
      (is (< secs 2))))
  ;; a group: the grandchild goes too
  (proc-with-child (p "sleep 10 & echo $!; wait" :process-group t :output :pipe)
    (let* ((buf (make-array 64 :element-type '(unsigned-byte 8)))
           (n (read-octets (process-output p) buf :timeout 5))
           (grandchild (parse-integer (proc-string buf n) :junk-allowed t)))
      (is (integerp grandchild))
      (is (not (proc-gone-p grandchild)))
      (is (equal '(-1 15) (multiple-value-list (process-stop p :grace 2 :group t))))
      (is (proc-wait-until (lambda () (proc-gone-p grandchild)) 2) "grandchild stopped with the group"))))

;;; ---- start failures and bad input

(test proc-start-failures-carry-their-errno
  (loop for (command options class errno) in
        '((("no-such-program-lipc") () lipc-not-found 2)
          (("/nonexistent/prog") () lipc-not-found 2)
          (("/etc/passwd") () lipc-permission-denied 13)
          (("/tmp") () lipc-permission-denied 13)
          (("/bin/true") (:directory "/nonexistent-dir") lipc-not-found 2)
          (("true") (:search nil) lipc-not-found 2))
        do (let ((c (proc-error-of (lambda () (apply #'spawn-process command options)))))
             (is (typep c class) "~S ~S: ~A" command options c)
             (is (and (typep c 'lipc-error) (= errno (lipc-error-errno c))) "~S: errno" command)
             (is (and (typep c 'lipc-error) (plusp (length (lipc-error-message c)))))))
  ;; not a program: ENOEXEC
  (let ((path (format nil "/tmp/lipc-lisp-noexec-~D" (sb-posix:getpid))))
    (with-open-file (out path :direction :output :if-exists :supersede :element-type '(unsigned-byte 8))
      (write-sequence (proc-octets (format nil "~C~Cgarbage" (code-char 1) (code-char 2))) out))
    (sb-posix:chmod path #o755)
    (unwind-protect
         (let ((c (proc-error-of (lambda () (spawn-process (list path))))))
           (is (typep c 'lipc-os-error) "~A" c)
           (is (and c (= -1008 (lipc-error-code c)) (= 8 (lipc-error-errno c)))))
      (delete-file path)))
  ;; a bad parent fd and a missing file in the fd map
  (let ((c (proc-error-of (lambda () (spawn-process '("/bin/true") :fds '((3 . 987)))))))
    (is (typep c 'lipc-invalid-argument))
    (is (and c (search "bad fd map" (lipc-error-message c))) "~A" c))
  (let ((c (proc-error-of (lambda () (spawn-process '("/bin/true") :input #p"/nonexistent/file")))))
    (is (typep c 'lipc-not-found))
    (is (and c (search "/nonexistent/file" (lipc-error-message c))) "~A" c)))

(test proc-bad-input-gives-clear-errors
  (let ((c (proc-error-of (lambda () (spawn-process '())))))
    (is (typep c 'lipc-invalid-argument))
    (is (and c (search "empty argv" (lipc-error-message c)))))
  (let ((c (proc-error-of (lambda () (spawn-process (list "echo" (format nil "a~Cb" (code-char 0))))))))
    (is (typep c 'lipc-invalid-argument))
    (is (and c (search "NUL" (lipc-error-message c)))))
  (signals lipc-invalid-argument (spawn-process (format nil "echo a~Cb" (code-char 0))))
  (signals lipc-invalid-argument (spawn-process '("true") :env-add (list (cons "X" (format nil "~C" (code-char 0))))))
  (signals lipc-invalid-argument (spawn-process '("true") :env-add '(("A=B" . "x"))))
  (signals lipc-invalid-argument (spawn-process '("true") :environment '("NOEQUALS")))
  (signals lipc-invalid-argument (spawn-process '("true") :fds '((-1 . :null))))
  (signals lipc-invalid-argument (spawn-process '("true") :fds '((5000 . :null))))
  (signals lipc-invalid-argument (spawn-process '("true") :error :error) "2>&2 refers to itself")
  (signals lipc-invalid-argument (spawn-process '("true") :rlimits '(:cpu (5 2))))
  (signals lipc-invalid-argument (spawn-process '("true") :umask #o1000))
  (signals lipc-invalid-argument (spawn-process '("true") :autokill 99))
  (signals type-error (spawn-process '("true") :rlimits '(:bogus 1)))
  (signals type-error (spawn-process '("true") :output "a-file-name-is-a-pathname"))
  (signals type-error (spawn-process '("true") :output :bogus))
  (signals type-error (spawn-process '("true") :on-close :maybe))
  (signals type-error (spawn-process '("true") :grace -1))
  (signals type-error (spawn-process 42))
  (let ((before (live-handles)))
    (dotimes (i 3) (ignore-errors (spawn-process '("true") :fds '((3 . 987)))))
    (is (= before (live-handles)) "failed spawns leak no attribute handle"))
  ;; closed processes: Lisp errors, never a dead handle in C
  (let ((p (spawn-process '("sleep" "10") :on-close :stop :grace 0)))
    (is (eq t (close-process p)))
    (is (eq nil (close-process p)))
    (is (search "(closed)" (princ-to-string p)))
    (dolist (f (list (lambda () (process-wait p :timeout 0))
                     (lambda () (process-kill p :term))
                     (lambda () (process-output p))
                     (lambda () (process-path p))
                     (lambda () (process-communicate p))
                     (lambda () (process-info p :rss-kb))
                     (lambda () (wait-any (list p) :timeout 0))))
      (let ((c (proc-error-of f)))
        (is (typep c 'lipc-closed) "~A" c))))
  (proc-with-child (p '("true"))
    (signals type-error (process-kill p :no-such-signal))
    (signals type-error (process-wait p :timeout -1)))
  (let ((p (spawn-process '("true") :input :pipe)))
    (signals type-error (process-info p :bogus))
    (process-wait p)
    (signals lipc-bad-handle (lipc::check (lipc::%sem-post (object-handle p))) "a proc is not a sem")
    (close-process p)))

;;; ---- environment

(test proc-environment-inherit-unset-replace
  (sb-posix:setenv "LIPC_T_HOST" "seen" 1)  ; C setenv at run time, as a host would
  (unwind-protect
       (let ((out (nth-value 1 (run-command '("/usr/bin/env") :env-unset '("HOME")
                                    :env-add '(("LIPC_T_NEW" . "a b") ("LIPC_T_NUM" . 7))))))
         (is (search (format nil "LIPC_T_HOST=seen~%") out))
         (is (search (format nil "LIPC_T_NEW=a b~%") out))
         (is (search (format nil "LIPC_T_NUM=7~%") out))
         (is (not (search (format nil "~%HOME=") (format nil "~%~A" out)))))
    (sb-posix:unsetenv "LIPC_T_HOST"))
  (is (string= (format nil "ONLY=1~%") (nth-value 1 (run-command '("/usr/bin/env") :environment '(("ONLY" . "1"))))))
  (is (string= (format nil "A=1~%B=x=y~%")
               (nth-value 1 (run-command '("/usr/bin/env") :environment '("A=1" "B=x=y")))))
  (is (string= "" (nth-value 1 (run-command '("/usr/bin/env") :environment t))) "T: empty")
  (signals (lipc-not-found "the child's PATH is searched")
    (spawn-process '("env") :environment '(("PATH" . "/nonexistent"))))
  ;; lipc's own setter reaches SBCL, the child and back
  (env-set "LIPC_T_ENV" "via lipc")
  (unwind-protect
       (progn
         (is (string= "via lipc" (sb-posix:getenv "LIPC_T_ENV")))
         (is (string= (format nil "via lipc~%") (nth-value 1 (run-command "printf '%s\\n' \"$LIPC_T_ENV\"")))))
    (env-unset "LIPC_T_ENV")))

(test proc-env-helpers
  (is (null (env-get "LIPC_T_UNSET_VAR")))
  (is (string= "v1" (env-set "LIPC_T_H" "v1")))
  (unwind-protect
       (progn
         (is (string= "v1" (env-get "LIPC_T_H")))
         (is (string= "v1" (sb-posix:getenv "LIPC_T_H")) "the host sees it")
         (setf (env-get "LIPC_T_H") "é long")
         (is (string= "é long" (env-get "LIPC_T_H")))
         (let ((long (make-string 1000 :initial-element #\x)))
           (env-set "LIPC_T_H" long)
           (is (string= long (env-get "LIPC_T_H")) "a value longer than the first buffer"))
         (env-set "LIPC_T_H" "listed")
         (is (equal "listed" (cdr (assoc "LIPC_T_H" (env-list) :test #'string=))))
         (is (every (lambda (e) (and (stringp (car e)) (stringp (cdr e)))) (env-list)))
         (setf (env-get "LIPC_T_H") nil)
         (is (null (env-get "LIPC_T_H")) "setf NIL unsets")
         (env-set "LIPC_T_H" "again")
         (env-unset "LIPC_T_H")
         (is (null (env-get "LIPC_T_H")))
         (is (null (sb-posix:getenv "LIPC_T_H")))
         (finishes (env-unset "LIPC_T_H")))
    (env-unset "LIPC_T_H"))
  (signals lipc-invalid-argument (env-set "" "x"))
  (signals lipc-invalid-argument (env-set "A=B" "x"))
  (signals lipc-invalid-argument (env-get "A=B"))
  (signals lipc-invalid-argument (env-set "X" (format nil "a~Cb" (code-char 0)))))

;;; ---- quoting

(test proc-quoting
  (loop for (f in want) in
        `((quote-sh "plain" "plain") (quote-sh "" "''") (quote-sh "it's $x" "'it'\\''s $x'")
          (quote-win "plain" "plain") (quote-win "" "\"\"") (quote-win "a b" "\"a b\"")
          (quote-win "a\"b" "\"a\\\"b\"") (quote-win "a\\\\b c\\" "\"a\\\\b c\\\\\"")
          (quote-win "x\\\"y z" "\"x\\\\\\\"y z\"")
          (quote-cmd "a&b" "a^&b") (quote-cmd "\"&calc.exe" "^\"\\^\"^&calc.exe^\"")
          (quote-cmd "%PATH%" "%%cd:~,%PATH%%cd:~,%"))
        do (is (string= want (funcall f in)) "~A ~S" f in))
  (let ((long (make-string 500 :initial-element #\')))
    (is (= (+ 2 (* 4 500)) (length (quote-sh long))) "a result longer than the first guess"))
  (signals lipc-invalid-argument (quote-cmd (format nil "a~%b")))
  (signals lipc-invalid-argument (quote-sh (format nil "a~Cb" (code-char 0))))
  ;; the POSIX quoting survives a real shell
  (let ((nasty (format nil "a 'b' \"c\" $d `e` \\f~%! é")))
    (is (string= nasty (nth-value 1 (run-command (format nil "printf %s ~A" (quote-sh nasty))))))
    (is (string= (format nil "~A|x y" nasty)
                 (nth-value 1 (run-command (sh-command-line (list "printf" "%s|%s" nasty "x y"))))))))

;;; ---- fds

(test proc-fd-leak-sbcl-open-files-stay-out-of-the-child
  (with-open-file (leak "/etc/hostname")
    (let* ((fd (sb-sys:fd-stream-fd leak))
           (fd2 (sb-posix:open "/etc/hostname" sb-posix:o-rdonly)))
      (unwind-protect
           (progn
             (is (zerop (logand 1 (sb-posix:fcntl fd sb-posix:f-getfd))) "OPEN's fd is inheritable")
             (is (zerop (logand 1 (sb-posix:fcntl fd2 sb-posix:f-getfd))) "sb-posix:open's too")
             (is (< 2 fd))
             (let ((listing (proc-lines (nth-value 1 (run-command '("ls" "/proc/self/fd")
                                                          :input :null :error :null)))))
               (is (equal '("0" "1" "2" "3") listing) "child fds (ls's own is 3): ~S" listing)))
        (sb-posix:close fd2)))))

(test proc-redirections
  (let ((path (format nil "/tmp/lipc-lisp-redir-~D" (sb-posix:getpid))))
    (unwind-protect
         (progn
           ;; 2>&1, a file at fd 5, /dev/null stdin, a parent fd mapped high and closed here
           (multiple-value-bind (r w) (sb-posix:pipe)
             (pipe-write w (format nil "from-parent~%"))
             (sb-posix:close w)
             (let ((hi (sb-posix:dup2 r 40)))
               (sb-posix:close r)
               (multiple-value-bind (code out err)
                   (run-command '("sh" "-c" "echo out; echo err >&2; echo five >&5; cat <&7; cat")
                        :input :null :error :output
                        :fds `((5 . (,(pathname path) :direction :output))
                               (7 . (:fd ,hi :close t))))
                 (is (= 0 code))
                 (is (string= (format nil "out~%err~%from-parent~%") out))
                 (is (null err) "stderr went to stdout"))
               (is (not (proc-fd-open-p hi)) ":close t closed the parent's fd")))
           (is (equal '("five") (with-open-file (in path) (proc-lines (read-line in)))))
           ;; append to it, then read it back through the child's stdin
           (run-command '("echo" "six") :output (list (pathname path) :if-exists :append))
           (is (string= (format nil "five~%six~%") (nth-value 1 (run-command '("cat") :input (pathname path)))))
           (signals lipc-exists (spawn-process '("true") :output (list (pathname path) :if-exists :error
                                                                              :if-does-not-exist :create)))
           ;; an SBCL output stream: flushed first, then the child appends
           (with-open-file (s path :direction :output :if-exists :supersede)
             (write-line "lisp first" s)
             (run-command '("echo" "child") :output s)
             (write-line "lisp last" s))
           (is (equal '("lisp first" "child" "lisp last")
                      (with-open-file (in path) (loop for l = (read-line in nil) while l collect l))))
           ;; a kept parent fd (not closed here)
           (with-open-file (s path)
             (is (string= (format nil "lisp first~%child~%lisp last~%")
                          (nth-value 1 (run-command '("cat") :input (sb-sys:fd-stream-fd s)))))
             (is (proc-fd-open-p (sb-sys:fd-stream-fd s))))
           ;; closed stdout: the child's write fails
           (is (/= 0 (run-command "echo x" :output :close :error :null))))
      (ignore-errors (delete-file path)))))

(test proc-directory-umask-session-group
  (is (string= (format nil "0027~%/tmp~%")
               (nth-value 1 (run-command "umask; pwd" :umask #o027 :directory #p"/tmp/"))))
  (flet ((ids (&rest options)
           (multiple-value-bind (code out err p)
               (apply #'run-command "read -r a b c d pgrp sid rest < /proc/$$/stat; echo $pgrp $sid" options)
             (declare (ignore code err))
             (list* (process-pid p)
                    (with-input-from-string (in out) (list (read in) (read in)))))))
    (destructuring-bind (pid pgrp sid) (ids :new-session t)
      (is (= pid pgrp sid) "new session: ~D ~D ~D" pid pgrp sid))
    (destructuring-bind (pid pgrp sid) (ids :process-group t)
      (is (= pid pgrp))
      (is (/= pid sid)))
    (destructuring-bind (pid pgrp sid) (ids)
      (declare (ignore sid))
      (is (/= pid pgrp) "the parent's group by default"))))

(test proc-pipeline-child-to-child
  ;; the pipe between printf and sort never passes through this process
  (multiple-value-bind (r w) (sb-posix:pipe)
    (let* ((p1 (spawn-process '("printf" "b\\na\\nc\\n") :output `(:fd ,w :close t)))
           (w-closed (not (proc-fd-open-p w))) ; before the next spawn reuses the number
           (p2 (spawn-process '("sort") :input `(:fd ,r :close t) :output :pipe))
           (r-closed (not (proc-fd-open-p r))))
      (unwind-protect
           (progn
             (is (eq t w-closed) "write end closed here after the spawn")
             (is (eq t r-closed) "read end closed here after the spawn")
             (is (equal (list (format nil "a~%b~%c~%") nil)
                        (multiple-value-list (process-communicate p2 :timeout 5))))
             (is (equal '(0 0) (multiple-value-list (process-wait p1 :timeout 5))))
             (is (equal '(0 0) (multiple-value-list (process-wait p2 :timeout 5)))))
        (close-process p1)
        (close-process p2))))
  ;; the same with a taken pipe end handed on (kept open here, closed with
  ;; p1); it is non-blocking when taken, so sort would fail with EAGAIN
  ;; if it ran before printf wrote, unless it is made blocking for the child
  (proc-with-child (p1 "sleep 0.05; printf 'y\\nx\\n'" :output :pipe)
    (multiple-value-bind (code out) (run-command '("sort") :input (process-output p1))
      (is (= 0 code))
      (is (string= (format nil "x~%y~%") out)))))

;;; ---- communicate

(test proc-communicate-10-mb-on-both-streams
  (let ((input (make-array (expt 2 20) :element-type '(unsigned-byte 8) :initial-element 97)))
    (multiple-value-bind (result secs)
        (timed (multiple-value-list
                (run-command "head -c 10000000 /dev/zero >&2 & head -c 10000000 /dev/zero; wc -c; wait"
                     :input input :output :octets :error :octets :timeout 30)))
      (destructuring-bind (code out err p) result
        (declare (ignore p))
        (is (= 0 code))
        (is (= (+ 10000000 8) (length out)) "stdout ~D bytes" (length out))
        (is (= 10000000 (length err)) "stderr ~D bytes" (length err))
        (is (string= (format nil "1048576~%") (proc-string (subseq out 10000000))) "stdin fed whole")
        (is (every #'zerop (subseq err 0 1000))))
      (is (< secs 20)))))

(test proc-communicate-timeout-keeps-the-output
  (proc-with-child (p "echo early; exec sleep 10" :output :pipe)
    (let ((c (handler-case (progn (process-communicate p :timeout 0.3) nil)
               (communicate-timeout (e) e))))
      (is (typep c 'lipc-timeout))
      (is (and c (string= (format nil "early~%") (partial-output c))))
      (is (and c (null (partial-error-output c))) "stderr is not a pipe")
      (is (and c (eq p (condition-process c)))))
    (process-kill p :kill)
    (is (equal (list (format nil "early~%") nil) (multiple-value-list (process-communicate p :timeout 5)))
        "a second call returns everything since the first"))
  ;; the restarts
  (proc-with-child (p "echo early; exec sleep 10" :output :pipe)
    (is (equal (list (format nil "early~%") nil)
               (handler-bind ((communicate-timeout (lambda (c) (declare (ignore c))
                                                     (invoke-restart 'kill-process))))
                 (multiple-value-list (process-communicate p :timeout 0.2)))))
    (is (equal '(-1 9) (multiple-value-list (process-wait p :timeout 5)))))
  ;; run kills the child and reports all it wrote
  (multiple-value-bind (c secs)
      (timed (handler-case (progn (run-command "echo early; echo e >&2; exec sleep 10" :timeout 0.3) nil)
               (communicate-timeout (e) e)))
    (is (< secs 3))
    (is (and c (string= (format nil "early~%") (partial-output c))))
    (is (and c (string= (format nil "e~%") (partial-error-output c))))
    (is (and c (eql 9 (process-signal (condition-process c)))) "killed"))
  ;; a cap
  (let ((c (handler-case (progn (run-command "head -c 100000 /dev/zero" :max-output 1000 :output :octets) nil)
             (output-limit-exceeded (e) e))))
    (is (typep c 'lipc-out-of-range))
    (is (and c (= 1000 (length (partial-output c)))))))

(test proc-run-check-signals-process-failed
  (let ((c (handler-case (progn (run-command "echo out; echo bad >&2; exit 3" :check t) nil)
             (process-failed (e) e))))
    (is (typep c 'process-failed))
    (is (and c (= 3 (process-failed-exit-code c))))
    (is (and c (= 0 (process-failed-signal c))))
    (is (and c (string= (format nil "bad~%") (process-failed-error-output c))))
    (is (and c (string= (format nil "out~%") (process-failed-output c))))
    (is (and c (search "exited with code 3" (princ-to-string c)))))
  (let ((c (handler-case (progn (run-command "kill -TERM $$" :check t) nil) (process-failed (e) e))))
    (is (and c (= 15 (process-failed-signal c))))
    (is (and c (search "signal 15" (princ-to-string c)))))
  (is (= 0 (run-command '("true") :check t))))

;;; ---- waits

(test proc-wait-tracks-the-process-not-its-pipes
  ;; a grandchild holds stdout open: the wait still returns on time
  (proc-with-child (p "sleep 5 & exit 0" :output :pipe)
    (multiple-value-bind (result secs) (timed (multiple-value-list (process-wait p :timeout 3)))
      (is (equal '(0 0) result))
      (is (< secs 1) "wait took ~,3F s" secs)))
  (proc-with-child (p '("sleep" "5"))
    (multiple-value-bind (result secs) (timed (process-wait p :timeout 0.15))
      (is (null result))
      (is (>= secs 0.149)))
    (is (null (process-wait p :timeout 0)) "poll")))

(test proc-status-taken-by-the-host-is-lost-not-zero
  (proc-with-child (p "exit 3")
    (sleep 0.3)
    ;; a host that reaps every child (waitpid(-1)) takes the status
    (loop for pid = (handler-case (sb-posix:waitpid -1 sb-posix:wnohang)
                      (sb-posix:syscall-error () 0))
          until (zerop pid))
    (signals lipc-status-lost (process-wait p :timeout 5))
    (signals lipc-status-lost (process-wait p :timeout 0))
    ;; no figures of a pid that may be another process's now
    (is (null (process-info p :rss-kb)))
    (is (eq nil (getf (process-info p) :running)))))

;;; ---- resource limits

(test proc-rlimit-nofile-is-what-was-asked
  (let* ((out (nth-value 1 (run-command '("cat" "/proc/self/limits") :rlimits '(:nofile (77 88)))))
         (line (find-if (lambda (l) (eql 0 (search "Max open files" l))) (proc-lines out))))
    (is (equal '(77 88) (with-input-from-string (in (subseq line 14)) (list (read in) (read in))))
        "~A" line))
  (let* ((out (nth-value 1 (run-command '("cat" "/proc/self/limits") :rlimits '(:nofile 55))))
         (line (find-if (lambda (l) (eql 0 (search "Max open files" l))) (proc-lines out))))
    (is (equal '(55 55) (with-input-from-string (in (subseq line 14)) (list (read in) (read in))))
        "one number: soft = hard"))
  (is (= (diag :host-nofile) (parse-integer (nth-value 1 (run-command "ulimit -n")) :junk-allowed t))
      "children get the host's soft limit from before lipc loaded"))

(test proc-rlimit-cpu-ends-in-sigxcpu
  (multiple-value-bind (code out err p) (run-command "while :; do :; done" :rlimits '(:cpu (1 2)) :timeout 20)
    (declare (ignore out err))
    (is (= -1 code))
    (is (= 24 (process-signal p)) "SIGXCPU: ~D" (process-signal p))
    (is (< 500000 (process-info p :utime-us)) "utime ~D us" (process-info p :utime-us))))

(test proc-rlimit-as-makes-a-big-allocation-fail
  (if (not (proc-have "python3"))
      (skip "no python3")
      (multiple-value-bind (code out err)
          (run-command '("python3" "-c" "bytearray(500*1024*1024)") :rlimits `(:as ,(* 200 1024 1024))
                                                             :timeout 20)
        (declare (ignore out))
        (is (= 1 code) "python exited ~D: ~A" code err)
        (is (search "MemoryError" err)))))

;;; ---- autokill

(test proc-autokill-from-a-short-lived-thread
  (let ((p (join (spawn (lambda () (spawn-process '("sleep" "3") :autokill t)) "short-lived spawner"))))
    (is (typep p 'process))
    (when (typep p 'process)
      (unwind-protect
           (progn
             (sleep 0.3)
             (is (eq t (process-kill p 0)) "the child died with the thread that spawned it"))
        (process-kill p :kill)
        (process-wait p :timeout 5)
        (close-process p)))))

(test proc-autokill-after-kill-9-of-the-parent-sbcl
  ;; A separate sbcl loads lipc, spawns `sleep 30` with autokill and says
  ;; its pid; it is then killed with SIGKILL: the child must die with it.
  (let ((asd (namestring (asdf:system-source-file "lipc"))))
    (proc-with-child (parent (list "sbcl" "--noinform" "--non-interactive" "--no-userinit"
                                   "--eval" "(require :asdf)"
                                   "--eval" (format nil "(asdf:load-asd ~S)" asd)
                                   "--eval" "(let ((*standard-output* (make-broadcast-stream))) (asdf:load-system :lipc))"
                                   "--eval" "(let ((p (lipc:spawn-process '(\"sleep\" \"30\") :autokill t))) (format t \"child ~D~%\" (lipc:process-pid p)) (finish-output) (sleep 60))")
                             :output :pipe :input :null)
      (let* ((out (process-output parent))
             (buf (make-array 4096 :element-type '(unsigned-byte 8)))
             (text (loop with fill = 0 and end = (+ (now) 60)
                         for n = (read-octets out buf :start fill :timeout (max 0 (- end (now))))
                         while (and n (plusp n))
                         do (incf fill n)
                         until (find 10 buf :end fill)
                         finally (return (proc-string buf fill))))
             (child (let ((at (search "child " text)))
                      (and at (parse-integer text :start (+ at 6) :junk-allowed t)))))
        (is (integerp child) "the parent sbcl said: ~S" text)
        (when (integerp child)
          (is (not (proc-gone-p child)) "the child runs")
          (process-kill parent :kill)
          (is (equal '(-1 9) (multiple-value-list (process-wait parent :timeout 5))))
          (multiple-value-bind (gone secs) (timed (proc-wait-until (lambda () (proc-gone-p child)) 2))
            (is (eq t gone) "autokilled child ~D outlived its SIGKILLed parent" child)
            (is (< secs 2.1)))
          (unless (proc-gone-p child) (ignore-errors (sb-posix:kill child 9))))))))

;;; ---- many cycles: no zombie, no fd, no handle left

(test proc-1000-spawn-wait-cycles-leave-nothing
  (run-command '("/bin/true") :output :null)   ; warm up whatever lipc opens once
  (let ((fds0 (proc-count-fds))
        (live0 (live-handles))
        (ok 0))
    (dotimes (i 1000)
      (let ((p (spawn-process '("/bin/true") :output :pipe)))
        (when (equal '(0 0) (multiple-value-list (process-wait p :timeout 5)))
          (incf ok))
        (close-process p)))
    (is (= 1000 ok))
    ;; children left running when their handle closes are reaped too
    (dotimes (i 20) (close-process (spawn-process '("sleep" "0.2"))))
    (dotimes (i 5) (close-process (spawn-process '("sleep" "30") :on-close :stop :grace 0.1)))
    ;; the sleeps end within 0.2 s; lipc reaps them and closes their pidfds
    (proc-wait-until (lambda () (and (zerop (proc-zombies-of (sb-posix:getpid)))
                                     (= fds0 (proc-count-fds))))
                     3)
    (is (= 0 (proc-zombies-of (sb-posix:getpid))) "zombies: ~D" (proc-zombies-of (sb-posix:getpid)))
    (is (= fds0 (proc-count-fds)) "fds ~D -> ~D" fds0 (proc-count-fds))
    (is (= live0 (live-handles)) "handles ~D -> ~D" live0 (live-handles))))

(test proc-on-close-stop-and-leave
  (let* ((p (spawn-process '("sleep" "30") :on-close :stop :grace 0.1))
         (pid (process-pid p)))
    (close-process p)
    (is (proc-wait-until (lambda () (null (proc-stat pid))) 2) "stopped and reaped at close"))
  (let* ((p (spawn-process '("sleep" "30")))
         (pid (process-pid p)))
    (close-process p)
    (sleep 0.1)
    (is (not (proc-gone-p pid)) ":leave: still running")
    (sb-posix:kill pid 9)
    (is (proc-wait-until (lambda () (null (proc-stat pid))) 2) "and reaped by lipc when it exits")))

;;; ---- pipes as streams

(test proc-pipe-streams
  (proc-with-child (p '("cat") :input :pipe :output :pipe)
    (let ((in (process-input p)) (out (process-output p))
          (buf (make-array 16 :element-type '(unsigned-byte 8))))
      (is (typep in 'pipe-output-stream))
      (is (typep out 'pipe-input-stream))
      (is (eq out (process-output p)) "the same object each time")
      (is (null (process-error-output p)) "stderr is not a pipe")
      (is (equal '(unsigned-byte 8) (stream-element-type out)))
      (multiple-value-bind (n secs) (timed (read-octets out buf :timeout 0.1))
        (is (null n))
        (is (>= secs 0.099)))
      (is (= 5 (write-octets in (proc-octets (format nil "ping~%")) :timeout 1)))
      (is (= 5 (read-octets out buf :timeout 5)))
      (is (string= (format nil "ping~%") (proc-string buf 5)))
      ;; as Gray streams
      (write-sequence (proc-octets "abc") in)
      (write-byte 100 in)
      (finish-output in)
      (is (= 97 (read-byte out)))
      (let ((rest (make-array 3 :element-type '(unsigned-byte 8))))
        (is (= 3 (read-sequence rest out)))
        (is (string= "bcd" (proc-string rest))))
      (write-octets in (coerce #(1 2 3 4) 'vector) :start 1 :end 3) ; not a simple octet vector
      (let ((v (make-array 8 :element-type '(unsigned-byte 8) :adjustable t)))
        (is (= 2 (read-octets out v :start 3 :timeout 5)))
        (is (equalp #(2 3) (subseq v 3 5))))
      (is (eq t (process-close-input p)))
      (is (open-stream-p out))
      (is (not (open-stream-p in)))
      (signals lipc-closed (write-octets in (proc-octets "x")))
      (is (= 0 (read-octets out buf :timeout 5)) "EOF")
      (is (eq :eof (read-byte out nil :eof)))
      (is (equal '(0 0) (multiple-value-list (process-wait p :timeout 5))))
      (is (null (process-communicate p)) "communicate no longer sees taken pipes")))
  ;; writing to a child that exited: an error, not SIGPIPE
  (proc-with-child (p '("true") :input :pipe)
    (let ((in (process-input p)))
      (process-wait p :timeout 5)
      (signals lipc-closed (write-octets in (proc-octets "x") :timeout 1))))
  ;; read-all-octets
  (proc-with-child (p '("head" "-c" "300000" "/dev/zero") :output :pipe)
    (multiple-value-bind (data eof) (read-all-octets (process-output p) :timeout 10)
      (is (= 300000 (length data)))
      (is (eq t eof))))
  ;; pipes of our own (blocking fds) keep their deadlines too
  (multiple-value-bind (r w) (sb-posix:pipe)
    (let ((in (make-pipe-stream r :input)) (out (make-pipe-stream w :output))
          (buf (make-array 16 :element-type '(unsigned-byte 8))))
      (multiple-value-bind (n secs) (timed (read-octets in buf :timeout 0.1))
        (is (null n))
        (is (< 0.099 secs 1)))
      (multiple-value-bind (n secs)
          (timed (write-octets out (make-array (expt 2 20) :element-type '(unsigned-byte 8))
                               :timeout 0.1))
        (is (<= 4096 n (1- (expt 2 20))) "wrote ~D" n)
        (is (< secs 1)))
      (is (eq t (close out)))
      (is (eq nil (close out)))
      (signals lipc-closed (pipe-fd out))
      (close in)
      (is (not (proc-fd-open-p r))))))

;;; ---- figures

(test proc-cpu-and-rss-figures
  (proc-with-child (p '("cat") :input :pipe :output :pipe)
    (is (eq t (process-info p :running)))
    (is (< 0 (process-info p :rss-kb)))
    (is (< 0 (process-info p :maxrss-kb)))
    (is (<= 0 (process-info p :utime-us)))
    (is (null (process-info p :exit-code)) "exit figures need the wait")
    (is (null (process-info p :signal)))
    (is (integerp (process-info p :pidfd)))
    (let ((info (process-info p)))
      (is (= (process-pid p) (getf info :pid)))
      (is (eq t (getf info :running))))
    (process-close-input p)
    (process-wait p :timeout 5)
    (is (eq nil (process-info p :running)))
    (is (eql 0 (process-info p :exit-code)))
    (is (eql nil (process-info p :core-dumped)))
    (is (< 0 (process-info p :maxrss-kb)))
    (is (null (process-info p :rss-kb)) "no current RSS after exit"))
  ;; CPU: a busy child is charged for it
  (multiple-value-bind (code out err p)
      (run-command "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
    (declare (ignore out err))
    (is (= 0 code))
    (let ((info (process-info p)))
      (is (< 10000 (+ (getf info :utime-us) (getf info :stime-us))) "~S" info))))

(test proc-info-plist-is-each-figure-from-one-call
  ;; The plist comes from one lipc_proc_info_many call: each figure as
  ;; PROCESS-INFO of that figure gives it, running (where it cannot move)
  ;; and killed; keys in *PROC-FIGURES*'s order; the peak never below the
  ;; current size.
  (proc-with-child (p '("sleep" "30"))
    (let ((live (process-info p)))
      (is (equal '(:pid :running :exit-code :signal :core-dumped :utime-us :stime-us :maxrss-kb :rss-kb)
                 (loop for k in live by #'cddr collect k)))
      (is (eq t (getf live :running)))
      (is (null (getf live :exit-code)))
      (is (<= (getf live :rss-kb) (getf live :maxrss-kb)) "~S" live))
    (process-kill p :kill)
    (process-wait p :timeout 10)
    (let ((done (process-info p)))
      (loop for (key) in lipc::*proc-figures*
            unless (eq key :pidfd)
              do (is (equal (process-info p key) (getf done key)) "~S: ~S alone, ~S in the plist"
                     key (process-info p key) (getf done key)))
      (is (eql 9 (getf done :signal)))
      (is (eql -1 (getf done :exit-code))))
    ;; the raw call: bad counts and arrays refused before the handle is looked at
    (cffi:with-foreign-objects ((what :int 1) (vals :int64 1) (rcs :int 1))
      (setf (cffi:mem-aref what :int 0) 1)
      (is (= lipc::+einval+ (lipc::%proc-info-many (object-handle p) what vals rcs -1)))
      (is (= lipc::+einval+ (lipc::%proc-info-many (object-handle p) what (cffi:null-pointer) rcs 1)))
      (is (= 0 (lipc::%proc-info-many (object-handle p) what vals rcs 1)))
      (is (= 0 (cffi:mem-aref rcs :int 0)))
      (is (= 0 (cffi:mem-aref vals :int64 0)) "not running"))))

(test communicate-after-a-timeout-keeps-a-non-pipe-stream-null
  ;; lipc_proc_communicate sets *err to NULL when stderr is not a pipe of the
  ;; process, on the call after a timed-out one too (it once handed out "").
  ;; Calls C directly.
  (proc-with-child (p "echo early; exec sleep 10" :output :pipe)
    (flet ((raw-err (timeout-ms)
             (cffi:with-foreign-objects ((out :pointer) (out-len :size) (err :pointer) (err-len :size))
               (setf (cffi:mem-ref out :pointer) (cffi:null-pointer)
                     (cffi:mem-ref err :pointer) (cffi:null-pointer))
               (let ((rc (lipc::%proc-communicate (object-handle p) (cffi:null-pointer) 0 0 timeout-ms
                                                  out out-len err err-len)))
                 (prog1 (list rc (not (cffi:null-pointer-p (cffi:mem-ref err :pointer))))
                   (lipc::%free (cffi:mem-ref out :pointer))
                   (lipc::%free (cffi:mem-ref err :pointer)))))))
      (is (equal '(-6 nil) (raw-err 300)) "first call: ETIMEDOUT, err NULL")
      (process-kill p :kill)
      (is (equal '(0 nil) (raw-err 5000)) "second call: err should be NULL (stderr is not a pipe)"))))

;; Max RSS after exit is not tested against a bound: Linux folds the
;; parent's peak RSS into a vfork-class child's (exec_mmap), as for
;; posix_spawn and fork+exec; include/lipc.h documents it.

;;; ---- waiting for any of several

(test proc-wait-any-over-pipes-and-pidfds
  (proc-with-child (p '("cat") :input :pipe :output :pipe)
    (proc-with-child (q '("sleep" "10"))
      (let ((in (process-input p)) (out (process-output p))
            (buf (make-array 16 :element-type '(unsigned-byte 8))))
        (multiple-value-bind (ready secs) (timed (wait-any (list out p q) :timeout 0.1))
          (is (null ready) "nothing ready")
          (is (>= secs 0.099)))
        (is (equal (list in) (wait-any (list out in p) :timeout 1)) "room to write")
        (write-octets in (proc-octets "x"))
        (is (equal (list out) (wait-any (list p out q) :timeout 5)) "data to read")
        (read-octets out buf)
        (close in)                      ; EOF: cat exits
        (is (equal (list p) (wait-any (list p q) :timeout 5)) "the pidfd")
        (is (member out (wait-any (list q out) :timeout 5)) "EOF is readable")
        (is (equal '(0 0) (multiple-value-list (process-wait p :timeout 5))))
        (is (equal (list p) (wait-any (list q p) :timeout 0)) "a reaped process is ready")
        (multiple-value-bind (r w) (sb-posix:pipe)
          (unwind-protect
               (progn
                 (pipe-write w "z")
                 (is (equal (list r) (wait-any (list q r) :timeout 1)) "a plain fd")
                 (is (equal (list (cons w :write)) (wait-any (list (cons w :write)) :timeout 1))))
            (sb-posix:close r)
            (sb-posix:close w)))))))

;;; ---- with-process

(test proc-with-process-cleans-up-however-the-body-exits
  (let ((live (live-handles)) (saved nil))
    ;; normal exit: stdin closed, the child waited for
    (is (eq :done (with-process (p '("cat") :input :pipe :output :null)
                    (setf saved p)
                    (write-octets (process-input p) (proc-octets "x"))
                    :done)))
    (is (not (handle-open-p saved)))
    (is (equal '(0 0) (multiple-value-list (process-wait saved))) "waited for: exit 0")
    ;; a throw with :on-close :stop: stopped at once, pipes closed
    (let ((pipe nil) (pid nil))
      (multiple-value-bind (result secs)
          (timed (catch 'out
                   (with-process (p '("sleep" "30") :on-close :stop :grace 1 :output :pipe)
                     (setf saved p pid (process-pid p) pipe (process-output p))
                     (throw 'out :thrown))))
        (is (eq :thrown result))
        (is (< secs 2)))
      (is (not (handle-open-p saved)))
      (is (not (open-stream-p pipe)))
      (is (equal '(-1 15) (multiple-value-list (process-wait saved))))
      (is (null (proc-stat pid))))
    ;; an error with :leave: closed at once, the child left running (and reaped later)
    (let ((pid nil))
      (multiple-value-bind (result secs)
          (timed (handler-case (with-process (p '("sleep" "30"))
                                 (setf pid (process-pid p))
                                 (error "boom"))
                   (simple-error () :error)))
        (is (eq :error result))
        (is (< secs 1)))
      (is (not (proc-gone-p pid)))
      (sb-posix:kill pid 9))
    ;; a normal exit with output nobody read does not hang the wait
    (is (eq :ok (with-process (p '("head" "-c" "1000000" "/dev/zero") :output :pipe)
                  (declare (ignore p))
                  :ok)))
    (is (= live (live-handles)))))

;;; ---- interrupts: with-timeout and interrupt-thread through waits

(test proc-with-timeout-breaks-a-long-wait-and-the-process-stays-usable
  (let ((live (live-handles)))
    (proc-with-child (p '("cat") :input :pipe :output :pipe)
      (multiple-value-bind (result secs)
          (timed (handler-case (sb-ext:with-timeout 0.3 (process-wait p))
                   (sb-ext:timeout () :timeout)))
        (is (eq :timeout result))
        (is (< secs 1.5) "with-timeout 0.3 took ~,3F s" secs))
      ;; and a pipe read with no timeout of its own
      (let ((buf (make-array 16 :element-type '(unsigned-byte 8))))
        (multiple-value-bind (result secs)
            (timed (handler-case (sb-ext:with-timeout 0.3 (read-octets (process-output p) buf))
                     (sb-ext:timeout () :timeout)))
          (is (eq :timeout result))
          (is (< secs 1.5) "~,3F s" secs))
        ;; and communicate: the unwind loses nothing lipc collected
        (is (eq t (process-alive-p p)))
        (write-octets (process-input p) (proc-octets "after"))
        (is (= 5 (read-octets (process-output p) buf :timeout 5)))
        (is (string= "after" (proc-string buf 5))))
      (process-kill p :kill)
      (is (equal '(-1 9) (multiple-value-list (process-wait p :timeout 5)))))
    (proc-with-child (p "echo early; exec sleep 10" :output :pipe)
      (is (eq :timeout (handler-case (sb-ext:with-timeout 0.3 (process-communicate p))
                         (sb-ext:timeout () :timeout))))
      (process-kill p :kill)
      (is (equal (list (format nil "early~%") nil)
                 (multiple-value-list (process-communicate p :timeout 5)))))
    (is (= live (live-handles)))))

(test proc-interrupt-thread-throws-out-of-waits
  (proc-with-child (p '("cat") :input :pipe :output :pipe)
    (proc-with-child (q "trap '' TERM; sleep 10")
      (let ((buf (make-array 16 :element-type '(unsigned-byte 8))))
        (flet ((thrown-out (what fn)
                 ;; sent once the thread is inside its CATCH (as in
                 ;; wait-tests: a fixed sleep alone can lose that race)
                 (let* ((ready nil)
                        (th (spawn (lambda ()
                                     (catch 'proc-out (setf ready t) (funcall fn) :returned)))))
                   (loop repeat 1000 until ready do (sleep 0.01))
                   (sleep 0.2)
                   (multiple-value-bind (result secs)
                       (timed (sb-thread:interrupt-thread th (lambda () (throw 'proc-out :thrown)))
                              (join th 5))
                     (is (eq :thrown result) "~A: ~S" what result)
                     (is (< secs 1.5) "~A: ~,3F s" what secs)))))
          (thrown-out "process-wait" (lambda () (process-wait p)))
          (thrown-out "read-octets" (lambda () (read-octets (process-output p) buf)))
          (thrown-out "wait-any" (lambda () (wait-any (list p (process-output p)))))
          (thrown-out "process-communicate" (lambda () (process-communicate q)))
          (thrown-out "process-stop" (lambda () (process-stop q :grace 30)))
          (thrown-out "process-stop, short grace" (lambda () (process-stop q :grace 0.45))))
        ;; everything still answers
        (is (eq :running (process-status q)) "TERM is ignored")
        (is (equal '(-1 9) (multiple-value-list (process-stop q :grace 0.1))))
        (write-octets (process-input p) (proc-octets "ok"))
        (is (= 2 (read-octets (process-output p) buf :timeout 5)))
        (process-close-input p)
        (is (equal '(0 0) (multiple-value-list (process-wait p :timeout 5))))))))

;;; ---- stand-alone pipes, soft-only limits, stop and continue reports

(test proc-open-pipe-between-two-children
  (multiple-value-bind (r w) (open-pipe)
    (unwind-protect
         (progn
           (is (typep r 'pipe-input-stream))
           (is (typep w 'pipe-output-stream))
           (dolist (fd (list (pipe-fd r) (pipe-fd w)))
             (is (logtest 1 (sb-posix:fcntl fd sb-posix:f-getfd)) "fd ~D is close-on-exec" fd))
           ;; writer child -> pipe -> reader child, the parent keeping neither
           ;; end once the children have theirs: the reader sees EOF
           (let ((writer (spawn-process '("printf" "one\\ntwo\\n") :output w)))
             (close w)
             (multiple-value-bind (code out) (run-command '("wc" "-l") :input r)
               (is (= 0 code))
               (is (= 2 (parse-integer out :junk-allowed t)) "wc read ~S" out))
             (is (equal '(0 0) (multiple-value-list (process-wait writer :timeout 5))))
             (close-process writer))
           (is (eq t (close r)))
           (is (null (close r)) "a second close: NIL")
           (signals lipc-closed (pipe-fd r)))
      (close r) (close w)))
  ;; this process reads what a child writes through an open-pipe end
  (multiple-value-bind (r w) (open-pipe)
    (unwind-protect
         (let ((p (spawn-process '("echo" "via pipe") :output w)))
           (close w)
           (multiple-value-bind (octets eof) (read-all-octets r :timeout 5)
             (is (eq t eof))
             (is (string= (format nil "via pipe~%") (proc-string octets))))
           (process-wait p :timeout 5)
           (close-process p))
      (close r) (close w))))

(defun proc-limit-line (out prefix)
  "The soft and hard values of the /proc/PID/limits line starting with
PREFIX: integers, or :unlimited."
  (let* ((line (find-if (lambda (l) (eql 0 (search prefix l))) (proc-lines out)))
         (words (with-input-from-string (in (subseq line (length prefix)))
                  (list (read in) (read in)))))
    (mapcar (lambda (w) (if (integerp w) w :unlimited)) words)))

(test proc-rlimit-current-keeps-this-process-value
  (flet ((mine (key)
           (mapcar (lambda (v) (if (= v -1) :unlimited v))
                   (multiple-value-list (lipc::current-rlimit key)))))
    (let ((out (nth-value 1 (run-command '("cat" "/proc/self/limits")
                                         :rlimits '(:cpu (3 :current) :nofile (50 :current))))))
      (is (equal (list 3 (second (mine :cpu))) (proc-limit-line out "Max cpu time"))
          "cpu: only the soft limit moved")
      (is (equal (list 50 (second (mine :nofile))) (proc-limit-line out "Max open files"))
          "nofile: only the soft limit moved"))
    (let ((out (nth-value 1 (run-command '("cat" "/proc/self/limits") :rlimits '(:stack :current)))))
      (is (equal (mine :stack) (proc-limit-line out "Max stack size")) "both as this process")))
  (signals type-error (lipc::current-rlimit :nosuch)))

(test proc-wait-state-reports-stop-continue-and-exit
  (proc-with-child (p '("sleep" "10"))
    (is (null (process-wait-state p :stopped t :continued t :timeout 0)) "running: nothing")
    (process-kill p :stop)
    (is (equal '(:stopped 19) (multiple-value-list (process-wait-state p :stopped t :timeout 5))))
    (is (null (process-wait-state p :stopped t :timeout 0.1)) "a stop is reported once")
    (is (process-alive-p p) "a stop report does not reap")
    (process-kill p :cont)
    (is (equal '(:continued 18) (multiple-value-list (process-wait-state p :continued t :timeout 5))))
    (is (null (process-wait-state p :stopped t :continued t :timeout 0.1)))
    (multiple-value-bind (result secs)
        (timed (progn (sb-thread:make-thread (lambda () (sleep 0.2) (process-kill p :term)))
                      (multiple-value-list (process-wait-state p :stopped t :timeout 5))))
      (is (equal '(:exited -1 15) result))
      (is (< 0.15 secs 3) "the wait blocked until the exit: ~,3F s" secs))
    (is (equal '(-1 15) (multiple-value-list (process-wait p :timeout 0))))
    (is (equal '(:exited -1 15) (multiple-value-list (process-wait-state p :stopped t :timeout 0)))
        "after the exit: the cached status")))

;;; ---- SBCL threads spawning and waiting in a GC storm

(defun proc-storm-worker (stop failures count)
  "Runs children every way until STOP: run, pipes, timed waits."
  (lambda ()
    (handler-case
        (loop until (car stop)
              do (multiple-value-bind (code out) (run-command '("sh" "-c" "echo x; exit 3"))
                   (unless (and (= 3 code) (string= out (format nil "x~%")))
                     (push (list :run code out) (car failures))))
                 (with-process (p '("cat") :input :pipe :output :pipe)
                   (let ((buf (make-array 8 :element-type '(unsigned-byte 8))))
                     (write-octets (process-input p) (proc-octets "ping") :timeout 5)
                     (unless (eql 4 (read-octets (process-output p) buf :timeout 5))
                       (push :cat (car failures)))))
                 (let* ((t0 (now)) (p (spawn-process '("sleep" "0.3"))))
                   ;; a GC can pause this thread past the sleep: only an
                   ;; exit reported before 0.3 s is early
                   (when (and (process-wait p :timeout 0.005) (< (- (now) t0) 0.29))
                     (push :early (car failures)))
                   (process-kill p :term)
                   (unless (member (multiple-value-list (process-wait p :timeout 5))
                                   '((-1 15) (0 0)) :test #'equal)
                     (push :sleep (car failures)))
                   (close-process p))
                 (sb-ext:atomic-incf (car count)))
      (serious-condition (e) (push (princ-to-string e) (car failures))))))

(test proc-threads-spawn-and-wait-during-gc-storms
  ;; Would crash the image (heap corruption, "no SP known for thread") if a
  ;; Lisp thread ran Go code while another collects, or if SIGCHLD from the
  ;; exiting children hit a thread inside Go (host-runtimes.md F3, F16, F17).
  (let* ((stop (list nil)) (failures (list '())) (count (list 0)) (gcs (list 0))
         (interrupts (list 0))
         (hook (lambda () (sb-ext:atomic-incf (car gcs))))
         (live (live-handles)))
    (push hook sb-ext:*after-gc-hooks*)
    (unwind-protect
         (let ((allocators
                 (loop repeat 2
                       collect (spawn (lambda ()
                                        (let ((ring (make-array 32 :initial-element nil)) (i 0))
                                          (loop until (car stop)
                                                do (setf (aref ring (mod i 32))
                                                         (if (evenp i)
                                                             (make-list 20000 :initial-element i)
                                                             (make-array 50000 :initial-element i)))
                                                   (incf i))))
                                      "proc storm allocator")))
               (workers (loop repeat 2
                              collect (spawn (proc-storm-worker stop failures count)
                                             "proc storm worker")))
               (timeouts (spawn (lambda ()
                                  (loop until (car stop)
                                        count (proc-with-child (p '("sleep" "5"))
                                                (eq :timeout
                                                    (handler-case (sb-ext:with-timeout 0.05
                                                                    (process-wait p))
                                                      (sb-ext:timeout () :timeout))))))
                                "proc storm with-timeout")))
           ;; interrupts that only count, at the workers, throughout
           (loop with end = (+ (now) 3)
                 while (< (now) end)
                 do (dolist (w workers)
                      (sb-thread:interrupt-thread w (lambda () (sb-ext:atomic-incf (car interrupts)))))
                    (sleep 0.02))
           (setf (car stop) t)
           (let ((worker-results (mapcar (lambda (th) (join th 30)) workers))
                 (timeouts-done (join timeouts 30)))
             (mapc (lambda (th) (join th 30)) allocators)
             (is (notany (lambda (r) (eq r :join-failed)) worker-results) "a worker hung")
             (is (and (integerp timeouts-done) (plusp timeouts-done)) "with-timeout rounds: ~S"
                 timeouts-done)))
      (setf (car stop) t)
      (setf sb-ext:*after-gc-hooks* (remove hook sb-ext:*after-gc-hooks*)))
    (is (null (car failures)) "failures: ~S" (car failures))
    (is (< 5 (car count)) "~D worker rounds" (car count))
    (is (< 10 (car gcs)) "~D GCs" (car gcs))
    (is (< 0 (car interrupts)))
    (is (= 1 (diag :go-thread)) "Go work ran on lipc's threads")
    (is (= live (live-handles)) "handles ~D -> ~D" live (live-handles))))
