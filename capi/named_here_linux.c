/* named_here_linux.c - opening and unlinking semaphores, shared memory,
 * mutexes and events in the child of a fork(), where lipc's Go runtime
 * cannot run (host-runtimes.md F7, F20). A prefork worker (Python's
 * multiprocessing with its default start method up to 3.13, gunicorn,
 * celery, uWSGI) is handed a name and opens the object itself: that worked
 * with posix_ipc and multiprocessing.shared_memory, and failed with lipc
 * (LIPC_EFORKED) until this file.
 *
 * Everywhere else Go opens these objects (core/shmobj and the kinds' Open);
 * this is the same procedure step for step, with the same checks in the
 * same order and the same errors and messages: the name rule (names.c),
 * the flags and the mode, the umask (applied by the kernel at the create),
 * never through a symbolic link (O_NOFOLLOW), a FIFO planted under the name
 * never blocks (O_NONBLOCK) and, like any special file, is refused, another
 * user's object is refused unless LIPC_TRUST_FOREIGN, a wrong size or
 * contents the kind's check rejects are LIPC_EINVAL, a new object is made in
 * a temporary file and linked into place (never overwritten, never seen
 * half made). tests/c/test_fork_open.c runs the same cases through both
 * and compares results and messages; the adversarial suite's names and
 * permissions attacks run in a fork child too (ADV_IN_FORK_CHILD).
 *
 * The handle holds a record of what was opened (struct here_obj, the slot's
 * cobj); lipc_close frees it in C (lipc__named_here_free). What the calls
 * use is what Go's handles give them: the mapping of a semaphore, mutex or
 * event, a struct lipc_view for shared memory. Growing or refreshing
 * shared memory still needs Go: LIPC_EFORKED here. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../core/event/event_linux.h"
#include "../core/flock/flock_linux.h"
#include "../core/mutex/mutex_linux.h"
#include "../core/sem/sem_linux.h"
#include "internal.h"

#define DIR "/dev/shm/"
#define DEFAULT_MODE 0600
#define SHM_MAX (INT64_C(1) << 46) /* core/shm's limit on a size asked for */
#define MUTEX_SIZE 64              /* core/mutex's size */

/* What kind of object to open (core/shmobj.Spec). size 0: shared memory,
 * mapped whole, its fd kept (as Go keeps it, for a grow). */
struct spec {
  int kind;
  const char *op, *unlink_op, *prefix, *noun;
  size_t size;
};

static const struct spec specs[] = {
    {LIPC_KIND_SEM, "sem_open", "sem_unlink", "sem.", "semaphore", LIPC_SEM_SIZE},
    {LIPC_KIND_SHM, "shm_open", "shm_unlink", "", "shared memory object", 0},
    {LIPC_KIND_MUTEX, "mutex_open", "mutex_unlink", "lipc.mutex.", "mutex", MUTEX_SIZE},
    {LIPC_KIND_EVENT, "event_open", "event_unlink", "lipc.event.", "event", LIPC_EVENT_SIZE},
};

static const struct spec *spec_of(int op) {
  switch (op) {
    case LIPC_OP_SEM_OPEN: case LIPC_OP_SEM_UNLINK: return &specs[0];
    case LIPC_OP_SHM_OPEN: case LIPC_OP_SHM_UNLINK: return &specs[1];
    case LIPC_OP_MUTEX_OPEN: case LIPC_OP_MUTEX_UNLINK: return &specs[2];
    case LIPC_OP_EVENT_OPEN: case LIPC_OP_EVENT_UNLINK: return &specs[3];
  }
  return NULL;
}

/* An open object (core/shmobj.Object). */
struct here_obj {
  int kind;
  void *mem;
  size_t len;
  int fd; /* shared memory's, else -1 */
  int created, unlink_on_close;
  pid_t pid; /* the process that opened it: only it removes the name at close */
  dev_t dev;
  ino_t ino;
  const char *name; /* in path, after the prefix */
  char path[sizeof DIR + 16 + LIPC_NAME_MAX];
};

