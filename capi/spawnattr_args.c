/* spawnattr_args.c - the argument checks and string storage that
 * lipc_spawnattr_* share on every system (see spawnattr_args.h): written
 * once so that the contract's errors cannot drift apart. */
#include "spawnattr_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lipc__sa_oom(const char *what) { return lipc__fail(LIPC_ENOMEM, LIPC_OS_ENOMEM, "%s: out of memory", what); }

int lipc__sa_push(char ***vec, int *n, int *cap, const char *s, const char *what) {
  if (*n + 1 >= *cap) {
    int ncap = *cap ? *cap * 2 : 8;
    char **nv = realloc(*vec, sizeof **vec * (size_t)ncap);
    if (!nv) return lipc__sa_oom(what);
    *vec = nv;
    *cap = ncap;
  }
  char *copy = strdup(s);
  if (!copy) return lipc__sa_oom(what);
  (*vec)[(*n)++] = copy;
  return LIPC_OK;
}

int lipc__sa_set_str(char **field, const char *s) {
  char *copy = NULL;
  if (s && *s && !(copy = strdup(s))) return lipc__sa_oom("spawnattr");
  free(*field);
  *field = copy;
  return LIPC_OK;
}

int lipc__sa_env_push(char ***vec, int *n, int *cap, char sign, const char *name, const char *value,
                      const char *what) {
  size_t len = 1 + strlen(name) + (value ? 1 + strlen(value) : 0) + 1;
  char *op = malloc(len);
  if (!op) return lipc__sa_oom(what);
  if (value)
    snprintf(op, len, "%c%s=%s", sign, name, value);
  else
    snprintf(op, len, "%c%s", sign, name);
  int rc = lipc__sa_push(vec, n, cap, op, what);
  free(op);
  return rc;
}

#define BAD(...) lipc__fail(LIPC_EINVAL, LIPC_OS_EINVAL, __VA_ARGS__)

int lipc__sa_check_env_name(const char *name, size_t eq_from, const char *what) {
  if (!name || !*name || strchr(name + eq_from, '='))
    return BAD("%s: bad variable name \"%s\" (empty or with '=')", what, name ? name : "(null)");
  return LIPC_OK;
}

int lipc__sa_check_umask(int mask) {
  if (mask < -1 || mask > 0777) return BAD("spawnattr_set_umask: %#o is not -1 or 0 to 0777", mask);
  return LIPC_OK;
}

int lipc__sa_check_pgroup(int64_t pgid) {
  if (pgid < -1 || pgid > INT32_MAX)
    return BAD("spawnattr_set_pgroup: %lld is not -1, 0 or a pgid", (long long)pgid);
  return LIPC_OK;
}

int lipc__sa_check_fd(int child_fd, int kind, int arg, const char *path, int flags) {
  const char *what = "spawnattr_set_fd";
  if (child_fd < 0 || child_fd > LIPC_SPAWN_MAX_CHILD_FD)
    return BAD("%s: child fd %d is outside 0..%d", what, child_fd, LIPC_SPAWN_MAX_CHILD_FD);
  if (kind < LIPC_FD_INHERIT || kind > LIPC_FD_CHILD) return BAD("%s: unknown kind %d", what, kind);
  if (kind == LIPC_FD_FILE && (!path || !*path)) return BAD("%s: a file needs a path", what);
  if ((kind == LIPC_FD_FILE || kind == LIPC_FD_NULL) && (flags & ~63))
    return BAD("%s: unknown file flags %#x", what, flags);
  if (kind == LIPC_FD_FILE && !(flags & (LIPC_FILE_READ | LIPC_FILE_WRITE | LIPC_FILE_APPEND)))
    return BAD("%s: file flags must say read, write or append", what);
  if (kind == LIPC_FD_CHILD && (arg < 0 || arg > LIPC_SPAWN_MAX_CHILD_FD || arg == child_fd))
    return BAD("%s: child fd %d cannot refer to child fd %d", what, child_fd, arg);
  return LIPC_OK;
}

int lipc__sa_check_rlimit(int resource, int64_t soft, int64_t hard) {
  const char *what = "spawnattr_set_rlimit";
  if (resource < LIPC_RLIMIT_CPU || resource > LIPC_RLIMIT_MEMLOCK) return BAD("%s: unknown resource %d", what, resource);
  if (soft < LIPC_RLIM_INFINITY || hard < LIPC_RLIM_INFINITY) return BAD("%s: negative limit", what);
  if (hard != LIPC_RLIM_INFINITY && (soft == LIPC_RLIM_INFINITY || soft > hard))
    return BAD("%s: soft limit above the hard limit", what);
  return LIPC_OK;
}

int lipc__sa_check_autokill(int sig) {
  if (sig < 0 || sig > 64) return BAD("spawnattr_set_autokill: %d is not a signal", sig);
  return LIPC_OK;
}

int lipc__sa_check_on_close(int policy, int64_t grace_ms) {
  if ((policy != LIPC_ON_CLOSE_LEAVE && policy != LIPC_ON_CLOSE_STOP) || grace_ms < 0)
    return BAD("spawnattr_set_on_close: bad policy %d or grace %lld", policy, (long long)grace_ms);
  return LIPC_OK;
}

int lipc__sa_check_id(int64_t id, const char *what) {
  if (id < -1 || id >= (int64_t)UINT32_MAX)
    return BAD("%s: %lld is not -1 or an id from 0 to %u", what, (long long)id, UINT32_MAX - 1);
  return LIPC_OK;
}

int lipc__sa_check_group(int64_t gid) {
  if (gid < 0 || gid >= (int64_t)UINT32_MAX) return BAD("spawnattr_groups_add: %lld is not a group id", (long long)gid);
  return LIPC_OK;
}

int lipc__sa_check_pipesize(int64_t bytes) {
  if (bytes > INT32_MAX) return BAD("spawnattr_set_pipesize: %lld bytes is too big", (long long)bytes);
  return LIPC_OK;
}

int lipc__sa_check_sigreset(int mode) {
  if (mode != LIPC_SIGRESET_CAUGHT && mode != LIPC_SIGRESET_ALL)
    return BAD("spawnattr_set_sigreset: unknown mode %d", mode);
  return LIPC_OK;
}

int lipc__sa_check_sigdefault(int sig) {
  if (sig < 1 || sig > 64) return BAD("spawnattr_set_sigdefault: %d is not a signal", sig);
  return LIPC_OK;
}
