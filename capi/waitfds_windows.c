/* waitfds_windows.c - lipc_wait_fds on Windows, where an "fd" is a HANDLE
 * and Windows has no poll: what "ready" means depends on the handle.
 *  - a pipe end: READ when data is waiting or the writer has gone (end of
 *    file: READ|HUP), found with PeekNamedPipe; WRITE while the reader is
 *    there (Windows has no dependable figure of the room left: Wine
 *    reports none, and Windows' write quota counts pending reads), WRITE|ERR
 *    once it has gone (a write fails at once with LIPC_ECLOSED). Pipes are
 *    looked at again and again, sleeping 1 ms, doubling up to 16 ms,
 *    between looks: Windows cannot wait for a pipe without reading it.
 *  - a process (what LIPC_PROC_PIDFD gives), a thread, or any other
 *    waitable kernel object: READ when signaled (a process: once it has
 *    exited; a semaphore, mutex or auto-reset event: the wait takes it,
 *    as any Windows wait does, and READ says the caller now has it), waited for with WaitForMultipleObjects through lipc__win_wait
 *    in groups of 63, so any number works (beyond 63 they are looked at in
 *    turns, as pipes are).
 *  - a console input: READ when input events are pending; WRITE always.
 *  - a disk file: READ and WRITE always (as poll says of regular files).
 * Every sleep goes through lipc__win_wait: the deadline is kept and a
 * console control event (Ctrl-C) ends it with LIPC_EINTR. */
#include <stdlib.h>

#include "fd_windows.h"

#define LIPC_WAIT_MAX_FDS 4096
#define NAP_MAX_MS 16

struct slot {
  HANDLE h;
  enum lipc_win_io io;
  DWORD type;
  int taken; /* lipc__win_wait found it signaled, and so took it */
};

/* What fds[i] is ready for now (LIPC_WAIT_*), 0 for nothing. */
static int ready_now(struct slot *s, int events) {
  int want_r = events & LIPC_WAIT_READ, want_w = events & LIPC_WAIT_WRITE;
  if (s->io == LIPC_IO_BAD) return LIPC_WAIT_ERR;
  if (s->io == LIPC_IO_OBJECT || s->type == FILE_TYPE_CHAR) {
    int r = 0;
    if (want_r && s->taken) {
      r |= LIPC_WAIT_READ;
    } else if (want_r) {
      /* A wait of 0 ms: on a semaphore, mutex or auto-reset event it
       * takes the object, as any wait on it does. */
      DWORD w = WaitForSingleObject(s->h, 0);
      if (w == WAIT_OBJECT_0 || w == WAIT_ABANDONED) r |= LIPC_WAIT_READ;
      else if (w == WAIT_FAILED) return LIPC_WAIT_ERR;
    }
    if (want_w && s->type == FILE_TYPE_CHAR) r |= LIPC_WAIT_WRITE;
    return r;
  }
  if (s->type != FILE_TYPE_PIPE) return (want_r ? LIPC_WAIT_READ : 0) | (want_w ? LIPC_WAIT_WRITE : 0);
  DWORD avail, room;
  int rc = lipc__win_pipe_avail(s->h, &avail);
  if (rc == LIPC_OK) return (want_r && avail > 0 ? LIPC_WAIT_READ : 0) | (want_w ? LIPC_WAIT_WRITE : 0);
  if (rc == LIPC_ECLOSED) return LIPC_WAIT_READ | LIPC_WAIT_HUP | (want_w ? LIPC_WAIT_WRITE | LIPC_WAIT_ERR : 0);
  /* Not peekable: a write-only end. Is its reader there? */
  rc = lipc__win_pipe_room(s->h, &room);
  if (rc == LIPC_ECLOSED) return LIPC_WAIT_ERR | (want_w ? LIPC_WAIT_WRITE : 0);
  return want_w ? LIPC_WAIT_WRITE : 0;
}

/* Whether fds[i] must be looked at again (no waitable object tells). */
static int needs_looks(const struct slot *s, int events) {
  return s->io != LIPC_IO_BAD && s->io != LIPC_IO_OBJECT && s->type == FILE_TYPE_PIPE &&
         (events & LIPC_WAIT_READ);
}

