/* pipeio_windows.c - pipes for children's stdio and reads and writes that
 * keep a deadline on any handle (fd_windows.h says what each does). All of
 * it runs in C on the caller's thread; every wait goes through
 * lipc__win_wait, so Ctrl-C ends it with LIPC_EINTR. */
#include <stdio.h>
#include <winternl.h>

#include "fd_windows.h"

#ifndef FILE_PIPE_CLOSING_STATE
#define FILE_PIPE_CLOSING_STATE 4
#endif
#ifndef PIPE_REJECT_REMOTE_CLIENTS
#define PIPE_REJECT_REMOTE_CLIENTS 8
#endif

/* One read or write at most this large: ReadFile and WriteFile count in
 * DWORDs; a longer request is a short read or a loop of writes. */
#define IO_CHUNK ((DWORD)1 << 30)
/* Between two looks at a synchronous pipe: 1 ms, doubling up to this. */
#define NAP_MAX_MS 16

/* ---- pipes ---- */

static atomic_long pipe_counter;

int lipc__win_pipe(int parent_reads, int64_t size, HANDLE *parent_end, HANDLE *child_end,
                   const char *what) {
  if (size < 0 || size > 0x7fffffff)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: pipe size %lld is outside 0..2^31-1",
                      what, (long long)size);
  DWORD buf = size ? (DWORD)size : 65536;
  DWORD open_mode = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED |
                    FILE_FLAG_FIRST_PIPE_INSTANCE;
  DWORD pipe_mode = PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS;
  /* The child may query and set its end's state (libuv gives the same). */
  DWORD child_access = parent_reads ? GENERIC_WRITE | FILE_READ_ATTRIBUTES : GENERIC_READ | FILE_WRITE_ATTRIBUTES;
  DWORD err = 0;
  /* A name already taken (another process's pipe, one left by a process
   * whose pid was reused) or a stranger connecting first: next name. */
  for (int tries = 0; tries < 64; tries++) {
    wchar_t name[64];
    swprintf(name, sizeof name / sizeof *name, L"\\\\.\\pipe\\lipc-%lu-%ld", (unsigned long)GetCurrentProcessId(),
             atomic_fetch_add(&pipe_counter, 1) + 1);
    HANDLE server = CreateNamedPipeW(name, open_mode, pipe_mode, 1, buf, buf, 0, NULL);
    if (server == INVALID_HANDLE_VALUE) {
      err = GetLastError();
      if (err == ERROR_ACCESS_DENIED || err == ERROR_PIPE_BUSY) continue;
      return lipc__fail_win(err, "%s: create pipe %ls", what, name);
    }
    /* Not inheritable (no SECURITY_ATTRIBUTES): the caller decides. */
    HANDLE client = CreateFileW(name, child_access, 0, NULL, OPEN_EXISTING, 0, NULL);
    if (client == INVALID_HANDLE_VALUE) {
      err = GetLastError();
      CloseHandle(server);
      if (err == ERROR_PIPE_BUSY) continue;
      return lipc__fail_win(err, "%s: open pipe %ls", what, name);
    }
    /* The client is connected already: ConnectNamedPipe says so at once. */
    OVERLAPPED o = {0};
    o.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    BOOL ok = o.hEvent != NULL && ConnectNamedPipe(server, &o);
    err = ok ? 0 : GetLastError();
    if (!ok && err == ERROR_IO_PENDING) {
      DWORD k;
      ok = GetOverlappedResult(server, &o, &k, TRUE);
      err = ok ? 0 : GetLastError();
    }
    if (o.hEvent) CloseHandle(o.hEvent);
    if (!ok && err != ERROR_PIPE_CONNECTED) {
      CloseHandle(client);
      CloseHandle(server);
      return lipc__fail_win(err, "%s: connect pipe %ls", what, name);
    }
    *parent_end = server;
    *child_end = client;
    return LIPC_OK;
  }
  return lipc__fail_win(err, "%s: no free pipe name after 64 tries", what);
}

/* ---- what a handle is ---- */

