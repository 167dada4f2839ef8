/* test_named.c - named objects that another user planted or that hold
 * garbage, the trust flag, the umask, lipc_sem_post_n, and auto-reset
 * events across processes (issue 9, items 2, 3, 9 and 10). Helper roles run
 * as this same program re-executed with a role argument. Parts that need
 * another user run only as root (they say so when skipped). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

#define NOBODY 65534
enum kind { SEM, MUTEX, EVENT, SHM };
static const char *kind_names[] = {"semaphore", "mutex", "event", "shared memory"};
static const char *prefixes[] = {"sem.", "lipc.mutex.", "lipc.event.", ""};

static char self_path[4096];
static void name_for(char *buf, size_t n, const char *what) {
  static int counter;
  snprintf(buf, n, "ctest-%d-%s-%d", (int)getpid(), what, counter++);
}
static void path_for(char *buf, size_t n, enum kind k, const char *name) {
  snprintf(buf, n, "/dev/shm/%s%s", prefixes[k], name);
}

/* Opens an object of any kind; shared memory is created with 4096 bytes. */
static int open_kind(enum kind k, const char *name, int flags, uint32_t mode, lipc_handle_t *h) {
  switch (k) {
    case SEM: return lipc_sem_open(name, flags, mode, 1, h);
    case MUTEX: return lipc_mutex_open(name, flags, mode, h);
    case EVENT: return lipc_event_open(name, flags, mode, 0, 1, h);
    case SHM: return lipc_shm_open(name, flags, mode, 4096, h);
  }
  return -1;
}

static int write_file(const char *path, const void *data, size_t n, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode);
  if (fd < 0) return -1;
  ssize_t w = write(fd, data, n);
  close(fd);
  return w == (ssize_t)n ? 0 : -1;
}

static int become_nobody(void) {
  return setgroups(0, NULL) == 0 && setresgid(NOBODY, NOBODY, NOBODY) == 0 &&
                 setresuid(NOBODY, NOBODY, NOBODY) == 0
             ? 0
             : -1;
}

/* Another user writes a file under the name, as an attacker would: a
 * forked child that becomes nobody (it makes no lipc call). */
