/* static_pipe.c - lipc__win_pipe, lipc__win_read and lipc__win_write
 * (capi/fd_windows.h), the I/O under lipc_proc_spawn's pipes: linked with
 * lipc's archive, since lipc.dll exports only the API. The pipe's ends are
 * what the header promises (parent's overlapped, child's synchronous,
 * neither inheritable, the size asked for), names taken by others are
 * skipped, and data crosses to a child that got its end through
 * PROC_THREAD_ATTRIBUTE_HANDLE_LIST, with timeouts that lose nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <winternl.h>

#include "check.h"
#include "lipc.h"

int lipc__win_pipe(int parent_reads, int64_t size, HANDLE *parent_end, HANDLE *child_end, const char *what);
int lipc__win_read(HANDLE h, void *buf, size_t n, int64_t timeout_ms, size_t *got, const char *what);
int lipc__win_write(HANDLE h, const void *buf, size_t n, int64_t timeout_ms, size_t *put, const char *what);

static int is_overlapped(HANDLE h) {
  IO_STATUS_BLOCK io;
  FILE_MODE_INFORMATION mi;
  if (NtQueryInformationFile(h, &io, &mi, sizeof mi, FileModeInformation) < 0) return -1;
  return !(mi.Mode & (FILE_SYNCHRONOUS_IO_ALERT | FILE_SYNCHRONOUS_IO_NONALERT));
}
static int inheritable(HANDLE h) {
  DWORD f = 0;
  GetHandleInformation(h, &f);
  return (f & HANDLE_FLAG_INHERIT) != 0;
}

/* child: echoes what it reads on `in` to `out` until end of file, upper-cased */
static int role_echo(HANDLE in, HANDLE out) {
  char buf[4096];
  DWORD k, w;
  while (ReadFile(in, buf, sizeof buf, &k, NULL) && k > 0) {
    for (DWORD i = 0; i < k; i++)
      if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] -= 32;
    if (!WriteFile(out, buf, k, &w, NULL)) return 2;
  }
  return 0;
}

