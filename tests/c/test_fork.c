/* test_fork.c - host fork() then lipc (host-runtimes.md F7, F20): in the
 * child everything that runs in C on an object it inherited keeps working
 * (semaphores, mutexes with the child as a fresh owner, events, shared
 * memory and mapped files, file locks that are the child's own, fd I/O,
 * close, and opening named objects and lock files, test_fork_open.c and
 * test_fork_flock.c); what needs the Go runtime (mapping files, spawning,
 * growing) and the
 * parent's process handles return LIPC_EFORKED at once, with a message
 * naming the way out; nothing hangs, and above all a child's calls never
 * hang the parent, also when the child came from a raw fork system call
 * (no atfork handlers) while the parent's threads were inside lipc. The
 * child runs under an alarm so a hang fails the test instead of hanging the
 * suite. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "seccomp_refuse.h"
#include "userns.h"
#include "lipc.h"

/* What the parent opened before forking. */
struct inherited {
  lipc_handle_t sem, mutex, event, shm, map, lock, proc, attr;
  int to_child[2], to_parent[2];
};

#define EXPECT(bit, cond)                                                          \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "child check %d failed: %s (%s)\n", bit, #cond, lipc_last_error()); \
      bad = 1;                                                                     \
    }                                                                              \
  } while (0)

static int child(const struct inherited *o) {
  alarm(10);
  int bad = 0, v = -1, od = -1;
  int64_t n = -1;
  void *addr = NULL;
  size_t done = 0;
  char buf[16] = "";
  /* in C on inherited objects: works */
  EXPECT(1, lipc_sem_post(o->sem) == 0 && lipc_sem_value(o->sem, &v) == 0 && v == 1);
  EXPECT(2, lipc_sem_wait(o->sem, 0) == 0 && lipc_sem_wait(o->sem, 10) == LIPC_ETIMEDOUT);
  EXPECT(3, lipc_sem_post_n(o->sem, 2) == 0 && lipc_sem_wait(o->sem, -1) == 0 && lipc_sem_wait(o->sem, 0) == 0);
  EXPECT(4, lipc_mutex_lock(o->mutex, 1000, &od) == 0 && od == 0 && lipc_mutex_unlock(o->mutex) == 0);
  EXPECT(5, lipc_event_set(o->event) == 0 && lipc_event_is_set(o->event, &v) == 0 && v == 1);
  EXPECT(6, lipc_event_wait(o->event, 0) == 0 && lipc_event_reset(o->event) == 0);
  EXPECT(7, lipc_shm_addr(o->shm, &addr, &n) == 0 && n == 4096 && strcmp(addr, "parent") == 0);
  if (addr) strcpy(addr, "child");
  EXPECT(8, lipc_mmap_addr(o->map, &addr, &n) == 0 && n == 4096 && strcmp(addr, "mapped") == 0);
  EXPECT(9, lipc_handle_kind(o->lock, &v) == 0 && v == LIPC_KIND_FLOCK);
  /* the child's lock is its own: the parent is told, and tries it */
  EXPECT(10, lipc_flock_lock(o->lock, 0, 10, 1, 1000) == 0);
  EXPECT(11, lipc_fd_write(o->to_parent[1], "L", 1, 1000, &done) == 0 && done == 1);
  EXPECT(12, lipc_fd_read(o->to_child[0], buf, 1, 5000, &done) == 0 && done == 1 && buf[0] == 'T');
  EXPECT(13, lipc_flock_unlock(o->lock, 0, 10) == 0);
  /* what needs Go, and the parent's processes: LIPC_EFORKED at once */
  lipc_handle_t h2, p2;
  EXPECT(20, lipc_mmap_open("/tmp/ctest-fork-never", LIPC_MMAP_WRITE, LIPC_MMAP_CREATE, 0, 0, 4096, &h2) ==
                 LIPC_EFORKED); /* (lock files open in C here: test_fork_flock.c) */
  EXPECT(21, strstr(lipc_last_error(), "mmap_open") && strstr(lipc_last_error(), "'spawn'"));
  EXPECT(22, lipc_diag(LIPC_DIAG_FP_SELFTEST, &n) == LIPC_EFORKED);
  EXPECT(23, lipc_proc_spawn(o->attr, &p2) == LIPC_EFORKED);
  EXPECT(24, lipc_shm_grow(o->shm, 8192) == LIPC_EFORKED);
  EXPECT(25, lipc_proc_wait(o->proc, 0, NULL, NULL) == LIPC_EFORKED);
  EXPECT(26, lipc_proc_kill(o->proc, 0, 0) == LIPC_EFORKED);
  EXPECT(27, strcmp(lipc_version(), LIPC_VERSION_STRING) == 0);
  EXPECT(28, lipc_wait_fds(NULL, NULL, NULL, 0, 1, NULL) == LIPC_ETIMEDOUT);
  /* close frees the child's copies, in C; the parent's stay open */
  const lipc_handle_t all[] = {o->sem, o->mutex, o->event, o->shm, o->map, o->lock, o->proc, o->attr};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) EXPECT(30 + (int)i, lipc_close(all[i]) == 0);
  EXPECT(40, lipc_sem_post(o->sem) == LIPC_EBADHANDLE);
  EXPECT(41, lipc_diag(LIPC_DIAG_LIVE_HANDLES, &n) == 0 && n == 0);
  _exit(bad);
}

