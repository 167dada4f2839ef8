/* api_base.c - version, handles and diagnostics: the entry points every
 * module shares. */
#define _GNU_SOURCE
#include <errno.h>

#include "internal.h"

const char *lipc_version(void) { return LIPC_VERSION_STRING; }

/* Both work in the child of a fork: a close there frees only what the
 * child holds (handles.c, destroy). */
int lipc_close(lipc_handle_t h) { return lipc__handle_close(h); }

int lipc_handle_kind(lipc_handle_t h, int *kind) {
  if (!kind) return lipc__fail(LIPC_EINVAL, EINVAL, "handle_kind: kind must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_ANY, &s);
  if (rc != LIPC_OK) return rc;
  *kind = lipc__slot_kind(s);
  lipc__handle_release(s);
  return LIPC_OK;
}

/* The figures read in C work after a fork; lipc__call refuses the rest. */
int lipc_diag(int what, int64_t *value) {
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "diag: value must not be NULL");
  switch (what) {
    case LIPC_DIAG_CALL_MODE: *value = atomic_load(&lipc__call_mode); return LIPC_OK;
    case LIPC_DIAG_HOST_NOFILE: *value = lipc__host_nofile(); return LIPC_OK;
    case LIPC_DIAG_THREADS_WRAPPED: *value = atomic_load(&lipc__threads_wrapped); return LIPC_OK;
    case LIPC_DIAG_STACK_LOOKUPS: *value = atomic_load(&lipc__stack_lookups); return LIPC_OK;
    case LIPC_DIAG_LIVE_HANDLES: *value = lipc__handles_live(); return LIPC_OK;
    case LIPC_DIAG_GO_SIGNALS_BLOCKED: *value = lipc__go_signals_blocked; return LIPC_OK;
    case LIPC_DIAG_FP_SELFTEST:
    case LIPC_DIAG_GO_THREAD:
    case LIPC_DIAG_GO_PANICS: {
      lipc_req r = {.op = LIPC_OP_DIAG};
      r.i[0] = what;
      int rc = lipc__call(&r);
      if (rc == LIPC_OK) *value = r.o[0];
      return rc;
    }
  }
  return lipc__fail(LIPC_EINVAL, EINVAL, "diag: unknown figure %d", what);
}
