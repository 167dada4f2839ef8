;;;; finalizer-store.lisp - keeps SBCL's finalizer store out of reach of a
;;;; garbage collector race that damages SBCL's heap.
;;;;
;;;; Every handle object gets a finalizer (handle.lisp), so lipc makes many
;;;; SB-EXT:FINALIZE calls, and each one stores a young list into
;;;; SB-IMPL::**FINALIZER-STORE**, a SIMPLE-VECTOR that lives in an old
;;;; generation.  SBCL marks the card of the element it stores into, then
;;;; stores.  A thread stopped for a GC between the two instructions keeps
;;;; its mark only through a "sticky" mark that the collector puts on the
;;;; cards of objects the stopped thread's registers point to.  SBCL 2.2.9
;;;; (gencgc.c, sticky_preserve_pointer) does that for every card of a
;;;; vector only when the vector sits on pages of its own (a large object,
;;;; 128 KiB and up); for a smaller vector it marks just the card of the
;;;; vector's header.  A store into a later card then loses its mark, the
;;;; next GC does not see the young list, moves it, and the store keeps
;;;; pointing at where it was: SBCL later calls garbage as a finalizer
;;;; ("Error calling finalizer #<unknown immediate object ... {1}>"), the
;;;; handle it should have closed leaks, or SBCL dies.  Newer SBCL makes
;;;; every card of any SIMPLE-VECTOR sticky.
;;;;
;;;; Measured with the host soak (soak/gc-storm.lisp) told to check the
;;;; heap after every GC (LIPC_SOAK_VERIFY): 6 of 112 checked runs found an
;;;; old object pointing at a young one behind an unmarked card, every time
;;;; an element of the finalizer store (400 elements, 4 cards) outside its
;;;; header's card.  The low ids of the store are taken for good by the
;;;; finalizers SBCL 2.2.9 puts on class wrappers (about 255 once ASDF and
;;;; CFFI are loaded), so every lipc object's finalizer lands in a later card.
;;;;
;;;; So the binding grows the store, once, to a large object: the same
;;;; step FINALIZE takes itself when it runs out of ids (ADJUST-ARRAY under
;;;; the store's lock, published with a write barrier), taken early.  From
;;;; then on every store into it is covered by the large-vector case (the
;;;; same soak: 0 of 60 checked runs damaged, against 6 of 112).  It
;;;; costs 128 KiB, and it helps every finalizer of the image, not only
;;;; lipc's.  Where SBCL's internals differ (another version), nothing is
;;;; done.

(in-package #:lipc)

(defconstant +large-finalizer-store+
  ;; Elements of a SIMPLE-VECTOR that SBCL allocates as a large object (on
  ;; pages of its own): at least SB-VM::LARGE-OBJECT-SIZE bytes.
  (let ((large (or #+sbcl (let ((s (find-symbol "LARGE-OBJECT-SIZE" "SB-VM")))
                            (and s (boundp s) (symbol-value s)))
                   131072)))
    (ceiling large 8)))

(defun finalizer-store-symbol ()
  "SB-IMPL::**FINALIZER-STORE** where this SBCL has one, else NIL."
  #+sbcl
  (let ((s (find-symbol "**FINALIZER-STORE**" "SB-IMPL")))
    (and s (boundp s) (simple-vector-p (symbol-value s))
         (hash-table-p (svref (symbol-value s) 1))
         s))
  #-sbcl nil)

(defun grow-finalizer-store ()
  "Makes SBCL's finalizer store a large object (see the file's header).
Returns its length, or NIL where this SBCL has no such store."
  #+sbcl
  (let ((sym (finalizer-store-symbol)))
    (when sym
      ;; FINALIZE's own lock: that of the id map, element 1 of the store,
      ;; which growing carries over.
      (sb-sys:without-interrupts
        (sb-ext:with-locked-hash-table ((svref (symbol-value sym) 1))
          (let ((store (symbol-value sym)))
            (when (< (length store) +large-finalizer-store+)
              (let ((large (adjust-array store +large-finalizer-store+ :initial-element 0)))
                ;; Every element copied before the new store is published.
                (sb-thread:barrier (:write))
                (setf (symbol-value sym) large))))
          (length (symbol-value sym))))))
  #-sbcl nil)

(grow-finalizer-store)
