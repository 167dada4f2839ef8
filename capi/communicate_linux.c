/* communicate.c - feed a child's stdin and collect its stdout and stderr at
 * once, in one poll loop on the caller's thread, so neither side can fill a
 * pipe and deadlock the other. What was collected survives a timeout or a
 * signal: the next call goes on from there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "proc.h"

#define CHUNK (1 << 20) /* bytes read at a time: few system calls for big outputs */

/* Reads what is there from *fd into stream i; closes it at EOF. */
static int drain(struct lipc_comm *c, int i, int *fd, size_t max_output) {
  for (;;) {
    if (c->cap[i] - c->len[i] < CHUNK) {
      size_t ncap = c->cap[i] ? c->cap[i] * 2 : CHUNK * 2;
      char *nb = realloc(c->buf[i], ncap);
      if (!nb) return lipc__fail(LIPC_ENOMEM, ENOMEM, "communicate: out of memory");
      c->buf[i] = nb;
      c->cap[i] = ncap;
    }
    size_t room = CHUNK;
    if (max_output) { /* never max_output - len when len is past it (over_cap) */
      size_t left = c->len[i] < max_output ? max_output - c->len[i] : 0;
      if (left < room) room = left;
    }
    if (room == 0) {
      /* At the cap: only more data than that is too much, not the end. */
      char probe;
      ssize_t r = read(*fd, &probe, 1);
      if (r == 0) {
        close(*fd);
        *fd = -1;
        return LIPC_OK;
      }
      if (r < 0 && errno == EAGAIN) return LIPC_OK;
      return lipc__fail(LIPC_ERANGE, ERANGE, "communicate: %s passed the cap of %zu bytes",
                        i == 0 ? "stdout" : "stderr", max_output);
    }
    ssize_t r = read(*fd, c->buf[i] + c->len[i], room);
    if (r > 0) {
      c->len[i] += (size_t)r;
      continue;
    }
    if (r == 0) {
      close(*fd);
      *fd = -1;
      return LIPC_OK;
    }
    if (errno == EAGAIN) return LIPC_OK;
    if (errno == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "communicate: interrupted by a signal");
    return lipc__fail(lipc__code_from_errno(errno), errno, "communicate: read");
  }
}

static int feed(struct lipc_comm *c, int *fd, const char *in, size_t in_len) {
  while (c->in_off < in_len) {
    ssize_t w = lipc__write_nosigpipe(*fd, in + c->in_off, in_len - c->in_off);
    if (w > 0) {
      c->in_off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EAGAIN) return LIPC_OK;
    if (w < 0 && errno == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "communicate: interrupted by a signal");
    break; /* EPIPE: the child does not read stdin; the rest is dropped, as subprocess does */
  }
  close(*fd);
  *fd = -1;
  return LIPC_OK;
}

/* Gives the caller stream i, at most cap bytes of it (0: all): the buffer
 * itself when the call is final (take), a copy when the process keeps
 * collecting (a timeout). Always NUL-terminated for convenience. */
static void hand_out(struct lipc_comm *c, int i, char **out, size_t *out_len, int had_pipe, int take,
                     size_t cap) {
  if (!out) return;
  *out = NULL;
  if (out_len) *out_len = 0;
  if (!had_pipe && !c->buf[i]) return;
  if (take && cap && c->len[i] > cap) c->len[i] = cap; /* a final ERANGE: what the cap keeps */
  if (take && c->buf[i] && c->cap[i] > c->len[i]) {
    *out = c->buf[i];
    c->buf[i] = NULL;
    c->cap[i] = 0;
  } else {
    *out = malloc(c->len[i] + 1);
    if (!*out) return;
    if (c->len[i]) memcpy(*out, c->buf[i], c->len[i]);
  }
  (*out)[c->len[i]] = 0;
  if (out_len) *out_len = c->len[i];
}

/* LIPC_ERANGE if an earlier call (a timeout) collected more of a stream
 * than this call's cap allows: that stream has passed the cap. */
static int over_cap(struct lipc_comm *c, size_t max_output) {
  for (int i = 0; i < 2; i++)
    if (max_output && c->len[i] > max_output)
      return lipc__fail(LIPC_ERANGE, ERANGE, "communicate: %s passed the cap of %zu bytes (an earlier "
                        "call collected %zu)", i == 0 ? "stdout" : "stderr", max_output, c->len[i]);
  return LIPC_OK;
}

static void reset(struct lipc_comm *c) {
  free(c->buf[0]);
  free(c->buf[1]);
  memset(c, 0, sizeof *c);
}

