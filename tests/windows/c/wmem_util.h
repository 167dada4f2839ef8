/* wmem_util.h - what test_mem.c and test_flock.c share: unique names, the
 * test's own exe started again in a child role, named Win32 events for
 * hand-shakes between the roles, and small file helpers. */
#ifndef LIPC_WMEM_UTIL_H
#define LIPC_WMEM_UTIL_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"
#include "wchild.h"

static inline int under_wine(void) {
  const char *s = getenv("LIPC_UNDER_WINE");
  return s && *s && strcmp(s, "0") != 0;
}

/* "prefix-PID-N": unique per test run. */
static inline const char *uniq(const char *prefix) {
  static char buf[8][96];
  static int n;
  char *b = buf[n % 8];
  static unsigned long long t0;
  if (!t0) t0 = GetTickCount64();
  snprintf(b, sizeof buf[0], "%s-%lu-%llu-%d", prefix, (unsigned long)GetCurrentProcessId(), t0, n);
  n++;
  return b;
}

/* A temporary file path (UTF-8) under %TEMP%: unique per call. */
static inline const char *tmp_path(const char *stem) {
  static char buf[8][MAX_PATH * 3];
  static int n;
  wchar_t dir[MAX_PATH];
  char d[MAX_PATH * 3];
  DWORD len = GetTempPathW(MAX_PATH, dir);
  WideCharToMultiByte(CP_UTF8, 0, dir, len + 1, d, sizeof d, NULL, NULL);
  char *b = buf[n % 8];
  /* Wine reuses process ids from run to run: the time too. */
  static unsigned long long t0;
  if (!t0) t0 = GetTickCount64();
  snprintf(b, sizeof buf[0], "%slipc-%s-%lu-%llu-%d", d, stem, (unsigned long)GetCurrentProcessId(), t0, n);
  n++;
  return b;
}

static inline wchar_t *wide(const char *s) {
  static wchar_t buf[4][MAX_PATH * 2];
  static int n;
  wchar_t *b = buf[n++ % 4];
  MultiByteToWideChar(CP_UTF8, 0, s, -1, b, MAX_PATH * 2);
  return b;
}

/* Starts this exe again as `exe role args...`; returns the process handle
 * (NULL on failure). */
static inline HANDLE start_child(const char *fmt, ...) {
  wchar_t exe[MAX_PATH];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  char args[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  wchar_t cmd[2048];
  swprintf(cmd, 2048, L"\"%ls\" %ls", exe, wide(args));
  return start_child_process(exe, cmd);
}

/* Waits for a child (30 s at most) and gives its exit code (-1: none). */
static inline int child_exit(HANDLE p) {
  if (!p) return -1;
  DWORD code = (DWORD)-1;
  if (WaitForSingleObject(p, 30000) == WAIT_OBJECT_0) GetExitCodeProcess(p, &code);
  CloseHandle(p);
  return (int)code;
}

static inline int run_child(const char *fmt, const char *arg) {
  return child_exit(start_child(fmt, arg));
}

/* Named manual-reset events for hand-shakes: "NAME-what". */
static inline HANDLE event_of(const char *name, const char *what) {
  char n[256];
  snprintf(n, sizeof n, "wmem-%s-%s", name, what);
  return CreateEventW(NULL, TRUE, FALSE, wide(n));
}

/* Waits for an event (30 s at most): 1 if it came. */
static inline int await(HANDLE ev) { return WaitForSingleObject(ev, 30000) == WAIT_OBJECT_0; }

static inline int write_file(const char *path, const void *data, DWORD n) {
  HANDLE f = CreateFileW(wide(path), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (f == INVALID_HANDLE_VALUE) return 0;
  DWORD done = 0;
  BOOL ok = n == 0 || WriteFile(f, data, n, &done, NULL);
  CloseHandle(f);
  return ok && done == n;
}

/* Reads up to n bytes at off; returns how many (-1 on failure). */
static inline long read_file(const char *path, int64_t off, void *buf, DWORD n) {
  HANDLE f = CreateFileW(wide(path), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
  if (f == INVALID_HANDLE_VALUE) return -1;
  OVERLAPPED ov = {.Offset = (DWORD)off, .OffsetHigh = (DWORD)(off >> 32)};
  DWORD done = 0;
  BOOL ok = ReadFile(f, buf, n, &done, &ov);
  CloseHandle(f);
  return ok ? (long)done : -1;
}

static inline int64_t file_size(const char *path) {
  WIN32_FILE_ATTRIBUTE_DATA a;
  if (!GetFileAttributesExW(wide(path), GetFileExInfoStandard, &a)) return -1;
  return ((int64_t)a.nFileSizeHigh << 32) | a.nFileSizeLow;
}

static inline void remove_file(const char *path) {
  SetFileAttributesW(wide(path), FILE_ATTRIBUTE_NORMAL);
  DeleteFileW(wide(path));
}

#define LASTERR lipc_last_error()
#endif
