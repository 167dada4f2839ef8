/* test_shm_full.c - creating named objects when /dev/shm is full. A new
 * semaphore, mutex or event is written through its mapping; on a full tmpfs
 * that write is a SIGBUS, which killed the host (Go's create in the
 * process, C's in a fork child) where glibc's sem_open returns ENOSPC. Now
 * the pages are allocated before the mapping is written: ENOSPC, nothing
 * left behind, and creating works again once there is room.
 *
 * Needs a /dev/shm of its own: the test runs itself again under unshare -m
 * (as another user than root, unshare -r -m: a user namespace where it is
 * root) and mounts a small tmpfs there (skipped where it cannot). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lipc.h"

enum { K_SEM, K_SHM, K_MUTEX, K_EVENT, NKINDS };
static const char *kind_name[] = {"sem", "shm", "mutex", "event"};

static int create(int k, const char *name, lipc_handle_t *h) {
  switch (k) {
    case K_SEM: return lipc_sem_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 1, h);
    case K_SHM: return lipc_shm_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 4096, h);
    case K_MUTEX: return lipc_mutex_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, h);
    default: return lipc_event_open(name, LIPC_CREATE | LIPC_EXCL | LIPC_UNLINK_ON_CLOSE, 0, 1, 0, h);
  }
}

/* What creating kind k gives here: the code, the errno and the message. */
static void try_create(int k, char *out, size_t size) {
  lipc_handle_t h = 0;
  int rc = create(k, "full", &h);
  snprintf(out, size, "rc=%s errno=%d msg=[%s]", lipc_error_name(rc), rc ? lipc_errno() : 0,
           rc ? lipc_last_error() : "");
  if (rc == 0) lipc_close(h);
}

/* Files in /dev/shm besides the filler. */
static int leftovers(void) {
  DIR *d = opendir("/dev/shm");
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.' && strcmp(e->d_name, "filler") != 0) {
      printf("left in /dev/shm: %s\n", e->d_name);
      n++;
    }
  if (d) closedir(d);
  return n;
}

static void fill(void) {
  int fd = open("/dev/shm/filler", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  static char block[4096];
  while (write(fd, block, sizeof block) > 0) {
  }
  close(fd);
}

int main(int argc, char **argv) {
  (void)argc;
  if (!getenv("LIPC_TEST_SHM_FULL_NS")) {
    setenv("LIPC_TEST_SHM_FULL_NS", "1", 1);
    fflush(stdout);
    /* Another user than root maps itself to root in a user namespace of
     * its own (-r), which may then mount. */
    execl("/bin/sh", "sh", "-c",
          "if unshare $1 -m --propagation private true 2>/dev/null; then exec unshare $1 -m --propagation private \"$0\"; "
          "else echo 'skipped: cannot unshare the mount namespace (nor a user namespace)'; fi",
          argv[0], geteuid() == 0 ? "" : "-r", (char *)NULL);
    printf("skipped: cannot run sh (%s)\n", strerror(errno));
    return 0;
  }
  if (mount("lipc-test", "/dev/shm", "tmpfs", 0, "size=64k,mode=1777") != 0) {
    printf("skipped: cannot mount a tmpfs on /dev/shm (%s)\n", strerror(errno));
    return 0;
  }
  fill();
  for (int k = 0; k < NKINDS; k++) {
    char go[1024];
    try_create(k, go, sizeof go);
    char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      alarm(10);
      try_create(k, shared, 4096);
      _exit(0);
    }
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
          "%s: the fork child's create: status %#x (signal 7: SIGBUS)", kind_name[k], st);
    if (getenv("SHM_FULL_VERBOSE")) printf("%-6s %s\n", kind_name[k], go);
    CHECK(strcmp(go, shared) == 0, "%s: the fork child differs\n    Go:    %s\n    child: %s", kind_name[k], go,
          shared);
    /* Shared memory is made without writing it (it is sparse, as
     * shm_open's): created even now. The others need their page. */
    char want[64];
    if (k == K_SHM)
      snprintf(want, sizeof want, "rc=LIPC_OK ");
    else
      snprintf(want, sizeof want, "rc=%s errno=%d ", lipc_error_name(LIPC_EOS_BASE - ENOSPC), ENOSPC);
    CHECK(strncmp(go, want, strlen(want)) == 0, "%s: %s, not %s", kind_name[k], go, want);
    munmap(shared, 4096);
  }
  CHECK(leftovers() == 0, "files left behind");
  unlink("/dev/shm/filler");
  for (int k = 0; k < NKINDS; k++) {
    char out[1024];
    try_create(k, out, sizeof out);
    CHECK(strncmp(out, "rc=LIPC_OK ", 11) == 0, "%s with room again: %s", kind_name[k], out);
  }
  return check_summary();
}
