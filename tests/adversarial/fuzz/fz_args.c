/* fz_args.c - argument classes: how each kind of parameter is drawn.
 *
 * Safety rules (the fuzzer runs as root on a shared machine):
 *  - every file it names lives under its temporary directory, or is
 *    /dev/null or /dev/zero; relative paths only where lipc opens them in
 *    this process, whose working directory is that directory;
 *  - every program a child can run is /bin/true, /bin/echo, /bin/cat or
 *    /bin/sleep (the other words of the argv and program lists are checked
 *    at start-up to name no program anywhere in PATH);
 *  - shell commands come from a fixed list of harmless ones;
 *  - environment variables it sets in itself start with LIPCFZ_;
 *  - fds it passes are its own (or numbers that are surely not open), so a
 *    close or write never reaches an fd of lipc's;
 *  - sizes that would really allocate (a file extended and then read ahead)
 *    are bounded; only sizes lipc must refuse, or sparse ones, are huge.
 * Every drawn argument is written into the call's description, which the
 * supervisor prints if the call crashes or hangs. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fz.h"

#ifndef LIPC_TRUST_FOREIGN
#define FZ_TRUST_FLAG 8 /* not in this header: an unknown flag */
#else
#define FZ_TRUST_FLAG LIPC_TRUST_FOREIGN
#endif

struct strlist {
  const char **v;
  int n;
};
static struct strlist S[FZS_QUOTE + 1];
static const char *class_names[] = {"", "name", "env-name", "env-name", "env-value", "path", "fd-path",
                                    "dir", "program", "argv", "command", "quote"};

void fz_desc(struct fz_call *c, const char *fmt, ...) {
  if (c->desc_len >= sizeof c->desc - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->desc + c->desc_len, sizeof c->desc - c->desc_len, fmt, ap);
  va_end(ap);
  if (n > 0) c->desc_len += (size_t)n;
  if (c->desc_len >= sizeof c->desc) c->desc_len = sizeof c->desc - 1;
}

static void *arena(struct fz *z, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (z->arena_used + size > sizeof z->arena) return NULL;
  void *p = z->arena + z->arena_used;
  z->arena_used += size;
  return p;
}

static char *joinp(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *s = malloc(n);
  snprintf(s, n, "%s/%s", a, b);
  return s;
}

static char *repeat(const char *head, char ch, size_t total) {
  size_t h = strlen(head);
  char *s = malloc(total + 1);
  memcpy(s, head, h < total ? h : total);
  if (total > h) memset(s + h, ch, total - h);
  s[total] = 0;
  return s;
}

static char *cat2(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 1;
  char *s = malloc(n);
  snprintf(s, n, "%s%s", a, b);
  return s;
}

static void add(int cls, const char *s) {
  S[cls].v = realloc(S[cls].v, sizeof(char *) * (size_t)(S[cls].n + 1));
  S[cls].v[S[cls].n++] = s;
}

/* Words of the argv and program lists that must name no program. */
static const char *not_programs[] = {"0.01", "hi", "--", "-n", "fz-no-such-prog", "a b", "$HOME",
                                     "relative-new"};

