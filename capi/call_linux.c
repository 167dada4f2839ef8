/* call.c - how C entry points get Go work done.
 *
 * Direct mode: the caller's thread runs the Go dispatcher itself, with sane
 * floating-point state around the call (F6). Handoff mode (forced under SBCL,
 * F17): the request goes on a queue served by goroutines locked to threads
 * lipc owns, and the caller sleeps on a futex in C until it is done, so the
 * host thread never executes Go code. Either way the error comes back in the
 * request and is recorded for the calling thread here (F12). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>

#include "internal.h"

/* A queue of requests for the Go servers. The list is under mu; a server
 * with nothing to do spins a little, then sleeps on the futex word seq,
 * and a producer makes the wake-up system call only when a server sleeps
 * (waiters). */
struct queue {
  pthread_mutex_t mu;
  lipc_req *head, *tail;
  _Atomic(lipc_req *) peek; /* head, readable without the lock while spinning */
  atomic_uint seq;          /* bumped by every push: the servers' futex word */
  atomic_int waiters;       /* servers asleep, or about to be */
  atomic_int spinning;      /* 1 while a server spins: one at a time, the machine may have 2 CPUs */
  long server_spin_ns;      /* how long an idle server polls before it sleeps */
  long caller_spin_ns;      /* how long a caller polls for its answer before it sleeps */
};

/* How long each side of a handoff polls before it sleeps. A handoff used
 * to be two sleeps and two wake-ups (the server's, the caller's), 14 us of
 * scheduler latency for a microsecond of Go work: measured with clock
 * reads at each step (issue 12, 20,000 calls of lipc_diag, means on a
 * loaded 2-CPU machine), 13-19 us from the push to a server holding the
 * request (a condition-variable wake-up of a sleeping thread, then Go's
 * return from the cgo call), 0.5 us of Go work, 9-11 us from the finish to
 * the caller running again (a futex wake-up). Polling: 0.2-1.7 us, 0.1-0.4
 * us, 0.8-2.8 us. The caller polls for
 * about as long as short Go work takes; an idle server polls for the next
 * request for a little longer, so a stream of calls (every Go call of an
 * SBCL host) finds it awake. Both are bounded, and only one server polls at
 * a time. */
#define CALLER_SPIN_NS 20000L
#define SERVER_SPIN_NS 50000L

/* General Go work, and the clones of spawns: these run on one thread lipc
 * owns for the life of the process, whatever the call mode, because a
 * child's parent-death signal is tied to the thread that created it (F9). */
static struct queue queues[2] = {
    {.mu = PTHREAD_MUTEX_INITIALIZER, .server_spin_ns = SERVER_SPIN_NS, .caller_spin_ns = CALLER_SPIN_NS},
    /* No polling on either side of a clone: it takes 150-300 us (the child
     * runs until it execs), spawns rarely follow each other that closely,
     * and a thread polling with sched_yield on a 2-CPU machine takes CPU
     * time from the child it waits for. Measured in one process, spawns
     * alternating with and without the polls and posix_spawn+waitpid,
     * while other work kept the 2 CPUs busy (load 10; issue 12): medians
     * 1.07-1.11 times posix_spawn+waitpid with the polls, 1.01-1.02
     * without, and 1.7-2.9 against 1.0-1.1 in the worst runs. */
    {.mu = PTHREAD_MUTEX_INITIALIZER, .server_spin_ns = 0, .caller_spin_ns = 0},
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

static int64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Polls until ready(arg) or about ns nanoseconds have passed; 1 if ready.
 * A few hundred polls with the CPU's pause first (the answer is often that
 * close), then one sched_yield per poll: the other side may be waiting for
 * this very CPU (two threads on one CPU of a busy machine), and a bare spin
 * would keep it from running for the whole budget. */
static int poll_until(int (*ready)(void *), void *arg, long ns) {
  for (int i = 0; i < 256; i++) {
    if (ready(arg)) return 1;
    cpu_relax();
  }
  int64_t end = mono_ns() + ns;
  for (;;) {
    if (ready(arg)) return 1;
    if (mono_ns() >= end) return 0;
    sched_yield();
  }
}

