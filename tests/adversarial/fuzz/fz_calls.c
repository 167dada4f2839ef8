/* fz_calls.c - the generated stubs (fz_gen.h, written from include/lipc.h by
 * gen_calls.py) and the dlsym that finds every declared function. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fz.h"

#define FZ_DECLARE_PTR(f) static __typeof__(f) *p_##f;
#define P(f) p_##f
#include "fz_gen.h"

const struct fz_fn *fz_fns_table = fz_fns;
int fz_nfns = FZ_NFNS;
const struct fz_code *fz_codes_table = fz_codes;
int fz_ncodes = (int)(sizeof fz_codes / sizeof fz_codes[0]);
struct fz_lib L;
#ifdef FZ_DIAG_PANICS
int fz_diag_panics = FZ_DIAG_PANICS;
#else
int fz_diag_panics = 0;
#endif

int fz_resolve(void *lib) {
  int missing = 0;
#define FZ_RESOLVE(f)                                                              \
  if (!(p_##f = (__typeof__(f) *)dlsym(lib, #f))) {                                \
    fprintf(stderr, "FINDING EXPORT %s missing: declared in lipc.h, not exported\n", #f); \
    missing++;                                                                     \
  }
  FZ_FUNCS(FZ_RESOLVE)
  if (missing) return -1;
  L.last_error = p_lipc_last_error;
  L.error_name = p_lipc_error_name;
  L.close = p_lipc_close;
  L.handle_kind = p_lipc_handle_kind;
  L.diag = p_lipc_diag;
  L.set_call_mode = p_lipc_set_call_mode;
  L.sem_open = p_lipc_sem_open;
  L.mutex_open = p_lipc_mutex_open;
  L.event_open = p_lipc_event_open;
  L.shm_open = p_lipc_shm_open;
  L.mmap_open = p_lipc_mmap_open;
  L.flock_open = p_lipc_flock_open;
  L.spawnattr_new = p_lipc_spawnattr_new;
  L.spawnattr_arg = p_lipc_spawnattr_arg;
  L.spawnattr_shell = p_lipc_spawnattr_shell;
  L.spawnattr_set_fd = p_lipc_spawnattr_set_fd;
  L.spawnattr_set_on_close = p_lipc_spawnattr_set_on_close;
  L.proc_spawn = p_lipc_proc_spawn;
  L.proc_kill = p_lipc_proc_kill;
  L.proc_wait = p_lipc_proc_wait;
  L.proc_pid = p_lipc_proc_pid;
  L.env_list = p_lipc_env_list;
  L.sem_wait = p_lipc_sem_wait;
  L.event_wait = p_lipc_event_wait;
  L.mutex_lock = p_lipc_mutex_lock;
  L.mutex_unlock = p_lipc_mutex_unlock;
  L.flock_lock = p_lipc_flock_lock;
  L.flock_unlock = p_lipc_flock_unlock;
  L.shm_addr = p_lipc_shm_addr;
  L.mmap_addr = p_lipc_mmap_addr;
  L.proc_close_fd = p_lipc_proc_close_fd;
  L.proc_take_fd = p_lipc_proc_take_fd;
  return 0;
}

int fz_fn_index(const char *name) {
  for (int i = 0; i < FZ_NFNS; i++)
    if (strcmp(fz_fns[i].name, name) == 0) return i;
  return -1;
}

int fz_works_after_fork(const char *name) {
  char full[96];
  snprintf(full, sizeof full, "%s%s", strncmp(name, "lipc_", 5) == 0 ? "" : "lipc_", name);
  int i = fz_fn_index(full);
  return i >= 0 && fz_fns[i].after_fork;
}

int fz_diag_in_c(int64_t what) {
#ifdef FZ_DIAG_C_FIGURES
  static const int c_figures[] = {FZ_DIAG_C_FIGURES};
  for (size_t i = 0; i < sizeof c_figures / sizeof c_figures[0]; i++)
    if (c_figures[i] && c_figures[i] == what) return 1;
#else
  (void)what;
#endif
  return 0;
}

/* lipc_free returns void; the fuzzer frees through this. */
void fz_lipc_free(void *p) { p_lipc_free(p); }
