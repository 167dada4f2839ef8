;;;; image-tests.lisp - lipc in an executable made with save-lisp-and-die
;;;; (src/image.lisp).  A child sbcl loads lipc and eazy-process with
;;;; LIPC_LIBRARY set to a copy of the library, runs image-app.lisp (one
;;;; object of every kind, kept in the image) and saves an executable; the
;;;; tests run it and read its lines ("ok ..." / "BAD ...").  One build
;;;; (3-5 s, ~50 MB in a temporary directory, deleted after the suite) serves
;;;; every test here.

(in-package #:lipc-tests)

(defvar *image* nil
  "(directory executable library-copy) once built, or :failed.")

(defun image-dir ()
  (merge-pathnames (format nil "lipc-lisp-image-~D/" (sb-posix:getpid))
                   (uiop:temporary-directory)))

(defun delete-image ()
  (let ((dir (image-dir)))
    (when (probe-file dir)
      (uiop:delete-directory-tree dir :validate t)))
  (setf *image* nil))

(defun lisp-form (form)
  "FORM as text for --eval (every symbol with its package)."
  (let ((*package* (find-package :keyword)))
    (prin1-to-string form)))

(defun library-file ()
  "The file of the loaded liblipc: *LIBRARY-PATH*, or, when the system
loader found it (\"liblipc.so.0\"), the file /proc/self/maps shows."
  (if (find #\/ *library-path*)
      *library-path*
      (with-open-file (maps "/proc/self/maps")
        (loop for line = (read-line maps nil) while line
              for slash = (position #\/ line)
              when (and slash (search "/liblipc.so" line))
                return (subseq line slash)))))

(defun run-app-lisp (forms &key library)
  "Runs a child sbcl that loads lipc, eazy-process and image-app.lisp, then
evaluates FORMS, with LIPC_LIBRARY = LIBRARY; returns its exit code and output."
  (let ((lipc-asd (namestring (asdf:system-source-file "lipc")))
        (eazy-asd (namestring (asdf:system-relative-pathname "lipc" "eazy-process/eazy-process.asd")))
        (app (namestring (asdf:system-relative-pathname "lipc" "tests/image-app.lisp"))))
    (multiple-value-bind (code out)
        (run-command
         (list* (namestring sb-ext:*runtime-pathname*) "--noinform" "--non-interactive"
                "--no-sysinit" "--no-userinit"
                "--eval" "(require :asdf)" "--eval" "(require :sb-posix)"
                "--eval" (lisp-form `(asdf:load-asd ,lipc-asd))
                "--eval" (lisp-form `(asdf:load-asd ,eazy-asd))
                "--eval" "(let ((*standard-output* (make-broadcast-stream))) (asdf:load-system :eazy-process))"
                "--load" app
                (loop for form in forms collect "--eval" collect (lisp-form form)))
         :error :output :env-add `(("LIPC_LIBRARY" . ,library)) :timeout 300)
      (values code out))))

(defun build-image ()
  "Builds the executable (once): returns (directory executable library-copy)."
  (let* ((dir (image-dir))
         (exe (namestring (merge-pathnames "app" dir)))
         (copy (namestring (merge-pathnames "copy/liblipc.so" dir))))
    (ensure-directories-exist copy)
    (pushnew 'delete-image *cleanups*)
    (uiop:copy-file (library-file) copy)
    (multiple-value-bind (code out)
        (run-app-lisp `((uiop:symbol-call :lipc-image-app :prepare ,(namestring dir))
                        (uiop:symbol-call :lipc-image-app :save ,exe))
                      :library copy)
      (unless (and (eql code 0) (probe-file exe))
        (setf *image* :failed)
        (error "building the executable failed (exit ~A):~%~A" code out)))
    (setf *image* (list dir exe copy))))

(defun image ()
  (when (eq *image* :failed) (error "the executable could not be built (see above)"))
  (or *image* (build-image)))

(defun run-image (args &key library)
  "Runs the executable with ARGS and LIPC_LIBRARY = LIBRARY (NIL: unset);
returns its exit code, its output lines, and the library it loaded."
  (destructuring-bind (dir exe copy) (image)
    (declare (ignore dir copy))
    (multiple-value-bind (code out err)
        (apply #'run-command (cons exe args) :error :output :timeout 120
               (if library
                   (list :env-add `(("LIPC_LIBRARY" . ,library)))
                   (list :env-unset '("LIPC_LIBRARY"))))
      (declare (ignore err))
      (let ((lines (uiop:split-string (string-right-trim '(#\Newline) out) :separator '(#\Newline))))
        (values code lines
                (loop for line in lines
                      when (eql 0 (search "library " line)) return (subseq line 8)))))))

(defun check-lines (lines)
  "Each ok line passes, each BAD line fails with its text."
  (dolist (line lines)
    (cond ((eql 0 (search "ok " line)) (pass))
          ((eql 0 (search "BAD " line)) (fail "~A" line)))))

(def-suite :image :in :lipc :description "save-lisp-and-die: lipc in a saved executable")
(in-suite :image)

(test image-objects-from-before-the-save-are-closed-for-good
  ;; Every kind of object kept in the image: its use signals LIPC-CLOSED
  ;; saying it came from before save-lisp-and-die (before the fix it reached
  ;; the new object of the same handle number: a semaphore read 7, not 5),
  ;; closing it and its finalizer close nothing of the new process (neither
  ;; the new objects nor the fds that got its fd numbers; the new objects'
  ;; handle numbers differ from the old ones', drawn at each load), and
  ;; spawning, semaphores, pipes work after the restart.
  (multiple-value-bind (code lines) (run-image (list "stale"))
    (check-lines lines)
    (is (eql 0 code) "exit ~A:~%~{~A~%~}" code lines)
    ;; 12 kinds + eazy-process's 2: not open and a clear error, each
    (is (<= 28 (count-if (lambda (l) (search "old" l)) lines)) "~{~A~%~}" lines)
    (is (find "live handles 0" lines :test #'equal) "everything closed: ~{~A~%~}" lines)))

(test image-keeps-the-library-it-was-saved-with
  ;; LIPC_LIBRARY unset at run time: the file loaded when the image was
  ;; saved (here a copy), not another one found by the search.
  (multiple-value-bind (code lines library) (run-image '("library"))
    (is (eql 0 code) "~{~A~%~}" lines)
    (is (equal (third (image)) library))))

(test image-finds-the-library-when-the-saved-path-is-gone
  ;; An executable taken where its library is not (the copy is removed):
  ;; SBCL itself would stop at startup, unable to reopen the path it saved;
  ;; lipc searches as when it is loaded.
  (let ((copy (third (image))))
    (unwind-protect
         (progn
           (delete-file copy)
           (multiple-value-bind (code lines library) (run-image '("library") :library (library-file))
             (is (eql 0 code) "~{~A~%~}" lines)
             (is (equal (library-file) library) "LIPC_LIBRARY at run time"))
           (multiple-value-bind (code lines library) (run-image '("library"))
             (is (eql 0 code) "~{~A~%~}" lines)
             (is (and library (string/= library copy)) "the usual places: ~A" library))
           (multiple-value-bind (code lines) (run-image '("library") :library "/nonexistent/image-test/liblipc.so")
             (is (not (eql 0 code)))
             (is (some (lambda (l) (search "liblipc could not be loaded" l)) lines) "~{~A~%~}" lines)
             (is (some (lambda (l) (search "/nonexistent/image-test/liblipc.so" l)) lines))))
      (uiop:copy-file (library-file) copy))))

(test image-a-failed-save-leaves-objects-working
  ;; lipc's save hook runs before SBCL refuses to save with another thread
  ;; running, and its init hook runs again in the same process when SBCL
  ;; cannot write the file: nothing of lipc may change in the process.
  (let ((dir (first (image))))
    (multiple-value-bind (code out)
        (run-app-lisp `((uiop:symbol-call :lipc-image-app :refused-save ,(namestring dir)))
                      :library (library-file))
      (let ((lines (uiop:split-string (string-right-trim '(#\Newline) out)
                                      :separator '(#\Newline))))
        (check-lines lines)
        (is (eql 0 code) "exit ~A:~%~A" code out)
        (is (= 7 (count-if (lambda (l) (eql 0 (search "ok " l))) lines)) "~A" out)))))
