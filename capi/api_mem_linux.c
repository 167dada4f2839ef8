/* api_mem.c - shared memory, mapped files and file locks. Opening, growing,
 * flushing and advising are Go's work (in a fork child, opening shared
 * memory and lock files is C's: named_here_linux.c, flock_here_linux.c);
 * the address and size are read in C, and locks are taken and released in C on the caller's thread (waits
 * sleep in C with deadlines and return LIPC_EINTR). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "../core/flock/flock_linux.h"
#include "internal.h"

/* The largest shared memory object lipc maps (core/shm's limit, 64 TiB):
 * far above any real use, far below what would overflow a size. */
#define SHM_MAX_SIZE ((int64_t)1 << 46)

/* Offsets and lengths are int64_t: negative ones are errors, and so is a
 * range whose end does not fit (offset + length > INT64_MAX), checked
 * before anything adds them. */
static int check_range(int64_t offset, int64_t length, const char *what) {
  if (offset < 0 || length < 0)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: negative offset %lld or length %lld", what, (long long)offset,
                      (long long)length);
  if (length > INT64_MAX - offset)
    return lipc__fail(LIPC_ERANGE, ERANGE, "%s: offset %lld + length %lld passes the largest file offset", what,
                      (long long)offset, (long long)length);
  return LIPC_OK;
}

int lipc_page_size(int64_t *size) {
  if (!size) return lipc__fail(LIPC_EINVAL, EINVAL, "page_size: size must not be NULL");
  *size = sysconf(_SC_PAGESIZE);
  return LIPC_OK;
}

/* Runs a Go operation on an open handle's Go object. */
static int go_on_handle(lipc_handle_t h, int kind, lipc_req *r) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, kind, &s);
  if (rc != LIPC_OK) return rc;
  r->i[0] = (int64_t)lipc__slot_goref(s);
  r->i[1] = (int64_t)(uintptr_t)lipc__slot_obj(s);
  rc = lipc__call(r);
  lipc__handle_release(s);
  return rc;
}

int lipc_shm_open(const char *name, int flags, uint32_t mode, int64_t size, lipc_handle_t *h) {
  return lipc__open_named(LIPC_OP_SHM_OPEN, "shm_open", name, flags, mode, size, 0, h);
}

int lipc_shm_addr(lipc_handle_t h, void **addr, int64_t *size) {
  return lipc__view_of(h, LIPC_KIND_SHM, "shm_addr", addr, size);
}

int lipc_shm_grow(lipc_handle_t h, int64_t size) {
  if (size <= 0) return lipc__fail(LIPC_EINVAL, EINVAL, "shm_grow: size %lld must be above 0", (long long)size);
  if (size > SHM_MAX_SIZE)
    return lipc__fail(LIPC_ERANGE, EFBIG, "shm_grow: size %lld is too large (at most %lld)", (long long)size,
                      (long long)SHM_MAX_SIZE);
  lipc_req r = {.op = LIPC_OP_SHM_RESIZE};
  r.i[2] = size;
  return go_on_handle(h, LIPC_KIND_SHM, &r);
}

int lipc_shm_refresh(lipc_handle_t h, int64_t *size) {
  lipc_req r = {.op = LIPC_OP_SHM_RESIZE};
  int rc = go_on_handle(h, LIPC_KIND_SHM, &r);
  if (rc == LIPC_OK && size) *size = r.o[0];
  return rc;
}

int lipc_shm_unlink(const char *name) {
  return lipc__unlink_named(LIPC_OP_SHM_UNLINK, "shm_unlink", name);
}

int lipc_mmap_open(const char *path, int access, int flags, uint32_t mode, int64_t offset, int64_t length,
                   lipc_handle_t *h) {
  if (!path || !h) return lipc__fail(LIPC_EINVAL, EINVAL, "mmap_open: path and h must not be NULL");
  int rc = check_range(offset, length, "mmap_open");
  if (rc != LIPC_OK) return rc;
  lipc_req r = {.op = LIPC_OP_MMAP_OPEN};
  r.s[0] = path;
  r.i[0] = access;
  r.i[1] = flags;
  r.i[2] = mode;
  r.i[3] = offset;
  r.i[4] = length;
  rc = lipc__call(&r);
  if (rc == LIPC_OK) *h = r.o[0];
  return rc;
}

int lipc_mmap_addr(lipc_handle_t h, void **addr, int64_t *size) {
  return lipc__view_of(h, LIPC_KIND_MMAP, "mmap_addr", addr, size);
}

