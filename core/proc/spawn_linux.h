/* spawn_linux.h - the C spawn routine's request. Filled by
 * capi/spawn_prepare_linux.c, read by the
 * child created with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD), which
 * shares this memory with its parent until it execs. */
#ifndef LIPC_SPAWN_LINUX_H
#define LIPC_SPAWN_LINUX_H
#include <stdint.h>
#include <sys/types.h>

struct lipc_rlim {
  int resource;      /* RLIMIT_* */
  uint64_t cur, max; /* RLIM_INFINITY allowed */
};

/* The encoding of "the parent's fd, if open" in src (and back: it is its
 * own inverse). */
#define LIPC_SPAWN_FD_IF_OPEN(fd) (-3 - (fd))

struct lipc_spawn {
  const char *path;     /* the program, already resolved */
  char *const *argv;    /* NULL-terminated */
  char *const *envp;    /* NULL-terminated */
  const char *cwd;      /* NULL: inherit */
  int umask;            /* < 0: inherit */
  int setsid;           /* 1: new session */
  int64_t pgid;         /* < 0: inherit; 0: new group; > 0: join that group */
  int pdeathsig;        /* 0: none */
  pid_t parent;         /* getpid() of the parent, for the pdeathsig race */
  int nfds;             /* child fds 0..nfds-1 */
  const int *src;       /* child fd i <- parent fd src[i]; -1 = closed, -2 = left as it is,
                           LIPC_SPAWN_FD_IF_OPEN(fd) = parent fd fd if it is open, else closed */
  int *scratch;         /* nfds ints the child may use */
  int nrlim;
  const struct lipc_rlim *rlim;
  int64_t uid;          /* < 0: keep; else setresuid to it, after the groups */
  int64_t gid;          /* < 0: keep; else setresgid to it */
  int ngroups;          /* < 0: keep the supplementary groups; else setgroups(groups) */
  const gid_t *groups;
  int keep_fds;         /* 1: fds above the map stay as they are (close_fds=False) */
  int sigreset_all;     /* 1: every disposition to default, SIG_IGN included */
  uint64_t sigdefault;  /* bit sig-1: to default even if the parent ignores it */
  void *stack;          /* the child's stack */
  size_t stack_size;
  /* what the parent does after the clone (lipc__spawn_close_after) */
  int nclose_ok;
  const int *close_ok;  /* closed when the child started: its ends of the map, and the parent
                           fds it was to take over (LIPC_FD_CLOSE_PARENT) */
  int nclose_fail;
  const int *close_fail; /* closed when it did not: its ends and the parent's pipe ends */
  int npipes;
  const int *pipes;     /* npipes pairs (child fd, the parent's end of its pipe), by child fd */
  uint64_t claim;       /* the caller's token for the parent fds this spawn took (0: none) */
  int nallocs;
  void **allocs;        /* the request's C memory, freed by lipc__spawn_free (allocs and the
                           request itself last) */
  /* set by lipc__spawn_run for the child */
  int files_limit;      /* >= 0: the child shares the parent's fd table at clone (CLONE_FILES) and
                           takes its own copy of fds below this number only; -1: a full copy */
  volatile int clone_pidfd; /* the pidfd clone made in the parent, written before the child runs */
  volatile int child_pid;   /* the child's pid, written by the child first */
  uint32_t started;     /* 1 until the child has execed or exited (the kernel clears it and wakes
                           its futex: CLONE_CHILD_CLEARTID), or the clone failed */
  /* out */
  pid_t pid;
  int pidfd;
  int err;              /* errno of the failing step, 0 on success */
  const char *stage;    /* which step failed (static string) */
};

/* Returns 0 and fills pid/pidfd, or -1 with err and stage set. */
/* The stage a child fails at when it may not copy part of the fd table
 * (CLOSE_RANGE_UNSHARE refused); 1 if s failed there: lipc_proc_spawn
 * then clones once more, and this and every later child takes a full copy
 * at clone (lipc__spawn_share_files: -1 not asked yet, 1 share, 0 copy). */
#define LIPC_SPAWN_STAGE_FILES "close_range(CLOSE_RANGE_UNSHARE)"
__attribute__((visibility("hidden"))) int lipc__spawn_files_refused(const struct lipc_spawn *s);
__attribute__((visibility("hidden"))) extern int lipc__spawn_share_files;

__attribute__((visibility("hidden"))) int lipc__spawn_run(struct lipc_spawn *s);

/* After the clone, in the parent: closes close_ok (ok) or close_fail. */
__attribute__((visibility("hidden"))) void lipc__spawn_close_after(struct lipc_spawn *s, int ok);
/* 1 if the child started: cloned, and it reached exec. */
__attribute__((visibility("hidden"))) int lipc__spawn_started(const struct lipc_spawn *s);
/* Frees the request and all its C memory. */
__attribute__((visibility("hidden"))) void lipc__spawn_free(struct lipc_spawn *s);

/* The same split in two, for a clone run on another thread (capi's spawn
 * thread) while the caller waits (spawn: a struct lipc_spawn that Prepare
 * filled; void * so that callers need not see the struct):
 *   lipc__spawn_expect   by the caller, before it hands spawn over;
 *   lipc__spawn_clone_on on the cloning thread, with the child's stack;
 *                        spawn may be gone by the time it returns;
 *   lipc__spawn_await    by the caller: waits until the child has execed
 *                        or failed, woken by the kernel itself rather
 *                        than by the cloning thread, reaps a child that
 *                        failed, and returns as lipc__spawn_run does. */
__attribute__((visibility("hidden"))) void lipc__spawn_expect(void *spawn);
/* The pid behind a pidfd (/proc/self/fdinfo), 0 if unknown. */
__attribute__((visibility("hidden"))) pid_t lipc__pid_of_pidfd(int pidfd);
__attribute__((visibility("hidden"))) void lipc__spawn_clone_on(void *spawn, void *stack, size_t stack_size);
__attribute__((visibility("hidden"))) int lipc__spawn_await(void *spawn);
/* The clone on the calling thread (spawn_here_linux.c), for a child with
 * no parent-death signal: returns as lipc__spawn_run does (the files retry
 * included), or -2 with spawn untouched when no stack could be had for the
 * child. */
__attribute__((visibility("hidden"))) int lipc__spawn_here(void *spawn);

#endif
