;;;; bench-calls.lisp - what a call costs from SBCL: lipc's pure-C entry
;;;; points against a plain C .so compiled here (the FFI floor), from the main
;;;; thread and from a worker thread; and a call that needs Go (handed to
;;;; lipc's threads), main vs worker: equal costs show F4 (120 us per Go call
;;;; from SBCL's main thread) is not paid.
;;;;
;;;;   sbcl --script bench/bench-calls.lisp     (needs cc)

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))
(load (merge-pathnames "bench-record.lisp" *load-truename*))

(defpackage #:lipc-bench (:use #:cl))
(in-package #:lipc-bench)

;;; ---- the baseline: the same shapes, no handle table, no Go
(defparameter *baseline-source*
  "const char *base_version(void){return \"0.1.0\";}
int base_lookup(long long h, int *out){ if(h<0) return -2; *out=1; return 0;}
")

(defun build-baseline ()
  (let* ((dir (format nil "/tmp/lipc-bench-~D/" (sb-posix:getpid)))
         (c (concatenate 'string dir "base.c"))
         (so (concatenate 'string dir "libbase.so")))
    (ensure-directories-exist dir)
    (with-open-file (out c :direction :output :if-exists :supersede)
      (write-string *baseline-source* out))
    (let ((p (sb-ext:run-program "cc" (list "-O2" "-shared" "-fPIC" "-o" so c)
                                 :search t :output *error-output* :error *error-output*)))
      (unless (eql 0 (sb-ext:process-exit-code p))
        (error "cc failed to build the baseline")))
    (cffi:load-foreign-library so)
    ;; Once loaded, the files are not needed (Linux keeps the mapping).
    (delete-file c)
    (delete-file so)
    (sb-posix:rmdir dir)
    so))

(build-baseline)
(cffi:defcfun ("base_version" %base-version) :string)
(cffi:defcfun ("base_lookup" %base-lookup) :int (h :int64) (out :pointer))

;;; ---- timing
(defconstant +rounds+ 7)

(defmacro ns-per-call (n &body body)
  "Median over +ROUNDS+ rounds of N evaluations of BODY, in ns per call."
  `(median
    (loop repeat +rounds+
          collect (let ((t0 (lipc::monotonic-ns)))
                    (dotimes (i ,n) (declare (fixnum i)) ,@body)
                    (/ (float (- (lipc::monotonic-ns) t0) 1d0) ,n)))))

(defun median (xs)
  (let ((s (sort (copy-list xs) #'<)))
    (nth (floor (length s) 2) s)))

(defun on-worker (fn)
  (sb-thread:join-thread (sb-thread:make-thread fn :name "bench worker")))

(defvar *sem* (lipc:open-semaphore (format nil "lipc-bench-~D" (sb-posix:getpid))
                                   :create t :unlink-on-close t))
(defvar *h* (lipc:object-handle *sem*))

(defun measure-fast ()
  "(name lipc-ns baseline-ns) for the pure-C calls."
  (let ((n 200000))
    (cffi:with-foreign-object (out :int)
      (list
       (list "lipc_version" (ns-per-call n (%version-call)) (ns-per-call n (%base-version)))
       (list "lipc_sem_value" (ns-per-call n (lipc::%sem-value *h* out))
             (ns-per-call n (%base-lookup *h* out)))
       (list "lipc_handle_kind" (ns-per-call n (lipc::%handle-kind *h* out))
             (ns-per-call n (%base-lookup *h* out)))
       ;; the public function: handle check, interrupts deferred, error check
       (list "semaphore-value" (ns-per-call n (lipc:semaphore-value *sem*))
             (ns-per-call n (%base-lookup *h* out)))))))

(defun %version-call () (lipc::%version))

(defun measure-go ()
  "us per lipc_diag(GO_THREAD): Go work handed to lipc's threads."
  (/ (ns-per-call 2000 (lipc:diag :go-thread)) 1000))

(defun report (where rows)
  (loop for (name ns base) in rows
        do (format t "lisp  ~7A ~18A ~7,1F ns/call  baseline ~6,1F ns/call  ratio ~4,2F~%"
                   where name ns base (/ ns base))
           (lipc-bench-record:record (format nil "~A (~A thread)" name where) ns "ns/call"
                                     (if (equal name "lipc_version") "base_version (plain C)"
                                         "base_lookup (plain C)")
                                     base)))

(format t "# ns per call from SBCL ~A, medians of ~D rounds; baseline: a plain C .so~%"
        (lisp-implementation-version) +rounds+)
(report "main" (measure-fast))
(report "worker" (on-worker #'measure-fast))
(let ((main (measure-go)) (worker (on-worker #'measure-go)))
  (format t "lisp  lipc_diag(GO_THREAD) handed off: main ~6,1F us/call  worker ~6,1F us/call  ratio ~4,2F~%"
          main worker (/ main worker))
  (lipc-bench-record:record "lipc_diag(GO_THREAD) handed off (main thread)" main "us/call")
  (lipc-bench-record:record "lipc_diag(GO_THREAD) handed off (worker thread)" worker "us/call"))
(lipc:close-semaphore *sem*)
(finish-output)
