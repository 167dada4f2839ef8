/* test_proc.c - processes through the C API: spawning, fd maps, limits,
 * autokill, waits, signals, communicate, figures, quoting, environment. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

static void test_basic_and_path(void) {
  lipc_handle_t a = attr_of("echo", "hello", "world", NULL), p;
  char *out = NULL;
  int code = -9, sig = -9;
  CHECK(run_capture(a, &out, &code, &sig) == 0, "%s", lipc_last_error());
  CHECK(out && strcmp(out, "hello world\n") == 0 && code == 0 && sig == 0, "out %s code %d", out, code);
  lipc_free(out);
  CHECK(lipc_proc_spawn(a, &p) == 0, "attr reusable");
  char path[256];
  size_t need = 0;
  CHECK(lipc_proc_path(p, path, sizeof path, &need) == 0 && strstr(path, "/echo"), "path %s", path);
  CHECK(lipc_proc_path(p, path, 2, &need) == LIPC_ERANGE && need == strlen(path) + 1, "small buf");
  int64_t pid = 0;
  CHECK(lipc_proc_pid(p, &pid) == 0 && pid > 1, "pid");
  CHECK(lipc_proc_wait(p, 5000, &code, NULL) == 0 && code == 0, "wait");
  CHECK(lipc_proc_wait(p, 0, &code, NULL) == 0, "second wait returns the same");
  lipc_close(p);
  lipc_close(a);
}

static void test_exit_vs_signal(void) {
  lipc_handle_t a, p;
  int code, sig;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "exit 42");
  lipc_proc_spawn(a, &p);
  CHECK(lipc_proc_wait(p, 5000, &code, &sig) == 0 && code == 42 && sig == 0, "code %d sig %d", code, sig);
  lipc_close(p);
  lipc_spawnattr_shell(a, "kill -KILL $$");
  lipc_proc_spawn(a, &p);
  CHECK(lipc_proc_wait(p, 5000, &code, &sig) == 0 && code == -1 && sig == SIGKILL, "code %d sig %d", code, sig);
  lipc_close(p);
  /* kill, stop with grace: a TERM-ignoring child is KILLed after the grace */
  lipc_spawnattr_shell(a, "trap '' TERM; sleep 10");
  lipc_proc_spawn(a, &p);
  int64_t pid = 0;
  lipc_proc_pid(p, &pid);
  CHECK(ignores_within(pid, SIGTERM, 10000), "the shell never set its trap");
  double t0 = now_ms();
  CHECK(lipc_proc_stop(p, 200, 0, &code, &sig) == 0 && sig == SIGKILL, "stop: sig %d", sig);
  CHECK(now_ms() - t0 >= 190, "killed before the grace");
  CHECK(lipc_proc_kill(p, SIGTERM, 0) == LIPC_ENOENT, "kill after exit");
  lipc_close(p);
  lipc_spawnattr_shell(a, "sleep 10");
  lipc_proc_spawn(a, &p);
  CHECK(lipc_proc_kill(p, 0, 0) == 0, "alive");
  CHECK(lipc_proc_kill(p, SIGTERM, 1) == LIPC_EINVAL, "group kill of a non-leader refused");
  CHECK(lipc_proc_stop(p, 5000, 0, &code, &sig) == 0 && sig == SIGTERM, "stop: TERM %d", sig);
  lipc_close(p);
  lipc_close(a);
}

