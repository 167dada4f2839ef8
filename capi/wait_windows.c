/* wait_windows.c - every blocking wait of lipc on Windows: the objects, a
 * deadline, and the host's Ctrl-C.
 *
 * Windows has no signals; a console program learns of Ctrl-C and
 * Ctrl-Break through its console control handlers, which run on a thread
 * of their own. lipc adds one at load that returns FALSE (so the host's
 * own handlers, Python's included, still run after it) and wakes every
 * thread waiting in lipc, whose wait then returns LIPC_EINTR with nothing
 * lost, as a signal does on Linux. Each waiting thread has its own event
 * (made on its first wait, kept in a list that is never freed, given back
 * when the thread ends); the handler bumps a generation and sets every
 * event, and a waiter returns LIPC_EINTR only when the generation moved
 * since its wait began (an event left set by an older interrupt is
 * ignored). */
#include <stdlib.h>

#include "dllmain_windows.h"
#include "internal.h"

struct waiter {
  HANDLE ev; /* auto-reset */
  atomic_int taken;
  struct waiter *next;
};

static _Atomic(struct waiter *) waiters;
static atomic_long intr_gen;
static __thread struct waiter *mine;
static DWORD exit_slot = FLS_OUT_OF_INDEXES;

static VOID WINAPI give_back(PVOID p) {
  struct waiter *w = p;
  if (!w || lipc__process_exiting()) return; /* nothing to give back at exit */
  if (mine == w) mine = NULL;
  atomic_store(&w->taken, 0);
}

static struct waiter *my_waiter(void) {
  if (mine) return mine;
  struct waiter *w;
  for (w = atomic_load(&waiters); w; w = w->next) {
    int zero = 0;
    if (atomic_compare_exchange_strong(&w->taken, &zero, 1)) break;
  }
  if (!w) {
    if (!(w = calloc(1, sizeof *w))) return NULL;
    if (!(w->ev = CreateEventW(NULL, FALSE, FALSE, NULL))) {
      free(w);
      return NULL;
    }
    atomic_store(&w->taken, 1);
    struct waiter *head = atomic_load(&waiters);
    do w->next = head;
    while (!atomic_compare_exchange_weak(&waiters, &head, w));
  }
  mine = w;
  if (exit_slot != FLS_OUT_OF_INDEXES) FlsSetValue(exit_slot, w);
  return w;
}

static BOOL WINAPI on_console_ctrl(DWORD type) {
  (void)type;
  atomic_fetch_add(&intr_gen, 1);
  for (struct waiter *w = atomic_load(&waiters); w; w = w->next) SetEvent(w->ev);
  return FALSE; /* the host's handlers (and the default one) still run */
}

__attribute__((constructor)) static void wait_init(void) {
  exit_slot = FlsAlloc(give_back);
  SetConsoleCtrlHandler(on_console_ctrl, TRUE);
}

int lipc__win_wait(const HANDLE *objs, DWORD n, int64_t timeout_ms, DWORD *which, int *abandoned,
                   const char *what) {
  HANDLE all[MAXIMUM_WAIT_OBJECTS];
  if (n >= MAXIMUM_WAIT_OBJECTS)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: too many objects to wait for (%lu)",
                      what, (unsigned long)n);
  for (DWORD i = 0; i < n; i++) all[i] = objs[i];
  struct waiter *w = timeout_ms != 0 ? my_waiter() : NULL;
  DWORD count = n;
  if (w) {
    ResetEvent(w->ev);
    all[count++] = w->ev;
  }
  long gen = atomic_load(&intr_gen);
  /* As lipc__deadline on Linux: a deadline further than 2^31-1 seconds
   * is that far (now + INT64_MAX would overflow). */
  if (timeout_ms > (int64_t)INT32_MAX * 1000) timeout_ms = (int64_t)INT32_MAX * 1000;
  /* On the performance counter, in microseconds: a timeout never ends
   * before the time asked (lipc__now_us). */
  int64_t deadline = timeout_ms > 0 ? lipc__now_us() + timeout_ms * 1000 : 0;
  if (abandoned) *abandoned = 0;
  for (;;) {
    DWORD ms = INFINITE;
    if (timeout_ms == 0) {
      ms = 0;
    } else if (timeout_ms > 0) {
      int64_t left = lipc__ms_ceil(deadline - lipc__now_us());
      ms = left >= (int64_t)INFINITE ? INFINITE - 1 : (DWORD)left;
    }
    DWORD r = WaitForMultipleObjects(count, all, FALSE, ms);
    if (r < WAIT_OBJECT_0 + n) {
      *which = r - WAIT_OBJECT_0;
      return LIPC_OK;
    }
    if (r >= WAIT_ABANDONED_0 && r < WAIT_ABANDONED_0 + n) {
      *which = r - WAIT_ABANDONED_0;
      if (abandoned) *abandoned = 1;
      return LIPC_OK;
    }
    if (w && r == WAIT_OBJECT_0 + n) {
      if (atomic_load(&intr_gen) != gen) return LIPC_EINTR;
      continue; /* set by an interrupt older than this wait */
    }
    /* Windows may end a timed wait before its time (the wait is counted
     * in ticks): wait again for what is left. */
    if (r == WAIT_TIMEOUT && timeout_ms > 0 && lipc__now_us() < deadline) continue;
    if (r == WAIT_TIMEOUT) return LIPC_ETIMEDOUT;
    return lipc__fail_win(GetLastError(), "%s: wait failed", what);
  }
}
