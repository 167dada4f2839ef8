/* spawnattr_args.h - what lipc_spawnattr_* do alike on every system: the
 * argument checks of the header's contract (same order, same messages;
 * the code in lipc_errno is the system's: LIPC_OS_EINVAL) and the storage
 * of strings (argv, environment changes, paths). Each system's
 * spawnattr_<os>.c keeps its own object and what its values mean there.
 * Nothing here is API. */
#ifndef LIPC_SPAWNATTR_ARGS_H
#define LIPC_SPAWNATTR_ARGS_H

#include "internal.h"

#define LIPC_SPAWN_MAX_CHILD_FD 1023

/* LIPC_ENOMEM naming what. */
LIPC_HIDDEN int lipc__sa_oom(const char *what);
/* Appends a copy of s to the vector (*vec, *n, *cap), keeping room for a
 * NULL after it. */
LIPC_HIDDEN int lipc__sa_push(char ***vec, int *n, int *cap, const char *s, const char *what);
/* Replaces *field by a copy of s (NULL or "" clear it). */
LIPC_HIDDEN int lipc__sa_set_str(char **field, const char *s);
/* Appends the environment change "+NAME=VALUE" (value not NULL) or
 * "-NAME" to the vector. */
LIPC_HIDDEN int lipc__sa_env_push(char ***vec, int *n, int *cap, char sign, const char *name, const char *value,
                                  const char *what);

/* The checks, each LIPC_OK or LIPC_EINVAL recorded. */
/* A variable name: not NULL, not empty, no '=' from byte eq_from on
 * (Linux 0; Windows 1, where "=C:" names a drive's working directory). */
LIPC_HIDDEN int lipc__sa_check_env_name(const char *name, size_t eq_from, const char *what);
LIPC_HIDDEN int lipc__sa_check_umask(int mask);
LIPC_HIDDEN int lipc__sa_check_pgroup(int64_t pgid);
/* set_fd's checks but the one of LIPC_FD_PARENT's arg, whose meaning is
 * each system's (an fd; a HANDLE). */
LIPC_HIDDEN int lipc__sa_check_fd(int child_fd, int kind, int arg, const char *path, int flags);
LIPC_HIDDEN int lipc__sa_check_rlimit(int resource, int64_t soft, int64_t hard);
LIPC_HIDDEN int lipc__sa_check_autokill(int sig);
LIPC_HIDDEN int lipc__sa_check_on_close(int policy, int64_t grace_ms);
/* A uid or gid: -1 or a 32-bit id ((uid_t)-1 means "no change" to Linux
 * and is refused as a value). */
LIPC_HIDDEN int lipc__sa_check_id(int64_t id, const char *what);
LIPC_HIDDEN int lipc__sa_check_group(int64_t gid);
LIPC_HIDDEN int lipc__sa_check_pipesize(int64_t bytes);
LIPC_HIDDEN int lipc__sa_check_sigreset(int mode);
LIPC_HIDDEN int lipc__sa_check_sigdefault(int sig);

#endif
