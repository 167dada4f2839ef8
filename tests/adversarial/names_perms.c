/* names_perms.c - attacks through /dev/shm: objects planted under a name by
 * another user (as nobody, through setpriv, when this runs as root) or by
 * the same user, with garbage, empty, short or valid contents; symbolic
 * links, directories, FIFOs and sockets where an object should be; an
 * object corrupted after it was opened; the umask; a root-owned object
 * opened by nobody. With ADV_IN_FORK_CHILD=1, all of it in fork children
 * (maybe_in_fork_child). Each case runs in a fresh process (this program run
 * again with the case's name), so an abort or a crash is caught and named.
 *
 *   names_perms            runs every case, prints one line each, exits 1 on a failure
 *   names_perms CASE KIND  one case (what the driver runs)
 *
 * Every case checks what holds whatever the header says: no crash, no
 * abort, no hang, every result a LIPC code with a message. The contract
 * checks are those of issue 9: a foreign object is refused with LIPC_EPERM
 * unless the trust flag is passed (LIPC_TRUST_FOREIGN, when the header has
 * it), a link is never followed, an explicit mode obeys the umask, and,
 * once the header documents the checks of an existing object (it has
 * LIPC_TRUST_FOREIGN), garbage is LIPC_EINVAL and a link LIPC_EPERM. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lipc.h"
#include "reachable_copy.h"

#ifdef LIPC_TRUST_FOREIGN
#define HARDENED 1
#define TRUST LIPC_TRUST_FOREIGN
#else
#define HARDENED 0
#define TRUST 0
#endif
#define NOBODY "setpriv --reuid=65534 --regid=65534 --clear-groups"

enum { K_SEM, K_MUTEX, K_EVENT, K_SHM, NKINDS };
static const char *kind_names[] = {"sem", "mutex", "event", "shm"};
static const char *file_prefix[] = {"sem.", "lipc.mutex.", "lipc.event.", ""};

static int failures;
static char self[512];
/* How nobody runs this program: from a copy, with the library beside it,
 * in a directory the driver made (ADV_NOBODY_DIR). The build directory
 * may be out of nobody's reach: a checkout under /root (mode 0700). */
static char self_for_nobody[600];
#define NOBODY_DIR_ENV "ADV_NOBODY_DIR"

#define FAIL(...)                                      \
  do {                                                 \
    failures++;                                        \
    printf("    FAIL: ");                              \
    printf(__VA_ARGS__);                               \
    printf(" (last error: %s)\n", lipc_last_error());  \
  } while (0)

static int known(int rc) {
  if (rc == 0 || (rc < 0 && rc >= LIPC_ERANGE)) return 1;
  return rc <= LIPC_EOS_BASE && LIPC_OS_ERRNO(rc) < 4096;
}

/* Any result: a LIPC code, with a message when it failed. */
static int sane(const char *what, int rc) {
  if (!known(rc)) FAIL("%s returned %d, not a LIPC code", what, rc);
  else if (rc != 0 && !lipc_last_error()[0]) FAIL("%s failed (%s) without a message", what, lipc_error_name(rc));
  printf("    %s -> %s\n", what, rc ? lipc_error_name(rc) : "ok");
  return rc;
}

static int open_kind(int k, const char *name, int flags, uint32_t mode, lipc_handle_t *h) {
  switch (k) {
    case K_SEM: return lipc_sem_open(name, flags, mode, 1, h);
    case K_MUTEX: return lipc_mutex_open(name, flags, mode, h);
    case K_EVENT: return lipc_event_open(name, flags, mode, 0, 0, h);
    default: return lipc_shm_open(name, flags, mode, flags & LIPC_CREATE ? 4096 : 0, h);
  }
}

static void unlink_kind(int k, const char *name) {
  char path[300];
  snprintf(path, sizeof path, "/dev/shm/%s%s", file_prefix[k], name);
  unlink(path);
}

static void *lock_other(void *arg) {
  int od;
  lipc_handle_t h = *(lipc_handle_t *)arg;
  sane("mutex_lock 5 ms from another thread", lipc_mutex_lock(h, 5, &od));
  return NULL;
}

