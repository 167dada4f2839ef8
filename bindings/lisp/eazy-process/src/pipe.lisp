;;;; pipe.lisp - pipe objects, and who owns each parent-side fd.
;;;;
;;;; eazy-process hands out raw fd numbers (FD, FDS, PIPE-READ, PIPE-WRITE).
;;;; Each of them is owned here by a lipc pipe stream: closing goes through
;;;; that owner (idempotent), never through a bare number, so a number that
;;;; was closed and then reused by some other file is never closed again;
;;;; an fd whose owner is garbage is closed by the owner's finalizer.  The
;;;; table below finds the owner of a number, for a fixnum fdspec.

(in-package #:eazy-process)

(defvar *owners* (make-hash-table :weakness :value)
  "fd -> the lipc pipe stream owning it (weak: a garbage owner goes away).")

(defvar *owners-lock* (sb-thread:make-mutex :name "eazy-process fd owners"))

;;; A saved image (save-lisp-and-die) starts with every lipc pipe stream it
;;; holds closed for good (lipc's image.lisp): their numbers were another
;;; process's fds.  FD-OWNER would ignore them; forget them outright.
(defun forget-owners ()
  (sb-thread:with-mutex (*owners-lock*)
    (clrhash *owners*)))

(eval-when (:load-toplevel :execute)
  (pushnew 'forget-owners sb-ext:*init-hooks*))

(defun own-fd (stream)
  "Registers STREAM (an open lipc pipe stream) as the owner of its fd;
returns the fd."
  (let ((fd (lipc:pipe-fd stream)))
    (sb-thread:with-mutex (*owners-lock*)
      (setf (gethash fd *owners*) stream))
    fd))

(defun fd-owner (fd)
  "The open pipe stream that owns FD, or NIL when FD is not one of ours."
  (sb-thread:with-mutex (*owners-lock*)
    (let ((stream (gethash fd *owners*)))
      (and stream (open-stream-p stream) (eql fd (lipc:pipe-fd stream)) stream))))

(defun release-fd (stream)
  "Closes STREAM, the owner of an fd, and forgets it.  Idempotent."
  (sb-thread:with-mutex (*owners-lock*)
    (when (open-stream-p stream)
      (let ((fd (lipc:pipe-fd stream)))
        (when (eq (gethash fd *owners*) stream)
          (remhash fd *owners*))))
    (close stream)))

;;; ---- pipe objects

(defstruct (pipe (:constructor %make-pipe (read write streams))
                 (:print-object print-pipe))
  "A pipe made by (PIPE): READ and WRITE are its fds in this process.  Given
in an fdspec, the child gets one end (by direction) and this process keeps
both, until CLOSE-PIPE (or until the pipe object is garbage)."
  (read 0 :type fixnum)
  (write 1 :type fixnum)
  (streams nil :type list))             ; (read-stream write-stream): the owners

(defun print-pipe (pipe stream)
  (if *print-readably*
      (error 'print-not-readable :object pipe)
      (format stream "#S(~S :READ ~D :WRITE ~D)" 'pipe (pipe-read pipe) (pipe-write pipe))))

(defun pipe ()
  "Makes a new pipe object, usable in the fdspecs of SHELL: a child given it
at fd 0 (or with :direction :input) reads its read end, at fd 1 or 2 (or
with :direction :output) writes its write end.  This process keeps both ends
open until CLOSE-PIPE: close it once every child that uses it has started,
or a reader never sees the end of file."
  (multiple-value-bind (in out) (lipc:open-pipe)
    (%make-pipe (own-fd in) (own-fd out) (list in out))))

(defun close-pipe (pipe)
  "Closes both ends of PIPE in this process (children keep their copies).
Closing a pipe again does nothing."
  (mapc #'release-fd (pipe-streams pipe))
  nil)

(defun pipe-end (pipe direction)
  "The owner stream of the end of PIPE a child uses for DIRECTION, and the
fd of the other end (the parent's slot)."
  (destructuring-bind (in out) (pipe-streams pipe)
    (ecase direction
      (:input (values in (pipe-write pipe)))
      (:output (values out (pipe-read pipe))))))