static int mmap_sync(lipc_handle_t h, int64_t offset, int64_t length, int what, int advice) {
  const char *name = what == 2 ? "mmap_advise" : "mmap_flush";
  /* A range whose end passes INT64_MAX is outside any mapping (the
   * header's EINVAL); Go checks the rest against the mapping. */
  if (offset >= 0 && length > INT64_MAX - offset)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: range %lld+%lld is outside the mapping", name, (long long)offset,
                      (long long)length);
  lipc_req r = {.op = LIPC_OP_MMAP_SYNC};
  r.i[2] = offset;
  r.i[3] = length;
  r.i[4] = what;
  r.i[5] = advice;
  return go_on_handle(h, LIPC_KIND_MMAP, &r);
}

int lipc_mmap_flush(lipc_handle_t h, int64_t offset, int64_t length, int async) {
  return mmap_sync(h, offset, length, async ? 1 : 0, 0);
}

int lipc_mmap_advise(lipc_handle_t h, int64_t offset, int64_t length, int advice) {
  return mmap_sync(h, offset, length, 2, advice);
}

static int flock_open(const char *path, int flags, uint32_t mode, int fd, int kind, lipc_handle_t *h,
                      const char *what) {
  if (!h) return lipc__fail(LIPC_EINVAL, EINVAL, "%s: h must not be NULL", what);
  /* Go cannot run in a fork child; C opens there, the same way. Not in a
   * vfork child (named.c says why): LIPC_EFORKED there. */
  if (lipc__in_fork_child() && !lipc__in_vfork_child()) return lipc__flock_open_here(path, flags, mode, fd, kind, h);
  lipc_req r = {.op = LIPC_OP_FLOCK_OPEN};
  r.s[0] = path;
  r.i[0] = flags;
  r.i[1] = mode;
  r.i[2] = fd;
  r.i[3] = kind;
  int rc = lipc__call(&r);
  if (rc == LIPC_OK) *h = r.o[0];
  return rc;
}

int lipc_flock_open(const char *path, int flags, uint32_t mode, lipc_handle_t *h) {
  if (!path) return lipc__fail(LIPC_EINVAL, EINVAL, "flock_open: path must not be NULL");
  return flock_open(path, flags, mode, -1, 0, h, "flock_open");
}

int lipc_flock_from_fd(int fd, int kind, lipc_handle_t *h) {
  if (fd < 0) return lipc__fail(LIPC_EINVAL, EINVAL, "flock_from_fd: bad fd %d", fd);
  if (kind != 0 && kind != 1 && kind != LIPC_FLOCK_WHOLE)
    return lipc__fail(LIPC_EINVAL, EINVAL, "flock_from_fd: unknown kind %d (0, 1 or LIPC_FLOCK_WHOLE)", kind);
  return flock_open(NULL, 0, 0, fd, kind == LIPC_FLOCK_WHOLE ? LIPC__FLOCK_WHOLE : kind, h, "flock_from_fd");
}

/* A lock range: as check_range, except that it may take in the byte at
 * INT64_MAX itself (so may the kernel; length 0 means to the end). */
static int check_lock_range(int64_t offset, int64_t length, const char *what) {
  if (offset < 0 || length < 0) return check_range(offset, length, what);
  return check_range(offset, length > 0 ? length - 1 : 0, what);
}

/* flock(2) locks have no range: anything but 0, 0 is a mistake to report. */
static int check_whole(const struct lipc_flock_c *l, int64_t offset, int64_t length, const char *what) {
  if (l->kind != LIPC__FLOCK_WHOLE || (offset == 0 && length == 0)) return LIPC_OK;
  return lipc__fail(LIPC_EINVAL, EINVAL, "%s: flock locks are whole-file: offset and length must be 0, not %lld "
                    "and %lld", what, (long long)offset, (long long)length);
}

/* A lock handle that the child of a fork inherited shares the parent's open
 * file description, and with it the parent's locks (Linux OFD locks belong
 * to the description): parent and child, or two children, could never
 * exclude each other. So the child's first lock or unlock opens the file
 * again, through /proc/self/fd, onto the same fd number: from then on its
 * locks are its own. Classic (per-process) locks need nothing. Returns 0 or
 * an errno. */