static void open_all(struct inherited *o, const char *name, const char *path) {
  char n[96];
  memset(o, 0, sizeof *o);
  snprintf(n, sizeof n, "%s-m", name);
  CHECK(lipc_mutex_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, &o->mutex) == 0, "%s", lipc_last_error());
  snprintf(n, sizeof n, "%s-e", name);
  CHECK(lipc_event_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 1, 0, &o->event) == 0, "%s", lipc_last_error());
  snprintf(n, sizeof n, "%s-shm", name);
  CHECK(lipc_shm_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 4096, &o->shm) == 0, "%s", lipc_last_error());
  void *addr;
  CHECK(lipc_shm_addr(o->shm, &addr, NULL) == 0, "shm_addr");
  strcpy(addr, "parent");
  CHECK(lipc_mmap_open(path, LIPC_MMAP_WRITE, LIPC_MMAP_CREATE | LIPC_MMAP_EXTEND, 0, 0, 4096, &o->map) == 0,
        "%s", lipc_last_error());
  CHECK(lipc_mmap_addr(o->map, &addr, NULL) == 0, "mmap_addr");
  strcpy(addr, "mapped");
  CHECK(lipc_flock_open(path, 0, 0, &o->lock) == 0, "%s", lipc_last_error());
  CHECK(lipc_spawnattr_new(&o->attr) == 0 && lipc_spawnattr_arg(o->attr, "/bin/sleep") == 0 &&
            lipc_spawnattr_arg(o->attr, "30") == 0 && lipc_proc_spawn(o->attr, &o->proc) == 0,
        "%s", lipc_last_error());
  CHECK(pipe(o->to_child) == 0 && pipe(o->to_parent) == 0, "pipes");
}

static void close_all(struct inherited *o) {
  int code = 0, sig = 0;
  CHECK(lipc_proc_kill(o->proc, 0, 0) == 0, "the parent's child still runs: %s", lipc_last_error());
  CHECK(lipc_proc_stop(o->proc, 1000, 0, &code, &sig) == 0 && sig == SIGTERM, "stop: %d %d", code, sig);
  const lipc_handle_t all[] = {o->mutex, o->event, o->shm, o->map, o->lock, o->proc, o->attr};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) CHECK(lipc_close(all[i]) == 0, "close %zu", i);
  close(o->to_child[0]), close(o->to_child[1]), close(o->to_parent[0]), close(o->to_parent[1]);
}

/* A host fork: the child works on what it inherited, the parent after it. */
static void fork_child_works(lipc_handle_t sem, const char *name, const char *path) {
  struct inherited o;
  open_all(&o, name, path);
  o.sem = sem;
  pid_t pid = fork();
  if (pid == 0) child(&o);
  char c = 0;
  CHECK(read(o.to_parent[0], &c, 1) == 1 && c == 'L', "the child did not take its lock");
  CHECK(lipc_flock_lock(o.lock, 0, 10, 1, 0) == LIPC_EAGAIN, "the child's lock did not exclude the "
        "parent: they share one lock (%s)", lipc_last_error());
  CHECK(write(o.to_child[1], "T", 1) == 1, "tell the child");
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x (a failed check, or killed by "
        "SIGALRM = hang)", st);
  CHECK(lipc_flock_lock(o.lock, 0, 10, 1, 0) == 0 && lipc_flock_unlock(o.lock, 0, 10) == 0,
        "the parent's lock after the child: %s", lipc_last_error());
  void *addr = NULL;
  CHECK(lipc_shm_addr(o.shm, &addr, NULL) == 0 && strcmp(addr, "child") == 0, "shared memory after the child");
  int od = -1;
  CHECK(lipc_mutex_lock(o.mutex, 1000, &od) == 0 && od == 0 && lipc_mutex_unlock(o.mutex) == 0, "mutex");
  close_all(&o);
}

