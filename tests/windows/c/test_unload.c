/* test_unload.c - lipc.dll loaded at run time (LoadLibrary, as LuaJIT's
 * ffi.load and Python's ctypes do): a FreeLibrary, a host thread's end and
 * the process's end must lose nothing and crash nothing.
 *
 * The bug this guards against: a host that loaded lipc.dll, used it, freed
 * it and then wrote to stdout without flushing (luajit.exe does exactly
 * that: lua_close frees every ffi.load'ed library before the C runtime
 * flushes stdout at exit) lost its output, because FreeLibrary unmapped
 * lipc.dll while Go's threads, lipc's fiber-local exit callbacks and its
 * console control handler still pointed into it: the next of them to run
 * faulted and the process died before its buffers were flushed. lipc.dll
 * now pins itself at load, so FreeLibrary leaves it mapped.
 *
 * Each case runs this exe again as a child with a pipe for its stdout (so
 * the C runtime buffers fully, as in a pipeline), directly and through a
 * `cmd /c "child && echo ..."` chain, and checks the child's exit code and
 * that its unflushed output arrived. The exe does not import lipc.dll: every
 * lipc function is found with GetProcAddress, so that the child's
 * FreeLibrary is the last reference (an imported DLL is never unloaded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"

static __typeof__(lipc_close) *p_close;
static __typeof__(lipc_last_error) *p_last_error;
static __typeof__(lipc_wait_fds) *p_wait_fds;

static HMODULE load_lipc(void) {
  HMODULE m = LoadLibraryW(L"lipc.dll");
  if (!m) return NULL;
  p_close = (__typeof__(p_close))(void *)GetProcAddress(m, "lipc_close");
  p_last_error = (__typeof__(p_last_error))(void *)GetProcAddress(m, "lipc_last_error");
  p_wait_fds = (__typeof__(p_wait_fds))(void *)GetProcAddress(m, "lipc_wait_fds");
  return p_close && p_last_error && p_wait_fds ? m : NULL;
}

/* What leaves per-thread state in lipc: an error message (errors.c), a
 * handle lookup's hazard record (hazard.c) and a wait's interrupt event
 * (wait_windows.c), each given back by a thread-exit callback. 0 if every
 * call answered as it should. */
static int use_lipc(void) {
  int bad = 0;
  if (p_close((lipc_handle_t)12345) != LIPC_EBADHANDLE || !p_last_error()[0]) bad = 1;
  if (p_wait_fds(NULL, NULL, NULL, 0, 1, NULL) != LIPC_ETIMEDOUT) bad = 1;
  return bad;
}

static DWORD WINAPI thread_body(LPVOID arg) {
  LONG *bad = arg;
  if (use_lipc()) InterlockedIncrement(bad);
  ExitThread(0); /* as a host thread ends: its fiber-local callbacks run */
}

/* ---- child roles: each ends by returning from main with its output still
 * in stdout's buffer (no fflush) ---- */

/* Loads lipc, uses it, returns: the process's end runs lipc's exit
 * callbacks for this thread after every other thread was stopped. */
static int child_exit(void) {
  if (!load_lipc()) return 3;
  int bad = use_lipc();
  printf("exit child: %s\n", bad ? "lipc calls failed" : "done");
  return bad ? 4 : 0;
}

/* Loads lipc, uses it on this thread and another one, frees it, then lets
 * threads start and end as a host does: nothing of lipc's may run from an
 * unmapped image. */
static int child_unload(void) {
  HMODULE m = load_lipc();
  if (!m) return 3;
  LONG bad = use_lipc();
  HANDLE t = CreateThread(NULL, 0, thread_body, &bad, 0, NULL);
  if (t) WaitForSingleObject(t, INFINITE), CloseHandle(t);
  BOOL freed = FreeLibrary(m);
  int pinned = GetModuleHandleW(L"lipc.dll") == m;
  /* The pause gives an unmapped DLL's Go threads time to fault; it does
   * not decide the result: the pin check above does. */
  Sleep(200);
  printf("unload child: freed=%d pinned=%d calls=%s\n", (int)freed, pinned, bad ? "failed" : "ok");
  return freed && pinned && !bad ? 0 : 4;
}

/* ---- the parent ---- */

/* How many handles the process has open, up to a value no test reaches. */
static int open_handles(void) {
  int n = 0;
  DWORD flags;
  for (uintptr_t v = 4; v < 0x4000; v += 4) n += GetHandleInformation((HANDLE)v, &flags) != 0;
  return n;
}

