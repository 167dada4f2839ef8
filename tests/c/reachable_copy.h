/* reachable_copy.h - copies of what a test runs as another user (nobody, or
 * an unused uid), in a fresh directory anyone can read: the checkout may be
 * out of that user's reach (one under /root, mode 0700). The lipc library
 * goes in as liblipc.so.0, the name the programs ask for, so the other
 * user's process finds it with LD_LIBRARY_PATH=<dir>. */
#ifndef LIPC_TEST_REACHABLE_COPY_H
#define LIPC_TEST_REACHABLE_COPY_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int reachable_copy_file(const char *from, const char *to) {
  int in = open(from, O_RDONLY | O_CLOEXEC), out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
  char buf[65536];
  ssize_t n = 0;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) n = -1;
  int ok = in >= 0 && out >= 0 && n == 0;
  if (in >= 0) close(in);
  if (out >= 0 && close(out) != 0) ok = 0;
  return ok ? 0 : -1;
}

/* The lipc library this process loaded, by its path (dl_iterate_phdr: the
 * address of a lipc function may be a PLT entry in the program). */
static int reachable_find_lipc(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (!info->dlpi_name || !strstr(info->dlpi_name, "/liblipc.so")) return 0;
  *(const char **)data = info->dlpi_name;
  return 1;
}

/* Makes dir (a mkdtemp template, e.g. "/tmp/lipc-x.XXXXXX") mode 0755 and
 * copies the lipc library into it, and this program too as dir/program
 * when program is not NULL. 0, or -1 with the directory removed (and dir
 * emptied). */
static int reachable_copy(char *dir, const char *program) {
  const char *lib = NULL;
  char path[600];
  if (!mkdtemp(dir)) {
    dir[0] = 0;
    return -1;
  }
  int rc = chmod(dir, 0755) == 0 && dl_iterate_phdr(reachable_find_lipc, &lib) && lib ? 0 : -1;
  snprintf(path, sizeof path, "%s/liblipc.so.0", dir);
  if (rc == 0) rc = reachable_copy_file(lib, path);
  if (rc == 0 && program) {
    snprintf(path, sizeof path, "%s/%s", dir, program);
    rc = reachable_copy_file("/proc/self/exe", path);
  }
  if (rc != 0) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {}
    dir[0] = 0;
  }
  return rc;
}
#endif