static void build_lists(void) {
  const char *P = fz_cfg.prefix, *T = fz_cfg.tmpdir;
  size_t plen = strlen(P);
  /* names: valid, aliases of other kinds' files, and every broken rule */
  add(FZS_NAME, cat2(P, "a"));
  add(FZS_NAME, cat2(P, "b"));
  add(FZS_NAME, cat2(P, "c"));
  add(FZS_NAME, cat2("/", cat2(P, "a")));
  add(FZS_NAME, cat2(P, "x.y-z_9"));
  add(FZS_NAME, cat2("sem.", cat2(P, "a")));        /* shm "sem.X" is semaphore X's file */
  add(FZS_NAME, cat2("lipc.mutex.", cat2(P, "a"))); /* ... mutex X's */
  add(FZS_NAME, cat2("lipc.event.", cat2(P, "a"))); /* ... event X's */
  add(FZS_NAME, repeat(P, 'n', 200));               /* the longest valid name */
  add(FZS_NAME, cat2("/", repeat(P, 'n', 200)));
  add(FZS_NAME, repeat(P, 'n', 201)); /* one too long */
  add(FZS_NAME, repeat(P, 'n', 300));
  add(FZS_NAME, repeat(P, 'n', 5000));
  add(FZS_NAME, "");
  add(FZS_NAME, "/");
  add(FZS_NAME, cat2("//", cat2(P, "a")));
  add(FZS_NAME, cat2(".", cat2(P, "a")));
  add(FZS_NAME, cat2(P, "/x"));
  add(FZS_NAME, cat2(P, " sp"));
  add(FZS_NAME, cat2(P, "\x01"));
  add(FZS_NAME, cat2(P, "\xc3\xa9"));
  add(FZS_NAME, cat2(P, "\xff\xfe"));
  add(FZS_NAME, ".");
  add(FZS_NAME, "..");
  add(FZS_NAME, NULL);
  (void)plen;

  /* paths for mapped files and file locks */
  const char *pnames[] = {"file-a", "file-a", "file-b", "file-ro", "new-0", "new-1", "missing", "dir",
                          "fifo", "fifo-lonely", "fifo-lonely", "sock", "link-file", "link-dangling", "link-fifo",
                          "link-loop", "link-null", "file-a/", "dir/../file-a", "nodir/x", "\xff"};
  for (size_t i = 0; i < sizeof pnames / sizeof *pnames; i++) add(FZS_PATH, joinp(T, pnames[i]));
  add(FZS_PATH, "/dev/null");
  add(FZS_PATH, "/dev/zero");
  add(FZS_PATH, "");
  add(FZS_PATH, NULL);
  add(FZS_PATH, "relative-new"); /* lipc opens it in this process, whose cwd is T */
  add(FZS_PATH, joinp(T, repeat("", 'p', 300)));
  add(FZS_PATH, cat2(T, repeat("", '/', 5000)));

  /* paths for a child's fds (opened by lipc in this process) */
  const char *fnames[] = {"out-a", "out-b", "out-new", "fifo", "fifo-lonely", "fifo-lonely", "dir", "sock",
                          "nodir/x", "link-null", "link-fifo"};
  for (size_t i = 0; i < sizeof fnames / sizeof *fnames; i++) add(FZS_FDPATH, joinp(T, fnames[i]));
  add(FZS_FDPATH, "/dev/null");
  add(FZS_FDPATH, "");
  add(FZS_FDPATH, NULL);
  add(FZS_FDPATH, joinp(T, repeat("", 'p', 300)));

  const char *dnames[] = {"dir", "missing", "file-a", "fifo", "fifo-lonely", "link-loop", "sock"};
  add(FZS_DIR, T);
  for (size_t i = 0; i < sizeof dnames / sizeof *dnames; i++) add(FZS_DIR, joinp(T, dnames[i]));
  add(FZS_DIR, "/");
  add(FZS_DIR, "");
  add(FZS_DIR, NULL);
  add(FZS_DIR, cat2(T, repeat("", '/', 5000)));

  const char *progs[] = {"/bin/true", "/bin/echo", "/bin/cat", "/bin/sleep", "true", "echo", "cat",
                         "sleep", "", "fz-no-such-prog", "/dev/null", "relative-new"};
  for (size_t i = 0; i < sizeof progs / sizeof *progs; i++) add(FZS_PROGRAM, progs[i]);
  const char *pfiles[] = {"file-a", "file-ro", "dir", "fifo", "fifo-lonely", "link-dangling", "sock"};
  for (size_t i = 0; i < sizeof pfiles / sizeof *pfiles; i++) add(FZS_PROGRAM, joinp(T, pfiles[i]));
  add(FZS_PROGRAM, NULL);

  const char *argv[] = {"/bin/true", "/bin/echo", "/bin/cat", "/bin/sleep", "true", "echo", "cat",
                        "sleep", "0.01", "hi", "", "--", "-n", "fz-no-such-prog", "$HOME", "a b",
                        "\xff\xfe"};
  for (size_t i = 0; i < sizeof argv / sizeof *argv; i++) add(FZS_ARGV, argv[i]);
  add(FZS_ARGV, repeat("", 'a', 4000));
  add(FZS_ARGV, NULL);

  const char *cmds[] = {"true", "echo x", "echo err >&2; exit 3", "cat", "sleep 0.01", "exit 0", "",
                        "kill -STOP $$", "echo $((1/0))", "\x01", "exec 1>&-; echo gone",
                        "sleep 0.01 & echo bg"};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) add(FZS_COMMAND, cmds[i]);
  add(FZS_COMMAND, repeat("", ':', 4000));
  add(FZS_COMMAND, NULL);

  const char *quotes[] = {"", "simple", "it's", "a b", "\"q\"", "back\\slash\\", "%PATH%", "^&|<>()!",
                          "line\nbreak", "cr\r", "\t", "\xff\xfe", "'''", "\\\\\"", "a\\\"b"};
  for (size_t i = 0; i < sizeof quotes / sizeof *quotes; i++) add(FZS_QUOTE, quotes[i]);
  add(FZS_QUOTE, repeat("\"\\'", '%', 5000));
  add(FZS_QUOTE, NULL);

  const char *envw[] = {"LIPCFZ_A", "LIPCFZ_B", "LIPCFZ_A", "", "=", "LIPCFZ_C=D", "LIPCFZ_\xff"};
  for (size_t i = 0; i < sizeof envw / sizeof *envw; i++) add(FZS_ENVNAME_W, envw[i]);
  add(FZS_ENVNAME_W, repeat("LIPCFZ_", 'L', 300));
  add(FZS_ENVNAME_W, NULL);
  for (int i = 0; i < S[FZS_ENVNAME_W].n; i++) add(FZS_ENVNAME_R, S[FZS_ENVNAME_W].v[i]);
  add(FZS_ENVNAME_R, "PATH");
  add(FZS_ENVNAME_R, "HOME");
  add(FZS_ENVNAME_R, "LIPCFZ_NOT_SET");

  const char *envv[] = {"", "x", "/nonexistent", "a=b", "\xff", "two words"};
  for (size_t i = 0; i < sizeof envv / sizeof *envv; i++) add(FZS_ENVVALUE, envv[i]);
  add(FZS_ENVVALUE, repeat("", 'v', 5000));
  add(FZS_ENVVALUE, NULL);
}