static int req_done(void *r) {
  return atomic_load_explicit(&((lipc_req *)r)->done, memory_order_acquire) != 0;
}

static int queue_has_work(void *q) {
  return atomic_load_explicit(&((struct queue *)q)->peek, memory_order_acquire) != NULL;
}

/* 1 if sig runs a handler here: a signal whose disposition is the default
 * or ignore does the same on whichever thread takes it (nothing, or the
 * whole process stops or ends). A disposition that cannot be read counts
 * as a handler. */
static int has_handler(int sig) {
  struct sigaction sa;
  if (sigaction(sig, NULL, &sa) != 0) return 1;
  if (sa.sa_flags & SA_SIGINFO) return 1;
  return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

/* 1 if pending holds a signal with a handler that the mask old lets
 * through. Those without one are left to whichever thread: a child's
 * SIGCHLD (default: ignored) was pending after nearly every spawn, and this
 * thread yielded for up to a millisecond waiting for a thread that blocks
 * it (issue 12: 5 sched_yield calls a lipc.run, each a time slice given
 * away on a busy machine). */
static int would_take(const sigset_t *pending, const sigset_t *old) {
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember(pending, sig) == 1 && sigismember(old, sig) == 0 && has_handler(sig)) return 1;
  return 0;
}

/* Gives the caller its signal mask back. A process-directed signal that came
 * while the mask was up went to a thread the kernel chose and woke (Ctrl-C's
 * SIGINT to the main thread, where Python and most hosts expect it); were
 * this thread, already running, to unblock it at once, it would take the
 * signal first and leave that thread asleep in its wait. So while such a
 * signal is still pending this thread yields, for at most a millisecond,
 * then takes whatever is left (a signal sent to it alone, or one no other
 * thread can take). */
static void restore_signals(const sigset_t *old) {
  sigset_t pending;
  struct timespec t0 = {0, 0}, now;
  while (sigpending(&pending) == 0 && would_take(&pending, old)) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (t0.tv_sec == 0 && t0.tv_nsec == 0)
      t0 = now;
    else if ((now.tv_sec - t0.tv_sec) * 1000000000L + (now.tv_nsec - t0.tv_nsec) > 1000000L)
      break;
    sched_yield();
  }
  pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* The caller's thread runs the Go code. Its asynchronous signals are
 * blocked meanwhile: a host handler installed without SA_ONSTACK would run
 * on the small goroutine stack and corrupt it (F19, rule 10). A signal that
 * arrives during the call is delivered when the mask is given back, a few
 * microseconds later: Go work never sleeps. */
static void run_direct(lipc_req *r) {
  sigset_t old;
  lipc__block_async_signals(&old);
  unsigned fp = lipc__fp_enter();
  lipcgo_dispatch(r, 0);
  lipc__fp_leave(fp);
  restore_signals(&old);
}

static void push(struct queue *q, lipc_req *r) {
  r->next = NULL;
  pthread_mutex_lock(&q->mu);
  if (q->tail)
    q->tail->next = r;
  else
    q->head = r;
  q->tail = r;
  atomic_store_explicit(&q->peek, q->head, memory_order_release);
  pthread_mutex_unlock(&q->mu);
  /* seq before waiters, against the server's waiters before its last look
   * (take): one of the two sees the other. */
  atomic_fetch_add_explicit(&q->seq, 1, memory_order_seq_cst);
  if (atomic_load_explicit(&q->waiters, memory_order_seq_cst) > 0) lipc__futex_wake(&q->seq, 1, 0);
}

static void run_handoff(struct queue *q, lipc_req *r) {
  atomic_store_explicit(&r->done, 0, memory_order_relaxed);
  push(q, r);
  /* The Go work is short and bounded, so a signal does not abandon it: the
   * request lives on this stack and must outlive the server's use of it. */
  if (q->caller_spin_ns && poll_until(req_done, r, q->caller_spin_ns)) return;
  /* 2: asleep, so the server makes the wake-up call (lipc__req_finish). */
  unsigned pending = 0;
  if (!atomic_compare_exchange_strong(&r->done, &pending, 2)) return;
  while (atomic_load_explicit(&r->done, memory_order_acquire) != 1)
    lipc__futex_wait(&r->done, 2, lipc__deadline(-1), 0);
}

