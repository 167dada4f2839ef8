/* test_fd.c - lipc_fd_read, lipc_fd_write, lipc_fd_close and
 * lipc_wait_fds on Windows, across processes: the test re-runs itself in a
 * child role (argv[1]) with one end of a pipe passed by
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST, as lipc_proc_spawn passes them.
 * Pipes are made as lipc makes its own (a named pipe: the parent's end
 * overlapped, the child's synchronous) and as hosts make theirs
 * (CreatePipe: both ends synchronous). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"
#include "whandle.h"

#define BIG (1 << 20)
static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + i / 251); }

static int fd_of(HANDLE h) { return (int)(intptr_t)h; }
static HANDLE handle_of(const char *s) { return (HANDLE)(intptr_t)strtoll(s, NULL, 10); }

/* ---- child roles ---- */

/* writes "first", waits for the event named ev, writes "second", exits */
static int role_paced_writer(HANDLE h, const char *ev) {
  DWORD k;
  wchar_t wev[128];
  MultiByteToWideChar(CP_UTF8, 0, ev, -1, wev, 128);
  HANDLE e = OpenEventW(SYNCHRONIZE, FALSE, wev);
  if (!e) return 10;
  if (!WriteFile(h, "first", 5, &k, NULL)) return 11;
  if (WaitForSingleObject(e, 60000) != WAIT_OBJECT_0) return 12;
  if (!WriteFile(h, "second", 6, &k, NULL)) return 13;
  return 0;
}

/* reads until end of file: BIG bytes of pattern() or exit code 1 */
static int role_reader(HANDLE h) {
  static unsigned char buf[65536];
  size_t total = 0;
  DWORD k;
  while (ReadFile(h, buf, sizeof buf, &k, NULL) && k > 0) {
    for (DWORD i = 0; i < k; i++)
      if (buf[i] != pattern(total + i)) return 2;
    total += k;
  }
  return total == BIG ? 0 : 1;
}

/* waits for the event named ev, then exits with 7 */
static int role_wait_event(const char *ev) {
  wchar_t wev[128];
  MultiByteToWideChar(CP_UTF8, 0, ev, -1, wev, 128);
  HANDLE e = OpenEventW(SYNCHRONIZE, FALSE, wev);
  if (!e) return 10;
  return WaitForSingleObject(e, 60000) == WAIT_OBJECT_0 ? 7 : 12;
}

/* A full pipe set non-blocking (PIPE_NOWAIT: os.set_blocking(fd, False)
 * does this) where WriteFile writes 0 bytes at once: lipc_fd_write keeps
 * its deadline (a try with 0, 200 ms), never spinning. Exit 0 when right. */
static int role_nowait_writer(void) {
  HANDLE r, w;
  if (!CreatePipe(&r, &w, NULL, 4096)) return 10;
  DWORD mode = PIPE_READMODE_BYTE | PIPE_NOWAIT;
  if (!SetNamedPipeHandleState(w, &mode, NULL, NULL)) return 11;
  static unsigned char big[BIG];
  size_t put = 99;
  int rc = lipc_fd_write(fd_of(w), big, BIG, 0, &put);
  if (rc != LIPC_ETIMEDOUT || put >= BIG) return 20 + (rc < 0 ? -rc : rc) % 50;
  /* A pipe may still take a byte that a bigger write did not fit in. */
  int tries = 0;
  while ((rc = lipc_fd_write(fd_of(w), "y", 1, 0, &put)) == LIPC_OK && put == 1 && ++tries < 100000) {
  }
  if (rc != LIPC_ETIMEDOUT || put != 0) return 71;
  ULONGLONG t0 = GetTickCount64();
  rc = lipc_fd_write(fd_of(w), "y", 1, 200, &put);
  if (rc != LIPC_ETIMEDOUT || put != 0 || GetTickCount64() - t0 < 150) return 72;
  /* room again: the write goes through */
  static unsigned char drain[BIG];
  DWORD k;
  if (!ReadFile(r, drain, sizeof drain, &k, NULL) || k == 0) return 73;
  rc = lipc_fd_write(fd_of(w), "z", 1, 1000, &put);
  if (rc != LIPC_OK || put != 1) return 74;
  return 0;
}

