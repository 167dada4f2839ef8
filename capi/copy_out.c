/* copy_out.c - handing a string back into a caller's buffer, as every
 * "get" entry point does (env, proc path, quoting). */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* Copies s (with its NUL) into buf if it fits. */
int lipc__copy_out(const char *s, char *buf, size_t size, size_t *needed, const char *what) {
  size_t n = strlen(s) + 1;
  if (needed) *needed = n;
  if (!buf || size < n)
    return lipc__fail(LIPC_ERANGE, ERANGE, "%s: buffer of %zu bytes, %zu needed", what, size, n);
  memcpy(buf, s, n);
  return LIPC_OK;
}