enum lipc_win_io lipc__win_io_kind(HANDLE h, DWORD *file_type) {
  DWORD flags, type;
  if (file_type) *file_type = FILE_TYPE_UNKNOWN;
  if (h == NULL || h == INVALID_HANDLE_VALUE || !GetHandleInformation(h, &flags)) return LIPC_IO_BAD;
  SetLastError(0);
  type = GetFileType(h);
  if (file_type) *file_type = type;
  if (type == FILE_TYPE_UNKNOWN) return LIPC_IO_OBJECT;
  /* Synchronous or overlapped: the file object's mode (libuv asks the same). */
  IO_STATUS_BLOCK io;
  FILE_MODE_INFORMATION mi;
  NTSTATUS st = NtQueryInformationFile(h, &io, &mi, sizeof mi, FileModeInformation);
  int sync = st < 0 || (mi.Mode & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT));
  if (!sync) return LIPC_IO_OVERLAPPED;
  return type == FILE_TYPE_PIPE ? LIPC_IO_SYNC_PIPE : LIPC_IO_SYNC;
}

static int pipe_closed_err(DWORD err) {
  return err == ERROR_BROKEN_PIPE || err == ERROR_PIPE_NOT_CONNECTED || err == ERROR_NO_DATA;
}

int lipc__win_pipe_avail(HANDLE h, DWORD *avail) {
  *avail = 0;
  if (PeekNamedPipe(h, NULL, 0, NULL, avail, NULL)) return LIPC_OK;
  DWORD err = GetLastError();
  return pipe_closed_err(err) ? LIPC_ECLOSED : lipc__code_from_winerr(err);
}

int lipc__win_pipe_room(HANDLE h, DWORD *room) {
  IO_STATUS_BLOCK io;
  FILE_PIPE_LOCAL_INFORMATION pi;
  *room = 0;
  NTSTATUS st = NtQueryInformationFile(h, &io, &pi, sizeof pi, FilePipeLocalInformation);
  if (st < 0) return LIPC_ENOTSUP;
  if (pi.NamedPipeState == FILE_PIPE_CLOSING_STATE) return LIPC_ECLOSED;
  *room = pi.WriteQuotaAvailable;
  return LIPC_OK;
}

/* ---- the waits ---- */

/* Each thread's event for its overlapped I/O, closed when the thread ends. */
static DWORD ev_slot = FLS_OUT_OF_INDEXES;
static INIT_ONCE ev_once = INIT_ONCE_STATIC_INIT;
static VOID WINAPI close_event(PVOID p) {
  if (p) CloseHandle(p);
}
static BOOL CALLBACK make_ev_slot(PINIT_ONCE once, PVOID param, PVOID *ctx) {
  (void)once, (void)param, (void)ctx;
  ev_slot = FlsAlloc(close_event);
  return TRUE;
}

/* The calling thread's event; *own 1 when the caller must close it (no
 * slot to keep it in). */
static HANDLE io_event(int *own, int *rc, const char *what) {
  InitOnceExecuteOnce(&ev_once, make_ev_slot, NULL, NULL);
  *own = 0;
  HANDLE ev = ev_slot != FLS_OUT_OF_INDEXES ? FlsGetValue(ev_slot) : NULL;
  if (ev) return ev;
  if (!(ev = CreateEventW(NULL, TRUE, FALSE, NULL))) {
    *rc = lipc__fail_win(GetLastError(), "%s: create an event", what);
    return NULL;
  }
  if (ev_slot == FLS_OUT_OF_INDEXES || !FlsSetValue(ev_slot, ev)) *own = 1;
  return ev;
}

/* Sleeps ms (> 0) or until Ctrl-C: LIPC_OK, LIPC_EINTR, or a failure. */
static int nap(int64_t ms, const char *what) {
  DWORD which;
  int rc = lipc__win_wait(NULL, 0, ms, &which, NULL, what);
  return rc == LIPC_ETIMEDOUT ? LIPC_OK : rc;
}

/* Milliseconds left before the deadline (-1: none), 0 once passed. */
static int64_t left_ms(int64_t timeout_ms, int64_t deadline) {
  if (timeout_ms < 0) return -1;
  int64_t l = deadline - lipc__now_ms();
  return l > 0 ? l : 0;
}

static int timed_out(const char *what, const char *doing, int64_t timeout_ms) {
  return lipc__fail(LIPC_ETIMEDOUT, WAIT_TIMEOUT, "%s: %s after %lld ms", what, doing, (long long)timeout_ms);
}
static int interrupted(const char *what) {
  return lipc__fail(LIPC_EINTR, ERROR_OPERATION_ABORTED, "%s: interrupted (console control event, Ctrl-C)",
                    what);
}

