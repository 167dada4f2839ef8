;;;; flock.lisp - file locks, shared or exclusive.
;;;;
;;;;   (open-file-lock target &key kind classic access create mode) -> file-lock
;;;;       target: a path (string or pathname), an fd-stream, or an fd
;;;;   (file-lock-acquire lock &key exclusive offset length timeout) -> T | NIL
;;;;   (file-lock-release lock &key offset length)                    -> NIL
;;;;   (with-file-lock (lock-or-target &key exclusive offset length timeout
;;;;                                        access create kind) &body body)
;;;;   (close-file-lock lock), (file-lock-target lock), (file-lock-classic-p lock),
;;;;   (file-lock-kind lock)
;;;;   (with-open-file-lock (var target &rest options) &body body)
;;;;
;;;; KIND picks one of two families of lock that Linux keeps apart (neither
;;;; excludes the other); pick the one the other programs use:
;;;;   :fcntl (the default): byte ranges.  They meet lockf and fcntl locks
;;;;     (C's lockf, Python's fcntl.lockf, SQLite, LuaIPC's ipc.filelock).
;;;;   :flock: whole-file flock(2) locks.  They meet flock(1) from
;;;;     util-linux, Python's filelock package and fcntl.flock, Perl's
;;;;     flock.  No range (OFFSET and LENGTH stay 0); any access will do.
;;;;     Changing the mode of a held flock lock is not atomic (flock(2)): a
;;;;     change that fails leaves no lock.
;;;;
;;;; By default locks belong to the LOCK HANDLE (Linux open-file-description
;;;; locks): two handles exclude each other even in one process, so threads
;;;; that must exclude each other each open their own handle (threads sharing
;;;; one handle share its locks); closing some other fd of the file does not
;;;; drop them; closing the handle releases them; the kernel releases them
;;;; when the process dies.  A stream or fd target is opened again by lipc
;;;; (same access), so the caller's stream is left alone.
;;;;
;;;; CLASSIC true (stream or fd targets only): the process's classic fcntl
;;;; locks on that very fd, as C's lockf and Python's fcntl.lockf take: a
;;;; second lock by the same process always succeeds, closing ANY fd of the
;;;; file (any stream on it) drops them, and closing the handle keeps them
;;;; (FILE-LOCK-RELEASE releases).  The stream must stay open while the
;;;; handle is used.  Classic and handle-owned locks conflict, even within
;;;; one process.
;;;;
;;;; Exclusive fcntl locks need write access, shared ones read access
;;;; (LIPC-INVALID-ARGUMENT otherwise).  LENGTH 0 locks to the end of the
;;;; file however far it grows.  Waits sleep in C in slices (a lipc unlock
;;;; or close wakes them at once; a release by another program is seen
;;;; within about a ms); interrupts run and may unwind during them.  WITH-FILE-LOCK
;;;; takes the lock and notes it in one interrupt-deferred step and releases
;;;; it with interrupts deferred, like WITH-MUTEX; it signals LIPC-TIMEOUT
;;;; when TIMEOUT passes first.

(in-package #:lipc)

(export '(file-lock file-lock-target file-lock-classic-p file-lock-kind open-file-lock
          file-lock-acquire file-lock-release close-file-lock with-file-lock
          call-with-file-lock with-open-file-lock call-with-open-file-lock
          +kind-flock+)
        '#:lipc)

(defconstant +kind-flock+ 8 "LIPC_KIND_FLOCK")

(defparameter *flock-access* '((:read . 1) (:write . 2) (:read-write . 3))
  "LIPC_FILE_READ / LIPC_FILE_WRITE bits by keyword.")
(defconstant +flock-file-create+ 8 "LIPC_FILE_CREATE")
(defconstant +flock-whole+ 64 "LIPC_FLOCK_WHOLE: flock(2) whole-file locks")

(defclass file-lock (handle-object)
  ((target :initarg :target :reader file-lock-target
           :documentation "The path, stream or fd it was opened on.")
   (classic :initarg :classic :reader file-lock-classic-p)
   (kind :initarg :kind :initform :fcntl :reader file-lock-kind
         :documentation ":FCNTL (byte ranges) or :FLOCK (whole-file flock(2) locks)."))
  (:documentation "A lock handle on a file.  Close it with CLOSE-FILE-LOCK
or use WITH-OPEN-FILE-LOCK; a finalizer closes forgotten ones after GC."))

(defmethod object-label ((lock file-lock))
  (format nil "file lock on ~S" (file-lock-target lock)))

(defmethod print-object ((lock file-lock) stream)
  (print-unreadable-object (lock stream :type t :identity t)
    (format stream "~S ~(~A~)~:[~; classic~]~:[ (closed)~;~]" (file-lock-target lock)
            (file-lock-kind lock) (file-lock-classic-p lock) (handle-open-p lock))))

(defun target-fd (target)
  "The fd of a stream or fd TARGET, NIL for a path."
  (etypecase target
    ((or string pathname) nil)
    (integer (check-type target (signed-byte 32)) target)
    #+sbcl (sb-sys:fd-stream (sb-sys:fd-stream-fd target))))

(defun open-file-lock (target &key (kind :fcntl) classic (access :read-write) create (mode #o644))
  "A lock handle on TARGET: a path (opened with ACCESS :read, :write or
:read-write, created with MODE when CREATE), an fd-stream or an fd (opened
again with the same access, so ACCESS and CREATE do not apply; with
CLASSIC, the process's fcntl locks on that fd itself).  KIND :fcntl
(byte ranges) or :flock (whole-file flock(2) locks; see the top of
flock.lisp).  Errors: LIPC-NOT-FOUND, LIPC-PERMISSION-DENIED,
LIPC-INVALID-ARGUMENT (CLASSIC with a path or with KIND :flock),
LIPC-OS-ERROR (EBADF: an fd that is not open)."
  (check-type mode (unsigned-byte 32))
  (check-type kind (member :fcntl :flock))
  (let ((fd (target-fd target))
        (whole (eq kind :flock)))
    (cond ((and classic whole)
           (lisp-error -1 "open-file-lock: CLASSIC is a kind of fcntl lock, not of flock"))
          (fd
           (open-handle (h) (%flock-from-fd fd (cond (whole +flock-whole+) (classic 1) (t 0)) h)
             'file-lock :target target :classic (and classic t) :kind kind))
          (classic
           (lisp-error -1 "open-file-lock: CLASSIC needs a stream or an fd, not the path ~S"
                       target))
          (t
           (let ((flags (logior (keyword-code access *flock-access*)
                                (if create +flock-file-create+ 0)
                                (if whole +flock-whole+ 0))))
             (open-handle (h) (%flock-open (native-path target) flags mode h)
               'file-lock :target target :classic nil :kind kind))))))

(defun lock-file (lock exclusive offset length timeout cell)
  "FILE-LOCK-ACQUIRE; CELL, when a cons, gets T in its car in the same
interrupt-deferred scope as the C call that took the lock."
  (check-type timeout timeout)
  (check-type offset (signed-byte 64))
  (check-type length (signed-byte 64))
  (let ((excl (if exclusive 1 0)))
    (flet ((wait-once (ms)
             (let ((h (object-handle lock)))
               (without-lisp-interrupts
                 (multiple-value-bind (rc info)
                     (interruptible-call (%flock-lock h offset length excl ms))
                   (when (and cell (>= rc 0))
                     (setf (car cell) t))
                   (values rc info))))))
      (declare (dynamic-extent #'wait-once))
      (and (try-then-wait timeout #'wait-once) t))))

(defun file-lock-acquire (lock &key (exclusive t) (offset 0) (length 0) timeout)
  "Locks [OFFSET, OFFSET + LENGTH) of LOCK's file (LENGTH 0: to the end),
EXCLUSIVE (default) or shared, waiting up to TIMEOUT seconds (NIL: forever,
0: try once).  Returns T, or NIL when it was held elsewhere until then.
Locking a range this handle holds changes its mode.  LIPC-INVALID-ARGUMENT:
negative OFFSET or LENGTH, or the file is not open for this kind of lock."
  (lock-file lock exclusive offset length timeout nil))

(defun file-lock-release (lock &key (offset 0) (length 0))
  "Unlocks [OFFSET, OFFSET + LENGTH) (LENGTH 0: to the end); unlocking what
is not locked is not an error."
  (check-type offset (signed-byte 64))
  (check-type length (signed-byte 64))
  (check (%flock-unlock (object-handle lock) offset length))
  nil)

(defun close-file-lock (lock)
  "Closes LOCK, releasing its locks (classic locks stay: see the top of
flock.lisp).  Idempotent (T when this call closed it)."
  (close-handle lock))

(defun call-with-open-file-lock (function target &rest options)
  "Calls FUNCTION with (apply #'open-file-lock target options), closing it
however FUNCTION exits."
  (let ((lock nil))
    (unwind-protect (progn (setf lock (apply #'open-file-lock target options))
                           (funcall function lock))
      (when lock (close-file-lock lock)))))

(defmacro with-open-file-lock ((var target &rest options) &body body)
  "Binds VAR to (open-file-lock TARGET . OPTIONS) around BODY."
  `(call-with-open-file-lock (lambda (,var) ,@body) ,target ,@options))

(defun call-with-file-lock (function lock &key (exclusive t) (offset 0) (length 0) timeout
                                               access create (kind :fcntl))
  "Calls FUNCTION (no arguments) with the range locked, releasing it however
FUNCTION exits.  LOCK is a FILE-LOCK, or a target for OPEN-FILE-LOCK that is
opened (KIND; ACCESS default :write for an exclusive fcntl lock, :read for a
shared one or a flock lock; CREATE) and closed around it.  LIPC-TIMEOUT when
TIMEOUT passes first."
  (if (typep lock 'file-lock)
      (call-holding (lambda (cell) (lock-file lock exclusive offset length timeout cell))
                    (lambda () (file-lock-release lock :offset offset :length length))
                    (lambda (how) (declare (ignore how)) (funcall function))
                    (lambda () (timeout-error (object-label lock) timeout)))
      (call-with-open-file-lock
       (lambda (l)
         (call-with-file-lock function l :exclusive exclusive :offset offset
                                         :length length :timeout timeout))
       lock :access (or access (if (and exclusive (eq kind :fcntl)) :write :read)) :create create
            :kind kind)))

(defmacro with-file-lock ((lock &rest options &key exclusive offset length timeout access create kind)
                          &body body)
  "Runs BODY with a range of LOCK's file locked (see CALL-WITH-FILE-LOCK:
LOCK may be a FILE-LOCK or a path, stream or fd); EXCLUSIVE defaults to T."
  (declare (ignore exclusive offset length timeout access create kind))
  `(call-with-file-lock (lambda () ,@body) ,lock ,@options))