/* ---- the parent's tools ---- */

/* A pipe as lipc__win_pipe makes one. */
static void lipc_like_pipe(int parent_reads, HANDLE *parent, HANDLE *child) {
  static int n;
  wchar_t name[64];
  swprintf(name, 64, L"\\\\.\\pipe\\lipc-test-fd-%lu-%d", GetCurrentProcessId(), ++n);
  *parent = CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                             PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 65536, 65536, 0, NULL);
  *child = CreateFileW(name, parent_reads ? GENERIC_WRITE | FILE_READ_ATTRIBUTES : GENERIC_READ | FILE_WRITE_ATTRIBUTES,
                       0, NULL, OPEN_EXISTING, 0, NULL);
  OVERLAPPED o = {0};
  o.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!ConnectNamedPipe(*parent, &o) && GetLastError() == ERROR_IO_PENDING) {
    DWORD k;
    GetOverlappedResult(*parent, &o, &k, TRUE);
  }
  CloseHandle(o.hEvent);
}

/* Runs this program as `exe role <handle> [arg]`, the child inheriting
 * exactly h. */
static HANDLE spawn(const char *role, HANDLE h, const char *arg) {
  wchar_t exe[MAX_PATH], cmd[1024];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  swprintf(cmd, 1024, L"\"%ls\" %hs %lld %hs", exe, role, (long long)(intptr_t)h, arg ? arg : "");
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = malloc(size);
  InitializeProcThreadAttributeList(attrs, 1, 0, &size);
  BOOL inherit = h != NULL;
  if (h) {
    SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, &h, sizeof h, NULL, NULL);
  }
  STARTUPINFOEXW si = {0};
  si.StartupInfo.cb = sizeof si;
  si.lpAttributeList = attrs;
  PROCESS_INFORMATION pi;
  BOOL ok = CreateProcessW(exe, cmd, NULL, NULL, inherit, EXTENDED_STARTUPINFO_PRESENT, NULL, NULL,
                           &si.StartupInfo, &pi);
  DeleteProcThreadAttributeList(attrs);
  free(attrs);
  if (h) SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
  if (!ok) {
    fprintf(stderr, "CreateProcessW: %lu\n", GetLastError());
    return NULL;
  }
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

static DWORD exit_code(HANDLE proc) {
  DWORD code = 999;
  WaitForSingleObject(proc, 60000);
  GetExitCodeProcess(proc, &code);
  return code;
}

static char evname[64];
static HANDLE new_event(void) {
  static int n;
  wchar_t w[64];
  snprintf(evname, sizeof evname, "Local\\lipc-test-fd-%lu-%d", GetCurrentProcessId(), ++n);
  MultiByteToWideChar(CP_UTF8, 0, evname, -1, w, 64);
  return CreateEventW(NULL, TRUE, FALSE, w);
}

/* ---- the tests ---- */

/* Reading across processes: data, a timeout that loses nothing, the data
 * that comes after it, end of file; wait_fds on the pipe and the process. */