static void test_start_failures(void) {
  struct {
    const char *prog;
    const char *cwd;
    int search;
    int want;
  } cases[] = {
      {"no-such-program-lipc", NULL, 1, LIPC_ENOENT},
      {"/nonexistent/prog", NULL, 1, LIPC_ENOENT},
      {"/etc/passwd", NULL, 1, LIPC_EPERM},      /* not executable */
      {"/tmp", NULL, 1, LIPC_EPERM},             /* a directory */
      {"/bin/true", "/nonexistent-dir", 1, LIPC_ENOENT},
      {"true", NULL, 0, LIPC_ENOENT},            /* no search: relative path */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lipc_handle_t a = attr_of(cases[i].prog, NULL), p;
    if (cases[i].cwd) lipc_spawnattr_set_cwd(a, cases[i].cwd);
    lipc_spawnattr_set_search(a, cases[i].search);
    int rc = lipc_proc_spawn(a, &p);
    CHECK(rc == cases[i].want, "%s: rc %d (%s), want %d", cases[i].prog, rc, lipc_last_error(), cases[i].want);
    CHECK(lipc_errno() != 0, "errno kept");
    lipc_close(a);
  }
  /* not a program: ENOEXEC */
  char tmp[] = "/tmp/lipc-noexec-XXXXXX";
  int fd = mkstemp(tmp);
  if (write(fd, "\x01\x02garbage", 9) != 9) perror("write");
  fchmod(fd, 0755);
  close(fd);
  lipc_handle_t a = attr_of(tmp, NULL), p;
  int rc = lipc_proc_spawn(a, &p);
  CHECK(rc == LIPC_EOS_BASE - ENOEXEC, "noexec: %d %s", rc, lipc_last_error());
  unlink(tmp);
  lipc_close(a);
  /* bad input */
  lipc_spawnattr_new(&a);
  CHECK(lipc_proc_spawn(a, &p) == LIPC_EINVAL, "empty argv");
  CHECK(strstr(lipc_last_error(), "empty argv") != NULL, "%s", lipc_last_error());
  lipc_spawnattr_arg(a, "/bin/true");
  CHECK(lipc_spawnattr_set_fd(a, -1, LIPC_FD_NULL, 0, NULL, 0, 0) == LIPC_EINVAL, "fd -1");
  CHECK(lipc_spawnattr_set_fd(a, 5000, LIPC_FD_NULL, 0, NULL, 0, 0) == LIPC_EINVAL, "fd 5000");
  CHECK(lipc_spawnattr_set_fd(a, 3, 99, 0, NULL, 0, 0) == LIPC_EINVAL, "kind");
  CHECK(lipc_spawnattr_set_fd(a, 3, LIPC_FD_FILE, 0, NULL, LIPC_FILE_READ, 0) == LIPC_EINVAL, "no path");
  CHECK(lipc_spawnattr_set_fd(a, 2, LIPC_FD_CHILD, 2, NULL, 0, 0) == LIPC_EINVAL, "self ref");
  CHECK(lipc_spawnattr_set_rlimit(a, 99, 1, 1) == LIPC_EINVAL, "resource");
  CHECK(lipc_spawnattr_set_rlimit(a, LIPC_RLIMIT_CPU, 5, 2) == LIPC_EINVAL, "soft > hard");
  CHECK(lipc_spawnattr_env_set(a, "A=B", "x") == LIPC_EINVAL, "env name");
  CHECK(lipc_spawnattr_set_umask(a, 01000) == LIPC_EINVAL, "umask");
  CHECK(lipc_spawnattr_set_fd(a, 3, LIPC_FD_PARENT, 987, NULL, 0, 0) == 0, "set");
  CHECK(lipc_proc_spawn(a, &p) == LIPC_EINVAL && strstr(lipc_last_error(), "bad fd map"), "%s", lipc_last_error());
  lipc_spawnattr_set_fd(a, 3, LIPC_FD_FILE, 0, "/nonexistent/file", LIPC_FILE_READ, 0);
  CHECK(lipc_proc_spawn(a, &p) == LIPC_ENOENT && strstr(lipc_last_error(), "/nonexistent/file"), "%s", lipc_last_error());
  lipc_close(a);
  CHECK(lipc_spawnattr_arg(a, "x") == LIPC_EBADHANDLE, "closed attr");
  CHECK(lipc_proc_spawn(a, &p) == LIPC_EBADHANDLE, "closed attr spawn");
  CHECK(lipc_proc_wait(a, 0, NULL, NULL) == LIPC_EBADHANDLE, "attr as proc");
}

static void test_env(void) {
  setenv("LIPC_T_HOST", "seen", 1); /* the live C environ, as LuaJIT's setenv */
  lipc_handle_t a = attr_of("/usr/bin/env", NULL);
  lipc_spawnattr_env_unset(a, "HOME");
  lipc_spawnattr_env_set(a, "LIPC_T_NEW", "a b");
  char *out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0, "%s", lipc_last_error());
  CHECK(out && strstr(out, "LIPC_T_HOST=seen\n") && strstr(out, "LIPC_T_NEW=a b\n") && !strstr(out, "\nHOME="),
        "env %s", out);
  lipc_free(out);
  lipc_spawnattr_env_clear(a);
  lipc_spawnattr_env_set(a, "ONLY", "1");
  out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0 && out && strcmp(out, "ONLY=1\n") == 0, "replaced: %s", out);
  lipc_free(out);
  lipc_close(a);
  /* PATH of the child's environment is searched */
  a = attr_of("env", NULL);
  lipc_spawnattr_env_clear(a);
  lipc_spawnattr_env_set(a, "PATH", "/nonexistent");
  lipc_handle_t p;
  CHECK(lipc_proc_spawn(a, &p) == LIPC_ENOENT, "child PATH searched: %s", lipc_last_error());
  lipc_close(a);
  /* process environment helpers */
  char buf[64];
  size_t need;
  CHECK(lipc_env_set("LIPC_T_ENV", "v1") == 0 && lipc_env_get("LIPC_T_ENV", buf, sizeof buf, &need) == 0 &&
        strcmp(buf, "v1") == 0 && need == 3, "env_get");
  CHECK(strcmp(getenv("LIPC_T_ENV"), "v1") == 0, "host sees it");
  CHECK(lipc_env_get("LIPC_T_ENV", buf, 2, &need) == LIPC_ERANGE, "small");
  char *block;
  size_t len;
  CHECK(lipc_env_list(&block, &len) == 0 && memmem(block, len, "LIPC_T_ENV=v1\0", 14), "list");
  lipc_free(block);
  CHECK(lipc_env_unset("LIPC_T_ENV") == 0 && lipc_env_get("LIPC_T_ENV", buf, sizeof buf, NULL) == LIPC_ENOENT, "unset");
  CHECK(lipc_env_set("", "x") == LIPC_EINVAL && lipc_env_set("A=B", "x") == LIPC_EINVAL, "bad names");
}

/* /dev/null opened the way the flags say: LIPC_FILE_WRITE alone made a
 * read-only one before, and a child's write to it failed (EBADF). */
static int null_case(int child_fd, int flags, const char *script) {
  lipc_handle_t a = attr_of("/bin/sh", "-c", script, NULL), p;
  lipc_spawnattr_set_fd(a, child_fd, LIPC_FD_NULL, 0, NULL, flags, 0);
  int code = -1;
  if (lipc_proc_spawn(a, &p) == 0) {
    lipc_proc_wait(p, 10000, &code, NULL);
    lipc_close(p);
  }
  lipc_close(a);
  return code;
}