static int names_program(const char *word) {
  if (!word || !*word || strchr(word, '/')) return 0;
  const char *path = getenv("PATH");
  char dirs[4096];
  snprintf(dirs, sizeof dirs, "%s:/bin:/usr/bin:/sbin:/usr/sbin:/usr/local/bin:/usr/local/sbin",
           path ? path : "");
  for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", d, word);
    if (access(p, X_OK) == 0) return 1;
  }
  return 0;
}

int fz_check_safe_words(void) {
  build_lists();
  for (size_t i = 0; i < sizeof not_programs / sizeof *not_programs; i++)
    if (names_program(not_programs[i])) {
      fprintf(stderr, "set-up: the word \"%s\" names a program on this machine; the fuzzer "
              "would run it\n", not_programs[i]);
      return -1;
    }
  return 0;
}

static void desc_str(struct fz_call *c, const char *name, const char *s) {
  if (!s) {
    fz_desc(c, "%s=NULL ", name);
    return;
  }
  size_t n = strlen(s);
  fz_desc(c, "%s=\"", name);
  for (size_t i = 0; i < n && i < 48; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 32 && ch < 127 && ch != '"' && ch != '\\')
      fz_desc(c, "%c", ch);
    else
      fz_desc(c, "\\x%02x", ch);
  }
  fz_desc(c, n > 48 ? "\"...(%zu bytes) " : "\" ", n);
}

/* Random NUL-free bytes; inside the temporary directory for paths. */
static const char *garbage(struct fz *z, struct fz_call *c, int cls) {
  static _Thread_local char buf[4][700];
  char *b = buf[c->nstr++ % 4];
  size_t n = 1 + fz_below(&z->rng, 60), off = 0;
  if (cls == FZS_PATH) off = (size_t)snprintf(b, 200, "%s/", fz_cfg.tmpdir);
  for (size_t i = 0; i < n; i++) {
    char ch = (char)(1 + fz_below(&z->rng, 255));
    if (cls == FZS_PATH && ch == '/') ch = '_';
    b[off + i] = ch;
  }
  b[off + n] = 0;
  return b;
}