/* Every operation of the kind, with short waits. */
static void exercise(int k, lipc_handle_t h) {
  int v, od;
  int64_t size;
  void *addr;
  switch (k) {
    case K_SEM: {
      sane("sem_value", lipc_sem_value(h, &v));
      sane("sem_post", lipc_sem_post(h));
      int (*post_n)(lipc_handle_t, uint32_t) = (int (*)(lipc_handle_t, uint32_t))dlsym(RTLD_DEFAULT, "lipc_sem_post_n");
      if (post_n) sane("sem_post_n 3", post_n(h, 3));
      sane("sem_wait 0", lipc_sem_wait(h, 0));
      sane("sem_wait 5 ms", lipc_sem_wait(h, 5));
      sane("sem_value", lipc_sem_value(h, &v));
      break;
    }
    case K_MUTEX: {
      int rc = sane("mutex_lock 0", lipc_mutex_lock(h, 0, &od));
      if (rc == 0 || rc == LIPC_EAGAIN) {
        pthread_t t;
        pthread_create(&t, NULL, lock_other, &h);
        pthread_join(t, NULL);
      }
      sane("mutex_lock 5 ms", lipc_mutex_lock(h, 5, &od));
      sane("mutex_consistent", lipc_mutex_consistent(h));
      sane("mutex_unlock", lipc_mutex_unlock(h));
      sane("mutex_unlock again", lipc_mutex_unlock(h));
      break;
    }
    case K_EVENT:
      sane("event_is_set", lipc_event_is_set(h, &v));
      sane("event_wait 0", lipc_event_wait(h, 0));
      sane("event_set", lipc_event_set(h));
      sane("event_wait 5 ms", lipc_event_wait(h, 5));
      sane("event_reset", lipc_event_reset(h));
      sane("event_wait 5 ms", lipc_event_wait(h, 5));
      break;
    default:
      if (sane("shm_addr", lipc_shm_addr(h, &addr, &size)) == 0 && size > 0) {
        volatile unsigned char *p = addr;
        (void)p[0], (void)p[size - 1];
      }
      sane("shm_grow", lipc_shm_grow(h, 8192 * 2));
      sane("shm_refresh", lipc_shm_refresh(h, &size));
  }
  sane("close", lipc_close(h));
}

/* The size lipc gives a new object of kind k (the layout may change). */
static long object_size(int k) {
  char name[64], path[300];
  snprintf(name, sizeof name, "advnp-%d-ref", (int)getpid());
  lipc_handle_t h;
  if (open_kind(k, name, LIPC_CREATE | LIPC_EXCL, 0, &h) != 0) return -1;
  snprintf(path, sizeof path, "/dev/shm/%s%s", file_prefix[k], name);
  struct stat st;
  long size = stat(path, &st) == 0 ? (long)st.st_size : -1;
  lipc_close(h);
  unlink(path);
  return size;
}

