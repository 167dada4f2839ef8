;;;; gc-storm.lisp - host-runtimes.md F3/F16/F17 from SBCL: a Lisp thread
;;;; must never run Go code.  For LIPC_SOAK_SECONDS (default 5):
;;;;   3 threads allocate hard, so hundreds of GCs stop every thread;
;;;;   3 threads call every kind of lipc function (semaphores, mutexes,
;;;;     events, diag FP_SELFTEST and GO_THREAD that run Go code on lipc's
;;;;     threads, version, wait-fds, bad handles, errors) and block in lipc
;;;;     waits (a mutex another thread holds all run long, an unset event);
;;;;   1 thread runs /bin/true children, so SIGCHLD arrives throughout;
;;;;   1 thread blocks in a semaphore wait that with-timeout must cut short;
;;;;   1 thread fires interrupt-thread at the lipc callers: mostly a
;;;;     counter, sometimes a throw out of whatever they are doing.
;;;; The callers outlive the interrupts: they stop only after the interruptor
;;;; has stopped and every interrupt it sent has run, so an interrupt can
;;;; never race a caller's exit, and one that never runs is a failure.
;;;; Exits 0 and prints the counts when every count is positive, every
;;;; interrupt sent ran, no thread failed or hung and no handle leaked.
;;;; With LIPC_SOAK_VERIFY=1, SBCL checks the whole heap after every GC
;;;; (its runtime's verify_gens) and stops with "Verify failed" at the first
;;;; old object that points at a young one behind an unmarked card: heap
;;;; damage found when it is made, not later when a stale pointer is used.
;;;; One run; soak/run-soak.sh repeats.
;;;;
;;;;   sbcl --script soak/gc-storm.lisp

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))

(when (equal (sb-posix:getenv "LIPC_SOAK_VERIFY") "1")
  (setf (sb-alien:extern-alien "verify_gens" sb-alien:char) 0))

