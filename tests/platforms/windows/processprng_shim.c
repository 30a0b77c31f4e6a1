/* Test-only stand-in for Windows 10's bcryptprimitives.dll, which Wine 8.0 lacks. Rust's std
 * (1.78+) imports ProcessPrng from it for its hash seeds; Windows 10 and later ship the real
 * one, so this DLL is never packaged: tests/platforms/run-c-suite.sh copies it next to the test
 * program only when running under Wine. ProcessPrng is documented never to fail: if the system
 * RNG does, stop the process rather than hand back predictable bytes. */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            ExitProcess(86);
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
