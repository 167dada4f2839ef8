;;;; mutex.lisp - named, robust, process-shared mutexes.
;;;;
;;;;   (open-mutex name &key create exclusive mode unlink-on-close) -> mutex
;;;;   (mutex-lock mutex &key timeout)  -> T | (values T :owner-died) | NIL
;;;;   (mutex-unlock mutex)             -> NIL
;;;;   (mutex-consistent mutex)         -> NIL
;;;;   (mutex-locked-p mutex)           -> T | NIL  (held by any thread now?)
;;;;   (with-mutex (mutex &key timeout owner-died) &body body)
;;;;   (with-open-mutex (var name &rest open-options) &body body)
;;;;   (close-mutex mutex), (unlink-mutex name), (mutex-name mutex)
;;;;
;;;; Ownership belongs to the locking THREAD (an SBCL thread is a pthread):
;;;; only it may unlock (another thread gets LIPC-PERMISSION-DENIED).  It is
;;;; not recursive: a try (TIMEOUT 0) by the holder returns NIL like any try
;;;; on a held mutex, and a lock that would wait signals LIPC-BUSY at once
;;;; (waiting for oneself would deadlock).  Timeouts are seconds (NIL:
;;;; forever; 0: try once) as everywhere in this binding; waits sleep in C
;;;; in slices, so interrupt-thread, with-timeout and Ctrl-C run and may
;;;; unwind during them (wait.lisp).
;;;;
;;;; Owner death.  When the previous holder (a thread or a whole process)
;;;; died holding the mutex, the lock still SUCCEEDS: it is held, and the
;;;; state it protects may be half-updated.  MUTEX-LOCK then
;;;;   1. SIGNALs (never ERRORs) LIPC-OWNER-DIED, with the lock held and a
;;;;      restart MARK-CONSISTENT that calls MUTEX-CONSISTENT and goes on:
;;;;      a handler repairs the state and invokes it.  Unhandled, the signal
;;;;      does nothing;
;;;;   2. returns (values T :owner-died).
;;;; Until MUTEX-CONSISTENT is called, the next unlock leaves the mutex
;;;; unusable for everyone (lock signals LIPC-OS-ERROR, errno
;;;; ENOTRECOVERABLE) until it is unlinked and created again.  A handler that
;;;; unwinds out of a plain MUTEX-LOCK leaves the mutex LOCKED by this thread;
;;;; WITH-MUTEX unlocks it.
;;;;
;;;; WITH-MUTEX is the safe form: the lock, and the note that it is held,
;;;; happen in one interrupt-deferred step, so an interrupt that unwinds
;;;; (with-timeout, interrupt-thread, Ctrl-C) at any instant never leaves
;;;; the mutex locked; the unlock runs with interrupts deferred.  It signals
;;;; LIPC-TIMEOUT when TIMEOUT passes without the lock (the body does not
;;;; run), and binds the variable given as :OWNER-DIED to T when the previous
;;;; owner died (the body may repair and call MUTEX-CONSISTENT).
;;;;
;;;; Closing a handle while this thread holds the mutex leaves it locked
;;;; (until the thread exits; the next locker then sees the owner died).

