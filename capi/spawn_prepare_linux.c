/* spawn_prepare_linux.c - a spawn's preparation, in C: from the attributes
 * object to core/proc's request (struct lipc_spawn) that the clone reads:
 * the program found in the child's PATH, the child's environment, the
 * working directory checked, the fd map's files, pipes and /dev/null
 * opened, and what the parent closes or keeps afterwards.
 *
 * It was Go's work until issue 12: a spawn then entered Go once, and every
 * Go call from a host thread set Go's scheduler going on the other CPU
 * (sysmon woke to take back the thread's processor, then woke an idle
 * thread to hand it to; 3-4 thread wake-ups per spawn, measured with
 * ftrace). A child that execs while the other CPU is taken that way wakes
 * its parent onto its own CPU, where the parent waits for the whole run of
 * the child: p90 of the spawn call 550-950 us against posix_spawn's 140.
 * Like Windows' spawn_windows.c, nothing here needs Go; only a child that
 * did not start goes back to Go, for its error (lipc_proc_spawn).
 *
 * The messages, codes and errnos are those of the Go code this replaces
 * (a subject quoted as Go's %q quotes it, errno texts in Go's lower case),
 * since every binding's tests and users' code read them. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/proc/spawn_linux.h"
#include "internal.h"
#include "spawnattr.h"

extern char **environ;

/* What a preparation has made so far: the request and its C memory, and
 * every fd it opened, so that a failure closes all of them. */
struct prep {
  struct lipc_spawn *s;
  void **allocs;
  int nallocs, capallocs;
  int n;             /* child fds 0..n-1 in the map */
  int *src;          /* n: child fd i <- parent fd */
  int *child_side;   /* opened for the child only: closed in the parent after the clone */
  int nchild;
  int *parent_end;   /* n: the parent's end of child fd i's pipe, or -1 */
  int *close_parent; /* LIPC_FD_PARENT entries with LIPC_FD_CLOSE_PARENT */
  int nclose_parent;
  const char *subject; /* the program as asked for, for messages */
};

/* ------------------------------------------------------------------ */
/* Errors worded as core/lerr words them: `spawn "subject": text`.     */

/* The rune UTF-8 encodes at p, as Go's utf8.DecodeRune reads it: its
 * length, or 0 when the byte at p starts no valid sequence (overlong
 * forms, surrogates and values above U+10FFFF included). */
static int utf8_rune(const unsigned char *p, uint32_t *r) {
  unsigned char c = p[0], lo = 0x80, hi = 0xbf;
  int n;
  if (c < 0x80) {
    *r = c;
    return 1;
  }
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    *r = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    *r = c & 0x0f;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    *r = c & 0x07;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  for (int i = 1; i < n; i++) {
    unsigned char b = p[i]; /* a NUL ends the string and is no continuation byte */
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) return 0;
    *r = *r << 6 | (b & 0x3f);
  }
  return n;
}

/* Whether Go's strconv.IsPrint holds for r, a rune above ASCII: every
 * control, format, private-use, non-character and non-ASCII space that a
 * program name or path may plausibly hold is escaped, as Go escapes it;
 * code points Unicode has not assigned yet pass as they are (Go's tables
 * escape those too; they are not worth carrying here). */
static int printable_above_ascii(uint32_t r) {
  static const uint32_t not_printable[][2] = {
      {0x80, 0xa0},       {0xad, 0xad},       {0x61c, 0x61c},     {0x1680, 0x1680},   {0x180e, 0x180e},
      {0x2000, 0x200f},   {0x2028, 0x202f},   {0x205f, 0x206f},   {0x3000, 0x3000},   {0xe000, 0xf8ff},
      {0xfdd0, 0xfdef},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0xe0000, 0xe007f}, {0xf0000, 0x10ffff},
  };
  if ((r & 0xfffe) == 0xfffe) return 0; /* U+nFFFE and U+nFFFF: non-characters */
  for (size_t i = 0; i < sizeof not_printable / sizeof not_printable[0]; i++)
    if (r >= not_printable[i][0] && r <= not_printable[i][1]) return 0;
  return 1;
}

/* s quoted as Go's %q quotes it (lerr quotes a subject so), in memory the
 * caller frees; NULL when out of memory. */
