;;;; image-app.lisp - the program image-tests.lisp saves with
;;;; save-lisp-and-die and runs.  Not part of the ASDF test system: a child
;;;; sbcl loads lipc and eazy-process, then this file, which opens one object
;;;; of every kind into the image (*OLD*), then saves an executable whose
;;;; toplevel is MAIN.
;;;;
;;;;   app stale DIR   every object from before the save: used, closed,
;;;;                   finalized, next to new objects that got the same
;;;;                   handle and fd numbers; then a spawn and a semaphore
;;;;   app library     which liblipc this process loaded
;;;;
;;;; REFUSED-SAVE runs in the child sbcl itself, with no executable.
;;;;
;;;; Output: one line per check, "ok <what>" or "BAD <what>: <why>", then
;;;; "library <path>"; the exit code is 0 only when every line is ok.

(defpackage #:lipc-image-app
  (:use #:cl)
  (:export #:prepare #:save))

(in-package #:lipc-image-app)

(defvar *old* nil
  "(kind . object) of every object opened before the save.")

(defvar *old-handles* nil "Their handle numbers, in the order opened.")

(defvar *old-fds* nil "The fd numbers of the old pipe streams.")

(defvar *dir* nil "The directory of the files the objects use.")

(defvar *tag* nil "Makes the names unique: the saving process's pid.")

(defun name (kind) (format nil "lipc-image-~A-~A" *tag* kind))

(defun file (kind) (namestring (merge-pathnames (format nil "~A.dat" kind) *dir*)))

(defun open-objects (initial prefix)
  "One object of every kind, in a fixed order, so that a new process that
opens the same kinds would get the same handle numbers if lipc did not draw
where they start at each load.  INITIAL: the
semaphore's value; PREFIX starts the names.  Returns ((kind . object) ...)."
  (let* ((sem (lipc:open-semaphore (name (format nil "~A~A" prefix "sem")) :create t :initial initial))
         (mutex (lipc:open-mutex (name (format nil "~A~A" prefix "mutex")) :create t))
         (event (lipc:open-event (name (format nil "~A~A" prefix "event")) :create t :manual-reset t))
         (shm (lipc:open-shared-memory (name (format nil "~A~A" prefix "shm")) :create t :size 4096))
         (map (lipc:map-file (file (format nil "~A~A" prefix "map")) :access :write :create t :extend t :length 4096))
         (lock (lipc:open-file-lock (file (format nil "~A~A" prefix "lock")) :create t))
         ;; cat exits when the saving process dies (its stdin's write end closes)
         (proc (lipc:spawn-process '("cat") :input :pipe :output :pipe)))
    (multiple-value-bind (in out) (lipc:open-pipe)
      (list (cons :semaphore sem) (cons :mutex mutex) (cons :event event)
            (cons :shared-memory shm) (cons :mapped-file map) (cons :file-lock lock)
            (cons :process proc)
            (cons :process-output (lipc:process-output proc))
            (cons :process-input (lipc:process-input proc))
            (cons :pipe-read in) (cons :pipe-write out)
            (cons :memory-stream (lipc:make-memory-stream shm))))))

(defun prepare (dir)
  "Opens the objects the saved image keeps (called before the save)."
  (setf *dir* (pathname dir)
        *tag* (sb-posix:getpid)
        *old* (open-objects 5 "old-"))
  (lipc:shm-write-octets (cdr (assoc :shared-memory *old*)) 0 #(42))
  (lipc:semaphore-post (cdr (assoc :semaphore *old*)))
  (setf *old-handles* (loop for (nil . o) in *old*
                            when (typep o 'lipc:handle-object) collect (lipc:object-handle o))
        *old-fds* (loop for (nil . o) in *old*
                        when (typep o 'lipc:pipe-stream) collect (lipc:pipe-fd o)))
  ;; eazy-process: a child with pipes, a pipe object
  (push (cons :eazy-process (eazy-process:shell '("cat") '(:in :out))) *old*)
  (push (cons :eazy-pipe (eazy-process:pipe)) *old*)
  (setf *old-fds* (append *old-fds*
                          (coerce (remove nil (eazy-process:fds (cdr (assoc :eazy-process *old*))))
                                  'list)
                          (let ((p (cdr (assoc :eazy-pipe *old*))))
                            (list (eazy-process::pipe-read p) (eazy-process::pipe-write p))))))

;;; ---- checks

(defvar *bad* 0)

(defun report (ok what &optional why)
  (unless ok (incf *bad*))
  (format t "~:[BAD~;ok~] ~A~@[: ~A~]~%" ok what (and (not ok) why))
  (finish-output))

(defun stale-use (kind object)
  "Uses OBJECT, of KIND, as a program would."
  (ecase kind
    (:semaphore (lipc:semaphore-value object))
    (:mutex (lipc:mutex-lock object :timeout 0))
    (:event (lipc:event-set object))
    (:shared-memory (lipc:shm-read-octets object 0 1))
    (:mapped-file (lipc:mapped-pointer object))
    (:file-lock (lipc:file-lock-acquire object :timeout 0))
    (:process (lipc:process-kill object 0))
    ((:process-output :pipe-read)
     (lipc:read-octets object (make-array 1 :element-type '(unsigned-byte 8)) :timeout 0))
    ((:process-input :pipe-write) (lipc:write-octets object #(1) :timeout 0))
    (:memory-stream (read-byte object))
    (:eazy-process (eazy-process:wait object :nohang))
    (:eazy-pipe (eazy-process:shell '("true") (list object)))))

(defun check-stale-use (kind object)
  "The use of an old object signals LIPC-CLOSED, saying why."
  (handler-case (progn (stale-use kind object)
                       (report nil (format nil "use of an old ~(~A~)" kind) "no error"))
    (lipc:lipc-closed (c)
      (report (search "save-lisp-and-die" (princ-to-string c))
              (format nil "use of an old ~(~A~) signals LIPC-CLOSED" kind)
              (format nil "the message does not say why: ~A" c)))
    (error (c)
      ;; eazy-process's own check of a pipe object: an error that says why
      (report (and (eq kind :eazy-pipe) (search "save-lisp-and-die" (princ-to-string c)))
              (format nil "use of an old ~(~A~) signals an error" kind)
              (format nil "~S, not LIPC-CLOSED: ~A" (type-of c) c)))))

(defun open-p (object)
  (typecase object
    (lipc:handle-object (lipc:handle-open-p object))
    (stream (open-stream-p object))
    (t nil)))

(defun close-old (kind object)
  "Closes an old object as a program would: never an error."
  (handler-case
      (case kind
        (:eazy-process (eazy-process:finalize-process object))
        (:eazy-pipe (eazy-process:close-pipe object))
        (t (if (streamp object) (close object) (lipc:close-handle object))))
    (error (c) (report nil (format nil "closing an old ~(~A~)" kind) c))))

(defun fd-open-p (fd)
  (/= -1 (sb-alien:alien-funcall (sb-alien:extern-alien "fcntl" (function sb-alien:int sb-alien:int
                                                                           sb-alien:int))
                                 fd 1)))                             ; F_GETFD

(defun occupy-fds (fds)
  "Makes each of FDS open in this process (a /dev/null where none is): the
numbers a closed-for-good pipe stream must never close."
  (let ((null (sb-posix:open "/dev/null" sb-posix:o-rdonly)))
    (dolist (fd fds)
      (unless (fd-open-p fd)
        (sb-posix:dup2 null fd)))
    (unless (member null fds)
      (sb-posix:close null))))

(defun new-fails (new)
  "NIL when the new objects still work as they should, else what failed."
  (flet ((new (kind) (cdr (assoc kind new))))
    (handler-case
        (let ((b (make-array 1 :element-type '(unsigned-byte 8))))
          (cond ((/= 7 (lipc:semaphore-value (new :semaphore))) "the semaphore's value")
                ((not (lipc:mutex-lock (new :mutex) :timeout 0)) "locking the mutex")
                ((progn (lipc:mutex-unlock (new :mutex)) (lipc:event-reset (new :event))
                        (/= 4096 (lipc:shared-memory-size (new :shared-memory))))
                 "the shared memory's size")
                ((/= 4096 (lipc:mapped-size (new :mapped-file))) "the mapping's size")
                ((not (lipc:file-lock-acquire (new :file-lock) :timeout 0)) "the file lock")
                ((progn (lipc:file-lock-release (new :file-lock))
                        (not (lipc:process-kill (new :process) 0)))
                 "the process")
                ((/= 1 (lipc:write-octets (new :pipe-write) #(9) :timeout 1)) "writing the pipe")
                ((not (and (eql 1 (lipc:read-octets (new :pipe-read) b :timeout 1))
                           (= 9 (aref b 0))))
                 "reading the pipe")))
      (error (c) (format nil "~S: ~A" (type-of c) c)))))

(defun check-new (new when)
  (let ((why (new-fails new)))
    (report (null why) (format nil "new objects work ~A" when) why)))

(defun stale ()
  (let* ((new (open-objects 7 "new-"))
         (new-handles (loop for (nil . o) in new
                            when (typep o 'lipc:handle-object) collect (lipc:object-handle o)))
         (same (intersection new-handles *old-handles*)))
    ;; lipc draws where handle values start at each load, so the new
    ;; objects' numbers are not the old ones' (every process used to get the
    ;; same first handles, and an old object then reached the new object of
    ;; its number); the fds below still alias, and the binding's own marking
    ;; is what the checks after this one see
    (report (null same) "new objects got handle numbers other than the old objects'"
            (format nil "old ~A new ~A" *old-handles* new-handles))
    (occupy-fds *old-fds*)
    (loop for (kind . object) in *old*
          ;; (a memory stream stays open over its closed object, as in one process)
          do (unless (eq kind :memory-stream)
               (report (not (open-p object)) (format nil "an old ~(~A~) is not open" kind)))
             (check-stale-use kind object))
    ;; what lives outside the process is still there, through new handles
    (lipc:with-shared-memory (shm (name "old-shm"))
      (report (= 42 (aref (lipc:shm-read-octets shm 0 1) 0)) "the old shared memory's byte"))
    (lipc:with-semaphore (sem (name "old-sem"))
      (report (= 6 (lipc:semaphore-value sem)) "the old semaphore's value"))
    (check-new new "next to the old ones")
    (loop for (kind . object) in *old* do (close-old kind object))
    (check-new new "after the old ones were closed")
    (report (every #'fd-open-p *old-fds*) "closing old pipe streams closed no fd of this process"
            (format nil "closed: ~A of ~A" (remove-if #'fd-open-p *old-fds*) *old-fds*))
    ;; the finalizers: nothing references the old objects any more
    (setf *old* nil)
    (dotimes (i 3) (sb-ext:gc :full t) (sb-impl::run-pending-finalizers))
    (check-new new "after the old ones were collected")
    (report (every #'fd-open-p *old-fds*) "collecting old pipe streams closed no fd"
            (format nil "closed: ~A of ~A" (remove-if #'fd-open-p *old-fds*) *old-fds*))
    (let ((result (subseq (multiple-value-list (lipc:run-command '("sh" "-c" "printf hi"))) 0 3)))
      (report (equal '(0 "hi" "") result) "spawn after the restart" (format nil "~S" result)))
    ;; SBCL's interrupts (SIGURG) reach a Lisp thread waiting in lipc
    (lipc:with-semaphore (zero (name "new-zero") :create t :unlink-on-close t)
      (report (eq :timed-out (handler-case (sb-ext:with-timeout 0.2
                                             (lipc:semaphore-wait zero :timeout 10))
                               (sb-ext:timeout () :timed-out)))
              "with-timeout ends a wait in lipc"))
    (let ((p (cdr (assoc :process new))))
      (lipc:process-close-input p)
      (report (eql 0 (lipc:process-wait p :timeout 5)) "a new process with pipes"))
    (lipc:close-process (cdr (assoc :process new)))
    (loop for (nil . o) in new do (if (streamp o) (close o) (lipc:close-handle o)))))

(defun unlink-names ()
  "Removes the names the old and the new objects used, whatever happened."
  (dolist (prefix '("old-" "new-"))
    (flet ((n (kind) (name (format nil "~A~A" prefix kind))))
      (ignore-errors (lipc:unlink-semaphore (n "sem")))
      (ignore-errors (lipc:unlink-mutex (n "mutex")))
      (ignore-errors (lipc:unlink-event (n "event")))
      (ignore-errors (lipc:unlink-shared-memory (n "shm"))))))

(defun main ()
  (let ((what (second sb-ext:*posix-argv*)))
    (handler-case
        (cond ((equal what "stale") (unwind-protect (stale) (unlink-names)))
              ((equal what "library"))
              (t (report nil "arguments" sb-ext:*posix-argv*)))
      (error (c) (report nil "the program" (format nil "~S: ~A" (type-of c) c))))
    (format t "library ~A~%live handles ~D~%" lipc:*library-path* (lipc:live-handles))
    (finish-output)
    (sb-ext:exit :code (if (zerop *bad*) 0 1) :abort t)))

(defun save-failure (path)
  "The error of a save-lisp-and-die of PATH that did not happen, or NIL."
  (nth-value 1 (ignore-errors (sb-ext:save-lisp-and-die path :executable t))))

(defun refused-save (dir)
  "In the child sbcl itself: a save whose file cannot be written (SBCL runs
the init hooks again in this process), and one that SBCL refuses (another
thread runs) after lipc's save hook ran, leave every object working."
  (let* ((name (format nil "lipc-image-~A-refused" (sb-posix:getpid)))
         (sem (lipc:open-semaphore name :create t :initial 2)))
    (flet ((sem-works (when)
             (report (and (lipc:handle-open-p sem) (= 2 (lipc:semaphore-value sem)))
                     (format nil "a semaphore works after ~A" when))))
      (let ((e (save-failure (namestring (merge-pathnames "no/such/dir/app" dir)))))
        (report (typep e 'sb-impl::save-error) "SBCL could not write the file" e))
      (sem-works "the failed save")
      (report (lipc:with-semaphore (new (format nil "lipc-image-~A-new" (sb-posix:getpid))
                                        :create t :initial 4 :unlink-on-close t)
                (= 4 (lipc:semaphore-value new)))
              "a new semaphore after the failed save")
      (let* ((path (namestring (merge-pathnames "refused" dir)))
             (release (sb-thread:make-semaphore))
             (thread (sb-thread:make-thread (lambda () (sb-thread:wait-on-semaphore release)))))
        (multiple-value-bind (in out) (lipc:open-pipe)
          (let ((e (save-failure path)))
            (report (typep e 'sb-impl::save-with-multiple-threads-error)
                    "SBCL refused the save (another thread)" e))
          (report (not (probe-file path)) "nothing saved")
          (sem-works "the refused save")
          (report (and (= 1 (lipc:write-octets out #(5) :timeout 1))
                       (eql 1 (lipc:read-octets in (make-array 1 :element-type '(unsigned-byte 8))
                                                :timeout 1)))
                  "a pipe works after the refused save")
          (close in)
          (close out))
        (sb-thread:signal-semaphore release)
        (sb-thread:join-thread thread)))
    (lipc:close-semaphore sem)
    (lipc:unlink-semaphore name))
  (sb-ext:exit :code (if (zerop *bad*) 0 1) :abort t))

(defun save (path)
  (sb-ext:save-lisp-and-die path :executable t :toplevel #'main))
