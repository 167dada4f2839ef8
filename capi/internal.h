/* internal.h - what the C files of capi share. Nothing here is API. */
#ifndef LIPC_INTERNAL_H
#define LIPC_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "../include/lipc.h"

/* Not exported: on Linux the version script keeps everything but lipc_*
 * inside; a Windows DLL exports only what is marked LIPC_API. */
#ifdef _WIN32
#define LIPC_HIDDEN
#else
#define LIPC_HIDDEN __attribute__((visibility("hidden")))
#endif
/* printf-like checks; mingw's own printf is the C99 one (gnu_printf) when
 * built with __USE_MINGW_ANSI_STDIO, as lipc.dll is. */
#ifdef _WIN32
#define LIPC_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define LIPC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* ---- host duties (host_linux.c, host_windows.c) ---- */
LIPC_HIDDEN extern atomic_int lipc__forked;        /* set in the child of a fork */
/* 1 in the child of any fork: lipc__forked from the atfork handler, or a
 * process id that is not the one lipc was loaded in (a raw fork or clone
 * runs no atfork handlers, F20; a vfork child too, without marking the
 * memory it shares with the parent), or the loader's id in a child the
 * fork pages tell (a new pid namespace's init, a reused pid). A system
 * call: for paths into Go and process handles only. */
LIPC_HIDDEN int lipc__in_fork_child(void);
/* 1 in a child whose memory is its parent's (vfork, clone with CLONE_VM)
 * where lipc can tell (host_linux.c): what it writes, it writes in the
 * parent. A system call: for lipc_close. 0 on Windows. */
LIPC_HIDDEN int lipc__in_vfork_child(void);
LIPC_HIDDEN extern atomic_int lipc__call_mode;     /* LIPC_CALL_* */
/* Figures lipc_diag reports (0 or -1 where a system has no such thing). */
LIPC_HIDDEN extern atomic_long lipc__threads_wrapped;
LIPC_HIDDEN extern atomic_long lipc__stack_lookups;
LIPC_HIDDEN int64_t lipc__host_nofile(void);
/* A number that differs from one process (and one load) to the next without
 * a system call that may be missing or refused: the clock, the process id.
 * Not a secret (handles.c draws where handle values start from it). */
LIPC_HIDDEN uint64_t lipc__load_noise(void);
/* 1 once Go's threads keep the host's signals blocked (gosig_linux.c). */
LIPC_HIDDEN extern int lipc__go_signals_blocked;


/* ---- errors (errors.c) ---- */
LIPC_HIDDEN int lipc__fail(int code, int err, const char *fmt, ...) LIPC_PRINTF(3, 4);
LIPC_HIDDEN int lipc__fail_take(int code, int err, char *msg); /* takes msg (malloc'd) */
/* on 1: lipc__fail and lipc__fail_take return their code and record nothing (errors.c). */
LIPC_HIDDEN void lipc__fail_quietly(int on);
/* What lipc_free does with memory lipc handed out: each system's own
 * (Linux keeps a large capture buffer for the next capture). */
LIPC_HIDDEN void lipc__capture_release(void *p);
/* Each system's own (errors_<os>.c): the description of one of its error
 * numbers (NULL if unknown), a vasprintf, and a hook run when the calling
 * thread ends (one function per process: errors.c's). */
LIPC_HIDDEN const char *lipc__os_error_desc(int err);
LIPC_HIDDEN int lipc__vasprintf(char **out, const char *fmt, va_list ap);
LIPC_HIDDEN void lipc__os_at_thread_exit(void (*fn)(void));

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
/* lipc_shm_addr and lipc_mmap_addr on every system (view.c): the view of
 * handle h of kind; LIPC_EINVAL if addr and size are both NULL. */
LIPC_HIDDEN int lipc__view_of(lipc_handle_t h, int kind, const char *what, void **addr, int64_t *size);
LIPC_HIDDEN int lipc__handle_close(lipc_handle_t h);
LIPC_HIDDEN long lipc__handles_live(void);
/* Frees the C part of an object after its Go part was destroyed (kinds_<os>.c). */
LIPC_HIDDEN void lipc__free_c_obj(int kind, void *obj);
/* In the child of a fork, where Go cannot run: lets go of what the Go part
 * holds that C can release without touching what the parent shares (fds;
 * mappings stay until the child exits or execs, names are never unlinked). */
LIPC_HIDDEN void lipc__forget_in_fork_child(int kind, void *obj);
/* What lipc_close does at once, before the object is destroyed, even while
 * other threads still use it (in_use): a process's close policy (kinds_<os>.c). */
LIPC_HIDDEN void lipc__close_c_obj(int kind, void *obj, int in_use);
#define LIPC_KIND_ANY 0
#define LIPC_KIND_MAX 255

/* ---- calls into Go (call_linux.c, host_windows.c) ---- */
/* One unit of work for the Go side: an operation code, scalar and string
 * arguments, scalar results, and the error Go reports. */
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

/* ---- named objects (named.c): i0 flags, i1 mode, i2 a, i3 b -> o0 handle ---- */
LIPC_HIDDEN int lipc__open_named(int op, const char *what, const char *name, int flags, uint32_t mode,
                                 int64_t a, int64_t b, lipc_handle_t *h);
LIPC_HIDDEN int lipc__unlink_named(int op, const char *what, const char *name);

/* ---- the name rule and named objects' messages without Go (names.c) ---- */
#define LIPC_NAME_MAX 200 /* core/names.MaxLen */
/* Checks name against the rule (core/names.Clean's checks, order and
 * messages); LIPC_OK with *clean, name without its '/', or the error
 * recorded with the system's error number einval (or etoolong when only the
 * length is wrong). */
LIPC_HIDDEN int lipc__name_rule(const char *op, const char *name, int einval, int etoolong, const char **clean);
/* Records `op "subject": <fmt...>` (`op: ...` for an empty subject), as
 * core/lerr words an error, with code and the system's error err. */
LIPC_HIDDEN int lipc__fail_named(int code, int err, const char *op, const char *subject, const char *fmt, ...)
    LIPC_PRINTF(5, 6);
/* The checks of an open call's flags and mode (shmobj.Open's, after the
 * name's): the flags lipc knows, LIPC_EXCL only with LIPC_CREATE, mode
 * within 0777; the error recorded with einval. */
LIPC_HIDDEN int lipc__open_args_rule(const char *op, const char *name, int flags, uint32_t mode, int einval);
/* s quoted as Go's %q quotes it; malloc'd, NULL when out of memory. */
LIPC_HIDDEN char *lipc__quote_go(const char *s);

/* ---- small shared helpers ---- */
/* lipc_proc_info_many's array checks (proc_info_many.c). */
LIPC_HIDDEN int lipc__info_many_args(const int *what, const int64_t *values, const int *rcs, int n);
/* Copies s (with its NUL) into buf if it fits, else LIPC_ERANGE (copy_out.c). */
LIPC_HIDDEN int lipc__copy_out(const char *s, char *buf, size_t size, size_t *needed, const char *what);


/* What only one system has: the operations Go serves, host duties, waits. */
#ifdef _WIN32
#include "internal_windows.h"
#else
#include "internal_linux.h"
#endif

#endif