static int plant_as_nobody(const char *path, const void *data, size_t n) {
  pid_t pid = fork();
  if (pid == 0) {
    umask(0);
    _exit(become_nobody() == 0 && write_file(path, data, n, 0666) == 0 ? 0 : 1);
  }
  int st;
  return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Runs this program with a role and its arguments; returns the pid. */
static pid_t start_role(const char *role, const char *a, const char *b) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(self_path, self_path, role, a, b, (char *)NULL);
    _exit(99);
  }
  return pid;
}
static int wait_role(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Is thread tid of process pid (0: this process) blocked in a futex wait
 * now? Read from /proc, so a test knows a waiter is really asleep before
 * it sets, without sleeping and hoping. */
static int asleep_in_futex(pid_t pid, pid_t tid) {
  char p[96], buf[256];
  if (pid)
    snprintf(p, sizeof p, "/proc/%d/syscall", (int)pid);
  else
    snprintf(p, sizeof p, "/proc/self/task/%d/syscall", (int)tid);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *end;
  long nr = strtol(buf, &end, 10);
  if (end == buf || nr != SYS_futex) return 0;
  strtoul(end, &end, 16);                   /* the address */
  unsigned long op = strtoul(end, NULL, 16); /* the operation */
  return (op & 127) == FUTEX_WAIT_BITSET;
}

static int wait_asleep(pid_t pid, pid_t tid) {
  for (int i = 0; i < 200000; i++) { /* up to ~20 s */
    if (asleep_in_futex(pid, tid)) return 1;
    if (i > 100) usleep(100);
  }
  return 0;
}

/* ---- roles ---- */

/* Creates a valid object of `kind` as user nobody, mode 0666. */
static int role_create_as_nobody(const char *kind, const char *name) {
  umask(0);
  if (become_nobody() != 0) return 2;
  lipc_handle_t h;
  int rc = open_kind((enum kind)atoi(kind), name, LIPC_CREATE | LIPC_EXCL, 0666, &h);
  if (rc != 0) {
    fprintf(stderr, "create as nobody: %s\n", lipc_last_error());
    return 1;
  }
  if (atoi(kind) == SHM) {
    void *addr;
    lipc_shm_addr(h, &addr, NULL);
    strcpy(addr, "made by nobody");
  }
  return 0;
}

/* One waiter process of the auto-reset rounds: per round, take a "go",
 * post "ready", wait for the event, post "done". */
static int role_event_waiter(const char *name, const char *rounds) {
  char n[128];
  lipc_handle_t e, go, ready, done;
  snprintf(n, sizeof n, "%s-go", name);
  if (lipc_sem_open(n, 0, 0, 0, &go) != 0) return 2;
  snprintf(n, sizeof n, "%s-ready", name);
  if (lipc_sem_open(n, 0, 0, 0, &ready) != 0) return 2;
  snprintf(n, sizeof n, "%s-done", name);
  if (lipc_sem_open(n, 0, 0, 0, &done) != 0) return 2;
  if (lipc_event_open(name, 0, 0, 0, 0, &e) != 0) return 2;
  for (int r = 0, nr = atoi(rounds); r < nr; r++) {
    if (lipc_sem_wait(go, 30000) != 0) return 3;
    if (lipc_sem_post(ready) != 0) return 3;
    int rc = lipc_event_wait(e, 20000);
    if (rc != 0) {
      fprintf(stderr, "event waiter %d, round %d: %s\n", (int)getpid(), r, lipc_last_error());
      return 4;
    }
    if (lipc_sem_post(done) != 0) return 3;
  }
  return 0;
}

/* Tries the event twice: the first try must succeed, the second not. */
static int role_event_try_twice(const char *name) {
  lipc_handle_t e;
  if (lipc_event_open(name, 0, 0, 0, 0, &e) != 0) return 2;
  if (lipc_event_wait(e, 0) != 0) return 3;
  if (lipc_event_wait(e, 0) != LIPC_EAGAIN) return 4;
  return 0;
}

/* glibc's own sem_wait, three times, on lipc's semaphore. */
static int role_glibc_wait3(const char *name) {
  char n[256];
  snprintf(n, sizeof n, "/%s", name);
  sem_t *s = sem_open(n, 0);
  if (s == SEM_FAILED) return 2;
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 20;
  for (int i = 0; i < 3; i++)
    if (sem_timedwait(s, &dl) != 0) return 3;
  return 0;
}

/* ---- planted and invalid objects ---- */

static void test_planted_by_another_user(void) {
  if (geteuid() != 0) {
    printf("skip: planted objects of another user (needs root to become nobody)\n");
    return;
  }
  unsigned char ff[64];
  memset(ff, 0xff, sizeof ff);
  for (int k = SEM; k <= SHM; k++) {
    char name[64], path[128];
    name_for(name, sizeof name, "planted");
    path_for(path, sizeof path, k, name);
    size_t size = k == SEM ? 32 : 64;
    CHECK(plant_as_nobody(path, ff, size) == 0, "plant %s", path);
    lipc_handle_t h = 0;
    /* The attack: a root process creates "x"; someone else made it first. */
    int rc = open_kind(k, name, LIPC_CREATE, 0, &h);
    CHECK(rc == LIPC_EPERM && strstr(lipc_last_error(), "uid 65534") &&
              strstr(lipc_last_error(), "LIPC_TRUST_FOREIGN"),
          "%s planted by nobody: rc %d %s", kind_names[k], rc, lipc_last_error());
    CHECK(open_kind(k, name, 0, 0, &h) == LIPC_EPERM, "%s planted, plain open", kind_names[k]);
    rc = open_kind(k, name, LIPC_TRUST_FOREIGN, 0, &h);
    if (k == SHM) {
      /* shared memory holds anyone's bytes: trusted, it opens */
      void *addr = NULL;
      int64_t n = 0;
      CHECK(rc == 0 && lipc_shm_addr(h, &addr, &n) == 0 && n == 64 && ((unsigned char *)addr)[0] == 0xff,
            "trusted planted shm: rc %d %s", rc, lipc_last_error());
      if (rc == 0) lipc_close(h);
    } else {
      CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), "is not a valid"),
            "trusted 0xFF %s: rc %d %s", kind_names[k], rc, lipc_last_error());
    }
    unsigned char back[64];
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0 && read(fd, back, sizeof back) == (ssize_t)size && !memcmp(back, ff, size),
          "a refused open changed the planted %s", kind_names[k]);
    if (fd >= 0) close(fd);
    unlink(path);
  }
}

