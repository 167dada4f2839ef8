/* view.c - lipc_shm_addr and lipc_mmap_addr read a handle's struct
 * lipc_view the same way on every system. */
#include "internal.h"

int lipc__view_of(lipc_handle_t h, int kind, const char *what, void **addr, int64_t *size) {
  if (!addr && !size) return lipc__fail(LIPC_EINVAL, LIPC_OS_EINVAL, "%s: addr and size are both NULL", what);
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, kind, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_view *v = lipc__slot_obj(s);
  if (addr) *addr = atomic_load(&v->addr);
  if (size) *size = atomic_load(&v->size);
  lipc__handle_release(s);
  return LIPC_OK;
}
