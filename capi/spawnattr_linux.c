/* spawnattr.c - lipc_spawnattr_*: setters that copy their arguments into a
 * C object behind a handle. All of it runs in C, creating and closing too:
 * Go reads the object once, at spawn. */
#define _GNU_SOURCE
#include "spawnattr.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "internal.h"

#define MAX_CHILD_FD 1023

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

static int oom(const char *what) {
  return lipc__fail(LIPC_ENOMEM, ENOMEM, "%s: out of memory", what);
}

static int push(char ***vec, int *n, int *cap, const char *s, const char *what) {
  if (*n + 1 >= *cap) {
    int ncap = *cap ? *cap * 2 : 8;
    char **nv = realloc(*vec, sizeof **vec * (size_t)ncap);
    if (!nv) return oom(what);
    *vec = nv;
    *cap = ncap;
  }
  char *copy = strdup(s);
  if (!copy) return oom(what);
  (*vec)[(*n)++] = copy;
  return LIPC_OK;
}

static int set_str(char **field, const char *s) {
  char *copy = NULL;
  if (s && *s && !(copy = strdup(s))) return oom("spawnattr");
  free(*field);
  *field = copy;
  return LIPC_OK;
}

int lipc_spawnattr_arg(lipc_handle_t h, const char *arg) {
  if (!arg) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_arg: arg must not be NULL");
  WITH_ATTR(h, "spawnattr_arg", push(&a->args, &a->nargs, &a->capargs, arg, "spawnattr_arg"));
}

static int shell_args(struct lipc_spawnattr *a, const char *cmd) {
  for (int i = 0; i < a->nargs; i++) free(a->args[i]);
  a->nargs = 0;
  int rc = push(&a->args, &a->nargs, &a->capargs, "/bin/sh", "spawnattr_shell");
  if (rc == LIPC_OK) rc = push(&a->args, &a->nargs, &a->capargs, "-c", "spawnattr_shell");
  if (rc == LIPC_OK) rc = push(&a->args, &a->nargs, &a->capargs, cmd, "spawnattr_shell");
  return rc;
}

int lipc_spawnattr_shell(lipc_handle_t h, const char *command) {
  if (!command) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_shell: command must not be NULL");
  WITH_ATTR(h, "spawnattr_shell", shell_args(a, command));
}

int lipc_spawnattr_set_program(lipc_handle_t h, const char *program) {
  WITH_ATTR(h, "spawnattr_set_program", set_str(&a->program, program));
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

static int check_env_name(const char *name, const char *what) {
  if (!name || !*name || strchr(name, '='))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: bad variable name \"%s\" (empty or with '=')",
                      what, name ? name : "(null)");
  return LIPC_OK;
}

static int env_op(struct lipc_spawnattr *a, char sign, const char *name, const char *value,
                  const char *what) {
  size_t len = 1 + strlen(name) + (value ? 1 + strlen(value) : 0) + 1;
  char *op = malloc(len);
  if (!op) return oom(what);
  if (value)
    snprintf(op, len, "%c%s=%s", sign, name, value);
  else
    snprintf(op, len, "%c%s", sign, name);
  int rc = push(&a->env_ops, &a->nenv, &a->capenv, op, what);
  free(op);
  return rc;
}

int lipc_spawnattr_env_set(lipc_handle_t h, const char *name, const char *value) {
  int rc = check_env_name(name, "spawnattr_env_set");
  if (rc != LIPC_OK) return rc;
  if (!value) return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_env_set: value must not be NULL");
  WITH_ATTR(h, "spawnattr_env_set", env_op(a, '+', name, value, "spawnattr_env_set"));
}

int lipc_spawnattr_env_unset(lipc_handle_t h, const char *name) {
  int rc = check_env_name(name, "spawnattr_env_unset");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_env_unset", env_op(a, '-', name, NULL, "spawnattr_env_unset"));
}

int lipc_spawnattr_set_cwd(lipc_handle_t h, const char *dir) {
  WITH_ATTR(h, "spawnattr_set_cwd", set_str(&a->cwd, dir));
}

