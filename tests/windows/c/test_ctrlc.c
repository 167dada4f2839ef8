/* test_ctrlc.c - a host's Ctrl-C ends lipc's waits with LIPC_EINTR, and
 * the host's own console control handler still runs.
 *
 * The order matters: Windows calls console control handlers last
 * registered first, and lipc registers its handler when lipc.dll loads. A
 * host such as Python registers its handler at start and loads lipc later
 * (ctypes), so lipc's runs first, returns FALSE, and the host's runs next.
 * This program does the same: it does not link lipc.dll (no lipc_*
 * reference: the import library adds nothing) but loads it with
 * LoadLibraryW after registering its own handler. The work is done in a
 * child with a console of its own (FreeConsole + AllocConsole), so that the
 * Ctrl-C it sends itself (GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0): every
 * process on its console) reaches no other process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"

typedef int (*wait_fds_fn)(const int *, const int *, int *, int, int64_t, int *);
typedef int (*fd_read_fn)(int, void *, size_t, int64_t, size_t *);
typedef const char *(*last_error_fn)(void);
typedef int (*diag_fn)(int, int64_t *);

static volatile LONG host_calls, done, sent, refused;
static volatile DWORD refusal;

static BOOL WINAPI host_handler(DWORD type) {
  if (type == CTRL_C_EVENT) InterlockedIncrement(&host_calls);
  return TRUE; /* handled: the process goes on */
}

/* Sends Ctrl-C again and again until the waits are over: when exactly the
 * first arrives does not matter. */
static DWORD WINAPI ctrl_c_sender(LPVOID p) {
  (void)p;
  while (!done) {
    if (GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0)) {
      sent++;
    } else {
      refused++;
      refusal = GetLastError();
    }
    Sleep(100);
  }
  return 0;
}

/* Exit codes: 0 all as expected; 20 + step otherwise. */
static int role_child(void) {
  FreeConsole();
  if (!AllocConsole()) return 21;
  SetConsoleCtrlHandler(NULL, FALSE); /* Ctrl-C processing on */
  if (!SetConsoleCtrlHandler(host_handler, TRUE)) return 22;
  HMODULE m = LoadLibraryW(L"lipc.dll");
  if (!m) return 23;
  wait_fds_fn wait_fds = (wait_fds_fn)(void (*)(void))GetProcAddress(m, "lipc_wait_fds");
  fd_read_fn fd_read = (fd_read_fn)(void (*)(void))GetProcAddress(m, "lipc_fd_read");
  last_error_fn last_error = (last_error_fn)(void (*)(void))GetProcAddress(m, "lipc_last_error");
  /* A call through Go returns once Go's runtime has started (lipc.dll
   * starts it on a thread of its own at load): a console control event
   * that arrives while it starts can crash the process (Go issue 46354,
   * runtime: unexpected failure when a c-shared Go DLL on Windows receives
   * CtrlBreak concurrently with runtime initialization). */
  diag_fn diag = (diag_fn)(void (*)(void))GetProcAddress(m, "lipc_diag");
  int64_t v;
  if (diag(LIPC_DIAG_GO_PANICS, &v) != LIPC_OK) return 27;
  HANDLE t = CreateThread(NULL, 0, ctrl_c_sender, NULL, 0, NULL);
  int rc1 = wait_fds(NULL, NULL, NULL, 0, 30000, NULL);
  char *msg1 = _strdup(last_error());
  HANDLE r, w;
  CreatePipe(&r, &w, NULL, 0);
  char buf[8];
  size_t got;
  int rc2 = fd_read((int)(intptr_t)r, buf, sizeof buf, 30000, &got);
  done = 1;
  WaitForSingleObject(t, INFINITE);
  printf("child: wait_fds %d (%s), fd_read %d (%s), host handler ran %ld times; %ld Ctrl-C sent, %ld refused (%lu)\n",
         rc1, msg1, rc2, last_error(), host_calls, sent, refused, refusal);
  fflush(stdout);
  if (rc1 != LIPC_EINTR) return 24;
  if (rc2 != LIPC_EINTR) return 25;
  if (host_calls < 1) return 26;
  return 0;
}

static BOOL WINAPI parent_handler(DWORD type) {
  (void)type;
  return TRUE; /* should a Ctrl-C reach this process after all, it survives */
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "child") == 0) return role_child();
  SetConsoleCtrlHandler(parent_handler, TRUE);
  wchar_t exe[MAX_PATH], cmd[MAX_PATH + 16];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  swprintf(cmd, MAX_PATH + 16, L"\"%ls\" child", exe);
  STARTUPINFOW si = {0};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  CHECK(CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi),
        "spawn: %lu", GetLastError());
  DWORD code = 999;
  CHECK(WaitForSingleObject(pi.hProcess, 120000) == WAIT_OBJECT_0, "the child ends");
  GetExitCodeProcess(pi.hProcess, &code);
  CHECK(code == 0, "Ctrl-C ended the waits with LIPC_EINTR and the host's handler ran: exit %lu", code);
  return check_summary();
}