const char *fz_str(struct fz *z, struct fz_call *c, const char *name, int cls) {
  const char *s;
  int may_garble = cls == FZS_NAME || cls == FZS_QUOTE || cls == FZS_ENVVALUE || cls == FZS_PATH ||
                   cls == FZS_ENVNAME_R;
  if (may_garble && fz_chance(&z->rng, 6))
    s = garbage(z, c, cls);
  else
    s = S[cls].v[fz_below(&z->rng, (uint64_t)S[cls].n)];
  desc_str(c, name, s);
  (void)class_names;
  return s;
}

/* ---- handles ---- */

static const int all_kinds[] = {LIPC_KIND_SEM, LIPC_KIND_PROC, LIPC_KIND_SPAWNATTR, LIPC_KIND_MUTEX,
                                LIPC_KIND_EVENT, LIPC_KIND_SHM, LIPC_KIND_MMAP, LIPC_KIND_FLOCK};

lipc_handle_t fz_handle(struct fz *z, struct fz_call *c, const char *name, int kind) {
  struct fz_rng *r = &z->rng;
  struct fz_hent e;
  lipc_handle_t h = 0;
  int cls = 0, p = (int)fz_below(r, 100);
  if (p < 72 && fz_pool_pick(r, kind, &e)) {
    h = e.h;
    cls = FZH_LIVE;
  } else if (p < 80 && kind) {
    for (int tries = 0; tries < 8 && !cls; tries++) {
      int k = all_kinds[fz_below(r, 8)];
      if (k != kind && fz_pool_pick(r, k, &e)) h = e.h, cls = FZH_WRONG_KIND;
    }
  } else if (p < 88 && fz_pool_pick_stale(r, &h)) {
    cls = FZH_STALE;
  } else if (p < 94) {
    h = (lipc_handle_t)fz_next(r);
    if (fz_chance(r, 50)) h = (lipc_handle_t)(((uint64_t)1 << 52) | ((uint64_t)h & (((uint64_t)1 << 52) - 1)));
    cls = FZH_RANDOM;
  }
  if (!cls) {
    static const int64_t edges[] = {0, -1, 1, 2, INT64_MIN, INT64_MAX, (int64_t)1 << 52,
                                    ((int64_t)1 << 53) - 1, (int64_t)1 << 53, ((int64_t)1 << 52) | 1,
                                    ((int64_t)1 << 52) | ((int64_t)1 << 20), -((int64_t)1 << 52),
                                    (int64_t)0xFFFFFFFF, (int64_t)1 << 32};
    h = edges[fz_below(r, sizeof edges / sizeof *edges)];
    cls = FZH_EDGE;
  }
  /* What it really is, whatever the draw meant. */
  int live_kind = fz_pool_live_kind(h);
  if (live_kind) cls = kind == 0 || live_kind == kind ? FZH_LIVE : FZH_WRONG_KIND;
  c->harg = h;
  c->hclass = cls;
  c->hkind_expected = kind;
  c->hkind_actual = live_kind;
  static const char *cn[] = {"", "live", "wrong-kind", "stale", "random", "edge", ""};
  fz_desc(c, "%s=%lld(%s", name, (long long)h, cn[cls]);
  if (live_kind) fz_desc(c, " kind %d", live_kind);
  fz_desc(c, ") ");
  return h;
}

static void *out_slot(struct fz *z, struct fz_call *c, const char *name, size_t size, int is_block,
                      int is_handle, int kind) {
  unsigned char *p = NULL;
  if (!fz_chance(&z->rng, 14)) p = arena(z, size);
  if (p) memset(p, FZ_CANARY, size);
  if (c->nouts < FZ_MAXOUTS)
    c->outs[c->nouts++] = (struct fz_out){name, p, size, is_block, is_handle, kind};
  fz_desc(c, "%s=%s ", name, p ? "&out" : "NULL");
  return p;
}

lipc_handle_t *fz_out_handle(struct fz *z, struct fz_call *c, const char *name, int kind) {
  return out_slot(z, c, name, sizeof(lipc_handle_t), 0, 1, kind);
}

void *fz_out(struct fz *z, struct fz_call *c, const char *name, size_t size) {
  return out_slot(z, c, name, size, 0, 0, 0);
}