static void test_null_directions(void) {
  const char *write1 = "echo hi 2>/dev/null", *read0 = "cat >/dev/null 2>&1";
  CHECK(null_case(1, 0, write1) == 0, "fd 1, flags 0: written to");
  CHECK(null_case(1, LIPC_FILE_WRITE, write1) == 0, "fd 1, LIPC_FILE_WRITE: written to");
  CHECK(null_case(1, LIPC_FILE_READ | LIPC_FILE_WRITE, write1) == 0, "fd 1, read+write: written to");
  CHECK(null_case(1, LIPC_FILE_READ, write1) != 0, "fd 1, LIPC_FILE_READ: a write must fail");
  CHECK(null_case(0, 0, read0) == 0, "fd 0, flags 0: read from");
  CHECK(null_case(0, LIPC_FILE_READ, read0) == 0, "fd 0, LIPC_FILE_READ: read from");
  CHECK(null_case(0, LIPC_FILE_WRITE, read0) != 0, "fd 0, LIPC_FILE_WRITE: a read must fail");
}

static void test_fds(void) {
  /* a host file without close-on-exec is not in the child */
  int leak = open("/etc/hostname", O_RDONLY);
  lipc_handle_t a = attr_of("ls", "/proc/self/fd", NULL);
  char *out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0, "%s", lipc_last_error());
  int n = 0;
  for (char *s = out; s && *s; s++) n += *s == '\n';
  CHECK(n == 4, "child fds (0, 1, 2, ls's own): %d: %s", n, out);
  lipc_free(out);
  close(leak);
  lipc_close(a);
  /* a standard fd the parent has closed is closed in the child, even when
   * the pipe lipc opens for another takes its number; an open one is there */
  int saved0 = dup(0);
  close(0);
  a = attr_of("sh", "-c", "for i in 0 2; do [ -e /proc/self/fd/$i ] && echo open $i || echo closed $i; done",
              NULL);
  out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0, "%s", lipc_last_error());
  CHECK(out && strcmp(out, "closed 0\nopen 2\n") == 0, "parent's closed stdin: %s", out);
  lipc_free(out);
  dup2(saved0, 0);
  close(saved0);
  lipc_close(a);
  /* stderr into stdout, a file, /dev/null, a parent fd kept at a high number */
  char tmp[] = "/tmp/lipc-fd-XXXXXX";
  close(mkstemp(tmp));
  a = attr_of("sh", "-c", "echo out; echo err >&2; echo five >&5; cat <&7", NULL);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_CHILD, 1, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 5, LIPC_FD_FILE, 0, tmp, LIPC_FILE_WRITE | LIPC_FILE_TRUNC, 0);
  int pp[2];
  if (pipe(pp) != 0) perror("pipe");
  if (write(pp[1], "from-parent\n", 12) != 12) perror("write");
  close(pp[1]);
  lipc_spawnattr_set_fd(a, 7, LIPC_FD_PARENT, pp[0], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_NULL, 0, NULL, 0, 0);
  out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0, "%s", lipc_last_error());
  CHECK(out && strcmp(out, "out\nerr\nfrom-parent\n") == 0, "2>&1: %s", out);
  CHECK(fcntl(pp[0], F_GETFD) < 0, "parent fd closed after spawn");
  lipc_free(out);
  FILE *f = fopen(tmp, "r");
  char line[32] = {0};
  CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "five\n") == 0, "file fd: %s", line);
  if (f) fclose(f);
  unlink(tmp);
  lipc_close(a);
  /* overlapping map: child 0 <- parent's 1-pipe... swap 3 and 4 */
  a = attr_of("sh", "-c", "cat <&3; cat <&4", NULL);
  int p1[2], p2[2];
  if (pipe(p1) || pipe(p2)) perror("pipe");
  if (write(p1[1], "one\n", 4) != 4 || write(p2[1], "two\n", 4) != 4) perror("write");
  close(p1[1]);
  close(p2[1]);
  int hi1 = dup2(p1[0], 40), hi2 = dup2(p2[0], 41);
  close(p1[0]);
  close(p2[0]);
  lipc_spawnattr_set_fd(a, 3, LIPC_FD_PARENT, hi2, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 4, LIPC_FD_PARENT, hi1, NULL, 0, 0);
  out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0 && out && strcmp(out, "two\none\n") == 0, "swap: %s", out);
  lipc_free(out);
  close(hi1);
  close(hi2);
  lipc_close(a);
}

/* Reads what a child wrote into a pipe until EOF. */
static void read_all(int fd, char *buf, size_t size) {
  size_t len = 0;
  ssize_t r;
  while (len + 1 < size && (r = read(fd, buf + len, size - 1 - len)) > 0) len += (size_t)r;
  buf[len] = 0;
}

/* The child takes its fds from a copy of only the low part of the parent's
 * fd table (spawn_linux.c, own_fd_table): what the map reads must be in it,
 * wherever it is, and nothing else may come along. */
