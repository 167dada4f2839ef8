/* Test-only stand-in for Windows' bcryptprimitives.dll, for Wine 8, which
 * lacks it. Every Go >= 1.22 program imports ProcessPrng from that DLL at
 * start-up and dies with "bcryptprimitives.dll not found" without it (see
 * shared/design/windows-wine.md). Real Windows 8.1 and later ship the DLL;
 * this one is copied only into the test Wine prefix by
 * scripts/windows/setup.sh and is never shipped with lipc.
 *
 * ProcessPrng fills the buffer with random bytes and always returns TRUE
 * (Windows documents it never fails); here it forwards to RtlGenRandom
 * (advapi32's SystemFunction036), which Wine has, in chunks that fit its
 * ULONG length. */
#include <windows.h>
#include <ntsecapi.h> /* RtlGenRandom: SystemFunction036 */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