static void test_read_across(int sync) {
  HANDLE parent, child, ev = new_event();
  if (sync) {
    CHECK(CreatePipe(&parent, &child, NULL, 0), "CreatePipe");
  } else {
    lipc_like_pipe(1, &parent, &child);
  }
  HANDLE proc = spawn("paced-writer", child, evname);
  CHECK(proc != NULL, "spawn");
  CloseHandle(child);
  int fd = fd_of(parent), pfd = fd_of(proc), ev_r = LIPC_WAIT_READ;
  int re = -1, nready = -1;
  CHECK(lipc_wait_fds(&fd, &ev_r, &re, 1, 30000, &nready) == LIPC_OK && re == LIPC_WAIT_READ && nready == 1,
        "sync %d: pipe READ-ready: %s re %d", sync, lipc_last_error(), re);
  char buf[64] = {0};
  size_t got = 99;
  /* the pipe has "first" and no more until the event: read it all */
  size_t have = 0;
  while (have < 5 && lipc_fd_read(fd, buf + have, sizeof buf - have, 30000, &got) == LIPC_OK && got > 0) have += got;
  CHECK(have == 5 && memcmp(buf, "first", 5) == 0, "sync %d: first: %zu %.*s", sync, have, (int)have, buf);
  got = 99;
  int rc = lipc_fd_read(fd, buf, sizeof buf, 100, &got);
  CHECK(rc == LIPC_ETIMEDOUT && got == 99, "sync %d: timed out read: %d %s", sync, rc, lipc_last_error());
  CHECK(lipc_errno() == WAIT_TIMEOUT, "sync %d: errno %d", sync, lipc_errno());
  CHECK(strstr(lipc_last_error(), "fd_read") != NULL, "message names the call: %s", lipc_last_error());
  rc = lipc_fd_read(fd, buf, sizeof buf, 0, &got);
  CHECK(rc == LIPC_ETIMEDOUT, "sync %d: a try: %d", sync, rc);
  re = -1;
  rc = lipc_wait_fds(&fd, &ev_r, &re, 1, 50, &nready);
  CHECK(rc == LIPC_ETIMEDOUT, "sync %d: wait_fds times out: %d", sync, rc);
  rc = lipc_wait_fds(&pfd, &ev_r, &re, 1, 50, &nready);
  CHECK(rc == LIPC_ETIMEDOUT, "sync %d: process still running: %d", sync, rc);
  /* what comes after the timeouts is all there */
  SetEvent(ev);
  memset(buf, 0, sizeof buf);
  have = 0;
  while (have < 6 && lipc_fd_read(fd, buf + have, sizeof buf - have, 30000, &got) == LIPC_OK && got > 0) have += got;
  CHECK(have == 6 && memcmp(buf, "second", 6) == 0, "sync %d: second after the timeout: %zu %.*s", sync, have,
        (int)have, buf);
  /* the child exits: its process handle is READ-ready, the pipe at end of file */
  re = -1;
  rc = lipc_wait_fds(&pfd, &ev_r, &re, 1, 30000, &nready);
  CHECK(rc == LIPC_OK && re == LIPC_WAIT_READ, "sync %d: process handle READ after exit: %d re %d", sync, rc, re);
  CHECK(exit_code(proc) == 0, "sync %d: child exit code %lu", sync, exit_code(proc));
  re = -1;
  rc = lipc_wait_fds(&fd, &ev_r, &re, 1, 30000, &nready);
  CHECK(rc == LIPC_OK && re == (LIPC_WAIT_READ | LIPC_WAIT_HUP), "sync %d: EOF is READ|HUP: %d re %d", sync, rc, re);
  got = 99;
  rc = lipc_fd_read(fd, buf, sizeof buf, 30000, &got);
  CHECK(rc == LIPC_OK && got == 0, "sync %d: end of file: %d %zu %s", sync, rc, got, lipc_last_error());
  CHECK(lipc_fd_close(fd) == LIPC_OK, "close");
  CloseHandle(proc);
  CloseHandle(ev);
}

/* Writing across processes: 1 MiB (16 times the pipe) within a deadline,
 * the child reads it all and checks it. */
static void test_write_across(int sync) {
  HANDLE parent, child;
  if (sync) {
    HANDLE r, w;
    CHECK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
    parent = w, child = r;
  } else {
    lipc_like_pipe(0, &parent, &child);
  }
  HANDLE proc = spawn("reader", child, NULL);
  CloseHandle(child);
  unsigned char *big = malloc(BIG);
  for (size_t i = 0; i < BIG; i++) big[i] = pattern(i);
  size_t put = 0;
  int rc = lipc_fd_write(fd_of(parent), big, BIG, 60000, &put);
  CHECK(rc == LIPC_OK && put == BIG, "sync %d: wrote %zu: %d %s", sync, put, rc, lipc_last_error());
  CHECK(lipc_fd_close(fd_of(parent)) == LIPC_OK, "close");
  CHECK(exit_code(proc) == 0, "sync %d: the child read it all: exit %lu", sync, exit_code(proc));
  CloseHandle(proc);
  free(big);
}

/* Writing where the reader has gone: LIPC_ECLOSED, nothing written, no
 * crash; wait_fds says WRITE|ERR. */
