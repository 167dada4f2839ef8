/* hazard_linux.c - what hazard.c needs from Linux: pages from mmap, a
 * pthread key whose destructor gives a record back when its thread ends,
 * the fork child's clean-up, and the closing side's fence:
 * membarrier(PRIVATE_EXPEDITED) when the kernel has it. */
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hazard.h"

static pthread_key_t exit_key;
static int exit_key_ok;

/* pthread key destructor: the thread is ending. A key destructor of another
 * library that runs later and calls lipc claims a record again. */
static void on_thread_exit(void *p) {
  struct lipc_hz_rec *r = p;
  if (lipc__hz_mine == r) lipc__hz_mine = NULL;
  if (lipc__hz_fast == r) lipc__hz_fast = NULL;
  lipc__hz_give_back(r);
}

struct lipc_hz_rec *lipc__hz_os_pages(size_t *bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (page < 2 * sizeof(struct lipc_hz_rec)) page = 2 * sizeof(struct lipc_hz_rec); /* one is skipped: hazard.c */
  void *v = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (v == MAP_FAILED) return NULL;
  *bytes = page;
  return v;
}

/* glibc's pthread_setspecific allocates nothing for the first 32 keys,
 * which is where a key made at load is: async-signal-safe in practice. */
void lipc__hz_os_arm_exit(struct lipc_hz_rec *r) {
  if (exit_key_ok) pthread_setspecific(exit_key, r);
}

static long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

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
  if (!lipc__hz_others_have_records()) return 0;
  /* Every running thread of this process executes a full memory barrier
   * (an interprocessor interrupt); a thread that is not running passed one
   * when it was switched out. */
  if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) return -1;
  atomic_thread_fence(memory_order_seq_cst);
  return 0;
}

/* In the child of a fork only the forking thread exists: every other
 * thread's announcements are of calls that will never return here. (The
 * forking thread's mutex facts stay: glibc keeps its robust list head where
 * it was, and the inline path reads the thread's new id from glibc at every
 * call, as it must for _Fork, which runs no handler like this one.) */
static void after_fork_child(void) {
  for (struct lipc_hz_rec *r = atomic_load(&lipc__hz_all); r; r = r->next)
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
  lipc__hz_read_test_env();
  /* LIPC_TEST_HANDLE_FENCE=symmetric: the fallback, so tests cover it. */
  const char *t = getenv("LIPC_TEST_HANDLE_FENCE");
  if (t && strcmp(t, "symmetric") == 0) return;
  long q = membarrier(MEMBARRIER_CMD_QUERY);
  if (q > 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
      membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
    lipc__hz_asymmetric = 1;
}
