;;;; capture-tests.lisp - a capture (run-command / process-communicate with
;;;; :octets) returns exactly the bytes the child wrote, whatever their
;;;; number and value: sizes on each side of every boundary the C collector
;;;; and the Lisp copy have (a page, lipc's 16 KiB first read, its 256 KiB
;;;; small-output copy, its 1 MiB reads and the binding's 1 MiB threshold for
;;;; mapping the vector's pages at once, its 2 and 4 MiB buffers), more than
;;;; 64 MiB, every byte value (so never valid UTF-8), each capture right after
;;;; a bigger one (lipc reuses its buffer: nothing of the last may show).

(in-package #:lipc-tests)

(def-suite :capture :in :lipc)
(in-suite :capture)

(defconstant +pattern-bytes+ (+ (* 66 1024 1024) 12345))

(defun make-pattern (n)
  "N bytes of every value (a 32-bit LCG's top byte), the same at every call."
  (let ((v (make-array n :element-type '(unsigned-byte 8)))
        (x 12345))
    (declare (type (unsigned-byte 32) x) (type (simple-array (unsigned-byte 8) (*)) v))
    (dotimes (i n v)
      (setf x (logand #xFFFFFFFF (+ (* x 1664525) 1013904223))
            (aref v i) (ldb (byte 8 24) x)))))

(defvar *pattern* nil "The pattern's bytes, made once per run.")
(defvar *pattern-file* nil "While a test runs, the file that holds them.")

(defmacro with-pattern-file (&body body)
  "BODY with *PATTERN-FILE* naming a file of the pattern's bytes, removed
after (the suite's runner exits without running exit hooks)."
  `(let ((*pattern-file* (format nil "/tmp/lipc-lisp-capture-~D.bin" (sb-posix:getpid))))
     (unless *pattern* (setf *pattern* (make-pattern +pattern-bytes+)))
     (unwind-protect
          (progn
            (with-open-file (out *pattern-file* :direction :output
                                                :element-type '(unsigned-byte 8)
                                                :if-exists :supersede)
              (write-sequence *pattern* out))
            ,@body)
       (ignore-errors (delete-file *pattern-file*)))))

(defun pattern-slice-p (octets start)
  "True when OCTETS is a simple octet vector equal to the pattern's bytes
from START on."
  (and (typep octets '(simple-array (unsigned-byte 8) (*)))
       (<= (+ start (length octets)) (length *pattern*))
       (let ((p *pattern*))
         (declare (type (simple-array (unsigned-byte 8) (*)) p octets)
                  (type fixnum start))
         (loop for i of-type fixnum below (length octets)
               always (= (aref octets i) (aref p (+ start i)))))))

(defun slice-command (start size &optional to-stderr)
  "A shell command writing SIZE bytes of the pattern from START on."
  (format nil "tail -c +~D '~A' | head -c ~D~:[~; >&2~]" (1+ start) *pattern-file* size to-stderr))

(defparameter *boundary-sizes*
  (loop for edge in (list 4096 16384 (* 256 1024) (* 1024 1024) (* 2 1024 1024) (* 4 1024 1024))
        append (list (1- edge) edge (1+ edge))))

(test capture-sizes-are-exact
  ;; Descending: each capture reads into the buffer the bigger one before it
  ;; left to lipc.
  (with-pattern-file
   (loop for size in (append (sort (copy-list *boundary-sizes*) #'>) '(1 0))
        for start from 7 by 3
        do (multiple-value-bind (code out err) (run-command (slice-command start size) :output :octets)
             (is (= 0 code))
             (is (= size (length out)) "~D bytes captured of ~D" (length out) size)
             (is (pattern-slice-p out start) "the ~D bytes are the child's" size)
             (is (equal "" err))))))

(test capture-on-stderr-is-exact
  (with-pattern-file
   (dolist (size (list 0 1 4097 (1+ (* 1024 1024)) (1- (* 4 1024 1024))))
    (multiple-value-bind (code out err)
        (run-command (slice-command 11 size t) :output :octets :error :octets)
      (is (= 0 code))
      (is (= 0 (length out)))
      (is (= size (length err)))
      (is (pattern-slice-p err 11))))))

(test capture-over-64-mib-is-exact
  (with-pattern-file
   (let ((size (+ (* 64 1024 1024) 4097)))
    (multiple-value-bind (code out) (run-command (slice-command 5 size) :output :octets)
      (is (= 0 code))
      (is (= size (length out)))
      (is (pattern-slice-p out 5)))
    ;; and through process-communicate
    (with-process (p (slice-command 3 size) :output :pipe)
      (let ((out (process-communicate p :output-type :octets)))
        (is (= size (length out)))
        (is (pattern-slice-p out 3)))))))

(test captured-octets-are-not-decoded
  ;; Bytes that are no UTF-8 come back as they are with :octets, and as
  ;; replacement characters with :string.
  (let ((bytes (coerce #(#xFF #xFE 0 #xC3 #x28 #x80 10) '(simple-array (unsigned-byte 8) (*)))))
    (multiple-value-bind (code out) (run-command '("printf" "\\377\\376\\000\\303(\\200\\n")
                                                 :output :octets)
      (is (= 0 code))
      (is (equalp bytes out)))
    (let ((text (nth-value 1 (run-command '("printf" "\\377(") :output :string))))
      (is (string= (coerce (list (code-char #xFFFD) #\() 'string) text)))))

(test populate-pages-changes-nothing
  ;; The pages it maps are those wholly inside the range; their bytes stay.
  (let* ((v (make-pattern (* 3 1024 1024)))
         (copy (copy-seq v)))
    (sb-sys:with-pinned-objects (v)
      (lipc::populate-pages (cffi:inc-pointer (sb-sys:vector-sap v) 100) (* 2 1024 1024)))
    (is (equalp copy v))))
