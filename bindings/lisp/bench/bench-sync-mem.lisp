;;;; bench-sync-mem.lisp - what lipc's semaphores, mutexes, shared memory and
;;;; file locks cost from SBCL, each beside the nearest thing SBCL has:
;;;;   - uncontended semaphore post+wait and mutex lock+unlock pairs (the
;;;;     public functions; the raw C calls for the FFI floor) beside
;;;;     sb-thread's semaphore and mutex (in-process only, no kernel);
;;;;   - copying 256 MiB from a Lisp octet vector into lipc shared memory
;;;;     through its pointer (memcpy, and SHM-WRITE-OCTETS) beside the same
;;;;     memcpy into a plain shm_open-style mapping made with sb-posix; and
;;;;     the memory stream's write path in 1 MiB chunks beside 1 MiB memcpys;
;;;;   - an uncontended file lock+unlock pair beside raw fcntl (F_OFD_SETLK
;;;;     and classic F_SETLK) through sb-posix.
;;;; Medians of 7 rounds; ratio = lipc / baseline.
;;;;
;;;;   sbcl --script bench/bench-sync-mem.lisp

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))
(load (merge-pathnames "bench-record.lisp" *load-truename*))

(defpackage #:lipc-bench-sync-mem (:use #:cl))
(in-package #:lipc-bench-sync-mem)

(defconstant +rounds+ 7)

(defun median (xs)
  (let ((s (sort (copy-list xs) #'<)))
    (nth (floor (length s) 2) s)))

(defmacro ns-per-op (n &body body)
  "Median over +ROUNDS+ rounds of N evaluations of BODY, in ns per evaluation."
  `(median
    (loop repeat +rounds+
          collect (let ((t0 (lipc::monotonic-ns)))
                    (dotimes (i ,n) (declare (fixnum i)) ,@body)
                    (/ (float (- (lipc::monotonic-ns) t0) 1d0) ,n)))))

(defmacro ms-once (&body body)
  "Median over +ROUNDS+ rounds of one evaluation of BODY, in ms."
  `(median (loop repeat +rounds+
                 collect (let ((t0 (lipc::monotonic-ns)))
                           ,@body
                           (/ (float (- (lipc::monotonic-ns) t0) 1d0) 1d6)))))

(defun row (name value unit base-name base)
  (format t "lisp  ~28A ~9,1F ~A  ~22A ~9,1F ~A  ratio ~5,2F~%"
          name value unit base-name base unit (/ value base))
  (lipc-bench-record:record name value unit base-name base))

(defvar *tag* (format nil "lipc-bench-~D" (sb-posix:getpid)))

;;; ---- pairs

(defun bench-pairs ()
  (let ((n 200000))
    (lipc:with-semaphore (s (format nil "~A-sem" *tag*) :create t :unlink-on-close t)
      (lipc:with-open-mutex (m (format nil "~A-mx" *tag*) :create t :unlink-on-close t)
        (let* ((sbs (sb-thread:make-semaphore))
               (sbm (sb-thread:make-mutex))
               (hs (lipc:object-handle s))
               (hm (lipc:object-handle m))
               (sb-sem (ns-per-op n (sb-thread:signal-semaphore sbs)
                         (sb-thread:wait-on-semaphore sbs)))
               (sb-mutex (ns-per-op n (sb-thread:grab-mutex sbm) (sb-thread:release-mutex sbm))))
          (row "sem post+wait" (ns-per-op n (lipc:semaphore-post s) (lipc:semaphore-wait s :timeout 0))
               "ns" "sb-thread semaphore" sb-sem)
          (row "sem post+wait (raw C)" (ns-per-op n (lipc::%sem-post hs) (lipc::%sem-wait hs 0))
               "ns" "sb-thread semaphore" sb-sem)
          (row "mutex lock+unlock" (ns-per-op n (lipc:mutex-lock m :timeout 0) (lipc:mutex-unlock m))
               "ns" "sb-thread mutex" sb-mutex)
          (row "with-mutex" (ns-per-op n (lipc:with-mutex (m) nil))
               "ns" "sb-thread with-mutex" (ns-per-op n (sb-thread:with-mutex (sbm) nil)))
          (row "mutex lock+unlock (raw C)"
               (ns-per-op n (lipc::%mutex-lock hm 0 (cffi:null-pointer)) (lipc::%mutex-unlock hm))
               "ns" "sb-thread mutex" sb-mutex))))))

;;; ---- 256 MiB copies

(defconstant +big+ (* 256 1024 1024))
(defconstant +chunk+ (* 1024 1024))

(defun plain-mapping (name size)
  "A plain POSIX shared memory mapping (what shm_open + mmap give), made
with sb-posix: (values pointer cleanup-function)."
  (let* ((path (format nil "/dev/shm/~A" name))
         (fd (sb-posix:open path (logior sb-posix:o-rdwr sb-posix:o-creat sb-posix:o-excl) #o600)))
    (sb-posix:ftruncate fd size)
    (let ((p (sb-posix:mmap nil size (logior sb-posix:prot-read sb-posix:prot-write)
                            sb-posix:map-shared fd 0)))
      (sb-posix:close fd)
      (values p (lambda () (sb-posix:munmap p size) (sb-posix:unlink path))))))

(defun memcpy (to from n)
  (cffi:foreign-funcall "memcpy" :pointer to :pointer from :size n :pointer))

(defun bench-copies ()
  (let ((src (make-array +big+ :element-type '(unsigned-byte 8))))
    (dotimes (i +big+ ) (setf (aref src i) (logand i 255)))
    (multiple-value-bind (plain cleanup) (plain-mapping (format nil "~A-plain" *tag*) +big+)
      (unwind-protect
           (lipc:with-shared-memory (shm (format nil "~A-shm" *tag*) :create t :size +big+
                                                                   :unlink-on-close t)
             (let ((p (lipc:shared-memory-pointer shm))
                   (mib (/ +big+ 1048576)))
               (cffi:with-pointer-to-vector-data (s src)
                 ;; touch every page once, so no round pays the first faults
                 (memcpy p s +big+)
                 (memcpy plain s +big+)
                 (let ((base (ms-once (memcpy plain s +big+))))
                   (row (format nil "~D MiB memcpy via pointer" mib) (ms-once (memcpy p s +big+))
                        "ms" "memcpy, plain mapping" base)))
               (let ((base (ms-once (cffi:with-pointer-to-vector-data (s src) (memcpy plain s +big+)))))
                 (row (format nil "~D MiB shm-write-octets" mib) (ms-once (lipc:shm-write-octets shm 0 src))
                      "ms" "memcpy, plain mapping" base))
               (let ((chunk (make-array +chunk+ :element-type '(unsigned-byte 8) :initial-element 7))
                     (st (lipc:make-memory-stream shm)))
                 (let ((base (ms-once (cffi:with-pointer-to-vector-data (c chunk)
                                        (dotimes (i (/ +big+ +chunk+))
                                          (memcpy (cffi:inc-pointer plain (* i +chunk+)) c +chunk+))))))
                   (row (format nil "~D MiB stream, 1 MiB writes" mib)
                        (ms-once (file-position st 0)
                                 (dotimes (i (/ +big+ +chunk+)) (write-sequence chunk st)))
                        "ms" "1 MiB memcpys, plain" base)))))
        (funcall cleanup)))))

;;; ---- file locks

(defconstant +f-ofd-setlk+ 37 "Linux F_OFD_SETLK")

(defun bench-locks ()
  (let ((path (format nil "/tmp/~A.lock" *tag*)) (n 100000))
    (with-open-file (out path :direction :output :if-exists :supersede) (write-line "x" out))
    (unwind-protect
         (lipc:with-open-file-lock (l path)
           (let* ((fd (sb-posix:open path sb-posix:o-rdwr))
                  (wr (make-instance 'sb-posix:flock :type sb-posix:f-wrlck :whence sb-posix:seek-set
                                                     :start 0 :len 0))
                  (un (make-instance 'sb-posix:flock :type sb-posix:f-unlck :whence sb-posix:seek-set
                                                     :start 0 :len 0)))
             (unwind-protect
                  (let ((ofd (ignore-errors
                              (ns-per-op n (sb-posix:fcntl fd +f-ofd-setlk+ wr)
                                (sb-posix:fcntl fd +f-ofd-setlk+ un))))
                        (classic (ns-per-op n (sb-posix:fcntl fd sb-posix:f-setlk wr)
                                   (sb-posix:fcntl fd sb-posix:f-setlk un)))
                        (lipc (ns-per-op n (lipc:file-lock-acquire l :timeout 0)
                                (lipc:file-lock-release l))))
                    (when ofd
                      (row "file lock+unlock" lipc "ns" "sb-posix F_OFD_SETLK" ofd))
                    (row "file lock+unlock" lipc "ns" "sb-posix F_SETLK" classic)
                    (row "with-file-lock" (ns-per-op n (lipc:with-file-lock (l) nil))
                         "ns" "sb-posix F_SETLK" classic))
               (sb-posix:close fd))))
      (delete-file path))))

(format t "# lipc from SBCL ~A: sync and memory, medians of ~D rounds~%"
        (lisp-implementation-version) +rounds+)
(bench-pairs)
(bench-copies)
(bench-locks)
(finish-output)