/* One overlapped ReadFile (is_read) or WriteFile of n bytes, waited for
 * until the deadline; on timeout or interrupt cancelled and its result
 * collected. *k: bytes moved. Returns LIPC_OK (the I/O completed, maybe
 * in a race with the cancel), LIPC_ETIMEDOUT / LIPC_EINTR (nothing recorded:
 * *k may still be > 0), IO_FAILED with *err set (nothing recorded), or
 * another failure, recorded. */
#define IO_FAILED LIPC_EOS_BASE /* never a code of its own: that would be error 0 */
static int overlapped_io(HANDLE h, int is_read, void *buf, DWORD n, int64_t timeout_ms, DWORD *k, DWORD *err,
                         const char *what) {
  int own, rc = LIPC_OK;
  HANDLE ev = io_event(&own, &rc, what);
  if (!ev) return rc;
  OVERLAPPED o = {0};
  /* The low bit keeps the completion off any I/O completion port the host
   * bound h to (libuv, asyncio): this I/O is lipc's alone. */
  o.hEvent = (HANDLE)((uintptr_t)ev | 1);
  *k = 0;
  *err = 0;
  BOOL ok = is_read ? ReadFile(h, buf, n, NULL, &o) : WriteFile(h, buf, n, NULL, &o);
  if (!ok && GetLastError() == ERROR_IO_PENDING) {
    DWORD which;
    rc = lipc__win_wait(&ev, 1, timeout_ms, &which, NULL, what);
    if (rc != LIPC_OK) CancelIoEx(h, &o);
    ok = GetOverlappedResult(h, &o, k, TRUE);
    if (ok) rc = LIPC_OK; /* completed before the cancel took: keep it */
  } else if (ok) {
    ok = GetOverlappedResult(h, &o, k, TRUE);
  }
  if (!ok) {
    *err = GetLastError();
    if (*err == ERROR_OPERATION_ABORTED && (rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR)) *err = 0;
    else if (rc == LIPC_OK || rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR) rc = IO_FAILED;
  }
  if (own) CloseHandle(ev);
  return rc;
}

/* ---- reads ---- */

static int read_overlapped(HANDLE h, void *buf, DWORD n, int64_t timeout_ms, size_t *got, const char *what) {
  DWORD k, err;
  int rc = overlapped_io(h, 1, buf, n, timeout_ms, &k, &err, what);
  *got = k;
  if (rc == LIPC_OK) return LIPC_OK;
  if (rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR) {
    if (k > 0) return LIPC_OK; /* data came with the cancel: it is the caller's */
    return rc == LIPC_EINTR ? interrupted(what) : timed_out(what, "nothing to read", timeout_ms);
  }
  if (rc != IO_FAILED) return rc; /* recorded */
  if (err == ERROR_MORE_DATA) return LIPC_OK; /* a message pipe: the rest comes next */
  if (pipe_closed_err(err) || err == ERROR_HANDLE_EOF) {
    *got = 0;
    return LIPC_OK;
  }
  return lipc__fail_win(err, "%s: read handle %p", what, h);
}

static int read_sync_pipe(HANDLE h, void *buf, DWORD n, int64_t timeout_ms, size_t *got, const char *what) {
  int64_t deadline = timeout_ms > 0 ? lipc__deadline_ms(timeout_ms) : 0, step = 1;
  for (;;) {
    DWORD avail;
    int rc = lipc__win_pipe_avail(h, &avail);
    if (rc == LIPC_ECLOSED) return LIPC_OK; /* end of file */
    if (rc != LIPC_OK || avail > 0) {
      /* Data to read (or a pipe that cannot be peeked: let ReadFile say). */
      DWORD k = 0;
      if (ReadFile(h, buf, rc == LIPC_OK && avail < n ? avail : n, &k, NULL) || GetLastError() == ERROR_MORE_DATA) {
        *got = k;
        return LIPC_OK;
      }
      DWORD err = GetLastError();
      if (pipe_closed_err(err)) return LIPC_OK;
      return lipc__fail_win(err, "%s: read", what);
    }
    int64_t left = left_ms(timeout_ms, deadline);
    if (left == 0) return timed_out(what, "nothing to read", timeout_ms);
    rc = nap(left < 0 || left > step ? step : left, what);
    if (rc == LIPC_EINTR) return interrupted(what);
    if (rc != LIPC_OK) return rc;
    if (step < NAP_MAX_MS) step *= 2;
  }
}

