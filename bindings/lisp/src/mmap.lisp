;;;; mmap.lisp - memory-mapped files.
;;;;
;;;;   (map-file path &key access offset length create extend mode) -> mapped-file
;;;;       access :read (default) | :write (shared: writes reach the file and
;;;;       other processes) | :copy (copy-on-write: writes stay private)
;;;;   (mapped-pointer m), (mapped-size m)            the mapping, in place
;;;;   (flush-mapping m &key offset length async)     msync: changes to the file
;;;;   (advise-mapping m advice &key offset length)   :normal :sequential :random
;;;;                                                  :willneed :dontneed
;;;;   (close-mapping m), (page-size), (mapped-file-path m), (mapped-file-access m)
;;;;   (with-mapped-file (var path &rest options) &body body)
;;;; and, from shm.lisp, SHM-READ-OCTETS, SHM-WRITE-OCTETS and
;;;; MAKE-MEMORY-STREAM on a mapped file.
;;;;
;;;; OFFSET is a multiple of (page-size); LENGTH NIL or 0 maps to the end of
;;;; the file.  EXTEND grows the file with zeros to OFFSET + LENGTH if it is
;;;; shorter; CREATE creates a missing file (with :write or EXTEND) with
;;;; permission bits MODE.  Errors: LIPC-INVALID-ARGUMENT (unaligned or
;;;; negative offset, an empty file with length 0, offset at or past the end,
;;;; offset + length past the end without EXTEND, not a regular file),
;;;; LIPC-NOT-FOUND, LIPC-PERMISSION-DENIED.  Writing through a :read mapping
;;;; with the octet functions or a stream signals LIPC-PERMISSION-DENIED in
;;;; Lisp; through the raw pointer it is a memory fault.
;;;;
;;;; SIGBUS: touching a page of a mapping that lies past the end of its file
;;;; (another process truncated the file after it was mapped) raises SIGBUS
;;;; in the process that touches it.  SBCL turns that into a memory-fault
;;;; error at best; no library can turn it into a LIPC error.  Do not truncate
;;;; files that others have mapped.
;;;;
;;;; Lifetime, as for shared memory: the pointer is dead once the mapping is
;;;; closed (CLOSE-MAPPING, the end of WITH-MAPPED-FILE, or the finalizer of
;;;; an object no longer referenced); using it then is the caller's bug.

(in-package #:lipc)

(export '(mapped-file mapped-file-path mapped-file-access map-file mapped-pointer
          mapped-size flush-mapping advise-mapping close-mapping page-size
          with-mapped-file call-with-mapped-file +kind-mmap+)
        '#:lipc)

(defconstant +kind-mmap+ 7 "LIPC_KIND_MMAP")

(defparameter *mmap-access* '((:read . 1) (:write . 2) (:copy . 3)) "LIPC_MMAP_*")
(defparameter *mmap-advice*
  '((:normal . 0) (:sequential . 1) (:random . 2) (:willneed . 3) (:dontneed . 4))
  "LIPC_ADVISE_*")
(defconstant +mmap-create+ 1 "LIPC_MMAP_CREATE")
(defconstant +mmap-extend+ 2 "LIPC_MMAP_EXTEND")

(defun native-path (path)
  "PATH (a string or pathname) as the operating system's file name."
  (etypecase path
    (string path)
    (pathname (uiop:native-namestring (translate-logical-pathname path)))))

(defun keyword-code (key table)
  (or (cdr (assoc key table))
      (error 'type-error :datum key :expected-type `(member ,@(mapcar #'car table)))))

