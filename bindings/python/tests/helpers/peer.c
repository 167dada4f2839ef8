/* The C side of test_cross_language.py, compiled at test time against
 * include/lipc.h and build/liblipc.so. One role per run; one line per step.
 *   peer sem-wait NAME MS         "WAITING", then "GOT" or "NO <rc>"
 *   peer shm-read NAME OFFSET LEN the bytes as hex
 *   peer shm-write NAME OFFSET TEXT
 *   peer mutex-hold NAME          lock, "L", sleep until killed
 *   peer mutex-try NAME MS        "GOT" (then unlock) or "BUSY <rc>" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#else
#include <unistd.h>
#endif

#include "lipc.h"

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *role = argv[1], *name = argv[2];
  lipc_handle_t h;
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(role, "sem-wait") && argc == 4) {
    if (lipc_sem_open(name, 0, 0, 0, &h) != 0) return 3;
    printf("WAITING\n");
    int rc = lipc_sem_wait(h, atoll(argv[3]));
    if (rc == 0) printf("GOT\n"); else printf("NO %d\n", rc);
    return lipc_close(h) == 0 ? 0 : 4;
  }
  if (!strcmp(role, "shm-read") && argc == 5) {
    void *p;
    int64_t n;
    if (lipc_shm_open(name, 0, 0, 0, &h) != 0 || lipc_shm_addr(h, &p, &n) != 0) return 3;
    long off = atol(argv[3]), len = atol(argv[4]);
    if (off < 0 || len < 0 || off + len > n) return 5;
    for (long i = 0; i < len; i++) printf("%02x", ((unsigned char *)p)[off + i]);
    printf("\n");
    return lipc_close(h) == 0 ? 0 : 4;
  }
  if (!strcmp(role, "shm-write") && argc == 5) {
    void *p;
    int64_t n;
    if (lipc_shm_open(name, 0, 0, 0, &h) != 0 || lipc_shm_addr(h, &p, &n) != 0) return 3;
    long off = atol(argv[3]);
    size_t len = strlen(argv[4]);
    if (off < 0 || off + (long)len > n) return 5;
    memcpy((char *)p + off, argv[4], len);
    printf("WROTE\n");
    return lipc_close(h) == 0 ? 0 : 4;
  }
  if (!strcmp(role, "mutex-hold")) {
    if (lipc_mutex_open(name, 0, 0, &h) != 0 || lipc_mutex_lock(h, -1, NULL) != 0) return 3;
    printf("L\n");
#ifdef _WIN32
    for (;;) Sleep(INFINITE);
#else
    for (;;) pause();
#endif
  }
  if (!strcmp(role, "mutex-try") && argc == 4) {
    if (lipc_mutex_open(name, 0, 0, &h) != 0) return 3;
    int rc = lipc_mutex_lock(h, atoll(argv[3]), NULL);
    if (rc == 0) {
      printf("GOT\n");
      lipc_mutex_unlock(h);
    } else {
      printf("BUSY %d\n", rc);
    }
    return lipc_close(h) == 0 ? 0 : 4;
  }
  fprintf(stderr, "unknown role %s\n", role);
  return 2;
}
