;;;; sync-tests.lisp - mutexes and events across threads and processes, and
;;;; the helpers mem-tests.lisp shares: child processes in other languages
;;;; (a C program compiled here against include/lipc.h; python3 with the
;;;; Python binding), timing checks, a GC storm.

(in-package #:lipc-tests)

(def-suite :sync :in :lipc)
(in-suite :sync)

;;; ---- children in other languages

(defun repo-path (relative)
  (namestring (merge-pathnames relative (merge-pathnames "../../" (asdf:system-source-directory "lipc")))))

(defparameter *roles-source* "
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include \"lipc.h\"
static int fail(const char *what) { fprintf(stderr, \"%s: %s\\n\", what, lipc_last_error()); return 1; }
int main(int argc, char **argv) {
  lipc_handle_t h;
  void *p;
  int64_t n;
  if (argc != 3) return 2;
  if (!strcmp(argv[1], \"hold-mutex\")) {          /* lock, say L, wait to be killed */
    if (lipc_mutex_open(argv[2], 0, 0, &h) || lipc_mutex_lock(h, -1, NULL)) return fail(\"hold-mutex\");
  } else if (!strcmp(argv[1], \"hold-lock\")) {    /* exclusive lock of the whole file */
    if (lipc_flock_open(argv[2], 0, 0, &h) || lipc_flock_lock(h, 0, 0, 1, -1)) return fail(\"hold-lock\");
  } else if (!strcmp(argv[1], \"shm-writer\")) {   /* write, grow to 1 MiB, write at the end */
    if (lipc_shm_open(argv[2], 0, 0, 0, &h) || lipc_shm_addr(h, &p, &n)) return fail(\"shm-writer open\");
    strcpy(p, \"written by C\");
    if (lipc_shm_grow(h, 1 << 20) || lipc_shm_addr(h, &p, &n) || n != 1 << 20) return fail(\"shm-writer grow\");
    strcpy((char *)p + (1 << 20) - 16, \"end of grown\");
    printf(\"grown\\n\");
    return 0;
  } else {
    return 2;
  }
  printf(\"L\\n\");
  fflush(stdout);
  pause();
  return 0;
}
" "The C side of the cross-process tests: this program's ROLE NAME-OR-PATH.")

(defvar *roles-exe* nil "The compiled roles program, :none when it cannot be built.")

(defun roles-exe ()
  "The path of the compiled roles program, or NIL when cc cannot build it.
Built once into /tmp/lipc-lisp-tests-UID/ under a name that changes with the
source, the repository and lipc.h, and reused by later runs (a cache: a
compiled file per run would pile up, as the runner exits without cleanup)."
  (when (null *roles-exe*)
    (setf *roles-exe*
          (let* ((dir (format nil "/tmp/lipc-lisp-tests-~D/" (sb-posix:getuid)))
                 (key (sxhash (format nil "~A|~A|~A" *roles-source* (repo-path "")
                                      (file-write-date (repo-path "include/lipc.h")))))
                 (exe (format nil "~Aroles-~36R" dir key))
                 (tmp (format nil "~A.~D" exe (sb-posix:getpid)))
                 (src (concatenate 'string tmp ".c")))
            (cond ((probe-file exe) exe)
                  (t
                   (ensure-directories-exist dir)
                   (with-open-file (out src :direction :output :if-exists :supersede)
                     (write-string *roles-source* out))
                   (let ((p (ignore-errors
                             (sb-ext:run-program
                              "cc" (list "-O1" "-o" tmp src
                                         (concatenate 'string "-I" (repo-path "include"))
                                         (concatenate 'string "-L" (repo-path "build"))
                                         "-llipc"
                                         (concatenate 'string "-Wl,-rpath," (repo-path "build")))
                              :search t :output *error-output* :error *error-output*))))
                     (ignore-errors (delete-file src))
                     (cond ((and p (eql 0 (sb-ext:process-exit-code p)))
                            (sb-posix:rename tmp exe) ; atomic: parallel runs share it
                            exe)
                           (t (ignore-errors (delete-file tmp)) :none))))))))
  (and (stringp *roles-exe*) *roles-exe*))

(defvar *python-ok* :unknown)

(defun python-env ()
  (list* (format nil "PYTHONPATH=~A" (repo-path "bindings/python"))
         (format nil "LIPC_LIBRARY=~A" lipc:*library-path*)
         (remove-if (lambda (s) (or (eql 0 (search "PYTHONPATH=" s)) (eql 0 (search "LIPC_LIBRARY=" s))))
                    (sb-ext:posix-environ))))

(defun python-ok-p ()
  "Whether python3 can import the Python binding."
  (when (eq *python-ok* :unknown)
    (setf *python-ok*
          (let ((p (ignore-errors
                    (sb-ext:run-program "python3" '("-c" "import lipc") :search t
                                        :environment (python-env) :output nil :error nil))))
            (and p (eql 0 (sb-ext:process-exit-code p))))))
  *python-ok*)

(defun start-child (program args &key python input)
  "Starts PROGRAM with ARGS (stdout a pipe, stderr ours, stdin /dev/null or,
with INPUT :stream, a pipe)."
  (sb-ext:run-program program args :search t :wait nil :output :stream :error *error-output*
                                   :input input
                                   :environment (if python (python-env) (sb-ext:posix-environ))))

(defparameter *python-silent*
  "no line from the python3 child within 10 s: check that liblipc loads promptly into python3"
  "The reason shown when a Python child says nothing in time.")

(defun start-python (script &rest args)
  (start-child "python3" (list* "-c" script args) :python t))

(defun start-role (role arg)
  (start-child (roles-exe) (list role arg)))

(defun child-line (proc &optional (timeout 10))
  "The next line the child writes, or NIL when none comes in TIMEOUT seconds
or it closed its stdout."
  (let* ((out (sb-ext:process-output proc))
         (fd (sb-sys:fd-stream-fd out)))
    (and (wait-fds (list (cons fd :read)) :timeout timeout)
         (read-line out nil nil))))

(defun child-exit (proc &optional (timeout 10))
  "The child's exit code after waiting up to TIMEOUT seconds (:running if it
has not exited; it is killed then)."
  (loop repeat (ceiling timeout 0.01)
        while (sb-ext:process-alive-p proc) do (sleep 0.01))
  (if (sb-ext:process-alive-p proc)
      (progn (kill-child proc) :running)
      (sb-ext:process-exit-code proc)))

(defun kill-child (proc)
  "SIGKILL the child and reap it."
  (when (sb-ext:process-alive-p proc)
    (ignore-errors (sb-posix:kill (sb-ext:process-pid proc) sb-posix:sigkill))
    (sb-ext:process-wait proc))
  (sb-ext:process-close proc))

(defmacro with-child ((var form) &body body)
  "BODY with VAR a child process that is killed (if alive) and reaped after."
  `(let ((,var ,form))
     (unwind-protect (progn ,@body) (kill-child ,var))))

;;; ---- timing

(defparameter *late* 0.03
  "How late a timed-out wait may return on a noisy 2-core machine.")

(defun check-timeouts (what function &optional (timeouts '(0.02 0.1 0.25)))
  "FUNCTION of a timeout must return NIL after it, never early nor much late."
  (dolist (secs timeouts)
    (multiple-value-bind (result took) (timed (funcall function secs))
      (is (null result) "~A ~,3F s: got ~S" what secs result)
      (is (<= secs took (+ secs *late*)) "~A ~,3F s took ~,4F s" what secs took))))

;;; ---- a GC storm around a test

(defmacro with-gc-storm ((&key (threads 2)) &body body)
  "BODY while THREADS threads allocate hard (so GCs stop every thread again
and again); returns BODY's values and the number of GCs that happened."
  (let ((stop (gensym)) (gcs (gensym)) (hook (gensym)) (storm (gensym)))
    `(let* ((,stop (list nil))
            (,gcs (list 0))
            (,hook (lambda () (sb-ext:atomic-incf (car ,gcs))))
            (,storm nil))
       (push ,hook sb-ext:*after-gc-hooks*)
       (unwind-protect
            (progn
              (setf ,storm
                    (loop repeat ,threads
                          collect (spawn (lambda ()
                                           (let ((ring (make-array 32 :initial-element nil)) (i 0))
                                             (loop until (car ,stop)
                                                   do (setf (aref ring (mod i 32))
                                                            (make-array 40000 :initial-element i))
                                                      (incf i))))
                                         "gc storm")))
              (values (progn ,@body) (car ,gcs)))
         (setf (car ,stop) t)
         (mapc #'join ,storm)
         (setf sb-ext:*after-gc-hooks* (remove ,hook sb-ext:*after-gc-hooks*))))))

(defvar *in-catch* nil "Bound to T in a thread while a throw to OUT is caught.")

(defun interrupt-out (thread)
  "Makes THREAD throw to OUT (if it is inside the catch).  Once: an
interrupt that comes while the throw unwinds does nothing, so a storm of
them cannot nest throws (SBCL dies past 8 nested interrupts)."
  (sb-thread:interrupt-thread thread (lambda ()
                                       (when *in-catch*
                                         (setf *in-catch* nil)
                                         (throw 'out :thrown)))))

(defmacro catching-out (&body body)
  `(catch 'out (let ((*in-catch* t)) ,@body)))

;;; ---- mutexes

(test mutex-create-exclusive-existing-missing-unlink
  (let ((name (unique-name "mx")))
    (with-open-mutex (a name :create t :exclusive t :unlink-on-close t)
      (is (= +kind-mutex+ (handle-kind a)))
      (signals lipc-exists (open-mutex name :create t :exclusive t))
      (with-open-mutex (b name)
        (is (eq t (mutex-lock b)))
        (is (null (join (spawn (lambda () (mutex-lock a :timeout 0))))) "held through another handle")
        (mutex-unlock b))
      (is (search name (princ-to-string a))))
    (signals lipc-not-found (open-mutex name))
    (signals lipc-not-found (unlink-mutex name))
    (let ((m (open-mutex name :create t)))
      (unlink-mutex name)
      (signals lipc-not-found (open-mutex name))
      (is (eq t (mutex-lock m :timeout 0)) "an unlinked mutex keeps working")
      (mutex-unlock m)
      (close-mutex m))))

(test mutex-mode-is-what-was-asked
  (let ((name (unique-name "mode")))
    (with-open-mutex (m name :create t :mode #o640 :unlink-on-close t)
      (declare (ignore m))
      (is (= #o640 (logand #o777 (sb-posix:stat-mode
                                  (sb-posix:stat (format nil "/dev/shm/lipc.mutex.~A" name)))))))))

(test mutex-ownership-rules
  (with-open-mutex (m (unique-name "own") :create t :unlink-on-close t)
    (is (eq t (mutex-lock m)))
    ;; A try by the holder fails as any try on a held mutex (threading.Lock's
    ;; acquire(blocking=False) returns False); a wait signals at once.
    (is (null (mutex-lock m :timeout 0)) "try by the holder")
    (signals (lipc-busy "relock with a timeout") (mutex-lock m :timeout 1))
    (signals (lipc-busy "relock forever") (mutex-lock m))
    (is (eq t (mutex-locked-p m)) "locked by this thread")
    (is (eq t (join (spawn (lambda () (mutex-locked-p m))))) "seen from another thread")
    (is (null (join (spawn (lambda () (mutex-lock m :timeout 0))))) "try from another thread")
    (is (eq 'lipc-permission-denied
            (join (spawn (lambda () (handler-case (progn (mutex-unlock m) :unlocked)
                                      (lipc-error (e) (type-of e)))))))
        "unlock from another thread")
    (mutex-unlock m)
    (is (eq nil (mutex-locked-p m)) "not locked after the unlock")
    (signals (lipc-permission-denied "unlock twice") (mutex-unlock m))
    (signals (lipc-invalid-argument "consistent without an owner death")
      (progn (mutex-lock m) (mutex-consistent m)))
    (mutex-unlock m)))

(test mutex-excludes-threads
  (with-open-mutex (m (unique-name "cnt") :create t :unlink-on-close t)
    (let* ((counter 0)
           (threads (loop repeat 4
                          collect (spawn (lambda ()
                                           (dotimes (i 2000)
                                             (with-mutex (m)
                                               ;; a read, a pause, a write: lost
                                               ;; updates unless the mutex excludes
                                               (let ((c counter))
                                                 (when (zerop (mod i 500)) (sleep 0.001))
                                                 (setf counter (1+ c)))))
                                           :done)))))
      (is (equal '(:done :done :done :done) (mapcar (lambda (th) (join th 60)) threads)))
      (is (= 8000 counter)))))

(test mutex-owner-died-when-a-thread-exits-holding-it
  (with-open-mutex (m (unique-name "thd") :create t :unlink-on-close t)
    (join (spawn (lambda () (mutex-lock m))))   ; the thread exits holding it
    (let ((signalled 0))
      (multiple-value-bind (ok how)
          (handler-bind ((lipc-owner-died
                           (lambda (c)
                             (incf signalled)
                             (is (eq m (owner-died-mutex c)))
                             (is (search "died" (princ-to-string c)))
                             (invoke-restart 'mark-consistent))))
            (mutex-lock m :timeout 2))
        (is (eq t ok))
        (is (eq :owner-died how))
        (is (= 1 signalled)))
      (mutex-unlock m)
      (is (equal '(t) (multiple-value-list (mutex-lock m :timeout 1))) "repaired: a plain lock")
      (mutex-unlock m))
    ;; with-mutex reports it through its variable; unhandled, the signal is quiet
    (join (spawn (lambda () (mutex-lock m))))
    (is (eq :repaired (with-mutex (m :timeout 2 :owner-died died)
                        (when died (mutex-consistent m) :repaired))))
    (is (eq :plain (with-mutex (m :timeout 2 :owner-died died) (if died :died :plain))))))

(test mutex-not-made-consistent-becomes-unusable
  (let ((name (unique-name "unrec")))
    (with-open-mutex (m name :create t :unlink-on-close t)
      (join (spawn (lambda () (mutex-lock m))))
      (is (equal '(t :owner-died) (multiple-value-list (mutex-lock m :timeout 2))))
      (mutex-unlock m)                  ; without mutex-consistent
      (let ((c (handler-case (mutex-lock m :timeout 0.1) (lipc-error (e) e))))
        (is (typep c 'lipc-os-error))
        (is (= 131 (lipc-error-errno c)) "ENOTRECOVERABLE")
        (is (search "recoverable" (lipc-error-message c)))))
    (ignore-errors (unlink-mutex name))))

(defun lock-outcome (mutex timeout)
  "What MUTEX-LOCK did: (values ...) as a list, or the condition's class and errno."
  (handler-case (multiple-value-list (mutex-lock mutex :timeout timeout))
    (lipc-error (e) (list (type-of e) (lipc-error-errno e)))))

(test unrecoverable-mutex-is-unusable-for-everyone
  ;; glibc 2.36's robust trylock left the lock word with the first locker
  ;; after the mutex became unrecoverable; lipc gives it back, so everyone
  ;; sees ENOTRECOVERABLE and unlink-on-close works.  A regression test.
  (let ((name (unique-name "unrec2")))
    (unwind-protect
         (let ((m (open-mutex name :create t :unlink-on-close t)))
           (join (spawn (lambda () (mutex-lock m))))
           (mutex-lock m)
           (mutex-unlock m)             ; not made consistent: unusable from now on
           (is (equal '(lipc-os-error 131) (lock-outcome m 0.1)) "first lock")
           (is (equal '(lipc-os-error 131) (join (spawn (lambda () (lock-outcome m 0)))))
               "a try from another thread")
           (is (equal '(lipc-os-error 131) (join (spawn (lambda () (lock-outcome m 0.1)))))
               "a timed lock from another thread")
           (is (equal '(lipc-os-error 131) (lock-outcome m 0.1)) "the first locker again")
           (close-mutex m)
           (is (not (probe-file (format nil "/dev/shm/lipc.mutex.~A" name)))
               "unlinked on close"))
      (ignore-errors (unlink-mutex name)))))

(test unlink-on-close-also-when-closed-while-held
  ;; Closing a handle while this process holds the mutex keeps its memory
  ;; mapped (lipc.h) and still removes the name.  A regression test.
  (let ((name (unique-name "heldclose")))
    (unwind-protect
         (let ((m (open-mutex name :create t :unlink-on-close t)))
           (mutex-lock m)
           (close-mutex m)
           (is (not (probe-file (format nil "/dev/shm/lipc.mutex.~A" name)))
               "unlinked on close"))
      (ignore-errors (unlink-mutex name)))))

(test mutex-owner-died-when-a-holder-process-is-killed
  (if (not (roles-exe))
      (skip "cc cannot build the C roles program")
      (let ((name (unique-name "kill")))
        (with-open-mutex (m name :create t :exclusive t :unlink-on-close t)
          (with-child (holder (start-role "hold-mutex" name))
            (is (equal "L" (child-line holder)) "the C holder locked it")
            (is (null (mutex-lock m :timeout 0)) "held by the other process")
            (let* ((killed-at nil)
                   (killer (spawn (lambda ()
                                    (sleep 0.15)
                                    (setf killed-at (now))
                                    (sb-posix:kill (sb-ext:process-pid holder) sb-posix:sigkill)))))
              ;; already waiting when the kill comes
              (multiple-value-bind (ok how) (mutex-lock m :timeout 5)
                (let ((got-at (now)))
                  (join killer)
                  (is (eq t ok))
                  (is (eq :owner-died how))
                  (is (< (- got-at killed-at) 0.1) "owner death seen ~,1F ms after the kill"
                      (* 1000 (- got-at killed-at)))))
              (mutex-consistent m)
              (mutex-unlock m)
              (is (equal '(t) (multiple-value-list (mutex-lock m :timeout 1))))
              (mutex-unlock m)))))))

(test mutex-timeouts-are-neither-early-nor-late
  (with-open-mutex (m (unique-name "tmo") :create t :unlink-on-close t)
    (let* ((release (list nil))
           (holder (spawn (lambda ()
                            (with-mutex (m)
                              (loop until (car release) do (sleep 0.002)))))))
      (sleep 0.05)
      (check-timeouts "mutex-lock" (lambda (s) (mutex-lock m :timeout s)))
      (signals lipc-timeout (with-mutex (m :timeout 0.05) :body-ran))
      (setf (car release) t)
      (join holder)
      (is (eq :body-ran (with-mutex (m :timeout 1) :body-ran))))))

(test with-mutex-unlocks-on-any-exit
  (with-open-mutex (m (unique-name "wm") :create t :unlink-on-close t)
    (catch 'out (with-mutex (m) (throw 'out nil)))
    (is (join (spawn (lambda () (prog1 (mutex-lock m :timeout 0) (mutex-unlock m))))) "after a throw")
    (ignore-errors (with-mutex (m) (error "boom")))
    (is (join (spawn (lambda () (prog1 (mutex-lock m :timeout 0) (mutex-unlock m))))) "after an error")
    (is (equal '(1 2) (multiple-value-list (with-mutex (m) (values 1 2)))))))

(test with-mutex-never-leaks-the-lock-to-an-interrupt
  ;; Two threads lock and unlock in a loop while interrupts throw them out
  ;; at random instants: a lock taken but not noted would stay held by a
  ;; thread (its next with-mutex would signal LIPC-BUSY) or be seen as an
  ;; owner death once it exits.
  (with-open-mutex (m (unique-name "leak") :create t :unlink-on-close t)
    (let* ((stop (list nil))
           (errors (list 0))
           (counts (list 0))
           (workers (loop repeat 2
                          collect (spawn (lambda ()
                                           (loop until (car stop)
                                                 do (catching-out
                                                     (handler-case
                                                         (with-mutex (m :timeout 5)
                                                           (sb-ext:atomic-incf (car counts)))
                                                       (lipc-error () (sb-ext:atomic-incf (car errors)))))))))))
      (loop repeat 150
            do (dolist (w workers) (interrupt-out w) (sleep 0.002)))
      (setf (car stop) t)
      (mapc #'join workers)
      (is (= 0 (car errors)))
      (is (plusp (car counts)))
      (is (equal '(t) (multiple-value-list (mutex-lock m :timeout 1))) "free, no owner death")
      (mutex-unlock m))))

(test close-a-mutex-another-thread-waits-on
  (let* ((m (open-mutex (unique-name "mxc") :create t :unlink-on-close t))
         (th (progn (mutex-lock m)
                    (spawn (lambda () (handler-case (mutex-lock m :timeout 20)
                                        (lipc-error (c) (type-of c))))))))
    (sleep 0.2)
    ;; closed while this thread holds it: lipc keeps it locked and mapped
    (close-mutex m)
    (multiple-value-bind (result secs) (timed (join th 10))
      (is (member result '(lipc-closed lipc-bad-handle)))
      (is (< secs 3)))
    (ignore-errors (unlink-mutex (mutex-name m)))))

;;; ---- events

(defun wake-count (manual)
  "5 threads wait up to 0.8 s; the event is set once (and, manual-reset,
reset at once): how many woke?"
  (with-event (e (unique-name "wake") :create t :manual-reset manual :unlink-on-close t)
    (let ((waiters (loop repeat 5 collect (spawn (lambda () (event-wait e :timeout 0.8))))))
      (sleep 0.2)
      (event-set e)
      (when manual (event-reset e))
      (count t (mapcar #'join waiters)))))

(test event-wake-counts
  (is (= 5 (wake-count t)) "manual-reset: every waiter")
  (is (= 1 (wake-count nil)) "auto-reset: exactly one"))

(test event-states
  (let ((name (unique-name "ev")))
    (with-event (e name :create t :exclusive t :manual-reset t :initially-set t :unlink-on-close t)
      (is (= +kind-event+ (handle-kind e)))
      (signals lipc-exists (open-event name :create t :exclusive t))
      (with-event (e2 name :manual-reset nil :initially-set nil) ; opening keeps what it was made with
        (is (eq t (event-set-p e2)) "initially set, seen by the opener")
        (is (eq t (event-wait e2 :timeout 0)))
        (is (eq t (event-wait e2 :timeout 0)) "manual-reset stays set")
        (event-reset e)
        (is (eq nil (event-set-p e2)))
        (is (eq nil (event-wait e2 :timeout 0)) "reset seen")))
    (signals lipc-not-found (open-event name)))
  (with-event (a (unique-name "auto") :create t :unlink-on-close t)
    (is (eq nil (event-set-p a)))
    (event-set a)
    (event-set a)                       ; sets do not count
    (is (eq t (event-set-p a)))
    (is (eq t (event-wait a :timeout 0)))
    (is (eq nil (event-set-p a)) "auto-reset: cleared by the wait that got it")
    (is (eq nil (event-wait a :timeout 0)))
    (let ((waiter (spawn (lambda () (event-wait a :timeout 5)))))
      (sleep 0.1)
      (event-set a)
      (is (eq t (join waiter))))))

(test event-unlink
  (let ((name (unique-name "evu")))
    (with-event (e name :create t)
      (unlink-event name)
      (signals lipc-not-found (open-event name))
      (event-set e)
      (is (eq t (event-wait e :timeout 0)) "an unlinked event keeps working"))
    (signals lipc-not-found (unlink-event name))))

(test event-timeouts-are-neither-early-nor-late
  (with-event (e (unique-name "etmo") :create t :unlink-on-close t)
    (check-timeouts "event-wait" (lambda (s) (event-wait e :timeout s)))))

(test close-an-event-another-thread-waits-on
  (let* ((e (open-event (unique-name "evc") :create t :unlink-on-close t))
         (th (spawn (lambda () (handler-case (event-wait e :timeout 20)
                                 (lipc-error (c) (type-of c)))))))
    (sleep 0.2)
    (close-event e)
    (multiple-value-bind (result secs) (timed (join th 10))
      (is (member result '(lipc-closed lipc-bad-handle)))
      (is (< secs 3)))))

;;; ---- bad input

(test sync-bad-input
  (dolist (bad (list "" "a/b" "bad name" ".x" "é"))
    (signals lipc-invalid-argument (open-mutex bad :create t))
    (signals lipc-invalid-argument (open-event bad :create t))
    (signals lipc-invalid-argument (unlink-mutex bad))
    (signals lipc-invalid-argument (unlink-event bad)))
  (signals lipc-name-too-long (open-mutex (make-string 201 :initial-element #\m) :create t))
  (signals lipc-name-too-long (open-event (make-string 201 :initial-element #\e) :create t))
  (signals (lipc-invalid-argument "exclusive without create") (open-mutex (unique-name "x") :exclusive t))
  (signals lipc-not-found (open-mutex (unique-name "missing")))
  (signals lipc-not-found (unlink-event (unique-name "missing")))
  (signals type-error (open-mutex 'symbol :create t))
  (signals type-error (open-event (unique-name "m") :create t :mode -1))
  ;; a file under an event's name that is not an event
  (let* ((name (unique-name "notev"))
         (path (format nil "/dev/shm/lipc.event.~A" name)))
    (with-open-file (out path :direction :output :element-type '(unsigned-byte 8))
      (write-sequence (make-array 64 :element-type '(unsigned-byte 8) :initial-element 7) out))
    (unwind-protect
         (let ((c (handler-case (open-event name) (lipc-error (e) e))))
           (is (typep c 'lipc-invalid-argument))
           (is (plusp (length (lipc-error-message c)))))
      (delete-file path)))
  ;; closed objects fail in Lisp; wrong-kind handles are bad handles in C
  (let ((m (open-mutex (unique-name "closed") :create t :unlink-on-close t))
        (e (open-event (unique-name "closed") :create t :unlink-on-close t)))
    (with-semaphore (s (unique-name "kind") :create t :unlink-on-close t)
      (signals lipc-bad-handle (lipc::check (lipc::%mutex-lock (object-handle s) 0 (cffi:null-pointer))))
      (signals lipc-bad-handle (lipc::check (lipc::%event-set (object-handle m))))
      (signals lipc-bad-handle (lipc::check (lipc::%sem-post (object-handle e)))))
    (signals type-error (mutex-lock m :timeout -1))
    (signals type-error (event-wait e :timeout :soon))
    (is (eq t (close-mutex m)))
    (is (eq nil (close-mutex m)))
    (is (eq t (close-event e)))
    (dolist (f (list #'mutex-lock #'mutex-unlock #'mutex-consistent))
      (signals lipc-closed (funcall f m)))
    (signals lipc-closed (with-mutex (m) :ran))
    (dolist (f (list #'event-set #'event-reset #'event-wait #'event-set-p))
      (signals lipc-closed (funcall f e)))
    (is (search "(closed)" (princ-to-string m)))))

;;; ---- semaphores with another language

(defparameter *py-create-and-post* "
import sys, time, lipc
s = lipc.Semaphore(sys.argv[1], create=True, exclusive=True, initial=0)
print('created', flush=True)
time.sleep(0.1)
for i in range(3):
    s.release()
s.close()
")

(test semaphore-created-in-python-waited-on-in-lisp
  (if (not (python-ok-p))
      (skip "python3 cannot import the Python binding")
      (let ((name (unique-name "py")))
        (unwind-protect
             (with-child (py (start-python *py-create-and-post* name))
               (is (equal "created" (child-line py)) *python-silent*)
               (with-semaphore (s name)
                 (is (eq t (semaphore-wait s :timeout 10)))
                 (is (eq t (semaphore-wait s :timeout 10)))
                 (is (eq t (semaphore-wait s :timeout 10)))
                 (is (eq nil (semaphore-wait s :timeout 0))))
               (is (eql 0 (child-exit py))))
          (ignore-errors (unlink-semaphore name))))))

(defparameter *py-wait-and-answer* "
import sys, lipc
ping = lipc.Semaphore(sys.argv[1])
pong = lipc.Semaphore(sys.argv[2])
print('waiting', flush=True)
for i in range(3):
    if not ping.acquire(timeout=10):
        sys.exit(3)
    pong.release()
")

(test semaphore-created-in-lisp-waited-on-in-python
  (if (not (python-ok-p))
      (skip "python3 cannot import the Python binding")
      (with-semaphore (ping (unique-name "ping") :create t :unlink-on-close t)
        (with-semaphore (pong (unique-name "pong") :create t :unlink-on-close t)
          (with-child (py (start-python *py-wait-and-answer* (semaphore-name ping)
                                        (semaphore-name pong)))
            (is (equal "waiting" (child-line py)) *python-silent*)
            (dotimes (i 3)
              (semaphore-post ping)
              (is (eq t (semaphore-wait pong :timeout 10)) "answer ~D" i))
            (is (eql 0 (child-exit py)))
            (is (= 0 (semaphore-value ping))))))))

;;; ---- waits during a GC storm, cut short by interrupts

(defun blocked-waiters (m e lock-b)
  "Three threads blocked in a mutex, an event and a file lock wait: each
returns :thrown when an interrupt throws it out, :timeout when a
with-timeout of 0.3 s ends it (WITH-TIMEOUT true), else what the wait returned."
  (list (spawn (lambda () (catching-out (mutex-lock m))) "mutex waiter")
        (spawn (lambda () (catching-out (event-wait e))) "event waiter")
        (spawn (lambda () (catching-out (file-lock-acquire lock-b))) "flock waiter")))

(defun timeout-waiters (m e lock-b)
  (flet ((with-timeout (fn)
           (lambda () (handler-case (sb-ext:with-timeout 0.3 (funcall fn))
                        (sb-ext:timeout () :timeout)))))
    (list (spawn (with-timeout (lambda () (with-mutex (m) :locked))) "mutex waiter")
          (spawn (with-timeout (lambda () (event-wait e))) "event waiter")
          (spawn (with-timeout (lambda () (with-file-lock (lock-b) :locked))) "flock waiter"))))

(test waits-during-a-gc-storm-are-cut-short-by-interrupts
  (let ((path (format nil "/tmp/lipc-lisp-storm-~D" (sb-posix:getpid))))
    (with-open-file (out path :direction :output :if-exists :supersede) (write-line "x" out))
    (unwind-protect
         (with-open-mutex (m (unique-name "storm") :create t :unlink-on-close t)
           (with-event (e (unique-name "storm") :create t :manual-reset t :unlink-on-close t)
             (with-open-file-lock (lock-a path)
               (with-open-file-lock (lock-b path)
                 (mutex-lock m)
                 (file-lock-acquire lock-a)
                 (multiple-value-bind (ok gcs)
                     (with-gc-storm ()
                       ;; interrupt-thread throwing out of forever waits
                       (let ((waiters (blocked-waiters m e lock-b)))
                         (sleep 0.4)
                         (multiple-value-bind (results secs)
                             (timed (mapc #'interrupt-out waiters)
                                    (mapcar (lambda (th) (join th 10)) waiters))
                           (is (equal '(:thrown :thrown :thrown) results))
                           (is (< secs 1.5) "interrupted after ~,3F s" secs)))
                       ;; with-timeout around the waits
                       (multiple-value-bind (results secs)
                           (timed (mapcar (lambda (th) (join th 10)) (timeout-waiters m e lock-b)))
                         (is (equal '(:timeout :timeout :timeout) results))
                         (is (< secs 1.8) "with-timeout 0.3 took ~,3F s" secs))
                       :done)
                   (is (eq :done ok))
                   (is (plusp gcs) "~D GCs during the waits" gcs))
                 ;; everything still works
                 (mutex-unlock m)
                 (is (eq t (join (spawn (lambda () (prog1 (mutex-lock m :timeout 1) (mutex-unlock m)))))))
                 (event-set e)
                 (is (eq t (join (spawn (lambda () (event-wait e :timeout 1))))))
                 (file-lock-release lock-a)
                 (is (eq t (file-lock-acquire lock-b :timeout 1)))
                 (file-lock-release lock-b)))))
      (delete-file path))))
