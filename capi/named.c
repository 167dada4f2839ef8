/* named.c - opening and unlinking any named object (semaphore, mutex,
 * event, shared memory): the argument checks and the request to Go are the
 * same for every kind; only the operation and two integers differ. */
#define _GNU_SOURCE
#include <errno.h>

#include "internal.h"

int lipc__open_named(int op, const char *what, const char *name, int flags, uint32_t mode, int64_t a,
                     int64_t b, lipc_handle_t *h) {
  if (!name || !h) return lipc__fail(LIPC_EINVAL, EINVAL, "%s: name and h must not be NULL", what);
#ifndef _WIN32
  /* Go cannot run in a fork child; C opens there, the same way. Not in a
   * vfork child: the handle would go into its parent's table (their memory
   * is one) with an fd only the child has; LIPC_EFORKED there, as before. */
  if (lipc__in_fork_child() && !lipc__in_vfork_child())
    return lipc__open_named_here(op, what, name, flags, mode, a, b, h);
#endif
  lipc_req r = {.op = op};
  r.s[0] = name;
  r.i[0] = flags;
  r.i[1] = mode;
  r.i[2] = a;
  r.i[3] = b;
  int rc = lipc__call(&r);
  if (rc == LIPC_OK) *h = r.o[0];
  return rc;
}

int lipc__unlink_named(int op, const char *what, const char *name) {
  if (!name) return lipc__fail(LIPC_EINVAL, EINVAL, "%s: name must not be NULL", what);
#ifndef _WIN32
  if (lipc__in_fork_child() && !lipc__in_vfork_child()) return lipc__unlink_named_here(op, what, name);
#endif
  lipc_req r = {.op = op};
  r.s[0] = name;
  return lipc__call(&r);
}
