/* communicate_windows.c - feed a child's stdin and collect its stdout and
 * stderr at once, with overlapped I/O on the parent's pipe ends (all three
 * in flight together, one wait for whichever completes first), so neither
 * side can fill a pipe and deadlock the other. Nothing stays in flight
 * when the call returns: on a timeout or Ctrl-C the I/O is cancelled and
 * what it had already moved is counted, so the next call goes on from
 * there. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "proc_windows.h"

#define CHUNK (1 << 16)

struct op {
  HANDLE h; /* the parent's end, NULL when done */
  OVERLAPPED ov;
  int pending;
  char probe; /* a read at the cap: one byte tells more from the end */
  int probing;
};

static void end_pipe(struct lipc_wproc *p, struct op *o) {
  AcquireSRWLockExclusive(&p->mu);
  for (int i = 0; i < p->npipes; i++)
    if (p->pipes[i].h == o->h) {
      CloseHandle(o->h);
      p->pipes[i].h = NULL;
    }
  ReleaseSRWLockExclusive(&p->mu);
  o->h = NULL;
}

/* What a finished (or cancelled) operation moved: input bytes written,
 * output bytes read; end of file or a reader gone ends the pipe. */
static int account(struct lipc_wproc *p, struct op *o, int i, size_t max_output, int wait) {
  struct lipc_wcomm *c = &p->comm;
  DWORD n = 0;
  BOOL ok = GetOverlappedResult(o->h, &o->ov, &n, wait);
  DWORD e = ok ? 0 : GetLastError();
  if (!ok && e == ERROR_IO_INCOMPLETE) return LIPC_OK;
  o->pending = 0;
  if (i < 0) { /* stdin */
    c->in_off += n;
    if (!ok && e != ERROR_OPERATION_ABORTED) end_pipe(p, o); /* the child does not read: the rest is dropped */
    return LIPC_OK;
  }
  if (o->probing) {
    o->probing = 0;
    if (ok && n > 0)
      return lipc__fail(LIPC_ERANGE, ERROR_MORE_DATA, "communicate: %s passed the cap of %zu bytes",
                        i == 0 ? "stdout" : "stderr", max_output);
  } else {
    c->len[i] += n;
  }
  if (!ok && e != ERROR_OPERATION_ABORTED) {
    if (e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED || e == ERROR_NO_DATA) {
      end_pipe(p, o);
      return LIPC_OK;
    }
    return lipc__fail_win(e, "communicate: reading %s", i == 0 ? "stdout" : "stderr");
  }
  return LIPC_OK;
}

static int start_read(struct lipc_wproc *p, struct op *o, int i, size_t max_output) {
  struct lipc_wcomm *c = &p->comm;
  if (c->cap[i] - c->len[i] < CHUNK) {
    size_t ncap = c->cap[i] ? c->cap[i] * 2 : CHUNK * 2;
    char *nb = realloc(c->buf[i], ncap);
    if (!nb) return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "communicate: out of memory");
    c->buf[i] = nb;
    c->cap[i] = ncap;
  }
  size_t room = CHUNK;
  if (max_output) {
    size_t left = c->len[i] < max_output ? max_output - c->len[i] : 0;
    if (left < room) room = left;
  }
  char *dst = c->buf[i] + c->len[i];
  if (room == 0) { /* at the cap: only more data is too much, not the end */
    o->probing = 1;
    dst = &o->probe;
    room = 1;
  }
  if (ReadFile(o->h, dst, (DWORD)room, NULL, &o->ov) || GetLastError() == ERROR_IO_PENDING) {
    o->pending = 1;
    return LIPC_OK;
  }
  DWORD e = GetLastError();
  o->probing = 0;
  if (e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED || e == ERROR_NO_DATA) {
    end_pipe(p, o);
    return LIPC_OK;
  }
  return lipc__fail_win(e, "communicate: reading %s", i == 0 ? "stdout" : "stderr");
}

static void start_write(struct lipc_wproc *p, struct op *o, const char *in, size_t in_len) {
  struct lipc_wcomm *c = &p->comm;
  if (c->in_off >= in_len) { /* all fed: end of file for the child */
    end_pipe(p, o);
    return;
  }
  size_t n = in_len - c->in_off;
  if (n > CHUNK) n = CHUNK;
  if (WriteFile(o->h, in + c->in_off, (DWORD)n, NULL, &o->ov) || GetLastError() == ERROR_IO_PENDING)
    o->pending = 1;
  else
    end_pipe(p, o); /* the child's end is gone: the rest is dropped, as subprocess does */
}

