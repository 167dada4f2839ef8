;;;; sem-tests.lisp - named semaphores.

(in-package #:lipc-tests)

(def-suite :sem :in :lipc)
(in-suite :sem)

(test create-exclusive-existing-missing
  (let ((name (unique-name "cx")))
    (with-semaphore (a name :create t :exclusive t :initial 1 :unlink-on-close t)
      (signals lipc-exists (open-semaphore name :create t :exclusive t))
      (with-semaphore (b name)               ; open the existing one
        (semaphore-post b)
        (is (= 2 (semaphore-value a))))
      (with-semaphore (c name :create t :initial 9) ; create ignored: it exists
        (is (= 2 (semaphore-value c)))))
    (signals lipc-not-found (open-semaphore name))))

(test restarts-for-missing-and-existing
  (let ((name (unique-name "rs")))
    (let ((sem (handler-bind ((lipc-not-found
                                (lambda (c)
                                  (invoke-restart (find-restart 'create-semaphore c)))))
                 (open-semaphore name :initial 3 :unlink-on-close t))))
      (unwind-protect
           (progn
             (is (= 3 (semaphore-value sem)))
             (signals lipc-exists (open-semaphore name :create t :exclusive t)))
        (close-semaphore sem)))
    (let ((name (unique-name "rs2")))
      (with-semaphore (a name :create t :initial 5 :unlink-on-close t)
        (declare (ignore a))
        (let ((b (handler-bind ((lipc-exists (lambda (c)
                                               (invoke-restart (find-restart 'use-existing c)))))
                   (open-semaphore name :create t :exclusive t))))
          (is (= 5 (semaphore-value b)))
          (close-semaphore b))))))

(test post-wait-try-timeout-value
  (with-semaphore (s (unique-name "pw") :create t :initial 3 :unlink-on-close t)
    (is (= 3 (semaphore-value s)))
    (is (eq t (semaphore-wait s)))
    (is (eq t (semaphore-wait s :timeout 0)))
    (is (= 1 (semaphore-value s)))
    (is (eq t (semaphore-wait s :timeout 0.1)))
    (is (eq nil (semaphore-wait s :timeout 0)) "try on zero")
    (multiple-value-bind (got secs) (timed (semaphore-wait s :timeout 0.25))
      (is (eq nil got))
      (is (>= secs 0.249)))
    (semaphore-post s)
    (semaphore-post s)
    (is (= 2 (semaphore-value s)))
    (signals lipc-would-block (progn (semaphore-wait s) (semaphore-wait s)
                                     (lipc::check (lipc::%sem-wait (object-handle s) 0))))
    (signals lipc-timeout (lipc::check (lipc::%sem-wait (object-handle s) 10)))))

(test wait-wakes-on-post-from-another-thread
  (with-semaphore (s (unique-name "wk") :create t :unlink-on-close t)
    (let ((poster (spawn (lambda () (sleep 0.2) (semaphore-post s)))))
      (multiple-value-bind (got secs) (timed (semaphore-wait s :timeout 10))
        (is (eq t got))
        (is (<= 0.15 secs 5)))
      (join poster))))

(test many-threads-post-and-wait
  (with-semaphore (s (unique-name "mt") :create t :unlink-on-close t)
    (let* ((waiters (loop repeat 4
                          collect (spawn (lambda ()
                                           (loop repeat 250 count (semaphore-wait s :timeout 20))))))
           (poster (spawn (lambda () (dotimes (i 1000) (semaphore-post s))))))
      (join poster)
      (is (equal '(250 250 250 250) (mapcar (lambda (th) (join th 30)) waiters)))
      (is (= 0 (semaphore-value s))))))

(test value-range
  (signals type-error (open-semaphore (unique-name "r") :create t :initial (expt 2 31)))
  (with-semaphore (s (unique-name "r") :create t :initial #x7FFFFFFF :unlink-on-close t)
    (signals lipc-out-of-range (semaphore-post s))
    (is (= #x7FFFFFFF (semaphore-value s)))))

(test unlink-keeps-open-handles-working
  (let ((name (unique-name "ul")))
    (with-semaphore (s name :create t)
      (unlink-semaphore name)
      (signals lipc-not-found (open-semaphore name))
      (semaphore-post s)
      (is (= 1 (semaphore-value s)))
      (is (eq t (semaphore-wait s :timeout 0))))
    (signals lipc-not-found (unlink-semaphore name))))

(test unlink-on-close
  (let ((name (unique-name "uc")))
    (let ((creator (open-semaphore name :create t :unlink-on-close t)))
      ;; an opener that did not create it does not unlink it
      (close-semaphore (open-semaphore name :unlink-on-close t))
      (finishes (close-semaphore (open-semaphore name)))
      (close-semaphore creator))
    (signals lipc-not-found (open-semaphore name))))

(test bad-names
  (dolist (bad (list "" "a/b" "bad name!" ".hidden" "/" "é"))
    (signals lipc-invalid-argument (open-semaphore bad :create t))
    (signals lipc-invalid-argument (unlink-semaphore bad)))
  (signals lipc-name-too-long (open-semaphore (make-string 201 :initial-element #\a) :create t))
  (let* ((long (subseq (format nil "~A~A" (unique-name "l") (make-string 200 :initial-element #\x))
                       0 200)))
    (with-semaphore (s long :create t :unlink-on-close t)
      (is (= 0 (semaphore-value s)))))
  (with-semaphore (s (format nil "/~A" (unique-name "slash")) :create t :unlink-on-close t)
    (is (= 0 (semaphore-value s)))))

(test with-semaphore-closes-on-unwind
  (let ((saved nil))
    (catch 'out
      (with-semaphore (s (unique-name "wu") :create t :unlink-on-close t)
        (setf saved s)
        (throw 'out nil)))
    (is (not (handle-open-p saved)))))

(test close-while-another-thread-waits
  (let* ((s (open-semaphore (unique-name "cw") :create t :unlink-on-close t))
         (th (spawn (lambda () (handler-case (semaphore-wait s :timeout 20)
                                 (lipc-error (e) (type-of e)))))))
    (sleep 0.2)
    (close-semaphore s)
    (multiple-value-bind (result secs) (timed (join th 10))
      (is (member result '(lipc-closed lipc-bad-handle)))
      (is (< secs 3)))))

(defun child-poster-args (asd name n)
  "sbcl arguments for a child that loads lipc and posts N times to NAME.
Separate --eval forms: each must be read after the one before has run."
  (list "--noinform" "--non-interactive" "--no-userinit"
        "--eval" "(require :asdf)"
        "--eval" (format nil "(asdf:load-asd ~S)" asd)
        "--eval" "(let ((*standard-output* (make-broadcast-stream))) (asdf:load-system :lipc))"
        "--eval" (format nil "(lipc:with-semaphore (s ~S) (dotimes (i ~D) (lipc:semaphore-post s)))"
                         name n)))

(defun wait-while-alive (sem proc seconds)
  "Waits for SEM up to SECONDS, giving up early once PROC has exited and
posted nothing more, so a broken child fails the test fast."
  (loop repeat (ceiling seconds 0.1)
        when (semaphore-wait sem :timeout 0.1) return t
        unless (sb-ext:process-alive-p proc)
          return (semaphore-wait sem :timeout 0)))

(test second-process-posts
  (let ((name (unique-name "proc"))
        (asd (namestring (asdf:system-source-file "lipc"))))
    (with-semaphore (s name :create t :unlink-on-close t)
      (let ((proc (sb-ext:run-program "sbcl" (child-poster-args asd name 3)
                                      :search t :wait nil :output nil :error nil)))
        (is (eq t (wait-while-alive s proc 60)))
        (is (eq t (wait-while-alive s proc 10)))
        (is (eq t (wait-while-alive s proc 10)))
        (sb-ext:process-wait proc)
        (is (= 0 (sb-ext:process-exit-code proc)))
        (is (= 0 (semaphore-value s)))))))