/* Whether fds[i] is a waitable object lipc__win_wait can wait for. */
static int waitable(const struct slot *s, int events) {
  return (s->io == LIPC_IO_OBJECT || (s->io != LIPC_IO_BAD && s->type == FILE_TYPE_CHAR)) &&
         (events & LIPC_WAIT_READ);
}

static int scan(struct slot *s, const int *fds, const int *events, int *revents, int nfds) {
  int n = 0;
  for (int i = 0; i < nfds; i++) {
    int r = fds[i] < 0 ? 0 : ready_now(&s[i], events[i]);
    if (revents) revents[i] = r;
    n += r != 0;
  }
  return n;
}

int lipc_wait_fds(const int *fds, const int *events, int *revents, int nfds, int64_t timeout_ms, int *nready) {
  if (nfds < 0 || nfds > LIPC_WAIT_MAX_FDS)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "wait_fds: nfds %d is outside 0..%d", nfds,
                      LIPC_WAIT_MAX_FDS);
  if (nfds > 0 && (!fds || !events))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "wait_fds: fds and events must not be NULL");
  struct slot *s = nfds ? calloc((size_t)nfds, sizeof *s) : NULL;
  HANDLE *objs = nfds ? calloc((size_t)nfds, sizeof *objs) : NULL;
  int *owner = nfds ? calloc((size_t)nfds, sizeof *owner) : NULL; /* objs[j] is fds[owner[j]] */
  if (nfds && (!s || !objs || !owner)) {
    free(s);
    free(objs);
    free(owner);
    return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "wait_fds: out of memory");
  }
  DWORD nobjs = 0;
  int looks = 0;
  for (int i = 0; i < nfds; i++) {
    if (fds[i] < 0) continue;
    s[i].h = lipc__win_handle(fds[i]);
    s[i].io = fds[i] == 0 ? LIPC_IO_BAD : lipc__win_io_kind(s[i].h, &s[i].type);
    if (waitable(&s[i], events[i])) {
      owner[nobjs] = i;
      objs[nobjs++] = s[i].h;
    }
    looks |= needs_looks(&s[i], events[i]);
  }
  /* More objects than one wait takes: wait for each group in turn. */
  if (nobjs > MAXIMUM_WAIT_OBJECTS - 1) looks = 1;
  int64_t deadline = timeout_ms >= 0 ? lipc__deadline_ms(timeout_ms) : 0, step = 1;
  DWORD group = 0;
  int rc, n;
  for (;;) {
    if ((n = scan(s, fds, events, revents, nfds)) > 0) {
      rc = LIPC_OK;
      break;
    }
    int64_t left = timeout_ms < 0 ? -1 : deadline - lipc__now_ms();
    if (timeout_ms >= 0 && left <= 0) {
      rc = lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "wait_fds: timed out after %lld ms", (long long)timeout_ms);
      break;
    }
    int64_t ms = left;
    if (looks && (ms < 0 || ms > step)) ms = step;
    DWORD first = group * (MAXIMUM_WAIT_OBJECTS - 1), count = 0, which;
    if (first < nobjs) count = nobjs - first < MAXIMUM_WAIT_OBJECTS - 1 ? nobjs - first : MAXIMUM_WAIT_OBJECTS - 1;
    rc = lipc__win_wait(count ? objs + first : NULL, count, ms, &which, NULL, "wait_fds");
    if (rc == LIPC_EINTR) {
      rc = lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "wait_fds: interrupted (console control event, Ctrl-C)");
      break;
    }
    if (rc != LIPC_OK && rc != LIPC_ETIMEDOUT) break; /* recorded */
    /* A semaphore, mutex or auto-reset event the wait took stays ready. */
    if (rc == LIPC_OK) s[owner[first + which]].taken = 1;
    if (looks && step < NAP_MAX_MS) step *= 2;
    group = (first + count < nobjs) ? group + 1 : 0;
  }
  if (rc == LIPC_OK && nready) *nready = n;
  free(s);
  free(objs);
  free(owner);
  return rc;
}
