;;;; ffi.lisp - the raw foreign functions: one defcfun per function of
;;;; include/lipc.h, with the header's types and parameter names, nothing
;;;; else.  The lead's checker (tests/test_decls.py) parses this file and
;;;; compares it with the header: keep one defcfun per line start, the C name
;;;; first.  Types: :int :int64 (int64_t, lipc_handle_t) :uint32 :string
;;;; (const char *) :pointer (any pointer) :void :size (size_t).
;;;;
;;;; Only the idiomatic layer for version, errors, handles, waits,
;;;; semaphores and diagnostics exists so far; the other modules' functions
;;;; are declared here so that each new module is one file over them.
;;;;
;;;; Never call these directly from outside the binding: the public
;;;; functions wrap each call in CHECK (errors.lisp), which defers Lisp
;;;; interrupts until the C call has returned (see errors.lisp for why).

(in-package #:lipc)

;;; The calls on hot paths are inlined into the binding's functions: a full
;;; Lisp call around the alien call is a third of a CFFI call's cost.
(declaim (inline %sem-post %sem-post-n %sem-wait %sem-value %mutex-lock %mutex-unlock
                 %event-set %event-wait %fd-read %fd-write))

;;; Version and errors (pure C)
(cffi:defcfun ("lipc_version" %version) :string)
(cffi:defcfun ("lipc_strerror" %strerror) :string (code :int))
(cffi:defcfun ("lipc_error_name" %error-name) :string (code :int))
(cffi:defcfun ("lipc_last_error" %last-error) :string)
(cffi:defcfun ("lipc_errno" %errno) :int)
(cffi:defcfun ("lipc_free" %free) :void (ptr :pointer))

;;; Handles
(cffi:defcfun ("lipc_close" %close) :int (h :int64))
(cffi:defcfun ("lipc_handle_kind" %handle-kind) :int (h :int64) (kind :pointer))

;;; Waiting for file descriptors (the C wait every blocking call shares)
(cffi:defcfun ("lipc_wait_fds" %wait-fds) :int (fds :pointer) (events :pointer) (revents :pointer) (nfds :int) (timeout-ms :int64) (nready :pointer))

;;; Semaphores
(cffi:defcfun ("lipc_sem_open" %sem-open) :int (name :string) (flags :int) (mode :uint32) (value :uint32) (h :pointer))
(cffi:defcfun ("lipc_sem_post" %sem-post) :int (h :int64))
(cffi:defcfun ("lipc_sem_post_n" %sem-post-n) :int (h :int64) (n :uint32))
(cffi:defcfun ("lipc_sem_wait" %sem-wait) :int (h :int64) (timeout-ms :int64))
(cffi:defcfun ("lipc_sem_value" %sem-value) :int (h :int64) (value :pointer))
(cffi:defcfun ("lipc_sem_unlink" %sem-unlink) :int (name :string))

;;; Mutexes
(cffi:defcfun ("lipc_mutex_open" %mutex-open) :int (name :string) (flags :int) (mode :uint32) (h :pointer))
(cffi:defcfun ("lipc_mutex_lock" %mutex-lock) :int (h :int64) (timeout-ms :int64) (owner-died :pointer))
(cffi:defcfun ("lipc_mutex_unlock" %mutex-unlock) :int (h :int64))
(cffi:defcfun ("lipc_mutex_consistent" %mutex-consistent) :int (h :int64))
(cffi:defcfun ("lipc_mutex_locked" %mutex-locked) :int (h :int64) (locked :pointer))
(cffi:defcfun ("lipc_mutex_unlink" %mutex-unlink) :int (name :string))

;;; Events
(cffi:defcfun ("lipc_event_open" %event-open) :int (name :string) (flags :int) (mode :uint32) (manual-reset :int) (initially-set :int) (h :pointer))
(cffi:defcfun ("lipc_event_set" %event-set) :int (h :int64))
(cffi:defcfun ("lipc_event_reset" %event-reset) :int (h :int64))
(cffi:defcfun ("lipc_event_wait" %event-wait) :int (h :int64) (timeout-ms :int64))
(cffi:defcfun ("lipc_event_is_set" %event-is-set) :int (h :int64) (is-set :pointer))
(cffi:defcfun ("lipc_event_unlink" %event-unlink) :int (name :string))

;;; Shared memory
(cffi:defcfun ("lipc_shm_open" %shm-open) :int (name :string) (flags :int) (mode :uint32) (size :int64) (h :pointer))
(cffi:defcfun ("lipc_shm_addr" %shm-addr) :int (h :int64) (addr :pointer) (size :pointer))
(cffi:defcfun ("lipc_shm_grow" %shm-grow) :int (h :int64) (size :int64))
(cffi:defcfun ("lipc_shm_refresh" %shm-refresh) :int (h :int64) (size :pointer))
(cffi:defcfun ("lipc_shm_unlink" %shm-unlink) :int (name :string))

;;; Memory-mapped files
(cffi:defcfun ("lipc_page_size" %page-size) :int (size :pointer))
(cffi:defcfun ("lipc_mmap_open" %mmap-open) :int (path :string) (access :int) (flags :int) (mode :uint32) (offset :int64) (length :int64) (h :pointer))
(cffi:defcfun ("lipc_mmap_addr" %mmap-addr) :int (h :int64) (addr :pointer) (size :pointer))
(cffi:defcfun ("lipc_mmap_flush" %mmap-flush) :int (h :int64) (offset :int64) (length :int64) (async :int))
(cffi:defcfun ("lipc_mmap_advise" %mmap-advise) :int (h :int64) (offset :int64) (length :int64) (advice :int))

;;; File locks
(cffi:defcfun ("lipc_flock_open" %flock-open) :int (path :string) (flags :int) (mode :uint32) (h :pointer))
(cffi:defcfun ("lipc_flock_from_fd" %flock-from-fd) :int (fd :int) (kind :int) (h :pointer))
(cffi:defcfun ("lipc_flock_lock" %flock-lock) :int (h :int64) (offset :int64) (length :int64) (exclusive :int) (timeout-ms :int64))
(cffi:defcfun ("lipc_flock_unlock" %flock-unlock) :int (h :int64) (offset :int64) (length :int64))

;;; Processes
(cffi:defcfun ("lipc_spawnattr_new" %spawnattr-new) :int (attr :pointer))
(cffi:defcfun ("lipc_spawnattr_arg" %spawnattr-arg) :int (attr :int64) (arg :string))
(cffi:defcfun ("lipc_spawnattr_shell" %spawnattr-shell) :int (attr :int64) (command :string))
(cffi:defcfun ("lipc_spawnattr_set_program" %spawnattr-set-program) :int (attr :int64) (program :string))
(cffi:defcfun ("lipc_spawnattr_set_search" %spawnattr-set-search) :int (attr :int64) (search :int))
(cffi:defcfun ("lipc_spawnattr_env_clear" %spawnattr-env-clear) :int (attr :int64))
(cffi:defcfun ("lipc_spawnattr_env_set" %spawnattr-env-set) :int (attr :int64) (name :string) (value :string))
(cffi:defcfun ("lipc_spawnattr_env_unset" %spawnattr-env-unset) :int (attr :int64) (name :string))
(cffi:defcfun ("lipc_spawnattr_set_cwd" %spawnattr-set-cwd) :int (attr :int64) (dir :string))
(cffi:defcfun ("lipc_spawnattr_set_umask" %spawnattr-set-umask) :int (attr :int64) (mask :int))
(cffi:defcfun ("lipc_spawnattr_set_pgroup" %spawnattr-set-pgroup) :int (attr :int64) (pgid :int64))
(cffi:defcfun ("lipc_spawnattr_set_setsid" %spawnattr-set-setsid) :int (attr :int64) (setsid :int))
(cffi:defcfun ("lipc_spawnattr_set_fd" %spawnattr-set-fd) :int (attr :int64) (child-fd :int) (kind :int) (arg :int) (path :string) (flags :int) (mode :uint32))
(cffi:defcfun ("lipc_spawnattr_set_rlimit" %spawnattr-set-rlimit) :int (attr :int64) (resource :int) (soft :int64) (hard :int64))
(cffi:defcfun ("lipc_spawnattr_set_autokill" %spawnattr-set-autokill) :int (attr :int64) (sig :int))
(cffi:defcfun ("lipc_spawnattr_set_on_close" %spawnattr-set-on-close) :int (attr :int64) (policy :int) (grace-ms :int64))
(cffi:defcfun ("lipc_spawnattr_set_user" %spawnattr-set-user) :int (attr :int64) (uid :int64))
(cffi:defcfun ("lipc_spawnattr_set_group" %spawnattr-set-group) :int (attr :int64) (gid :int64))
(cffi:defcfun ("lipc_spawnattr_groups_clear" %spawnattr-groups-clear) :int (attr :int64))
(cffi:defcfun ("lipc_spawnattr_groups_add" %spawnattr-groups-add) :int (attr :int64) (gid :int64))
(cffi:defcfun ("lipc_spawnattr_set_pipesize" %spawnattr-set-pipesize) :int (attr :int64) (bytes :int64))
(cffi:defcfun ("lipc_spawnattr_set_keep_fds" %spawnattr-set-keep-fds) :int (attr :int64) (keep :int))
(cffi:defcfun ("lipc_spawnattr_set_sigreset" %spawnattr-set-sigreset) :int (attr :int64) (mode :int))
(cffi:defcfun ("lipc_spawnattr_set_sigdefault" %spawnattr-set-sigdefault) :int (attr :int64) (sig :int) (on :int))
(cffi:defcfun ("lipc_proc_spawn" %proc-spawn) :int (attr :int64) (proc :pointer))
(cffi:defcfun ("lipc_proc_pid" %proc-pid) :int (proc :int64) (pid :pointer))
(cffi:defcfun ("lipc_proc_path" %proc-path) :int (proc :int64) (buf :pointer) (size :size) (needed :pointer))
(cffi:defcfun ("lipc_proc_take_fd" %proc-take-fd) :int (proc :int64) (child-fd :int) (fd :pointer))
(cffi:defcfun ("lipc_proc_close_fd" %proc-close-fd) :int (proc :int64) (child-fd :int))
(cffi:defcfun ("lipc_proc_kill" %proc-kill) :int (proc :int64) (sig :int) (group :int))
(cffi:defcfun ("lipc_proc_wait" %proc-wait) :int (proc :int64) (timeout-ms :int64) (code :pointer) (sig :pointer))
(cffi:defcfun ("lipc_proc_stop" %proc-stop) :int (proc :int64) (grace-ms :int64) (group :int) (code :pointer) (sig :pointer))
(cffi:defcfun ("lipc_proc_info" %proc-info) :int (proc :int64) (what :int) (value :pointer))
(cffi:defcfun ("lipc_proc_info_many" %proc-info-many) :int
  (proc :int64) (what :pointer) (values :pointer) (rcs :pointer) (n :int))
(cffi:defcfun ("lipc_proc_communicate" %proc-communicate) :int (proc :int64) (input :pointer) (input-len :size) (max-output :size) (timeout-ms :int64) (out :pointer) (out-len :pointer) (err :pointer) (err-len :pointer))

;;; Pipe and fd I/O
(cffi:defcfun ("lipc_fd_read" %fd-read) :int (fd :int) (buf :pointer) (size :size) (timeout-ms :int64) (nread :pointer))
(cffi:defcfun ("lipc_fd_write" %fd-write) :int (fd :int) (buf :pointer) (size :size) (timeout-ms :int64) (nwritten :pointer))
(cffi:defcfun ("lipc_fd_close" %fd-close) :int (fd :int))

;;; The process environment (the live C environ)
(cffi:defcfun ("lipc_env_get" %env-get) :int (name :string) (buf :pointer) (size :size) (needed :pointer))
(cffi:defcfun ("lipc_env_set" %env-set) :int (name :string) (value :string))
(cffi:defcfun ("lipc_env_unset" %env-unset) :int (name :string))
(cffi:defcfun ("lipc_env_list" %env-list) :int (block :pointer) (len :pointer))

;;; Quoting command lines
(cffi:defcfun ("lipc_quote_sh" %quote-sh) :int (arg :string) (buf :pointer) (size :size) (needed :pointer))
(cffi:defcfun ("lipc_quote_win" %quote-win) :int (arg :string) (buf :pointer) (size :size) (needed :pointer))
(cffi:defcfun ("lipc_quote_cmd" %quote-cmd) :int (arg :string) (buf :pointer) (size :size) (needed :pointer))

;;; Host integration and diagnostics
(cffi:defcfun ("lipc_set_call_mode" %set-call-mode) :int (mode :int))
(cffi:defcfun ("lipc_diag" %diag) :int (what :int) (value :pointer))
(cffi:defcfun ("lipc_runtime_fds" %runtime-fds) :int (fds :pointer) (cap :size) (n :pointer))
