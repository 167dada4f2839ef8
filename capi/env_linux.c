/* env.c - the process environment, read and written where the host and
 * its children see it: the C environ (host-runtimes.md F14, rule 6). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

extern char **environ;

static int check_name(const char *name, const char *what) {
  if (!name || !*name || strchr(name, '='))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: bad variable name \"%s\" (empty or with '=')", what,
                      name ? name : "(null)");
  return LIPC_OK;
}

int lipc_env_get(const char *name, char *buf, size_t size, size_t *needed) {
  int rc = check_name(name, "env_get");
  if (rc != LIPC_OK) return rc;
  const char *v = getenv(name);
  if (!v) return lipc__fail(LIPC_ENOENT, ENOENT, "env_get \"%s\": not set", name);
  return lipc__copy_out(v, buf, size, needed, "env_get");
}

int lipc_env_set(const char *name, const char *value) {
  int rc = check_name(name, "env_set");
  if (rc != LIPC_OK) return rc;
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "env_set \"%s\": value must not be NULL", name);
  if (setenv(name, value, 1) != 0)
    return lipc__fail(lipc__code_from_errno(errno), errno, "env_set \"%s\"", name);
  return LIPC_OK;
}

int lipc_env_unset(const char *name) {
  int rc = check_name(name, "env_unset");
  if (rc != LIPC_OK) return rc;
  unsetenv(name);
  return LIPC_OK;
}

int lipc_env_list(char **block, size_t *len) {
  if (!block || !len) return lipc__fail(LIPC_EINVAL, EINVAL, "env_list: block and len must not be NULL");
  size_t total = 0;
  for (char **e = environ; e && *e; e++) total += strlen(*e) + 1;
  char *b = malloc(total + 1);
  if (!b) return lipc__fail(LIPC_ENOMEM, ENOMEM, "env_list: out of memory");
  size_t off = 0;
  for (char **e = environ; e && *e; e++) {
    size_t n = strlen(*e) + 1;
    memcpy(b + off, *e, n);
    off += n;
  }
  b[off] = 0;
  *block = b;
  *len = total;
  return LIPC_OK;
}
