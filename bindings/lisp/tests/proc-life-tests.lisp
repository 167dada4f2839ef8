;;;; proc-life-tests.lisp - the end of a process's life: the :on-close :stop
;;;; policy acting at CLOSE-PROCESS even while another thread waits on the
;;;; process, finished processes holding no fd (their status and figures
;;;; are kept, their pidfd closed), and communicate's cap across calls.
;;;; Uses proc-tests.lisp's helpers.

(in-package #:lipc-tests)

(def-suite :proc-life :in :lipc)
(in-suite :proc-life)

(defun proc-count-pidfds ()
  "The pidfds this process holds.  Only those: the Go runtime inside lipc
opens an epoll fd and an eventfd of its own the first time it needs a timer
(its garbage collector may, at any moment), which would make a count of all
fds flaky."
  (loop for name in (proc-dir-entries "/proc/self/fd")
        count (equal "anon_inode:[pidfd]"
                     (ignore-errors (sb-posix:readlink (format nil "/proc/self/fd/~A" name))))))

(defun proc-waiting-thread (process timeout)
  "A thread in PROCESS-WAIT with one C wait for the whole TIMEOUT (no
slices: a slice ending would hide whether the close acted at once).  Its
result: (code signal seconds) or (:error condition seconds)."
  (sb-thread:make-thread
   (lambda ()
     (let ((t0 (now))
           (lipc::*wait-slice-ms* 60000))
       (handler-case (multiple-value-bind (code sig) (process-wait process :timeout timeout)
                       (list code sig (- (now) t0)))
         (error (e) (list :error e (- (now) t0))))))
   :name "proc-life waiter"))

(test proc-close-stops-while-another-thread-waits
  (let* ((p (spawn-process '("sleep" "30") :on-close :stop :grace 10))
         (pid (process-pid p))
         (waiter (proc-waiting-thread p 8)))
    (sleep 0.3)                         ; the waiter is in its C wait
    (close-process p)
    (destructuring-bind (code sig secs) (sb-thread:join-thread waiter)
      (is (and (eql code -1) (eql sig 15)) "the wait saw the SIGTERMed child: ~S ~S" code sig)
      (is (< secs 6) "SIGTERM came at close, not at the child's end: ~,1F s" secs))
    (is (proc-wait-until (lambda () (null (proc-stat pid))) 3) "reaped")))

(test proc-close-kills-after-the-grace-while-another-thread-waits
  (let* ((p (spawn-process *term-ignoring-child* :on-close :stop :grace 0.3 :output :pipe))
         (pid (process-pid p)))
    (proc-await-ready p)
    (let ((waiter (proc-waiting-thread p 8)))
      (sleep 0.3)
      (let ((t0 (now)))
        (close-process p)
        (destructuring-bind (code sig secs) (sb-thread:join-thread waiter)
          (declare (ignore secs))
          (is (and (eql code -1) (eql sig 9)) "SIGKILL after the grace: ~S ~S" code sig)
          (is (>= (- (now) t0) 0.29)))))
    (is (proc-wait-until (lambda () (null (proc-stat pid))) 3) "reaped")))

(test proc-finished-processes-hold-no-pidfds
  (let* ((before (proc-count-pidfds))
         (procs (loop repeat 1000
                      collect (let ((p (spawn-process '("/bin/true"))))
                                (process-wait p :timeout 10)
                                p))))
    (is (= before (proc-count-pidfds)) "1000 finished processes hold ~D pidfds"
        (- (proc-count-pidfds) before))
    (let ((p (first procs)))
      (is (equal '(0 0) (multiple-value-list (process-wait p :timeout 0))))
      (is (eql 0 (process-info p :exit-code)))
      (is (< 0 (process-info p :maxrss-kb)) "figures kept")
      (is (null (process-info p :pidfd)) "no pidfd once reaped")
      (is (null (process-kill p :term)) "kill: it has exited")
      (is (eq :exited (process-wait-state p :timeout 0 :stopped t)))
      (is (equal (list p) (wait-any (list p) :timeout 1))))
    (mapc #'close-process procs)
    (is (= before (proc-count-pidfds)))))

(test proc-a-pidfd-asked-for-stays-until-close
  (let* ((p (spawn-process '("/bin/true")))
         (fd (process-info p :pidfd)))
    (is (integerp fd))
    (process-wait p :timeout 10)
    (is (eql fd (process-info p :pidfd)) "the same pidfd after the reap")
    (is (proc-fd-open-p fd))
    (close-process p)
    (is (not (proc-fd-open-p fd)) "closed with the process")))

(test proc-communicate-smaller-cap-after-a-timeout
  ;; a later call with a smaller :max-output than an earlier (timed-out)
  ;; call collected: past the cap, and no more than the cap comes back
  (proc-with-child (p "head -c 3000 /dev/zero; exec sleep 30" :output :pipe)
    (let ((got 0) (end (+ (now) 10)))
      (loop while (and (< got 3000) (< (now) end))
            do (handler-case (process-communicate p :timeout 0.1 :output-type :octets)
                 (communicate-timeout (c) (setf got (length (partial-output c))))))
      (is (= 3000 got)))
    (process-kill p :kill)
    (let ((c (handler-case (progn (process-communicate p :timeout 5 :max-output 1000 :output-type :octets) nil)
               (output-limit-exceeded (e) e))))
      (is (typep c 'output-limit-exceeded))
      (is (and c (= 1000 (length (partial-output c))))))))
