/* internal.h - what the C files of capi share. Nothing here is API. */
#ifndef LIPC_INTERNAL_H
#define LIPC_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>
#include "../include/lipc.h"

#define LIPC_HIDDEN __attribute__((visibility("hidden")))

/* ---- host duties (host.c) ---- */
LIPC_HIDDEN extern atomic_int lipc__forked;        /* set in the child of a fork */
/* 1 in the child of any fork: lipc__forked from the atfork handler, or a
 * process id that is not the one lipc was loaded in (a raw fork or clone
 * runs no atfork handlers, F20). A system call: for paths into Go only. */
LIPC_HIDDEN int lipc__in_fork_child(void);
LIPC_HIDDEN extern atomic_int lipc__call_mode;     /* LIPC_CALL_* */
LIPC_HIDDEN extern int lipc__host_is_sbcl;
LIPC_HIDDEN extern atomic_long lipc__threads_wrapped;
LIPC_HIDDEN extern atomic_long lipc__stack_lookups;
LIPC_HIDDEN int64_t lipc__host_nofile(void);
LIPC_HIDDEN unsigned lipc__fp_enter(void);        /* sane FP state; returns the old one */
LIPC_HIDDEN void lipc__fp_leave(unsigned saved);
/* Go's threads keep SIGCHLD, SIGPROF and SIGSTKFLT blocked (gosig_linux.c);
 * 1 once done, before the Go runtime started. */
LIPC_HIDDEN extern int lipc__go_signals_blocked;
LIPC_HIDDEN void lipc__go_keep_signals_blocked(void);
/* Blocks every signal a host handler could catch, for a host thread about
 * to run Go code (call.c); the faults the thread itself causes stay open. */
LIPC_HIDDEN void lipc__block_async_signals(sigset_t *old);

/* In the child of a fork (host-runtimes F7, F20) what runs in C keeps
 * working on inherited objects; lipc__call refuses to enter Go there with
 * LIPC_EFORKED and this hint, and process handles are refused at lookup
 * (handles.c): the child is not the parent of the parent's children. */
#define LIPC_FORKED_HINT                                                    \
  "called in the child of a fork(), where lipc's Go runtime cannot run. "  \
  "Objects opened before the fork keep working here; open or spawn in "    \
  "the parent before forking, or start workers with exec (Python "         \
  "multiprocessing: the 'spawn' or 'forkserver' start method)"