/* Parent threads busy inside lipc while the raw fork happens: one waiting
 * in C, one making Go calls (handed off or direct). */
static atomic_int stop;
static void *busy_go(void *arg) {
  (void)arg;
  int64_t v;
  while (!atomic_load(&stop)) lipc_diag(LIPC_DIAG_FP_SELFTEST, &v);
  return NULL;
}
static void *busy_wait(void *arg) {
  while (!atomic_load(&stop)) lipc_sem_wait(*(lipc_handle_t *)arg, 5);
  return NULL;
}

static int raw_child(lipc_handle_t h, lipc_handle_t a) {
  alarm(5);
  int bad = 0;
  lipc_handle_t h2;
  int64_t v;
  if (lipc_mmap_open("/tmp/ctest-rawfork", LIPC_MMAP_WRITE, LIPC_MMAP_CREATE, 0, 0, 4096, &h2) != LIPC_EFORKED)
    bad |= 1;
  if (!strstr(lipc_last_error(), "fork")) bad |= 2;
  /* opening by name runs in C: it works here too (test_fork_open.c) */
  char n[64];
  snprintf(n, sizeof n, "ctest-rawfork-%d", (int)getpid());
  if (lipc_sem_open(n, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 1, &h2) != 0 || lipc_sem_wait(h2, 0) != 0 ||
      lipc_close(h2) != 0)
    bad |= 8;
  if (lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) != LIPC_EFORKED) bad |= 4;
  lipc_handle_t p;
  if (lipc_proc_spawn(a, &p) != LIPC_EFORKED) bad |= 16;
  if (lipc_close(a) != 0) bad |= 32;
  if (lipc_close(h) != 0) bad |= 64; /* the child's copy; the parent's stays open */
  _exit(bad);
}

/* A child of a raw fork must not hang the parent, whatever it calls. */
static void raw_fork_leaves_parent_alone(lipc_handle_t h) {
  for (int mode = LIPC_CALL_DIRECT; mode <= LIPC_CALL_HANDOFF; mode++) {
    lipc_set_call_mode(mode);
    atomic_store(&stop, 0);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, busy_go, NULL);
    pthread_create(&t2, NULL, busy_wait, &h);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    lipc_handle_t attr;
    CHECK(lipc_spawnattr_new(&attr) == 0 && lipc_spawnattr_arg(attr, "/bin/true") == 0, "attr");
    pid_t pid = (pid_t)syscall(SYS_fork);
    if (pid == 0) raw_child(h, attr);
    lipc_close(attr);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "mode %d: raw-fork child status %#x (bits of failed "
          "checks, or killed by SIGALRM = hang)", mode, st);
    atomic_store(&stop, 1);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    int64_t v;
    alarm(10); /* the parent itself must not hang */
    CHECK(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0, "parent's Go calls after the raw fork");
    CHECK(lipc_sem_post(h) == 0 && lipc_sem_wait(h, 0) == 0, "parent's semaphore after the raw fork");
    lipc_handle_t a, p;
    int code = -1;
    CHECK(lipc_spawnattr_new(&a) == 0 && lipc_spawnattr_arg(a, "/bin/true") == 0 &&
              lipc_proc_spawn(a, &p) == 0 && lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0,
          "parent spawns after the raw fork: %s", lipc_last_error());
    lipc_close(p);
    lipc_close(a);
    alarm(0);
  }
}