struct image {
  const char *what;
  enum kind kind;
  unsigned char bytes[64];
  size_t size;
  const char *says;
};

static void put32(unsigned char *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }

static void test_invalid_contents(void) {
  static struct image imgs[16];
  int n = 0;
  struct image *i;
#define IMG(w, k, sz, s) (i = &imgs[n++], i->what = w, i->kind = k, i->size = sz, i->says = s, i->bytes)
  memset(IMG("sem of 0xFF", SEM, 32, "value is above"), 0xff, 32);
  put32(IMG("sem value 2^31", SEM, 32, "value is above"), 0, 1u << 31), put32(i->bytes, 8, 128);
  put32(IMG("sem 2^32-1 waiters", SEM, 32, "waiter count"), 4, 0xffffffffu), put32(i->bytes, 8, 128);
  put32(IMG("sem not shared", SEM, 32, "process-shared"), 0, 1);
  put32(IMG("sem private garbage", SEM, 32, "process-shared"), 8, 0xdeadbeef);
  put32(IMG("short sem", SEM, 10, "10 bytes"), 8, 128);
  put32(IMG("long sem", SEM, 33, "33 bytes"), 8, 128);
  IMG("empty sem", SEM, 0, "0 bytes");
  IMG("mutex of zeros", MUTEX, 64, "not that of a lipc mutex");
  memset(IMG("mutex of 0xFF", MUTEX, 64, "not that of a lipc mutex"), 0xff, 64);
  IMG("short mutex", MUTEX, 40, "40 bytes");
  IMG("event of zeros", EVENT, 64, "no lipc event header");
  put32(IMG("lipc 0.1.0 event", EVENT, 64, "lipc 0.1.0"), 8, 0x6c657631u);
  put32(IMG("event manual 2", EVENT, 64, "manual-reset flag"), 8, 0x6c657632u), put32(i->bytes, 12, 2);
  IMG("empty shm", SHM, 0, "empty");
#undef IMG
  for (int j = 0; j < n; j++) {
    char name[64], path[128];
    name_for(name, sizeof name, "bad");
    path_for(path, sizeof path, imgs[j].kind, name);
    write_file(path, imgs[j].bytes, imgs[j].size, 0600);
    lipc_handle_t h;
    int rc = open_kind(imgs[j].kind, name, LIPC_CREATE, 0, &h);
    CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), imgs[j].says), "%s: rc %d %s (want \"%s\")",
          imgs[j].what, rc, lipc_last_error(), imgs[j].says);
    if (rc == 0) lipc_close(h);
    rc = open_kind(imgs[j].kind, name, LIPC_TRUST_FOREIGN, 0, &h);
    CHECK(rc == LIPC_EINVAL, "%s, trusted: rc %d", imgs[j].what, rc);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (size_t)st.st_size == imgs[j].size, "%s: the file changed", imgs[j].what);
    unlink(path);
  }
}

