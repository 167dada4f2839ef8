/* wspawn.h - lipc_proc_spawn for the Windows tests that mean a spawn to
 * succeed: tried again (three times at most) under Wine when
 * CreateProcessW failed with ERROR_INTERNAL_ERROR, which Wine's server
 * gives now and then on a loaded machine (docs/windows-wine.md, gap 7), as
 * wchild.h does for the harness's own starts. lipc itself does not retry; a
 * spawn that did not start closed nothing of the parent's, so trying again
 * is safe. Any other error, or that one on Windows, fails at once.
 * LIPC_UNDER_WINE reaches the tests' own children through the
 * environment, so their spawns are covered too. */
#ifndef LIPC_WSPAWN_H
#define LIPC_WSPAWN_H
#include <stdlib.h>
#include <windows.h>

#include "lipc.h"

static inline int spawn_past_gap7(lipc_handle_t a, lipc_handle_t *p) {
  int rc = lipc_proc_spawn(a, p);
  for (int try_ = 1; try_ < 3 && rc != LIPC_OK && getenv("LIPC_UNDER_WINE") && lipc_errno() == ERROR_INTERNAL_ERROR;
       try_++) {
    Sleep(100);
    rc = lipc_proc_spawn(a, p);
  }
  return rc;
}
#endif
