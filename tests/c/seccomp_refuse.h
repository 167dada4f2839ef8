/* seccomp_refuse.h - a seccomp filter, for the tests, that makes one system
 * call fail with an errno when one of its arguments matches, and lets
 * everything else through: what a container profile or an older kernel
 * does to lipc. The filter stays for the process's life and its exec'd
 * programs (no_new_privs is set first, as an unprivileged filter needs). */
#ifndef LIPC_TEST_SECCOMP_REFUSE_H
#define LIPC_TEST_SECCOMP_REFUSE_H
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* System call nr fails with err when its argument arg (its low 32 bits)
 * equals value (any_bit 0) or has any of value's bits (any_bit 1), in every
 * thread of the process (TSYNC). 0, or -1 with errno. */
static int seccomp_refuse(int nr, int arg, uint32_t value, int any_bit, int err) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(offsetof(struct seccomp_data, args) + 8 * (size_t)arg)),
      BPF_JUMP(BPF_JMP | (any_bit ? BPF_JSET : BPF_JEQ) | BPF_K, value, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &p);
}
#endif
