;;;; fdspec.lisp - eazy-process fdspecs as lipc spawn specs.
;;;;
;;;; fdspecs := {fdspec}*, one per child fd from 0:
;;;;   :i :in :input      a new pipe the child reads; this process keeps the write end
;;;;   :o :out :output    a new pipe the child writes; this process keeps the read end
;;;;   <fixnum>           a parent fd (normally (fd other-process n)): the child gets
;;;;                      it and this process closes it (hands it over)
;;;;   <pipe>             an end of a pipe object, by the fd's default direction
;;;;   <pathname>         a file (a string is a file name too), default direction
;;;;   (pipe &key (direction :input))
;;;;   (pathname &key (direction :input) (if-exists :error) if-does-not-exist)
;;;;                      opened as CL's OPEN would (:rename, :rename-and-delete,
;;;;                      :new-version are not supported)
;;;;   NIL                /dev/null, by the fd's default direction (both from fd 3 on)
;;;; The default direction is :input for fd 0 and :output for fds 1 and 2;
;;;; fds from 3 on have none.  Mistakes are signalled before anything runs.
;;;;
;;;; Each fdspec becomes an FDSPEC record: the lipc spec (see lipc's
;;;; spawn-process :fds), what this process's slot in FDS will be, what to
;;;; keep alive with the process, and what to close once the child runs.

(in-package #:eazy-process)

(defstruct (fdspec (:constructor make-fdspec (lipc &key slot keep hand-over)))
  lipc          ; the lipc spawn spec for this child fd
  slot          ; :pipe (an implicit pipe's parent end, known after the spawn), an fd, or NIL
  keep          ; an object the process keeps alive (a pipe object)
  hand-over)    ; an owner stream this process closes once the child runs

(defun default-direction (fd)
  (if (< fd (length +fdspecs-default+))
      (let ((d (elt +fdspecs-default+ fd)))
        (case d
          ((:i :in :input) :input)
          ((:o :out :output) :output)
          (t d)))
      (error "There is no default direction for fd ~a, it should be specified!" fd)))

(defun pipe-fdspec (pipe &key (direction :input))
  (multiple-value-bind (stream other) (pipe-end pipe direction)
    (unless (open-stream-p stream)
      (error "fdspec: ~S was closed (CLOSE-PIPE), or made before save-lisp-and-die ~
              (a saved image starts with every pipe of the image closed)" pipe))
    (make-fdspec stream :slot other :keep pipe)))

(defun open-fdspec (path &key (direction :input) (if-exists :error)
                           (if-does-not-exist
                            (cond ((eq direction :input) :error)
                                  ((member if-exists '(:overwrite :append)) :error)
                                  ((member direction '(:output :io)) :create)
                                  (t nil))))
  "A file for the child, with CL OPEN's options and defaults (as the original:
:if-exists defaults to :error, applied for :output only)."
  (check-type path (or pathname string))
  (ecase direction ((:input :output :io :probe)))
  (ecase if-does-not-exist ((:create :error nil)))
  (when (and (null if-does-not-exist) (not (eq direction :probe)))
    (error ":if-does-not-exist flag was NIL, the direction should be :probe, actually ~a"
           direction))
  (let ((create (if (eq if-does-not-exist :create) :create :error)))
    (make-fdspec
     (ecase direction
       ((:input :probe)
        (list path :direction :input :if-does-not-exist create :mode #o666))
       (:output
        (list path :direction :output
                   :if-exists (ecase if-exists
                                ((:error nil) :error)
                                (:supersede :supersede)
                                (:append :append)
                                (:overwrite :overwrite))
                   :if-does-not-exist create :mode #o666))
       (:io
        (list path :direction :io :if-exists :overwrite :if-does-not-exist create :mode #o666))))))

(defun fixnum-fdspec (fd)
  "A parent fd handed to the child.  One of this layer's (FD of a process,
an end of a pipe object) is closed here through its owner once the child
runs.  Any other fd is closed here too (by lipc, once the child runs), as
the original did, except 0, 1 and 2: this image's own stdio stays."
  (when (minusp fd)
    (error "fdspec: ~D is not a file descriptor" fd))
  (let ((owner (fd-owner fd)))
    (cond (owner (make-fdspec owner :hand-over owner))
          ((<= fd 2) (make-fdspec fd))
          (t (make-fdspec (list :fd fd :close t))))))

(defun null-fdspec (fd)
  "/dev/null: read at fd 0, written at 1 and 2; from fd 3 on, where no
direction is the default, opened for both (the README's example has NIL at
fd 6; the original signalled an error there)."
  (if (<= fd 2)
      (make-fdspec :null)
      (make-fdspec (list #p"/dev/null" :direction :io :if-exists :overwrite
                                       :if-does-not-exist :error))))

(defun canonicalize-fdspec (fdspec fd)
  "The FDSPEC record for FDSPEC at child fd FD."
  (cond ((member fdspec '(:i :in :input)) (make-fdspec :pipe-in :slot :pipe))
        ((member fdspec '(:o :out :output)) (make-fdspec :pipe-out :slot :pipe))
        ((null fdspec) (null-fdspec fd))
        ((typep fdspec 'fixnum) (fixnum-fdspec fdspec))
        ((pipe-p fdspec) (pipe-fdspec fdspec :direction (default-direction fd)))
        ((typep fdspec '(or pathname string))
         (open-fdspec fdspec :direction (default-direction fd)))
        ((and (consp fdspec) (pipe-p (car fdspec)))
         (apply #'pipe-fdspec fdspec))
        ((and (consp fdspec) (typep (car fdspec) '(or pathname string)))
         (apply #'open-fdspec fdspec))
        (t (error 'simple-type-error
                  :datum fdspec
                  :expected-type '(or (member :i :in :input :o :out :output nil)
                                   fixnum pipe pathname string cons)
                  :format-control "~S is not an fdspec (for child fd ~D)"
                  :format-arguments (list fdspec fd)))))
