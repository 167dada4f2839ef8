;;;; library.lisp - the one loader of liblipc.
;;;;
;;;; Lookup order, the same in every binding: $LIPC_LIBRARY, a liblipc.so
;;;; shipped beside lipc.asd, the build tree (<repo>/build/liblipc.so relative
;;;; to this system's source directory), then the system loader
;;;; ("liblipc.so.0", "liblipc.so").  The library can never be unloaded
;;;; (the Go runtime inside it marks it NODELETE), so it is loaded once.
;;;;
;;;; Saved images: SBCL records a loaded shared object's path and reopens it
;;;; when a saved image starts, before any init hook, and stops at startup
;;;; when that path is gone (an executable copied to another machine).  So
;;;; liblipc is loaded :DONT-SAVE, and image.lisp's init hook runs the
;;;; search again in the new process (RESTART-CANDIDATES): LIPC_LIBRARY
;;;; there when set, else the file the image was saved with, then the rest.

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

(defparameter *system-loader-names* '("liblipc.so.0" "liblipc.so")
  "The system-loader fallback: names dlopen looks up in its own paths.")

(defun open-library (name)
  "dlopens NAME (a path, or a name for the system loader) through SBCL,
which resolves the foreign functions of ffi.lisp against it.  :DONT-SAVE:
a saved image does not reopen it by itself (see the top of this file)."
  (sb-alien:load-shared-object name :dont-save t))

(defparameter *compile-time-directory*
  ;; #. : the source file's directory when compiled, not the fasl cache's.
  (make-pathname :name nil :type nil
                 :defaults #.(or *compile-file-truename* *load-truename*))
  "src/ of this system where it was compiled: a fallback when ASDF cannot
say where the system lives (e.g. a fasl loaded by hand).")

(defvar *saved-system-directory* nil
  "SYSTEM-DIRECTORY when the image was saved (image.lisp): a saved image
that starts does not ask ASDF, which would search its source registry.")

(defun system-directory ()
  "bindings/lisp/, the directory that holds lipc.asd."
  (or *saved-system-directory*
      (ignore-errors (asdf:system-source-directory "lipc"))
      (merge-pathnames "../" *compile-time-directory*)))

(defun library-env ()
  "$LIPC_LIBRARY, NIL when unset or empty."
  (let ((env (uiop:getenv "LIPC_LIBRARY")))
    (and env (plusp (length env)) env)))

(defun library-candidates ()
  "The explicit paths to try, in order, as (place . pathname-or-nil).
LIPC_LIBRARY is authoritative: when it is set, nothing else is tried, so a
wrong value is reported instead of silently replaced by another copy."
  (let ((env (library-env)))
    (if env
        (list (cons "LIPC_LIBRARY" env))
        (let ((dir (system-directory)))
          (list (cons "beside lipc.asd" (merge-pathnames "liblipc.so" dir))
                (cons "build tree" (merge-pathnames "../../build/liblipc.so" dir)))))))

(defun try-load (path)
  "Loads PATH; returns NIL on success or a string saying why not."
  (cond ((not (probe-file path)) "no such file")
        (t (handler-case (progn (open-library (namestring (truename path))) nil)
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
    (when (and system-loader (not (library-env)))
      ;; *LIBRARY-PATH* is then the name the loader took ("liblipc.so.0"),
      ;; which a child given it as LIPC_LIBRARY loads the same way.
      (let ((why '()))
        (dolist (name *system-loader-names*)
          (handler-case (progn (open-library name)
                               (return-from load-library (setf *library-path* name)))
            (error (e) (push (princ-to-string e) why))))
        (push (cons (format nil "system loader (~{~A~^, ~})" *system-loader-names*)
                    (format nil "~{~A~^; ~}" (nreverse why)))
              tried)))
    (error 'lipc-library-error :tried (nreverse tried))))

(defun restart-candidates (saved)
  "LIBRARY-CANDIDATES for a saved image that starts, SAVED being the
*LIBRARY-PATH* it was saved with: when LIPC_LIBRARY is not set, SAVED (when
a path) comes first, so an executable keeps the library it was built and
tested with wherever that file still is."
  (let ((usual (library-candidates)))
    (if (and saved (not (library-env)) (find #\/ saved))
        (cons (cons "loaded when the image was saved" saved) usual)
        usual)))

(defun check-library ()
  "Canary: a library that loads but lacks lipc_version is not liblipc."
  (unless (cffi:foreign-symbol-pointer "lipc_version")
    (error 'lipc-library-error
           :tried (list (cons *library-path* "has no lipc_version symbol")))))

;;; Load now, so that the defcfuns of ffi.lisp resolve.  Canary: a library
;;; that loads but lacks lipc_version is not liblipc.
(eval-when (:load-toplevel :execute)
  (unless *library-path* (load-library))
  (check-library))
