;;;; event.lisp - named events shared between processes.
;;;;
;;;;   (open-event name &key create exclusive manual-reset initially-set mode
;;;;                         unlink-on-close)           -> event
;;;;   (event-set event), (event-reset event)           -> NIL
;;;;   (event-wait event &key timeout)                  -> T | NIL (timed out)
;;;;   (event-set-p event)                              -> a snapshot, T or NIL
;;;;   (close-event event), (unlink-event name), (event-name event)
;;;;   (with-event (var name &rest open-options) &body body)
;;;;
;;;; Manual-reset (MANUAL-RESET true): EVENT-SET wakes every waiter and the
;;;; event stays set until EVENT-RESET.  Auto-reset (the default, like a
;;;; Win32 auto-reset event): EVENT-SET lets exactly one waiter through, now
;;;; or the next to come, and the event is clear again after it.  The kind
;;;; and the initial state apply when this call creates the event; an
;;;; existing event keeps what it was made with.
;;;;
;;;; Set, reset and the snapshot run in C.  EVENT-WAIT sleeps in C in slices
;;;; of at most 0.5 s (wait.lisp), so interrupts run during it; a waiter of a
;;;; manual-reset event gets a set that is reset at once only while it is in
;;;; a slice, so a set + reset pulse that falls exactly between two slices of
;;;; a long wait can be missed: keep the event set until the waiters have
;;;; seen it, or use auto-reset or a semaphore for hand-offs.

(in-package #:lipc)

(export '(event event-name open-event event-set event-reset event-wait
          event-set-p close-event unlink-event with-event call-with-event
          +kind-event+)
        '#:lipc)

(defconstant +kind-event+ 5 "LIPC_KIND_EVENT")

(defclass event (handle-object)
  ((name :initarg :name :reader event-name))
  (:documentation "An open named event.  Close it with CLOSE-EVENT or use
WITH-EVENT; a finalizer closes forgotten ones after GC."))

(defmethod object-label ((event event))
  (format nil "event ~S" (event-name event)))

(defmethod print-object ((event event) stream)
  (print-unreadable-object (event stream :type t :identity t)
    (format stream "~S~:[ (closed)~;~]" (event-name event) (handle-open-p event))))

(defun open-event (name &key create exclusive manual-reset initially-set (mode #o600)
                          unlink-on-close trust-foreign)
  "Opens the event NAME, creating it when CREATE is true and it is missing:
manual-reset when MANUAL-RESET is true (else auto-reset), set when
INITIALLY-SET is true, with permission bits MODE.  EXCLUSIVE (with CREATE):
LIPC-EXISTS if it exists.  UNLINK-ON-CLOSE: remove the name when this handle
closes, if it created it.  Missing: LIPC-NOT-FOUND; a file under the name
that is not an event: LIPC-INVALID-ARGUMENT.  TRUST-FOREIGN: as for
OPEN-SEMAPHORE (another user's event)."
  (check-type name string)
  (check-type mode (unsigned-byte 32))
  (open-handle (h) (%event-open name (open-flags create exclusive unlink-on-close trust-foreign) mode
                                (if manual-reset 1 0) (if initially-set 1 0) h)
    'event :name name))

;;; Inline, as SEMAPHORE-VALUE (sem.lisp): with a full call it was 1.26-1.30
;;; times a bare CFFI call of lipc_event_set, inline 1.21-1.23 (issue 12: at
;;; most 1.3).
(declaim (inline event-set))
(defun event-set (event)
  "Sets EVENT: wakes every waiter (manual-reset); auto-reset: releases
exactly one blocked waiter, or with none leaves it set for the next wait."
  (let ((h (object-handle event)))
    (declare (type (signed-byte 64) h))
    (fast-check (%event-set h)))
  nil)

(defun event-reset (event)
  "Clears EVENT."
  (check (%event-reset (object-handle event)))
  nil)

(declaim (inline event-wait-once))
(defun event-wait-once (event ms)
  "One lipc_event_wait of at most MS on EVENT: code and error info (the
handle looked up for every slice)."
  (declare (type (signed-byte 64) ms))
  (let ((h (object-handle event)))
    (declare (type (signed-byte 64) h))
    (fast-interruptible-call (%event-wait h ms))))

(defun event-wait-after-try (event rc info timeout)
  "EVENT-WAIT once its try (code RC, error INFO) did not succeed; out of
line, as SEM-WAIT-AFTER-TRY."
  (flet ((wait-once (ms) (event-wait-once event ms)))
    (declare (dynamic-extent #'wait-once))
    (after-try rc info timeout #'wait-once)))

(defun event-wait (event &key timeout)
  "Waits up to TIMEOUT seconds (NIL: forever, 0: try once) for EVENT to be
set; an auto-reset event is cleared by the wait that gets it.  Returns T, or
NIL when it was not set in time.  Interrupts run between slices of the wait
and may unwind it; closing EVENT from another thread ends it with
LIPC-CLOSED within a slice."
  (event-wait-for event timeout))

(defun event-wait-for (event timeout)
  "EVENT-WAIT with the timeout as a positional argument (calls with a
literal :TIMEOUT are compiled to this: wait.lisp)."
  (check-timeout timeout)
  ;; A try first, inline: an event that is set costs one C call.
  (multiple-value-bind (rc info) (event-wait-once event 0)
    (or (>= rc 0)
        (and (event-wait-after-try event rc info timeout) t))))

(defun event-try-wait (event)
  "EVENT-WAIT with a timeout of 0 (calls with a literal :TIMEOUT 0 are
compiled to this: wait.lisp)."
  (multiple-value-bind (rc info) (event-wait-once event 0)
    (or (>= rc 0)
        (and (event-wait-after-try event rc info 0) t))))

(define-timeout-shortcut event-wait event-wait-for event-try-wait)

(defun event-set-p (event)
  "T if EVENT is set now (a snapshot: other processes may change it)."
  (let ((h (object-handle event)))
    (cffi:with-foreign-object (is-set :int)
      (check (%event-is-set h is-set))
      (= 1 (cffi:mem-ref is-set :int)))))

(defun close-event (event)
  "Closes EVENT; idempotent (T when this call closed it)."
  (close-handle event))

(defun unlink-event (name)
  "Removes the name NAME; handles already open keep working."
  (check-type name string)
  (check (%event-unlink name))
  nil)

(defun call-with-event (function name &rest options)
  "Calls FUNCTION with the event (apply #'open-event name options), closing
it however FUNCTION exits."
  (let ((event nil))
    (unwind-protect (progn (setf event (apply #'open-event name options))
                           (funcall function event))
      (when event (close-event event)))))

(defmacro with-event ((var name &rest options) &body body)
  "Binds VAR to the event (open-event NAME . OPTIONS) around BODY."
  `(call-with-event (lambda (,var) ,@body) ,name ,@options))