/* A vfork child shares the parent's memory until it execs or exits, so
 * whatever lipc notes down in it, it notes in the parent. Calling lipc
 * there is outside POSIX's promise (a vfork child may only exec or _exit),
 * but a careless host does it, and it must not break the parent: lipc
 * used to take the child's other pid for a fork, and set its "forked" flag
 * in the shared memory, after which every call of the parent failed with
 * LIPC_EFORKED. And its lipc_close took the handle out of the parent's
 * table without what only the parent can do (Go's part, the child's
 * reaping, the fds, which the vfork child has copies of): the parent's
 * handles were gone, their fds and objects leaked, its child a zombie. */
static void vfork_child_leaves_parent_alone(void) {
  lipc_handle_t a, p, s;
  int code = -1, v = -1;
  int64_t pid = 0, again = 0;
  char name[64];
  snprintf(name, sizeof name, "ctest-vfork-%d", (int)getpid());
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &s) == 0, "%s", lipc_last_error());
  CHECK(lipc_spawnattr_new(&a) == 0 && lipc_spawnattr_arg(a, "/bin/true") == 0 && lipc_proc_spawn(a, &p) == 0,
        "spawn: %s", lipc_last_error());
  CHECK(lipc_proc_pid(p, &pid) == 0 && pid > 0, "pid: %s", lipc_last_error());
  volatile int child_rc = 99, close_rc[3] = {99, 99, 99};
  pid_t vf = vfork();
  if (vf == 0) {
    int64_t seen = 0;
    child_rc = lipc_proc_pid(p, &seen); /* whatever it returns, the parent must be unharmed */
    close_rc[0] = lipc_close(p);
    close_rc[1] = lipc_close(s);
    close_rc[2] = lipc_close(a);
    _exit(0);
  }
  CHECK(vf > 0, "vfork");
  int st = 0;
  CHECK(waitpid(vf, &st, 0) == vf && WIFEXITED(st), "vfork child status %#x", st);
  CHECK(child_rc == LIPC_EFORKED, "the vfork child's call on the parent's process handle: %d", child_rc);
  CHECK(close_rc[0] == LIPC_EFORKED && close_rc[1] == LIPC_EFORKED && close_rc[2] == LIPC_EFORKED,
        "the vfork child's closes: %d %d %d", close_rc[0], close_rc[1], close_rc[2]);
  CHECK(lipc_proc_pid(p, &again) == 0 && again == pid, "the parent's process handle after the vfork child: %s",
        lipc_last_error());
  CHECK(lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0, "wait: %s", lipc_last_error());
  CHECK(lipc_sem_post(s) == 0 && lipc_sem_value(s, &v) == 0 && v == 1, "the parent's semaphore: %s",
        lipc_last_error());
  CHECK(lipc_close(p) == 0 && lipc_close(s) == 0, "the parent closes: %s", lipc_last_error());
  lipc_handle_t p2;
  CHECK(lipc_proc_spawn(a, &p2) == 0 && lipc_proc_wait(p2, 10000, &code, NULL) == 0 && code == 0,
        "the parent spawns after the vfork child: %s", lipc_last_error());
  lipc_close(p2);
  CHECK(lipc_close(a) == 0, "the parent closes its attributes");
}

/* A flock(2) handle inherited through fork: a plain flock fd would share
 * the parent's lock (one open file description); lipc's child reopens the
 * file at its first lock, so its lock is its own and the parent's
 * excludes it until released. */
static void fork_flock_whole(const char *path, int raw) {
  lipc_handle_t l;
  int go[2], back[2];
  CHECK(lipc_flock_open(path, LIPC_FLOCK_WHOLE | LIPC_FILE_CREATE, 0, &l) == 0, "%s", lipc_last_error());
  CHECK(lipc_flock_lock(l, 0, 0, 1, 0) == 0 && pipe(go) == 0 && pipe(back) == 0, "%s", lipc_last_error());
  fflush(stdout);
  /* raw: a fork system call (no atfork handler), the lock the child's
   * first lipc call: the kernel's wiped page tells lipc. */
  pid_t pid = raw ? (pid_t)syscall(SYS_fork) : fork();
  if (pid == 0) {
    int bad = 0;
    char c;
    alarm(10);
    EXPECT(1, lipc_flock_lock(l, 0, 0, 1, 0) == LIPC_EAGAIN);
    EXPECT(2, write(back[1], "A", 1) == 1 && read(go[0], &c, 1) == 1);
    EXPECT(3, lipc_flock_lock(l, 0, 0, 1, 5000) == 0);
    _exit(bad);
  }
  char c = 0;
  CHECK(read(back[0], &c, 1) == 1, "the child tried");
  CHECK(lipc_flock_unlock(l, 0, 0) == 0 && write(go[1], "U", 1) == 1, "unlock");
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "raw %d: child status %#x", raw, st);
  CHECK(lipc_flock_lock(l, 0, 0, 1, 1000) == 0, "the child's lock went with it: %s", lipc_last_error());
  lipc_close(l);
  close(go[0]), close(go[1]), close(back[0]), close(back[1]);
}