static void test_broken_pipe(int sync) {
  HANDLE parent, child, ev = new_event();
  if (sync) {
    HANDLE r, w;
    CHECK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
    parent = w, child = r;
  } else {
    lipc_like_pipe(0, &parent, &child);
  }
  HANDLE proc = spawn("wait-event", child, evname);
  CloseHandle(child);
  int fd = fd_of(parent), ev_w = LIPC_WAIT_WRITE, re = -1;
  CHECK(lipc_wait_fds(&fd, &ev_w, &re, 1, 1000, NULL) == LIPC_OK && re == LIPC_WAIT_WRITE,
        "sync %d: WRITE-ready while the reader lives: re %d", sync, re);
  SetEvent(ev);
  CHECK(exit_code(proc) == 7, "child exit");
  size_t put = 99;
  int rc = lipc_fd_write(fd, "x", 1, 1000, &put);
  CHECK(rc == LIPC_ECLOSED && put == 0, "sync %d: broken pipe: %d %zu %s", sync, rc, put, lipc_last_error());
  CHECK(strstr(lipc_last_error(), "reading end is closed") != NULL, "message: %s", lipc_last_error());
  re = -1;
  rc = lipc_wait_fds(&fd, &ev_w, &re, 1, 1000, NULL);
  CHECK(rc == LIPC_OK && (re & LIPC_WAIT_ERR) && (re & LIPC_WAIT_WRITE), "sync %d: WRITE|ERR: %d re %d", sync, rc, re);
  lipc_fd_close(fd);
  CloseHandle(proc);
  CloseHandle(ev);
}

/* A write that times out: what it says it wrote is exactly what the
 * reader then finds, nothing more (the cancelled rest is not in the pipe),
 * and the pipe still works. */
static void test_write_timeout(int sync) {
  HANDLE parent, child;
  if (sync) {
    HANDLE r, w;
    CHECK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
    parent = w, child = r;
  } else {
    lipc_like_pipe(0, &parent, &child);
  }
  unsigned char *big = malloc(BIG), *back = malloc(BIG);
  for (size_t i = 0; i < BIG; i++) big[i] = pattern(i);
  size_t put = 99, got, total = 0;
  int rc = lipc_fd_write(fd_of(parent), big, BIG, 100, &put);
  CHECK(rc == LIPC_ETIMEDOUT && put < BIG, "sync %d: write times out: %d %zu %s", sync, rc, put, lipc_last_error());
  while (lipc_fd_read(fd_of(child), back + total, BIG - total, 0, &got) == LIPC_OK && got > 0) total += got;
  CHECK(total == put && memcmp(back, big, total) == 0, "sync %d: the reader finds what was written: %zu of %zu", sync,
        total, put);
  rc = lipc_fd_write(fd_of(parent), "after", 5, 1000, &put);
  CHECK(rc == LIPC_OK && put == 5, "sync %d: the pipe still works: %d %zu", sync, rc, put);
  CHECK(lipc_fd_read(fd_of(child), back, 64, 1000, &got) == LIPC_OK && got == 5 && memcmp(back, "after", 5) == 0,
        "sync %d: read after: %zu", sync, got);
  lipc_fd_close(fd_of(parent));
  lipc_fd_close(fd_of(child));
  free(big);
  free(back);
}

/* wait_fds over more objects than one Windows wait takes (64). */
static HANDLE later_event;
static DWORD WINAPI set_later(LPVOID p) {
  (void)p;
  Sleep(200);
  SetEvent(later_event);
  return 0;
}

