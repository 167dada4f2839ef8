/* internal_linux.h - what the Linux C files of capi share besides
 * internal.h (which includes this). Nothing here is API. */
#ifndef LIPC_INTERNAL_LINUX_H
#define LIPC_INTERNAL_LINUX_H

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <time.h>

/* ---- fork (host_linux.c) ----
 * lipc__in_fork_child without a system call: lipc__forked, or the page
 * the kernel wipes in a fork child (MADV_WIPEONFORK), so a raw fork's child
 * too where the kernel has it (one getpid then, as the loading process can
 * find the page zeroed too); 0 in a vfork child, which shares the parent's
 * memory. */
LIPC_HIDDEN int lipc__forked_seen(void);
/* 1 if this process's memory is its own (the loading process, a fork
 * child: me, its getpid), 0 in a vfork child, whose calls then act as
 * those of the process whose memory it shares. */
LIPC_HIDDEN int lipc__memory_is_mine(pid_t me);

/* ---- the Go runtime's own fds (runtime_fds_linux.c) ----
 * What is open before the runtime starts, then after lipc's Go init;
 * probe: an fd the runtime's poller watches (-1: none). */
LIPC_HIDDEN void lipc__runtime_fds_before(void);
LIPC_HIDDEN void lipc__runtime_fds_after(int probe);
/* The pidfds lipc's reaper holds (children whose handles were closed while
 * they ran), listed by lipc_runtime_fds after the runtime's own: added when
 * the reaper takes one, removed once it has closed it. */
LIPC_HIDDEN void lipc__held_fd_add(int fd);
LIPC_HIDDEN void lipc__held_fd_remove(int fd);

/* ---- no lipc call is a cancellation point (lipc.h) ----
 * glibc acts on a pending pthread_cancel at its cancellation points (read,
 * write, close, open, poll, ppoll, waitid, clock_nanosleep, sigtimedwait,
 * fopen, ...) by unwinding the thread with no clean-up of lipc's frames: a
 * process handle's lock stayed held, its poller count raised, a close half
 * done, fds open. So every path that reaches one runs with cancellation
 * disabled, and the caller's state comes back before the call returns: a
 * cancellation pending or arriving meanwhile acts at the caller's next
 * cancellation point. The futex waits (syscall(), which glibc does not make
 * a cancellation point) and the inline fast paths need nothing. Two atomic
 * operations on the thread's own word: nothing next to a system call. */
static inline int lipc__cancel_off(void) {
  int old;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
  return old;
}
static inline void lipc__cancel_restore(int old) { pthread_setcancelstate(old, NULL); }
/* The int that expr gives, computed with cancellation disabled. */
#define LIPC_NO_CANCEL(expr)                   \
  __extension__({                              \
    int cancel_old_ = lipc__cancel_off();      \
    int cancel_rc_ = (expr);                   \
    lipc__cancel_restore(cancel_old_);         \
    cancel_rc_;                                \
  })

/* errno to a LIPC_E* code (errors_linux.c). */
LIPC_HIDDEN int lipc__code_from_errno(int err);

/* ---- host duties (host_linux.c) ---- */
LIPC_HIDDEN extern int lipc__host_is_sbcl;
LIPC_HIDDEN unsigned lipc__fp_enter(void);        /* sane FP state; returns the old one */
LIPC_HIDDEN void lipc__fp_leave(unsigned saved);
LIPC_HIDDEN void lipc__go_keep_signals_blocked(void);
/* Blocks every signal a host handler could catch, for a host thread about
 * to run Go code (call.c); the faults the thread itself causes stay open. */
LIPC_HIDDEN void lipc__block_async_signals(sigset_t *old);

/* In the child of a fork (host-runtimes F7, F20) what runs in C keeps
 * working on inherited objects, and named objects and lock files open in C
 * (named_here_linux.c, flock_here_linux.c); lipc__call refuses to enter Go
 * there with LIPC_EFORKED and this hint, and process handles are refused at
 * lookup (handles.c): the child is not the parent of the parent's children. */
#define LIPC_FORKED_HINT                                                    \
  "called in the child of a fork(), where lipc's Go runtime cannot run. "  \
  "Objects opened before the fork keep working here, and named objects "   \
  "(semaphores, shared memory, mutexes, events) and lock files open here " \
  "too; map files or spawn in the parent before forking, or start "        \
  "workers with exec (Python multiprocessing: the 'spawn' or 'forkserver' start "       \
  "method); a daemon loads lipc once it has forked"

