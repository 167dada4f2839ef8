/* spawn_linux.c - start a child the way posix_spawn does, with what
 * posix_spawn lacks (host-runtimes.md, "Spawning: what was measured"):
 * exactly the fds asked for, resource limits before the first instruction,
 * a parent-death signal, signal dispositions as exec and posix_spawn leave
 * them (or all reset), user and groups set with raw system calls, the errno
 * of the failing step reported to the caller, and a pidfd from clone itself.
 *
 * The child shares the parent's memory and thread-local storage until it
 * execs (CLONE_VM | CLONE_VFORK), so it calls only async-signal-safe system
 * call wrappers: no malloc, no stdio, no locks. It reports a failure by
 * writing into the request, which the parent reads after clone returns (the
 * parent is suspended until the child execs or exits). */
#define _GNU_SOURCE
#include "spawn_linux.h"
#include "sysnames_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSIG_KERNEL 64

/* glibc's sigprocmask and sigaction skip the signals it reserves (32, 33);
 * the raw system calls reach all 64. */
static int raw_sigmask(int how, const uint64_t *set, uint64_t *old) {
  return (int)syscall(SYS_rt_sigprocmask, how, set, old, sizeof(uint64_t));
}

struct kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  uint64_t mask;
};

static int fail(struct lipc_spawn *s, const char *stage) {
  s->err = errno;
  s->stage = stage;
  _exit(127);
}

/* A caught signal's handler is the parent's code, which must not run in
 * this child (it shares the parent's memory): every caught signal goes to
 * the default here, before the mask is emptied (exec would reset them
 * anyway). A signal the parent ignores stays ignored, as exec, posix_spawn,
 * Go's os/exec and Python's subprocess leave it (nohup relies on it),
 * unless the request says to reset it (sigdefault: what a runtime ignored
 * for itself, such as Python's SIGPIPE) or to reset everything. */
/* A disposition that is already the default is left alone, as glibc's
 * posix_spawn does: the child runs while the parent is suspended, and two
 * system calls for each of 62 signals were most of its work. */
static void reset_signals(const struct lipc_spawn *s) {
  struct kernel_sigaction dfl, cur;
  memset(&dfl, 0, sizeof dfl); /* SIG_DFL, no flags */
  for (int sig = 1; sig <= NSIG_KERNEL; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    int to_default = s->sigreset_all || (s->sigdefault >> (sig - 1)) & 1;
    if (syscall(SYS_rt_sigaction, sig, NULL, &cur, sizeof(uint64_t)) == 0 &&
        (cur.handler == (void *)SIG_DFL || (cur.handler == (void *)SIG_IGN && !to_default)))
      continue;
    syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
  }
}

/* The supplementary groups, then the group, then the user (the order
 * that still has the privilege each step needs). Raw system calls: glibc's
 * set*id wrappers would signal every thread of the parent (its setxid
 * broadcast), whose memory this child shares; the kernel's calls change
 * this one thread, which is the whole child. */
static void set_credentials(struct lipc_spawn *s) {
  if (s->ngroups >= 0 && syscall(SYS_setgroups, (size_t)s->ngroups, s->groups) != 0)
    fail(s, "setgroups");
  if (s->gid >= 0 && syscall(SYS_setresgid, (gid_t)s->gid, (gid_t)s->gid, (gid_t)s->gid) != 0)
    fail(s, "setresgid");
  if (s->uid >= 0 && syscall(SYS_setresuid, (uid_t)s->uid, (uid_t)s->uid, (uid_t)s->uid) != 0)
    fail(s, "setresuid");
}

/* Child fd i <- src[i]. Every source is first copied above the map (so an
 * entry that overwrites another's source cannot lose it, and "the same fd"
 * also goes through dup2, which clears close-on-exec); then each target is
 * set; then everything else is closed. */
