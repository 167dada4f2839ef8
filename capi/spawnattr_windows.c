/* spawnattr_windows.c - lipc_spawnattr_* on Windows: the same setters and
 * checks as on Linux, copying their arguments into a C object behind a
 * handle. What has no Windows counterpart is decided here, at the setter:
 * a value that would change nothing (the "keep the parent's" defaults) is
 * accepted, a value that asks for what Windows cannot do is LIPC_ENOTSUP,
 * so a program learns at once instead of getting a child that silently
 * differs (Python's subprocess ignores user, group, umask and
 * start_new_session on Windows; lipc says so instead). Signal dispositions
 * do not exist on Windows: sigreset and sigdefault are accepted and change
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "proc_windows.h"

int lipc_spawnattr_new(lipc_handle_t *out) {
  if (!out) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_new: attr must not be NULL");
  struct lipc_wspawnattr *a = calloc(1, sizeof *a);
  if (!a) return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "spawnattr_new: out of memory");
  InitializeSRWLock(&a->mu);
  a->search = 1;
  a->mem_limit = a->cpu_limit = a->nproc_limit = -1;
  int rc = lipc__handle_new(LIPC_KIND_SPAWNATTR, a, 0, out);
  if (rc != LIPC_OK) lipc__wspawnattr_free(a);
  return rc;
}

void lipc__wspawnattr_free(struct lipc_wspawnattr *a) {
  for (int i = 0; i < a->nargs; i++) free(a->args[i]);
  for (int i = 0; i < a->nenv; i++) free(a->env_ops[i]);
  for (int i = 0; i < a->nfds; i++) free(a->fds[i].path);
  free(a->args);
  free(a->env_ops);
  free(a->fds);
  free(a->shell);
  free(a->program);
  free(a->cwd);
  free(a);
}

#define WITH_ATTR(h, body)                                                \
  do {                                                                    \
    lipc_slot *slot_;                                                     \
    int rc_ = lipc__handle_acquire(h, LIPC_KIND_SPAWNATTR, &slot_);       \
    if (rc_ != LIPC_OK) return rc_;                                       \
    struct lipc_wspawnattr *a = lipc__slot_obj(slot_);                    \
    AcquireSRWLockExclusive(&a->mu);                                      \
    rc_ = (body);                                                         \
    ReleaseSRWLockExclusive(&a->mu);                                      \
    lipc__handle_release(slot_);                                          \
    return rc_;                                                           \
  } while (0)

static int oom(const char *what) {
  return lipc__fail(LIPC_ENOMEM, ERROR_NOT_ENOUGH_MEMORY, "%s: out of memory", what);
}

static int notsup(const char *what, const char *why) {
  return lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED, "%s: %s", what, why);
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

static int add_arg(struct lipc_wspawnattr *a, const char *arg) {
  if (a->shell) { /* arguments after a shell command: a new argv */
    free(a->shell);
    a->shell = NULL;
  }
  return push(&a->args, &a->nargs, &a->capargs, arg, "spawnattr_arg");
}

int lipc_spawnattr_arg(lipc_handle_t h, const char *arg) {
  if (!arg) return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_arg: arg must not be NULL");
  WITH_ATTR(h, add_arg(a, arg));
}

/* argv becomes [cmd.exe, /d, /s, /c, command] for lipc_proc_path and the
 * PATH search; the command line itself is written from `shell` at spawn
 * (cmd.exe /d /s /c "command": /s strips exactly the outer quotes, so the
 * command reaches cmd.exe as it was given). */
static int shell_args(struct lipc_wspawnattr *a, const char *cmd) {
  for (int i = 0; i < a->nargs; i++) free(a->args[i]);
  a->nargs = 0;
  int rc = set_str(&a->shell, cmd);
  if (rc == LIPC_OK && !a->shell && !(a->shell = strdup(""))) rc = oom("spawnattr_shell");
  static const char *const argv[] = {"cmd.exe", "/d", "/s", "/c"};
  for (int i = 0; i < 4 && rc == LIPC_OK; i++) rc = push(&a->args, &a->nargs, &a->capargs, argv[i], "spawnattr_shell");
  if (rc == LIPC_OK) rc = push(&a->args, &a->nargs, &a->capargs, cmd, "spawnattr_shell");
  return rc;
}

int lipc_spawnattr_shell(lipc_handle_t h, const char *command) {
  if (!command)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_shell: command must not be NULL");
  if (strpbrk(command, "\r\n"))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER,
                      "spawnattr_shell: cmd.exe runs one line: the command must not hold a newline");
  WITH_ATTR(h, shell_args(a, command));
}

int lipc_spawnattr_set_program(lipc_handle_t h, const char *program) {
  WITH_ATTR(h, set_str(&a->program, program));
}

int lipc_spawnattr_set_search(lipc_handle_t h, int search) {
  WITH_ATTR(h, (a->search = search != 0, LIPC_OK));
}

static int env_clear(struct lipc_wspawnattr *a) {
  for (int i = 0; i < a->nenv; i++) free(a->env_ops[i]);
  a->nenv = 0;
  a->env_clear = 1;
  return LIPC_OK;
}

