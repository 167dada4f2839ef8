/* test_base.c - lipc.dll as a Windows library: its version (the header's,
 * lipc_version's and the file's version resource agree), its exports
 * (exactly the header's functions: read from the DLL's own export table),
 * handles and errors as on Linux, and Windows error codes kept. */
#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>
#include <string.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"

/* The DLL's export names, from its PE export directory. */
static int exports(HMODULE m, const char ***names) {
  BYTE *base = (BYTE *)m;
  IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + ((IMAGE_DOS_HEADER *)base)->e_lfanew);
  IMAGE_DATA_DIRECTORY d = nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
  IMAGE_EXPORT_DIRECTORY *e = (IMAGE_EXPORT_DIRECTORY *)(base + d.VirtualAddress);
  DWORD *rva = (DWORD *)(base + e->AddressOfNames);
  *names = calloc(e->NumberOfNames, sizeof **names);
  for (DWORD i = 0; i < e->NumberOfNames; i++) (*names)[i] = (const char *)(base + rva[i]);
  return (int)e->NumberOfNames;
}

static const char *const header_functions[] = {
#define F(n) #n,
#include "functions.inc" /* made from lipc.h by scripts/windows/test.sh */
#undef F
};

int main(void) {
  /* version: header, function, resource */
  CHECK(strcmp(lipc_version(), LIPC_VERSION_STRING) == 0, "lipc_version %s", lipc_version());
  HMODULE m = GetModuleHandleW(L"lipc.dll");
  CHECK(m != NULL, "lipc.dll is loaded under that name");
  wchar_t path[MAX_PATH];
  GetModuleFileNameW(m, path, MAX_PATH);
  DWORD zero, n = GetFileVersionInfoSizeW(path, &zero);
  CHECK(n > 0, "version resource present (%lu)", GetLastError());
  if (n > 0) {
    void *buf = malloc(n);
    VS_FIXEDFILEINFO *fi;
    UINT len;
    GetFileVersionInfoW(path, 0, n, buf);
    CHECK(VerQueryValueW(buf, L"\\", (void **)&fi, &len), "fixed file info");
    CHECK(HIWORD(fi->dwFileVersionMS) == LIPC_VERSION_MAJOR && LOWORD(fi->dwFileVersionMS) == LIPC_VERSION_MINOR &&
              HIWORD(fi->dwFileVersionLS) == LIPC_VERSION_PATCH,
          "file version %u.%u.%u", HIWORD(fi->dwFileVersionMS), LOWORD(fi->dwFileVersionMS),
          HIWORD(fi->dwFileVersionLS));
    wchar_t *s, want[16];
    swprintf(want, 16, L"lipc-%d", LIPC_VERSION_MAJOR);
    CHECK(VerQueryValueW(buf, L"\\StringFileInfo\\040904B0\\InternalName", (void **)&s, &len) &&
              wcscmp(s, want) == 0,
          "internal name (the soname's counterpart)");
    free(buf);
  }

  /* exports: exactly the header's functions */
  const char **names;
  int ne = exports(m, &names);
  int nh = (int)(sizeof header_functions / sizeof *header_functions);
  CHECK(ne == nh, "%d exports, %d functions in the header", ne, nh);
  for (int i = 0; i < ne; i++) {
    int found = 0;
    for (int j = 0; j < nh; j++) found |= strcmp(names[i], header_functions[j]) == 0;
    CHECK(found, "export %s is not in lipc.h", names[i]);
  }
  for (int j = 0; j < nh; j++) CHECK(GetProcAddress(m, header_functions[j]) != NULL, "%s not exported", header_functions[j]);

  /* handles and errors, as on Linux */
  CHECK(lipc_close(12345) == LIPC_EBADHANDLE, "small integer");
  CHECK(strstr(lipc_last_error(), "12345") != NULL, "message names the handle: %s", lipc_last_error());
  CHECK(lipc_close(((int64_t)1 << 52) | 77) == LIPC_EBADHANDLE, "never-given handle");
  int kind;
  CHECK(lipc_handle_kind(((int64_t)1 << 52) | (1 << 20), &kind) == LIPC_EBADHANDLE, "kind of a bad handle");
  CHECK(strcmp(lipc_error_name(LIPC_ETIMEDOUT), "LIPC_ETIMEDOUT") == 0, "error names");
  CHECK(strcmp(lipc_error_name(LIPC_EOS_BASE - ERROR_BAD_EXE_FORMAT), "LIPC_EOS") == 0, "OS codes");
  int64_t v = -1;
  CHECK(lipc_diag(LIPC_DIAG_GO_PANICS, &v) == LIPC_OK && v == 0, "a call through Go: %lld", (long long)v);
  CHECK(lipc_diag(LIPC_DIAG_LIVE_HANDLES, &v) == LIPC_OK && v == 0, "no handles open");
  CHECK(lipc_set_call_mode(LIPC_CALL_HANDOFF) == LIPC_OK && lipc_set_call_mode(LIPC_CALL_DIRECT) == LIPC_OK,
        "call modes accepted");
  CHECK(lipc_set_call_mode(99) == LIPC_EINVAL, "bad call mode");

  /* quoting is the same code on both systems */
  char buf[64];
  size_t need;
  CHECK(lipc_quote_win("a b", buf, sizeof buf, &need) == LIPC_OK && strcmp(buf, "\"a b\"") == 0, "quote_win: %s", buf);
  return check_summary();
}
