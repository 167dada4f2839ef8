;;;; number-tests.lisp - every public function that passes a number to C
;;;; checks it first (issue 9, item 9): an integer that does not fit the C
;;;; type, a float, NIL or a string is a TYPE-ERROR naming the argument (from
;;;; CHECK-TYPE, before any C call), a value the C type holds but lipc refuses
;;;; is lipc's own condition, and nothing happens: no handle is left open, no
;;;; signal sent.  Timeouts: NIL, float infinity and any time longer than lipc
;;;; waits (2^31 - 1 s) are forever; NaN and negative ones are TYPE-ERRORs.
;;;; Grace times: infinity and huge ones are as long as lipc waits, never an
;;;; overflow on the way to the int64 milliseconds of C.

(in-package #:lipc-tests)

(def-suite :numbers :in :lipc)
(in-suite :numbers)

(defun positive-infinity () sb-ext:double-float-positive-infinity)
(defun negative-infinity () sb-ext:double-float-negative-infinity)
(defun nan ()
  (let ((inf (positive-infinity)))
    (declare (notinline positive-infinity))
    (sb-int:with-float-traps-masked (:invalid)
      (- inf inf))))

(defparameter *bad-values*
  `((:int ,(expt 2 31) ,(- -1 (expt 2 31)) ,(+ (expt 2 32) 9) ,(expt 2 64) 1.5 1.5d0 "1")
    (:int64 ,(expt 2 63) ,(- -1 (expt 2 63)) ,(+ (expt 2 64) 4096) 1.5d0 "1")
    (:uint32 ,(expt 2 32) ,(+ (expt 2 32) #o22) -1 1.5 "1")
    (:size ,(expt 2 64) -1 1.5 "1"))
  "Bad values by C type: each must signal a TYPE-ERROR.")

(defun bad-values (kind &key (nil-too t))
  (append (cdr (assoc kind *bad-values*)) (and nil-too '(nil))))

(defmacro with-sleeper ((var) &body body)
  `(let ((,var (spawn-process '("sleep" "300") :autokill t)))
     (unwind-protect (progn ,@body)
       (ignore-errors (process-kill ,var :kill))
       (ignore-errors (process-wait ,var :timeout 10))
       (close-process ,var))))

(defun temp-data-file ()
  (let ((path (format nil "/tmp/lipc-lisp-num-~D.data" (sb-posix:getpid))))
    (with-open-file (out path :direction :output :if-exists :supersede
                              :element-type '(unsigned-byte 8))
      (write-sequence (make-array (* 3 (page-size)) :element-type '(unsigned-byte 8)
                                                    :initial-element 120)
                      out))
    path))

(defun rows (file sleeper shm mapped lock)
  "(id kind function-of-one-value nil-means-default)."
  (flet ((name () (unique-name "num")))
    `(("strerror" :int ,#'strerror)
      ("error-name" :int ,#'error-name)
      ("diag" :int ,(lambda (v) (diag (or v 1.5))))
      ("handle-kind" :int64 ,(lambda (v) (handle-kind (or v 1.5))))
      ("wait-fds fd" :int ,(lambda (v) (wait-fds (list (cons v :read)) :timeout 0)))
      ("wait-fds events" :int ,(lambda (v) (wait-fds (list (cons 0 (or v 1.5))) :timeout 0)))
      ("open-semaphore initial" :uint32
       ,(lambda (v) (open-semaphore (name) :create t :initial v :unlink-on-close t)))
      ("open-semaphore mode" :uint32
       ,(lambda (v) (open-semaphore (name) :create t :mode v :unlink-on-close t)))
      ("open-mutex mode" :uint32 ,(lambda (v) (open-mutex (name) :create t :mode v :unlink-on-close t)))
      ("open-event mode" :uint32 ,(lambda (v) (open-event (name) :create t :mode v :unlink-on-close t)))
      ("open-shared-memory size" :int64
       ,(lambda (v) (open-shared-memory (name) :create t :size v :unlink-on-close t)))
      ("open-shared-memory mode" :uint32
       ,(lambda (v) (open-shared-memory (name) :create t :size 64 :mode v :unlink-on-close t)))
      ("shared-memory-grow" :int64 ,(lambda (v) (shared-memory-grow shm v)))
      ("map-file offset" :int64 ,(lambda (v) (map-file file :offset v)))
      ("map-file length" :int64 ,(lambda (v) (map-file file :length (or v 1.5))))
      ("map-file mode" :uint32 ,(lambda (v) (map-file file :mode v)))
      ("flush-mapping offset" :int64 ,(lambda (v) (flush-mapping mapped :offset v)))
      ("flush-mapping length" :int64 ,(lambda (v) (flush-mapping mapped :length v)))
      ("advise-mapping offset" :int64 ,(lambda (v) (advise-mapping mapped :normal :offset v)))
      ("advise-mapping length" :int64 ,(lambda (v) (advise-mapping mapped :normal :length v)))
      ;; (a string is a path there)
      ("open-file-lock fd" :int ,(lambda (v) (open-file-lock (if (typep v '(or null string)) 1.5 v))))
      ("open-file-lock mode" :uint32 ,(lambda (v) (open-file-lock file :mode v)))
      ("file-lock-acquire offset" :int64 ,(lambda (v) (file-lock-acquire lock :offset v :timeout 0)))
      ("file-lock-acquire length" :int64 ,(lambda (v) (file-lock-acquire lock :length v :timeout 0)))
      ("file-lock-release offset" :int64 ,(lambda (v) (file-lock-release lock :offset v)))
      ("spawn umask" :int ,(lambda (v) (spawn-process '("true") :umask (or v 1.5))))
      ("spawn process-group" :int64 ,(lambda (v) (spawn-process '("true") :process-group (or v 1.5))))
      ("spawn autokill" :int ,(lambda (v) (spawn-process '("true") :autokill (or v 1.5))))
      ("spawn output fd" :int ,(lambda (v) (spawn-process '("true") :output (or v 1.5))))
      ("spawn fds key" :int ,(lambda (v) (spawn-process '("true") :fds (list (cons v :null)))))
      ("spawn (:fd n)" :int ,(lambda (v) (spawn-process '("true") :fds (list (cons 5 (list :fd v))))))
      ("spawn (:child n)" :int ,(lambda (v) (spawn-process '("true") :error (list :child v))))
      ("spawn file mode" :uint32
       ,(lambda (v) (spawn-process '("true") :output (list (format nil "~A.out" file) :direction :output
                                                           :mode v))))
      ("spawn rlimits" :int64 ,(lambda (v) (spawn-process '("true") :rlimits (list :core (or v 1.5)))))
      ("process-kill" :int ,(lambda (v) (process-kill sleeper v)))
      ("process-pipe" :int ,(lambda (v) (process-pipe sleeper v)))
      ("process-communicate max-output" :size
       ,(lambda (v) (process-communicate sleeper :timeout 0 :max-output (or v 1.5))))
      ("make-pipe-stream" :int ,(lambda (v) (make-pipe-stream v :input))))))

(defun outcome (thunk)
  "What calling THUNK does: :type-error, :ok, or the condition's class."
  (handler-case (progn (funcall thunk) :ok)
    (type-error () :type-error)
    (error (e) (type-of e))))

(test numbers-are-checked-against-their-c-type
  (let ((file (temp-data-file)) (walked 0))
    (with-sleeper (sleeper)
      (with-shared-memory (shm (unique-name "num") :create t :size 4096 :unlink-on-close t)
        (with-mapped-file (mapped file :access :write)
          (with-open-file-lock (lock file)
            (loop for (id kind fn) in (rows file sleeper shm mapped lock)
                  do (dolist (v (bad-values kind))
                       (sb-ext:gc :full t)
                       (let* ((before (live-handles))
                              (got (outcome (lambda () (funcall fn v)))))
                         (is (eq :type-error got) "~A ~S: ~S, not a type-error" id v got)
                         (is (= before (live-handles)) "~A ~S: a handle was left open" id v)
                         (is (process-alive-p sleeper) "~A ~S: the child got a signal" id v)
                         (incf walked))))))))
    (is (> walked 200))
    (delete-file file)))

(test edge-values-reach-c
  (let ((file (temp-data-file)))
    (is (stringp (strerror (1- (expt 2 31)))))
    (is (string= "LIPC_EOS" (error-name (- (expt 2 31)))))
    (flet ((fails (class thunk) (is (eq class (outcome thunk)))))
      (fails 'lipc-invalid-argument (lambda () (diag (1- (expt 2 31)))))
      (fails 'lipc-bad-handle (lambda () (handle-kind (1- (expt 2 63)))))
      (fails :type-error (lambda () (open-semaphore (unique-name "num") :create t :initial (expt 2 31))))
      (fails 'lipc-invalid-argument
             (lambda () (open-semaphore (unique-name "num") :create t :mode (1- (expt 2 32)))))
      (fails 'lipc-invalid-argument (lambda () (open-shared-memory (unique-name "num") :create t :size -1)))
      (fails 'lipc-out-of-range
             (lambda () (open-shared-memory (unique-name "num") :create t :size (1- (expt 2 63)))))
      (fails 'lipc-invalid-argument (lambda () (map-file file :offset (- (expt 2 63)))))
      (fails 'lipc-invalid-argument (lambda () (spawn-process '("true") :umask (1- (expt 2 31)))))
      (fails 'lipc-invalid-argument (lambda () (spawn-process '("true") :process-group (expt 2 31))))
      (fails 'lipc-invalid-argument (lambda () (spawn-process '("true") :autokill 65)))
      (fails 'lipc-invalid-argument (lambda () (spawn-process '("true") :fds (list (cons 1024 :null)))))
      (with-sleeper (sleeper)
        (fails 'lipc-invalid-argument (lambda () (process-kill sleeper 65)))
        (fails 'lipc-invalid-argument (lambda () (process-kill sleeper (1- (expt 2 31)))))
        (is (process-alive-p sleeper))))
    (is (= 0 (run-command '("true") :rlimits (list :core (1- (expt 2 63))) :output nil :error nil)))
    (delete-file file)))

(defun ready-waits ()
  "(id function-of-a-timeout): waits on something ready, so any timeout
returns at once; each returns true."
  (list
   (list "semaphore-wait"
         (lambda (tm) (with-semaphore (s (unique-name "num") :create t :initial 1 :unlink-on-close t)
                        (semaphore-wait s :timeout tm))))
   (list "mutex-lock"
         (lambda (tm) (with-open-mutex (m (unique-name "num") :create t :unlink-on-close t)
                        (prog1 (mutex-lock m :timeout tm) (mutex-unlock m)))))
   (list "event-wait"
         (lambda (tm) (with-event (e (unique-name "num") :create t :initially-set t :manual-reset t
                                                          :unlink-on-close t)
                        (event-wait e :timeout tm))))
   (list "wait-fds"
         (lambda (tm) (with-pipe (r w) r (wait-fds (list (cons w :write)) :timeout tm))))
   (list "process-wait"
         (lambda (tm) (let ((p (spawn-process '("true"))))
                        (unwind-protect (eql 0 (process-wait p :timeout tm)) (close-process p)))))
   (list "process-communicate"
         (lambda (tm) (let ((p (spawn-process '("echo" "hi") :output :pipe)))
                        (unwind-protect (equal (format nil "hi~%") (process-communicate p :timeout tm))
                          (process-wait p) (close-process p)))))
   (list "run-command"
         (lambda (tm) (eql 0 (run-command '("true") :timeout tm :output nil :error nil))))
   (list "process-stop grace"
         (lambda (tm) (let ((p (spawn-process '("sleep" "300") :autokill t)))
                        (unwind-protect (eql 15 (nth-value 1 (process-stop p :grace tm)))
                          (ignore-errors (process-kill p :kill)) (process-wait p) (close-process p)))))))

(test huge-timeouts-wait-forever-and-bad-ones-are-type-errors
  (dolist (w (ready-waits))
    (destructuring-bind (id fn) w
      (dolist (tm (list (positive-infinity) 1d300 (expt 2 31) (expt 2 70)))
        (is (eq :ok (outcome (lambda () (assert (funcall fn tm))))) "~A ~S" id tm))
      (dolist (tm (list (nan) -1 -0.5d0 (negative-infinity) "1" :forever))
        (is (eq :type-error (outcome (lambda () (funcall fn tm)))) "~A ~S" id tm)))))

(defun read-ready (p)
  "The first 6 bytes the child writes (\"ready\" and a newline), as a string."
  (let ((buf (make-array 6 :element-type '(unsigned-byte 8))) (fill 0))
    (loop while (< fill 6)
          for n = (read-octets (process-output p) buf :start fill :timeout 10)
          while (and n (plusp n))
          do (incf fill n))
    (map 'string #'code-char (subseq buf 0 fill))))

(test a-huge-grace-never-kills
  ;; An infinite grace once failed on its way to milliseconds ("can't decode
  ;; infinity") and a huge one overflowed the int64: the child must get its
  ;; SIGTERM and all the time it wants, never a SIGKILL.
  (dolist (grace (list (positive-infinity) 1d10 (expt 2 40)))
    (let ((p (spawn-process '("sh" "-c" "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done")
                            :output :pipe :autokill t)))
      (unwind-protect
           (progn
             (is (string= (format nil "ready~%") (read-ready p)))
             (is (eql 7 (process-stop p :grace grace)) "grace ~S" grace))
        (ignore-errors (process-kill p :kill))
        (process-wait p)
        (close-process p)))
    (let* ((marker (format nil "/tmp/lipc-lisp-num-~D.term" (sb-posix:getpid)))
           (p (spawn-process (list "sh" "-c" (format nil "trap 'echo term > ~A; exit 7' TERM; echo ready; ~
                                                          while :; do sleep 0.05; done" marker))
                             :output :pipe :autokill t :on-close :stop :grace grace))
           (pid (process-pid p)))
      (ignore-errors (delete-file marker))
      (is (string= (format nil "ready~%") (read-ready p)))
      (close-process p)                 ; SIGTERM now, SIGKILL after the grace: never
      (loop repeat 500 until (probe-file marker) do (sleep 0.02))
      (is (probe-file marker) "grace ~S on close: the child was killed before its TERM trap ran" grace)
      (ignore-errors (delete-file marker))
      (ignore-errors (sb-posix:kill pid 9)))))
