/* fz_check.c - makes one fuzzed call and holds its answer against the
 * header's contract:
 *  - the return is 0 or a LIPC code, and one the function's comment
 *    documents (UNDOC otherwise);
 *  - a failure has a last_error message, a known error name, and is no
 *    recovered Go panic ("internal error");
 *  - out-parameters are written only on success (the exceptions the header
 *    names: *needed on LIPC_ERANGE, fd_write's *nwritten, communicate's
 *    outputs on a timeout, an interruption or LIPC_ERANGE), and nothing is
 *    ever written past a buffer's end;
 *  - a closed, random, edge or wrong-kind handle is never accepted, and a
 *    live one never refused;
 *  - a new handle is in [2^52, 2^53), of the right kind, never one given out
 *    before; success with a NULL out-pointer would lose the object;
 *  - a timeout never comes before its deadline, and a "forever" wait never
 *    times out;
 *  - success leaves last_error as it was;
 *  - a few results that can be checked outright (oracles below).
 * Findings print as one line: FINDING KIND function signature | details. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fz.h"

atomic_long fz_total_findings;

void fz_finding(struct fz *z, const char *kind, const char *fn, const char *sig, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (z) z->findings++;
  atomic_fetch_add(&fz_total_findings, 1);
  fprintf(stderr, "FINDING %s %s %s | %s\n", kind, fn, sig, msg);
}

int fz_code_known(int rc) {
  if (rc == 0) return 1;
  if (rc <= LIPC_EOS_BASE) return LIPC_OS_ERRNO(rc) > 0 && LIPC_OS_ERRNO(rc) < 4096;
  for (int i = 0; i < fz_ncodes; i++)
    if (fz_codes_table[i].code == rc) return 1;
  return 0;
}

static int documented(const struct fz_fn *f, int rc) {
  for (const int *p = f->codes; *p != 1; p++)
    if (*p == rc) return 1;
  return f->os_ok && rc <= LIPC_EOS_BASE;
}

void fz_expect_ok(struct fz *z, const char *what, int rc) {
  /* In a fork child, what needs Go says so (LIPC_EFORKED): only what the
   * header promises there must work. */
  if (rc == LIPC_EFORKED && fz_cfg.in_fork_child && !fz_works_after_fork(what)) return;
  if (rc != 0)
    fz_finding(z, "WELLFORMED", what, L.error_name(rc), "a well-formed call failed: rc=%d err: %s", rc,
               L.last_error());
}

void fz_enter(struct fz *z, struct fz_call *c) {
  fz_desc(c, ")");
  snprintf(c->err_before, sizeof c->err_before, "%s", L.last_error());
  fz_ring_begin(z->tid, c->desc);
  c->t0_ns = fz_now_ns();
}

void fz_leave(struct fz *z, struct fz_call *c) {
  c->t1_ns = fz_now_ns();
  fz_ring_end(z->tid);
}

int fz_static_str(struct fz *z, struct fz_call *c, const char *s) {
  const char *fn = fz_fns_table[c->fn].name;
  if (!s) {
    fz_finding(z, "STRNULL", fn, "NULL", "returned NULL | call: %s", c->desc);
    return 0;
  }
  if (strlen(s) > 100000) fz_finding(z, "STRLONG", fn, "-", "a string of %zu bytes", strlen(s));
  if (strcmp(fn, "lipc_version") == 0 && strcmp(s, LIPC_VERSION_STRING) != 0)
    fz_finding(z, "ORACLE", fn, "-", "\"%s\" is not LIPC_VERSION_STRING", s);
  if (strcmp(fn, "lipc_strerror") == 0 && !*s) fz_finding(z, "ORACLE", fn, "empty", "empty description");
  if (strcmp(fn, "lipc_error_name") == 0) {
    int code = (int)c->ints[0];
    const char *want = "LIPC_UNKNOWN";
    if (code == 0) want = NULL; /* LIPC_OK has no E-name; whatever it says */
    for (int i = 0; i < fz_ncodes; i++)
      if (fz_codes_table[i].code == code) want = fz_codes_table[i].name;
    if (LIPC_IS_OS_ERROR(code)) want = "LIPC_EOS"; /* the header's own test for the OS family */
    if (want && strcmp(s, want) != 0)
      fz_finding(z, "ORACLE", fn, "-", "error_name(%d) = %s, expected %s", code, s, want);
  }
  return 0;
}