/* Go's text for an errno (its syscall table: strerror's, the first letter
 * lower-cased unless the second is a capital too). lipc__os_error_desc, not
 * strerrordesc_np itself: the released library runs on glibcs before 2.32
 * (errors_linux.c). */
static const char *errno_text(int err, char *buf, size_t size) {
  const char *d = lipc__os_error_desc(err);
  if (!d) {
    snprintf(buf, size, "errno %d", err);
    return buf;
  }
  snprintf(buf, size, "%s", d);
  if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z') buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

/* lerr.Wrap(op, subject, errno). */
int lipc__fail_errno_named(const char *op, const char *subject, int err) {
  char buf[128];
  return lipc__fail_named(lipc__code_from_errno(err), err, op, subject, "%s", errno_text(err, buf, sizeof buf));
}

/* fsutil.TypeName. */
const char *lipc__file_type_name(mode_t m) {
  switch (m & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
  }
  return "of an unknown type";
}

/* The kind's check of an existing object's contents (NULL: valid). */
static const char *invalid(const struct spec *sp, const void *mem) {
  switch (sp->kind) {
    case LIPC_KIND_SEM: return lipc__sem_invalid(mem);
    case LIPC_KIND_MUTEX: return lipc__mutex_invalid(mem);
    case LIPC_KIND_EVENT: return lipc__event_invalid(mem);
  }
  return NULL;
}

/* The kind's Init of a new object: 0 or an errno. */
static int init(const struct spec *sp, void *mem, int64_t a, int64_t b) {
  switch (sp->kind) {
    case LIPC_KIND_SEM: lipc__sem_init(mem, (uint32_t)a); return 0;
    case LIPC_KIND_MUTEX: return lipc__mutex_init(mem);
    case LIPC_KIND_EVENT: lipc__event_init(mem, a != 0, b != 0); return 0;
  }
  return 0;
}

/* openError: a failed open of the name. */
static int open_error(const struct spec *sp, struct here_obj *o, int err) {
  switch (err) {
    case ELOOP:
      return lipc__fail_named(LIPC_EPERM, EACCES, sp->op, o->name,
                              "the name is a symbolic link; lipc does not follow it");
    case EISDIR:
      return lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, o->name, "%s is a directory, not a %s", o->path, sp->noun);
    case ENXIO: /* a socket (or a device without its driver) */
      return lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, o->name, "%s is not a regular file, not a %s", o->path,
                              sp->noun);
  }
  return lipc__fail_errno_named(sp->op, o->name, err);
}

/* mapFd and checkFile: maps the existing object open on fd, if it is safe
 * to use. fd is kept for shared memory, else closed. */
static int map_existing(const struct spec *sp, struct here_obj *o, int fd, int flags) {
  struct stat st;
  int rc = LIPC_OK;
  size_t size = sp->size;
  if (fstat(fd, &st) != 0) {
    rc = lipc__fail_errno_named(sp->op, o->name, errno);
  } else if (!S_ISREG(st.st_mode)) {
    rc = lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, o->name, "%s is %s, not a %s", o->path,
                          lipc__file_type_name(st.st_mode), sp->noun);
  } else if (st.st_uid != geteuid() && !(flags & LIPC_TRUST_FOREIGN)) {
    rc = lipc__fail_named(LIPC_EPERM, EPERM, sp->op, o->name,
                          "%s belongs to uid %u, not to this process's uid %u; lipc does not use another "
                          "user's object unless asked to trust it (LIPC_TRUST_FOREIGN)",
                          o->path, (unsigned)st.st_uid, (unsigned)geteuid());
  } else if (sp->size == 0 && st.st_size == 0) {
    rc = lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, o->name, "%s is empty: nothing to map", o->path);
  } else if (sp->size == 0) {
    size = (size_t)st.st_size; /* off_t fits size_t on the 64-bit systems lipc builds for */
  } else if (st.st_size != (off_t)sp->size) {
    rc = lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, o->name, "%s is not a valid %s: %lld bytes, a %s is %zu",
                          o->path, sp->noun, (long long)st.st_size, sp->noun, sp->size);
  }
  void *mem = MAP_FAILED;
  if (rc == LIPC_OK) {
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) rc = lipc__fail_errno_named(sp->op, o->name, errno);
  }
  const char *why = rc == LIPC_OK ? invalid(sp, mem) : NULL;
  if (why) {
    munmap(mem, size);
    rc = lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, o->name, "%s is not a valid %s: %s", o->path, sp->noun, why);
  }
  if (rc != LIPC_OK || sp->size != 0) {
    close(fd);
    fd = -1;
  }
  if (rc == LIPC_OK) o->mem = mem, o->len = size, o->fd = fd;
  return rc;
}

