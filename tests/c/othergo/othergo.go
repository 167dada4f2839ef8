// Package main is a second Go library built with -buildmode=c-shared, as
// another Python extension or C library written in Go would be: the host in
// tests/c/test_two_go.c loads it beside liblipc.so, so that two Go runtimes
// share one process, each with its own signal handlers, threads and child
// processes (os/exec), as they do in a user's program that loads both.
package main

import "C"

import (
	"os/exec"
	"strings"
)

// OtherSpawn runs n children through os/exec, each echoing a word that the
// caller checks, and returns how many gave it back.
//
//export OtherSpawn
func OtherSpawn(n C.int) C.int {
	ok := 0
	for i := 0; i < int(n); i++ {
		out, err := exec.Command("/bin/echo", "other").Output()
		if err == nil && strings.TrimSpace(string(out)) == "other" {
			ok++
		}
	}
	return C.int(ok)
}

func main() {}