static int changed(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != FZ_CANARY) return 1;
  return 0;
}

static int out_may_change_on_failure(const char *fn, const char *out, int rc) {
  if (strcmp(out, "needed") == 0 && rc == LIPC_ERANGE) return 1;
  if (strcmp(fn, "lipc_fd_write") == 0 && strcmp(out, "nwritten") == 0) return 1;
  if (strcmp(fn, "lipc_proc_communicate") == 0 &&
      (rc == LIPC_ETIMEDOUT || rc == LIPC_EINTR || rc == LIPC_ERANGE))
    return 1;
  return 0;
}

static struct fz_out *out_named(struct fz_call *c, const char *name) {
  for (int i = 0; i < c->nouts; i++)
    if (strcmp(c->outs[i].name, name) == 0) return &c->outs[i];
  return NULL;
}

/* Reads (and writes back, where it may) the first and last byte of a view. */
static void touch(struct fz *z, const char *fn, void *addr, int64_t size, int writable) {
  if (!addr || size <= 0) {
    fz_finding(z, "ORACLE", fn, "view", "a live handle's view is addr=%p size=%lld", addr, (long long)size);
    return;
  }
  volatile unsigned char *p = addr;
  unsigned char a = p[0], b = p[size - 1];
  if (writable) {
    p[0] = a;
    p[size - 1] = b;
  }
}

