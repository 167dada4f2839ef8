// Command capi is lipc's C ABI, built with -buildmode=c-shared into
// lipc.dll on Windows. The public entry points are the C functions in this
// folder (the *_windows.c files and the shared ones); Go serves only the
// slow operations (opening named objects, spawning) through dispatch.go.
package main

/*
#cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2 -DLIPC_BUILDING -D__USE_MINGW_ANSI_STDIO=1
#include "internal.h"
*/
import "C"

func main() {}
