/* api_proc_linux.c - process handles: a spawn is prepared in C
 * (spawn_prepare_linux.c) and cloned in C (on the calling thread, or lipc's
 * spawn thread for autokill and handoff mode); waiting, signalling, pipe
 * hand-outs and figures run in C on the caller's thread (host-runtimes.md
 * rules 2, 4, 5). */
#define _GNU_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/proc/spawn_linux.h"
#include "../core/proc/sysnames_linux.h"
#include "internal.h"
#include "spawnattr.h"

struct lipc_proc *lipc__proc_new(int pid, int pidfd, const char *path, int on_close,
                                 long long grace_ms) {
  struct lipc_proc *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  p->pid = pid;
  p->pidfd = pidfd;
  p->path = strdup(path);
  p->on_close = on_close;
  p->grace_ms = grace_ms;
  return p;
}

int lipc__proc_add_pipe(struct lipc_proc *p, int child_fd, int fd) {
  struct lipc_pipe_end *np = realloc(p->pipes, sizeof *np * (size_t)(p->npipes + 1));
  if (!np) return -1;
  p->pipes = np;
  p->pipes[p->npipes++] = (struct lipc_pipe_end){child_fd, fd};
  return 0;
}

void lipc__proc_free(struct lipc_proc *p) {
  for (int i = 0; i < p->npipes; i++)
    if (p->pipes[i].fd >= 0) close(p->pipes[i].fd);
  if (p->pidfd >= 0) close(p->pidfd); /* the reaper took it if the child was running */
  lipc__capture_release(p->comm.buf[0]);
  lipc__capture_release(p->comm.buf[1]);
  free(p->pipes);
  free(p->path);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

int *lipc__proc_pipe_slot(struct lipc_proc *p, int child_fd) {
  for (int i = 0; i < p->npipes; i++)
    if (p->pipes[i].child_fd == child_fd && p->pipes[i].fd >= 0) return &p->pipes[i].fd;
  return NULL;
}

/* Runs body with the process locked... no: waits must not hold the lock. So
 * each entry acquires the handle, works, releases. */
#define ACQUIRE_PROC(h, what)                                       \
  lipc_slot *slot_;                                                 \
  int rc_ = lipc__handle_acquire(h, LIPC_KIND_PROC, &slot_);        \
  if (rc_ != LIPC_OK) return rc_;                                   \
  struct lipc_proc *p = lipc__slot_obj(slot_)

#define RELEASE_PROC(rc) \
  do {                   \
    int r_ = (rc);       \
    lipc__handle_release(slot_); \
    return r_;           \
  } while (0)

/* A started child's handle: what the parent keeps of the spawn request
 * (the pidfd, its pipe ends), the close policy of the attributes. */
static int register_child(struct lipc_spawnattr *a, struct lipc_spawn *sp, lipc_handle_t *out) {
  pthread_mutex_lock(&a->mu);
  int on_close = a->on_close;
  long long grace = a->grace_ms;
  pthread_mutex_unlock(&a->mu);
  lipc__spawn_close_after(sp, 1);
  struct lipc_proc *p = lipc__proc_new(sp->pid, sp->pidfd, sp->path, on_close, grace);
  if (!p || !p->path) {
    if (p) {
      p->pidfd = -1; /* closed below */
      lipc__proc_free(p);
    }
    syscall(SYS_pidfd_send_signal, sp->pidfd, SIGKILL, NULL, 0);
    siginfo_t si;
    while (waitid(P_PIDFD, (id_t)sp->pidfd, &si, WEXITED) < 0 && errno == EINTR) {
    }
    close(sp->pidfd);
    for (int i = 0; i < sp->npipes; i++) close(sp->pipes[2 * i + 1]);
    return lipc__fail(LIPC_ENOMEM, ENOMEM, "proc_spawn: out of memory");
  }
  /* The parent's ends stay ordinary blocking pipes: one may be handed to
   * another child (a pipeline through the parent), and O_NONBLOCK would
   * go with it. lipc_fd_read/write keep deadlines on blocking fds, and
   * communicate makes its ends non-blocking only while it runs. */
  for (int i = 0; i < sp->npipes; i++)
    if (lipc__proc_add_pipe(p, sp->pipes[2 * i], sp->pipes[2 * i + 1]) != 0) close(sp->pipes[2 * i + 1]);
  int rc = lipc__handle_new(LIPC_KIND_PROC, p, 0, out);
  if (rc != LIPC_OK) lipc__proc_destroy(p); /* the close policy, and the child to the reaper */
  return rc;
}

/* Clones sp's child on this thread if it may be (lipc__spawn_here); 0 if
 * it must go to the spawn thread: a child with a parent-death signal
 * (autokill), which follows the thread that created it (F9), and every
 * child in handoff mode, where a host thread must stay able to take its
 * signals (an SBCL thread in the kernel's vfork wait would hold up every
 * garbage collection until the child execs). Rule 4 asks for the spawn
 * thread because of F9 alone; a clone here saves the thread's wake-up
 * (spawn+wait 1.06-1.24 -> 1.01-1.06 times posix_spawn+waitpid in five
 * alternated runs, issue 12), and the child gets this thread's affinity
 * and nice value, as posix_spawn's and subprocess's do. */
static int clone_here(struct lipc_spawn *sp) {
  if (sp->pdeathsig != 0 || atomic_load_explicit(&lipc__call_mode, memory_order_relaxed) != LIPC_CALL_DIRECT)
    return 0;
  return lipc__spawn_here(sp) != -2;
}

static int proc_spawn(lipc_handle_t attr, lipc_handle_t *out);

int lipc_proc_spawn(lipc_handle_t attr, lipc_handle_t *out) {
  if (!out) return lipc__fail(LIPC_EINVAL, EINVAL, "proc_spawn: proc must not be NULL");
  /* No cancellation point, as posix_spawn is none: a pending pthread_cancel
   * acts after the call. The preparation's open and close would otherwise
   * take it with the attributes' mutex held (every later use of the handle
   * hangs) and its fds open; and the child, which runs on this thread's
   * TLS until it execs, would take it in its own close and unwind the
   * parent's frames. */
  return LIPC_NO_CANCEL(proc_spawn(attr, out));
}

static int proc_spawn(lipc_handle_t attr, lipc_handle_t *out) {
  lipc_slot *s;
  int rc = lipc__handle_acquire(attr, LIPC_KIND_SPAWNATTR, &s);
  if (rc != LIPC_OK) return rc;
  /* Three steps in C: prepare (spawn_prepare_linux.c), clone (clone_here),
   * register the child. Go is not entered: a Go call from a host thread
   * sets Go's scheduler going on the other CPU (spawn_prepare_linux.c says
   * what that did to spawns). Only a child that did not start goes to Go,
   * for its error. */
  struct lipc_spawnattr *a = lipc__slot_obj(s);
  struct lipc_spawn *sp = NULL;
  if (lipc__in_fork_child())
    rc = lipc__fail(LIPC_EFORKED, 0, "proc_spawn: " LIPC_FORKED_HINT);
  else
    rc = lipc__spawn_prepare(a, &sp);
  if (rc == LIPC_OK) {
    if (!clone_here(sp)) {
      lipc__clone_on_spawn_thread(sp);
      /* The child could not copy part of the fd table (a filter refused
       * CLOSE_RANGE_UNSHARE): once more, with a full copy at clone. */
      if (!lipc__spawn_started(sp) && lipc__spawn_files_refused(sp)) lipc__clone_on_spawn_thread(sp);
    }
    if (lipc__spawn_started(sp)) {
      rc = register_child(a, sp, out);
    } else {
      lipc__spawn_close_after(sp, 0);
      lipc__spawn_give_back_parent_fds(a, sp->claim);
      lipc_req f = {.op = LIPC_OP_PROC_SPAWN_FINISH};
      f.i[0] = (int64_t)(uintptr_t)sp;
      rc = lipc__call(&f);
      if (rc == LIPC_OK) rc = lipc__fail(LIPC_EINVAL, EINVAL, "proc_spawn: the child did not start");
    }
    lipc__spawn_free(sp);
  }
  lipc__handle_release(s);
  return rc;
}

int lipc_proc_pid(lipc_handle_t h, int64_t *pid) {
  if (!pid) return lipc__fail(LIPC_EINVAL, EINVAL, "proc_pid: pid must not be NULL");
  ACQUIRE_PROC(h, "proc_pid");
  *pid = p->pid;
  RELEASE_PROC(LIPC_OK);
}

int lipc_proc_path(lipc_handle_t h, char *buf, size_t size, size_t *needed) {
  ACQUIRE_PROC(h, "proc_path");
  size_t n = strlen(p->path) + 1;
  if (needed) *needed = n;
  if (!buf || size < n)
    RELEASE_PROC(lipc__fail(LIPC_ERANGE, ERANGE, "proc_path: buffer of %zu bytes, %zu needed", size, n));
  memcpy(buf, p->path, n);
  RELEASE_PROC(LIPC_OK);
}

/* Every call below that reaches a cancellation point (close, ppoll, poll,
 * fopen and its reads) runs with cancellation disabled (lipc.h): cancelled
 * there, a thread would leave p->mu locked (every later call on the handle
 * hangs), a poller counted (the pidfd of a reaped child never closed) or an
 * fd taken out of its slot and not closed. */
static int pipe_op_now(lipc_handle_t h, int child_fd, int *fd, const char *what);
static int pipe_op(lipc_handle_t h, int child_fd, int *fd, const char *what) {
  return LIPC_NO_CANCEL(pipe_op_now(h, child_fd, fd, what));
}

static int pipe_op_now(lipc_handle_t h, int child_fd, int *fd, const char *what) {
  ACQUIRE_PROC(h, what);
  pthread_mutex_lock(&p->mu);
  int *slot = lipc__proc_pipe_slot(p, child_fd);
  int rc = LIPC_OK;
  if (!slot) {
    rc = lipc__fail(LIPC_ENOENT, ENOENT, "%s: child fd %d has no pipe end here (not a pipe, "
                    "or already taken or closed)", what, child_fd);
  } else if (fd) {
    *fd = *slot;
    *slot = -1;
  } else {
    close(*slot);
    *slot = -1;
  }
  pthread_mutex_unlock(&p->mu);
  RELEASE_PROC(rc);
}

int lipc_proc_take_fd(lipc_handle_t h, int child_fd, int *fd) {
  if (!fd) return lipc__fail(LIPC_EINVAL, EINVAL, "proc_take_fd: fd must not be NULL");
  return pipe_op(h, child_fd, fd, "proc_take_fd");
}

int lipc_proc_close_fd(lipc_handle_t h, int child_fd) {
  return pipe_op(h, child_fd, NULL, "proc_close_fd");
}

/* Closes the pidfd of a child that was reaped (or whose status someone
 * else took) once nothing needs it: no thread polls it and it was never
 * handed out. mu held. Every later answer comes from p->exit. */
static void release_pidfd_locked(struct lipc_proc *p) {
  if ((p->reaped || p->lost) && p->pidfd >= 0 && p->pollers == 0 && !p->pidfd_lent) {
    close(p->pidfd);
    p->pidfd = -1;
  }
}

/* 1 reaped, 0 running, or a negative code. Called with p->mu held, so
 * exactly one thread reaps. */
static int reap_locked(struct lipc_proc *p) {
  if (p->reaped) return 1;
  if (p->lost) return LIPC_ESTATUSLOST;
  int rc = lipc__reap(p->pidfd, &p->exit);
  if (rc < 0 && errno != ECHILD) return lipc__code_from_errno(errno);
  if (rc > 0) p->reaped = 1;
  if (rc < 0) p->lost = 1; /* ECHILD */
  release_pidfd_locked(p);
  return p->lost ? LIPC_ESTATUSLOST : rc;
}

static int reap_error(struct lipc_proc *p, int rc) {
  if (rc == LIPC_ESTATUSLOST)
    return lipc__fail(rc, ECHILD, "wait: the status of pid %d was collected by someone else "
                      "(the host reaped it with waitpid/waitid on all children)", (int)p->pid);
  return lipc__fail(rc, 0, "wait: pid %d: %s", (int)p->pid, lipc_strerror(rc));
}

/* Waits for the child until dl; timeout_ms is for the message. A timeout is
 * recorded as the last error unless quiet_timeout (lipc_proc_stop's grace
 * time running out is not a failure of the call). */
static int wait_until(struct lipc_proc *p, struct timespec dl, long long timeout_ms, int quiet_timeout) {
  for (;;) {
    pthread_mutex_lock(&p->mu);
    int rc = reap_locked(p);
    /* Not reaped: the pidfd is open, and stays open while this thread
     * polls it without the lock (another thread may reap meanwhile). */
    int fd = p->pidfd;
    if (rc == 0) p->pollers++;
    pthread_mutex_unlock(&p->mu);
    if (rc > 0) return LIPC_OK;
    if (rc < 0) return reap_error(p, rc);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    struct timespec rem;
    int n = ppoll(&pfd, 1, lipc__remaining(dl, &rem), NULL);
    int e = errno;
    pthread_mutex_lock(&p->mu);
    p->pollers--;
    release_pidfd_locked(p);
    pthread_mutex_unlock(&p->mu);
    if (n < 0 && e == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "wait: interrupted by a signal");
    if (n < 0) return lipc__fail(lipc__code_from_errno(e), e, "wait: poll on pidfd failed");
    if (n == 0 && quiet_timeout) return LIPC_ETIMEDOUT;
    if (n == 0)
      return lipc__fail(LIPC_ETIMEDOUT, ETIMEDOUT, "wait: pid %d still running after %lld ms",
                        (int)p->pid, timeout_ms);
  }
}

int lipc__proc_wait_until(struct lipc_proc *p, struct timespec dl, long long timeout_ms) {
  return wait_until(p, dl, timeout_ms, 0);
}

static void exit_out(struct lipc_proc *p, int *code, int *sig) {
  if (code) *code = p->exit.code;
  if (sig) *sig = p->exit.signal;
}

static int proc_wait(lipc_handle_t h, int64_t timeout_ms, int *code, int *sig);
int lipc_proc_wait(lipc_handle_t h, int64_t timeout_ms, int *code, int *sig) {
  return LIPC_NO_CANCEL(proc_wait(h, timeout_ms, code, sig));
}

static int proc_wait(lipc_handle_t h, int64_t timeout_ms, int *code, int *sig) {
  ACQUIRE_PROC(h, "proc_wait");
  int rc = lipc__proc_wait_until(p, lipc__deadline(timeout_ms), timeout_ms);
  if (rc == LIPC_OK) exit_out(p, code, sig);
  RELEASE_PROC(rc);
}

/* 0, or -1 with errno. mu held: a child that is not reaped keeps its pid
 * (and a group it leads keeps its id), so neither can name another process. */
static int signal_locked(struct lipc_proc *p, int sig, int group) {
  if (group) return kill(-p->pid, sig) == 0 ? 0 : -1;
  return syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) == 0 ? 0 : -1;
}

