/* proc.h - the C side of a process handle: what waits, signals and pipe
 * hand-outs need without entering Go. */
#ifndef LIPC_PROC_H
#define LIPC_PROC_H
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "../core/proc/reap_linux.h"

struct lipc_pipe_end {
  int child_fd;
  int fd; /* the parent's end; -1 once taken or closed */
};

/* What communicate has collected so far; kept across timeouts. */
struct lipc_comm {
  char *buf[2]; /* stdout, stderr */
  size_t len[2], cap[2];
  size_t in_off;
  int active;
  int had[2]; /* stdout, stderr were pipes of this process when the first call began */
};

/* Everything below mu is read and written with mu held, except where a
 * field says otherwise. */
struct lipc_proc {
  pthread_mutex_t mu;
  pid_t pid;
  /* The child's pidfd; -1 once released. A reaped child needs no fd: its
   * status is cached in `exit`, so the pidfd is closed as soon as no thread
   * polls it (pollers) and it was never handed out (pidfd_lent). */
  int pidfd;
  int pollers;    /* threads in ppoll on pidfd without mu: it stays open for them */
  int pidfd_lent; /* LIPC_PROC_PIDFD gave it out: open until the handle is destroyed */
  char *path;
  struct lipc_pipe_end *pipes;
  int npipes;
  int reaped, lost;
  struct lipc_exit exit;
  int on_close;
  long long grace_ms;
  /* Set once the stop policy was applied (at lipc_close): SIGTERM was sent,
   * SIGKILL follows at kill_at (CLOCK_MONOTONIC), to the group if the child
   * led one then. */
  int stopping, stop_group;
  struct timespec kill_at;
  int watched; /* lipc's reaper holds a SIGKILL watch on this object (lipc__proc_closing) */
  struct lipc_comm comm;
};

__attribute__((visibility("hidden"))) struct lipc_proc *lipc__proc_new(int pid, int pidfd, const char *path, int on_close,
                                 long long grace_ms);
__attribute__((visibility("hidden"))) int lipc__proc_add_pipe(struct lipc_proc *p, int child_fd, int fd);
__attribute__((visibility("hidden"))) void lipc__proc_free(struct lipc_proc *p);
/* Frees the object of a handle that is gone (its last user let go): applies
 * the close policy if lipc_close did not, and asks Go only when there is
 * something for the reaper (a child not reaped, or a SIGKILL watch), then
 * lipc__proc_free. In the child of a fork, only the freeing. */
__attribute__((visibility("hidden"))) void lipc__proc_destroy(struct lipc_proc *p);
/* For lipc_proc_communicate (communicate_linux.c): reads and writes of pipe
 * ends under the object's lock. */
__attribute__((visibility("hidden"))) int lipc__proc_wait_until(struct lipc_proc *p, struct timespec dl, long long timeout_ms);
__attribute__((visibility("hidden"))) int *lipc__proc_pipe_slot(struct lipc_proc *p, int child_fd);
/* The close policy, applied when lipc_close is called even while other
 * threads still use the handle (in_use), and again (a no-op then) when the
 * object is destroyed. Sends SIGTERM under the stop policy; when in_use,
 * hands lipc's reaper a duplicate of the pidfd to send SIGKILL at kill_at
 * while the handle lives on (ops_proc_linux.go). */
__attribute__((visibility("hidden"))) void lipc__proc_closing(struct lipc_proc *p, int in_use);
#endif
