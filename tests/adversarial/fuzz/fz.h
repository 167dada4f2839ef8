/* fz.h - what the pieces of the call fuzzer share.
 *
 * The fuzzer has two halves in one program. `adv_fuzz run ...` is the
 * supervisor (fz_run.c): it never loads lipc; it starts one worker process
 * per seed, watches it for crashes and hangs, cleans up after it and sums up.
 * `adv_fuzz one ...` is a worker (fz_worker.c): it dlopen()s lipc, starts a
 * signal storm and makes CALLS random calls of every function the header
 * declares (fz_calls.c, generated stubs), with arguments drawn by
 * fz_args.c from a pool of live, stale and bogus objects (fz_pool.c), and
 * checks every answer against the header's contract (fz_check.c). */
#ifndef FZ_H
#define FZ_H
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lipc.h"

/* ---- the library, resolved with dlsym (fz_calls.c) ---- */
struct fz;
struct fz_call;
struct fz_code {
  const char *name;
  int code;
};
struct fz_fn {
  const char *name;
  int (*call)(struct fz *, struct fz_call *);
  const int *codes; /* documented error codes, ended by 1 */
  int os_ok;        /* "OS errors": any LIPC_EOS_BASE - errno is documented */
  int value_ret;    /* returns a value, not a code (lipc_errno) */
  int after_fork;   /* "works after fork" */
  int has_path;     /* takes a path, directory or program */
  const char *params;
};
extern const struct fz_fn *fz_fns_table;
extern int fz_nfns;
extern const struct fz_code *fz_codes_table;
extern int fz_ncodes;
int fz_resolve(void *lib);  /* 0, or -1 with a message: a declared function not exported */
int fz_fn_index(const char *name);
/* Whether the header says the function ("lipc_x" or "x") works after fork. */
int fz_works_after_fork(const char *name);
/* Whether lipc_diag's figure `what` is read in C (the header's "(C)"):
 * those work after fork, the others say LIPC_EFORKED there. */
int fz_diag_in_c(int64_t what);

/* Direct access to a few functions for the fuzzer's own well-formed calls. */
struct fz_lib {
  const char *(*last_error)(void);
  const char *(*error_name)(int);
  int (*close)(lipc_handle_t);
  int (*handle_kind)(lipc_handle_t, int *);
  int (*diag)(int, int64_t *);
  int (*set_call_mode)(int);
  int (*sem_open)(const char *, int, uint32_t, uint32_t, lipc_handle_t *);
  int (*mutex_open)(const char *, int, uint32_t, lipc_handle_t *);
  int (*event_open)(const char *, int, uint32_t, int, int, lipc_handle_t *);
  int (*shm_open)(const char *, int, uint32_t, int64_t, lipc_handle_t *);
  int (*mmap_open)(const char *, int, int, uint32_t, int64_t, int64_t, lipc_handle_t *);
  int (*flock_open)(const char *, int, uint32_t, lipc_handle_t *);
  int (*spawnattr_new)(lipc_handle_t *);
  int (*spawnattr_arg)(lipc_handle_t, const char *);
  int (*spawnattr_shell)(lipc_handle_t, const char *);
  int (*spawnattr_set_fd)(lipc_handle_t, int, int, int, const char *, int, uint32_t);
  int (*spawnattr_set_on_close)(lipc_handle_t, int, int64_t);
  int (*proc_spawn)(lipc_handle_t, lipc_handle_t *);
  int (*proc_kill)(lipc_handle_t, int, int);
  int (*proc_wait)(lipc_handle_t, int64_t, int *, int *);
  int (*proc_pid)(lipc_handle_t, int64_t *);
  int (*env_list)(char **, size_t *);
  int (*sem_wait)(lipc_handle_t, int64_t);
  int (*event_wait)(lipc_handle_t, int64_t);
  int (*mutex_lock)(lipc_handle_t, int64_t, int *);
  int (*mutex_unlock)(lipc_handle_t);
  int (*flock_lock)(lipc_handle_t, int64_t, int64_t, int, int64_t);
  int (*flock_unlock)(lipc_handle_t, int64_t, int64_t);
  int (*shm_addr)(lipc_handle_t, void **, int64_t *);
  int (*mmap_addr)(lipc_handle_t, void **, int64_t *);
  int (*proc_close_fd)(lipc_handle_t, int);
  int (*proc_take_fd)(lipc_handle_t, int, int *);
};
extern struct fz_lib L;
void fz_lipc_free(void *p);
/* The lipc_diag figure that counts recovered Go panics, 0 if the header has none. */
extern int fz_diag_panics;