static void test_not_a_regular_file(void) {
  for (int k = SEM; k <= SHM; k++) {
    char name[64], path[128];
    lipc_handle_t h;
    name_for(name, sizeof name, "dir");
    path_for(path, sizeof path, k, name);
    mkdir(path, 0700);
    int rc = open_kind(k, name, LIPC_CREATE, 0, &h);
    CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), "is a directory"), "directory as %s: %d %s",
          kind_names[k], rc, lipc_last_error());
    rmdir(path);
    mkfifo(path, 0600);
    rc = open_kind(k, name, LIPC_CREATE, 0, &h); /* must not block */
    CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), "FIFO"), "FIFO as %s: %d %s", kind_names[k], rc,
          lipc_last_error());
    unlink(path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) < sizeof a.sun_path) memcpy(a.sun_path, path, strlen(path) + 1);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0) perror("bind");
    rc = open_kind(k, name, LIPC_CREATE, 0, &h);
    CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), "not a regular file"), "socket as %s: %d %s",
          kind_names[k], rc, lipc_last_error());
    close(s);
    unlink(path);
    /* a symbolic link stays refused */
    if (symlink("/etc/passwd", path) != 0) perror("symlink");
    rc = open_kind(k, name, LIPC_CREATE | LIPC_TRUST_FOREIGN, 0, &h);
    CHECK(rc == LIPC_EPERM && strstr(lipc_last_error(), "symbolic link"), "symlink as %s: %d %s", kind_names[k],
          rc, lipc_last_error());
    unlink(path);
  }
}

/* Valid objects another user made: refused without the flag, usable with. */
static void test_trust_foreign(void) {
  if (geteuid() != 0) {
    printf("skip: objects of another user (needs root to become nobody)\n");
    return;
  }
  for (int k = SEM; k <= SHM; k++) {
    char name[64], path[128], kind[8];
    name_for(name, sizeof name, "foreign");
    path_for(path, sizeof path, k, name);
    snprintf(kind, sizeof kind, "%d", k);
    int st = wait_role(start_role("--create-as-nobody", kind, name));
    CHECK(st == 0, "nobody could not create a %s (status %d)", kind_names[k], st);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_uid == NOBODY, "owner of %s", path);
    lipc_handle_t h;
    int rc = open_kind(k, name, LIPC_CREATE, 0, &h);
    CHECK(rc == LIPC_EPERM, "foreign %s without the flag: %d %s", kind_names[k], rc, lipc_last_error());
    rc = open_kind(k, name, LIPC_TRUST_FOREIGN, 0, &h);
    CHECK(rc == 0, "foreign %s with the flag: %d %s", kind_names[k], rc, lipc_last_error());
    if (rc != 0) continue;
    int v = -1;
    void *addr = NULL;
    switch (k) {
      case SEM:
        CHECK(lipc_sem_wait(h, 0) == 0 && lipc_sem_post_n(h, 2) == 0 && lipc_sem_value(h, &v) == 0 && v == 2,
              "using a trusted semaphore: %s", lipc_last_error());
        break;
      case MUTEX:
        CHECK(lipc_mutex_lock(h, 1000, NULL) == 0 && lipc_mutex_unlock(h) == 0, "using a trusted mutex: %s",
              lipc_last_error());
        break;
      case EVENT:
        CHECK(lipc_event_wait(h, 0) == 0 && lipc_event_wait(h, 0) == LIPC_EAGAIN, "using a trusted event");
        break;
      case SHM:
        CHECK(lipc_shm_addr(h, &addr, NULL) == 0 && !strcmp(addr, "made by nobody"), "trusted shm bytes");
        break;
    }
    lipc_close(h);
    unlink(path);
  }
}

/* Memory overwritten after open: errors, never an abort. glibc's own
 * sem_post would abort the process on this semaphore. */
