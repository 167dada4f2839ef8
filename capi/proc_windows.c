/* proc_windows.c - process handles on Windows: waits, kills, pipe
 * hand-outs and figures, in C on the caller's thread.
 *
 * Windows has no zombies and no reaping: the process HANDLE keeps the exit
 * code and the figures readable, and lipc keeps it open until the lipc
 * handle is destroyed, so nobody else can "take the status"
 * (LIPC_ESTATUSLOST never happens) and LIPC_PROC_PIDFD is always there.
 * "Reaped" means a wait saw the child exit: from then on its status and
 * figures are cached in the handle.
 *
 * Signals: Windows has none to send. lipc_proc_kill ends the child with
 * TerminateProcess and exit code 1 (as Python's subprocess, Go's os/exec
 * and libuv do) for SIGINT, SIGQUIT, SIGKILL and SIGTERM; a console
 * control event (CTRL_BREAK_EVENT, what a console's Ctrl-Break sends) is
 * the graceful stop, for a child that leads its own process group
 * (lipc_spawnattr_set_pgroup 0) and shares the parent's console. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
/* after windows.h (internal.h) */
#include <psapi.h>
#include "proc_windows.h"

#define SIG_INT 2
#define SIG_QUIT 3
#define SIG_KILL 9
#define SIG_TERM 15
#define SIG_BREAK 21 /* the C runtime's SIGBREAK */

static void close_pipes(struct lipc_wproc *p) {
  for (int i = 0; i < p->npipes; i++)
    if (p->pipes[i].h) CloseHandle(p->pipes[i].h);
  free(p->pipes);
  p->pipes = NULL;
  p->npipes = 0;
}

/* An autokill job must outlive the handle: closing its last handle kills
 * every process in it, which is only meant to happen when the parent
 * process ends. So a job whose processes still run stays open (one kernel
 * handle, released by the system when the parent exits); an empty one is
 * closed. */
static void release_job(struct lipc_wproc *p) {
  if (!p->job) return;
  if (p->autokill) {
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION acc;
    if (QueryInformationJobObject(p->job, JobObjectBasicAccountingInformation, &acc, sizeof acc, NULL) &&
        acc.ActiveProcesses > 0)
      return; /* kept on purpose, see above */
  }
  CloseHandle(p->job);
  p->job = NULL;
}

void lipc__proc_free_kind(int kind, void *obj) {
  if (kind == LIPC_KIND_SPAWNATTR) {
    lipc__wspawnattr_free(obj);
    return;
  }
  struct lipc_wproc *p = obj;
  close_pipes(p);
  release_job(p);
  if (p->process) CloseHandle(p->process);
  free(p->comm.buf[0]);
  free(p->comm.buf[1]);
  free(p->path);
  free(p);
}

struct lipc_wpipe *lipc__wproc_pipe(struct lipc_wproc *p, int child_fd) {
  for (int i = 0; i < p->npipes; i++)
    if (p->pipes[i].child_fd == child_fd && p->pipes[i].h) return &p->pipes[i];
  return NULL;
}

#define ACQUIRE_PROC(h)                                             \
  lipc_slot *slot_;                                                 \
  int rc_ = lipc__handle_acquire(h, LIPC_KIND_PROC, &slot_);        \
  if (rc_ != LIPC_OK) return rc_;                                   \
  struct lipc_wproc *p = lipc__slot_obj(slot_)

#define RELEASE_PROC(rc)         \
  do {                           \
    int r_ = (rc);               \
    lipc__handle_release(slot_); \
    return r_;                   \
  } while (0)

int lipc_proc_pid(lipc_handle_t h, int64_t *pid) {
  if (!pid) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "proc_pid: pid must not be NULL");
  ACQUIRE_PROC(h);
  *pid = p->pid;
  RELEASE_PROC(LIPC_OK);
}

int lipc_proc_path(lipc_handle_t h, char *buf, size_t size, size_t *needed) {
  ACQUIRE_PROC(h);
  size_t n = strlen(p->path) + 1;
  if (needed) *needed = n;
  if (!buf || size < n)
    RELEASE_PROC(lipc__fail(LIPC_ERANGE, ERROR_INSUFFICIENT_BUFFER, "proc_path: buffer of %zu bytes, %zu needed",
                            size, n));
  memcpy(buf, p->path, n);
  RELEASE_PROC(LIPC_OK);
}

