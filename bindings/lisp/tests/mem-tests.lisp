;;;; mem-tests.lisp - shared memory, mapped files, file locks, and the
;;;; memory stream, across threads, processes and languages (helpers in
;;;; sync-tests.lisp).

(in-package #:lipc-tests)

(def-suite :mem :in :lipc)
(in-suite :mem)

(defun octets (string) (sb-ext:string-to-octets string :external-format :latin-1))
(defun text (octets) (sb-ext:octets-to-string (coerce octets '(vector (unsigned-byte 8)))
                                              :external-format :latin-1))

(defun c-string-at (pointer offset)
  (cffi:foreign-string-to-lisp (cffi:inc-pointer pointer offset)))

(defun temp-path (tag)
  (format nil "/tmp/lipc-lisp-~D-~D-~A" (sb-posix:getpid)
          (sb-ext:atomic-incf (car *name-counter*)) tag))

(defmacro with-temp-file ((var tag &optional contents) &body body)
  "VAR: a fresh file path holding CONTENTS (a string; NIL: empty), deleted after."
  `(let ((,var (temp-path ,tag)))
     (with-open-file (out ,var :direction :output :if-exists :supersede
                               :element-type '(unsigned-byte 8))
       (when ,contents (write-sequence (octets ,contents) out)))
     (unwind-protect (progn ,@body)
       (when (probe-file ,var) (delete-file ,var)))))

(defun file-text (path)
  (with-open-file (in path :element-type '(unsigned-byte 8))
    (let ((v (make-array (file-length in) :element-type '(unsigned-byte 8))))
      (read-sequence v in)
      (text v))))

(defun file-mode (path)
  (logand #o777 (sb-posix:stat-mode (sb-posix:stat path))))

;;; ---- shared memory

(test shm-create-exclusive-missing-and-sizes
  (let ((name (unique-name "shm")))
    (signals lipc-not-found (open-shared-memory name))
    (signals (lipc-invalid-argument "size 0 to create") (open-shared-memory name :create t :size 0))
    (signals (lipc-invalid-argument "negative size") (open-shared-memory name :create t :size -5))
    (signals type-error (open-shared-memory name :create t :size 1.5))
    (with-shared-memory (s name :create t :exclusive t :size 4096 :unlink-on-close t)
      (is (= +kind-shm+ (handle-kind s)))
      (signals lipc-exists (open-shared-memory name :create t :exclusive t :size 4096))
      (is (= 4096 (shared-memory-size s)))
      (is (not (cffi:null-pointer-p (shared-memory-pointer s))))
      (is (every #'zerop (shm-read-octets s 0 4096)) "new memory reads as zeros")
      (with-shared-memory (again name :create t :size 100) ; exists: keeps its size
        (is (= 4096 (shared-memory-size again))))
      (with-shared-memory (opened name)
        (is (= 4096 (shared-memory-size opened)))
        (shm-write-octets opened 10 (octets "via another handle"))
        (is (string= "via another handle" (c-string-at (shared-memory-pointer s) 10))))
      (is (search "4096 bytes" (princ-to-string s))))
    (signals lipc-not-found (open-shared-memory name))
    (signals lipc-not-found (unlink-shared-memory name))))

(test shm-mode-unlink-and-unlink-on-close
  (let* ((name (unique-name "uoc"))
         (path (format nil "/dev/shm/~A" name)))
    (let ((creator (open-shared-memory name :create t :size 10 :mode #o640 :unlink-on-close t)))
      (is (= #o640 (file-mode path)))
      (close-shared-memory (open-shared-memory name :unlink-on-close t)) ; not the creator
      (is (probe-file path))
      (close-shared-memory creator)
      (is (not (probe-file path)) "unlinked when its creator closed"))
    (with-shared-memory (s name :create t :size 10)
      (unlink-shared-memory name)
      (is (not (probe-file path)))
      (shm-write-octets s 0 (octets "still"))
      (is (string= "still" (text (shm-read-octets s 0 5))) "an unlinked object keeps working"))))

(test shm-octets-in-place-and-bounds
  (with-shared-memory (s (unique-name "oct") :create t :size 64 :unlink-on-close t)
    (is (= 4 (shm-write-octets s 60 (octets "abcd") :start 0 :end 4)) "returns the count")
    (is (= 2 (shm-write-octets s 0 (octets "xyz") :start 1)))
    (is (string= "yz" (text (shm-read-octets s 0 2))))
    (is (string= "abcd" (text (shm-read-octets s 60 4))))
    ;; into a given vector, at an index; from and into non-simple vectors
    (let ((v (make-array 6 :element-type '(unsigned-byte 8) :initial-element 0)))
      (is (eq v (shm-read-octets s 60 4 v 2)))
      (is (equalp #(0 0 97 98 99 100) v)))
    (let ((adj (make-array 3 :adjustable t :fill-pointer 3 :initial-contents '(1 2 3))))
      (shm-write-octets s 20 adj)
      (is (equalp #(1 2 3) (shm-read-octets s 20 3 (make-array 3)))))
    ;; out of the view: an error, and nothing written
    (let ((c (handler-case (shm-write-octets s 62 (octets "abcd")) (lipc-error (e) e))))
      (is (typep c 'lipc-out-of-range))
      (is (search "outside" (lipc-error-message c))))
    (is (string= "abcd" (text (shm-read-octets s 60 4))) "nothing written")
    (signals lipc-out-of-range (shm-read-octets s 60 5))
    (signals lipc-out-of-range (shm-read-octets s 65 0))
    (signals type-error (shm-read-octets s -1 2))
    (signals type-error (shm-write-octets s 0 (vector 1 2 300)))
    (signals type-error (shm-write-octets s 0 "a string"))
    (signals error (shm-read-octets s 0 4 (make-array 2 :element-type '(unsigned-byte 8))))))

(test shm-is-posix-shared-memory
  ;; lipc's "x" is shm_open("/x"), the file /dev/shm/x: map it the plain way
  (with-shared-memory (s (unique-name "posix") :create t :size 4096 :unlink-on-close t)
    (let* ((fd (sb-posix:open (format nil "/dev/shm/~A" (shared-memory-name s)) sb-posix:o-rdwr))
           (q (sb-posix:mmap nil 4096 (logior sb-posix:prot-read sb-posix:prot-write)
                             sb-posix:map-shared fd 0)))
      (sb-posix:close fd)
      (unwind-protect
           (progn
             (cffi:lisp-string-to-foreign "via a plain mmap" q 64)
             (is (string= "via a plain mmap" (c-string-at (shared-memory-pointer s) 0)))
             (shm-write-octets s 100 (octets (format nil "from lipc~C" (code-char 0))))
             (is (string= "from lipc" (c-string-at q 100))))
        (sb-posix:munmap q 4096)))))

(defparameter *py-shm* "
import mmap, os, sys
fd = os.open('/dev/shm/' + sys.argv[1], os.O_RDWR)   # lipc's shm 'x' is POSIX shm '/x'
m = mmap.mmap(fd, 0)
os.close(fd)
print(m[0:9].decode(), flush=True)
m[100:117] = b'written by python'
m.close()
")

(test shm-bytes-written-by-python-read-here
  (if (not (python-ok-p))
      (skip "python3 cannot import the Python binding")
      (with-shared-memory (s (unique-name "py") :create t :size 4096 :unlink-on-close t)
        (shm-write-octets s 0 (octets "from lisp"))
        (with-child (py (start-python *py-shm* (shared-memory-name s)))
          (is (equal "from lisp" (child-line py)) "Python read what Lisp wrote (~A)" *python-silent*)
          (is (eql 0 (child-exit py)))
          (is (string= "written by python" (text (shm-read-octets s 100 17))))))))

(test shm-grown-by-another-process
  (if (not (roles-exe))
      (skip "cc cannot build the C roles program")
      (with-shared-memory (s (unique-name "grow") :create t :size 4096 :unlink-on-close t)
        (let ((old (shared-memory-pointer s)))
          (with-child (c (start-role "shm-writer" (shared-memory-name s)))
            (is (equal "grown" (child-line c)))
            (is (eql 0 (child-exit c))))
          (is (string= "written by C" (c-string-at old 0)) "the child's bytes, in place")
          (is (= 4096 (shared-memory-size s)) "not grown here before a refresh")
          (signals lipc-out-of-range (shm-read-octets s (- (expt 2 20) 16) 12))
          (is (= (expt 2 20) (shared-memory-refresh s)))
          (is (= (expt 2 20) (shared-memory-size s)))
          (is (string= "end of grown" (text (shm-read-octets s (- (expt 2 20) 16) 12))))
          (is (string= "written by C" (c-string-at (shared-memory-pointer s) 0)))
          (is (string= "written by C" (c-string-at old 0)) "the earlier view is still valid")))))

(test shm-grow-and-refresh-in-process
  (let ((name (unique-name "g2")))
    (with-shared-memory (a name :create t :size 4096 :unlink-on-close t)
      (with-shared-memory (b name)
        (shm-write-octets a 0 (octets "kept"))
        (let ((old (shared-memory-pointer a)))
          (is (= 65536 (shared-memory-grow a 65536)))
          (is (= 65536 (shared-memory-size a)))
          (is (string= "kept" (text (shm-read-octets a 0 4))))
          (is (string= "kept" (c-string-at old 0)) "old pointer valid after the grow")
          (shm-write-octets a 65000 (octets "tail"))
          (is (= 4096 (shared-memory-size b)))
          (is (= 65536 (shared-memory-refresh b)))
          (is (string= "tail" (text (shm-read-octets b 65000 4))))
          (is (= 65536 (shared-memory-refresh b)) "refresh without a change"))
        (signals (lipc-invalid-argument "no shrink") (shared-memory-grow a 100))
        (signals (lipc-invalid-argument "not above") (shared-memory-grow a 65536))
        (signals (lipc-invalid-argument "zero") (shared-memory-grow a 0))))))

(test shm-bad-input-and-closed
  (dolist (bad (list "" "bad/name" "bad name" ".x"))
    (signals lipc-invalid-argument (open-shared-memory bad :create t :size 10))
    (signals lipc-invalid-argument (unlink-shared-memory bad)))
  (signals lipc-name-too-long (open-shared-memory (make-string 201 :initial-element #\s) :create t :size 10))
  (let ((s (open-shared-memory (unique-name "closed") :create t :size 10 :unlink-on-close t)))
    (is (eq t (close-shared-memory s)))
    (is (eq nil (close-shared-memory s)))
    (is (search "(closed)" (princ-to-string s)))
    (dolist (f (list #'shared-memory-pointer #'shared-memory-size #'shared-memory-refresh
                     (lambda (s) (shared-memory-grow s 100))
                     (lambda (s) (shm-read-octets s 0 1))
                     (lambda (s) (shm-write-octets s 0 (octets "x")))
                     #'make-memory-stream))
      (signals lipc-closed (funcall f s)))))

;;; ---- the memory stream

(test memory-stream-over-shared-memory
  (with-shared-memory (s (unique-name "st") :create t :size 32 :unlink-on-close t)
    (let ((st (make-memory-stream s)))
      (is (equal '(unsigned-byte 8) (stream-element-type st)))
      (is (input-stream-p st))
      (is (output-stream-p st))
      (is (= 0 (file-position st)))
      (write-sequence (octets "hello, ") st)
      (write-byte 33 st)
      (is (= 8 (file-position st)))
      (is (string= "hello, !" (text (shm-read-octets s 0 8))) "written in place")
      (is (eq t (file-position st 0)))
      (let ((v (make-array 5 :element-type '(unsigned-byte 8))))
        (is (= 5 (read-sequence v st)))
        (is (string= "hello" (text v))))
      (is (= (char-code #\,) (read-byte st)))
      (is (eq t (file-position st :end)))
      (is (= 32 (file-position st)))
      (is (eq :eof (read-byte st nil :eof)))
      (is (eq nil (file-position st 33)) "past the end: refused")
      (is (= 32 (file-position st)))
      (file-position st 30)
      (let ((v (make-array 5 :element-type '(unsigned-byte 8) :initial-element 9)))
        (is (= 2 (read-sequence v st)) "a short read at the end")
        (file-position st 30)
        (signals lipc-out-of-range (write-sequence (octets "abc") st))
        (is (= 30 (file-position st)) "nothing written, position kept")
        (write-sequence (octets "ab") st)
        (signals lipc-out-of-range (write-byte 1 st)))
      (finish-output st)
      (is (eq t (close st)))
      (is (not (open-stream-p st)))
      (signals lipc-closed (read-byte st nil)))
    ;; a window of the memory; the object closed under it
    (let ((st (make-memory-stream s :start 7 :end 12)))
      (file-position st :end)
      (is (= 5 (file-position st)))
      (file-position st 0)
      (is (= 33 (read-byte st)))
      (signals lipc-out-of-range (make-memory-stream s :start 10 :end 40))
      (signals type-error (make-memory-stream s :start -1))
      (close-shared-memory s)
      (signals lipc-closed (read-byte st)))))

(test memory-stream-follows-a-grown-shared-memory
  (with-shared-memory (s (unique-name "stg") :create t :size 8 :unlink-on-close t)
    (let ((st (make-memory-stream s)))
      (file-position st :end)
      (is (= 8 (file-position st)))
      (shared-memory-grow s 16)
      (write-sequence (octets "grown") st)
      (is (string= "grown" (text (shm-read-octets s 8 5)))))))

(test memory-stream-large-copies
  (with-shared-memory (s (unique-name "big") :create t :size (* 3 1024 1024) :unlink-on-close t)
    (let ((chunk (make-array (* 1024 1024) :element-type '(unsigned-byte 8)))
          (st (make-memory-stream s)))
      (dotimes (i (length chunk)) (setf (aref chunk i) (mod (* i 7) 251)))
      (dotimes (i 3) (write-sequence chunk st))
      (file-position st (* 1024 1024))
      (let ((back (make-array (* 1024 1024) :element-type '(unsigned-byte 8))))
        (is (= (length back) (read-sequence back st)))
        (is (equalp chunk back))))))

;;; ---- mapped files

(test mmap-shared-writes-reach-other-processes-and-the-file
  (with-temp-file (path "map")
    (let ((ps (page-size)))
      (is (<= 4096 ps))
      (let ((c (handler-case (map-file path) (lipc-error (e) e))))
        (is (typep c 'lipc-invalid-argument))
        (is (search "empty" (lipc-error-message c))))
      (with-mapped-file (m path :access :write :extend t :length (* 2 ps))
        (is (= +kind-mmap+ (handle-kind m)))
        (is (= (* 2 ps) (mapped-size m)))
        (is (= (* 2 ps) (with-open-file (in path) (file-length in))) "extended")
        (shm-write-octets m 0 (octets "parent"))
        (if (not (python-ok-p))
            (skip "python3 missing: no other process")
            (with-child (py (start-python "
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 0)
os.close(fd)
print(m[0:6].decode(), flush=True)
m[0:5] = b'CHILD'
m.close()
" path))
              (is (equal "parent" (child-line py)) "the other process saw Lisp's write (~A)" *python-silent*)
              (is (eql 0 (child-exit py)))
              (is (string= "CHILD" (text (shm-read-octets m 0 5))) "its write, seen here")))
        (flush-mapping m)
        (flush-mapping m :offset 10 :length 100 :async t)
        (signals (lipc-invalid-argument "flush outside") (flush-mapping m :length (* 3 ps)))
        (is (string= (if (python-ok-p) "CHILDt" "parent") (subseq (file-text path) 0 6))
            "in the file after the flush")
        ;; copy-on-write: private
        (with-mapped-file (cow path :access :copy)
          (shm-write-octets cow 0 (octets "PRIVATE"))
          (is (string= "PRIVATE" (text (shm-read-octets cow 0 7))))
          (flush-mapping cow)
          (is (string/= "PRIVATE" (subseq (file-text path) 0 7)) "the file did not change")
          (is (string/= "PRIVATE" (text (shm-read-octets m 0 7))) "nor the shared mapping"))
        ;; a window from a page offset to the end
        (with-mapped-file (r path :offset ps)
          (is (= ps (mapped-size r)))
          (advise-mapping r :sequential)
          (advise-mapping r :willneed :offset 0 :length ps)
          (signals type-error (advise-mapping r :bogus))
          (shm-write-octets m ps (octets "page two"))
          (is (string= "page two" (text (shm-read-octets r 0 8)))))))))

(test mmap-create-and-pathnames
  (let ((path (temp-path "new")))
    (unwind-protect
         (progn
           (with-mapped-file (m (pathname path) :access :write :create t :extend t :length 100
                                                 :mode #o600)
             (is (= 100 (mapped-size m)))
             (shm-write-octets m 0 (octets "created"))
             (is (search "write" (princ-to-string m))))
           (is (= 100 (with-open-file (in path) (file-length in))))
           (is (= #o600 (file-mode path)))
           (is (string= "created" (subseq (file-text path) 0 7))))
      (when (probe-file path) (delete-file path)))))

(test mmap-bad-input-and-modes
  (with-temp-file (path "bad" "0123456789")
    (let ((ps (page-size)))
      (signals (lipc-invalid-argument "unaligned") (map-file path :offset 1))
      (signals (lipc-invalid-argument "negative") (map-file path :offset (- ps)))
      (signals (lipc-invalid-argument "offset past the end") (map-file path :offset (* 4 ps)))
      (signals (lipc-invalid-argument "length past the end") (map-file path :length (* 3 ps)))
      (signals lipc-not-found (map-file "/nonexistent/lipc/file"))
      (signals (lipc-invalid-argument "a directory") (map-file "/tmp"))
      (signals type-error (map-file path :access :append))
      (signals type-error (map-file path :access :write :offset "0"))
      (with-mapped-file (r path)
        (is (= 10 (mapped-size r)))
        (is (eq :read (mapped-file-access r)))
        (is (string= "0123456789" (text (shm-read-octets r 0 10))))
        (signals (lipc-permission-denied "write through a read-only map")
          (shm-write-octets r 0 (octets "x")))
        (let ((st (make-memory-stream r)))
          (is (not (output-stream-p st)))
          (signals lipc-permission-denied (write-byte 1 st))
          (is (= 48 (read-byte st)))))
      (let ((m (map-file path :access :write)))
        (close-mapping m)
        (is (eq nil (close-mapping m)))
        (dolist (f (list #'mapped-pointer #'mapped-size #'flush-mapping
                         (lambda (m) (advise-mapping m :normal))
                         (lambda (m) (shm-read-octets m 0 1))))
          (signals lipc-closed (funcall f m)))))))

;;; ---- file locks

(defparameter *py-lockf* "
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
busy = False
deadline = time.monotonic() + 10
while True:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # a classic fcntl lock
        break
    except OSError:
        if not busy:
            print('busy', flush=True)
            busy = True
        if time.monotonic() > deadline:
            sys.exit(3)
        time.sleep(0.005)
print('got', flush=True)
sys.stdin.readline()      # hold it until Lisp says
")

(test flock-handles-exclude-each-other
  (with-temp-file (path "lk" "data")
    (with-open-file-lock (a path)
      (with-open-file-lock (b path)
        (is (= +kind-flock+ (handle-kind a)))
        (is (eq t (file-lock-acquire a)))
        (is (eq nil (file-lock-acquire b :exclusive nil :offset 0 :length 10 :timeout 0)))
        (multiple-value-bind (got secs) (timed (file-lock-acquire b :timeout 0.05))
          (is (eq nil got))
          (is (<= 0.05 secs (+ 0.05 *late*)) "took ~,4F s" secs))
        (with-open-file (s path :element-type '(unsigned-byte 8)) (read-byte s nil)) ; another fd of the file, closed
        (is (eq nil (file-lock-acquire b :timeout 0)) "closing another fd does not drop it")
        ;; a waiting thread gets it within a few ms of the release
        (let* ((got-at nil)
               (waiter (spawn (lambda ()
                                (when (file-lock-acquire b :timeout 5) (setf got-at (now)))
                                (file-lock-release b)))))
          (sleep 0.06)
          (let ((released (now)))
            (file-lock-release a)
            (join waiter)
            (is (and got-at (< (- got-at released) 0.03)) "the waiter took ~,1F ms"
                (and got-at (* 1000 (- got-at released))))))
        (is (eq t (file-lock-acquire a :offset 100 :length 10 :timeout 0)))
        (is (eq t (file-lock-acquire b :offset 200 :length 10 :timeout 0)) "disjoint ranges")
        (file-lock-release a)
        (file-lock-release b)
        (is (eq t (file-lock-acquire a :exclusive nil :timeout 0)))
        (is (eq t (file-lock-acquire b :exclusive nil :length 50 :timeout 0)) "shared + shared")
        (is (eq nil (file-lock-acquire b :length 50 :timeout 0)) "exclusive over another's shared")
        (file-lock-release a)
        (is (eq t (file-lock-acquire b :length 50 :timeout 0)) "upgraded once alone")))))

(test flock-threads-each-with-a-handle-exclude-each-other
  (with-temp-file (path "thr" "0")
    (let* ((inside (list 0)) (overlaps (list 0))
           (threads (loop repeat 3
                          collect (spawn (lambda ()
                                           (with-open-file-lock (l path)
                                             (dotimes (i 30)
                                               (with-file-lock (l :timeout 10)
                                                 (when (> (sb-ext:atomic-incf (car inside)) 0)
                                                   (sb-ext:atomic-incf (car overlaps)))
                                                 (sleep 0.0005)
                                                 (sb-ext:atomic-decf (car inside)))))
                                           :done)))))
      (is (equal '(:done :done :done) (mapcar (lambda (th) (join th 60)) threads)))
      (is (= 0 (car overlaps))))))

(test flock-contention-with-another-process
  (if (not (python-ok-p))
      (skip "python3 missing")
      (with-temp-file (path "py" "data")
        (with-open-file-lock (l path)
          (is (eq t (file-lock-acquire l)))
          (with-child (py (start-child "python3" (list "-c" *py-lockf* path) :python t :input :stream))
            (is (equal "busy" (child-line py)) "Python's lockf sees Lisp's lock (~A)" *python-silent*)
            (file-lock-release l)
            (multiple-value-bind (line secs) (timed (child-line py 5))
              (is (equal "got" line))
              (is (< secs 1)))
            (is (eq nil (file-lock-acquire l :timeout 0)) "Lisp sees Python's lock")
            (is (eq nil (file-lock-acquire l :exclusive nil :timeout 0.02)))
            ;; Python exits: its lock goes
            (write-line "" (sb-ext:process-input py))
            (finish-output (sb-ext:process-input py))
            (is (eq t (file-lock-acquire l :timeout 5)))
            (is (eql 0 (child-exit py))))))))

(defun flock1-p ()
  "Whether flock(1) from util-linux is on the PATH."
  (ignore-errors
   (eql 0 (sb-ext:process-exit-code
           (sb-ext:run-program "sh" '("-c" "command -v flock") :search t :output nil :error nil)))))

(defun flock1 (&rest args)
  "flock(1)'s exit code for ARGS."
  (sb-ext:process-exit-code (sb-ext:run-program "flock" args :search t :output nil :error nil)))

(defparameter *py-filelock* "
import sys
try:
    import filelock
except ImportError:
    print('nofilelock', flush=True); sys.exit(0)
l = filelock.FileLock(sys.argv[1])
try:
    l.acquire(timeout=0.05); print('got', flush=True)
except filelock.Timeout:
    print('timeout', flush=True)
")

(test flock-kind-meets-flock1-and-filelock
  (with-temp-file (path "wh" "data")
    (with-open-file-lock (a path :kind :flock :access :read)
      (with-open-file-lock (b path :kind :flock)
        (is (eq :flock (file-lock-kind a)))
        (is (search "flock" (princ-to-string a)))
        (is (eq t (file-lock-acquire a :timeout 0)) "exclusive on a read-only handle")
        (is (eq nil (file-lock-acquire b :exclusive nil :timeout 0)))
        (with-open-file-lock (o path)
          (is (eq t (file-lock-acquire o :timeout 0)) "fcntl locks are apart from flock locks"))
        (signals lipc-invalid-argument (file-lock-acquire a :length 10 :timeout 0))
        (signals lipc-invalid-argument (file-lock-release a :offset 1))
        (when (flock1-p)
          (is (eql 1 (flock1 "-n" path "true")) "flock(1) is kept out"))
        (when (python-ok-p)
          (with-child (py (start-child "python3" (list "-c" *py-filelock* path) :python t))
            (let ((line (child-line py)))
              (unless (equal line "nofilelock")
                (is (equal "timeout" line) "the filelock package is kept out")))))
        (file-lock-release a)
        (when (flock1-p)
          (is (eql 0 (flock1 "-n" path "true")) "flock(1) gets it after the release")
          (with-child (fl (start-child "flock" (list path "sh" "-c" "echo held; sleep 0.3")))
            (is (equal "held" (child-line fl)))
            (is (eq nil (file-lock-acquire b :timeout 0)))
            (is (eq t (file-lock-acquire b :timeout 10)) "got it when flock(1) let go")
            (file-lock-release b)))
        (when (python-ok-p)
          (with-child (py (start-child "python3" (list "-c" *py-filelock* path) :python t))
            (let ((line (child-line py)))
              (unless (equal line "nofilelock")
                (is (equal "got" line) "the filelock package gets it after")))))
        (signals lipc-invalid-argument (open-file-lock path :kind :flock :classic t))
        (signals type-error (open-file-lock path :kind :lockf))
        (with-file-lock (path :kind :flock :timeout 5)
          (is (eq nil (file-lock-acquire b :exclusive nil :timeout 0)) "with-file-lock on a path"))))))

(test flock-released-when-its-holder-is-killed
  (if (not (roles-exe))
      (skip "cc cannot build the C roles program")
      (with-temp-file (path "kill" "data")
        (with-open-file-lock (l path)
          (with-child (holder (start-role "hold-lock" path))
            (is (equal "L" (child-line holder)))
            (is (eq nil (file-lock-acquire l :timeout 0)) "held by the other process")
            (sb-posix:kill (sb-ext:process-pid holder) sb-posix:sigkill)
            (multiple-value-bind (got secs) (timed (file-lock-acquire l :timeout 5))
              (is (eq t got))
              (is (< secs 1))))))))

(test flock-classic-locks-on-a-stream
  (with-temp-file (path "classic" "data")
    (with-open-file (s path :direction :io :if-exists :overwrite :element-type '(unsigned-byte 8))
      (let ((c1 (open-file-lock s :classic t))
            (c2 (open-file-lock s :classic t)))
        (is (file-lock-classic-p c1))
        (is (eq t (file-lock-acquire c1 :timeout 0)))
        (is (eq t (file-lock-acquire c2 :timeout 0)) "same process: no conflict")
        (close-file-lock c1)
        (with-open-file-lock (o s)     ; a handle-owned lock from the same stream
          (is (not (file-lock-classic-p o)))
          (is (eq nil (file-lock-acquire o :timeout 0)) "closing a classic handle keeps the lock")
          (file-lock-release c2)
          (close-file-lock c2)
          (is (eq t (file-lock-acquire o :timeout 0))))
        (write-byte 65 s)               ; the caller's stream is untouched
        (finish-output s)))
    ;; a handle-owned lock outlives the caller's stream
    (let ((o nil))
      (with-open-file (s path)
        (setf o (open-file-lock s))
        (signals (lipc-invalid-argument "read-only stream: exclusive refused")
          (file-lock-acquire o :timeout 0))
        (is (eq t (file-lock-acquire o :exclusive nil :timeout 0))))
      (with-open-file-lock (w path)
        (is (eq nil (file-lock-acquire w :timeout 0)) "still held after the stream closed"))
      (close-file-lock o))))

(test with-file-lock-forms
  (with-temp-file (path "with" "data")
    (with-open-file-lock (other path)
      (is (eq :inside (with-file-lock (path :timeout 1)
                        (is (eq nil (file-lock-acquire other :timeout 0)))
                        :inside)))
      (is (eq t (file-lock-acquire other :timeout 0)) "released after the body")
      (signals lipc-timeout (with-file-lock (path :timeout 0.05) :ran))
      (signals lipc-timeout (with-file-lock (path :exclusive nil :timeout 0.05) :ran))
      (is (eq t (file-lock-acquire other :exclusive nil :timeout 0)) "now shared")
      (is (eq :shared (with-file-lock (path :exclusive nil :timeout 0.05) :shared)))
      (signals lipc-timeout (with-file-lock (path :timeout 0.05) :ran))
      (file-lock-release other)
      (with-open-file-lock (l path)
        (catch 'out (with-file-lock (l :offset 10 :length 5) (throw 'out nil)))
        (is (eq t (file-lock-acquire other :timeout 0)) "released on a throw")))))

(test flock-bad-input-and-modes
  (with-temp-file (path "badlk" "data")
    (signals lipc-not-found (open-file-lock "/nonexistent/lipc/lock"))
    (signals (lipc-invalid-argument "classic needs an fd") (open-file-lock path :classic t))
    (signals (lipc-invalid-argument "negative fd") (open-file-lock -1))
    (let ((c (handler-case (open-file-lock 987) (lipc-error (e) e))))
      (is (typep c 'lipc-os-error))
      (is (= 9 (lipc-error-errno c)) "EBADF"))
    (signals type-error (open-file-lock path :access :append))
    (signals type-error (open-file-lock 'symbol))
    (with-open-file-lock (r path :access :read)
      (let ((c (handler-case (file-lock-acquire r :timeout 0) (lipc-error (e) e))))
        (is (typep c 'lipc-invalid-argument) "exclusive on a read-only handle")
        (is (search "write access" (lipc-error-message c))))
      (is (eq t (file-lock-acquire r :exclusive nil :timeout 0))))
    (with-open-file-lock (w path :access :write)
      (signals (lipc-invalid-argument "shared on write-only") (file-lock-acquire w :exclusive nil :timeout 0))
      (signals (lipc-invalid-argument "negative offset") (file-lock-acquire w :offset -1 :timeout 0))
      (signals (lipc-invalid-argument "negative length") (file-lock-release w :length -1)))
    (let ((l (open-file-lock path)))
      (close-file-lock l)
      (is (eq nil (close-file-lock l)))
      (signals lipc-closed (file-lock-acquire l :timeout 0))
      (signals lipc-closed (file-lock-release l))
      (signals lipc-closed (with-file-lock (l) :ran))))
  (let ((created (temp-path "created")))
    (unwind-protect
         (with-open-file-lock (l created :create t :mode #o640)
           (is (= #o640 (file-mode created)))
           (is (eq t (file-lock-acquire l :timeout 0))))
      (when (probe-file created) (delete-file created)))))

(test special-files-are-refused-at-once
  ;; A FIFO would make open() wait for its other end; lipc refuses anything
  ;; but a regular file without waiting (WITH-TIMEOUT turns a regression into
  ;; a failure instead of a hung suite).
  (let ((fifo (temp-path "fifo")))
    (sb-posix:mkfifo fifo #o600)
    (unwind-protect
         (handler-case
             (sb-ext:with-timeout 20
               (signals lipc-invalid-argument (map-file fifo))
               (signals lipc-invalid-argument (map-file fifo :access :write :length 4096))
               (signals lipc-invalid-argument (open-file-lock fifo))
               (signals lipc-invalid-argument (map-file "/dev/null"))
               (signals lipc-invalid-argument (open-file-lock "/tmp/"))
               (signals lipc-invalid-argument (run-command '("cat") :input (pathname fifo)))
               (signals lipc-invalid-argument (run-command '("echo" "x") :output (pathname fifo))))
           (sb-ext:timeout () (fail "a call waited on a special file")))
      (delete-file fifo))))
