/* spawn_windows.c - lipc_proc_spawn on Windows: CreateProcessW, in C on
 * the caller's thread (no Go call: spawning from a foreign thread into Go
 * costs tens of microseconds on Windows and nothing here needs Go).
 *
 * The steps, each failing with its own message before anything starts:
 * the child's environment (the live one, or a sorted block with the
 * attributes' changes), the program (PATH and PATHEXT search in the
 * child's environment, never the current directory), the command line (the
 * MS C runtime's quoting; .bat and .cmd files and shell commands through
 * cmd.exe /d /s /c with cmd.exe's escaping), the fd map as inheritable
 * duplicates handed over with PROC_THREAD_ATTRIBUTE_HANDLE_LIST (the child
 * inherits exactly those), then a job object when autokill, a limit or a
 * new group asks for one (the child starts suspended, joins the job, then
 * runs, so not one instruction runs outside it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "fd_windows.h"
#include "internal.h"
#include "proc_windows.h"

/* ---------------- growing wide strings ---------------- */

struct wbuf {
  wchar_t *p;
  size_t len, cap;
  int oom;
};

static void wput(struct wbuf *b, const wchar_t *s, size_t n) {
  if (b->oom) return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->len + n + 1) ncap *= 2;
    wchar_t *np = realloc(b->p, ncap * sizeof *np);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n * sizeof *s);
  b->len += n;
  b->p[b->len] = 0;
}

static void wputs(struct wbuf *b, const wchar_t *s) { wput(b, s, wcslen(s)); }

/* Appends a UTF-8 string converted; 0, or -1 with the error recorded. */
static int wput_utf8(struct wbuf *b, const char *s, const char *what) {
  wchar_t *w = lipc__utf16(s, what);
  if (!w) return -1;
  wputs(b, w);
  free(w);
  return 0;
}

/* ---------------- the environment ---------------- */

/* The child's variables as "NAME=VALUE" wide strings. */
struct envlist {
  wchar_t **v;
  int n, cap;
};

static void env_free(struct envlist *e) {
  for (int i = 0; i < e->n; i++) free(e->v[i]);
  free(e->v);
}

static size_t name_len(const wchar_t *entry) {
  /* "=C:=C:\dir": the name of a drive's working directory starts with '=' */
  const wchar_t *eq = wcschr(entry + 1, L'=');
  return eq ? (size_t)(eq - entry) : wcslen(entry);
}

/* Windows compares variable names without case (ordinal, upper-cased). */
static int name_cmp(const wchar_t *a, size_t na, const wchar_t *b, size_t nb) {
  return CompareStringOrdinal(a, (int)na, b, (int)nb, TRUE) - CSTR_EQUAL;
}

static int env_find(struct envlist *e, const wchar_t *name, size_t n) {
  for (int i = 0; i < e->n; i++)
    if (name_cmp(e->v[i], name_len(e->v[i]), name, n) == 0) return i;
  return -1;
}

static int env_add(struct envlist *e, wchar_t *entry) {
  if (e->n == e->cap) {
    int ncap = e->cap ? e->cap * 2 : 64;
    wchar_t **nv = realloc(e->v, sizeof *nv * (size_t)ncap);
    if (!nv) return -1;
    e->v = nv;
    e->cap = ncap;
  }
  e->v[e->n++] = entry;
  return 0;
}

static int sort_cmp(const void *x, const void *y) {
  const wchar_t *a = *(wchar_t *const *)x, *b = *(wchar_t *const *)y;
  return name_cmp(a, name_len(a), b, name_len(b));
}

/* Builds the child's environment when the attributes change it; e->v NULL
 * (n 0, *changed 0) when the child simply inherits the live one. */
static int build_env(struct lipc_wspawnattr *a, struct envlist *e, int *changed) {
  const char *what = "proc_spawn: environment";
  *changed = a->env_clear || a->nenv > 0;
  if (!*changed) return LIPC_OK;
  if (!a->env_clear) {
    wchar_t *block = GetEnvironmentStringsW();
    if (!block) return lipc__fail_win(GetLastError(), "%s: GetEnvironmentStrings", what);
    for (wchar_t *s = block; *s; s += wcslen(s) + 1) {
      wchar_t *copy = wcsdup(s);
      if (!copy || env_add(e, copy) != 0) {
        free(copy);
        FreeEnvironmentStringsW(block);
        return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
      }
    }
    FreeEnvironmentStringsW(block);
  }
  for (int i = 0; i < a->nenv; i++) {
    wchar_t *op = lipc__utf16(a->env_ops[i] + 1, what);
    if (!op) return LIPC_EINVAL;
    size_t n = name_len(op);
    int at = env_find(e, op, n);
    if (a->env_ops[i][0] == '-') {
      if (at >= 0) {
        free(e->v[at]);
        e->v[at] = e->v[--e->n];
      }
      free(op);
    } else if (at >= 0) {
      free(e->v[at]);
      e->v[at] = op;
    } else if (env_add(e, op) != 0) {
      free(op);
      return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
    }
  }
  /* CreateProcess wants the block sorted by name, without case. */
  if (e->n) qsort(e->v, (size_t)e->n, sizeof *e->v, sort_cmp);
  return LIPC_OK;
}

