;;;; host-tests.lisp - the host-safety rules (host-runtimes.md) as seen from
;;;; SBCL: FP traps (F6), SIGURG given back (F5), no Lisp thread in Go (F17),
;;;; Ctrl-C and with-timeout through waits (F8), fork (F7).  Each fails if its
;;;; rule is broken.  The long multi-threaded version is soak/gc-storm.lisp.

(in-package #:lipc-tests)

(def-suite :host :in :lipc)
(in-suite :host)

(defun traps ()
  (getf (sb-int:get-floating-point-modes) :traps))

(test fp-selftest-keeps-lisp-traps
  (is (subsetp '(:overflow :invalid :divide-by-zero) (traps)))
  (is (= 1 (diag :fp-selftest)) "1.0/0.0 and 0.0/0.0 inside Go, main thread")
  (is (= 1 (join (spawn (lambda () (diag :fp-selftest))))) "and from a worker thread")
  (is (subsetp '(:overflow :invalid :divide-by-zero) (traps)) "Lisp's traps untouched"))

(defun run-script (name)
  "Runs soak/NAME in a fresh sbcl; returns its exit code (a signal death is
not 0) and its output."
  (let* ((script (asdf:system-relative-pathname "lipc" (format nil "soak/~A" name)))
         (out (make-string-output-stream))
         (proc (sb-ext:run-program "sbcl" (list "--script" (namestring script))
                                   :search t :output out :error out)))
    (values (if (eq :exited (sb-ext:process-status proc))
                (sb-ext:process-exit-code proc)
                (- (sb-ext:process-exit-code proc)))
            (get-output-stream-string out))))

(test loading-lipc-leaves-sbcl-signal-handlers-alone
  ;; The Go runtime takes SIGFPE and adds SA_ONSTACK to SBCL's SIGTRAP,
  ;; SIGILL, SIGUSR2, SIGCHLD, SIGINT, ... handlers when it starts; lipc gives
  ;; them all back (capi/host_linux.c).  If it did not, SBCL would run Lisp code on
  ;; the alternate signal stack and a GC would die with "no SP known for
  ;; thread" (soak/run-soak.sh failed 4 runs of 5).  Deterministic here.
  (multiple-value-bind (code output) (run-script "signals.lisp")
    (is (eql 0 code) "soak/signals.lisp exited with ~D:~%~A" code output)))

(test lisp-float-trap-after-load-leaves-the-image-alive
  ;; Were Go's own SIGFPE handler left in place, it would forward Lisp
  ;; threads' SIGFPE to SBCL's with every signal blocked; SBCL unwinds out of
  ;; that handler (the DIVISION-BY-ZERO is handled in Lisp), so the thread
  ;; would keep all signals blocked and its next trap, GC or interrupt would
  ;; kill the image.  lipc gives SIGFPE back.  Run in a child, since a
  ;; regression kills the process.
  (multiple-value-bind (code output) (run-script "fp-trap.lisp")
    (is (eql 0 code) "soak/fp-trap.lisp exited with ~D:~%~A" code output)))

(test pipe-writes-while-children-exit-leave-the-image-alive
  ;; A SIGCHLD that SBCL deferred during a pipe write must stay blocked until
  ;; the call is back in Lisp; unblocked by lipc, the next one killed the
  ;; image.  Run in a child, since a regression kills the process.
  (multiple-value-bind (code output) (run-script "sigchld-writes.lisp")
    (is (eql 0 code) "soak/sigchld-writes.lisp exited with ~D:~%~A" code output)))

(test runtime-fds-name-the-poller
  "The fds a daemon must spare are the Go runtime's poller (lipc.h)."
  (let* ((fds (lipc:runtime-fds))
         (links (mapcar (lambda (fd) (sb-posix:readlink (format nil "/proc/self/fd/~D" fd))) fds)))
    (is (every (lambda (fd) (and (integerp fd) (> fd 2))) fds))
    (is (= 1 (count "anon_inode:[eventpoll]" links :test #'string=)))
    (is (= 1 (count "anon_inode:[eventfd]" links :test #'string=)))
    ;; and the reaper's pidfds, if an earlier test left a child running
    (is (every (lambda (l) (or (search "anon_inode:[event" l) (search "cgroup" l) (search "pidfd" l))) links))))

(test go-work-runs-on-lipc-threads
  (is (eq :handoff (call-mode)))
  (is (= 1 (diag :go-thread)) "main thread")
  (is (= 1 (diag :go-signals-blocked)) "no async signal reaches a Go thread")
  (is (= 1 (join (spawn (lambda () (diag :go-thread))))) "worker thread"))

(test with-timeout-and-interrupt-thread-still-work
  ;; SBCL's interrupt-thread (and so with-timeout) rides on SIGURG, which the
  ;; Go runtime takes at load; lipc must have given it back.
  (multiple-value-bind (result secs)
      (timed (handler-case (sb-ext:with-timeout 0.5 (sleep 5) :slept)
               (sb-ext:timeout () :timeout)))
    (is (eq :timeout result))
    (is (< secs 2.5)))
  (let* ((flag nil) (th (spawn (lambda () (sleep 3) :slept))))
    (sleep 0.1)
    (sb-thread:interrupt-thread th (lambda () (setf flag t) (sb-thread:abort-thread)))
    (multiple-value-bind (result secs) (timed (join th 5))
      (is (eq :join-failed result) "the thread was aborted, not left to finish")
      (is (< secs 2)))
    (is (eq t flag))))

(test with-timeout-interrupts-a-semaphore-wait
  (with-semaphore (s (unique-name "wt") :create t :unlink-on-close t)
    (let ((live (live-handles)))
      (multiple-value-bind (result secs)
          (timed (handler-case (sb-ext:with-timeout 0.3 (semaphore-wait s))
                   (sb-ext:timeout () :timeout)))
        (is (eq :timeout result))
        (is (< secs 2.5)))
      ;; the abandoned wait left nothing behind: the sem works, no handle leaked
      (semaphore-post s)
      (is (eq t (semaphore-wait s :timeout 1)))
      (is (= live (live-handles))))))

(test ctrl-c-interrupts-a-wait-on-the-main-thread
  (if (not (eq sb-thread:*current-thread* (sb-thread:main-thread)))
      (skip "SIGINT is delivered to the main thread; the suite runs elsewhere")
      (with-semaphore (s (unique-name "int") :create t :unlink-on-close t)
        (let ((killer (spawn (lambda () (sleep 0.2) (sb-posix:kill (sb-posix:getpid) sb-posix:sigint)))))
          (multiple-value-bind (result secs)
              (timed (handler-case (semaphore-wait s :timeout 10)
                       (sb-sys:interactive-interrupt () :interrupted)))
            (is (eq :interrupted result))
            (is (< secs 3)))
          (join killer)))))

(test forked-child-uses-inherited-objects-and-gets-lipc-forked-for-the-rest
  ;; In the child of a fork what runs in C on inherited objects works (a
  ;; semaphore here); what needs lipc's Go runtime signals LIPC-FORKED at once.
  (let* ((sem (open-semaphore (unique-name "fork") :create t :unlink-on-close t))
         (pid (handler-case (sb-posix:fork) (error () nil))))
    (unwind-protect
         (cond ((null pid) (skip "sb-posix:fork refused (other threads running)"))
               ((zerop pid)
                ;; child: exit 42 only when both hold
                (sb-ext:exit
                 :abort t
                 :code (handler-case
                           (progn
                             (semaphore-post sem 2)
                             (unless (and (semaphore-wait sem :timeout 1) (= 1 (semaphore-value sem)))
                               (sb-ext:exit :abort t :code 3))
                             (handler-case (progn (diag :fp-selftest) 1)
                               (lipc-forked () 42)))
                         (serious-condition () 2))))
               (t (multiple-value-bind (p status) (sb-posix:waitpid pid 0)
                    (declare (ignore p))
                    (is (sb-posix:wifexited status))
                    (is (= 42 (sb-posix:wexitstatus status)))
                    (is (= 1 (semaphore-value sem)) "the child's post reached the parent"))))
      (close-semaphore sem))))

(test sem-wait-forever-returns-eintr-to-sbcl-handlers
  ;; The C contract the binding's EINTR loop relies on: a wait without a
  ;; timeout returns LIPC_EINTR when a host handler runs, although SBCL
  ;; installs its handlers with SA_RESTART (a plain sem_wait() would be
  ;; restarted by the kernel and never return; fixed in capi/api_sem_linux.c).
  (with-semaphore (s (unique-name "forever") :create t :unlink-on-close t)
    (let* ((h (object-handle s))
           (th (spawn (lambda () (lipc::call-c (lipc::%sem-wait h -1))))))
      (sleep 0.2)
      (sb-thread:interrupt-thread th (lambda () nil))
      (let ((rc (join th 1.5)))
        (when (eq rc :join-failed)       ; release the stuck thread
          (semaphore-post s)
          (join th 5))
        (is (eql -7 rc) "lipc_sem_wait(h, -1) should return LIPC_EINTR, got ~S" rc)))))
