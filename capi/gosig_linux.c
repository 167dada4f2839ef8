/* gosig_linux.c - keeps process-directed signals off the Go runtime's
 * threads (host-runtimes.md F19, rule 10).
 *
 * A host handler installed without SA_ONSTACK (C's signal(), a plain
 * sigaction) runs on whatever stack the thread is on. On a Go thread that is
 * often a goroutine stack of a few KiB, and the kernel's signal frame plus
 * the handler's own overflow it: SIGSEGV, "unexpected return pc". lipc's
 * threads start with every signal blocked but the faults they cause
 * themselves (host.c, tramp_start), yet Go's runtime unblocks on every thread
 * it starts the signals its table marks _SigUnblock (runtime.minitSignalMask):
 * SIGCHLD, SIGPROF and SIGSTKFLT among them, and a child's SIGCHLD goes first
 * to the thread that forked it, which was lipc's spawn thread for every
 * child then (today for autokill children and handoff mode). Measured
 * before this file: 5 of 40 plain C hosts with signal() handlers died.
 *
 * So before the runtime starts (lipc__host_init, a constructor of priority
 * 101, runs before Go's own unprioritised initialiser), this file finds Go's
 * runtime.sigtable in the library's writable data and clears _SigUnblock for
 * those three signals. Go then keeps them blocked like every other
 * asynchronous signal, and the kernel delivers them to host threads. Go
 * itself needs none of them in lipc (no os/exec, os/signal or profiler).
 * The faults and glibc's internal signals 32 to 34 keep their flag: glibc's
 * setuid() broadcast (signal 33) must reach every thread or it hangs.
 *
 * The library is stripped, so the table is found by what it holds: an entry
 * is {int32 flags; Go string name} (24 bytes), and the SIGCHLD entry's name
 * points at "SIGCHLD: child status has changed". Four other entries' names
 * and flags are checked before anything is written. If a Go release changes
 * the table, nothing is written, LIPC_DIAG_GO_SIGNALS_BLOCKED reports 0, and
 * tests/c/test_host.c fails, instead of a guess being written. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* runtime2.go: the flags of a sigTabT. */
#define GO_SIG_NOTIFY 1
#define GO_SIG_THROW 4
#define GO_SIG_PANIC 8
#define GO_SIG_UNBLOCK 128
#define GO_SIG_IGN 256

struct go_string {
  const char *ptr;
  intptr_t len;
};
struct go_sigtab {
  int32_t flags;
  struct go_string name;
};

struct expected_entry {
  int sig;
  int32_t flags;
  const char *name;
};
/* sigtab_linux_generic.go, for the entries checked and the ones changed. */
static const struct expected_entry expected[] = {
    {0, 0, "SIGNONE: no trap"},
    {11, GO_SIG_PANIC | GO_SIG_UNBLOCK, "SIGSEGV: segmentation violation"},
    {16, GO_SIG_THROW | GO_SIG_UNBLOCK, "SIGSTKFLT: stack fault"},
    {17, GO_SIG_NOTIFY | GO_SIG_UNBLOCK | GO_SIG_IGN, "SIGCHLD: child status has changed"},
    {27, GO_SIG_NOTIFY | GO_SIG_UNBLOCK, "SIGPROF: profiling alarm clock"},
};
static const int keep_blocked[] = {16, 17, 27};
#define ANCHOR_SIG 17
#define TABLE_MIN 28 /* entries the checks read */

int lipc__go_signals_blocked;

struct segment {
  uintptr_t lo, hi;
  int writable;
};
#define MAX_SEGMENTS 16

/* This library's loaded segments, read from its own ELF header in memory. */
static int own_segments(struct segment *out) {
  Dl_info info;
  if (!dladdr((void *)own_segments, &info) || !info.dli_fbase) return 0;
  const ElfW(Ehdr) *eh = info.dli_fbase;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) return 0;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
  uintptr_t bias = (uintptr_t)info.dli_fbase;
  int n = 0;
  for (int i = 0; i < eh->e_phnum && n < MAX_SEGMENTS; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    out[n].lo = bias + ph[i].p_vaddr;
    out[n].hi = out[n].lo + ph[i].p_filesz; /* initialised data only */
    out[n].writable = (ph[i].p_flags & PF_W) != 0;
    n++;
  }
  return n;
}

static int readable(const struct segment *segs, int n, uintptr_t lo, uintptr_t len) {
  for (int i = 0; i < n; i++)
    if (lo >= segs[i].lo && lo + len <= segs[i].hi && lo + len >= lo) return 1;
  return 0;
}

static int entry_matches(const struct segment *segs, int n, const struct go_sigtab *t,
                         const struct expected_entry *e) {
  const struct go_sigtab *x = &t[e->sig];
  size_t len = strlen(e->name);
  return x->flags == e->flags && x->name.len == (intptr_t)len &&
         readable(segs, n, (uintptr_t)x->name.ptr, len) && memcmp(x->name.ptr, e->name, len) == 0;
}

/* The table whose anchor entry names the text at name, if every check holds. */
static struct go_sigtab *table_naming(const struct segment *segs, int n, const char *name) {
  const size_t anchor_off = ANCHOR_SIG * sizeof(struct go_sigtab) + offsetof(struct go_sigtab, name);
  for (int i = 0; i < n; i++) {
    if (!segs[i].writable) continue;
    for (uintptr_t p = (segs[i].lo + 7) & ~(uintptr_t)7; p + sizeof(struct go_string) <= segs[i].hi;
         p += 8) {
      const struct go_string *s = (const struct go_string *)p;
      if (s->ptr != name) continue;
      uintptr_t base = p - anchor_off;
      if (p < segs[i].lo + anchor_off ||
          base + TABLE_MIN * sizeof(struct go_sigtab) > segs[i].hi)
        continue;
      struct go_sigtab *t = (struct go_sigtab *)base;
      int ok = 1;
      for (size_t k = 0; k < sizeof expected / sizeof expected[0]; k++)
        ok &= entry_matches(segs, n, t, &expected[k]);
      if (ok) return t;
    }
  }
  return NULL;
}

void lipc__go_keep_signals_blocked(void) {
  struct segment segs[MAX_SEGMENTS];
  int n = own_segments(segs);
  const char *anchor = expected[3].name;
  size_t alen = strlen(anchor);
  for (int i = 0; i < n; i++) {
    if (segs[i].writable) continue;
    const char *from = (const char *)segs[i].lo, *end = (const char *)segs[i].hi;
    while (from < end) {
      const char *hit = memmem(from, (size_t)(end - from), anchor, alen);
      if (!hit) break;
      struct go_sigtab *t = table_naming(segs, n, hit);
      if (t) {
        for (size_t k = 0; k < sizeof keep_blocked / sizeof keep_blocked[0]; k++)
          t[keep_blocked[k]].flags &= ~GO_SIG_UNBLOCK;
        lipc__go_signals_blocked = 1;
        return;
      }
      from = hit + 1;
    }
  }
}