static void oracles(struct fz *z, struct fz_call *c, const char *fn) {
  struct fz_out *o;
  if (strcmp(fn, "lipc_handle_kind") == 0 && (o = out_named(c, "kind")) && o->p) {
    int k;
    memcpy(&k, o->p, sizeof k);
    if (k != c->hkind_actual) fz_finding(z, "ORACLE", fn, "kind", "kind %d, the pool says %d", k, c->hkind_actual);
  }
  if (strcmp(fn, "lipc_sem_value") == 0 && (o = out_named(c, "value")) && o->p) {
    int v;
    memcpy(&v, o->p, sizeof v);
    if (v < 0) fz_finding(z, "ORACLE", fn, "negative", "value %d", v);
  }
  if (strcmp(fn, "lipc_page_size") == 0 && (o = out_named(c, "size")) && o->p) {
    int64_t v;
    memcpy(&v, o->p, sizeof v);
    if (v != sysconf(_SC_PAGESIZE)) fz_finding(z, "ORACLE", fn, "-", "page size %lld", (long long)v);
  }
  if (strcmp(fn, "lipc_proc_pid") == 0 && (o = out_named(c, "pid")) && o->p) {
    int64_t v;
    memcpy(&v, o->p, sizeof v);
    if (v <= 0 || v > INT_MAX) fz_finding(z, "ORACLE", fn, "-", "pid %lld", (long long)v);
    fz_pool_set_pid(c->harg, v);
  }
  if ((strcmp(fn, "lipc_shm_addr") == 0 || strcmp(fn, "lipc_mmap_addr") == 0)) {
    void *addr = NULL;
    int64_t size = 0;
    int rc = (fn[5] == 's' ? L.shm_addr : L.mmap_addr)(c->harg, &addr, &size);
    fz_expect_ok(z, fn, rc);
    struct fz_hent e = {0};
    int writable = 0;
    struct fz_hent all[FZ_MAXLIVE];
    int n = fz_pool_snapshot(all, FZ_MAXLIVE);
    for (int i = 0; i < n; i++)
      if (all[i].h == c->harg) e = all[i];
    writable = e.access == LIPC_MMAP_WRITE || e.access == LIPC_MMAP_COPY;
    if (rc == 0) touch(z, fn, addr, size, writable);
  }
  if (strcmp(fn, "lipc_diag") == 0 && c->ints[0] == LIPC_DIAG_LIVE_HANDLES && (o = out_named(c, "value")) &&
      o->p && z->tid == 0) {
    int64_t v;
    memcpy(&v, o->p, sizeof v);
    /* A handle closed while a helper thread still waits on it is counted
     * until that wait returns: allow one per helper. */
    if (v < fz_pool_count(0) || v > fz_pool_count(0) + FZ_RING_THREADS - 1)
      fz_finding(z, "ORACLE", fn, "live-handles", "LIPC_DIAG_LIVE_HANDLES = %lld, the fuzzer holds %d",
                 (long long)v, fz_pool_count(0));
  }
  if (strcmp(fn, "lipc_fd_read") == 0 && (o = out_named(c, "nread")) && o->p && c->nbufs) {
    size_t v;
    memcpy(&v, o->p, sizeof v);
    if (v > c->bufs[0].size) fz_finding(z, "ORACLE", fn, "-", "nread %zu > size %zu", v, c->bufs[0].size);
  }
  if (strcmp(fn, "lipc_fd_write") == 0 && (o = out_named(c, "nwritten")) && o->p && c->nbufs) {
    size_t v;
    memcpy(&v, o->p, sizeof v);
    if (v != c->bufs[0].size)
      fz_finding(z, "ORACLE", fn, "-", "success but nwritten %zu of %zu", v, c->bufs[0].size);
  }
  /* strings written into a caller's buffer: NUL-terminated, *needed agrees */
  if (c->nbufs && c->bufs[0].cls == FZB_OUTSTR) {
    struct fz_bufarg *b = &c->bufs[0];
    size_t len = strnlen((char *)b->mem, b->size);
    if (len >= b->size)
      fz_finding(z, "ORACLE", fn, "no-nul", "success without a NUL in the %zu-byte buffer", b->size);
    else if ((o = out_named(c, "needed")) && o->p) {
      size_t need;
      memcpy(&need, o->p, sizeof need);
      if (need != len + 1) fz_finding(z, "ORACLE", fn, "needed", "*needed %zu for a %zu-byte string", need, len);
    }
  }
}