static int map_fds(struct lipc_spawn *s) {
  int low = s->nfds > 3 ? s->nfds : 3;
  for (int i = 0; i < s->nfds; i++) {
    s->scratch[i] = -1;
    if (s->src[i] <= LIPC_SPAWN_FD_IF_OPEN(0)) {
      /* The parent's fd, if it is open: a closed one leaves the child's
       * closed too (checked here, not by the parent beforehand: that was
       * one system call per standard fd on every spawn). */
      s->scratch[i] = fcntl(LIPC_SPAWN_FD_IF_OPEN(s->src[i]), F_DUPFD_CLOEXEC, low);
      if (s->scratch[i] < 0 && errno != EBADF) return -1;
      continue;
    }
    if (s->src[i] < 0) continue;
    s->scratch[i] = fcntl(s->src[i], F_DUPFD_CLOEXEC, low);
    if (s->scratch[i] < 0) return -1;
  }
  for (int i = 0; i < s->nfds; i++) {
    if (s->src[i] == -2) continue; /* left as it is (keep_fds) */
    if (s->scratch[i] < 0) {
      close(i);
    } else if (dup2(s->scratch[i], i) < 0) {
      return -1;
    }
  }
  /* The copies are close-on-exec; close_range drops everything else too,
   * unless the fds above the map are to stay (close_fds=False). */
  if (s->keep_fds) return 0;
  if (syscall(SYS_close_range, (unsigned)s->nfds, ~0u, 0) != 0) {
    for (int fd = s->nfds; fd < 65536; fd++) close(fd); /* kernels before 5.9 */
  }
  return 0;
}

/* The child's own fd table. A clone without CLONE_FILES copies the parent's
 * whole table, taking a reference on every open file (and the exec drops
 * them all again, in close_range below): a cost per spawn that grows with
 * the number of fds the parent has open, such as the pidfds of 1,000
 * children alive at once (issue 12: +8% per spawn with 1,000 open).
 * Sharing the table at clone and then unsharing with
 * close_range(limit, ~0, CLOSE_RANGE_UNSHARE) copies only the fds below
 * limit: those the map may read. Nothing touches the shared table before
 * that (the parent's spawning thread is suspended; other threads may open
 * and close, as they may around a full copy too). The pidfd clone made for
 * the parent was installed in the shared table before this child ran: its
 * copy is closed here, or a standard fd the parent had closed would be
 * inherited as the pidfd that took its number. */
static void own_fd_table(struct lipc_spawn *s) {
  if (syscall(SYS_close_range, (unsigned)s->files_limit, ~0u, CLOSE_RANGE_UNSHARE) != 0) {
    /* A filter that lets close_range through but not this flag: from now
     * on every child takes a full copy at clone (this memory is the
     * parent's), and lipc_proc_spawn clones this one again. */
    __atomic_store_n(&lipc__spawn_share_files, 0, __ATOMIC_RELAXED);
    fail(s, LIPC_SPAWN_STAGE_FILES);
  }
  int pidfd = s->clone_pidfd;
  if (pidfd >= 0) close(pidfd);
}

static int child_main(void *arg) {
  struct lipc_spawn *s = arg;
  s->child_pid = (pid_t)syscall(SYS_getpid); /* for lipc__spawn_await */
  if (s->files_limit >= 0) own_fd_table(s);
  reset_signals(s);
  if (s->setsid && setsid() < 0) fail(s, "setsid");
  if (s->pgid >= 0 && setpgid(0, (pid_t)s->pgid) < 0) fail(s, "setpgid");
  /* Limits first: raising a hard limit may need the privilege that
   * set_credentials gives up. */
  for (int i = 0; i < s->nrlim; i++) {
    struct rlimit rl = {.rlim_cur = s->rlim[i].cur, .rlim_max = s->rlim[i].max};
    if (setrlimit(s->rlim[i].resource, &rl) < 0) fail(s, "setrlimit");
  }
  /* The working directory as the parent's user, as subprocess does. */
  if (s->cwd && chdir(s->cwd) < 0) fail(s, "chdir");
  set_credentials(s);
  /* After the credentials: changing them clears the parent-death signal. */
  if (s->pdeathsig) {
    if (prctl(PR_SET_PDEATHSIG, s->pdeathsig) < 0) fail(s, "prctl(PR_SET_PDEATHSIG)");
    /* The parent may have died before the prctl: then no signal comes. */
    if (getppid() != s->parent) _exit(128 + s->pdeathsig);
  }
  if (s->umask >= 0) umask((mode_t)s->umask);
  if (map_fds(s) < 0) fail(s, "fd map");
  uint64_t none = 0;
  raw_sigmask(SIG_SETMASK, &none, NULL);
  static char *const no_env[] = {NULL}; /* the host cleared its environ */
  execve(s->path, s->argv, s->envp ? s->envp : no_env);
  fail(s, "execve");
  return 127;
}

/* The fds the child needs from the parent's table: below the highest the
 * map reads, and at least its own size; -1 when every fd stays
 * (keep_fds), so the child gets a full copy at clone as before. */
int lipc__spawn_share_files = -1;