static int result(lipc_req *r) {
  if (r->rc == LIPC_OK) return LIPC_OK;
  if (r->quiet) {
    free(r->msg);
    return r->rc;
  }
  return lipc__fail_take(r->rc, r->err, r->msg);
}

static const char *op_name(int op) {
  static const char *const names[] = {
      [LIPC_OP_DESTROY] = "close",          [LIPC_OP_DIAG] = "diag",
      [LIPC_OP_SEM_OPEN] = "sem_open",      [LIPC_OP_SEM_UNLINK] = "sem_unlink",
      [LIPC_OP_MUTEX_OPEN] = "mutex_open",
      [LIPC_OP_MUTEX_UNLINK] = "mutex_unlink", [LIPC_OP_EVENT_OPEN] = "event_open",
      [LIPC_OP_EVENT_UNLINK] = "event_unlink", [LIPC_OP_SHM_OPEN] = "shm_open",
      [LIPC_OP_SHM_RESIZE] = "shm_grow/refresh", [LIPC_OP_SHM_UNLINK] = "shm_unlink",
      [LIPC_OP_MMAP_OPEN] = "mmap_open",    [LIPC_OP_MMAP_SYNC] = "mmap_flush/advise",
      [LIPC_OP_FLOCK_OPEN] = "flock_open",  [LIPC_OP_PROC_CLONE] = "proc_spawn",
      [LIPC_OP_PROC_SPAWN_FINISH] = "proc_spawn", [LIPC_OP_PROC_RELEASE] = "close",
  };
  const char *n = op >= 0 && op < (int)(sizeof names / sizeof names[0]) ? names[op] : NULL;
  return n ? n : "lipc";
}

/* In the child of any fork, raw ones included (F20), Go must not be
 * entered: it may hang there, and it shares the parent's poller fds. */
static int forked(lipc_req *r) {
  if (!lipc__in_fork_child()) return 0;
  r->rc = lipc__fail(LIPC_EFORKED, 0, "%s: " LIPC_FORKED_HINT, op_name(r->op));
  return 1;
}

/* Go itself makes its system calls raw, but in direct mode a Go call runs
 * C on this thread (cgo calls, Go's stack query on a callback: fopen of
 * /proc/self/maps), and glibc's unwinding of a cancellation through Go's
 * frames would wreck the runtime: no cancellation inside (lipc.h). */
static int call(lipc_req *r);
int lipc__call(lipc_req *r) { return LIPC_NO_CANCEL(call(r)); }

static int call(lipc_req *r) {
  r->rc = LIPC_OK;
  r->msg = NULL;
  r->err = 0;
  if (forked(r)) return r->rc;
  if (atomic_load_explicit(&lipc__call_mode, memory_order_relaxed) == LIPC_CALL_HANDOFF)
    run_handoff(&queues[LIPC_QUEUE_GENERAL], r);
  else
    run_direct(r);
  return result(r);
}

/* Only the clone goes to the spawn thread: the preparation (PATH search,
 * opening the fd map's files) ran on the caller's thread or a general
 * server, so a slow one never holds up another thread's spawn. Called from
 * C (lipc_proc_spawn), between the Go requests that prepare and finish the
 * spawn: a caller blocked here for the clone and the child's exec is not in
 * a Go call, so Go's sysmon has no processor to take back from it and no
 * idle thread to wake (it did both on every spawn, issue 12). */
/*
 * The caller sleeps until the child has execed, woken by the kernel itself
 * (CLONE_CHILD_CLEARTID, lipc__spawn_await), not by the spawn thread once
 * its vfork wait ends. That second hop put the caller behind the new child
 * on the CPU the caller had left (the spawn thread's CPU was busy with the
 * spawn thread itself at the wake-up), and it waited there for the child to
 * finish: lipc_proc_spawn took either ~1.2x posix_spawn or ~550 us, a
 * child's whole run (issue 12). The spawn thread neither reads the request
 * after its clone returns nor finishes it: the child's exec is the answer. */
