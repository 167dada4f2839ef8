/* userns.h - namespaces for a test run by a user who is not root: a user
 * namespace in which that user is root gives the capabilities that pid and
 * mount namespaces need, where the kernel allows unprivileged user
 * namespaces. */
#ifndef LIPC_TEST_USERNS_H
#define LIPC_TEST_USERNS_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int userns_write(const char *path, const char *s) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, s, strlen(s));
  close(fd);
  return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* unshare(flags), in a new user namespace too when this process cannot
 * without one. The user is mapped to root there: an unmapped uid is not 0
 * in the namespace, so an exec would drop the namespace's capabilities.
 * Call it single-threaded (a fork child of a Go host): the kernel refuses a
 * new user namespace to a process with threads. 0, 1 if it made a user
 * namespace, or -1 with errno. */
static int unshare_as_root(int flags) {
  if (unshare(flags) == 0) return 0;
  uid_t uid = geteuid();
  gid_t gid = getegid();
  char map[64];
  if (unshare(CLONE_NEWUSER | flags) != 0) return -1;
  snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
  if (userns_write("/proc/self/uid_map", map) != 0) return -1;
  if (userns_write("/proc/self/setgroups", "deny") != 0) return -1;
  snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
  return userns_write("/proc/self/gid_map", map) == 0 ? 1 : -1;
}
#endif