static int run(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A file of size bytes of fill under the name, made by nobody (foreign) or by us. */
static int plant(int k, const char *name, long size, int fill, int foreign) {
  char path[300], cmd[800];
  snprintf(path, sizeof path, "/dev/shm/%s%s", file_prefix[k], name);
  if (foreign) {
    snprintf(cmd, sizeof cmd, NOBODY " sh -c 'umask 0; head -c %ld /dev/zero | tr \"\\000\" \"\\%03o\" > %s'",
             size, fill, path);
    return run(cmd);
  }
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  char buf[4096];
  memset(buf, fill, sizeof buf);
  for (long done = 0; done < size; done += (long)sizeof buf)
    if (write(fd, buf, (size_t)(size - done < (long)sizeof buf ? size - done : (long)sizeof buf)) < 0) break;
  close(fd);
  return 0;
}

static void expect(const char *what, int rc, int want) {
  if (rc != want) FAIL("%s: %s, the contract says %s", what, lipc_error_name(rc), lipc_error_name(want));
}

static int one_case(const char *c, int k) {
  char name[128], path[300], cmd[1400];
  snprintf(name, sizeof name, "advnp-%d-%s", (int)getpid(), c);
  snprintf(path, sizeof path, "/dev/shm/%s%s", file_prefix[k], name);
  long size = object_size(k);
  if (size <= 0) {
    FAIL("cannot create a reference %s", kind_names[k]);
    return 1;
  }
  int root = geteuid() == 0;
  lipc_handle_t h;
  int rc;
  alarm(20); /* a hang dies by SIGALRM: the driver reports it */

  if (strcmp(c, "foreign-garbage") == 0 || strcmp(c, "foreign-valid") == 0 || strcmp(c, "foreign-create") == 0) {
    if (!root) return 77;
    if (strcmp(c, "foreign-garbage") == 0) {
      if (plant(k, name, size, 0xFF, 1) != 0) return 77;
    } else {
      /* a real lipc object, made by nobody with mode 0666 */
      snprintf(cmd, sizeof cmd, NOBODY " %s make %d %s", self_for_nobody, k, name);
      if (run(cmd) != 0) return 77;
    }
    rc = sane("open without the trust flag", open_kind(k, name, strcmp(c, "foreign-create") == 0 ? LIPC_CREATE : 0, 0, &h));
    expect("another user's object, no trust flag", rc, LIPC_EPERM);
    if (rc == 0) exercise(k, h);
    if (HARDENED) {
      rc = sane("open with LIPC_TRUST_FOREIGN", open_kind(k, name, TRUST, 0, &h));
      if (strcmp(c, "foreign-garbage") == 0 && k != K_SHM)
        expect("garbage, trusted", rc, LIPC_EINVAL);
      else
        expect("a valid object, trusted", rc, 0);
      if (rc == 0) exercise(k, h);
    }
  } else if (strcmp(c, "nobody-opens-root") == 0) {
    if (!root) return 77;
    rc = open_kind(k, name, LIPC_CREATE, 0600, &h);
    if (rc != 0) FAIL("create");
    snprintf(cmd, sizeof cmd, NOBODY " %s open-expect %d %s %d", self_for_nobody, k, name, LIPC_EPERM);
    int st = system(cmd);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      FAIL("nobody opening root's 0600 %s: status %#x (1: not LIPC_EPERM, else a crash)", kind_names[k], st);
    if (rc == 0) lipc_close(h);
  } else if (strcmp(c, "own-garbage") == 0) {
    plant(k, name, size, 0xFF, 0);
    rc = sane("open", open_kind(k, name, 0, 0, &h));
    if (HARDENED && k != K_SHM) expect("own garbage", rc, LIPC_EINVAL);
    if (rc == 0) exercise(k, h);
  } else if (strcmp(c, "own-empty") == 0) {
    plant(k, name, 0, 0, 0);
    rc = sane("open", open_kind(k, name, 0, 0, &h));
    expect("an empty file", rc, LIPC_EINVAL);
    if (rc == 0) exercise(k, h);
  } else if (strcmp(c, "own-short") == 0) {
    plant(k, name, size / 2, 0, 0);
    rc = sane("open", open_kind(k, name, LIPC_CREATE, 0, &h));
    if (k != K_SHM) expect("a file shorter than the object", rc, LIPC_EINVAL);
    if (rc == 0) exercise(k, h);
  } else if (strcmp(c, "symlink") == 0 || strcmp(c, "symlink-dangling") == 0) {
    char target[300];
    snprintf(target, sizeof target, "/tmp/advnp-%d-target", (int)getpid());
    int dangling = strcmp(c, "symlink-dangling") == 0;
    if (!dangling) {
      lipc_handle_t r;
      /* a valid object of the kind as the target, so only the link is wrong */
      char ref[64];
      snprintf(ref, sizeof ref, "advnp-%d-reft", (int)getpid());
      if (open_kind(k, ref, LIPC_CREATE, 0, &r) == 0) lipc_close(r);
      char refpath[300];
      snprintf(refpath, sizeof refpath, "/dev/shm/%s%s", file_prefix[k], ref);
      rename(refpath, target);
    }
    if (symlink(target, path) != 0) FAIL("symlink");
    struct stat before, after;
    int had = stat(target, &before) == 0;
    rc = sane("open", open_kind(k, name, 0, 0, &h));
    if (rc == 0) {
      FAIL("opened through a symbolic link");
      exercise(k, h);
    } else if (HARDENED) {
      expect("a symbolic link", rc, LIPC_EPERM);
    }
    rc = sane("open with LIPC_CREATE", open_kind(k, name, LIPC_CREATE, 0, &h));
    if (rc == 0) {
      FAIL("created or opened through a symbolic link");
      exercise(k, h);
    }
    int has = stat(target, &after) == 0;
    if (had != has || (had && (before.st_size != after.st_size || before.st_mtime != after.st_mtime)))
      FAIL("the link's target %s changed", target);
    unlink(target);
  } else if (strcmp(c, "directory") == 0 || strcmp(c, "fifo") == 0 || strcmp(c, "socket") == 0) {
    if (c[0] == 'd')
      mkdir(path, 0700);
    else if (c[0] == 'f')
      mkfifo(path, 0600);
    else {
      int s = socket(AF_UNIX, SOCK_STREAM, 0);
      struct sockaddr_un sa = {.sun_family = AF_UNIX};
      snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", path);
      if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) FAIL("bind");
    }
    rc = sane("open", open_kind(k, name, 0, 0, &h));
    if (rc == 0) {
      FAIL("opened a %s as a %s", c, kind_names[k]);
      exercise(k, h);
    } else if (HARDENED) {
      expect("not a regular file", rc, LIPC_EINVAL);
    }
    rc = sane("open with LIPC_CREATE", open_kind(k, name, LIPC_CREATE, 0, &h));
    if (rc == 0) {
      FAIL("LIPC_CREATE over a %s", c);
      exercise(k, h);
    }
    rmdir(path);
    unlink(path);
  } else if (strcmp(c, "corrupt-after-open") == 0) {
    rc = sane("create", open_kind(k, name, LIPC_CREATE, 0, &h));
    if (rc == 0) {
      int fd = open(path, O_RDWR | O_CLOEXEC);
      char garbage[65536];
      memset(garbage, 0xFF, sizeof garbage);
      if (fd < 0 || pwrite(fd, garbage, (size_t)size, 0) != size) FAIL("overwrite");
      if (fd >= 0) close(fd);
      exercise(k, h); /* no abort, no crash: anything else the garbage may say */
    }
  } else if (strcmp(c, "excl-planted") == 0) {
    plant(k, name, size, 0, 0);
    rc = sane("open LIPC_CREATE|LIPC_EXCL", open_kind(k, name, LIPC_CREATE | LIPC_EXCL, 0, &h));
    expect("LIPC_EXCL over an existing file", rc, LIPC_EEXIST);
    if (rc == 0) lipc_close(h);
  } else if (strcmp(c, "umask") == 0) {
    static const struct { mode_t umask; uint32_t mode; mode_t want; } t[] = {
        {077, 0666, 0600}, {027, 0666, 0640}, {022, 0, 0600}, {0, 0640, 0640}, {0777, 0644, 0}};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
      umask(t[i].umask);
      unlink(path);
      rc = open_kind(k, name, LIPC_CREATE | LIPC_EXCL, t[i].mode, &h);
      struct stat st;
      if (rc != 0 || stat(path, &st) != 0) {
        FAIL("create with mode %#o under umask %#o", t[i].mode, t[i].umask);
        continue;
      }
      if ((st.st_mode & 0777) != t[i].want)
        FAIL("mode %#o under umask %#o made a %#o file, not %#o", t[i].mode, t[i].umask, st.st_mode & 0777, t[i].want);
      lipc_close(h);
    }
    umask(022);
  } else {
    fprintf(stderr, "unknown case %s\n", c);
    return 2;
  }
  unlink_kind(k, name);
  return failures ? 1 : 0;
}

