/* test_spawn_attrs.c - the spawn attributes subprocess has and lipc added
 * for it: signal dispositions (ignored signals kept, sigdefault, full
 * reset), user, group, supplementary groups, pipe size, keep_fds. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

/* The child's SigIgn and SigCgt masks from /proc/self/status (grep's own:
 * it catches SIGSEGV itself). */
static int child_sig_masks(lipc_handle_t a, unsigned long long *ign, unsigned long long *cgt) {
  lipc_spawnattr_shell(a, "grep -E '^Sig(Ign|Cgt)' /proc/self/status");
  char *out = NULL;
  int code = -1, sig = -1;
  int rc = run_capture(a, &out, &code, &sig);
  if (rc != 0 || code != 0 || !out) return -1;
  char *s = strstr(out, "SigIgn:"), *c = strstr(out, "SigCgt:");
  int ok = s && c && sscanf(s, "SigIgn: %llx", ign) == 1 && sscanf(c, "SigCgt: %llx", cgt) == 1;
  lipc_free(out);
  return ok ? 0 : -1;
}

#define BIT(sig) (1ULL << ((sig) - 1))

static void on_usr2(int sig) { (void)sig; }

static void test_signal_dispositions(void) {
  struct sigaction ign = {.sa_handler = SIG_IGN}, caught = {.sa_handler = on_usr2, .sa_flags = SA_ONSTACK};
  struct sigaction old_usr1, old_usr2, old_hup;
  sigaction(SIGUSR1, &ign, &old_usr1);
  sigaction(SIGHUP, &ign, &old_hup); /* as nohup does */
  sigaction(SIGUSR2, &caught, &old_usr2);
  lipc_handle_t a;
  unsigned long long ignm = 0, cgtm = 0;
  lipc_spawnattr_new(&a);
  CHECK(child_sig_masks(a, &ignm, &cgtm) == 0, "%s", lipc_last_error());
  CHECK((ignm & BIT(SIGUSR1)) && (ignm & BIT(SIGHUP)), "default: an ignored signal stays ignored: %llx", ignm);
  CHECK(!(ignm & BIT(SIGUSR2)) && !(cgtm & BIT(SIGUSR2)), "a caught one is default: ign %llx cgt %llx", ignm, cgtm);
  CHECK(lipc_spawnattr_set_sigdefault(a, SIGUSR1, 1) == 0, "sigdefault");
  CHECK(child_sig_masks(a, &ignm, &cgtm) == 0, "%s", lipc_last_error());
  CHECK(!(ignm & BIT(SIGUSR1)) && (ignm & BIT(SIGHUP)), "sigdefault resets that one only: %llx", ignm);
  CHECK(lipc_spawnattr_set_sigdefault(a, SIGUSR1, 0) == 0, "sigdefault off");
  CHECK(child_sig_masks(a, &ignm, &cgtm) == 0 && (ignm & BIT(SIGUSR1)), "undone: %llx", ignm);
  CHECK(lipc_spawnattr_set_sigreset(a, LIPC_SIGRESET_ALL) == 0, "sigreset all");
  CHECK(child_sig_masks(a, &ignm, &cgtm) == 0 && ignm == 0 && !(cgtm & BIT(SIGUSR2)), "full reset: %llx %llx", ignm, cgtm);
  CHECK(lipc_spawnattr_set_sigreset(a, 2) == LIPC_EINVAL, "unknown mode");
  CHECK(lipc_spawnattr_set_sigdefault(a, 0, 1) == LIPC_EINVAL, "signal 0");
  CHECK(lipc_spawnattr_set_sigdefault(a, 65, 1) == LIPC_EINVAL, "signal 65");
  lipc_close(a);
  sigaction(SIGUSR1, &old_usr1, NULL);
  sigaction(SIGUSR2, &old_usr2, NULL);
  sigaction(SIGHUP, &old_hup, NULL);
}

