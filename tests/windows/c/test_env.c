/* test_env.c - lipc_env_* on Windows: the live Win32 environment in UTF-8,
 * names case-insensitive, the C runtime's copy kept in step (this program's
 * CRT is msvcrt.dll, mingw's), children seeing the changes whether
 * CreateProcessW or the CRT's _spawn starts them, the list's format, bad
 * names. */
#include <process.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <windows.h>

#include "check.h"
#include "lipc.h"

static char name[64], name2[64];

/* child: exit 0 if the variable argv[2] has the value argv[3] (UTF-8), in
 * the Win32 environment and in this child's CRT copy */
static int role_check(const char *n, const char *v) {
  char buf[256];
  size_t need;
  if (lipc_env_get(n, buf, sizeof buf, &need) != LIPC_OK) return 3;
  if (strcmp(buf, v) != 0) return 4;
  const char *c = getenv(n);
  if (!c || strcmp(c, v) != 0) return 5;
  return 0;
}

static DWORD run_child(const char *n, const char *v) {
  wchar_t exe[MAX_PATH], cmd[1024];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  swprintf(cmd, 1024, L"\"%ls\" check %hs %hs", exe, n, v);
  STARTUPINFOW si = {0};
  si.cb = sizeof si;
  PROCESS_INFORMATION pi;
  if (!CreateProcessW(exe, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi)) return 999;
  DWORD code = 998;
  WaitForSingleObject(pi.hProcess, 60000);
  GetExitCodeProcess(pi.hProcess, &code);
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  return code;
}

/* 1 if block has entry exactly, 0 if not */
static int listed(const char *block, size_t len, const char *entry) {
  for (size_t off = 0; off < len; off += strlen(block + off) + 1)
    if (strcmp(block + off, entry) == 0) return 1;
  return 0;
}

static void test_round_trip(void) {
  char buf[256];
  size_t need = 0;
  CHECK(lipc_env_get(name, buf, sizeof buf, &need) == LIPC_ENOENT, "unset at first: %s", lipc_last_error());
  CHECK(lipc_env_set(name, "one") == LIPC_OK, "set: %s", lipc_last_error());
  CHECK(lipc_env_get(name, buf, sizeof buf, &need) == LIPC_OK && strcmp(buf, "one") == 0 && need == 4, "get: %s %zu",
        buf, need);
  CHECK(lipc_env_set(name, "two") == LIPC_OK, "replace");
  CHECK(lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, "two") == 0, "replaced: %s", buf);
  CHECK(lipc_env_get(name, buf, 3, &need) == LIPC_ERANGE && need == 4, "buffer too small: need %zu", need);
  wchar_t wn[64], wv[64];
  MultiByteToWideChar(CP_UTF8, 0, name, -1, wn, 64);
  CHECK(GetEnvironmentVariableW(wn, wv, 64) == 3 && wcscmp(wv, L"two") == 0, "the Win32 environment has it");
  /* empty value: set, not unset */
  CHECK(lipc_env_set(name, "") == LIPC_OK, "set empty");
  CHECK(lipc_env_get(name, buf, sizeof buf, &need) == LIPC_OK && buf[0] == 0 && need == 1, "empty value: need %zu",
        need);
  /* a long value (past the first buffer) */
  static char longv[20000], back[20001];
  memset(longv, 'v', sizeof longv - 1);
  CHECK(lipc_env_set(name, longv) == LIPC_OK, "long value: %s", lipc_last_error());
  CHECK(lipc_env_get(name, back, sizeof back, &need) == LIPC_OK && strcmp(back, longv) == 0 && need == sizeof longv,
        "long value back: %zu", need);
  CHECK(lipc_env_unset(name) == LIPC_OK, "unset");
  CHECK(lipc_env_get(name, buf, sizeof buf, &need) == LIPC_ENOENT, "gone");
  CHECK(GetEnvironmentVariableW(wn, wv, 64) == 0 && GetLastError() == ERROR_ENVVAR_NOT_FOUND, "gone from Win32");
  CHECK(lipc_env_unset(name) == LIPC_OK, "unset an unset variable");
}

static void test_case_insensitive(void) {
  char upper[64], lower[64], buf[64];
  for (size_t i = 0; i <= strlen(name); i++) {
    upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    lower[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  }
  CHECK(lipc_env_set(name, "mixed") == LIPC_OK, "set");
  CHECK(lipc_env_get(upper, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, "mixed") == 0, "upper case name");
  CHECK(lipc_env_get(lower, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, "mixed") == 0, "lower case name");
  CHECK(lipc_env_set(upper, "again") == LIPC_OK, "set through another case");
  CHECK(lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, "again") == 0, "one variable");
  char *block;
  size_t len;
  CHECK(lipc_env_list(&block, &len) == LIPC_OK, "list");
  /* once, under one of the names (Windows says which: Wine the latest) */
  int n = 0;
  for (size_t off = 0; off < len; off += strlen(block + off) + 1) {
    n += _strnicmp(block + off, name, strlen(name)) == 0 && block[off + strlen(name)] == '=';
  }
  CHECK(n == 1, "listed once: %d", n);
  lipc_free(block);
  CHECK(lipc_env_unset(lower) == LIPC_OK, "unset through another case");
  CHECK(lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_ENOENT, "gone");
}

