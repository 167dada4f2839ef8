;;;; fast-path-tests.lisp - what the hot calls' shortcuts (issue 12) must
;;;; keep: the handle read through a per-call-site layout cache (handle.lisp
;;;; OBJECT-BOX), interrupts deferred by one binding instead of SBCL's
;;;; WITHOUT-INTERRUPTS (errors.lisp FAST-CALL-C), out-parameters on the
;;;; control stack (WITH-OUT-VALUE).  Each test here fails on a shortcut that
;;;; cuts a corner: a box read at location 0 without the layout check, a
;;;; deferral that does not give interrupts back on the error path, gives
;;;; them back to a caller that had them disabled, or lets an interrupt run
;;;; on top of the C call.

(in-package #:lipc-tests)

(def-suite :fast-path :in :lipc)
(in-suite :fast-path)

;;; A class that puts a slot of its own before the handle's box: SBCL lays
;;; slots out from the least specific class in the precedence list, here the
;;; mixin after SEMAPHORE.  Its slot holds a cons, as the box does, so a
;;; box read at the wrong location would find a plausible but wrong handle.
(defclass decoy-mixin ()
  ((decoy :initform (list 1) :accessor decoy)))

(defclass decoyed-semaphore (semaphore decoy-mixin) ())

(defun open-decoyed (tag &rest options)
  "A DECOYED-SEMAPHORE owning a fresh semaphore (the handle moved over from
a plain one, whose box is then emptied so only one object closes it)."
  (let* ((plain (apply #'open-semaphore (unique-name tag) :create t :unlink-on-close t options))
         (h (lipc::take-handle (lipc::%box plain))))
    (sb-ext:cancel-finalization plain)
    (lipc::make-handle-object 'decoyed-semaphore h :name (semaphore-name plain))))

(defun box-location (object)
  (sb-mop:slot-definition-location
   (find 'lipc::box (sb-mop:class-slots (class-of object)) :key #'sb-mop:slot-definition-name)))

(test handle-read-where-the-class-keeps-it
  ;; The decoy's slot comes first: the box is not at location 0.
  (let ((odd (open-decoyed "decoy" :initial 2))
        (plain (open-semaphore (unique-name "plain") :create t :unlink-on-close t :initial 5)))
    (unwind-protect
         (progn
           (is (/= 0 (box-location odd)))
           (is (= 0 (box-location plain)))
           ;; One call site sees both classes, in turns, so its cache holds
           ;; each layout in turn: every answer must still be the object's own.
           (dotimes (i 3)
             (is (= 2 (semaphore-value odd)))
             (is (= 5 (semaphore-value plain))))
           (semaphore-post odd 3)
           (is (= 5 (semaphore-value odd)))
           (is (semaphore-wait odd :timeout 0))
           (is (= 4 (semaphore-value odd)))
           (is (= 5 (semaphore-value plain)) "the plain one was never touched")
           (is (equal '(1) (decoy odd)) "the decoy slot was never touched")
           (is (= +kind-sem+ (handle-kind odd))))
      (close-semaphore odd)
      (close-semaphore plain))
    ;; Closed, each says so without reaching C.
    (signals lipc-closed (semaphore-value odd))
    (signals lipc-closed (semaphore-post odd))
    (signals lipc-closed (semaphore-value plain))))

(test handle-read-survives-class-redefinition
  (let ((class-name (intern (format nil "REDEFINED-SEM-~D" (sb-ext:atomic-incf (car *name-counter*)))
                            :lipc-tests)))
    (eval `(defclass ,class-name (semaphore) ()))
    (let* ((plain (open-semaphore (unique-name "redef") :create t :unlink-on-close t :initial 7))
           (h (lipc::take-handle (lipc::%box plain)))
           (object (progn (sb-ext:cancel-finalization plain)
                          (lipc::make-handle-object class-name h :name "redef"))))
      (unwind-protect
           (progn
             (is (= 7 (semaphore-value object)))
             (is (= 0 (box-location object)))
             ;; Redefined with a slot-holding mixin first: the instance is
             ;; obsolete and its box moves; the cache must not read the old
             ;; place.
             (eval `(defclass ,class-name (semaphore decoy-mixin) ()))
             (is (= 7 (semaphore-value object)))
             (is (/= 0 (box-location object)))
             (semaphore-post object)
             (is (= 8 (semaphore-value object))))
        (close-semaphore object))
      (signals lipc-closed (semaphore-value object)))))

(test non-handle-objects-are-errors
  ;; Not an instance, an instance of another class, a structure: each a
  ;; Lisp error, never a read of whatever sits at location 0.
  (dolist (thing (list 42 "sem" nil (make-instance 'decoy-mixin) (make-hash-table)))
    (signals error (semaphore-value thing))
    (signals error (semaphore-post thing))
    (signals error (object-handle thing))))

(test fast-calls-give-interrupts-back
  (flet ((check-thread ()
           (let ((sem (open-semaphore (unique-name "ie") :create t :unlink-on-close t))
                 (states '()))
             (unwind-protect
                  (progn
                    (semaphore-post sem)
                    (push sb-sys:*interrupts-enabled* states)
                    (semaphore-value sem)
                    (push sb-sys:*interrupts-enabled* states)
                    (semaphore-wait sem :timeout 0)
                    (push sb-sys:*interrupts-enabled* states)
                    (semaphore-wait sem :timeout 0) ; not available: the timeout path
                    (push sb-sys:*interrupts-enabled* states)
                    ;; the error path: a handle closed under the object
                    (lipc::check (lipc::%close (object-handle sem)))
                    (handler-case (semaphore-post sem) (lipc-bad-handle () (push :bad-handle states)))
                    (push sb-sys:*interrupts-enabled* states)
                    (handler-case (semaphore-value sem) (lipc-bad-handle () (push :bad-handle states)))
                    (push sb-sys:*interrupts-enabled* states))
               ;; the handle is gone already; empty the box so close is a no-op
               (lipc::take-handle (lipc::%box sem))
               (sb-ext:cancel-finalization sem))
             (reverse states))))
    (let ((expected '(t t t t :bad-handle t :bad-handle t)))
      (is (equal expected (check-thread)) "main thread")
      (is (eq t sb-sys:*allow-with-interrupts*) "the binding of with-interrupts' permission is undone")
      (is (equal expected (join (spawn #'check-thread))) "a new thread"))))

(test fast-calls-leave-disabled-interrupts-disabled
  ;; A caller that deferred interrupts itself keeps them deferred through a
  ;; fast call, on success and on error, and no interrupt runs inside.
  (let ((sem (open-semaphore (unique-name "wi") :create t :unlink-on-close t :initial 1))
        (ran nil))
    (unwind-protect
         (let ((inside
                 (sb-sys:without-interrupts
                   (sb-thread:interrupt-thread sb-thread:*current-thread* (lambda () (setf ran t)))
                   (list (semaphore-value sem)
                         sb-sys:*interrupts-enabled*
                         (progn (semaphore-post sem) sb-sys:*interrupts-enabled*)
                         (handler-case (progn (lipc::fast-check (lipc::%sem-post -1)) :no-error)
                           (lipc-bad-handle () sb-sys:*interrupts-enabled*))
                         ran))))
           (is (equal '(1 nil nil nil nil) inside))
           (is (eq t sb-sys:*interrupts-enabled*))
           (is (eq t ran) "the deferred interrupt ran once interrupts were enabled"))
      (close-semaphore sem))))

(test an-unwind-from-the-error-path-gives-interrupts-back
  ;; Reading the error could meet heap exhaustion; simulate any unwind there.
  (let ((original (fdefinition 'lipc::last-error-no-unwind)))
    (unwind-protect
         (progn
           (setf (fdefinition 'lipc::last-error-no-unwind) (lambda () (error "simulated")))
           (is (equal "simulated"
                      (handler-case (progn (lipc::fast-check (lipc::%sem-post -1)) :no-error)
                        (simple-error (e) (princ-to-string e)))))
           (is (eq t sb-sys:*interrupts-enabled*)))
      (setf (fdefinition 'lipc::last-error-no-unwind) original)))
  (signals lipc-bad-handle (lipc::fast-check (lipc::%sem-post -1))))

(defun interrupt-stack-during (start-wait finish-wait)
  "Runs START-WAIT in a new thread, which blocks in a hot wait; interrupts
it there with a function that takes a backtrace; then FINISH-WAIT lets the
wait succeed.  The text of the backtrace's first frames from the one the
interrupt stopped, and what the wait returned."
  (let* ((ready nil) (frames :no-interrupt-ran)
         (th (spawn (lambda () (setf ready t) (funcall start-wait)))))
    (loop repeat 1000 until ready do (sleep 0.01))
    (sleep 0.2)                         ; in the C wait by now
    (sb-thread:interrupt-thread
     th (lambda ()
          (setf frames (with-output-to-string (s)
                         (sb-debug:print-backtrace :stream s :count 4 :from :interrupted-frame)))))
    (sleep 0.2)
    (funcall finish-wait)
    (values frames (join th))))

(test interrupts-never-run-on-top-of-a-hot-call
  ;; FAST-CALL-C defers interrupts (interrupt-thread, with-timeout, Ctrl-C)
  ;; around its C call: one that arrives while the call waits makes it return
  ;; LIPC_EINTR, runs once it has returned, and the wait goes on.  Run on top
  ;; of the C frame instead, an unwind would abandon it (a handle reference
  ;; never released), and the frame it stopped would be the C function's,
  ;; which a backtrace shows as a bogus frame (or by its C name), instead of
  ;; the Lisp wait's.
  (let ((sem (open-semaphore (unique-name "on-top") :create t :unlink-on-close t))
        (ev (open-event (unique-name "on-top-ev") :create t :unlink-on-close t))
        (mx (open-mutex (unique-name "on-top-mx") :create t :unlink-on-close t))
        (holder-go (open-semaphore (unique-name "on-top-go") :create t :unlink-on-close t)))
    (unwind-protect
         (progn
           (multiple-value-bind (frames result)
               (interrupt-stack-during (lambda () (semaphore-wait sem :timeout 5))
                                       (lambda () (semaphore-post sem)))
             (is (eq t result) "the wait went on after the interrupt")
             (is (stringp frames) "the interrupt ran")
             (is (search "SEMAPHORE-WAIT" (string frames)) "~A" frames)
             (is (not (search "bogus" (string frames))) "~A" frames)
             (is (not (search "lipc_sem_wait" (string frames))) "~A" frames))
           (multiple-value-bind (frames result)
               (interrupt-stack-during (lambda () (event-wait ev :timeout 5))
                                       (lambda () (event-set ev)))
             (is (eq t result))
             (is (stringp frames))
             (is (search "EVENT-WAIT" (string frames)) "~A" frames)
             (is (not (search "bogus" (string frames))) "~A" frames)
             (is (not (search "lipc_event_wait" (string frames))) "~A" frames))
           ;; another thread holds the mutex until told to let go
           (let* ((locked nil)
                  (holder (spawn (lambda ()
                                   (mutex-lock mx)
                                   (setf locked t)
                                   (semaphore-wait holder-go :timeout 10)
                                   (mutex-unlock mx)))))
             (loop repeat 1000 until locked do (sleep 0.01))
             (multiple-value-bind (frames result)
                 (interrupt-stack-during (lambda () (prog1 (mutex-lock mx :timeout 5)
                                                      (mutex-unlock mx)))
                                         (lambda () (semaphore-post holder-go)))
               (is (eq t result))
               (is (stringp frames))
               (is (search "MUTEX-LOCK" (string frames)) "~A" frames)
             (is (not (search "bogus" (string frames))) "~A" frames)
             (is (not (search "lipc_mutex_lock" (string frames))) "~A" frames))
             (join holder)))
      (close-semaphore sem)
      (close-event ev)
      (close-mutex mx)
      (close-semaphore holder-go))))

(test out-values-are-exact
  ;; The stack-allocated out-parameter: every value of a semaphore's range
  ;; reads back exactly, and a fresh one starts from zero (a mutex lock that
  ;; reports no owner death reads 0 from it).
  (let ((sem (open-semaphore (unique-name "ov") :create t :unlink-on-close t)))
    (unwind-protect
         (progn
           (is (= 0 (semaphore-value sem)))
           (semaphore-post sem #x7FFFFFFE)
           (is (= #x7FFFFFFE (semaphore-value sem)))
           (semaphore-post sem)
           (is (= #x7FFFFFFF (semaphore-value sem))))
      (close-semaphore sem)))
  (with-open-mutex (m (unique-name "ov-mx") :create t :unlink-on-close t)
    (dotimes (i 3)
      (is (equal '(t) (multiple-value-list (mutex-lock m :timeout 0))))
      (mutex-unlock m))))

;;; The waits' keyword shortcut (wait.lisp DEFINE-TIMEOUT-SHORTCUT): a call
;;; written with a literal :TIMEOUT is compiled to a positional twin.  It must
;;; mean what the keyword call means: the timeout it was given (the first of
;;; a repeated keyword), NIL when absent, and the same errors.

(test timeout-shortcut-expansions
  (dolist (name '(semaphore-wait mutex-lock event-wait))
    (let ((cm (compiler-macro-function name)))
      (is (not (null cm)) "~A has its shortcut" name)
      (destructuring-bind (op obj tm) (funcall cm `(,name x) nil)
        (is (and (not (eq op name)) (eq obj 'x) (null tm))))
      (destructuring-bind (op obj tm) (funcall cm `(,name x :timeout (f)) nil)
        (is (and (not (eq op name)) (eq obj 'x) (equal tm '(f)))))
      ;; anything else is left to the function
      (dolist (form `((,name x :timeout 0 :timeout 5) (,name x :allow-other-keys t)
                      (,name x k 0) (,name x :timeout)))
        (is (eq form (funcall cm form nil)) "~S is left alone" form)))))

(defun post-later (sem seconds)
  "A thread that posts SEM once after SECONDS."
  (spawn (lambda () (sleep seconds) (semaphore-post sem))))

(defparameter *misspelt-keyword* :tmeout
  "A keyword the compiler cannot see (it would warn about a literal one).")

(test timeout-shortcut-keeps-the-timeout
  ;; On an empty semaphore that another thread posts a little later, a try
  ;; answers NIL at once; a timeout lost on the way would wait for the post
  ;; and answer T.
  (with-semaphore (s (unique-name "tsc") :create t :unlink-on-close t)
    (let ((poster (post-later s 0.3)))
      (is (eq nil (semaphore-wait s :timeout 0)))
      ;; repeated: the first one counts (CLHS 3.4.1.4)
      (is (eq nil (semaphore-wait s :timeout 0 :timeout nil)))
      (let ((zero 0)) (is (eq nil (semaphore-wait s :timeout zero))))
      (is (eq nil (apply #'semaphore-wait s (list :timeout 0))))
      (is (eq nil (funcall #'semaphore-wait s :timeout 0)))
      ;; no timeout: wait for the post
      (is (eq t (semaphore-wait s)))
      (join poster)))
  (with-semaphore (s (unique-name "tsc2") :create t :unlink-on-close t)
    (let ((poster (post-later s 0.3)))
      (is (eq t (semaphore-wait s :timeout 30)) "the wait after the try")
      (join poster))
    (signals type-error (semaphore-wait s :timeout -1))
    (signals type-error (semaphore-wait s :timeout "1"))
    (signals error (semaphore-wait s *misspelt-keyword* 1))))

(test timeout-shortcut-mutex-and-event
  (with-open-mutex (m (unique-name "tsm") :create t :unlink-on-close t)
    (is (eq t (mutex-lock m :timeout 0)))
    ;; held by another thread: a try fails at once, a wait gets it after the release
    (let ((other (spawn (lambda () (and (mutex-lock m :timeout 0) :locked)))))
      (is (eq nil (join other)) "a try by another thread fails"))
    (let ((got (spawn (lambda () (prog1 (mutex-lock m :timeout 30) (mutex-unlock m))))))
      (sleep 0.2)
      (mutex-unlock m)
      (is (eq t (join got)) "a wait by another thread gets it after the release"))
    (is (eq t (mutex-lock m)))
    (mutex-unlock m)
    (signals type-error (mutex-lock m :timeout -1)))
  (with-event (e (unique-name "tse") :create t :unlink-on-close t :manual-reset t)
    (is (eq nil (event-wait e :timeout 0)))
    (let ((setter (spawn (lambda () (sleep 0.2) (event-set e)))))
      (is (eq t (event-wait e :timeout 30)))
      (join setter))
    (is (eq t (event-wait e)))
    (signals type-error (event-wait e :timeout -1))))

;;; Allocation on the hot paths: none.  The hot calls build nothing on the
;;; heap, and WITH-MUTEX makes its body function, its cell and its
;;; lock/unlock functions on the stack (before, five objects a call: 240 ns
;;; where a lock+unlock pair costs 50).  Counted over 10,000 calls with a
;;; bound far below one small object a call, so a GC or another thread's
;;; allocation meanwhile cannot make it fail.
(defun bytes-consed-by (function)
  (let ((before (sb-ext:get-bytes-consed)))
    (funcall function)
    (- (sb-ext:get-bytes-consed) before)))

(test hot-paths-allocate-nothing
  (with-semaphore (s (unique-name "cons") :create t :unlink-on-close t)
    (with-open-mutex (m (unique-name "cons-mx") :create t :unlink-on-close t)
      (with-event (e (unique-name "cons-ev") :create t :unlink-on-close t :manual-reset t)
        (flet ((calls ()
                 (dotimes (i 10000)
                   (semaphore-post s)
                   (semaphore-wait s :timeout 0)
                   (semaphore-value s)
                   (mutex-lock m :timeout 0)
                   (mutex-unlock m)
                   (event-set e)
                   (event-wait e :timeout 0)))
               (with-mutexes ()
                 (dotimes (i 10000)
                   (with-mutex (m) i))))
          (calls) (with-mutexes)            ; first calls fill the caches
          (is (< (bytes-consed-by #'calls) 100000))
          (is (< (bytes-consed-by #'with-mutexes) 100000)))))))

(test semaphore-post-without-count-is-routed-to-its-one-argument-twin
  ;; (SEMAPHORE-POST SEM) is compiled to SEMAPHORE-POST-1; a call with a
  ;; count, or through FUNCALL or APPLY, keeps the count and the checks.
  (let ((sem (open-semaphore (unique-name "post1") :create t :unlink-on-close t))
        (n 2))
    (unwind-protect
         (progn
           (is (eq 'lipc::semaphore-post-1
                   (first (funcall (compiler-macro-function 'semaphore-post) '(semaphore-post s) nil))))
           (is (equal '(semaphore-post s 3)
                      (funcall (compiler-macro-function 'semaphore-post) '(semaphore-post s 3) nil)))
           (is (null (semaphore-post sem)))
           (is (= 1 (semaphore-value sem)))
           (semaphore-post sem 3)
           (is (= 4 (semaphore-value sem)))
           (semaphore-post sem n)
           (is (= 6 (semaphore-value sem)))
           (funcall #'semaphore-post sem)
           (apply #'semaphore-post sem '(2))
           (is (= 9 (semaphore-value sem)))
           (signals type-error (semaphore-post sem 0))
           (is (= 9 (semaphore-value sem))))
      (close-semaphore sem))
    (signals lipc-closed (semaphore-post sem))
    (signals lipc-closed (semaphore-post sem 2))
    (signals lipc-closed (funcall #'semaphore-post sem))))

(test literal-try-timeouts-are-routed-to-one-argument-twins
  ;; :TIMEOUT 0 written as a literal compiles to the kind's try twin; any
  ;; other timeout to the positional twin; FUNCALL to the function itself.
  ;; Each answers as the function does: T when it got it, NIL when not, the
  ;; closed error once closed.
  (flet ((expand (form) (funcall (compiler-macro-function (first form)) form nil)))
    (is (equal '(lipc::semaphore-try-wait s) (expand '(semaphore-wait s :timeout 0))))
    (is (equal '(lipc::semaphore-wait-for s 0.0) (expand '(semaphore-wait s :timeout 0.0))))
    (is (equal '(lipc::semaphore-wait-for s 1) (expand '(semaphore-wait s :timeout 1))))
    (is (equal '(lipc::mutex-try-lock m) (expand '(mutex-lock m :timeout 0))))
    (is (equal '(lipc::mutex-lock-for m nil) (expand '(mutex-lock m))))
    (is (equal '(lipc::event-try-wait e) (expand '(event-wait e :timeout 0)))))
  (let ((sem (open-semaphore (unique-name "try") :create t :unlink-on-close t :initial 1))
        (mx (open-mutex (unique-name "try") :create t :unlink-on-close t))
        (ev (open-event (unique-name "try") :create t :unlink-on-close t :manual-reset nil)))
    (unwind-protect
         (progn
           (is (eq t (semaphore-wait sem :timeout 0)))
           (is (null (semaphore-wait sem :timeout 0)))
           (is (null (funcall #'semaphore-wait sem :timeout 0)))
           (is (eq t (mutex-lock mx :timeout 0)))
           (is (null (mutex-lock mx :timeout 0)) "a try by the holder fails")
           (is (null (join (spawn (lambda () (mutex-lock mx :timeout 0))))) "so does another thread's")
           (mutex-unlock mx)
           (is (null (event-wait ev :timeout 0)))
           (event-set ev)
           (is (eq t (event-wait ev :timeout 0)))
           (is (null (event-wait ev :timeout 0)) "auto-reset: the try took it"))
      (close-semaphore sem)
      (close-mutex mx)
      (close-event ev))
    (signals lipc-closed (semaphore-wait sem :timeout 0))
    (signals lipc-closed (mutex-lock mx :timeout 0))
    (signals lipc-closed (event-wait ev :timeout 0))))
