/* spawnattr.h - the spawn attributes object: built by C setters (so hosts
 * pay no Go call per option), read once at spawn time (Linux:
 * spawn_prepare_linux.c; Windows: spawn_windows.c). */
#ifndef LIPC_SPAWNATTR_H
#define LIPC_SPAWNATTR_H
#include <pthread.h>
#include <stdint.h>

struct lipc_fdspec {
  int set;   /* 0: not set by the caller */
  int kind;  /* LIPC_FD_* */
  int arg;
  int flags;
  uint32_t mode;
  char *path;
  /* LIPC_FD_CLOSE_PARENT: 0, or the claim of the spawn that took the
   * parent's fd (it closes it once its child runs; one that fails gives
   * back only its own claim, so a setter plus a spawn in between keep
   * theirs). */
  uint64_t given_away;
};

struct lipc_rlimspec {
  int resource; /* the platform's RLIMIT_* */
  int64_t soft, hard;
};

struct lipc_spawnattr {
  pthread_mutex_t mu;
  char **args;
  int nargs, capargs;
  char *program;
  int search;
  int env_clear;
  char **env_ops; /* "+NAME=VALUE" sets, "-NAME" unsets, in order */
  int nenv, capenv;
  char *cwd;
  int umask;
  int64_t pgid;
  int setsid;
  struct lipc_fdspec *fds;
  int nfds;
  struct lipc_rlimspec *rlims;
  int nrlims;
  int autokill;
  int on_close;
  int64_t grace_ms;
  int64_t uid, gid;    /* -1: the parent's */
  int set_groups;      /* 1: the supplementary groups are groups[0..ngroups) */
  int64_t *groups;
  int ngroups, capgroups;
  int64_t pipesize;    /* <= 0: the system's */
  int keep_fds;
  int sigreset;        /* LIPC_SIGRESET_* */
  uint64_t sigdefault; /* bit sig-1 */
  uint64_t claims;     /* the last claim a spawn took (fdspec.given_away); under mu */
};

__attribute__((visibility("hidden"))) void lipc__spawnattr_free(struct lipc_spawnattr *a);
#endif
