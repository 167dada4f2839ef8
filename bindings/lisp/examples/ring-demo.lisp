;;;; ring-demo.lisp - a ring of records in lipc shared memory, filled by a
;;;; producer in another language and emptied by this Lisp consumer.  Two
;;;; lipc semaphores count the free slots ("-slots") and the filled ones
;;;; ("-items"); a lipc mutex ("-mx") guards the ring's head and tail.  The
;;;; producers:
;;;;   C       a program compiled here at run time against include/lipc.h
;;;;   Python  python3 with the Python binding (lipc.Semaphore; the ring is
;;;;           Python's mmap over /dev/shm/NAME, lipc's shared memory being
;;;;           POSIX shared memory; the mutex through the binding's raw
;;;;           ctypes functions)
;;;; The ring has 4 slots and each producer sends 12 records, so it wraps and
;;;; the producer waits for free slots.  A producer whose language is missing
;;;; is skipped, not failed.  Exits 0 when every record arrived in order.
;;;;
;;;;   sbcl --noinform --non-interactive --no-userinit --load bindings/lisp/examples/ring-demo.lisp

(require :asdf)
(require :sb-posix)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))

(defpackage #:lipc-ring-demo (:use #:cl))
(in-package #:lipc-ring-demo)

(defparameter *capacity* 4)
(defparameter *count* 12)

;;; The shared layout; both producers write exactly this.
(cffi:defcstruct ring-hdr (capacity :uint32) (head :uint32) (tail :uint32) (done :uint32))
(cffi:defcstruct ring-rec (seq :uint32) (pid :uint32) (value :double) (text :char :count 48))
(defparameter *hdr-size* (cffi:foreign-type-size '(:struct ring-hdr)))   ; 16
(defparameter *rec-size* (cffi:foreign-type-size '(:struct ring-rec)))   ; 64

(defparameter *repo* (merge-pathnames "../../../" (make-pathname :name nil :type nil
                                                                  :defaults *load-truename*)))
(defun repo (relative) (namestring (merge-pathnames relative *repo*)))
(defparameter *tmp* (format nil "/tmp/lipc-ring-demo-~D/" (sb-posix:getpid)))

(defparameter *c-producer* "
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include \"lipc.h\"
struct ring_hdr { uint32_t capacity, head, tail, done; };
struct ring_rec { uint32_t seq, pid; double value; char text[48]; };
static char n[256];
static const char *nm(const char *base, const char *suffix) { snprintf(n, sizeof n, \"%s%s\", base, suffix); return n; }
static int fail(void) { fprintf(stderr, \"C producer: %s\\n\", lipc_last_error()); return 1; }
int main(int argc, char **argv) {
  if (argc != 3) return 2;
  const char *base = argv[1];
  int count = atoi(argv[2]);
  lipc_handle_t shm, slots, items, mx;
  void *p;
  if (lipc_shm_open(base, 0, 0, 0, &shm) || lipc_shm_addr(shm, &p, NULL) ||
      lipc_sem_open(nm(base, \"-slots\"), 0, 0, 0, &slots) || lipc_sem_open(nm(base, \"-items\"), 0, 0, 0, &items) ||
      lipc_mutex_open(nm(base, \"-mx\"), 0, 0, &mx))
    return fail();
  struct ring_hdr *hdr = p;
  struct ring_rec *recs = (struct ring_rec *)(hdr + 1);
  printf(\"C producer (pid %d): sending %d records\\n\", (int)getpid(), count);
  fflush(stdout);
  for (int i = 1; i <= count; i++) {
    if (lipc_sem_wait(slots, 5000)) return fail();
    int died = 0;
    if (lipc_mutex_lock(mx, 5000, &died)) return fail();
    if (died) lipc_mutex_consistent(mx);
    struct ring_rec *r = &recs[hdr->head % hdr->capacity];
    r->seq = (uint32_t)i;
    r->pid = (uint32_t)getpid();
    r->value = i * 1.5;
    snprintf(r->text, sizeof r->text, \"C says hello #%d\", i);
    hdr->head++;
    if (i == count) hdr->done = 1;
    lipc_mutex_unlock(mx);
    lipc_sem_post(items);
  }
  return 0;
}
")

(defparameter *python-producer* "
import mmap, os, struct, sys
from ctypes import byref, c_int64
import lipc
from lipc._lib import lib as raw   # the binding's ctypes functions (its mutex class may come later)

base, count = sys.argv[1], int(sys.argv[2])
slots = lipc.Semaphore(base + '-slots')
items = lipc.Semaphore(base + '-items')
mx = c_int64()
if raw.lipc_mutex_open((base + '-mx').encode(), 0, 0, byref(mx)) != 0:
    sys.exit('Python producer: ' + raw.lipc_last_error().decode())
fd = os.open('/dev/shm/' + base, os.O_RDWR)   # lipc's shm 'x' is POSIX shm '/x'
ring = mmap.mmap(fd, 0)
os.close(fd)
HDR = struct.Struct('=4I')        # capacity, head, tail, done
REC = struct.Struct('=2Id48s')    # seq, pid, value, text
print(f'Python producer (pid {os.getpid()}): sending {count} records', flush=True)
for i in range(1, count + 1):
    if not slots.acquire(timeout=5):
        sys.exit('Python producer: no free slot in 5 s')
    if raw.lipc_mutex_lock(mx, 5000, None) != 0:
        sys.exit('Python producer: ' + raw.lipc_last_error().decode())
    cap, head, tail, done = HDR.unpack_from(ring, 0)
    REC.pack_into(ring, HDR.size + (head % cap) * REC.size, i, os.getpid(), i * 2.5,
                  f'Python says hi #{i}'.encode())
    HDR.pack_into(ring, 0, cap, head + 1, tail, 1 if i == count else 0)
    raw.lipc_mutex_unlock(mx)
    items.release()
ring.close()
")

(defun run (program args &key environment)
  "Runs PROGRAM to completion quietly; T when it exited 0."
  (let ((p (ignore-errors
            (sb-ext:run-program program args :search t :output nil :error nil
                                             :environment (or environment (sb-ext:posix-environ))))))
    (and p (eql 0 (sb-ext:process-exit-code p)))))

(defun c-producer (base)
  "(values program args environment) of the C producer, or NIL and why not."
  (ensure-directories-exist *tmp*)
  (let ((src (concatenate 'string *tmp* "ring_producer.c"))
        (exe (concatenate 'string *tmp* "ring_producer")))
    (with-open-file (out src :direction :output :if-exists :supersede)
      (write-string *c-producer* out))
    (if (run (or (sb-posix:getenv "CC") "cc")
             (list "-O2" "-o" exe src (concatenate 'string "-I" (repo "include"))
                   (concatenate 'string "-L" (repo "build")) "-llipc"
                   (concatenate 'string "-Wl,-rpath," (repo "build"))))
        (values exe (list base (princ-to-string *count*)) nil)
        (values nil "cannot compile the C producer (no cc, or build/liblipc.so missing)"))))

(defun python-producer (base)
  (let ((env (list* (format nil "PYTHONPATH=~A" (repo "bindings/python"))
                    (format nil "LIPC_LIBRARY=~A" lipc:*library-path*)
                    (sb-ext:posix-environ))))
    (if (run "python3" '("-c" "import lipc") :environment env)
        (values "python3" (list "-c" *python-producer* base (princ-to-string *count*)) env)
        (values nil "python3 cannot import the Python binding"))))

(defun record-text (rec)
  (cffi:foreign-string-to-lisp (cffi:foreign-slot-pointer rec '(:struct ring-rec) 'text)
                               :max-chars 48))

(defun exchange (lang producer)
  "Creates the ring, starts LANG's producer, consumes *COUNT* records.
Returns T when they all came, in order, and the producer exited 0."
  (let ((base (format nil "lipc-ring-~D-~(~A~)" (sb-posix:getpid) lang)))
    (lipc:with-shared-memory (shm base :create t :exclusive t :unlink-on-close t
                                       :size (+ *hdr-size* (* *capacity* *rec-size*)))
      (lipc:with-semaphore (slots (format nil "~A-slots" base) :create t :exclusive t
                                  :initial *capacity* :unlink-on-close t)
        (lipc:with-semaphore (items (format nil "~A-items" base) :create t :exclusive t
                                    :unlink-on-close t)
          (lipc:with-open-mutex (mx (format nil "~A-mx" base) :create t :exclusive t
                                    :unlink-on-close t)
            (let* ((hdr (lipc:shared-memory-pointer shm))
                   (recs (cffi:inc-pointer hdr *hdr-size*)))
              (setf (cffi:foreign-slot-value hdr '(:struct ring-hdr) 'capacity) *capacity*)
              (multiple-value-bind (program args-or-why env) (funcall producer base)
                (unless program
                  (format t "Lisp consumer: ~A producer skipped (~A)~%" lang args-or-why)
                  (return-from exchange t))
                (finish-output)
                (let ((proc (sb-ext:run-program program args-or-why :search t :wait nil
                                                :output t :error t
                                                :environment (or env (sb-ext:posix-environ))))
                      (ok t) (sum 0d0))
                  (unwind-protect
                       (loop for i from 1 to *count*
                             do (unless (lipc:semaphore-wait items :timeout 10)
                                  (format t "Lisp consumer: no record in 10 s~%")
                                  (setf ok nil)
                                  (return))
                                (multiple-value-bind (seq from value text done)
                                    (lipc:with-mutex (mx :timeout 5 :owner-died died)
                                      (when died (lipc:mutex-consistent mx))
                                      (let* ((tail (cffi:foreign-slot-value hdr '(:struct ring-hdr) 'tail))
                                             (rec (cffi:inc-pointer recs (* *rec-size* (mod tail *capacity*)))))
                                        (setf (cffi:foreign-slot-value hdr '(:struct ring-hdr) 'tail)
                                              (1+ tail))
                                        (values (cffi:foreign-slot-value rec '(:struct ring-rec) 'seq)
                                                (cffi:foreign-slot-value rec '(:struct ring-rec) 'pid)
                                                (cffi:foreign-slot-value rec '(:struct ring-rec) 'value)
                                                (record-text rec)
                                                (cffi:foreign-slot-value hdr '(:struct ring-hdr) 'done))))
                                  (lipc:semaphore-post slots)
                                  (unless (= seq i) (setf ok nil))
                                  (incf sum value)
                                  (format t "Lisp consumer: record ~2D from ~A pid ~D: value ~5,1F ~S~:[~; (last)~]~%"
                                          seq lang from value text (and (= i *count*) (= done 1)))))
                    (sb-ext:process-wait proc)
                    (let ((code (sb-ext:process-exit-code proc)))
                      (format t "Lisp consumer: ~D records from ~A through a ring of ~D slots ~
                                 (head ~D, tail ~D), sum ~,1F, producer exit ~D, order ~:[BROKEN~;kept~]~%"
                              *count* lang *capacity*
                              (cffi:foreign-slot-value hdr '(:struct ring-hdr) 'head)
                              (cffi:foreign-slot-value hdr '(:struct ring-hdr) 'tail)
                              sum code ok)
                      (setf ok (and ok (eq :exited (sb-ext:process-status proc)) (eql 0 code)))))
                  ok)))))))))

(defun main ()
  (let ((good (handler-case
                  (let ((c (exchange "C" #'c-producer))
                        (py (exchange "Python" #'python-producer)))
                    (and c py))
                (lipc:lipc-error (e) (format t "Lisp consumer: ~A~%" e) nil))))
    (ignore-errors (uiop:delete-directory-tree (pathname *tmp*) :validate t :if-does-not-exist :ignore))
    (finish-output)
    (sb-ext:exit :code (if good 0 1) :abort t)))

(main)