char **fz_out_block(struct fz *z, struct fz_call *c, const char *name) {
  return out_slot(z, c, name, sizeof(char *), 1, 0, 0);
}

void *fz_freeptr(struct fz *z, struct fz_call *c) {
  char *block = NULL;
  size_t len = 0;
  if (fz_chance(&z->rng, 60) && L.env_list(&block, &len) == 0) {
    c->free_block = block;
    fz_desc(c, "ptr=<a block from lipc_env_list> ");
    return block;
  }
  fz_desc(c, "ptr=NULL ");
  return NULL;
}

/* ---- buffers ---- */

struct fz_buf fz_buf(struct fz *z, struct fz_call *c, const char *name, int cls) {
  static const size_t sizes[] = {0, 1, 2, 7, 8, 64, 4096, 65536};
  struct fz_rng *r = &z->rng;
  struct fz_buf b = {NULL, sizes[fz_below(r, sizeof sizes / sizeof *sizes)]};
  int null = fz_chance(r, 12);
  if (null) {
    static const size_t null_sizes[] = {0, 1, 4096, SIZE_MAX, (size_t)1 << 31, (size_t)INT64_MAX};
    b.n = null_sizes[fz_below(r, sizeof null_sizes / sizeof *null_sizes)];
  } else {
    size_t bytes = cls == FZB_INTS ? b.n * sizeof(int) : b.n;
    unsigned char *m = malloc(bytes + FZ_GUARD);
    memset(m, FZ_CANARY, bytes + FZ_GUARD);
    if (cls == FZB_WRITE || cls == FZB_INPUT) {
      memset(m, 'Z', b.n);
      if (b.n && cls == FZB_INPUT && fz_chance(r, 50)) m[b.n - 1] = '\n';
    }
    b.p = m;
    if (c->nbufs < FZ_MAXBUFS) c->bufs[c->nbufs++] = (struct fz_bufarg){name, m, bytes, cls};
  }
  fz_desc(c, "%s=%s size=%zu ", name, null ? "NULL" : "buf", b.n);
  return b;
}

struct fz_wait fz_waitfds(struct fz *z, struct fz_call *c) {
  static _Thread_local int fds[4100], events[4100], revents[4100 + FZ_GUARD / sizeof(int)];
  struct fz_rng *r = &z->rng;
  static const int counts[] = {0, 1, 2, 3, 1, 2, 4096, 4097, -1, INT_MAX, INT_MIN};
  struct fz_wait w = {fds, events, revents, counts[fz_below(r, sizeof counts / sizeof *counts)]};
  int real = w.n < 0 || w.n > 4096 ? 1 : w.n; /* arrays hold what nfds says, when it is allowed */
  for (int i = 0; i < real; i++) {
    struct fz_fdent e;
    int p = (int)fz_below(r, 10);
    fds[i] = p < 7 && fz_fd_pick(r, &e) ? e.fd : p < 8 ? -1 : p < 9 ? INT_MAX : 100000;
    events[i] = (int)fz_below(r, 4) | (fz_chance(r, 10) ? (int)fz_next(r) : 0);
  }
  memset(revents, FZ_CANARY, sizeof revents);
  if (fz_chance(r, 8)) w.fds = NULL;
  if (fz_chance(r, 8)) w.events = NULL;
  if (fz_chance(r, 20)) w.revents = NULL;
  /* revents may be written only on success, and never past nfds entries
   * (past the array when nfds is refused). */
  if (w.revents && c->nouts < FZ_MAXOUTS)
    c->outs[c->nouts++] = (struct fz_out){"revents", (unsigned char *)revents, sizeof(int) * (size_t)real, 0, 0, 0};
  fz_desc(c, "fds=%s events=%s revents=%s nfds=%d [fd0=%d ev0=%#x] ", w.fds ? "arr" : "NULL",
          w.events ? "arr" : "NULL", w.revents ? "arr" : "NULL", w.n, fds[0], (unsigned)events[0]);
  return w;
}

/* lipc_proc_info_many's arrays: figures known and not, counts allowed and
 * refused (never more than the arrays hold: a count past them is the
 * caller's overrun, as for memcpy). The check: values and rcs are written
 * only on success (test_proc_info_many.c checks what is written). */