static void test_corrupted_after_open(void) {
  char name[64], path[128];
  unsigned char ff[64], saved[64];
  memset(ff, 0xff, sizeof ff);
  name_for(name, sizeof name, "corrupt");
  lipc_handle_t s, m, e;
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 1, &s) == 0, "%s", lipc_last_error());
  path_for(path, sizeof path, SEM, name);
  write_file(path, ff, 32, 0600);
  int v = 7;
  CHECK(lipc_sem_post(s) == LIPC_EINVAL && strstr(lipc_last_error(), "not a valid semaphore"), "post: %s",
        lipc_last_error());
  CHECK(lipc_sem_post_n(s, 3) == LIPC_EINVAL, "post_n on garbage");
  CHECK(lipc_sem_wait(s, 0) == LIPC_EINVAL, "try on garbage");
  CHECK(lipc_sem_wait(s, 100) == LIPC_EINVAL, "timed wait on garbage");
  CHECK(lipc_sem_wait(s, -1) == LIPC_EINVAL, "wait on garbage");
  CHECK(lipc_sem_value(s, &v) == LIPC_EINVAL && v == 7, "value on garbage: %d", v);
  unsigned char ok[32] = {0};
  put32(ok, 8, 128);
  write_file(path, ok, 32, 0600);
  CHECK(lipc_sem_post(s) == 0 && lipc_sem_wait(s, 0) == 0, "repaired semaphore");
  lipc_close(s);

  CHECK(lipc_mutex_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, &m) == 0, "%s", lipc_last_error());
  path_for(path, sizeof path, MUTEX, name);
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0 && read(fd, saved, 64) == 64, "read mutex");
  if (fd >= 0) close(fd);
  write_file(path, ff, 64, 0600);
  CHECK(lipc_mutex_lock(m, 0, NULL) == LIPC_EINVAL && strstr(lipc_last_error(), "not a valid mutex"),
        "lock: %s", lipc_last_error());
  CHECK(lipc_mutex_lock(m, 50, NULL) == LIPC_EINVAL, "timed lock on garbage");
  CHECK(lipc_mutex_unlock(m) == LIPC_EINVAL, "unlock on garbage");
  CHECK(lipc_mutex_consistent(m) == LIPC_EINVAL && strstr(lipc_last_error(), "not a valid mutex"),
        "consistent on garbage: %s", lipc_last_error());
  write_file(path, saved, 64, 0600);
  CHECK(lipc_mutex_lock(m, 0, NULL) == 0 && lipc_mutex_unlock(m) == 0, "repaired mutex");
  lipc_close(m);

  /* Events have nothing glibc could abort on; garbage must not crash or hang. */
  CHECK(lipc_event_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &e) == 0, "%s", lipc_last_error());
  path_for(path, sizeof path, EVENT, name);
  write_file(path, ff, 64, 0600);
  int set = -1;
  lipc_event_set(e);
  lipc_event_wait(e, 0);
  lipc_event_wait(e, 20);
  lipc_event_reset(e);
  CHECK(lipc_event_is_set(e, &set) == 0, "event on garbage");
  lipc_close(e);
}

static void test_umask(void) {
  mode_t old = umask(077);
  for (int k = SEM; k <= SHM; k++) {
    const struct {
      mode_t mask;
      uint32_t mode, want;
    } cases[] = {{077, 0666, 0600}, {022, 0666, 0644}, {0, 0666, 0666}, {0, 0, 0600}, {027, 0, 0600}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
      char name[64], path[128];
      name_for(name, sizeof name, "umask");
      path_for(path, sizeof path, k, name);
      umask(cases[c].mask);
      lipc_handle_t h;
      CHECK(open_kind(k, name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, cases[c].mode, &h) == 0, "%s",
            lipc_last_error());
      struct stat st;
      CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == cases[c].want,
            "%s mode %o under umask %o: %o, want %o", kind_names[k], cases[c].mode, cases[c].mask,
            st.st_mode & 0777, cases[c].want);
      lipc_close(h);
    }
  }
  umask(old);
}

/* ---- lipc_sem_post_n ---- */

static lipc_handle_t pn_sem;
static void *pn_waiter(void *arg) {
  (void)arg;
  return (void *)(intptr_t)lipc_sem_wait(pn_sem, 20000);
}