static char *go_quote(const char *s) {
  size_t len = strlen(s);
  char *out = malloc(4 * len + 3); /* at most 4 bytes out for each byte in, and the quotes */
  if (!out) return NULL;
  size_t o = 0;
  out[o++] = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    static const char esc[] = "\a\b\f\n\r\t\v";
    static const char name[] = "abfnrtv";
    uint32_t r;
    int n = utf8_rune(p, &r);
    const char *e = n == 1 && r ? strchr(esc, (int)r) : NULL;
    if (n == 0) {
      o += (size_t)sprintf(out + o, "\\x%02x", *p);
      n = 1;
    } else if (r == '"' || r == '\\') {
      out[o++] = '\\';
      out[o++] = (char)r;
    } else if (e) {
      out[o++] = '\\';
      out[o++] = name[e - esc];
    } else if (r < 0x20 || r == 0x7f) {
      o += (size_t)sprintf(out + o, "\\x%02x", (unsigned)r);
    } else if (r >= 0x80 && !printable_above_ascii(r)) {
      o += (size_t)sprintf(out + o, r < 0x10000 ? "\\u%04x" : "\\U%08x", (unsigned)r);
    } else {
      memcpy(out + o, p, (size_t)n);
      o += (size_t)n;
    }
    p += n;
  }
  out[o++] = '"';
  out[o] = 0;
  return out;
}

/* An errno's text in Go's words: the C library's description, untranslated
 * (strerror follows the host's LC_MESSAGES), with a lower-case first
 * letter; "errno N" for one it does not know, as Go says. */
static const char *errtext(int err, char *buf, size_t size) {
  const char *d = lipc__os_error_desc(err);
  if (d)
    snprintf(buf, size, "%s", d);
  else
    snprintf(buf, size, "errno %d", err);
  if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z')) buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

/* op and subject (NULL: none) as lerr prints them, then text; of any
 * length, as Go's were. */
LIPC_PRINTF(5, 6)
static int fail(int code, int err, const char *op, const char *subject, const char *fmt, ...) {
  char *text = NULL, *quoted = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (lipc__vasprintf(&text, fmt, ap) < 0) text = NULL;
  va_end(ap);
  if (subject && *subject) quoted = go_quote(subject);
  int rc = lipc__fail(code, err, "%s%s%s: %s", op, quoted ? " " : "", quoted ? quoted : "", text ? text : "");
  free(text);
  free(quoted);
  return rc;
}

static int fail_errno(const char *op, const char *subject, int err) {
  char buf[128];
  return fail(lipc__code_from_errno(err), err, op, subject, "%s", errtext(err, buf, sizeof buf));
}

LIPC_PRINTF(3, 4)
static int fd_fail(int child, int err, const char *fmt, ...) {
  char *text = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (lipc__vasprintf(&text, fmt, ap) < 0) text = NULL;
  va_end(ap);
  int rc = fail(LIPC_EINVAL, err, "spawn", NULL, "bad fd map: child fd %d: %s", child, text ? text : "");
  free(text);
  return rc;
}

static int oom(void) { return lipc__fail(LIPC_ENOMEM, ENOMEM, "proc_spawn: out of memory"); }

/* ------------------------------------------------------------------ */
/* The request's memory: every block is listed in s->allocs and freed  */
/* with it (lipc__spawn_free).                                         */

static void *palloc(struct prep *p, size_t n) {
  if (p->nallocs == p->capallocs) {
    int cap = p->capallocs ? 2 * p->capallocs : 16;
    void **v = realloc(p->allocs, (size_t)cap * sizeof *v);
    if (!v) return NULL;
    p->allocs = v;
    p->capallocs = cap;
  }
  void *m = calloc(1, n ? n : 1);
  if (m) p->allocs[p->nallocs++] = m;
  return m;
}

static char *pstrdup(struct prep *p, const char *s) {
  size_t n = strlen(s) + 1;
  char *c = palloc(p, n);
  if (c) memcpy(c, s, n);
  return c;
}

/* ------------------------------------------------------------------ */
/* The program: the PATH search of the child's environment.             */

/* path/filepath.Clean: the shortest equivalent path, lexically. */
static void clean_path(char *path) {
  size_t n = strlen(path);
  if (n == 0) {
    strcpy(path, ".");
    return;
  }
  int rooted = path[0] == '/';
  char *out = path;
  size_t w = 0, r = 0, dotdot = 0;
  if (rooted) {
    out[w++] = '/';
    r = 1;
    dotdot = 1;
  }
  while (r < n) {
    if (path[r] == '/') {
      r++;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      r++;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/') w--;
      } else if (!rooted) {
        if (w > 0) out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0)) out[w++] = '/';
      while (r < n && path[r] != '/') out[w++] = path[r++];
    }
  }
  if (w == 0) out[w++] = '.';
  out[w] = 0;
}

