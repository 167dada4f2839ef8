/* hazard_windows.c - what hazard.c needs from Windows: pages from
 * VirtualAlloc, a fiber-local slot whose callback gives a record back when
 * its thread ends, and the closing side's fence: FlushProcessWriteBuffers,
 * which makes every thread of the process run a full barrier (Windows'
 * counterpart of membarrier(PRIVATE_EXPEDITED); always there since Vista). */
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "dllmain_windows.h"
#include "hazard.h"

static DWORD exit_slot = FLS_OUT_OF_INDEXES;

static VOID WINAPI on_thread_exit(PVOID p) {
  struct lipc_hz_rec *r = p;
  if (!r || lipc__process_exiting()) return; /* nothing to give back at exit */
  if (lipc__hz_mine == r) lipc__hz_mine = NULL;
  if (lipc__hz_fast == r) lipc__hz_fast = NULL;
  lipc__hz_give_back(r);
}

struct lipc_hz_rec *lipc__hz_os_pages(size_t *bytes) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  size_t page = si.dwPageSize;
  if (page < 2 * sizeof(struct lipc_hz_rec)) page = 2 * sizeof(struct lipc_hz_rec); /* one is skipped: hazard.c */
  void *v = VirtualAlloc(NULL, page, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
  if (!v) return NULL;
  *bytes = page;
  return v;
}

void lipc__hz_os_arm_exit(struct lipc_hz_rec *r) {
  if (exit_slot != FLS_OUT_OF_INDEXES) FlsSetValue(exit_slot, r);
}

int lipc__hz_heavy_fence(void) {
  atomic_thread_fence(memory_order_seq_cst);
  if (lipc__hz_asymmetric) FlushProcessWriteBuffers();
  atomic_thread_fence(memory_order_seq_cst);
  return 0;
}

__attribute__((constructor)) static void hazard_init(void) {
  exit_slot = FlsAlloc(on_thread_exit);
  lipc__hz_read_test_env();
  const char *t = getenv("LIPC_TEST_HANDLE_FENCE");
  lipc__hz_asymmetric = !(t && strcmp(t, "symmetric") == 0);
}