static void check(struct fz *z, struct fz_call *c, int rc) {
  const struct fz_fn *f = &fz_fns_table[c->fn];
  const char *fn = f->name;
  const char *ename = L.error_name(rc);
  char err[600];
  snprintf(err, sizeof err, "%s", L.last_error());
  z->calls++;
  if (f->value_ret) return;
  int bad_handle_arg = c->hclass && c->hclass != FZH_LIVE;

  /* Past the end of every buffer: never written, whatever the result. */
  for (int i = 0; i < c->nbufs; i++)
    if (changed(c->bufs[i].mem + c->bufs[i].size, FZ_GUARD))
      fz_finding(z, "OVERFLOW", fn, c->bufs[i].name, "wrote past the end of a %zu-byte buffer | call: %s",
                 c->bufs[i].size, c->desc);

  if (rc != 0) {
    if (!fz_code_known(rc))
      fz_finding(z, "BADCODE", fn, "-", "returned %d, not a LIPC code | call: %s | err: %s", rc, c->desc, err);
    else if (!documented(f, rc) && rc != LIPC_EFORKED)
      fz_finding(z, "UNDOC", fn, ename, "returned %s (%d), not in its documented errors | call: %s | err: %s",
                 ename, rc, c->desc, err);
    if (!err[0]) fz_finding(z, "EMPTYERR", fn, ename, "failed with an empty lipc_last_error | call: %s", c->desc);
    if (fz_code_known(rc) && strcmp(ename, "LIPC_UNKNOWN") == 0)
      fz_finding(z, "ERRNAME", fn, "-", "lipc_error_name(%d) is LIPC_UNKNOWN", rc);
    if (strstr(err, "internal error"))
      fz_finding(z, "PANIC", fn, ename, "a recovered Go panic | call: %s | err: %s", c->desc, err);
    for (int i = 0; i < c->nouts; i++) {
      struct fz_out *o = &c->outs[i];
      if (!o->p || !changed(o->p, o->size)) continue;
      if (o->is_block) {
        char *blk;
        memcpy(&blk, o->p, sizeof blk);
        if (out_may_change_on_failure(fn, o->name, rc)) {
          fz_lipc_free(blk);
          continue;
        }
      }
      if (!out_may_change_on_failure(fn, o->name, rc))
        fz_finding(z, "OUTONFAIL", fn, o->name, "failed with %s but wrote *%s | call: %s", ename, o->name,
                   c->desc);
    }
    for (int i = 0; i < c->nbufs; i++)
      if (c->bufs[i].cls == FZB_OUTSTR && changed(c->bufs[i].mem, c->bufs[i].size))
        fz_finding(z, "OUTONFAIL", fn, c->bufs[i].name, "failed with %s but wrote into buf | call: %s", ename,
                   c->desc);
    if (rc == LIPC_EFORKED && fz_cfg.in_fork_child && f->after_fork &&
        (strcmp(fn, "lipc_diag") != 0 || (c->nints > 0 && fz_diag_in_c(c->ints[0]))))
      fz_finding(z, "FORKED", fn, ename, "LIPC_EFORKED where the header says it works after fork | call: %s | err: %s",
                 c->desc, err);
    if (bad_handle_arg && rc != LIPC_EBADHANDLE && rc != LIPC_EINVAL && rc != LIPC_ERANGE && rc != LIPC_EFORKED &&
        z->tid == 0)
      fz_finding(z, "BADHANDLE-ERR", fn, ename, "a bad handle got %s, not LIPC_EBADHANDLE | call: %s | err: %s",
                 ename, c->desc, err);
    if (c->hclass == FZH_LIVE && rc == LIPC_EBADHANDLE && z->tid == 0)
      fz_finding(z, "LIVE-REFUSED", fn, "-", "a live handle was refused | call: %s | err: %s", c->desc, err);
    if (rc == LIPC_ETIMEDOUT && c->has_timeout) {
      double ms = (double)(c->t1_ns - c->t0_ns) / 1e6;
      if (c->timeout_ms < 0)
        fz_finding(z, "TIMEOUT", fn, "forever", "a wait with timeout %lld (forever) timed out after %.1f ms | call: %s",
                   (long long)c->timeout_ms, ms, c->desc);
      else if (ms + 1.0 < (double)c->timeout_ms)
        fz_finding(z, "TIMEOUT", fn, c->timeout_ms > 1000000 ? "huge" : "early",
                   "timed out after %.1f ms of %lld | call: %s", ms, (long long)c->timeout_ms, c->desc);
    }
    return;
  }

  /* success */
  if (bad_handle_arg)
    fz_finding(z, "BADHANDLE-OK", fn, c->hclass == FZH_STALE ? "stale" : c->hclass == FZH_WRONG_KIND ? "wrong-kind" : "bogus",
               "accepted a handle that is not a live one of its kind | call: %s", c->desc);
  if (strncmp(L.last_error(), c->err_before, sizeof c->err_before - 1) != 0 && z->tid == 0)
    fz_finding(z, "ERRCHANGED", fn, "-", "success changed lipc_last_error from \"%.80s\" to \"%.80s\" | call: %s",
               c->err_before, L.last_error(), c->desc);
  for (int i = 0; i < c->nouts; i++) {
    struct fz_out *o = &c->outs[i];
    if (o->is_handle) {
      if (!o->p) {
        fz_finding(z, "NULLOUT-OK", fn, o->name, "succeeded with a NULL out-pointer: the new object is lost | call: %s",
                   c->desc);
        continue;
      }
      lipc_handle_t h;
      memcpy(&h, o->p, sizeof h);
      if (!changed(o->p, o->size)) {
        fz_finding(z, "NOOUT", fn, o->name, "success without a handle | call: %s", c->desc);
        continue;
      }
      if (h < ((lipc_handle_t)1 << 52) || h >= ((lipc_handle_t)1 << 53))
        fz_finding(z, "HANDLE-RANGE", fn, "-", "handle %lld outside [2^52, 2^53)", (long long)h);
      if (fz_pool_seen(h))
        fz_finding(z, "HANDLE-TWICE", fn, "-", "handle %lld was given out before | call: %s", (long long)h, c->desc);
      int k = -1;
      int krc = L.handle_kind(h, &k);
      if (krc != 0 || k != o->kind)
        fz_finding(z, "ORACLE", fn, "new-kind", "new handle's kind: rc %d kind %d, expected %d", krc, k, o->kind);
      int access = LIPC_MMAP_WRITE;
      if (o->kind == LIPC_KIND_MMAP) access = c->mmap_access;
      fz_pool_add(h, o->kind, access);
    } else if (o->is_block && o->p) {
      char *blk;
      memcpy(&blk, o->p, sizeof blk);
      if (changed(o->p, o->size) && blk) fz_lipc_free(blk);
    }
  }
  if (strcmp(fn, "lipc_close") == 0) fz_pool_remove(c->harg);
  if (strcmp(fn, "lipc_flock_from_fd") == 0 && c->nints > 1 && c->ints[1] != 0) fz_fd_pin(c->fd_arg);
  if (strcmp(fn, "lipc_fd_close") == 0 && !fz_fd_remove(c->fd_arg))
    fz_finding(z, "BADFD-OK", fn, "-", "closed fd %d, which is not open | call: %s", c->fd_arg, c->desc);
  if (strcmp(fn, "lipc_proc_take_fd") == 0) {
    struct fz_out *o = out_named(c, "fd");
    int fd = -1;
    if (o && o->p) memcpy(&fd, o->p, sizeof fd);
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
      fz_finding(z, "ORACLE", fn, "fd", "took fd %d, which is not open", fd);
    else
      fz_fd_add(fd, "taken pipe end");
  }
  oracles(z, c, fn);
}