/* ---- configuration of this worker ---- */
struct fz_config {
  char prefix[32];  /* every object name starts with it: "fz<pid>-" */
  char tmpdir[64];  /* every file lives under it: "/tmp/adv-<pid>" */
  int storm;        /* signals are raining: a "forever" wait returns LIPC_EINTR */
  long soft_nofile; /* the soft RLIMIT_NOFILE */
  int in_fork_child; /* ADV_IN_FORK_CHILD=1: the calls are made in the child of a fork */
};
extern struct fz_config fz_cfg;

/* ---- random numbers: one stream per thread, from the seed ---- */
struct fz_rng {
  uint64_t s;
};
uint64_t fz_next(struct fz_rng *r);
static inline uint64_t fz_below(struct fz_rng *r, uint64_t n) { return n ? fz_next(r) % n : 0; }
static inline int fz_chance(struct fz_rng *r, int percent) { return (int)fz_below(r, 100) < percent; }

/* ---- the pool of objects (fz_pool.c); all under fz_pool_mu ---- */
#define FZ_MAXLIVE 96
#define FZ_MAXSTALE 256
#define FZ_MAXFDS 64
#define FZ_DONATED_BASE 500 /* fds the fuzzer gives away to spawn attributes live at 500 and up */
struct fz_hent {
  lipc_handle_t h;
  int kind;
  int access;   /* mapped files: LIPC_MMAP_*; shared memory: LIPC_MMAP_WRITE */
  int64_t pid;  /* processes: the child's pid, once known */
};
struct fz_fdent {
  int fd;
  const char *what;
  int pinned; /* a classic lock handle uses it: the header says it must stay open */
};
extern pthread_mutex_t fz_pool_mu;
void fz_pool_add(lipc_handle_t h, int kind, int access);
int fz_pool_remove(lipc_handle_t h); /* 1 if it was live: it is stale now */
int fz_pool_live_kind(lipc_handle_t h); /* its kind if live, else 0 */
int fz_pool_is_stale(lipc_handle_t h);
int fz_pool_seen(lipc_handle_t h);  /* ever given out in this process */
int fz_pool_count(int kind);        /* kind 0: all */
int fz_pool_pick(struct fz_rng *r, int kind, struct fz_hent *out); /* 0 if none */
int fz_pool_pick_stale(struct fz_rng *r, lipc_handle_t *out);
int fz_pool_snapshot(struct fz_hent *out, int max);
void fz_pool_set_pid(lipc_handle_t h, int64_t pid);
void fz_fd_add(int fd, const char *what);
int fz_fd_pick(struct fz_rng *r, struct fz_fdent *out); /* 0 if none */
int fz_fd_remove(int fd); /* 1 if it was the fuzzer's */
int fz_fd_owned(int fd);
int fz_fd_count(void);
void fz_fd_pin(int fd);
void fz_fd_close_all(void);
int fz_donate_fd(struct fz_rng *r); /* a dup at FZ_DONATED_BASE or above, or -1 */
int fz_setup_files(void);           /* the files, FIFO, socket, links and fds of the pool */

/* ---- one call ---- */
#define FZ_MAXOUTS 8
#define FZ_MAXBUFS 2
#define FZ_GUARD 64
#define FZ_CANARY 0xA5
enum fz_hclass { FZH_LIVE = 1, FZH_WRONG_KIND, FZH_STALE, FZH_RANDOM, FZH_EDGE, FZH_NONE };
struct fz_out {
  const char *name;
  unsigned char *p; /* NULL: the call got NULL */
  size_t size;
  int is_block;     /* a char ** the library fills with memory to lipc_free */
  int is_handle;    /* a lipc_handle_t * the library fills with a new handle */
  int kind;         /* for handles */
};
struct fz_bufarg {
  const char *name;
  unsigned char *mem; /* malloc'd size + FZ_GUARD, or NULL */
  size_t size;
  int cls;
};
struct fz_call {
  int fn;
  char desc[1400];
  size_t desc_len;
  /* handle arguments and what they were */
  lipc_handle_t harg;
  int hclass, hkind_expected, hkind_actual;
  int nouts;
  struct fz_out outs[FZ_MAXOUTS];
  int nbufs;
  struct fz_bufarg bufs[FZ_MAXBUFS];
  int has_timeout;
  int64_t timeout_ms;
  int64_t t0_ns, t1_ns;
  char err_before[8192];  /* lipc_last_error before the call */
  /* what the argument classes remember for later ones and for the checks */
  int fdkind, mmap_flags, mmap_access, file_flags, exclusive_ok;
  int fdarg_cls;
  const char *str_arg[4];
  int nstr;
  int64_t ints[8];
  int nints;
  int fd_arg, fd_arg_owned;
  void *free_block; /* lipc_free's argument, when it was a real block */
};
struct fz {
  struct fz_rng rng;
  int tid;          /* 0: the main fuzzing thread */
  struct fz_call *c;
  unsigned char arena[4096];
  size_t arena_used;
  long calls, findings;
};

