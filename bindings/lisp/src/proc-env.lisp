;;;; proc-env.lisp - the process environment (the live C environ that this
;;;; image and its children see) and command-line quoting, over lipc_env_* and
;;;; lipc_quote_*.  All of it runs in C on the calling thread; nothing here
;;;; blocks.  Also the small string helpers proc.lisp shares.
;;;;
;;;;   (env-get "HOME")                  => "/root", or NIL when unset
;;;;   (setf (env-get "X") "1")          ; setenv; (setf (env-get "X") nil) unsets
;;;;   (env-set "X" "1") (env-unset "X")
;;;;   (env-list)                        => (("HOME" . "/root") ...) in environ's order
;;;;   (quote-sh "it's")                 => "'it'\\''s'"  (POSIX shell)
;;;;   (quote-win "a b") (quote-cmd "a&b")   ; Windows argv / cmd.exe rules
;;;;   (sh-command-line '("printf" "%s" "a b"))  => "printf %s 'a b'"
;;;;
;;;; These act on the C environ, the one lipc children inherit (and
;;;; sb-posix:getenv reads); like setenv they are not safe against another
;;;; thread reading the environment at the same moment.  Strings cross as
;;;; UTF-8; a string holding a NUL character is LIPC-INVALID-ARGUMENT (C would
;;;; silently cut it there).

(in-package #:lipc)

(export '(env-get env-set env-unset env-list
          quote-sh quote-win quote-cmd sh-command-line)
        '#:lipc)

(defconstant +einval+ -1 "LIPC_EINVAL")
(defconstant +enoent+ -3 "LIPC_ENOENT")
(defconstant +erange+ -16 "LIPC_ERANGE")
(defconstant +estatuslost+ -14 "LIPC_ESTATUSLOST")

(defun proc-invalid-argument (format-control &rest args)
  "Signals LIPC-INVALID-ARGUMENT for a mistake found in Lisp, before any C
call (errno EINVAL, as the library reports its own argument errors)."
  (error (make-lipc-error +einval+ (apply #'format nil format-control args) 22
                          (cdr (assoc +einval+ *code-names*)))))

(defun proc-errno ()
  #+sbcl (sb-alien:get-errno) #-sbcl 0)

(defun proc-os-error (what &optional (errno (proc-errno)))
  "Signals LIPC-OS-ERROR (code -1000 - errno) for a plain libc call WHAT
that failed with ERRNO (by default read now: call this at once)."
  (let ((code (- -1000 errno)))
    (error (make-lipc-error code (format nil "~A: ~A" what
                                         #+sbcl (sb-int:strerror errno) #-sbcl errno)
                            errno))))

(defun proc-c-string (thing what)
  "THING as a string fit for a C string argument: strings as they are,
pathnames as native namestrings, integers printed.  A NUL character is an
invalid argument (C would end the string there)."
  (let ((s (etypecase thing
             (string thing)
             (pathname (proc-native-namestring thing))
             (integer (princ-to-string thing))
             (symbol (if thing
                         (proc-invalid-argument "~A: ~S is not a string" what thing)
                         (proc-invalid-argument "~A: NIL is not a string" what))))))
    (when (find (code-char 0) s)
      (proc-invalid-argument "~A: ~S contains a NUL character" what s))
    s))

(defun proc-native-namestring (pathname)
  #+sbcl (sb-ext:native-namestring (merge-pathnames pathname))
  #-sbcl (namestring (merge-pathnames pathname)))

(defun proc-decode-utf-8 (pointer &optional count)
  "The UTF-8 string at POINTER (COUNT bytes, or up to the NUL); invalid bytes
become replacement characters instead of an error."
  (let ((babel-encodings:*suppress-character-coding-errors* t))
    (cffi:foreign-string-to-lisp pointer :count count :encoding :utf-8)))

(defun proc-call-sized (function &optional (size 256))
  "FUNCTION (buf size needed) makes one C call through CALL-C that writes a
NUL-terminated string into buf, or fails with LIPC_ERANGE and *needed set.
Returns the string, retrying once with the size asked for; other failures
are signalled.  Returns NIL for LIPC_ENOENT when FUNCTION returns it with
the second value :enoent-is-nil."
  (loop
    (let ((next nil))
      (cffi:with-foreign-pointer (buf size)
        (cffi:with-foreign-object (needed :size)
          (setf (cffi:mem-ref needed :size) 0)
          (multiple-value-bind (rc info) (funcall function buf size needed)
            (cond ((>= rc 0) (return (proc-decode-utf-8 buf)))
                  ((and (= rc +erange+) (> (cffi:mem-ref needed :size) size))
                   (setf next (cffi:mem-ref needed :size)))
                  (t (signal-error info))))))
      (setf size next))))

;;; ---- the environment

(defun env-get (name)
  "The value of the environment variable NAME in the live C environ, or NIL
when it is unset.  A bad NAME (empty, or holding #\\=) is LIPC-INVALID-ARGUMENT."
  (let ((name (proc-c-string name "env-get")))
    (handler-case
        (proc-call-sized (lambda (buf size needed) (call-c (%env-get name buf size needed))))
      (lipc-not-found () nil))))

(defun env-set (name value)
  "Sets the environment variable NAME to VALUE (a string; NIL unsets it) in
the live C environ, which children spawned later inherit.  Returns VALUE."
  (let ((name (proc-c-string name "env-set")))
    (if (null value)
        (check (%env-unset name))
        (check (%env-set name (proc-c-string value "env-set"))))
    value))

(defun (setf env-get) (value name)
  (env-set name value))

(defun env-unset (name)
  "Removes NAME from the live C environ (no error when it is unset)."
  (check (%env-unset (proc-c-string name "env-unset")))
  nil)

(defun env-list ()
  "Every variable of the live C environ as an alist ((name . value) ...), in
environ's order."
  (let ((octets
          (cffi:with-foreign-objects ((block :pointer) (len :size))
            (setf (cffi:mem-ref block :pointer) (cffi:null-pointer))
            ;; The copy and the free share the call's interrupt-deferred
            ;; scope, so no unwind can leak the block.
            (multiple-value-bind (octets info)
                (without-lisp-interrupts
                  (multiple-value-bind (rc info) (call-c (%env-list block len))
                    (declare (ignore rc))
                    (if info
                        (values nil info)
                        (let ((p (cffi:mem-ref block :pointer)))
                          (prog1 (proc-foreign-octets p (cffi:mem-ref len :size))
                            (%free p))))))
              (when info (signal-error info))
              octets))))
    (let ((text (proc-octets-string octets :utf-8)))
      (loop for start = 0 then (1+ end)
            for end = (position (code-char 0) text :start start)
            while end
            for eq = (position #\= text :start start :end end)
            when eq
              collect (cons (subseq text start eq) (subseq text (1+ eq) end))))))

;;; A capture's bytes are copied once, with memcpy, from lipc's buffer into
;;; a fresh octet vector: SBCL cannot make a Lisp vector of foreign memory,
;;; and lipc_proc_communicate hands out its own buffer.  For a big output the
;;; copy itself is the small part (7 ms for 64 MiB); the pages of a fresh
;;; vector that size are new to the process each time (SBCL gives the pages
;;; of a large dead vector back to the kernel), and touching them one fault
;;; at a time cost 30 ms for 64 MiB on this project's VMs, as much as reading
;;; the pipe.  MADV_POPULATE_WRITE (Linux 5.14) maps them in one system call,
;;; a quarter cheaper (22 ms); on an older kernel it fails (EINVAL) and the copy
;;; faults them in as before.  It only maps the pages: their content (zeros,
;;; as SBCL expects of a new vector) does not change.
(defconstant +populate-min-bytes+ (* 1024 1024)
  "Below this a capture's vector is copied into without MADV_POPULATE_WRITE:
a system call for a few pages saves nothing.")

(defconstant +madv-populate-write+ 23 "MADV_POPULATE_WRITE (Linux 5.14).")

(sb-ext:defglobal **page-size** nil
  "This process's page size, once asked (a saved image asks again).")

(defun populate-pages (sap count)
  "Asks Linux to map now the pages that lie wholly within COUNT bytes at SAP
(pinned by the caller), ready to be written.  Returns T when it did."
  #+linux
  (let* ((page (or **page-size**
                   (setf **page-size** (cffi:foreign-funcall "getpagesize" :int))))
         (start (* page (ceiling (cffi:pointer-address sap) page)))
         (end (* page (floor (+ (cffi:pointer-address sap) count) page))))
    (and (< start end)
         (zerop (cffi:foreign-funcall "madvise" :pointer (cffi:make-pointer start)
                                                :size (- end start)
                                                :int +madv-populate-write+ :int))))
  #-linux (progn sap count nil))

(defun proc-foreign-octets (pointer count)
  "A fresh octet vector holding COUNT bytes copied from POINTER."
  (let ((v (make-array count :element-type '(unsigned-byte 8))))
    (when (plusp count)
      (cffi:with-pointer-to-vector-data (dst v)
        (when (>= count +populate-min-bytes+)
          (populate-pages dst count))
        (cffi:foreign-funcall "memcpy" :pointer dst :pointer pointer :size count :pointer)))
    v))

(defun proc-octets-string (octets external-format)
  "OCTETS decoded with EXTERNAL-FORMAT (a keyword such as :utf-8 or :latin-1);
undecodable bytes become replacement characters."
  #+sbcl (sb-ext:octets-to-string octets :external-format
                                  (list external-format :replacement (code-char #xFFFD)))
  #-sbcl (babel:octets-to-string octets :encoding external-format :errorp nil))

(defun proc-string-octets (string external-format)
  #+sbcl (sb-ext:string-to-octets string :external-format external-format)
  #-sbcl (babel:string-to-octets string :encoding external-format))

;;; ---- quoting

(defun quote-sh (arg)
  "ARG quoted for a POSIX shell: unchanged when it has only safe characters,
else in single quotes with each ' written as '\\''."
  (let ((arg (proc-c-string arg "quote-sh")))
    (proc-call-sized (lambda (buf size needed) (call-c (%quote-sh arg buf size needed)))
                (+ 3 (* 4 (length arg))))))

(defun quote-win (arg)
  "ARG quoted for a Windows command line as CommandLineToArgvW and the MSVC
runtime parse it."
  (let ((arg (proc-c-string arg "quote-win")))
    (proc-call-sized (lambda (buf size needed) (call-c (%quote-win arg buf size needed)))
                (+ 3 (* 2 (length arg))))))

(defun quote-cmd (arg)
  "ARG quoted for a .bat/.cmd file run through cmd.exe (the escaping that
CVE-2024-24576 showed is needed).  A newline or carriage return cannot pass
through cmd.exe: LIPC-INVALID-ARGUMENT."
  (let ((arg (proc-c-string arg "quote-cmd")))
    (proc-call-sized (lambda (buf size needed) (call-c (%quote-cmd arg buf size needed)))
                (+ 16 (* 4 (length arg))))))

(defun sh-command-line (args)
  "ARGS (strings or pathnames) as one POSIX shell command line, each quoted
with QUOTE-SH and separated by spaces."
  (format nil "~{~A~^ ~}" (mapcar #'quote-sh args)))