static const char *cases[] = {"foreign-garbage", "foreign-valid", "foreign-create", "nobody-opens-root",
                              "own-garbage", "own-empty", "own-short", "symlink", "symlink-dangling",
                              "directory", "fifo", "socket", "corrupt-after-open", "excl-planted", "umask"};

/* The driver, as root: a directory anyone can read, holding a copy of
 * this program and of the lipc library it loaded (reachable_copy.h). */
static char nobody_dir[64];
static void make_nobody_dir(void) {
  strcpy(nobody_dir, "/tmp/lipc-advnp-bin.XXXXXX");
  if (reachable_copy(nobody_dir, "names_perms") != 0) {
    printf("  cannot copy this program and the library for nobody: nobody's cases will fail\n");
    return;
  }
  setenv(NOBODY_DIR_ENV, nobody_dir, 1);
}

/* With ADV_IN_FORK_CHILD set, each case (and each step run as nobody) runs
 * in the child of a fork() of the process that loaded lipc, where objects
 * are opened by C instead of Go (capi/named_here_linux.c): the same attacks
 * hold both to the same contract. This process waits and exits as the
 * child did. */
static void maybe_in_fork_child(void) {
  const char *e = getenv("ADV_IN_FORK_CHILD");
  if (!e || !*e) return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) return;
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) exit(2);
  if (WIFSIGNALED(st)) {
    signal(WTERMSIG(st), SIG_DFL);
    kill(getpid(), WTERMSIG(st));
  }
  exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
}

