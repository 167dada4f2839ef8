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

struct queue {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lipc_req *head, *tail;
};
/* General Go work, and the clones of spawns: these run on one thread lipc
 * owns for the life of the process, whatever the call mode, because a
 * child's parent-death signal is tied to the thread that created it (F9). */
static struct queue queues[2] = {
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL},
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL},
};

/* 1 if pending holds a signal that the mask old lets through. */
static int would_take(const sigset_t *pending, const sigset_t *old) {
  for (int sig = 1; sig < NSIG; sig++)
    if (sigismember(pending, sig) == 1 && sigismember(old, sig) == 0) return 1;
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

static void run_handoff(struct queue *q, lipc_req *r) {
  atomic_store_explicit(&r->done, 0, memory_order_relaxed);
  r->next = NULL;
  pthread_mutex_lock(&q->mu);
  if (q->tail)
    q->tail->next = r;
  else
    q->head = r;
  q->tail = r;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  /* The Go work is short and bounded, so a signal does not abandon it: the
   * request lives on this stack and must outlive the server's use of it. */
  while (atomic_load_explicit(&r->done, memory_order_acquire) == 0)
    lipc__futex_wait(&r->done, 0, lipc__deadline(-1), 0);
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
      [LIPC_OP_PROC_SPAWN] = "proc_spawn",  [LIPC_OP_MUTEX_OPEN] = "mutex_open",
      [LIPC_OP_MUTEX_UNLINK] = "mutex_unlink", [LIPC_OP_EVENT_OPEN] = "event_open",
      [LIPC_OP_EVENT_UNLINK] = "event_unlink", [LIPC_OP_SHM_OPEN] = "shm_open",
      [LIPC_OP_SHM_RESIZE] = "shm_grow/refresh", [LIPC_OP_SHM_UNLINK] = "shm_unlink",
      [LIPC_OP_MMAP_OPEN] = "mmap_open",    [LIPC_OP_MMAP_SYNC] = "mmap_flush/advise",
      [LIPC_OP_FLOCK_OPEN] = "flock_open",  [LIPC_OP_PROC_CLONE] = "proc_spawn",
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

int lipc__call(lipc_req *r) {
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
 * server, so a slow one never holds up another thread's spawn. */
void lipc__clone_on_spawn_thread(void *spawn) {
  lipc_req r = {.op = LIPC_OP_PROC_CLONE};
  r.i[0] = (int64_t)(uintptr_t)spawn;
  run_handoff(&queues[LIPC_QUEUE_SPAWN], &r);
}

lipc_req *lipc__queue_take(int which) {
  struct queue *q = &queues[which];
  pthread_mutex_lock(&q->mu);
  while (!q->head) pthread_cond_wait(&q->cv, &q->mu);
  lipc_req *r = q->head;
  q->head = r->next;
  if (!q->head) q->tail = NULL;
  pthread_mutex_unlock(&q->mu);
  return r;
}

void lipc__req_finish(lipc_req *r) {
  atomic_store_explicit(&r->done, 1, memory_order_release);
  lipc__futex_wake(&r->done, 1, 0);
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
