;;;; image.lisp - lipc in an image saved with save-lisp-and-die (an
;;;; executable, buildapp, Roswell's `ros build`) when it starts again.
;;;;
;;;; What a saved image holds of lipc belongs to the process that saved it:
;;;; handles and fds are that process's numbers (the new process gives the
;;;; same numbers to its own objects: its first handle has the same value),
;;;; mappings and their pointers are its address space, a process object's
;;;; child was its child.  So RESTART-IMAGE, the first of SB-EXT:*INIT-HOOKS*
;;;; (which SBCL runs before the toplevel function and before it starts its
;;;; finalizer thread), in the new process:
;;;;   1. closes for good every lipc object the image holds (handle.lisp): a
;;;;      use signals LIPC-CLOSED saying it was opened before
;;;;      save-lisp-and-die, closing it does nothing, and no finalizer of it
;;;;      runs.  This covers every handle object (semaphores, mutexes, events,
;;;;      shared memory, mapped files, file locks, processes) and every pipe
;;;;      stream; memory streams and eazy-process objects go through them.
;;;;      Raw foreign pointers taken from a mapping (SHARED-MEMORY-POINTER,
;;;;      MAPPED-POINTER) cannot be marked: like after a close, they are dead.
;;;;   2. forgets what the binding worked out in the saving process;
;;;;   3. loads liblipc with the binding's search (library.lisp): LIPC_LIBRARY
;;;;      when set, else the file the image was saved with, then the usual
;;;;      places, so an executable copied to another machine finds its library
;;;;      there; none: LIPC-LIBRARY-ERROR naming each place, at startup;
;;;;   4. sets the call mode again (lipc.lisp);
;;;;   5. grows SBCL's finalizer store again, which the save shrank
;;;;      (finalizer-store.lisp).
;;;; The saving process itself is left alone, so a save that fails leaves
;;;; every object working: SBCL refuses to save with other threads running
;;;; after the save hooks ran, and when its C code cannot write the file it
;;;; runs the init hooks again in the same process (RESTART-IMAGE tells).
;;;; lipc starts no Lisp thread (its own threads are Go's, which SBCL does
;;;; not count), so it never stands in the way of a save.

(in-package #:lipc)

(defun reset-caches ()
  "Forgets what was worked out in the process that saved the image."
  (setf **page-size** nil))

(defvar *saving-thread* nil
  "The thread that ran save-lisp-and-die (BEFORE-SAVE).  A saved image that
starts has a new main thread; a save that failed in SBCL's C code runs the
init hooks again in the same process, on this thread.")

(defun restart-image ()
  "SB-EXT:*INIT-HOOKS*: lipc in a saved image that starts (see above)."
  (cond ((eq sb-thread:*current-thread* (shiftf *saving-thread* nil))
         ;; The save failed (e.g. the file could not be written) and SBCL
         ;; re-initialised this process: the objects are still open here.
         ;; Only SBCL's list of shared objects lost the library.
         (open-library *library-path*))
        (t
         (forget-saved-boxes)
         (reset-caches)
         (let ((saved *library-path*))
           (setf *library-path* nil)
           (load-library :candidates (restart-candidates saved)))))
  (check-library)
  (ensure-handoff)
  ;; SBCL shrank its finalizer store for the save (finalizer-store.lisp).
  (grow-finalizer-store))

(defun before-save ()
  "SB-EXT:*SAVE-HOOKS*: RESTART-IMAGE goes first in the saved image, before
the init hooks of code loaded after lipc (which may use lipc); the library
search there knows where lipc.asd was without asking ASDF."
  (setf *saved-system-directory* (system-directory)
        *saving-thread* sb-thread:*current-thread*
        sb-ext:*init-hooks* (cons 'restart-image (remove 'restart-image sb-ext:*init-hooks*))))

(eval-when (:load-toplevel :execute)
  (pushnew 'restart-image sb-ext:*init-hooks*)
  (pushnew 'before-save sb-ext:*save-hooks*))