(defpackage #:lipc-soak (:use #:cl))
(in-package #:lipc-soak)

;;; A run that verifies the heap after every GC is slow: its GCs can stop
;;; every thread for seconds.
(defparameter *verify* (equal (sb-posix:getenv "LIPC_SOAK_VERIFY") "1"))

(defparameter *seconds*
  (let ((env (sb-posix:getenv "LIPC_SOAK_SECONDS")))
    (if env (parse-integer env) 5)))

;;; Counters: one word each, bumped with atomic-incf from any thread.
(defparameter *counter-names*
  '(:gcs :lipc-calls :fp-selftests :sync-waits :children :interrupts-sent :interrupts
    :throws :timeouts :allocations))
(defvar *counts* (make-array (length *counter-names*) :element-type 'sb-ext:word
                                                      :initial-element 0))
(defmacro bump (name &optional (n 1))
  `(sb-ext:atomic-incf (aref *counts* ,(position name *counter-names*)) ,n))
(defun count-of (name) (aref *counts* (position name *counter-names*)))

(defvar *stop* nil
  "Set last: every thread but the interruptor loops until it is true.")
(defvar *stop-interrupting* nil
  "Set first: the interruptor loops until it is true.")
(defvar *failures* '())
(defvar *failures-lock* (sb-thread:make-mutex))
(defun fail (fmt &rest args)
  (sb-thread:with-mutex (*failures-lock*)
    (push (apply #'format nil fmt args) *failures*)))

(defmacro thread-body (name &body body)
  "Runs BODY until *stop*; any error fails the run instead of dying quietly."
  `(lambda ()
     (handler-case (progn ,@body)
       (serious-condition (e) (fail "~A: ~A" ,name e)))))

(defvar *names* (list 0))
(defun unique-name (tag)
  (format nil "lipc-soak-~D-~D-~A" (sb-posix:getpid) (sb-ext:atomic-incf (car *names*)) tag))

;;; ---- allocators: short-lived garbage plus a ring of survivors, so GCs
;;; are frequent and not trivial.
(defun allocator ()
  (let ((ring (make-array 64 :initial-element nil)) (i 0))
    (loop until *stop*
          do (setf (aref ring (mod i 64))
                   (if (evenp i)
                       (make-list 20000 :initial-element i)
                       (make-array 50000 :initial-element i)))
             (incf i)
             (bump :allocations))))

;;; ---- lipc callers
(defvar *in-iteration* nil
  "Bound to T in a caller thread while a throw to SOAK-THROW is caught.")

(defmacro call (form)
  `(prog1 ,form (bump :lipc-calls)))

(defmacro expect-error (class form)
  `(handler-case (progn ,form (fail "~S did not signal ~S" ',form ',class))
     (,class () (bump :lipc-calls))))

(defun semaphore-round ()
  (lipc:with-semaphore (s (unique-name "s") :create t :exclusive t :unlink-on-close t)
    (bump :lipc-calls)
    (call (lipc:semaphore-post s))
    (call (lipc:semaphore-post s))
    (unless (= 2 (call (lipc:semaphore-value s))) (fail "value is not 2"))
    (unless (call (lipc:semaphore-wait s :timeout 0)) (fail "try failed"))
    (unless (call (lipc:semaphore-wait s :timeout 0.5)) (fail "timed wait failed"))
    (when (call (lipc:semaphore-wait s :timeout 0)) (fail "try on 0 succeeded"))
    ;; a real blocking wait that times out: the throws land here mostly
    (when (call (lipc:semaphore-wait s :timeout 0.02)) (fail "empty wait succeeded"))
    (unless (= lipc:+kind-sem+ (call (lipc:handle-kind s))) (fail "kind"))
    (let ((h (lipc:object-handle s)))
      (expect-error lipc:lipc-bad-handle (lipc:handle-kind (logxor h (ash 3 20))))))
  (expect-error lipc:lipc-not-found (lipc:open-semaphore (unique-name "missing")))
  (expect-error lipc:lipc-not-found (lipc:unlink-semaphore (unique-name "missing")))
  (expect-error lipc:lipc-invalid-argument (lipc:open-semaphore "bad name!" :create t)))

;;; A mutex that one thread holds for the whole run: the callers' timed
;;; locks of it are real blocking waits in C (futex), cut short by timeouts
;;; and by the interrupts.
(defvar *held-mutex* nil)

(defun sync-round ()
  (lipc:with-open-mutex (m (unique-name "m") :create t :exclusive t :unlink-on-close t)
    (bump :lipc-calls)
    (unless (eq :in (lipc:with-mutex (m :timeout 1) :in)) (fail "with-mutex"))
    (bump :lipc-calls)
    (expect-error lipc:lipc-bad-handle
                  (lipc::check (lipc::%mutex-unlock (logxor (lipc:object-handle m) (ash 1 20))))))
  (when (call (lipc:mutex-lock *held-mutex* :timeout 0.01)) (fail "locked a held mutex"))
  (bump :sync-waits)
  (lipc:with-event (e (unique-name "e") :create t :exclusive t :unlink-on-close t)
    (bump :lipc-calls)
    (when (call (lipc:event-wait e :timeout 0.01)) (fail "unset event waited"))
    (bump :sync-waits)
    (call (lipc:event-set e))
    (unless (call (lipc:event-set-p e)) (fail "event not set"))
    (unless (call (lipc:event-wait e :timeout 0)) (fail "set event not seen"))
    (when (call (lipc:event-set-p e)) (fail "auto-reset event still set"))))

(defun go-round ()
  (dotimes (i 3)
    (unless (= 1 (call (lipc:diag :fp-selftest))) (fail "FP_SELFTEST")))
  (unless (= 1 (call (lipc:diag :go-thread))) (fail "GO_THREAD: Go ran on a Lisp thread"))
  (bump :fp-selftests 3)
  (unless (string= "0.1.0" (call (lipc:version))) (fail "version"))
  (unless (eq :handoff (call (lipc:call-mode))) (fail "call mode"))
  (call (lipc:live-handles))
  (call (lipc:error-name -3))
  (expect-error lipc:lipc-bad-handle (lipc:handle-kind 12345))
  (expect-error lipc:lipc-bad-handle (lipc:handle-kind (+ (expt 2 52) (random (expt 2 52))))))

(defun wait-round (r w)
  (when (call (lipc:wait-fds (list (cons r :read)) :timeout 0.005)) (fail "empty pipe readable"))
  (cffi:with-foreign-string ((p n) "x" :null-terminated-p nil) (sb-posix:write w p n))
  (unless (call (lipc:wait-fds (list (cons r :read)) :timeout 1)) (fail "pipe not readable"))
  (cffi:with-foreign-pointer (buf 1) (sb-posix:read r buf 1))
  (when (call (lipc:wait-fds '() :timeout 0.002)) (fail "sleep returned fds")))

(defun caller ()
  (multiple-value-bind (r w) (sb-posix:pipe)
    (unwind-protect
         (loop until *stop*
               do (when (eq :thrown (catch 'soak-throw
                                      (let ((*in-iteration* t))
                                        (semaphore-round)
                                        (sync-round)
                                        (go-round)
                                        (wait-round r w))))
                    (bump :throws)
                    ;; the throw may have left a byte in the pipe
                    (loop while (lipc:wait-fds (list (cons r :read)) :timeout 0)
                          do (cffi:with-foreign-pointer (buf 1) (sb-posix:read r buf 1)))))
      (sb-posix:close r)
      (sb-posix:close w))))

;;; ---- children: SIGCHLD throughout
(defun spawner ()
  (loop until *stop*
        do (let ((p (sb-ext:run-program "/bin/true" '() :wait t)))
             (unless (eql 0 (sb-ext:process-exit-code p)) (fail "/bin/true failed"))
             (bump :children))))

;;; ---- with-timeout around a wait that only the timeout can end
(defun timeout-waiter ()
  (lipc:with-semaphore (s (unique-name "t") :create t :unlink-on-close t)
    (loop until *stop*
          do (let ((t0 (get-internal-real-time)))
               (handler-case (sb-ext:with-timeout 0.05
                               (when (lipc:semaphore-wait s) (fail "nobody posted")))
                 (sb-ext:timeout () (bump :timeouts)))
               (let ((bound (if *verify* 10 3)))
                 (when (> (- (get-internal-real-time) t0) (* bound internal-time-units-per-second))
                   (fail "with-timeout 0.05 took more than ~D s" bound)))))))

;;; ---- the interruptor
(defun interrupt-callers (callers)
  "Interrupts CALLERS in turn until *STOP-INTERRUPTING*.  Every interrupt
bumps :interrupts when it runs; every tenth then throws out of the caller's
iteration.  A caller lives until *STOP*, which is set only after this
returns, so an interrupt that finds its target gone means the caller died
early: a failure, and that caller gets no more interrupts."
  (loop for i from 0
        until (or *stop-interrupting* (null callers))
        do (let ((th (nth (mod i (length callers)) callers)))
             (handler-case
                 (progn
                   (sb-thread:interrupt-thread
                    th (if (zerop (mod i 10))
                           (lambda ()
                             (bump :interrupts)
                             (when *in-iteration* (throw 'soak-throw :thrown)))
                           (lambda () (bump :interrupts))))
                   (bump :interrupts-sent))
               (sb-thread:interrupt-thread-error ()
                 (fail "~A ended while it was still being interrupted"
                       (sb-thread:thread-name th))
                 (setf callers (remove th callers)))))
           (sleep 0.005)))

(defun await-interrupts ()
  "Waits (at most 20 s; the callers' lipc calls all end within 1 s) until
every interrupt sent has run.  Call once the interruptor has finished."
  (loop repeat 400
        until (>= (count-of :interrupts) (count-of :interrupts-sent))
        do (sleep 0.05))
  (let ((sent (count-of :interrupts-sent)) (ran (count-of :interrupts)))
    (unless (= sent ran)
      (fail "~D interrupts sent but ~D ran" sent ran))))

;;; ---- the main thread: the run, then the verdict

(defun join-all (threads)
  (dolist (th threads)
    (when (eq :hung (sb-thread:join-thread th :default :hung :timeout 20))
      (fail "thread ~A hung" (sb-thread:thread-name th)))))

(defun settle-handles (baseline)
  "Live handles back to BASELINE?  Objects left open by a throw between open
and with-semaphore's unwind-protect are closed by their finalizers."
  (loop repeat 50 until (<= (lipc:live-handles) baseline)
        do (sb-ext:gc :full t) (sleep 0.05))
  (unless (<= (lipc:live-handles) baseline)
    (fail "~D handles leaked" (- (lipc:live-handles) baseline))))

(defun hold-mutex (release)
  "Holds *HELD-MUTEX* (and says so: (cadr RELEASE) true) until (car RELEASE)."
  (lipc:with-mutex (*held-mutex*)
    (setf (cadr release) t)
    (loop until (car release) do (sleep 0.01))))

(defun main ()
  (setf *held-mutex* (lipc:open-mutex (unique-name "held") :create t :unlink-on-close t))
  (let ((baseline (lipc:live-handles))
        (release (list nil nil)))
    ;; A small nursery: hundreds of GCs a run instead of dozens.
    (setf (sb-ext:bytes-consed-between-gcs) (* 4 1024 1024))
    (push (lambda () (bump :gcs)) sb-ext:*after-gc-hooks*)
    (let* ((holder (sb-thread:make-thread (lambda () (hold-mutex release)) :name "holder"))
           (make (progn
                   ;; held before any caller tries it
                   (loop repeat 5000 until (cadr release) do (sleep 0.001))
                   (lambda (name fn) (sb-thread:make-thread (thread-body name (funcall fn)) :name name))))
           (allocators (loop for i below 3 collect (funcall make (format nil "alloc-~D" i) #'allocator)))
           (callers (loop for i below 3 collect (funcall make (format nil "lipc-~D" i) #'caller)))
           (others (list (funcall make "spawner" #'spawner)
                         (funcall make "with-timeout" #'timeout-waiter)))
           (deadline (+ (get-internal-real-time) (* *seconds* internal-time-units-per-second))))
      (let ((interruptor (sb-thread:make-thread
                          (thread-body "interruptor" (interrupt-callers callers))
                          :name "interruptor")))
        ;; Past the deadline, on until every counter has moved (at most 30 s
        ;; more): a run that verifies the heap after every GC does a few
        ;; dozen GCs and a dozen interrupts in its seconds, and only every
        ;; tenth interrupt throws, so one such run in a few had thrown
        ;; nothing by then and failed 'no throws happened'.
        (let ((last-chance (+ deadline (* 30 internal-time-units-per-second))))
          (loop while (let ((now (get-internal-real-time)))
                        (or (< now deadline)
                            (and (< now last-chance)
                                 (notevery (lambda (name) (plusp (count-of name))) *counter-names*))))
                do (sleep 0.05)))
        ;; The callers keep running (and taking interrupts) until the last
        ;; interrupt sent has run.
        (setf *stop-interrupting* t)
        (join-all (list interruptor))
        (await-interrupts)
        (setf *stop* t)
        (join-all (append allocators callers others))
        (setf (car release) t)
        (join-all (list holder))))
    (settle-handles baseline)
    (format t "~{~(~A~) ~D~^, ~}~%"
            (loop for name in *counter-names* collect name collect (count-of name)))
    (dolist (name *counter-names*)
      (unless (plusp (count-of name)) (fail "no ~(~A~) happened" name)))
    (dolist (f (reverse *failures*)) (format t "FAIL: ~A~%" f))
    (finish-output)
    (sb-ext:exit :code (if *failures* 1 0) :abort t)))

(main)