int lipc__win_read(HANDLE h, void *buf, size_t n, int64_t timeout_ms, size_t *got, const char *what) {
  DWORD type;
  *got = 0;
  DWORD want = n > IO_CHUNK ? IO_CHUNK : (DWORD)n;
  switch (lipc__win_io_kind(h, &type)) {
    case LIPC_IO_BAD:
      return lipc__fail_win(ERROR_INVALID_HANDLE, "%s: handle %p", what, h);
    case LIPC_IO_OVERLAPPED:
      if (type == FILE_TYPE_DISK)
        return lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED,
                          "%s: handle %p is a file opened for overlapped I/O (it has no file position)",
                          what, h);
      return read_overlapped(h, buf, want, timeout_ms, got, what);
    case LIPC_IO_SYNC_PIPE:
      return read_sync_pipe(h, buf, want, timeout_ms, got, what);
    default: {
      DWORD k = 0;
      if (ReadFile(h, buf, want, &k, NULL)) {
        *got = k;
        return LIPC_OK;
      }
      DWORD err = GetLastError();
      if (pipe_closed_err(err) || err == ERROR_HANDLE_EOF) return LIPC_OK;
      return lipc__fail_win(err, "%s: read handle %p", what, h);
    }
  }
}

/* ---- writes ---- */

static int write_failed(DWORD err, HANDLE h, const char *what) {
  if (pipe_closed_err(err))
    return lipc__fail(LIPC_ECLOSED, (int)err, "%s: handle %p: the reading end is closed", what, h);
  return lipc__fail_win(err, "%s: write handle %p", what, h);
}

static int write_overlapped(HANDLE h, const char *buf, size_t n, int64_t timeout_ms, size_t *put,
                            const char *what) {
  int64_t deadline = timeout_ms > 0 ? lipc__deadline_ms(timeout_ms) : 0;
  while (*put < n) {
    size_t rest = n - *put;
    DWORD k, err;
    int64_t left = left_ms(timeout_ms, deadline);
    /* A try (0) stays a try on the later rounds; a deadline that passed
     * still lets a write that needs no waiting through. */
    int rc = overlapped_io(h, 0, (void *)(buf + *put), rest > IO_CHUNK ? IO_CHUNK : (DWORD)rest, left, &k,
                           &err, what);
    *put += k;
    if (rc == LIPC_ETIMEDOUT) return timed_out(what, "no room to write", timeout_ms);
    if (rc == LIPC_EINTR) return interrupted(what);
    if (rc == IO_FAILED) return write_failed(err, h, what);
    if (rc != LIPC_OK) return rc;
  }
  return LIPC_OK;
}

/* A synchronous pipe: the write runs on a thread of the system's pool
 * while the caller waits in lipc__win_wait (deadline, Ctrl-C); when the
 * wait ends first, the write is cancelled with CancelSynchronousIo (which
 * Wine 8 has too) and its count collected, as an overlapped write is. */
struct sync_write {
  HANDLE h;
  const char *buf;
  DWORD n, k, err;
  BOOL ok;
  HANDLE done;        /* set when the pool's callback returns */
  HANDLE thread;      /* the pool thread, for the cancel */
  atomic_int started; /* 1 once the thread is about to write */
};

static VOID CALLBACK sync_write_work(PTP_CALLBACK_INSTANCE inst, PVOID ctx, PTP_WORK work) {
  (void)work;
  struct sync_write *w = ctx;
  if (DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &w->thread, THREAD_TERMINATE,
                      FALSE, 0)) {
    atomic_store(&w->started, 1);
    w->ok = WriteFile(w->h, w->buf, w->n, &w->k, NULL);
    w->err = w->ok ? 0 : GetLastError();
  } else {
    w->err = GetLastError();
  }
  SetEventWhenCallbackReturns(inst, w->done);
}