(defclass mapped-file (handle-object)
  ((path :initarg :path :reader mapped-file-path)
   (access :initarg :access :reader mapped-file-access))
  (:documentation "A mapping of (part of) a file.  Close it with
CLOSE-MAPPING or use WITH-MAPPED-FILE; a finalizer unmaps forgotten ones
after GC."))

(defmethod object-label ((m mapped-file))
  (format nil "mapping of ~S" (mapped-file-path m)))

(defmethod print-object ((m mapped-file) stream)
  (print-unreadable-object (m stream :type t :identity t)
    (if (handle-open-p m)
        (format stream "~S ~(~A~) ~D bytes" (mapped-file-path m) (mapped-file-access m)
                (mapped-size m))
        (format stream "~S (closed)" (mapped-file-path m)))))

(defun page-size ()
  "The page size: mapping offsets are multiples of it."
  (cffi:with-foreign-object (size :int64)
    (check (%page-size size))
    (cffi:mem-ref size :int64)))

(defun map-file (path &key (access :read) (offset 0) length create extend (mode #o644))
  "Maps LENGTH bytes (NIL or 0: to the end) of the file PATH from OFFSET (a
multiple of PAGE-SIZE) with ACCESS :read, :write (shared) or :copy
(copy-on-write).  CREATE: create a missing file (needs :write or EXTEND) with
MODE.  EXTEND: grow the file with zeros to OFFSET + LENGTH.  See the top of
mmap.lisp for errors and the SIGBUS caveat."
  (let ((code (keyword-code access *mmap-access*))
        (file (native-path path)))
    (check-type offset (signed-byte 64))
    (check-type length (or null (signed-byte 64)))
    (check-type mode (unsigned-byte 32))
    (open-handle (h) (%mmap-open file code
                                 (logior (if create +mmap-create+ 0) (if extend +mmap-extend+ 0))
                                 mode offset (or length 0) h)
      'mapped-file :path file :access access)))

(defmethod memory-view ((m mapped-file))
  (let ((h (object-handle m)))
    (cffi:with-foreign-objects ((addr :pointer) (size :int64))
      (check (%mmap-addr h addr size))
      (values (cffi:mem-ref addr :pointer) (cffi:mem-ref size :int64)))))

(defmethod memory-writable-p ((m mapped-file))
  (not (eq (mapped-file-access m) :read)))

(defmethod memory-flush ((m mapped-file) async)
  (when (eq (mapped-file-access m) :write)
    (flush-mapping m :async async)))

(defun mapped-pointer (m)
  "A foreign pointer to the mapping's first byte (the file's byte OFFSET)."
  (values (memory-view m)))

(defun mapped-size (m)
  "The mapping's size in bytes."
  (nth-value 1 (memory-view m)))

(defun flush-mapping (m &key (offset 0) (length 0) async)
  "Writes changes in [OFFSET, OFFSET + LENGTH) of the mapping (LENGTH 0: to
its end) back to the file: waits until written, or only starts the writing
when ASYNC.  Nothing to do for :read and :copy mappings.
LIPC-INVALID-ARGUMENT for a range outside the mapping."
  (check-type offset (signed-byte 64))
  (check-type length (signed-byte 64))
  (check (%mmap-flush (object-handle m) offset length (if async 1 0)))
  nil)

(defun advise-mapping (m advice &key (offset 0) (length 0))
  "Tells the kernel how [OFFSET, OFFSET + LENGTH) (LENGTH 0: to the end)
will be used: ADVICE :normal, :sequential, :random, :willneed or :dontneed
(which drops the pages: a :copy mapping loses its changes)."
  (let ((code (keyword-code advice *mmap-advice*)))
    (check-type offset (signed-byte 64))
    (check-type length (signed-byte 64))
    (check (%mmap-advise (object-handle m) offset length code))
    nil))

(defun close-mapping (m)
  "Unmaps M (its pointer dies) and closes the file.  Idempotent (T when
this call closed it).  Does not flush: the kernel writes a :write mapping's
changes back in its own time; FLUSH-MAPPING first to wait for them."
  (close-handle m))

(defun call-with-mapped-file (function path &rest options)
  "Calls FUNCTION with (apply #'map-file path options), closing the mapping
however FUNCTION exits."
  (let ((m nil))
    (unwind-protect (progn (setf m (apply #'map-file path options))
                           (funcall function m))
      (when m (close-mapping m)))))

(defmacro with-mapped-file ((var path &rest options) &body body)
  "Binds VAR to (map-file PATH . OPTIONS) around BODY; unmaps it after."
  `(call-with-mapped-file (lambda (,var) ,@body) ,path ,@options))
