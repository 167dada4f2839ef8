package main

import "unsafe"

// unsafePointer turns the address of memory that Go does not manage (a
// mapping) into a pointer for C. go vet's unsafeptr check does not apply:
// the memory is outside the Go heap.
func unsafePointer(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}
