package mutex

import (
	"syscall"
	"unsafe"
)

const clockMonotonicID = 1

func clockMonotonic(ts *syscall.Timespec) {
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonicID, uintptr(unsafe.Pointer(ts)), 0)
}