/* Whether this process runs under Valgrind, whose core it preloads (asked
 * once). Its clone() knows threads, fork and vfork (CLONE_VM | CLONE_VFORK)
 * and nothing else: a clone that also shares the fd table made it print
 * "Valgrind does not support general clone()" and end the whole program.
 * And it runs a vfork as a fork: the child gets a copy of this memory, so
 * what the child writes there (child_pid, an error before exec) and the
 * kernel's clearing of `started` at exec never reach the parent. */
static int under_valgrind(void) {
  static int known = -1;
  int v = __atomic_load_n(&known, __ATOMIC_RELAXED);
  if (v < 0) {
    const char *preload = getenv("LD_PRELOAD");
    v = preload && strstr(preload, "/vgpreload_") != NULL;
    __atomic_store_n(&known, v, __ATOMIC_RELAXED);
  }
  return v;
}

/* Whether children may share the fd table at clone and then copy part of
 * it: close_range is there (Linux 5.9, with CLOSE_RANGE_UNSHARE) and no
 * filter refuses it. Asked once, with a call on a range past every fd,
 * which closes nothing: a container runtime whose seccomp profile predates
 * close_range answers EPERM, an older kernel ENOSYS. Then every child
 * takes a full copy at clone, as fork does, and needs no system call to
 * have its own table. So under Valgrind too. */
static int share_files(void) {
  int v = __atomic_load_n(&lipc__spawn_share_files, __ATOMIC_RELAXED);
  if (v < 0) {
    v = !under_valgrind() && syscall(SYS_close_range, ~0u, ~0u, 0) == 0;
    __atomic_store_n(&lipc__spawn_share_files, v, __ATOMIC_RELAXED);
  }
  return v;
}

static int files_limit(const struct lipc_spawn *s) {
  if (s->keep_fds || !share_files()) return -1;
  int limit = s->nfds > 3 ? s->nfds : 3;
  for (int i = 0; i < s->nfds; i++) {
    int fd = s->src[i] <= LIPC_SPAWN_FD_IF_OPEN(0) ? LIPC_SPAWN_FD_IF_OPEN(s->src[i]) : s->src[i];
    if (fd >= limit) limit = fd + 1;
  }
  return limit;
}

/* Starts the child; its pid, or -1 with errno. Nothing of s is read after
 * the clone returns: with lipc__spawn_clone_on, s belongs to the waiting
 * caller again as soon as the child has execed, which may be before this
 * thread runs again. */
static pid_t start_child(struct lipc_spawn *s) {
  uint64_t all = ~(uint64_t)0, old;
  s->err = 0;
  s->stage = NULL;
  s->pid = 0;
  s->pidfd = -1;
  s->clone_pidfd = -1;
  s->child_pid = 0;
  s->files_limit = files_limit(s);
  /* SIGCHLD as the exit signal, as fork gives: the kernel resets it to
   * SIGCHLD at exec anyway (de_thread), so a host that reaps every child
   * can take a lipc child's status; lipc then reports it as lost.
   * CLONE_CHILD_CLEARTID: the kernel zeroes `started` and wakes its futex
   * when the child execs (or exits), just before it ends the vfork wait. */
  int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | CLONE_CHILD_CLEARTID | SIGCHLD |
              (s->files_limit >= 0 ? CLONE_FILES : 0);
  char *stack_top = (char *)s->stack + s->stack_size;
  /* Blocked here so no handler of the parent runs in the child while it
   * shares the parent's memory; the child resets dispositions, then
   * unblocks. */
  raw_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = clone(child_main, stack_top, flags, s, (int *)&s->clone_pidfd, NULL, &s->started);
  int e = errno;
  raw_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return pid;
}

/* The pid behind a pidfd, from /proc/self/fdinfo ("Pid:"); 0 if unknown.
 * Only for a child killed (SIGKILL) before its first instruction, which
 * never wrote child_pid. */
pid_t lipc__pid_of_pidfd(int pidfd) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strstr(buf, "\nPid:");
  return p ? (pid_t)strtol(p + 5, NULL, 10) : 0;
}

/* Reaps a child that ended before exec (if the host has not already)
 * and closes its pidfd. It has exited or is exiting: the wait is short,
 * and an EINTR there only means it is not over yet. */
static void reap_unstarted(int pidfd) {
  siginfo_t si;
  while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR) {
  }
  close(pidfd);
}

