;;;; specials.lisp - the default fdspecs and the resource limits of children.

(in-package #:eazy-process)

(defparameter +fdspecs-default+ '(:input :output :output)
  "The fdspecs SHELL uses by default: a new pipe for each of fds 0, 1 and 2.
fd-specifier is one of the symbols :i, :in, :input (a pipe the child reads),
:o, :out, :output (a pipe the child writes), an integer fd, a pipe object, a
pathname, (pathname-or-pipe &key direction if-exists if-does-not-exist) or
NIL (/dev/null).  Its element at fd 0, 1, 2 is also the default direction of
a pipe object, pathname or NIL given there without options.")

(defparameter *rlimit-resources*
  (make-array 16 :element-type 'fixnum :initial-element -1)
  "A vector of rlimit resource values, indexed by the platform's RLIMIT_*
number (cl-rlimit's +rlimit-XXX+ constants: on Linux +rlimit-cpu-time+ is 0,
+rlimit-address-space+ (+rlimit-as+) is 9); -1 means unset.
This value does not affect the lisp process itself; the effect is applied to
the child processes spawned by SHELL (and SHELL-COMMAND) only, as their soft
limit (their hard limit stays this process's).
Rather than modifying this variable directly, use `with-rlimit' instead.")

(defmacro with-rlimit (pairs &body body)
  "Append/overwrite the current rlimit resource limitation: each of PAIRS is
(resource value), resource an index of *RLIMIT-RESOURCES* (e.g.
+rlimit-cpu-time+).  As noted in *rlimit-resources*, this does not affect the
lisp process itself; only the child processes spawned in BODY are affected.
Nestable: the innermost limitation wins."
  `(let ((*rlimit-resources* (copy-seq *rlimit-resources*)))
     ,@(loop for (resource value) in pairs
             collect `(setf (aref *rlimit-resources* ,resource) ,value))
     ,@body))

;;; *rlimit-resources* index (Linux RLIMIT_*) -> lipc's :rlimits keyword.
;;; RLIMIT_RSS (5) has had no effect since Linux 2.6: it is accepted and
;;; ignored, as the kernel would.  10..15 (LOCKS SIGPENDING MSGQUEUE NICE
;;; RTPRIO RTTIME) are not among the limits lipc can set.
(defparameter *rlimit-keywords*
  #(:cpu :fsize :data :stack :core :rss :nproc :nofile :memlock :as
    nil nil nil nil nil nil))

(defun rlimit-plist ()
  "*RLIMIT-RESOURCES* as lipc's :rlimits: every set value (>= 0) becomes
that child's soft limit, its hard limit staying this process's."
  (loop for value across *rlimit-resources*
        for index from 0
        for key = (and (< index (length *rlimit-keywords*)) (aref *rlimit-keywords* index))
        when (and (>= value 0) (not (eq key :rss)))
          nconc (if key
                    (list key (list value :current))
                    (error 'lipc:lipc-not-supported
                           :code -12 :code-name "LIPC_ENOTSUP" :errno 0
                           :message (format nil "with-rlimit: resource ~D cannot be set through ~
                                                 lipc (it sets RLIMIT_CPU FSIZE DATA STACK CORE ~
                                                 NPROC NOFILE MEMLOCK AS; RSS is ignored)" index)))))