static void test_credentials(void) {
  lipc_handle_t a;
  lipc_spawnattr_new(&a);
  CHECK(lipc_spawnattr_set_user(a, -2) == LIPC_EINVAL, "uid -2");
  CHECK(lipc_spawnattr_set_user(a, 4294967295LL) == LIPC_EINVAL, "uid (uid_t)-1");
  CHECK(lipc_spawnattr_set_group(a, -2) == LIPC_EINVAL, "gid -2");
  CHECK(lipc_spawnattr_groups_add(a, -1) == LIPC_EINVAL, "group -1");
  if (geteuid() != 0) {
    /* unprivileged: a change of user is refused at spawn, with its step */
    lipc_spawnattr_shell(a, "true");
    lipc_spawnattr_set_user(a, 0);
    lipc_handle_t p;
    CHECK(lipc_proc_spawn(a, &p) == LIPC_EPERM && strstr(lipc_last_error(), "setresuid"), "%s",
          lipc_last_error());
    printf("(not root: user, group and groups checked for refusal only)\n");
    lipc_close(a);
    return;
  }
  CHECK(lipc_spawnattr_set_user(a, 65534) == 0 && lipc_spawnattr_set_group(a, 65533) == 0, "set");
  CHECK(lipc_spawnattr_groups_add(a, 7) == 0 && lipc_spawnattr_groups_add(a, 9) == 0, "groups");
  lipc_spawnattr_set_autokill(a, SIGKILL);
  lipc_spawnattr_shell(a, "echo $(id -u) $(id -g) $(id -G)");
  char *out = NULL;
  int code = -1, sig = -1;
  CHECK(run_capture(a, &out, &code, &sig) == 0 && code == 0, "%s", lipc_last_error());
  CHECK(out && strcmp(out, "65534 65533 65533 7 9\n") == 0, "id: %s", out ? out : "(null)");
  lipc_free(out);
  lipc_spawnattr_groups_clear(a);
  lipc_spawnattr_shell(a, "id -G");
  CHECK(run_capture(a, &out, &code, &sig) == 0 && out && strcmp(out, "65533\n") == 0, "no extra groups: %s",
        out ? out : "(null)");
  lipc_free(out);
  lipc_close(a);
}

static void test_pipesize(void) {
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  CHECK(lipc_spawnattr_set_pipesize(a, 1LL << 40) == LIPC_EINVAL, "too big");
  lipc_spawnattr_arg(a, "cat");
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  int fd0 = -1, fd1 = -1;
  CHECK(lipc_proc_spawn(a, &p) == 0, "%s", lipc_last_error());
  lipc_proc_take_fd(p, 0, &fd0);
  int dflt = fcntl(fd0, F_GETPIPE_SZ);
  close(fd0);
  lipc_proc_wait(p, 5000, NULL, NULL);
  lipc_close(p);
  CHECK(lipc_spawnattr_set_pipesize(a, 4 * dflt) == 0, "set");
  CHECK(lipc_proc_spawn(a, &p) == 0, "%s", lipc_last_error());
  CHECK(lipc_proc_take_fd(p, 0, &fd0) == 0 && lipc_proc_take_fd(p, 1, &fd1) == 0, "take");
  CHECK(fcntl(fd0, F_GETPIPE_SZ) == 4 * dflt && fcntl(fd1, F_GETPIPE_SZ) == 4 * dflt, "size %d, %d (default %d)",
        fcntl(fd0, F_GETPIPE_SZ), fcntl(fd1, F_GETPIPE_SZ), dflt);
  close(fd0);
  close(fd1);
  lipc_proc_wait(p, 5000, NULL, NULL);
  lipc_close(p);
  lipc_close(a);
}

/* Whether the child sees fd at /proc/self/fd. */
static int child_has_fd(lipc_handle_t a, int fd) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "test -e /proc/self/fd/%d", fd);
  lipc_spawnattr_shell(a, cmd);
  lipc_handle_t p;
  int code = -1;
  if (lipc_proc_spawn(a, &p) != 0) return -1;
  lipc_proc_wait(p, 5000, &code, NULL);
  lipc_close(p);
  return code == 0;
}

