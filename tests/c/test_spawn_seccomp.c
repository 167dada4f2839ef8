/* test_spawn_seccomp.c - spawning under a seccomp filter that refuses
 * close_range, as container runtimes whose profile predates it do (EPERM;
 * podman#10130, docker/for-linux#1262), or refuses only its
 * CLOSE_RANGE_UNSHARE flag, or a kernel without it (ENOSYS); unshare is
 * refused in every case, as Docker's default profile does. A child that
 * shares the parent's fd table at clone needs that call to get its own;
 * lipc must see that and give children a full copy instead, and every
 * spawn must work. Each case runs in a process of its own (a filter stays
 * for good), which loads lipc after its filter is in place.
 * And one filter that refuses the clone itself (EAGAIN, as a full process
 * table or RLIMIT_NPROC give it): the spawn fails with the clone's errno,
 * on the calling thread and on lipc's spawn thread (autokill) alike, and
 * leaves no fd, no zombie and no waiting caller behind. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "seccomp_refuse.h"
#include "syscall_names.h"
#include "lipc.h"

enum { ALL_EPERM, UNSHARE_EPERM, ALL_ENOSYS, CLONE_EAGAIN };
static const char *names[] = {"close_range refused (EPERM)", "CLOSE_RANGE_UNSHARE refused (EPERM)",
                              "no close_range (ENOSYS)", "vfork-class clone refused (EAGAIN)"};

/* clone with CLONE_VFORK refused: threads (Go's clone, glibc's clone3)
 * are still made. */
static int clone_filter(void) { return seccomp_refuse(SYS_clone, 0, CLONE_VFORK, 1, EAGAIN); }

static int filter(int how) {
  /* args[2] (flags): its low 32 bits, little-endian */
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 1), /* as Docker's profile without CAP_SYS_ADMIN */
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, how == UNSHARE_EPERM ? CLOSE_RANGE_UNSHARE : 0xFFFFFFFFu, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JA, how == UNSHARE_EPERM ? 1 : 0, 0, 0), /* flags 0: refused too, unless UNSHARE_EPERM */
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (how == ALL_ENOSYS ? ENOSYS : EPERM)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &p);
}

static int count_fds(void) {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) n += fcntl(fd, F_GETFD) >= 0;
  return n;
}

static int clone_refused_case(void) {
  if (clone_filter() != 0) {
    printf("%s: no seccomp here (%s): skipped\n", names[CLONE_EAGAIN], strerror(errno));
    return 77;
  }
  int before = count_fds();
  for (int autokill = 0; autokill <= 1; autokill++) {
    for (int i = 0; i < 3; i++) {
      lipc_handle_t a, p = 0;
      lipc_spawnattr_new(&a);
      lipc_spawnattr_arg(a, "/bin/true");
      lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0); /* pipes to close again */
      if (autokill) lipc_spawnattr_set_autokill(a, SIGKILL);
      int rc = lipc_proc_spawn(a, &p);
      CHECK(rc == LIPC_EAGAIN && lipc_errno() == EAGAIN && strstr(lipc_last_error(), "clone"),
            "autokill %d: rc %d errno %d: %s", autokill, rc, lipc_errno(), lipc_last_error());
      if (rc == LIPC_OK) lipc_close(p);
      lipc_close(a);
    }
  }
  CHECK(count_fds() == before, "%s: %d fds, %d before", names[CLONE_EAGAIN], count_fds(), before);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  CHECK(waitid(P_ALL, 0, &si, WEXITED | WNOHANG) != 0 && errno == ECHILD, "a child was made after all");
  return check_summary();
}

/* In its own process: the filter, then spawns of sh listing its fds: none
 * above 2 (no fd of the parent). */
static int one_case(int how) {
  if (how == CLONE_EAGAIN) return clone_refused_case();
  if (filter(how) != 0) {
    printf("%s: no seccomp here (%s): skipped\n", names[how], strerror(errno));
    return 77;
  }
  /* the filter works: close_range on nothing is refused or not, as asked */
  long probe = syscall(SYS_close_range, ~0u, ~0u, 0);
  CHECK((probe == 0) == (how == UNSHARE_EPERM), "%s: the probe gave %ld", names[how], probe);
  int extra = open("/dev/null", O_RDONLY); /* not CLOEXEC: a full copy must not leak it either */
  int before = count_fds();
  for (int i = 0; i < 5; i++) {
    lipc_handle_t a, p;
    CHECK(lipc_spawnattr_new(&a) == LIPC_OK, "attr");
    lipc_spawnattr_arg(a, "/bin/sh");
    lipc_spawnattr_arg(a, "-c");
    lipc_spawnattr_arg(a, "ls /proc/$$/fd");
    lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
    int rc = lipc_proc_spawn(a, &p);
    CHECK(rc == LIPC_OK, "%s: spawn %d: %s", names[how], i, lipc_last_error());
    lipc_close(a);
    if (rc != LIPC_OK) continue;
    char *out = NULL, *err = NULL;
    size_t nout = 0, nerr = 0;
    int code = -1, sig = -1;
    CHECK(lipc_proc_communicate(p, NULL, 0, 1 << 20, -1, &out, &nout, &err, &nerr) == LIPC_OK,
          "communicate: %s", lipc_last_error());
    CHECK(lipc_proc_wait(p, 10000, &code, &sig) == LIPC_OK && code == 0, "%s: sh ended %d/%d", names[how], code, sig);
    int listed = 0, above2 = 0;
    for (char *tok = out ? strtok(out, "\n") : NULL; tok; tok = strtok(NULL, "\n")) {
      listed++;
      above2 += atoi(tok) > 2;
    }
    CHECK(listed > 0 && above2 == 0, "%s: the child's fds: %d listed, %d above 2", names[how], listed, above2);
    lipc_free(out);
    lipc_free(err);
    lipc_close(p);
  }
  CHECK(count_fds() == before, "%s: %d fds, %d before", names[how], count_fds(), before);
  close(extra);
  return check_summary();
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "case") == 0) return one_case(atoi(argv[2]));
  for (int how = ALL_EPERM; how <= CLONE_EAGAIN; how++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { /* lipc loads in a fresh process: a fork's child may not spawn */
      char n[8];
      snprintf(n, sizeof n, "%d", how);
      execl("/proc/self/exe", argv[0], "case", n, (char *)NULL);
      _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) continue;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: the case failed (status %#x)", names[how], st);
  }
  return check_summary();
}