static int pipe_op(lipc_handle_t h, int child_fd, int *fd, const char *what) {
  ACQUIRE_PROC(h);
  AcquireSRWLockExclusive(&p->mu);
  struct lipc_wpipe *e = lipc__wproc_pipe(p, child_fd);
  int rc = LIPC_OK;
  if (!e) {
    rc = lipc__fail(LIPC_ENOENT, ERROR_FILE_NOT_FOUND, "%s: child fd %d has no pipe end here (not a pipe, "
                    "or already taken or closed)", what, child_fd);
  } else if (fd) {
    rc = lipc__win_fd(e->h, fd, what);
    if (rc == LIPC_OK) e->h = NULL;
  } else {
    CloseHandle(e->h);
    e->h = NULL;
  }
  ReleaseSRWLockExclusive(&p->mu);
  RELEASE_PROC(rc);
}

int lipc_proc_take_fd(lipc_handle_t h, int child_fd, int *fd) {
  if (!fd) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "proc_take_fd: fd must not be NULL");
  return pipe_op(h, child_fd, fd, "proc_take_fd");
}

int lipc_proc_close_fd(lipc_handle_t h, int child_fd) { return pipe_op(h, child_fd, NULL, "proc_close_fd"); }

static int64_t filetime_us(FILETIME t) {
  return (int64_t)((((uint64_t)t.dwHighDateTime << 32) | t.dwLowDateTime) / 10);
}

static void times_of(HANDLE h, int64_t *ut, int64_t *st) {
  FILETIME c, e, k, u;
  *ut = *st = 0;
  if (GetProcessTimes(h, &c, &e, &k, &u)) {
    *ut = filetime_us(u);
    *st = filetime_us(k);
  }
}

static void memory_of(HANDLE h, int64_t *rss_kb, int64_t *peak_kb) {
  PROCESS_MEMORY_COUNTERS m;
  memset(&m, 0, sizeof m);
  m.cb = sizeof m;
  *rss_kb = *peak_kb = 0;
  if (GetProcessMemoryInfo(h, &m, sizeof m)) {
    *rss_kb = (int64_t)(m.WorkingSetSize / 1024);
    *peak_kb = (int64_t)(m.PeakWorkingSetSize / 1024);
  }
}

/* The child has exited: its status and figures, once. mu held. */
static void cache_exit_locked(struct lipc_wproc *p) {
  if (p->reaped) return;
  DWORD code = 0;
  GetExitCodeProcess(p->process, &code);
  p->code = (int)code;
  int64_t rss;
  times_of(p->process, &p->utime_us, &p->stime_us);
  memory_of(p->process, &rss, &p->maxrss_kb);
  p->reaped = 1;
}

static int exited(struct lipc_wproc *p) { return WaitForSingleObject(p->process, 0) == WAIT_OBJECT_0; }

int lipc__wproc_wait(struct lipc_wproc *p, int64_t deadline_ms, int64_t timeout_ms, int quiet) {
  AcquireSRWLockShared(&p->mu);
  int done = p->reaped;
  ReleaseSRWLockShared(&p->mu);
  if (!done) {
    int64_t left = deadline_ms < 0 ? -1 : deadline_ms - lipc__now_ms();
    if (deadline_ms >= 0 && left < 0) left = 0;
    DWORD which;
    int rc = lipc__win_wait(&p->process, 1, left, &which, NULL, "wait");
    if (rc == LIPC_ETIMEDOUT) {
      if (quiet) return rc;
      return lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "wait: pid %lu still running after %lld ms",
                        (unsigned long)p->pid, (long long)timeout_ms);
    }
    if (rc == LIPC_EINTR) return lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "wait: interrupted (Ctrl-C)");
    if (rc != LIPC_OK) return rc;
    AcquireSRWLockExclusive(&p->mu);
    cache_exit_locked(p);
    ReleaseSRWLockExclusive(&p->mu);
  }
  return LIPC_OK;
}

static int64_t deadline_of(int64_t timeout_ms) { return timeout_ms < 0 ? -1 : lipc__deadline_ms(timeout_ms); }

static void exit_out(struct lipc_wproc *p, int *code, int *sig) {
  AcquireSRWLockShared(&p->mu);
  if (code) *code = p->code;
  if (sig) *sig = p->killed_by;
  ReleaseSRWLockShared(&p->mu);
}

int lipc_proc_wait(lipc_handle_t h, int64_t timeout_ms, int *code, int *sig) {
  ACQUIRE_PROC(h);
  int rc = lipc__wproc_wait(p, deadline_of(timeout_ms), timeout_ms, 0);
  if (rc == LIPC_OK) exit_out(p, code, sig);
  RELEASE_PROC(rc);
}

/* Ends the child (group: its whole job, the counterpart of its process
 * group) with exit code 1; records sig as what ended it. mu held. */