/* ---- named objects opened without Go, in a fork child (named_here_linux.c) ----
 * lipc__open_named and lipc__unlink_named there: the same checks, files,
 * errors and messages as core/shmobj and the kinds' Open, in C. The handle
 * holds the object's record (its slot's cobj) besides what the calls use
 * (the mapping, or a shared memory object's view). */
LIPC_HIDDEN int lipc__open_named_here(int op, const char *what, const char *name, int flags, uint32_t mode,
                                      int64_t a, int64_t b, lipc_handle_t *h);
LIPC_HIDDEN int lipc__unlink_named_here(int op, const char *what, const char *name);
/* A handle whose object C opened (handles.c). */
LIPC_HIDDEN int lipc__handle_new_here(int kind, void *obj, void *cobj, lipc_handle_t *out);
/* Unmaps and closes what the record holds, removes the name if the record
 * says so (LIPC_UNLINK_ON_CLOSE, in the process that created it), and frees
 * the record. */
LIPC_HIDDEN void lipc__named_here_free(void *cobj);
/* Records `op "subject": <errno's text>` with errno's code, as lerr.Wrap
 * words a system error; and fsutil.TypeName, what a stat mode is. */
LIPC_HIDDEN int lipc__fail_errno_named(const char *op, const char *subject, int err);
LIPC_HIDDEN const char *lipc__file_type_name(mode_t m);
/* What destroy (handles.c) does with the record of an object opened in C
 * (a slot's cobj), by kind (kinds_linux.c). */
LIPC_HIDDEN void lipc__here_free(int kind, void *cobj);

/* ---- lock files opened without Go, in a fork child (flock_here_linux.c) ----
 * lipc_flock_open (path, flags, mode) and lipc_flock_from_fd (path NULL;
 * fd, kind LIPC__FLOCK_*) there: core/flock's Open and FromFd in C, with
 * the same checks, errors and messages. The handle's object is its struct
 * lipc_flock_c, which is its cobj too. */
LIPC_HIDDEN int lipc__flock_open_here(const char *path, int flags, uint32_t mode, int fd, int kind,
                                      lipc_handle_t *h);
/* core/flock's wake page (named_here_linux.c): opened and installed unless
 * fd's wake-up words are already known or an earlier call tried. */
LIPC_HIDDEN void lipc__flock_wake_page_here(int fd);

/* ---- files and locks ---- */
/* A lock handle: C takes and releases the locks. */
struct lipc_flock_c {
  int fd;
  int kind;   /* LIPC__FLOCK_OFD, _CLASSIC or _WHOLE (core/flock) */
  void *wake; /* the file's wake-up words (core/flock), or NULL */
  _Atomic pid_t owner; /* the process fd's lock belongs to; minus the pid of one switching it */
  int own;    /* lipc opened fd and closes it with the handle (all kinds but classic) */
};

/* ---- the operations Go serves (dispatch.go, ops_*_linux.go) ---- */
enum lipc_op {
  LIPC_OP_DESTROY = 1, /* i0 kind, i1 goref, i2 C object */
  LIPC_OP_DIAG,        /* i0 what -> o0 */
  LIPC_OP_SEM_OPEN,    /* s0 name, i0 flags, i1 mode, i2 value -> o0 handle */
  LIPC_OP_SEM_UNLINK,  /* s0 name */
  LIPC_OP_MUTEX_OPEN,  /* s0 name, i0 flags, i1 mode -> o0 handle */
  LIPC_OP_MUTEX_UNLINK,/* s0 name */
  LIPC_OP_EVENT_OPEN,  /* s0 name, i0 flags, i1 mode, i2 manual, i3 initial -> o0 handle */
  LIPC_OP_EVENT_UNLINK,/* s0 name */
  LIPC_OP_SHM_OPEN,    /* s0 name, i0 flags, i1 mode, i2 size -> o0 handle */
  LIPC_OP_SHM_RESIZE,  /* i0 goref, i1 view, i2 new size (0: refresh) */
  LIPC_OP_SHM_UNLINK,  /* s0 name */
  LIPC_OP_MMAP_OPEN,   /* s0 path, i0 access, i1 flags, i2 mode, i3 offset, i4 length -> o0 */
  LIPC_OP_MMAP_SYNC,   /* i0 goref, i1 offset, i2 length, i3 0 flush / 1 async flush / 2 advise, i4 advice */
  LIPC_OP_FLOCK_OPEN,  /* s0 path (NULL: from fd), i0 flags, i1 mode, i2 fd, i3 classic -> o0 */
  LIPC_OP_PROC_CLONE,  /* i0 struct lipc_spawn * (core/proc): the clone alone, on the spawn thread */
  LIPC_OP_PROC_CLOSING,/* i0 struct lipc_proc *, i1 pidfd copy (taken), i2 pid, i3 SIGKILL time (ns,
                          CLOCK_MONOTONIC), i4 to the group: close while the handle is in use */
  LIPC_OP_PROC_SPAWN_FINISH, /* i0 the struct lipc_spawn * of a child that did not start -> its
                                error */
  LIPC_OP_PROC_RELEASE, /* i0 struct lipc_proc * being freed: the reaper takes its child, or drops
                           its SIGKILL watch on it (lipc__proc_destroy) */
};

