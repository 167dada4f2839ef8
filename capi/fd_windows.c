/* fd_windows.c - lipc_fd_read, lipc_fd_write and lipc_fd_close on Windows,
 * where an "fd" is a HANDLE value (internal_windows.h). The work is
 * pipeio_windows.c's; these check the arguments as Linux does. */
#include "fd_windows.h"

/* Handle values are positive; negative ones are pseudo-handles (-1 is the
 * calling process, -2 its thread), which no caller means as an fd. */
static int check_fd(int fd, const char *what) {
  if (fd <= 0) return lipc__fail_win(ERROR_INVALID_HANDLE, "%s: fd %d is not a handle", what, fd);
  return LIPC_OK;
}

/* A size above what a signed size can hold cannot be a buffer's: most
 * likely a negative length converted to size_t (as on Linux). */
static int check_size(const void *buf, size_t size, const char *what) {
  if (!buf && size > 0) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: buf must not be NULL", what);
  if (size > (size_t)INTPTR_MAX)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: size %zu is above SSIZE_MAX (a negative length?)",
                      what, size);
  return LIPC_OK;
}

int lipc_fd_read(int fd, void *buf, size_t size, int64_t timeout_ms, size_t *nread) {
  size_t got = 0;
  int rc = check_size(buf, size, "fd_read");
  if (rc == LIPC_OK) rc = check_fd(fd, "fd_read");
  if (rc == LIPC_OK) rc = lipc__win_read(lipc__win_handle(fd), buf, size, timeout_ms, &got, "fd_read");
  if (rc == LIPC_OK && nread) *nread = got;
  return rc;
}

int lipc_fd_write(int fd, const void *buf, size_t size, int64_t timeout_ms, size_t *nwritten) {
  size_t put = 0;
  int rc = check_size(buf, size, "fd_write");
  if (rc == LIPC_OK) rc = check_fd(fd, "fd_write");
  if (rc == LIPC_OK) rc = lipc__win_write(lipc__win_handle(fd), buf, size, timeout_ms, &put, "fd_write");
  if (nwritten) *nwritten = put; /* also on failure */
  return rc;
}

int lipc_fd_close(int fd) {
  int rc = check_fd(fd, "fd_close");
  if (rc != LIPC_OK) return rc;
  if (!CloseHandle(lipc__win_handle(fd))) return lipc__fail_win(GetLastError(), "fd_close: fd %d", fd);
  return LIPC_OK;
}