static void test_unicode(void) {
  const char *v = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9d\x84\x9e"; /* héllo wörld ✓ 𝄞 */
  char buf[64];
  CHECK(lipc_env_set(name, v) == LIPC_OK, "unicode value");
  CHECK(lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, v) == 0, "back: %s", buf);
  wchar_t wn[64], wv[64];
  MultiByteToWideChar(CP_UTF8, 0, name, -1, wn, 64);
  CHECK(GetEnvironmentVariableW(wn, wv, 64) > 0 && wcscmp(wv, L"h\u00e9llo w\u00f6rld \u2713 \U0001D11E") == 0,
        "UTF-16 in the Win32 environment");
  CHECK(SetEnvironmentVariableW(wn, L"\u00fcber") && lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_OK &&
            strcmp(buf, "\xc3\xbc" "ber") == 0,
        "set by Win32, read in UTF-8: %s", buf);
  /* a unicode name */
  snprintf(name2, sizeof name2, "LIPC_T_\xc3\x84_%lu", GetCurrentProcessId()); /* Ä */
  CHECK(lipc_env_set(name2, "x") == LIPC_OK && lipc_env_get(name2, buf, sizeof buf, NULL) == LIPC_OK, "unicode name");
  char folded[64];
  snprintf(folded, sizeof folded, "LIPC_T_\xc3\xa4_%lu", GetCurrentProcessId()); /* ä: Windows folds case beyond ASCII */
  CHECK(lipc_env_get(folded, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, "x") == 0, "case folds beyond ASCII");
  lipc_env_unset(name2);
  lipc_env_unset(name);
}

static void test_crt_and_children(void) {
  char buf[64];
  CHECK(lipc_env_set(name, "seen") == LIPC_OK, "set");
  const char *c = getenv(name);
  CHECK(c && strcmp(c, "seen") == 0, "this program's C runtime sees it: %s", c ? c : "(null)");
  CHECK(run_child(name, "seen") == 0, "a child of CreateProcessW sees it: exit %lu", run_child(name, "seen"));
  wchar_t exe[MAX_PATH], wn[64];
  GetModuleFileNameW(NULL, exe, MAX_PATH);
  MultiByteToWideChar(CP_UTF8, 0, name, -1, wn, 64);
  wchar_t quoted[MAX_PATH + 2];
  swprintf(quoted, MAX_PATH + 2, L"\"%ls\"", exe);
  intptr_t code = _wspawnl(_P_WAIT, exe, quoted, L"check", wn, L"seen", NULL);
  CHECK(code == 0, "a child of the C runtime's _spawn sees it: %lld", (long long)code);
  CHECK(lipc_env_unset(name) == LIPC_OK && getenv(name) == NULL, "unset: the C runtime's copy too");
  /* what the host sets through its C runtime, lipc sees */
  snprintf(buf, sizeof buf, "%s=from-crt", name);
  _putenv(buf);
  CHECK(lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_OK && strcmp(buf, "from-crt") == 0, "_putenv seen: %s",
        buf);
  lipc_env_unset(name);
}

static void test_list(void) {
  char *block = NULL;
  size_t len = 0;
  CHECK(lipc_env_set(name, "a=b=c") == LIPC_OK, "a value with '='");
  CHECK(lipc_env_list(&block, &len) == LIPC_OK, "list: %s", lipc_last_error());
  char entry[128];
  snprintf(entry, sizeof entry, "%s=a=b=c", name);
  CHECK(listed(block, len, entry), "entry %s", entry);
  CHECK(block[len] == 0 && (len == 0 || block[len - 1] == 0), "NAME=value\\0 each, one more NUL at the end");
  int drive_entries = 0, bad = 0;
  for (size_t off = 0; off < len; off += strlen(block + off) + 1) {
    drive_entries += block[off] == '=';
    bad += strchr(block + off + 1, '=') == NULL;
  }
  CHECK(drive_entries == 0, "no \"=C:=...\" entries");
  CHECK(bad == 0, "every entry is NAME=value");
  lipc_free(block);
  CHECK(lipc_env_list(NULL, &len) == LIPC_EINVAL && lipc_env_list(&block, NULL) == LIPC_EINVAL, "NULL outs");
  lipc_env_unset(name);
}

static void test_bad_names(void) {
  char buf[16];
  const char *bad[] = {"", "A=B", "=C:", "\xff\xfe"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK(lipc_env_set(bad[i], "x") == LIPC_EINVAL, "set \"%s\"", bad[i]);
    CHECK(lipc_env_get(bad[i], buf, sizeof buf, NULL) == LIPC_EINVAL, "get \"%s\"", bad[i]);
    CHECK(lipc_env_unset(bad[i]) == LIPC_EINVAL, "unset \"%s\"", bad[i]);
  }
  CHECK(strstr(lipc_last_error(), "env_unset") != NULL, "message: %s", lipc_last_error());
  CHECK(lipc_env_set(NULL, "x") == LIPC_EINVAL && lipc_env_get(NULL, buf, 16, NULL) == LIPC_EINVAL &&
            lipc_env_unset(NULL) == LIPC_EINVAL,
        "NULL name");
  CHECK(lipc_env_set(name, NULL) == LIPC_EINVAL, "NULL value");
  CHECK(lipc_env_set(name, "bad \xc3") == LIPC_EINVAL, "value not UTF-8");
  CHECK(lipc_env_get(name, buf, sizeof buf, NULL) == LIPC_ENOENT, "nothing set by the failures");
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "check") == 0) return role_check(argv[2], argv[3]);
  snprintf(name, sizeof name, "LipcTestEnv_%lu", GetCurrentProcessId());
  test_round_trip();
  test_case_insensitive();
  test_unicode();
  test_crt_and_children();
  test_list();
  test_bad_names();
  return check_summary();
}
