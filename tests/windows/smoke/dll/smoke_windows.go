//go:build windows

// Package main is the smallest Go c-shared DLL shaped like lipc.dll: one Go
// function exported with //export and one C function exported with
// __declspec(dllexport) (smoke_windows.c). scripts/windows/smoke.sh
// cross-builds it with mingw and calls both from C, LuaJIT and Python under
// Wine, to prove the Windows toolchain before lipc's own tests use it.
package main

import "C"

// smoke_go_add is called from C, LuaJIT and Python across the DLL boundary,
// which proves the Go runtime starts inside a foreign Windows host.
//
//export smoke_go_add
func smoke_go_add(a, b C.int) C.int { return a + b }

func main() {}
