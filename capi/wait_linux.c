/* wait.c - the one way lipc sleeps: in C, on the caller's thread and stack,
 * until a deadline on the monotonic clock, returning LIPC_EINTR when a signal
 * handler ran instead of retrying (host-runtimes.md rule 2, F8, F16). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

struct timespec lipc__deadline(int64_t timeout_ms) {
  struct timespec dl = {.tv_sec = -1, .tv_nsec = 0};
  if (timeout_ms < 0) return dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  if (timeout_ms > (int64_t)INT32_MAX * 1000) timeout_ms = (int64_t)INT32_MAX * 1000;
  dl.tv_sec += timeout_ms / 1000;
  dl.tv_nsec += (timeout_ms % 1000) * 1000000;
  if (dl.tv_nsec >= 1000000000) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000;
  }
  return dl;
}

const struct timespec *lipc__remaining(struct timespec dl, struct timespec *buf) {
  if (dl.tv_sec < 0) return NULL;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  buf->tv_sec = dl.tv_sec - now.tv_sec;
  buf->tv_nsec = dl.tv_nsec - now.tv_nsec;
  if (buf->tv_nsec < 0) {
    buf->tv_sec--;
    buf->tv_nsec += 1000000000;
  }
  if (buf->tv_sec < 0) buf->tv_sec = buf->tv_nsec = 0;
  return buf;
}

struct timespec lipc__far_deadline(void) {
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  dl.tv_sec += 100L * 365 * 24 * 3600;
  return dl;
}

int lipc__futex_wait(atomic_uint *addr, unsigned val, struct timespec dl, int shared) {
  int op = FUTEX_WAIT_BITSET | (shared ? 0 : FUTEX_PRIVATE_FLAG);
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline. "Never"
   * is a far deadline, not none: a timed futex wait interrupted by a
   * handler returns EINTR even with SA_RESTART, an untimed one restarts. */
  struct timespec far = lipc__far_deadline();
  long rc = syscall(SYS_futex, addr, op, val, dl.tv_sec < 0 ? &far : &dl, NULL,
                    FUTEX_BITSET_MATCH_ANY);
  if (rc == 0) return LIPC_OK;
  switch (errno) {
    case EAGAIN: return LIPC_OK; /* the value had already changed */
    case ETIMEDOUT: return LIPC_ETIMEDOUT;
    case EINTR: return LIPC_EINTR;
    default: return lipc__code_from_errno(errno);
  }
}

void lipc__futex_wake(atomic_uint *addr, int n, int shared) {
  syscall(SYS_futex, addr, FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG), n, NULL, NULL, 0);
}

static short to_poll(int ev) {
  return (short)(((ev & LIPC_WAIT_READ) ? POLLIN : 0) | ((ev & LIPC_WAIT_WRITE) ? POLLOUT : 0));
}
static int from_poll(short re) {
  return ((re & (POLLIN | POLLPRI)) ? LIPC_WAIT_READ : 0) | ((re & POLLOUT) ? LIPC_WAIT_WRITE : 0) |
         ((re & POLLHUP) ? LIPC_WAIT_HUP | LIPC_WAIT_READ : 0) |
         ((re & (POLLERR | POLLNVAL)) ? LIPC_WAIT_ERR : 0);
}

#define LIPC_WAIT_MAX_FDS 4096

static int wait_fds(const int *fds, const int *events, int *revents, int nfds, int64_t timeout_ms,
                    int *nready);

/* ppoll is a cancellation point, and no lipc call is one (lipc.h). */
int lipc_wait_fds(const int *fds, const int *events, int *revents, int nfds, int64_t timeout_ms,
                  int *nready) {
  return LIPC_NO_CANCEL(wait_fds(fds, events, revents, nfds, timeout_ms, nready));
}

static int wait_fds(const int *fds, const int *events, int *revents, int nfds, int64_t timeout_ms,
                    int *nready) {
  if (nfds < 0 || nfds > LIPC_WAIT_MAX_FDS)
    return lipc__fail(LIPC_EINVAL, EINVAL, "wait_fds: nfds %d is outside 0..%d", nfds,
                      LIPC_WAIT_MAX_FDS);
  if (nfds > 0 && (!fds || !events))
    return lipc__fail(LIPC_EINVAL, EINVAL, "wait_fds: fds and events must not be NULL");
  struct pollfd stackbuf[16];
  struct pollfd *p = nfds <= 16 ? stackbuf : malloc(sizeof *p * (size_t)nfds);
  if (!p) return lipc__fail(LIPC_ENOMEM, ENOMEM, "wait_fds: out of memory");
  for (int i = 0; i < nfds; i++) {
    p[i].fd = fds[i];
    p[i].events = to_poll(events[i]);
    p[i].revents = 0;
  }
  struct timespec dl = lipc__deadline(timeout_ms), rem;
  int rc = ppoll(p, (nfds_t)nfds, lipc__remaining(dl, &rem), NULL);
  int code = LIPC_OK;
  if (rc < 0) {
    code = errno == EINTR ? lipc__fail(LIPC_EINTR, EINTR, "wait_fds: interrupted by a signal")
                          : lipc__fail(lipc__code_from_errno(errno), errno, "wait_fds: poll failed");
  } else if (rc == 0) {
    code = lipc__fail(LIPC_ETIMEDOUT, ETIMEDOUT, "wait_fds: timed out after %lld ms",
                      (long long)timeout_ms);
  }
  if (code == LIPC_OK) {
    if (revents)
      for (int i = 0; i < nfds; i++) revents[i] = from_poll(p[i].revents);
    if (nready) *nready = rc;
  }
  if (p != stackbuf) free(p);
  return code;
}