static void test_wait_many(void) {
  enum { N = 150 };
  HANDLE evs[N];
  int fds[N + 1], events[N + 1], re[N + 1], nready = -1;
  for (int i = 0; i < N; i++) {
    evs[i] = CreateEventW(NULL, TRUE, FALSE, NULL);
    fds[i] = fd_of(evs[i]);
    events[i] = LIPC_WAIT_READ;
  }
  HANDLE pr, pw;
  CreatePipe(&pr, &pw, NULL, 0);
  fds[N] = fd_of(pr);
  events[N] = LIPC_WAIT_READ;
  CHECK(lipc_wait_fds(fds, events, re, N + 1, 50, &nready) == LIPC_ETIMEDOUT, "%d handles, none ready", N + 1);
  SetEvent(evs[130]);
  int rc = lipc_wait_fds(fds, events, re, N + 1, 1000, &nready);
  CHECK(rc == LIPC_OK && nready == 1 && re[130] == LIPC_WAIT_READ && re[0] == 0 && re[N] == 0,
        "the 131st: %d nready %d re %d", rc, nready, re[130]);
  ResetEvent(evs[130]);
  /* one signaled while waiting, past the first 63 */
  for (int k = 70; k < N; k += 40) {
    later_event = evs[k];
    HANDLE t = CreateThread(NULL, 0, set_later, NULL, 0, NULL);
    rc = lipc_wait_fds(fds, events, re, N + 1, 30000, &nready);
    CHECK(rc == LIPC_OK && nready == 1 && re[k] == LIPC_WAIT_READ, "event %d set while waiting: %d re %d", k, rc,
          re[k]);
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
    ResetEvent(evs[k]);
  }
  /* and a pipe among them */
  DWORD k;
  WriteFile(pw, "z", 1, &k, NULL);
  rc = lipc_wait_fds(fds, events, re, N + 1, 30000, &nready);
  CHECK(rc == LIPC_OK && nready == 1 && re[N] == LIPC_WAIT_READ, "the pipe among %d: %d re %d", N, rc, re[N]);
  for (int i = 0; i < N; i++) CloseHandle(evs[i]);
  CloseHandle(pr);
  CloseHandle(pw);
}

/* A semaphore or an auto-reset event that a wait takes is reported, also
 * when it is the blocking wait that took it. */
static void test_wait_takes(void) {
  HANDLE sem = CreateSemaphoreW(NULL, 1, 1, NULL);
  int fd = fd_of(sem), ev_r = LIPC_WAIT_READ, re = -1;
  CHECK(lipc_wait_fds(&fd, &ev_r, &re, 1, 0, NULL) == LIPC_OK && re == LIPC_WAIT_READ, "semaphore ready");
  CHECK(WaitForSingleObject(sem, 0) == WAIT_TIMEOUT, "and taken, as any wait takes it");
  CHECK(lipc_wait_fds(&fd, &ev_r, &re, 1, 0, NULL) == LIPC_ETIMEDOUT, "no longer ready");
  later_event = CreateEventW(NULL, FALSE, FALSE, NULL); /* auto-reset */
  fd = fd_of(later_event);
  HANDLE t = CreateThread(NULL, 0, set_later, NULL, 0, NULL);
  int rc = lipc_wait_fds(&fd, &ev_r, &re, 1, 30000, NULL);
  CHECK(rc == LIPC_OK && re == LIPC_WAIT_READ, "auto-reset event set while waiting: %d re %d", rc, re);
  WaitForSingleObject(t, INFINITE);
  CloseHandle(t);
  CloseHandle(later_event);
  CloseHandle(sem);
}