static void test_post_n(void) {
  char name[64];
  name_for(name, sizeof name, "postn");
  lipc_handle_t s;
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 5, &s) == 0, "%s", lipc_last_error());
  int v = -1;
  CHECK(lipc_sem_post_n(s, 10) == 0 && lipc_sem_value(s, &v) == 0 && v == 15, "post_n 10: %d", v);
  CHECK(lipc_sem_post_n(s, 0) == LIPC_EINVAL && strstr(lipc_last_error(), "at least 1"), "post_n 0");
  CHECK(lipc_sem_post_n(s, 0x7fffffffu - 14) == LIPC_ERANGE, "post_n past the maximum");
  CHECK(lipc_sem_post_n(s, 0x80000000u) == LIPC_ERANGE, "post_n 2^31");
  CHECK(lipc_sem_post_n(s, 0xffffffffu) == LIPC_ERANGE && lipc_errno() == EOVERFLOW, "post_n 2^32-1");
  CHECK(lipc_sem_value(s, &v) == 0 && v == 15, "a refused post_n changed the value: %d", v);
  CHECK(lipc_sem_post_n(s, 0x7fffffffu - 15) == 0 && lipc_sem_value(s, &v) == 0 && v == 0x7fffffff,
        "post_n to exactly 2^31-1: %d", v);
  CHECK(lipc_sem_post(s) == LIPC_ERANGE, "post at the maximum");
  CHECK(lipc_sem_post_n(123, 1) == LIPC_EBADHANDLE, "post_n on a bad handle");
  lipc_close(s);
  CHECK(lipc_sem_post_n(s, 1) == LIPC_EBADHANDLE, "post_n on a closed handle");

  /* One post_n wakes as many sleeping waiters as it adds. */
  name_for(name, sizeof name, "postn-wake");
  CHECK(lipc_sem_open(name, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &pn_sem) == 0, "%s", lipc_last_error());
  pthread_t t[5];
  for (int i = 0; i < 5; i++) pthread_create(&t[i], NULL, pn_waiter, NULL);
  char path[128];
  path_for(path, sizeof path, SEM, name);
  int fd = open(path, O_RDONLY);
  uint32_t *word = mmap(NULL, 32, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  for (int i = 0; i < 200000 && __atomic_load_n(&word[1], __ATOMIC_RELAXED) != 5; i++) usleep(100);
  CHECK(word[1] == 5, "waiters registered: %u", word[1]);
  CHECK(lipc_sem_post_n(pn_sem, 5) == 0, "post_n 5");
  int ok = 0;
  for (int i = 0; i < 5; i++) {
    void *r;
    pthread_join(t[i], &r);
    ok += (intptr_t)r == 0;
  }
  CHECK(ok == 5 && word[0] == 0 && word[1] == 0, "post_n 5 woke %d of 5 (value %u, waiters %u)", ok, word[0],
        word[1]);
  munmap(word, 32);
  /* And glibc's sem_wait in another program is woken by it too. */
  pid_t pid = start_role("--glibc-wait3", name, NULL);
  CHECK(lipc_sem_post_n(pn_sem, 3) == 0, "post_n 3");
  int st = wait_role(pid);
  CHECK(st == 0, "glibc waiter: status %d", st);
  lipc_close(pn_sem);
}

/* ---- auto-reset events ---- */

/* The shared state word of an auto-reset event (event_linux.h): bit 0
 * signalled, bits 1-20 releases not yet taken, bits 21-40 registered
 * waiters, bits 41-63 a count of sets. */
