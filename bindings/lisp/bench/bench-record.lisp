;;;; bench-record.lisp - the machine-readable side of the Lisp benchmarks:
;;;; one JSON object per printed figure, appended as a line to the file
;;;; LIPC_BENCH_JSONL names (scripts/bench.sh sets it and assembles
;;;; build/bench.json from every language's lines). Without the variable
;;;; nothing is written. Each benchmark loads this file beside it:
;;;;
;;;;   (load (merge-pathnames "bench-record.lisp" *load-truename*))
;;;;   (lipc-bench-record:record name value unit [baseline-name baseline-value])

(defpackage #:lipc-bench-record (:use #:cl) (:export #:record))
(in-package #:lipc-bench-record)

(defun json-string (s out)
  (write-char #\" out)
  (loop for c across (string s)
        do (cond ((member c '(#\" #\\)) (write-char #\\ out) (write-char c out))
                 ((< (char-code c) 32) (format out "\\u~4,'0X" (char-code c)))
                 (t (write-char c out))))
  (write-char #\" out))

(defun json-number (x out)
  ;; ~F of a double never uses an exponent marker, which JSON would reject
  ;; in Lisp's own spelling (1.0d6).
  (if (realp x) (format out "~F" (float x 1d0)) (write-string "null" out)))

(defun record (name value unit &optional base-name base-value)
  (let ((path (sb-posix:getenv "LIPC_BENCH_JSONL")))
    (when (and path (plusp (length path)))
      ;; append: several benchmarks (and languages) share the file
      (with-open-file (out path :direction :output :if-exists :append :if-does-not-exist :create)
        (write-string "{\"language\":\"lisp\",\"name\":" out)
        (json-string name out)
        (write-string ",\"value\":" out)
        (json-number value out)
        (write-string ",\"unit\":" out)
        (json-string unit out)
        (write-string ",\"baseline_name\":" out)
        (if base-name (json-string base-name out) (write-string "null" out))
        (write-string ",\"baseline_value\":" out)
        (json-number (and base-name base-value) out)
        (write-string ",\"ratio\":" out)
        (json-number (and base-name base-value (not (zerop base-value)) (/ value base-value)) out)
        (write-string "}" out)
        (terpri out)))))
