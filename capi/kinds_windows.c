/* kinds_windows.c - what closing and freeing a handle does, by kind: each
 * module's own functions (sync, mem, proc). */
#include "internal.h"

void lipc__forget_in_fork_child(int kind, void *obj) { (void)kind, (void)obj; } /* no fork */

void lipc__free_c_obj(int kind, void *obj) {
  if (!obj) return;
  switch (kind) {
    case LIPC_KIND_SEM:
    case LIPC_KIND_MUTEX:
    case LIPC_KIND_EVENT: lipc__sync_free(kind, obj); break;
    case LIPC_KIND_SHM:
    case LIPC_KIND_MMAP:
    case LIPC_KIND_FLOCK: lipc__mem_free(kind, obj); break;
    case LIPC_KIND_PROC:
    case LIPC_KIND_SPAWNATTR: lipc__proc_free_kind(kind, obj); break;
    default: break;
  }
}

void lipc__close_c_obj(int kind, void *obj, int in_use) {
  if (obj && (kind == LIPC_KIND_PROC || kind == LIPC_KIND_SPAWNATTR))
    lipc__proc_closing_kind(kind, obj, in_use);
}