/* A number for a temporary name; Go draws it at random. Collisions only
 * cost another try (O_EXCL). */
static uint32_t draw(void) {
  static _Atomic uint64_t counter;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  uint64_t x = (uint64_t)t.tv_nsec ^ (uint64_t)t.tv_sec << 30 ^ atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ull;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  return (uint32_t)(x ^ x >> 29);
}

/* shmobj's allocate: the size; a kind that init writes gets its pages
 * now (a full /dev/shm: ENOSPC here, not a SIGBUS at the first write
 * through the mapping). Shared memory stays sparse. 0, or -1 and errno. */
static int allocate(const struct spec *sp, int fd, size_t size) {
  if (sp->size == 0) return ftruncate(fd, (off_t)size);
  static const char zeros[MUTEX_SIZE];
  _Static_assert(LIPC_SEM_SIZE <= MUTEX_SIZE && LIPC_EVENT_SIZE <= MUTEX_SIZE, "zeros too small");
  ssize_t n = pwrite(fd, zeros, size, 0);
  if (n == (ssize_t)size) return 0;
  if (n >= 0) errno = ENOSPC;
  return -1;
}

/* create: makes the object in a temporary file and links it into place.
 * 0 or an errno (EEXIST: the name exists now). */
static int create(const struct spec *sp, struct here_obj *o, uint32_t mode, size_t size, int64_t a, int64_t b) {
  char tmp[sizeof o->path + 48];
  int fd = -1, err = 0;
  for (int i = 0; i < 100; i++) {
    snprintf(tmp, sizeof tmp, "%s%slipc-tmp-%d-%u", DIR, sp->prefix, (int)getpid(), draw());
    /* The kernel applies the umask to mode here, atomically, as sem_open does. */
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    err = fd < 0 ? errno : 0;
    if (err != EEXIST) break;
  }
  if (fd < 0) return err;
  void *mem = MAP_FAILED;
  if (allocate(sp, fd, size) != 0) {
    err = errno;
  } else if ((mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    err = errno;
  } else if ((err = init(sp, mem, a, b)) == 0 && link(tmp, o->path) != 0) {
    err = errno;
  }
  if (err == 0) {
    struct stat st;
    if (fstat(fd, &st) == 0) o->dev = st.st_dev, o->ino = st.st_ino;
    o->mem = mem, o->len = size;
    if (sp->size == 0)
      o->fd = fd;
    else
      close(fd);
  } else {
    if (mem != MAP_FAILED) munmap(mem, size);
    close(fd);
  }
  unlink(tmp);
  return err;
}

/* The kinds' own checks of their arguments, before the name's. */
static int check_args(const struct spec *sp, const char *name, int flags, int64_t a) {
  if (sp->kind == LIPC_KIND_SEM && (uint64_t)a > LIPC_SEM_VALUE_MAX)
    return lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, name, "initial value %llu is above %u",
                            (unsigned long long)a, LIPC_SEM_VALUE_MAX);
  if (sp->kind == LIPC_KIND_SHM) {
    if (a < 0 || ((flags & LIPC_CREATE) && a == 0))
      return lipc__fail_named(LIPC_EINVAL, EINVAL, sp->op, name,
                              "size %lld: a new shared memory object needs a size above 0", (long long)a);
    if (a > SHM_MAX) return lipc__fail_named(LIPC_ERANGE, EFBIG, sp->op, name, "size %lld is too large", (long long)a);
  }
  return LIPC_OK;
}

