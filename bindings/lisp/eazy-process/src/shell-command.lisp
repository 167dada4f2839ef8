;;;; shell-command.lisp - the trivial-shell compatible part: SHELL-COMMAND,
;;;; *INTERPRETER* and *BOURNE-COMPATIBLE-SHELL*.  The child runs through
;;;; lipc's run-command, which feeds stdin and collects both outputs
;;;; without ever deadlocking, then waits, all in C.

(in-package #:eazy-process)

(defparameter *interpreter* "sh -c"
  "Command line string which is invoked in order to run the subshell. Default
value is \"sh -c\".  The value is then followed by the command specified in
shell-command, e.g., when command = 'ls -la', the running command is
\"sh -c 'ls -la'\".  It provides the ability to call interpreters like
perl/AWK easily.

The name/path of the interpreter must be separated by spaces from the options
like '-c'.  Do not use complex things like --- LANG=C sh . The first word is
always considered the pathname, resolved using the PATH environment variable.
If you want to do complicated stuff, then do it inside the interpreter.")

(define-symbol-macro *bourne-compatible-shell* *interpreter*)

(defun split-words (string)
  "STRING split at runs of spaces and tabs."
  (loop with start = 0
        for end = (position-if (lambda (c) (member c '(#\Space #\Tab))) string :start start)
        for word = (subseq string start end)
        unless (string= word "") collect word
        while end
        do (setf start (1+ end))))

(defun external-format-keyword (external-format)
  (let ((ef (if (eq external-format :default) sb-ext:*default-external-format* external-format)))
    (if (consp ef) (car ef) ef)))

(defun input-string (input)
  "SHELL-COMMAND's INPUT as what the child reads: a string, or all the
characters of a stream, or nothing."
  (etypecase input
    (null "")
    (string input)
    (stream (with-output-to-string (out)
              (loop for c = (read-char input nil) while c do (write-char c out))))))

(defun shell-command (command &key (input "") result-type (external-format :default) verbose)
  "Simple interface compatible to trivial-shell: runs COMMAND (a string, or a
pathname run as a program) with *INTERPRETER*, feeding it INPUT (a string or
a stream), and returns (values output error-output exit-status).  The exit
status is the child's exit code, or 128 + the signal when a signal killed it
(as the shell's $?).  *RLIMIT-RESOURCES* applies.  VERBOSE prints the
command line to *TRACE-OUTPUT*.  RESULT-TYPE is accepted and ignored."
  (declare (ignore result-type))
  (let* ((command (if (pathnamep command) (namestring command) command))
         (argv (append (split-words *interpreter*) (list command))))
    (when verbose
      (format *trace-output* "~&; ~a '~a'" *interpreter* command))
    (multiple-value-bind (code out err lp)
        (lipc:run-command argv :input (input-string input)
                               :external-format (external-format-keyword external-format)
                               :rlimits (rlimit-plist))
      (declare (ignore code))
      (values out err
              (let ((sig (lipc:process-signal lp)))
                (if (plusp sig) (+ 128 sig) (lipc:process-exit-code lp)))))))