/* The value of name in env (the last entry that sets it), or NULL. */
static const char *env_lookup(char *const *env, const char *name) {
  size_t k = strlen(name);
  const char *v = NULL;
  for (int i = 0; env && env[i]; i++)
    if (strncmp(env[i], name, k) == 0 && env[i][k] == '=') v = env[i] + k + 1;
  return v;
}

/* What the child's own PATH would run, as Python's subprocess finds it:
 * a name with a '/' as it is; else each PATH entry ("" is "."), skipping
 * what is missing or a directory. *found is set (palloc'd); 0, or ENOENT
 * when nothing was found, EACCES when only non-executables were. */
static int look_path(struct prep *p, const char *file, const char *path_var, char **found) {
  if (strchr(file, '/')) {
    *found = pstrdup(p, file);
    return *found ? 0 : ENOMEM;
  }
  const char *path = path_var ? path_var : "/bin:/usr/bin";
  int denied = 0;
  size_t flen = strlen(file);
  /* filepath.SplitList: "" is no entry at all */
  for (const char *d = path; *path;) {
    const char *end = strchr(d, ':');
    size_t dl = end ? (size_t)(end - d) : strlen(d);
    char *cand = malloc(dl + flen + 4);
    if (!cand) return ENOMEM;
    if (dl == 0) {
      strcpy(cand, ".");
    } else {
      memcpy(cand, d, dl);
      cand[dl] = 0;
    }
    strcat(cand, "/");
    strcat(cand, file);
    clean_path(cand);
    if (!strchr(cand, '/')) {
      memmove(cand + 2, cand, strlen(cand) + 1);
      cand[0] = '.';
      cand[1] = '/';
    }
    struct stat st;
    if (stat(cand, &st) == 0 && !S_ISDIR(st.st_mode)) {
      if (access(cand, X_OK) == 0) {
        *found = pstrdup(p, cand);
        free(cand);
        return *found ? 0 : ENOMEM;
      }
      denied = 1;
    }
    free(cand);
    if (!end) break;
    d = end + 1;
  }
  return denied ? EACCES : ENOENT;
}

/* ------------------------------------------------------------------ */
/* The environment.                                                     */

/* The child's environment when the attributes change the host's: a copy
 * of the live C environ (or nothing, after env_clear), then each "+N=V"
 * or "-N" in order. NULL-terminated, in the request's memory. */
static char **child_env(struct prep *p, const struct lipc_spawnattr *a) {
  int base = 0;
  if (!a->env_clear)
    while (environ && environ[base]) base++;
  char **env = palloc(p, (size_t)(base + a->nenv + 1) * sizeof *env);
  if (!env) return NULL;
  int n = 0;
  for (int i = 0; i < base; i++) env[n++] = environ[i]; /* copied below */
  for (int e = 0; e < a->nenv; e++) {
    const char *op = a->env_ops[e];
    const char *eq = strchr(op + 1, '=');
    size_t k = eq ? (size_t)(eq - (op + 1)) : strlen(op + 1);
    int kept = 0;
    for (int i = 0; i < n; i++)
      if (!(strncmp(env[i], op + 1, k) == 0 && env[i][k] == '=')) env[kept++] = env[i];
    n = kept;
    if (op[0] == '+') env[n++] = (char *)(op + 1);
  }
  env[n] = NULL;
  for (int i = 0; i < n; i++)
    if (!(env[i] = pstrdup(p, env[i]))) return NULL;
  return env;
}

/* What chdir would say of dir: 0, ENOENT, ENOTDIR, EACCES... */
static int check_dir(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return errno;
  if (!S_ISDIR(st.st_mode)) return ENOTDIR;
  return access(dir, X_OK) == 0 ? 0 : errno;
}

/* ------------------------------------------------------------------ */
/* The fd map.                                                          */

/* The kind of child fd i, with what was set for it; unset entries: the
 * standard fds inherited, the others closed (or kept, with keep_fds). */