static void test_fds_many_open(void) {
  /* 600 host fds without close-on-exec, and the map's source above them */
  enum { N = 600 };
  int junk[N], nj = 0;
  for (int i = 0; i < N; i++)
    if ((junk[nj] = open("/dev/null", O_RDONLY)) >= 0) nj++;
  CHECK(nj == N, "opened %d of %d fds", nj, N);
  int pp[2], out[2];
  CHECK(pipe(pp) == 0 && pipe(out) == 0, "pipes");
  int high = fcntl(pp[0], F_DUPFD, 1000);
  CHECK(high >= 1000, "fd above 1000: %d", high);
  close(pp[0]);
  CHECK(write(pp[1], "from-high\n", 10) == 10, "write");
  close(pp[1]);
  lipc_handle_t a = attr_of("sh", "-c", "cat <&3; ls /proc/self/fd", NULL);
  lipc_spawnattr_set_fd(a, 3, LIPC_FD_PARENT, high, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PARENT, out[1], NULL, 0, 0);
  lipc_handle_t p;
  int code = -1;
  CHECK(lipc_proc_spawn(a, &p) == 0, "spawn with fd %d mapped: %s", high, lipc_last_error());
  close(out[1]);
  char buf[256];
  read_all(out[0], buf, sizeof buf);
  CHECK(lipc_proc_wait(p, 10000, &code, NULL) == 0 && code == 0, "wait: %d", code);
  /* ls sees 0-3 and its own directory fd */
  CHECK(strcmp(buf, "from-high\n0\n1\n2\n3\n4\n") == 0, "child fds: %s", buf);
  lipc_close(p);
  lipc_close(a);
  close(out[0]);
  close(high);
  for (int i = 0; i < nj; i++) close(junk[i]);

  /* The parent's stdin closed and nothing opened for the spawn: the pidfd
   * clone makes takes fd 0 in the parent (until lipc moves it above the
   * standard fds, once the child has started). The child's stdin stays
   * closed. */
  CHECK(pipe(out) == 0, "pipe");
  int saved0 = dup(0);
  close(0);
  a = attr_of("sh", "-c", "[ -e /proc/self/fd/0 ] && echo open || echo closed", NULL);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PARENT, out[1], NULL, 0, 0);
  int rc = lipc_proc_spawn(a, &p);
  int64_t pidfd = -1;
  code = -1;
  if (rc == 0) {
    lipc_proc_info(p, LIPC_PROC_PIDFD, &pidfd);
    rc = lipc_proc_wait(p, 10000, &code, NULL);
    lipc_close(p); /* and its pidfd: fd 0 is free again */
  }
  dup2(saved0, 0);
  close(saved0);
  CHECK(rc == 0 && code == 0, "spawn and wait: %d %s", code, lipc_last_error());
  close(out[1]);
  read_all(out[0], buf, sizeof buf);
  close(out[0]);
  CHECK(pidfd > 2, "the pidfd is kept above the standard fds (%lld)", (long long)pidfd);
  CHECK(strcmp(buf, "closed\n") == 0, "child's stdin: %s", buf);
  lipc_close(a);
}

static long pgid_of(int64_t pid) {
  char path[64], buf[512] = {0};
  snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
  fclose(f);
  char *s = strrchr(buf, ')');
  long pg = -1;
  if (s) sscanf(s + 2, "%*c %*d %ld", &pg);
  return pg;
}

static void test_groups_and_sessions(void) {
  lipc_handle_t a, lead, member, sess;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "sleep 10");
  lipc_spawnattr_set_pgroup(a, 0); /* a new group led by the child */
  CHECK(lipc_proc_spawn(a, &lead) == 0, "%s", lipc_last_error());
  int64_t lpid, mpid, spid;
  lipc_proc_pid(lead, &lpid);
  CHECK(pgid_of(lpid) == lpid, "leader's group %ld", pgid_of(lpid));
  lipc_spawnattr_set_pgroup(a, lpid); /* join it */
  CHECK(lipc_proc_spawn(a, &member) == 0, "%s", lipc_last_error());
  lipc_proc_pid(member, &mpid);
  CHECK(pgid_of(mpid) == lpid, "member's group %ld, leader %lld", pgid_of(mpid), (long long)lpid);
  /* a signal to the group reaches both */
  int sig = 0;
  CHECK(lipc_proc_kill(lead, SIGTERM, 1) == 0, "group kill: %s", lipc_last_error());
  CHECK(lipc_proc_wait(member, 5000, NULL, &sig) == 0 && sig == SIGTERM, "member got %d", sig);
  CHECK(lipc_proc_wait(lead, 5000, NULL, &sig) == 0 && sig == SIGTERM, "leader got %d", sig);
  lipc_spawnattr_set_pgroup(a, -1);
  lipc_spawnattr_set_setsid(a, 1);
  lipc_spawnattr_shell(a, "exit 0");
  CHECK(lipc_proc_spawn(a, &sess) == 0, "setsid: %s", lipc_last_error());
  lipc_proc_pid(sess, &spid);
  lipc_proc_wait(sess, 5000, NULL, NULL);
  lipc_close(lead);
  lipc_close(member);
  lipc_close(sess);
  lipc_spawnattr_set_setsid(a, 0);
  lipc_spawnattr_set_pgroup(a, 999999); /* no such group */
  CHECK(lipc_proc_spawn(a, &sess) == LIPC_EPERM || lipc_proc_spawn(a, &sess) < 0, "bad group: %s", lipc_last_error());
  CHECK(strstr(lipc_last_error(), "setpgid") != NULL, "names the step: %s", lipc_last_error());
  lipc_close(a);
}

