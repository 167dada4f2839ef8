/* test_close_parent.c - one parent handle given to several child fds with
 * LIPC_FD_CLOSE_PARENT (stdout and stderr to one pipe, handed over): the
 * parent closes it once, as on Linux (tests/c/test_spawn_close_parent.c).
 * A second CloseHandle of the number could close whatever another thread
 * opened there in between. lipc.dll's import of CloseHandle is pointed at
 * a counter here (its import address table, patched at run time), so the
 * closes of that handle are counted. Only the spawning thread's: lipc's
 * spawn runs on the caller's thread, while the Go runtime in lipc.dll
 * creates and closes its own handles (threads, timers) on its threads and
 * may be given the number once lipc closed it (a reused value, not a second
 * close). */
#include <stdio.h>
#include <string.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"
#include "wspawn.h"

static HANDLE watched;
static DWORD spawner;
static volatile LONG closes;
static BOOL(WINAPI *real_close)(HANDLE);

static BOOL WINAPI counting_close(HANDLE h) {
  if (h == watched && GetCurrentThreadId() == spawner) InterlockedIncrement(&closes);
  return real_close(h);
}

/* Points module's import of CloseHandle at counting_close; 0 if found. */
static int hook_close(HMODULE module) {
  BYTE *base = (BYTE *)module;
  IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + ((IMAGE_DOS_HEADER *)base)->e_lfanew);
  IMAGE_DATA_DIRECTORY dir = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_IMPORT];
  for (IMAGE_IMPORT_DESCRIPTOR *d = (IMAGE_IMPORT_DESCRIPTOR *)(base + dir.VirtualAddress); d->Name; d++) {
    IMAGE_THUNK_DATA *names = (IMAGE_THUNK_DATA *)(base + (d->OriginalFirstThunk ? d->OriginalFirstThunk : d->FirstThunk));
    IMAGE_THUNK_DATA *iat = (IMAGE_THUNK_DATA *)(base + d->FirstThunk);
    for (; names->u1.AddressOfData; names++, iat++) {
      if (IMAGE_SNAP_BY_ORDINAL(names->u1.Ordinal)) continue;
      IMAGE_IMPORT_BY_NAME *by = (IMAGE_IMPORT_BY_NAME *)(base + names->u1.AddressOfData);
      if (strcmp((const char *)by->Name, "CloseHandle") != 0) continue;
      DWORD old;
      if (!VirtualProtect(&iat->u1.Function, sizeof iat->u1.Function, PAGE_READWRITE, &old)) return -1;
      real_close = (BOOL(WINAPI *)(HANDLE))(uintptr_t)iat->u1.Function;
      iat->u1.Function = (ULONG_PTR)(uintptr_t)counting_close;
      VirtualProtect(&iat->u1.Function, sizeof iat->u1.Function, old, &old);
      return 0;
    }
  }
  return -1;
}

int main(void) {
  HMODULE lib = GetModuleHandleA("lipc.dll");
  CHECK(lib != NULL, "lipc.dll is loaded");
  if (!lib || hook_close(lib) != 0) {
    CHECK(0, "lipc.dll imports CloseHandle by name (the counter could not be put in)");
    return check_summary();
  }
  HANDLE r, w;
  CHECK(CreatePipe(&r, &w, NULL, 0), "CreatePipe");
  lipc_handle_t a, p;
  CHECK(lipc_spawnattr_new(&a) == LIPC_OK, "spawnattr_new");
  lipc_spawnattr_shell(a, "exit 0");
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PARENT, (int)(intptr_t)w, NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_PARENT, (int)(intptr_t)w, NULL, LIPC_FD_CLOSE_PARENT, 0);
  spawner = GetCurrentThreadId();
  watched = w;
  int rc = spawn_past_gap7(a, &p); /* wspawn.h: Wine's gap 7 */
  watched = NULL;
  CHECK(rc == LIPC_OK, "spawn: %s", lipc_last_error());
  if (rc == LIPC_OK) {
    lipc_proc_wait(p, 30000, NULL, NULL);
    lipc_close(p);
  }
  CHECK(closes == 1, "the parent's handle was closed %ld times", (long)closes);
  char buf[1];
  DWORD got;
  CHECK(!ReadFile(r, buf, 1, &got, NULL) && GetLastError() == ERROR_BROKEN_PIPE,
        "the write end is closed everywhere (parent closed it, child exited)");
  CloseHandle(r);
  lipc_close(a);
  return check_summary();
}
