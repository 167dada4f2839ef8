/* proc_stubs_windows.c - processes, spawn attributes, fds and the environment on Windows: NOT YET BUILT. Every
 * entry point answers LIPC_ENOTSUP until the module's own files replace
 * this one. */
#include "internal.h"

int lipc_wait_fds(const int *fds, const int *events, int *revents, int nfds, int64_t timeout_ms, int *nready) {
  (void)fds;
  (void)events;
  (void)revents;
  (void)nfds;
  (void)timeout_ms;
  (void)nready;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "wait_fds: not yet available on Windows");
}

int lipc_fd_read(int fd, void *buf, size_t size, int64_t timeout_ms, size_t *nread) {
  (void)fd;
  (void)buf;
  (void)size;
  (void)timeout_ms;
  (void)nread;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "fd_read: not yet available on Windows");
}

int lipc_fd_write(int fd, const void *buf, size_t size, int64_t timeout_ms, size_t *nwritten) {
  (void)fd;
  (void)buf;
  (void)size;
  (void)timeout_ms;
  (void)nwritten;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "fd_write: not yet available on Windows");
}

int lipc_fd_close(int fd) {
  (void)fd;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "fd_close: not yet available on Windows");
}

int lipc_env_get(const char *name, char *buf, size_t size, size_t *needed) {
  (void)name;
  (void)buf;
  (void)size;
  (void)needed;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "env_get: not yet available on Windows");
}

int lipc_env_set(const char *name, const char *value) {
  (void)name;
  (void)value;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "env_set: not yet available on Windows");
}

int lipc_env_unset(const char *name) {
  (void)name;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "env_unset: not yet available on Windows");
}

int lipc_env_list(char **block, size_t *len) {
  (void)block;
  (void)len;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "env_list: not yet available on Windows");
}
