;;;; wait.lisp - wait-fds, and the loop every blocking wait shares: LIPC_EINTR
;;;; is retried from Lisp with the remaining time (PEP 475 style), after the
;;;; deferred interrupt has run, so with-timeout, interrupt-thread and Ctrl-C
;;;; get their chance and may unwind, in Lisp, between two C calls.

(in-package #:lipc)

(defconstant +eintr+ -7)
(defconstant +etimedout+ -6)
(defconstant +eagain+ -9)

(defparameter *wait-slice-ms* 500
  "The longest single C wait.  An interrupt that arrives in the instant
between the pending check of INTERRUPTIBLE-CALL and the C call is deferred
with SBCL's deferrable signals blocked, so that C call cannot see it; a
bounded slice bounds that rare delay, and any other way a signal could fail
to cut a C wait short (an SA_RESTART handler with a library that does not
pass a deadline, as lipc_sem_wait once did).  A wake-up every 500 ms of a
thread that is waiting anyway costs nothing measurable.")

(defmacro fast-interruptible-call (form)
  "INTERRUPTIBLE-CALL through FAST-CALL-C (whose contract applies)."
  `(fast-call-c (if #+sbcl sb-sys:*interrupt-pending* #-sbcl nil
                    +eintr+
                    ,form)))

(defmacro interruptible-call (form)
  "CALL-C for a wait: when an interrupt is already pending (deferred since the
last call), do not start a C wait that could not see it; report EINTR so the
interrupt runs now."
  `(call-c (if #+sbcl sb-sys:*interrupt-pending* #-sbcl nil
               +eintr+
               ,form)))

(defun not-nan-p (x)
  "True unless X is a floating-point NaN (which TYPEP counts as a (REAL 0))."
  (not (and (floatp x) #+sbcl (sb-ext:float-nan-p x) #-sbcl (/= x x))))

(deftype timeout ()
  "Seconds to wait: NIL (forever) or a non-negative real that is not NaN.
Float infinity, and any time longer than the library ever waits
(+MAX-WAIT-SECONDS+), is forever too: no conversion overflows."
  '(or null (and (real 0) (satisfies not-nan-p))))

(defconstant +max-wait-seconds+ 2147483647
  "The longest time lipc waits: it caps every deadline at 2^31 - 1 seconds
(capi/wait_linux.c).  A longer timeout is forever; a longer grace time is this.")

(defconstant +max-wait-ms+ (* +max-wait-seconds+ 1000)
  "+MAX-WAIT-SECONDS+ in the C API's milliseconds.")

(declaim (inline monotonic-ns))
(defun monotonic-ns ()
  "CLOCK_MONOTONIC in nanoseconds, the clock lipc's deadlines use.  Not
get-internal-real-time: SBCL reads CLOCK_MONOTONIC_COARSE for it, which moves
in 4 ms steps and would end waits early or late by as much."
  #+sbcl (multiple-value-bind (sec nsec) (sb-unix::clock-gettime 1) ; CLOCK_MONOTONIC
           (+ (* sec 1000000000) nsec))
  #-sbcl (* (get-internal-real-time) (/ 1000000000 internal-time-units-per-second)))

(defmacro check-timeout (place)
  "CHECK-TYPE PLACE TIMEOUT, with NIL and non-negative integers (the common
cases) accepted without a call."
  `(unless (or (null ,place) (typep ,place '(integer 0)))
     (check-type ,place timeout)))

(defun deadline (timeout)
  "TIMEOUT seconds from now on MONOTONIC-NS; NIL for forever (NIL, float
infinity or longer than lipc ever waits).  A type-error for NaN, negative
or non-real timeouts."
  (check-type timeout timeout)
  (and timeout (< timeout +max-wait-seconds+)
       (+ (monotonic-ns) (ceiling (* timeout 1000000000)))))

(defun slice-ms (deadline)
  "Milliseconds for the next C wait: what remains (rounded up, so a short
positive remainder is never turned into a try) capped at *WAIT-SLICE-MS*."
  (if (null deadline)
      *wait-slice-ms*
      (let ((left (- deadline (monotonic-ns))))
        (if (<= left 0)
            0
            (min *wait-slice-ms* (ceiling left 1000000))))))

;;; Keyword arguments are parsed by the called function at every call: 1 ns
;;; of a try that costs 8 (issue 12).  The waits whose only keyword is
;;; :TIMEOUT (SEMAPHORE-WAIT, MUTEX-LOCK, EVENT-WAIT) each have a positional
;;; twin, and a compiler macro sends a call written with a literal :TIMEOUT
;;; (or none) to it; any other call (APPLY, FUNCALL, a keyword computed at
;;; run time, a repeated keyword) goes to the function itself.
;;; A literal :TIMEOUT 0, a try, goes to a one-argument twin (TRY) when
;;; there is one: no timeout to pass or check, 1 ns of a try (issue 12).
(defmacro define-timeout-shortcut (name positional &optional try)
  "Calls of NAME (object &key timeout) written (NAME object) or (NAME object
:timeout x) become (POSITIONAL object x), X being NIL when absent, and
(TRY object) when X is the literal 0 and TRY is given."
  `(define-compiler-macro ,name (&whole form object &rest keys)
     (cond ((null keys) (list ',positional object nil))
           ((and (= (length keys) 2) (eq (first keys) :timeout))
            (if (and ',try (eql (second keys) 0))
                (list ',try object)
                (list ',positional object (second keys))))
           (t form))))

(defun deadline-passed-p (deadline)
  (and deadline (>= (monotonic-ns) deadline)))

(defun wait-loop (timeout wait-once)
  "Calls WAIT-ONCE with a slice in milliseconds until it succeeds or the
TIMEOUT (seconds, NIL forever) passes.  WAIT-ONCE returns a code and the
error info of INTERRUPTIBLE-CALL.  Returns the non-negative code, or NIL on
timeout; other failures are signalled."
  (check-type timeout timeout)
  ;; A try (timeout 0) needs no deadline: no clock reading on that path.
  (let ((deadline (and timeout (not (zerop timeout)) (deadline timeout))))
    (loop
      (let ((ms (if (and timeout (zerop timeout)) 0 (slice-ms deadline))))
        (multiple-value-bind (rc info) (funcall wait-once ms)
          (cond ((>= rc 0) (return rc))
                ((= rc +eintr+))        ; the interrupt ran on return; go on
                ((or (= rc +etimedout+) (= rc +eagain+))
                 (when (or (zerop ms) (deadline-passed-p deadline))
                   (return nil)))
                (t (signal-error info))))))))

(defun try-then-wait (timeout wait-once)
  "WAIT-LOOP with a try first: an uncontended lock or a positive semaphore
costs one C call and no clock reading.  Returns the code, or NIL when the
object was not available in time.  A try answers LIPC_EAGAIN (or
LIPC_ETIMEDOUT, which WAIT-LOOP treats the same)."
  (multiple-value-bind (rc info) (funcall wait-once 0)
    (after-try rc info timeout wait-once)))

(defun after-try (rc info timeout wait-once)
  "The rest of TRY-THEN-WAIT, given the code RC and error INFO of the try:
for callers that make the try inline and call this only when it failed."
  (cond ((>= rc 0) rc)
          ((= rc +eintr+) (wait-loop timeout wait-once))
          ((not (or (= rc +eagain+) (= rc +etimedout+))) (signal-error info))
          ((and timeout (zerop timeout)) nil)
          (t (wait-loop timeout wait-once))))

(defconstant +wait-read+ 1)
(defconstant +wait-write+ 2)
(defconstant +wait-hup+ 4)
(defconstant +wait-err+ 8)

(defun events-mask (events)
  "EVENTS as LIPC_WAIT_* bits: :read, :write, a list of them, or an integer."
  (etypecase events
    (integer (check-type events (signed-byte 32)) events)
    (keyword (ecase events (:read +wait-read+) (:write +wait-write+)))
    (list (reduce #'logior events :key #'events-mask :initial-value 0))))

(defun mask-events (mask)
  (loop for (bit . key) in `((,+wait-read+ . :read) (,+wait-write+ . :write)
                             (,+wait-hup+ . :hup) (,+wait-err+ . :err))
        when (logtest bit mask) collect key))

(defun wait-fds (specs &key timeout)
  "Waits until a file descriptor of SPECS, a list of (fd . events), is ready
or TIMEOUT seconds pass (NIL waits forever).  events: :read, :write, a list
of them, or LIPC_WAIT_* bits.  Returns a list of (fd . revents) for the ready
descriptors, revents a list of :read :write :hup :err; NIL on timeout.  SPECS
may be empty: then it is a sleep that interrupts can cut short.  Sleeps in C
on this thread's stack; interrupts run between slices."
  (let ((n (length specs)))
    (cffi:with-foreign-objects ((fds :int (max n 1)) (events :int (max n 1))
                                (revents :int (max n 1)))
      (loop for (fd . ev) in specs for i from 0
            do (check-type fd (signed-byte 32))
               (setf (cffi:mem-aref fds :int i) fd
                     (cffi:mem-aref events :int i) (events-mask ev)
                     (cffi:mem-aref revents :int i) 0))
      (flet ((wait-once (ms)
               (interruptible-call (%wait-fds fds events revents n ms (cffi:null-pointer)))))
        (declare (dynamic-extent #'wait-once))
        (when (wait-loop timeout #'wait-once)
          (loop for (fd) in specs for i from 0
                for re = (cffi:mem-aref revents :int i)
                unless (zerop re) collect (cons fd (mask-events re))))))))
