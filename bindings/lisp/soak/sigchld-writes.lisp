;;;; sigchld-writes.lisp - pipe writes through lipc while children exit all
;;;; the time: SBCL defers each SIGCHLD that lands in a lipc call (the binding
;;;; runs C with Lisp interrupts disabled) and blocks the deferrable signals
;;;; until the call is back in Lisp.  lipc's write once set the thread's whole
;;;; saved mask back after the write, unblocking them; the next SIGCHLD then
;;;; killed the image ("interrupt already pending when sig17 received", in
;;;; 2-4 s here, 5 runs of 5; capi/fdio_linux.c, tests/c/test_host_mask.c).
;;;;
;;;;   sbcl --script soak/sigchld-writes.lisp [SECONDS]   exit 0 if it lived

(require :asdf)
(asdf:load-asd (merge-pathnames "../lipc.asd" *load-truename*))
(let ((*standard-output* (make-broadcast-stream))
      (*error-output* (make-broadcast-stream)))
  (asdf:load-system :lipc))

(sb-ext:run-program "/bin/true" nil) ; SBCL's own SIGCHLD handler in place

(defvar *stop* nil)
(defvar *children* 0)

(defun spawner ()
  (loop until *stop*
        do (lipc:run-command '("/bin/true") :output nil :error nil)
           (incf *children*))) ; a rough count: three threads add to it

(let* ((seconds (if (second sb-ext:*posix-argv*) (parse-integer (second sb-ext:*posix-argv*)) 4))
       (threads (loop repeat 3 collect (sb-thread:make-thread #'spawner)))
       (p (lipc:spawn-process "cat > /dev/null" :input :pipe))
       (buf (make-array 65536 :element-type '(unsigned-byte 8) :initial-element 65))
       (end (+ (get-internal-real-time) (* seconds internal-time-units-per-second)))
       (writes 0))
  (loop while (< (get-internal-real-time) end)
        do (lipc:write-octets (lipc:process-input p) buf :timeout 5)
           (incf writes))
  (setf *stop* t)
  (mapc #'sb-thread:join-thread threads)
  (lipc:process-kill p :kill)
  (lipc:process-wait p :timeout 5)
  (lipc:close-process p)
  (format t "alive after ~D pipe writes while ~D children exited~%" writes *children*))
