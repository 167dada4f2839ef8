/* flock_here_linux.c - opening lock files (lipc_flock_open,
 * lipc_flock_from_fd) in the child of a fork(), where lipc's Go runtime
 * cannot run (host-runtimes.md F7, F20). A prefork worker (Python's
 * multiprocessing with the fork start method, gunicorn, celery) opens its
 * lock file itself: lipc.FileLock there, LuaIPC's ipc.filelock on a file
 * first locked in the child. Until this file that was LIPC_EFORKED.
 *
 * Everywhere else Go opens them (core/flock's Open and FromFd, through
 * core/fsutil.OpenRegular); this is the same procedure step for step, with
 * the same checks in the same order and the same errors and messages:
 * unknown flags, the access mode, O_CREAT with the mode (0: 0644, the
 * kernel applies the umask), O_CLOEXEC and O_NOCTTY, O_NONBLOCK so that a
 * FIFO never blocks the open (made blocking again after), only regular
 * files; from an fd, F_GETFL and a regular-file check, then classic locks
 * on the caller's fd or the file opened again through /proc/self/fd with
 * the same access. tests/c/test_fork_flock.c runs the same cases through
 * both and compares results, messages and files.
 *
 * The handle's object is a struct lipc_flock_c, as Go makes it, so every
 * lock call works on it unchanged; the slot's cobj is the same pointer,
 * which tells destroy (handles.c) that C opened it: lipc__here_free closes
 * the fd lipc opened (kinds_linux.c), lipc__free_c_obj frees the struct. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/flock/flock_linux.h"
#include "internal.h"

#define FILE_FLAGS (LIPC_FILE_READ | LIPC_FILE_WRITE | LIPC_FILE_CREATE | LIPC_FLOCK_WHOLE)
#define DEFAULT_MODE 0644

/* fsutil.OpenRegular: fd, or the error recorded. */
static int open_regular(const char *op, const char *path, int oflags, uint32_t mode, int *out) {
  int fd = open(path, oflags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    int e = errno;
    if (e == ENXIO || e == EISDIR) /* fsutil.notRegular */
      return lipc__fail_named(LIPC_EINVAL, e, op, path, "not a regular file: it is %s",
                              e == EISDIR ? "a directory" : "a FIFO or device with nothing at the other end");
    return lipc__fail_errno_named(op, path, e);
  }
  struct stat st;
  int fl;
  if (fstat(fd, &st) != 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
      ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)) {
    int e = errno;
    close(fd);
    return lipc__fail_errno_named(op, path, e);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return lipc__fail_named(LIPC_EINVAL, EINVAL, op, path, "not a regular file: it is %s",
                            lipc__file_type_name(st.st_mode));
  }
  *out = fd;
  return LIPC_OK;
}

/* flock.Open: the fd, or the error recorded. */
static int open_path(const char *path, int flags, uint32_t mode, int *fd) {
  const char *op = "flock_open";
  if (flags & ~FILE_FLAGS) /* Go's %#x of an int: a sign, then 0x */
    return lipc__fail_named(LIPC_EINVAL, EINVAL, op, path, "unknown flags %s%#llx", flags < 0 ? "-" : "",
                            flags < 0 ? -(unsigned long long)(long long)flags : (unsigned long long)flags);
  int o;
  switch (flags & (LIPC_FILE_READ | LIPC_FILE_WRITE)) {
    case LIPC_FILE_READ: o = O_RDONLY; break;
    case LIPC_FILE_WRITE: o = O_WRONLY; break;
    default: o = O_RDWR;
  }
  if (flags & LIPC_FILE_CREATE) o |= O_CREAT;
  return open_regular(op, path, o, mode ? mode : DEFAULT_MODE, fd);
}

/* flock.FromFd: the fd the handle locks through (fd itself for classic
 * locks), or the error recorded. */
static int open_fd(int fd, int kind, int *out) {
  const char *op = "flock_fd";
  char subject[32], proc[48];
  snprintf(subject, sizeof subject, "fd %d", fd);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) return lipc__fail_errno_named(op, subject, errno);
  struct stat st; /* fsutil.CheckRegularFd: reopening a FIFO would wait for its other end */
  if (fstat(fd, &st) != 0) return lipc__fail_errno_named(op, subject, errno);
  if (!S_ISREG(st.st_mode))
    return lipc__fail_named(LIPC_EINVAL, EINVAL, op, subject, "not a regular file: it is %s",
                            lipc__file_type_name(st.st_mode));
  if (kind == LIPC__FLOCK_CLASSIC) {
    *out = fd;
    return LIPC_OK;
  }
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return open_regular(op, proc, fl & O_ACCMODE, 0, out);
}

/* Closes what the handle would have closed (Go's Lock.Close). */
static void drop(struct lipc_flock_c *c) {
  if (!c->own) return;
  close(c->fd);
  lipc__flock_wake(c->wake);
}

int lipc__flock_open_here(const char *path, int flags, uint32_t mode, int fd, int kind, lipc_handle_t *h) {
  int cancel = lipc__cancel_off(); /* open and close are cancellation points (lipc.h: no lipc call is one) */
  int lfd = -1;
  int rc = path ? open_path(path, flags, mode, &lfd) : open_fd(fd, kind, &lfd);
  const char *subject = path ? path : "fd"; /* what Go's opFlockOpen names */
  struct lipc_flock_c *c = NULL;
  if (rc == LIPC_OK) {
    if (path) kind = flags & LIPC_FLOCK_WHOLE ? LIPC__FLOCK_WHOLE : LIPC__FLOCK_OFD;
    lipc__flock_wake_page_here(lfd); /* as newLock: the page first, then the file's words */
    c = calloc(1, sizeof *c);
    if (!c) {
      struct lipc_flock_c l = {.fd = lfd, .wake = lipc__flock_wake_of(lfd), .own = kind != LIPC__FLOCK_CLASSIC};
      drop(&l);
      rc = lipc__fail_named(LIPC_ENOMEM, ENOMEM, "flock_open", subject, "out of memory");
    } else {
      c->fd = lfd;
      c->kind = kind;
      c->wake = lipc__flock_wake_of(lfd);
      c->own = kind != LIPC__FLOCK_CLASSIC;
      atomic_store(&c->owner, getpid());
    }
  }
  if (c && (rc = lipc__handle_new_here(LIPC_KIND_FLOCK, c, c, h)) != LIPC_OK) { /* Go's register */
    char *msg = strdup(lipc_last_error());
    drop(c);
    free(c);
    rc = lipc__fail_named(rc, ENOMEM, "flock_open", subject, "%s", msg ? msg : "handle table full");
    free(msg);
  }
  lipc__cancel_restore(cancel);
  return rc;
}
