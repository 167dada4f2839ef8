;;;; shm.lisp - named shared memory, and what every mapping shares: octet
;;;; copies and a binary stream over its bytes.
;;;;
;;;;   (open-shared-memory name &key create exclusive size mode unlink-on-close)
;;;;                                   -> shared-memory
;;;;   (shared-memory-pointer shm)     -> a foreign pointer to this handle's view
;;;;   (shared-memory-size shm)        -> the view's size in bytes
;;;;   (shared-memory-grow shm size)   -> the new size (the view moves: take the
;;;;                                      pointer again)
;;;;   (shared-memory-refresh shm)     -> the size now mapped (after another
;;;;                                      handle or process grew it)
;;;;   (shm-read-octets object offset length &optional vector start) -> vector
;;;;   (shm-write-octets object offset vector &key start end)        -> bytes written
;;;;   (make-memory-stream object &key start end)   -> a binary Gray stream
;;;;   (close-shared-memory shm), (unlink-shared-memory name),
;;;;   (shared-memory-name shm), (with-shared-memory (var name &rest options) ...)
;;;;
;;;; lipc's "x" is the platform's POSIX shared memory shm_open("/x"), on Linux
;;;; the file /dev/shm/x: C, Python's mmap over that file, and every lipc
;;;; binding see the same bytes.  New memory reads as zeros.
;;;;
;;;; The pointer is the memory itself (no copy): read and write it with
;;;; cffi:mem-ref / mem-aref, cffi's memcpy, or the octet functions here,
;;;; which check bounds.  SHM-READ-OCTETS, SHM-WRITE-OCTETS and
;;;; MAKE-MEMORY-STREAM work on mapped files (mmap.lisp) too.
;;;;
;;;; Growing: SHARED-MEMORY-GROW makes the object larger (never smaller) and
;;;; maps a larger view for this handle at a NEW address; other handles and
;;;; processes keep their size until SHARED-MEMORY-REFRESH.  Pointers taken
;;;; before a grow or refresh stay valid, showing the same bytes, until the
;;;; handle closes.
;;;;
;;;; Lifetime (the user's responsibility): every pointer from this handle is
;;;; dead once the handle is closed (CLOSE-SHARED-MEMORY, the end of
;;;; WITH-SHARED-MEMORY, or the finalizer of an object no longer referenced).
;;;; Touching it then is a use after free: SBCL reports a memory fault at
;;;; best and reads or corrupts other memory at worst.  Keep the object
;;;; referenced, and open, for as long as any pointer into it is used.  The
;;;; octet functions and the stream go through the object, so they signal
;;;; LIPC-CLOSED instead.

(in-package #:lipc)

(export '(shared-memory shared-memory-name open-shared-memory shared-memory-pointer
          shared-memory-size shared-memory-grow shared-memory-refresh
          close-shared-memory unlink-shared-memory with-shared-memory
          call-with-shared-memory shm-read-octets shm-write-octets
          memory-stream make-memory-stream memory-stream-object
          +kind-shm+)
        '#:lipc)

(defconstant +kind-shm+ 6 "LIPC_KIND_SHM")

;;; ---- what every mapping (shared memory, mapped file) provides

(defgeneric memory-view (object)
  (:documentation "(values pointer size) of OBJECT's current view; signals
LIPC-CLOSED once OBJECT is closed."))

(defgeneric memory-writable-p (object)
  (:documentation "Whether OBJECT's memory may be written.")
  (:method ((object t)) t))

(defgeneric memory-flush (object async)
  (:documentation "Makes writes durable where that means something (mapped
files); nothing for shared memory.")
  (:method ((object t) async) (declare (ignore async)) nil))

(defun check-range (object offset length size)
  (unless (<= (+ offset length) size)
    (lisp-error -16 "~A: bytes [~D, ~D) are outside its ~D-byte view"
                (object-label object) offset (+ offset length) size)))

(defun check-writable (object)
  (unless (memory-writable-p object)
    (lisp-error -5 "~A is mapped read-only" (object-label object))))

(declaim (inline octets-p))
(defun octets-p (vector)
  (typep vector '(simple-array (unsigned-byte 8) (*))))

(defun memcpy (to from n)
  (when (plusp n)
    (cffi:foreign-funcall "memcpy" :pointer to :pointer from :size n :pointer))
  nil)

(defun copy-from-memory (pointer vector start n)
  "N bytes at POINTER into VECTOR from START."
  (if (octets-p vector)
      (cffi:with-pointer-to-vector-data (p vector)
        (memcpy (cffi:inc-pointer p start) pointer n))
      (dotimes (i n)
        (setf (aref vector (+ start i)) (cffi:mem-aref pointer :uint8 i))))
  vector)

(defun copy-to-memory (pointer vector start n)
  "N elements of VECTOR from START to POINTER (each an octet)."
  (if (octets-p vector)
      (cffi:with-pointer-to-vector-data (p vector)
        (memcpy pointer (cffi:inc-pointer p start) n))
      (dotimes (i n)
        (let ((byte (aref vector (+ start i))))
          (check-type byte (unsigned-byte 8))
          (setf (cffi:mem-aref pointer :uint8 i) byte))))
  n)

(defun shm-read-octets (object offset length &optional vector (start 0))
  "Copies LENGTH bytes at OFFSET of the view of OBJECT (shared memory or a
mapped file) into VECTOR at START (a fresh octet vector when VECTOR is NIL);
returns the vector.  LIPC-OUT-OF-RANGE when the bytes are not all inside the
view; LIPC-CLOSED once OBJECT is closed."
  (check-type offset (integer 0))
  (check-type length (integer 0))
  (check-type start (integer 0))
  (let ((vector (or vector (make-array length :element-type '(unsigned-byte 8)))))
    (check-type vector vector)
    (unless (<= (+ start length) (length vector))
      (error "shm-read-octets: ~D bytes do not fit in a vector of ~D from ~D"
             length (length vector) start))
    (multiple-value-bind (pointer size) (memory-view object)
      (check-range object offset length size)
      (copy-from-memory (cffi:inc-pointer pointer offset) vector start length))))

(defun shm-write-octets (object offset vector &key (start 0) end)
  "Copies the octets of VECTOR between START and END (default: its end) to
OFFSET of the view of OBJECT; returns how many were written.  Nothing is
written when they do not all fit (LIPC-OUT-OF-RANGE).  A read-only or closed
object: LIPC-PERMISSION-DENIED, LIPC-CLOSED."
  (check-type offset (integer 0))
  (check-type vector vector)
  (let ((end (or end (length vector))))
    (check-type start (integer 0))
    (unless (<= start end (length vector))
      (error "shm-write-octets: bad :start ~D / :end ~D for a vector of ~D"
             start end (length vector)))
    (multiple-value-bind (pointer size) (memory-view object)
      (check-writable object)
      (check-range object offset (- end start) size)
      (copy-to-memory (cffi:inc-pointer pointer offset) vector start (- end start)))))

;;; ---- shared memory

(defclass shared-memory (handle-object)
  ((name :initarg :name :reader shared-memory-name))
  (:documentation "An open named shared memory object and this handle's view
of it.  Close it with CLOSE-SHARED-MEMORY or use WITH-SHARED-MEMORY; a
finalizer closes forgotten ones after GC (which unmaps the memory: see the
lifetime rule at the top of shm.lisp)."))

(defmethod object-label ((shm shared-memory))
  (format nil "shared memory ~S" (shared-memory-name shm)))

(defmethod print-object ((shm shared-memory) stream)
  (print-unreadable-object (shm stream :type t :identity t)
    (if (handle-open-p shm)
        (format stream "~S ~D bytes" (shared-memory-name shm) (shared-memory-size shm))
        (format stream "~S (closed)" (shared-memory-name shm)))))

(defun open-shared-memory (name &key create exclusive (size 0) (mode #o600) unlink-on-close
                                 trust-foreign)
  "Opens the shared memory NAME (the name rule of semaphores) and maps it
whole.  CREATE: create it with SIZE bytes (> 0; zeros) and permission bits
MODE when missing; an existing object keeps its size.  EXCLUSIVE (with
CREATE): LIPC-EXISTS if it exists.  UNLINK-ON-CLOSE: remove the name when
this handle closes, if it created it.  TRUST-FOREIGN: as for OPEN-SEMAPHORE
(another user's object).  Errors: LIPC-NOT-FOUND, LIPC-PERMISSION-DENIED,
LIPC-INVALID-ARGUMENT (bad name; SIZE <= 0 to create; an empty existing
object), LIPC-OUT-OF-RANGE (SIZE too large)."
  (check-type name string)
  (check-type size (signed-byte 64))
  (check-type mode (unsigned-byte 32))
  (open-handle (h) (%shm-open name (open-flags create exclusive unlink-on-close trust-foreign)
                              mode size h)
    'shared-memory :name name))

(defmethod memory-view ((shm shared-memory))
  (let ((h (object-handle shm)))
    (cffi:with-foreign-objects ((addr :pointer) (size :int64))
      (check (%shm-addr h addr size))
      (values (cffi:mem-ref addr :pointer) (cffi:mem-ref size :int64)))))

(defun shared-memory-pointer (shm)
  "A foreign pointer to the start of this handle's current view (no copy).
Valid until SHM is closed, also after a grow or refresh (which map a new
view at another address: take the pointer again to reach the new bytes)."
  (values (memory-view shm)))

(defun shared-memory-size (shm)
  "The size in bytes of this handle's current view."
  (nth-value 1 (memory-view shm)))

(defun shared-memory-grow (shm size)
  "Grows the object to SIZE bytes (above the current size: it never
shrinks, other processes may use the end) and maps this handle's larger
view; returns SIZE.  Others see it after SHARED-MEMORY-REFRESH."
  (check-type size (signed-byte 64))
  (check (%shm-grow (object-handle shm) size))
  size)

(defun shared-memory-refresh (shm)
  "Maps a larger view if another handle or process grew the object;
returns the size now mapped."
  (let ((h (object-handle shm)))
    (cffi:with-foreign-object (size :int64)
      (check (%shm-refresh h size))
      (cffi:mem-ref size :int64))))

(defun close-shared-memory (shm)
  "Closes SHM and unmaps its views: every pointer taken from it is dead.
Idempotent (T when this call closed it)."
  (close-handle shm))

(defun unlink-shared-memory (name)
  "Removes the name NAME; handles already open keep working."
  (check-type name string)
  (check (%shm-unlink name))
  nil)

(defun call-with-shared-memory (function name &rest options)
  "Calls FUNCTION with (apply #'open-shared-memory name options), closing it
however FUNCTION exits."
  (let ((shm nil))
    (unwind-protect (progn (setf shm (apply #'open-shared-memory name options))
                           (funcall function shm))
      (when shm (close-shared-memory shm)))))

(defmacro with-shared-memory ((var name &rest options) &body body)
  "Binds VAR to (open-shared-memory NAME . OPTIONS) around BODY; closes it
after (pointers into it die then)."
  `(call-with-shared-memory (lambda (,var) ,@body) ,name ,@options))

;;; ---- a binary stream over a mapping (SBCL's Gray streams, built in:
;;; ---- no dependency)

#+sbcl
(defclass memory-stream (sb-gray:fundamental-binary-input-stream
                         sb-gray:fundamental-binary-output-stream)
  ((object :initarg :object :reader memory-stream-object)
   (start :initarg :start :reader memory-stream-start)
   (end :initarg :end :reader memory-stream-end
        :documentation "Where the stream ends in the view, NIL: the view's
end at each operation (so a grown shared memory shows its new bytes).")
   (position :initform 0 :accessor memory-stream-position
             :documentation "Relative to START.")
   (open :initform t :accessor memory-stream-open-p))
  (:documentation "A binary stream of (unsigned-byte 8) over bytes of a
shared memory object or mapped file, read and written in place.  It has a
fixed size: reading stops at its end (EOF); a write that does not fit writes
nothing and signals LIPC-OUT-OF-RANGE.  FILE-POSITION reads and sets the
position (:start, :end or an integer).  FINISH-OUTPUT / FORCE-OUTPUT flush a
writable mapped file (synchronously / asynchronously).  CLOSE closes the
stream only, never the object; closing the object makes the stream signal
LIPC-CLOSED."))

#+sbcl
(defun make-memory-stream (object &key (start 0) end)
  "A MEMORY-STREAM over bytes START to END (NIL: the end of the view, as it
is at each operation) of OBJECT, a shared memory object or a mapped file."
  (check-type start (integer 0))
  (check-type end (or null (integer 0)))
  (multiple-value-bind (pointer size) (memory-view object)
    (declare (ignore pointer))
    (unless (<= start (or end start) size)
      (lisp-error -16 "~A: a stream over [~D, ~D) does not fit its ~D-byte view"
                  (object-label object) start (or end size) size)))
  (make-instance 'memory-stream :object object :start start :end end))

#+sbcl
(progn
  (defun stream-region (stream)
    "(values pointer-at-start length) of STREAM's bytes now."
    (unless (memory-stream-open-p stream)
      (lisp-error -11 "~A is closed" stream))
    (let ((object (memory-stream-object stream))
          (start (memory-stream-start stream)))
      (multiple-value-bind (pointer size) (memory-view object)
        (let ((end (or (memory-stream-end stream) size)))
          (check-range object start (- end start) size)
          (values (cffi:inc-pointer pointer start) (- end start))))))

  (defmethod print-object ((stream memory-stream) out)
    (print-unreadable-object (stream out :type t :identity t)
      (format out "over ~A~:[ (closed)~;~]" (object-label (memory-stream-object stream))
              (memory-stream-open-p stream))))

  (defmethod stream-element-type ((stream memory-stream)) '(unsigned-byte 8))

  (defmethod open-stream-p ((stream memory-stream)) (memory-stream-open-p stream))

  (defmethod output-stream-p ((stream memory-stream))
    (memory-writable-p (memory-stream-object stream)))

  (defmethod close ((stream memory-stream) &key abort)
    (declare (ignore abort))
    (prog1 (memory-stream-open-p stream)
      (setf (memory-stream-open-p stream) nil)))

  (defmethod sb-gray:stream-read-byte ((stream memory-stream))
    (multiple-value-bind (pointer length) (stream-region stream)
      (let ((pos (memory-stream-position stream)))
        (if (>= pos length)
            :eof
            (prog1 (cffi:mem-aref pointer :uint8 pos)
              (setf (memory-stream-position stream) (1+ pos)))))))

  (defmethod sb-gray:stream-write-byte ((stream memory-stream) byte)
    (check-type byte (unsigned-byte 8))
    (multiple-value-bind (pointer length) (stream-region stream)
      (check-writable (memory-stream-object stream))
      (let ((pos (memory-stream-position stream)))
        (when (>= pos length)
          (lisp-error -16 "~A: no room for a byte at ~D of ~D" stream pos length))
        (setf (cffi:mem-aref pointer :uint8 pos) byte
              (memory-stream-position stream) (1+ pos))
        byte)))

  (defmethod sb-gray:stream-read-sequence ((stream memory-stream) seq &optional (start 0) end)
    (let ((end (or end (length seq))))
      (multiple-value-bind (pointer length) (stream-region stream)
        (let* ((pos (memory-stream-position stream))
               (n (max 0 (min (- end start) (- length pos)))))
          (copy-from-memory (cffi:inc-pointer pointer pos) seq start n)
          (setf (memory-stream-position stream) (+ pos n))
          (+ start n)))))

  (defmethod sb-gray:stream-write-sequence ((stream memory-stream) seq &optional (start 0) end)
    (let ((end (or end (length seq))))
      (multiple-value-bind (pointer length) (stream-region stream)
        (check-writable (memory-stream-object stream))
        (let ((pos (memory-stream-position stream)))
          (when (> (+ pos (- end start)) length)
            (lisp-error -16 "~A: ~D bytes do not fit at ~D of ~D (nothing written)"
                        stream (- end start) pos length))
          (copy-to-memory (cffi:inc-pointer pointer pos) seq start (- end start))
          (setf (memory-stream-position stream) (+ pos (- end start)))
          seq))))

  (defmethod sb-gray:stream-file-position ((stream memory-stream) &optional position)
    (multiple-value-bind (pointer length) (stream-region stream)
      (declare (ignore pointer))
      (if (null position)
          (memory-stream-position stream)
          (let ((pos (case position (:start 0) (:end length) (t position))))
            (when (and (integerp pos) (<= 0 pos length))
              (setf (memory-stream-position stream) pos)
              t)))))

  (defmethod sb-gray:stream-finish-output ((stream memory-stream))
    (stream-region stream)
    (memory-flush (memory-stream-object stream) nil)
    nil)

  (defmethod sb-gray:stream-force-output ((stream memory-stream))
    (stream-region stream)
    (memory-flush (memory-stream-object stream) t)
    nil))