/* The pages lipc marked MADV_WIPEONFORK (VmFlags "wf" in smaps) zeroed in
 * the parent itself, as by a host that gives memory it does not know back
 * with MADV_DONTNEED: the parent is no fork child. lipc took the zeroed
 * page for one at the next lock, after which every call of the parent that
 * needs Go failed with LIPC_EFORKED; and a vfork child's first call, before
 * the parent's next, set the forked flag in the parent's memory. Raw fork
 * children are told again after it (fork_flock_whole). Returns how many
 * mappings it zeroed. */
static int advise_canary(int advice);
static int wipe_canary(void) { return advise_canary(MADV_DONTNEED); }

static int advise_canary(int advice) {
  FILE *f = fopen("/proc/self/smaps", "re");
  CHECK(f != NULL, "smaps: %m");
  char line[512];
  unsigned long lo = 0, hi = 0;
  int wiped = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2) {
      lo = a, hi = b;
    } else if (strncmp(line, "VmFlags:", 8) == 0 && strstr(line, " wf") &&
               madvise((void *)lo, hi - lo, advice) == 0) {
      wiped++;
    }
  }
  if (f) fclose(f);
  return wiped;
}

static void parent_with_wiped_canary(const char *path) {
  if (wipe_canary() == 0) {
    printf("parent_with_wiped_canary: no MADV_WIPEONFORK page here: skipped\n");
    return;
  }
  lipc_handle_t l, a, p;
  int64_t v;
  int code = -1;
  volatile int child_rc = 99;
  pid_t vf = vfork();
  if (vf == 0) {
    child_rc = lipc_diag(LIPC_DIAG_FP_SELFTEST, &v);
    _exit(0);
  }
  int st = 0;
  CHECK(vf > 0 && waitpid(vf, &st, 0) == vf && child_rc == LIPC_EFORKED, "vfork child: %d", child_rc);
  CHECK(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0, "the parent's Go call after the vfork child: %s",
        lipc_last_error());
  wipe_canary();
  CHECK(lipc_flock_open(path, LIPC_FLOCK_WHOLE | LIPC_FILE_CREATE, 0, &l) == 0, "%s", lipc_last_error());
  wipe_canary();
  CHECK(lipc_flock_lock(l, 0, 0, 1, 0) == 0 && lipc_flock_unlock(l, 0, 0) == 0, "lock: %s", lipc_last_error());
  CHECK(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0, "the parent's Go call after its lock: %s", lipc_last_error());
  CHECK(lipc_spawnattr_new(&a) == 0 && lipc_spawnattr_arg(a, "/bin/true") == 0 && lipc_proc_spawn(a, &p) == 0 &&
            lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0,
        "the parent spawns: %s", lipc_last_error());
  lipc_close(p);
  lipc_close(a);
  lipc_close(l);
}

/* A host that marks memory it does not know MADV_DONTFORK, lipc's canary
 * page among it: a fork child has no such page, and lipc must not touch
 * it there (its atfork handler makes the child's pages anew). */
static void canary_not_inherited(void) {
  if (advise_canary(MADV_DONTFORK) == 0) {
    printf("canary_not_inherited: no MADV_WIPEONFORK page here: skipped\n");
    return;
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int64_t v;
    alarm(5);
    _exit(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == LIPC_EFORKED ? 0 : 1);
  }
  int st = 0;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "fork child without the canary page: status %#x (signal 11: lipc wrote to it)", st);
  advise_canary(MADV_DOFORK);
}

