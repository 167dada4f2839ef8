/* sysnames_linux.h - names that an older C library's headers lack, for the
 * kernel interfaces lipc uses (the kernel floor is Linux 5.4; close_range
 * is tried at run time and falls back where the kernel lacks it): glibc
 * names SYS_close_range from 2.32 and P_PIDFD from 2.36, so building from
 * source on Debian 11 (glibc 2.31) failed without these. The values are the
 * kernel's, which never change. */
#ifndef LIPC_SYSNAMES_LINUX_H
#define LIPC_SYSNAMES_LINUX_H
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_close_range
#ifdef __NR_close_range /* the kernel's headers name it where glibc's do not */
#define SYS_close_range __NR_close_range
#else
#define SYS_close_range 436 /* the same on every architecture but alpha (Linux 5.9) */
#endif
#endif
#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid's idtype for a pidfd (Linux 5.4) */
#endif
#endif