(in-package #:lipc)

(export '(mutex mutex-name open-mutex mutex-lock mutex-unlock mutex-consistent mutex-locked-p
          close-mutex unlink-mutex with-mutex call-with-mutex with-open-mutex
          call-with-open-mutex lipc-owner-died owner-died-mutex mark-consistent
          +kind-mutex+)
        '#:lipc)

(defconstant +kind-mutex+ 4 "LIPC_KIND_MUTEX")

;;; ---- helpers shared by the named objects and the lock forms of this
;;; ---- module and the ones after it (event, shm, mmap, flock)

(defun open-flags (create exclusive unlink-on-close &optional trust-foreign)
  "LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE | LIPC_TRUST_FOREIGN from
booleans."
  (logior (if create +create+ 0) (if exclusive +excl+ 0)
          (if unlink-on-close +unlink-on-close+ 0) (if trust-foreign +trust-foreign+ 0)))

(defun lisp-error (code format-control &rest args)
  "Signals the LIPC-ERROR subclass of CODE for a mistake found in Lisp,
without calling C (so this thread's lipc_last_error stays as it was)."
  (error (make-lipc-error code (apply #'format nil format-control args) 0
                          (cdr (assoc code *code-names*)))))

(defmacro with-lisp-interrupts (&body body)
  "Inside WITHOUT-LISP-INTERRUPTS: BODY with interrupts enabled again (as
they were outside), running any that are pending now."
  #+sbcl `(sb-sys:with-local-interrupts ,@body)
  #-sbcl `(progn ,@body))

;;; Inline, so that its callers' ACQUIRE, RELEASE and ON-TIMEOUT lambdas
;;; are local functions, not closures made on the heap at every call.
(declaim (inline call-holding))
(defun call-holding (acquire release function on-timeout)
  "The shape of WITH-MUTEX and WITH-FILE-LOCK.  ACQUIRE, a function of a
cell (a cons), takes the lock and sets the cell's car to true in the same
interrupt-deferred scope as the C call that took it, so that no interrupt
can come between the two; it returns what FUNCTION receives, or NIL when
the time ran out.  Then FUNCTION runs (or ON-TIMEOUT, when the lock was not
taken), and RELEASE runs with interrupts deferred whenever the cell says the
lock is held, however the rest exits.  Interrupts run during the wait and
FUNCTION as usual."
  (let ((cell (list nil)))
    (declare (dynamic-extent cell))
    (without-lisp-interrupts
      (unwind-protect
           (with-lisp-interrupts
             (let ((how (funcall acquire cell)))
               (if (car cell)
                   (funcall function how)
                   (funcall on-timeout))))
        (when (car cell)
          (funcall release))))))

(defun timeout-error (what timeout)
  (lisp-error -6 "~A: not acquired within ~,3F s" what timeout))

;;; ---- mutexes

(define-condition lipc-owner-died (condition)
  ((mutex :initarg :mutex :reader owner-died-mutex))
  (:report (lambda (c s)
             (format s "The previous owner of ~A died holding it; this thread ~
                        holds it now.  Repair the state it protects, then call ~
                        MUTEX-CONSISTENT (restart MARK-CONSISTENT)."
                     (object-label (owner-died-mutex c)))))
  (:documentation "Signalled (with SIGNAL, not ERROR) by MUTEX-LOCK when the
lock succeeded but the previous owner had died holding the mutex.  Restart:
MARK-CONSISTENT."))

(defclass mutex (handle-object)
  ((name :initarg :name :reader mutex-name))
  (:documentation "An open named mutex.  Close it with CLOSE-MUTEX or use
WITH-OPEN-MUTEX; a finalizer closes forgotten ones after GC."))

(defmethod object-label ((mutex mutex))
  (format nil "mutex ~S" (mutex-name mutex)))

(defmethod print-object ((mutex mutex) stream)
  (print-unreadable-object (mutex stream :type t :identity t)
    (format stream "~S~:[ (closed)~;~]" (mutex-name mutex) (handle-open-p mutex))))

(defun open-mutex (name &key create exclusive (mode #o600) unlink-on-close trust-foreign)
  "Opens the mutex NAME (the name rule of semaphores), creating it with
permission bits MODE when CREATE is true and it is missing.  EXCLUSIVE (with
CREATE): LIPC-EXISTS if it exists.  UNLINK-ON-CLOSE: remove the name when
this handle closes, if this handle created it.  Missing: LIPC-NOT-FOUND.
TRUST-FOREIGN: as for OPEN-SEMAPHORE (another user's mutex)."
  (check-type name string)
  (check-type mode (unsigned-byte 32))
  (open-handle (h) (%mutex-open name (open-flags create exclusive unlink-on-close trust-foreign)
                                mode h)
    'mutex :name name))

(declaim (inline mutex-lock-once))
(defun mutex-lock-once (mutex ms died cell)
  "One lipc_mutex_lock of at most MS on MUTEX, the owner-died flag to the
pointer DIED: code and error info.  CELL, when a cons, gets T in its car in
the same interrupt-deferred scope as the C call that took the lock.  The
handle is looked up for every slice: a mutex closed by another thread ends
the wait with LIPC-CLOSED."
  (declare (type (signed-byte 64) ms))
  (let ((h (object-handle mutex)))
    (declare (type (signed-byte 64) h))
    (if cell
        (without-lisp-interrupts
          (multiple-value-bind (rc info)
              (interruptible-call (%mutex-lock h ms died))
            (when (>= rc 0)
              (setf (car cell) t))
            (values rc info)))
        (fast-interruptible-call (%mutex-lock h ms died)))))

(defun mutex-lock-after-try (mutex rc info timeout died cell)
  "LOCK-MUTEX once its try (code RC, error INFO) did not succeed.  Out of
line: the closure it passes to AFTER-TRY would cost the try its time."
  (flet ((wait-once (ms) (mutex-lock-once mutex ms died cell)))
    (declare (dynamic-extent #'wait-once))
    (after-try rc info timeout #'wait-once)))

(defun owner-died (mutex)
  "LOCK-MUTEX's answer when the previous owner died holding MUTEX."
  (restart-case (signal 'lipc-owner-died :mutex mutex)
    (mark-consistent ()
      :report "Mark the state the mutex protects as repaired."
      (mutex-consistent mutex)))
  (values t :owner-died))

;;; Inline, so that MUTEX-LOCK (no CELL) has no branch on it.
(declaim (inline lock-mutex))
(defun lock-mutex (mutex timeout cell)
  "MUTEX-LOCK; CELL, when a cons, gets T in its car in the same
interrupt-deferred scope as the C call that took the lock."
  (check-timeout timeout)
  (let ((died
          (with-out-value (died :int)
            ;; A try first, inline: an uncontended lock costs one C call.
            (multiple-value-bind (rc info) (mutex-lock-once mutex 0 died cell)
              (and (or (>= rc 0) (mutex-lock-after-try mutex rc info timeout died cell))
                   (cffi:mem-ref died :int))))))
    (cond ((null died) nil)
          ((zerop died) t)
          (t (owner-died mutex)))))

(defun mutex-lock (mutex &key timeout)
  "Locks MUTEX, waiting up to TIMEOUT seconds (NIL: forever, 0: try once).
Returns T; (values T :owner-died) when the previous owner died holding it
(after signalling LIPC-OWNER-DIED: see the top of mutex.lisp); NIL when it
was not free in time (a try by the holder too).  LIPC-BUSY: a lock that
would wait, by the thread that holds it.
LIPC-OS-ERROR (errno ENOTRECOVERABLE): an owner died and nobody marked it
consistent.  Prefer WITH-MUTEX, which cannot leak the lock on an unwind."
  (lock-mutex mutex timeout nil))

(defun mutex-lock-for (mutex timeout)
  "MUTEX-LOCK with the timeout as a positional argument (calls with a
literal :TIMEOUT are compiled to this: wait.lisp)."
  (lock-mutex mutex timeout nil))

(defun mutex-try-lock (mutex)
  "MUTEX-LOCK with a timeout of 0 (calls with a literal :TIMEOUT 0 are
compiled to this: wait.lisp)."
  (lock-mutex mutex 0 nil))

(define-timeout-shortcut mutex-lock mutex-lock-for mutex-try-lock)

;;; Inline, as SEMAPHORE-VALUE (sem.lisp): a full call was a fifth of the
;;; binding's cost over bare CFFI for a lock and unlock pair (issue 12).
(declaim (inline mutex-unlock))
(defun mutex-unlock (mutex)
  "Unlocks MUTEX.  LIPC-PERMISSION-DENIED when this thread does not hold it."
  (let ((h (object-handle mutex)))
    (declare (type (signed-byte 64) h))
    (fast-check (%mutex-unlock h)))
  nil)

(defun mutex-locked-p (mutex)
  "Whether some thread, of any process, holds MUTEX now (a snapshot; a
mutex whose owner died holding it reads as free: the next lock gets it)."
  (cffi:with-foreign-object (locked :int)
    (check (%mutex-locked (object-handle mutex) locked))
    (/= 0 (cffi:mem-ref locked :int))))

(defun mutex-consistent (mutex)
  "After a lock that reported the owner died: marks the protected state as
repaired.  LIPC-INVALID-ARGUMENT when this thread does not hold it after an
owner died."
  (check (%mutex-consistent (object-handle mutex)))
  nil)

(defun close-mutex (mutex)
  "Closes MUTEX; idempotent (T when this call closed it)."
  (close-handle mutex))

(defun unlink-mutex (name)
  "Removes the name NAME; handles already open keep working."
  (check-type name string)
  (check (%mutex-unlink name))
  nil)

(defun call-with-mutex (function mutex &key timeout)
  "Calls FUNCTION with one argument, T when the previous owner died (else
NIL), with MUTEX locked; unlocks however FUNCTION exits.  Signals
LIPC-TIMEOUT when TIMEOUT (seconds) passes first."
  (call-holding (lambda (cell) (nth-value 1 (lock-mutex mutex timeout cell)))
                (lambda () (mutex-unlock mutex))
                (lambda (how) (funcall function (eq how :owner-died)))
                (lambda () (timeout-error (object-label mutex) timeout))))

(defmacro with-mutex ((mutex &key timeout owner-died) &body body)
  "Runs BODY with MUTEX locked, unlocking it however BODY exits.  TIMEOUT:
seconds (NIL forever); LIPC-TIMEOUT when it passes first (BODY does not
run).  OWNER-DIED: a variable bound around BODY to T when the previous owner
died holding the mutex (LIPC-OWNER-DIED was signalled too).  Returns BODY's
values."
  (let ((died (or owner-died (gensym "OWNER-DIED")))
        (fn (gensym "WITH-MUTEX-BODY")))
    ;; CALL-WITH-MUTEX keeps no reference to the body's function: it can live
    ;; on the stack.
    `(flet ((,fn (,died)
              ,@(unless owner-died `((declare (ignore ,died))))
              ,@body))
       (declare (dynamic-extent #',fn))
       (call-with-mutex #',fn ,mutex :timeout ,timeout))))

(defun call-with-open-mutex (function name &rest options)
  "Calls FUNCTION with the mutex (apply #'open-mutex name options), closing
it however FUNCTION exits."
  (let ((mutex nil))
    (unwind-protect (progn (setf mutex (apply #'open-mutex name options))
                           (funcall function mutex))
      (when mutex (close-mutex mutex)))))

(defmacro with-open-mutex ((var name &rest options) &body body)
  "Binds VAR to the mutex (open-mutex NAME . OPTIONS) around BODY; closes it
after.  (Locking is WITH-MUTEX.)"
  `(call-with-open-mutex (lambda (,var) ,@body) ,name ,@options))