/* A fork child's first lock reopens the file with the handle's owner word
 * cleared; a fork right then, by another thread of that child, gave the
 * grandchild the cleared word, and its first lock waited for a switch that
 * no thread of it would ever finish: it spun forever. This test's open()
 * (as its access() above) holds the child's reopen until the grandchild
 * has been forked. */
static int reopen_held[2] = {-1, -1}, grandchild_forked[2] = {-1, -1};
static atomic_int proc_fd_opens; /* reopens of a lock's file (own_description) */

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
  va_end(ap);
  if (strncmp(path, "/proc/self/fd/", 14) == 0) atomic_fetch_add(&proc_fd_opens, 1);
  if (reopen_held[1] >= 0 && strncmp(path, "/proc/self/fd/", 14) == 0) {
    char c = 0;
    int w = reopen_held[1];
    reopen_held[1] = -1; /* once */
    if (write(w, &c, 1) != 1 || read(grandchild_forked[0], &c, 1) != 1) abort();
  }
  return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static lipc_handle_t held_lock;
static void *lock_in_child(void *arg) {
  (void)arg;
  return (void *)(intptr_t)lipc_flock_lock(held_lock, 0, 0, 1, 0);
}

static void fork_during_reopen(const char *path) {
  CHECK(lipc_flock_open(path, LIPC_FLOCK_WHOLE | LIPC_FILE_CREATE, 0, &held_lock) == 0, "%s", lipc_last_error());
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    if (pipe(reopen_held) != 0 || pipe(grandchild_forked) != 0) _exit(50);
    pthread_t t;
    char c;
    pthread_create(&t, NULL, lock_in_child, NULL);
    if (read(reopen_held[0], &c, 1) != 1) _exit(51); /* the thread is inside its reopen */
    pid_t g = fork();
    if (g == 0) {
      alarm(5);
      int rc = lipc_flock_lock(held_lock, 0, 0, 1, 0); /* its own description: free, or the child's: busy */
      _exit(rc == 0 || rc == LIPC_EAGAIN ? 0 : 52);
    }
    if (write(grandchild_forked[1], "", 1) != 1) _exit(53);
    void *rc;
    pthread_join(t, &rc);
    int st = 0;
    if (waitpid(g, &st, 0) != g) _exit(54);
    if (!WIFEXITED(st)) _exit(55); /* killed by SIGALRM: the grandchild's lock spun */
    /* The child's lock and the grandchild's are on descriptions of their
     * own: either may find the other's lock held. */
    int child_rc = (int)(intptr_t)rc;
    _exit(WEXITSTATUS(st) != 0 ? WEXITSTATUS(st) : child_rc != 0 && child_rc != LIPC_EAGAIN ? 56 : 0);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "fork during a fork child's reopen: status %#x (55: the grandchild's first lock hung)", st);
  lipc_close(held_lock);
}

/* A fork child whose process id is the one lipc was loaded with: a raw
 * clone into a new pid namespace from a namespace's init (a container's
 * entry point, pid 1, whose child is pid 1 too), or a reused pid. lipc
 * told a fork child by its pid alone where the canary was wiped, and let
 * this one into Go, where it hung. Run as pid 1 of a new pid namespace
 * (root, or a user namespace); skipped where neither can be made. */
static int pid1_case(void) {
  if (getpid() != 1) return 78;
  pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
  if (c < 0) return 77;
  if (c == 0) {
    int64_t v;
    int rc = getpid() == 1 ? lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) : 99; /* pid 1 ignores SIGALRM: see below */
    _exit(rc == LIPC_EFORKED ? 0 : 1);
  }
  int st = 0;
  for (int i = 0; i < 1000 && waitpid(c, &st, WNOHANG) == 0; i++) {
    struct timespec t = {0, 10 * 1000 * 1000};
    nanosleep(&t, NULL);
  }
  if (waitpid(c, &st, WNOHANG) == 0) {
    kill(c, SIGKILL);
    waitpid(c, &st, 0);
    return 2; /* it hung in Go */
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void fork_child_with_the_loaders_pid(const char *argv0) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare_as_root(CLONE_NEWPID) < 0) _exit(77);
    pid_t init = fork();
    if (init == 0) {
      execl("/proc/self/exe", argv0, "pid1", (char *)NULL);
      _exit(127);
    }
    int st = 0;
    if (init < 0 || waitpid(init, &st, 0) != init) _exit(76);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 75);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st), "pid namespace: status %#x", st);
  if (WEXITSTATUS(st) == 77)
    printf("fork child with the loader's pid: no pid namespace here: skipped\n");
  else
    CHECK(WEXITSTATUS(st) == 0, "a fork child with the loader's pid (pid 1 in a new pid namespace): %d "
          "(2: it entered Go and hung)", WEXITSTATUS(st));
}