/* Runs cmdline with stdout and stderr on a pipe; returns the exit code and
 * what it wrote (NUL-terminated, at most cap - 1 bytes). */
static DWORD run(wchar_t *cmdline, char *out, size_t cap) {
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  HANDLE rd, wr;
  if (!CreatePipe(&rd, &wr, &sa, 0)) return 0xFFFFFFFF;
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOW si = {.cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES};
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = si.hStdError = wr;
  PROCESS_INFORMATION pi;
  BOOL ok = CreateProcessW(NULL, cmdline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
  CloseHandle(wr);
  size_t len = 0;
  DWORD n;
  if (ok)
    while (len + 1 < cap && ReadFile(rd, out + len, (DWORD)(cap - 1 - len), &n, NULL) && n > 0) len += n;
  out[len] = 0;
  CloseHandle(rd);
  if (!ok) return 0xFFFFFFFF;
  DWORD code = 0xFFFFFFFF;
  WaitForSingleObject(pi.hProcess, INFINITE);
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  return code;
}

static void check_child(const char *role, const char *want) {
  wchar_t self[MAX_PATH], cmd[3 * MAX_PATH], sys[MAX_PATH];
  char out[4096];
  GetModuleFileNameW(NULL, self, MAX_PATH);

  swprintf(cmd, 3 * MAX_PATH, L"\"%ls\" %hs", self, role);
  DWORD code = run(cmd, out, sizeof out);
  CHECK(code == 0, "%s child, directly: exit code 0x%lx, output [%s]", role, (unsigned long)code, out);
  CHECK(strstr(out, want) != NULL, "%s child, directly: unflushed output arrived: [%s]", role, out);

  /* cmd.exe runs the second command only when the first exits 0. */
  GetSystemDirectoryW(sys, MAX_PATH);
  swprintf(cmd, 3 * MAX_PATH, L"\"%ls\\cmd.exe\" /c \"\"%ls\" %hs && echo chain-went-on\"", sys, self, role);
  code = run(cmd, out, sizeof out);
  CHECK(code == 0, "%s child, through cmd &&: exit code 0x%lx, output [%s]", role, (unsigned long)code, out);
  CHECK(strstr(out, want) != NULL && strstr(out, "chain-went-on") != NULL,
        "%s child, through cmd &&: its unflushed output and the next command's arrived: [%s]", role, out);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "exit") == 0) return child_exit();
  if (argc > 1 && strcmp(argv[1], "unload") == 0) return child_unload();

  check_child("exit", "exit child: done");
  check_child("unload", "unload child: freed=1 pinned=1 calls=ok");

  /* FreeLibrary leaves lipc.dll loaded and working in this process too. */
  HMODULE m = load_lipc();
  CHECK(m != NULL, "lipc.dll loads (%lu)", GetLastError());
  if (!m) return check_summary();
  CHECK(FreeLibrary(m), "FreeLibrary answers TRUE");
  CHECK(GetModuleHandleW(L"lipc.dll") == m, "lipc.dll stays loaded after its last FreeLibrary");
  CHECK(use_lipc() == 0, "lipc works after a FreeLibrary");

  /* Host threads that used lipc and ended (ExitThread): each one's
   * fiber-local callbacks give its state back, and none may crash. A wait's
   * interrupt event is a kernel handle, so threads that each kept their own
   * would show as one open handle more per thread (counted by asking every
   * handle value: Wine's GetProcessHandleCount answers 0). */
  LONG bad = 0;
  use_lipc(); /* this thread's own state first */
  int before = open_handles();
  enum { THREADS = 200 };
  for (int i = 0; i < THREADS; i++) {
    HANDLE t = CreateThread(NULL, 0, thread_body, &bad, 0, NULL);
    CHECK(t != NULL, "CreateThread %d (%lu)", i, GetLastError());
    if (!t) break;
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
  }
  int after = open_handles();
  CHECK(bad == 0, "lipc calls on %d ended threads answered as they should (%ld did not)", THREADS, bad);
  CHECK(after - before < THREADS / 4,
        "ended threads' wait events given back: %d open handles before %d threads, %d after", before, THREADS,
        after);
  CHECK(p_close((lipc_handle_t)12345) == LIPC_EBADHANDLE && strstr(p_last_error(), "12345") != NULL,
        "this thread's own error message is its own: [%s]", p_last_error());
  return check_summary();
}
