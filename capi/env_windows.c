/* env_windows.c - the process environment on Windows: the Win32 one
 * (GetEnvironmentVariableW and company), which CreateProcessW gives a child
 * when no block is passed (lipc_proc_spawn, Python's subprocess, libuv), in
 * UTF-8. Names are case-insensitive, as Windows has them.
 *
 * Each C runtime in a process keeps a copy of its own (what getenv,
 * _wgetenv and the CRT's _spawn and system use), filled at its start and
 * updated only by its own _putenv. So that a host written against a CRT
 * sees lipc's changes as it sees setenv's on Linux (host-runtimes.md rule
 * 6), lipc_env_set and lipc_env_unset also update the copy of every
 * Microsoft C runtime already loaded in the process (ucrtbase.dll:
 * Python 3.5+ and today's MSVC programs; msvcrt.dll: mingw programs such as
 * LuaJIT's Windows build; msvcr90-120.dll: older MSVC builds) through its
 * _wputenv_s, then set the Win32 variable last, so the Win32 environment
 * has exactly the value asked for. A CRT cannot hold an empty value
 * (_wputenv_s with "" removes the variable): an empty value is set in the
 * Win32 environment only. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const wchar_t *const crts[] = {L"ucrtbase.dll", L"msvcrt.dll",   L"msvcr120.dll",
                                      L"msvcr110.dll", L"msvcr100.dll", L"msvcr90.dll"};

typedef int(__cdecl *wputenv_s_fn)(const wchar_t *name, const wchar_t *value);

/* value L"" removes the variable from each CRT's copy. */
static void crt_put(const wchar_t *name, const wchar_t *value) {
  for (size_t i = 0; i < sizeof crts / sizeof *crts; i++) {
    HMODULE m = GetModuleHandleW(crts[i]); /* loaded ones only: never load a CRT */
    if (!m) continue;
    wputenv_s_fn put = (wputenv_s_fn)(void (*)(void))GetProcAddress(m, "_wputenv_s");
    if (put) put(name, value);
  }
}

/* The code recorded when wide_name, lipc__utf16 or lipc__utf8 gave NULL. */
static int conv_failed(void) { return lipc_errno() == ERROR_NOT_ENOUGH_MEMORY ? LIPC_ENOMEM : LIPC_EINVAL; }

/* The same rule as Linux: not empty, no '='. Windows keeps names that
 * start with '=' (cmd.exe's per-drive directories, "=C:"): they cannot
 * be named here, as on Linux. */
static wchar_t *wide_name(const char *name, const char *what) {
  if (!name || !*name || strchr(name, '=')) {
    lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: bad variable name \"%s\" (empty or with '=')", what,
               name ? name : "(null)");
    return NULL;
  }
  return lipc__utf16(name, what);
}

int lipc_env_get(const char *name, char *buf, size_t size, size_t *needed) {
  wchar_t *wn = wide_name(name, "env_get");
  if (!wn) return conv_failed();
  DWORD cap = 256;
  wchar_t *v = NULL;
  int rc = LIPC_OK;
  for (;;) {
    wchar_t *nv = realloc(v, (size_t)cap * sizeof *v);
    if (!nv) {
      rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "env_get \"%s\": out of memory", name);
      break;
    }
    v = nv;
    SetLastError(0);
    DWORD r = GetEnvironmentVariableW(wn, v, cap);
    DWORD err = GetLastError();
    if (r == 0 && err == ERROR_ENVVAR_NOT_FOUND) {
      rc = lipc__fail(LIPC_ENOENT, (int)err, "env_get \"%s\": not set", name);
      break;
    }
    if (r == 0 && err != 0) {
      rc = lipc__fail_win(err, "env_get \"%s\"", name);
      break;
    }
    if (r >= cap) { /* too small: r is the size needed (it may grow meanwhile) */
      cap = r + 1;
      continue;
    }
    char *u = lipc__utf8(v, (int)r, "env_get");
    if (!u) {
      rc = conv_failed();
      break;
    }
    rc = lipc__copy_out(u, buf, size, needed, "env_get");
    free(u);
    break;
  }
  free(v);
  free(wn);
  return rc;
}

int lipc_env_set(const char *name, const char *value) {
  wchar_t *wn = wide_name(name, "env_set");
  if (!wn) return conv_failed();
  if (!value) {
    free(wn);
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "env_set \"%s\": value must not be NULL", name);
  }
  wchar_t *wv = lipc__utf16(value, "env_set");
  if (!wv) {
    free(wn);
    return conv_failed();
  }
  int rc = LIPC_OK;
  crt_put(wn, wv);
  if (!SetEnvironmentVariableW(wn, wv)) rc = lipc__fail_win(GetLastError(), "env_set \"%s\"", name);
  free(wv);
  free(wn);
  return rc;
}

int lipc_env_unset(const char *name) {
  wchar_t *wn = wide_name(name, "env_unset");
  if (!wn) return conv_failed();
  int rc = LIPC_OK;
  crt_put(wn, L"");
  if (!SetEnvironmentVariableW(wn, NULL) && GetLastError() != ERROR_ENVVAR_NOT_FOUND)
    rc = lipc__fail_win(GetLastError(), "env_unset \"%s\"", name);
  free(wn);
  return rc;
}

/* Every "NAME=value" of the Win32 environment but those whose name starts
 * with '=' (cmd.exe's "=C:=C:\dir" entries, which the C runtimes' environ
 * leaves out too), in the block's order (Windows keeps it sorted). */
int lipc_env_list(char **block, size_t *len) {
  if (!block || !len)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "env_list: block and len must not be NULL");
  wchar_t *env = GetEnvironmentStringsW();
  if (!env) return lipc__fail_win(GetLastError(), "env_list: GetEnvironmentStringsW");
  size_t cap = 4096, off = 0;
  char *b = malloc(cap);
  int rc = b ? LIPC_OK : lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "env_list: out of memory");
  for (const wchar_t *e = env; rc == LIPC_OK && *e; e += wcslen(e) + 1) {
    if (*e == L'=') continue;
    char *u = lipc__utf8(e, -1, "env_list");
    if (!u) {
      rc = conv_failed();
      break;
    }
    size_t n = strlen(u) + 1;
    if (off + n + 1 > cap) {
      while (off + n + 1 > cap) cap *= 2;
      char *nb = realloc(b, cap);
      if (!nb) {
        free(u);
        rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "env_list: out of memory");
        break;
      }
      b = nb;
    }
    memcpy(b + off, u, n);
    off += n;
    free(u);
  }
  FreeEnvironmentStringsW(env);
  if (rc != LIPC_OK) {
    free(b);
    return rc;
  }
  b[off] = 0;
  *block = b;
  *len = off;
  return LIPC_OK;
}