void lipc__clone_on_spawn_thread(void *spawn) {
  lipc_req r = {.op = LIPC_OP_PROC_CLONE};
  r.i[0] = (int64_t)(uintptr_t)spawn;
  lipc__spawn_expect(spawn);
  atomic_store_explicit(&r.done, 0, memory_order_relaxed);
  push(&queues[LIPC_QUEUE_SPAWN], &r);
  lipc__spawn_await(spawn);
}

static lipc_req *pop(struct queue *q) {
  pthread_mutex_lock(&q->mu);
  lipc_req *r = q->head;
  if (r) {
    q->head = r->next;
    if (!q->head) q->tail = NULL;
    atomic_store_explicit(&q->peek, q->head, memory_order_release);
  }
  pthread_mutex_unlock(&q->mu);
  return r;
}

/* Polls the queue for a while; 1 if a request came. One server at a time. */
static int spin_for_work(struct queue *q) {
  if (q->server_spin_ns == 0) return 0;
  int no = 0;
  if (!atomic_compare_exchange_strong(&q->spinning, &no, 1)) return 0;
  int got = poll_until(queue_has_work, q, q->server_spin_ns);
  atomic_store(&q->spinning, 0);
  return got;
}

lipc_req *lipc__queue_take(int which) {
  struct queue *q = &queues[which];
  for (;;) {
    lipc_req *r = pop(q);
    if (r) return r;
    if (spin_for_work(q)) continue;
    unsigned seq = atomic_load_explicit(&q->seq, memory_order_seq_cst);
    atomic_fetch_add_explicit(&q->waiters, 1, memory_order_seq_cst);
    if (!atomic_load_explicit(&q->peek, memory_order_seq_cst))
      lipc__futex_wait(&q->seq, seq, lipc__deadline(-1), 0);
    atomic_fetch_sub_explicit(&q->waiters, 1, memory_order_seq_cst);
  }
}

/* The spawn thread's whole life, in C: Go starts it on a goroutine locked
 * to its thread (capi/main.go) and this never returns, so the thread that
 * clones every child never exits (F9, rule 4). Staying in C matters for
 * speed: a clone blocks its thread until the child execs (CLONE_VFORK),
 * and as a Go call that long it made Go's sysmon take the thread's
 * processor and wake an idle thread to hold it, then wake itself again at
 * the return: three threads scheduled per spawn on a 2-CPU machine. One
 * endless C call is taken from once. Only the clone is served here; any
 * other request (none is sent today) goes to Go as before. */
void lipc__serve_spawn(void *stack, size_t stack_size) {
  for (;;) {
    lipc_req *r = lipc__queue_take(LIPC_QUEUE_SPAWN);
    if (r->op == LIPC_OP_PROC_CLONE) {
      /* r and the spawn belong to their caller again once the child has
       * execed, which may be before the clone returns here: neither is
       * touched after it (lipc__clone_on_spawn_thread). */
      lipc__spawn_clone_on((void *)(uintptr_t)r->i[0], stack, stack_size);
      continue;
    }
    lipcgo_dispatch(r, 1);
    lipc__req_finish(r);
  }
}

void lipc__req_finish(lipc_req *r) {
  /* A caller that is still polling needs no system call. Once done is 1
   * the request (on the caller's stack) may be gone: only a caller that
   * said it sleeps (2) is woken, and it waits for that 1 before leaving. */
  if (atomic_exchange_explicit(&r->done, 1, memory_order_acq_rel) == 2) lipc__futex_wake(&r->done, 1, 0);
}

int lipc_set_call_mode(int mode) {
  if (mode != LIPC_CALL_DIRECT && mode != LIPC_CALL_HANDOFF)
    return lipc__fail(LIPC_EINVAL, EINVAL, "set_call_mode: unknown mode %d", mode);
  if (mode == LIPC_CALL_DIRECT && lipc__host_is_sbcl)
    return lipc__fail(LIPC_EPERM, EPERM,
                      "set_call_mode: direct calls are refused in an SBCL process "
                      "(a Lisp thread running Go code corrupts the Lisp heap)");
  atomic_store(&lipc__call_mode, mode);
  return LIPC_OK;
}