static int terminate_locked(struct lipc_wproc *p, int sig, int group, const char *what) {
  BOOL ok = group && p->job ? TerminateJobObject(p->job, 1) : TerminateProcess(p->process, 1);
  if (!ok) {
    DWORD e = GetLastError();
    if (exited(p)) return LIPC_ENOENT; /* it was already on its way out */
    return lipc__fail_win(e, "%s: TerminateProcess of pid %lu", what, (unsigned long)p->pid);
  }
  if (!p->reaped && !p->killed_by) p->killed_by = sig;
  return LIPC_OK;
}

static int ctrl_break(struct lipc_wproc *p, const char *what) {
  if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, p->pid))
    return lipc__fail_win(GetLastError(), "%s: CTRL_BREAK_EVENT to the group of pid %lu (it must share the "
                          "parent's console)", what, (unsigned long)p->pid);
  return LIPC_OK;
}

/* Sends sig as Windows can; LIPC_ENOENT for a child that has exited,
 * recorded only when gone_is_error. */
static int send_signal(struct lipc_wproc *p, int sig, int group, const char *what, int gone_is_error) {
  if (sig < 0 || sig > 64) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: %d is not a signal", what, sig);
  if (sig != 0 && sig != SIG_INT && sig != SIG_QUIT && sig != SIG_KILL && sig != SIG_TERM && sig != SIG_BREAK)
    return lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED, "%s: signal %d has no Windows counterpart (0, SIGINT, "
                      "SIGQUIT, SIGKILL, SIGTERM and SIGBREAK have)", what, sig);
  AcquireSRWLockExclusive(&p->mu);
  int rc = LIPC_OK;
  if (p->reaped || exited(p)) {
    rc = LIPC_ENOENT;
  } else if (group && !p->new_group) {
    rc = lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: pid %lu does not lead a process group (spawn it "
                    "with set_pgroup 0)", what, (unsigned long)p->pid);
  } else if (sig == 0) {
    rc = LIPC_OK;
  } else if (group && (sig == SIG_INT || sig == SIG_BREAK)) {
    rc = ctrl_break(p, what);
  } else if (sig == SIG_BREAK) {
    rc = lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: SIGBREAK goes to a process group: pass group 1 "
                    "(and spawn the child with set_pgroup 0)", what);
  } else {
    rc = terminate_locked(p, sig, group, what);
  }
  ReleaseSRWLockExclusive(&p->mu);
  if (rc == LIPC_ENOENT && gone_is_error)
    rc = lipc__fail(LIPC_ENOENT, ERROR_INVALID_HANDLE, "%s: pid %lu has exited", what, (unsigned long)p->pid);
  return rc;
}

int lipc_proc_kill(lipc_handle_t h, int sig, int group) {
  ACQUIRE_PROC(h);
  RELEASE_PROC(send_signal(p, sig, group, "proc_kill", 1));
}

/* Windows has no SIGTERM a program could catch: a group leader gets
 * CTRL_BREAK_EVENT and grace_ms to end, any other child is terminated at
 * once; what remains after the grace time is terminated. */
int lipc_proc_stop(lipc_handle_t h, int64_t grace_ms, int group, int *code, int *sig) {
  ACQUIRE_PROC(h);
  int rc = LIPC_OK;
  if (group && !p->new_group) {
    rc = lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "proc_stop: pid %lu does not lead a process group "
                    "(spawn it with set_pgroup 0)", (unsigned long)p->pid);
    RELEASE_PROC(rc);
  }
  if (group) {
    rc = send_signal(p, SIG_BREAK, 1, "proc_stop", 0);
    if (rc == LIPC_OK || rc == LIPC_ENOENT)
      rc = lipc__wproc_wait(p, deadline_of(grace_ms < 0 ? 0 : grace_ms), grace_ms, 1);
    else
      rc = LIPC_ETIMEDOUT; /* no console to send it through: terminate below */
  } else {
    rc = LIPC_ETIMEDOUT;
  }
  if (rc == LIPC_ETIMEDOUT) {
    send_signal(p, SIG_KILL, group, "proc_stop", 0);
    rc = lipc__wproc_wait(p, -1, -1, 0);
  }
  if (rc == LIPC_OK) exit_out(p, code, sig);
  RELEASE_PROC(rc);
}

/* TerminateProcess after the grace time, on a timer of the system's
 * thread pool holding its own duplicate of the process handle. */
struct late_kill {
  HANDLE process, job, timer;
};

static VOID CALLBACK late_kill_fire(PVOID arg, BOOLEAN fired) {
  (void)fired;
  struct late_kill *k = arg;
  if (WaitForSingleObject(k->process, 0) != WAIT_OBJECT_0) {
    if (k->job) TerminateJobObject(k->job, 1);
    else TerminateProcess(k->process, 1);
  }
  CloseHandle(k->process);
  if (k->job) CloseHandle(k->job);
  DeleteTimerQueueTimer(NULL, k->timer, NULL); /* non-blocking from inside the callback */
  free(k);
}