static void test_pipeline(void) {
  /* producer | consumer, the pipe between them never passes through us */
  int pp[2];
  if (pipe2(pp, O_CLOEXEC) != 0) perror("pipe2");
  lipc_handle_t a1 = attr_of("printf", "b\\na\\nc\\n", NULL), a2 = attr_of("sort", NULL), p1, p2;
  lipc_spawnattr_set_fd(a1, 1, LIPC_FD_PARENT, pp[1], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(a2, 0, LIPC_FD_PARENT, pp[0], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_fd(a2, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  CHECK(lipc_proc_spawn(a1, &p1) == 0 && lipc_proc_spawn(a2, &p2) == 0, "%s", lipc_last_error());
  char *out = NULL;
  size_t n;
  CHECK(lipc_proc_communicate(p2, NULL, 0, 0, 5000, &out, &n, NULL, NULL) == 0, "%s", lipc_last_error());
  CHECK(out && strcmp(out, "a\nb\nc\n") == 0, "pipeline: %s", out);
  lipc_free(out);
  CHECK(lipc_proc_wait(p1, 5000, NULL, NULL) == 0 && lipc_proc_wait(p2, 5000, NULL, NULL) == 0, "waits");
  lipc_close(p1);
  lipc_close(p2);
  lipc_close(a1);
  lipc_close(a2);
}

static void test_communicate_big(void) {
  /* 10 MB to stdout and to stderr at once, plus 1 MB of input */
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "head -c 10000000 /dev/zero >&2 & head -c 10000000 /dev/zero; wc -c >/dev/null; wait");
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  CHECK(lipc_proc_spawn(a, &p) == 0, "%s", lipc_last_error());
  char *input = calloc(1, 1 << 20), *out = NULL, *err = NULL;
  size_t on = 0, en = 0;
  int rc = lipc_proc_communicate(p, input, 1 << 20, 0, 30000, &out, &on, &err, &en);
  CHECK(rc == 0 && on == 10000000 && en == 10000000, "rc %d out %zu err %zu: %s", rc, on, en, lipc_last_error());
  int code;
  CHECK(lipc_proc_wait(p, 0, &code, NULL) == 0 && code == 0, "exited");
  lipc_free(out);
  lipc_free(err);
  free(input);
  lipc_close(p);
  /* a cap */
  lipc_spawnattr_shell(a, "head -c 100000 /dev/zero");
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_INHERIT, 0, NULL, 0, 0);
  lipc_proc_spawn(a, &p);
  out = NULL;
  CHECK(lipc_proc_communicate(p, NULL, 0, 1000, 5000, &out, &on, NULL, NULL) == LIPC_ERANGE && on == 1000, "cap %zu", on);
  lipc_free(out);
  lipc_close(p);
  /* exactly the cap is not too much */
  lipc_spawnattr_shell(a, "head -c 1000 /dev/zero");
  lipc_proc_spawn(a, &p);
  out = NULL;
  CHECK(lipc_proc_communicate(p, NULL, 0, 1000, 5000, &out, &on, NULL, NULL) == 0 && on == 1000, "exact cap %zu: %s",
        on, lipc_last_error());
  lipc_free(out);
  lipc_close(p);
  /* a timeout keeps what was read; after a stop, a second call returns all */
  lipc_spawnattr_shell(a, "echo early; exec sleep 10");
  lipc_proc_spawn(a, &p);
  out = NULL;
  err = (char *)1;

  CHECK(lipc_proc_communicate(p, NULL, 0, 0, 300, &out, &on, &err, &en) == LIPC_ETIMEDOUT && out &&
        strcmp(out, "early\n") == 0 && err == NULL, "partial: %s", out);
  lipc_free(out);
  lipc_proc_kill(p, SIGKILL, 0);
  out = NULL;
  err = (char *)1;
  CHECK(lipc_proc_communicate(p, NULL, 0, 0, 5000, &out, &on, &err, &en) == 0 && out &&
        strcmp(out, "early\n") == 0 && err == NULL, "after stop: %s (stderr is no pipe: NULL)", out);
  lipc_free(out);
  lipc_close(p);
  lipc_close(a);
}

/* Outputs of every size one after another, from one stream and from two:
 * lipc keeps a freed capture buffer for the next capture (communicate.c),
 * and each capture must still get exactly its own bytes. */
static int all_lines(const char *s, size_t n, const char *line) {
  size_t l = strlen(line);
  if (n % l) return 0;
  for (size_t i = 0; i < n; i += l)
    if (memcmp(s + i, line, l) != 0) return 0;
  return 1;
}

static void test_capture_buffers_reused(void) {
  struct {
    long out, err; /* bytes of "abcdefg\n" / "ERRORS!\n" lines */
  } runs[] = {{8 << 20, 0}, {16, 0}, {5 << 20, 6 << 20}, {0, 24}, {3 << 20, 0}, {40 << 20, 0}, {8, 8}};
  lipc_handle_t a, p;
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "yes ERRORS! | head -c %ld >&2; yes abcdefg | head -c %ld", runs[k].err, runs[k].out);
    lipc_spawnattr_new(&a);
    lipc_spawnattr_shell(a, cmd);
    lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
    lipc_spawnattr_set_fd(a, 2, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
    CHECK(lipc_proc_spawn(a, &p) == 0, "%s", lipc_last_error());
    char *out = NULL, *err = NULL;
    size_t on = 1, en = 1;
    int rc = lipc_proc_communicate(p, NULL, 0, 0, 30000, &out, &on, &err, &en);
    CHECK(rc == 0 && out && err && on == (size_t)runs[k].out && en == (size_t)runs[k].err && out[on] == 0 &&
              err[en] == 0, "run %zu: rc %d out %zu err %zu: %s", k, rc, on, en, lipc_last_error());
    CHECK(out && all_lines(out, on, "abcdefg\n") && err && all_lines(err, en, "ERRORS!\n"), "run %zu: bytes", k);
    lipc_free(out);
    lipc_free(err);
    lipc_close(p);
    lipc_close(a);
  }
}

