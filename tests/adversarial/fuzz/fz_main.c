/* fz_main.c - adv_fuzz: `run` supervises, `one` is a worker (fz.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "fz.h"

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "run") == 0) return fz_run_main(argc, argv);
  if (argc > 1 && strcmp(argv[1], "one") == 0) return fz_worker_main(argc, argv);
  fprintf(stderr, "usage: %s run LIB FIRST_SEED SEEDS CALLS\n"
          "       %s one LIB SEED direct|handoff CALLS [before-load]\n", argv[0], argv[0]);
  return 2;
}
