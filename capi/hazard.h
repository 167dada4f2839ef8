/* hazard.h - per-thread announcements of the handle slots a thread is using
 * (hazard pointers), for handles.c. Why this scheme and why it is safe:
 * handles.c's header comment. Nothing here is API. */
#ifndef LIPC_HAZARD_H
#define LIPC_HAZARD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifndef LIPC_HIDDEN
#ifdef _WIN32
#define LIPC_HIDDEN
#else
#define LIPC_HIDDEN __attribute__((visibility("hidden")))
#endif
#endif

/* Calls nest only through signal handlers (a handler that uses a handle
 * while the thread it interrupted is inside lipc), so a few entries are
 * plenty; a deeper thread falls back to the slot's reference count. */
#define LIPC_HZ_DEPTH 16

struct lipc_slot;

/* One per thread that ever looked a handle up, never freed: a thread that
 * ends gives its record back for the next new thread to take. Only its
 * owner (and the owner's signal handlers, which nest) writes hz and depth;
 * closers read hz from any thread. */
struct lipc_hz_rec {
  _Atomic(struct lipc_slot *) hz[LIPC_HZ_DEPTH];
  _Atomic unsigned depth;    /* entries in use: a stack */
  _Atomic unsigned overflow; /* lookups that took a reference instead (stack full) */
  atomic_int taken;          /* 1 while a thread owns it */
  struct lipc_hz_rec *next;  /* the list of all records; set once */
  /* What the system's inline paths learn about the owning thread once
   * (Linux: whether the inline mutex path may run, its id at learning (> 0)
   * or -1 for "off", and the robust futex list head;
   * core/mutex/mutex_fast_linux.h). 0 and NULL until then, and again when
   * the record passes to another thread. Only the owner reads and writes
   * them. */
  int tid;
  void *robust_head;
} __attribute__((aligned(64))); /* no cache line shared by two threads' records */

/* This thread's record, or NULL before its first lookup. Initial-exec: the
 * .so is STATIC_TLS anyway (host-runtimes.md F12), and it keeps the access
 * one instruction instead of a call to __tls_get_addr. A pointer: rule 7. */
LIPC_HIDDEN extern __thread struct lipc_hz_rec *lipc__hz_mine
#ifndef _WIN32 /* a DLL's thread-locals have one model */
    __attribute__((tls_model("initial-exec")))
#endif
    ;

/* The same record, set only when lookups need no fence of their own
 * (lipc__hz_asymmetric): the inline lookup and release (handles_fast.h)
 * use this one, so they need not test the fence mode on every call; a
 * thread without it takes the lookup in handles.c, which does. */
LIPC_HIDDEN extern __thread struct lipc_hz_rec *lipc__hz_fast
#ifndef _WIN32
    __attribute__((tls_model("initial-exec")))
#endif
    ;

/* 1 when membarrier(PRIVATE_EXPEDITED) works: lookups then need only a
 * compiler barrier, and closers pay for the fence of every thread. 0: each
 * lookup pays a full fence of its own (kernels without membarrier, or a
 * seccomp filter that forbids it). */
LIPC_HIDDEN extern int lipc__hz_asymmetric;

/* The record of the calling thread, taken on first use; NULL if none could
 * be had (out of memory): the caller falls back to the reference count. */
LIPC_HIDDEN struct lipc_hz_rec *lipc__hz_claim(void);

/* The lookup side's fence between announcing and re-reading the slot. */
static inline void lipc__hz_light_fence(void) {
  if (__builtin_expect(lipc__hz_asymmetric, 1))
    atomic_signal_fence(memory_order_seq_cst); /* the compiler's order; membarrier does the rest */
  else
    atomic_thread_fence(memory_order_seq_cst);
}

/* The closing side: after it returns, every thread either has its
 * announcements visible to this one, or will see what this one stored
 * before the call. Returns 0, or -1 if it could not be done (the caller
 * then never frees the slot). */
LIPC_HIDDEN int lipc__hz_heavy_fence(void);

/* How many announcements of s there are in the records threads own. */
LIPC_HIDDEN unsigned lipc__hz_count(const struct lipc_slot *s);

/* Between hazard.c and hazard_<os>.c: every record ever made; giving a
 * record back (its thread ended); the test settings read at load. */
LIPC_HIDDEN extern _Atomic(struct lipc_hz_rec *) lipc__hz_all;
LIPC_HIDDEN void lipc__hz_give_back(struct lipc_hz_rec *r);
LIPC_HIDDEN void lipc__hz_read_test_env(void);
/* 1 if a thread other than the caller holds a record (it may be inside a
 * lookup now): the closing fence may skip the other threads when none does. */
LIPC_HIDDEN int lipc__hz_others_have_records(void);
/* Each system's own: zeroed memory for at least one record (its size in
 * *bytes), and arming the hook that gives r back when this thread ends. */
LIPC_HIDDEN struct lipc_hz_rec *lipc__hz_os_pages(size_t *bytes);
LIPC_HIDDEN void lipc__hz_os_arm_exit(struct lipc_hz_rec *r);

#endif
