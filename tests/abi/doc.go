// Package abi holds lipc's C ABI tests: Go tests that dlopen liblipc.so with
// purego and call every public function the way a C program does (see
// lib_test.go). There is no non-test code here.
//
// Run with the library built (make), from the repository root:
//
//	LIPC_REQUIRE_LIB=1 go test ./tests/abi/
//
// The test binary re-executes itself with GODEBUG=asyncpreemptoff=1 when
// that is not already set: this process then holds two Go runtimes, and
// they must not fight over SIGURG (host-runtimes.md F5, F15).
// LIPC_LIBRARY names the library explicitly; otherwise ../../build/liblipc.so
// relative to this folder is used. Without the library the tests skip,
// unless LIPC_REQUIRE_LIB is set, in which case they fail.
package abi
