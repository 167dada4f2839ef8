// Package sem implements named counting semaphores that are the platform's
// own POSIX named semaphores: on Linux with glibc, a semaphore named "x" is
// the file /dev/shm/sem.x that sem_open("/x") maps, laid out as glibc's
// sem_t, so lipc and plain C programs share it both ways.
package sem

import (
	"unsafe"

	"github.com/lipc-dev/lipc/core/shmobj"
)

// Flags for Open.
const (
	Create        = shmobj.Create        // create if missing
	Excl          = shmobj.Excl          // with Create: fail if it exists
	UnlinkOnClose = shmobj.UnlinkOnClose // remove the name when the creating handle closes
	TrustForeign  = shmobj.TrustForeign  // open an existing semaphore another user owns
)

// MaxValue is the largest value a semaphore can hold (SEM_VALUE_MAX).
const MaxValue = 1<<31 - 1

// Sem is an open named semaphore.
type Sem struct {
	obj *shmobj.Object
}

// Name is the semaphore's name without the leading '/'.
func (s *Sem) Name() string { return s.obj.Name }

// Created reports whether this Open created the semaphore.
func (s *Sem) Created() bool { return s.obj.Created }

// Pointer is the address of the mapped sem_t; C code uses it with the
// routines of sem_linux.h. Valid until Close.
func (s *Sem) Pointer() unsafe.Pointer { return unsafe.Pointer(&s.obj.Mem[0]) }