#define EV_NOW(state) (*(state) & (((uint64_t)1 << 41) - 1)) /* without the count of sets */
#define EV_WAITER ((uint64_t)1 << 21)
static volatile uint64_t *map_event(const char *name) {
  char path[128];
  path_for(path, sizeof path, EVENT, name);
  int fd = open(path, O_RDONLY);
  void *p = mmap(NULL, 64, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

#define ROUNDS 2000
/* Issue 9 item 10: three processes blocked in wait, three back-to-back
 * sets: all three must wake, every round. */
static void test_auto_reset_across_processes(void) {
  char name[64], n[96];
  name_for(name, sizeof name, "auto");
  lipc_handle_t e, go, ready, done;
  CHECK(lipc_event_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &e) == 0, "%s",
        lipc_last_error());
  snprintf(n, sizeof n, "%s-go", name);
  lipc_sem_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &go);
  snprintf(n, sizeof n, "%s-ready", name);
  lipc_sem_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &ready);
  snprintf(n, sizeof n, "%s-done", name);
  lipc_sem_open(n, LIPC_CREATE | LIPC_UNLINK_ON_CLOSE, 0, 0, &done);
  volatile uint64_t *state = map_event(name);
  char rounds[16];
  snprintf(rounds, sizeof rounds, "%d", ROUNDS);
  pid_t kids[3];
  for (int i = 0; i < 3; i++) kids[i] = start_role("--event-waiter", name, rounds);
  int r, lost = 0;
  for (r = 0; r < ROUNDS && !lost; r++) {
    lipc_sem_post_n(go, 3);
    int ok = 1;
    for (int i = 0; i < 3; i++) ok &= lipc_sem_wait(ready, 30000) == 0;
    for (int i = 0; i < 3; i++) ok &= wait_asleep(kids[i], 0);
    if (!ok) {
      CHECK(0, "round %d: the waiters did not get blocked", r);
      break;
    }
    lipc_event_set(e);
    lipc_event_set(e);
    lipc_event_set(e);
    for (int i = 0; i < 3; i++)
      if (lipc_sem_wait(done, 10000) != 0) lost++;
    CHECK(!lost, "round %d: three sets woke %d of 3 blocked waiters", r, 3 - lost);
    CHECK(EV_NOW(state) == 0, "round %d: the event kept state %#llx", r, (unsigned long long)*state);
  }
  if (lost)
    for (int i = 0; i < 3; i++) kill(kids[i], SIGKILL);
  int ok = 0;
  for (int i = 0; i < 3; i++) ok += wait_role(kids[i]) == 0;
  CHECK(lost || ok == 3, "%d of 3 waiter processes finished %d rounds", ok, r);
  printf("auto-reset: %d rounds of 3 waiter processes and 3 sets\n", r);

  /* A set with nobody waiting lets exactly the next waiter through. */
  lipc_event_set(e);
  lipc_event_set(e);
  int st = wait_role(start_role("--event-try-twice", name, NULL));
  CHECK(st == 0, "after two sets with nobody waiting, another process's two tries: status %d", st);
  munmap((void *)state, 64);
  lipc_close(e);
  lipc_close(go);
  lipc_close(ready);
  lipc_close(done);
}

/* Waiters that are interrupted take no release meant for another and leave
 * none behind, and a wait begun after a set takes none of its releases.
 * Five threads block; two of them get a signal while three sets happen. Each round ends when every thread returned; whenever all the
 * threads still waiting are asleep and nothing is pending, exactly as many
 * waits must have succeeded as there were sets, and one more set releases
 * exactly one more. */
#define LV_THREADS 5
static lipc_handle_t lv_event;
static atomic_int lv_result[LV_THREADS]; /* -1 waiting, 0 released, 1 interrupted, 2 other */
static pid_t lv_tids[LV_THREADS];
static pthread_barrier_t lv_barrier;
static atomic_int lv_stop;
static void on_usr1(int sig) { (void)sig; }
static void *lv_waiter(void *arg) {
  int i = (int)(intptr_t)arg;
  lv_tids[i] = (pid_t)syscall(SYS_gettid);
  for (;;) {
    pthread_barrier_wait(&lv_barrier); /* round starts */
    if (atomic_load(&lv_stop)) return NULL;
    int rc = lipc_event_wait(lv_event, 30000);
    atomic_store(&lv_result[i], rc == 0 ? 0 : rc == LIPC_EINTR ? 1 : 2);
    pthread_barrier_wait(&lv_barrier); /* round over */
  }
}

/* Waits until every thread is either done or asleep with the state showing
 * exactly those as registered. Returns the number still waiting, or -1. */
static int lv_quiescent(volatile uint64_t *state) {
  for (int spin = 0; spin < 400000; spin++) {
    int waiting = 0, asleep = 0;
    for (int i = 0; i < LV_THREADS; i++)
      if (atomic_load(&lv_result[i]) == -1) {
        waiting++;
        asleep += asleep_in_futex(0, lv_tids[i]);
      }
    if (asleep == waiting && EV_NOW(state) == waiting * EV_WAITER) return waiting;
    if (spin > 100) usleep(50);
  }
  return -1;
}