/* Argument classes (fz_args.c); the generated stubs call these. */
enum fz_int_class {
  FZI_NAMED_FLAGS = 1, FZI_MMAP_FLAGS, FZI_FILE_FLAGS, FZI_MODE, FZI_SEMVALUE, FZI_COUNT, FZI_BOOL,
  FZI_TIMEOUT, FZI_SHMSIZE, FZI_OFFSET, FZI_LENGTH, FZI_ACCESS, FZI_ADVICE, FZI_DIAG_WHAT,
  FZI_PROC_WHAT, FZI_CALLMODE, FZI_SIG, FZI_FD, FZI_CHILDFD, FZI_FDKIND, FZI_FDARG, FZI_RESOURCE,
  FZI_RLIM, FZI_POLICY, FZI_UMASK, FZI_PGID, FZI_CODE, FZI_MAXOUT, FZI_FLOCK_KIND, FZI_ID,
  FZI_PIPESIZE
};
enum fz_str_class {
  FZS_NAME = 1, FZS_ENVNAME_R, FZS_ENVNAME_W, FZS_ENVVALUE, FZS_PATH, FZS_FDPATH, FZS_DIR,
  FZS_PROGRAM, FZS_ARGV, FZS_COMMAND, FZS_QUOTE
};
enum fz_buf_class { FZB_OUTSTR = 1, FZB_READ, FZB_WRITE, FZB_INPUT, FZB_INTS /* n is a count of ints */ };
struct fz_buf {
  void *p;
  size_t n;
};
struct fz_wait {
  const int *fds;
  const int *events;
  int *revents;
  int n;
};
struct fz_infomany {
  const int *what;
  int64_t *values;
  int *rcs;
  int n;
};
lipc_handle_t fz_handle(struct fz *z, struct fz_call *c, const char *name, int kind);
lipc_handle_t *fz_out_handle(struct fz *z, struct fz_call *c, const char *name, int kind);
const char *fz_str(struct fz *z, struct fz_call *c, const char *name, int cls);
int64_t fz_int(struct fz *z, struct fz_call *c, const char *name, int cls);
void *fz_out(struct fz *z, struct fz_call *c, const char *name, size_t size);
char **fz_out_block(struct fz *z, struct fz_call *c, const char *name);
void *fz_freeptr(struct fz *z, struct fz_call *c);
struct fz_buf fz_buf(struct fz *z, struct fz_call *c, const char *name, int cls);
struct fz_wait fz_waitfds(struct fz *z, struct fz_call *c);
struct fz_infomany fz_infomany(struct fz *z, struct fz_call *c);
void fz_enter(struct fz *z, struct fz_call *c);
void fz_leave(struct fz *z, struct fz_call *c);
int fz_static_str(struct fz *z, struct fz_call *c, const char *s);
void fz_desc(struct fz_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The safe lists, checked at start-up: no word but the safe programs names a program. */
int fz_check_safe_words(void);

/* ---- checks (fz_check.c) ---- */
/* Runs function fn with drawn arguments, checks the answer, updates the pool. */
int fz_do_call(struct fz *z, int fn);
/* A well-formed call the fuzzer makes itself must succeed. */
void fz_expect_ok(struct fz *z, const char *what, int rc);
void fz_finding(struct fz *z, const char *kind, const char *fn, const char *sig, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int fz_code_known(int rc);
extern atomic_long fz_total_findings;
extern atomic_long fz_tried[256], fz_succeeded[256]; /* per function of fz_fns_table */

/* ---- the call log the supervisor reads after a crash or hang (fz_ring.c) ---- */
#define FZ_RING_SLOTS 32
#define FZ_RING_TEXT 480
#define FZ_RING_THREADS 4
struct fz_ring_slot {
  int64_t start_ns; /* monotonic; 0 when not in a call */
  char text[FZ_RING_TEXT];
};
struct fz_ring {
  int64_t seed;
  atomic_long calls;
  struct fz_ring_slot cur[FZ_RING_THREADS]; /* each thread's call in progress */
  atomic_long head;                         /* main thread's history */
  struct fz_ring_slot hist[FZ_RING_SLOTS];
  char phase[64];
};
extern struct fz_ring *fz_ring;
int fz_ring_open(const char *path, int create);
void fz_ring_begin(int tid, const char *text);
void fz_ring_end(int tid);
int64_t fz_now_ns(void);

/* ---- the supervisor and the worker ---- */
int fz_run_main(int argc, char **argv);
int fz_worker_main(int argc, char **argv);
#endif