/* Runs the clone of a prepared spawn (a struct lipc_spawn * of core/proc) on
 * lipc's spawn thread and waits for it: for a child with autokill (its
 * parent-death signal follows the thread that created it) and in handoff
 * mode; lipc_proc_spawn clones every other child on the calling thread
 * (lipc__spawn_here). The outcome is in the struct. */
LIPC_HIDDEN void lipc__clone_on_spawn_thread(void *spawn);
/* A spawn's preparation (spawn_prepare_linux.c): the request for the
 * clone, built from the attributes, with the fd map's files and pipes
 * opened; on error nothing stays open and the error is recorded. */
struct lipc_spawnattr;
struct lipc_spawn;
LIPC_HIDDEN int lipc__spawn_prepare(struct lipc_spawnattr *a, struct lipc_spawn **out);
/* Undoes the preparation's claim on LIPC_FD_CLOSE_PARENT fds, for a child
 * that did not start (they were not closed). */
LIPC_HIDDEN void lipc__spawn_give_back_parent_fds(struct lipc_spawnattr *a, uint64_t claim);
/* For the Go servers: blocks until a request is queued on queue `which`. */
#define LIPC_QUEUE_GENERAL 0
#define LIPC_QUEUE_SPAWN 1
LIPC_HIDDEN lipc_req *lipc__queue_take(int which);
LIPC_HIDDEN void lipc__req_finish(lipc_req *r);
/* The spawn thread's loop (never returns; call_linux.c). The clone routine
 * is core/proc's. */
LIPC_HIDDEN void lipc__serve_spawn(void *stack, size_t stack_size);
LIPC_HIDDEN void lipc__spawn_expect(void *spawn);
LIPC_HIDDEN void lipc__spawn_clone_on(void *spawn, void *stack, size_t stack_size);
LIPC_HIDDEN int lipc__spawn_await(void *spawn);
/* Capture buffers (communicate_linux.c): a freed one of 4-128 MiB is kept
 * for the next capture (recycle: 1 if kept); lipc__capture_release
 * (internal.h) frees what is not kept. */
LIPC_HIDDEN int lipc__capture_recycle(void *p);

/* write() that turns a closed reading end into EPIPE without SIGPIPE (fdio.c). */
LIPC_HIDDEN long lipc__write_nosigpipe(int fd, const void *buf, size_t n);

/* ---- waiting (wait.c) ---- */
/* A deadline on CLOCK_MONOTONIC; tv_sec < 0 means never. */
LIPC_HIDDEN struct timespec lipc__deadline(int64_t timeout_ms);
/* Remaining time until dl, clamped at 0; NULL when dl is "never". */
LIPC_HIDDEN const struct timespec *lipc__remaining(struct timespec dl, struct timespec *buf);
/* A deadline a century away: for waits that must still see EINTR. */
LIPC_HIDDEN struct timespec lipc__far_deadline(void);
/* futex wait on *addr while it equals val, until dl; LIPC_OK when woken or
 * the value changed, LIPC_ETIMEDOUT, LIPC_EINTR. shared: the word is in
 * memory other processes map. */
LIPC_HIDDEN int lipc__futex_wait(atomic_uint *addr, unsigned val, struct timespec dl, int shared);
LIPC_HIDDEN void lipc__futex_wake(atomic_uint *addr, int n, int shared);

/* The system's codes for a bad argument and for out of memory, for shared
 * files' failures (internal_windows.h has Windows'). */
#define LIPC_OS_EINVAL EINVAL
#define LIPC_OS_ENOMEM ENOMEM

#endif
