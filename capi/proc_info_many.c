/* proc_info_many.c - the checks lipc_proc_info_many makes before it looks
 * at the handle, the same on every system (the figures themselves are read
 * in api_proc_linux.c and proc_windows.c). */
#include "internal.h"

int lipc__info_many_args(const int *what, const int64_t *values, const int *rcs, int n) {
  if (n < 0) return lipc__fail(LIPC_EINVAL, LIPC_OS_EINVAL, "proc_info_many: n is %d, below 0", n);
  if (n > 0 && (!what || !values || !rcs))
    return lipc__fail(LIPC_EINVAL, LIPC_OS_EINVAL, "proc_info_many: %s must not be NULL when n is %d",
                      !what ? "what" : !values ? "values" : "rcs", n);
  return LIPC_OK;
}
