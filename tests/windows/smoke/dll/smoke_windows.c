/* Go's Windows linker exports only //export functions and C functions marked
 * __declspec(dllexport): this one proves the second kind reaches the DLL's
 * export table, as lipc's C entry points must. It calls into Go too. */
#include "_cgo_export.h"

__declspec(dllexport) int smoke_c_twice(int a)
{
    return smoke_go_add(a, a);
}