/* ---- errors (errors.c) ---- */
LIPC_HIDDEN int lipc__fail(int code, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
LIPC_HIDDEN int lipc__fail_take(int code, int err, char *msg); /* takes msg (malloc'd) */
LIPC_HIDDEN int lipc__code_from_errno(int err);

/* ---- handles (handles.c) ---- */
typedef struct lipc_slot lipc_slot;
/* What a handle holds: a pointer C fast paths use, and a reference to the Go
 * object (a runtime/cgo.Handle) that owns the resources. */
LIPC_HIDDEN int lipc__handle_new(int kind, void *obj, uintptr_t goref, lipc_handle_t *out);
/* lipc__handle_acquire, lipc__handle_release and lipc__slot_obj/kind/goref:
 * inlined into every entry point. */
#include "handles_fast.h"

/* What C sees of a mapping (shared memory, mapped files): Go keeps it up
 * to date when a grow maps a new view. */
struct lipc_view {
  _Atomic(void *) addr;
  _Atomic int64_t size;
};
/* A lock handle: C takes and releases the locks. */
struct lipc_flock_c {
  int fd;
  int kind;   /* LIPC__FLOCK_OFD, _CLASSIC or _WHOLE (core/flock) */
  void *wake; /* the file's wake-up words (core/flock), or NULL */
  _Atomic pid_t owner; /* the process fd's lock belongs to; 0 while it changes */
};
LIPC_HIDDEN int lipc__handle_close(lipc_handle_t h);
LIPC_HIDDEN long lipc__handles_live(void);
/* Frees the C part of an object after its Go part was destroyed (kinds.c). */
LIPC_HIDDEN void lipc__free_c_obj(int kind, void *obj);
/* In the child of a fork, where Go cannot run: lets go of what the Go part
 * holds that C can release without touching what the parent shares (fds;
 * mappings stay until the child exits or execs, names are never unlinked). */
LIPC_HIDDEN void lipc__forget_in_fork_child(int kind, void *obj);
/* What lipc_close does at once, before the object is destroyed, even while
 * other threads still use it (in_use): a process's close policy (kinds.c). */
LIPC_HIDDEN void lipc__close_c_obj(int kind, void *obj, int in_use);
#define LIPC_KIND_ANY 0
#define LIPC_KIND_MAX 255

/* ---- calls into Go (call.c) ---- */
/* One unit of work for the Go side: an operation code, scalar and string
 * arguments, scalar results, and the error Go reports. */
enum lipc_op {
  LIPC_OP_DESTROY = 1, /* i0 kind, i1 goref, i2 C object */
  LIPC_OP_DIAG,        /* i0 what -> o0 */
  LIPC_OP_SEM_OPEN,    /* s0 name, i0 flags, i1 mode, i2 value -> o0 handle */
  LIPC_OP_SEM_UNLINK,  /* s0 name */
  LIPC_OP_PROC_SPAWN,  /* i0 struct lipc_spawnattr * -> o0 prepared spawn (a Go handle), o1 its
                          struct lipc_spawn * for the clone (LIPC_OP_PROC_CLONE) */
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
  LIPC_OP_PROC_SPAWN_FINISH, /* i0 struct lipc_spawnattr *, i1 the prepared spawn (o0 of
                                LIPC_OP_PROC_SPAWN), cloned or not -> o0 handle */
};
typedef struct lipc_req {
  int op;
  int rc;          /* LIPC_OK or a code, written by Go */
  int err;         /* the errno behind rc, written by Go */
  char *msg;       /* malloc'd message when rc != 0, written by Go */
  int64_t i[6];    /* integer arguments */
  const char *s[2];/* string arguments */
  int64_t o[2];    /* integer results */
  int on_go_thread;/* set by the server: the work ran on a lipc-owned thread */
  int quiet;       /* a failure is not recorded as the caller's last error */
  atomic_uint done;/* handoff: 1 when Go finished, 2 while the caller sleeps on it (a futex word) */
  struct lipc_req *next;
} lipc_req;
/* The Go dispatcher (capi/dispatch.go). */
extern void lipcgo_dispatch(lipc_req *r, int on_server);
/* Runs r in Go through the current call mode; on failure records the error
 * for the calling thread. Returns r->rc. */
LIPC_HIDDEN int lipc__call(lipc_req *r);
/* Runs the clone of a prepared spawn (a struct lipc_spawn * of core/proc) on
 * lipc's spawn thread, whatever the call mode, and waits for it. Called from
 * Go; the outcome is in the struct. */
LIPC_HIDDEN void lipc__clone_on_spawn_thread(void *spawn);
/* For the Go servers: blocks until a request is queued on queue `which`. */
#define LIPC_QUEUE_GENERAL 0
#define LIPC_QUEUE_SPAWN 1
LIPC_HIDDEN lipc_req *lipc__queue_take(int which);
LIPC_HIDDEN void lipc__req_finish(lipc_req *r);
/* The spawn thread's loop (never returns; call.c). The clone routine is
 * core/proc's. */
LIPC_HIDDEN void lipc__serve_spawn(void *stack, size_t stack_size);
LIPC_HIDDEN int lipc__spawn_run_on(void *spawn, void *stack, size_t stack_size);

/* ---- named objects (named.c): i0 flags, i1 mode, i2 a, i3 b -> o0 handle ---- */
LIPC_HIDDEN int lipc__open_named(int op, const char *what, const char *name, int flags, uint32_t mode,
                                 int64_t a, int64_t b, lipc_handle_t *h);
LIPC_HIDDEN int lipc__unlink_named(int op, const char *what, const char *name);

/* ---- small shared helpers ---- */
/* Capture buffers (communicate.c): a freed one of 4-128 MiB is kept for
 * the next capture (recycle: 1 if kept); release frees what is not kept. */
LIPC_HIDDEN int lipc__capture_recycle(void *p);
LIPC_HIDDEN void lipc__capture_release(void *p);

/* Copies s (with its NUL) into buf if it fits, else LIPC_ERANGE (env.c). */
LIPC_HIDDEN int lipc__copy_out(const char *s, char *buf, size_t size, size_t *needed, const char *what);
/* write() that turns a closed reading end into EPIPE without SIGPIPE (fdio.c). */
LIPC_HIDDEN long lipc__write_nosigpipe(int fd, const void *buf, size_t n);

/* ---- waiting (wait.c) ---- */
/* A deadline on CLOCK_MONOTONIC; tv_sec < 0 means never. */
LIPC_HIDDEN struct timespec lipc__deadline(int64_t timeout_ms);
/* Remaining time until dl, clamped at 0; NULL when dl is "never". */
LIPC_HIDDEN const struct timespec *lipc__remaining(struct timespec dl, struct timespec *buf);
LIPC_HIDDEN int lipc__deadline_passed(struct timespec dl);
/* A deadline a century away: for waits that must still see EINTR. */
LIPC_HIDDEN struct timespec lipc__far_deadline(void);
/* futex wait on *addr while it equals val, until dl; LIPC_OK when woken or
 * the value changed, LIPC_ETIMEDOUT, LIPC_EINTR. shared: the word is in
 * memory other processes map. */
LIPC_HIDDEN int lipc__futex_wait(atomic_uint *addr, unsigned val, struct timespec dl, int shared);
LIPC_HIDDEN void lipc__futex_wake(atomic_uint *addr, int n, int shared);

#endif
