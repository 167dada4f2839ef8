/* spawnattr_linux.c - lipc_spawnattr_* on Linux: setters that copy their
 * arguments into a C object behind a handle. All of it runs in C, creating
 * and closing too, and so does the spawn that reads it (spawn_prepare_linux.c). The argument checks
 * and string storage are shared with Windows (spawnattr_args.c). */
#define _GNU_SOURCE
#include "spawnattr.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "internal.h"
#include "spawnattr_args.h"

int lipc_spawnattr_new(lipc_handle_t *out) {
  if (!out) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_new: attr must not be NULL");
  struct lipc_spawnattr *a = calloc(1, sizeof *a);
  if (!a) return lipc__fail(LIPC_ENOMEM, ENOMEM, "spawnattr_new: out of memory");
  pthread_mutex_init(&a->mu, NULL);
  a->search = 1;
  a->umask = -1;
  a->pgid = -1;
  a->uid = -1;
  a->gid = -1;
  /* A C-only object: no Go call to create or free it. */
  int rc = lipc__handle_new(LIPC_KIND_SPAWNATTR, a, 0, out);
  if (rc != LIPC_OK) lipc__spawnattr_free(a);
  return rc;
}

void lipc__spawnattr_free(struct lipc_spawnattr *a) {
  for (int i = 0; i < a->nargs; i++) free(a->args[i]);
  for (int i = 0; i < a->nenv; i++) free(a->env_ops[i]);
  for (int i = 0; i < a->nfds; i++) free(a->fds[i].path);
  free(a->args);
  free(a->env_ops);
  free(a->fds);
  free(a->rlims);
  free(a->groups);
  free(a->program);
  free(a->cwd);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

/* Runs body with the attr locked; `a` names the object inside body. */
#define WITH_ATTR(h, what, body)                                          \
  do {                                                                    \
    lipc_slot *slot_;                                                     \
    int rc_ = lipc__handle_acquire(h, LIPC_KIND_SPAWNATTR, &slot_);       \
    if (rc_ != LIPC_OK) return rc_;                                       \
    struct lipc_spawnattr *a = lipc__slot_obj(slot_);                     \
    pthread_mutex_lock(&a->mu);                                           \
    rc_ = (body);                                                         \
    pthread_mutex_unlock(&a->mu);                                         \
    lipc__handle_release(slot_);                                          \
    return rc_;                                                           \
  } while (0)

int lipc_spawnattr_arg(lipc_handle_t h, const char *arg) {
  if (!arg) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_arg: arg must not be NULL");
  WITH_ATTR(h, "spawnattr_arg", lipc__sa_push(&a->args, &a->nargs, &a->capargs, arg, "spawnattr_arg"));
}

static int shell_args(struct lipc_spawnattr *a, const char *cmd) {
  for (int i = 0; i < a->nargs; i++) free(a->args[i]);
  a->nargs = 0;
  int rc = lipc__sa_push(&a->args, &a->nargs, &a->capargs, "/bin/sh", "spawnattr_shell");
  if (rc == LIPC_OK) rc = lipc__sa_push(&a->args, &a->nargs, &a->capargs, "-c", "spawnattr_shell");
  if (rc == LIPC_OK) rc = lipc__sa_push(&a->args, &a->nargs, &a->capargs, cmd, "spawnattr_shell");
  return rc;
}

int lipc_spawnattr_shell(lipc_handle_t h, const char *command) {
  if (!command) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_shell: command must not be NULL");
  WITH_ATTR(h, "spawnattr_shell", shell_args(a, command));
}

int lipc_spawnattr_set_program(lipc_handle_t h, const char *program) {
  WITH_ATTR(h, "spawnattr_set_program", lipc__sa_set_str(&a->program, program));
}

int lipc_spawnattr_set_search(lipc_handle_t h, int search) {
  WITH_ATTR(h, "spawnattr_set_search", (a->search = search != 0, LIPC_OK));
}

static int env_clear(struct lipc_spawnattr *a) {
  for (int i = 0; i < a->nenv; i++) free(a->env_ops[i]);
  a->nenv = 0;
  a->env_clear = 1;
  return LIPC_OK;
}

int lipc_spawnattr_env_clear(lipc_handle_t h) {
  WITH_ATTR(h, "spawnattr_env_clear", env_clear(a));
}

int lipc_spawnattr_env_set(lipc_handle_t h, const char *name, const char *value) {
  int rc = lipc__sa_check_env_name(name, 0, "spawnattr_env_set");
  if (rc != LIPC_OK) return rc;
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_env_set: value must not be NULL");
  WITH_ATTR(h, "spawnattr_env_set", lipc__sa_env_push(&a->env_ops, &a->nenv, &a->capenv, '+', name, value, "spawnattr_env_set"));
}

int lipc_spawnattr_env_unset(lipc_handle_t h, const char *name) {
  int rc = lipc__sa_check_env_name(name, 0, "spawnattr_env_unset");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_env_unset", lipc__sa_env_push(&a->env_ops, &a->nenv, &a->capenv, '-', name, NULL, "spawnattr_env_unset"));
}

int lipc_spawnattr_set_cwd(lipc_handle_t h, const char *dir) {
  WITH_ATTR(h, "spawnattr_set_cwd", lipc__sa_set_str(&a->cwd, dir));
}

int lipc_spawnattr_set_umask(lipc_handle_t h, int mask) {
  int rc = lipc__sa_check_umask(mask);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_umask", (a->umask = mask, LIPC_OK));
}

int lipc_spawnattr_set_pgroup(lipc_handle_t h, int64_t pgid) {
  int rc = lipc__sa_check_pgroup(pgid);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_pgroup", (a->pgid = pgid, LIPC_OK));
}

int lipc_spawnattr_set_setsid(lipc_handle_t h, int setsid) {
  WITH_ATTR(h, "spawnattr_set_setsid", (a->setsid = setsid != 0, LIPC_OK));
}

static int set_fd(struct lipc_spawnattr *a, int fd, int kind, int arg, const char *path, int flags,
                  uint32_t mode) {
  if (fd >= a->nfds) {
    struct lipc_fdspec *nf = realloc(a->fds, sizeof *nf * (size_t)(fd + 1));
    if (!nf) return lipc__sa_oom("spawnattr_set_fd");
    memset(nf + a->nfds, 0, sizeof *nf * (size_t)(fd + 1 - a->nfds));
    a->fds = nf;
    a->nfds = fd + 1;
  }
  char *copy = NULL;
  if (kind == LIPC_FD_FILE && !(copy = strdup(path))) return lipc__sa_oom("spawnattr_set_fd");
  struct lipc_fdspec *s = &a->fds[fd];
  free(s->path);
  *s = (struct lipc_fdspec){.set = 1, .kind = kind, .arg = arg, .flags = flags, .mode = mode, .path = copy};
  return LIPC_OK;
}

int lipc_spawnattr_set_fd(lipc_handle_t h, int child_fd, int kind, int arg, const char *path,
                          int flags, uint32_t mode) {
  const char *what = "spawnattr_set_fd";
  int rc = lipc__sa_check_fd(child_fd, kind, arg, path, flags);
  if (rc != LIPC_OK) return rc;
  if (kind == LIPC_FD_PARENT && (arg < 0 || (flags & ~LIPC_FD_CLOSE_PARENT)))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: bad parent fd %d or flags %#x", what, arg, flags);
  WITH_ATTR(h, what, set_fd(a, child_fd, kind, arg, path, flags, mode));
}

static const int rlimit_of[] = {RLIMIT_CPU,    RLIMIT_FSIZE, RLIMIT_DATA,
                                RLIMIT_STACK,  RLIMIT_CORE,  RLIMIT_NOFILE,
                                RLIMIT_AS,     RLIMIT_NPROC, RLIMIT_MEMLOCK};

static int set_rlimit(struct lipc_spawnattr *a, int res, int64_t soft, int64_t hard) {
  for (int i = 0; i < a->nrlims; i++)
    if (a->rlims[i].resource == res) {
      a->rlims[i].soft = soft;
      a->rlims[i].hard = hard;
      return LIPC_OK;
    }
  struct lipc_rlimspec *nr = realloc(a->rlims, sizeof *nr * (size_t)(a->nrlims + 1));
  if (!nr) return lipc__sa_oom("spawnattr_set_rlimit");
  a->rlims = nr;
  a->rlims[a->nrlims++] = (struct lipc_rlimspec){.resource = res, .soft = soft, .hard = hard};
  return LIPC_OK;
}

int lipc_spawnattr_set_rlimit(lipc_handle_t h, int resource, int64_t soft, int64_t hard) {
  _Static_assert(LIPC_RLIMIT_CPU == 0 && sizeof rlimit_of / sizeof rlimit_of[0] == LIPC_RLIMIT_MEMLOCK + 1,
                 "rlimit_of has one RLIMIT_ per LIPC_RLIMIT_, in order");
  int rc = lipc__sa_check_rlimit(resource, soft, hard);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_rlimit", set_rlimit(a, rlimit_of[resource], soft, hard));
}

int lipc_spawnattr_set_autokill(lipc_handle_t h, int sig) {
  int rc = lipc__sa_check_autokill(sig);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_autokill", (a->autokill = sig, LIPC_OK));
}

int lipc_spawnattr_set_on_close(lipc_handle_t h, int policy, int64_t grace_ms) {
  int rc = lipc__sa_check_on_close(policy, grace_ms);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_on_close", (a->on_close = policy, a->grace_ms = grace_ms, LIPC_OK));
}

int lipc_spawnattr_set_user(lipc_handle_t h, int64_t uid) {
  int rc = lipc__sa_check_id(uid, "spawnattr_set_user");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_user", (a->uid = uid, LIPC_OK));
}

int lipc_spawnattr_set_group(lipc_handle_t h, int64_t gid) {
  int rc = lipc__sa_check_id(gid, "spawnattr_set_group");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_group", (a->gid = gid, LIPC_OK));
}

static int groups_clear(struct lipc_spawnattr *a) {
  a->ngroups = 0;
  a->set_groups = 1;
  return LIPC_OK;
}

int lipc_spawnattr_groups_clear(lipc_handle_t h) {
  WITH_ATTR(h, "spawnattr_groups_clear", groups_clear(a));
}

#define MAX_GROUPS 65536 /* the kernel's NGROUPS_MAX */

static int groups_add(struct lipc_spawnattr *a, int64_t gid) {
  if (a->ngroups >= MAX_GROUPS)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_groups_add: more than %d groups", MAX_GROUPS);
  if (a->ngroups == a->capgroups) {
    int ncap = a->capgroups ? a->capgroups * 2 : 8;
    int64_t *ng = realloc(a->groups, sizeof *ng * (size_t)ncap);
    if (!ng) return lipc__sa_oom("spawnattr_groups_add");
    a->groups = ng;
    a->capgroups = ncap;
  }
  a->groups[a->ngroups++] = gid;
  a->set_groups = 1;
  return LIPC_OK;
}

int lipc_spawnattr_groups_add(lipc_handle_t h, int64_t gid) {
  int rc = lipc__sa_check_group(gid);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_groups_add", groups_add(a, gid));
}

int lipc_spawnattr_set_pipesize(lipc_handle_t h, int64_t bytes) {
  int rc = lipc__sa_check_pipesize(bytes);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_pipesize", (a->pipesize = bytes < 0 ? 0 : bytes, LIPC_OK));
}

int lipc_spawnattr_set_keep_fds(lipc_handle_t h, int keep) {
  WITH_ATTR(h, "spawnattr_set_keep_fds", (a->keep_fds = keep != 0, LIPC_OK));
}

int lipc_spawnattr_set_sigreset(lipc_handle_t h, int mode) {
  int rc = lipc__sa_check_sigreset(mode);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_sigreset", (a->sigreset = mode, LIPC_OK));
}

static int sigdefault(struct lipc_spawnattr *a, int sig, int on) {
  uint64_t bit = (uint64_t)1 << (sig - 1);
  a->sigdefault = on ? a->sigdefault | bit : a->sigdefault & ~bit;
  return LIPC_OK;
}

int lipc_spawnattr_set_sigdefault(lipc_handle_t h, int sig, int on) {
  int rc = lipc__sa_check_sigdefault(sig);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_sigdefault", sigdefault(a, sig, on));
}