void lipc__proc_closing_kind(int kind, void *obj, int in_use) {
  (void)in_use;
  if (kind != LIPC_KIND_PROC) return;
  struct lipc_wproc *p = obj;
  if (p->on_close != LIPC_ON_CLOSE_STOP) return;
  AcquireSRWLockExclusive(&p->mu);
  if (!p->stopping && !p->reaped && !exited(p)) {
    p->stopping = 1;
    if (p->new_group && p->grace_ms > 0 && ctrl_break(p, "close") == LIPC_OK) {
      struct late_kill *k = calloc(1, sizeof *k);
      if (k && DuplicateHandle(GetCurrentProcess(), p->process, GetCurrentProcess(), &k->process, 0, FALSE,
                               DUPLICATE_SAME_ACCESS)) {
        if (p->job)
          DuplicateHandle(GetCurrentProcess(), p->job, GetCurrentProcess(), &k->job, 0, FALSE, DUPLICATE_SAME_ACCESS);
        DWORD ms = p->grace_ms > 0x7FFFFFFF ? 0x7FFFFFFF : (DWORD)p->grace_ms;
        if (CreateTimerQueueTimer(&k->timer, NULL, late_kill_fire, k, ms, 0, WT_EXECUTEONLYONCE)) k = NULL;
      }
      if (k) { /* no timer: terminate now rather than never */
        if (k->process) CloseHandle(k->process);
        if (k->job) CloseHandle(k->job);
        free(k);
        terminate_locked(p, SIG_KILL, 1, "close");
      }
    } else {
      terminate_locked(p, SIG_KILL, p->new_group, "close");
    }
  }
  ReleaseSRWLockExclusive(&p->mu);
}

static int info_locked(struct lipc_wproc *p, int what, int64_t *v) {
  int fd;
  switch (what) {
    case LIPC_PROC_PIDFD:
      if (lipc__win_fd(p->process, &fd, "proc_info") != LIPC_OK) return LIPC_EINVAL;
      *v = fd;
      return LIPC_OK;
    case LIPC_PROC_RUNNING: *v = !p->reaped && !exited(p); return LIPC_OK;
    case LIPC_PROC_EXIT_CODE:
    case LIPC_PROC_SIGNAL:
    case LIPC_PROC_CORE_DUMPED:
      if (!p->reaped)
        return lipc__fail(LIPC_EAGAIN, ERROR_NOT_READY, "proc_info: pid %lu has not been waited for",
                          (unsigned long)p->pid);
      *v = what == LIPC_PROC_EXIT_CODE ? p->code : what == LIPC_PROC_SIGNAL ? p->killed_by : 0;
      return LIPC_OK;
    case LIPC_PROC_UTIME_US:
    case LIPC_PROC_STIME_US: {
      int64_t ut = p->utime_us, st = p->stime_us;
      if (!p->reaped) times_of(p->process, &ut, &st);
      *v = what == LIPC_PROC_UTIME_US ? ut : st;
      return LIPC_OK;
    }
    case LIPC_PROC_MAXRSS_KB:
    case LIPC_PROC_RSS_KB: {
      if (p->reaped && what == LIPC_PROC_RSS_KB)
        return lipc__fail(LIPC_EAGAIN, ERROR_NOT_READY, "proc_info: pid %lu has exited: no current RSS",
                          (unsigned long)p->pid);
      int64_t rss = 0, peak = p->maxrss_kb;
      if (!p->reaped) memory_of(p->process, &rss, &peak);
      *v = what == LIPC_PROC_RSS_KB ? rss : peak;
      return LIPC_OK;
    }
  }
  return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "proc_info: unknown figure %d", what);
}

int lipc_proc_info(lipc_handle_t h, int what, int64_t *value) {
  if (!value) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "proc_info: value must not be NULL");
  ACQUIRE_PROC(h);
  AcquireSRWLockExclusive(&p->mu);
  int rc = info_locked(p, what, value);
  ReleaseSRWLockExclusive(&p->mu);
  RELEASE_PROC(rc);
}

/* As on Linux (api_proc_linux.c): one handle check, one hold of the lock. */
int lipc_proc_info_many(lipc_handle_t h, const int *what, int64_t *values, int *rcs, int n) {
  int rc = lipc__info_many_args(what, values, rcs, n);
  if (rc != LIPC_OK) return rc;
  ACQUIRE_PROC(h);
  AcquireSRWLockExclusive(&p->mu);
  lipc__fail_quietly(1);
  for (int i = 0; i < n; i++) rcs[i] = info_locked(p, what[i], &values[i]);
  lipc__fail_quietly(0);
  ReleaseSRWLockExclusive(&p->mu);
  RELEASE_PROC(LIPC_OK);
}
