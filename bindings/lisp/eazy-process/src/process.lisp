;;;; process.lisp - SHELL, the PROCESS object, WAIT, FD, FINALIZE-PROCESS and
;;;; WITH-PROCESS, over lipc's spawn-process and process handles.
;;;;
;;;; What lipc does for each piece: the child is started by lipc's own
;;;; thread (no Lisp thread runs Go code, no fork of the Lisp image); it gets
;;;; exactly the fds of its fdspecs (0-2 inherited when not given, every other
;;;; fd of this image closed); resource limits are in force before its first
;;;; instruction; every wait sleeps in C on the calling thread, in slices,
;;;; so interrupts and GC go on; a process object that becomes garbage is
;;;; stopped (TERM, KILL after *FINALIZE-GRACE*) and reaped by lipc, and its
;;;; pipe ends are closed, with nothing run on the finalizer thread but
;;;; lipc_close and close(2).

(in-package #:eazy-process)

(defvar *finalize-grace* 1
  "Seconds FINALIZE-PROCESS, WITH-PROCESS and the GC finalizer give a child
between the first signal (TERM) and SIGKILL.")

(defclass process ()
  ((pid :reader pid :initarg :pid)
   (fds :reader %fds :initarg :fds)
   (lipc :reader %lipc :initarg :lipc
         :documentation "The lipc:process: its finalizer stops and reaps the child.")
   (owned :initarg :owned :initform nil :reader %owned
          :documentation "Owner streams of the implicit pipes' parent ends.")
   (keep :initarg :keep :initform nil
         :documentation "Pipe objects whose ends appear in FDS: kept alive with it."))
  (:documentation "A class representing a process."))

(defmethod print-object ((p process) s)
  (print-unreadable-object (p s :type t)
    (format s "PID: ~A" (pid p))))

(defun getpid ()
  "The process id of this Lisp process."
  (sb-unix:unix-getpid))

(defun env-pair (entry)
  "(name . value) strings from \"NAME=VALUE\" or (name . value)."
  (etypecase entry
    (cons (cons (princ-to-string (car entry)) (princ-to-string (cdr entry))))
    (string entry)))

(defun spec-at (specs fd)
  "The lipc spec for child fd FD: from SPECS, else inherited (fds 0-2)."
  (let ((spec (nth fd specs)))
    (if spec (fdspec-lipc spec) :inherit)))

(defun shell (argv &optional (fdspecs +fdspecs-default+) environments (search t))
  "Asynchronously execute ARGV, returns a PROCESS object.

ARGV is a sequence of strings: the program and its arguments.  When SEARCH is
true (the default) a program name without '/' is searched in PATH.

FDSPECS is a sequence specifying, for each fd of the child from 0, what it is
(see `+fdspecs-default+'): :in/:out create a pipe whose other end stays in
this process, readable/writable through (fd process i) and
(fd-as-pathname process i); a fixnum (normally (fd other-process n)) hands
that fd of this process to the child, connecting the two children (this
process closes it); a pipe object, a pathname (with OPEN's options), or NIL
for /dev/null.  Any number of fds may be given; fds 0-2 not given are
inherited, no other fd of this process reaches the child.

ENVIRONMENTS, a list of \"NAME=VALUE\" strings or (NAME . VALUE) conses, are
added to (or override) the inherited environment.

*RLIMIT-RESOURCES* (see `with-rlimit') gives the child's resource limits.
A child that cannot be started (no such program, a file of FDSPECS that
cannot be opened, a limit refused) is signalled here as a LIPC:LIPC-ERROR."
  (let* ((specs (loop for spec in (coerce fdspecs 'list)
                      for fd from 0
                      collect (canonicalize-fdspec spec fd)))
         (lp (lipc:spawn-process (map 'list #'identity argv)
                                 :search search
                                 :env-add (mapcar #'env-pair environments)
                                 :input (spec-at specs 0)
                                 :output (spec-at specs 1)
                                 :error (spec-at specs 2)
                                 :fds (loop for spec in (nthcdr 3 specs)
                                            for fd from 3
                                            collect (cons fd (fdspec-lipc spec)))
                                 :rlimits (rlimit-plist)
                                 :on-close :stop :grace *finalize-grace*))
         (owned '()))
    ;; the child has its copies now: fds handed over are closed here
    (dolist (spec specs)
      (when (fdspec-hand-over spec)
        (release-fd (fdspec-hand-over spec))))
    (let ((fds (map 'vector
                    (lambda (spec fd)
                      (let ((slot (fdspec-slot spec)))
                        (if (eq slot :pipe)
                            (let ((stream (lipc:process-pipe lp fd)))
                              (push stream owned)
                              (own-fd stream))
                            slot)))
                    specs
                    (loop for fd below (length specs) collect fd))))
      (make-instance 'process :pid (lipc:process-pid lp) :fds fds :lipc lp
                              :owned owned
                              :keep (remove nil (mapcar #'fdspec-keep specs))))))

(defun fds (process)
  "Returns a fresh array of the fds available from the lisp process: element
i is this process's end of the pipe at the child's fd i, or NIL."
  (copy-seq (%fds process)))

(defun fd (process n)
  "Returns the file descriptor of the lisp process connected to the n-th fd
of the child process (through a pipe), or NIL.  Example: (fd P 1) --> 5
means the 5th fd of the lisp process is connected to the fd 1 of P."
  (aref (%fds process) n))

(defun fd-as-pathname (process fd)
  "Returns the pathname /dev/fd/N of the fd of the lisp process connected to
the FD-th fd of the child: open it to read or write the pipe.  Open it once:
a Lisp stream may read ahead more than it returns."
  (let ((n (fd process fd)))
    (unless (and n (fd-owner n))
      (error "fd-as-pathname: fd ~D of ~S is ~:[not a pipe of this process~;~:*fd ~D, ~
              no longer open in this process (closed, or handed to another child)~]"
             fd process n))
    (pathname (format nil "/dev/fd/~a" n))))

;;; ---- waiting

(defun status-list (state a b core)
  "WAIT's list (ifexited exitstatus ifsignalled termsig coredump ifstopped
stopsig ifcontinued rawstatus) for a state of lipc:process-wait-state."
  (ecase state
    (:exited
     (if (plusp b)
         (list nil nil t b core nil nil nil (logior b (if core #x80 0)))
         (list t a nil nil nil nil nil nil (ash a 8))))
    (:stopped (list nil nil nil nil nil t a nil (logior (ash a 8) #x7f)))
    (:continued (list nil nil nil nil nil nil nil t #xffff))))

(defun wait (process &optional option)
  "Waits for PROCESS; OPTION is one of :nohang, :untraced, :continued.
Returns a list:

 (ifexited exitstatus ifsignalled termsig coredump ifstopped stopsig
  ifcontinued status)

where values inappropriate for the state (see man wait(2)) are NIL, e.g.
(T 1 NIL NIL NIL NIL NIL NIL 256) for an exit with status 1, (NIL NIL T 24
NIL NIL NIL NIL 24) for SIGXCPU.  :nohang returns NIL while the child runs;
:untraced also returns when it stops, :continued when it is continued.
Once the child has exited, WAIT returns its status again at once.  The wait
sleeps in C on this thread; interrupts and other threads' GC go on."
  (let ((lp (%lipc process)))
    (multiple-value-bind (state a b)
        (case option
          (:nohang (lipc:process-wait-state lp :timeout 0))
          (:untraced (lipc:process-wait-state lp :stopped t))
          (:continued (lipc:process-wait-state lp :continued t))
          (t (lipc:process-wait-state lp)))
      (and state
           (status-list state a b
                        (and (eq state :exited) (plusp b)
                             (lipc:process-info lp :core-dumped)))))))

;;; ---- finalizing

(defun close-owned-fds (process)
  (mapc #'release-fd (%owned process)))

(defun finalize-process (process &optional (sig 15))
  "Closes this process's ends of PROCESS's pipes, then, if the child still
runs, sends it SIG (a warning says \"Killing\"), waits up to
*FINALIZE-GRACE* seconds, then SIGKILLs it (\"Force killing\"), and reaps it.
No zombie remains.  Calling it again does nothing."
  (close-owned-fds process)
  (let ((lp (%lipc process)))
    (when (lipc:handle-open-p lp)
      (unwind-protect
           (handler-case
               (unless (lipc:process-wait lp :timeout 0)
                 (warn "Killing ~a" (pid process))
                 (lipc:process-kill lp sig)
                 (unless (lipc:process-wait lp :timeout *finalize-grace*)
                   (warn "Force killing ~a" (pid process))
                   (lipc:process-kill lp :kill)
                   (lipc:process-wait lp)))
             (lipc:lipc-status-lost ()
               (warn "Process ~a does not exist -- maybe already killed?" (pid process))))
        (lipc:close-process lp))))
  nil)

(defmacro with-process ((&whole whole process argv &optional fdspecs environment search)
                        &body body)
  "Spawn a process, bind the process to PROCESS, execute the body and
finalize (close the pipes, kill and wait) the process, however BODY exits.
BODY works as an implicit progn, and the return value is that of the progn.

It does not synchronously wait the process: WAIT in BODY for the child to
finish its work, or it is killed right after BODY.

 Example:

 (with-process (p (\"sleep\" \"10\"))
    (print :waiting)
    (wait p))"
  (declare (ignorable argv fdspecs environment search))
  `(let (,process)
     (unwind-protect
          (progn
            (setf ,process (shell ,@(cdr whole)))
            ,@body)
       ;; an unwind between SHELL and SETF leaves the child to the GC
       ;; finalizer, which stops and reaps it as well
       (when ,process
         (finalize-process ,process)))))

(defun environment ()
  "The environment of this Lisp process (the live C environ that children
inherit), as a list of \"NAME=VALUE\" strings."
  (loop for (name . value) in (lipc:env-list)
        collect (concatenate 'string name "=" value)))
