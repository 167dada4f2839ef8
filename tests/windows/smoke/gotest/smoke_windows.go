//go:build windows

// Package gotest is a trivial cgo package whose test scripts/windows/smoke.sh
// runs with `go test -exec` under Wine, as lipc's Go core tests will run.
package gotest

// static int twice(int a) { return 2 * a; }
import "C"

// Twice doubles a through C, so the test binary is a cgo program linked by mingw.
func Twice(a int) int { return int(C.twice(C.int(a))) }
