/* test_spawn_errors.c - every way a spawn's preparation can fail, with the
 * exact code, errno and message lipc_proc_spawn gives: bindings map these
 * (Python's FileNotFoundError with its filename, LuaJIT's and Lisp's error
 * texts), and users match on them. The preparation moved from Go to C in
 * issue 12; these are the Go code's words, kept. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "proc_util.h"

static char dir[64], noexec[128], fifo[128];

static void expect(const char *name, lipc_handle_t a, int want_rc, int want_errno, const char *want_msg) {
  lipc_handle_t p;
  int before = count_fds();
  int rc = lipc_proc_spawn(a, &p);
  if (rc == LIPC_OK) {
    lipc_proc_wait(p, 10000, NULL, NULL);
    lipc_close(p);
  }
  CHECK(rc == want_rc && lipc_errno() == want_errno && strcmp(lipc_last_error(), want_msg) == 0,
        "%s:\n  got  %d/%d \"%s\"\n  want %d/%d \"%s\"", name, rc, lipc_errno(), rc ? lipc_last_error() : "",
        want_rc, want_errno, want_msg);
  CHECK(count_fds() == before, "%s: %d fds left open", name, count_fds() - before);
  lipc_close(a);
}

static lipc_handle_t file_map(int child_fd, const char *path, int flags) {
  lipc_handle_t a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(a, child_fd, LIPC_FD_FILE, 0, path, flags, 0);
  return a;
}

int main(void) {
  char msg[1024];
  strcpy(dir, "/tmp/lipc-spawn-errors-XXXXXX");
  if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
  snprintf(noexec, sizeof noexec, "%s/noexec", dir);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  close(open(noexec, O_CREAT | O_WRONLY, 0644));
  mkfifo(fifo, 0600);

  lipc_handle_t a;
  lipc_spawnattr_new(&a);
  expect("empty argv", a, LIPC_EINVAL, EINVAL, "spawn: empty argv: at least the program name is needed");
  a = attr_of("", NULL);
  expect("empty name", a, LIPC_EINVAL, EINVAL, "spawn: empty program name");
  expect("not found", attr_of("no-such-program-xyz", NULL), LIPC_ENOENT, ENOENT,
         "spawn \"no-such-program-xyz\": executable not found in the PATH of the child's environment");
  a = attr_of("noexec", NULL);
  lipc_spawnattr_env_set(a, "PATH", dir);
  expect("not executable", a, LIPC_EPERM, EACCES,
         "spawn \"noexec\": found but not executable in the PATH of the child's environment");
  a = attr_of("true", NULL);
  lipc_spawnattr_env_set(a, "PATH", "");
  expect("PATH empty", a, LIPC_ENOENT, ENOENT,
         "spawn \"true\": executable not found in the PATH of the child's environment");
  a = attr_of("q\"uo\\te\tx", NULL);
  expect("quoted like Go's %q", a, LIPC_ENOENT, ENOENT,
         "spawn \"q\\\"uo\\\\te\\tx\": executable not found in the PATH of the child's environment");
  a = attr_of("true", NULL);
  lipc_spawnattr_set_cwd(a, "/no/such/dir");
  expect("bad cwd", a, LIPC_ENOENT, ENOENT,
         "spawn \"true\": working directory \"/no/such/dir\": no such file or directory");
  a = attr_of("true", NULL);
  lipc_spawnattr_set_cwd(a, "/etc/passwd");
  expect("cwd a file", a, LIPC_EOS_BASE - ENOTDIR, ENOTDIR,
         "spawn \"true\": working directory \"/etc/passwd\": not a directory");
  a = attr_of("no-such-xyz", NULL);
  lipc_spawnattr_set_cwd(a, "/no/such/dir");
  expect("bad cwd before missing program", a, LIPC_ENOENT, ENOENT,
         "spawn \"no-such-xyz\": working directory \"/no/such/dir\": no such file or directory");
  a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(a, 3, LIPC_FD_PARENT, 999, NULL, 0, 0);
  expect("parent fd not open", a, LIPC_EINVAL, EINVAL, "spawn: bad fd map: child fd 3: parent fd 999 is not open");
  a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(a, 3, LIPC_FD_CHILD, 4, NULL, 0, 0);
  lipc_spawnattr_set_fd(a, 4, LIPC_FD_CHILD, 3, NULL, 0, 0);
  expect("child fd loop", a, LIPC_EINVAL, EINVAL,
         "spawn: bad fd map: child fd 3: refers to child fd 4, which is not in the map (or the references form a "
         "loop)");
  a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(a, 2, LIPC_FD_CHILD, 9, NULL, 0, 0);
  expect("child fd not in map", a, LIPC_EINVAL, EINVAL,
         "spawn: bad fd map: child fd 2: refers to child fd 9, which is not in the map (or the references form a "
         "loop)");
  expect("file missing", file_map(1, "/no/such/file", LIPC_FILE_READ), LIPC_ENOENT, ENOENT,
         "spawn: open \"/no/such/file\": no such file or directory");
  expect("file exists (excl)", file_map(1, "/etc/passwd", LIPC_FILE_WRITE | LIPC_FILE_CREATE | LIPC_FILE_EXCL),
         LIPC_EEXIST, EEXIST, "spawn: open \"/etc/passwd\": file exists");
  expect("directory to read", file_map(1, "/etc", LIPC_FILE_READ), LIPC_EINVAL, EISDIR,
         "spawn \"/etc\": bad fd map: child fd 1: /etc is a directory");
  expect("directory to write", file_map(1, "/etc", LIPC_FILE_WRITE), LIPC_EINVAL, EISDIR,
         "spawn \"/etc\": bad fd map: child fd 1: /etc is a directory");
  snprintf(msg, sizeof msg,
           "spawn \"%s\": bad fd map: child fd 0: %s is a FIFO to read from: lipc does not wait for its writer, and "
           "opened at once the child would read end of file; open it yourself and pass it as LIPC_FD_PARENT",
           fifo, fifo);
  expect("FIFO to read", file_map(0, fifo, LIPC_FILE_READ), LIPC_EINVAL, EINVAL, msg);
  snprintf(msg, sizeof msg,
           "spawn \"%s\": bad fd map: child fd 1: %s is a FIFO with no reader yet (lipc does not wait for one; open "
           "it yourself and pass it as LIPC_FD_PARENT)",
           fifo, fifo);
  expect("FIFO to write, no reader", file_map(1, fifo, LIPC_FILE_WRITE), LIPC_EINVAL, ENXIO, msg);
  /* a parent fd given away by a spawn, used again */
  int pp[2];
  if (pipe(pp) != 0) return perror("pipe"), 1;
  a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PARENT, pp[1], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_handle_t p;
  CHECK(lipc_proc_spawn(a, &p) == LIPC_OK, "first spawn: %s", lipc_last_error());
  lipc_proc_wait(p, 10000, NULL, NULL);
  lipc_close(p);
  CHECK(fcntl(pp[1], F_GETFD) == -1, "the parent's fd was closed");
  snprintf(msg, sizeof msg,
           "spawn: bad fd map: child fd 1: parent fd %d was closed by an earlier spawn of these attributes "
           "(LIPC_FD_CLOSE_PARENT); set the entry again",
           pp[1]);
  expect("parent fd given away", a, LIPC_EINVAL, EINVAL, msg);
  close(pp[0]);
  /* a failed preparation gives a LIPC_FD_CLOSE_PARENT fd back: not closed,
   * and the next spawn may use it */
  if (pipe(pp) != 0) return perror("pipe"), 1;
  a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_fd(a, 1, LIPC_FD_PARENT, pp[1], NULL, LIPC_FD_CLOSE_PARENT, 0);
  lipc_spawnattr_set_cwd(a, "/no/such/dir");
  CHECK(lipc_proc_spawn(a, &p) == LIPC_ENOENT, "bad cwd: %s", lipc_last_error());
  CHECK(fcntl(pp[1], F_GETFD) != -1, "the parent's fd stays open after a failed spawn");
  lipc_spawnattr_set_cwd(a, NULL);
  CHECK(lipc_proc_spawn(a, &p) == LIPC_OK, "spawn after the failure: %s", lipc_last_error());
  lipc_proc_wait(p, 10000, NULL, NULL);
  lipc_close(p);
  lipc_close(a);
  close(pp[0]);
  /* no length limit: a long name or directory is in the message whole, as
   * in Go's (the C preparation cut them at 600 bytes, without the closing
   * quote) */
  char longname[1001], longmsg[1200];
  memset(longname, 'n', 1000);
  longname[1000] = 0;
  snprintf(longmsg, sizeof longmsg,
           "spawn \"%s\": executable not found in the PATH of the child's environment", longname);
  expect("long program name", attr_of(longname, NULL), LIPC_ENOENT, ENOENT, longmsg);
  char longdir[1001];
  memset(longdir, 'd', 1000);
  longdir[0] = '/';
  longdir[1000] = 0;
  a = attr_of("true", NULL);
  lipc_spawnattr_set_cwd(a, longdir);
  snprintf(longmsg, sizeof longmsg, "spawn \"true\": working directory \"%s\": file name too long", longdir);
  expect("long working directory", a, LIPC_ENAMETOOLONG, ENAMETOOLONG, longmsg);
  /* bytes that are not UTF-8, and characters Go's %q escapes: as Go
   * quoted them (strings from go run of fmt.Sprintf("%q", ...)) */
  expect("Latin-1 and C1 bytes", attr_of("caf\xe9\xc2\x85", NULL), LIPC_ENOENT, ENOENT,
         "spawn \"caf\\xe9\\u0085\": executable not found in the PATH of the child's environment");
  expect("odd UTF-8",
         attr_of("\xc2\xa0x\xc3\xa9y\xed\xa0\x80z\xf4\x90\x80\x80\xef\xbb\xbf\xf3\xa0\x80\x81\xee\x80\x80"
                 "\xe2\x80\xa8\xe4\xb8\x96\xc0\xaf\xf0\x9f\x98\x80\x7f\xef\xbf\xbe", NULL),
         LIPC_ENOENT, ENOENT,
         "spawn \"\\u00a0x\xc3\xa9y\\xed\\xa0\\x80z\\xf4\\x90\\x80\\x80\\ufeff\\U000e0001\\ue000\\u2028"
         "\xe4\xb8\x96\\xc0\\xaf\xf0\x9f\x98\x80\\x7f\\ufffe\": executable not found in the PATH of the child's "
         "environment");
  /* errno texts in Go's words whatever the host's locale (strerror
   * translates them under LC_MESSAGES): checked when a German locale is
   * installed */
  if (setlocale(LC_ALL, "de_DE.UTF-8")) {
    a = attr_of("true", NULL);
    lipc_spawnattr_set_cwd(a, "/no/such/dir");
    expect("errno text under a German locale", a, LIPC_ENOENT, ENOENT,
           "spawn \"true\": working directory \"/no/such/dir\": no such file or directory");
    setlocale(LC_ALL, "C");
  } else {
    printf("(no de_DE.UTF-8 locale: the locale case is skipped)\n");
  }
  /* the child's own failures (after the clone) keep their words too */
  a = attr_of("rel-no-such", NULL);
  lipc_spawnattr_set_search(a, 0);
  expect("exec, no search", a, LIPC_ENOENT, ENOENT, "spawn \"rel-no-such\": exec \"rel-no-such\": no such file or directory");
  a = attr_of("/bin/true", NULL);
  lipc_spawnattr_set_program(a, "/no/such/prog");
  expect("exec of the program", a, LIPC_ENOENT, ENOENT, "spawn \"/bin/true\": exec \"/no/such/prog\": no such file or directory");
  unlink(noexec);
  unlink(fifo);
  rmdir(dir);
  return check_summary();
}
