/* hazard.c - the records behind hazard.h: claiming one per thread, giving
 * it back when the thread ends or does not exist any more (the child of a
 * fork), counting announcements. Everything a lookup may reach (claiming
 * included) is async-signal-safe: records come from the system's page
 * allocator, not malloc, and are linked with a compare-and-swap. What each
 * system does its own way (pages, the thread-exit hook, the closing side's
 * fence) is in hazard_<os>.c. */
#include <stdlib.h>
#include <string.h>

#include "hazard.h"

__thread struct lipc_hz_rec *lipc__hz_mine
#ifndef _WIN32
    __attribute__((tls_model("initial-exec")))
#endif
    ;
__thread struct lipc_hz_rec *lipc__hz_fast
#ifndef _WIN32
    __attribute__((tls_model("initial-exec")))
#endif
    ;
int lipc__hz_asymmetric;

LIPC_HIDDEN _Atomic(struct lipc_hz_rec *) lipc__hz_all;
/* LIPC_TEST_HANDLE_DEPTH=n: records start with all but n entries taken
 * (empty ones), so tests reach the fallback (references) with n nested
 * lookups; 0 sends every lookup there. -1: not set. */
LIPC_HIDDEN int lipc__hz_test_depth = -1;

/* handles.c: a slot whose announcement was dropped without a release (a
 * thread that ended inside a call, unwound by its host) may be waiting to
 * be freed; this frees it if nothing else holds it. */
LIPC_HIDDEN void lipc__handle_recheck(struct lipc_slot *s);

void lipc__hz_give_back(struct lipc_hz_rec *r) {
  unsigned n = atomic_load_explicit(&r->depth, memory_order_relaxed);
  atomic_store_explicit(&r->depth, 0, memory_order_relaxed);
  atomic_store_explicit(&r->overflow, 0, memory_order_relaxed);
  for (unsigned i = 0; i < LIPC_HZ_DEPTH; i++) {
    struct lipc_slot *s = atomic_exchange_explicit(&r->hz[i], NULL, memory_order_acq_rel);
    if (s && i < n) lipc__handle_recheck(s);
  }
  atomic_store_explicit(&r->taken, 0, memory_order_release);
}

/* A page of fresh records, the first one taken, the others linked free. */
static struct lipc_hz_rec *new_records(void) {
  size_t bytes;
  struct lipc_hz_rec *v = lipc__hz_os_pages(&bytes);
  if (!v) return NULL; /* at least two records (hazard_<os>.c) */
  /* Not the record at the page's start: its first entry would share the
   * low 12 address bits with every semaphore, mutex and event word (each
   * at the start of its mapping), and on x86 a load that follows a store
   * to such an address waits for the store (4K aliasing): the hot calls
   * store an entry, then read the object. Measured: a sem post+wait pair
   * took 12.6-15.5 ns instead of 8.6 in processes whose thread drew it. */
  v++;
  bytes -= sizeof *v;
  size_t n = bytes / sizeof *v;
  atomic_store_explicit(&v[0].taken, 1, memory_order_relaxed);
  for (size_t i = 0; i + 1 < n; i++) v[i].next = &v[i + 1];
  struct lipc_hz_rec *head = atomic_load_explicit(&lipc__hz_all, memory_order_acquire);
  do v[n - 1].next = head;
  while (!atomic_compare_exchange_weak_explicit(&lipc__hz_all, &head, &v[0], memory_order_acq_rel,
                                                memory_order_acquire));
  return &v[0];
}

struct lipc_hz_rec *lipc__hz_claim(void) {
  struct lipc_hz_rec *r = atomic_load_explicit(&lipc__hz_all, memory_order_acquire);
  for (; r; r = r->next) {
    int free_ = 0;
    if (atomic_load_explicit(&r->taken, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong_explicit(&r->taken, &free_, 1, memory_order_acq_rel,
                                                memory_order_relaxed))
      break;
  }
  if (!r && !(r = new_records())) return NULL;
  r->tid = 0; /* another thread's, if the record was given back */
  r->robust_head = NULL;
  if (lipc__hz_test_depth >= 0)
    atomic_store_explicit(&r->depth, LIPC_HZ_DEPTH - lipc__hz_test_depth, memory_order_relaxed);
  /* Before the thread-exit hook is armed, so a handler that interrupts
   * here and claims again finds this record. */
  lipc__hz_mine = r;
  if (lipc__hz_asymmetric) lipc__hz_fast = r;
  lipc__hz_os_arm_exit(r);
  /* The claim before this thread's first announcement, for a closer that
   * found no other thread with a record and skipped the fence of every
   * thread (lipc__hz_heavy_fence): once per thread. */
  atomic_thread_fence(memory_order_seq_cst);
  return r;
}

/* Records no thread owns are skipped: most of a page's are, and reading
 * their entries was two more cache lines each at every close. A free record
 * holds no announcement (lipc__hz_give_back and the fork child's reset
 * empty it before freeing it), and one a thread has claimed is seen as
 * taken here whenever its announcement must be seen: the claim comes
 * before the owner's first announcement, with a full fence between them,
 * and the closer's fence (lipc__hz_heavy_fence, or each announcement's own
 * fence in symmetric mode) orders every announcement made before it ahead
 * of this count, the claim with it. */
unsigned lipc__hz_count(const struct lipc_slot *s) {
  unsigned n = 0;
  for (struct lipc_hz_rec *r = atomic_load_explicit(&lipc__hz_all, memory_order_acquire); r; r = r->next) {
    if (atomic_load_explicit(&r->taken, memory_order_acquire) == 0) continue;
    for (unsigned i = 0; i < LIPC_HZ_DEPTH; i++)
      if (atomic_load_explicit(&r->hz[i], memory_order_acquire) == s) n++;
  }
  return n;
}

int lipc__hz_others_have_records(void) {
  for (struct lipc_hz_rec *r = atomic_load_explicit(&lipc__hz_all, memory_order_acquire); r; r = r->next)
    if (r != lipc__hz_mine && atomic_load_explicit(&r->taken, memory_order_relaxed)) return 1;
  return 0;
}

/* The test settings every system reads at load (hazard_<os>.c calls it). */
void lipc__hz_read_test_env(void) {
  const char *d = getenv("LIPC_TEST_HANDLE_DEPTH");
  if (d) {
    lipc__hz_test_depth = atoi(d);
    if (lipc__hz_test_depth < 0 || lipc__hz_test_depth > LIPC_HZ_DEPTH) lipc__hz_test_depth = -1;
  }
}