static void test_wait_tracks_process(void) {
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "sleep 5 & echo started");
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  lipc_proc_spawn(a, &p);
  double t0 = now_ms();
  int code = -1;
  CHECK(lipc_proc_wait(p, 3000, &code, NULL) == 0 && code == 0 && now_ms() - t0 < 2500, "wait took %.0f ms",
        now_ms() - t0);
  lipc_close(p);
  lipc_spawnattr_shell(a, "sleep 5");
  lipc_proc_spawn(a, &p);
  t0 = now_ms();
  CHECK(lipc_proc_wait(p, 150, NULL, NULL) == LIPC_ETIMEDOUT && now_ms() - t0 >= 149, "timeout");
  CHECK(lipc_proc_wait(p, 0, NULL, NULL) == LIPC_ETIMEDOUT, "poll");
  lipc_proc_kill(p, SIGKILL, 0);
  lipc_close(p);
  lipc_close(a);
}

static void test_status_stolen(void) {
  /* A host that reaps every child takes the status: lipc says so, it does
   * not make up an exit code. */
  lipc_handle_t a, p;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "exit 3");
  lipc_proc_spawn(a, &p);
  usleep(200000);
  int st;
  while (waitpid(-1, &st, WNOHANG) > 0) {
  }
  int code = -1;
  CHECK(lipc_proc_wait(p, 5000, &code, NULL) == LIPC_ESTATUSLOST && code == -1, "stolen: %s", lipc_last_error());
  CHECK(lipc_proc_wait(p, 0, &code, NULL) == LIPC_ESTATUSLOST, "still lost");
  lipc_close(p);
  lipc_close(a);
}

static void test_rlimits(void) {
  lipc_handle_t a = attr_of("cat", "/proc/self/limits", NULL);
  lipc_spawnattr_set_rlimit(a, LIPC_RLIMIT_NOFILE, 77, 88);
  char *out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0, "%s", lipc_last_error());
  char *line = out ? strstr(out, "Max open files") : NULL;
  long soft = 0, hard = 0;
  CHECK(line && sscanf(line, "Max open files %ld %ld", &soft, &hard) == 2 && soft == 77 && hard == 88,
        "limits: %ld %ld", soft, hard);
  lipc_free(out);
  lipc_close(a);
  /* without a limit set, children get the host's soft limit */
  a = attr_of("sh", "-c", "ulimit -n", NULL);
  out = NULL;
  int64_t host = 0;
  lipc_diag(LIPC_DIAG_HOST_NOFILE, &host);
  CHECK(run_capture(a, &out, NULL, NULL) == 0 && out && atol(out) == host, "inherited %s vs %lld", out, (long long)host);
  lipc_free(out);
  lipc_close(a);
  /* CPU: SIGXCPU */
  lipc_handle_t p;
  int code, sig;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, "while :; do :; done");
  lipc_spawnattr_set_rlimit(a, LIPC_RLIMIT_CPU, 1, 2);
  lipc_proc_spawn(a, &p);
  CHECK(lipc_proc_wait(p, 20000, &code, &sig) == 0 && sig == SIGXCPU, "cpu: code %d sig %d", code, sig);
  int64_t ut = 0;
  CHECK(lipc_proc_info(p, LIPC_PROC_UTIME_US, &ut) == 0 && ut > 500000, "utime %lld", (long long)ut);
  lipc_close(p);
  /* AS: a big allocation fails */
  lipc_close(a);
  a = attr_of("python3", "-c", "bytearray(500*1024*1024)", NULL);
  lipc_spawnattr_set_rlimit(a, LIPC_RLIMIT_AS, 200 << 20, 200 << 20);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_NULL, 0, NULL, 0, 0);
  lipc_proc_spawn(a, &p);
  CHECK(lipc_proc_wait(p, 20000, &code, &sig) == 0 && code == 1, "AS: python MemoryError exit %d sig %d", code, sig);
  lipc_close(p);
  lipc_close(a);
}

static void *spawn_in_thread(void *arg) {
  lipc_handle_t a = attr_of("sleep", "3", NULL);
  lipc_spawnattr_set_autokill(a, SIGKILL);
  lipc_proc_spawn(a, (lipc_handle_t *)arg);
  lipc_close(a);
  return NULL;
}

static void test_autokill(void) {
  /* from a short-lived thread: the child survives the thread */
  lipc_handle_t p = 0;
  pthread_t t;
  pthread_create(&t, NULL, spawn_in_thread, &p);
  pthread_join(t, NULL);
  usleep(300000);
  CHECK(p && lipc_proc_kill(p, 0, 0) == 0, "child died with its spawning thread");
  lipc_proc_kill(p, SIGKILL, 0);
  lipc_close(p);
  /* a parent killed with SIGKILL takes its autokilled child along */
  int pp[2];
  if (pipe(pp) != 0) perror("pipe");
  pid_t parent = fork();
  if (parent == 0) {
    /* A fresh process (exec) so lipc starts clean in it. */
    char fd[16];
    snprintf(fd, sizeof fd, "%d", pp[1]);
    execl("/proc/self/exe", "test_proc", "--autokill-parent", fd, (char *)NULL);
    _exit(99);
  }
  close(pp[1]);
  int child = 0;
  CHECK(read(pp[0], &child, sizeof child) == sizeof child && child > 0, "child pid");
  close(pp[0]);
  kill(parent, SIGKILL);
  waitpid(parent, NULL, 0);
  int gone = 0;
  for (int i = 0; i < 100 && !gone; i++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", child);
    FILE *f = fopen(path, "r");
    if (!f) {
      gone = 1;
      break;
    }
    char buf[256] = {0};
    if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
    fclose(f);
    char *s = strrchr(buf, ')');
    if (s && s[2] == 'Z') gone = 1; /* dead, waiting for init to reap it */
    usleep(20000);
  }
  CHECK(gone, "autokilled child %d outlived its SIGKILLed parent", child);
}