/* shmobj.Open: the object in o, or the error recorded. */
static int open_object(const struct spec *sp, struct here_obj *o, const char *name, int flags, uint32_t mode,
                       int64_t a, int64_t b) {
  const char *clean;
  int rc = lipc__name_rule(sp->op, name, EINVAL, ENAMETOOLONG, &clean);
  if (rc == LIPC_OK) rc = lipc__open_args_rule(sp->op, name, flags, mode, EINVAL);
  if (rc != LIPC_OK) return rc;
  if (mode == 0) mode = DEFAULT_MODE;
  int n = snprintf(o->path, sizeof o->path, "%s%s", DIR, sp->prefix);
  snprintf(o->path + n, sizeof o->path - (size_t)n, "%s", clean);
  o->name = o->path + n;
  o->fd = -1;
  o->unlink_on_close = (flags & LIPC_UNLINK_ON_CLOSE) != 0;
  size_t size = sp->size ? sp->size : (size_t)a;
  for (int attempt = 0;; attempt++) {
    if (!(flags & LIPC_EXCL)) {
      /* O_NONBLOCK: a FIFO planted under the name must not block the
       * open (it is then refused as not a regular file). */
      int fd = open(o->path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (fd >= 0) return map_existing(sp, o, fd, flags);
      if (errno != ENOENT || !(flags & LIPC_CREATE)) return open_error(sp, o, errno);
    }
    int err = create(sp, o, mode, size, a, b);
    if (err == 0) {
      o->created = 1;
      return LIPC_OK;
    }
    /* Someone created it between our open and our link: open theirs. */
    if (err == EEXIST && !(flags & LIPC_EXCL) && attempt < 8) continue;
    return lipc__fail_errno_named(sp->op, name, err);
  }
}

int lipc__open_named_here(int op, const char *what, const char *name, int flags, uint32_t mode, int64_t a,
                          int64_t b, lipc_handle_t *h) {
  const struct spec *sp = spec_of(op);
  if (!sp) return lipc__fail(LIPC_EFORKED, 0, "%s: " LIPC_FORKED_HINT, what);
  int cancel = lipc__cancel_off(); /* open and close are cancellation points (lipc.h: no lipc call is one) */
  struct here_obj *o = calloc(1, sizeof *o);
  struct lipc_view *v = NULL;
  int rc = o ? LIPC_OK : lipc__fail(LIPC_ENOMEM, ENOMEM, "%s: out of memory", what);
  if (rc == LIPC_OK) rc = check_args(sp, name, flags, a);
  if (rc == LIPC_OK) rc = open_object(sp, o, name, flags, mode, a, b);
  if (rc == LIPC_OK) {
    o->kind = sp->kind;
    o->pid = getpid();
    void *obj = o->mem;
    if (sp->kind == LIPC_KIND_SHM) { /* what lipc_shm_addr reads, as Go's handles have */
      v = calloc(1, sizeof *v);
      if (v) {
        atomic_store(&v->addr, o->mem);
        atomic_store(&v->size, (int64_t)o->len);
      }
      obj = v;
    }
    if (!obj) {
      rc = lipc__fail(LIPC_ENOMEM, ENOMEM, "%s: out of memory", what);
    } else if ((rc = lipc__handle_new_here(sp->kind, obj, o, h)) != LIPC_OK) {
      char *msg = strdup(lipc_last_error());
      rc = lipc__fail_named(rc, ENOMEM, sp->op, name, "%s", msg ? msg : "handle table full");
      free(msg);
    }
    if (rc != LIPC_OK) {
      free(v);
      lipc__named_here_free(o); /* as Go's register closes the object: per LIPC_UNLINK_ON_CLOSE */
      o = NULL;
    }
  } else {
    free(o);
  }
  lipc__cancel_restore(cancel);
  return rc;
}

/* mutex.heldHere: the lock word's owner is a thread of this process. */
static int held_here(const void *mem) {
  uint32_t tid = __atomic_load_n((const uint32_t *)mem, __ATOMIC_RELAXED) & 0x3fffffff; /* FUTEX_TID_MASK */
  if (tid == 0) return 0;
  char p[48];
  struct stat st;
  snprintf(p, sizeof p, "/proc/self/task/%u", (unsigned)tid);
  return stat(p, &st) == 0;
}

void lipc__named_here_free(void *cobj) {
  struct here_obj *o = cobj;
  if (!o) return;
  int cancel = lipc__cancel_off();
  /* A mutex a thread of this process still holds stays mapped, as Go's
   * Close leaves it (glibc's robust list points into it). */
  if (o->mem && !(o->kind == LIPC_KIND_MUTEX && held_here(o->mem))) munmap(o->mem, o->len);
  if (o->fd >= 0) close(o->fd);
  /* The name goes only if it still names what this handle created, and
   * only in the process that created it, not in a child of its fork. */
  struct stat st;
  if (o->created && o->unlink_on_close && o->pid == getpid() && stat(o->path, &st) == 0 && st.st_dev == o->dev &&
      st.st_ino == o->ino)
    unlink(o->path);
  free(o);
  lipc__cancel_restore(cancel);
}

int lipc__unlink_named_here(int op, const char *what, const char *name) {
  const struct spec *sp = spec_of(op);
  if (!sp) return lipc__fail(LIPC_EFORKED, 0, "%s: " LIPC_FORKED_HINT, what);
  const char *clean;
  int rc = lipc__name_rule(sp->unlink_op, name, EINVAL, ENAMETOOLONG, &clean);
  if (rc != LIPC_OK) return rc;
  char path[sizeof DIR + 16 + LIPC_NAME_MAX];
  snprintf(path, sizeof path, "%s%s%s", DIR, sp->prefix, clean);
  return unlink(path) == 0 ? LIPC_OK : lipc__fail_errno_named(sp->unlink_op, name, errno);
}

/* core/flock's wakePage, in a fork child: the per-user page of lock
 * wake-up words, opened (created if missing, mode 0600) and checked as a
 * named object and installed for good, once per process; on failure lipc
 * only polls, as with Go. Nothing to do when the parent had installed one
 * (the child inherits it). A failure leaves its message as the thread's
 * last error, which the lock open's success then does not clear (lipc.h:
 * a success leaves the last error alone). Unlike Go's sync.Once, another
 * thread opening a lock file meanwhile does not wait for the page: its
 * handle has no wake-up words and only polls (slower to see an unlock,
 * never wrong), which spares a wait that a raw fork during the open would
 * make endless. */
void lipc__flock_wake_page_here(int fd) {
  static const struct spec wake = {LIPC_KIND_FLOCK, "flock_wake", "", "lipc.flockwake.", "lock wake-up page",
                                   LIPC__FLOCK_WAKE_BYTES};
  static atomic_int tried;
  if (lipc__flock_wake_of(fd) || atomic_exchange(&tried, 1)) return;
  struct here_obj o;
  char name[16];
  memset(&o, 0, sizeof o);
  snprintf(name, sizeof name, "%u", (unsigned)geteuid());
  if (open_object(&wake, &o, name, LIPC_CREATE, 0600, 0, 0) == LIPC_OK) lipc__flock_wake_page(o.mem);
}