int main(int argc, char **argv) {
  if (argc > 1) maybe_in_fork_child();
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) self[n] = 0;
  const char *nd = getenv(NOBODY_DIR_ENV);
  if (nd && *nd)
    snprintf(self_for_nobody, sizeof self_for_nobody, "env LD_LIBRARY_PATH=%s %s/names_perms", nd, nd);
  else
    snprintf(self_for_nobody, sizeof self_for_nobody, "%s", self);
  if (argc == 4 && strcmp(argv[1], "make") == 0) { /* as nobody: a real object, mode 0666 */
    lipc_handle_t h;
    umask(0);
    return open_kind(atoi(argv[2]), argv[3], LIPC_CREATE | LIPC_EXCL, 0666, &h) == 0 ? 0 : 1;
  }
  if (argc == 5 && strcmp(argv[1], "open-expect") == 0) { /* as nobody */
    lipc_handle_t h;
    int rc = open_kind(atoi(argv[2]), argv[3], 0, 0, &h);
    if (rc != atoi(argv[4])) fprintf(stderr, "    nobody got %s: %s\n", lipc_error_name(rc), lipc_last_error());
    return rc == atoi(argv[4]) ? 0 : 1;
  }
  if (argc == 3) {
    for (int k = 0; k < NKINDS; k++)
      if (strcmp(argv[2], kind_names[k]) == 0) return one_case(argv[1], k);
    return 2;
  }
  /* the driver */
  int bad = 0, skipped = 0, total = 0;
  if (getenv("ADV_IN_FORK_CHILD")) printf("names and permissions: every case in a fork child (opened in C)\n");
  printf("names and permissions: %s\n", HARDENED ? "the header has LIPC_TRUST_FOREIGN: full contract"
                                                   : "no LIPC_TRUST_FOREIGN in the header: contents are only "
                                                     "checked not to crash");
  if (geteuid() != 0)
    printf("  not root: the cases with another user are skipped (setpriv needs root)\n");
  else
    make_nobody_dir();
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int k = 0; k < NKINDS; k++) {
      char out[64];
      snprintf(out, sizeof out, "/tmp/advnp-%d.out", (int)getpid());
      fflush(stdout);
      pid_t pid = fork();
      if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1), dup2(fd, 2);
        execl(self, self, cases[c], kind_names[k], (char *)NULL);
        _exit(2);
      }
      int st = 0;
      waitpid(pid, &st, 0);
      total++;
      const char *verdict = "ok";
      if (WIFSIGNALED(st))
        verdict = WTERMSIG(st) == SIGALRM ? "HANG" : WTERMSIG(st) == SIGABRT ? "ABORT" : "CRASH";
      else if (WEXITSTATUS(st) == 77)
        verdict = "skipped", skipped++;
      else if (WEXITSTATUS(st) != 0)
        verdict = "FAIL";
      if (strcmp(verdict, "ok") && strcmp(verdict, "skipped")) bad++;
      printf("  %-20s %-6s %s", cases[c], kind_names[k], verdict);
      if (WIFSIGNALED(st)) printf(" (signal %d)", WTERMSIG(st));
      printf("\n");
      if (strcmp(verdict, "ok") && strcmp(verdict, "skipped")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "grep -m 12 -E 'FAIL|fatal|SIG|[Aa]bort|Assert|panic|facility' %s; "
                 "grep -v -E 'FAIL|facility' %s | tail -n 2", out, out);
        fflush(stdout);
        if (system(cmd) != 0) {}
      }
      unlink(out);
    }
  /* anything a case left behind */
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -f /dev/shm/*advnp-* /tmp/advnp-*");
  if (system(cmd) != 0) {}
  if (nobody_dir[0]) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", nobody_dir);
    if (system(cmd) != 0) {}
  }
  printf("names and permissions: %d cases, %d failed or crashed, %d skipped\n", total, bad, skipped);
  return bad ? 1 : 0;
}
