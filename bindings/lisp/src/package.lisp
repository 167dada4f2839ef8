;;;; package.lisp - the public API of lipc, in one place.

(defpackage #:lipc
  (:use #:cl)
  (:export
   ;; library and version
   #:*library-path* #:lipc-library-error #:library-error-tried
   #:version #:+version-string+ #:strerror #:error-name
   ;; diagnostics
   #:diag #:call-mode #:live-handles #:runtime-fds
   ;; conditions: the root, its readers, one class per LIPC code
   #:lipc-error #:lipc-error-code #:lipc-error-code-name
   #:lipc-error-errno #:lipc-error-message
   #:lipc-invalid-argument #:lipc-bad-handle #:lipc-not-found #:lipc-exists
   #:lipc-permission-denied #:lipc-timeout #:lipc-interrupted #:lipc-busy
   #:lipc-would-block #:lipc-out-of-memory #:lipc-closed #:lipc-not-supported
   #:lipc-forked #:lipc-status-lost #:lipc-name-too-long #:lipc-out-of-range
   #:lipc-os-error #:lipc-unknown-error #:code-condition-class
   ;; handles shared by every kind of object
   #:handle-object #:object-handle #:handle-open-p #:close-handle #:handle-kind
   #:+kind-sem+
   ;; waiting on file descriptors
   #:wait-fds
   ;; semaphores
   #:semaphore #:semaphore-name #:open-semaphore #:semaphore-post
   #:semaphore-wait #:semaphore-value #:close-semaphore #:unlink-semaphore
   #:with-semaphore #:call-with-semaphore
   ;; restarts offered by open-semaphore
   #:create-semaphore #:use-existing))
