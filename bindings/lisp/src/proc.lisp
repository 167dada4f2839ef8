;;;; proc.lisp - child processes over lipc_spawnattr_* / lipc_proc_* and
;;;; pipe I/O over lipc_fd_*.
;;;;
;;;; Starting
;;;;   (spawn-process command &key ...) => a PROCESS.  COMMAND: a list (program arg ...)
;;;;     of strings or pathnames, run directly; or a string, run by /bin/sh -c.
;;;;     :search t        look a program name without '/' up in the child's PATH
;;;;     :program p       the file to run when it differs from argv[0]
;;;;     :environment al  REPLACE the environment: ((name . value) ...) or
;;;;                      "NAME=value" strings (T: empty); default: inherit the
;;;;                      live C environ (what setenv / ENV-SET / sb-posix:setenv made)
;;;;     :env-add al      add or override variables ((name . value) ...); a NIL
;;;;                      value removes one
;;;;     :env-unset names remove variables
;;;;     :directory d     the child's working directory
;;;;     :umask m         the child's umask (e.g. #o027)
;;;;     :new-session t   setsid: a new session and process group
;;;;     :process-group g T (or 0): a new group led by the child; n > 0: join n
;;;;     :user u          a uid or user name, :group g a gid or group name,
;;;;     :extra-groups l  a list of gids or names (the supplementary groups; ()
;;;;                      for none): set in the child before exec; needs the
;;;;                      privilege (refused: LIPC-PERMISSION-DENIED from spawn)
;;;;     :pipe-size n     the capacity in bytes of each pipe of the fd map
;;;;     :close-fds nil   fds of this image that are not in the map and lack
;;;;                      close-on-exec (SBCL's OPEN makes such fds) stay open
;;;;                      in the child (default T: only the map)
;;;;     :restore-signals T (default): a signal this image ignores stays
;;;;                      ignored in the child (nohup relies on it), except
;;;;                      what runtimes ignore for themselves (SIGPIPE,
;;;;                      SIGXFSZ), reset as Python's subprocess does; NIL:
;;;;                      every ignored one stays; :ALL: every signal default.
;;;;                      Caught signals (SBCL's handlers) always start at
;;;;                      the default.
;;;;     :input :output :error, and :fds ((child-fd . spec) ...), each spec one of
;;;;       NIL, :inherit     the parent's fd of the same number (the default)
;;;;       T, :pipe          a new pipe (child reads fd 0, writes other fds);
;;;;                         :pipe-in / :pipe-out say the direction for fds >= 3
;;;;       :null             /dev/null          :close  closed in the child
;;;;       :output, :error   the child's fd 1 / fd 2 (:error :output is 2>&1)
;;;;       an integer n      the parent's fd n (kept open here)
;;;;       (:fd n :close t)  the parent's fd n, closed here once the child runs
;;;;                         (a pipe from sb-posix:pipe between two children)
;;;;       (:child n)        the same file as the child's fd n
;;;;       a pathname, or (pathname &key direction if-exists if-does-not-exist mode)
;;;;                         a file, opened as OPEN would: direction :input for
;;;;                         fd 0 else :output; if-exists :supersede (default),
;;;;                         :append, :overwrite or :error; if-does-not-exist
;;;;                         :create (output default) or :error (input default)
;;;;       an fd-stream      its fd (output is flushed first); synonym and
;;;;                         two-way streams are followed
;;;;       a PIPE-STREAM     its fd (e.g. another process's PROCESS-OUTPUT),
;;;;                         switched to blocking mode, which the child shares
;;;;     :rlimits plist   (:cpu (1 2) :nofile 77 :as (* 200 1024 1024)): an
;;;;                      integer (soft = hard), (soft hard), or :infinity;
;;;;                      in (soft hard) either may be :current, this
;;;;                      process's own value (e.g. (3 :current): only the
;;;;                      soft limit, as setrlimit of rlim_cur alone);
;;;;                      resources :cpu :fsize :data :stack :core :nofile :as
;;;;                      :nproc :memlock; in force before the child's first
;;;;                      instruction
;;;;     :autokill s      T (SIGKILL) or a signal: the child gets it when this
;;;;                      process dies, however it dies, whichever thread spawned
;;;;     :on-close p      what CLOSE-PROCESS does to a running child: :leave
;;;;                      (default; lipc still reaps it) or :stop (TERM, then
;;;;                      KILL after :grace seconds, default 5)
;;;;   Every start failure is a condition of SPAWN-PROCESS, never a child exiting 127:
;;;;   LIPC-NOT-FOUND (no program, bad directory, missing file of the fd map),
;;;;   LIPC-PERMISSION-DENIED (not executable, a directory), LIPC-OS-ERROR
;;;;   (ENOEXEC: not a program), LIPC-INVALID-ARGUMENT (empty command, NUL in
;;;;   an argument, bad fd numbers or map).  A wrong Lisp type or unknown
;;;;   keyword is a TYPE-ERROR.
;;;;
;;;; Running to completion
;;;;   (run-command command &key input output error timeout check ... spawn keys)
;;;;     => exit-code, stdout, stderr, process (closed; its status and figures
;;;;        stay readable).  :input a string or octet vector (fed through a
;;;;        pipe) or a spawn spec; :output / :error :string (default) or :octets
;;;;        to capture, or a spawn spec (:error :output merges); :timeout
;;;;        seconds: the child is killed and COMMUNICATE-TIMEOUT signalled with
;;;;        the output so far; :check t: a failure (non-zero exit, signal) is
;;;;        PROCESS-FAILED.  exit-code is -1 when a signal killed it.
;;;;
;;;; A process object (close it: CLOSE-PROCESS, or WITH-PROCESS)
;;;;   process-pid, process-path (after PATH search), process-command
;;;;   (process-wait p &key timeout) => exit-code signal; NIL on timeout
;;;;   process-status => :running :exited :signaled    (polls; reaps if done)
;;;;   (process-wait-state p &key timeout stopped continued) => :exited code
;;;;     signal, :stopped signal, :continued 18 (waitpid's WUNTRACED and
;;;;     WCONTINUED: each stop or continue is reported once), NIL on timeout
;;;;   process-exit-code, process-signal => NIL while running; process-alive-p
;;;;   (process-kill p signal &key group) => T, NIL if it had exited
;;;;   (process-stop p &key grace group) => exit-code signal (TERM, KILL after grace)
;;;;   (process-info p [figure]) => plist (:running :exit-code :signal
;;;;     :core-dumped :utime-us :stime-us :maxrss-kb :rss-kb :pid), or one figure
;;;;   (process-communicate p &key input timeout max-output output-type
;;;;     external-format) => stdout stderr (NIL for a stream that is not a
;;;;     pipe of P): feeds stdin, collects both outputs, waits for the exit;
;;;;     never deadlocks.  On timeout COMMUNICATE-TIMEOUT (a LIPC-TIMEOUT) with
;;;;     PARTIAL-OUTPUT / PARTIAL-ERROR-OUTPUT; lipc keeps what was read, so a
;;;;     second call returns everything since the first (restarts KILL-PROCESS:
;;;;     kill it and return all the output; USE-PARTIAL-OUTPUT).  A stream
;;;;     past :max-output bytes: OUTPUT-LIMIT-EXCEEDED (a LIPC-OUT-OF-RANGE).
;;;;   process-input / process-output / process-error-output / (process-pipe p fd)
;;;;     => the parent's end of a pipe as a binary PIPE-STREAM (taken from P on
;;;;     first use; COMMUNICATE no longer sees it), or NIL if not a pipe.
;;;;   process-close-input: EOF to the child's stdin.
;;;;   (with-process (p command . spawn-keys) body...): closes the pipes, then
;;;;     stops the child (:on-close :stop) or, after a normal exit of BODY,
;;;;     waits for it (:leave), then closes P, however BODY exits.
;;;;   (wait-any objects &key timeout) => the ready ones: processes that
;;;;     exited (through their pidfd), pipe streams readable/at EOF (input) or
;;;;     writable (output), fds, (fd . events).  NIL on timeout.
;;;;
;;;; Pipe streams (Gray streams of (unsigned-byte 8); read-sequence,
;;;; write-sequence, read-byte, write-byte, close work on them)
;;;;   (read-octets pipe buffer &key start end timeout) => count (0 at EOF), or
;;;;     NIL when TIMEOUT passed with nothing to read
;;;;   (write-octets pipe octets &key start end timeout) => count written (all,
;;;;     or fewer when TIMEOUT passed); a reader that is gone is LIPC-CLOSED
;;;;     (never SIGPIPE)
;;;;   (read-all-octets pipe &key timeout) => octets, eof-p
;;;;   (make-pipe-stream fd direction) wraps an fd this process owns; pipe-fd
;;;;   (open-pipe) => input-stream output-stream: a new pipe (close-on-exec;
;;;;     a child gets an end only through a spawn spec, e.g. :input stream)
;;;;
;;;; Every wait (process-wait, process-stop, communicate, pipe reads and
;;;; writes, wait-any) sleeps in C on the calling thread's stack, in slices
;;;; of at most *WAIT-SLICE-MS* with the remaining time; interrupts
;;;; (with-timeout, interrupt-thread, Ctrl-C) run and may unwind between two C
;;;; calls, leaving the process and its pipes usable.  Spawning and closing
;;;; are Go's work, handed by lipc to its own threads: no Lisp thread runs Go
;;;; code.  Timeouts are seconds (a real) or NIL for no limit; pids, exit
;;;; codes, signals and fds are integers.  A PROCESS and the pipes taken from
;;;; it belong to one thread at a time.

(in-package #:lipc)

(export '(+kind-proc+ +kind-spawnattr+
          process spawn-process run-command process-command process-pid process-path
          process-wait process-status process-exit-code process-signal
          process-alive-p process-kill process-stop process-info process-wait-state
          process-communicate process-input process-output process-error-output
          process-pipe process-close-input close-process with-process
          call-with-process wait-any signal-number
          ;; pipe streams
          pipe-stream pipe-input-stream pipe-output-stream make-pipe-stream
          pipe-fd read-octets write-octets read-all-octets open-pipe
          ;; conditions, their readers and restarts
          communicate-timeout output-limit-exceeded partial-output
          partial-error-output condition-process
          process-failed process-failed-command process-failed-exit-code
          process-failed-signal process-failed-output process-failed-error-output
          kill-process use-partial-output)
        '#:lipc)

(defconstant +kind-proc+ 2 "LIPC_KIND_PROC")
(defconstant +kind-spawnattr+ 3 "LIPC_KIND_SPAWNATTR")

;;; LIPC_FD_* kinds, LIPC_FILE_* flags
(defconstant +fd-inherit+ 0)
(defconstant +fd-close+ 1)
(defconstant +fd-null+ 2)
(defconstant +fd-pipe-in+ 3)
(defconstant +fd-pipe-out+ 4)
(defconstant +fd-parent+ 5)
(defconstant +fd-file+ 6)
(defconstant +fd-child+ 7)
(defconstant +fd-close-parent+ 1)
(defconstant +file-read+ 1)
(defconstant +file-write+ 2)
(defconstant +file-append+ 4)
(defconstant +file-create+ 8)
(defconstant +file-trunc+ 16)
(defconstant +file-excl+ 32)
(defconstant +on-close-leave+ 0)
(defconstant +on-close-stop+ 1)
(defconstant +rlim-infinity+ -1)

(defparameter *rlimit-resources*
  '((:cpu . 0) (:fsize . 1) (:data . 2) (:stack . 3) (:core . 4) (:nofile . 5)
    (:as . 6) (:nproc . 7) (:memlock . 8))
  "LIPC_RLIMIT_* by keyword.")

(defparameter *proc-figures*
  '((:running . 1) (:exit-code . 2) (:signal . 3) (:core-dumped . 4)
    (:utime-us . 5) (:stime-us . 6) (:maxrss-kb . 7) (:rss-kb . 8) (:pidfd . 9))
  "LIPC_PROC_* figures by keyword.")

