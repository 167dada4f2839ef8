;;;; sem.lisp - named semaphores.  A lipc semaphore "x" is the platform's POSIX
;;;; semaphore "/x", so plain C programs can share it.  Post, wait and value
;;;; run in C; open and unlink are handed by C to lipc's own threads.

(in-package #:lipc)

(defconstant +create+ 1 "LIPC_CREATE")
(defconstant +excl+ 2 "LIPC_EXCL")
(defconstant +unlink-on-close+ 4 "LIPC_UNLINK_ON_CLOSE")
(defconstant +trust-foreign+ 8 "LIPC_TRUST_FOREIGN")

(defclass semaphore (handle-object)
  ((name :initarg :name :reader semaphore-name))
  (:documentation "An open named semaphore.  Close it with CLOSE-SEMAPHORE
or use WITH-SEMAPHORE; a finalizer closes forgotten ones after GC."))

(defmethod object-label ((sem semaphore))
  (format nil "semaphore ~S" (semaphore-name sem)))

(defmethod print-object ((sem semaphore) stream)
  (print-unreadable-object (sem stream :type t :identity t)
    (format stream "~S~:[ (closed)~;~]" (semaphore-name sem) (handle-open-p sem))))

(defun open-semaphore (name &key create exclusive (initial 0) (mode #o600) unlink-on-close
                            trust-foreign)
  "Opens the semaphore NAME (\"jobs\" or \"/jobs\"), creating it with value
INITIAL and permission bits MODE (the umask applies) when CREATE is true and
it is missing.  EXCLUSIVE (with CREATE): fail with LIPC-EXISTS if it exists.
UNLINK-ON-CLOSE: remove the name when this handle closes, if this handle
created it.  An existing semaphore another user owns signals
LIPC-PERMISSION-DENIED unless TRUST-FOREIGN is true (anyone can create a
file under any name in /dev/shm first); one that is not a valid semaphore
signals LIPC-INVALID-ARGUMENT either way.
Restarts: CREATE-SEMAPHORE on LIPC-NOT-FOUND, USE-EXISTING on LIPC-EXISTS."
  (check-type name string)
  (check-type initial (integer 0 #x7FFFFFFF))
  (check-type mode (unsigned-byte 32))
  (restart-case
      (open-handle (h)
          (%sem-open name (logior (if create +create+ 0) (if exclusive +excl+ 0)
                                  (if unlink-on-close +unlink-on-close+ 0)
                                  (if trust-foreign +trust-foreign+ 0))
                     mode initial h)
        'semaphore :name name)
    (create-semaphore ()
      :report "Create the semaphore."
      :test (lambda (c) (or (null c) (typep c 'lipc-not-found)))
      (open-semaphore name :create t :initial initial :mode mode
                           :unlink-on-close unlink-on-close :trust-foreign trust-foreign))
    (use-existing ()
      :report "Open the existing semaphore."
      :test (lambda (c) (or (null c) (typep c 'lipc-exists)))
      (open-semaphore name :unlink-on-close unlink-on-close :trust-foreign trust-foreign))))

(defun semaphore-post (sem &optional (count 1))
  "Adds COUNT (an integer from 1 to 2^32-1, default 1) to SEM in one step,
waking up to COUNT waiters.  LIPC-OUT-OF-RANGE, with nothing added, if the
value would pass 2^31-1."
  (check-type count (integer 1 #xFFFFFFFF))
  (if (eql count 1)
      (semaphore-post-1 sem)
      (let ((h (object-handle sem)))
        (declare (type (signed-byte 64) h))
        (fast-check (%sem-post-n h count))
        nil)))

(declaim (inline semaphore-post-1)) ; as SEMAPHORE-VALUE, below
(defun semaphore-post-1 (sem)
  "SEMAPHORE-POST of 1: what (SEMAPHORE-POST SEM) is compiled to.  The
optional argument's parsing and check were 0.7 ns of a 7 ns post (issue 12)."
  (let ((h (object-handle sem)))
    (declare (type (signed-byte 64) h))
    (fast-check (%sem-post h)))
  nil)

;;; A call written without COUNT goes straight to SEMAPHORE-POST-1; any
;;; other (a COUNT, APPLY, FUNCALL) to SEMAPHORE-POST itself.
(define-compiler-macro semaphore-post (&whole form sem &rest more)
  (if (null more) (list 'semaphore-post-1 sem) form))

(declaim (inline sem-wait-once))
(defun sem-wait-once (sem ms)
  "One lipc_sem_wait of at most MS on SEM: code and error info.  The handle
is looked up again for every slice, so that a wait on a semaphore another
thread closes ends with LIPC-CLOSED instead of going on with a dead handle."
  (declare (type (signed-byte 64) ms))
  (let ((h (object-handle sem)))
    (declare (type (signed-byte 64) h))
    (fast-interruptible-call (%sem-wait h ms))))

(defun sem-wait-after-try (sem rc info timeout)
  "SEMAPHORE-WAIT once its try (code RC, error INFO) did not succeed.  Out of
line: the closure it passes to AFTER-TRY would cost the try its time."
  (flet ((wait-once (ms) (sem-wait-once sem ms)))
    (declare (dynamic-extent #'wait-once))
    (after-try rc info timeout #'wait-once)))

(defun semaphore-wait (sem &key timeout)
  "Decrements SEM, waiting up to TIMEOUT seconds (NIL: forever, 0: try once)
for it to be positive.  Returns T, or NIL when it was not available in time.
Sleeps in C; interrupts (with-timeout, interrupt-thread, Ctrl-C) run and may
unwind between slices of the wait.  Closing SEM from another thread makes
the wait signal LIPC-CLOSED (or LIPC-BAD-HANDLE, in a race) within a slice."
  (semaphore-wait-for sem timeout))

(defun semaphore-wait-for (sem timeout)
  "SEMAPHORE-WAIT with the timeout as a positional argument (calls with a
literal :TIMEOUT are compiled to this: wait.lisp)."
  (check-timeout timeout)
  ;; A try first, inline: a semaphore that is positive costs one C call.
  (multiple-value-bind (rc info) (sem-wait-once sem 0)
    (or (>= rc 0)
        (and (sem-wait-after-try sem rc info timeout) t))))

(defun semaphore-try-wait (sem)
  "SEMAPHORE-WAIT with a timeout of 0 (calls with a literal :TIMEOUT 0 are
compiled to this: wait.lisp)."
  (multiple-value-bind (rc info) (sem-wait-once sem 0)
    (or (>= rc 0)
        (and (sem-wait-after-try sem rc info 0) t))))

(define-timeout-shortcut semaphore-wait semaphore-wait-for semaphore-try-wait)

;;; Inline: what it adds to its C call (the handle check, the interrupt
;;; deferral, the out-value) is less than a full Lisp call costs, and with
;;; that call it was 1.4-1.5x a bare CFFI call of lipc_sem_value (issue 12:
;;; at most 1.3x); inline, 1.2x.  Code compiled against an older lipc keeps
;;; the older copy until it is compiled again, as with any inline function.
(declaim (inline semaphore-value))
(defun semaphore-value (sem)
  "A snapshot of SEM's current value."
  (let ((h (object-handle sem)))
    (declare (type (signed-byte 64) h))
    (with-out-value (value :int)
      (fast-check (%sem-value h value))
      (cffi:mem-ref value :int))))

(defun close-semaphore (sem)
  "Closes SEM; idempotent (T when this call closed it).  Later use signals
LIPC-CLOSED without reaching C."
  (close-handle sem))

(defun unlink-semaphore (name)
  "Removes the name NAME; handles already open keep working."
  (check-type name string)
  (check (%sem-unlink name))
  nil)

(defun call-with-semaphore (function name &rest options)
  "Calls FUNCTION with the semaphore opened by (apply #'open-semaphore name
options), closing it however FUNCTION exits."
  (let ((sem nil))
    (unwind-protect (progn (setf sem (apply #'open-semaphore name options))
                           (funcall function sem))
      ;; An unwind in the instant between open and setf leaves the object to
      ;; its finalizer: the backstop's job.
      (when sem (close-semaphore sem)))))

(defmacro with-semaphore ((var name &rest options) &body body)
  "Binds VAR to the semaphore (open-semaphore NAME . OPTIONS) around BODY."
  `(call-with-semaphore (lambda (,var) ,@body) ,name ,@options))