/* The block CreateProcessW takes: entries, each NUL-terminated, then a NUL. */
static wchar_t *env_block(struct envlist *e) {
  struct wbuf b = {0};
  for (int i = 0; i < e->n; i++) wput(&b, e->v[i], wcslen(e->v[i]) + 1);
  wput(&b, L"\0", 1);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

/* A variable of the child's environment (malloc'd), or NULL. */
static wchar_t *child_var(struct envlist *e, int changed, const wchar_t *name) {
  if (changed) {
    int at = env_find(e, name, wcslen(name));
    return at < 0 ? NULL : wcsdup(e->v[at] + name_len(e->v[at]) + 1);
  }
  DWORD n = GetEnvironmentVariableW(name, NULL, 0);
  if (n == 0) return NULL;
  wchar_t *v = malloc(n * sizeof *v);
  if (v && GetEnvironmentVariableW(name, v, n) >= n) {
    free(v);
    return NULL;
  }
  return v;
}

/* ---------------- finding the program ---------------- */

static int is_sep(wchar_t c) { return c == L'\\' || c == L'/'; }

static int has_dir(const wchar_t *s) { return wcschr(s, L'\\') || wcschr(s, L'/') || wcschr(s, L':'); }

/* 1 file, 2 directory, 0 nothing there. */
static int kind_of(const wchar_t *path) {
  DWORD at = GetFileAttributesW(path);
  if (at == INVALID_FILE_ATTRIBUTES) return 0;
  return (at & FILE_ATTRIBUTE_DIRECTORY) ? 2 : 1;
}

static int has_ext(const wchar_t *path) {
  const wchar_t *dot = wcsrchr(path, L'.');
  if (!dot) return 0;
  for (const wchar_t *s = dot; *s; s++)
    if (is_sep(*s)) return 0;
  return 1;
}

/* As Go's os/exec: a name with an extension is tried as it is, then with
 * each PATHEXT extension appended; a name without one only with them (a
 * file without an extension is no Windows program). Directories never
 * match. Returns the malloc'd path or NULL; *saw_dir if the name itself
 * is a directory. */
static wchar_t *try_exts(const wchar_t *base, const wchar_t *exts, int *saw_dir) {
  int k = has_ext(base) ? kind_of(base) : 0;
  if (k == 1) return wcsdup(base);
  if (k == 2 && saw_dir) *saw_dir = 1;
  size_t bl = wcslen(base);
  for (const wchar_t *e = exts; *e;) {
    const wchar_t *end = wcschr(e, L';');
    size_t el = end ? (size_t)(end - e) : wcslen(e);
    if (el > 0 && el < 32) {
      wchar_t *cand = malloc((bl + el + 1) * sizeof *cand);
      if (!cand) return NULL;
      memcpy(cand, base, bl * sizeof *cand);
      memcpy(cand + bl, e, el * sizeof *cand);
      cand[bl + el] = 0;
      if (kind_of(cand) == 1) return cand;
      free(cand);
    }
    e += el;
    if (*e) e++;
  }
  return NULL;
}

static wchar_t *join_path(const wchar_t *dir, size_t dl, const wchar_t *name) {
  size_t nl = wcslen(name);
  wchar_t *p = malloc((dl + nl + 2) * sizeof *p);
  if (!p) return NULL;
  memcpy(p, dir, dl * sizeof *p);
  size_t at = dl;
  if (dl && !is_sep(dir[dl - 1])) p[at++] = L'\\';
  memcpy(p + at, name, (nl + 1) * sizeof *p);
  return p;
}

static wchar_t *full_path(const wchar_t *path) {
  DWORD n = GetFullPathNameW(path, 0, NULL, NULL);
  if (n == 0) return NULL;
  wchar_t *f = malloc(n * sizeof *f);
  if (f && GetFullPathNameW(path, n, f, NULL) >= n) {
    free(f);
    return NULL;
  }
  return f;
}

/* The program's full path, or NULL with the error recorded. */
static wchar_t *find_program(const char *name8, int search, const wchar_t *cwd, struct envlist *e,
                             int changed, int *rc) {
  const char *what = "proc_spawn: program";
  wchar_t *name = lipc__utf16(name8, what);
  *rc = LIPC_EINVAL;
  if (!name) return NULL;
  wchar_t *exts = child_var(e, changed, L"PATHEXT");
  if (!exts) {
    DWORD n = GetEnvironmentVariableW(L"PATHEXT", NULL, 0);
    if (n && (exts = malloc(n * sizeof *exts)) && GetEnvironmentVariableW(L"PATHEXT", exts, n) >= n) {
      free(exts);
      exts = NULL;
    }
  }
  const wchar_t *ext_list = exts && *exts ? exts : L".COM;.EXE;.BAT;.CMD";
  wchar_t *found = NULL;
  int saw_dir = 0;
  if (search && !has_dir(name)) {
    /* PATH of the child's environment only: never the current directory
     * nor the parent's own folder (which CreateProcess would try first),
     * as Go's os/exec refuses them: a program dropped in the working
     * directory must not shadow a system one. No PATH: the system folders. */
    wchar_t *path = child_var(e, changed, L"PATH");
    if (!path) {
      wchar_t sys[MAX_PATH + 1], win[MAX_PATH + 1];
      UINT a = GetSystemDirectoryW(sys, MAX_PATH), b = GetWindowsDirectoryW(win, MAX_PATH);
      sys[a < MAX_PATH ? a : 0] = 0;
      win[b < MAX_PATH ? b : 0] = 0;
      size_t n = wcslen(sys) + wcslen(win) + 2;
      if ((path = malloc(n * sizeof *path))) swprintf(path, n, L"%ls;%ls", sys, win);
    }
    for (wchar_t *d = path; d && *d && !found;) {
      wchar_t *end = wcschr(d, L';');
      size_t dl = end ? (size_t)(end - d) : wcslen(d);
      wchar_t *dir = d;
      if (dl >= 2 && dir[0] == L'"' && dir[dl - 1] == L'"') { /* "C:\Program Files\x" */
        dir++;
        dl -= 2;
      }
      if (dl > 0) {
        wchar_t *cand = join_path(dir, dl, name);
        if (cand) found = try_exts(cand, ext_list, NULL);
        free(cand);
      }
      d += end ? (size_t)(end - d) + 1 : wcslen(d);
    }
    free(path);
    if (!found) *rc = lipc__fail(LIPC_ENOENT, ERROR_FILE_NOT_FOUND, "%s \"%s\" not found in PATH (with PATHEXT)",
                           what, name8);
  } else {
    /* A relative path is relative to the child's working directory. */
    int relative = !(is_sep(name[0]) || (name[0] && name[1] == L':'));
    wchar_t *base = relative && cwd ? join_path(cwd, wcslen(cwd), name) : wcsdup(name);
    wchar_t *full = base ? full_path(base) : NULL;
    if (full) found = try_exts(full, ext_list, &saw_dir);
    if (!found && (saw_dir || (full && kind_of(full) == 2)))
      *rc = lipc__fail(LIPC_EPERM, ERROR_ACCESS_DENIED, "%s \"%s\" is a directory", what, name8);
    else if (!found)
      *rc = lipc__fail(LIPC_ENOENT, ERROR_FILE_NOT_FOUND, "%s \"%s\" not found", what, name8);
    free(base);
    free(full);
  }
  free(exts);
  free(name);
  if (found) *rc = LIPC_OK;
  return found;
}

static int ends_with_i(const wchar_t *s, const wchar_t *suffix) {
  size_t n = wcslen(s), m = wcslen(suffix);
  return n >= m && CompareStringOrdinal(s + n - m, (int)m, suffix, (int)m, TRUE) == CSTR_EQUAL;
}

/* cmd.exe: %ComSpec% when it is a full path, else the system's. */
static wchar_t *cmd_exe(void) {
  wchar_t spec[MAX_PATH + 1];
  DWORD n = GetEnvironmentVariableW(L"ComSpec", spec, MAX_PATH);
  if (n > 0 && n < MAX_PATH && spec[1] == L':' && kind_of(spec) == 1) return wcsdup(spec);
  UINT m = GetSystemDirectoryW(spec, MAX_PATH - 9);
  if (m == 0 || m >= MAX_PATH - 9) return wcsdup(L"C:\\Windows\\System32\\cmd.exe");
  wcscat(spec, L"\\cmd.exe");
  return wcsdup(spec);
}

/* ---------------- the command line ---------------- */

static int put_quoted(struct wbuf *b, const char *arg, const char *what) {
  size_t n = strlen(arg), size = 2 * n + 3, needed;
  char *q = malloc(size);
  if (!q) return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
  int rc = lipc_quote_win(arg, q, size, &needed);
  if (rc == LIPC_OK && wput_utf8(b, q, what) != 0) rc = LIPC_EINVAL;
  free(q);
  return rc;
}

/* One argument of a batch file's command line, as Rust's std does since
 * CVE-2024-24576 (BatBadBut): quoted unless it is made only of characters
 * known to be harmless; inside the quotes a quote is doubled (cmd.exe
 * stays inside the quoted part, the C runtime reads "" as one quote) and
 * backslashes before a quote or the end are doubled; each % becomes
 * %%cd:~,% (an empty substring of %cd%) so no variable is expanded. The
 * argument then survives cmd.exe's parsing of the line and the batch
 * file's own %1 or %* expansion as one argument. A newline cannot pass
 * through cmd.exe at all. */
static int put_bat_arg(struct wbuf *b, const char *arg8, const char *what) {
  if (strpbrk(arg8, "\r\n"))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: an argument with a newline cannot pass through "
                      "cmd.exe (the program is a batch file)", what);
  wchar_t *arg = lipc__utf16(arg8, what);
  if (!arg) return LIPC_EINVAL;
  size_t n = wcslen(arg);
  int quote = n == 0 || arg[n - 1] == L'\\';
  for (size_t i = 0; i < n; i++) {
    wchar_t c = arg[i];
    if (c < 128 && !iswalnum(c) && !wcschr(L"#$*+-./:?@\\_", c)) quote = 1;
    if (c < 32 || c == 127) quote = 1;
  }
  if (quote) wputs(b, L"\"");
  size_t backslashes = 0;
  for (size_t i = 0; i < n; i++) {
    wchar_t c = arg[i];
    if (c == L'\\') {
      backslashes++;
    } else {
      if (c == L'"') {
        for (size_t k = 0; k < backslashes; k++) wputs(b, L"\\");
        wputs(b, L"\"");
      } else if (c == L'%') {
        wputs(b, L"%%cd:~,");
      }
      backslashes = 0;
    }
    wput(b, &c, 1);
  }
  if (quote) {
    for (size_t k = 0; k < backslashes; k++) wputs(b, L"\\");
    wputs(b, L"\"");
  }
  free(arg);
  return LIPC_OK;
}

