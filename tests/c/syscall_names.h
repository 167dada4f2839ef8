/* syscall_names.h - system call numbers that an older C library's headers do
 * not name: glibc before 2.32 has no SYS_close_range, and make
 * test-old-glibc builds these tests with Debian 11's glibc 2.31. */
#ifndef LIPC_TEST_SYSCALL_NAMES_H
#define LIPC_TEST_SYSCALL_NAMES_H
#include <sys/syscall.h>
#ifndef SYS_close_range
#define SYS_close_range __NR_close_range
#endif
#endif