#define KIND_KEEP (-1)
static int kind_of(const struct lipc_spawnattr *a, int i, const struct lipc_fdspec **spec) {
  *spec = i < a->nfds && a->fds[i].set ? &a->fds[i] : NULL;
  if (*spec) return (*spec)->kind;
  if (i <= 2) return LIPC_FD_INHERIT;
  return a->keep_fds ? KIND_KEEP : LIPC_FD_CLOSE;
}

static int is_open(int fd) { return fd >= 0 && fcntl(fd, F_GETFD) != -1; }

/* fd, an fd lipc holds, moved above the standard ones: a host that closed
 * 0-2 (a daemon) gets new fds there, and every child inherits what sits at
 * 0-2 by default. A pipe end kept there would reach an unrelated later
 * child and hold the pipe open; the child's own ends too, for the time the
 * preparation holds them: another thread's child cloned meanwhile would
 * take them. -1 with errno if it cannot be moved. */
static int above_std(int fd) {
  if (fd > 2) return fd;
  int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int e = errno;
  close(fd);
  errno = e;
  return nfd;
}

static int open_flags(int flags, int *out) {
  int f;
  switch (flags & (LIPC_FILE_READ | LIPC_FILE_WRITE)) {
    case LIPC_FILE_READ: f = O_RDONLY; break;
    case LIPC_FILE_WRITE: f = O_WRONLY; break;
    case LIPC_FILE_READ | LIPC_FILE_WRITE: f = O_RDWR; break;
    default:
      if (!(flags & LIPC_FILE_APPEND))
        return fail(LIPC_EINVAL, EINVAL, "spawn", NULL, "file flags %#x: say read, write or both", (unsigned)flags);
      f = O_WRONLY;
  }
  if (flags & LIPC_FILE_APPEND) f |= O_APPEND;
  if (flags & LIPC_FILE_CREATE) f |= O_CREAT;
  if (flags & LIPC_FILE_TRUNC) f |= O_TRUNC;
  if (flags & LIPC_FILE_EXCL) f |= O_EXCL;
  int known = LIPC_FILE_READ | LIPC_FILE_WRITE | LIPC_FILE_APPEND | LIPC_FILE_CREATE | LIPC_FILE_TRUNC | LIPC_FILE_EXCL;
  if (flags & ~known) return fail(LIPC_EINVAL, EINVAL, "spawn", NULL, "unknown file flags %#x", (unsigned)flags);
  *out = f | O_CLOEXEC;
  return LIPC_OK;
}

/* A file of the fd map, opened without waiting (O_NONBLOCK, then blocking
 * again, as core/fsutil does): a FIFO to write to needs its reader already
 * there, and a FIFO to read from is refused, since opened at once it would
 * give the child end of file before any writer came. Directories are
 * refused too. The caller can always open such a file itself, waiting as
 * it sees fit, and pass it as LIPC_FD_PARENT. */