(defparameter *signals*
  '((:hup . 1) (:int . 2) (:quit . 3) (:ill . 4) (:trap . 5) (:abrt . 6) (:bus . 7)
    (:fpe . 8) (:kill . 9) (:usr1 . 10) (:segv . 11) (:usr2 . 12) (:pipe . 13)
    (:alrm . 14) (:term . 15) (:chld . 17) (:cont . 18) (:stop . 19) (:tstp . 20)
    (:ttin . 21) (:ttou . 22) (:urg . 23) (:xcpu . 24) (:xfsz . 25) (:vtalrm . 26)
    (:prof . 27) (:winch . 28) (:io . 29) (:pwr . 30) (:sys . 31))
  "Linux signal numbers by keyword.")

(defun proc-keyword-value (key table what)
  (or (cdr (assoc key table))
      (error 'simple-type-error :datum key :expected-type `(member ,@(mapcar #'car table))
                                :format-control "~S is not ~A: one of ~S"
                                :format-arguments (list key what (mapcar #'car table)))))

(defun signal-number (signal)
  "SIGNAL as a number: an integer that fits a C int as it is (lipc refuses
those that are not signals), or a keyword such as :term :kill."
  (etypecase signal
    (integer (check-type signal (signed-byte 32)) signal)
    (keyword (proc-keyword-value signal *signals* "a signal"))))

(defun proc-ms (seconds)
  "A grace time: seconds (a non-negative real, not NaN) as whole
milliseconds, rounded up; float infinity, and anything longer than lipc ever
waits, is +MAX-WAIT-MS+ (so a huge grace never overflows on its way to C)."
  (check-type seconds (and (real 0) (satisfies not-nan-p)))
  (if (>= seconds +max-wait-seconds+)
      +max-wait-ms+
      (min +max-wait-ms+ (ceiling (* seconds 1000)))))

;;; ------------------------------------------------------------------------
;;; Conditions

(define-condition partial-output-mixin ()
  ((output :initarg :output :initform nil :reader partial-output
           :documentation "What the child wrote to stdout so far (NIL: not a pipe).")
   (error-output :initarg :error-output :initform nil :reader partial-error-output
                 :documentation "What the child wrote to stderr so far.")
   (process :initarg :process :initform nil :reader condition-process)))

(define-condition communicate-timeout (lipc-timeout partial-output-mixin) ()
  (:documentation "PROCESS-COMMUNICATE or RUN-COMMAND ran out of time.  The output
collected so far is in PARTIAL-OUTPUT and PARTIAL-ERROR-OUTPUT; from
PROCESS-COMMUNICATE, the child still runs and lipc keeps the output, so a
later call returns all of it (the restart KILL-PROCESS does that)."))

(define-condition output-limit-exceeded (lipc-out-of-range partial-output-mixin) ()
  (:documentation "A stream passed PROCESS-COMMUNICATE's :max-output; the
partial outputs hold what was kept."))

(define-condition process-failed (error)
  ((command :initarg :command :reader process-failed-command)
   (exit-code :initarg :exit-code :reader process-failed-exit-code)
   (signal :initarg :signal :reader process-failed-signal)
   (output :initarg :output :initform nil :reader process-failed-output)
   (error-output :initarg :error-output :initform nil :reader process-failed-error-output)
   (process :initarg :process :initform nil :reader condition-process))
  (:report (lambda (c s)
             (format s "Command ~S ~:[exited with code ~D~;~*was killed by signal ~D~]"
                     (process-failed-command c) (plusp (process-failed-signal c))
                     (process-failed-exit-code c) (process-failed-signal c))))
  (:documentation "RUN-COMMAND with :check t: the child failed."))

(defun make-partial-condition (class info process out err)
  (destructuring-bind (code message errno) info
    (make-condition class :code code :code-name (%error-name code) :errno errno
                          :message message :process process :output out :error-output err)))

;;; ------------------------------------------------------------------------
;;; Pipe streams: an fd owned by a Lisp object, read and written in C with
;;; deadlines.  Not lipc handles: the box holds the fd, and the finalizer
;;; (backstop only) closes it.

(defclass pipe-stream ()
  ((fd-box :reader %fd-box :documentation "(fd), (nil) once closed (a box of handle.lisp).")
   (label :initarg :label :initform "pipe" :reader %pipe-label))
  (:documentation "The parent's end of a pipe (or any fd this process
owns): a binary Gray stream whose reads and writes wait in C with timeouts."))

(defclass pipe-input-stream (pipe-stream sb-gray:fundamental-binary-input-stream)
  ((buffer :initform nil :documentation "Read-ahead for READ-BYTE only.")
   (buffer-start :initform 0)
   (buffer-end :initform 0))
  (:documentation "A pipe this process reads: a child's stdout or stderr."))

(defclass pipe-output-stream (pipe-stream sb-gray:fundamental-binary-output-stream) ()
  (:documentation "A pipe this process writes: a child's stdin."))

(defun make-pipe-stream (fd direction &key (label (format nil "fd ~D" fd)))
  "A pipe stream that owns FD (an integer this process opened) from now on:
DIRECTION :input to read it, :output to write it.  Closing the stream
closes FD."
  (check-type fd (integer 0 #x7FFFFFFF))
  (let* ((stream (make-instance (ecase direction
                                  (:input 'pipe-input-stream)
                                  (:output 'pipe-output-stream))
                                :label label))
         (box (list fd)))
    (setf (slot-value stream 'fd-box) box)
    (own-box stream box #'finalize-fd-box)
    stream))

(defun finalize-fd-box (box)
  ;; The finalizer thread: lipc_fd_close is plain C; nothing may escape.
  (handler-case (let ((fd (take-handle box)))
                  (when fd (call-c (%fd-close fd))))
    (serious-condition () nil)))

(defun open-pipe ()
  "A new pipe: returns a PIPE-INPUT-STREAM owning its read end and a
PIPE-OUTPUT-STREAM owning its write end (both blocking and close-on-exec:
a child gets an end only when a spawn spec names the stream, e.g. :output
stream).  Closing a stream closes its end; a finalizer closes ends never
closed.  pipe2 is plain C, no lipc call."
  (cffi:with-foreign-object (fds :int 2)
    ;; the call and the wrapping of both fds share one deferred scope, so
    ;; no unwind can leave an fd without an owner
    (multiple-value-bind (in out errno)
        (without-lisp-interrupts
          (if (minusp (cffi:foreign-funcall "pipe2" :pointer fds :int #o2000000 :int)) ; O_CLOEXEC
              (values nil nil (proc-errno))
              (let ((r (cffi:mem-aref fds :int 0)) (w (cffi:mem-aref fds :int 1)))
                (values (make-pipe-stream r :input :label (format nil "pipe read end ~D" r))
                        (make-pipe-stream w :output :label (format nil "pipe write end ~D" w))))))
      (unless in (proc-os-error "pipe2" errno))
      (values in out))))

(defmethod print-object ((pipe pipe-stream) stream)
  (print-unreadable-object (pipe stream :type t :identity t)
    (format stream "~A~:[ (closed)~;~]" (%pipe-label pipe) (car (%fd-box pipe)))))

(defun pipe-fd (pipe)
  "The fd of PIPE; LIPC-CLOSED once it is closed."
  (let ((box (%fd-box pipe)))
    (or (car box) (box-closed-error (%pipe-label pipe) box))))

(defmethod open-stream-p ((pipe pipe-stream))
  (and (car (%fd-box pipe)) t))

(defmethod stream-element-type ((pipe pipe-stream))
  '(unsigned-byte 8))

(defmethod close ((pipe pipe-stream) &key abort)
  (declare (ignore abort))
  ;; As CLOSE-HANDLE: taking the fd and closing it are one step for
  ;; interrupts, so no unwind can leave an fd nobody will close.
  (multiple-value-bind (closed info)
      (without-lisp-interrupts
        (let ((fd (take-handle (%fd-box pipe))))
          (when fd
            (sb-ext:cancel-finalization pipe)
            (values t (nth-value 1 (call-c (%fd-close fd)))))))
    (call-next-method)
    (when info (signal-error info))
    closed))

(deftype proc-octets () '(simple-array (unsigned-byte 8) (*)))

(defmacro with-proc-octets-pointer ((pointer vector offset) &body body)
  "BODY with POINTER at element OFFSET of the pinned octet VECTOR."
  (let ((base (gensym "BASE")))
    `(cffi:with-pointer-to-vector-data (,base ,vector)
       (let ((,pointer (cffi:inc-pointer ,base ,offset)))
         ,@body))))

(defun %read-octets (pipe buffer start end timeout)
  "One read of at most END - START bytes into the simple octet BUFFER, waiting
up to TIMEOUT.  Count, 0 at EOF, NIL on timeout."
  (declare (type proc-octets buffer) (type fixnum start end))
  (cffi:with-foreign-object (nread :size)
    (setf (cffi:mem-ref nread :size) 0)
    (flet ((once (ms)
             (declare (type (signed-byte 64) ms))
             (let ((fd (pipe-fd pipe))
                   (size (- end start)))
               (declare (type (signed-byte 32) fd) (type (integer 0 #.most-positive-fixnum) size))
               (with-proc-octets-pointer (p buffer start)
                 (fast-interruptible-call (%fd-read fd p size ms nread))))))
      (declare (dynamic-extent #'once))
      (when (wait-loop timeout #'once)
        (cffi:mem-ref nread :size)))))

(defun take-buffered (pipe buffer start end)
  "Copies what READ-BYTE read ahead into BUFFER; returns the count."
  (with-slots ((b buffer) (bs buffer-start) (be buffer-end)) pipe
    (let ((n (min (- end start) (- be bs))))
      (when (plusp n)
        (replace buffer b :start1 start :end1 (+ start n) :start2 bs)
        (incf bs n))
      n)))

(defun read-octets (pipe buffer &key (start 0) end timeout)
  "Reads at most END - START bytes from the pipe stream PIPE into the octet
vector BUFFER, waiting up to TIMEOUT seconds (NIL: no limit; 0: only what is
there) for some to arrive.  Returns the count read, 0 at end of file, or NIL
when the timeout passed with nothing to read.  Waits in C, in slices."
  (check-type pipe pipe-input-stream)
  (let ((end (or end (length buffer))))
    (assert (<= 0 start end (length buffer)) (start end) "bad bounds ~D ~D" start end)
    (let ((buffered (take-buffered pipe buffer start end)))
      (cond ((plusp buffered) buffered)
            ((= start end) (pipe-fd pipe) 0)
            ((typep buffer 'proc-octets) (%read-octets pipe buffer start end timeout))
            (t (let* ((tmp (make-array (- end start) :element-type '(unsigned-byte 8)))
                      (n (%read-octets pipe tmp 0 (length tmp) timeout)))
                 (when n (replace buffer tmp :start1 start :end2 n))
                 n))))))

(defun write-octets (pipe octets &key (start 0) end timeout)
  "Writes OCTETS from START to END to the pipe stream PIPE, waiting up to
TIMEOUT seconds in all for room (NIL: no limit).  Returns the count written:
all of them, or fewer when the timeout passed.  A reading end that is closed
is LIPC-CLOSED, never SIGPIPE.  Waits in C, in slices."
  (check-type pipe pipe-output-stream)
  (multiple-value-bind (octets start end)
      (let ((end (or end (length octets))))
        (if (typep octets 'proc-octets)
            (values octets start end)
            (values (coerce (subseq octets start end) 'proc-octets) 0 (- end start))))
    (write-simple-octets pipe octets start end timeout)))

(defun write-simple-octets (pipe octets start end timeout)
  (declare (type proc-octets octets) (type fixnum start end))
  (let ((done 0))
    (declare (type fixnum done))
    (when (< start end)
      (cffi:with-foreign-object (nwritten :size)
        (flet ((once (ms)
                 (let ((fd (pipe-fd pipe)))
                   (with-proc-octets-pointer (p octets (+ start done))
                     ;; The count is added in the call's deferred scope, so
                     ;; an unwind after the call cannot lose it.
                     (without-lisp-interrupts
                       (setf (cffi:mem-ref nwritten :size) 0)
                       (multiple-value-prog1
                           (interruptible-call
                            (%fd-write fd p (- end start done) ms nwritten))
                         (incf done (cffi:mem-ref nwritten :size))))))))
          (declare (dynamic-extent #'once))
          (wait-loop timeout #'once))))
    done))

(defun read-all-octets (pipe &key timeout)
  "Reads PIPE to end of file, for at most TIMEOUT seconds in all.  Returns
the octets read and T, or the octets read so far and NIL when the timeout
passed first."
  (let* ((deadline (deadline timeout))
         (buffer (make-array 65536 :element-type '(unsigned-byte 8)))
         (fill 0))
    (loop
      (when (= fill (length buffer))
        (let ((bigger (make-array (* 2 (length buffer)) :element-type '(unsigned-byte 8))))
          (replace bigger buffer)
          (setf buffer bigger)))
      (let ((n (read-octets pipe buffer :start fill
                                        :timeout (and deadline
                                                      (max 0 (/ (- deadline (monotonic-ns)) 1d9))))))
        (cond ((null n) (return (values (subseq buffer 0 fill) nil)))
              ((zerop n) (return (values (subseq buffer 0 fill) t)))
              (t (incf fill n)))))))

;;; Gray stream methods: blocking reads and writes, no timeout.

(defmethod sb-gray:stream-read-byte ((pipe pipe-input-stream))
  (with-slots (buffer buffer-start buffer-end) pipe
    (when (>= buffer-start buffer-end)
      (unless buffer (setf buffer (make-array 4096 :element-type '(unsigned-byte 8))))
      (let ((n (%read-octets pipe buffer 0 (length buffer) nil)))
        (setf buffer-start 0 buffer-end n)))
    (if (>= buffer-start buffer-end)
        :eof
        (prog1 (aref buffer buffer-start) (incf buffer-start)))))

(defmethod sb-gray:stream-read-sequence ((pipe pipe-input-stream) sequence &optional (start 0) end)
  (let ((end (or end (length sequence))))
    (loop while (< start end)
          do (let ((n (read-octets pipe sequence :start start :end end)))
               (if (zerop n) (return) (incf start n))))
    start))

(defmethod sb-gray:stream-write-byte ((pipe pipe-output-stream) byte)
  (write-octets pipe (make-array 1 :element-type '(unsigned-byte 8) :initial-element byte))
  byte)

(defmethod sb-gray:stream-write-sequence ((pipe pipe-output-stream) sequence &optional (start 0) end)
  (write-octets pipe sequence :start start :end end)
  sequence)

(defmethod sb-gray:stream-finish-output ((pipe pipe-output-stream)) nil)
(defmethod sb-gray:stream-force-output ((pipe pipe-output-stream)) nil)

;;; ------------------------------------------------------------------------
;;; Processes

(defclass process (handle-object)
  ((command :initarg :command :reader process-command
            :documentation "The command as given to SPAWN-PROCESS.")
   (pid :initform nil :reader process-pid)
   (pipe-kinds :initarg :pipe-kinds :initform nil
               :documentation "((child-fd . :input/:output) ...): the pipes
of the child, by the direction this process uses them.")
   (pipes :initform nil :documentation "((child-fd . pipe-stream) ...) taken.")
   (status :initform nil :documentation "(exit-code . signal) once reaped.")
   (final-info :initform nil :documentation "PROCESS-INFO's plist, kept at close.")
   (on-close :initarg :on-close :initform :leave)
   (grace :initarg :grace :initform 5)
   (lock :initform (sb-thread:make-mutex :name "lipc process")))
  (:documentation "A child process.  Close it with CLOSE-PROCESS (or use
WITH-PROCESS); a finalizer closes forgotten ones after GC (the :on-close
policy then applies; lipc reaps the child either way)."))

(defmethod object-label ((p process))
  (format nil "process ~S~@[ (pid ~D)~]" (process-command p) (process-pid p)))

(defmethod print-object ((p process) stream)
  (print-unreadable-object (p stream :type t :identity t)
    (let ((status (slot-value p 'status)))
      (format stream "~S~@[ pid ~D~] ~A~:[ (closed)~;~]" (process-command p) (process-pid p)
              (cond ((null status) "")
                    ((plusp (cdr status)) (format nil "signal ~D" (cdr status)))
                    (t (format nil "exit ~D" (car status))))
              (handle-open-p p)))))

;;; ---- building the attributes

(defmacro with-spawnattr ((var) &body body)
  "BODY with VAR bound to a new spawn-attributes handle (an integer), closed
however BODY exits.  The handle is stored in VAR in the call's deferred
scope, so no unwind can leave it unclosed."
  (let ((ptr (gensym "PTR")) (info (gensym "INFO")) (rc (gensym "RC")))
    `(let ((,var nil))
       (unwind-protect
            (progn
              (let ((,info (cffi:with-foreign-object (,ptr :int64)
                             (without-lisp-interrupts
                               (multiple-value-bind (,rc ,info) (call-c (%spawnattr-new ,ptr))
                                 (declare (ignore ,rc))
                                 (unless ,info (setf ,var (cffi:mem-ref ,ptr :int64)))
                                 ,info)))))
                (when ,info (signal-error ,info)))
              ,@body)
         (when ,var (call-c (%close ,var)))))))

(defun spawn-set-command (a command program search)
  (etypecase command
    (string (check (%spawnattr-shell a (proc-c-string command "spawn: command"))))
    (pathname (check (%spawnattr-arg a (proc-c-string command "spawn: argument"))))
    (list (dolist (arg command)
            (check (%spawnattr-arg a (proc-c-string arg "spawn: argument"))))))
  (when program
    (check (%spawnattr-set-program a (proc-c-string program "spawn: program"))))
  (check (%spawnattr-set-search a (if search 1 0))))

(defun spawn-env-pair (entry)
  "(name . value) from (name . value) or \"NAME=value\"."
  (etypecase entry
    (cons entry)
    (string (let ((eq (position #\= entry)))
              (if eq
                  (cons (subseq entry 0 eq) (subseq entry (1+ eq)))
                  (proc-invalid-argument "spawn: environment entry ~S has no =" entry))))))

(defun spawn-set-environment (a environment env-add env-unset)
  (flet ((set-var (name value)
           (let ((name (proc-c-string name "spawn: environment name")))
             (if (null value)
                 (check (%spawnattr-env-unset a name))
                 (check (%spawnattr-env-set a name (proc-c-string (if (stringp value)
                                                                  value
                                                                  (princ-to-string value))
                                                              "spawn: environment value")))))))
    (when environment
      (check (%spawnattr-env-clear a)))
    (loop for (name . value) in (mapcar #'spawn-env-pair (if (eq environment t) '() environment))
          do (set-var name value))
    (loop for (name . value) in (mapcar #'spawn-env-pair env-add)
          do (set-var name value))
    (dolist (name env-unset)
      (check (%spawnattr-env-unset a (proc-c-string name "spawn: environment name"))))))

(defun spawn-file-flags (child-fd direction if-exists if-does-not-exist)
  (let* ((direction (or direction (if (zerop child-fd) :input :output)))
         (writes (member direction '(:output :io)))
         (base (ecase direction
                 (:input +file-read+)
                 (:output +file-write+)
                 (:io (logior +file-read+ +file-write+))))
         (exists (if writes
                     (ecase (or if-exists :supersede)
                       (:supersede +file-trunc+)
                       (:append +file-append+)
                       (:overwrite 0)
                       (:error +file-excl+))
                     0))
         (missing (ecase (or if-does-not-exist (if writes :create :error))
                    (:create +file-create+)
                    (:error 0))))
    (when (and (= exists +file-excl+) (zerop missing))
      (proc-invalid-argument "spawn: fd ~D: :if-exists :error needs :if-does-not-exist :create" child-fd))
    (logior base exists missing)))

(defun make-blocking (fd)
  "Clears O_NONBLOCK on FD and returns FD.  lipc hands out blocking pipe
ends, but a pipe stream may have been made non-blocking since, and a child
given it would share that flag (one open file description): a reader such
as sort would fail with EAGAIN instead of waiting.  READ-OCTETS and
WRITE-OCTETS keep their deadlines on blocking fds."
  (let ((flags (cffi:foreign-funcall-varargs "fcntl" (:int fd :int 3) :int))) ; F_GETFL
    (when (and (>= flags 0) (logtest flags #o4000))                            ; O_NONBLOCK
      (cffi:foreign-funcall-varargs "fcntl" (:int fd :int 4) :int (logandc2 flags #o4000) :int)) ; F_SETFL
    fd))

(defun spawn-stream-fd (stream child-fd)
  "The fd behind an SBCL stream, following synonym and two-way streams;
output is flushed first so the child's writes come after it."
  (typecase stream
    (synonym-stream (spawn-stream-fd (symbol-value (synonym-stream-symbol stream)) child-fd))
    (two-way-stream (spawn-stream-fd (if (zerop child-fd)
                                   (two-way-stream-input-stream stream)
                                   (two-way-stream-output-stream stream))
                               child-fd))
    (pipe-stream (make-blocking (pipe-fd stream)))
    (sb-sys:fd-stream
     (when (output-stream-p stream) (finish-output stream))
     (sb-sys:fd-stream-fd stream))
    (t (error 'simple-type-error :datum stream :expected-type 'sb-sys:fd-stream
                                 :format-control "~S has no fd to give a child"
                                 :format-arguments (list stream)))))

(defun spawn-fd-setting (child-fd spec)
  "The LIPC_FD_* setting for SPEC at CHILD-FD: (values kind arg path flags
mode pipe-direction)."
  (flet ((pipe (in) (if in
                        (values +fd-pipe-in+ 0 nil 0 0 :output)
                        (values +fd-pipe-out+ 0 nil 0 0 :input))))
    (cond ((member spec '(t :pipe)) (pipe (zerop child-fd)))
          ((eq spec :pipe-in) (pipe t))
          ((eq spec :pipe-out) (pipe nil))
          ((member spec '(nil :inherit)) (values +fd-inherit+ 0 nil 0 0))
          ((eq spec :null) (values +fd-null+ 0 nil 0 0))
          ((eq spec :close) (values +fd-close+ 0 nil 0 0))
          ((eq spec :output) (values +fd-child+ 1 nil 0 0))
          ((eq spec :error) (values +fd-child+ 2 nil 0 0))
          ((integerp spec) (check-type spec (signed-byte 32)) (values +fd-parent+ spec nil 0 0))
          ((pathnamep spec)
           (values +fd-file+ 0 (proc-c-string spec "spawn: file") (spawn-file-flags child-fd nil nil nil) 0))
          ((streamp spec) (values +fd-parent+ (spawn-stream-fd spec child-fd) nil 0 0))
          ((and (consp spec) (eq (car spec) :fd))
           (destructuring-bind (fd &key close) (cdr spec)
             (check-type fd (signed-byte 32))
             (values +fd-parent+ fd nil (if close +fd-close-parent+ 0) 0)))
          ((and (consp spec) (eq (car spec) :child))
           (destructuring-bind (fd) (cdr spec)
             (check-type fd (signed-byte 32))
             (values +fd-child+ fd nil 0 0)))
          ((and (consp spec) (typep (car spec) '(or pathname string)))
           (destructuring-bind (file &key direction if-exists if-does-not-exist (mode 0)) spec
             (check-type mode (unsigned-byte 32))
             (values +fd-file+ 0 (proc-c-string file "spawn: file")
                     (spawn-file-flags child-fd direction if-exists if-does-not-exist) mode)))
          (t (error 'simple-type-error
                    :datum spec
                    :expected-type '(or (member t nil :pipe :pipe-in :pipe-out :inherit :null
                                         :close :output :error)
                                     integer pathname stream cons)
                    :format-control "~S is not a spec for child fd ~D (a file name must be ~
                                     a pathname: #p\"...\")"
                    :format-arguments (list spec child-fd))))))

(defun spawn-set-fds (a specs)
  "Applies SPECS, ((child-fd . spec) ...); returns the pipe directions."
  (let ((pipe-kinds '()))
    (loop for (child-fd . spec) in specs
          do (check-type child-fd (signed-byte 32))
             (multiple-value-bind (kind arg path flags mode direction) (spawn-fd-setting child-fd spec)
               (check (%spawnattr-set-fd a child-fd kind arg (or path (cffi:null-pointer)) flags mode))
               (when direction (push (cons child-fd direction) pipe-kinds))))
    (nreverse pipe-kinds)))

(defparameter *os-rlimit-resources*
  '((:cpu . 0) (:fsize . 1) (:data . 2) (:stack . 3) (:core . 4) (:nproc . 6)
    (:nofile . 7) (:memlock . 8) (:as . 9))
  "Linux's RLIMIT_* numbers (getrlimit), by keyword.")

(defun current-rlimit (key)
  "This process's own limit of resource KEY (:cpu :as ...): soft and hard,
each an integer or +RLIM-INFINITY+.  getrlimit: plain C, no lipc call."
  (let ((resource (proc-keyword-value key *os-rlimit-resources* "an rlimit resource")))
    (cffi:with-foreign-object (rl :uint64 2)
      (let ((errno (without-lisp-interrupts
                     (and (minusp (cffi:foreign-funcall "getrlimit" :int resource :pointer rl :int))
                          (proc-errno)))))
        (when errno (proc-os-error "getrlimit" errno)))
      (flet ((value (i)
               (let ((v (cffi:mem-aref rl :uint64 i)))
                 (if (= v #xFFFFFFFFFFFFFFFF) +rlim-infinity+ v))))
        (values (value 0) (value 1))))))

(defun spawn-set-rlimits (a rlimits)
  (loop for (key value) on rlimits by #'cddr
        for resource = (proc-keyword-value key *rlimit-resources* "an rlimit resource")
        do (flet ((lim (x which)
                    (case x
                      ((nil :infinity) +rlim-infinity+)
                      (:current (nth-value which (current-rlimit key)))
                      (t (check-type x (signed-byte 64)) x))))
             (multiple-value-bind (soft hard)
                 (if (consp value)
                     (values (lim (first value) 0) (lim (second value) 1))
                     (values (lim value 0) (lim value 1)))
               (check (%spawnattr-set-rlimit a resource soft hard))))))

(defun proc-id-of (value what)
  "A uid or gid from an integer or a name (getpwnam / getgrnam, as
subprocess looks names up).  Both structs start with two char pointers,
then the id."
  (etypecase value
    ((integer 0 #.(- (expt 2 32) 2)) value)
    (string
     (let ((entry (if (string= what "user")
                      (cffi:foreign-funcall "getpwnam" :string value :pointer)
                      (cffi:foreign-funcall "getgrnam" :string value :pointer))))
       (when (cffi:null-pointer-p entry)
         (proc-invalid-argument "spawn: no ~A named ~S" what value))
       (cffi:mem-ref entry :uint32 (* 2 (cffi:foreign-type-size :pointer)))))))

(defparameter *runtime-ignored-signals* '(13 25)
  "SIGPIPE and SIGXFSZ: what runtimes ignore for themselves, and
subprocess's restore_signals resets in children.")

(defun spawn-set-credentials (a user group extra-groups)
  (unless (eq extra-groups :inherit)
    (check-type extra-groups list)
    (check (%spawnattr-groups-clear a))
    (dolist (g extra-groups)
      (check (%spawnattr-groups-add a (proc-id-of g "group")))))
  (when group (check (%spawnattr-set-group a (proc-id-of group "group"))))
  (when user (check (%spawnattr-set-user a (proc-id-of user "user")))))

(defun spawn-set-options (a &key directory umask new-session process-group autokill on-close grace
                              pipe-size (close-fds t) (restore-signals t))
  (when directory
    (check (%spawnattr-set-cwd a (proc-c-string directory "spawn: directory"))))
  (when umask
    (check-type umask (signed-byte 32))
    (check (%spawnattr-set-umask a umask)))
  (when new-session
    (check (%spawnattr-set-setsid a 1)))
  (when process-group
    (check-type process-group (or (eql t) (signed-byte 64)))
    (check (%spawnattr-set-pgroup a (if (eq process-group t) 0 process-group))))
  (when pipe-size
    (check-type pipe-size (integer 0 #.(1- (expt 2 31))))
    (check (%spawnattr-set-pipesize a pipe-size)))
  (unless close-fds
    (check (%spawnattr-set-keep-fds a 1)))
  (ecase restore-signals
    (:all (check (%spawnattr-set-sigreset a 1)))
    ((t) (dolist (sig *runtime-ignored-signals*) (check (%spawnattr-set-sigdefault a sig 1))))
    ((nil)))
  (when autokill
    (check (%spawnattr-set-autokill a (if (eq autokill t) 9 (signal-number autokill)))))
  (check (%spawnattr-set-on-close a (ecase on-close
                                      (:leave +on-close-leave+)
                                      (:stop +on-close-stop+))
                                  (proc-ms grace))))

(defun spawn-process (command &key program (search t) environment env-add env-unset directory
                        umask new-session process-group (input :inherit) (output :inherit)
                        (error :inherit) fds rlimits autokill (on-close :leave) (grace 5)
                        user group (extra-groups :inherit) pipe-size (close-fds t)
                        (restore-signals t))
  "Starts COMMAND (a list: program and arguments, run directly; a string:
run by /bin/sh -c) and returns a PROCESS.  The keywords are described at the
top of proc.lisp.  Every failure to start is signalled here."
  (with-spawnattr (a)
    (spawn-set-command a command program search)
    (spawn-set-environment a environment env-add env-unset)
    (spawn-set-options a :directory directory :umask umask :new-session new-session
                   :process-group process-group :autokill autokill :on-close on-close
                   :grace grace :pipe-size pipe-size :close-fds close-fds
                   :restore-signals restore-signals)
    (spawn-set-credentials a user group extra-groups)
    (spawn-set-rlimits a rlimits)
    (let* ((pipe-kinds (spawn-set-fds a (list* (cons 0 input) (cons 1 output) (cons 2 error) fds)))
           (process (open-handle (ptr) (%proc-spawn a ptr) 'process
                                 :command command :pipe-kinds pipe-kinds
                                 :on-close on-close :grace grace))
           (h (object-handle process)))
      (cffi:with-foreign-object (v :int64)
        (check (%proc-pid h v))
        (setf (slot-value process 'pid) (cffi:mem-ref v :int64)))
      process)))

(defun %pidfd (process)
  "The pidfd of PROCESS, or NIL when lipc reaped the child before it was
asked for (a reaped child keeps no fd).  Asked for once, lipc keeps it open
until the process is closed, so it is only asked for where it is polled."
  (let ((h (object-handle process)))
    (cffi:with-foreign-object (v :int64)
      (multiple-value-bind (rc info) (call-c (%proc-info h 9 v))
        (cond ((>= rc 0) (cffi:mem-ref v :int64))
              ((= rc +enoent+) nil)
              (t (signal-error info)))))))

;;; ---- status

(defun record-status (process code signal)
  (setf (slot-value process 'status) (cons code signal))
  (values code signal))

(defun cached-status (process)
  (slot-value process 'status))

(defun process-wait (process &key timeout)
  "Waits up to TIMEOUT seconds (NIL: no limit; 0: poll) for PROCESS to exit,
and reaps it.  Returns its exit code (-1 when a signal killed it) and the
signal (0 if none), or NIL when it is still running.  Tracks the process,
not its pipes: a grandchild holding a pipe does not delay it.  A status
that someone else reaped (waitpid(-1) in the host) is LIPC-STATUS-LOST."
  (let ((status (cached-status process)))
    (if status
        (values (car status) (cdr status))
        (cffi:with-foreign-objects ((code :int) (sig :int))
          (flet ((once (ms)
                   ;; looked up each slice: a close from another thread ends
                   ;; the wait with LIPC-CLOSED, in Lisp
                   (let ((h (object-handle process)))
                     (interruptible-call (%proc-wait h ms code sig)))))
            (declare (dynamic-extent #'once))
            (when (wait-loop timeout #'once)
              (record-status process (cffi:mem-ref code :int) (cffi:mem-ref sig :int))))))))

(defun process-status (process)
  ":running, :exited or :signaled.  Polls (and reaps a child that exited)."
  (let ((status (or (cached-status process)
                    (and (process-wait process :timeout 0) (cached-status process)))))
    (cond ((null status) :running)
          ((plusp (cdr status)) :signaled)
          (t :exited))))

(defun process-alive-p (process)
  "True while PROCESS runs (polls)."
  (eq :running (process-status process)))

(defun process-exit-code (process)
  "The exit code (-1 if a signal killed it), NIL while running.  Polls."
  (process-status process)
  (car (cached-status process)))

(defun process-signal (process)
  "The signal that killed PROCESS, 0 if it exited, NIL while running.  Polls."
  (process-status process)
  (cdr (cached-status process)))

(defparameter *state-poll-seconds* 0.01
  "How often PROCESS-WAIT-STATE looks for a stop or a continue while it
waits (in C, on the pidfd) for the exit: the kernel signals those only
through SIGCHLD, which belongs to the host.")

(defun poll-stop-continue (process stopped continued)
  "One waitid(P_PIDFD, WSTOPPED and/or WCONTINUED, WNOHANG) on the pidfd of
PROCESS: takes a pending stop or continue report, and never reaps (no
WEXITED: the exit stays lipc's).  Plain C.  (:stopped signal), (:continued
signal) or NIL."
  (let ((flags (logior 1                              ; WNOHANG
                       (if stopped 2 0)               ; WSTOPPED
                       (if continued 8 0))))          ; WCONTINUED
    (cffi:with-foreign-object (si :uint8 128)         ; siginfo_t
      (dotimes (i 128) (setf (cffi:mem-aref si :uint8 i) 0))
      (multiple-value-bind (rc errno)
          (without-lisp-interrupts
            (let ((pidfd (%pidfd process)))           ; closed: LIPC-CLOSED, not a dead pidfd
              (if (null pidfd)
                  (values -1 10)                      ; reaped: as ECHILD
                  (let ((rc (cffi:foreign-funcall "waitid" :int 3 :uint32 pidfd ; P_PIDFD
                                                           :pointer si :int flags :int)))
                    (values rc (and (minusp rc) (proc-errno)))))))
        (cond ((minusp rc)
               (if (= errno 10) nil (proc-os-error "waitid" errno))) ; ECHILD: reaped
              ((zerop (cffi:mem-ref si :int 16)) nil)                ; si_pid 0: no change
              (t (let ((si-code (cffi:mem-ref si :int 8))
                       (si-status (cffi:mem-ref si :int 24)))
                   (case si-code
                     ((4 5) (list :stopped si-status))               ; CLD_TRAPPED, CLD_STOPPED
                     (6 (list :continued si-status))                 ; CLD_CONTINUED
                     (t nil)))))))))

(defun process-wait-state (process &key timeout stopped continued)
  "Waits up to TIMEOUT seconds (NIL: no limit; 0: poll) for PROCESS to exit
or, when STOPPED, to stop (SIGSTOP, SIGTSTP...), or, when CONTINUED, to be
continued (SIGCONT): waitpid's WUNTRACED and WCONTINUED.  Returns :exited
and the exit code and signal as PROCESS-WAIT (reaping it), or :stopped and
the stop signal, or :continued and 18; NIL on timeout.  Each stop and
continue is reported once.  Waits in C on the pidfd; stops and continues
are looked for every *STATE-POLL-SECONDS*."
  (check-type timeout timeout)
  (let ((deadline (deadline timeout))
        (poll (or stopped continued)))
    (loop
      (let ((status (cached-status process)))
        (when status (return (values :exited (car status) (cdr status)))))
      (when poll
        (let ((change (poll-stop-continue process stopped continued)))
          (when change (return (values-list change)))))
      (let* ((left (and deadline (max 0 (/ (- deadline (monotonic-ns)) 1d9))))
             (slice (cond ((not poll) left)
                          (left (min left *state-poll-seconds*))
                          (t *state-poll-seconds*))))
        (multiple-value-bind (code sig) (process-wait process :timeout slice)
          (when code (return (values :exited code sig))))
        (when (deadline-passed-p deadline)
          ;; a stop in the last slice still counts
          (return (and poll (values-list (poll-stop-continue process stopped continued)))))))))

(defun process-path (process)
  "The program that was run, after the PATH search."
  (let ((h (object-handle process)))
    (proc-call-sized (lambda (buf size needed) (call-c (%proc-path h buf size needed))))))

(defun process-kill (process signal &key group)
  "Sends SIGNAL (a number or :term :kill :int ...) to PROCESS (through its
pidfd: never to a process that reused the pid), or to its process group
when GROUP is true (the child must lead one: spawn it with :process-group t
or :new-session t).  Signal 0 checks that it is alive.  Returns T, or NIL
when it had already exited."
  (let ((sig (signal-number signal)))
    (if (and (cached-status process) (not (handle-open-p process)))
        nil
        (multiple-value-bind (rc info)
            (let ((h (object-handle process)))
              (call-c (%proc-kill h sig (if group 1 0))))
          (cond ((>= rc 0) t)
                ((= rc +enoent+) nil)
                (t (signal-error info)))))))

(defun process-stop (process &key (grace 5) group)
  "Stops PROCESS: SIGTERM (to its group when GROUP), up to GRACE seconds
for it to exit, then SIGKILL; waits for it and returns its exit code and
signal as PROCESS-WAIT does.  Sleeps in C in slices; interruptible."
  (let ((status (cached-status process)))
    (when status
      (return-from process-stop (values (car status) (cdr status)))))
  (let ((deadline (deadline grace)))
    ;; A grace longer than a wait slice: TERM now and wait in slices, so
    ;; that interrupts get their turn; the last slice goes to lipc_proc_stop
    ;; (which sends TERM again: harmless).
    (when (> (proc-ms grace) *wait-slice-ms*)
      (process-kill process :term :group group)
      (let ((done (process-wait process :timeout (max 0 (- grace (/ *wait-slice-ms* 1000))))))
        (when done (return-from process-stop (process-wait process)))))
    (cffi:with-foreign-objects ((code :int) (sig :int))
      (loop
        (let ((left (cond ((null deadline) +max-wait-ms+) ; an infinite grace: never KILL
                          ((deadline-passed-p deadline) 0)
                          (t (ceiling (- deadline (monotonic-ns)) 1000000)))))
          (multiple-value-bind (rc info)
              (let ((h (object-handle process)))
                (interruptible-call (%proc-stop h left (if group 1 0) code sig)))
            (cond ((>= rc 0)
                   (return (record-status process (cffi:mem-ref code :int)
                                          (cffi:mem-ref sig :int))))
                  ((/= rc +eintr+) (signal-error info)))))))))

(defun snapshot-info (process)
  "PROCESS-INFO's plist, or NIL if the handle cannot answer."
  (ignore-errors (process-info process)))

(defun process-info (process &optional figure)
  "Figures of PROCESS: with FIGURE (:running :exit-code :signal :core-dumped
:utime-us :stime-us :maxrss-kb :rss-kb :pidfd) that one, NIL when it is not
available (exit figures while running, RSS after exit); without, a plist of
them all plus :pid.  CPU times are microseconds, RSS KiB: while running from
/proc, after the wait from the kernel's accounting of the child.  After
CLOSE-PROCESS, the figures taken at close."
  (unless (handle-open-p process)
    (let ((final (slot-value process 'final-info)))
      (if final
          (return-from process-info (if figure (getf final figure) final))
          (object-handle process))))
  (if figure
      (let ((what (proc-keyword-value figure *proc-figures* "a process figure"))
            (h (object-handle process)))
        (cffi:with-foreign-object (v :int64)
          (multiple-value-bind (rc info) (call-c (%proc-info h what v))
            (cond ((and (= rc +enoent+) (eq figure :pidfd)) nil) ; reaped before it was asked for
                  ((or (>= rc 0) (= rc +eagain+) (= rc +estatuslost+))
                   (figure-value figure rc (cffi:mem-ref v :int64)))
                  (t (signal-error info))))))
      (all-figures process)))

(defparameter *info-order*
  '(:running :exit-code :signal :core-dumped :utime-us :stime-us :rss-kb :maxrss-kb)
  "The figures of PROCESS-INFO's plist in the order lipc reads them: the
current size before the peak, so a growing child never shows a peak below
it.")

(defun all-figures (process)
  "PROCESS-INFO's plist, from one lipc_proc_info_many call (issue 12: one C
call a child instead of one a figure), keys in *PROC-FIGURES*'s order."
  (let ((n (length *info-order*))
        (h (object-handle process)))
    (cffi:with-foreign-objects ((what :int n) (vals :int64 n) (rcs :int n))
      (loop for key in *info-order* for i from 0
            do (setf (cffi:mem-aref what :int i) (cdr (assoc key *proc-figures*))))
      (multiple-value-bind (rc info) (call-c (%proc-info-many h what vals rcs n))
        (when (minusp rc) (signal-error info)))
      (let ((got (loop for key in *info-order* for i from 0
                       collect (cons key (figure-value key (cffi:mem-aref rcs :int i)
                                                       (cffi:mem-aref vals :int64 i))))))
        (list* :pid (process-pid process)
               (loop for (key) in *proc-figures*
                     unless (eq key :pidfd)
                       collect key and collect (cdr (assoc key got))))))))

(defun figure-value (key rc value)
  "A figure of PROCESS-INFO from lipc_proc_info_many's code and value: NIL
where PROCESS-INFO of that one figure gives NIL, the same error otherwise (a
figure's failure leaves no message behind: the message is made here)."
  (cond ((>= rc 0) (if (member key '(:running :core-dumped)) (= value 1) value))
        ;; not yet, or no figures of a pid that may be another's now
        ((or (= rc +eagain+) (= rc +estatuslost+)) nil)
        (t (signal-error (list rc (format nil "proc_info_many: figure ~(~A~): ~A" key (%strerror rc)) 0)))))

;;; ---- pipes

(defun process-pipe (process child-fd)
  "The parent's end of the pipe at CHILD-FD as a pipe stream (a
PIPE-INPUT-STREAM for a pipe the child writes, a PIPE-OUTPUT-STREAM for one
it reads), taken from PROCESS the first time (PROCESS-COMMUNICATE no longer
sees it; closing PROCESS closes it).  NIL when CHILD-FD is not a pipe or was
closed."
  (check-type child-fd (signed-byte 32))
  (sb-thread:with-mutex ((slot-value process 'lock))
    (or (cdr (assoc child-fd (slot-value process 'pipes)))
        (let ((direction (cdr (assoc child-fd (slot-value process 'pipe-kinds))))
              (h (object-handle process)))
          (when direction
            (multiple-value-bind (stream info)
                (cffi:with-foreign-object (fd :int)
                  ;; take + wrap in one deferred scope: the fd always has an owner
                  (without-lisp-interrupts
                    (multiple-value-bind (rc info) (call-c (%proc-take-fd h child-fd fd))
                      (cond ((>= rc 0)
                             (let ((s (make-pipe-stream
                                       (cffi:mem-ref fd :int) direction
                                       :label (format nil "fd ~D of pid ~D" child-fd
                                                      (process-pid process)))))
                               (push (cons child-fd s) (slot-value process 'pipes))
                               (values s nil)))
                            ((= rc +enoent+) (values nil nil))
                            (t (values nil info))))))
              (when info (signal-error info))
              stream))))))

(defun process-input (process)
  "The child's stdin pipe, for writing (NIL if stdin is not a pipe)."
  (process-pipe process 0))

(defun process-output (process)
  "The child's stdout pipe, for reading (NIL if stdout is not a pipe)."
  (process-pipe process 1))

(defun process-error-output (process)
  "The child's stderr pipe, for reading (NIL if stderr is not a pipe)."
  (process-pipe process 2))

(defun close-pipe-end (process child-fd)
  "Closes the parent's end at CHILD-FD, taken or not.  T if one was open."
  (check-type child-fd (signed-byte 32))
  (let ((taken (sb-thread:with-mutex ((slot-value process 'lock))
                 (cdr (assoc child-fd (slot-value process 'pipes))))))
    (if taken
        (close taken)
        (and (handle-open-p process)
             (multiple-value-bind (rc info)
                 (let ((h (object-handle process)))
                   (call-c (%proc-close-fd h child-fd)))
               (cond ((>= rc 0) t)
                     ((= rc +enoent+) nil)
                     (t (signal-error info))))))))

(defun process-close-input (process)
  "Closes the child's stdin pipe (it reads end of file).  T if it was open."
  (close-pipe-end process 0))

;;; ---- communicate

(defun proc-input-octets (input external-format)
  (etypecase input
    (null (make-array 0 :element-type '(unsigned-byte 8)))
    (string (proc-string-octets input external-format))
    (proc-octets input)
    (vector (coerce input 'proc-octets))))

(defun communicate-once (h input max ms deadline out out-len err err-len)
  "One lipc_proc_communicate call.  Returns rc, info, final-p and, when the
call is the last one (done, past the cap, or out of time), the outputs as
octet vectors.  Intermediate slices free lipc's copies unread: lipc keeps
everything for the next call."
  (with-proc-octets-pointer (in input 0)
    (without-lisp-interrupts
      (setf (cffi:mem-ref out :pointer) (cffi:null-pointer)
            (cffi:mem-ref err :pointer) (cffi:null-pointer))
      (multiple-value-bind (rc info)
          (interruptible-call (%proc-communicate h in (length input) max ms
                                                 out out-len err err-len))
        (let* ((o (cffi:mem-ref out :pointer))
               (e (cffi:mem-ref err :pointer))
               (final (or (= rc 0) (= rc +erange+)
                          (and (= rc +etimedout+)
                               (or (zerop ms) (deadline-passed-p deadline))))))
          (flet ((grab (p len)
                   (and final (not (cffi:null-pointer-p p))
                        (proc-foreign-octets p (cffi:mem-ref len :size)))))
            (multiple-value-prog1
                (values rc info final (grab o out-len) (grab e err-len))
              (%free o)
              (%free e))))))))

(defun %communicate (process input timeout max-output)
  "Runs lipc_proc_communicate in slices until done.  Returns rc (0,
LIPC_ETIMEDOUT or LIPC_ERANGE), stdout and stderr octets (or NIL), and the
error info."
  (check-type timeout timeout)
  (check-type max-output (or null (unsigned-byte 64)))
  (let ((deadline (deadline timeout))
        (max (or max-output 0))
        (out-pipe (untaken-pipe-p process 1))
        (err-pipe (untaken-pipe-p process 2)))
    (cffi:with-foreign-objects ((out :pointer) (out-len :size) (err :pointer) (err-len :size))
      (loop
        (multiple-value-bind (rc info final o e)
            (communicate-once (object-handle process) input max (slice-ms deadline) deadline
                              out out-len err err-len)
          ;; A stream that is not one of our pipes is NIL here, whatever
          ;; lipc hands out for it.
          (cond (final (return (values rc (and out-pipe o) (and err-pipe e) info)))
                ((or (= rc +eintr+) (= rc +etimedout+)))
                (t (signal-error info))))))))

(defun untaken-pipe-p (process child-fd)
  "True when CHILD-FD of PROCESS is a pipe that PROCESS-PIPE has not taken."
  (sb-thread:with-mutex ((slot-value process 'lock))
    (and (assoc child-fd (slot-value process 'pipe-kinds))
         (not (assoc child-fd (slot-value process 'pipes)))
         t)))

(defun proc-decode-output (octets output-type external-format)
  (and octets
       (ecase output-type
         (:string (proc-octets-string octets external-format))
         (:octets octets))))

(defun collect-after-kill (process input max-output)
  "Kills PROCESS and returns everything it wrote since communicating began
(waiting at most 2 s for a grandchild that holds the pipes)."
  (process-kill process :kill)
  (multiple-value-bind (rc o e) (%communicate process input 2 max-output)
    (declare (ignore rc))
    (values o e)))

(defun process-communicate (process &key input timeout max-output (output-type :string)
                                      (external-format :utf-8))
  "Feeds INPUT (a string, encoded with EXTERNAL-FORMAT, or octets) to the
child's stdin pipe and closes it, while collecting its stdout and stderr
pipes to end of file, then waits for it to exit; all within TIMEOUT seconds.
Never deadlocks however much the child writes.  Returns stdout and stderr as
strings (OUTPUT-TYPE :string) or octet vectors (:octets); NIL for a stream
that is not a pipe of PROCESS or was taken by PROCESS-OUTPUT & co.
MAX-OUTPUT caps the bytes kept of each stream (OUTPUT-LIMIT-EXCEEDED).
On timeout, COMMUNICATE-TIMEOUT holds the output so far, and the child runs
on; lipc keeps what was read, so a second call (with the same INPUT) returns
everything since the first.  Restarts: KILL-PROCESS (kill the child, return
all its output), USE-PARTIAL-OUTPUT (return what was read)."
  (let ((input (proc-input-octets input external-format)))
    (flet ((decode (octets) (proc-decode-output octets output-type external-format)))
      (multiple-value-bind (rc o e info) (%communicate process input timeout max-output)
        (let ((out (decode o)) (err (decode e)))
          (cond ((= rc 0) (values out err))
                ((= rc +etimedout+)
                 (restart-case (error (make-partial-condition 'communicate-timeout info
                                                              process out err))
                   (kill-process ()
                     :report "Kill the process and return all its output."
                     (multiple-value-bind (o e) (collect-after-kill process input max-output)
                       (values (decode o) (decode e))))
                   (use-partial-output ()
                     :report "Return the output read so far."
                     (values out err))))
                (t
                 (restart-case (error (make-partial-condition 'output-limit-exceeded info
                                                              process out err))
                   (use-partial-output ()
                     :report "Return the output kept (up to the cap)."
                     (values out err))))))))))

;;; ---- closing

(defun close-process (process)
  "Closes PROCESS: its pipe streams, then the handle (the :on-close policy
applies to a child still running; lipc reaps it either way).  Idempotent: T
when this call closed it.  The status and figures stay readable."
  (close-handle process))

(defmethod close-handle ((process process))
  (when (handle-open-p process)
    (dolist (entry (sb-thread:with-mutex ((slot-value process 'lock))
                     (slot-value process 'pipes)))
      (close (cdr entry)))
    ;; A child that has exited is reaped now (one poll, in C), so that its
    ;; status and figures stay readable after the close.
    (unless (cached-status process)
      (ignore-errors (process-wait process :timeout 0)))
    (when (cached-status process)
      (setf (slot-value process 'final-info) (snapshot-info process))))
  (call-next-method))

(defun finish-process (process normal-exit)
  "WITH-PROCESS's cleanup: close every pipe end (so the child sees EOF and
cannot block on a full pipe), then stop it (:on-close :stop) or wait for it
(:leave, after a normal exit of the body), then close the handle."
  (unwind-protect
       (when (handle-open-p process)
         (loop for (child-fd) in (slot-value process 'pipe-kinds)
               do (ignore-errors (close-pipe-end process child-fd)))
         (cond ((eq (slot-value process 'on-close) :stop)
                (process-stop process :grace (slot-value process 'grace)))
               (normal-exit (process-wait process))))
    (close-process process)))

(defun call-with-process (function command &rest spawn-options)
  "Calls FUNCTION with the process (apply #'spawn-process command spawn-options);
cleans up however FUNCTION exits (see WITH-PROCESS)."
  (let ((process nil) (normal nil))
    (unwind-protect
         (multiple-value-prog1
             (progn (setf process (apply #'spawn-process command spawn-options))
                    (funcall function process))
           (setf normal t))
      ;; An unwind between spawn and setf leaves the process to its
      ;; finalizer: the backstop's job.
      (when process (finish-process process normal)))))

(defmacro with-process ((var command &rest spawn-options) &body body)
  "Binds VAR to (spawn-process COMMAND . SPAWN-OPTIONS) around BODY.  However BODY
exits, closes the pipe ends, then stops the child if its :on-close is :stop,
or waits for it after a normal exit (:leave; after a non-local exit a child
left running is still reaped by lipc), then closes the process."
  `(call-with-process (lambda (,var) ,@body) ,command ,@spawn-options))

;;; ---- run-command

(defun proc-remove-keys (plist keys)
  (loop for (k v) on plist by #'cddr
        unless (member k keys) collect k and collect v))

(defun run-command (command &rest options &key input (output :string) (error :string) timeout check
                                    max-output (external-format :utf-8) &allow-other-keys)
  "Runs COMMAND to completion: spawn, feed INPUT, collect the outputs, wait.
Returns the exit code (-1 if a signal killed it), stdout, stderr (each NIL
unless captured) and the process (closed; PROCESS-SIGNAL, PROCESS-INFO
still answer).  INPUT: a string or octet vector to feed, or a spawn spec
(NIL: inherit).  OUTPUT, ERROR: :string or :octets to capture, else a spawn
spec (ERROR :output merges it into stdout).  TIMEOUT: seconds; when it
passes the child is killed and COMMUNICATE-TIMEOUT is signalled with all it
wrote.  CHECK: a non-zero exit or a signal is PROCESS-FAILED.  The other
keywords go to SPAWN-PROCESS."
  (let* ((data (vectorp input))          ; a string or octets to feed
         (capture-out (member output '(:string :octets)))
         (capture-err (member error '(:string :octets)))
         (in-octets (if data (proc-input-octets input external-format) (proc-input-octets nil nil)))
         (process (apply #'spawn-process command
                         :input (if data :pipe input)
                         :output (if capture-out :pipe output)
                         :error (if capture-err :pipe error)
                         (proc-remove-keys options '(:input :output :error :timeout :check
                                                :max-output :external-format)))))
    (flet ((decode (octets type)
             (and (member type '(:string :octets)) (proc-decode-output octets type external-format))))
      (unwind-protect
           (multiple-value-bind (rc o e info) (%communicate process in-octets timeout max-output)
             (cond ((= rc +etimedout+)
                    (multiple-value-bind (o e) (collect-after-kill process in-octets max-output)
                      (error (make-partial-condition 'communicate-timeout info process
                                                     (decode o output) (decode e error)))))
                   ((= rc +erange+)
                    (process-kill process :kill)
                    (process-wait process)
                    (error (make-partial-condition 'output-limit-exceeded info process
                                                   (decode o output) (decode e error)))))
             (multiple-value-bind (code sig) (process-wait process)
               (let ((out (decode o output)) (err (decode e error)))
                 (when (and check (or (/= code 0) (plusp sig)))
                   (error 'process-failed :command command :exit-code code :signal sig
                                          :output out :error-output err :process process))
                 (values code out err process))))
        ;; A child still running here (an error or unwind above) is killed,
        ;; as subprocess.run does; lipc reaps it.
        (when (and (handle-open-p process) (null (cached-status process)))
          (ignore-errors (process-kill process :kill)))
        (close-process process)))))

;;; ---- waiting for any of several

(defun wait-any-spec (object)
  "(fd . events) for an object of WAIT-ANY, or :ready when it is ready
without waiting."
  (etypecase object
    (process (let ((pidfd (and (not (cached-status object)) (%pidfd object))))
               (if pidfd (cons pidfd :read) :ready)))     ; no pidfd: reaped, so exited
    (pipe-input-stream (if (< (slot-value object 'buffer-start) (slot-value object 'buffer-end))
                           :ready
                           (cons (pipe-fd object) :read)))
    (pipe-output-stream (cons (pipe-fd object) :write))
    (integer (cons object :read))
    (cons object)))

(defun wait-any (objects &key timeout)
  "Waits until any of OBJECTS is ready, or TIMEOUT seconds pass (NIL: no
limit).  OBJECTS: processes (ready once exited: their pidfd is readable),
pipe input streams (data or end of file), pipe output streams (room, or the
reader gone), fds (readable), (fd . events).  Returns the ready objects in
the order given, or NIL on timeout.  Does not reap: call PROCESS-WAIT."
  (let* ((specs (mapcar #'wait-any-spec objects))
         (now (some (lambda (s) (eq s :ready)) specs))
         (ready (wait-fds (remove :ready specs) :timeout (if now 0 timeout))))
    (loop for object in objects
          for spec in specs
          when (or (eq spec :ready) (assoc (car spec) ready))
            collect object)))
