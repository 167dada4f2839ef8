/* proc_stubs_windows.c - processes, spawn attributes, fds and the environment on Windows: NOT YET BUILT. Every
 * entry point answers LIPC_ENOTSUP until the module's own files replace
 * this one. */
#include "internal.h"

void lipc__proc_free_kind(int kind, void *obj) { (void)kind, (void)obj; }
void lipc__proc_closing_kind(int kind, void *obj, int in_use) { (void)kind, (void)obj, (void)in_use; }


int lipc_spawnattr_new(lipc_handle_t *attr) {
  (void)attr;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_new: not yet available on Windows");
}

int lipc_spawnattr_arg(lipc_handle_t attr, const char *arg) {
  (void)attr;
  (void)arg;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_arg: not yet available on Windows");
}

int lipc_spawnattr_shell(lipc_handle_t attr, const char *command) {
  (void)attr;
  (void)command;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_shell: not yet available on Windows");
}

int lipc_spawnattr_set_program(lipc_handle_t attr, const char *program) {
  (void)attr;
  (void)program;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_program: not yet available on Windows");
}

int lipc_spawnattr_set_search(lipc_handle_t attr, int search) {
  (void)attr;
  (void)search;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_search: not yet available on Windows");
}

int lipc_spawnattr_env_clear(lipc_handle_t attr) {
  (void)attr;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_env_clear: not yet available on Windows");
}

int lipc_spawnattr_env_set(lipc_handle_t attr, const char *name, const char *value) {
  (void)attr;
  (void)name;
  (void)value;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_env_set: not yet available on Windows");
}

int lipc_spawnattr_env_unset(lipc_handle_t attr, const char *name) {
  (void)attr;
  (void)name;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_env_unset: not yet available on Windows");
}

int lipc_spawnattr_set_cwd(lipc_handle_t attr, const char *dir) {
  (void)attr;
  (void)dir;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_cwd: not yet available on Windows");
}

int lipc_spawnattr_set_umask(lipc_handle_t attr, int mask) {
  (void)attr;
  (void)mask;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_umask: not yet available on Windows");
}

int lipc_spawnattr_set_pgroup(lipc_handle_t attr, int64_t pgid) {
  (void)attr;
  (void)pgid;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_pgroup: not yet available on Windows");
}

int lipc_spawnattr_set_setsid(lipc_handle_t attr, int setsid) {
  (void)attr;
  (void)setsid;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_setsid: not yet available on Windows");
}

int lipc_spawnattr_set_fd(lipc_handle_t attr, int child_fd, int kind, int arg, const char *path, int flags, uint32_t mode) {
  (void)attr;
  (void)child_fd;
  (void)kind;
  (void)arg;
  (void)path;
  (void)flags;
  (void)mode;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_fd: not yet available on Windows");
}

int lipc_spawnattr_set_rlimit(lipc_handle_t attr, int resource, int64_t soft, int64_t hard) {
  (void)attr;
  (void)resource;
  (void)soft;
  (void)hard;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_rlimit: not yet available on Windows");
}

int lipc_spawnattr_set_autokill(lipc_handle_t attr, int sig) {
  (void)attr;
  (void)sig;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_autokill: not yet available on Windows");
}

int lipc_spawnattr_set_on_close(lipc_handle_t attr, int policy, int64_t grace_ms) {
  (void)attr;
  (void)policy;
  (void)grace_ms;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_on_close: not yet available on Windows");
}

int lipc_spawnattr_set_user(lipc_handle_t attr, int64_t uid) {
  (void)attr;
  (void)uid;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_user: not yet available on Windows");
}

int lipc_spawnattr_set_group(lipc_handle_t attr, int64_t gid) {
  (void)attr;
  (void)gid;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_group: not yet available on Windows");
}

int lipc_spawnattr_groups_clear(lipc_handle_t attr) {
  (void)attr;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_groups_clear: not yet available on Windows");
}

int lipc_spawnattr_groups_add(lipc_handle_t attr, int64_t gid) {
  (void)attr;
  (void)gid;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_groups_add: not yet available on Windows");
}

int lipc_spawnattr_set_pipesize(lipc_handle_t attr, int64_t bytes) {
  (void)attr;
  (void)bytes;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_pipesize: not yet available on Windows");
}

int lipc_spawnattr_set_keep_fds(lipc_handle_t attr, int keep) {
  (void)attr;
  (void)keep;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_keep_fds: not yet available on Windows");
}

int lipc_spawnattr_set_sigreset(lipc_handle_t attr, int mode) {
  (void)attr;
  (void)mode;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_sigreset: not yet available on Windows");
}

int lipc_spawnattr_set_sigdefault(lipc_handle_t attr, int sig, int on) {
  (void)attr;
  (void)sig;
  (void)on;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "spawnattr_set_sigdefault: not yet available on Windows");
}

int lipc_proc_spawn(lipc_handle_t attr, lipc_handle_t *proc) {
  (void)attr;
  (void)proc;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_spawn: not yet available on Windows");
}

int lipc_proc_pid(lipc_handle_t proc, int64_t *pid) {
  (void)proc;
  (void)pid;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_pid: not yet available on Windows");
}

int lipc_proc_path(lipc_handle_t proc, char *buf, size_t size, size_t *needed) {
  (void)proc;
  (void)buf;
  (void)size;
  (void)needed;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_path: not yet available on Windows");
}

int lipc_proc_take_fd(lipc_handle_t proc, int child_fd, int *fd) {
  (void)proc;
  (void)child_fd;
  (void)fd;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_take_fd: not yet available on Windows");
}

int lipc_proc_close_fd(lipc_handle_t proc, int child_fd) {
  (void)proc;
  (void)child_fd;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_close_fd: not yet available on Windows");
}

int lipc_proc_kill(lipc_handle_t proc, int sig, int group) {
  (void)proc;
  (void)sig;
  (void)group;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_kill: not yet available on Windows");
}

int lipc_proc_wait(lipc_handle_t proc, int64_t timeout_ms, int *code, int *sig) {
  (void)proc;
  (void)timeout_ms;
  (void)code;
  (void)sig;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_wait: not yet available on Windows");
}

int lipc_proc_stop(lipc_handle_t proc, int64_t grace_ms, int group, int *code, int *sig) {
  (void)proc;
  (void)grace_ms;
  (void)group;
  (void)code;
  (void)sig;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_stop: not yet available on Windows");
}

int lipc_proc_info(lipc_handle_t proc, int what, int64_t *value) {
  (void)proc;
  (void)what;
  (void)value;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_info: not yet available on Windows");
}

int lipc_proc_communicate(lipc_handle_t proc, const void *input, size_t input_len, size_t max_output, int64_t timeout_ms, char **out, size_t *out_len, char **err, size_t *err_len) {
  (void)proc;
  (void)input;
  (void)input_len;
  (void)max_output;
  (void)timeout_ms;
  (void)out;
  (void)out_len;
  (void)err;
  (void)err_len;
  return lipc__fail(LIPC_ENOTSUP, ERROR_CALL_NOT_IMPLEMENTED, "proc_communicate: not yet available on Windows");
}