/* argv quoted for the MS C runtime (CommandLineToArgvW's rules); a batch
 * file runs as cmd.exe /d /e:ON /v:OFF /s /c ""<file>" <args>" with each
 * argument quoted for cmd.exe too (put_bat_arg), instead of what
 * CreateProcess would otherwise do with a .bat: run cmd.exe with the
 * arguments unescaped. */
static int command_line(struct lipc_wspawnattr *a, const wchar_t *program, int batch, struct wbuf *b) {
  const char *what = "proc_spawn: command line";
  if (a->shell) {
    wputs(b, L"cmd.exe /d /s /c \"");
    if (wput_utf8(b, a->shell, what) != 0) return LIPC_EINVAL;
    wputs(b, L"\"");
    return LIPC_OK;
  }
  if (batch) {
    wputs(b, L"cmd.exe /d /e:ON /v:OFF /s /c \"\"");
    wputs(b, program);
    wputs(b, L"\"");
    int rc = LIPC_OK;
    for (int i = 1; i < a->nargs && rc == LIPC_OK; i++) {
      wputs(b, L" ");
      rc = put_bat_arg(b, a->args[i], what);
    }
    wputs(b, L"\"");
    return rc;
  }
  for (int i = 0; i < a->nargs; i++) {
    if (i) wputs(b, L" ");
    int rc = put_quoted(b, a->args[i], what);
    if (rc != LIPC_OK) return rc;
  }
  return LIPC_OK;
}