/* A vfork child of a fork child shares that fork child's memory, so its
 * calls must act as the fork child's own, as in a vfork child of the
 * loading process. lipc took it for a fork child of its own (the forked
 * flag it shares): its lock reopened the file and marked the handle its
 * own, so the fork child's next lock reopened the file again, dropping the
 * lock it held meanwhile; and its lipc_close took the fork child's handle.
 * proc_fd_opens counts the reopens (open() above). */
static void vfork_child_of_a_fork_child(const char *path) {
  lipc_handle_t l;
  CHECK(lipc_flock_open(path, LIPC_FLOCK_WHOLE | LIPC_FILE_CREATE, 0, &l) == 0, "%s", lipc_last_error());
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int bad = 0;
    alarm(10);
    EXPECT(1, lipc_flock_lock(l, 0, 0, 1, 0) == 0);
    int before = atomic_load(&proc_fd_opens);
    volatile int lock_rc = 99, close_rc = 99;
    pid_t v = vfork();
    if (v == 0) {
      lock_rc = lipc_flock_lock(l, 0, 0, 1, 0);
      close_rc = lipc_close(l);
      _exit(0);
    }
    int st = 0;
    EXPECT(2, v > 0 && waitpid(v, &st, 0) == v);
    EXPECT(3, lock_rc == 0 && close_rc == LIPC_EFORKED);
    EXPECT(4, lipc_flock_lock(l, 0, 0, 1, 0) == 0 && lipc_flock_unlock(l, 0, 0) == 0);
    EXPECT(5, atomic_load(&proc_fd_opens) == before); /* the fork child's description all along */
    _exit(bad);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child status %#x", st);
  lipc_close(l);
}

/* A fork while another thread is in a spawn's preparation: the child's
 * setters on those attributes work (lipc.h: spawn attributes keep working
 * after fork). The preparation held the attributes' lock across its file
 * system calls, and the child inherited it held: a setter there waited
 * forever. This test's access() (the executable's definition comes before
 * libc's for the library's calls) holds the preparation inside its PATH
 * search until the fork is over. */
static char held_dir[96];
static int in_search[2] = {-1, -1}, fork_done[2] = {-1, -1};

int access(const char *path, int mode) {
  if (held_dir[0] && strncmp(path, held_dir, strlen(held_dir)) == 0 && in_search[1] >= 0) {
    char c = 0;
    if (write(in_search[1], &c, 1) != 1 || read(fork_done[0], &c, 1) != 1) abort();
  }
  return (int)syscall(SYS_faccessat, AT_FDCWD, path, mode);
}

static void *spawn_in_held_dir(void *arg) {
  lipc_handle_t p;
  int code = -1;
  if (lipc_proc_spawn(*(lipc_handle_t *)arg, &p) == 0) {
    lipc_proc_wait(p, 10000, &code, NULL);
    lipc_close(p);
  }
  return (void *)(intptr_t)code;
}

