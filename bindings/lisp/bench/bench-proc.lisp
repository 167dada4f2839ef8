;;;; bench-proc.lisp - what spawning and reading a child cost through lipc
;;;; from SBCL, beside SBCL's own sb-ext:run-program, in the same run:
;;;;
;;;;   spawn+wait of /bin/true (median microseconds of N, measured
;;;;     alternately so both sides see the same machine): spawn-process +
;;;;     process-wait + close-process, and run-command (pipes for stdout and
;;;;     stderr, communicate in C), beside (sb-ext:run-program "/bin/true" nil).
;;;;   reading 64 MiB from `head -c 67108864 /dev/zero` (median MB/s of M,
;;;;     each round running every reader once, so all see the same machine):
;;;;     read-octets (lipc_fd_read) in 1 MiB chunks into one buffer, and
;;;;     run-command :output :octets (communicate in C, one copy into Lisp),
;;;;     beside run-program :output :stream + read-sequence in 1 MiB chunks
;;;;     into one buffer that keeps nothing; and run-command :output :octets
;;;;     also beside the same read loop keeping all 64 MiB in one octet
;;;;     vector (read-sequence into fresh 1 MiB vectors, joined at the end):
;;;;     a capture has to keep it all, and in SBCL the first touch of 64 MiB
;;;;     of fresh heap costs about as much as the whole read loop (as
;;;;     tests/bench/bench_proc.c shows both for C); and beside libc's read(2)
;;;;     called through sb-alien on the same pipe, in a loop that reuses one
;;;;     1 MiB malloc'd buffer and in one that keeps all 64 MiB in a buffer
;;;;     grown by doubling (the C bench's two loops).
;;;;
;;;;   a line captured (median microseconds per child, LIPC_BENCH_LINES
;;;;     children, default 1000, alternately): run-command of /bin/echo with
;;;;     :output :string, beside run-program :output :stream read into a
;;;;     string (both check the line).
;;;;
;;;;   sbcl --script bench/bench-proc.lisp [spawns [reads]]     (defaults 300 5)

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))
(load (merge-pathnames "bench-record.lisp" *load-truename*))