/* ---------------- the fd map ---------------- */

struct child_fds {
  int n;           /* entries 0..n-1 */
  HANDLE *h;       /* the child's handle at each fd (an inheritable duplicate), or NULL */
  int *owned;      /* 1: h[i] is ours to close after the spawn */
  int *is_pipe, *is_char;
  struct lipc_wpipe *pipes; /* parent ends made for LIPC_FD_PIPE_* */
  int npipes;
};

static void fds_free(struct child_fds *c, int close_parent_ends) {
  for (int i = 0; i < c->n; i++)
    if (c->owned && c->owned[i] && c->h[i]) CloseHandle(c->h[i]);
  if (close_parent_ends)
    for (int i = 0; i < c->npipes; i++) CloseHandle(c->pipes[i].h);
  free(c->h);
  free(c->owned);
  free(c->is_pipe);
  free(c->is_char);
  if (close_parent_ends) free(c->pipes);
}

static HANDLE inheritable_dup(HANDLE h) {
  HANDLE d = NULL;
  if (!DuplicateHandle(GetCurrentProcess(), h, GetCurrentProcess(), &d, 0, TRUE, DUPLICATE_SAME_ACCESS))
    return NULL;
  return d;
}

/* A pipe from the fd helper (fd_windows.h): the parent's end overlapped
 * (timed reads and writes, communicate), the child's synchronous, made
 * inheritable here for the handle list. */
static int make_pipe(int child_reads, DWORD size, HANDLE *parent, HANDLE *child, int child_fd) {
  char what[48];
  snprintf(what, sizeof what, "proc_spawn: fd %d: pipe", child_fd);
  int rc = lipc__win_pipe(!child_reads, size, parent, child, what);
  if (rc != LIPC_OK) return rc;
  if (!SetHandleInformation(*child, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT)) {
    DWORD e = GetLastError();
    CloseHandle(*parent);
    CloseHandle(*child);
    return lipc__fail_win(e, "%s: making the child's end inheritable", what);
  }
  return LIPC_OK;
}

