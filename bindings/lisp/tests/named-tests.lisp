;;;; named-tests.lisp - named objects another user made (or planted),
;;;; objects that are not valid, :trust-foreign, the umask, semaphore-post
;;;; with a count, and auto-reset events releasing one blocked waiter per set
;;;; (issue 9).

(in-package #:lipc-tests)

(def-suite :named :in :lipc)
(in-suite :named)

(defconstant +nobody+ 65534)

(defparameter *kind-prefix*
  '((:sem . "/dev/shm/sem.") (:mutex . "/dev/shm/lipc.mutex.")
    (:event . "/dev/shm/lipc.event.") (:shm . "/dev/shm/")))

(defun kind-path (kind name) (concatenate 'string (cdr (assoc kind *kind-prefix*)) name))

(defun open-kind (kind name &rest options)
  (ecase kind
    (:sem (apply #'open-semaphore name options))
    (:mutex (apply #'open-mutex name options))
    (:event (apply #'open-event name options))
    (:shm (apply #'open-shared-memory name
                 (if (getf options :create) (list* :size 64 options) options)))))

(defun unlink-kind (kind name)
  (ignore-errors
   (ecase kind
     (:sem (unlink-semaphore name)) (:mutex (unlink-mutex name))
     (:event (unlink-event name)) (:shm (unlink-shared-memory name)))))

(defun spit-file-octets (path octets)
  (with-open-file (f path :direction :output :if-exists :supersede
                          :element-type '(unsigned-byte 8))
    (write-sequence octets f)))

(defun slurp-file-octets (path)
  (with-open-file (f path :element-type '(unsigned-byte 8))
    (let ((v (make-array (file-length f) :element-type '(unsigned-byte 8))))
      (read-sequence v f)
      v)))

(defun filled (n byte) (make-array n :element-type '(unsigned-byte 8) :initial-element byte))

(defmacro as-root (&body body)
  `(if (/= 0 (sb-posix:geteuid))
       (skip "needs root: gives files to another user (nobody)")
       (progn ,@body)))

(test planted-by-another-user-is-refused
  (as-root
    (dolist (kind '(:sem :mutex :event :shm))
      (let* ((name (unique-name "planted")) (path (kind-path kind name))
             (bytes (filled (if (eq kind :sem) 32 64) 255)))
        (unwind-protect
             (progn
               (spit-file-octets path bytes)
               (sb-posix:chown path +nobody+ +nobody+)
               (signals lipc-permission-denied (open-kind kind name :create t))
               (if (eq kind :shm)
                   (let ((s (open-kind kind name :trust-foreign t)))
                     (is (= 255 (cffi:mem-ref (shared-memory-pointer s) :uint8)))
                     (close-handle s))
                   (signals lipc-invalid-argument (open-kind kind name :create t :trust-foreign t)))
               (is (equalp bytes (slurp-file-octets path)) "~A: the planted file changed" kind))
          (unlink-kind kind name))))))

(test trust-foreign-opens-a-valid-object-of-another-user
  (as-root
    (dolist (kind '(:sem :mutex :event :shm))
      (let ((name (unique-name "foreign")))
        (unwind-protect
             (progn
               (close-handle (open-kind kind name :create t :mode #o666))
               (sb-posix:chown (kind-path kind name) +nobody+ +nobody+)
               (signals lipc-permission-denied (open-kind kind name))
               (let ((o (open-kind kind name :trust-foreign t)))
                 (case kind
                   (:sem (semaphore-post o 2) (is (= 2 (semaphore-value o))))
                   (:event (event-set o) (is (eq t (event-wait o :timeout 0)))))
                 (close-handle o)))
          (unlink-kind kind name))))))

(test invalid-objects-are-refused
  (let ((lev1 (filled 64 0)))
    (replace lev1 (sb-ext:string-to-octets "1vel") :start1 8) ; lipc 0.1.0's event
    (loop for (kind bytes) in `((:sem ,(filled 32 255)) (:sem ,(filled 32 0)) (:sem ,(filled 10 0))
                                (:mutex ,(filled 64 0)) (:event ,(filled 64 0)) (:event ,lev1))
          do (let ((name (unique-name "bad")))
               (unwind-protect
                    (progn
                      (spit-file-octets (kind-path kind name) bytes)
                      (signals lipc-invalid-argument (open-kind kind name :create t)))
                 (unlink-kind kind name))))))

(test mode-goes-through-the-umask
  (let ((old (sb-posix:umask #o027)))
    (unwind-protect
         (dolist (kind '(:sem :mutex :event :shm))
           (let ((name (unique-name "umask")))
             (unwind-protect
                  (let ((o (open-kind kind name :create t :mode #o666)))
                    (is (= #o640 (logand #o777 (sb-posix:stat-mode (sb-posix:stat (kind-path kind name)))))
                        "~A mode 0666 under umask 027" kind)
                    (close-handle o))
               (unlink-kind kind name))))
      (sb-posix:umask old))))

(test semaphore-post-count
  (with-semaphore (s (unique-name "postn") :create t :unlink-on-close t)
    (semaphore-post s 5)
    (is (= 5 (semaphore-value s)))
    ;; 2^31-6 more in one step (a loop of posts would take minutes)
    (multiple-value-bind (r secs) (timed (semaphore-post s (- (expt 2 31) 6)))
      (declare (ignore r))
      (is (< secs 5)))
    (is (= (1- (expt 2 31)) (semaphore-value s)))
    (semaphore-wait s :timeout 0)
    (dolist (n (list 2 (expt 2 31) (1- (expt 2 32))))
      (signals lipc-out-of-range (semaphore-post s n))
      (is (= (- (expt 2 31) 2) (semaphore-value s)) "a refused post added something"))
    (dolist (bad (list 0 -1 1.5 (expt 2 32) "2"))
      (signals type-error (semaphore-post s bad)))))

(test semaphore-post-count-wakes-count-waiters
  (with-semaphore (s (unique-name "postn-wake") :create t :unlink-on-close t)
    (let ((threads (loop repeat 4 collect (spawn (lambda () (semaphore-wait s :timeout 20))))))
      (sleep 0.1)
      (semaphore-post s 4)
      (is (equal '(t t t t) (mapcar (lambda (th) (join th 30)) threads)))
      (is (= 0 (semaphore-value s))))))

(defun gettid () (cffi:foreign-funcall "gettid" :int))

(defun asleep-in-futex-p (tid)
  "Whether thread TID of this process is blocked in a shared futex wait
(FUTEX_WAIT_BITSET, what lipc's waits use) right now."
  (let ((line (ignore-errors
               (with-open-file (f (format nil "/proc/self/task/~D/syscall" tid)) (read-line f nil "")))))
    (when line
      (let* ((fields (uiop:split-string line :separator " "))
             (nr (ignore-errors (parse-integer (first fields))))
             (op (ignore-errors (parse-integer (third fields) :start 2 :radix 16))))
        (and nr op (= nr #+x86-64 202 #+arm64 98 #-(or x86-64 arm64) -1) (= op 9))))))

(test auto-reset-event-releases-one-blocked-waiter-per-set
  (let ((name (unique-name "auto")))
    (with-event (e name :create t :unlink-on-close t)
      (let ((handles (loop repeat 3 collect (open-event name))))
        (unwind-protect
             (dotimes (round 50)
               (let* ((tids (make-array 3 :initial-element nil))
                      (threads (loop for h in handles for i from 0
                                     collect (let ((h h) (i i))
                                               (spawn (lambda ()
                                                        (setf (aref tids i) (gettid))
                                                        (event-wait h :timeout 20))))))
                      (t0 (now)))
                 (loop until (or (every (lambda (tid) (and tid (asleep-in-futex-p tid))) tids)
                                 (> (- (now) t0) 20))
                       do (sleep 0.0005))
                 (event-set e) (event-set e) (event-set e)
                 (is (eq nil (event-wait e :timeout 0.001)) "round ~D: a later wait took a release" round)
                 (let ((woke (mapcar (lambda (th) (join th 30)) threads)))
                   (is (equal '(t t t) woke) "round ~D: three sets woke ~S" round woke)
                   (unless (equal '(t t t) woke) (return)))))
          (mapc #'close-event handles))))))