static int64_t edge_int(struct fz_rng *r);

struct fz_infomany fz_infomany(struct fz *z, struct fz_call *c) {
  static _Thread_local int what[16];
  static _Thread_local int64_t values[16 + FZ_GUARD / sizeof(int64_t)];
  static _Thread_local int rcs[16 + FZ_GUARD / sizeof(int)];
  struct fz_rng *r = &z->rng;
  static const int counts[] = {0, 1, 2, 3, 9, 10, 16, -1, INT_MIN};
  struct fz_infomany m = {what, values, rcs, counts[fz_below(r, sizeof counts / sizeof *counts)]};
  int real = m.n < 0 ? 1 : m.n;
  for (int i = 0; i < real; i++)
    what[i] = fz_chance(r, 8) ? (int)edge_int(r) : (int)fz_below(r, 11);
  memset(values, FZ_CANARY, sizeof values);
  memset(rcs, FZ_CANARY, sizeof rcs);
  if (fz_chance(r, 10)) m.what = NULL;
  if (fz_chance(r, 10)) m.values = NULL;
  if (fz_chance(r, 10)) m.rcs = NULL;
  if (m.values && c->nouts < FZ_MAXOUTS)
    c->outs[c->nouts++] = (struct fz_out){"values", (unsigned char *)values, sizeof(int64_t) * (size_t)real, 0, 0, 0};
  if (m.rcs && c->nouts < FZ_MAXOUTS)
    c->outs[c->nouts++] = (struct fz_out){"rcs", (unsigned char *)rcs, sizeof(int) * (size_t)real, 0, 0, 0};
  fz_desc(c, "what=%s values=%s rcs=%s n=%d [what0=%d] ", m.what ? "arr" : "NULL", m.values ? "arr" : "NULL",
          m.rcs ? "arr" : "NULL", m.n, what[0]);
  return m;
}

/* ---- integers ---- */

#define PICK(arr) (arr)[fz_below(r, sizeof(arr) / sizeof *(arr))]

static int64_t edge_int(struct fz_rng *r) {
  static const int64_t e[] = {0, -1, 1, INT_MIN, INT_MAX, INT64_MIN, INT64_MAX, (int64_t)1 << 31,
                              (int64_t)1 << 32, (int64_t)1 << 53, -2, 255, 256, 65536,
                              (int64_t)UINT32_MAX, ((int64_t)1 << 31) - 1};
  return fz_chance(r, 25) ? (int64_t)fz_next(r) : PICK(e);
}