int lipc_spawnattr_env_clear(lipc_handle_t h) { WITH_ATTR(h, env_clear(a)); }

/* Windows' own rule: a name is not empty and has no '=' (past its first
 * character: "=C:" names a drive's working directory, which cmd.exe keeps). */
static int check_env_name(const char *name, const char *what) {
  if (!name || !*name || strchr(name + 1, '='))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER,
                      "%s: bad variable name \"%s\" (empty or with '=')", what, name ? name : "(null)");
  return LIPC_OK;
}

static int env_op(struct lipc_wspawnattr *a, char sign, const char *name, const char *value,
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
  if (!value)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_env_set: value must not be NULL");
  WITH_ATTR(h, env_op(a, '+', name, value, "spawnattr_env_set"));
}

int lipc_spawnattr_env_unset(lipc_handle_t h, const char *name) {
  int rc = check_env_name(name, "spawnattr_env_unset");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, env_op(a, '-', name, NULL, "spawnattr_env_unset"));
}

int lipc_spawnattr_set_cwd(lipc_handle_t h, const char *dir) { WITH_ATTR(h, set_str(&a->cwd, dir)); }

int lipc_spawnattr_set_umask(lipc_handle_t h, int mask) {
  if (mask < -1 || mask > 0777)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_umask: %#o is not -1 or 0 to 0777", mask);
  if (mask != -1) return notsup("spawnattr_set_umask", "Windows has no umask (files get their folder's ACL)");
  WITH_ATTR(h, LIPC_OK);
}

int lipc_spawnattr_set_pgroup(lipc_handle_t h, int64_t pgid) {
  if (pgid < -1 || pgid > INT32_MAX)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_pgroup: %lld is not -1, 0 or a pgid",
                      (long long)pgid);
  if (pgid > 0)
    return notsup("spawnattr_set_pgroup", "a Windows process cannot join another process's group "
                  "(only 0, a new group, or -1, the parent's)");
  WITH_ATTR(h, (a->new_group = pgid == 0, LIPC_OK));
}

int lipc_spawnattr_set_setsid(lipc_handle_t h, int setsid) {
  if (setsid) return notsup("spawnattr_set_setsid", "Windows has no sessions to start (a new process group: set_pgroup 0)");
  WITH_ATTR(h, LIPC_OK);
}

static int set_fd(struct lipc_wspawnattr *a, int fd, int kind, int arg, const char *path, int flags) {
  if (fd >= a->nfds) {
    struct lipc_wfdspec *nf = realloc(a->fds, sizeof *nf * (size_t)(fd + 1));
    if (!nf) return oom("spawnattr_set_fd");
    memset(nf + a->nfds, 0, sizeof *nf * (size_t)(fd + 1 - a->nfds));
    a->fds = nf;
    a->nfds = fd + 1;
  }
  char *copy = NULL;
  if (kind == LIPC_FD_FILE && !(copy = strdup(path))) return oom("spawnattr_set_fd");
  struct lipc_wfdspec *s = &a->fds[fd];
  free(s->path);
  *s = (struct lipc_wfdspec){.set = 1, .kind = kind, .arg = arg, .flags = flags, .path = copy};
  return LIPC_OK;
}

int lipc_spawnattr_set_fd(lipc_handle_t h, int child_fd, int kind, int arg, const char *path,
                          int flags, uint32_t mode) {
  const char *what = "spawnattr_set_fd";
  (void)mode; /* Windows files get their folder's ACL */
  if (child_fd < 0 || child_fd > LIPC_WIN_MAX_CHILD_FD)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: child fd %d is outside 0..%d", what,
                      child_fd, LIPC_WIN_MAX_CHILD_FD);
  if (kind < LIPC_FD_INHERIT || kind > LIPC_FD_CHILD)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: unknown kind %d", what, kind);
  if (kind == LIPC_FD_FILE && (!path || !*path))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: a file needs a path", what);
  if ((kind == LIPC_FD_FILE || kind == LIPC_FD_NULL) && (flags & ~63))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: unknown file flags %#x", what, flags);
  if (kind == LIPC_FD_FILE && !(flags & (LIPC_FILE_READ | LIPC_FILE_WRITE | LIPC_FILE_APPEND)))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: file flags must say read, write or append", what);
  if (kind == LIPC_FD_PARENT && (arg == 0 || arg == -1 || (flags & ~LIPC_FD_CLOSE_PARENT)))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: bad parent handle %d or flags %#x", what, arg,
                      flags);
  if (kind == LIPC_FD_CHILD && (arg < 0 || arg > LIPC_WIN_MAX_CHILD_FD || arg == child_fd))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: child fd %d cannot refer to child fd %d", what,
                      child_fd, arg);
  if (kind == LIPC_FD_INHERIT && child_fd > 2)
    return notsup(what, "LIPC_FD_INHERIT above fd 2: Windows shares no fd numbers with the child "
                  "(pass the parent's HANDLE as LIPC_FD_PARENT)");
  WITH_ATTR(h, set_fd(a, child_fd, kind, arg, path, flags));
}

