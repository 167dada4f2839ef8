;;;; library.lisp - the one loader of liblipc.
;;;;
;;;; Lookup order, the same in every binding: $LIPC_LIBRARY, a liblipc.so
;;;; shipped beside lipc.asd, the build tree (<repo>/build/liblipc.so relative
;;;; to this system's source directory), then the system loader
;;;; ("liblipc.so.0", "liblipc.so").  The library can never be unloaded
;;;; (the Go runtime inside it marks it NODELETE), so it is loaded once.

(in-package #:lipc)

(defvar *library-path* nil
  "The file liblipc was loaded from, or the soname the system loader found
(\"liblipc.so.0\").")

(define-condition lipc-library-error (error)
  ((tried :initarg :tried :reader library-error-tried
          :documentation "A list of (place . why-it-failed)."))
  (:report (lambda (c s)
             (format s "liblipc could not be loaded. Tried:~{~%  ~A: ~A~}~%~
                        Set LIPC_LIBRARY to the path of liblipc.so, or build it ~
                        with `make` in the lipc source tree."
                     (loop for (place . why) in (library-error-tried c)
                           collect place collect why)))))

;;; The system-loader fallback.  The paths before it are only known at load
;;; time, so they are tried by LOAD-LIBRARY below.
(cffi:define-foreign-library liblipc
  (t (:or "liblipc.so.0" "liblipc.so")))

(defparameter *compile-time-directory*
  ;; #. : the source file's directory when compiled, not the fasl cache's.
  (make-pathname :name nil :type nil
                 :defaults #.(or *compile-file-truename* *load-truename*))
  "src/ of this system where it was compiled: a fallback when ASDF cannot
say where the system lives (e.g. a fasl loaded by hand).")

(defun system-directory ()
  "bindings/lisp/, the directory that holds lipc.asd."
  (or (ignore-errors (asdf:system-source-directory "lipc"))
      (merge-pathnames "../" *compile-time-directory*)))

(defun library-candidates ()
  "The explicit paths to try, in order, as (place . pathname-or-nil).
LIPC_LIBRARY is authoritative: when it is set, nothing else is tried, so a
wrong value is reported instead of silently replaced by another copy."
  (let ((env (uiop:getenv "LIPC_LIBRARY")))
    (if (and env (plusp (length env)))
        (list (cons "LIPC_LIBRARY" env))
        (let ((dir (system-directory)))
          (list (cons "beside lipc.asd" (merge-pathnames "liblipc.so" dir))
                (cons "build tree" (merge-pathnames "../../build/liblipc.so" dir)))))))

(defun try-load (path)
  "Loads PATH; returns NIL on success or a string saying why not."
  (cond ((not (probe-file path)) "no such file")
        (t (handler-case (progn (cffi:load-foreign-library (namestring (truename path))) nil)
             (error (e) (princ-to-string e))))))

(defun load-library (&key (candidates (library-candidates)) (system-loader t))
  "Loads liblipc from the first candidate that works; signals LIPC-LIBRARY-ERROR
naming every place tried when none does."
  (let ((tried '()))
    (loop for (place . path) in candidates
          for why = (try-load path)
          unless why
            do (return-from load-library
                 (setf *library-path* (namestring (truename path))))
          do (push (cons (format nil "~A (~A)" place path) why) tried))
    (when (and system-loader (not (uiop:getenv "LIPC_LIBRARY")))
      ;; *LIBRARY-PATH* is then the name the loader took ("liblipc.so.0"),
      ;; which a child given it as LIPC_LIBRARY loads the same way.
      (handler-case (let ((lib (cffi:load-foreign-library 'liblipc)))
                      (return-from load-library
                        (setf *library-path*
                              (namestring (cffi:foreign-library-pathname lib)))))
        (error (e) (push (cons "system loader (liblipc.so.0, liblipc.so)"
                               (princ-to-string e))
                         tried))))
    (error 'lipc-library-error :tried (nreverse tried))))

;;; Load now, so that the defcfuns of ffi.lisp resolve.  Canary: a library
;;; that loads but lacks lipc_version is not liblipc.
(eval-when (:load-toplevel :execute)
  (unless *library-path* (load-library))
  (unless (cffi:foreign-symbol-pointer "lipc_version")
    (error 'lipc-library-error
           :tried (list (cons *library-path* "has no lipc_version symbol")))))
