/* host_windows.c - the host duties on Windows: few. There is no fork and
 * no signal to keep from Go's threads, and every call runs on the caller's
 * thread (LIPC_CALL_HANDOFF is accepted and means the same: the hand-over
 * exists on Linux for hosts whose threads must not run Go, and none of
 * those runs on Windows). */
#include <stdlib.h>

#include "internal.h"

atomic_int lipc__call_mode = LIPC_CALL_DIRECT;
atomic_long lipc__threads_wrapped;
atomic_long lipc__stack_lookups;
int lipc__go_signals_blocked; /* no signals: 0 */

int lipc__in_fork_child(void) { return 0; }

/* The runtime holds handles here, not C-runtime fds: none to name. */
int lipc_runtime_fds(int *fds, size_t cap, size_t *n) {
  if (!n) return lipc__fail(LIPC_EINVAL, 0, "runtime_fds: n must not be NULL");
  if (!fds && cap > 0) return lipc__fail(LIPC_EINVAL, 0, "runtime_fds: fds is NULL but cap is %zu", cap);
  *n = 0;
  return LIPC_OK;
}
int64_t lipc__host_nofile(void) { return -1; } /* no such limit */

uint64_t lipc__load_noise(void) {
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  FILETIME ft;
  GetSystemTimeAsFileTime(&ft);
  return (uint64_t)now.QuadPart ^ ((uint64_t)ft.dwHighDateTime << 32 | ft.dwLowDateTime) ^
         ((uint64_t)GetCurrentProcessId() << 40);
}

int lipc_set_call_mode(int mode) {
  if (mode != LIPC_CALL_DIRECT && mode != LIPC_CALL_HANDOFF)
    return lipc__fail(LIPC_EINVAL, 0, "set_call_mode: unknown mode %d", mode);
  atomic_store(&lipc__call_mode, mode);
  return LIPC_OK;
}

int lipc__call(lipc_req *r) {
  r->rc = LIPC_OK;
  r->msg = NULL;
  lipcgo_dispatch(r, 0);
  if (r->rc != LIPC_OK) {
    if (r->quiet)
      free(r->msg);
    else
      lipc__fail_take(r->rc, r->err, r->msg);
    r->msg = NULL;
  }
  return r->rc;
}

int lipc__in_vfork_child(void) { return 0; } /* no vfork either */