/* Like overlapped_io for a write on a synchronous handle. */
static int sync_write_io(HANDLE h, const char *buf, DWORD n, int64_t timeout_ms, DWORD *k, DWORD *err,
                         const char *what) {
  struct sync_write w = {.h = h, .buf = buf, .n = n};
  *k = 0;
  *err = 0;
  PTP_WORK work = NULL;
  if (!(w.done = CreateEventW(NULL, TRUE, FALSE, NULL)) ||
      !(work = CreateThreadpoolWork(sync_write_work, &w, NULL))) {
    int rc = lipc__fail_win(GetLastError(), "%s: start a write", what);
    if (w.done) CloseHandle(w.done);
    return rc;
  }
  SubmitThreadpoolWork(work);
  DWORD which;
  int rc = lipc__win_wait(&w.done, 1, timeout_ms, &which, NULL, what);
  if (rc != LIPC_OK) {
    /* Cancel until the write is over: a cancel that comes before the
     * thread entered WriteFile finds nothing (ERROR_NOT_FOUND). */
    while (WaitForSingleObject(w.done, 0) != WAIT_OBJECT_0) {
      if (atomic_load(&w.started)) CancelSynchronousIo(w.thread);
      WaitForSingleObject(w.done, 1);
    }
  }
  WaitForThreadpoolWorkCallbacks(work, FALSE);
  CloseThreadpoolWork(work);
  CloseHandle(w.done);
  if (w.thread) CloseHandle(w.thread);
  *k = w.k;
  if (w.ok) return LIPC_OK; /* done, maybe in a race with the cancel: keep it */
  *err = w.err;
  if (w.err == ERROR_OPERATION_ABORTED && (rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR)) {
    *err = 0;
    return rc;
  }
  return rc == LIPC_OK || rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR ? IO_FAILED : rc;
}

/* A pipe set non-blocking (PIPE_NOWAIT: what os.set_blocking(fd, False)
 * and SetNamedPipeHandleState make) never waits in WriteFile: with no room
 * it "succeeds" writing 0 bytes. lipc then waits for room itself, as on a
 * non-blocking fd on Linux: it looks again after 1 ms, doubling up to
 * NAP_MAX_MS, until the deadline (a try, timeout 0, is one look). */
static int write_sync_pipe(HANDLE h, const char *buf, size_t n, int64_t timeout_ms, size_t *put, const char *what) {
  int64_t deadline = timeout_ms > 0 ? lipc__deadline_ms(timeout_ms) : 0, step = 1;
  while (*put < n) {
    size_t rest = n - *put;
    DWORD k, err;
    int rc = sync_write_io(h, buf + *put, rest > IO_CHUNK ? IO_CHUNK : (DWORD)rest, left_ms(timeout_ms, deadline), &k,
                           &err, what);
    *put += k;
    if (rc == LIPC_ETIMEDOUT) return timed_out(what, "no room to write", timeout_ms);
    if (rc == LIPC_EINTR) return interrupted(what);
    if (rc == IO_FAILED) return write_failed(err, h, what);
    if (rc != LIPC_OK) return rc;
    if (k > 0) {
      step = 1;
      continue;
    }
    /* 0 bytes and no error: a PIPE_NOWAIT pipe with no room. */
    int64_t left = left_ms(timeout_ms, deadline);
    if (left == 0) return timed_out(what, "no room to write", timeout_ms);
    rc = nap(left < 0 || left > step ? step : left, what);
    if (rc == LIPC_EINTR) return interrupted(what);
    if (rc != LIPC_OK) return rc;
    if (step < NAP_MAX_MS) step *= 2;
  }
  return LIPC_OK;
}

int lipc__win_write(HANDLE h, const void *buf, size_t n, int64_t timeout_ms, size_t *put, const char *what) {
  DWORD type;
  *put = 0;
  switch (lipc__win_io_kind(h, &type)) {
    case LIPC_IO_BAD:
      return lipc__fail_win(ERROR_INVALID_HANDLE, "%s: handle %p", what, h);
    case LIPC_IO_OVERLAPPED:
      if (type == FILE_TYPE_DISK)
        return lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED,
                          "%s: handle %p is a file opened for overlapped I/O (it has no file position)",
                          what, h);
      return write_overlapped(h, buf, n, timeout_ms, put, what);
    case LIPC_IO_SYNC_PIPE:
      return write_sync_pipe(h, buf, n, timeout_ms, put, what);
    default: /* files and consoles do not wait for a reader */
      while (*put < n) {
        size_t rest = n - *put;
        DWORD k = 0;
        if (!WriteFile(h, (const char *)buf + *put, rest > IO_CHUNK ? IO_CHUNK : (DWORD)rest, &k, NULL))
          return write_failed(GetLastError(), h, what);
        *put += k;
      }
      return LIPC_OK;
  }
}