int lipc_spawnattr_set_umask(lipc_handle_t h, int mask) {
  if (mask < -1 || mask > 0777)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_umask: %#o is not -1 or 0 to 0777", mask);
  WITH_ATTR(h, "spawnattr_set_umask", (a->umask = mask, LIPC_OK));
}

int lipc_spawnattr_set_pgroup(lipc_handle_t h, int64_t pgid) {
  if (pgid < -1 || pgid > INT32_MAX)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_pgroup: %lld is not -1, 0 or a pgid",
                      (long long)pgid);
  WITH_ATTR(h, "spawnattr_set_pgroup", (a->pgid = pgid, LIPC_OK));
}

int lipc_spawnattr_set_setsid(lipc_handle_t h, int setsid) {
  WITH_ATTR(h, "spawnattr_set_setsid", (a->setsid = setsid != 0, LIPC_OK));
}

static int set_fd(struct lipc_spawnattr *a, int fd, int kind, int arg, const char *path, int flags,
                  uint32_t mode) {
  if (fd >= a->nfds) {
    struct lipc_fdspec *nf = realloc(a->fds, sizeof *nf * (size_t)(fd + 1));
    if (!nf) return oom("spawnattr_set_fd");
    memset(nf + a->nfds, 0, sizeof *nf * (size_t)(fd + 1 - a->nfds));
    a->fds = nf;
    a->nfds = fd + 1;
  }
  char *copy = NULL;
  if (kind == LIPC_FD_FILE && !(copy = strdup(path))) return oom("spawnattr_set_fd");
  struct lipc_fdspec *s = &a->fds[fd];
  free(s->path);
  *s = (struct lipc_fdspec){.set = 1, .kind = kind, .arg = arg, .flags = flags, .mode = mode, .path = copy};
  return LIPC_OK;
}

int lipc_spawnattr_set_fd(lipc_handle_t h, int child_fd, int kind, int arg, const char *path,
                          int flags, uint32_t mode) {
  const char *what = "spawnattr_set_fd";
  if (child_fd < 0 || child_fd > MAX_CHILD_FD)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: child fd %d is outside 0..%d", what, child_fd,
                      MAX_CHILD_FD);
  if (kind < LIPC_FD_INHERIT || kind > LIPC_FD_CHILD)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: unknown kind %d", what, kind);
  if (kind == LIPC_FD_FILE && (!path || !*path))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: a file needs a path", what);
  if ((kind == LIPC_FD_FILE || kind == LIPC_FD_NULL) && (flags & ~63))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: unknown file flags %#x", what, flags);
  if (kind == LIPC_FD_FILE && !(flags & (LIPC_FILE_READ | LIPC_FILE_WRITE | LIPC_FILE_APPEND)))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: file flags must say read, write or append", what);
  if (kind == LIPC_FD_PARENT && (arg < 0 || (flags & ~LIPC_FD_CLOSE_PARENT)))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: bad parent fd %d or flags %#x", what, arg, flags);
  if (kind == LIPC_FD_CHILD && (arg < 0 || arg > MAX_CHILD_FD || arg == child_fd))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: child fd %d cannot refer to child fd %d", what,
                      child_fd, arg);
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
  if (!nr) return oom("spawnattr_set_rlimit");
  a->rlims = nr;
  a->rlims[a->nrlims++] = (struct lipc_rlimspec){.resource = res, .soft = soft, .hard = hard};
  return LIPC_OK;
}

int lipc_spawnattr_set_rlimit(lipc_handle_t h, int resource, int64_t soft, int64_t hard) {
  const char *what = "spawnattr_set_rlimit";
  if (resource < 0 || resource >= (int)(sizeof rlimit_of / sizeof rlimit_of[0]))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: unknown resource %d", what, resource);
  if (soft < LIPC_RLIM_INFINITY || hard < LIPC_RLIM_INFINITY)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: negative limit", what);
  if (hard != LIPC_RLIM_INFINITY && (soft == LIPC_RLIM_INFINITY || soft > hard))
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: soft limit above the hard limit", what);
  WITH_ATTR(h, what, set_rlimit(a, rlimit_of[resource], soft, hard));
}