/* Sends sig; a child that has exited is LIPC_ENOENT, recorded as the last
 * error only when gone_is_error (lipc_proc_stop goes on to the status
 * then, and a success must leave the last error alone). */
static int send_signal(struct lipc_proc *p, int sig, int group, const char *what, int gone_is_error) {
  if (sig < 0 || sig > 64) return lipc__fail(LIPC_EINVAL, EINVAL, "%s: %d is not a signal", what, sig);
  pthread_mutex_lock(&p->mu);
  int rc = LIPC_OK;
  if (p->reaped || p->lost) {
    rc = gone_is_error ? lipc__fail(LIPC_ENOENT, ESRCH, "%s: pid %d has exited", what, (int)p->pid)
                       : LIPC_ENOENT;
  } else if (group && getpgid(p->pid) != p->pid) {
    /* Only a child that leads its own group: the group a child merely
     * belongs to may be the host's own. */
    rc = lipc__fail(LIPC_EINVAL, EINVAL, "%s: pid %d does not lead a process group (spawn it "
                    "with a new group or session)", what, (int)p->pid);
  } else if (signal_locked(p, sig, group) != 0) {
    int e = errno;
    if (e == ESRCH)
      rc = gone_is_error ? lipc__fail(LIPC_ENOENT, ESRCH, "%s: pid %d has exited", what, (int)p->pid)
                         : LIPC_ENOENT;
    else
      rc = lipc__fail(lipc__code_from_errno(e), e, "%s: signal %d to pid %d", what, sig, (int)p->pid);
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int lipc_proc_kill(lipc_handle_t h, int sig, int group) {
  ACQUIRE_PROC(h, "proc_kill");
  RELEASE_PROC(send_signal(p, sig, group, "proc_kill", 1));
}

static int proc_stop(lipc_handle_t h, int64_t grace_ms, int group, int *code, int *sig);
int lipc_proc_stop(lipc_handle_t h, int64_t grace_ms, int group, int *code, int *sig) {
  return LIPC_NO_CANCEL(proc_stop(h, grace_ms, group, code, sig));
}

static int proc_stop(lipc_handle_t h, int64_t grace_ms, int group, int *code, int *sig) {
  ACQUIRE_PROC(h, "proc_stop");
  int rc = send_signal(p, SIGTERM, group, "proc_stop", 0);
  if (rc == LIPC_OK || rc == LIPC_ENOENT) {
    rc = wait_until(p, lipc__deadline(grace_ms < 0 ? 0 : grace_ms), grace_ms, 1);
    if (rc == LIPC_ETIMEDOUT) {
      send_signal(p, SIGKILL, group, "proc_stop", 0);
      rc = lipc__proc_wait_until(p, lipc__deadline(-1), -1);
    }
  }
  if (rc == LIPC_OK) exit_out(p, code, sig);
  RELEASE_PROC(rc);
}

void lipc__proc_closing(struct lipc_proc *p, int in_use) {
  if (p->on_close != LIPC_ON_CLOSE_STOP) return; /* set at spawn, never changed */
  int killer = -1;
  pthread_mutex_lock(&p->mu);
  if (!p->stopping && !p->reaped && !p->lost) {
    p->stopping = 1;
    p->stop_group = getpgid(p->pid) == p->pid;
    p->kill_at = lipc__deadline(p->grace_ms);
    if (signal_locked(p, SIGTERM, p->stop_group) != 0 && p->stop_group)
      signal_locked(p, SIGTERM, 0);
    /* The pidfd itself may sit in another thread's ppoll: the reaper gets
     * its own descriptor of the same child. */
    if (in_use) killer = fcntl(p->pidfd, F_DUPFD_CLOEXEC, 3);
  }
  struct timespec kill_at = p->kill_at;
  int group = p->stop_group;
  pthread_mutex_unlock(&p->mu);
  if (killer < 0) return; /* not in use (destroyed next), or no fd to spare: SIGKILL comes at destroy */
  lipc_req r = {.op = LIPC_OP_PROC_CLOSING};
  r.i[0] = (int64_t)(uintptr_t)p;
  r.i[1] = killer; /* Go owns it from here */
  r.i[2] = p->pid;
  r.i[3] = (int64_t)kill_at.tv_sec * 1000000000 + kill_at.tv_nsec;
  r.i[4] = group;
  if (lipc__call(&r) == LIPC_OK) {
    pthread_mutex_lock(&p->mu);
    p->watched = 1; /* the reaper points at p until lipc__proc_destroy tells it to let go */
    pthread_mutex_unlock(&p->mu);
  }
}

/* A process handle has no Go object behind it: closing one whose child was
 * reaped (the usual end: spawn, wait, close) runs in C alone. Go is asked
 * only to take a child that still runs (reaped later, SIGKILLed when the
 * stop policy says) or to drop the SIGKILL watch it keeps on p. That Go
 * call on every close cost 3-6 us, and woke Go's sysmon and an idle thread
 * when the caller's Go processor had been taken back meanwhile (issue 12). */
void lipc__proc_destroy(struct lipc_proc *p) {
  if (!lipc__in_fork_child()) {
    lipc__proc_closing(p, 0); /* a no-op if lipc_close applied the policy */
    pthread_mutex_lock(&p->mu);
    int for_go = p->watched || (!p->reaped && !p->lost && p->pidfd >= 0);
    pthread_mutex_unlock(&p->mu);
    if (for_go) {
      lipc_req r = {.op = LIPC_OP_PROC_RELEASE, .quiet = 1};
      r.i[0] = (int64_t)(uintptr_t)p;
      lipc__call(&r); /* takes p->pidfd if the reaper adopts the child */
    }
  }
  lipc__proc_free(p);
}

/* Figures of a running child from /proc. */
static int proc_stat_times(pid_t pid, int64_t *ut_us, int64_t *st_us) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *s = strrchr(buf, ')'); /* the command name may hold spaces */
  if (!s) return -1;
  unsigned long long ut, st;
  if (sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  long hz = sysconf(_SC_CLK_TCK);
  *ut_us = (int64_t)(ut * 1000000ULL / (unsigned long long)hz);
  *st_us = (int64_t)(st * 1000000ULL / (unsigned long long)hz);
  return 0;
}

static int64_t proc_status_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "re");
  if (!f) return -1;
  int64_t v = -1;
  size_t flen = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
      v = strtoll(line + flen + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static int info_locked(struct lipc_proc *p, int what, int64_t *v) {
  if (what == LIPC_PROC_PIDFD) {
    /* Never a number that was closed (and may have been reused since). */
    if (p->pidfd < 0)
      return lipc__fail(LIPC_ENOENT, ESRCH, "proc_info: pid %d was reaped and its pidfd closed "
                        "(ask for the pidfd before waiting to keep it)", (int)p->pid);
    p->pidfd_lent = 1; /* the caller may poll it from now on: kept until close */
    *v = p->pidfd;
    return LIPC_OK;
  }
  int done = p->reaped;
  if (what == LIPC_PROC_RUNNING) {
    if (done || p->lost) {
      *v = 0;
      return LIPC_OK;
    }
    struct pollfd pfd = {.fd = p->pidfd, .events = POLLIN};
    *v = poll(&pfd, 1, 0) != 1;
    return LIPC_OK;
  }
  if (p->lost && what >= LIPC_PROC_EXIT_CODE && what <= LIPC_PROC_RSS_KB)
    return lipc__fail(LIPC_ESTATUSLOST, ECHILD, "proc_info: the status of pid %d was collected by "
                      "someone else: no figures (the pid may belong to another process now)", (int)p->pid);
  if (done) {
    switch (what) {
      case LIPC_PROC_EXIT_CODE: *v = p->exit.code; return LIPC_OK;
      case LIPC_PROC_SIGNAL: *v = p->exit.signal; return LIPC_OK;
      case LIPC_PROC_CORE_DUMPED: *v = p->exit.core_dumped; return LIPC_OK;
      case LIPC_PROC_UTIME_US: *v = p->exit.utime_us; return LIPC_OK;
      case LIPC_PROC_STIME_US: *v = p->exit.stime_us; return LIPC_OK;
      case LIPC_PROC_MAXRSS_KB: *v = p->exit.maxrss_kb; return LIPC_OK;
      case LIPC_PROC_RSS_KB:
        return lipc__fail(LIPC_EAGAIN, EAGAIN, "proc_info: pid %d has exited: no current RSS", (int)p->pid);
    }
  } else {
    int64_t ut, st;
    switch (what) {
      case LIPC_PROC_EXIT_CODE:
      case LIPC_PROC_SIGNAL:
      case LIPC_PROC_CORE_DUMPED:
        return lipc__fail(LIPC_EAGAIN, EAGAIN, "proc_info: pid %d has not been waited for", (int)p->pid);
      case LIPC_PROC_UTIME_US:
      case LIPC_PROC_STIME_US:
        if (proc_stat_times(p->pid, &ut, &st) != 0) break;
        *v = what == LIPC_PROC_UTIME_US ? ut : st;
        return LIPC_OK;
      case LIPC_PROC_MAXRSS_KB:
      case LIPC_PROC_RSS_KB:
        *v = proc_status_kb(p->pid, what == LIPC_PROC_RSS_KB ? "VmRSS" : "VmHWM");
        if (*v < 0) *v = 0; /* a zombie has no memory left */
        return LIPC_OK;
    }
    if (what >= LIPC_PROC_UTIME_US && what <= LIPC_PROC_STIME_US)
      return lipc__fail(LIPC_ENOTSUP, errno, "proc_info: cannot read /proc/%d/stat", (int)p->pid);
  }
  return lipc__fail(LIPC_EINVAL, EINVAL, "proc_info: unknown figure %d", what);
}

static int proc_info(lipc_handle_t h, int what, int64_t *value);
int lipc_proc_info(lipc_handle_t h, int what, int64_t *value) {
  return LIPC_NO_CANCEL(proc_info(h, what, value));
}

static int proc_info(lipc_handle_t h, int what, int64_t *value) {
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "proc_info: value must not be NULL");
  ACQUIRE_PROC(h, "proc_info");
  pthread_mutex_lock(&p->mu);
  int rc = info_locked(p, what, value);
  pthread_mutex_unlock(&p->mu);
  RELEASE_PROC(rc);
}

static int proc_info_many(lipc_handle_t h, const int *what, int64_t *values, int *rcs, int n);
int lipc_proc_info_many(lipc_handle_t h, const int *what, int64_t *values, int *rcs, int n) {
  return LIPC_NO_CANCEL(proc_info_many(h, what, values, rcs, n));
}

/* One handle check and one hold of the lock for all the figures: a reaped
 * child's cannot change in between, and a binding describing a child makes
 * one C call instead of one a figure (issue 12). */
static int proc_info_many(lipc_handle_t h, const int *what, int64_t *values, int *rcs, int n) {
  int rc = lipc__info_many_args(what, values, rcs, n);
  if (rc != LIPC_OK) return rc;
  ACQUIRE_PROC(h, "proc_info_many");
  pthread_mutex_lock(&p->mu);
  lipc__fail_quietly(1);
  for (int i = 0; i < n; i++) rcs[i] = info_locked(p, what[i], &values[i]);
  lipc__fail_quietly(0);
  pthread_mutex_unlock(&p->mu);
  RELEASE_PROC(LIPC_OK);
}
