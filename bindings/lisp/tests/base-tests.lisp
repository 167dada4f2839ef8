;;;; base-tests.lisp - version, error texts and conditions, handles, loader.

(in-package #:lipc-tests)

(def-suite :base :in :lipc)
(in-suite :base)

(defun header-version ()
  "LIPC_VERSION_MAJOR.MINOR.PATCH read from the repository's include/lipc.h."
  (let ((header (merge-pathnames "../../include/lipc.h"
                                 (asdf:system-source-directory "lipc")))
        (parts '()))
    (with-open-file (in header)
      (loop for line = (read-line in nil) while line
            do (dolist (part '("MAJOR" "MINOR" "PATCH"))
                 (let ((key (format nil "#define LIPC_VERSION_~A " part)))
                   (when (and (>= (length line) (length key))
                              (string= key line :end2 (length key)))
                     (push (cons part (parse-integer line :start (length key)))
                           parts))))))
    (format nil "~D.~D.~D" (cdr (assoc "MAJOR" parts :test #'string=))
            (cdr (assoc "MINOR" parts :test #'string=))
            (cdr (assoc "PATCH" parts :test #'string=)))))

(test version-matches-header
  (is (string= (header-version) (version)))
  (is (string= +version-string+ (version))))

(defparameter *codes*
  '((-1 "LIPC_EINVAL" lipc-invalid-argument) (-2 "LIPC_EBADHANDLE" lipc-bad-handle)
    (-3 "LIPC_ENOENT" lipc-not-found) (-4 "LIPC_EEXIST" lipc-exists)
    (-5 "LIPC_EPERM" lipc-permission-denied) (-6 "LIPC_ETIMEDOUT" lipc-timeout)
    (-7 "LIPC_EINTR" lipc-interrupted) (-8 "LIPC_EBUSY" lipc-busy)
    (-9 "LIPC_EAGAIN" lipc-would-block) (-10 "LIPC_ENOMEM" lipc-out-of-memory)
    (-11 "LIPC_ECLOSED" lipc-closed) (-12 "LIPC_ENOTSUP" lipc-not-supported)
    (-13 "LIPC_EFORKED" lipc-forked) (-14 "LIPC_ESTATUSLOST" lipc-status-lost)
    (-15 "LIPC_ENAMETOOLONG" lipc-name-too-long) (-16 "LIPC_ERANGE" lipc-out-of-range))
  "Written out by hand from the header, independently of errors.lisp.")

(test strerror-and-error-name
  (loop for (code name) in *codes*
        do (is (string= name (error-name code)))
           (is (plusp (length (strerror code)))))
  (is (string= "LIPC_OK" (error-name 0)))
  (is (string= "LIPC_EOS" (error-name -1002)))
  (is (string= "No such file or directory" (strerror -1002)))
  (is (string= "LIPC_UNKNOWN" (error-name 7)))
  (is (string= "unknown error" (strerror -999))))

(test every-code-has-its-condition
  (loop for (code name class) in *codes*
        for c = (lipc::make-lipc-error code "what failed" 22)
        do (is (eq class (type-of c)))
           (is (typep c 'lipc-error))
           (is (= code (lipc-error-code c)))
           (is (string= name (lipc-error-code-name c)))
           (is (= 22 (lipc-error-errno c)))
           (is (string= "what failed" (lipc-error-message c)))
           (is (search name (princ-to-string c))))
  (is (typep (lipc::make-lipc-error -15 "" 0) 'lipc-invalid-argument))
  (let ((os (lipc::make-lipc-error -1013 "" 13)))
    (is (typep os 'lipc-os-error))
    (is (string= "LIPC_EOS" (lipc-error-code-name os)))
    (is (string= "Permission denied" (lipc-error-message os)) "empty message falls back to strerror"))
  (is (typep (lipc::make-lipc-error -99 "" 0) 'lipc-unknown-error)))

(test real-errors-carry-message-and-errno
  (let ((c (handler-case (open-semaphore (unique-name "missing")) (lipc-error (e) e))))
    (is (typep c 'lipc-not-found))
    (is (= -3 (lipc-error-code c)))
    (is (= 2 (lipc-error-errno c)))
    (is (search "sem_open" (lipc-error-message c)))))

(test direct-mode-refused-under-sbcl
  (is (eq :handoff (call-mode)))
  (signals lipc-permission-denied (lipc::check (lipc::%set-call-mode 1)))
  (is (eq :handoff (call-mode)))
  (signals lipc-invalid-argument (lipc::check (lipc::%set-call-mode 99)))
  (signals lipc-invalid-argument (diag 12345))
  (signals type-error (diag :no-such-figure)))

(defun bad-handles ()
  "Small ints, out-of-range and random values, a closed and a wrong-kind handle."
  (let* ((sem (open-semaphore (unique-name "bad") :create t :unlink-on-close t))
         (h (object-handle sem))
         (wrong-kind (logxor h (ash 3 20))))
    (close-semaphore sem)
    (append (list 0 1 -1 (expt 2 53) (1- (expt 2 52)) (- (expt 2 52)) h wrong-kind)
            (loop repeat 20 collect (+ (expt 2 52) (random (expt 2 52)))))))

(test bad-handles-are-errors-never-crashes
  (let ((sem (open-semaphore (unique-name "kind") :create t :unlink-on-close t)))
    (unwind-protect
         (let ((wrong-kind (logxor (object-handle sem) (ash 3 20))))
           (is (= +kind-sem+ (handle-kind sem)))
           ;; another generation of the same slot: a forgery, still a bad handle
           (signals lipc-bad-handle (lipc::check (lipc::%sem-post wrong-kind)))
           (signals lipc-bad-handle (handle-kind wrong-kind))
           (signals lipc-bad-handle (lipc::check (lipc::%close wrong-kind)))
           (is (= 0 (semaphore-value sem)) "the forged close changed nothing"))
      (close-semaphore sem)))
  (dolist (h (bad-handles))
    (signals lipc-bad-handle (handle-kind h))
    (signals lipc-bad-handle (lipc::check (lipc::%close h)))
    (signals lipc-bad-handle (lipc::check (lipc::%sem-post h)))
    (signals lipc-bad-handle (lipc::check (lipc::%sem-wait h 0)))
    (signals lipc-bad-handle (cffi:with-foreign-object (v :int)
                               (lipc::check (lipc::%sem-value h v))))))

(test close-is-idempotent-and-use-after-close-stays-in-lisp
  (let ((sem (open-semaphore (unique-name "close") :create t :unlink-on-close t)))
    (is (handle-open-p sem))
    (is (eq t (close-semaphore sem)))
    (is (eq nil (close-semaphore sem)))
    (is (not (handle-open-p sem)))
    (is (search "(closed)" (princ-to-string sem)))
    ;; Leave a known message in this thread's last error; a use after close
    ;; that reached C would replace it.
    (signals lipc-bad-handle (handle-kind 1))
    (let ((before (lipc::%last-error)))
      (dolist (f (list #'semaphore-post #'semaphore-value #'semaphore-wait
                       #'handle-kind #'object-handle))
        (let ((c (handler-case (funcall f sem) (lipc-error (e) e))))
          (is (typep c 'lipc-closed))
          (is (= -11 (lipc-error-code c)))
          (is (string= "LIPC_ECLOSED" (lipc-error-code-name c)))
          (is (search "is closed" (lipc-error-message c)))))
      (is (string= before (lipc::%last-error))))))

(test concurrent-close-closes-once
  (dotimes (round 20)
    (let* ((sem (open-semaphore (unique-name "race") :create t :unlink-on-close t))
           (threads (loop repeat 4 collect (spawn (lambda () (close-semaphore sem))))))
      (is (= 1 (count t (mapcar #'join threads)))))))

(defun open-and-forget (n)
  (dotimes (i n) (open-semaphore (unique-name "gc") :create t :unlink-on-close t)))

(test finalizer-closes-forgotten-handles
  (let ((before (live-handles)))
    (open-and-forget 50)
    (is (<= (+ before 50) (live-handles)))
    ;; Finalizers run on SBCL's finalizer thread after a GC: poll.
    (loop repeat 100 until (< (live-handles) (+ before 25))
          do (sb-ext:gc :full t) (sleep 0.05))
    (is (< (live-handles) (+ before 25)) "most of 50 forgotten semaphores closed")))

;;; finalizer-store.lisp: every element of SBCL's finalizer store is
;;; reached through a vector on pages of its own, where SBCL 2.2.9's GC keeps
;;; the card marks of a thread it stopped between marking and storing.
(test finalizer-store-is-a-large-object
  (let ((store (symbol-value (lipc::finalizer-store-symbol))))
    (is (<= lipc::+large-finalizer-store+ (length store)))
    (is (<= (symbol-value (find-symbol "LARGE-OBJECT-SIZE" "SB-VM")) (* 8 (length store))))
    ;; the first element on a page boundary: a large object's pages are its own
    (is (zerop (mod (logandc2 (sb-kernel:get-lisp-obj-address store) 15) sb-vm:gencgc-page-bytes)))
    (is (eql (length store) (lipc::grow-finalizer-store)) "growing again changes nothing")
    (is (eq store (symbol-value (lipc::finalizer-store-symbol)))))
  ;; and SBCL's finalizers work on it: registered, cancelled, run
  (let ((ran (list 0)) (kept (list 1)))
    (dotimes (i 200) (sb-ext:finalize (list i) (lambda () (sb-ext:atomic-incf (car ran))) :dont-save t))
    (sb-ext:finalize kept (lambda () (sb-ext:atomic-incf (car ran) 1000)) :dont-save t)
    (sb-ext:cancel-finalization kept)
    (loop repeat 100 until (<= 190 (car ran)) do (sb-ext:gc :full t) (sleep 0.05))
    (is (<= 190 (car ran) 200) "the dropped objects' finalizers ran, the cancelled one did not")))

(test finalizer-never-lets-an-error-out
  (let ((sem (open-semaphore (unique-name "fin") :create t :unlink-on-close t)))
    (let ((box (list (object-handle sem))))
      (close-semaphore sem)
      ;; the box still holds the now closed handle: lipc_close fails, quietly
      (finishes (lipc::finalize-box box))
      (is (null (car box))))))

(test loader-names-every-place-tried
  (let ((c (handler-case (lipc::load-library
                          :candidates '(("first" . "/nonexistent/a/liblipc.so")
                                        ("second" . "/nonexistent/b/liblipc.so"))
                          :system-loader nil)
             (lipc-library-error (e) e))))
    (is (typep c 'lipc-library-error))
    (is (= 2 (length (library-error-tried c))))
    (is (search "/nonexistent/a/liblipc.so" (princ-to-string c)))
    (is (search "/nonexistent/b/liblipc.so" (princ-to-string c)))
    (is (search "LIPC_LIBRARY" (princ-to-string c))))
  (is (stringp *library-path*)))

(defmacro with-env ((name value) &body body)
  "BODY with environment variable NAME set to VALUE (NIL: unset), restored after."
  (let ((old (gensym)))
    `(let ((,old (sb-posix:getenv ,name)))
       (unwind-protect (progn (if ,value (sb-posix:setenv ,name ,value 1) (sb-posix:unsetenv ,name))
                              ,@body)
         (if ,old (sb-posix:setenv ,name ,old 1) (sb-posix:unsetenv ,name))))))

(test loader-order
  (with-env ("LIPC_LIBRARY" nil)
    (let ((places (lipc::library-candidates)))
      (is (equal '("beside lipc.asd" "build tree") (mapcar #'car places)))
      (is (equal (asdf:system-relative-pathname "lipc" "liblipc.so") (cdr (first places))))
      ;; the source tree's build/, whether or not it has a library now
      (is (equal (namestring (merge-pathnames "../../build/liblipc.so"
                                              (asdf:system-source-directory "lipc")))
                 (namestring (cdr (second places)))))))
  (with-env ("LIPC_LIBRARY" "/nonexistent/explicit/liblipc.so")
    (is (equal '(("LIPC_LIBRARY" . "/nonexistent/explicit/liblipc.so"))
               (lipc::library-candidates)))
    ;; an explicit path that fails is reported, not replaced by another copy
    (let ((c (handler-case (lipc::load-library) (lipc-library-error (e) e))))
      (is (typep c 'lipc-library-error))
      (is (= 1 (length (library-error-tried c))))
      (is (search "/nonexistent/explicit/liblipc.so" (princ-to-string c))))))