static void test_auto_reset_interrupted_waiters(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  sigaction(SIGUSR1, &sa, NULL);
  char name[64];
  name_for(name, sizeof name, "leave");
  CHECK(lipc_event_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 0, 0, &lv_event) == 0, "%s",
        lipc_last_error());
  volatile uint64_t *state = map_event(name);
  pthread_barrier_init(&lv_barrier, NULL, LV_THREADS + 1);
  pthread_t t[LV_THREADS];
  for (int i = 0; i < LV_THREADS; i++) pthread_create(&t[i], NULL, lv_waiter, (void *)(intptr_t)i);
  int r, bad = 0, interrupted = 0;
  for (r = 0; r < 500 && !bad; r++) {
    for (int i = 0; i < LV_THREADS; i++) atomic_store(&lv_result[i], -1);
    pthread_barrier_wait(&lv_barrier);
    for (int i = 0; i < LV_THREADS; i++) wait_asleep(0, lv_tids[i]);
    pthread_kill(t[3], SIGUSR1); /* these signals race with the sets */
    lipc_event_set(lv_event);
    pthread_kill(t[4], SIGUSR1);
    lipc_event_set(lv_event);
    lipc_event_set(lv_event);
    /* A wait that begins now takes none of the releases for the blocked. */
    int late = lipc_event_wait(lv_event, 1);
    CHECK(late == LIPC_ETIMEDOUT, "round %d: a wait begun after the sets got %d", r, late);
    int sets = 3, waiting;
    while ((waiting = lv_quiescent(state)) > 0) {
      int released = 0;
      for (int i = 0; i < LV_THREADS; i++) released += atomic_load(&lv_result[i]) == 0;
      if (released != sets) break;
      lipc_event_set(lv_event);
      sets++;
    }
    int released = 0, intr = 0, other = 0;
    for (int i = 0; i < LV_THREADS; i++) {
      int v = atomic_load(&lv_result[i]);
      released += v == 0, intr += v == 1, other += v == 2;
    }
    interrupted += intr;
    bad = waiting != 0 || released != sets || other || intr > 2 || EV_NOW(state) != 0;
    CHECK(!bad, "round %d: %d sets released %d waits, %d interrupted, %d other, %d left waiting, state %#llx", r,
          sets, released, intr, other, waiting, (unsigned long long)*state);
    if (waiting != 0) lipc_event_set(lv_event), lipc_event_set(lv_event); /* let them go */
    pthread_barrier_wait(&lv_barrier);                                  /* round over */
  }
  atomic_store(&lv_stop, 1);
  pthread_barrier_wait(&lv_barrier);
  for (int i = 0; i < LV_THREADS; i++) pthread_join(t[i], NULL);
  printf("auto-reset with interrupted waiters: %d rounds, %d waits interrupted\n", r, interrupted);
  munmap((void *)state, 64);
  lipc_close(lv_event);
  signal(SIGUSR1, SIG_DFL);
}

int main(int argc, char **argv) {
  if (readlink("/proc/self/exe", self_path, sizeof self_path - 1) < 0) return 2;
  if (argc >= 3) {
    if (!strcmp(argv[1], "--create-as-nobody") && argc == 4) return role_create_as_nobody(argv[2], argv[3]);
    if (!strcmp(argv[1], "--event-waiter") && argc == 4) return role_event_waiter(argv[2], argv[3]);
    if (!strcmp(argv[1], "--event-try-twice")) return role_event_try_twice(argv[2]);
    if (!strcmp(argv[1], "--glibc-wait3")) return role_glibc_wait3(argv[2]);
    return 99;
  }
  test_planted_by_another_user();
  test_invalid_contents();
  test_not_a_regular_file();
  test_trust_foreign();
  test_corrupted_after_open();
  test_umask();
  test_post_n();
  test_auto_reset_across_processes();
  test_auto_reset_interrupted_waiters();
  return check_summary();
}