static void test_keep_fds(void) {
  int plain = open("/dev/null", O_RDONLY);      /* no close-on-exec, as LuaJIT's io.open */
  int cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
  lipc_handle_t a;
  lipc_spawnattr_new(&a);
  CHECK(child_has_fd(a, plain) == 0, "default: a stray fd is closed");
  CHECK(lipc_spawnattr_set_keep_fds(a, 1) == 0, "keep");
  CHECK(child_has_fd(a, plain) == 1, "keep_fds: a stray fd reaches the child");
  CHECK(child_has_fd(a, cloexec) == 0, "keep_fds: a close-on-exec fd does not");
  /* an unset entry of the map below a set one is kept too */
  lipc_spawnattr_set_fd(a, plain + 1, LIPC_FD_NULL, 0, NULL, 0, 0);
  CHECK(child_has_fd(a, plain) == 1, "keep_fds: unset map entry left as it is");
  lipc_spawnattr_set_keep_fds(a, 0);
  CHECK(child_has_fd(a, plain) == 0, "off again");
  lipc_close(a);
  close(plain);
  close(cloexec);
}

/* An fd the child keeps at its own number (the standard fds by default,
 * or fd k <- parent fd k) reaches the child even when the parent marked it
 * close-on-exec, and the parent's flag stays set: the child clears it in
 * its own fd table only. Beside it, 2>&1 reads fd 1 while fd 1 stays put,
 * and a parent fd that is closed fails a plain entry at its own number
 * (lipc_proc_spawn sees it before the clone). */
static void test_fds_kept_at_their_number(void) {
  int saved[3], fl[3];
  for (int fd = 0; fd < 3; fd++) {
    saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    fl[fd] = fcntl(fd, F_GETFD);
  }
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) != 0) perror("pipe2");
  dup3(pp[1], 1, O_CLOEXEC); /* stdout: the pipe, close-on-exec */
  close(pp[1]);
  for (int fd = 0; fd < 3; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  /* An fd of this test's own, at the lowest free number from 20: never a
   * fixed number, which may be one of the Go runtime's (its epoll fd is
   * often 5; replacing or closing it ends the process). */
  int dn = open("/dev/null", O_RDONLY | O_CLOEXEC), k = fcntl(dn, F_DUPFD_CLOEXEC, 20);
  close(dn);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "test -e /proc/self/fd/0 && test -e /proc/self/fd/%d && echo out && echo err >&2", k);
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, cmd);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_CHILD, 1, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, k, LIPC_FD_PARENT, k, NULL, 0, 0);
  int rc = lipc_proc_spawn(a, &p), code = -1;
  if (rc == 0) lipc_proc_wait(p, 5000, &code, NULL), lipc_close(p);
  int flags_after[3];
  for (int fd = 0; fd < 3; fd++) flags_after[fd] = fcntl(fd, F_GETFD);
  int k_after = fcntl(k, F_GETFD);
  for (int fd = 0; fd < 3; fd++) {
    dup3(saved[fd], fd, 0);
    fcntl(fd, F_SETFD, fl[fd]);
    close(saved[fd]);
  }
  char buf[64] = {0};
  ssize_t n = read(pp[0], buf, sizeof buf - 1);
  CHECK(rc == 0 && code == 0, "spawn %d (%s), exit %d", rc, lipc_error_name(rc), code);
  CHECK(n == 8 && strcmp(buf, "out\nerr\n") == 0, "stdout and 2>&1 reached the pipe: [%s]", buf);
  CHECK(flags_after[0] == FD_CLOEXEC && flags_after[1] == FD_CLOEXEC && flags_after[2] == FD_CLOEXEC &&
            k_after == FD_CLOEXEC,
        "the parent's flags stay: %d %d %d %d", flags_after[0], flags_after[1], flags_after[2], k_after);
  close(k);
  lipc_spawnattr_shell(a, "true");
  rc = lipc_proc_spawn(a, &p);
  char want[64];
  snprintf(want, sizeof want, "parent fd %d is not open", k);
  CHECK(rc == LIPC_EINVAL && strstr(lipc_last_error(), want),
        "a closed parent fd at its own number fails the spawn: %s (%s)", lipc_error_name(rc), lipc_last_error());
  if (rc == LIPC_OK) lipc_close(p);
  close(pp[0]);
  lipc_close(a);
}

int main(void) {
  test_fds_kept_at_their_number();
  test_signal_dispositions();
  test_credentials();
  test_pipesize();
  test_keep_fds();
  return check_summary();
}