static HANDLE spawn_echo(HANDLE in, HANDLE out) {
  wchar_t exe[MAX_PATH], cmd[1024];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  swprintf(cmd, 1024, L"\"%ls\" echo %lld %lld", exe, (long long)(intptr_t)in, (long long)(intptr_t)out);
  HANDLE list[2] = {in, out};
  SIZE_T size = 0;
  InitializeProcThreadAttributeList(NULL, 1, 0, &size);
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = malloc(size);
  InitializeProcThreadAttributeList(attrs, 1, 0, &size);
  /* what the proc module does: make the child's ends inheritable, list them */
  SetHandleInformation(in, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  SetHandleInformation(out, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, sizeof list, NULL, NULL);
  STARTUPINFOEXW si = {0};
  si.StartupInfo.cb = sizeof si;
  si.lpAttributeList = attrs;
  PROCESS_INFORMATION pi;
  BOOL ok = CreateProcessW(exe, cmd, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT, NULL, NULL, &si.StartupInfo, &pi);
  DeleteProcThreadAttributeList(attrs);
  free(attrs);
  if (!ok) return NULL;
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "echo") == 0)
    return role_echo((HANDLE)(intptr_t)strtoll(argv[2], NULL, 10), (HANDLE)(intptr_t)strtoll(argv[3], NULL, 10));

  /* names taken by another process (here: this one, before lipc's first
   * pipe) are skipped */
  HANDLE squat[3];
  for (int i = 0; i < 3; i++) {
    wchar_t name[64];
    swprintf(name, 64, L"\\\\.\\pipe\\lipc-%lu-%d", GetCurrentProcessId(), i + 1);
    squat[i] = CreateNamedPipeW(name, PIPE_ACCESS_INBOUND | FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_TYPE_BYTE, 1, 512, 512,
                                0, NULL);
  }
  HANDLE out_p, out_c, in_p, in_c;
  int rc = lipc__win_pipe(1, 0, &out_p, &out_c, "test");
  CHECK(rc == LIPC_OK, "a pipe despite taken names: %s", lipc_last_error());
  for (int i = 0; i < 3; i++) CloseHandle(squat[i]);
  CHECK(lipc__win_pipe(0, 4096, &in_p, &in_c, "test") == LIPC_OK, "second pipe: %s", lipc_last_error());

  /* the ends */
  CHECK(is_overlapped(out_p) == 1 && is_overlapped(in_p) == 1, "parent ends overlapped");
  CHECK(is_overlapped(out_c) == 0 && is_overlapped(in_c) == 0, "child ends synchronous");
  CHECK(!inheritable(out_p) && !inheritable(out_c) && !inheritable(in_p) && !inheritable(in_c), "none inheritable");
  IO_STATUS_BLOCK io;
  FILE_PIPE_LOCAL_INFORMATION pi;
  CHECK(NtQueryInformationFile(in_p, &io, &pi, sizeof pi, FilePipeLocalInformation) >= 0 && pi.OutboundQuota == 4096,
        "size asked for: %lu", pi.OutboundQuota);
  CHECK(NtQueryInformationFile(out_p, &io, &pi, sizeof pi, FilePipeLocalInformation) >= 0 && pi.InboundQuota == 65536,
        "default size: %lu", pi.InboundQuota);
  HANDLE x1, x2;
  CHECK(lipc__win_pipe(1, -1, &x1, &x2, "test") == LIPC_EINVAL, "size -1");
  CHECK(lipc__win_pipe(1, (int64_t)1 << 31, &x1, &x2, "test") == LIPC_EINVAL, "size 2^31");
  CHECK(strstr(lipc_last_error(), "test: pipe size") != NULL, "message names the caller: %s", lipc_last_error());

  /* across a process */
  HANDLE proc = spawn_echo(in_c, out_c);
  CHECK(proc != NULL, "spawn: %lu", GetLastError());
  CloseHandle(in_c);
  CloseHandle(out_c);
  char buf[64] = {0};
  size_t got = 99, put = 0;
  rc = lipc__win_read(out_p, buf, sizeof buf, 100, &got, "test");
  CHECK(rc == LIPC_ETIMEDOUT && got == 0, "nothing yet: %d", rc);
  CHECK(lipc__win_write(in_p, "hello", 5, 30000, &put, "test") == LIPC_OK && put == 5, "write");
  size_t have = 0;
  while (have < 5 && lipc__win_read(out_p, buf + have, sizeof buf - have, 30000, &got, "test") == LIPC_OK && got > 0)
    have += got;
  CHECK(have == 5 && memcmp(buf, "HELLO", 5) == 0, "echoed: %.*s", (int)have, buf);
  CHECK(lipc__win_read(out_p, buf, sizeof buf, 100, &got, "test") == LIPC_ETIMEDOUT, "nothing more");
  CHECK(lipc__win_write(in_p, "again", 5, 30000, &put, "test") == LIPC_OK, "write after a timed-out read");
  have = 0;
  while (have < 5 && lipc__win_read(out_p, buf + have, sizeof buf - have, 30000, &got, "test") == LIPC_OK && got > 0)
    have += got;
  CHECK(have == 5 && memcmp(buf, "AGAIN", 5) == 0, "kept: %.*s", (int)have, buf);
  CloseHandle(in_p); /* the child's read ends: it exits, its end closes */
  got = 99;
  CHECK(lipc__win_read(out_p, buf, sizeof buf, 30000, &got, "test") == LIPC_OK && got == 0, "end of file: %s",
        lipc_last_error());
  DWORD code = 99;
  WaitForSingleObject(proc, 30000);
  GetExitCodeProcess(proc, &code);
  CHECK(code == 0, "child exit %lu", code);
  CloseHandle(out_p);
  CloseHandle(proc);
  return check_summary();
}
