/* communicate.c - feed a child's stdin and collect its stdout and stderr at
 * once, in one poll loop on the caller's thread, so neither side can fill a
 * pipe and deadlock the other. What was collected survives a timeout or a
 * signal: the next call goes on from there. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "proc.h"

#define CHUNK (1 << 20) /* bytes read at a time: few system calls for big outputs */

/* One capture buffer is kept for the next capture. Collecting a big output
 * costs little more than the reads themselves, except for the first touch
 * of every page of a fresh buffer: 40 ms for 64 MiB on a VM of this
 * project's kind (2.6 us a page, 15 times rewriting the same pages), as
 * much as the whole read(2) loop, and every binding then copies the output
 * into its own string or vector and frees lipc's buffer (issue 12). So a
 * buffer that a binding (or lipc itself) frees goes back here, and the next
 * capture reads into pages that are already mapped. Only buffers of 4 to
 * 128 MiB, and one at a time: at most 128 MiB stay with the process after a
 * large capture, until the next one takes them. Small outputs are copied
 * out of a kept buffer, so a caller never holds a large buffer for a line. */
#define SPARE_MIN ((size_t)4 << 20)
#define SPARE_MAX ((size_t)129 << 20) /* what malloc gives for a 128 MiB request: a page more */
#define SMALL_OUTPUT ((size_t)256 << 10)
static _Atomic(char *) spare;

int lipc__capture_recycle(void *p) {
  if (!p) return 0;
  size_t n = malloc_usable_size(p);
  if (n < SPARE_MIN || n > SPARE_MAX) return 0;
  char *none = NULL;
  return atomic_compare_exchange_strong(&spare, &none, (char *)p);
}

void lipc__capture_release(void *p) {
  if (!lipc__capture_recycle(p)) free(p);
}

/* A buffer for stream i, which holds nothing yet: the kept one, or a new
 * one of two chunks. */
static int first_buffer(struct lipc_comm *c, int i) {
  char *b = atomic_exchange(&spare, NULL);
  if (b) {
    c->buf[i] = b;
    c->cap[i] = malloc_usable_size(b);
    return LIPC_OK;
  }
  c->buf[i] = malloc(CHUNK * 2);
  if (!c->buf[i]) return lipc__fail(LIPC_ENOMEM, ENOMEM, "communicate: out of memory");
  c->cap[i] = CHUNK * 2;
  return LIPC_OK;
}

/* Reads what is there from *fd into stream i; closes it at EOF. */
static int drain(struct lipc_comm *c, int i, int *fd, size_t max_output) {
  if (!c->buf[i] && max_output == 0) {
    /* The first read goes to the stack: a stream that ends empty (most
     * stderrs) takes no buffer at all. */
    char first[16384];
    ssize_t r = read(*fd, first, sizeof first);
    if (r == 0) {
      close(*fd);
      *fd = -1;
      return LIPC_OK;
    }
    if (r < 0) {
      if (errno == EAGAIN) return LIPC_OK;
      if (errno == EINTR) return lipc__fail(LIPC_EINTR, EINTR, "communicate: interrupted by a signal");
      return lipc__fail(lipc__code_from_errno(errno), errno, "communicate: read");
    }
    int rc = first_buffer(c, i);
    if (rc != LIPC_OK) return rc;
    memcpy(c->buf[i], first, (size_t)r);
    c->len[i] = (size_t)r;
  }
  for (;;) {
    if (!c->buf[i]) {
      int rc = first_buffer(c, i);
      if (rc != LIPC_OK) return rc;
    }
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
  int keep_big = take && c->buf[i] && c->len[i] <= SMALL_OUTPUT && c->cap[i] >= SPARE_MIN;
  if (take && c->buf[i] && c->cap[i] > c->len[i] && !keep_big) {
    *out = c->buf[i];
    c->buf[i] = NULL;
    c->cap[i] = 0;
  } else {
    *out = malloc(c->len[i] + 1);
    if (!*out) return;
    if (c->len[i]) memcpy(*out, c->buf[i], c->len[i]);
    if (keep_big) { /* a small output out of a kept buffer: the buffer stays for the next capture */
      lipc__capture_release(c->buf[i]);
      c->buf[i] = NULL;
      c->cap[i] = 0;
    }
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
  lipc__capture_release(c->buf[0]);
  lipc__capture_release(c->buf[1]);
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

static int communicate(lipc_handle_t h, const void *input, size_t input_len, size_t max_output,
                       int64_t timeout_ms, char **out, size_t *out_len, char **err, size_t *err_len);

/* ppoll, read, write, close and the pidfd wait are cancellation points; no
 * lipc call is one (lipc.h). Cancelled there, a thread would leave the
 * pipe ends non-blocking, what it had collected unreachable and the call
 * marked active. */
int lipc_proc_communicate(lipc_handle_t h, const void *input, size_t input_len, size_t max_output,
                          int64_t timeout_ms, char **out, size_t *out_len, char **err,
                          size_t *err_len) {
  return LIPC_NO_CANCEL(communicate(h, input, input_len, max_output, timeout_ms, out, out_len, err, err_len));
}

static int communicate(lipc_handle_t h, const void *input, size_t input_len, size_t max_output,
                       int64_t timeout_ms, char **out, size_t *out_len, char **err, size_t *err_len) {
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