int lipc_spawnattr_set_autokill(lipc_handle_t h, int sig) {
  if (sig < 0 || sig > 64)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_autokill: %d is not a signal", sig);
  WITH_ATTR(h, "spawnattr_set_autokill", (a->autokill = sig, LIPC_OK));
}

int lipc_spawnattr_set_on_close(lipc_handle_t h, int policy, int64_t grace_ms) {
  if ((policy != LIPC_ON_CLOSE_LEAVE && policy != LIPC_ON_CLOSE_STOP) || grace_ms < 0)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_on_close: bad policy %d or grace %lld",
                      policy, (long long)grace_ms);
  WITH_ATTR(h, "spawnattr_set_on_close", (a->on_close = policy, a->grace_ms = grace_ms, LIPC_OK));
}

/* uid and gid must fit the kernel's 32-bit ids; (uid_t)-1 means "no
 * change" to the kernel and is refused as a value. */
static int check_id(int64_t id, const char *what) {
  if (id < -1 || id >= (int64_t)UINT32_MAX)
    return lipc__fail(LIPC_EINVAL, EINVAL, "%s: %lld is not -1 or an id from 0 to %u", what,
                      (long long)id, UINT32_MAX - 1);
  return LIPC_OK;
}

int lipc_spawnattr_set_user(lipc_handle_t h, int64_t uid) {
  int rc = check_id(uid, "spawnattr_set_user");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, "spawnattr_set_user", (a->uid = uid, LIPC_OK));
}

int lipc_spawnattr_set_group(lipc_handle_t h, int64_t gid) {
  int rc = check_id(gid, "spawnattr_set_group");
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
    if (!ng) return oom("spawnattr_groups_add");
    a->groups = ng;
    a->capgroups = ncap;
  }
  a->groups[a->ngroups++] = gid;
  a->set_groups = 1;
  return LIPC_OK;
}

int lipc_spawnattr_groups_add(lipc_handle_t h, int64_t gid) {
  if (gid < 0 || gid >= (int64_t)UINT32_MAX)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_groups_add: %lld is not a group id", (long long)gid);
  WITH_ATTR(h, "spawnattr_groups_add", groups_add(a, gid));
}

int lipc_spawnattr_set_pipesize(lipc_handle_t h, int64_t bytes) {
  if (bytes > INT32_MAX)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_pipesize: %lld bytes is too big", (long long)bytes);
  WITH_ATTR(h, "spawnattr_set_pipesize", (a->pipesize = bytes < 0 ? 0 : bytes, LIPC_OK));
}

int lipc_spawnattr_set_keep_fds(lipc_handle_t h, int keep) {
  WITH_ATTR(h, "spawnattr_set_keep_fds", (a->keep_fds = keep != 0, LIPC_OK));
}

int lipc_spawnattr_set_sigreset(lipc_handle_t h, int mode) {
  if (mode != LIPC_SIGRESET_CAUGHT && mode != LIPC_SIGRESET_ALL)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_sigreset: unknown mode %d", mode);
  WITH_ATTR(h, "spawnattr_set_sigreset", (a->sigreset = mode, LIPC_OK));
}

static int sigdefault(struct lipc_spawnattr *a, int sig, int on) {
  uint64_t bit = (uint64_t)1 << (sig - 1);
  a->sigdefault = on ? a->sigdefault | bit : a->sigdefault & ~bit;
  return LIPC_OK;
}

int lipc_spawnattr_set_sigdefault(lipc_handle_t h, int sig, int on) {
  if (sig < 1 || sig > 64)
    return lipc__fail(LIPC_EINVAL, EINVAL, "spawnattr_set_sigdefault: %d is not a signal", sig);
  WITH_ATTR(h, "spawnattr_set_sigdefault", sigdefault(a, sig, on));
}