static int open_for_child(int child, const char *path, int flags, uint32_t mode, int *out) {
  int fd = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
  if (fd < 0) {
    int e = errno;
    if (e == EISDIR) return fail(LIPC_EINVAL, EISDIR, "spawn", path, "bad fd map: child fd %d: %s is a directory", child, path);
    if (e == ENXIO)
      return fail(LIPC_EINVAL, ENXIO, "spawn", path,
                  "bad fd map: child fd %d: %s is a FIFO with no reader yet (lipc does not wait for one; open "
                  "it yourself and pass it as LIPC_FD_PARENT)", child, path);
    return fail_errno("spawn: open", path, e);
  }
  struct stat st;
  int fl;
  if (fstat(fd, &st) != 0 || (fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
    int e = errno;
    close(fd);
    return fail_errno("spawn: open", path, e);
  }
  if (S_ISFIFO(st.st_mode) && (flags & O_ACCMODE) != O_WRONLY) {
    close(fd);
    return fail(LIPC_EINVAL, EINVAL, "spawn", path,
                "bad fd map: child fd %d: %s is a FIFO to read from: lipc does not wait for its writer, and "
                "opened at once the child would read end of file; open it yourself and pass it as "
                "LIPC_FD_PARENT", child, path);
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return fail(LIPC_EINVAL, EISDIR, "spawn", path, "bad fd map: child fd %d: %s is a directory", child, path);
  }
  *out = fd;
  return LIPC_OK;
}

/* Child fd i: what it is opened from (p->src[i]). */
static int open_entry(struct prep *p, const struct lipc_spawnattr *a, int i) {
  const struct lipc_fdspec *e;
  int kind = kind_of(a, i, &e), fd = -1;
  p->src[i] = -1;
  switch (kind) {
    case LIPC_FD_INHERIT: p->src[i] = LIPC_SPAWN_FD_IF_OPEN(i); return LIPC_OK; /* the child checks */
    case LIPC_FD_CLOSE:
    case LIPC_FD_CHILD: return LIPC_OK;
    case KIND_KEEP: p->src[i] = -2; return LIPC_OK;
    case LIPC_FD_NULL: {
      /* 0: read for fd 0, write for the others */
      int flags = (e->flags & LIPC_FILE_READ) && (e->flags & LIPC_FILE_WRITE) ? O_RDWR
                  : e->flags & LIPC_FILE_WRITE                                ? O_WRONLY
                  : e->flags & LIPC_FILE_READ                                 ? O_RDONLY
                  : i > 0                                                     ? O_WRONLY
                                                                              : O_RDONLY;
      if ((fd = open("/dev/null", flags | O_CLOEXEC)) < 0 || (fd = above_std(fd)) < 0)
        return fail_errno("spawn", "/dev/null", errno);
      p->child_side[p->nchild++] = fd;
      p->src[i] = fd;
      return LIPC_OK;
    }
    case LIPC_FD_PIPE_IN:
    case LIPC_FD_PIPE_OUT: {
      int pp[2];
      if (pipe2(pp, O_CLOEXEC) != 0) return fail_errno("spawn", "pipe", errno);
      int child = pp[0], parent = pp[1]; /* the child reads */
      if (kind == LIPC_FD_PIPE_OUT) child = pp[1], parent = pp[0];
      if ((parent = above_std(parent)) < 0 || (child = above_std(child)) < 0) {
        int err = errno;
        close(parent >= 0 ? parent : child);
        return fail_errno("spawn", "pipe", err);
      }
      p->child_side[p->nchild++] = child;
      p->parent_end[i] = parent;
      p->src[i] = child;
      if (a->pipesize > 0 && fcntl(parent, F_SETPIPE_SZ, (int)a->pipesize) < 0) {
        int err = errno;
        char buf[128];
        return fail(lipc__code_from_errno(err), err, "spawn", NULL,
                    "pipe size %lld for child fd %d (F_SETPIPE_SZ; unprivileged, at most "
                    "/proc/sys/fs/pipe-max-size): %s", (long long)a->pipesize, i, errtext(err, buf, sizeof buf));
      }
      return LIPC_OK;
    }
    case LIPC_FD_PARENT:
      if (!is_open(e->arg)) return fd_fail(i, EINVAL, "parent fd %d is not open", e->arg);
      p->src[i] = e->arg;
      if (e->flags & LIPC_FD_CLOSE_PARENT) {
        /* Once, if several entries give it (stdout and stderr to one
         * file): a second close of the number could close what another
         * thread opened there meanwhile. */
        int k = 0;
        while (k < p->nclose_parent && p->close_parent[k] != e->arg) k++;
        if (k == p->nclose_parent) p->close_parent[p->nclose_parent++] = e->arg;
      }
      return LIPC_OK;
    case LIPC_FD_FILE: {
      int flags = 0, rc = open_flags(e->flags, &flags);
      if (rc != LIPC_OK) return rc;
      if ((rc = open_for_child(i, e->path, flags, e->mode ? e->mode : 0644, &fd)) != LIPC_OK) return rc;
      if ((fd = above_std(fd)) < 0) return fail_errno("spawn: open", e->path, errno);
      p->child_side[p->nchild++] = fd;
      p->src[i] = fd;
      return LIPC_OK;
    }
  }
  return fd_fail(i, EINVAL, "unknown kind %d", kind);
}

static int open_fds(struct prep *p, const struct lipc_spawnattr *a) {
  int n = p->n;
  for (int i = 0; i < n; i++) {
    int rc = open_entry(p, a, i);
    if (rc != LIPC_OK) return rc;
  }
  /* An inherited fd that was closed when the spawn began may have been
   * given to one opened above: the child gets it closed, not lipc's end. */
  for (int i = 0; i < p->nchild; i++) {
    int fd = p->child_side[i];
    if (fd < n && p->src[fd] == LIPC_SPAWN_FD_IF_OPEN(fd)) p->src[fd] = -1;
  }
  for (int i = 0; i < n; i++) {
    int fd = p->parent_end[i];
    if (fd >= 0 && fd < n && p->src[fd] == LIPC_SPAWN_FD_IF_OPEN(fd)) p->src[fd] = -1;
  }
  /* Child-to-child references last, so 2>&1 sees what fd 1 became. */
  for (int i = 0; i < n; i++) {
    const struct lipc_fdspec *e, *f;
    if (kind_of(a, i, &e) != LIPC_FD_CHILD) continue;
    int j = e->arg, seen = 0;
    while (j >= 0 && j < n && kind_of(a, j, &f) == LIPC_FD_CHILD && seen <= n) {
      j = f->arg;
      seen++;
    }
    if (j < 0 || j >= n || seen > n)
      return fd_fail(i, EINVAL, "refers to child fd %d, which is not in the map (or the references form a loop)",
                     e->arg);
    if (j == i) return fd_fail(i, EINVAL, "refers to itself");
    p->src[i] = p->src[j];
  }
  return LIPC_OK;
}

/* ------------------------------------------------------------------ */
/* The request.                                                         */

/* Fills the request from the attributes and what was opened. */
static int build(struct prep *p, const struct lipc_spawnattr *a, const char *path, char **env) {
  struct lipc_spawn *s = p->s;
  int n = p->n;
  if (!(s->path = pstrdup(p, path))) return oom();
  char **argv = palloc(p, (size_t)(a->nargs + 1) * sizeof *argv);
  if (!argv) return oom();
  for (int i = 0; i < a->nargs; i++)
    if (!(argv[i] = pstrdup(p, a->args[i]))) return oom();
  s->argv = argv;
  s->envp = env ? env : environ;
  if (a->cwd && !(s->cwd = pstrdup(p, a->cwd))) return oom();
  s->umask = a->umask;
  s->setsid = a->setsid != 0;
  s->pgid = a->pgid;
  s->pdeathsig = a->autokill;
  s->parent = getpid();
  int *src = palloc(p, (size_t)(2 * n + 1) * sizeof *src);
  if (!src) return oom();
  memcpy(src, p->src, (size_t)n * sizeof *src);
  s->nfds = n;
  s->src = src;
  s->scratch = src + n;
  s->uid = a->uid;
  s->gid = a->gid;
  s->ngroups = -1;
  if (a->set_groups) {
    s->ngroups = a->ngroups;
    if (a->ngroups > 0) {
      gid_t *g = palloc(p, (size_t)a->ngroups * sizeof *g);
      if (!g) return oom();
      for (int i = 0; i < a->ngroups; i++) g[i] = (gid_t)a->groups[i];
      s->groups = g;
    }
  }
  s->keep_fds = a->keep_fds != 0;
  s->sigreset_all = a->sigreset == LIPC_SIGRESET_ALL;
  s->sigdefault = a->sigdefault;
  if (a->nrlims > 0) {
    struct lipc_rlim *rl = palloc(p, (size_t)a->nrlims * sizeof *rl);
    if (!rl) return oom();
    for (int i = 0; i < a->nrlims; i++) {
      rl[i].resource = a->rlims[i].resource;
      rl[i].cur = a->rlims[i].soft < 0 ? RLIM_INFINITY : (uint64_t)a->rlims[i].soft;
      rl[i].max = a->rlims[i].hard < 0 ? RLIM_INFINITY : (uint64_t)a->rlims[i].hard;
    }
    s->nrlim = a->nrlims;
    s->rlim = rl;
  }
  /* What the parent closes after the clone, and the pipe ends it keeps
   * (by child fd), for lipc_proc_spawn to finish in C. */
  int npipes = 0;
  for (int i = 0; i < n; i++) npipes += p->parent_end[i] >= 0;
  int *ok = palloc(p, (size_t)(p->nchild + p->nclose_parent + 1) * sizeof *ok);
  int *bad = palloc(p, (size_t)(p->nchild + npipes + 1) * sizeof *bad);
  int *pipes = palloc(p, (size_t)(2 * npipes + 1) * sizeof *pipes);
  if (!ok || !bad || !pipes) return oom();
  memcpy(ok, p->child_side, (size_t)p->nchild * sizeof *ok);
  memcpy(ok + p->nchild, p->close_parent, (size_t)p->nclose_parent * sizeof *ok);
  memcpy(bad, p->child_side, (size_t)p->nchild * sizeof *bad);
  for (int i = 0, k = 0; i < n; i++) {
    if (p->parent_end[i] < 0) continue;
    bad[p->nchild + k] = p->parent_end[i];
    pipes[2 * k] = i;
    pipes[2 * k + 1] = p->parent_end[i];
    k++;
  }
  s->nclose_ok = p->nchild + p->nclose_parent;
  s->close_ok = s->nclose_ok ? ok : NULL;
  s->nclose_fail = p->nchild + npipes;
  s->close_fail = s->nclose_fail ? bad : NULL;
  s->npipes = npipes;
  s->pipes = npipes ? pipes : NULL;
  return LIPC_OK;
}

/* Closes what a failed preparation opened. */
static void close_opened(struct prep *p) {
  for (int i = 0; i < p->nchild; i++) close(p->child_side[i]);
  for (int i = 0; i < p->n; i++)
    if (p->parent_end[i] >= 0) close(p->parent_end[i]);
}

/* 1 if the entry gives the child a parent fd that a started spawn closes. */
static int closes_parent(const struct lipc_fdspec *f) {
  return f->kind == LIPC_FD_PARENT && (f->flags & LIPC_FD_CLOSE_PARENT);
}

/* The fd entries with LIPC_FD_CLOSE_PARENT: refused if a spawn took their
 * fd already (it closes it; the number may name another file by now),
 * else marked with a new claim, returned in *claim (0: no such entry).
 * Under a->mu. */
static int take_parent_fds(struct lipc_spawnattr *a, uint64_t *claim) {
  *claim = 0;
  for (int i = 0; i < a->nfds; i++) {
    struct lipc_fdspec *f = &a->fds[i];
    if (f->set && closes_parent(f) && f->given_away)
      return fd_fail(i, EINVAL, "parent fd %d was closed by an earlier spawn of these attributes "
                     "(LIPC_FD_CLOSE_PARENT); set the entry again", f->arg);
  }
  for (int i = 0; i < a->nfds; i++)
    if (closes_parent(&a->fds[i])) {
      if (!*claim) *claim = ++a->claims;
      a->fds[i].given_away = *claim;
    }
  return LIPC_OK;
}

/* A spawn that did not start gives back the entries it claimed, and only
 * those: a setter may have given an entry a new fd since, and another
 * spawn taken that one. */
void lipc__spawn_give_back_parent_fds(struct lipc_spawnattr *a, uint64_t claim) {
  if (!claim) return;
  pthread_mutex_lock(&a->mu);
  for (int i = 0; i < a->nfds; i++)
    if (a->fds[i].given_away == claim) a->fds[i].given_away = 0;
  pthread_mutex_unlock(&a->mu);
}

static int prepare_from(struct prep *p, struct lipc_spawnattr *a) {
  if (a->nargs == 0)
    return fail(LIPC_EINVAL, EINVAL, "spawn", NULL, "empty argv: at least the program name is needed");
  const char *prog = a->program && *a->program ? a->program : a->args[0];
  if (!*prog) return fail(LIPC_EINVAL, EINVAL, "spawn", NULL, "empty program name");
  p->subject = prog;
  /* The live C environ as it is, unless the attributes change it: then
   * execve reads environ itself, as posix_spawn callers and subprocess
   * (env=None) do (a host thread's setenv racing the spawn is the same
   * race as with posix_spawn(..., environ)). */
  char **env = NULL;
  if (a->env_clear || a->nenv > 0) {
    if (!(env = child_env(p, a))) return oom();
  }
  /* The working directory first, as the child would meet it: with a bad
   * directory and a missing program the error is the directory's, as in
   * subprocess (whose child changes directory before it execs). */
  int e;
  if (a->cwd && *a->cwd && (e = check_dir(a->cwd)) != 0) {
    char buf[128], *dir = go_quote(a->cwd);
    int rc = fail(lipc__code_from_errno(e), e, "spawn", prog, "working directory %s: %s", dir ? dir : "",
                  errtext(e, buf, sizeof buf));
    free(dir);
    return rc;
  }
  char *path = NULL;
  if (a->search) {
    e = look_path(p, prog, env ? env_lookup(env, "PATH") : getenv("PATH"), &path);
    if (e == ENOMEM) return oom();
    if (e != 0)
      return fail(lipc__code_from_errno(e), e, "spawn", prog, "%s in the PATH of the child's environment",
                  e == EACCES ? "found but not executable" : "executable not found");
  } else if (!(path = pstrdup(p, prog))) {
    return oom();
  }
  int rc = open_fds(p, a);
  if (rc != LIPC_OK) return rc;
  return build(p, a, path, env);
}

/* c: the attributes a as they are now, their strings and lists copied
 * into the request's memory (c's mutex is a copy of bytes, never used). */
static int snapshot(struct prep *p, const struct lipc_spawnattr *a, struct lipc_spawnattr *c) {
  *c = *a;
  if (!(c->args = palloc(p, (size_t)a->nargs * sizeof *c->args))) return oom();
  for (int i = 0; i < a->nargs; i++)
    if (!(c->args[i] = pstrdup(p, a->args[i]))) return oom();
  if (a->program && !(c->program = pstrdup(p, a->program))) return oom();
  if (!(c->env_ops = palloc(p, (size_t)a->nenv * sizeof *c->env_ops))) return oom();
  for (int i = 0; i < a->nenv; i++)
    if (!(c->env_ops[i] = pstrdup(p, a->env_ops[i]))) return oom();
  if (a->cwd && !(c->cwd = pstrdup(p, a->cwd))) return oom();
  if (!(c->fds = palloc(p, (size_t)a->nfds * sizeof *c->fds))) return oom();
  for (int i = 0; i < a->nfds; i++) {
    c->fds[i] = a->fds[i];
    if (a->fds[i].path && !(c->fds[i].path = pstrdup(p, a->fds[i].path))) return oom();
  }
  if (!(c->rlims = palloc(p, (size_t)a->nrlims * sizeof *c->rlims))) return oom();
  if (a->nrlims > 0) memcpy(c->rlims, a->rlims, (size_t)a->nrlims * sizeof *c->rlims);
  if (!(c->groups = palloc(p, (size_t)a->ngroups * sizeof *c->groups))) return oom();
  if (a->ngroups > 0) memcpy(c->groups, a->groups, (size_t)a->ngroups * sizeof *c->groups);
  return LIPC_OK;
}

int lipc__spawn_prepare(struct lipc_spawnattr *a, struct lipc_spawn **out) {
  struct prep p = {0};
  struct lipc_spawnattr c;
  int *work = NULL;
  *out = NULL;
  /* The attributes' lock is held to claim their parent fds and copy them,
   * not for the preparation's file system calls (the PATH search, the fd
   * map's opens), as the Go code held it: a host fork meanwhile leaves the
   * lock held in its child, where the attributes must keep working
   * (lipc.h), and a setter there would wait for it forever. */
  uint64_t claim = 0;
  pthread_mutex_lock(&a->mu);
  int rc = take_parent_fds(a, &claim);
  if (rc == LIPC_OK) rc = snapshot(&p, a, &c);
  pthread_mutex_unlock(&a->mu);
  if (rc != LIPC_OK) goto out;
  p.n = c.nfds > 3 ? c.nfds : 3;
  /* Working lists on the heap: a map may name up to 1024 fds. */
  work = malloc((size_t)(4 * p.n) * sizeof *work);
  p.s = calloc(1, sizeof *p.s);
  if (!work || !p.s) {
    rc = oom();
    goto out;
  }
  p.src = work;
  p.child_side = work + p.n;
  p.parent_end = work + 2 * p.n;
  p.close_parent = work + 3 * p.n;
  for (int i = 0; i < p.n; i++) p.parent_end[i] = -1;
  rc = prepare_from(&p, &c);
  if (rc != LIPC_OK) close_opened(&p);
out:
  free(work);
  if (rc != LIPC_OK) {
    lipc__spawn_give_back_parent_fds(a, claim);
    for (int i = 0; i < p.nallocs; i++) free(p.allocs[i]);
    free(p.allocs);
    free(p.s);
    return rc;
  }
  p.s->claim = claim;
  /* Last: the list of the request's memory, which it owns from here. */
  p.s->allocs = p.allocs;
  p.s->nallocs = p.nallocs;
  *out = p.s;
  return LIPC_OK;
}