static int own_description(struct lipc_flock_c *l) {
  if (l->kind == LIPC__FLOCK_CLASSIC || !lipc__forked_seen()) return 0;
  pid_t me = getpid(), was;
  if (!lipc__memory_is_mine(me)) return 0; /* a fork child's vfork child: the fork child's lock */
  /* While a thread switches it, the word holds minus its process id: a
   * fork by another thread then gives the child a switch that none of its
   * threads will finish, and the child takes it over. */
  for (;;) {
    was = atomic_load(&l->owner);
    if (was == me) return 0;
    if (was == -me) {
      sched_yield(); /* another thread of this child is switching it */
      continue;
    }
    if (atomic_compare_exchange_strong(&l->owner, &was, -me)) break;
  }
  /* open and close are cancellation points: cancelled there, the word
   * would say "switching" for ever and every later lock would spin. */
  int cancel = lipc__cancel_off();
  char path[48];
  snprintf(path, sizeof path, "/proc/self/fd/%d", l->fd);
  int fl = fcntl(l->fd, F_GETFL), err = 0;
  int nfd = fl < 0 ? -1 : open(path, (fl & O_ACCMODE) | O_CLOEXEC | O_NOCTTY);
  if (nfd < 0) err = errno;
  else if (dup3(nfd, l->fd, O_CLOEXEC) < 0) err = errno;
  if (nfd >= 0) close(nfd);
  atomic_store(&l->owner, err ? was : me);
  lipc__cancel_restore(cancel);
  return err;
}

/* No cancellation point (lipc.h). Only two paths reach one, and they turn
 * cancellation off themselves: a wait that naps without the wake-up page
 * (clock_nanosleep; below) and a fork child's reopen (own_description).
 * A try, a lock that is free and an unlock make no call that is one
 * (fcntl F_SETLK and F_OFD_SETLK, flock, futex through syscall): turning
 * cancellation off and on around them cost 21 ns of a 620 ns lock+unlock
 * pair (issue 12 asks that pair within 1.1x of the bare fcntl pair). */
int lipc_flock_lock(lipc_handle_t h, int64_t offset, int64_t length, int exclusive, int64_t timeout_ms) {
  int rc = check_lock_range(offset, length, "flock_lock");
  if (rc != LIPC_OK) return rc;
  lipc_slot *s;
  rc = lipc__handle_acquire(h, LIPC_KIND_FLOCK, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_flock_c *l = lipc__slot_obj(s);
  if ((rc = check_whole(l, offset, length, "flock_lock")) != LIPC_OK) {
    lipc__handle_release(s);
    return rc;
  }
  struct timespec dl;
  if (timeout_ms > 0) dl = lipc__deadline(timeout_ms); /* no clock reading otherwise */
  int e = own_description(l);
  if (e != 0) {
    rc = lipc__fail(lipc__code_from_errno(e), e, "flock_lock: reopening the file for this fork child");
    lipc__handle_release(s);
    return rc;
  }
  /* One try first; only a wait that must nap turns cancellation off. */
  e = lipc__flock_lock(l->fd, l->kind, exclusive, offset, length, NULL, 1, l->wake);
  if (e == EAGAIN && timeout_ms != 0)
    e = LIPC_NO_CANCEL(lipc__flock_lock(l->fd, l->kind, exclusive, offset, length, timeout_ms > 0 ? &dl : NULL,
                                        0, l->wake));
  switch (e) {
    case 0: rc = LIPC_OK; break;
    case EAGAIN: rc = lipc__fail(LIPC_EAGAIN, e, "flock_lock: locked elsewhere (try)"); break;
    case ETIMEDOUT:
      rc = lipc__fail(LIPC_ETIMEDOUT, e, "flock_lock: timed out after %lld ms", (long long)timeout_ms);
      break;
    case EINTR: rc = lipc__fail(LIPC_EINTR, e, "flock_lock: interrupted by a signal"); break;
    case EBADF:
      rc = lipc__fail(LIPC_EINVAL, e, "flock_lock: the file is not open for this lock (exclusive needs "
                      "write access, shared needs read)");
      break;
    default:
      rc = lipc__fail(lipc__code_from_errno(e), e, "flock_lock: %s failed",
                      l->kind == LIPC__FLOCK_WHOLE ? "flock" : "fcntl");
      break;
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_flock_unlock(lipc_handle_t h, int64_t offset, int64_t length) {
  int rc = check_lock_range(offset, length, "flock_unlock");
  if (rc != LIPC_OK) return rc;
  lipc_slot *s;
  rc = lipc__handle_acquire(h, LIPC_KIND_FLOCK, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_flock_c *l = lipc__slot_obj(s);
  if ((rc = check_whole(l, offset, length, "flock_unlock")) != LIPC_OK) {
    lipc__handle_release(s);
    return rc;
  }
  int e = own_description(l);
  if (e == 0) e = lipc__flock_unlock(l->fd, l->kind, offset, length, l->wake);
  if (e != 0)
    rc = lipc__fail(lipc__code_from_errno(e), e, "flock_unlock: %s failed",
                    l->kind == LIPC__FLOCK_WHOLE ? "flock" : "fcntl");
  lipc__handle_release(s);
  return rc;
}