static void fork_during_preparation(void) {
  char prog[128];
  snprintf(held_dir, sizeof held_dir, "/tmp/ctest-fork-held-XXXXXX");
  CHECK(mkdtemp(held_dir) != NULL, "mkdtemp: %m");
  snprintf(prog, sizeof prog, "%s/true", held_dir);
  CHECK(symlink("/bin/true", prog) == 0, "setup: %m");
  CHECK(pipe(in_search) == 0 && pipe(fork_done) == 0, "pipes");
  lipc_handle_t a;
  CHECK(lipc_spawnattr_new(&a) == 0 && lipc_spawnattr_arg(a, "true") == 0 &&
            lipc_spawnattr_env_set(a, "PATH", held_dir) == 0, "attr");
  pthread_t t;
  pthread_create(&t, NULL, spawn_in_held_dir, &a);
  char c;
  CHECK(read(in_search[0], &c, 1) == 1, "the spawn is in its PATH search");
  pid_t pid = fork();
  if (pid == 0) {
    int bad = 0;
    alarm(5);
    EXPECT(1, lipc_spawnattr_env_set(a, "X", "1") == 0);
    EXPECT(2, lipc_spawnattr_set_cwd(a, "/") == 0);
    EXPECT(3, lipc_close(a) == 0);
    _exit(bad);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
        "child status %#x (killed by SIGALRM = a setter hung)", st);
  CHECK(write(fork_done[1], "", 1) == 1, "release the spawn");
  void *code;
  pthread_join(t, &code);
  CHECK((intptr_t)code == 0, "the parent's spawn: exit %d", (int)(intptr_t)code);
  lipc_close(a);
  unlink(prog);
  CHECK(rmdir(held_dir) == 0, "remove %s: %m", held_dir); /* a leftover would fail a later run's set-up */
  held_dir[0] = 0;
  close(in_search[0]), close(in_search[1]), close(fork_done[0]), close(fork_done[1]);
}

/* Where the kernel refuses MADV_WIPEONFORK (before Linux 4.14; sandboxes
 * that do not know it), lipc tells a fork child by its process id alone:
 * the raw fork and vfork cases again, in a process that loaded lipc under
 * a seccomp filter refusing that advice. */
static int refuse_wipeonfork(void) { return seccomp_refuse(SYS_madvise, 2, MADV_WIPEONFORK, 0, EINVAL); }

static int no_wipe_case(void) {
  void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED && madvise(page, 4096, MADV_WIPEONFORK) == -1 && errno == EINVAL,
        "the filter refuses MADV_WIPEONFORK");
  lipc_handle_t h;
  char name[64];
  snprintf(name, sizeof name, "ctest-fork-nowipe-%d", (int)getpid()); /* runs at once must not share it */
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &h) == 0, "%s", lipc_last_error());
  raw_fork_leaves_parent_alone(h);
  vfork_child_leaves_parent_alone();
  char path[96];
  snprintf(path, sizeof path, "/tmp/ctest-fork-nowipe-%d", (int)getpid());
  vfork_child_of_a_fork_child(path); /* the probe page alone tells */
  unlink(path);
  CHECK(lipc_close(h) == 0, "close");
  return check_summary();
}

static void without_wipeonfork(const char *argv0) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) { /* only the filter and exec here: lipc loads again after it */
    if (refuse_wipeonfork() != 0) _exit(77);
    execl("/proc/self/exe", argv0, "no-wipe", (char *)NULL);
    _exit(127);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
  if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
    printf("without MADV_WIPEONFORK: no seccomp here: skipped\n");
  else
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "without MADV_WIPEONFORK: status %#x", st);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "no-wipe") == 0) return no_wipe_case();
  if (argc == 2 && strcmp(argv[1], "pid1") == 0) return pid1_case();
  lipc_handle_t h;
  char name[64], path[96];
  snprintf(name, sizeof name, "ctest-fork-%d", (int)getpid());
  snprintf(path, sizeof path, "/tmp/ctest-fork-%d", (int)getpid());
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &h) == 0, "%s",
        lipc_last_error());
  /* Both modes: a fork while the Go servers sleep, and after direct calls. */
  for (int mode = LIPC_CALL_DIRECT; mode <= LIPC_CALL_HANDOFF; mode++) {
    lipc_set_call_mode(mode);
    int64_t v;
    CHECK(lipc_diag(LIPC_DIAG_FP_SELFTEST, &v) == 0, "parent works");
    fork_child_works(h, name, path);
    CHECK(lipc_sem_post(h) == 0 && lipc_sem_wait(h, 0) == 0, "parent still works");
  }
  fork_flock_whole(path, 0);
  fork_flock_whole(path, 1);
  parent_with_wiped_canary(path);
  canary_not_inherited();
  fork_flock_whole(path, 1);
  fork_during_reopen(path);
  vfork_child_of_a_fork_child(path);
  unlink(path);
  raw_fork_leaves_parent_alone(h);
  vfork_child_leaves_parent_alone();
  without_wipeonfork(argv[0]);
  fork_child_with_the_loaders_pid(argv[0]);
  fork_during_preparation();
  CHECK(lipc_close(h) == 0, "close");
  return check_summary();
}