static int open_file(const struct lipc_wfdspec *s, int fd, HANDLE *out) {
  const char *what = "proc_spawn: fd map";
  int fl = s->flags;
  DWORD access = 0, disp;
  if (fl & LIPC_FILE_READ) access |= GENERIC_READ;
  if (fl & LIPC_FILE_APPEND) access |= FILE_APPEND_DATA | SYNCHRONIZE | FILE_READ_ATTRIBUTES;
  else if (fl & LIPC_FILE_WRITE) access |= GENERIC_WRITE;
  if ((fl & LIPC_FILE_CREATE) && (fl & LIPC_FILE_EXCL)) disp = CREATE_NEW;
  else if ((fl & LIPC_FILE_CREATE) && (fl & LIPC_FILE_TRUNC)) disp = CREATE_ALWAYS;
  else if (fl & LIPC_FILE_CREATE) disp = OPEN_ALWAYS;
  else if (fl & LIPC_FILE_TRUNC) disp = TRUNCATE_EXISTING;
  else disp = OPEN_EXISTING;
  wchar_t *path = lipc__utf16(s->path, what);
  if (!path) return LIPC_EINVAL;
  if (kind_of(path) == 2) {
    free(path);
    return lipc__fail(LIPC_EINVAL, ERROR_DIRECTORY, "%s: fd %d: \"%s\" is a directory", what, fd, s->path);
  }
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  *out = CreateFileW(path, access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &sa, disp,
                     FILE_ATTRIBUTE_NORMAL, NULL);
  free(path);
  if (*out == INVALID_HANDLE_VALUE) {
    DWORD e = GetLastError();
    if (e == ERROR_FILE_EXISTS) return lipc__fail(LIPC_EEXIST, e, "%s: fd %d: \"%s\" exists", what, fd, s->path);
    return lipc__fail_win(e, "%s: fd %d: opening \"%s\"", what, fd, s->path);
  }
  return LIPC_OK;
}

