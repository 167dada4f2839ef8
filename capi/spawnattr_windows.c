/* spawnattr_windows.c - lipc_spawnattr_* on Windows: the same setters and
 * checks as on Linux (the checks and string storage are shared:
 * spawnattr_args.c), copying their arguments into a C object behind a
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
#include "spawnattr_args.h"

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

static int notsup(const char *what, const char *why) {
  return lipc__fail(LIPC_ENOTSUP, ERROR_NOT_SUPPORTED, "%s: %s", what, why);
}

static int add_arg(struct lipc_wspawnattr *a, const char *arg) {
  if (a->shell) { /* arguments after a shell command: a new argv */
    free(a->shell);
    a->shell = NULL;
  }
  return lipc__sa_push(&a->args, &a->nargs, &a->capargs, arg, "spawnattr_arg");
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
  int rc = lipc__sa_set_str(&a->shell, cmd);
  if (rc == LIPC_OK && !a->shell && !(a->shell = strdup(""))) rc = lipc__sa_oom("spawnattr_shell");
  static const char *const argv[] = {"cmd.exe", "/d", "/s", "/c"};
  for (int i = 0; i < 4 && rc == LIPC_OK; i++) rc = lipc__sa_push(&a->args, &a->nargs, &a->capargs, argv[i], "spawnattr_shell");
  if (rc == LIPC_OK) rc = lipc__sa_push(&a->args, &a->nargs, &a->capargs, cmd, "spawnattr_shell");
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
  WITH_ATTR(h, lipc__sa_set_str(&a->program, program));
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

int lipc_spawnattr_env_set(lipc_handle_t h, const char *name, const char *value) {
  int rc = lipc__sa_check_env_name(name, 1 /* Windows' own rule: "=C:" names a drive's working directory */, "spawnattr_env_set");
  if (rc != LIPC_OK) return rc;
  if (!value)
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "spawnattr_env_set: value must not be NULL");
  WITH_ATTR(h, lipc__sa_env_push(&a->env_ops, &a->nenv, &a->capenv, '+', name, value, "spawnattr_env_set"));
}

int lipc_spawnattr_env_unset(lipc_handle_t h, const char *name) {
  int rc = lipc__sa_check_env_name(name, 1, "spawnattr_env_unset");
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, lipc__sa_env_push(&a->env_ops, &a->nenv, &a->capenv, '-', name, NULL, "spawnattr_env_unset"));
}

int lipc_spawnattr_set_cwd(lipc_handle_t h, const char *dir) { WITH_ATTR(h, lipc__sa_set_str(&a->cwd, dir)); }

int lipc_spawnattr_set_umask(lipc_handle_t h, int mask) {
  int rc = lipc__sa_check_umask(mask);
  if (rc != LIPC_OK) return rc;
  if (mask != -1) return notsup("spawnattr_set_umask", "Windows has no umask (files get their folder's ACL)");
  WITH_ATTR(h, LIPC_OK);
}

int lipc_spawnattr_set_pgroup(lipc_handle_t h, int64_t pgid) {
  int rc = lipc__sa_check_pgroup(pgid);
  if (rc != LIPC_OK) return rc;
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
    if (!nf) return lipc__sa_oom("spawnattr_set_fd");
    memset(nf + a->nfds, 0, sizeof *nf * (size_t)(fd + 1 - a->nfds));
    a->fds = nf;
    a->nfds = fd + 1;
  }
  char *copy = NULL;
  if (kind == LIPC_FD_FILE && !(copy = strdup(path))) return lipc__sa_oom("spawnattr_set_fd");
  struct lipc_wfdspec *s = &a->fds[fd];
  free(s->path);
  *s = (struct lipc_wfdspec){.set = 1, .kind = kind, .arg = arg, .flags = flags, .path = copy};
  return LIPC_OK;
}

int lipc_spawnattr_set_fd(lipc_handle_t h, int child_fd, int kind, int arg, const char *path,
                          int flags, uint32_t mode) {
  const char *what = "spawnattr_set_fd";
  (void)mode; /* Windows files get their folder's ACL */
  int rc = lipc__sa_check_fd(child_fd, kind, arg, path, flags);
  if (rc != LIPC_OK) return rc;
  if (kind == LIPC_FD_PARENT && (arg == 0 || arg == -1 || (flags & ~LIPC_FD_CLOSE_PARENT)))
    return lipc__fail(LIPC_EINVAL, ERROR_INVALID_PARAMETER, "%s: bad parent handle %d or flags %#x", what, arg,
                      flags);
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
  int rc = lipc__sa_check_rlimit(resource, soft, hard);
  if (rc != LIPC_OK) return rc;
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
  int rc = lipc__sa_check_autokill(sig);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, (a->autokill = sig, LIPC_OK));
}

int lipc_spawnattr_set_on_close(lipc_handle_t h, int policy, int64_t grace_ms) {
  int rc = lipc__sa_check_on_close(policy, grace_ms);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, (a->on_close = policy, a->grace_ms = grace_ms, LIPC_OK));
}

static int check_id(int64_t id, const char *what) {
  int rc = lipc__sa_check_id(id, what);
  if (rc != LIPC_OK) return rc;
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
  int rc = lipc__sa_check_group(gid);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, notsup("spawnattr_groups_add", "Windows has no supplementary groups to set"));
}

int lipc_spawnattr_set_pipesize(lipc_handle_t h, int64_t bytes) {
  int rc = lipc__sa_check_pipesize(bytes);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, (a->pipesize = bytes < 0 ? 0 : bytes, LIPC_OK));
}

int lipc_spawnattr_set_keep_fds(lipc_handle_t h, int keep) {
  WITH_ATTR(h, (a->keep_fds = keep != 0, LIPC_OK));
}

int lipc_spawnattr_set_sigreset(lipc_handle_t h, int mode) {
  int rc = lipc__sa_check_sigreset(mode);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, LIPC_OK); /* no signal dispositions on Windows: nothing to reset */
}

int lipc_spawnattr_set_sigdefault(lipc_handle_t h, int sig, int on) {
  (void)on;
  int rc = lipc__sa_check_sigdefault(sig);
  if (rc != LIPC_OK) return rc;
  WITH_ATTR(h, LIPC_OK); /* no signal dispositions on Windows */
}
