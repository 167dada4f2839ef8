/* dllmain_windows.h - lipc.dll's life in its host process
 * (dllmain_windows.c). Nothing here is API. */
#ifndef LIPC_DLLMAIN_WINDOWS_H
#define LIPC_DLLMAIN_WINDOWS_H

/* Nonzero once the process is ending (ExitProcess, or main returned):
 * every other thread has been stopped wherever it was, perhaps holding a
 * lock of lipc's or of the heap. lipc's thread-exit callbacks, which
 * Windows still runs for the exiting thread then, give nothing back: the
 * process's memory and handles go with it. */
int lipc__process_exiting(void);

#endif