static int set_limit(struct lipc_wspawnattr *a, int resource, int64_t v) {
  switch (resource) {
    case LIPC_RLIMIT_AS:
    case LIPC_RLIMIT_DATA: a->mem_limit = v; break;
    case LIPC_RLIMIT_CPU: a->cpu_limit = v; break;
    case LIPC_RLIMIT_NPROC: a->nproc_limit = v; break;
  }
  return LIPC_OK;
}

int lipc_spawnattr_set_rlimit(lipc_handle_t h, int resource, int64_t soft, int64_t hard) {
  const char *what = "spawnattr_set_rlimit";
  if (resource < LIPC_RLIMIT_CPU || resource > LIPC_RLIMIT_MEMLOCK)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: unknown resource %d", what, resource);
  if (soft < LIPC_RLIM_INFINITY || hard < LIPC_RLIM_INFINITY)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: negative limit", what);
  if (hard != LIPC_RLIM_INFINITY && (soft == LIPC_RLIM_INFINITY || soft > hard))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: soft limit above the hard limit", what);
  if (resource != LIPC_RLIMIT_AS && resource != LIPC_RLIMIT_DATA && resource != LIPC_RLIMIT_CPU &&
      resource != LIPC_RLIMIT_NPROC)
    return notsup(what, "Windows job objects limit only memory (RLIMIT_AS, RLIMIT_DATA), CPU time "
                  "(RLIMIT_CPU) and processes (RLIMIT_NPROC)");
  /* One limit on Windows, where Linux has two: the soft one, the one that
   * bites first on Linux too (infinity: no limit). */
  if (soft != LIPC_RLIM_INFINITY && resource == LIPC_RLIMIT_NPROC && soft > UINT32_MAX) soft = UINT32_MAX;
  WITH_ATTR(h, set_limit(a, resource, soft));
}

int lipc_spawnattr_set_autokill(lipc_handle_t h, int sig) {
  if (sig < 0 || sig > 64)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_autokill: %d is not a signal", sig);
  WITH_ATTR(h, (a->autokill = sig, LIPC_OK));
}

int lipc_spawnattr_set_on_close(lipc_handle_t h, int policy, int64_t grace_ms) {
  if ((policy != LIPC_ON_CLOSE_LEAVE && policy != LIPC_ON_CLOSE_STOP) || grace_ms < 0)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_on_close: bad policy %d or grace %lld",
                      policy, (long long)grace_ms);
  WITH_ATTR(h, (a->on_close = policy, a->grace_ms = grace_ms, LIPC_OK));
}

static int check_id(int64_t id, const char *what) {
  if (id < -1 || id >= (int64_t)UINT32_MAX)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: %lld is not -1 or an id from 0 to %u", what,
                      (long long)id, UINT32_MAX - 1);
  if (id != -1) return notsup(what, "Windows has no uids and gids (a child of another user needs CreateProcessAsUser)");
  return LIPC_OK;
}

int lipc_spawnattr_set_user(lipc_handle_t h, int64_t uid) {
  int rc = check_id(uid, "spawnattr_set_user");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, LIPC_OK);
}

int lipc_spawnattr_set_group(lipc_handle_t h, int64_t gid) {
  int rc = check_id(gid, "spawnattr_set_group");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, LIPC_OK);
}

int lipc_spawnattr_groups_clear(lipc_handle_t h) {
  WITH_ATTR(h, notsup("spawnattr_groups_clear", "Windows has no supplementary groups to set"));
}

int lipc_spawnattr_groups_add(lipc_handle_t h, int64_t gid) {
  if (gid < 0 || gid >= (int64_t)UINT32_MAX)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_groups_add: %lld is not a group id",
                      (long long)gid);
  WITH_ATTR(h, notsup("spawnattr_groups_add", "Windows has no supplementary groups to set"));
}

int lipc_spawnattr_set_pipesize(lipc_handle_t h, int64_t bytes) {
  if (bytes > INT32_MAX)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_pipesize: %lld bytes is too big",
                      (long long)bytes);
  WITH_ATTR(h, (a->pipesize = bytes < 0 ? 0 : bytes, LIPC_OK));
}

int lipc_spawnattr_set_keep_fds(lipc_handle_t h, int keep) {
  WITH_ATTR(h, (a->keep_fds = keep != 0, LIPC_OK));
}

int lipc_spawnattr_set_sigreset(lipc_handle_t h, int mode) {
  if (mode != LIPC_SIGRESET_CAUGHT && mode != LIPC_SIGRESET_ALL)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_sigreset: unknown mode %d", mode);
  WITH_ATTR(h, LIPC_OK); /* no signal dispositions on Windows: nothing to reset */
}

int lipc_spawnattr_set_sigdefault(lipc_handle_t h, int sig, int on) {
  (void)on;
  if (sig < 1 || sig > 64)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_set_sigdefault: %d is not a signal", sig);
  WITH_ATTR(h, LIPC_OK); /* no signal dispositions on Windows */
}