(defpackage #:lipc-bench-proc (:use #:cl))
(in-package #:lipc-bench-proc)

(defparameter *args* (rest sb-ext:*posix-argv*))
(defun env-integer (name)
  (ignore-errors (parse-integer (sb-posix:getenv name))))
(defparameter *spawns* (or (ignore-errors (parse-integer (first *args*))) (env-integer "LIPC_BENCH_SPAWNS") 300))
(defparameter *reads* (or (ignore-errors (parse-integer (second *args*))) (env-integer "LIPC_BENCH_READS") 5))
(defparameter *lines* (or (env-integer "LIPC_BENCH_LINES") 1000))
(defconstant +bytes+ (* 64 1024 1024))
(defconstant +chunk+ (* 1024 1024))
(defparameter *head* (list "-c" (princ-to-string +bytes+) "/dev/zero"))

(defun now-us () (/ (lipc::monotonic-ns) 1d3))

(defun median (xs)
  (let ((s (sort (copy-list xs) #'<)))
    (nth (floor (length s) 2) s)))

(defun alternate (a b n)
  "Median microseconds of A and B (functions), run alternately N times each."
  (funcall a) (funcall b)               ; warm up
  (let ((ta '()) (tb '()))
    (dotimes (i n)
      (let ((t0 (now-us)))
        (funcall a)
        (let ((t1 (now-us)))
          (funcall b)
          (push (- t1 t0) ta)
          (push (- (now-us) t1) tb))))
    (values (median ta) (median tb))))

;;; ---- spawn + wait

(defun lipc-spawn-wait ()
  (let ((p (lipc:spawn-process '("/bin/true"))))
    (unless (equal '(0 0) (multiple-value-list (lipc:process-wait p)))
      (error "/bin/true failed"))
    (lipc:close-process p)))

(defun lipc-run ()
  (unless (zerop (lipc:run-command '("/bin/true")))
    (error "/bin/true failed")))

(defun sbcl-run-program ()
  (let ((p (sb-ext:run-program "/bin/true" nil)))
    (unless (eql 0 (sb-ext:process-exit-code p))
      (error "/bin/true failed"))
    (sb-ext:process-close p)))

;;; ---- 64 MiB

(defvar *buffer* (make-array +chunk+ :element-type '(unsigned-byte 8)))

(defun lipc-read-chunks ()
  (let* ((p (lipc:spawn-process (cons "head" *head*) :output :pipe))
         (out (lipc:process-output p))
         (total 0))
    (loop for n = (lipc:read-octets out *buffer*)
          until (zerop n)
          do (incf total n))
    (lipc:process-wait p)
    (lipc:close-process p)
    total))

(defun lipc-run-octets ()
  (length (nth-value 1 (lipc:run-command (cons "head" *head*) :output :octets))))

(defun sbcl-read-chunks ()
  (let* ((p (sb-ext:run-program "head" *head* :search t :output :stream :wait nil))
         (out (sb-ext:process-output p))
         (total 0))
    (loop for n = (read-sequence *buffer* out)
          until (zerop n)
          do (incf total n))
    (sb-ext:process-wait p)
    (sb-ext:process-close p)
    total))

(defun sbcl-read-keep ()
  "A read loop that keeps everything: the bytes land in one octet vector of
exactly their length, as a capture returns them."
  (let* ((p (sb-ext:run-program "head" *head* :search t :output :stream :wait nil))
         (out (sb-ext:process-output p))
         (chunks '())
         (total 0))
    (loop (let* ((chunk (make-array +chunk+ :element-type '(unsigned-byte 8)))
                 (n (read-sequence chunk out)))
            (when (zerop n) (return))
            (push (cons chunk n) chunks)
            (incf total n)))
    (sb-ext:process-wait p)
    (sb-ext:process-close p)
    (let ((all (make-array total :element-type '(unsigned-byte 8))) (at 0))
      (loop for (chunk . n) in (nreverse chunks)
            do (replace all chunk :start1 at :end2 n)
               (incf at n))
      (length all))))

(sb-alien:define-alien-routine ("read" c-read) sb-alien:long
  (fd sb-alien:int) (buf sb-sys:system-area-pointer) (n sb-alien:unsigned-long))
(sb-alien:define-alien-routine ("malloc" c-malloc) sb-sys:system-area-pointer (n sb-alien:unsigned-long))
(sb-alien:define-alien-routine ("realloc" c-realloc) sb-sys:system-area-pointer
  (p sb-sys:system-area-pointer) (n sb-alien:unsigned-long))
(sb-alien:define-alien-routine ("free" c-free) sb-alien:void (p sb-sys:system-area-pointer))

(defun libc-read-loop (keep)
  "libc's read(2) on the child's pipe in 1 MiB reads: into one reused
malloc'd buffer, or, with KEEP, keeping everything in one buffer grown by
doubling (tests/bench/bench_proc.c's read_plain and read_grow)."
  (let* ((p (sb-ext:run-program "head" *head* :search t :output :stream :wait nil))
         (fd (sb-sys:fd-stream-fd (sb-ext:process-output p)))
         (cap (if keep (* 2 +chunk+) +chunk+))
         (buf (c-malloc cap))
         (len 0))
    (when (zerop (sb-sys:sap-int buf)) (error "malloc"))
    (unwind-protect
         (loop
           (when (and keep (< (- cap len) +chunk+))
             (setf cap (* cap 2)
                   buf (c-realloc buf cap))
             (when (zerop (sb-sys:sap-int buf)) (error "realloc")))
           (let ((r (c-read fd (if keep (sb-sys:sap+ buf len) buf) +chunk+)))
             (when (<= r 0) (return))
             (incf len r)))
      (c-free buf))
    (sb-ext:process-wait p)
    (sb-ext:process-close p)
    len))

(defun libc-read-chunks () (libc-read-loop nil))
(defun libc-read-keep () (libc-read-loop t))

(defun mb/s (functions n)
  "Median MB/s of each of FUNCTIONS (each returns the bytes it read), over N
rounds that run every function once, in turn (from a different one each
round), each after a GC."
  (mapc #'funcall functions)            ; warm up
  (let* ((k (length functions))
         (fs (coerce functions 'vector))
         (rates (make-array k :initial-element '())))
    (dotimes (round n)
      ;; Each round starts one further along, so no reader always follows
      ;; the same one.
      (dotimes (j k)
        (let ((i (mod (+ round j) k)))
          ;; Each starts on an empty nursery: the garbage of the one before
          ;; (64 MiB vectors) is not collected on its time.
          (sb-ext:gc)
          (let* ((t0 (now-us)) (bytes (funcall (aref fs i))))
            (unless (= bytes +bytes+) (error "read ~D bytes, not ~D" bytes +bytes+))
            (push (/ bytes (- (now-us) t0)) (aref rates i))))))
    (map 'list #'median rates)))

;;; ---- a line per child

(defparameter *line* (format nil "a line of output~%"))

(defun lipc-run-line ()
  (multiple-value-bind (status out) (lipc:run-command '("/bin/echo" "a line of output") :output :string)
    (unless (and (eql status 0) (string= out *line*)) (error "echo's line: ~S" out))))

(defun sbcl-run-line ()
  (let* ((p (sb-ext:run-program "/bin/echo" '("a line of output") :output :stream :wait nil))
         (out (with-output-to-string (s)
                (loop for c = (read-char (sb-ext:process-output p) nil)
                      while c do (write-char c s)))))
    (sb-ext:process-wait p)
    (sb-ext:process-close p)
    (unless (string= out *line*) (error "echo's line (run-program): ~S" out))))

;;; ---- report

(defun us-row (label ours base base-label)
  (format t "lisp  ~30A ~9,1F us  baseline ~9,1F us (~A)  ratio ~4,2F~%"
          label ours base base-label (/ ours base))
  (lipc-bench-record:record label ours "us" base-label base))

(defun mb-row (label ours base base-label)
  ;; a ratio above 1 means lipc is faster
  (format t "lisp  ~30A ~9,1F MB/s  baseline ~9,1F MB/s (~A)  ratio ~4,2F~%"
          label ours base base-label (/ ours base))
  (lipc-bench-record:record label ours "MB/s" base-label base))

(format t "# spawn and read costs from ~A ~A, lipc ~A (~(~A~) mode); spawns: median of ~D, ~
           reads of 64 MiB: median of ~D~%"
        (lisp-implementation-type) (lisp-implementation-version) (lipc:version)
        (lipc:call-mode) *spawns* *reads*)
(multiple-value-bind (ours base) (alternate #'lipc-spawn-wait #'sbcl-run-program *spawns*)
  (us-row "spawn+wait /bin/true" ours base "sb-ext:run-program"))
(multiple-value-bind (ours base) (alternate #'lipc-run #'sbcl-run-program *spawns*)
  (us-row "run-command /bin/true" ours base "sb-ext:run-program"))
(destructuring-bind (base kept chunks octets c-loop c-kept)
    (mb/s (list #'sbcl-read-chunks #'sbcl-read-keep #'lipc-read-chunks #'lipc-run-octets
                #'libc-read-chunks #'libc-read-keep)
          *reads*)
  (mb-row "read-octets 1 MiB chunks" chunks base
          "run-program :stream read-sequence")
  (mb-row "run-command :output :octets" octets base
          "run-program :stream read-sequence")
  (mb-row "run-command :output :octets" octets kept
          "run-program :stream read-sequence, kept")
  (mb-row "run-command :output :octets" octets c-loop "libc read(2) loop")
  (mb-row "run-command :output :octets" octets c-kept "libc read(2), kept"))
(multiple-value-bind (ours base) (alternate #'lipc-run-line #'sbcl-run-line *lines*)
  (us-row "a line captured, run-command" ours base "run-program :output :stream"))
(finish-output)
