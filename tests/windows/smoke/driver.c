/* Loads the smoke DLL (argv[1]) and calls both of its exports, as a C host
 * of lipc.dll would. Prints "c: ok" and exits 0 when both answer right. */
#include <stdio.h>
#include <windows.h>

typedef int (*add_fn)(int, int);
typedef int (*twice_fn)(int);

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: driver DLL\n");
        return 2;
    }
    HMODULE dll = LoadLibraryA(argv[1]);
    if (!dll) {
        fprintf(stderr, "c: LoadLibrary(%s): error %lu\n", argv[1], GetLastError());
        return 1;
    }
    add_fn add = (add_fn)(void (*)(void))GetProcAddress(dll, "smoke_go_add");
    twice_fn twice = (twice_fn)(void (*)(void))GetProcAddress(dll, "smoke_c_twice");
    if (!add || !twice) {
        fprintf(stderr, "c: missing export: smoke_go_add %p, smoke_c_twice %p\n", (void *)add, (void *)twice);
        return 1;
    }
    int sum = add(2, 3), dbl = twice(21);
    if (sum != 5 || dbl != 42) {
        fprintf(stderr, "c: wrong answers: add(2,3)=%d twice(21)=%d\n", sum, dbl);
        return 1;
    }
    printf("c: ok\n");
    return 0;
}