/* After `started` went to 0: the outcome, as lipc__spawn_run returns it. */
static int child_outcome(struct lipc_spawn *s) {
  if (s->err != 0) {
    int pidfd = s->clone_pidfd;
    if (pidfd < 0) return -1; /* clone itself failed */
    reap_unstarted(pidfd); /* it failed before exec and has exited */
    return -1;
  }
  s->pid = s->child_pid;
  s->pidfd = s->clone_pidfd;
  if (s->pidfd >= 0 && s->pidfd <= 2) {
    /* Above the standard fds, which later children inherit by default: a
     * host that closed them got the pidfd there (capi/spawn_prepare_linux.c's
     * above_std says why). Kept where it is if that fails. */
    int moved = fcntl(s->pidfd, F_DUPFD_CLOEXEC, 3);
    if (moved >= 0) {
      close(s->pidfd);
      s->pidfd = moved;
    }
  }
  if (s->pid <= 0) s->pid = lipc__pid_of_pidfd(s->pidfd);
  if (s->pid <= 0) {
    /* Killed before its first instruction (it writes child_pid first),
     * and no pid to be had for it (no /proc, or the host reaped it
     * already): it never ran. */
    reap_unstarted(s->pidfd);
    s->pidfd = -1;
    s->err = ESRCH;
    s->stage = "the child was killed before it ran";
    return -1;
  }
  return 0;
}

int lipc__spawn_files_refused(const struct lipc_spawn *s) {
  return s->err != 0 && s->stage != NULL && strcmp(s->stage, LIPC_SPAWN_STAGE_FILES) == 0;
}

int lipc__spawn_run(struct lipc_spawn *s) {
  for (int again = 0;; again++) {
    s->started = 1;
    pid_t pid = start_child(s);
    if (pid < 0) {
      s->err = errno;
      s->stage = "clone";
      return -1;
    }
    if (under_valgrind()) s->child_pid = pid; /* the child's own write stayed in its copy */
    int rc = child_outcome(s); /* CLONE_VFORK: the child has execed or exited */
    if (rc == 0 || again || !lipc__spawn_files_refused(s)) return rc;
  }
}

void lipc__spawn_close_after(struct lipc_spawn *s, int ok) {
  int n = ok ? s->nclose_ok : s->nclose_fail;
  const int *fds = ok ? s->close_ok : s->close_fail;
  for (int i = 0; i < n; i++) close(fds[i]);
}

int lipc__spawn_started(const struct lipc_spawn *s) {
  return s->stack != NULL && s->err == 0 && s->pid > 0;
}

void lipc__spawn_free(struct lipc_spawn *s) {
  if (!s) return;
  for (int i = 0; i < s->nallocs; i++) free(s->allocs[i]);
  free(s->allocs);
  free(s);
}

void lipc__spawn_expect(void *spawn) {
  struct lipc_spawn *s = spawn;
  s->stack = NULL; /* "never cloned" until the cloning thread takes it */
  __atomic_store_n(&s->started, 1, __ATOMIC_RELEASE);
}

void lipc__spawn_clone_on(void *spawn, void *stack, size_t stack_size) {
  struct lipc_spawn *s = spawn;
  s->stack = stack;
  s->stack_size = stack_size;
  pid_t pid = start_child(s);
  if (pid >= 0 && under_valgrind()) {
    /* Valgrind made the clone a fork (under_valgrind): the child's exec
     * clears its own copy of `started`, so the caller is told here. An
     * error before exec shows as the child's exit status 127. */
    s->child_pid = pid;
    __atomic_store_n(&s->started, 0, __ATOMIC_RELEASE);
    syscall(SYS_futex, &s->started, FUTEX_WAKE, 1, NULL, NULL, 0);
    return;
  }
  if (pid >= 0) return; /* the kernel tells the caller: s is not ours now */
  s->err = errno;
  s->stage = "clone";
  __atomic_store_n(&s->started, 0, __ATOMIC_RELEASE);
  syscall(SYS_futex, &s->started, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int lipc__spawn_await(void *spawn) {
  struct lipc_spawn *s = spawn;
  /* Not abandoned for a signal: the cloning thread and the child use s
   * until `started` is 0. A shared (not private) futex: the kernel's
   * CLONE_CHILD_CLEARTID wake-up is. */
  while (__atomic_load_n(&s->started, __ATOMIC_ACQUIRE) != 0)
    syscall(SYS_futex, &s->started, FUTEX_WAIT, 1, NULL, NULL, 0);
  return child_outcome(s);
}
