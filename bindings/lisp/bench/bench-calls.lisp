;;;; bench-calls.lisp - what a call costs from SBCL: lipc's pure-C entry
;;;; points against a plain C .so compiled here (the FFI floor), from the main
;;;; thread and from a worker thread; the binding's public functions against
;;;; a bare CFFI call of the same C function (issue 12: at most 1.3x), that
;;;; is a plain CFFI:DEFCFUN as a user would declare it (a full call; the
;;;; binding's own % functions are inlined into it, so the inlined raw call is
;;;; shown too); and a call that needs Go (handed to lipc's threads), main vs
;;;; worker: equal costs show F4 (120 us per Go call from SBCL's main
;;;; thread) is not paid.  A binding function and its baseline are timed in
;;;; alternate rounds, so both see the same machine.
;;;;
;;;; Where the code lands matters: on this project's machines (AMD EPYC) the
;;;; same compiled MUTEX-TRY-LOCK took 30.6 or 43.6 ns a lock+unlock pair
;;;; depending only on its address (16 bytes apart), the time piling up on
;;;; one instruction (the binding stack pointer's XADD), in 7 of 9
;;;; placements, until OBJECT-BOX's test was written as two IFs (handle.lisp):
;;;; nothing in the code explains it, so it is measured.  One process shows
;;;; one placement, as a user's program does; so the binding rows are also
;;;; measured in +PLACEMENTS+ - 1 more processes, each loading lipc after
;;;; compiling a different number of small functions first (which moves
;;;; every later code object), and the rows give every placement's ratio
;;;; and their median (LIPC_BENCH_PLACEMENTS=1: this process only).
;;;;
;;;;   sbcl --script bench/bench-calls.lisp     (needs cc)

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
;;; A placement other than this process's own (see the top): N small code
;;; objects made before lipc's move all of lipc's code.
(let ((shift (sb-posix:getenv "LIPC_BENCH_CODE_SHIFT")))
  (when shift
    (dotimes (i (parse-integer shift))
      (compile nil `(lambda (x) (+ x ,i))))))
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

;;; ---- bare CFFI: lipc's functions declared as a user without the binding
;;; would (not inlined, no error check, no handle object)
(cffi:defcfun ("lipc_sem_value" bare-sem-value) :int (h :int64) (value :pointer))
(cffi:defcfun ("lipc_sem_post" bare-sem-post) :int (h :int64))
(cffi:defcfun ("lipc_sem_wait" bare-sem-wait) :int (h :int64) (timeout-ms :int64))
(cffi:defcfun ("lipc_mutex_lock" bare-mutex-lock) :int (h :int64) (timeout-ms :int64) (owner-died :pointer))
(cffi:defcfun ("lipc_mutex_unlock" bare-mutex-unlock) :int (h :int64))
(cffi:defcfun ("lipc_event_set" bare-event-set) :int (h :int64))

;;; ---- timing
(defconstant +rounds+ 7)

(defmacro ns-per-call (n &body body)
  "Median over +ROUNDS+ rounds of N evaluations of BODY, in ns per call."
  `(median
    (loop repeat +rounds+
          collect (let ((t0 (lipc::monotonic-ns)))
                    (dotimes (i ,n) (declare (fixnum i)) ,@body)
                    (/ (float (- (lipc::monotonic-ns) t0) 1d0) ,n)))))

(defconstant +short-rounds+ 41
  "Rounds of the alternating measures: many short ones, so that a binding
function and its baseline timed one after the other see the same machine
(it is shared, and busy).")

(defmacro alternate-ns (n lipc-form base-form)
  "Medians, over +SHORT-ROUNDS+ rounds that time LIPC-FORM then BASE-FORM N
times each, of the ns per evaluation of each: (values lipc base)."
  (let ((a (gensym)) (b (gensym)))
    `(let ((,a '()) (,b '()))
       (ns-per-call-once ,n ,lipc-form)      ; warm up, not counted
       (ns-per-call-once ,n ,base-form)
       (loop repeat +short-rounds+
             do (push (ns-per-call-once ,n ,lipc-form) ,a)
                (push (ns-per-call-once ,n ,base-form) ,b))
       (values (median ,a) (median ,b)))))

(defmacro ns-per-call-once (n form)
  `(let ((t0 (lipc::monotonic-ns)))
     (dotimes (i ,n) (declare (fixnum i)) ,form)
     (/ (float (- (lipc::monotonic-ns) t0) 1d0) ,n)))

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

(defvar *mx* (lipc:open-mutex (format nil "lipc-bench-mx-~D" (sb-posix:getpid))
                              :create t :unlink-on-close t))
(defvar *hm* (lipc:object-handle *mx*))
(defvar *ev* (lipc:open-event (format nil "lipc-bench-ev-~D" (sb-posix:getpid))
                              :create t :unlink-on-close t :manual-reset t))
(defvar *he* (lipc:object-handle *ev*))

(defun measure-binding ()
  "(name lipc-ns baseline-ns baseline-name) for the binding's public
functions beside a bare CFFI call (DEFCFUN, not inlined) of the same C
functions.  The handles are in locals, as a caller's would be."
  (let ((n 20000) (sem *sem*) (h *h*) (mx *mx*) (hm *hm*) (ev *ev*) (he *he*))
    (declare (type (signed-byte 64) h hm he))
    (cffi:with-foreign-object (out :int)
      (flet ((row (name lipc base base-name)
               (list name lipc base base-name)))
        (list
         (multiple-value-call #'row "semaphore-value"
           ;; the bare side reads the value too: it is what the call is for
           (alternate-ns n (lipc:semaphore-value sem)
                         (progn (bare-sem-value h out) (cffi:mem-ref out :int)))
           "lipc_sem_value (bare CFFI)")
         (multiple-value-call #'row "semaphore-post+wait"
           (alternate-ns n (progn (lipc:semaphore-post sem) (lipc:semaphore-wait sem :timeout 0))
                         (progn (bare-sem-post h) (bare-sem-wait h 0)))
           "lipc_sem_post+wait (bare CFFI)")
         (multiple-value-call #'row "mutex-lock+unlock"
           (alternate-ns n (progn (lipc:mutex-lock mx :timeout 0) (lipc:mutex-unlock mx))
                         (progn (bare-mutex-lock hm 0 out) (bare-mutex-unlock hm)))
           "lipc_mutex_lock+unlock (bare CFFI)")
         (multiple-value-call #'row "event-set"
           (alternate-ns n (lipc:event-set ev) (bare-event-set he))
           "lipc_event_set (bare CFFI)"))))))

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

(format t "# ns per call from SBCL ~A, medians of ~D rounds; baseline: a plain C .so, ~
           or for the binding's functions a bare CFFI call (medians of ~D alternating rounds)~%"
        (lisp-implementation-version) +rounds+ +short-rounds+)
(defun report-binding (where rows)
  (loop for (name ns base base-name) in rows
        do (format t "lisp  ~7A ~20A ~7,1F ns/call  ~A ~6,1F ns/call  ratio ~4,2F~%"
                   where name ns base-name base (/ ns base))
           (lipc-bench-record:record (format nil "~A (~A thread)" name where) ns "ns/call"
                                     base-name base)))

;;; A child of the placement sweep: the binding rows only, as
;;; "row NAME LIPC-NS BASE-NS" lines, nothing recorded. Its objects are
;;; closed (and so unlinked) before it ends: the abort skips every exit
;;; hook, and each child left three names in /dev/shm, until a later
;;; process with the same pid met them (an exclusive create failed).
(when (sb-posix:getenv "LIPC_BENCH_CODE_SHIFT")
  (loop for (name ns base) in (measure-binding)
        do (format t "row ~A ~F ~F~%" name ns base))
  (finish-output)
  (lipc:close-semaphore *sem*)
  (lipc:close-mutex *mx*)
  (lipc:close-event *ev*)
  (sb-ext:exit :code 0 :abort t))

(defparameter +placements+
  (let ((n (sb-posix:getenv "LIPC_BENCH_PLACEMENTS")))
    (if n (max 1 (parse-integer n)) 5))
  "Processes (code placements) the binding rows are measured in.")

(defun placement-rows (shift)
  "measure-binding's (name lipc-ns base-ns) in a new sbcl whose lipc code is
moved by SHIFT small code objects made first."
  (let* ((out (make-string-output-stream))
         (p (sb-ext:run-program "sbcl" (list "--script" (namestring *load-truename*))
                                :search t :output out :error *error-output*
                                :environment (cons (format nil "LIPC_BENCH_CODE_SHIFT=~D" shift)
                                                   (sb-ext:posix-environ)))))
    (unless (eql 0 (sb-ext:process-exit-code p))
      (error "the placement ~D run failed" shift))
    (with-input-from-string (in (get-output-stream-string out))
      (loop for line = (read-line in nil) while line
            when (and (> (length line) 4) (string= "row " line :end2 4))
              collect (with-input-from-string (l (subseq line 4))
                        (let ((*read-default-float-format* 'double-float))
                          (list (string-downcase (symbol-name (read l))) (read l) (read l))))))))

(defun report-placements (own)
  "The binding rows of this process (OWN, as MEASURE-BINDING gives them) and
of +PLACEMENTS+ - 1 others: every placement's ratio printed, and the median
placement's figures recorded."
  (let ((runs (cons own (loop for shift from 1 below +placements+
                              collect (placement-rows shift)))))
    (loop for (name nil nil base-name) in own
          do (let* ((rows (loop for run in runs
                                collect (find name run :key #'first :test #'string=)))
                    (ratios (mapcar (lambda (r) (/ (second r) (third r))) rows))
                    (mid (nth (position (median ratios) ratios) rows)))
               (format t "lisp  ~D placements ~20A ratios ~{~4,2F~^ ~}  median ~4,2F~%"
                       (length runs) name ratios (median ratios))
               (lipc-bench-record:record
                (format nil "~A (median of ~D code placements)" name (length runs))
                (second mid) "ns/call" base-name (third mid))))))

(report "main" (measure-fast))
(report "worker" (on-worker #'measure-fast))
(defvar *own-binding-rows* (measure-binding))
(report-binding "main" *own-binding-rows*)
(report-binding "worker" (on-worker #'measure-binding))
(let ((main (measure-go)) (worker (on-worker #'measure-go)))
  (format t "lisp  lipc_diag(GO_THREAD) handed off: main ~6,1F us/call  worker ~6,1F us/call  ratio ~4,2F~%"
          main worker (/ main worker))
  (lipc-bench-record:record "lipc_diag(GO_THREAD) handed off (main thread)" main "us/call")
  (lipc-bench-record:record "lipc_diag(GO_THREAD) handed off (worker thread)" worker "us/call"))
(when (> +placements+ 1)
  (report-placements *own-binding-rows*))
(lipc:close-semaphore *sem*)
(lipc:close-mutex *mx*)
(lipc:close-event *ev*)
(finish-output)