static int autokill_parent(int fd) {
  lipc_handle_t a = attr_of("sleep", "30", NULL), p;
  lipc_spawnattr_set_autokill(a, SIGKILL);
  if (lipc_proc_spawn(a, &p) != 0) return 1;
  int64_t pid;
  lipc_proc_pid(p, &pid);
  int ipid = (int)pid;
  if (write(fd, &ipid, sizeof ipid) != sizeof ipid) return 1;
  pause();
  return 0;
}

static void test_cycles_no_leaks(void) {
  int fds0 = count_fds();
  int64_t live0;
  lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live0);
  lipc_handle_t a = attr_of("/bin/true", NULL), p;
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  int ok = 0;
  for (int i = 0; i < 1000; i++) {
    if (lipc_proc_spawn(a, &p) != 0) break;
    int code = -1;
    if (lipc_proc_wait(p, 5000, &code, NULL) == 0 && code == 0) ok++;
    lipc_close(p);
  }
  CHECK(ok == 1000, "%d of 1000 cycles", ok);
  /* spawns whose child fails at exec, with pipes in the map: the parent
   * keeps neither end (and no child: it is reaped) */
  lipc_handle_t bad = attr_of("/nonexistent/lipc-no-such-program", NULL);
  lipc_spawnattr_set_search(bad, 0);
  lipc_spawnattr_set_fd(bad, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(bad, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(bad, 2, LIPC_FD_NULL, 0, NULL, 0, 0);
  int refused = 0;
  for (int i = 0; i < 50; i++) refused += lipc_proc_spawn(bad, &p) == LIPC_ENOENT;
  CHECK(refused == 50, "%d of 50 failed spawns said ENOENT: %s", refused, lipc_last_error());
  CHECK(count_fds() == fds0, "fds after failed spawns %d -> %d", fds0, count_fds());
  lipc_close(bad);
  /* children left running when their handle closes are reaped too */
  lipc_spawnattr_shell(a, "sleep 0.2");
  for (int i = 0; i < 20; i++) {
    lipc_proc_spawn(a, &p);
    lipc_close(p);
  }
  lipc_spawnattr_shell(a, "sleep 30");
  lipc_spawnattr_set_on_close(a, LIPC_ON_CLOSE_STOP, 100);
  for (int i = 0; i < 5; i++) {
    lipc_proc_spawn(a, &p);
    lipc_close(p);
  }
  lipc_close(a);
  usleep(800000);
  CHECK(count_zombies_of(getpid()) == 0, "zombies: %d", count_zombies_of(getpid()));
  CHECK(count_fds() == fds0, "fds %d -> %d", fds0, count_fds());
  int64_t live1;
  lipc_diag(LIPC_DIAG_LIVE_HANDLES, &live1);
  CHECK(live1 == live0, "handles %lld -> %lld", (long long)live0, (long long)live1);
}

static void test_io_and_figures(void) {
  lipc_handle_t a = attr_of("cat", NULL), p;
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PIPE_OUT, 0, NULL, 0, 0);
  lipc_proc_spawn(a, &p);
  int in, out;
  CHECK(lipc_proc_take_fd(p, 0, &in) == 0 && lipc_proc_take_fd(p, 1, &out) == 0, "take");
  CHECK(!(fcntl(out, F_GETFL) & O_NONBLOCK), "taken ends are ordinary blocking fds");
  CHECK(lipc_proc_take_fd(p, 1, &out) == LIPC_ENOENT, "taken twice");
  CHECK(lipc_proc_take_fd(p, 2, &out) == LIPC_ENOENT, "not a pipe");
  lipc_proc_take_fd(p, 1, &out);
  char buf[16];
  size_t n = 0;
  double t0 = now_ms();
  CHECK(lipc_fd_read(out, buf, sizeof buf, 100, &n) == LIPC_ETIMEDOUT && now_ms() - t0 >= 99, "read timeout");
  CHECK(lipc_fd_write(in, "ping\n", 5, 1000, &n) == 0 && n == 5, "write");
  CHECK(lipc_fd_read(out, buf, sizeof buf, 5000, &n) == 0 && n == 5 && memcmp(buf, "ping\n", 5) == 0, "read");
  int64_t v = -1;
  CHECK(lipc_proc_info(p, LIPC_PROC_RUNNING, &v) == 0 && v == 1, "running");
  CHECK(lipc_proc_info(p, LIPC_PROC_RSS_KB, &v) == 0 && v > 0, "rss %lld", (long long)v);
  CHECK(lipc_proc_info(p, LIPC_PROC_EXIT_CODE, &v) == LIPC_EAGAIN, "exit code while running");
  CHECK(lipc_proc_info(p, 99, &v) == LIPC_EINVAL, "unknown figure");
  /* the pidfd in a multi-wait: any of pipes and children */
  int64_t pidfd;
  lipc_proc_info(p, LIPC_PROC_PIDFD, &pidfd);
  int fds[2] = {out, (int)pidfd}, ev[2] = {LIPC_WAIT_READ, LIPC_WAIT_READ}, rev[2];
  CHECK(lipc_wait_fds(fds, ev, rev, 2, 100, NULL) == LIPC_ETIMEDOUT, "nothing ready");
  lipc_fd_close(in); /* EOF: cat exits */
  CHECK(lipc_wait_fds(&fds[1], ev, rev, 1, 5000, NULL) == 0 && rev[0] & LIPC_WAIT_READ, "pidfd ready");
  CHECK(lipc_fd_read(out, buf, sizeof buf, 5000, &n) == 0 && n == 0, "EOF");
  CHECK(lipc_proc_wait(p, 5000, NULL, NULL) == 0, "wait");
  CHECK(lipc_proc_info(p, LIPC_PROC_MAXRSS_KB, &v) == 0 && v > 0, "maxrss %lld", (long long)v);
  CHECK(lipc_proc_info(p, LIPC_PROC_RUNNING, &v) == 0 && v == 0, "not running");
  /* writing to a child that closed its stdin: an error, not SIGPIPE */
  lipc_fd_close(out);
  lipc_close(p);
  a = attr_of("true", NULL);
  lipc_spawnattr_set_fd(a, 0, LIPC_FD_PIPE_IN, 0, NULL, 0, 0);
  lipc_proc_spawn(a, &p);
  lipc_proc_take_fd(p, 0, &in);
  lipc_proc_wait(p, 5000, NULL, NULL);
  CHECK(lipc_fd_write(in, "x", 1, 1000, &n) == LIPC_ECLOSED, "EPIPE");
  lipc_fd_close(in);
  CHECK(lipc_fd_read(-1, buf, 1, 0, &n) == LIPC_EOS_BASE - EBADF, "bad fd");
  /* blocking fds (a pipe made by the caller) keep their deadlines too */
  int bp[2];
  if (pipe(bp) != 0) perror("pipe");
  t0 = now_ms();
  CHECK(lipc_fd_read(bp[0], buf, sizeof buf, 100, &n) == LIPC_ETIMEDOUT && now_ms() - t0 < 1000, "blocking read");
  char *big = calloc(1, 1 << 20);
  t0 = now_ms();
  CHECK(lipc_fd_write(bp[1], big, 1 << 20, 100, &n) == LIPC_ETIMEDOUT && n >= 4096 && n < (1 << 20) &&
            now_ms() - t0 < 1000, "blocking write: %zu bytes", n);
  free(big);
  close(bp[0]);
  close(bp[1]);
  lipc_close(p);
  lipc_close(a);
  CHECK(lipc_proc_kill(p, SIGTERM, 0) == LIPC_EBADHANDLE, "closed proc");
}