static int loop(struct lipc_wproc *p, struct op ops[3], const char *in, size_t in_len, size_t max_output,
                int64_t deadline, int64_t timeout_ms) {
  for (;;) {
    int rc = LIPC_OK;
    if (ops[0].h && !ops[0].pending) start_write(p, &ops[0], in, in_len);
    for (int i = 1; i <= 2 && rc == LIPC_OK; i++)
      if (ops[i].h && !ops[i].pending) rc = start_read(p, &ops[i], i - 1, max_output);
    if (rc != LIPC_OK) return rc;
    HANDLE evs[3];
    int idx[3];
    DWORD n = 0;
    for (int i = 0; i < 3; i++)
      if (ops[i].h && ops[i].pending) {
        evs[n] = ops[i].ov.hEvent;
        idx[n++] = i;
      }
    if (n == 0) {
      if (ops[0].h || ops[1].h || ops[2].h) continue; /* something completed at once: go on */
      return lipc__wproc_wait(p, deadline, timeout_ms, 0);
    }
    int64_t left = deadline < 0 ? -1 : deadline - lipc__now_ms();
    if (deadline >= 0 && left < 0) left = 0;
    DWORD which;
    rc = lipc__win_wait(evs, n, left, &which, NULL, "communicate");
    if (rc == LIPC_ETIMEDOUT)
      return lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "communicate: pid %lu not done after %lld ms",
                        (unsigned long)p->pid, (long long)timeout_ms);
    if (rc == LIPC_EINTR) return lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "communicate: interrupted (Ctrl-C)");
    if (rc != LIPC_OK) return rc;
    int i = idx[which];
    if ((rc = account(p, &ops[i], i - 1, max_output, FALSE)) != LIPC_OK) return rc;
  }
}

static void hand_out(struct lipc_wcomm *c, int i, char **out, size_t *out_len, int had_pipe, int take, size_t cap) {
  if (!out) return;
  *out = NULL;
  if (out_len) *out_len = 0;
  if (!had_pipe && !c->buf[i]) return;
  if (take && cap && c->len[i] > cap) c->len[i] = cap;
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

int lipc_proc_communicate(lipc_handle_t h, const void *input, size_t input_len, size_t max_output,
                          int64_t timeout_ms, char **out, size_t *out_len, char **err, size_t *err_len) {
  const char *what = "communicate";
  if (!input && input_len)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: input is NULL with a length", what);
  if (input_len > (size_t)INT64_MAX)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: input_len %zu is above SSIZE_MAX (a negative "
                      "length?)", what, input_len);
  lipc_slot *s;
  int rc = lipc__handle_acquire(h, LIPC_KIND_PROC, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_wproc *p = lipc__slot_obj(s);
  struct op ops[3];
  memset(ops, 0, sizeof ops);
  AcquireSRWLockExclusive(&p->mu);
  for (int cfd = 0; cfd < 3 && rc == LIPC_OK; cfd++) {
    struct lipc_wpipe *e = lipc__wproc_pipe(p, cfd);
    if (!e) continue;
    if (e->to_child != (cfd == 0))
      rc = lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: child fd %d is a pipe %s the child; communicate "
                      "feeds fd 0 (LIPC_FD_PIPE_IN) and collects fds 1 and 2 (LIPC_FD_PIPE_OUT)", what, cfd,
                      cfd == 0 ? "out of" : "into");
    ops[cfd].h = e->h;
  }
  if (rc == LIPC_OK && !p->comm.active) {
    p->comm.had[0] = ops[1].h != NULL;
    p->comm.had[1] = ops[2].h != NULL;
    p->comm.active = 1;
  }
  for (int i = 0; i < 2 && rc == LIPC_OK; i++)
    if (max_output && p->comm.len[i] > max_output)
      rc = lipc__fail(LIPC_ERANGE, ERROR_MORE_DATA, "%s: %s passed the cap of %zu bytes (an earlier call "
                      "collected %zu)", what, i == 0 ? "stdout" : "stderr", max_output, p->comm.len[i]);
  int had_out = p->comm.had[0], had_err = p->comm.had[1];
  ReleaseSRWLockExclusive(&p->mu);
  for (int i = 0; i < 3 && rc == LIPC_OK; i++)
    if (ops[i].h && !(ops[i].ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL)))
      rc = lipc__fail_win(GetLastError(), "%s: CreateEvent", what);
  if (rc == LIPC_OK)
    rc = loop(p, ops, input, input_len, max_output, timeout_ms < 0 ? -1 : lipc__deadline_ms(timeout_ms), timeout_ms);
  /* Nothing may stay in flight into buffers that move or go: cancel, and
   * count what the cancelled operations had moved. */
  for (int i = 0; i < 3; i++) {
    if (ops[i].h && ops[i].pending) {
      CancelIoEx(ops[i].h, &ops[i].ov);
      int r = account(p, &ops[i], i - 1, max_output, TRUE);
      if (rc == LIPC_OK) rc = r;
    }
    if (ops[i].ov.hEvent) CloseHandle(ops[i].ov.hEvent);
  }
  AcquireSRWLockExclusive(&p->mu);
  int final = rc == LIPC_OK || rc == LIPC_ERANGE;
  if (final || rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR) {
    hand_out(&p->comm, 0, out, out_len, had_out, final, max_output);
    hand_out(&p->comm, 1, err, err_len, had_err, final, max_output);
  }
  if (final) {
    free(p->comm.buf[0]);
    free(p->comm.buf[1]);
    memset(&p->comm, 0, sizeof p->comm);
  }
  ReleaseSRWLockExclusive(&p->mu);
  lipc__handle_release(s);
  return rc;
}
