/* hazard.c - the records behind hazard.h: claiming one per thread, giving
 * it back when the thread ends or does not exist any more (the child of a
 * fork), counting announcements, and the closing side's fence. Everything
 * a lookup may reach (claiming included) is async-signal-safe: records come
 * from mmap, not malloc, and are linked with a compare-and-swap. */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hazard.h"

__thread struct lipc_hz_rec *lipc__hz_mine __attribute__((tls_model("initial-exec")));
int lipc__hz_asymmetric;

static _Atomic(struct lipc_hz_rec *) all_recs;
/* LIPC_TEST_HANDLE_DEPTH=n: records start with all but n entries taken
 * (empty ones), so tests reach the fallback (references) with n nested
 * lookups; 0 sends every lookup there. -1: not set. */
static int test_depth = -1;
static pthread_key_t exit_key;
static int exit_key_ok;

/* handles.c: a slot whose announcement was dropped without a release (a
 * thread that ended inside a call, unwound by its host) may be waiting to
 * be freed; this frees it if nothing else holds it. */
LIPC_HIDDEN void lipc__handle_recheck(struct lipc_slot *s);

static void give_back(struct lipc_hz_rec *r) {
  unsigned n = atomic_load_explicit(&r->depth, memory_order_relaxed);
  atomic_store_explicit(&r->depth, 0, memory_order_relaxed);
  atomic_store_explicit(&r->overflow, 0, memory_order_relaxed);
  for (unsigned i = 0; i < LIPC_HZ_DEPTH; i++) {
    struct lipc_slot *s = atomic_exchange_explicit(&r->hz[i], NULL, memory_order_acq_rel);
    if (s && i < n) lipc__handle_recheck(s);
  }
  atomic_store_explicit(&r->taken, 0, memory_order_release);
}

/* pthread key destructor: the thread is ending. A key destructor of another
 * library that runs later and calls lipc claims a record again. */
static void on_thread_exit(void *p) {
  struct lipc_hz_rec *r = p;
  if (lipc__hz_mine == r) lipc__hz_mine = NULL;
  give_back(r);
}

/* A page of fresh records, the first one taken, the others linked free. */
static struct lipc_hz_rec *new_records(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), n = page / sizeof(struct lipc_hz_rec);
  if (n == 0) n = 1;
  struct lipc_hz_rec *v = mmap(NULL, n * sizeof *v, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (v == MAP_FAILED) return NULL;
  atomic_store_explicit(&v[0].taken, 1, memory_order_relaxed);
  for (size_t i = 0; i + 1 < n; i++) v[i].next = &v[i + 1];
  struct lipc_hz_rec *head = atomic_load_explicit(&all_recs, memory_order_acquire);
  do v[n - 1].next = head;
  while (!atomic_compare_exchange_weak_explicit(&all_recs, &head, &v[0], memory_order_acq_rel,
                                                memory_order_acquire));
  return &v[0];
}

struct lipc_hz_rec *lipc__hz_claim(void) {
  struct lipc_hz_rec *r = atomic_load_explicit(&all_recs, memory_order_acquire);
  for (; r; r = r->next) {
    int free_ = 0;
    if (atomic_load_explicit(&r->taken, memory_order_relaxed) == 0 &&
        atomic_compare_exchange_strong_explicit(&r->taken, &free_, 1, memory_order_acq_rel,
                                                memory_order_relaxed))
      break;
  }
  if (!r && !(r = new_records())) return NULL;
  if (test_depth >= 0) atomic_store_explicit(&r->depth, LIPC_HZ_DEPTH - test_depth, memory_order_relaxed);
  /* Before the destructor is armed, so a handler that interrupts here and
   * claims again finds this record. glibc's pthread_setspecific allocates
   * nothing for the first 32 keys, which is where a key made at load is. */
  lipc__hz_mine = r;
  if (exit_key_ok) pthread_setspecific(exit_key, r);
  /* The claim before this thread's first announcement, for a closer that
   * found no other thread with a record and skipped the fence of every
   * thread (lipc__hz_heavy_fence): once per thread. */
  atomic_thread_fence(memory_order_seq_cst);
  return r;
}

unsigned lipc__hz_count(const struct lipc_slot *s) {
  unsigned n = 0;
  for (struct lipc_hz_rec *r = atomic_load_explicit(&all_recs, memory_order_acquire); r; r = r->next)
    for (unsigned i = 0; i < LIPC_HZ_DEPTH; i++)
      if (atomic_load_explicit(&r->hz[i], memory_order_acquire) == s) n++;
  return n;
}

static long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

/* 1 if a thread other than the caller holds a record (it may be inside a
 * lookup now). */
static int others_have_records(void) {
  for (struct lipc_hz_rec *r = atomic_load_explicit(&all_recs, memory_order_acquire); r; r = r->next)
    if (r != lipc__hz_mine && atomic_load_explicit(&r->taken, memory_order_relaxed)) return 1;
  return 0;
}

int lipc__hz_heavy_fence(void) {
  if (!lipc__hz_asymmetric) {
    atomic_thread_fence(memory_order_seq_cst);
    return 0;
  }
  /* No thread but this one has ever looked a handle up (or all that did
   * have ended): none is inside a lookup, and one that starts later claims
   * a record first, with a full fence between the claim and its first look
   * at a slot. This thread's store before the call, this fence and the
   * scan of the records against that claim and that fence: either the scan
   * sees the claim (and the membarrier below is made), or the new thread
   * sees the store. A single-threaded host (most scripts) then closes
   * without an interprocessor interrupt per close: 10 us of each
   * spawn+wait+close in a VM (issue 12). */
  atomic_thread_fence(memory_order_seq_cst);
  if (!others_have_records()) return 0;
  /* Every running thread of this process executes a full memory barrier
   * (an interprocessor interrupt); a thread that is not running passed one
   * when it was switched out. */
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) return -1;
  atomic_thread_fence(memory_order_seq_cst);
  return 0;
}

/* In the child of a fork only the forking thread exists: every other
 * thread's announcements are of calls that will never return here. */
static void after_fork_child(void) {
  for (struct lipc_hz_rec *r = atomic_load(&all_recs); r; r = r->next)
    if (r != lipc__hz_mine) {
      for (unsigned i = 0; i < LIPC_HZ_DEPTH; i++) atomic_store(&r->hz[i], NULL);
      atomic_store(&r->depth, 0);
      atomic_store(&r->overflow, 0);
      atomic_store(&r->taken, 0);
    }
}

__attribute__((constructor)) static void hazard_init(void) {
  exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
  pthread_atfork(NULL, NULL, after_fork_child);
  const char *d = getenv("LIPC_TEST_HANDLE_DEPTH");
  if (d) {
    test_depth = atoi(d);
    if (test_depth < 0 || test_depth > LIPC_HZ_DEPTH) test_depth = -1;
  }
  /* LIPC_TEST_HANDLE_FENCE=symmetric: the fallback, so tests cover it. */
  const char *t = getenv("LIPC_TEST_HANDLE_FENCE");
  if (t && strcmp(t, "symmetric") == 0) return;
  long q = membarrier(MEMBARRIER_CMD_QUERY);
  if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
      membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
    lipc__hz_asymmetric = 1;
}