static void set_nonblocking(struct lipc_proc *p, int on) {
  for (int i = 0; i < 3; i++) {
    int *fd = lipc__proc_pipe_slot(p, i);
    if (!fd) continue;
    int fl = fcntl(*fd, F_GETFL);
    if (fl >= 0) fcntl(*fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
  }
}

static int loop(struct lipc_proc *p, const char *in, size_t in_len, size_t max_output,
                struct timespec dl, int64_t timeout_ms) {
  struct lipc_comm *c = &p->comm;
  for (;;) {
    int *fds[3];
    for (int i = 0; i < 3; i++) fds[i] = lipc__proc_pipe_slot(p, i);
    struct pollfd pfd[3];
    int n = 0;
    if (fds[0]) pfd[n++] = (struct pollfd){.fd = *fds[0], .events = POLLOUT};
    for (int i = 1; i <= 2; i++)
      if (fds[i]) pfd[n++] = (struct pollfd){.fd = *fds[i], .events = POLLIN};
    if (n == 0) return lipc__proc_wait_until(p, dl, timeout_ms);
    struct timespec rem;
    int r = ppoll(pfd, (nfds_t)n, lipc__remaining(dl, &rem), NULL);
    if (r < 0 && errno == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "communicate: interrupted by a signal");
    if (r < 0) return lipc__fail(lipc__code_from_errno(errno), errno, "communicate: poll");
    if (r == 0)
      return lipc__fail(LIPC_ETIMEDOUT, ETIMEDOUT, "communicate: pid %d not done after %lld ms",
                        (int)p->pid, (long long)timeout_ms);
    int rc = LIPC_OK;
    if (fds[0]) rc = feed(c, fds[0], in, in_len);
    for (int i = 1; i <= 2 && rc == LIPC_OK; i++)
      if (fds[i]) rc = drain(c, i - 1, fds[i], max_output);
    if (rc != LIPC_OK) return rc;
  }
}

/* communicate feeds child fd 0 and collects fds 1 and 2: each that is a pipe
 * of this process must run the right way (the parent writes fd 0's end,
 * reads the others'). A pipe the other way round would be read from its
 * write end, or the input dropped without a word. Called with p->mu held. */
static int check_directions(struct lipc_proc *p) {
  for (int cfd = 0; cfd < 3; cfd++) {
    int *end = lipc__proc_pipe_slot(p, cfd);
    int fl = end ? fcntl(*end, F_GETFL) : -1;
    if (fl < 0 || (fl & O_ACCMODE) == (cfd == 0 ? O_WRONLY : O_RDONLY)) continue;
    return lipc__fail(LIPC_EINVAL, EINVAL, "communicate: child fd %d is a pipe %s the child; communicate "
                      "feeds fd 0 (LIPC_FD_PIPE_IN) and collects fds 1 and 2 (LIPC_FD_PIPE_OUT)", cfd,
                      cfd == 0 ? "out of" : "into");
  }
  return LIPC_OK;
}

int lipc_proc_communicate(lipc_handle_t h, const void *input, size_t input_len, size_t max_output,
                          int64_t timeout_ms, char **out, size_t *out_len, char **err,
                          size_t *err_len) {
  if (!input && input_len)
    return lipc__fail(LIPC_EINVAL, EINVAL, "communicate: input is NULL with a length");
  if (input_len > SSIZE_MAX)
    return lipc__fail(LIPC_EINVAL, EINVAL, "communicate: input_len %zu is above SSIZE_MAX (a negative "
                      "length?)", input_len);
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_PROC, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_proc *p = lipc__slot_obj(s);
  /* One communicate at a time per process: the pipe ends and the collected
   * output are its state. Waits inside drop nothing if interrupted. */
  pthread_mutex_lock(&p->mu);
  if ((rc = check_directions(p)) != LIPC_OK) {
    pthread_mutex_unlock(&p->mu);
    lipc__handle_release(s);
    return rc;
  }
  if (!p->comm.active) {
    p->comm.had[0] = lipc__proc_pipe_slot(p, 1) != NULL;
    p->comm.had[1] = lipc__proc_pipe_slot(p, 2) != NULL;
    p->comm.active = 1;
  }
  int had_out = p->comm.had[0], had_err = p->comm.had[1];
  /* The pipe ends are blocking (safe to hand to other children); the loop
   * below needs them non-blocking, only while it runs. */
  set_nonblocking(p, 1);
  rc = over_cap(&p->comm, max_output);
  /* The pidfd wait inside takes the lock itself. */
  pthread_mutex_unlock(&p->mu);
  if (rc == LIPC_OK) rc = loop(p, input, input_len, max_output, lipc__deadline(timeout_ms), timeout_ms);
  pthread_mutex_lock(&p->mu);
  int final = rc == LIPC_OK || rc == LIPC_ERANGE;
  if (final || rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR) {
    hand_out(&p->comm, 0, out, out_len, had_out, final, max_output);
    hand_out(&p->comm, 1, err, err_len, had_err, final, max_output);
  }
  set_nonblocking(p, 0);
  if (rc == LIPC_OK || rc == LIPC_ERANGE) reset(&p->comm);
  pthread_mutex_unlock(&p->mu);
  lipc__handle_release(s);
  return rc;
}