int64_t fz_int(struct fz *z, struct fz_call *c, const char *name, int cls) {
  struct fz_rng *r = &z->rng;
  int64_t v = 0;
  int edge = fz_chance(r, 10);
  switch (cls) {
    case FZI_NAMED_FLAGS: {
      static const int64_t f[] = {1, 1, 1 | 4, 1 | 4, 1 | 2, 1 | 2 | 4, 0, 0, 2, 4, FZ_TRUST_FLAG,
                                  1 | FZ_TRUST_FLAG};
      v = edge ? edge_int(r) : PICK(f);
      break;
    }
    case FZI_MMAP_FLAGS: {
      static const int64_t f[] = {0, 1, 2, 3, 3, 2};
      v = edge ? edge_int(r) : PICK(f);
      c->mmap_flags = (int)v;
      break;
    }
    case FZI_FILE_FLAGS: {
      static const int64_t f[] = {0, 1, 2, 3, 4, 8 | 2, 8 | 3, 16 | 2, 32 | 8 | 2, 4 | 8, 1 | 16, 64};
      v = edge ? edge_int(r) : PICK(f);
      c->file_flags = (int)v;
      break;
    }
    case FZI_MODE: {
      static const int64_t m[] = {0, 0600, 0644, 0666, 0777, 0400, 0, 01777, 04755, 0xFFFFFFFF,
                                  0x80000000, 01000};
      v = PICK(m);
      break;
    }
    case FZI_SEMVALUE: {
      static const int64_t m[] = {0, 0, 1, 2, 100, INT_MAX, (int64_t)INT_MAX + 1, UINT32_MAX};
      v = PICK(m);
      break;
    }
    case FZI_COUNT: {
      static const int64_t m[] = {1, 1, 2, 100, 0, INT_MAX, (int64_t)INT_MAX + 1, UINT32_MAX};
      v = PICK(m);
      break;
    }
    case FZI_BOOL:
      v = edge ? edge_int(r) : (int64_t)fz_below(r, 2);
      break;
    case FZI_FLOCK_KIND: { /* lipc_flock_from_fd: 0, 1, LIPC_FLOCK_WHOLE; the rest refused */
      static const int64_t k[] = {0, 1, LIPC_FLOCK_WHOLE, 0, 1, LIPC_FLOCK_WHOLE, 2, 65, -1};
      v = edge ? edge_int(r) : PICK(k);
      break;
    }
    case FZI_TIMEOUT: {
      static const int64_t t[] = {0, 0, 1, 2, 5, 10, 20, -1, -1, INT64_MIN, INT64_MAX,
                                  (int64_t)1 << 53, (int64_t)1 << 31, (int64_t)1 << 32, -1000};
      v = PICK(t);
      /* Without a storm nothing interrupts a wait: keep the long ones short. */
      if (!fz_cfg.storm && (v < 0 || v > 20)) v = 3;
      c->has_timeout = 1;
      c->timeout_ms = v;
      break;
    }
    case FZI_SHMSIZE: {
      static const int64_t s[] = {4096, 4096, 1, 100, 65536, 1 << 20, 0, -1, INT64_MIN, INT64_MAX,
                                  (int64_t)1 << 31, (int64_t)1 << 32, ((int64_t)1 << 46) + 1,
                                  (int64_t)1 << 47, (int64_t)1 << 53, (int64_t)1 << 62,
                                  INT64_MAX - 4095, (int64_t)1 << 46};
      v = PICK(s);
      break;
    }
    case FZI_OFFSET:
    case FZI_LENGTH: {
      static const int64_t small[] = {0, 0, 4096, 8192, 1, 4095, 100, 1 << 20, 3 * 4096};
      static const int64_t huge[] = {-1, -4096, INT64_MIN, INT64_MAX, INT64_MAX - 4095,
                                     (int64_t)1 << 62, (int64_t)1 << 53, (int64_t)1 << 60,
                                     INT64_MAX - 4096 * 2 + 1};
      static const int64_t mid[] = {(int64_t)1 << 31, (int64_t)1 << 32, ((int64_t)1 << 31) - 4096,
                                    (int64_t)1 << 40};
      int p = (int)fz_below(r, 100);
      /* An extended file is really that long, and read-ahead of it fills
       * memory: only sizes lipc must refuse may be large there. */
      int extending = c->fn == fz_fn_index("lipc_mmap_open") && (c->mmap_flags & LIPC_MMAP_EXTEND);
      v = p < 70 ? PICK(small) : p < 90 || extending ? PICK(huge) : PICK(mid);
      break;
    }
    case FZI_ACCESS: {
      static const int64_t a[] = {1, 2, 3, 2, 0, 4, -1};
      v = edge ? edge_int(r) : PICK(a);
      c->mmap_access = (int)v;
      break;
    }
    case FZI_ADVICE:
      v = edge ? edge_int(r) : (int64_t)fz_below(r, 6);
      break;
    case FZI_DIAG_WHAT:
      v = edge ? edge_int(r) : (int64_t)fz_below(r, 14);
      break;
    case FZI_PROC_WHAT:
      v = edge ? edge_int(r) : (int64_t)fz_below(r, 11);
      break;
    case FZI_CALLMODE: {
      static const int64_t m[] = {1, 2, 1, 2, 0, 3, -1};
      v = PICK(m);
      break;
    }
    case FZI_SIG: {
      /* No signal that dumps core: the children stay tidy. */
      static const int64_t s[] = {0, SIGTERM, SIGKILL, SIGUSR1, SIGCONT, SIGHUP, SIGSTOP, SIGINT,
                                  SIGPIPE, 64, 65, -1, INT_MAX, 0, SIGTERM, SIGKILL};
      v = PICK(s);
      break;
    }
    case FZI_FD: {
      static const int64_t bad[] = {-1, -2, INT_MAX, INT_MIN, 100000, 1 << 20};
      struct fz_fdent e;
      c->fd_arg_owned = 0;
      /* lipc_flock_from_fd(fd, classic 1) needs fd open while its handle
       * lives (the header): the fuzzer does not close such an fd. */
      if (!fz_chance(r, 20) && fz_fd_pick(r, &e) && !(e.pinned && c->fn == fz_fn_index("lipc_fd_close"))) {
        v = e.fd;
        c->fd_arg_owned = 1;
        fz_desc(c, "%s=%d(%s) ", name, e.fd, e.what);
        c->fd_arg = (int)v;
        if (c->nints < 8) c->ints[c->nints++] = v;
        return v;
      }
      v = PICK(bad);
      c->fd_arg = (int)v;
      break;
    }
    case FZI_CHILDFD: {
      static const int64_t f[] = {0, 1, 2, 3, 5, 10, 1023, 0, 1, 2, 1024, -1, INT_MAX, 4096};
      v = PICK(f);
      break;
    }
    case FZI_FDKIND:
      v = edge ? edge_int(r) : (int64_t)fz_below(r, 8);
      c->fdkind = (int)v;
      break;
    case FZI_FDARG:
      if (c->fdkind == LIPC_FD_PARENT) {
        /* Never one of the fuzzer's own numbers: with LIPC_FD_CLOSE_PARENT
         * the spawn closes it. A donated copy, or a number surely closed. */
        static const int64_t bad[] = {-1, INT_MAX, 100000};
        v = fz_chance(r, 80) ? fz_donate_fd(r) : PICK(bad);
      } else {
        static const int64_t a[] = {0, 1, 2, 3, 1023, -1, INT_MAX};
        v = PICK(a);
      }
      break;
    case FZI_RESOURCE:
      v = edge ? edge_int(r) : (int64_t)fz_below(r, 10);
      break;
    case FZI_RLIM: {
      static const int64_t l[] = {-1, 0, 1, 1024, 1 << 20, INT64_MAX, -2, INT64_MIN, (int64_t)1 << 40};
      v = PICK(l);
      break;
    }
    case FZI_POLICY: {
      static const int64_t p[] = {0, 1, 0, 1, 2, -1, INT_MAX};
      v = PICK(p);
      break;
    }
    case FZI_UMASK: {
      static const int64_t m[] = {-1, 0, 022, 077, 0777, 01000, -2, INT_MAX};
      v = PICK(m);
      break;
    }
    case FZI_PGID: {
      int64_t mine = (int64_t)getpgrp();
      int64_t p[] = {-1, 0, -1, 0, mine, 1, INT64_MAX, INT64_MIN, -2, (int64_t)1 << 31};
      v = p[fz_below(r, sizeof p / sizeof *p)];
      break;
    }
    case FZI_ID: { /* uid / gid: keep, root, nobody, ours, the kernel's "no change", beyond */
      int64_t p[] = {-1, -1, 0, 65534, (int64_t)getuid(), (int64_t)UINT32_MAX - 1, UINT32_MAX, -2,
                     INT64_MAX, INT64_MIN};
      v = p[fz_below(r, sizeof p / sizeof *p)];
      break;
    }
    case FZI_PIPESIZE: { /* gentle sizes only: each spawn's pipes get it */
      static const int64_t k[] = {-1, 0, 1, 4096, 65536, 1 << 20, 1 << 24, (int64_t)1 << 31, INT64_MIN};
      v = PICK(k);
      break;
    }
    case FZI_CODE: {
      static const int64_t k[] = {0, -1, -2, -7, -13, -16, -17, -100, -999, -1000, -1001, -1002,
                                  -1000 - 4095, -5096, 1, INT_MIN, INT_MAX};
      v = fz_chance(r, 20) ? (int64_t)(int)fz_next(r) : PICK(k);
      break;
    }
    case FZI_MAXOUT: {
      static const int64_t k[] = {0, 0, 1, 10, 4096, (int64_t)SIZE_MAX >> 1, -1, (int64_t)1 << 31};
      v = PICK(k);
      break;
    }
    default:
      fprintf(stderr, "fz_int: class %d\n", cls);
      abort();
  }
  if (c->nints < 8) c->ints[c->nints++] = v;
  fz_desc(c, "%s=%lld ", name, (long long)v);
  return v;
}
