/* wchild.h - the Windows C tests' own start of a child process (the test's
 * exe again, in a child role). Not lipc's spawn: the harness's. */
#ifndef LIPC_WCHILD_H
#define LIPC_WCHILD_H
#include <stdio.h>
#include <windows.h>

/* CreateProcessW(exe, cmd) with no inheritance, for a child role; the
 * process handle, or NULL (said on stderr). Wine's CreateProcessW fails now
 * and then with ERROR_INTERNAL_ERROR on a loaded machine (its server's
 * socket: "wine client error"; docs/windows-wine.md, gap 7), so that one
 * error is tried again, three times at most; any other fails at once. */
static inline HANDLE start_child_process(const wchar_t *exe, wchar_t *cmd) {
  STARTUPINFOW si = {.cb = sizeof si};
  PROCESS_INFORMATION pi;
  BOOL started = FALSE;
  for (int try_ = 0; try_ < 3 && !started; try_++) {
    started = CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi);
    if (!started && GetLastError() != ERROR_INTERNAL_ERROR) break;
    if (!started) Sleep(100);
  }
  if (!started) {
    fprintf(stderr, "CreateProcessW failed: %lu\n", GetLastError());
    return NULL;
  }
  CloseHandle(pi.hThread);
  return pi.hProcess;
}
#endif