static int build_fds(struct lipc_wspawnattr *a, struct child_fds *c) {
  const char *what = "proc_spawn: fd map";
  c->n = a->nfds > 3 ? a->nfds : 3;
  c->h = calloc((size_t)c->n, sizeof *c->h);
  c->owned = calloc((size_t)c->n, sizeof *c->owned);
  c->is_pipe = calloc((size_t)c->n, sizeof *c->is_pipe);
  c->is_char = calloc((size_t)c->n, sizeof *c->is_char);
  c->pipes = calloc((size_t)c->n, sizeof *c->pipes);
  if (!c->h || !c->owned || !c->is_pipe || !c->is_char || !c->pipes)
    return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
  SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
  for (int fd = 0; fd < c->n; fd++) {
    struct lipc_wfdspec def = {.set = 1, .kind = fd <= 2 ? LIPC_FD_INHERIT : LIPC_FD_CLOSE};
    const struct lipc_wfdspec *s = fd < a->nfds && a->fds[fd].set ? &a->fds[fd] : &def;
    HANDLE h = NULL;
    int rc = LIPC_OK;
    switch (s->kind) {
      case LIPC_FD_INHERIT: {
        HANDLE std = GetStdHandle(fd == 0 ? STD_INPUT_HANDLE : fd == 1 ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE);
        /* No such handle (a GUI host): the child has none either. */
        if (std && std != INVALID_HANDLE_VALUE) h = inheritable_dup(std);
        break;
      }
      case LIPC_FD_CLOSE:
      case LIPC_FD_CHILD: break; /* LIPC_FD_CHILD below, once every other is known */
      case LIPC_FD_NULL: {
        int rd = s->flags ? (s->flags & LIPC_FILE_READ) != 0 : fd == 0;
        int wr = s->flags ? (s->flags & (LIPC_FILE_WRITE | LIPC_FILE_APPEND)) != 0 : fd != 0;
        h = CreateFileW(L"NUL", (rd ? GENERIC_READ : 0) | (wr ? GENERIC_WRITE : 0),
                        FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
        if (h == INVALID_HANDLE_VALUE) rc = lipc__fail_win(GetLastError(), "%s: fd %d: opening NUL", what, fd);
        c->is_char[fd] = 1;
        break;
      }
      case LIPC_FD_PIPE_IN:
      case LIPC_FD_PIPE_OUT: {
        HANDLE parent;
        rc = make_pipe(s->kind == LIPC_FD_PIPE_IN, a->pipesize > 0 ? (DWORD)a->pipesize : 0, &parent, &h, fd);
        if (rc == LIPC_OK)
          c->pipes[c->npipes++] = (struct lipc_wpipe){fd, parent, s->kind == LIPC_FD_PIPE_IN};
        c->is_pipe[fd] = 1;
        break;
      }
      case LIPC_FD_PARENT: {
        if (s->given_away) {
          rc = lipc__fail(LIPC_EINVAL, ERROR_INVALID_HANDLE, "%s: fd %d: its parent handle was closed by an "
                          "earlier spawn (LIPC_FD_CLOSE_PARENT): set the fd again", what, fd);
          break;
        }
        HANDLE src = lipc__win_handle(s->arg);
        if (!(h = inheritable_dup(src))) {
          rc = lipc__fail_win(GetLastError(), "%s: fd %d: parent handle %d", what, fd, s->arg);
          break;
        }
        DWORD t = GetFileType(src);
        c->is_pipe[fd] = t == FILE_TYPE_PIPE;
        c->is_char[fd] = t == FILE_TYPE_CHAR;
        break;
      }
      case LIPC_FD_FILE: rc = open_file(s, fd, &h); break;
    }
    if (rc != LIPC_OK) return rc;
    if (h == INVALID_HANDLE_VALUE) h = NULL;
    c->h[fd] = h;
    c->owned[fd] = h != NULL;
  }
  for (int fd = 0; fd < c->n; fd++) {
    const struct lipc_wfdspec *s = fd < a->nfds && a->fds[fd].set ? &a->fds[fd] : NULL;
    if (!s || s->kind != LIPC_FD_CHILD) continue;
    if (s->arg < c->n && c->h[s->arg]) {
      c->h[fd] = c->h[s->arg]; /* the same handle: inherited once */
      c->is_pipe[fd] = c->is_pipe[s->arg];
      c->is_char[fd] = c->is_char[s->arg];
    }
  }
  return LIPC_OK;
}

/* The MS C runtime's way to hand fds above 2 to a child (what libuv does
 * too): STARTUPINFO's lpReserved2 holds a count, a flag byte per fd and a
 * HANDLE per fd; the child's msvcrt or ucrt opens them as its fds 0..n-1. */
#define CRT_FOPEN 0x01
#define CRT_FPIPE 0x08
#define CRT_FDEV 0x40
static BYTE *crt_fd_block(struct child_fds *c, WORD *size) {
  size_t n = (size_t)c->n, bytes = sizeof(int) + n + n * sizeof(HANDLE);
  if (bytes > 0xFFFF) return NULL;
  BYTE *b = calloc(1, bytes);
  if (!b) return NULL;
  *(int *)b = (int)n;
  BYTE *flags = b + sizeof(int);
  BYTE *handles = flags + n;
  for (size_t i = 0; i < n; i++) {
    HANDLE h = c->h[i] ? c->h[i] : INVALID_HANDLE_VALUE;
    flags[i] = c->h[i] ? CRT_FOPEN | (c->is_pipe[i] ? CRT_FPIPE : 0) | (c->is_char[i] ? CRT_FDEV : 0) : 0;
    memcpy(handles + i * sizeof(HANDLE), &h, sizeof h);
  }
  *size = (WORD)bytes;
  return b;
}

/* ---------------- the job ---------------- */

static int make_job(struct lipc_wspawnattr *a, HANDLE *job) {
  *job = NULL;
  if (!a->autokill && a->mem_limit < 0 && a->cpu_limit < 0 && a->nproc_limit < 0 && !a->new_group) return LIPC_OK;
  HANDLE j = CreateJobObjectW(NULL, NULL);
  if (!j) return lipc__fail_win(GetLastError(), "proc_spawn: CreateJobObject");
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  memset(&li, 0, sizeof li);
  DWORD fl = 0;
  if (a->autokill) fl |= JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (a->mem_limit >= 0) {
    fl |= JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    li.ProcessMemoryLimit = (SIZE_T)a->mem_limit;
  }
  if (a->cpu_limit >= 0) {
    fl |= JOB_OBJECT_LIMIT_PROCESS_TIME;
    li.BasicLimitInformation.PerProcessUserTimeLimit.QuadPart =
        a->cpu_limit > INT64_MAX / 10000000 ? INT64_MAX : a->cpu_limit * 10000000;
  }
  if (a->nproc_limit >= 0) {
    fl |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
    li.BasicLimitInformation.ActiveProcessLimit = (DWORD)(a->nproc_limit ? a->nproc_limit : 1);
  }
  li.BasicLimitInformation.LimitFlags = fl;
  if (fl && !SetInformationJobObject(j, JobObjectExtendedLimitInformation, &li, sizeof li)) {
    DWORD e = GetLastError();
    CloseHandle(j);
    return lipc__fail_win(e, "proc_spawn: setting the job's limits");
  }
  *job = j;
  return LIPC_OK;
}

/* ---------------- spawn ---------------- */

/* lipc's own spawns, one at a time between making inheritable duplicates
 * and closing them, so that one child (keep_fds: inherit everything
 * inheritable) never inherits another spawn's pipe ends. */
static SRWLOCK spawn_lock = SRWLOCK_INIT;

struct spawn_out {
  PROCESS_INFORMATION pi;
  HANDLE job;
  wchar_t *path;
  struct lipc_wpipe *pipes;
  int npipes;
};

/* 1 if the entry gives the child a parent handle that a started spawn
 * closes (LIPC_FD_CLOSE_PARENT). */
static int closes_parent(const struct lipc_wfdspec *s) {
  return s->set && s->kind == LIPC_FD_PARENT && (s->flags & LIPC_FD_CLOSE_PARENT);
}

static int spawn_attr_locked(struct lipc_wspawnattr *a, struct spawn_out *o) {
  const char *what = "proc_spawn";
  if (a->nargs == 0) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: empty argv", what);
  struct envlist env = {0};
  int changed = 0, rc, locked = 0;
  wchar_t *cwd = NULL, *envblock = NULL, *app = NULL;
  struct wbuf cmd = {0};
  struct child_fds fds = {0};
  BYTE *crt = NULL;
  LPPROC_THREAD_ATTRIBUTE_LIST attrs = NULL;
  HANDLE *list = NULL;
  if ((rc = build_env(a, &env, &changed)) != LIPC_OK) goto out;
  if (a->cwd) {
    wchar_t *w = lipc__utf16(a->cwd, "proc_spawn: working directory");
    if (!w) {
      rc = LIPC_EINVAL;
      goto out;
    }
    cwd = full_path(w);
    free(w);
    int k = cwd ? kind_of(cwd) : 0;
    if (k != 2) {
      rc = k == 0 ? lipc__fail(LIPC_ENOENT, ERROR_PATH_NOT_FOUND, "%s: working directory \"%s\" not found", what, a->cwd)
                  : lipc__fail(LIPC_EINVAL, ERROR_DIRECTORY, "%s: working directory \"%s\" is not a directory", what,
                               a->cwd);
      goto out;
    }
  }
  if (a->shell) {
    o->path = cmd_exe();
  } else {
    const char *name = a->program ? a->program : a->args[0];
    if (!(o->path = find_program(name, a->search, cwd, &env, changed, &rc))) goto out;
  }
  int batch = !a->shell && (ends_with_i(o->path, L".bat") || ends_with_i(o->path, L".cmd"));
  app = batch ? cmd_exe() : wcsdup(o->path);
  if ((rc = command_line(a, o->path, batch, &cmd)) != LIPC_OK) goto out;
  if (cmd.oom || !app) {
    rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
    goto out;
  }
  if (cmd.len >= 32767) {
    rc = lipc__fail(LIPC_ERANGE, ERROR_FILENAME_EXCED_RANGE, "%s: the command line is %zu characters, Windows "
                    "takes 32766", what, cmd.len);
    goto out;
  }
  if (changed && !(envblock = env_block(&env))) {
    rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
    goto out;
  }
  /* From the first inheritable duplicate to the last one closed: one lipc
   * spawn at a time (see spawn_lock). The preparation above runs unlocked. */
  AcquireSRWLockExclusive(&spawn_lock);
  locked = 1;
  if ((rc = build_fds(a, &fds)) != LIPC_OK) goto out;

  STARTUPINFOEXW si;
  memset(&si, 0, sizeof si);
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = fds.h[0];
  si.StartupInfo.hStdOutput = fds.h[1];
  si.StartupInfo.hStdError = fds.h[2];
  if (fds.n > 3) {
    if (!(crt = crt_fd_block(&fds, &si.StartupInfo.cbReserved2))) {
      rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: fd map too large", what);
      goto out;
    }
    si.StartupInfo.lpReserved2 = crt;
  }
  /* Exactly the map's handles, each once (LIPC_FD_CHILD shares one). */
  int nlist = 0;
  list = calloc((size_t)fds.n, sizeof *list);
  if (!list) {
    rc = lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
    goto out;
  }
  for (int i = 0; i < fds.n; i++) {
    int dup = !fds.h[i];
    for (int j = 0; j < nlist && !dup; j++) dup = list[j] == fds.h[i];
    if (!dup) list[nlist++] = fds.h[i];
  }
  DWORD flags = CREATE_UNICODE_ENVIRONMENT;
  if (!a->keep_fds && nlist > 0) {
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    if (!(attrs = malloc(size)) || !InitializeProcThreadAttributeList(attrs, 1, 0, &size)) {
      free(attrs);
      attrs = NULL;
      rc = lipc__fail_win(GetLastError(), "%s: InitializeProcThreadAttributeList", what);
      goto out;
    }
    if (!UpdateProcThreadAttribute(attrs, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, (SIZE_T)nlist * sizeof *list,
                                   NULL, NULL)) {
      rc = lipc__fail_win(GetLastError(), "%s: the handle list", what);
      goto out;
    }
    si.lpAttributeList = attrs;
    flags |= EXTENDED_STARTUPINFO_PRESENT;
  }
  if ((rc = make_job(a, &o->job)) != LIPC_OK) goto out;
  if (o->job) flags |= CREATE_SUSPENDED;
  if (a->new_group) flags |= CREATE_NEW_PROCESS_GROUP;
  BOOL inherit = a->keep_fds || nlist > 0;
  if (!CreateProcessW(app, cmd.p, NULL, NULL, inherit, flags, envblock, cwd, &si.StartupInfo, &o->pi)) {
    DWORD e = GetLastError();
    char *p8 = lipc__utf8(o->path, -1, what);
    rc = lipc__fail_win(e, "%s: CreateProcess \"%s\"", what, p8 ? p8 : "?");
    free(p8);
    goto out;
  }
  if (o->job) {
    if (!AssignProcessToJobObject(o->job, o->pi.hProcess)) {
      DWORD e = GetLastError();
      TerminateProcess(o->pi.hProcess, 1);
      WaitForSingleObject(o->pi.hProcess, INFINITE);
      CloseHandle(o->pi.hThread);
      CloseHandle(o->pi.hProcess);
      memset(&o->pi, 0, sizeof o->pi);
      rc = lipc__fail_win(e, "%s: putting the child in its job object", what);
      goto out;
    }
    ResumeThread(o->pi.hThread);
  }
  CloseHandle(o->pi.hThread);
  /* Started: the parent ends are the process's, handles the spawn gave away
   * are closed. */
  o->pipes = fds.pipes;
  o->npipes = fds.npipes;
  fds.pipes = NULL;
  fds.npipes = 0;
  for (int fd = 0; fd < a->nfds; fd++) {
    struct lipc_wfdspec *s = &a->fds[fd];
    if (!closes_parent(s) || s->given_away) continue;
    /* Once for a handle several entries give (stdout and stderr to one
     * file), as on Linux: a second CloseHandle of the number could close
     * what another thread opened in between. */
    int first = 1;
    for (int e = 0; e < fd && first; e++) first = !(closes_parent(&a->fds[e]) && a->fds[e].arg == s->arg);
    if (first) CloseHandle(lipc__win_handle(s->arg));
    s->given_away = 1;
  }
out:
  if (attrs) {
    DeleteProcThreadAttributeList(attrs);
    free(attrs);
  }
  fds_free(&fds, 1);
  if (locked) ReleaseSRWLockExclusive(&spawn_lock);
  free(list);
  free(crt);
  env_free(&env);
  free(envblock);
  free(cwd);
  free(app);
  free(cmd.p);
  if (rc != LIPC_OK && o->job) {
    CloseHandle(o->job);
    o->job = NULL;
  }
  return rc;
}

int lipc_proc_spawn(lipc_handle_t attr, lipc_handle_t *out) {
  if (!out) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "proc_spawn: proc must not be NULL");
  lipc_slot *s;
  int rc = lipc__handle_acquire(attr, LIPC_KIND_SPAWNATTR, &s);
  if (rc != LIPC_OK) return rc;
  struct lipc_wspawnattr *a = lipc__slot_obj(s);
  struct spawn_out o;
  memset(&o, 0, sizeof o);
  AcquireSRWLockExclusive(&a->mu); /* given_away is written */
  rc = spawn_attr_locked(a, &o);
  struct lipc_wproc *p = NULL;
  if (rc == LIPC_OK) {
    p = calloc(1, sizeof *p);
    if (p) {
      InitializeSRWLock(&p->mu);
      p->process = o.pi.hProcess;
      p->pid = o.pi.dwProcessId;
      p->job = o.job;
      p->path = lipc__utf8(o.path, -1, "proc_spawn");
      p->pipes = o.pipes;
      p->npipes = o.npipes;
      p->new_group = a->new_group;
      p->autokill = a->autokill;
      p->on_close = a->on_close;
      p->grace_ms = a->grace_ms;
    }
  }
  ReleaseSRWLockExclusive(&a->mu);
  lipc__handle_release(s);
  free(o.path);
  if (rc != LIPC_OK) return rc;
  if (!p || !p->path) {
    /* Started, but no memory for its handle: it must not run unowned. */
    TerminateProcess(o.pi.hProcess, 1);
    if (p) {
      lipc__proc_free_kind(LIPC_KIND_PROC, p);
    } else {
      CloseHandle(o.pi.hProcess);
      if (o.job) CloseHandle(o.job);
      for (int i = 0; i < o.npipes; i++) CloseHandle(o.pipes[i].h);
      free(o.pipes);
    }
    return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "proc_spawn: out of memory");
  }
  rc = lipc__handle_new(LIPC_KIND_PROC, p, 0, out);
  if (rc != LIPC_OK) {
    TerminateProcess(p->process, 1);
    lipc__proc_free_kind(LIPC_KIND_PROC, p);
  }
  return rc;
}
