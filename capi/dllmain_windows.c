/* dllmain_windows.c - lipc.dll's life in its host process: loaded for good.
 *
 * A DLL holding a Go runtime can never be unloaded: Go starts threads at
 * load (the c-archive's constructor starts the one that initializes the
 * runtime, which starts others) that run code of this image until the
 * process ends, and lipc leaves callbacks in the process (the fiber-local
 * slots' thread-exit callbacks, the console control handler). Had a host's
 * FreeLibrary unmapped the image, the next of them to run would fault and
 * kill the process, losing whatever the host had not flushed yet: luajit.exe
 * frees its ffi.load'ed libraries in lua_close, before the C runtime flushes
 * stdout at exit, so a script's buffered output vanished. So lipc.dll pins
 * itself when loaded: FreeLibrary then answers TRUE and changes nothing, as
 * dlclose does on Linux (include/lipc.h, Loading).
 *
 * Because of the pin, DLL_PROCESS_DETACH only ever comes at process exit
 * (lpReserved != NULL), and lipc frees nothing then. The process's end also
 * runs the exiting thread's fiber-local callbacks, before any DLL's
 * detach: they ask lipc__process_exiting (RtlDllShutdownInProgress, set as
 * soon as the loader begins the process's shutdown) and do nothing. */
#include <windows.h>

#include "dllmain_windows.h"

NTSYSAPI BOOLEAN NTAPI RtlDllShutdownInProgress(void); /* ntdll, since XP */

int lipc__process_exiting(void) { return RtlDllShutdownInProgress() != 0; }

BOOL WINAPI DllMain(HINSTANCE self, DWORD reason, LPVOID reserved) {
  (void)reserved;
  if (reason == DLL_PROCESS_ATTACH) {
    HMODULE pinned;
    /* Cannot fail for a loaded image short of a broken loader; if it did,
     * the load still succeeds (Go's threads already run) and only a
     * FreeLibrary would then crash, as before. */
    GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
                       (LPCWSTR)(void *)self, &pinned);
  }
  return TRUE;
}
