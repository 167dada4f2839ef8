;;;; fork-open-tests.lisp - prefork workers open named objects by name: in
;;;; the child of sb-posix:fork, a worker handed a name opens the semaphore,
;;;; shared memory, mutex or event itself.  Go cannot run in a fork child, and
;;;; this binding hands Go work to lipc's threads, which the child does not
;;;; have; lipc opens there in C, with the same checks and errors as anywhere
;;;; (the C suite's test_fork_open compares the two case by case), and lock
;;;; files open there too (test_fork_flock).  What still needs Go (spawning,
;;;; opening files to map, growing shared memory) signals LIPC-FORKED at once
;;;; with a message naming the way out.  Every
;;;; wait has a deadline, so a hang fails the test.

(in-package #:lipc-tests)

(def-suite :fork-open :in :lipc)
(in-suite :fork-open)

(defparameter *limit* 10 "Seconds for any one step of the other side.")

(defstruct (forked-child (:constructor make-forked-child (pid fd)))
  "A fork child: its pid, the read end of its pipe, and whether it was
reaped (then its pid is no longer ours to signal)."
  pid fd (reaped nil))

(defun fork-child (function)
  "Calls FUNCTION in a child of sb-posix:fork and returns a FORKED-CHILD:
the child sends (:ok value) or (:error text) back, printed readably, on its
pipe, and ends with an abort exit (no unwinding, nothing flushed, so nothing
of the parent's runs twice).  NIL when SBCL refuses to fork (more than one
Lisp thread)."
  (multiple-value-bind (r w) (sb-posix:pipe)
    (let ((pid (handler-case (sb-posix:fork) (error () nil))))
      (cond ((null pid) (sb-posix:close r) (sb-posix:close w) nil)
            ((zerop pid)
             (let ((code 1))
               (unwind-protect
                    (let ((report (handler-case (list :ok (funcall function))
                                    (serious-condition (c)
                                      (list :error (coerce (format nil "~A: ~A" (type-of c) c)
                                                           '(simple-array character (*))))))))
                      (pipe-write w (with-standard-io-syntax (prin1-to-string report)))
                      (when (eq :ok (first report)) (setf code 0)))
                 (sb-ext:exit :abort t :code code))))
            (t (sb-posix:close w) (make-forked-child pid r))))))

(defun child-result (child &optional (timeout *limit*))
  "What CHILD sent, once it ended: its value, or an error naming what it
signalled, how it died or that it did not end in TIMEOUT seconds (it is
killed then)."
  (assert (not (forked-child-reaped child)))
  (let ((pid (forked-child-pid child)) (fd (forked-child-fd child))
        (deadline (+ (now) timeout))
        (out (make-array 0 :element-type '(unsigned-byte 8) :adjustable t :fill-pointer 0)))
    (unwind-protect
         (cffi:with-foreign-pointer (buf 4096)
           (loop
             (let ((left (- deadline (now))))
               (unless (and (plusp left) (wait-fds (list (cons fd :read)) :timeout left))
                 (sb-posix:kill pid sb-posix:sigkill)
                 (sb-posix:waitpid pid 0)
                 (setf (forked-child-reaped child) t)
                 (error "the fork child did not end in ~As; it sent ~S" timeout
                        (sb-ext:octets-to-string out)))
               (let ((n (sb-posix:read fd buf 4096)))
                 (when (zerop n) (return))
                 (dotimes (i n) (vector-push-extend (cffi:mem-aref buf :uint8 i) out))))))
      (sb-posix:close fd))
    (multiple-value-bind (p status) (sb-posix:waitpid pid 0)
      (declare (ignore p))
      (setf (forked-child-reaped child) t)
      (let ((text (sb-ext:octets-to-string out)))
        (unless (and (sb-posix:wifexited status) (zerop (sb-posix:wexitstatus status)))
          (error "the fork child ended with status #x~X: ~A" status text))
        (destructuring-bind (tag value) (with-standard-io-syntax (read-from-string text))
          (assert (eq tag :ok))
          value)))))

(defmacro in-fork-child ((child) child-form &body parent-body)
  "Runs CHILD-FORM in a fork child (FORK-CHILD) and PARENT-BODY here with
CHILD bound; skips the test when SBCL refuses to fork.  The child is killed
and reaped if PARENT-BODY leaves before it was."
  `(let ((,child (fork-child (lambda () ,child-form))))
     (if (null ,child)
         (skip "sb-posix:fork refused (other Lisp threads running)")
         (unwind-protect (progn ,@parent-body)
           (unless (forked-child-reaped ,child)
             (ignore-errors (child-result ,child 0)))))))

(defun await (sem child what)
  "Waits for the child's post on SEM; if it does not come, the child's own
report (what it signalled) is the failure."
  (unless (semaphore-wait sem :timeout *limit*)
    (error "no ~A from the fork child: ~A" what
           (handler-case (format nil "it ended: ~S" (child-result child 1))
             (error (e) (princ-to-string e))))))

(defun shm-string (shm offset count)
  (cffi:foreign-string-to-lisp (shared-memory-pointer shm) :offset offset :count count
                                                          :encoding :latin-1))

(defun (setf shm-string) (string shm offset)
  (cffi:lisp-string-to-foreign string (cffi:inc-pointer (shared-memory-pointer shm) offset)
                               (1+ (length string)) :encoding :latin-1)
  string)

(defun make-shared (tag)
  "A parent's objects for a child to open by name: two semaphores, 4096
bytes of shared memory, a mutex and an event, as a plist of names and
objects."
  (let ((names (loop for kind in '(:s1 :s2 :shm :mutex :event)
                     collect kind collect (unique-name (format nil "~A-~(~A~)" tag kind)))))
    (list :names names
          :s1 (open-semaphore (getf names :s1) :create t :exclusive t :unlink-on-close t)
          :s2 (open-semaphore (getf names :s2) :create t :exclusive t :unlink-on-close t)
          :shm (open-shared-memory (getf names :shm) :create t :exclusive t :size 4096
                                                     :unlink-on-close t)
          :mutex (open-mutex (getf names :mutex) :create t :exclusive t :unlink-on-close t)
          :event (open-event (getf names :event) :create t :exclusive t :manual-reset t
                                                 :unlink-on-close t))))

(defun close-shared (shared)
  (loop for (key value) on shared by #'cddr
        unless (eq key :names) do (close-handle value)))

(test fork-child-opens-the-parents-objects-and-uses-them-with-it
  (let* ((o (make-shared "fuse")) (n (getf o :names)))
    (unwind-protect
         (progn
           (setf (shm-string (getf o :shm) 0) "papa")
           (in-fork-child (child)
               (let ((s1 (open-semaphore (getf n :s1))) (s2 (open-semaphore (getf n :s2)))
                     (shm (open-shared-memory (getf n :shm))) (m (open-mutex (getf n :mutex)))
                     (ev (open-event (getf n :event))))
                 (assert (= 4096 (shared-memory-size shm)))
                 (assert (string= "papa" (shm-string shm 0 4)) () "the parent's bytes")
                 (assert (mutex-lock m :timeout *limit*))
                 (setf (shm-string shm 8) "child")
                 (event-set ev)
                 (semaphore-post s1)                  ; 1: locked, written, set
                 (assert (semaphore-wait s2 :timeout *limit*) () "no go-ahead 1")
                 (mutex-unlock m)
                 (semaphore-post s1)                  ; 2: unlocked
                 (assert (semaphore-wait s2 :timeout *limit*) () "no go-ahead 2")
                 (assert (not (mutex-lock m :timeout 0)) () "the parent holds the mutex")
                 (assert (not (event-wait ev :timeout 0)) () "the parent's reset was not seen")
                 (assert (string= "parent" (shm-string shm 16 6)) () "the parent's later bytes")
                 (assert (= 0 (semaphore-value s1) (semaphore-value s2)))
                 (mapc #'close-handle (list s1 s2 shm m ev))
                 :done)
             (await (getf o :s1) child "signal 1")
             (is (event-set-p (getf o :event)) "the event set in the child")
             (is (string= "child" (shm-string (getf o :shm) 8 5)) "the bytes written in the child")
             (is (mutex-locked-p (getf o :mutex)) "the child holds the mutex")
             (is (not (mutex-lock (getf o :mutex) :timeout 0)) "the parent's try while the child holds it")
             (setf (shm-string (getf o :shm) 16) "parent")
             (event-reset (getf o :event))
             (semaphore-post (getf o :s2))
             (await (getf o :s1) child "signal 2")
             (is (eq t (mutex-lock (getf o :mutex) :timeout *limit*)) "the parent locks once the child unlocked")
             (semaphore-post (getf o :s2))
             (is (eq :done (child-result child)))
             (mutex-unlock (getf o :mutex))
             (is (= 1 (diag :fp-selftest)) "the parent's Go runtime is unharmed")))
      (close-shared o))))

(test fork-child-creates-and-unlinks-for-the-parent
  (let* ((kinds '(:sem :shm :mutex :event))
         (made (loop for k in kinds collect k collect (unique-name (format nil "fmade-~(~A~)" k))))
         (doomed (loop for k in kinds collect k collect (unique-name (format nil "fdoom-~(~A~)" k))))
         (own (unique-name "fown"))
         (keep (list (open-semaphore (getf doomed :sem) :create t :exclusive t)
                     (open-shared-memory (getf doomed :shm) :create t :exclusive t :size 64)
                     (open-mutex (getf doomed :mutex) :create t :exclusive t)
                     (open-event (getf doomed :event) :create t :exclusive t)))
         (unlinkers (list :sem #'unlink-semaphore :shm #'unlink-shared-memory
                          :mutex #'unlink-mutex :event #'unlink-event))
         (openers (list :sem #'open-semaphore :shm #'open-shared-memory
                        :mutex #'open-mutex :event #'open-event)))
    (unwind-protect
         (in-fork-child (child)
             (progn
               (close-semaphore (open-semaphore (getf made :sem) :create t :exclusive t :initial 5))
               (let ((m (open-shared-memory (getf made :shm) :create t :exclusive t :size 8192)))
                 (setf (shm-string m 0) "made in the child")
                 (close-shared-memory m))
               (close-mutex (open-mutex (getf made :mutex) :create t :exclusive t))
               (close-event (open-event (getf made :event) :create t :exclusive t :initially-set t))
               (dolist (k kinds)
                 (funcall (getf unlinkers k) (getf doomed k))
                 (assert (eq :gone (handler-case (funcall (getf unlinkers k) (getf doomed k))
                                     (lipc-not-found () :gone)))
                         () "~A unlinked twice" k))
               (close-semaphore (open-semaphore own :create t :exclusive t :unlink-on-close t))
               :done)
           (is (eq :done (child-result child)))
           (with-semaphore (s (getf made :sem))
             (is (= 5 (semaphore-value s)) "the child's semaphore's value"))
           (with-shared-memory (m (getf made :shm))
             (is (= 8192 (shared-memory-size m)))
             (is (string= "made in the child" (shm-string m 0 17))))
           (close-mutex (open-mutex (getf made :mutex)))
           (with-event (e (getf made :event))
             (is (event-set-p e) "the child's event, created set"))
           (dolist (k kinds)
             (signals lipc-not-found (funcall (getf openers k) (getf doomed k))))
           (signals lipc-not-found (open-semaphore own))
           (semaphore-post (first keep))
           (is (= 1 (semaphore-value (first keep))) "the unlinked semaphore the parent holds works on"))
      (mapc #'close-handle keep)
      (loop for (k name) on (append made doomed) by #'cddr
            do (ignore-errors (funcall (getf unlinkers k) name))))))

(defun refusals (base foreign)
  "Every refused open as (condition-class code message), in the order tried."
  (let ((attempts
          (list (lambda () (open-semaphore (format nil "~A-missing" base)))
                (lambda () (open-shared-memory base :create t :exclusive t :size 4096))
                (lambda () (open-mutex "bad/name" :create t))
                (lambda () (open-event (format nil ".~A" base)))
                (lambda () (open-semaphore (make-string 201 :initial-element #\n)))
                (lambda () (open-semaphore (format nil "~A-short" base) :create t))
                (lambda () (unlink-mutex (format nil "~A-missing" base)))
                (lambda () (open-shared-memory (format nil "~A-missing" base) :create t :size 0)))))
    (when foreign
      (setf attempts (append attempts (list (lambda () (open-semaphore foreign))))))
    (loop for attempt in attempts
          collect (handler-case (let ((r (funcall attempt)))
                                  (when (typep r 'handle-object) (close-handle r))
                                  (list :no-error 0 ""))
                    (lipc-error (c)
                      (list (type-of c) (lipc-error-code c) (lipc-error-message c)))))))

(test fork-child-refuses-as-the-parent-does
  (let* ((base (unique-name "ferr"))
         (shm (open-shared-memory base :create t :exclusive t :size 4096 :unlink-on-close t))
         (short (format nil "/dev/shm/sem.~A-short" base))
         (foreign (and (zerop (sb-posix:geteuid)) (unique-name "fnobody"))))
    (unwind-protect
         (progn
           (with-open-file (f short :direction :output :element-type '(unsigned-byte 8))
             (write-sequence #(255 255 255 255) f))
           (when foreign                ; a valid semaphore that user nobody owns
             (close-semaphore (open-semaphore foreign :create t :exclusive t))
             (sb-posix:chown (format nil "/dev/shm/sem.~A" foreign) 65534 65534))
           (let ((here (refusals base foreign)))
             (in-fork-child (child) (refusals base foreign)
               (let ((there (child-result child)))
                 (is (equal here there) "the child's refusals ~S~%differ from the parent's ~S"
                     there here)
                 (flet ((n (class) (count class there :key #'first)))
                   (is (= 0 (n :no-error)))
                   (is (= 2 (n 'lipc-not-found)))
                   (is (= 1 (n 'lipc-exists)))
                   (is (= 4 (n 'lipc-invalid-argument)))
                   (is (= 1 (n 'lipc-name-too-long)))
                   (is (= (if foreign 1 0) (n 'lipc-permission-denied))))))))
      (close-shared-memory shm)
      (ignore-errors (delete-file short))
      (when foreign (ignore-errors (unlink-semaphore foreign))))))

(test fork-child-gets-lipc-forked-for-what-needs-go
  (let* ((name (unique-name "fgo"))
         (shm (open-shared-memory name :create t :exclusive t :size 4096 :unlink-on-close t))
         (file (temp-path "fork-open")))
    (unwind-protect
         (progn
           (with-open-file (f file :direction :output :element-type '(unsigned-byte 8))
             (write-sequence (make-array 4096 :element-type '(unsigned-byte 8) :initial-element 120) f))
           (in-fork-child (child)
               (let ((mine (open-shared-memory name)) (t0 (now)))
                 (flet ((try (what thunk)
                          (handler-case (progn (funcall thunk) (list what :no-error ""))
                            (lipc-error (c) (list what (type-of c) (lipc-error-message c))))))
                   (list (list (try "spawn-process" (lambda () (spawn-process '("true"))))
                               (try "run-command" (lambda () (run-command '("true"))))
                               (try "map-file" (lambda () (map-file file)))
                               (try "grow (inherited)" (lambda () (shared-memory-grow shm 8192)))
                               (try "grow (opened here)" (lambda () (shared-memory-grow mine 8192)))
                               (try "refresh" (lambda () (shared-memory-refresh mine))))
                         (progn (close-shared-memory mine) (- (now) t0)))))
             (destructuring-bind (results secs) (child-result child)
               (is (< secs 2) "the refusals took ~,2Fs" secs)
               (is (= 6 (length results)))
               (loop for (what class message) in results
                     do (is (eq 'lipc-forked class) "~A: ~S ~A" what class message)
                        (is (search "child of a fork()" message) "~A: says why: ~A" what message)
                        (is (and (search "named objects" message) (search "exec" message))
                            "~A: names what works and the way out: ~A" what message))))
           (is (= 4096 (shared-memory-size shm)) "the parent's view")
           (is (= 8192 (shared-memory-grow shm 8192)) "the parent still grows")
           (is (eql 0 (run-command (quote ("true")))) "the parent still spawns"))
      (close-shared-memory shm)
      (ignore-errors (delete-file file)))))

;;; Lock files: a worker opens its own lock (in C: Go cannot run here), and
;;; its locks exclude the parent's until it closes it.  They signalled
;;; LIPC-FORKED here before.

(defun child-locks-and-lets-go (file kind locked go)
  "The child's side: its own lock on FILE, held until the parent's
go-ahead, then closed (which releases it)."
  (let ((l (open-file-lock file :kind kind))
        (s-locked (open-semaphore locked)) (s-go (open-semaphore go)))
    (assert (file-lock-acquire l :timeout 0) () "the child's lock")
    (semaphore-post s-locked)
    (assert (semaphore-wait s-go :timeout *limit*) () "no go-ahead")
    (close-file-lock l)
    (semaphore-post s-locked)
    (assert (semaphore-wait s-go :timeout *limit*) () "no go-ahead")
    (close-handle s-locked)
    (close-handle s-go)
    :done))

(test fork-child-opens-a-file-lock-that-excludes-the-parent
  (dolist (kind '(:fcntl :flock))
    (let* ((file (temp-path "fork-flock"))
           (locked (unique-name "ffl-locked")) (go (unique-name "ffl-go"))
           (s-locked (open-semaphore locked :create t :exclusive t :unlink-on-close t))
           (s-go (open-semaphore go :create t :exclusive t :unlink-on-close t))
           (mine (open-file-lock file :kind kind :create t)))
      (unwind-protect
           (in-fork-child (child)
               (child-locks-and-lets-go file kind locked go)
             (await s-locked child "lock")
             (is (null (file-lock-acquire mine :timeout 0)) "~A: the parent got in beside the child" kind)
             (semaphore-post s-go)
             (await s-locked child "close")
             (is (eq t (file-lock-acquire mine :timeout 0)) "~A: the child's close did not release" kind)
             (file-lock-release mine)
             (semaphore-post s-go)
             (is (eq :done (child-result child))))
        (close-file-lock mine)
        (close-handle s-locked)
        (close-handle s-go)
        (ignore-errors (delete-file file))))))

(test fork-child-file-lock-errors-are-the-parents
  (let* ((missing (temp-path "fork-flock-missing"))
         (dir (directory-namestring (temp-path "x"))))
    (flet ((attempts ()
             (loop for (target . args) in (list (list missing) (list dir) (list "/dev/null" :access :read)
                                                (list 9999))
                   collect (handler-case (progn (close-file-lock (apply #'open-file-lock target args)) "opened")
                             (lipc-error (c)
                               (list (symbol-name (type-of c))
                                     (coerce (lipc-error-message c) '(simple-array character (*)))))))))
      (let ((here (attempts)))
        (in-fork-child (child)
            (attempts)
          (is (equal here (child-result child)))
          (is (search "not a regular file: it is a directory" (second (second here))) "~S" here))))))
