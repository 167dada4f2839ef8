/* fdio.c - reading and writing pipe fds with timeouts, in C on the
 * caller's thread. Writes never raise SIGPIPE: a closed reading end is an
 * error code, as a library must not kill its host. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* write() with SIGPIPE blocked for this thread; a SIGPIPE this write caused
 * is consumed, one that was already pending is left alone. Afterwards only
 * SIGPIPE is unblocked, never the whole mask set back: a host's handler that
 * ran during the write may have blocked signals on purpose (SBCL, deferring
 * a SIGCHLD until the call is back in Lisp, blocks every deferrable signal;
 * unblocked, the next SIGCHLD killed the image: test_host_mask.c). */
long lipc__write_nosigpipe(int fd, const void *buf, size_t n) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t w = write(fd, buf, n);
  int e = errno;
  if (w < 0 && e == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  if (!sigismember(&old, SIGPIPE)) pthread_sigmask(SIG_UNBLOCK, &pipe_set, NULL);
  errno = e;
  return w;
}

static int wait_ready(int fd, short ev, struct timespec dl, int64_t timeout_ms, const char *what) {
  struct pollfd pfd = {.fd = fd, .events = ev};
  struct timespec rem;
  int n = ppoll(&pfd, 1, lipc__remaining(dl, &rem), NULL);
  if (n > 0) return LIPC_OK;
  if (n == 0)
    return lipc__fail(LIPC_ETIMEDOUT, ETIMEDOUT, "%s: fd %d not ready after %lld ms", what, fd,
                      (long long)timeout_ms);
  if (errno == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "%s: interrupted by a signal", what);
  return lipc__fail(lipc__code_from_errno(errno), errno, "%s: poll fd %d", what, fd);
}

/* 1 if fd is in blocking mode, 0 if not, -1 with errno if it is not open. */
static int is_blocking(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : !(fl & O_NONBLOCK);
}

/* How much one write to blocking fd may take without blocking, once poll
 * said POLLOUT: PIPE_BUF, all that POLLOUT promises (a pipe has room for one
 * more page then; the bytes it has queued say nothing of how many of its
 * pages they fill), or anything for a regular file, which never waits for
 * a reader. */
static size_t write_room(int fd) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) return SSIZE_MAX;
  return PIPE_BUF;
}

/* A size above SSIZE_MAX cannot be a buffer's: most likely a negative
 * length converted to size_t. read and write would treat it as a promise
 * about the memory at buf. */
static int check_size(size_t size, const char *what) {
  if (size > SSIZE_MAX)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: size %zu is above SSIZE_MAX (a negative length?)", what, size);
  return LIPC_OK;
}

/* ppoll, read, write, close and sigtimedwait are cancellation points; no
 * lipc call is one (lipc.h): a write cut short there would lose the count
 * of what it had written. */
static int fd_read(int fd, void *buf, size_t size, int64_t timeout_ms, size_t *nread);
static int fd_write(int fd, const void *buf, size_t size, int64_t timeout_ms, size_t *nwritten);

int lipc_fd_read(int fd, void *buf, size_t size, int64_t timeout_ms, size_t *nread) {
  return LIPC_NO_CANCEL(fd_read(fd, buf, size, timeout_ms, nread));
}

int lipc_fd_write(int fd, const void *buf, size_t size, int64_t timeout_ms, size_t *nwritten) {
  return LIPC_NO_CANCEL(fd_write(fd, buf, size, timeout_ms, nwritten));
}

static int fd_read(int fd, void *buf, size_t size, int64_t timeout_ms, size_t *nread) {
  if (!buf && size > 0) return lipc__fail(LIPC_EINVAL, EINVAL, "fd_read: buf must not be NULL");
  if (check_size(size, "fd_read") != LIPC_OK) return LIPC_EINVAL;
  struct timespec dl = lipc__deadline(timeout_ms);
  int blocking = is_blocking(fd);
  if (blocking < 0) return lipc__fail(lipc__code_from_errno(errno), errno, "fd_read: fd %d", fd);
  for (;;) {
    /* A blocking fd: wait in ppoll first, which keeps the deadline and,
     * unlike read, is never restarted after a signal handler (SA_RESTART or
     * not); the read then returns what is there. A non-blocking fd: try
     * first, as on a busy pipe the data is there and poll is wasted. */
    if (blocking) {
      int rc = wait_ready(fd, POLLIN, dl, timeout_ms, "fd_read");
      if (rc != LIPC_OK) return rc;
    }
    ssize_t r = read(fd, buf, size);
    if (r >= 0) {
      if (nread) *nread = (size_t)r;
      return LIPC_OK;
    }
    if (errno == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "fd_read: interrupted by a signal");
    if (errno != EAGAIN)
      return lipc__fail(lipc__code_from_errno(errno), errno, "fd_read: fd %d", fd);
    if (!blocking) {
      int rc = wait_ready(fd, POLLIN, dl, timeout_ms, "fd_read");
      if (rc != LIPC_OK) return rc;
    }
  }
}

static int fd_write(int fd, const void *buf, size_t size, int64_t timeout_ms, size_t *nwritten) {
  if (nwritten) *nwritten = 0; /* "also on failure" */
  if (!buf && size > 0) return lipc__fail(LIPC_EINVAL, EINVAL, "fd_write: buf must not be NULL");
  if (check_size(size, "fd_write") != LIPC_OK) return LIPC_EINVAL;
  struct timespec dl = lipc__deadline(timeout_ms);
  int blocking = is_blocking(fd);
  if (blocking < 0) return lipc__fail(lipc__code_from_errno(errno), errno, "fd_write: fd %d", fd);
  size_t done = 0;
  int rc = LIPC_OK;
  while (done < size) {
    /* Wait for room in ppoll (deadline kept, never restarted after a
     * signal). On a blocking fd write no more than there is room for: a
     * larger write would block in the kernel past the deadline, and a signal
     * there ends it with a short count instead of EINTR. */
    rc = wait_ready(fd, POLLOUT, dl, timeout_ms, "fd_write");
    if (rc != LIPC_OK) break;
    size_t n = size - done;
    if (blocking) {
      size_t room = write_room(fd);
      if (n > room) n = room;
    }
    ssize_t w = lipc__write_nosigpipe(fd, (const char *)buf + done, n);
    if (w >= 0) {
      done += (size_t)w;
    } else if (errno == EPIPE) {
      rc = lipc__fail(LIPC_ECLOSED, EPIPE, "fd_write: fd %d: the reading end is closed", fd);
      break;
    } else if (errno == EINTR) {
      rc = lipc__fail(LIPC_EINTR, EINTR, "fd_write: interrupted by a signal");
      break;
    } else if (errno != EAGAIN) {
      rc = lipc__fail(lipc__code_from_errno(errno), errno, "fd_write: fd %d", fd);
      break;
    }
  }
  if (nwritten) *nwritten = done;
  return rc;
}

int lipc_fd_close(int fd) {
  /* Cancelled inside close, the fd would be closed and the call said to
   * have never returned. */
  if (LIPC_NO_CANCEL(close(fd)) == 0) return LIPC_OK;
  return lipc__fail(lipc__code_from_errno(errno), errno, "fd_close: fd %d", fd);
}
