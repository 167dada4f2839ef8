;;;; handle.lisp - what every lipc object shares: a handle owned by a Lisp
;;;; object, an idempotent close, a closed error that never reaches C, a
;;;; finalizer as the backstop for objects never closed, and the register
;;;; that lets a restarted image (save-lisp-and-die) close them all for good.

(in-package #:lipc)

(defconstant +kind-sem+ 1 "LIPC_KIND_SEM")

(defclass handle-object ()
  ((box :reader %box
        :documentation "A cons whose car is the handle (an integer below
2^53), NIL once closed; its cdr is :SAVED-IMAGE when it was open in an
image that save-lisp-and-die saved (see OWN-BOX).  The finalizer closes
over the box, never over the object, or the object could never be
collected."))
  (:documentation "The base of every object that owns a lipc handle."))

(defgeneric object-label (object)
  (:documentation "How errors about OBJECT name it.")
  (:method ((object handle-object)) (princ-to-string (type-of object))))

(defun handle-open-p (object)
  "True while OBJECT has not been closed."
  (and (car (%box object)) t))

;;; Every call reads the handle, and through the generic reader %BOX that is
;;; a PCL dispatch: 2 of the 7 ns the binding added to a 6 ns call (issue 12).
;;; So each place that reads a handle (OBJECT-HANDLE is inline) keeps a
;;; one-entry cache: the layout of the last class seen there whose BOX slot
;;; is at location 0.  Every class of the binding has it there (SBCL puts the
;;; slots of the least specific class first, and HANDLE-OBJECT's only slot is
;;; BOX), so an object of that layout has its box read directly, with the
;;; public MOP's STANDARD-INSTANCE-ACCESS.  Anything else takes %BOX: a class
;;; that puts another slot first (a mixin before a lipc class), an instance
;;; of a redefined class (PCL updates it, and its new layout is cached),
;;; and any object that is not a handle object (PCL's NO-APPLICABLE-METHOD
;;; error, as before).  A layout is only cached right after %BOX read the
;;; object, so it is the class's current one and the location is the one the
;;; MOP reports for it.
(defun box-at-location-0-p (object)
  "True when OBJECT's class keeps the BOX slot at location 0."
  (let ((slot (find 'box (sb-mop:class-slots (class-of object))
                    :key #'sb-mop:slot-definition-name)))
    (and slot (eql 0 (sb-mop:slot-definition-location slot)))))

(defmacro instance-layout (object)
  "The layout of OBJECT when it is a (non-funcallable) instance, else NIL.
Also NIL on an SBCL without SB-KERNEL:%INSTANCE-LAYOUT (an internal name,
looked up when this is compiled): the cache then never holds anything and
every read takes %BOX."
  (let ((layout-of #+sbcl (find-symbol "%INSTANCE-LAYOUT" "SB-KERNEL") #-sbcl nil))
    (if layout-of
        `(let ((o ,object)) (and (sb-kernel:%instancep o) (,layout-of o)))
        `(progn ,object nil))))

(defun slow-box (object cache)
  "%BOX of OBJECT; remembers OBJECT's layout in the car of CACHE when its
box can be read at location 0."
  (let ((box (%box object)))
    (when (box-at-location-0-p object)
      (setf (car cache) (instance-layout object)))
    box))

(declaim (inline object-box))
(defun object-box (object)
  "The box of the handle object OBJECT (see above); an error for any other
object."
  (let ((cache (load-time-value (list nil)))
        (layout (instance-layout object)))
    ;; Two IFs, not (IF (AND LAYOUT (EQ ...))): with the AND, MUTEX-TRY-LOCK
    ;; (whose try inlines this) cost 43.6 instead of 30.6 ns a lock+unlock
    ;; pair in 7 of 9 code placements (bench-calls.lisp), with these IFs
    ;; 1.16-1.19 times a bare CFFI pair in all 9; the other hot calls did
    ;; not change.  The reason is in the CPU's front end, not measured here.
    (if layout
        (if (eq layout (car cache))
            (sb-mop:standard-instance-access object 0)
            (slow-box object cache))
        (slow-box object cache))))

(declaim (inline object-handle))
(defun object-handle (object)
  "The raw handle of OBJECT; signals LIPC-CLOSED once it is closed."
  (let ((box (object-box object)))
    (or (car box) (box-closed-error (object-label object) box))))

;;; ---- boxes and save-lisp-and-die
;;;
;;; A handle (or fd) is a number that means something in this process only.
;;; An image saved with save-lisp-and-die keeps the objects that owned them,
;;; and in the new process the same numbers name other things: lipc gives
;;; the first handle of every process the same value, and fds are reused
;;; smallest first.  An old object used there would reach the new process's
;;; object of that number, and its finalizer or CLOSE-HANDLE would close it.
;;; So every box is registered here, and when a saved image starts
;;; (FORGET-SAVED-BOXES, from image.lisp's init hook, before any user code
;;; and before SBCL's finalizer thread) each box that was open is emptied
;;; for good, its cdr set to :SAVED-IMAGE for the error message.  The
;;; finalizers are SB-EXT:FINALIZE's :DONT-SAVE kind: save-lisp-and-die
;;; drops them, so none runs in the new process (the emptied box would make
;;; them harmless anyway).  Nothing changes in the saving process: a save
;;; that fails (other threads running) leaves every object working.  The
;;; register is weak: a box goes with its object; the hot paths never see it.

(sb-ext:defglobal **boxes** (make-hash-table :test 'eq :weakness :key :synchronized t)
  "Every box of a handle object or pipe stream of this image (weak keys).")

(defun own-box (object box closer)
  "Registers BOX (a cons whose car OBJECT owns: a handle or an fd) and makes
CLOSER, a function of BOX, OBJECT's finalizer in this process only."
  (setf (gethash box **boxes**) t)
  (sb-ext:finalize object (lambda () (funcall closer box)) :dont-save t))

(defun forget-saved-boxes ()
  "In a saved image starting: empties every box that was open when it was
saved (their numbers mean nothing, or something else, in this process), so
their objects signal LIPC-CLOSED, saying why, and close nothing.  Returns
how many were open."
  (let ((open 0))
    (maphash (lambda (box value)
               (declare (ignore value))
               (when (car box)
                 (incf open)
                 (setf (cdr box) :saved-image
                       (car box) nil)))
             **boxes**)
    (clrhash **boxes**)
    open))

(defun box-closed-error (label box)
  "LIPC-CLOSED for the object LABEL names, whose BOX is empty."
  (if (eq (cdr box) :saved-image)
      (closed-error label (format nil "~A was opened before save-lisp-and-die: ~
                                       lipc objects do not survive into a saved ~
                                       image; open it again in this process" label))
      (closed-error label)))

(defun take-handle (box)
  "Empties BOX atomically; returns the handle only to the one caller that
emptied it, so two threads closing at once close it once."
  (let ((h (car box)))
    (when (and h #+sbcl (eql h (sb-ext:compare-and-swap (car box) h nil))
                 #-sbcl (progn (setf (car box) nil) t))
      h)))

(defun finalize-box (box)
  ;; Runs on SBCL's finalizer thread after a GC.  lipc_close hands its Go
  ;; work to lipc's own threads under SBCL, so no Lisp thread runs Go code;
  ;; nothing may escape a finalizer, so every condition is dropped.
  (handler-case (let ((h (take-handle box)))
                  (when h (call-c (%close h))))
    (serious-condition () nil)))

(defun make-handle-object (class handle &rest initargs)
  (let* ((object (apply #'make-instance class initargs))
         (box (list handle)))
    (setf (slot-value object 'box) box)
    (own-box object box #'finalize-box)
    object))

(defmacro open-handle ((ptr) call class &rest initargs)
  "CALL (a % function call) stores a new handle at the int64 PTR; returns a
new CLASS object owning it.  The call and the creation of the object share
one interrupt-deferred scope, so no unwind can leave a handle ownerless."
  (let ((info (gensym "INFO")) (object (gensym "OBJECT")) (rc (gensym "RC")))
    `(cffi:with-foreign-object (,ptr :int64)
       (multiple-value-bind (,object ,info)
           (without-lisp-interrupts
             (multiple-value-bind (,rc ,info) (call-c ,call)
               (declare (ignore ,rc))
               (if ,info
                   (values nil ,info)
                   (values (make-handle-object ,class (cffi:mem-ref ,ptr :int64) ,@initargs)
                           nil))))
         (if ,info (signal-error ,info) ,object)))))

(defgeneric close-handle (object)
  (:documentation "Closes OBJECT.  Idempotent: returns T when this call
closed it, NIL when it was already closed.")
  (:method ((object handle-object))
    ;; Taking the handle out of the box and closing it are one step for
    ;; interrupts: a throw between the two would leave a handle that neither
    ;; the box nor the (cancelled) finalizer can close any more.
    (multiple-value-bind (closed info)
        (without-lisp-interrupts
          (let ((h (take-handle (%box object))))
            (when h
              (sb-ext:cancel-finalization object)
              (values t (nth-value 1 (call-c (%close h)))))))
      (when info (signal-error info))
      closed)))

(defun handle-kind (object)
  "The LIPC_KIND_* of an open handle object or raw integer handle."
  (check-type object (or (signed-byte 64) handle-object))
  (let ((h (if (integerp object) object (object-handle object))))
    (cffi:with-foreign-object (kind :int)
      (check (%handle-kind h kind))
      (cffi:mem-ref kind :int))))