static void test_quoting(void) {
  struct {
    int (*f)(const char *, char *, size_t, size_t *);
    const char *in, *want;
  } cases[] = {
      {lipc_quote_sh, "plain", "plain"},
      {lipc_quote_sh, "", "''"},
      {lipc_quote_sh, "it's $x", "'it'\\''s $x'"},
      {lipc_quote_win, "plain", "plain"},
      {lipc_quote_win, "", "\"\""},
      {lipc_quote_win, "a b", "\"a b\""},
      {lipc_quote_win, "a\"b", "\"a\\\"b\""},
      {lipc_quote_win, "a\\\\b c\\", "\"a\\\\b c\\\\\""},
      {lipc_quote_win, "x\\\"y z", "\"x\\\\\\\"y z\""},
      {lipc_quote_cmd, "a&b", "a^&b"},
      {lipc_quote_cmd, "\"&calc.exe", "^\"\\^\"^&calc.exe^\""},
      {lipc_quote_cmd, "%PATH%", "%%cd:~,%PATH%%cd:~,%"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[128];
    size_t need = 0;
    int rc = cases[i].f(cases[i].in, buf, sizeof buf, &need);
    CHECK(rc == 0 && strcmp(buf, cases[i].want) == 0 && need == strlen(buf) + 1, "quote %zu: [%s] -> [%s], want [%s]",
          i, cases[i].in, buf, cases[i].want);
  }
  char buf[4];
  CHECK(lipc_quote_sh("it's", buf, sizeof buf, NULL) == LIPC_ERANGE, "small");
  CHECK(lipc_quote_cmd("a\nb", buf, sizeof buf, NULL) == LIPC_EINVAL, "newline via cmd");
  /* the POSIX quoting survives a real shell */
  const char *nasty = "a 'b' \"c\" $d `e` \\f\n!";
  char q[256];
  lipc_quote_sh(nasty, q, sizeof q, NULL);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "printf %%s %s", q);
  lipc_handle_t a;
  lipc_spawnattr_new(&a);
  lipc_spawnattr_shell(a, cmd);
  char *out = NULL;
  CHECK(run_capture(a, &out, NULL, NULL) == 0 && out && strcmp(out, nasty) == 0, "round trip: %s", out);
  lipc_free(out);
  lipc_close(a);
}

#define RUN(t)                                                           \
  do {                                                                   \
    double t0_ = now_ms();                                               \
    t();                                                                 \
    if (getenv("LIPC_TEST_TIMES")) fprintf(stderr, "%-28s %6.0f ms\n", #t, now_ms() - t0_); \
  } while (0)

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--autokill-parent") == 0) return autokill_parent(atoi(argv[2]));
  signal(SIGPIPE, SIG_DFL); /* a write to a closed pipe must not kill us */
  RUN(test_basic_and_path);
  RUN(test_exit_vs_signal);
  RUN(test_start_failures);
  RUN(test_env);
  RUN(test_fds);
  RUN(test_null_directions);
  RUN(test_fds_many_open);
  RUN(test_groups_and_sessions);
  RUN(test_pipeline);
  RUN(test_communicate_big);
  RUN(test_capture_buffers_reused);
  RUN(test_wait_tracks_process);
  RUN(test_status_stolen);
  RUN(test_rlimits);
  RUN(test_autokill);
  RUN(test_io_and_figures);
  RUN(test_quoting);
  RUN(test_cycles_no_leaks);
  return check_summary();
}
