;;;; errors.lisp - the condition hierarchy (one class per LIPC code, generated
;;;; from one table) and CHECK, the one error check every call goes through.

(in-package #:lipc)

(define-condition lipc-error (error)
  ((code :initarg :code :reader lipc-error-code
         :documentation "The negative LIPC_E* code.")
   (code-name :initarg :code-name :reader lipc-error-code-name
              :documentation "Its symbolic name, e.g. \"LIPC_ENOENT\".")
   (errno :initarg :errno :initform 0 :reader lipc-error-errno
          :documentation "The errno behind it, 0 when there was none.")
   (message :initarg :message :reader lipc-error-message
            :documentation "What was being done and why it failed."))
  (:report (lambda (c s)
             (format s "~A [~A ~D~:[~;, errno ~:*~D~]]"
                     (lipc-error-message c) (lipc-error-code-name c)
                     (lipc-error-code c)
                     (and (plusp (lipc-error-errno c)) (lipc-error-errno c))))))

(defmacro define-lipc-codes (&rest rows)
  "Each row: (code name class [parent]).  Defines the classes and
CODE-CONDITION-CLASS, so the table is the only place a code is mapped."
  `(progn
     ,@(loop for (nil nil class parent) in rows
             collect `(define-condition ,class (,(or parent 'lipc-error)) ()))
     (define-condition lipc-os-error (lipc-error) ()
       (:documentation "Any other operating-system error: code = -1000 - errno."))
     (define-condition lipc-unknown-error (lipc-error) ()
       (:documentation "A code this binding does not know (a newer library?)."))
     (defparameter *code-names*
       ',(loop for (code name) in rows collect (cons code name)))
     (defun code-condition-class (code)
       "The condition class that stands for the LIPC code CODE."
       (case code
         ,@(loop for (code nil class) in rows collect `(,code ',class))
         (t (if (<= code -1000) 'lipc-os-error 'lipc-unknown-error))))))

(define-lipc-codes
  (-1  "LIPC_EINVAL"       lipc-invalid-argument)
  (-2  "LIPC_EBADHANDLE"   lipc-bad-handle)
  (-3  "LIPC_ENOENT"       lipc-not-found)
  (-4  "LIPC_EEXIST"       lipc-exists)
  (-5  "LIPC_EPERM"        lipc-permission-denied)
  (-6  "LIPC_ETIMEDOUT"    lipc-timeout)
  (-7  "LIPC_EINTR"        lipc-interrupted)
  (-8  "LIPC_EBUSY"        lipc-busy)
  (-9  "LIPC_EAGAIN"       lipc-would-block)
  (-10 "LIPC_ENOMEM"       lipc-out-of-memory)
  (-11 "LIPC_ECLOSED"      lipc-closed)
  (-12 "LIPC_ENOTSUP"      lipc-not-supported)
  (-13 "LIPC_EFORKED"      lipc-forked)
  (-14 "LIPC_ESTATUSLOST"  lipc-status-lost)
  ;; A name that is only too long is still a bad argument.
  (-15 "LIPC_ENAMETOOLONG" lipc-name-too-long lipc-invalid-argument)
  (-16 "LIPC_ERANGE"       lipc-out-of-range))

(defun make-lipc-error (code message errno &optional (name (%error-name code)))
  (make-condition (code-condition-class code)
                  :code code :code-name name :errno errno
                  :message (if (plusp (length message)) message (%strerror code))))

(defun closed-error (what &optional message)
  "Use of an object after CLOSE: signalled in Lisp, without calling C.
MESSAGE, when given, replaces \"WHAT is closed\"."
  (error (make-lipc-error -11 (or message (format nil "~A is closed" what)) 0
                          (cdr (assoc -11 *code-names*)))))

;;; Why every call runs with Lisp interrupts deferred: SBCL runs the function
;;; of an interrupt-thread (with-timeout, Ctrl-C, terminate-thread) inside the
;;; signal handler, on top of whatever C frames the thread is in.  A non-local
;;; exit from there abandons those frames: a hand-off request that lives on
;;; that stack and that a lipc thread still writes, a handle reference never
;;; released, a glibc semaphore's waiter count never decremented.  Deferred,
;;; the interrupt runs as soon as the call returns, in Lisp.  The same scope
;;; covers reading lipc_last_error and lipc_errno, which an interrupt function
;;; calling lipc would otherwise overwrite.  Waits stay interruptible because
;;; they return LIPC_EINTR and are retried from Lisp (wait.lisp).  GC is not
;;; blocked: a thread sleeping in C on its own stack is safe to collect around.
(defmacro without-lisp-interrupts (&body body)
  #+sbcl `(sb-sys:without-interrupts ,@body)
  #-sbcl `(progn ,@body))

(defmacro call-c (form)
  "Evaluates FORM, a call of a % function returning a LIPC code, with
interrupts deferred.  Returns the code and, when negative, the error as a
list (code message errno) read at once, before any other lipc call."
  (let ((rc (gensym "RC")))
    `(without-lisp-interrupts
       (let ((,rc ,form))
         (declare (type (signed-byte 32) ,rc))
         (if (minusp ,rc)
             (values ,rc (list ,rc (%last-error) (%errno)))
             (values ,rc nil))))))

(defun last-error-no-unwind ()
  "lipc_last_error, for FAST-CALL-C's scope, which nothing may unwind: a
message that is not valid UTF-8 (a path from the file system) is decoded as
Latin-1 instead of signalling a decoding error."
  (handler-case (%last-error)
    (error ()
      (cffi:foreign-string-to-lisp (cffi:foreign-funcall "lipc_last_error" :pointer)
                                   :encoding :latin-1))))

;;; CALL-C's cost is mostly SB-SYS:WITHOUT-INTERRUPTS: two special bindings
;;; inside a dynamic-extent closure called through an UNWIND-PROTECT, about
;;; 7 ns on a call that costs 6.  The hot calls (post, wait, value, lock,
;;; unlock, set, fd read and write) take FAST-CALL-C instead, which costs
;;; one special binding and nothing else:
;;;
;;; - *INTERRUPTS-ENABLED* is bound to NIL around the C call: the one
;;;   variable SBCL's signal handlers read to defer an interrupt
;;;   (maybe_defer_handler, interrupt.c).  An unwind out of the scope (only
;;;   a fault inside liblipc or a control stack exhausted inside it could
;;;   make one) undoes the binding as any unwind does.  After the call, an
;;;   interrupt that arrived meanwhile runs at once, as it does at the end
;;;   of WITHOUT-INTERRUPTS.
;;;
;;; - *ALLOW-WITH-INTERRUPTS* stays T while the C call runs.  WITHOUT-
;;;   INTERRUPTS binds it to NIL so that a WITH-INTERRUPTS in its body cannot
;;;   enable interrupts, and the runtime reads it in one place only: after a
;;;   GC this thread's allocation triggered, to decide whether to run
;;;   POST-GC there (maybe_gc, gc-common.c).  A C call neither allocates
;;;   nor runs Lisp code, so neither can happen.  The error path allocates
;;;   (the error's list and message), so it binds it to NIL too, and is then
;;;   exactly WITHOUT-INTERRUPTS's state.
;;;
;;; - The C call is compiled with SB-C:ALIEN-FUNCALL-SAVES-FP-AND-PC 0, as
;;;   SBCL compiles its own malloc and string calls (and any call in code
;;;   compiled with SPEED above DEBUG): no binding of SB-ALIEN-INTERNALS:
;;;   *SAVED-FP*.  That variable only lets a backtrace taken inside the C
;;;   call (a profiler's sample) find the Lisp frames above it (debug-int's
;;;   FIND-SAVED-FP-AND-PC); nothing else reads it.
;;;
;;; Each special binding is a read-modify-write of the thread's binding
;;; stack pointer and four stores, about 1.5 ns: with the three of
;;; WITHOUT-INTERRUPTS's state and the alien call, the hot functions were
;;; 1.40-1.60 times a bare CFFI call (issue 12 asks for at most 1.3); with
;;; one, 1.10-1.24.  (Assigning *INTERRUPTS-ENABLED* instead of binding it
;;; was cheaper still, but an unwind out of the C call would have left the
;;; thread deaf to every interrupt for good.)
(defun fast-error-info (rc)
  "FAST-CALL-C's error path: the error as CALL-C gives it, read while
interrupts are still deferred, with WITHOUT-INTERRUPTS's whole state (it
allocates)."
  (declare (type (signed-byte 32) rc))
  (let (#+sbcl (sb-sys:*allow-with-interrupts* nil))
    (list rc (last-error-no-unwind) (%errno))))

(defmacro fast-call-c (form)
  "CALL-C for a call of an inlined % function whose arguments are already of
their C types and that neither allocates nor runs Lisp code.  Same values
and the same interrupt deferral as CALL-C."
  #-sbcl `(call-c ,form)
  #+sbcl
  (let ((rc (gensym "RC")) (info (gensym "INFO")))
    `(if sb-sys:*interrupts-enabled*
         (multiple-value-bind (,rc ,info)
             (let ((sb-sys:*interrupts-enabled* nil))
               (let ((,rc (locally
                              (declare (optimize (sb-c:alien-funcall-saves-fp-and-pc 0)))
                            ,form)))
                 (declare (type (signed-byte 32) ,rc))
                 (values ,rc (when (minusp ,rc) (fast-error-info ,rc)))))
           (when sb-sys:*interrupt-pending*
             (sb-unix::receive-pending-interrupt))
           (values ,rc ,info))
         (call-c ,form))))

;;; The out-parameter of a hot call (a semaphore's value, a mutex's
;;; owner-died flag...).  CFFI:WITH-FOREIGN-OBJECT takes it from SBCL's alien
;;; stack, which binds SB-C:*ALIEN-STACK-POINTER* around the body: a special
;;; binding, 1 ns of a 6 ns call.  A vector on the control stack (dynamic
;;; extent, so neither the GC nor an unwind has anything to do) pinned for
;;; the body costs nothing of the kind.
(defmacro with-out-value ((pointer ctype) &body body)
  "BODY with POINTER at room for one C value of CTYPE (at most 8 bytes),
zeroed; the room lives as long as BODY runs."
  (assert (<= (cffi:foreign-type-size ctype) 8) () "~S is more than 8 bytes" ctype)
  #+sbcl
  (let ((room (gensym "ROOM")))
    `(let ((,room (make-array 1 :element-type '(unsigned-byte 64) :initial-element 0)))
       (declare (dynamic-extent ,room))
       (sb-sys:with-pinned-objects (,room)
         (let ((,pointer (sb-sys:vector-sap ,room)))
           ,@body))))
  #-sbcl
  `(cffi:with-foreign-object (,pointer ,ctype)
     (setf (cffi:mem-ref ,pointer ,ctype) 0)
     ,@body))

(defmacro fast-check (form)
  "CHECK through FAST-CALL-C (same contract as FAST-CALL-C)."
  (let ((rc (gensym "RC")) (info (gensym "INFO")))
    `(multiple-value-bind (,rc ,info) (fast-call-c ,form)
       (if ,info (signal-error ,info) ,rc))))

(defun signal-error (info)
  (destructuring-bind (code message errno) info
    (error (make-lipc-error code message errno))))

(defmacro check (form)
  "Evaluates FORM through CALL-C; signals the LIPC-ERROR subclass of a
negative code, else returns the code."
  (let ((rc (gensym "RC")) (info (gensym "INFO")))
    `(multiple-value-bind (,rc ,info) (call-c ,form)
       (if ,info (signal-error ,info) ,rc))))