static void test_bad_args(void) {
  char buf[8];
  size_t n;
  HANDLE r, w;
  CreatePipe(&r, &w, NULL, 0);
  CHECK(lipc_fd_read(fd_of(r), NULL, 5, 0, &n) == LIPC_EINVAL, "read NULL buf");
  CHECK(lipc_fd_read(fd_of(r), buf, (size_t)-1, 0, &n) == LIPC_EINVAL, "read size -1");
  CHECK(lipc_fd_write(fd_of(w), NULL, 5, 0, &n) == LIPC_EINVAL, "write NULL buf");
  n = 99;
  CHECK(lipc_fd_write(fd_of(w), buf, (size_t)-1, 0, &n) == LIPC_EINVAL && n == 0, "write size -1");
  CHECK(lipc_fd_close(fd_of(w)) == LIPC_OK, "close");
  /* A handle that is not open: never the number just closed, which the Go
   * runtime in lipc.dll may take for a thread or timer of its own at once
   * (a second close would close that), but one no handle table of a test
   * process reaches. */
  const int gone = NOT_OPEN_HANDLE;
  int rc = lipc_fd_close(gone);
  CHECK(rc == LIPC_EOS_BASE - ERROR_INVALID_HANDLE && lipc_errno() == ERROR_INVALID_HANDLE,
        "close of a handle not open: an OS error, as EBADF on Linux: %d %d %s", rc, lipc_errno(), lipc_last_error());
  CHECK(lipc_fd_close(-1) == LIPC_EOS_BASE - ERROR_INVALID_HANDLE, "close -1 (not the process pseudo-handle)");
  CHECK(lipc_fd_read(-1, buf, 1, 0, &n) == LIPC_EOS_BASE - ERROR_INVALID_HANDLE, "read -1");
  CHECK(lipc_fd_write(gone, "x", 1, 0, &n) == LIPC_EOS_BASE - ERROR_INVALID_HANDLE, "write a handle not open");
  CHECK(lipc_fd_read(gone, buf, 1, 0, &n) == LIPC_EOS_BASE - ERROR_INVALID_HANDLE, "read a handle not open");
  /* wait_fds: bad and ignored entries, bad counts, nfds 0 a sleep */
  int fds[3] = {-1, gone, fd_of(r)}, events[3] = {LIPC_WAIT_READ, LIPC_WAIT_READ, LIPC_WAIT_READ}, re[3], nready;
  rc = lipc_wait_fds(fds, events, re, 3, 1000, &nready);
  CHECK(rc == LIPC_OK && nready == 2 && re[0] == 0 && re[1] == LIPC_WAIT_ERR &&
            re[2] == (LIPC_WAIT_READ | LIPC_WAIT_HUP),
        "a handle not open is ERR, -1 ignored, the reader of a closed pipe at EOF: %d %d %d %d", rc, re[0], re[1],
        re[2]);
  CHECK(lipc_wait_fds(fds, events, re, -1, 0, NULL) == LIPC_EINVAL, "nfds -1");
  CHECK(lipc_wait_fds(fds, events, re, 4097, 0, NULL) == LIPC_EINVAL, "nfds 4097");
  CHECK(lipc_wait_fds(NULL, events, re, 1, 0, NULL) == LIPC_EINVAL, "fds NULL");
  CHECK(lipc_wait_fds(NULL, NULL, NULL, 0, 0, NULL) == LIPC_ETIMEDOUT, "nfds 0, a try");
  DWORD t0 = GetTickCount();
  CHECK(lipc_wait_fds(NULL, NULL, NULL, 0, 100, NULL) == LIPC_ETIMEDOUT, "nfds 0 sleeps");
  CHECK(GetTickCount() - t0 >= 50, "slept %lu ms (of 100; the tick counts in 16 ms steps)", GetTickCount() - t0);
  CloseHandle(r);
}

/* A non-blocking (PIPE_NOWAIT) full pipe: run in a child with a deadline,
 * since the bug this guards against was a write spinning forever. */
static void test_nowait_write(void) {
  HANDLE p = spawn("nowait-writer", NULL, NULL);
  CHECK(p != NULL, "spawn nowait-writer");
  if (!p) return;
  DWORD w = WaitForSingleObject(p, 30000);
  if (w != WAIT_OBJECT_0) TerminateProcess(p, 99);
  CHECK(w == WAIT_OBJECT_0, "a write to a full PIPE_NOWAIT pipe returns (it spun for 30 s)");
  DWORD code = exit_code(p);
  CHECK(code == 0, "a write to a full PIPE_NOWAIT pipe keeps its deadline: child exit %lu", code);
  CloseHandle(p);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "nowait-writer") == 0) return role_nowait_writer();
  if (argc >= 3 && strcmp(argv[1], "paced-writer") == 0) return role_paced_writer(handle_of(argv[2]), argv[3]);
  if (argc >= 3 && strcmp(argv[1], "reader") == 0) return role_reader(handle_of(argv[2]));
  if (argc >= 3 && strcmp(argv[1], "wait-event") == 0) return role_wait_event(argv[3]);
  for (int sync = 0; sync <= 1; sync++) {
    test_read_across(sync);
    test_write_across(sync);
    test_broken_pipe(sync);
    test_write_timeout(sync);
  }
  test_nowait_write();
  test_wait_many();
  test_wait_takes();
  test_bad_args();
  return check_summary();
}