atomic_long fz_tried[256], fz_succeeded[256];

int fz_do_call(struct fz *z, int fn) {
  struct fz_call *c = malloc(sizeof *c);
  memset(c, 0, sizeof *c);
  c->fn = fn;
  z->arena_used = 0;
  z->c = c;
  fz_desc(c, "%s(", fz_fns_table[fn].name);
  int rc = fz_fns_table[fn].call(z, c);
  static int trace = -1;
  if (trace < 0) trace = getenv("ADV_TRACE") && atoi(getenv("ADV_TRACE"));
  if (trace && z->tid == 0) /* every call and its answer, to follow one seed */
    fprintf(stderr, "TRACE %s = %s %s\n", c->desc, rc ? L.error_name(rc) : "ok", rc ? L.last_error() : "");
  check(z, c, rc);
  for (int i = 0; trace && rc == 0 && i < c->nouts; i++)
    if (c->outs[i].p && (c->outs[i].is_handle || strcmp(c->outs[i].name, "fd") == 0)) {
      long long v = 0;
      memcpy(&v, c->outs[i].p, c->outs[i].is_handle ? sizeof(lipc_handle_t) : sizeof(int));
      fprintf(stderr, "TRACE   -> *%s = %lld\n", c->outs[i].name, c->outs[i].is_handle ? v : (long long)(int)v);
    }
  atomic_fetch_add(&fz_tried[fn], 1);
  if (rc == 0) atomic_fetch_add(&fz_succeeded[fn], 1);
  for (int i = 0; i < c->nbufs; i++) free(c->bufs[i].mem);
  free(c);
  z->c = NULL;
  return rc;
}
